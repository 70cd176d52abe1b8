/*
 * The broker's state as an operator asks for it: counts read at the time
 * of asking (contexts scanned, the session table counted, the store's
 * writer counters), for /readyz, /metrics and the status operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker.h"

void
brk_status_get(brk_broker *b, struct brk_status *out)
{
	struct brk_snapshot *snap = brk_snapshot_acquire(b);

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < b->nctx; i++)
		out->parked += atomic_load(&b->ctxs[i].state) == BRK_CTX_PARKED;
	out->queued = atomic_load(&b->metrics.queued);
	out->audit_pending = atomic_load(&b->recording);
	out->in_flight = atomic_load(&b->busy);
	out->sessions = (long long)brk_sessions_count(b->sessions);
	out->uptime_s = (brk_now_ms() - b->metrics.start_ms) / 1000;
	if (snap != NULL && snap->policies != NULL) {
		out->policies = (long long)mdt_policy_set_count(snap->policies);
		snprintf(out->policy_hash, sizeof(out->policy_hash), "%s",
		    mdt_policy_set_hash(snap->policies));
	}
	brk_snapshot_release(snap);
	out->store_ok = b->store != NULL &&
	    mdt_store_stats_get(b->store, &out->store) == 0 &&
	    out->store.writable;
}

int
brk_ready(brk_broker *b, char *why, size_t len)
{
	struct brk_status s;

	brk_status_get(b, &s);
	if (atomic_load(&b->stopping)) {
		snprintf(why, len, "stopping");
		return 0;
	}
	if (!s.store_ok) {
		snprintf(why, len, "audit store not writable");
		return 0;
	}
	if (s.policies == 0) {
		snprintf(why, len, "no policies loaded");
		return 0;
	}
	snprintf(why, len, "ready");
	return 1;
}

/* The status answer as JSON text (caller frees with free). */
static char *
status_json(brk_broker *b)
{
	struct brk_status s;
	json_t *j;
	char *text;

	brk_status_get(b, &s);
	j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:{s:b, s:I, s:I, s:I, s:I, s:I}}",
	    "version", mdt_version(), "policy_hash", s.policy_hash,
	    "policies", (json_int_t)s.policies,
	    "uptime_s", (json_int_t)s.uptime_s,
	    "sessions", (json_int_t)s.sessions,
	    "queued", (json_int_t)s.queued,
	    "audit_pending", (json_int_t)s.audit_pending,
	    "in_flight", (json_int_t)s.in_flight,
	    "parked", (json_int_t)s.parked,
	    "unrecorded_refusals", (json_int_t)atomic_load(&b->unrecorded),
	    "store", "writable", s.store_ok,
	    "head_seq", (json_int_t)s.store.head_seq,
	    "checkpoint_seq", (json_int_t)s.store.checkpoint_seq,
	    "checkpoint_ms", (json_int_t)s.store.checkpoint_ms,
	    "batches", (json_int_t)s.store.batches,
	    "failed_batches", (json_int_t)s.store.failed_batches);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return text;
}

void
brk_op_status(struct brk_worker *w, struct brk_ctx *c)
{
	struct brk_held h = { 0 };
	struct brk_deny d = { 0 };
	mdt_wire_writer *wr;
	char *json;

	(void)w;
	if (!brk_word_in(c->snap->cfg.admins, c->agent)) {
		brk_deny_set(&d, -MDT_EAUTH, "admin.required", "status needs an "
		    "agent listed in admins");
		brk_refuse(c, "status", &h, &d, NULL);
		return;
	}
	json = status_json(c->b);
	wr = json != NULL ? brk_reply_writer(c, 1) : NULL;
	if (wr != NULL && mdt_wire_put_cstr(wr, "json", json) != 0) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	free(json);
	if (wr == NULL) {
		brk_reply_error(c, -MDT_ENOMEM, "internal", "status: out of "
		    "memory");
		return;
	}
	brk_reply(c, wr);
}
