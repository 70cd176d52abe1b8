/*
 * The listener of mandate-console: one thread, one poll loop over the
 * listening socket and up to CON_CONNS_MAX connections.  A connection
 * is read without blocking until its request is whole (bounded by
 * CON_HEAD_MAX + CON_BODY_MAX and CON_REQUEST_MS), answered in full,
 * and closed; so an idle or trickling client (a browser's speculative
 * connection) holds a slot, never the loop.  Every answer carries the
 * same strict headers: a Content-Security-Policy that allows nothing
 * but this console's own stylesheet, no framing, no caching, no
 * sniffing, no referrer to another site (same-origin, so that a form's
 * POST carries its Origin, which the sign-in checks).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "console_int.h"
#include "console_server.h"

#define CON_CONNS_MAX 32
#define CON_REQUEST_MS 10000
#define CON_SEND_S 10
#define CON_IN_MAX (CON_HEAD_MAX + CON_BODY_MAX)

typedef struct conn {
	int fd;
	size_t len;
	int64_t deadline;
	char buf[CON_IN_MAX];
} conn;

static const char *
reason(int status)
{
	static const struct {
		int status;
		const char *text;
	} t[] = {
		{200, "OK"}, {303, "See Other"}, {400, "Bad Request"},
		{401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
		{405, "Method Not Allowed"}, {408, "Request Timeout"},
		{411, "Length Required"}, {413, "Content Too Large"},
		{414, "URI Too Long"}, {421, "Misdirected Request"},
		{429, "Too Many Requests"},
		{431, "Request Header Fields Too Large"},
		{500, "Internal Server Error"}, {501, "Not Implemented"},
		{503, "Service Unavailable"},
		{505, "HTTP Version Not Supported"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].status == status)
			return t[i].text;
	return "Error";
}

/* The fixed headers of every answer. */
static const char strict_headers[] =
    "Cache-Control: no-store\r\n"
    "Content-Security-Policy: default-src 'none'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
    "Referrer-Policy: same-origin\r\n"
    "Cross-Origin-Opener-Policy: same-origin\r\n"
    "Cross-Origin-Resource-Policy: same-origin\r\n"
    "Connection: close\r\n";

static void
optional(con_buf *b, const char *name, const char *v)
{
	if (v[0] == '\0')
		return;
	con_puts(b, name);
	con_puts(b, v);
	con_puts(b, "\r\n");
}

/* Head and body in one buffer and one stream of sends: a head sent
 * apart would wait on the peer's delayed acknowledgement. */
static void
respond(int fd, const con_resp *r, int head_only)
{
	con_buf out = {0};
	size_t off = 0;

	con_printf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n", r->status, reason(r->status),
	    r->type ? r->type : "text/plain", r->body.len);
	con_puts(&out, strict_headers);
	optional(&out, "Location: ", r->location);
	optional(&out, "Set-Cookie: ", r->cookies[0]);
	optional(&out, "Set-Cookie: ", r->cookies[1]);
	con_puts(&out, "\r\n");
	if (!head_only && r->body.len > 0)
		con_put(&out, r->body.p, r->body.len);
	while (!out.oom && off < out.len) {
		ssize_t w = send(fd, out.p + off, out.len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	con_buf_free(&out);
}

static void
answer_status(int fd, int status)
{
	con_resp r = {.status = status, .type = "text/plain; charset=utf-8"};

	con_printf(&r.body, "%d %s\n", status, reason(status));
	respond(fd, &r, 0);
	con_buf_free(&r.body);
}

/* Parses what c holds; answers and returns 1 when done with it. */
static int
advance(con_app *a, conn *c)
{
	con_req req;
	con_resp resp = {0};
	int rc = con_http_parse(c->buf, c->len, &req);

	if (rc == CON_MORE && c->len < sizeof(c->buf))
		return 0;
	if (rc != 0) {
		(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
		answer_status(c->fd, rc == CON_MORE ? 413 : rc);
		return 1;
	}
	(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
	con_handle(a, &req, &resp);
	if (resp.body.oom)
		con_page_error(&resp, 500, "the page grew too large");
	respond(c->fd, &resp, strcmp(req.method, "HEAD") == 0);
	con_buf_free(&resp.body);
	return 1;
}

/* Closes and forgets a connection; its bytes (a sign-in's credential
 * among them) are wiped first. */
static void
drop(conn **cs, size_t *n, size_t i)
{
	close(cs[i]->fd);
	sodium_memzero(cs[i]->buf, cs[i]->len);
	free(cs[i]);
	cs[i] = cs[--*n];
}

static void
accept_one(int lfd, conn **cs, size_t *n)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct timeval tv = {.tv_sec = CON_SEND_S};
	conn *c;

	if (fd < 0)
		return;
	if (*n == CON_CONNS_MAX || (c = malloc(sizeof(*c))) == NULL) {
		answer_status(fd, 503);
		close(fd);
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	c->len = 0;
	c->deadline = con_now_ms() + CON_REQUEST_MS;
	cs[(*n)++] = c;
}

/* Reads what is there; 1 when the connection is done with. */
static int
read_some(con_app *a, conn *c)
{
	ssize_t got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

	if (got < 0)
		return errno != EINTR && errno != EAGAIN;
	if (got == 0)
		return 1;
	c->len += (size_t)got;
	if (!advance(a, c))
		return 0;
	return 1;
}

int
con_serve(con_app *a, int lfd, volatile sig_atomic_t *stop)
{
	conn *cs[CON_CONNS_MAX];
	struct pollfd p[CON_CONNS_MAX + 1];
	size_t n = 0;

	while (!*stop) {
		int64_t now = con_now_ms();
		p[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (size_t i = 0; i < n; i++)
			p[i + 1] = (struct pollfd){.fd = cs[i]->fd,
			    .events = POLLIN};
		if (poll(p, n + 1, 250) < 0 && errno != EINTR)
			return -1;
		for (size_t i = n; i-- > 0;) {
			int done = 0;
			if (p[i + 1].revents)
				done = read_some(a, cs[i]);
			else if (now > cs[i]->deadline) {
				answer_status(cs[i]->fd, 408);
				done = 1;
			}
			if (done)
				drop(cs, &n, i);
		}
		if (p[0].revents & POLLIN)
			accept_one(lfd, cs, &n);
	}
	while (n > 0)
		drop(cs, &n, n - 1);
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT", numeric, into *ai (caller frees). */
static int
resolve(const char *spec, struct addrinfo **ai, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	size_t hl;
	int rc;

	if (colon == NULL || colon == spec || colon[1] == 0) {
		snprintf(err, errlen, "--listen: expected HOST:PORT, got '%s'",
		    spec);
		return -1;
	}
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl > 2 && spec[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), spec + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hl, spec);
	if ((rc = getaddrinfo(host, colon + 1, &hints, ai)) != 0) {
		snprintf(err, errlen, "--listen '%s': %s (a numeric address "
		    "and port)", spec, gai_strerror(rc));
		return -1;
	}
	return 0;
}

/* The port of a loopback address, or 0. */
static int
loopback_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127 ?
		    ntohs(in->sin_port) : 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ?
		    ntohs(in6->sin6_port) : 0;
	}
	return 0;
}

int
con_listen(const char *spec, int *fd, int *lport, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int s = -1, one = 1;

	if (resolve(spec, &ai, err, errlen) != 0)
		return -1;
	s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 || bind(s, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(s, 64) != 0 ||
	    getsockname(s, (struct sockaddr *)&ss, &sl) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec,
		    strerror(errno));
		if (s >= 0)
			close(s);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	*fd = s;
	*lport = loopback_port((const struct sockaddr *)&ss);
	return 0;
}
