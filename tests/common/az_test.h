/*
 * Test harness for mandate-authzen: starts the front as a real process in
 * front of a test broker (brk_test.h), and a minimal HTTP/1.1 client to
 * talk to it over real sockets.
 */
#ifndef AZ_TEST_H
#define AZ_TEST_H

#include <sys/types.h>

#include "brk_test.h"

#define AZ_TEST_TOKEN "test-credential-9f2c41d7e0"

struct az_front {
	pid_t pid;
	int port;
	char dir[300];
	const char *token_audience;   /* tokens verified for it, or NULL */
};

/* Starts mandate-authzen (build tree) for broker b, authenticating as
 * agent (whose key b holds), accepting AZ_TEST_TOKEN; returns once its
 * port is known.  0 or -1. */
int az_front_start(struct az_front *f, const struct bt_broker *b,
    const char *agent);
/* SIGTERM, wait; returns the exit status (or -1). */
int az_front_stop(struct az_front *f);
/* az_front_start, verifying Mandate tokens minted by b for audience
 * (--root-pub, --audience, --events). */
int az_front_start_tokens(struct az_front *f, const struct bt_broker *b,
    const char *agent, const char *audience);

/* A connection to 127.0.0.1:port; -1 on failure. */
int az_conn(int port);
/*
 * One request on connection fd (kept alive).  auth: the whole
 * Authorization value or NULL; body NULL for none.  *status gets the
 * HTTP status, *resp (caller frees) the body; *rid (may be NULL, size
 * 128) the X-Request-ID echoed.  0 or -1 on a transport error.
 */
int az_request(int fd, const char *method, const char *path,
    const char *auth, const char *extra_headers, const char *body,
    int *status, char **resp, char *rid);
/* az_request on a new connection, closed after. */
int az_http(int port, const char *method, const char *path, const char *auth,
    const char *body, int *status, char **resp);

#endif
