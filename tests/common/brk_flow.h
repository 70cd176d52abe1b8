/*
 * Check assertions over the integration harness (brk_test.h) for the
 * broker flow tests: connect as an agent, open a root task, hand a subtask
 * on and receive it, expect a refusal, and copy the source tree's policy
 * set into a broker's directory to change it for one test.
 */
#ifndef BRK_FLOW_H
#define BRK_FLOW_H

#include <stddef.h>

#include "brk_test.h"

/* Dials b and authenticates c as agent (with the key bt_setup made). */
void bf_as(const struct bt_broker *b, struct bt_conn *c, const char *agent);
/* Opens a root task on c for clinician / patient / purpose / scopes, with
 * a fresh assertion; the task and its token into *t. */
void bf_open_root(struct bt_broker *b, struct bt_conn *c,
    const char *clinician, const char *patient, const char *purpose,
    const char *scopes, struct bt_task *t);
/* `from` hands scopes of parent on to `to` with op; `to` receives the
 * subtask through next, and its task and token land in *t. */
void bf_hand_on(struct bt_conn *from, struct bt_conn *to, mdt_wire_op op,
    const struct bt_task *parent, const char *scopes, struct bt_task *t);
/* m is a refusal with this reason; frees m. */
void bf_expect(mdt_wire_msg *m, const char *reason);
/* Makes the directory b->dir/name holding a copy of every .cedar file of
 * the source tree's policies/; its path into out (len bytes). */
void bf_policy_copy(const struct bt_broker *b, const char *name, char *out,
    size_t len);

#endif
