/*
 * The service manager's readiness protocol (sd_notify): one datagram of
 * newline-separated VAR=value assignments to the AF_UNIX socket named by
 * NOTIFY_SOCKET (a path, or '@' for the abstract namespace).  Without
 * the variable (not started by systemd, or Type=simple) nothing is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

int
brk_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	socklen_t len;
	ssize_t sent;
	int fd;

	if (path == NULL || path[0] == 0)
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return -MDT_EINVAL;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = 0; /* abstract: no terminating NUL counted */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0)
		return -MDT_EIO;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sa, len);
	close(fd);
	return sent == (ssize_t)strlen(state) ? 0 : -MDT_EIO;
}

int
brk_notify_reloading(void)
{
	struct timespec ts;
	char msg[96];

	/* systemd 253+ matches the reload by this timestamp */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull +
	    (unsigned long long)ts.tv_nsec / 1000ull);
	return brk_notify(msg);
}
