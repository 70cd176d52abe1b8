/*
 * mandated under a service manager: it sends READY=1 on NOTIFY_SOCKET
 * once it serves, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a
 * SIGHUP, and STOPPING=1 on SIGTERM; a SIGHUP after the configuration file
 * changed names each changed setting that needs a restart, and only those.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

/* The next datagram within ms (its text into buf), or "" on timeout. */
static const char *
next_note(int fd, char *buf, size_t len, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static void
write_conf(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* Whether the broker's log has a line containing both a and b, waiting
 * up to 20 s for it when wait. */
static int
log_has(const char *a, const char *b, int wait)
{
	char line[4096];

	for (int tries = 0; tries < (wait ? 400 : 1); tries++) {
		FILE *f = fopen(B.log, "r");
		int found = 0;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		while (f != NULL && !found && fgets(line, sizeof(line), f))
			found = strstr(line, a) != NULL && strstr(line, b) != NULL;
		if (f != NULL)
			fclose(f);
		if (found)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

START_TEST(notify_and_reload)
{
	static char conf[600];
	const char *args[] = { "--config", conf, NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[256];
	int fd;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_uint_lt(strlen(B.dir) + 13, sizeof(sa.sun_path));
	memcpy(sa.sun_path, B.dir, strlen(B.dir));
	memcpy(sa.sun_path + strlen(B.dir), "/notify.sock", 13);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	snprintf(conf, sizeof(conf), "%s/mandated.conf", B.dir);
	write_conf(conf, "workers = 4\nlog_level = info\nmax_fanout = 8\n");
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
	unsetenv("NOTIFY_SOCKET");
	ck_assert_str_eq(next_note(fd, buf, sizeof(buf), 20000),
	    "READY=1\nSTATUS=serving");

	write_conf(conf, "workers = 6\nlog_level = debug\nmax_fanout = 9\n"
	    "idem_ttl = 60\n");
	ck_assert_int_eq(kill(B.pid, SIGHUP), 0);
	ck_assert_ptr_nonnull(strstr(next_note(fd, buf, sizeof(buf), 20000),
	    "RELOADING=1\nMONOTONIC_USEC="));
	ck_assert_str_eq(next_note(fd, buf, sizeof(buf), 20000), "READY=1");
	/* the notices come before the reload's end */
	ck_assert(log_has("reload.done", "policies=", 1));
	ck_assert(log_has("reload.restart_needed", "setting=workers", 0));
	ck_assert(log_has("reload.restart_needed", "setting=idem_ttl", 0));
	ck_assert(!log_has("reload.restart_needed", "setting=max_fanout", 0));
	ck_assert(!log_has("reload.restart_needed", "setting=log_level", 0));

	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	ck_assert_str_eq(next_note(fd, buf, sizeof(buf), 20000), "STOPPING=1");
	close(fd);
	bt_cleanup(&B);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_service");
	TCase *tc = tcase_create("service");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, notify_and_reload);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
