/*
 * The record kinds of the audit store as data: for each kind its table,
 * its chained columns in hashing order, their types, bounds and where
 * they live in the C struct.  Hashing, inserts, reads, export and
 * verification are all driven by these tables, so a column cannot be
 * stored without being hashed.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "core_int.h"
#include "utf8_int.h"

_Static_assert(sizeof(mdt_store_verdict) == sizeof(int), "enum as int");
_Static_assert(sizeof(mdt_task_state) == sizeof(int), "enum as int");
_Static_assert(sizeof(mdt_approval_state) == sizeof(int), "enum as int");

#define F MDT_STORE_FIELD_MAX
#define J MDT_STORE_JSON_MAX

#define TC(st, f) {#f, 'T', offsetof(st, f), F, 0}
#define TJ(st, f, j) {#f, 'T', offsetof(st, f), J, j}
#define IC(st, f, t) {#f, t, offsetof(st, f), 0, 0}

static const mdt__col task_cols[] = {
	IC(mdt_store_task, time_ms, 'L'),
	TC(mdt_store_task, task_id),
	TC(mdt_store_task, parent_id),
	TC(mdt_store_task, root_id),
	TC(mdt_store_task, operation),
	IC(mdt_store_task, depth, 'U'),
	TC(mdt_store_task, clinician),
	TC(mdt_store_task, patient),
	TC(mdt_store_task, purpose),
	TC(mdt_store_task, from_agent),
	TC(mdt_store_task, holder),
	TJ(mdt_store_task, scopes, 0),
	TC(mdt_store_task, token_id),
	IC(mdt_store_task, expires_ms, 'L'),
};

static const mdt__col decision_cols[] = {
	IC(mdt_store_decision, time_ms, 'L'),
	TC(mdt_store_decision, request_id),
	TC(mdt_store_decision, operation),
	IC(mdt_store_decision, verdict, 'E'),
	IC(mdt_store_decision, flags, 'U'),
	TJ(mdt_store_decision, reasons, 1),
	TJ(mdt_store_decision, policy_ids, 2),
	TC(mdt_store_decision, policy_hash),
	TC(mdt_store_decision, task_id),
	TC(mdt_store_decision, token_id),
	TC(mdt_store_decision, clinician),
	TC(mdt_store_decision, agent),
	TJ(mdt_store_decision, agent_chain, 2),
	TC(mdt_store_decision, patient),
	TC(mdt_store_decision, purpose),
	TC(mdt_store_decision, action),
	TC(mdt_store_decision, resource),
	/* schema 2: after every column of schema 1 (see nhash_min) */
	IC(mdt_store_decision, request_hash, 'P'),
	/* schema 5: what a replay needs (audit explain) */
	TJ(mdt_store_decision, request, 1),
	TC(mdt_store_decision, entities_version),
};

static const mdt__col approval_cols[] = {
	IC(mdt_store_approval, time_ms, 'L'),
	TC(mdt_store_approval, approval_id),
	IC(mdt_store_approval, request_hash, 'H'),
	TC(mdt_store_approval, request_id),
	TC(mdt_store_approval, task_id),
	TC(mdt_store_approval, agent),
	TC(mdt_store_approval, clinician),
	TC(mdt_store_approval, action),
	TC(mdt_store_approval, resource),
	IC(mdt_store_approval, expires_ms, 'L'),
};

/* The decision on an approval is read into mdt_store_approval too. */
static const mdt__col approval_decision_cols[] = {
	{"time_ms", 'L', offsetof(mdt_store_approval, decided_ms), 0, 0},
	TC(mdt_store_approval, approval_id),
	IC(mdt_store_approval, state, 'E'),
	TC(mdt_store_approval, decided_by),
	IC(mdt_store_approval, valid_until_ms, 'L'),
	TJ(mdt_store_approval, note, 0),
};

static const mdt__col revocation_cols[] = {
	IC(mdt__revocation_row, time_ms, 'L'),
	TC(mdt__revocation_row, task_id),
	IC(mdt__revocation_row, state, 'E'),
	TC(mdt__revocation_row, ended_by),
	TJ(mdt__revocation_row, reason, 0),
	{"revoked", 'T', offsetof(mdt__revocation_row, revoked), 0, 2},
};

static const mdt__col act_use_cols[] = {
	IC(mdt__act_row, time_ms, 'L'),
	IC(mdt__act_row, act_hash, 'H'),
	TC(mdt__act_row, act_kind),
	TC(mdt__act_row, clinician),
	IC(mdt__act_row, expires_ms, 'L'),
};

static const mdt__col source_cols[] = {
	IC(mdt_store_source, time_ms, 'L'),
	TC(mdt_store_source, source_kind),
	TC(mdt_store_source, digest),
	{"content", 'T', offsetof(mdt_store_source, content), 0, 1},
};

static const mdt__col review_cols[] = {
	IC(mdt_store_review, time_ms, 'L'),
	IC(mdt_store_review, decision_seq, 'L'),
	TC(mdt_store_review, reviewer),
	TJ(mdt_store_review, note, 0),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const mdt__kind_desc kinds[MDT__KIND_COUNT_] = {
	[MDT__KIND_TASK] = {MDT__KIND_TASK, "task", "tasks", task_cols,
	    N(task_cols), offsetof(mdt_store_task, seq),
	    sizeof(mdt_store_task), "task_id", 0},
	[MDT__KIND_DECISION] = {MDT__KIND_DECISION, "decision", "decisions",
	    decision_cols, N(decision_cols),
	    offsetof(mdt_store_decision, seq), sizeof(mdt_store_decision),
	    "task_id", N(decision_cols) - 3},
	[MDT__KIND_APPROVAL] = {MDT__KIND_APPROVAL, "approval", "approvals",
	    approval_cols, N(approval_cols), offsetof(mdt_store_approval, seq),
	    sizeof(mdt_store_approval), "task_id", 0},
	[MDT__KIND_APPROVAL_DECISION] = {MDT__KIND_APPROVAL_DECISION,
	    "approval_decision", "approval_decisions", approval_decision_cols,
	    N(approval_decision_cols),
	    offsetof(mdt_store_approval, decision_seq),
	    sizeof(mdt_store_approval), NULL, 0},
	[MDT__KIND_REVOCATION] = {MDT__KIND_REVOCATION, "revocation",
	    "revocations", revocation_cols, N(revocation_cols),
	    offsetof(mdt__revocation_row, seq), sizeof(mdt__revocation_row),
	    "task_id", 0},
	[MDT__KIND_ACT_USE] = {MDT__KIND_ACT_USE, "act_use", "act_uses",
	    act_use_cols, N(act_use_cols), offsetof(mdt__act_row, seq),
	    sizeof(mdt__act_row), NULL, 0},
	[MDT__KIND_SOURCE] = {MDT__KIND_SOURCE, "source", "sources",
	    source_cols, N(source_cols), offsetof(mdt_store_source, seq),
	    sizeof(mdt_store_source), NULL, 0},
	[MDT__KIND_REVIEW] = {MDT__KIND_REVIEW, "review", "reviews",
	    review_cols, N(review_cols), offsetof(mdt_store_review, seq),
	    sizeof(mdt_store_review), NULL, 0},
};

const mdt__kind_desc *
mdt__kind_get(int kind)
{
	if (kind <= 0 || kind >= MDT__KIND_COUNT_)
		return NULL;
	return &kinds[kind];
}

static void
col_val(const mdt__col *c, const unsigned char *base, mdt__val *v)
{
	const void *p = base + c->off;

	memset(v, 0, sizeof(*v));
	switch (c->type) {
	case 'T':
		memcpy(&v->p, p, sizeof(const char *));
		if (v->p != NULL) {
			v->type = 'T';
			v->len = strlen(v->p);
		}
		break;
	case 'L':
		v->type = 'I';
		memcpy(&v->i, p, sizeof(int64_t));
		break;
	case 'U': {
		uint32_t u;
		memcpy(&u, p, sizeof(u));
		v->type = 'I';
		v->i = u;
		break;
	}
	case 'E': {
		int e;
		memcpy(&e, p, sizeof(e));
		v->type = 'I';
		v->i = e;
		break;
	}
	case 'P':
		memcpy(&v->p, p, sizeof(const uint8_t *));
		if (v->p != NULL) {
			v->type = 'B';
			v->len = MDT_STORE_HASH_BYTES;
		}
		break;
	default: /* 'H' */
		v->type = 'B';
		v->p = p;
		v->len = MDT_STORE_HASH_BYTES;
		break;
	}
}

size_t
mdt__kind_nhashed(const mdt__kind_desc *d, const mdt__val *vals)
{
	size_t n = d->ncols;

	while (n > d->nhash_min && d->nhash_min != 0 && vals[n - 1].type == 0)
		n--;
	return n;
}

void
mdt__kind_vals(const mdt__kind_desc *d, const void *rec, mdt__val *vals)
{
	for (size_t i = 0; i < d->ncols; i++)
		col_val(&d->cols[i], rec, &vals[i]);
}

int
mdt__kind_check(const mdt__kind_desc *d, const void *rec, char *err,
    size_t errlen)
{
	mdt__val v;

	for (size_t i = 0; i < d->ncols; i++) {
		const mdt__col *c = &d->cols[i];
		col_val(c, rec, &v);
		if (v.type != 'T')
			continue;
		if (c->max != 0 && v.len > c->max) {
			snprintf(err, errlen, "%s.%s: %zu bytes, at most %zu",
			    d->name, c->name, v.len, c->max);
			return -MDT_ETOOBIG;
		}
		if (!mdt__utf8_ok((const char *)v.p, v.len, 0)) {
			snprintf(err, errlen, "%s.%s: not UTF-8", d->name,
			    c->name);
			return -MDT_EPARSE;
		}
		if (c->json != 0 && !mdt__json_ok(v.p, c->json)) {
			snprintf(err, errlen, "%s.%s: not %s", d->name,
			    c->name, c->json == 2 ? "a JSON array of strings" :
			    "valid JSON");
			return -MDT_EPARSE;
		}
	}
	return 0;
}

/* Bytes a pointer column refers to (0 for NULL and inline columns). */
static size_t
ref_bytes(const mdt__col *c, const void *rec)
{
	const char *p;

	if (c->type != 'T' && c->type != 'P')
		return 0;
	memcpy(&p, (const unsigned char *)rec + c->off, sizeof(p));
	if (p == NULL)
		return 0;
	return c->type == 'P' ? MDT_STORE_HASH_BYTES : strlen(p) + 1;
}

void *
mdt__kind_dup(const mdt__kind_desc *d, const void *rec, size_t extra)
{
	size_t bytes = 0, o;
	unsigned char *base;
	char *text;

	for (size_t i = 0; i < d->ncols; i++)
		bytes += ref_bytes(&d->cols[i], rec);
	if ((base = mdt__malloc(extra + d->struct_size + bytes)) == NULL)
		return NULL;
	memcpy(base + extra, rec, d->struct_size);
	text = (char *)base + extra + d->struct_size;
	for (size_t i = 0, n; i < d->ncols; i++) {
		const char *s;
		if ((n = ref_bytes(&d->cols[i], base + extra)) == 0)
			continue;
		o = extra + d->cols[i].off;
		memcpy(&s, base + o, sizeof(s));
		memcpy(text, s, n);
		memcpy(base + o, &text, sizeof(text));
		text += n;
	}
	return base;
}
