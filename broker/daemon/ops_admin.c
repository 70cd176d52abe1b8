/*
 * Operator actions on tasks an admin does not hold: `abort` ends a task
 * (and revokes its subtree) as a cancellation, the way its holder's
 * `cancel` would, for tasks left open by an agent that is gone.  Only
 * agents listed in `admins` may send it, for an open task; the decision,
 * a refusal included, is recorded with the sender as the acting agent
 * before anything is ended or answered.
 */
#include <stdio.h>
#include <string.h>

#include "broker.h"

/* Records the admin's cancellation of t; 0 or -1 with d filled. */
static int
abort_record(struct brk_ctx *c, const mdt_store_task *t,
    struct brk_deny *d)
{
	char esc[BRK_ID_MAX * 2], chain[BRK_ID_MAX * 2 + 8];
	struct brk_record r = {
		.op = "abort", .verdict = MDT_STORE_ALLOW, .task = t->task_id,
		.clinician = t->clinician, .patient = t->patient,
		.purpose = t->purpose, .action = "cancel",
		.resource = t->task_id, .chain_json = chain,
	};

	brk_json_escape(c->agent, esc, sizeof(esc));
	snprintf(chain, sizeof(chain), "[\"%s\"]", esc);
	return brk_record(c, &r, d);
}

/* Ends t as cancelled by the admin; *rv lists what ended. */
static int
abort_end(struct brk_ctx *c, const mdt_store_task *t, const char *reason,
    mdt_store_revocation **rv, struct brk_deny *d)
{
	int rc;

	if (abort_record(c, t, d) != 0)
		return -1;
	rc = mdt_store_end_task(c->b->store, t->task_id, MDT_TASK_CANCELLED,
	    c->agent, reason != NULL ? reason : "aborted by an operator", 0,
	    rv);
	if (rc != 0) {
		brk_deny_set(d, rc == -MDT_EREVOKED ? rc : -MDT_ESTORE,
		    rc == -MDT_EREVOKED ? "task.ended" : "store",
		    "ending task %s: %s", t->task_id, mdt_strerror(rc));
		return -1;
	}
	return 0;
}

/* The task an admin may abort: c's agent is in admins, the task exists
 * and is still open; 0 with *t (caller frees) or -1 with d filled. */
static int
abort_target(struct brk_ctx *c, const char *task, mdt_store_task **t,
    struct brk_deny *d)
{
	int rc;

	if (!brk_word_in(c->snap->cfg.admins, c->agent)) {
		brk_deny_set(d, -MDT_EAUTH, "admin.required", "abort needs an "
		    "agent listed in admins");
		return -1;
	}
	if ((rc = mdt_store_get_task(c->b->store, task, t)) != 0) {
		brk_deny_set(d, rc == -MDT_ENOTFOUND ? rc : -MDT_ESTORE,
		    rc == -MDT_ENOTFOUND ? "task.unknown" : "store",
		    "task %s: %s", task, mdt_strerror(rc));
		return -1;
	}
	if ((*t)->state != MDT_TASK_OPEN) {
		brk_deny_set(d, -MDT_EREVOKED, "task.ended", "task %s has "
		    "ended already", task);
		return -1;
	}
	return 0;
}

void
brk_op_abort(struct brk_worker *w, struct brk_ctx *c)
{
	const char *task = NULL, *reason = NULL;
	char err[MDT_ERRMSG_MAX];
	struct brk_deny d = { 0 };
	struct brk_held h = { 0 };
	mdt_store_task *t = NULL;
	mdt_store_revocation *rv = NULL;
	int has;

	(void)w;
	if (mdt_wire_get_str(c->root, "task", BRK_ID_MAX - 1, &task, err,
	    sizeof(err)) != 0 || mdt_wire_get_str_opt(c->root, "reason",
	    MDT_STORE_FIELD_MAX - 1, &reason, &has, err, sizeof(err)) != 0) {
		brk_deny_set(&d, -MDT_EPROTO, "field", "%s", err);
		brk_refuse(c, "abort", &h, &d, NULL);
		return;
	}
	if (brk_id_check(c, "abort", &d) != 0) {
		brk_reply_deny(c, &d); /* recorded, or a store failure */
		return;
	}
	if (abort_target(c, task, &t, &d) != 0) {
		/* the task's facts, when it is known, name the refusal */
		h.claimed_task = task;
		h.task = t;
		brk_refuse(c, "abort", &h, &d, task);
		mdt_free(t);
		return;
	}
	if (abort_end(c, t, reason, &rv, &d) != 0) {
		mdt_free(t);
		brk_reply_deny(c, &d);
		return;
	}
	brk_publish_revoke(c->b, rv, "cancelled");
	if (t->parent_id != NULL)
		(void)brk_queue_push(c->b, c->snap->cfg.queue_max,
		    t->from_agent, brk_item_result(t->task_id, t->parent_id,
		    c->agent, "cancelled", (const uint8_t *)"", 0));
	BLOG(c->b, BRK_INFO, "task.aborted", "task=%s by=%s revoked=%zu",
	    t->task_id, c->agent, rv->count);
	brk_reply_ended(c, t->task_id, rv);
	mdt_free(rv);
	mdt_free(t);
}
