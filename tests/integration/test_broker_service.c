/*
 * mandated under a service manager: it sends READY=1 on NOTIFY_SOCKET
 * once it serves, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a
 * SIGHUP, and STOPPING=1 on SIGTERM; a SIGHUP after the configuration file
 * changed names each changed setting that needs a restart, and only those.
 * --check-config refuses what a start would: a monitoring address that is
 * not numeric, a root.pub whose root.key is gone, a root key others may
 * read.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* mandated --check-config with the test broker's files and extra
 * arguments; exit status, output into out. */
static int
check(const char *extra, char *out, size_t len)
{
	char cmd[4096];
	size_t n = 0, got;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s/broker/mandated --policy-dir %s/policies "
	    "--entities %s --data-dir %s/data --run-dir %s/run %s "
	    "--check-config 2>&1", getenv("MDT_BINARY_DIR"),
	    mdt_test_source_dir(), B.entities, B.dir, B.dir, extra);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while ((got = fread(out + n, 1, len - 1 - n, p)) > 0)
		n += got;
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(check_config_refusals)
{
	static char out[8192];
	char key[600], pub[600];

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(check("", out, sizeof(out)) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "root key: "));
	ck_assert_ptr_nonnull(strstr(out, "(absent: generated on first start)"));
	ck_assert_ptr_nonnull(strstr(out, "policies: "));
	ck_assert_int_eq(check("--set http_listen=localhost:9464", out,
	    sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "http_listen"));
	ck_assert_msg(check("--set http_listen=127.0.0.1:9464", out,
	    sizeof(out)) == 0, "%s", out);
	/* a first start makes the root key; then take its secret away */
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	ck_assert_msg(check("", out, sizeof(out)) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "(present, mode 0600)"));
	snprintf(key, sizeof(key), "%s/data/root.key", B.dir);
	snprintf(pub, sizeof(pub), "%s/data/root.pub", B.dir);
	ck_assert_int_eq(chmod(key, 0644), 0);
	ck_assert_int_eq(check("", out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "root.key"));
	ck_assert_int_eq(chmod(key, 0600), 0);
	ck_assert_int_eq(unlink(key), 0);
	ck_assert_int_eq(access(pub, F_OK), 0);
	ck_assert_int_eq(check("", out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "without its secret") != NULL, "%s", out);
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
	tcase_add_test(tc, check_config_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
