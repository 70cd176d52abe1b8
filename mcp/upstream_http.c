/*
 * Upstream MCP servers reached by URL over MCP's Streamable HTTP
 * transport: the initialize handshake keeps the server's Mcp-Session-Id,
 * each request is one POST on a connection of its own whose answer is
 * JSON or an SSE stream (the server's notifications on it are passed on,
 * its requests answered by POSTs of their own), and a tools/call carries
 * the single-action token and its proof in the Mandate-Token and
 * Mandate-Proof headers as well as in _meta.  Everything the server
 * sends is untrusted and parsed under the gateway's bounds (httpcli.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway.h"
#include "httpcli_int.h"

struct gw_hup {
	struct gw *g;
	struct gw_upstream *u;
	const struct gw_upstream_cfg *cfg;
	char host[256], port[16], path[512];
	pthread_mutex_t lock;         /* session, next_id */
	char session[129];
	char protocol[32];
	int64_t next_id;
};

/* "http://HOST[:PORT][/PATH]" */
static int
parse_url(struct gw_hup *h, const char *url)
{
	const char *p = url + 7, *slash = strchr(p, '/'), *end, *colon;
	size_t hl;

	end = slash != NULL ? slash : p + strlen(p);
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (rb == NULL)
			return -1;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		hl = (size_t)(rb - p - 1);
		p++;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		hl = (size_t)((colon != NULL ? colon : end) - p);
	}
	if (hl == 0 || hl >= sizeof(h->host))
		return -1;
	memcpy(h->host, p, hl);
	h->host[hl] = 0;
	if (colon != NULL && ((size_t)(end - colon - 1) >= sizeof(h->port) ||
	    end == colon + 1))
		return -1;
	snprintf(h->port, sizeof(h->port), "%.*s", colon != NULL ?
	    (int)(end - colon - 1) : 2, colon != NULL ? colon + 1 : "80");
	snprintf(h->path, sizeof(h->path), "%s", slash != NULL ? slash : "/");
	return strlen(slash != NULL ? slash : "/") < sizeof(h->path) ? 0 : -1;
}

static int
dial(const struct gw_hup *h)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	struct timeval tv = { 10, 0 };
	int fd = -1;

	if (getaddrinfo(h->host, h->port, &hints, &ai) != 0)
		return -1;
	for (a = ai; a != NULL && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends msg as a POST on a new connection; the connection, or -1.
 * headers: "Name: value\r\n" lines, or NULL. */
static int
post(struct gw_hup *h, const json_t *msg, const char *headers)
{
	char head[1024], sess[200] = "", proto[64] = "";
	char *body = json_dumps(msg, JSON_COMPACT);
	int fd = body != NULL ? dial(h) : -1, hl;

	pthread_mutex_lock(&h->lock);
	if (h->session[0] != 0)
		snprintf(sess, sizeof(sess), "Mcp-Session-Id: %s\r\n",
		    h->session);
	if (h->protocol[0] != 0)
		snprintf(proto, sizeof(proto), "MCP-Protocol-Version: %s\r\n",
		    h->protocol);
	pthread_mutex_unlock(&h->lock);
	hl = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s%s%s:%s"
	    "\r\nContent-Type: application/json\r\nAccept: application/json, "
	    "text/event-stream\r\n%s%sContent-Length: %zu\r\n"
	    "Connection: close\r\n", h->path, strchr(h->host, ':') ? "[" : "",
	    h->host, strchr(h->host, ':') ? "]" : "", h->port, sess, proto,
	    body != NULL ? strlen(body) : 0);
	if (fd >= 0 && (hl < 0 || (size_t)hl >= sizeof(head) ||
	    mcp_write_all(fd, head, (size_t)hl) != 0 || (headers != NULL &&
	    mcp_write_all(fd, headers, strlen(headers)) != 0) ||
	    mcp_write_all(fd, "\r\n", 2) != 0 ||
	    mcp_write_all(fd, body, strlen(body)) != 0)) {
		close(fd);
		fd = -1;
	}
	free(body);
	return fd;
}

/* What the reading of one response is waiting for. */
struct wait_for {
	struct gw_hup *h;
	int64_t id;                   /* 0: no answer expected */
	json_t *answer;
};

static void
answer_server_request(struct gw_hup *h, mcp_msg *m)
{
	json_t *a = gw_upstream_answer(m);
	int fd = a != NULL ? post(h, a, NULL) : -1;

	if (fd >= 0)
		close(fd);  /* its 202 says nothing */
	json_decref(a);
}

static int
on_message(void *arg, const char *text, size_t n)
{
	struct wait_for *w = arg;
	char err[128];
	mcp_msg m;

	if (mcp_msg_parse(text, n, w->h->g->cfg.max_message, &m, err,
	    sizeof(err)) != 0) {
		mcp_msg_clear(&m);
		fprintf(stderr, "mandate-mcp: upstream %s: dropped a malformed "
		    "message\n", w->h->cfg->name);
		return 0;
	}
	if ((m.kind == MCP_RESULT || m.kind == MCP_ERROR) && w->id != 0 &&
	    json_is_integer(m.id) && json_integer_value(m.id) == w->id &&
	    w->answer == NULL)
		w->answer = json_incref(m.root);
	else if (m.kind == MCP_REQUEST)
		answer_server_request(w->h, &m);
	else if (m.kind == MCP_NOTIFICATION)
		gw_upstream_notified(w->h->g, w->h->u, m.method, m.params);
	mcp_msg_clear(&m);
	return 0;
}

/* Reads the response on fd into r, in slices of 100 ms so that a
 * cancellation is seen; 0 when complete, else a negative code. */
static int
read_response(int fd, struct mcpc_resp *r, int64_t deadline,
    const atomic_int *cancelled)
{
	char buf[16384];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - gw_now_ms();
		ssize_t n;
		int rc;
		if (left <= 0)
			return -MDT_ETIMEDOUT;
		if (cancelled != NULL && atomic_load(cancelled))
			return -MDT_ECLOSED;
		if (poll(&p, 1, left < 100 ? (int)left : 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		rc = n > 0 ? mcpc_feed(r, buf, (size_t)n) : mcpc_eof(r);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
}

static void
cancel_request(struct gw_hup *h, int64_t id)
{
	json_t *n = mcp_notification_msg("notifications/cancelled",
	    json_pack("{s:I,s:s}", "requestId", (json_int_t)id, "reason",
	    "cancelled by the client"));
	int fd = n != NULL ? post(h, n, NULL) : -1;

	if (fd >= 0)
		close(fd);
	json_decref(n);
}

/* Sends msg and reads its response; *answer (when id != 0) the answer. */
static int
exchange(struct gw_hup *h, const json_t *msg, int64_t id, const char *hdrs,
    uint32_t timeout_ms, const atomic_int *cancelled, json_t **answer,
    struct mcpc_resp *r)
{
	struct wait_for w = { h, id, NULL };
	int fd = post(h, msg, hdrs), rc;

	if (fd < 0)
		return -MDT_ECLOSED;
	mcpc_init(r, h->g->cfg.max_message, on_message, &w);
	rc = read_response(fd, r, gw_now_ms() + timeout_ms, cancelled);
	close(fd);
	if (rc == 0 && r->status == 404 && h->session[0] != 0)
		rc = -MDT_ECLOSED;     /* the server ended the session */
	else if (rc == 0 && (r->status < 200 || r->status > 299))
		rc = -MDT_EPROTO;
	else if (rc == 0 && id != 0 && w.answer == NULL)
		rc = -MDT_EPROTO;
	if (rc == -MDT_ECLOSED && cancelled != NULL && atomic_load(cancelled))
		cancel_request(h, id);
	mcpc_free(r);
	if (rc == 0 && answer != NULL)
		*answer = w.answer;
	else
		json_decref(w.answer);
	return rc;
}

/* gw_hup_request, with the response's parser state left in *r (its
 * status and session). */
static int
gw_hup_request_r(struct gw_hup *h, const char *method, json_t *params,
    const char *hdrs, uint32_t timeout_ms, const atomic_int *cancelled,
    json_t **answer, struct mcpc_resp *r)
{
	json_t *jid, *msg;
	int64_t id;
	int rc;

	pthread_mutex_lock(&h->lock);
	id = ++h->next_id;
	pthread_mutex_unlock(&h->lock);
	jid = json_integer(id);
	msg = jid != NULL ? mcp_request_msg(jid, method, params) : NULL;
	if (msg == NULL && jid == NULL)
		json_decref(params);
	json_decref(jid);
	if (msg == NULL)
		return -MDT_ENOMEM;
	rc = exchange(h, msg, id, hdrs, timeout_ms, cancelled, answer, r);
	json_decref(msg);
	return rc;
}

int
gw_hup_request(struct gw_hup *h, const char *method, json_t *params,
    const char *hdrs, uint32_t timeout_ms, const atomic_int *cancelled,
    json_t **answer)
{
	struct mcpc_resp r;

	return gw_hup_request_r(h, method, params, hdrs, timeout_ms,
	    cancelled, answer, &r);
}

/* initialize, keeping the session and the revision; then initialized. */
static int
handshake(struct gw_hup *h)
{
	json_t *params = json_pack("{s:s,s:{},s:{s:s,s:s}}", "protocolVersion",
	    MCP_PROTOCOL_LATEST, "capabilities", "clientInfo", "name",
	    "mandate-mcp", "version", "1.0");
	json_t *answer = NULL, *n;
	struct mcpc_resp r;
	const char *ver;
	int rc = gw_hup_request_r(h, "initialize", params, NULL,
	    h->g->cfg.call_timeout_ms, NULL, &answer, &r);

	ver = json_string_value(json_object_get(json_object_get(answer,
	    "result"), "protocolVersion"));
	if (rc == 0 && (ver == NULL || strlen(ver) >= sizeof(h->protocol)))
		rc = -MDT_EPROTO;
	if (rc == 0) {
		pthread_mutex_lock(&h->lock);
		memcpy(h->session, r.session, sizeof(h->session));
		memcpy(h->protocol, ver, strlen(ver) + 1);
		pthread_mutex_unlock(&h->lock);
	}
	json_decref(answer);
	if (rc != 0)
		return rc;
	n = mcp_notification_msg("notifications/initialized", NULL);
	rc = n != NULL ? exchange(h, n, 0, NULL, h->g->cfg.call_timeout_ms,
	    NULL, NULL, &r) : -MDT_ENOMEM;
	json_decref(n);
	return rc;
}

int
gw_hup_open(struct gw *g, struct gw_upstream *u,
    const struct gw_upstream_cfg *cfg, struct gw_hup **out, char *err,
    size_t errlen)
{
	struct gw_hup *h = calloc(1, sizeof(*h));
	int rc;

	if (h == NULL)
		return -MDT_ENOMEM;
	h->g = g;
	h->u = u;
	h->cfg = cfg;
	pthread_mutex_init(&h->lock, NULL);
	if (parse_url(h, cfg->url) != 0) {
		gw_hup_close(h);
		return snprintf(err, errlen, "upstream %s: bad url %s",
		    cfg->name, cfg->url), -MDT_EINVAL;
	}
	if ((rc = handshake(h)) != 0) {
		gw_hup_close(h);
		return snprintf(err, errlen, "upstream %s: initialize at %s "
		    "failed: %s", cfg->name, cfg->url, mdt_strerror(rc)), rc;
	}
	*out = h;
	return 0;
}

/* Ends the server's session (DELETE), best effort, and frees. */
void
gw_hup_close(struct gw_hup *h)
{
	char req[1024];
	int fd, n;

	if (h == NULL)
		return;
	if (h->session[0] != 0 && (fd = dial(h)) >= 0) {
		n = snprintf(req, sizeof(req), "DELETE %s HTTP/1.1\r\nHost: %s:%s"
		    "\r\nMcp-Session-Id: %s\r\nMCP-Protocol-Version: %s\r\n"
		    "Connection: close\r\n\r\n", h->path, h->host, h->port,
		    h->session, h->protocol);
		if (n > 0 && (size_t)n < sizeof(req) && mcp_write_all(fd, req,
		    (size_t)n) == 0) {
			struct pollfd p = { fd, POLLIN, 0 };
			(void)poll(&p, 1, 1000);
		}
		close(fd);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}
