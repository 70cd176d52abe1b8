/*
 * mandated operations: --help, --check-config and --print-config; SIGHUP
 * reloads the registry atomically (a bad reload keeps the running set);
 * SIGTERM answers parked long polls and exits 0; revocations reach PUB
 * subscribers; the admin tree query.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
run_cmd(const char *args, char *out, size_t len)
{
	char cmd[2048];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s/broker/mandated %s 2>&1",
	    mdt_test_binary_dir(), args);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, len - 1, p);
	out[n] = 0;
	return WEXITSTATUS(pclose(p));
}

START_TEST(command_line)
{
	static char out[65536];
	char args[2048];

	ck_assert_int_eq(run_cmd("--help", out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "SYNOPSIS"));
	ck_assert_ptr_nonnull(strstr(out, "EXIT STATUS"));
	ck_assert_ptr_nonnull(strstr(out, "SIGHUP"));
	ck_assert_ptr_nonnull(strstr(out, "stepup_timeout_ms"));
	ck_assert_int_eq(run_cmd("--bogus", out, sizeof(out)), 2);
	ck_assert_int_eq(run_cmd("--set workers=0 --print-config", out,
	    sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "workers"));
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	snprintf(args, sizeof(args), "--policy-dir %s/policies --entities %s "
	    "--data-dir %s/data --print-config", mdt_test_source_dir(),
	    B.entities, B.dir);
	ck_assert_int_eq(run_cmd(args, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "store = "));
	ck_assert_ptr_nonnull(strstr(out, "/data/audit.db"));
	snprintf(args, sizeof(args), "--policy-dir %s/policies --entities %s "
	    "--check-config", mdt_test_source_dir(), B.entities);
	ck_assert_int_eq(run_cmd(args, out, sizeof(out)), 0);
	snprintf(args, sizeof(args), "--policy-dir %s --entities %s "
	    "--check-config", B.dir, B.entities); /* no policies there */
	ck_assert_int_eq(run_cmd(args, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "no policies"));
	snprintf(args, sizeof(args), "--entities /nonexistent.json "
	    "--check-config");
	ck_assert_int_eq(run_cmd(args, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "/nonexistent.json"));
	/* an SVID trust bundle that cannot be loaded stops the start, not
	 * the first SVID login; the entities file is no bundle */
	snprintf(args, sizeof(args), "--policy-dir %s/policies --entities %s "
	    "--set svid_bundle=%s --check-config", mdt_test_source_dir(),
	    B.entities, B.entities);
	ck_assert_int_eq(run_cmd(args, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, B.entities) != NULL, "%s", out);
	bt_cleanup(&B);
}
END_TEST

static void
wait_log(const char *what)
{
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(B.log, "r");
		char line[4096];
		int found = 0;
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			found |= strstr(line, what) != NULL;
		if (f != NULL)
			fclose(f);
		if (found)
			return;
		pause_ms(50);
	}
	ck_abort_msg("log never showed %s", what);
}

START_TEST(sighup_reload_atomic)
{
	struct bt_conn c;
	char cmd[1200];
	FILE *f;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, NULL), 0);
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
	bt_close(&c);
	/* a broken registry: the running one stays */
	snprintf(cmd, sizeof(cmd), "cp %s %s.good", B.entities, B.entities);
	ck_assert_int_eq(system(cmd), 0);
	f = fopen(B.entities, "w");
	fputs("[{\"uid\": ", f);
	fclose(f);
	kill(B.pid, SIGHUP);
	wait_log("reload.failed");
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
	bt_close(&c);
	/* a registry without the summarizer's key: it can no longer log in */
	snprintf(cmd, sizeof(cmd), "sed 's/\"publicKey\": \"[^\"]*\"/"
	    "\"publicKey\": \"\"/' %s.good > %s", B.entities, B.entities);
	ck_assert_int_eq(system(cmd), 0);
	kill(B.pid, SIGHUP);
	wait_log("reload.done");
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)),
	    -MDT_EAUTH);
	bt_close(&c);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

START_TEST(sigterm_answers_parked_polls)
{
	struct bt_conn c;
	mdt_wire_writer *w;
	const uint8_t *buf;
	size_t len;
	void *r = NULL;
	size_t rn = 0;
	nng_msg *m;
	mdt_wire_msg *reply = NULL;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, NULL), 0);
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
	w = bt_req(&c, MDT_OP_NEXT);
	ck_assert_int_eq(mdt_wire_put_int(w, "wait_ms", 20000), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &buf, &len), 0);
	ck_assert_int_eq(nng_msg_alloc(&m, len), 0);
	memcpy(nng_msg_body(m), buf, len);
	mdt_wire_writer_free(w);
	ck_assert_int_eq(nng_sendmsg(c.s, m, 0), 0);
	pause_ms(300); /* parked */
	kill(B.pid, SIGTERM);
	ck_assert_int_eq(nng_recv(c.s, &r, &rn, NNG_FLAG_ALLOC), 0);
	ck_assert_int_eq(mdt_wire_decode(r, rn, &reply, NULL, 0), 0);
	ck_assert_int_eq(mdt_wire_msg_ok(reply), 1);
	ck_assert_int_eq(mdt_wire_val_type(mdt_wire_map_get(
	    mdt_wire_msg_root(reply), "item")), MDT_WIRE_NIL);
	mdt_wire_msg_free(reply);
	nng_free(r, rn);
	bt_close(&c);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	wait_log("stopped");
	bt_cleanup(&B);
}
END_TEST

START_TEST(revocations_published_and_tree)
{
	struct bt_conn o;
	struct bt_task t;
	nng_socket s;
	char *jwt;
	mdt_wire_msg *m, *ev = NULL;
	mdt_wire_writer *w;
	void *buf;
	size_t n;
	const char *json;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, NULL), 0);
	ck_assert_int_eq(nng_sub0_open(&s), 0);
	ck_assert_int_eq(nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "revoke", 7),
	    0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	ck_assert_int_eq(nng_dial(s, B.pub, NULL, 0), 0);
	ck_assert_int_eq(bt_dial(&o, B.url), 0);
	ck_assert_int_eq(bt_auth(&o, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	jwt = bt_assertion(&B, "dr-alice", "pat-001", "patient/*.rs", 0);
	m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
	ck_assert_int_eq(bt_task_from(&t, m, 0), 0);
	mdt_wire_msg_free(m);
	free(jwt);
	pause_ms(200); /* the subscription is connected */
	m = bt_end(&o, MDT_OP_COMPLETE, t.id, t.tok, t.tlen);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	mdt_wire_msg_free(m);
	ck_assert_int_eq(nng_recv(s, &buf, &n, NNG_FLAG_ALLOC), 0);
	ck_assert_int_eq(mdt_wire_decode_event(buf, n, &ev, NULL, 0), 0);
	{
		const mdt_wire_val *tasks = mdt_wire_map_get(
		    mdt_wire_msg_root(ev), "tasks");
		const char *id;
		size_t l;
		ck_assert_uint_eq(mdt_wire_val_count(tasks), 1);
		ck_assert_int_eq(mdt_wire_val_str(mdt_wire_array_at(tasks, 0),
		    &id, &l), 0);
		ck_assert_str_eq(id, t.id);
	}
	mdt_wire_msg_free(ev);
	nng_free(buf, n);
	/* the holder of the root may read the tree, with its decisions */
	w = bt_req(&o, MDT_OP_TREE);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", t.id), 0);
	ck_assert_int_eq(bt_call(&o, w, &m), 0);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	json = bt_str(m, "json");
	ck_assert_ptr_nonnull(strstr(json, t.id));
	ck_assert_ptr_nonnull(strstr(json, "complete"));
	mdt_wire_msg_free(m);
	nng_close(s);
	bt_close(&o);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

#define WAITERS 400

/* Hundreds of agents parked in next hold no thread: the broker keeps
 * answering others, then every poll gets its "no work" on time. */
START_TEST(many_parked_long_polls)
{
	static struct bt_conn w[WAITERS];
	struct bt_conn c;
	const uint8_t *buf;
	size_t len;
	int64_t t0;
	struct timespec ts;

	const char *args[] = { "--set", "contexts=1024", NULL };

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, args), 0);
	for (int i = 0; i < WAITERS; i++) {
		ck_assert_int_eq(bt_dial(&w[i], B.url), 0);
		ck_assert_int_eq(bt_auth(&w[i], BT_SUMM, bt_key(&B, BT_SUMM)),
		    0);
	}
	for (int i = 0; i < WAITERS; i++) {
		mdt_wire_writer *wr;
		nng_msg *m;
		wr = bt_req(&w[i], MDT_OP_NEXT);
		ck_assert_int_eq(mdt_wire_put_int(wr, "wait_ms", 4000), 0);
		ck_assert_int_eq(mdt_wire_writer_finish(wr, &buf, &len), 0);
		ck_assert_int_eq(nng_msg_alloc(&m, len), 0);
		memcpy(nng_msg_body(m), buf, len);
		mdt_wire_writer_free(wr);
		ck_assert_int_eq(nng_sendmsg(w[i].s, m, 0), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ck_assert_int_lt(ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0, 2000);
	bt_close(&c);
	for (int i = 0; i < WAITERS; i++) {
		void *r = NULL;
		size_t rn = 0;
		mdt_wire_msg *m = NULL;
		ck_assert_int_eq(nng_recv(w[i].s, &r, &rn, NNG_FLAG_ALLOC), 0);
		ck_assert_int_eq(mdt_wire_decode(r, rn, &m, NULL, 0), 0);
		ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
		mdt_wire_msg_free(m);
		nng_free(r, rn);
		bt_close(&w[i]);
	}
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_ops");
	TCase *tc = tcase_create("ops");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, command_line);
	tcase_add_test(tc, sighup_reload_atomic);
	tcase_add_test(tc, sigterm_answers_parked_polls);
	tcase_add_test(tc, revocations_published_and_tree);
	tcase_add_test(tc, many_parked_long_polls);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
