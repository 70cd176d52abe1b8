/*
 * Entity stores: a hash table of entities keyed by uid, with an optional
 * overlay over a base store (the hierarchy walks are in hierarchy.c).
 */
#include <string.h>

#include "alloc_int.h"
#include "cedar/cedar_int.h"

/* Eight bytes at a time with a multiply-xorshift mix: ids are often long
 * (SPIFFE URIs), and this is on every lookup. */
static uint64_t
hash_bytes(uint64_t h, const char *p, size_t n)
{
	const uint64_t k = UINT64_C(0x9E3779B97F4A7C15);
	uint64_t w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
	}
	w = 0;
	if (n > 0)
		memcpy(&w, p, n);
	h = (h ^ w ^ ((uint64_t)n << 56)) * k;
	return h ^ (h >> 32);
}

uint64_t
cedar_uid_hash(const cedar_uid *u)
{
	uint64_t h = hash_bytes(UINT64_C(0x243F6A8885A308D3) ^ u->type.n,
	    u->type.p, u->type.n);

	return hash_bytes(h ^ u->id.n, u->id.p, u->id.n);
}

const cedar_entity *
cedar_eval_find(cedar_eval *ev, const cedar_uid *u)
{
	cedar_find_memo *m;

	if (ev->store == NULL)
		return NULL;
	m = &ev->memo[((uintptr_t)u->id.p >> 3) % CEDAR_FIND_CACHE];
	if (m->id == u->id.p && m->id != NULL && m->type == u->type.p &&
	    m->id_len == u->id.n && m->type_len == u->type.n)
		return m->e;
	m->type = u->type.p;
	m->id = u->id.p;
	m->id_len = u->id.n;
	m->type_len = u->type.n;
	m->e = cedar_store_find(ev->store, u);
	return m->e;
}

static const cedar_entity *
find_local(const mdt_entity_store *s, const cedar_uid *u, uint64_t h)
{
	if (s->nbuckets == 0)
		return NULL;
	for (const cedar_entity *e = s->buckets[h & (s->nbuckets - 1)]; e != NULL;
	    e = e->next)
		if (e->hash == h && cedar_uid_eq(&e->uid, u))
			return e;
	return NULL;
}

const cedar_entity *
cedar_store_find(const mdt_entity_store *s, const cedar_uid *u)
{
	uint64_t h = cedar_uid_hash(u);

	for (; s != NULL; s = s->base) {
		const cedar_entity *e = find_local(s, u, h);
		if (e != NULL)
			return e;
	}
	return NULL;
}

static int
rehash(mdt_entity_store *s)
{
	size_t nb = s->nbuckets == 0 ? 64 : s->nbuckets * 2;
	cedar_entity **b = mdt__calloc(nb, sizeof(*b));

	if (b == NULL)
		return -MDT_ENOMEM;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (cedar_entity *e = s->buckets[i], *next; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	mdt__free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
	return 0;
}

int
cedar_store_insert(mdt_entity_store *s, cedar_entity *e)
{
	e->hash = cedar_uid_hash(&e->uid);
	if (cedar_store_find(s, &e->uid) != NULL)
		return -MDT_EEXIST;
	if (s->count + 1 > s->nbuckets / 2 * 1 + s->nbuckets / 4 &&
	    rehash(s) != 0)
		return -MDT_ENOMEM;
	e->next = s->buckets[e->hash & (s->nbuckets - 1)];
	s->buckets[e->hash & (s->nbuckets - 1)] = e;
	e->all = s->first;
	s->first = e;
	s->count++;
	return 0;
}

int
mdt_entity_store_new(mdt_entity_store **out)
{
	return mdt_entity_store_new_overlay(out, NULL);
}

int
mdt_entity_store_new_overlay(mdt_entity_store **out,
    const mdt_entity_store *base)
{
	mdt_entity_store *s;

	if (out == NULL)
		return -MDT_EINVAL;
	if ((s = mdt__calloc(1, sizeof(*s))) == NULL)
		return -MDT_ENOMEM;
	cedar_arena_init(&s->arena, 0);
	s->base = base;
	*out = s;
	return 0;
}

void
mdt_entity_store_free(mdt_entity_store *store)
{
	if (store == NULL)
		return;
	cedar_arena_free(&store->arena);
	mdt__free(store->buckets);
	mdt__free(store);
}

void
mdt_entity_store_clear(mdt_entity_store *store)
{
	if (store == NULL)
		return;
	cedar_arena_reset(&store->arena);
	if (store->buckets != NULL)
		memset(store->buckets, 0, store->nbuckets * sizeof(*store->buckets));
	store->count = 0;
	store->first = NULL;
}

size_t
mdt_entity_store_count(const mdt_entity_store *store)
{
	return store == NULL ? 0 : store->count;
}

static void
resolve(const mdt_entity_store *s, cedar_entity *e)
{
	for (size_t i = 0; i < e->nparents; i++)
		if (e->pent[i] == NULL)
			e->pent[i] = cedar_store_find(s, &e->parents[i]);
}

void
cedar_store_resolve(mdt_entity_store *s)
{
	for (cedar_entity *e = s->first; e != NULL; e = e->all)
		resolve(s, e);
}

static int
uid_copy(cedar_arena *a, const mdt_entity_uid *in, cedar_uid *out)
{
	size_t tn;

	if (in == NULL || in->type == NULL || (in->id == NULL && in->id_len > 0))
		return -MDT_EINVAL;
	tn = strlen(in->type);
	if ((out->type.p = cedar_arena_dup(a, in->type, tn)) == NULL ||
	    (out->id.p = cedar_arena_dup(a, in->id == NULL ? "" : in->id,
	    in->id_len)) == NULL)
		return -MDT_ENOMEM;
	out->type.n = tn;
	out->id.n = in->id_len;
	return 0;
}

int
mdt_entity_store_add(mdt_entity_store *store, const mdt_entity_uid *uid,
    const mdt_policy_record *attrs, const mdt_entity_uid *parents,
    size_t nparents)
{
	cedar_entity *e;
	int rc;

	if (store == NULL || uid == NULL || (parents == NULL && nparents > 0))
		return -MDT_EINVAL;
	if ((e = cedar_arena_alloc(&store->arena, sizeof(*e))) == NULL ||
	    (e->parents = cedar_arena_alloc(&store->arena,
	    (nparents + 1) * sizeof(*e->parents))) == NULL ||
	    (e->pent = cedar_arena_alloc(&store->arena,
	    (nparents + 1) * sizeof(*e->pent))) == NULL)
		return -MDT_ENOMEM;
	memset(e->pent, 0, (nparents + 1) * sizeof(*e->pent));
	if ((rc = uid_copy(&store->arena, uid, &e->uid)) != 0)
		return rc;
	for (size_t i = 0; i < nparents; i++)
		if ((rc = uid_copy(&store->arena, &parents[i], &e->parents[i])) != 0)
			return rc;
	e->nparents = nparents;
	e->tags.kind = CK_RECORD;
	e->tags.u.rec.n = 0;
	e->attrs = e->tags;
	if (attrs != NULL && cedar_value_copy(&store->arena,
	    cedar_record_root(attrs), &e->attrs) != 0)
		return -MDT_ENOMEM;
	if ((rc = cedar_store_insert(store, e)) != 0)
		return rc;
	resolve(store, e);
	return 0;
}
