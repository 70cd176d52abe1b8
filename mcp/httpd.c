/*
 * MCP's Streamable HTTP transport (revision 2025-11-25) towards the
 * client: one endpoint (cfg.http_path); POST carries one JSON-RPC
 * message, answered 202 for a notification or response, and for a
 * request with application/json, or with a text/event-stream when a
 * notification (a step-up's progress) comes before the answer; GET opens
 * the session's stream of notifications that answer no request; DELETE
 * ends the session.  The session id is issued at initialize and required
 * after it.  The Origin and Host headers are checked against DNS
 * rebinding.  The request parser is mandate-authzen's bounded one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway.h"
#include "httpd_int.h"

#define SESSIONS_MAX 16
#define CONNS_MAX 64
#define IO_TIMEOUT_S 10
#define IDLE_SLICES 240         /* of 250 ms: an idle connection's life */

struct session {
	int in_use;
	char id[MCPH_SESSION_ID_LEN + 1];
	struct gw_peer peer;
	int stream_fd;                /* its GET stream, or -1 */
};

struct httpd {
	struct gw *g;
	int lfd;
	int loopback;                 /* bound to a loopback address */
	pthread_t acceptor;
	int acceptor_running;
	atomic_int stop;
	pthread_mutex_t lock;         /* sessions, nconns */
	pthread_cond_t idle;
	struct session sessions[SESSIONS_MAX];
	int nconns;
};

/* ---- writing ---- */

static const char *
reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Server Error" : "Error";
	}
}

/* A whole response with a body of n bytes (JSON when n > 0). */
static int
respond(int fd, int status, const char *extra, const char *body, size_t n,
    int keep_alive)
{
	char head[768];
	int hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s%s"
	    "Content-Length: %zu\r\nConnection: %s\r\n\r\n", status,
	    reason_of(status), n > 0 ? "Content-Type: application/json\r\n" :
	    "", extra != NULL ? extra : "", n, keep_alive ? "keep-alive" :
	    "close");

	if (hl < 0 || (size_t)hl >= sizeof(head) ||
	    mcp_write_all(fd, head, (size_t)hl) != 0)
		return -MDT_EIO;
	return n > 0 ? mcp_write_all(fd, body, n) : 0;
}

/* An HTTP error whose body is a JSON-RPC error (id null). */
static void
respond_error(int fd, int status, const char *extra, const char *msg)
{
	json_t *e = mcp_error_msg(NULL, status == 404 ? -32001 : -32000, msg);
	char *t = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;

	(void)respond(fd, status, extra, t, t != NULL ? strlen(t) : 0, 0);
	free(t);
	json_decref(e);
}

static int
sse_begin(int fd, const char *extra)
{
	char head[512];
	int hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
	    "%sConnection: close\r\n\r\n", extra != NULL ? extra : "");

	return hl > 0 && (size_t)hl < sizeof(head) ?
	    mcp_write_all(fd, head, (size_t)hl) : -MDT_EIO;
}

static int
sse_event(int fd, const json_t *msg)
{
	char *t = json_dumps(msg, JSON_COMPACT);
	int rc = t != NULL && mcp_write_all(fd, "event: message\ndata: ", 21) ==
	    0 && mcp_write_all(fd, t, strlen(t)) == 0 &&
	    mcp_write_all(fd, "\n\n", 2) == 0 ? 0 : -MDT_EIO;

	free(t);
	return rc;
}

/* ---- a POST's answer ---- */

struct post_sink {
	struct gw_sink base;
	int fd;
	const char *extra;            /* headers of the answer */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int sse, done, failed;
};

static int
is_final(const json_t *msg)
{
	return json_object_get(msg, "method") == NULL;
}

static int
post_send(struct gw_sink *base, const json_t *msg)
{
	struct post_sink *s = (struct post_sink *)(void *)base;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->done || s->failed) {
		rc = -MDT_EIO;
	} else if (is_final(msg) && !s->sse) {
		char *t = json_dumps(msg, JSON_COMPACT);
		rc = t != NULL ? respond(s->fd, 200, s->extra, t, strlen(t), 1) :
		    -MDT_ENOMEM;
		free(t);
	} else {
		if (!s->sse)
			rc = sse_begin(s->fd, s->extra);
		s->sse = 1;
		if (rc == 0)
			rc = sse_event(s->fd, msg);
	}
	s->failed |= rc != 0;
	if (is_final(msg))
		s->done = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Waits for the answer; 1 when the connection may carry another request. */
static int
post_wait(struct post_sink *s)
{
	int keep;

	pthread_mutex_lock(&s->lock);
	while (!s->done)
		pthread_cond_wait(&s->cond, &s->lock);
	keep = !s->sse && !s->failed;
	pthread_mutex_unlock(&s->lock);
	return keep;
}

/* ---- sessions ---- */

static struct session *
session_new(struct httpd *h)
{
	uint8_t rnd[MCPH_SESSION_ID_LEN / 2];
	struct session *s = NULL;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return NULL;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < SESSIONS_MAX && s == NULL; i++)
		if (!h->sessions[i].in_use)
			s = &h->sessions[i];
	if (s != NULL) {
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
		s->in_use = 1;
		s->stream_fd = -1;
		atomic_store(&s->peer.initialized, 0);
	}
	pthread_mutex_unlock(&h->lock);
	return s;
}

/* The session named id; NULL when none (ended, or never issued). */
static struct session *
session_find(struct httpd *h, const char *id)
{
	struct session *s = NULL;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < SESSIONS_MAX && s == NULL && id[0] != 0; i++)
		if (h->sessions[i].in_use &&
		    strcmp(h->sessions[i].id, id) == 0)
			s = &h->sessions[i];
	pthread_mutex_unlock(&h->lock);
	return s;
}

static void
http_notify(struct gw *g, const json_t *msg)
{
	struct httpd *h = g->transport;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < SESSIONS_MAX; i++) {
		struct session *s = &h->sessions[i];
		if (s->in_use && s->stream_fd >= 0 &&
		    atomic_load(&s->peer.initialized) &&
		    sse_event(s->stream_fd, msg) != 0)
			shutdown(s->stream_fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&h->lock);
}

/* ---- the methods ---- */

static void
on_post(struct httpd *h, int fd, const struct az_http_req *r,
    const struct mcph_hdrs *hd, int *keep)
{
	struct gw *g = h->g;
	struct session *s = NULL;
	char err[256], extra[128] = "";
	mcp_msg m;
	int code = mcp_msg_parse(r->body, r->body_len, g->cfg.max_message, &m,
	    err, sizeof(err));

	if (code != 0) {
		mcp_msg_clear(&m);
		respond_error(fd, 400, NULL, err);
		*keep = 0;
		return;
	}
	if (m.kind == MCP_REQUEST && strcmp(m.method, "initialize") == 0) {
		if ((s = session_new(h)) == NULL) {
			respond_error(fd, 503, NULL, "too many sessions");
			*keep = 0;
			mcp_msg_clear(&m);
			return;
		}
		snprintf(extra, sizeof(extra), "Mcp-Session-Id: %s\r\n", s->id);
	} else if ((s = session_find(h, hd->session)) == NULL) {
		respond_error(fd, hd->session[0] ? 404 : 400, NULL,
		    hd->session[0] ? "session not found" :
		    "Mcp-Session-Id header required");
		*keep = 0;
		mcp_msg_clear(&m);
		return;
	}
	if (m.kind != MCP_REQUEST) {
		struct post_sink none = { .base = { post_send }, .fd = -1,
		    .done = 1 };
		gw_handle(g, &s->peer, &none.base, &m);
		*keep = respond(fd, 202, NULL, NULL, 0, 1) == 0;
	} else {
		struct post_sink ps = { .base = { post_send }, .fd = fd,
		    .extra = extra };
		pthread_mutex_init(&ps.lock, NULL);
		pthread_cond_init(&ps.cond, NULL);
		gw_handle(g, &s->peer, &ps.base, &m);
		*keep = post_wait(&ps);
		pthread_cond_destroy(&ps.cond);
		pthread_mutex_destroy(&ps.lock);
	}
	mcp_msg_clear(&m);
}

/* The session's stream, held open until the client or the server ends. */
static void
on_get(struct httpd *h, int fd, const struct mcph_hdrs *hd)
{
	struct session *s = session_find(h, hd->session);
	int busy = 0;

	if (s == NULL) {
		respond_error(fd, hd->session[0] ? 404 : 400, NULL,
		    "a valid Mcp-Session-Id header is required");
		return;
	}
	pthread_mutex_lock(&h->lock);
	busy = s->stream_fd >= 0;
	if (!busy && sse_begin(fd, NULL) == 0)
		s->stream_fd = fd;
	pthread_mutex_unlock(&h->lock);
	if (busy) {
		respond_error(fd, 409, NULL, "the session has its stream");
		return;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[256];
		int n = poll(&p, 1, 200), gone;
		pthread_mutex_lock(&h->lock);
		gone = !s->in_use || s->stream_fd != fd;
		pthread_mutex_unlock(&h->lock);
		if (gone || atomic_load(&h->stop) || (n > 0 &&
		    recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0))
			break;
	}
	pthread_mutex_lock(&h->lock);
	if (s->stream_fd == fd)
		s->stream_fd = -1;
	pthread_mutex_unlock(&h->lock);
}

static void
on_delete(struct httpd *h, int fd, const struct mcph_hdrs *hd)
{
	struct session *s = session_find(h, hd->session);

	if (s == NULL) {
		respond_error(fd, hd->session[0] ? 404 : 400, NULL,
		    "a valid Mcp-Session-Id header is required");
		return;
	}
	pthread_mutex_lock(&h->lock);
	s->in_use = 0;
	if (s->stream_fd >= 0)
		shutdown(s->stream_fd, SHUT_RDWR);
	pthread_mutex_unlock(&h->lock);
	(void)respond(fd, 200, NULL, NULL, 0, 0);
}

/* One request; 1 when the connection may carry another. */
static int
dispatch(struct httpd *h, int fd, const struct az_http_req *r,
    const struct mcph_hdrs *hd)
{
	int status = mcph_check(r, hd, h->g->cfg.http_path,
	    h->g->cfg.http_origins, h->loopback), keep = r->keep_alive;

	if (status == 405) {
		(void)respond(fd, 405, "Allow: GET, POST, DELETE\r\n", NULL, 0, 0);
		return 0;
	}
	if (status != 0) {
		respond_error(fd, status, NULL, mcph_reason(status));
		return 0;
	}
	if (strcmp(r->method, "POST") == 0)
		on_post(h, fd, r, hd, &keep);
	else if (strcmp(r->method, "GET") == 0)
		on_get(h, fd, hd), keep = 0;
	else
		on_delete(h, fd, hd), keep = 0;
	return keep;
}

/* Reads requests from fd until it closes or asks to. */
static void
connection(struct httpd *h, int fd)
{
	size_t cap = AZ_HTTP_HEAD_MAX + h->g->cfg.max_message, len = 0;
	char *buf = malloc(cap);
	int idle = 0;

	while (buf != NULL && !atomic_load(&h->stop)) {
		struct az_http_req r;
		struct mcph_hdrs hd;
		int rc = mcph_parse(buf, len, h->g->cfg.max_message, &r, &hd);
		ssize_t n;
		if (rc == 0) {
			int keep = dispatch(h, fd, &r, &hd);
			memmove(buf, buf + r.total, len - r.total);
			len -= r.total;
			if (!keep)
				break;
			continue;
		}
		if (rc != AZ_HTTP_MORE) {
			respond_error(fd, rc, NULL, mcph_reason(rc));
			break;
		}
		if (len == cap)
			break;
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EAGAIN &&
		    ++idle < IDLE_SLICES)
			continue;  /* a slice passed: look at h->stop again */
		if (n <= 0)
			break;
		idle = 0;
		len += (size_t)n;
	}
	free(buf);
}

struct conn_arg {
	struct httpd *h;
	int fd;
};

static void *
conn_main(void *arg)
{
	struct conn_arg *a = arg;
	struct httpd *h = a->h;

	connection(h, a->fd);
	close(a->fd);
	free(a);
	pthread_mutex_lock(&h->lock);
	h->nconns--;
	pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void
start_conn(struct httpd *h, int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 }, slice = { 0, 250000 };
	struct conn_arg *a = malloc(sizeof(*a));
	pthread_attr_t at;
	pthread_t th;
	int ok;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice));
	pthread_mutex_lock(&h->lock);
	ok = a != NULL && h->nconns < CONNS_MAX;
	h->nconns += ok;
	pthread_mutex_unlock(&h->lock);
	if (ok) {
		a->h = h;
		a->fd = fd;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		ok = pthread_create(&th, &at, conn_main, a) == 0;
		pthread_attr_destroy(&at);
		if (!ok) {
			pthread_mutex_lock(&h->lock);
			h->nconns--;
			pthread_mutex_unlock(&h->lock);
		}
	}
	if (!ok) {
		respond_error(fd, 503, NULL, "too many connections");
		close(fd);
		free(a);
	}
}

static void *
accept_main(void *arg)
{
	struct httpd *h = arg;

	while (!atomic_load(&h->stop)) {
		struct pollfd p = { h->lfd, POLLIN, 0 };
		int fd;
		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			start_conn(h, fd);
	}
	return NULL;
}

/* Binds "[HOST:]PORT" (HOST defaults to 127.0.0.1). */
static int
bind_listen(struct httpd *h, const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST }, *ai = NULL;
	char host[128] = "127.0.0.1", port[16];
	const char *colon = strrchr(spec, ':');
	int one = 1;

	if (colon != NULL) {
		size_t n = (size_t)(colon - spec);
		if (n >= sizeof(host))
			return snprintf(err, errlen, "[http] listen: bad address"),
			    -MDT_EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(spec[0] == '[' ?
		    n - 2 : n), spec + (spec[0] == '['));
	}
	if (strlen(colon != NULL ? colon + 1 : spec) >= sizeof(port))
		return snprintf(err, errlen, "[http] listen: bad port"),
		    -MDT_EINVAL;
	memcpy(port, colon != NULL ? colon + 1 : spec, strlen(colon != NULL ?
	    colon + 1 : spec) + 1);
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return snprintf(err, errlen, "[http] listen %s: not a numeric "
		    "address and port", spec), -MDT_EINVAL;
	h->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	h->loopback = mcph_is_loopback(host);
	if (h->lfd < 0 || bind(h->lfd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(h->lfd, 64) != 0) {
		snprintf(err, errlen, "[http] listen %s: %s", spec,
		    strerror(errno));
		freeaddrinfo(ai);
		return -MDT_EIO;
	}
	freeaddrinfo(ai);
	return 0;
}

static void
report_address(const struct httpd *h)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 2] = "?", port[16] = "?";

	if (getsockname(h->lfd, (struct sockaddr *)&ss, &sl) == 0)
		(void)getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host),
		    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
	fprintf(stderr, "mandate-mcp: serving MCP over Streamable HTTP at "
	    "http://%s%s%s:%s%s\n", ss.ss_family == AF_INET6 ? "[" : "", host,
	    ss.ss_family == AF_INET6 ? "]" : "", port, h->g->cfg.http_path);
}

int
gw_http_start(struct gw *g, char *err, size_t errlen)
{
	struct httpd *h = calloc(1, sizeof(*h));
	int rc;

	if (h == NULL)
		return -MDT_ENOMEM;
	h->g = g;
	h->lfd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);
	g->transport = h;
	if ((rc = bind_listen(h, g->cfg.http_listen, err, errlen)) != 0)
		return rc;
	g->notify = http_notify;
	if (pthread_create(&h->acceptor, NULL, accept_main, h) != 0)
		return snprintf(err, errlen, "cannot start the listener"),
		    -MDT_ENOMEM;
	h->acceptor_running = 1;
	report_address(h);
	return 0;
}

void
gw_http_stop(struct gw *g)
{
	struct httpd *h = g->transport;

	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	if (h->acceptor_running)
		pthread_join(h->acceptor, NULL);
	gw_calls_join(g);  /* every POST waiting for a call gets its answer */
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < SESSIONS_MAX; i++)
		if (h->sessions[i].stream_fd >= 0 && h->sessions[i].in_use)
			shutdown(h->sessions[i].stream_fd, SHUT_RDWR);
	while (h->nconns > 0)
		pthread_cond_wait(&h->idle, &h->lock);
	pthread_mutex_unlock(&h->lock);
	if (h->lfd >= 0)
		close(h->lfd);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->lock);
	g->transport = NULL;
	free(h);
}
