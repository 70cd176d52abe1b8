/*
 * The admin tree query of a task whose tree does not fit one reply
 * (1 MiB): the broker answers at once with the refusal toobig and a way
 * on (the store's read-only tree command), recorded like any refusal,
 * instead of dropping the reply and leaving the client to time out; the
 * SDK returns MDT_ETOOBIG with that detail; and the store's own tree of
 * the same task is complete.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/agent.h>
#include <mandate/store.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

static mdt_wire_msg *
tree(struct bt_conn *c, const char *task)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_TREE);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", task), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

/* Each search names a long query, so each decision adds some kilobytes
 * to the tree. */
static void
search(struct bt_conn *c, const struct bt_task *t, int i)
{
	static char res[250];
	mdt_wire_msg *m;
	int n = snprintf(res, sizeof(res), "Observation?patient=pat-001&"
	    "_count=%d&code=", i);

	memset(res + n, 'a', sizeof(res) - (size_t)n - 1);
	res[sizeof(res) - 1] = 0;
	m = bt_authorize(c, t->id, t->tok, t->tlen, "s", res, NULL, NULL,
	    NULL, 0);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "search %d: %s", i,
	    bt_reason(m));
	mdt_wire_msg_free(m);
}

START_TEST(tree_over_one_reply)
{
	static const char *const args[] = { "--set", "admins=" BT_PRIOR, NULL };
	struct bt_conn o, s;
	struct bt_task root, sub;
	mdt_wire_msg *m;
	char *json = NULL;
	int i = 0, done = 0;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	bf_hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/Observation.rs",
	    &sub);
	/* grow the tree until it no longer fits; it fits until then */
	while (!done) {
		for (int k = 0; k < 100; k++)
			search(&s, &sub, i++);
		m = tree(&o, root.id);
		if (mdt_wire_msg_ok(m) != 1) {
			ck_assert_str_eq(bt_reason(m), "toobig");
			done = 1;
		} else {
			ck_assert_uint_lt(strlen(bt_str(m, "json")), 1u << 20);
		}
		mdt_wire_msg_free(m);
		ck_assert_int_lt(i, 6000);
	}
	ck_assert_int_gt(i, 100);
	/* through the SDK: the status and the way on */
	{
		mdt_agent *a = NULL;
		char err[MDT_ERRMSG_MAX] = "";
		mdt_agent_opts ao = { .url = B.url, .spiffe_id = BT_PRIOR };
		ao.key = bt_key(&B, BT_PRIOR);
		ck_assert_int_eq(mdt_agent_connect(&ao, &a, err, sizeof(err)), 0);
		ck_assert_int_eq(mdt_agent_task_graph(a, root.id, &json, err,
		    sizeof(err)), -MDT_ETOOBIG);
		ck_assert_ptr_null(json);
		ck_assert_msg(strstr(err, "mandatectl audit tree --store URI "
		    "--task") != NULL, "%s", err);
		mdt_agent_close(a);
	}
	bt_close(&o);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	/* the refusals are on record, and the store's tree is whole */
	{
		mdt_store_opts so = { .read_only = 1 };
		mdt_store *st = NULL;
		char err[256];
		ck_assert_int_eq(mdt_store_open(B.store, &so, &st, err,
		    sizeof(err)), 0);
		ck_assert_int_eq(mdt_store_task_tree_json(st, root.id, &json), 0);
		ck_assert_uint_gt(strlen(json), 1u << 20);
		ck_assert_ptr_nonnull(strstr(json, "toobig"));
		mdt_free(json);
		mdt_store_close(st);
	}
	bt_cleanup(&B);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_tree_big");
	TCase *tc = tcase_create("tree");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, tree_over_one_reply);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
