/* ---------------------------------------------------------------------------
 * th_test.c: helpers shared by the tests
 * ---------------------------------------------------------------------------
 */
#include "th_test.h"

#include <stdlib.h>

const char *
th_test_db_url(void)
{
    const char *url = getenv("TEILHABE_TEST_DB_URL");
    return url != NULL && *url != '\0' ? url : NULL;
}
