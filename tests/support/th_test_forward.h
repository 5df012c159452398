/* ---------------------------------------------------------------------------
 * th_test_forward.h: a TCP forwarder for tests.
 *
 * Listens on 127.0.0.1:port and relays every connection to a target (a TCP
 * host and port, or a PostgreSQL Unix socket directory and port), so a test
 * can point a service at a port where nothing listens and make its database
 * appear there later, while the service runs. One thread; loopback only.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_TEST_FORWARD_H
#define TH_TEST_FORWARD_H

typedef struct th_test_forward_t th_test_forward_t;

/* Starts forwarding 127.0.0.1:port to host:target_port; host is an address
 * or, when it starts with '/', the directory of a Unix socket named
 * .s.PGSQL.<target_port> (as libpq names it). NULL on failure. */
th_test_forward_t *th_test_forward_start(int port, const char *host, int target_port);

/* Stops listening and closes every relayed connection. Accepts NULL. */
void th_test_forward_stop(th_test_forward_t **self_p);

#endif /* TH_TEST_FORWARD_H */
