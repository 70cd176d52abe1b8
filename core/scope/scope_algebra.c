/*
 * Scope set algebra: containment and exact intersection.  A scope
 * authorizes a request when the context admits it, the type is the
 * request's type or `*`, the action is one of its letters and every query
 * restriction is among the request's parameters (scope_match.c).  Under
 * that meaning intersection is exact and containment is sound; contexts
 * are ordered system > user > patient, and tool stands apart.
 */
#include <string.h>

#include "scope_int.h"

/* Narrowness of a FHIR context: a context contains those at least as
 * narrow.  Tool is incomparable with the others. */
static int
ctx_rank(mdt_scope_context c)
{
	switch (c) {
	case MDT_SCOPE_SYSTEM:
		return 1;
	case MDT_SCOPE_USER:
		return 2;
	case MDT_SCOPE_PATIENT:
		return 3;
	default:
		return 0;
	}
}

static int
ctx_contains(mdt_scope_context a, mdt_scope_context b)
{
	if (a == MDT_SCOPE_TOOL || b == MDT_SCOPE_TOOL)
		return a == b;
	return ctx_rank(a) <= ctx_rank(b);
}

static int
is_wild(const mdt__scope *s)
{
	return s->type_len == 1 && s->type[0] == '*';
}

static int
same_type(const mdt__scope *a, const mdt__scope *b)
{
	return a->type_len == b->type_len &&
	    memcmp(a->type, b->type, a->type_len) == 0;
}

static int
pcmp(const mdt__scope *a, size_t i, const mdt__scope *b, size_t j)
{
	return mdt__scope_param_cmp(mdt__scope_pname(a, i),
	    a->params[i].name_len, mdt__scope_pvalue(a, i),
	    a->params[i].value_len, mdt__scope_pname(b, j),
	    b->params[j].name_len, mdt__scope_pvalue(b, j),
	    b->params[j].value_len);
}

/* Every restriction of a is a restriction of b (both sorted). */
static int
params_subset(const mdt__scope *a, const mdt__scope *b)
{
	size_t j = 0;

	for (size_t i = 0; i < a->nparams; i++) {
		int c = 1;
		while (j < b->nparams && (c = pcmp(a, i, b, j)) > 0)
			j++;
		if (j == b->nparams || c != 0)
			return 0;
		j++;
	}
	return 1;
}

/* a and b minus their permissions are the same scope. */
static int
same_but_perms(const mdt__scope *a, const mdt__scope *b)
{
	return a->ctx == b->ctx && same_type(a, b) &&
	    a->nparams == b->nparams && params_subset(a, b);
}

/* a covers b for the permissions in mask. */
static int
covers(const mdt__scope *a, const mdt__scope *b, unsigned mask)
{
	return ctx_contains(a->ctx, b->ctx) &&
	    (is_wild(a) || same_type(a, b)) && (a->perms & mask) == mask &&
	    params_subset(a, b);
}

int
mdt__scope_contains(const mdt__scope *a, const mdt__scope *b)
{
	return covers(a, b, b->perms);
}

/* A request carries one action, so b is covered when each of its letters
 * is covered by some single scope of the set. */
static int
set_covers(const mdt_scope_set *set, const mdt__scope *b)
{
	for (unsigned bit = 1; bit <= b->perms && bit != 0; bit <<= 1) {
		int found = 0;
		if (!(b->perms & bit))
			continue;
		for (size_t i = 0; i < set->n && !found; i++)
			found = covers(&set->v[i], b, bit);
		if (!found)
			return 0;
	}
	return 1;
}

int
mdt_scope_set_contains(const mdt_scope_set *outer,
    const mdt_scope_set *inner, int *out)
{
	int all = 1;

	if (outer == NULL || inner == NULL || out == NULL)
		return -MDT_EINVAL;
	for (size_t i = 0; i < inner->n && all; i++)
		all = set_covers(outer, &inner->v[i]);
	*out = all;
	return 0;
}

/* Union of the sorted restrictions of a and b into r. */
static int
params_union(const mdt__scope *a, const mdt__scope *b, mdt__scope *r)
{
	size_t i = 0, j = 0;

	r->nparams = 0;
	r->plen = 0;
	while (i < a->nparams || j < b->nparams) {
		const mdt__scope *src;
		size_t k, pl;
		int c = i == a->nparams ? 1 : j == b->nparams ? -1 :
		    pcmp(a, i, b, j);
		src = c <= 0 ? a : b;
		k = c <= 0 ? i : j;
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		pl = src->params[k].name_len + 1 + src->params[k].value_len;
		if (r->nparams == MDT_SCOPE_PARAMS_MAX ||
		    r->plen + pl > sizeof(r->pbuf))
			return -MDT_ETOOBIG;
		r->params[r->nparams] = src->params[k];
		r->params[r->nparams].off = r->plen;
		memcpy(r->pbuf + r->plen, mdt__scope_pname(src, k), pl);
		r->plen += pl;
		r->nparams++;
	}
	return 0;
}

/*
 * r = a ∩ b.  Returns 1 when the intersection is empty (r unused), 0 when
 * r holds it, -MDT_ETOOBIG when it would exceed a scope's bounds.
 */
static int
scope_intersect(const mdt__scope *a, const mdt__scope *b, mdt__scope *r)
{
	const mdt__scope *narrow;
	int rc;

	if (!ctx_contains(a->ctx, b->ctx) && !ctx_contains(b->ctx, a->ctx))
		return 1;
	if (!is_wild(a) && !is_wild(b) && !same_type(a, b))
		return 1;
	if ((a->perms & b->perms) == 0)
		return 1;
	narrow = is_wild(a) ? b : a;
	r->ctx = ctx_rank(a->ctx) >= ctx_rank(b->ctx) ? a->ctx : b->ctx;
	r->type_len = narrow->type_len;
	memcpy(r->type, narrow->type, sizeof(r->type));
	r->perms = a->perms & b->perms;
	if ((rc = params_union(a, b, r)) != 0)
		return rc;
	return mdt__scope_text_len(r) > MDT_SCOPE_TEXT_MAX ? -MDT_ETOOBIG : 0;
}

/* Pushes sc; a full set is normalised first, as it may then shrink. */
static int
push_or_compact(mdt_scope_set *r, const mdt__scope *sc)
{
	int rc = mdt__scope_set_push(r, sc);

	if (rc == -MDT_ETOOBIG) {
		size_t before = r->n;
		mdt__scope_set_normalize(r);
		if (r->n < before)
			rc = mdt__scope_set_push(r, sc);
	}
	return rc;
}

static int
intersect_into(const mdt_scope_set *a, const mdt_scope_set *b,
    mdt_scope_set *r)
{
	mdt__scope tmp;
	int rc = 0;

	for (size_t i = 0; i < a->n && rc == 0; i++) {
		for (size_t j = 0; j < b->n && rc == 0; j++) {
			rc = scope_intersect(&a->v[i], &b->v[j], &tmp);
			if (rc == 0)
				rc = push_or_compact(r, &tmp);
			else if (rc == 1)
				rc = 0;
		}
	}
	return rc;
}

int
mdt_scope_set_intersect(const mdt_scope_set *a, const mdt_scope_set *b,
    mdt_scope_set **out)
{
	mdt_scope_set *r;
	int rc;

	if (a == NULL || b == NULL || out == NULL)
		return -MDT_EINVAL;
	if ((rc = mdt_scope_set_new(&r)) != 0)
		return rc;
	if ((rc = intersect_into(a, b, r)) != 0) {
		mdt_scope_set_free(r);
		return rc;
	}
	mdt__scope_set_normalize(r);
	*out = r;
	return 0;
}

/* Removes v[i] keeping order. */
static void
drop(mdt_scope_set *set, size_t i)
{
	memmove(&set->v[i], &set->v[i + 1], (set->n - i - 1) *
	    sizeof(set->v[0]));
	set->n--;
}

void
mdt__scope_set_normalize(mdt_scope_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		for (size_t j = set->n; j-- > i + 1;)
			if (same_but_perms(&set->v[i], &set->v[j])) {
				set->v[i].perms |= set->v[j].perms;
				drop(set, j);
			}
	for (size_t i = 0; i < set->n;) {
		int dominated = 0;
		for (size_t j = 0; j < set->n && !dominated; j++)
			dominated = j != i &&
			    mdt__scope_contains(&set->v[j], &set->v[i]);
		if (dominated)
			drop(set, i);
		else
			i++;
	}
	mdt__scope_sort(set->v, set->n);
}
