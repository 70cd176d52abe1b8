/*
 * The response side of mandate-mcp's Streamable HTTP client (its HTTP
 * upstreams): an incremental, bounded parser of an HTTP/1.1 response
 * (status line, headers, a body by Content-Length, chunked, or to the
 * end of the connection) whose body is one JSON-RPC message
 * (application/json) or a stream of server-sent events.  Everything an
 * upstream sends is untrusted: a line, a chunk size or an event over its
 * bound is an error, never a truncation.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpcli_int.h"
#include <mandate/common.h>

enum { HEAD, BODY, DONE, FAILED };
enum { C_SIZE, C_DATA, C_DATA_END, C_TRAILER };

void
mcpc_init(struct mcpc_resp *r, size_t max, mcpc_message_fn fn, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
	r->fn = fn;
	r->arg = arg;
	r->left = -1;
}

void
mcpc_free(struct mcpc_resp *r)
{
	free(r->line);
	free(r->data);
	free(r->ctl);
	r->line = r->data = r->ctl = NULL;
}

/* Appends n bytes to *b (length *len, capacity *cap), within max. */
static int
append(char **b, size_t *len, size_t *cap, const char *p, size_t n,
    size_t max)
{
	if (*len + n > max)
		return -MDT_ETOOBIG;
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap : 256;
		char *nb;
		while (nc < *len + n + 1)
			nc *= 2;
		if ((nb = realloc(*b, nc)) == NULL)
			return -MDT_ENOMEM;
		*b = nb;
		*cap = nc;
	}
	memcpy(*b + *len, p, n);
	*len += n;
	(*b)[*len] = 0;
	return 0;
}

static int
header_is(const char *line, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return 0;
	*value = line + n + 1;
	while (**value == ' ' || **value == '\t')
		(*value)++;
	return 1;
}

static int
status_line(struct mcpc_resp *r, const char *l)
{
	if (strncmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') ||
	    l[8] != ' ' || l[9] < '1' || l[9] > '5' || l[10] < '0' ||
	    l[10] > '9' || l[11] < '0' || l[11] > '9' ||
	    (l[12] != ' ' && l[12] != 0))
		return -MDT_EPROTO;
	r->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	return 0;
}

static int
length_of(const char *v, long long *out)
{
	long long x = 0;

	if (*v == 0)
		return -MDT_EPROTO;
	for (; *v != 0 && *v != ' ' && *v != '\t'; v++) {
		if (*v < '0' || *v > '9' || x > (1LL << 40))
			return -MDT_EPROTO;
		x = x * 10 + (*v - '0');
	}
	*out = x;
	return 0;
}

/* One header line (NUL-terminated, no CRLF). */
static int
head_line(struct mcpc_resp *r, const char *l)
{
	const char *v;

	if (r->nlines++ == 0)
		return status_line(r, l);
	if (r->nlines > MCPC_HEADERS_MAX)
		return -MDT_ETOOBIG;
	if (header_is(l, "content-length", &v)) {
		if (r->left >= 0)
			return -MDT_EPROTO;
		return length_of(v, &r->left);
	}
	if (header_is(l, "transfer-encoding", &v)) {
		if (strncasecmp(v, "chunked", 7) != 0)
			return -MDT_EPROTO;
		r->chunked = 1;
	} else if (header_is(l, "content-type", &v)) {
		r->sse = strncasecmp(v, "text/event-stream", 17) == 0;
		r->json = strncasecmp(v, "application/json", 16) == 0;
	} else if (header_is(l, "mcp-session-id", &v)) {
		size_t n = strlen(v);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
				return -MDT_EPROTO;
		if (n >= sizeof(r->session))
			return -MDT_EPROTO;
		memcpy(r->session, v, n + 1);
	}
	return 0;
}

/* The end of the head: what the body is. */
static int
head_done(struct mcpc_resp *r)
{
	if (r->chunked)
		r->left = -1;
	if (r->status == 202 || r->status == 204 || (!r->chunked &&
	    r->left == 0)) {
		r->state = DONE;
		return 1;
	}
	r->state = BODY;
	return 0;
}

/* An SSE line (NUL-terminated, no end of line). */
static int
sse_line(struct mcpc_resp *r, const char *l)
{
	int rc = 0;

	if (*l == 0) {
		if (r->dlen > 0 && !r->other_event)
			rc = r->fn(r->arg, r->data, r->dlen);
		r->dlen = 0;
		r->other_event = 0;
		return rc;
	}
	if (strncmp(l, "data:", 5) == 0) {
		const char *v = l[5] == ' ' ? l + 6 : l + 5;
		if (r->dlen > 0 && (rc = append(&r->data, &r->dlen, &r->dcap,
		    "\n", 1, r->max)) != 0)
			return rc;
		return append(&r->data, &r->dlen, &r->dcap, v, strlen(v),
		    r->max);
	}
	if (strncmp(l, "event:", 6) == 0) {
		const char *v = l[6] == ' ' ? l + 7 : l + 6;
		r->other_event = strcmp(v, "message") != 0;
	}
	/* id:, retry:, comments and other fields carry nothing we use */
	return 0;
}

/* Payload bytes: SSE lines, or the JSON message's bytes. */
static int
payload(struct mcpc_resp *r, const char *p, size_t n)
{
	if (!r->sse)
		return append(&r->data, &r->dlen, &r->dcap, p, n, r->max);
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (p[i] != '\n') {
			if (p[i] == 0)
				return -MDT_EPROTO;
			if ((rc = append(&r->line, &r->llen, &r->lcap, p + i, 1,
			    r->max + 16)) != 0)
				return rc;
			continue;
		}
		if (r->llen > 0 && r->line[r->llen - 1] == '\r')
			r->line[--r->llen] = 0;
		rc = sse_line(r, r->llen > 0 ? r->line : "");
		r->llen = 0;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The body is complete. */
static int
body_done(struct mcpc_resp *r)
{
	int rc = 0;

	r->state = DONE;
	if (!r->sse && r->dlen > 0)
		rc = r->fn(r->arg, r->data, r->dlen);
	else if (r->sse && r->llen > 0)
		rc = payload(r, "\n", 1);
	if (rc == 0 && r->sse)
		rc = sse_line(r, "");
	return rc != 0 ? rc : 1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A chunk-size line: hex digits, then an optional ";ext". */
static int
chunk_size(struct mcpc_resp *r, const char *l)
{
	size_t x = 0;
	int digits = 0;

	for (; hexval(*l) >= 0; l++, digits++) {
		if (digits >= 8)
			return -MDT_ETOOBIG;
		x = x * 16 + (size_t)hexval(*l);
	}
	if (digits == 0 || (*l != 0 && *l != ';' && *l != ' ' && *l != '\t'))
		return -MDT_EPROTO;
	r->chunk_left = x;
	r->cstate = x == 0 ? C_TRAILER : C_DATA;
	return 0;
}

/* One line of the head, a chunk size or a trailer (CRLF stripped). */
static int
control_line(struct mcpc_resp *r, const char *l)
{
	if (r->state == HEAD && *l == 0 && r->nlines == 0)
		return -MDT_EPROTO;  /* no status line */
	if (r->state == HEAD)
		return *l == 0 ? head_done(r) : head_line(r, l);
	if (r->cstate == C_SIZE)
		return chunk_size(r, l);
	if (r->cstate == C_DATA_END)
		return *l == 0 ? (r->cstate = C_SIZE, 0) : -MDT_EPROTO;
	return *l == 0 ? body_done(r) : 0;  /* C_TRAILER */
}

/* Bytes of a control line, up to its LF; how many were used.  Its own
 * buffer: an SSE line may be open across a chunk boundary. */
static int
control_bytes(struct mcpc_resp *r, const char *p, size_t n, size_t *used)
{
	const char *lf = memchr(p, '\n', n);
	size_t take = lf != NULL ? (size_t)(lf - p) + 1 : n;
	int rc;

	*used = take;
	if ((rc = append(&r->ctl, &r->clen, &r->ccap, p, lf != NULL ? take -
	    1 : take, MCPC_LINE_MAX)) != 0)
		return rc;
	if (lf == NULL)
		return 0;
	if (r->clen > 0 && r->ctl[r->clen - 1] == '\r')
		r->ctl[--r->clen] = 0;
	if (memchr(r->ctl, 0, r->clen) != NULL)
		return -MDT_EPROTO;
	rc = control_line(r, r->clen > 0 ? r->ctl : "");
	r->clen = 0;
	return rc;
}

/* Body bytes; how many were used. */
static int
body_bytes(struct mcpc_resp *r, const char *p, size_t n, size_t *used)
{
	size_t take = n;
	int rc;

	if (r->chunked && r->cstate != C_DATA)
		return control_bytes(r, p, n, used);
	if (r->chunked && take > r->chunk_left)
		take = r->chunk_left;
	else if (!r->chunked && r->left >= 0 && take > (size_t)r->left)
		take = (size_t)r->left;
	*used = take;
	if ((rc = payload(r, p, take)) != 0)
		return rc;
	if (r->chunked) {
		r->chunk_left -= take;
		if (r->chunk_left == 0)
			r->cstate = C_DATA_END;
		return 0;
	}
	if (r->left >= 0 && (r->left -= (long long)take) == 0)
		return body_done(r);
	return 0;
}

int
mcpc_feed(struct mcpc_resp *r, const char *p, size_t n)
{
	while (n > 0 && r->state != DONE && r->state != FAILED) {
		size_t used = 0;
		int rc = r->state == HEAD ? control_bytes(r, p, n, &used) :
		    body_bytes(r, p, n, &used);
		if (rc < 0) {
			r->state = FAILED;
			return rc;
		}
		p += used;
		n -= used;
	}
	return r->state == FAILED ? -MDT_EPROTO : r->state == DONE;
}

int
mcpc_eof(struct mcpc_resp *r)
{
	int rc;

	if (r->state == DONE)
		return 1;
	if (r->state != BODY || r->chunked || r->left >= 0) {
		r->state = FAILED;
		return -MDT_EPROTO;  /* cut short */
	}
	rc = body_done(r);
	return rc < 0 ? rc : 1;
}
