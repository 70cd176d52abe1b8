/*
 * Bounded sets of ids with expiry, for the resource-server verifier's
 * revocation set and single-use (replay) set.  Entries are keyed on a
 * BLAKE2b hash of the whole id, so memory per entry is fixed and an id of
 * any length costs the same; open addressing with linear probing.  When
 * the table is full, expired entries are purged; if none can be, the add
 * fails (the verifier then fails closed).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sdk_int.h"

#define IDSET_HASH 16

typedef struct idset_entry {
	uint8_t h[IDSET_HASH];
	int64_t expires; /* 0 = empty slot */
} idset_entry;

struct sdk_idset {
	idset_entry *slots;
	size_t nslots; /* power of two, twice the capacity */
	size_t cap;
	size_t count;
};

int
sdk_idset_new(size_t cap, sdk_idset **out)
{
	sdk_idset *s;
	size_t n = 16;

	if (cap == 0 || cap > (1u << 24))
		return -MDT_EINVAL;
	while (n < cap * 2)
		n *= 2;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -MDT_ENOMEM;
	if ((s->slots = calloc(n, sizeof(*s->slots))) == NULL) {
		free(s);
		return -MDT_ENOMEM;
	}
	s->nslots = n;
	s->cap = cap;
	*out = s;
	return 0;
}

void
sdk_idset_free(sdk_idset *s)
{
	if (s == NULL)
		return;
	free(s->slots);
	free(s);
}

static void
idset_hash(const char *id, size_t len, uint8_t h[IDSET_HASH])
{
	crypto_generichash(h, IDSET_HASH, (const uint8_t *)id, len, NULL, 0);
}

static size_t
idset_home(const sdk_idset *s, const uint8_t h[IDSET_HASH])
{
	uint64_t v;

	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (s->nslots - 1));
}

/* Slot holding h, or the empty slot where probing for it stops. */
static idset_entry *
idset_find(const sdk_idset *s, const uint8_t h[IDSET_HASH])
{
	size_t i = idset_home(s, h);

	while (s->slots[i].expires != 0 &&
	    memcmp(s->slots[i].h, h, IDSET_HASH) != 0)
		i = (i + 1) & (s->nslots - 1);
	return &s->slots[i];
}

/* Rebuilds the table keeping only entries alive at `now`. */
static void
idset_purge(sdk_idset *s, int64_t now)
{
	idset_entry *old = s->slots;
	size_t n = s->nslots;
	idset_entry *fresh = calloc(n, sizeof(*fresh));

	if (fresh == NULL)
		return; /* keep the old table: adding then fails closed */
	s->slots = fresh;
	s->count = 0;
	for (size_t i = 0; i < n; i++) {
		if (old[i].expires == 0 || old[i].expires <= now)
			continue;
		*idset_find(s, old[i].h) = old[i];
		s->count++;
	}
	free(old);
}

int
sdk_idset_add(sdk_idset *s, const char *id, size_t len, int64_t expires,
    int64_t now)
{
	uint8_t h[IDSET_HASH];
	idset_entry *e;

	if (expires <= now)
		return 0; /* already dead: nothing to remember */
	idset_hash(id, len, h);
	e = idset_find(s, h);
	if (e->expires != 0 && e->expires > now)
		return -MDT_EEXIST;
	if (e->expires == 0) {
		if (s->count >= s->cap) {
			idset_purge(s, now);
			if (s->count >= s->cap)
				return -MDT_EBUSY;
			e = idset_find(s, h);
		}
		s->count++;
	}
	memcpy(e->h, h, IDSET_HASH);
	e->expires = expires;
	return 0;
}

int
sdk_idset_has(const sdk_idset *s, const char *id, size_t len, int64_t now)
{
	uint8_t h[IDSET_HASH];
	const idset_entry *e;

	idset_hash(id, len, h);
	e = idset_find(s, h);
	return e->expires != 0 && e->expires > now;
}

size_t
sdk_idset_count(const sdk_idset *s)
{
	return s->count;
}
