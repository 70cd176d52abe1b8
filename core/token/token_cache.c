/*
 * The verified-prefix cache: a fixed, 4-way set-associative table of
 * 32-byte digests (each the hash of a root key and every byte of a chain
 * prefix that verified under it).  Digests are uniformly distributed, so
 * their first bytes index the table directly.  One mutex: lookups are a
 * few memcmp calls, far cheaper than the signature they save.
 */
#include <pthread.h>
#include <string.h>

#include "alloc_int.h"
#include "token_int.h"

#define WAYS 4
#define CACHE_MAX (1u << 22)

struct mdt_token_cache {
	pthread_mutex_t mu;
	size_t nsets;
	uint8_t (*slot)[WAYS][32];
	uint8_t (*used)[WAYS];
	uint8_t *next; /* round-robin victim per set */
};

int
mdt_token_cache_new(size_t capacity, mdt_token_cache **out)
{
	mdt_token_cache *c;

	if (out == NULL || capacity == 0 || capacity > CACHE_MAX)
		return -MDT_EINVAL;
	if ((c = mdt__calloc(1, sizeof(*c))) == NULL)
		return -MDT_ENOMEM;
	c->nsets = (capacity + WAYS - 1) / WAYS;
	c->slot = mdt__calloc(c->nsets, sizeof(*c->slot));
	c->used = mdt__calloc(c->nsets, sizeof(*c->used));
	c->next = mdt__calloc(c->nsets, 1);
	if (c->slot == NULL || c->used == NULL || c->next == NULL ||
	    pthread_mutex_init(&c->mu, NULL) != 0) {
		mdt__free(c->slot);
		mdt__free(c->used);
		mdt__free(c->next);
		mdt__free(c);
		return -MDT_ENOMEM;
	}
	*out = c;
	return 0;
}

void
mdt_token_cache_free(mdt_token_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	mdt__free(c->slot);
	mdt__free(c->used);
	mdt__free(c->next);
	mdt__free(c);
}

static size_t
set_of(const mdt_token_cache *c, const uint8_t d[32])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | d[i];
	return (size_t)(v % c->nsets);
}

static int
find(const mdt_token_cache *c, size_t s, const uint8_t d[32])
{
	for (int w = 0; w < WAYS; w++)
		if (c->used[s][w] && memcmp(c->slot[s][w], d, 32) == 0)
			return w;
	return -1;
}

int
mdt__tok_cache_has(mdt_token_cache *c, const uint8_t d[32])
{
	size_t s = set_of(c, d);
	int hit;

	pthread_mutex_lock(&c->mu);
	hit = find(c, s, d) >= 0;
	pthread_mutex_unlock(&c->mu);
	return hit;
}

void
mdt__tok_cache_put(mdt_token_cache *c, const uint8_t d[32])
{
	size_t s = set_of(c, d);

	pthread_mutex_lock(&c->mu);
	if (find(c, s, d) < 0) {
		int w = c->next[s];

		memcpy(c->slot[s][w], d, 32);
		c->used[s][w] = 1;
		c->next[s] = (uint8_t)((w + 1) % WAYS);
	}
	pthread_mutex_unlock(&c->mu);
}
