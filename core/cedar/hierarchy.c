/*
 * The entity hierarchy: `in` over parent links, and the cycle check made
 * when entities are loaded (Cedar refuses a parents graph with a cycle).
 * The `in` walk visits every ancestor once, breadth-first, with no depth
 * or width limit of its own: it is bounded by the store.  Small walks use
 * the stack; large ones grow on the heap.
 */
#include <string.h>

#include "alloc_int.h"
#include "cedar/cedar_int.h"

/* Entities seen by a walk, each with a mark, in an open-addressing table
 * keyed by the entity's uid hash; `order` lists them as first seen. */
typedef struct seen {
	const cedar_entity **key;
	unsigned char *mark;
	size_t cap, n;
	const cedar_entity **order;
	const cedar_entity *key0[64], *order0[32];
	unsigned char mark0[64];
} seen;

static void
seen_init(seen *s)
{
	memset(s->key0, 0, sizeof(s->key0));
	s->key = s->key0;
	s->mark = s->mark0;
	s->order = s->order0;
	s->cap = 64;
	s->n = 0;
}

static void
seen_free(seen *s)
{
	if (s->key != s->key0) {
		mdt__free(s->key);
		mdt__free(s->mark);
	}
	if (s->order != s->order0)
		mdt__free(s->order);
}

static size_t
seen_slot(const seen *s, const cedar_entity *e)
{
	size_t i = (size_t)e->hash & (s->cap - 1);

	while (s->key[i] != NULL && s->key[i] != e)
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* Doubles the table and the order list (kept at half the table's size). */
static int
seen_grow(seen *s)
{
	size_t ncap = s->cap * 2;
	const cedar_entity **nk = mdt__calloc(ncap, sizeof(*nk));
	unsigned char *nm = mdt__calloc(ncap, 1);
	const cedar_entity **no = mdt__malloc(ncap / 2 * sizeof(*no));
	seen old = *s;

	if (nk == NULL || nm == NULL || no == NULL) {
		mdt__free(nk);
		mdt__free(nm);
		mdt__free(no);
		return -1;
	}
	memcpy(no, s->order, s->n * sizeof(*no));
	s->key = nk;
	s->mark = nm;
	s->order = no;
	s->cap = ncap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.key[i] != NULL) {
			size_t j = seen_slot(s, old.key[i]);
			s->key[j] = old.key[i];
			s->mark[j] = old.mark[i];
		}
	if (old.key != s->key0) {
		mdt__free(old.key);
		mdt__free(old.mark);
	}
	if (old.order != s->order0)
		mdt__free(old.order);
	return 0;
}

/* The mark of e (0 when not seen yet). */
static unsigned char
seen_mark(const seen *s, const cedar_entity *e)
{
	size_t i = seen_slot(s, e);

	return s->key[i] == NULL ? 0 : s->mark[i];
}

/* Records e with mark m (e new, or re-marked); -1 when out of memory. */
static int
seen_set(seen *s, const cedar_entity *e, unsigned char m)
{
	size_t i = seen_slot(s, e);

	if (s->key[i] == NULL) {
		if (s->n + 1 > s->cap / 2) {
			if (seen_grow(s) != 0)
				return -1;
			i = seen_slot(s, e);
		}
		s->key[i] = e;
		s->order[s->n++] = e;
	}
	s->mark[i] = m;
	return 0;
}

/*
 * Breadth-first over parent links.  Entities are compared by identity: a
 * uid names at most one entity across a store and its base, and a parent
 * that is not in the store only matches a target that is not either (by
 * uid).
 */
int
cedar_entity_in(cedar_eval *ev, const cedar_uid *e, const cedar_uid *target)
{
	const cedar_entity *start, *tent;
	seen s;
	int r = 0;

	if (cedar_uid_eq(e, target))
		return 1;
	if ((start = cedar_eval_find(ev, e)) == NULL)
		return 0;
	tent = cedar_eval_find(ev, target);
	seen_init(&s);
	if (seen_set(&s, start, 1) != 0)
		r = -1;
	for (size_t head = 0; r == 0 && head < s.n; head++) {
		const cedar_entity *ent = s.order[head];
		for (size_t i = 0; r == 0 && i < ent->nparents; i++) {
			const cedar_uid *par = &ent->parents[i];
			const cedar_entity *pe = ent->pent[i] != NULL ? ent->pent[i] :
			    cedar_eval_find(ev, par);
			if (pe == NULL ? tent == NULL && cedar_uid_eq(par, target) :
			    pe == tent)
				r = 1;
			else if (pe != NULL && seen_mark(&s, pe) == 0 &&
			    seen_set(&s, pe, 1) != 0)
				r = -1;
		}
	}
	seen_free(&s);
	if (r < 0) {
		ev->oom = 1;
		return cedar_fail(ev, "out of memory walking the entity hierarchy");
	}
	return r;
}

/* ---- cycles ---- */

enum { GREY = 1, BLACK = 2 };

typedef struct frame {
	const cedar_entity *e;
	size_t next;          /* next parent to follow */
} frame;

static const cedar_entity *
parent_of(const mdt_entity_store *store, const mdt_entity_store *added,
    const cedar_entity *e, size_t i)
{
	const cedar_entity *p = cedar_store_find(added, &e->parents[i]);

	if (p == NULL && e->pent != NULL && e->pent[i] != NULL)
		p = e->pent[i];
	return p != NULL ? p : cedar_store_find(store, &e->parents[i]);
}

/* Depth-first from root; 1 with *cyc on a cycle, -1 out of memory. */
static int
dfs(const mdt_entity_store *store, const mdt_entity_store *added,
    const cedar_entity *root, seen *s, frame **stk, size_t *cap,
    const cedar_entity **cyc)
{
	size_t n = 0;

	if (seen_set(s, root, GREY) != 0)
		return -1;
	(*stk)[n++] = (frame){root, 0};
	while (n > 0) {
		frame *f = &(*stk)[n - 1];
		const cedar_entity *p;
		if (f->next == f->e->nparents) {
			if (seen_set(s, f->e, BLACK) != 0)
				return -1;
			n--;
			continue;
		}
		if ((p = parent_of(store, added, f->e, f->next++)) == NULL ||
		    seen_mark(s, p) == BLACK)
			continue;
		if (seen_mark(s, p) == GREY) {
			*cyc = p;
			return 1;
		}
		if (n == *cap) {
			frame *nf = mdt__realloc(*stk, *cap * 2 * sizeof(*nf));
			if (nf == NULL)
				return -1;
			*stk = nf;
			*cap *= 2;
		}
		if (seen_set(s, p, GREY) != 0)
			return -1;
		(*stk)[n++] = (frame){p, 0};
	}
	return 0;
}

int
cedar_store_find_cycle(const mdt_entity_store *store,
    const mdt_entity_store *added, const cedar_entity **cyc)
{
	size_t cap = 64;
	frame *stk = mdt__malloc(cap * sizeof(*stk));
	seen s;
	int rc = 0;

	if (stk == NULL)
		return -1;
	seen_init(&s);
	for (const cedar_entity *e = added->first; rc == 0 && e != NULL; e = e->all)
		if (seen_mark(&s, e) == 0)
			rc = dfs(store, added, e, &s, &stk, &cap, cyc);
	seen_free(&s);
	mdt__free(stk);
	return rc;
}
