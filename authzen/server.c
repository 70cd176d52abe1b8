/*
 * The HTTP listener of mandate-authzen: a TCP socket, one thread per
 * connection (at most AZ_CONNS_MAX at once; more are answered 503), each
 * reading requests into a fixed buffer with a read timeout, so a slow or
 * oversized client costs one bounded thread and nothing else.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "authzen_server.h"

#define AZ_READ_TIMEOUT_S 10
/* a request must arrive whole within this, however its bytes trickle in */
#define AZ_REQUEST_DEADLINE_S 30

struct conn {
	struct az_server *srv;
	int fd;
};

static const char *
reason_phrase(int status)
{
	static const struct {
		int status;
		const char *text;
	} t[] = {
		{ 200, "OK" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 411, "Length Required" },
		{ 413, "Content Too Large" }, { 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].status == status)
			return t[i].text;
	return "Error";
}

/* Head and body in one go: two writes would meet the peer's delayed
 * acknowledgement (tens of milliseconds) on every answer. */
static int
write_all(int fd, const char *head, size_t hn, const char *body, size_t bn)
{
	struct iovec iov[2] = { { (void *)(uintptr_t)head, hn },
	    { (void *)(uintptr_t)body, bn } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	while (iov[0].iov_len + iov[1].iov_len > 0) {
		ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
		size_t k;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		k = (size_t)w;
		for (int i = 0; i < 2; i++) {
			size_t t = k < iov[i].iov_len ? k : iov[i].iov_len;
			iov[i].iov_base = (char *)iov[i].iov_base + t;
			iov[i].iov_len -= t;
			k -= t;
		}
	}
	return 0;
}

static int
send_response(int fd, int status, const char *body, const char *rid,
    int keep)
{
	char head[512];
	size_t bl = body != NULL ? strlen(body) : 0;
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n%s%s%s%s%s\r\n", status,
	    reason_phrase(status), bl, rid[0] ? "X-Request-ID: " : "", rid,
	    rid[0] ? "\r\n" : "", status == 401 ?
	    "WWW-Authenticate: Bearer\r\n" : "",
	    keep ? "" : "Connection: close\r\n");

	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	return write_all(fd, head, (size_t)n, body != NULL ? body : "", bl);
}

/* Answers the requests of one connection until it closes or errs. */
static void
serve_conn(struct az_server *srv, int fd, char *buf, size_t cap)
{
	size_t have = 0;
	time_t t0 = time(NULL);

	for (;;) {
		struct az_http_req r;
		struct az_resp resp;
		int rc = have > 0 ? az_http_parse(buf, have, &r) : AZ_HTTP_MORE;
		if (rc == AZ_HTTP_MORE) {
			ssize_t n;
			if (have > 0 && time(NULL) - t0 > AZ_REQUEST_DEADLINE_S)
				return; /* a trickling client: give the slot back */
			n = have < cap ? recv(fd, buf + have, cap - have, 0) : 0;
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return;
			have += (size_t)n;
			continue;
		}
		if (rc != 0) {
			(void)send_response(fd, rc, "{\"error\":\"malformed "
			    "request\"}", "", 0);
			return;
		}
		az_api_handle(&srv->api, &r, &resp);
		rc = send_response(fd, resp.status, resp.body, r.request_id,
		    r.keep_alive);
		free(resp.body);
		if (rc != 0 || !r.keep_alive)
			return;
		memmove(buf, buf + r.total, have - r.total);
		have -= r.total;
		t0 = time(NULL);
	}
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	size_t cap = AZ_HTTP_HEAD_MAX + AZ_HTTP_BODY_MAX;
	char *buf = malloc(cap);

	if (buf != NULL)
		serve_conn(c->srv, c->fd, buf, cap);
	else
		(void)send_response(c->fd, 503, NULL, "", 0);
	free(buf);
	close(c->fd);
	atomic_fetch_sub(&c->srv->active, 1);
	free(c);
	return NULL;
}

static void
start_conn(struct az_server *srv, int fd)
{
	struct timeval tv = { AZ_READ_TIMEOUT_S, 0 };
	struct conn *c = NULL;
	int one = 1;
	pthread_attr_t at;
	pthread_t t;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (atomic_fetch_add(&srv->active, 1) >= AZ_CONNS_MAX ||
	    (c = malloc(sizeof(*c))) == NULL) {
		(void)send_response(fd, 503, NULL, "", 0);
		close(fd);
		atomic_fetch_sub(&srv->active, 1);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, conn_main, c) != 0) {
		close(fd);
		free(c);
		atomic_fetch_sub(&srv->active, 1);
	}
	pthread_attr_destroy(&at);
}

int
az_server_listen(struct az_server *srv, const char *host, const char *port,
    char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai = NULL;
	int one = 1, rc = getaddrinfo(host, port, &hints, &ai);

	if (rc != 0) {
		snprintf(err, errlen, "%s:%s: %s", host, port,
		    gai_strerror(rc));
		return -MDT_EINVAL;
	}
	srv->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv->fd < 0 || setsockopt(srv->fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 || bind(srv->fd, ai->ai_addr,
	    ai->ai_addrlen) != 0 || listen(srv->fd, 128) != 0) {
		snprintf(err, errlen, "listen on %s:%s: %s", host, port,
		    strerror(errno));
		freeaddrinfo(ai);
		if (srv->fd >= 0)
			close(srv->fd);
		srv->fd = -1;
		return -MDT_EIO;
	}
	freeaddrinfo(ai);
	return 0;
}

int
az_server_port(const struct az_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getsockname(srv->fd, (struct sockaddr *)&ss, &l) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

void
az_server_run(struct az_server *srv, volatile sig_atomic_t *stop)
{
	struct pollfd p = { .fd = srv->fd, .events = POLLIN };

	while (!*stop) {
		int fd;
		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			start_conn(srv, fd);
	}
	close(srv->fd);
	srv->fd = -1;
	/* connections use the broker handle: let them finish first */
	for (int i = 0; i < 300 && atomic_load(&srv->active) > 0; i++)
		usleep(10000);
}
