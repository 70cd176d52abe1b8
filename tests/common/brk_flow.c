/* Check assertions over the broker integration harness (brk_flow.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brk_flow.h"
#include "testutil.h"

void
bf_as(const struct bt_broker *b, struct bt_conn *c, const char *agent)
{
	ck_assert_int_eq(bt_dial(c, b->url), 0);
	ck_assert_int_eq(bt_auth(c, agent, bt_key(b, agent)), 0);
}

void
bf_open_root(struct bt_broker *b, struct bt_conn *c, const char *clinician,
    const char *patient, const char *purpose, const char *scopes,
    struct bt_task *t)
{
	char *jwt = bt_assertion(b, clinician, patient, scopes, 0);
	mdt_wire_msg *m = bt_open(c, jwt, patient, purpose, scopes);

	free(jwt);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "open refused: %s",
	    bt_reason(m));
	ck_assert_int_eq(bt_task_from(t, m, 0), 0);
	mdt_wire_msg_free(m);
}

void
bf_hand_on(struct bt_conn *from, struct bt_conn *to, mdt_wire_op op,
    const struct bt_task *parent, const char *scopes, struct bt_task *t)
{
	mdt_wire_msg *m = bt_delegate(from, op, parent->id, parent->tok,
	    parent->tlen, to->agent, scopes);

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s to %s refused: %s",
	    mdt_wire_op_name(op), to->agent, bt_reason(m));
	mdt_wire_msg_free(m);
	m = bt_next(to, 3000);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	ck_assert_int_eq(bt_task_from(t, m, 1), 0);
	mdt_wire_msg_free(m);
}

void
bf_expect(mdt_wire_msg *m, const char *reason)
{
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(strcmp(bt_reason(m), reason) == 0,
	    "expected reason '%s', got '%s'", reason, bt_reason(m));
	mdt_wire_msg_free(m);
}

void
bf_policy_copy(const struct bt_broker *b, const char *name, char *out,
    size_t len)
{
	char cmd[1024];

	snprintf(out, len, "%s/%s", b->dir, name);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp '%s'/policies/*.cedar "
	    "'%s'/", out, mdt_test_source_dir(), out);
	ck_assert_int_eq(system(cmd), 0);
}
