/*
 * Broker state that is neither evidence nor work: the clinician-now
 * grants (table clinician_now, written by the writer, read on a read
 * connection) and the step-ups nobody decided in time (undecided
 * `approvals` rows past their expiry).  Both live in the store so that a
 * restart, or another broker on a shared store, sees what this one saw
 * (docs/state-model.md).
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "backend.h"
#include "clinician_int.h"

int
mdt_store_put_clinician_now(mdt_store *store, const char *clinician,
    int64_t iat, const char *scopes)
{
	struct mdt__clin_req q = {clinician, iat, scopes, mdt_store_now_ms()};
	mdt__op op = {.type = MDT__OP_CLINICIAN, .rec = &q};

	if (store == NULL || clinician == NULL || scopes == NULL)
		return -MDT_EINVAL;
	if (store->read_only) {
		mdt__store_seterr(store, "store opened read-only");
		return -MDT_EINVAL;
	}
	if (clinician[0] == '\0' || strlen(clinician) > MDT_STORE_FIELD_MAX ||
	    strlen(scopes) > MDT_STORE_JSON_MAX) {
		mdt__store_seterr(store, "clinician-now: an id of 1 to %d "
		    "bytes and a scope of at most %d", MDT_STORE_FIELD_MAX,
		    MDT_STORE_JSON_MAX);
		return -MDT_EINVAL;
	}
	return mdt__writer_submit(store, &op);
}

int
mdt_store_get_clinician_now(mdt_store *store, const char *clinician,
    int64_t *iat, char **scopes)
{
	if (store == NULL || clinician == NULL || iat == NULL ||
	    scopes == NULL)
		return -MDT_EINVAL;
	*scopes = NULL;
	if (store->be->clinician_get == NULL)
		return -MDT_EUNSUPPORTED;
	return store->be->clinician_get(store, clinician, iat, scopes);
}

struct expired_walk {
	mdt_store_approval_fn fn;
	void *arg;
};

static int
each_expired(void *arg, const void *rec)
{
	struct expired_walk *w = arg;

	return w->fn(w->arg, rec);
}

int
mdt_store_expired_approvals(mdt_store *store, int64_t now_ms, uint32_t limit,
    mdt_store_approval_fn fn, void *arg)
{
	struct expired_walk w = {fn, arg};
	char now[24], lim[16];
	const char *args[2] = {now, lim};

	if (store == NULL || fn == NULL || limit == 0)
		return -MDT_EINVAL;
	if (store->be->kind_rows == NULL)
		return -MDT_EUNSUPPORTED;
	snprintf(now, sizeof(now), "%lld", (long long)now_ms);
	snprintf(lim, sizeof(lim), "%u", limit);
	/* the casts: parameters travel as text on both backends */
	return store->be->kind_rows(store, MDT__KIND_APPROVAL,
	    " WHERE t.expires_ms <= CAST($1 AS BIGINT) AND NOT EXISTS"
	    " (SELECT 1 FROM approval_decisions d WHERE d.approval_id ="
	    " t.approval_id) ORDER BY t.seq LIMIT CAST($2 AS BIGINT)", args,
	    2, each_expired, &w);
}
