/*
 * Attack: an open or a dispatch resent after the reply cache forgot it
 * (its time to live, or a restart).  Its id is recorded as an allow
 * naming the task it made; the resend must be answered for that task,
 * not make a second one -- a second root task, a second delegated token,
 * a second work item -- that no record names.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>

#include <mandate/wire.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;

/* Sends the bytes of an open or a dispatch; the reply's task id. */
static void
dispatch_bytes(struct bt_conn *c, const uint8_t *b, size_t n, char *task,
    size_t len)
{
	void *r = NULL;
	size_t rn = 0;
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(bt_raw(c, b, n, &r, &rn), 0);
	ck_assert_int_eq(mdt_wire_decode(r, rn, &m, NULL, 0), 0);
	nng_free(r, rn);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "dispatch: %s", bt_reason(m));
	snprintf(task, len, "%s", bt_str(m, "task"));
	mdt_wire_msg_free(m);
}

/* The bytes of an open of pat-001 under a fixed id (writer freed by the
 * caller). */
static mdt_wire_writer *
open_bytes(struct bt_broker *b, const uint8_t **buf, size_t *n)
{
	mdt_wire_writer *w = NULL;
	char *jwt = bt_assertion(b, "dr-alice", "pat-001", "patient/*.rs", 0);

	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_OPEN, "open-once", 0,
	    0), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "assertion", jwt) ||
	    mdt_wire_put_cstr(w, "patient", "pat-001") ||
	    mdt_wire_put_cstr(w, "purpose", "TREAT") ||
	    mdt_wire_put_cstr(w, "scopes", "patient/*.rs"), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, buf, n), 0);
	free(jwt);
	return w;
}

/* Takes and acknowledges the summarizer's next item: its task id, or ""
 * when none came. */
static void
take(struct bt_conn *s, char *task, size_t len)
{
	mdt_wire_msg *m = bt_next(s, 700), *a = NULL;
	struct bt_task t;
	mdt_wire_writer *w;

	task[0] = 0;
	if (bt_task_from(&t, m, 1) == 0) {
		snprintf(task, len, "%s", t.id);
		w = bt_req(s, MDT_OP_ACK);
		ck_assert_int_eq(mdt_wire_put_cstr(w, "item", t.id), 0);
		ck_assert_int_eq(bt_call(s, w, &a), 0);
		mdt_wire_msg_free(a);
	}
	mdt_wire_msg_free(m);
}

/*
 * A cancel whose answer was lost: resent (past the reply cache, or after
 * a restart) it is answered as it was, the task ended, not refused as a
 * reused id because the task has ended since; other content under its id
 * is still id.reused.
 */
static void
resend_end(struct bt_conn *o, const struct bt_task *root, int restart)
{
	const char *args[] = { "--set", "idem_ttl=1", NULL };
	struct timespec pause = { 2, 500000000L };
	mdt_wire_writer *w = NULL, *w2 = NULL;
	const uint8_t *b, *b2;
	size_t n, n2;
	char first[128], again[128];
	void *r = NULL;
	size_t rn = 0;
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_CANCEL, "cancel-once",
	    0, 0), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", root->id) ||
	    mdt_wire_put_bin(w, "token", root->tok, root->tlen) ||
	    mdt_wire_writer_finish(w, &b, &n), 0);
	dispatch_bytes(o, b, n, first, sizeof(first));
	ck_assert_str_eq(first, root->id);
	if (restart) {
		bt_close(o);
		ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
		ck_assert_msg(bt_start(&B, args) == 0, "restart (log %s)",
		    B.log);
		bf_as(&B, o, BT_ORCH);
	} else {
		nanosleep(&pause, NULL);
	}
	dispatch_bytes(o, b, n, again, sizeof(again));
	ck_assert_str_eq(again, root->id);
	/* the same id for other content: refused, whatever came before */
	ck_assert_int_eq(mdt_wire_writer_new(&w2, MDT_OP_COMPLETE,
	    "cancel-once", 0, 0), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w2, "task", root->id) ||
	    mdt_wire_put_bin(w2, "token", root->tok, root->tlen) ||
	    mdt_wire_writer_finish(w2, &b2, &n2), 0);
	ck_assert_int_eq(bt_raw(o, b2, n2, &r, &rn), 0);
	ck_assert_int_eq(mdt_wire_decode(r, rn, &m, NULL, 0), 0);
	nng_free(r, rn);
	ck_assert_str_eq(bt_reason(m), "id.reused");
	mdt_wire_msg_free(m);
	mdt_wire_writer_free(w);
	mdt_wire_writer_free(w2);
}

static void
resend(int restart)
{
	const char *args[] = { "--set", "idem_ttl=1", NULL };
	struct timespec pause = { 2, 500000000L };
	struct bt_conn o, s;
	struct bt_task root;
	mdt_wire_writer *w = NULL, *ow;
	const uint8_t *b, *ob;
	size_t n, on;
	char first[128], again[128], got[128], root1[128], root2[128];

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_DISPATCH,
	    "dispatch-once", 0, 0), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", root.id) ||
	    mdt_wire_put_bin(w, "token", root.tok, root.tlen) ||
	    mdt_wire_put_cstr(w, "to", BT_SUMM) ||
	    mdt_wire_put_cstr(w, "scopes", "patient/*.rs"), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &b, &n), 0);
	dispatch_bytes(&o, b, n, first, sizeof(first));
	take(&s, got, sizeof(got));
	ck_assert_str_eq(got, first);
	ow = open_bytes(&B, &ob, &on);
	dispatch_bytes(&o, ob, on, root1, sizeof(root1));
	if (restart) {
		bt_close(&o);
		bt_close(&s);
		ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
		ck_assert_msg(bt_start(&B, args) == 0, "restart (log %s)",
		    B.log);
		bf_as(&B, &o, BT_ORCH);
		bf_as(&B, &s, BT_SUMM);
	} else {
		nanosleep(&pause, NULL); /* past the reply cache */
	}
	dispatch_bytes(&o, b, n, again, sizeof(again));
	ck_assert_msg(strcmp(again, first) == 0, "a resent dispatch made a "
	    "second subtask %s (the first: %s)", again, first);
	take(&s, got, sizeof(got));
	ck_assert_msg(got[0] == 0, "a second item %s", got);
	dispatch_bytes(&o, ob, on, root2, sizeof(root2));
	ck_assert_msg(strcmp(root1, root2) == 0, "a resent open made a "
	    "second root task %s (the first: %s)", root2, root1);
	resend_end(&o, &root, restart);
	mdt_wire_writer_free(ow);
	mdt_wire_writer_free(w);
	bt_close(&o);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

START_TEST(resent_past_the_cache)
{
	resend(0);
}
END_TEST

START_TEST(resent_after_a_restart)
{
	resend(1);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_resend");
	TCase *tc = tcase_create("resend");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, resent_past_the_cache);
	tcase_add_test(tc, resent_after_a_restart);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
