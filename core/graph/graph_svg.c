/*
 * SVG through Graphviz: runs `dot -Tsvg` as a child process on a socket
 * pair (so a child that dies early cannot raise SIGPIPE in the caller),
 * writes the dot source while reading the picture, bounded in size
 * (MDT_GRAPH_OUT_MAX) and time (MDT_GRAPH_DOT_MS).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc_int.h"
#include "graph_int.h"

extern char **environ;

static const char no_dot[] = "Graphviz's `dot` is not installed (Debian/"
    "Ubuntu: apt-get install graphviz; Fedora: dnf install graphviz; "
    "macOS: brew install graphviz)";

typedef struct svg_io {
	const char *in;
	size_t inlen, sent;
	char *out;
	size_t len, cap;
} svg_io;

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether an executable `dot` is on PATH. */
static int
have_dot(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	while (path != NULL && *path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/dot", (int)n,
		    n ? path : ".");
		if (access(buf, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* Reads what the child wrote; 1 at end of output, 0 to go on, < 0. */
static int
svg_read(int fd, svg_io *io)
{
	ssize_t n;

	if (io->cap - io->len < 65536) {
		size_t cap = io->cap ? 2 * io->cap : 262144;
		char *p;
		if (cap > (size_t)MDT_GRAPH_OUT_MAX + 1)
			return -MDT_ETOOBIG;
		if ((p = mdt__realloc(io->out, cap)) == NULL)
			return -MDT_ENOMEM;
		io->out = p;
		io->cap = cap;
	}
	n = recv(fd, io->out + io->len, io->cap - io->len - 1, 0);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -MDT_EIO;
	io->len += (size_t)n;
	return n == 0;
}

/* Writes more dot source; closes the child's input when all is sent. */
static int
svg_write(int fd, svg_io *io)
{
	ssize_t n = send(fd, io->in + io->sent, io->inlen - io->sent,
	    MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -MDT_EIO;
	io->sent += (size_t)n;
	if (io->sent == io->inlen)
		shutdown(fd, SHUT_WR);
	return 0;
}

/* Feeds and drains the child on fd until its output ends. */
static int
svg_pump(int fd, svg_io *io)
{
	int64_t until = mono_ms() + MDT_GRAPH_DOT_MS;
	int rc = 0;

	while (rc == 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN |
		    (io->sent < io->inlen ? POLLOUT : 0)};
		int64_t left = until - mono_ms();
		if (left <= 0)
			return -MDT_ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -MDT_EIO;
		if (p.revents & POLLOUT)
			rc = svg_write(fd, io);
		if (rc == 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
			rc = svg_read(fd, io);
	}
	return rc < 0 ? rc : 0;
}

static int
spawn_dot(int child_fd, pid_t *pid)
{
	char name[] = "dot", flag[] = "-Tsvg";
	char *argv[] = {name, flag, NULL};
	posix_spawn_file_actions_t fa;
	int rc;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -MDT_ENOMEM;
	rc = posix_spawn_file_actions_adddup2(&fa, child_fd, 0) ||
	    posix_spawn_file_actions_adddup2(&fa, child_fd, 1) ||
	    posix_spawnp(pid, "dot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc ? -MDT_EIO : 0;
}

/* The child's end: killed when it outlived its time, then reaped. */
static int
reap(pid_t pid, int kill_it)
{
	int st = 0;

	if (kill_it)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -MDT_EIO;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -MDT_EIO;
}

int
graph_svg(const char *dot, size_t len, char **svg, size_t *svglen,
    char *err, size_t errlen)
{
	svg_io io = {.in = dot, .inlen = len};
	int sv[2], rc, st;
	pid_t pid;

	if (!have_dot()) {
		snprintf(err, errlen, "%s", no_dot);
		return -MDT_EUNSUPPORTED;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -MDT_EIO;
	}
	rc = spawn_dot(sv[1], &pid);
	close(sv[1]);
	if (rc == 0) {
		rc = svg_pump(sv[0], &io);
		st = reap(pid, rc != 0);
		rc = rc ? rc : st;
	}
	close(sv[0]);
	if (rc != 0) {
		snprintf(err, errlen, "dot -Tsvg %s", rc == -MDT_ETIMEDOUT ?
		    "took too long" : rc == -MDT_ETOOBIG ? "wrote too much" :
		    "failed");
		mdt__free(io.out);
		return rc == -MDT_ETIMEDOUT ? -MDT_EIO : rc;
	}
	io.out[io.len] = '\0';
	*svg = io.out;
	*svglen = io.len;
	return 0;
}
