/*
 * Evaluation of a request against a policy set and the answer it yields:
 * Cedar's combination (forbid wins, then permit, else deny), Mandate's
 * step-up rule, the determining policies and the errored policies.  All
 * per-request memory comes from the answer's bounded arena.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "cedar/cedar_int.h"

int
mdt_policy_answer_new(mdt_policy_answer **out)
{
	mdt_policy_answer *a;

	if (out == NULL)
		return -MDT_EINVAL;
	if ((a = mdt__calloc(1, sizeof(*a))) == NULL)
		return -MDT_ENOMEM;
	cedar_arena_init(&a->arena, MDT_POLICY_ARENA_MAX);
	*out = a;
	return 0;
}

void
mdt_policy_answer_free(mdt_policy_answer *ans)
{
	if (ans == NULL)
		return;
	cedar_arena_free(&ans->arena);
	mdt__free(ans);
}

static void
answer_clear(mdt_policy_answer *ans)
{
	cedar_arena_reset(&ans->arena);
	ans->decision = MDT_DECISION_DENY;
	ans->reasons = NULL;
	ans->nreasons = 0;
	ans->errors = NULL;
	ans->nerrors = 0;
	ans->approver = NULL;
}

static int
uid_value(const mdt_entity_uid *u, cedar_value *v)
{
	if (u->type == NULL || (u->id == NULL && u->id_len > 0))
		return -MDT_EINVAL;
	v->kind = CK_ENTITY;
	v->u.uid.type = cedar_cstr(u->type, strlen(u->type));
	v->u.uid.id = cedar_cstr(u->id == NULL ? "" : u->id, u->id_len);
	return 0;
}

static int
setup(cedar_eval *ev, const mdt_entity_store *store,
    const mdt_policy_request *req, mdt_policy_answer *ans)
{
	static const cedar_field no_fields[1];

	memset(ev, 0, sizeof(*ev));
	ev->store = store;
	ev->arena = &ans->arena;
	if (uid_value(&req->principal, &ev->vars[VAR_PRINCIPAL]) != 0 ||
	    uid_value(&req->action, &ev->vars[VAR_ACTION]) != 0 ||
	    uid_value(&req->resource, &ev->vars[VAR_RESOURCE]) != 0)
		return -MDT_EINVAL;
	if (req->context != NULL) {
		ev->vars[VAR_CONTEXT] = *cedar_record_root(req->context);
	} else {
		ev->vars[VAR_CONTEXT].kind = CK_RECORD;
		ev->vars[VAR_CONTEXT].u.rec.f = (cedar_field *)(uintptr_t)no_fields;
		ev->vars[VAR_CONTEXT].u.rec.n = 0;
	}
	return 0;
}

static int
add_error(mdt_policy_answer *ans, const cedar_policy *p, const char *msg)
{
	size_t n = strlen(p->id) + strlen(msg) + 3;
	char *m = cedar_arena_alloc(&ans->arena, n);

	if (m == NULL)
		return -MDT_ETOOBIG;
	snprintf(m, n, "%s: %s", p->id, msg);
	ans->errors[ans->nerrors].policy = p->id;
	ans->errors[ans->nerrors].msg = m;
	ans->nerrors++;
	return 0;
}

/* Combines the satisfied policies into the decision and reasons. */
static void
decide(mdt_policy_answer *ans, const cedar_policy **forbids, size_t nf,
    const char **permits, size_t np)
{
	int all_step_up = nf > 0;

	for (size_t i = 0; i < nf; i++) {
		all_step_up &= forbids[i]->step_up;
		if (ans->approver == NULL && forbids[i]->approver != NULL)
			ans->approver = forbids[i]->approver;
		ans->reasons[i] = forbids[i]->id;
	}
	if (nf > 0) {
		ans->nreasons = nf;
		ans->decision = all_step_up && np > 0 ? MDT_DECISION_STEP_UP :
		    MDT_DECISION_DENY;
		if (ans->decision == MDT_DECISION_DENY)
			ans->approver = NULL;
		return;
	}
	memcpy(ans->reasons, permits, np * sizeof(*permits));
	ans->nreasons = np;
	ans->decision = np > 0 ? MDT_DECISION_ALLOW : MDT_DECISION_DENY;
}

static int
run(const mdt_policy_set *set, cedar_eval *ev, mdt_policy_answer *ans)
{
	size_t n = set->n, nf = 0, np = 0;
	const cedar_policy **forbids = cedar_arena_alloc(&ans->arena, (n + 1) * sizeof(*forbids));
	const char **permits = cedar_arena_alloc(&ans->arena, (n + 1) * sizeof(*permits));

	ans->reasons = cedar_arena_alloc(&ans->arena, (n + 1) * sizeof(*ans->reasons));
	ans->errors = cedar_arena_alloc(&ans->arena, (n + 1) * sizeof(*ans->errors));
	if (forbids == NULL || permits == NULL || ans->reasons == NULL ||
	    ans->errors == NULL)
		return -MDT_ETOOBIG;
	for (size_t i = 0; i < n; i++) {
		const cedar_policy *p = &set->pol[i];
		int r = cedar_eval_policy(ev, p);
		if (ev->oom)
			return -MDT_ETOOBIG;
		if (r < 0 && add_error(ans, p, ev->msg) != 0)
			return -MDT_ETOOBIG;
		if (r > 0 && p->forbid)
			forbids[nf++] = p;
		else if (r > 0)
			permits[np++] = p->id;
	}
	decide(ans, forbids, nf, permits, np);
	return 0;
}

int
mdt_policy_evaluate(const mdt_policy_set *set, const mdt_entity_store *store,
    const mdt_policy_request *req, mdt_policy_answer *ans)
{
	cedar_eval ev;
	int rc;

	if (ans == NULL)
		return -MDT_EINVAL;
	answer_clear(ans);
	if (set == NULL || req == NULL)
		return -MDT_EINVAL;
	if ((rc = setup(&ev, store, req, ans)) == 0)
		rc = run(set, &ev, ans);
	if (rc != 0) {
		/* Fail closed: no partial answer survives. */
		answer_clear(ans);
	}
	return rc;
}

mdt_decision
mdt_policy_answer_decision(const mdt_policy_answer *ans)
{
	return ans == NULL ? MDT_DECISION_DENY : ans->decision;
}

size_t
mdt_policy_answer_reason_count(const mdt_policy_answer *ans)
{
	return ans == NULL ? 0 : ans->nreasons;
}

const char *
mdt_policy_answer_reason(const mdt_policy_answer *ans, size_t i)
{
	return ans == NULL || i >= ans->nreasons ? NULL : ans->reasons[i];
}

size_t
mdt_policy_answer_error_count(const mdt_policy_answer *ans)
{
	return ans == NULL ? 0 : ans->nerrors;
}

const char *
mdt_policy_answer_error_policy(const mdt_policy_answer *ans, size_t i)
{
	return ans == NULL || i >= ans->nerrors ? NULL : ans->errors[i].policy;
}

const char *
mdt_policy_answer_error_message(const mdt_policy_answer *ans, size_t i)
{
	return ans == NULL || i >= ans->nerrors ? NULL : ans->errors[i].msg;
}

const char *
mdt_policy_answer_approver(const mdt_policy_answer *ans)
{
	return ans == NULL || ans->decision != MDT_DECISION_STEP_UP ? NULL :
	    ans->approver;
}
