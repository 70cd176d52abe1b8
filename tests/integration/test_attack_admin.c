/*
 * Attack: the operator and work-item operations (abort, ack, next) probed
 * by agents that are not entitled to them.  An abort by an agent outside
 * `admins`, of a task that does not exist or has ended already, an ack of
 * another agent's item, a malformed next: each is refused, and each
 * refusal is on record (a deny, with the presenting agent) before it is
 * answered -- never an allow on record for a refused abort.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <mandate/wire.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;
static struct bt_conn O, S, K, A;
static struct bt_task Root, Sub;

static void
setup(void)
{
	static const char *const args[] = { "--set", "admins=" BT_PRIOR,
	    NULL };

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
	bf_as(&B, &O, BT_ORCH);
	bf_as(&B, &S, BT_SUMM);
	bf_as(&B, &K, BT_CODER);
	bf_as(&B, &A, BT_PRIOR);
	bf_open_root(&B, &O, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &Root);
}

static void
teardown(void)
{
	bt_close(&O);
	bt_close(&S);
	bt_close(&K);
	bt_close(&A);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

static mdt_wire_msg *
abort_task(struct bt_conn *c, const char *task)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_ABORT);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", task), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

static mdt_wire_msg *
ack(struct bt_conn *c, const char *item)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_ACK);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "item", item), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

START_TEST(abort_by_a_non_admin)
{
	/* the task's own orchestrator is not an operator */
	at_refused(&B, &O, abort_task(&O, Root.id), "abort", "admin.required",
	    NULL);
	at_refused(&B, &K, abort_task(&K, Root.id), "abort", "admin.required",
	    NULL);
	/* the task is still open: its holder can still delegate */
	bf_hand_on(&O, &S, MDT_OP_DISPATCH, &Root, "patient/*.rs", &Sub);
}
END_TEST

START_TEST(abort_of_an_unknown_task)
{
	at_refused(&B, &A, abort_task(&A, "t-does-not-exist"), "abort",
	    "task.unknown", NULL);
}
END_TEST

START_TEST(abort_of_an_ended_task)
{
	mdt_wire_msg *m = abort_task(&A, Root.id);

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "abort: %s", bt_reason(m));
	mdt_wire_msg_free(m);
	/* a second abort (a new request) ends nothing: a refusal, recorded
	 * as one, not an allow answered as a refusal */
	at_refused(&B, &A, abort_task(&A, Root.id), "abort", "task.ended",
	    "pat-001");
}
END_TEST

START_TEST(abort_with_a_malformed_field)
{
	mdt_wire_writer *w = bt_req(&A, MDT_OP_ABORT);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_int(w, "task", 7), 0);
	ck_assert_int_eq(bt_call(&A, w, &m), 0);
	at_refused(&B, &A, m, "abort", "field", NULL);
}
END_TEST

START_TEST(ack_of_another_agents_item)
{
	mdt_wire_msg *m;
	struct bt_task got;

	m = bt_delegate(&O, MDT_OP_DISPATCH, Root.id, Root.tok, Root.tlen,
	    BT_SUMM, "patient/*.rs");
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "dispatch: %s", bt_reason(m));
	snprintf(Sub.id, sizeof(Sub.id), "%s", bt_str(m, "task"));
	mdt_wire_msg_free(m);
	/* the coder acknowledges the summarizer's item (its id is the
	 * subtask id, known to whoever saw the dispatch) */
	at_refused(&B, &K, ack(&K, Sub.id), "ack", "work.unknown", NULL);
	/* so does the dispatcher itself */
	at_refused(&B, &O, ack(&O, Sub.id), "ack", "work.unknown", NULL);
	/* the item is still the summarizer's */
	m = bt_next(&S, 3000);
	ck_assert_int_eq(bt_task_from(&got, m, 1), 0);
	mdt_wire_msg_free(m);
	ck_assert_str_eq(got.id, Sub.id);
}
END_TEST

START_TEST(next_with_a_malformed_field)
{
	mdt_wire_writer *w = bt_req(&S, MDT_OP_NEXT);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "wait_ms", "forever"), 0);
	ck_assert_int_eq(bt_call(&S, w, &m), 0);
	at_refused(&B, &S, m, "next", "field", NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("attack_admin");
	TCase *tc = tcase_create("ops");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, abort_by_a_non_admin);
	tcase_add_test(tc, abort_of_an_unknown_task);
	tcase_add_test(tc, abort_of_an_ended_task);
	tcase_add_test(tc, abort_with_a_malformed_field);
	tcase_add_test(tc, ack_of_another_agents_item);
	tcase_add_test(tc, next_with_a_malformed_field);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
