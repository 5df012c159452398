/* ---------------------------------------------------------------------------
 * th_test.h: helpers shared by the tests (process spawning, temporary keys,
 * the test database URL).
 * ---------------------------------------------------------------------------
 */
#ifndef TH_TEST_H
#define TH_TEST_H

/* The database URL ops/test exported as TEILHABE_TEST_DB_URL, or NULL. */
const char *th_test_db_url(void);

#endif /* TH_TEST_H */
