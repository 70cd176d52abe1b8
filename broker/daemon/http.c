/*
 * The local health and metrics listener (setting http_listen, e.g.
 * 127.0.0.1:9464): one thread, one connection at a time, each bounded in
 * size (BRK_HTTP_HEAD_MAX) and time (a few seconds), answered and closed.
 *   GET /healthz   200 while the process serves
 *   GET /readyz    200 when the store is writable and policies are
 *                  loaded, else 503 with the reason
 *   GET /metrics   the Prometheus text exposition (metrics_text.c)
 * It reads the broker's counters and never touches a request.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc_int.h"
#include "broker.h"
#include "http.h"

#define CONN_MS 3000     /* a client has this long to send its head */

struct brk_http {
	int fd;
	pthread_t thr;
	atomic_int stop;
};

/* Splits "HOST:PORT" or "[V6]:PORT" (numeric) into *ai (caller frees
 * with freeaddrinfo). */
static int
resolve(const char *spec, struct addrinfo **ai, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { 0 };
	size_t hl;
	int rc;

	if (colon == NULL || colon == spec || colon[1] == 0) {
		snprintf(err, errlen, "http_listen: expected HOST:PORT, got "
		    "'%s'", spec);
		return -MDT_ECONFIG;
	}
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl > 2 && spec[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), spec + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hl, spec);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, colon + 1, &hints, ai)) != 0) {
		snprintf(err, errlen, "http_listen: '%s': %s (a numeric "
		    "address and port)", spec, gai_strerror(rc));
		return -MDT_ECONFIG;
	}
	return 0;
}

int
brk_http_check(const char *spec, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	int rc;

	if (spec[0] == 0)
		return 0;
	rc = resolve(spec, &ai, err, errlen);
	if (ai != NULL)
		freeaddrinfo(ai);
	return rc;
}

/* A listening socket on spec. */
static int
bind_addr(const char *spec, int *fd, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	int s, one = 1, rc;

	if ((rc = resolve(spec, &ai, err, errlen)) != 0)
		return rc;
	s = socket(ai->ai_family, SOCK_STREAM, 0);
	if (s < 0 || fcntl(s, F_SETFD, FD_CLOEXEC) != 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 || bind(s, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(s, 16) != 0) {
		snprintf(err, errlen, "http_listen: cannot listen on %s: %s",
		    spec, strerror(errno));
		if (s >= 0)
			close(s);
		freeaddrinfo(ai);
		return -MDT_ETRANSPORT;
	}
	freeaddrinfo(ai);
	*fd = s;
	return 0;
}

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static const char *
status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Bad Request";
	}
}

static void
respond(int fd, int code, const char *type, const char *body, size_t blen,
    int head_only)
{
	char h[512];
	int n = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%s"
	    "Connection: close\r\n\r\n", code, status_text(code), type, blen,
	    code == 405 ? "Allow: GET, HEAD\r\n" : "");

	send_all(fd, h, (size_t)n);
	if (!head_only)
		send_all(fd, body, blen);
}

static void
route(brk_broker *b, int fd, const struct brk_http_req *r)
{
	const char *txt = "text/plain; charset=utf-8";
	int head = strcmp(r->method, "HEAD") == 0;
	char why[128];
	struct brk_buf m = { 0 };

	if (!head && strcmp(r->method, "GET") != 0) {
		respond(fd, 405, txt, "method not allowed\n", 19, 0);
	} else if (strcmp(r->path, "/healthz") == 0) {
		respond(fd, 200, txt, "ok\n", 3, head);
	} else if (strcmp(r->path, "/readyz") == 0) {
		int ok = brk_ready(b, why, sizeof(why) - 1);
		strcat(why, "\n");
		respond(fd, ok ? 200 : 503, txt, why, strlen(why), head);
	} else if (strcmp(r->path, "/metrics") == 0) {
		brk_metrics_render(b, &m);
		if (m.oom)
			respond(fd, 503, txt, "out of memory\n", 14, head);
		else
			respond(fd, 200, "text/plain; version=0.0.4; "
			    "charset=utf-8", m.p, m.len, head);
		brk_buf_free(&m);
	} else {
		respond(fd, 404, txt, "not found\n", 10, head);
	}
}

/* Reads one request head within CONN_MS and answers it. */
static void
serve(brk_broker *b, int fd)
{
	char buf[BRK_HTTP_HEAD_MAX];
	size_t len = 0;
	int64_t until = brk_now_ms() + CONN_MS;
	struct brk_http_req r;
	int rc = 0, status = 0;

	while (rc == 0 && len < sizeof(buf)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = until - brk_now_ms();
		ssize_t n;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			respond(fd, 408, "text/plain", "timeout\n", 8, 0);
			return;
		}
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n <= 0)
			return;
		len += (size_t)n;
		rc = brk_http_parse(buf, len, &r, &status);
	}
	if (rc == 1)
		route(b, fd, &r);
	else
		respond(fd, status ? status : 431, "text/plain", "bad request\n",
		    12, 0);
}

static void *
http_main(void *arg)
{
	brk_broker *b = arg;
	struct brk_http *h = b->http;

	while (!atomic_load(&h->stop)) {
		struct pollfd p = { .fd = h->fd, .events = POLLIN };
		int c;
		if (poll(&p, 1, 200) <= 0)
			continue;
		c = accept(h->fd, NULL, NULL);
		if (c < 0)
			continue;
		(void)fcntl(c, F_SETFD, FD_CLOEXEC);
		serve(b, c);
		close(c);
	}
	return NULL;
}

int
brk_http_start(brk_broker *b, char *err, size_t errlen)
{
	struct brk_http *h;
	int rc, fd;

	if (b->cfg.http_listen[0] == 0)
		return 0;
	if ((rc = bind_addr(b->cfg.http_listen, &fd, err, errlen)) != 0)
		return rc;
	if ((h = mdt__calloc(1, sizeof(*h))) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -MDT_ENOMEM;
	}
	h->fd = fd;
	b->http = h;
	if (pthread_create(&h->thr, NULL, http_main, b) != 0) {
		close(fd);
		mdt__free(h);
		b->http = NULL;
		snprintf(err, errlen, "cannot start the http thread");
		return -MDT_ENOMEM;
	}
	return 0;
}

void
brk_http_stop(brk_broker *b)
{
	struct brk_http *h = b->http;

	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	pthread_join(h->thr, NULL);
	close(h->fd);
	mdt__free(h);
	b->http = NULL;
}
