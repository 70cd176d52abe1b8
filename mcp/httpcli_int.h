/*
 * The response parser of mandate-mcp's Streamable HTTP client (httpcli.c):
 * fed the bytes of one HTTP/1.1 response as they arrive, it hands each
 * JSON-RPC message of the body (the whole application/json body, or the
 * data of each SSE "message" event) to a callback.  Kept apart from the
 * sockets so the fuzz harness drives it directly.
 */
#ifndef MANDATE_MCP_HTTPCLI_INT_H
#define MANDATE_MCP_HTTPCLI_INT_H

#include <stddef.h>

#define MCPC_LINE_MAX 8192      /* a header, chunk-size or trailer line */
#define MCPC_HEADERS_MAX 100

/* A message of n bytes (not NUL-terminated; valid during the call); 0 to
 * go on, or a negative code that fails the response. */
typedef int (*mcpc_message_fn)(void *arg, const char *msg, size_t n);

struct mcpc_resp {
	int state, status;
	int sse, json, chunked;
	long long left;             /* Content-Length left, or -1 */
	char session[129];          /* Mcp-Session-Id, or "" */
	size_t nlines;
	int cstate;                 /* chunked decoding */
	size_t chunk_left;
	int other_event;            /* an SSE event that is not "message" */
	char *ctl;                  /* a head, chunk-size or trailer line */
	size_t clen, ccap;
	char *line;                 /* an SSE line */
	size_t llen, lcap;
	char *data;                 /* the JSON body, or the event's data */
	size_t dlen, dcap;
	size_t max;                 /* bytes of one message */
	mcpc_message_fn fn;
	void *arg;
};

/* Starts a response whose messages are at most max bytes. */
void mcpc_init(struct mcpc_resp *r, size_t max, mcpc_message_fn fn,
    void *arg);
void mcpc_free(struct mcpc_resp *r);
/* Feeds n bytes: 0 when more are expected, 1 when the response is
 * complete (bytes after it are ignored), or a negative code (malformed,
 * over a bound, or the callback's). */
int mcpc_feed(struct mcpc_resp *r, const char *p, size_t n);
/* The connection ended: 1 when that completes the response (a body read
 * to the end), else -MDT_EPROTO. */
int mcpc_eof(struct mcpc_resp *r);

#endif
