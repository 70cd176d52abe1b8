/*
 * mandate-authzen test harness: the front as a real process and a small
 * blocking HTTP/1.1 client (Content-Length bodies only, as the front
 * answers).  Shared by the integration tests and the benchmark, which
 * includes this file.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, kill */
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mandate/key.h>

#include "az_test.h"

static const char *
az_env(const char *name)
{
	const char *d = getenv(name);
	return d != NULL ? d : ".";
}

static void
az_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int
az_write_files(struct az_front *f, const struct bt_broker *b,
    const char *agent)
{
	char base[400], path[400], err[256];
	const mdt_keypair *kp = bt_key(b, agent);
	FILE *c;

	snprintf(base, sizeof(base), "%s/front", f->dir);
	if (kp == NULL || mdt_keypair_save(kp, base, err, sizeof(err)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/credentials", f->dir);
	if ((c = fopen(path, "w")) == NULL)
		return -1;
	fprintf(c, "# test credential\n%s\n", AZ_TEST_TOKEN);
	fclose(c);
	return chmod(path, 0600);
}

static void
az_child(const struct az_front *f, const struct bt_broker *b,
    const char *agent)
{
	char bin[512], key[400], cred[400], port[400], log[400];
	FILE *l;

	snprintf(bin, sizeof(bin), "%s/authzen/mandate-authzen",
	    az_env("MDT_BINARY_DIR"));
	snprintf(key, sizeof(key), "%s/front.key", f->dir);
	snprintf(cred, sizeof(cred), "%s/credentials", f->dir);
	snprintf(port, sizeof(port), "%s/port", f->dir);
	snprintf(log, sizeof(log), "%s/front.log", f->dir);
	if ((l = fopen(log, "a")) != NULL) {
		dup2(fileno(l), 2);
		fclose(l);
	}
	{
		/* writable copies: execv takes char *const[] */
		static char args[20][512];
		const char *v[] = { bin, "--broker", b->url, "--agent", agent,
		    "--key", key, "--credentials", cred, "--listen",
		    "127.0.0.1:0", "--port-file", port, "--root-pub",
		    b->root_pub, "--audience", f->token_audience, "--events",
		    b->pub };
		size_t n = f->token_audience != NULL ? 19 : 13;
		char *argv[20];
		for (size_t i = 0; i < n; i++) {
			snprintf(args[i], sizeof(args[i]), "%s", v[i]);
			argv[i] = args[i];
		}
		argv[n] = NULL;
		execv(bin, argv);
	}
	_exit(127);
}

int
az_front_start(struct az_front *f, const struct bt_broker *b,
    const char *agent)
{
	return az_front_start_tokens(f, b, agent, NULL);
}

int
az_front_start_tokens(struct az_front *f, const struct bt_broker *b,
    const char *agent, const char *aud)
{
	char path[400];
	int status;

	memset(f, 0, sizeof(*f));
	f->token_audience = aud;
	snprintf(f->dir, sizeof(f->dir), "%s/authzen-XXXXXX", b->dir);
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if (az_write_files(f, b, agent) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/port", f->dir);
	if ((f->pid = fork()) < 0)
		return -1;
	if (f->pid == 0)
		az_child(f, b, agent);
	for (int i = 0; i < 600; i++) {
		FILE *p = fopen(path, "r");
		if (p != NULL) {
			int ok = fscanf(p, "%d", &f->port) == 1;
			fclose(p);
			if (ok)
				return 0;
		}
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			f->pid = 0;
			return -1;
		}
		az_sleep_ms(50);
	}
	return -1;
}

int
az_front_stop(struct az_front *f)
{
	int status;

	if (f->pid <= 0)
		return -1;
	kill(f->pid, SIGTERM);
	if (waitpid(f->pid, &status, 0) != f->pid)
		return -1;
	f->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
	    WTERMSIG(status);
}

int
az_conn(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
az_send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A header's value in head (NUL-terminated), copied to out. */
static int
az_header(const char *head, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p != NULL;
	    p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
			const char *v = p + 3 + n;
			size_t l;
			while (*v == ' ')
				v++;
			l = strcspn(v, "\r");
			if (l >= len)
				l = len - 1;
			memcpy(out, v, l);
			out[l] = 0;
			return 0;
		}
	}
	return -1;
}

static int
az_read_response(int fd, int *status, char **resp, char *rid)
{
	size_t cap = 1 << 20, have = 0, hl = 0, cl = 0;
	char *buf = malloc(cap + 1), v[128], *e;

	if (buf == NULL)
		return -1;
	while (hl == 0 || have < hl + cl) {
		ssize_t n = have < cap ? recv(fd, buf + have, cap - have, 0) : 0;
		if (n <= 0) {
			free(buf);
			return -1;
		}
		have += (size_t)n;
		buf[have] = 0;
		if (hl == 0 && (e = strstr(buf, "\r\n\r\n")) != NULL) {
			hl = (size_t)(e - buf) + 4;
			e[2] = 0;
			cl = az_header(buf, "Content-Length", v, sizeof(v)) == 0 ?
			    (size_t)strtoul(v, NULL, 10) : 0;
			if (rid != NULL && az_header(buf, "X-Request-ID", rid,
			    128) != 0)
				rid[0] = 0;
			*status = atoi(buf + 9);
		}
	}
	*resp = malloc(cl + 1);
	if (*resp != NULL) {
		memcpy(*resp, buf + hl, cl);
		(*resp)[cl] = 0;
	}
	free(buf);
	return *resp != NULL ? 0 : -1;
}

int
az_request(int fd, const char *method, const char *path, const char *auth,
    const char *extra_headers, const char *body, int *status, char **resp,
    char *rid)
{
	char head[2048];
	size_t bl = body != NULL ? strlen(body) : 0;
	int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: "
	    "127.0.0.1\r\n%s%s%s%sContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n", method, path, auth ?
	    "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "",
	    extra_headers ? extra_headers : "", bl);

	char *msg;
	int rc;

	*resp = NULL;
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    (msg = malloc((size_t)n + bl)) == NULL)
		return -1;
	memcpy(msg, head, (size_t)n);
	if (bl > 0)
		memcpy(msg + n, body, bl);
	rc = az_send_all(fd, msg, (size_t)n + bl);
	free(msg);
	return rc != 0 ? -1 : az_read_response(fd, status, resp, rid);
}

int
az_http(int port, const char *method, const char *path, const char *auth,
    const char *body, int *status, char **resp)
{
	int fd = az_conn(port), rc;

	*resp = NULL;
	if (fd < 0)
		return -1;
	rc = az_request(fd, method, path, auth, NULL, body, status, resp,
	    NULL);
	close(fd);
	return rc;
}
