/*
 * The agent registry edited with `mandatectl agent` under a running
 * broker: after SIGHUP an added agent authenticates with the key it was
 * registered with; after rotate-key the new key authenticates and the old
 * one neither authenticates nor keeps a session it opened; after remove
 * the agent cannot authenticate at all.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* kill */
#endif
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <mandate/key.h>

#include "brk_test.h"
#include "testutil.h"

#define LABS "spiffe://clinic.example/agent/labs"
#define WAIT_MS 60000 /* a reload on a loaded machine */

static struct bt_broker B;

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, NULL), 0);
}

static void
teardown(void)
{
	bt_cleanup(&B);
}

/* Runs mandatectl with the formatted arguments; its exit status. */
static int
ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
ctl(const char *fmt, ...)
{
	char args[2048], cmd[3072];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s/broker/mandatectl %s >/dev/null",
	    mdt_test_binary_dir(), args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A key pair written by `mandatectl keygen` to B.dir/NAME.{key,pub}. */
static mdt_keypair *
keygen(const char *name)
{
	char path[600], err[MDT_ERRMSG_MAX];
	mdt_keypair *kp = NULL;

	ck_assert_int_eq(ctl("keygen --out %s/%s", B.dir, name), 0);
	snprintf(path, sizeof(path), "%s/%s.key", B.dir, name);
	ck_assert_msg(mdt_keypair_load(path, &kp, err, sizeof(err)) == 0,
	    "%s", err);
	return kp;
}

/* 0 when a fresh connection authenticates as LABS with kp. */
static int
try_auth(const mdt_keypair *kp)
{
	struct bt_conn c;
	int rc;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	rc = bt_auth(&c, LABS, kp);
	bt_close(&c);
	return rc;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends SIGHUP and polls until kp authenticates (want_ok) or is refused
 * (!want_ok); the reload swaps the registry atomically, so whatever else
 * the test checks afterwards holds for the new registry. */
static void
reload_until(const mdt_keypair *kp, int want_ok)
{
	int64_t end = now_ms() + WAIT_MS;
	struct timespec ts = { 0, 50 * 1000000L };

	ck_assert_int_eq(kill(B.pid, SIGHUP), 0);
	while ((try_auth(kp) == 0) != want_ok) {
		ck_assert_msg(now_ms() < end, "no reload within %d ms (see %s)",
		    WAIT_MS, B.log);
		nanosleep(&ts, NULL);
	}
}

START_TEST(add_rotate_remove)
{
	mdt_keypair *k1 = keygen("labs1"), *k2 = keygen("labs2");
	struct bt_conn old;
	mdt_wire_msg *m;

	/* not registered yet */
	ck_assert_int_ne(try_auth(k1), 0);
	ck_assert_int_eq(ctl("agent add --entities %s --id " LABS " --kind "
	    "summarizer --key %s/labs1.pub --ceiling patient/Observation.rs "
	    "--max-depth 1", B.entities, B.dir), 0);
	reload_until(k1, 1);
	ck_assert_int_ne(try_auth(k2), 0);

	/* a session opened with the old key, alive across the rotation */
	ck_assert_int_eq(bt_dial(&old, B.url), 0);
	ck_assert_int_eq(bt_auth(&old, LABS, k1), 0);
	m = bt_next(&old, 0);
	ck_assert_str_ne(bt_reason(m), "auth.required");
	mdt_wire_msg_free(m);

	ck_assert_int_eq(ctl("agent rotate-key --entities %s --id " LABS
	    " --key %s/labs2.pub", B.entities, B.dir), 0);
	reload_until(k2, 1);
	ck_assert_int_ne(try_auth(k1), 0);
	m = bt_next(&old, 0);
	ck_assert_str_eq(bt_reason(m), "auth.required");
	mdt_wire_msg_free(m);
	bt_close(&old);

	ck_assert_int_eq(ctl("agent remove --entities %s --id " LABS,
	    B.entities), 0);
	reload_until(k2, 0);
	ck_assert_int_ne(try_auth(k1), 0);
	mdt_keypair_free(k1);
	mdt_keypair_free(k2);
}
END_TEST

/* An edit the broker would refuse is refused by mandatectl: the running
 * registry and the file stay as they were. */
START_TEST(refused_edit_keeps_registry)
{
	mdt_keypair *k1 = keygen("labs1");

	ck_assert_int_eq(ctl("agent add --entities %s --id " LABS " --kind "
	    "summarizer --key %s/labs1.pub --ceiling patient/Observation.rs "
	    "--max-depth 1", B.entities, B.dir), 0);
	reload_until(k1, 1);
	ck_assert_int_eq(ctl("agent add --entities %s --id " LABS "/x --kind "
	    "summarizer --svid --ceiling patient/Observation.zz --max-depth 1 "
	    "2>/dev/null", B.entities), 64);
	ck_assert_int_eq(ctl("agent remove --entities %s --id "
	    "spiffe://clinic.example/agent/coder 2>/dev/null", B.entities), 2);
	reload_until(k1, 1);
	mdt_keypair_free(k1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("agent_reload");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, add_rotate_remove);
	tcase_add_test(tc, refused_edit_keeps_registry);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
