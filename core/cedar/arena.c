/*
 * Bump allocator used for compiled policies, entity data, record builders
 * and the per-evaluation scratch space: many small allocations, one free.
 */
#include <string.h>

#include "alloc_int.h"
#include "cedar/cedar_int.h"

#define CHUNK_MIN 4096u

struct cedar_chunk {
	cedar_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

void
cedar_arena_init(cedar_arena *a, size_t limit)
{
	a->head = NULL;
	a->total = 0;
	a->limit = limit;
}

static cedar_chunk *
chunk_new(size_t want)
{
	size_t size = want < CHUNK_MIN ? CHUNK_MIN : want;
	cedar_chunk *c = mdt__malloc(sizeof(*c) + size);

	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

void *
cedar_arena_alloc(cedar_arena *a, size_t n)
{
	size_t need = (n + 15u) & ~(size_t)15u;
	cedar_chunk *c = a->head;

	if (need < n || (a->limit != 0 && a->total + need > a->limit))
		return NULL;
	if (c == NULL || c->size - c->used < need) {
		size_t want = need;
		if (c != NULL && c->size * 2 > want && c->size < (1u << 20))
			want = c->size * 2;
		if ((c = chunk_new(want)) == NULL)
			return NULL;
		c->next = a->head;
		a->head = c;
	}
	a->total += need;
	c->used += need;
	return c->data + c->used - need;
}

char *
cedar_arena_dup(cedar_arena *a, const char *s, size_t len)
{
	char *p = cedar_arena_alloc(a, len + 1);

	if (p == NULL)
		return NULL;
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void
cedar_arena_reset(cedar_arena *a)
{
	cedar_chunk *keep = a->head;

	if (keep == NULL)
		return;
	/* Keep the newest (largest) chunk, free the rest. */
	for (cedar_chunk *c = keep->next, *next; c != NULL; c = next) {
		next = c->next;
		mdt__free(c);
	}
	keep->next = NULL;
	keep->used = 0;
	a->total = 0;
}

void
cedar_arena_free(cedar_arena *a)
{
	for (cedar_chunk *c = a->head, *next; c != NULL; c = next) {
		next = c->next;
		mdt__free(c);
	}
	a->head = NULL;
	a->total = 0;
}

void
cedar_arena_adopt(cedar_arena *dst, cedar_arena *src)
{
	cedar_chunk *last = src->head;

	if (last == NULL)
		return;
	while (last->next != NULL)
		last = last->next;
	/* src's chunks go behind dst's current one so dst keeps filling it. */
	if (dst->head == NULL) {
		dst->head = src->head;
	} else {
		last->next = dst->head->next;
		dst->head->next = src->head;
	}
	dst->total += src->total;
	src->head = NULL;
	src->total = 0;
}
