/*
 * The broker's state as an operator asks for it: counts read at the time
 * of asking (contexts scanned, the session table counted, the store's
 * writer counters), for /readyz, /metrics and the status operation.
 */
#include <stdio.h>
#include <string.h>

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
