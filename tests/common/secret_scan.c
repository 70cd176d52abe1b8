/* The secret-scanning allocation observer of secret_scan.h: an
 * open-addressing table of live blocks (pointer, size), plain malloc. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_int.h"
#include "secret_scan.h"

#define SLOTS (1u << 18)

struct block {
	void *p;
	size_t n;
};

struct secret {
	unsigned char b[64];
	size_t n;
};

static struct {
	struct block *t;
	struct secret s[SS_SECRETS_MAX];
	size_t ns;
	long hits, releases;
	size_t last_hit;
	mdt__alloc_hooks hooks;
} S;

static size_t
home(const void *p)
{
	uint64_t v = (uint64_t)(uintptr_t)p;

	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 29;
	return (size_t)(v & (SLOTS - 1));
}

static void
on_alloc(void *p, size_t n, void *arg)
{
	size_t i = home(p);

	(void)arg;
	while (S.t[i].p != NULL && S.t[i].p != p)
		i = (i + 1) & (SLOTS - 1);
	S.t[i].p = p;
	S.t[i].n = n;
}

/* Linear probing's deletion: shift back the entries the hole would hide. */
static void
remove_at(size_t i)
{
	size_t j = i;

	for (;;) {
		size_t k;
		j = (j + 1) & (SLOTS - 1);
		if (S.t[j].p == NULL)
			break;
		k = home(S.t[j].p);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			S.t[i] = S.t[j];
			i = j;
		}
	}
	S.t[i].p = NULL;
}

static void
on_release(void *p, void *arg)
{
	size_t i = home(p);
	int hit = 0;

	(void)arg;
	while (S.t[i].p != NULL && S.t[i].p != p)
		i = (i + 1) & (SLOTS - 1);
	if (S.t[i].p == NULL)
		return; /* not seen allocated: nothing known of its size */
	S.releases++;
	for (size_t k = 0; k < S.ns; k++)
		hit |= memmem(p, S.t[i].n, S.s[k].b, S.s[k].n) != NULL;
	if (hit) {
		S.hits++;
		S.last_hit = S.t[i].n;
	}
	remove_at(i);
}

int
ss_begin(void)
{
	free(S.t);
	memset(&S, 0, sizeof(S));
	if ((S.t = calloc(SLOTS, sizeof(*S.t))) == NULL)
		return -1;
	S.hooks.alloc = on_alloc;
	S.hooks.release = on_release;
	mdt__alloc_set_hooks(&S.hooks);
	return 0;
}

void
ss_watch(const void *secret, size_t n)
{
	if (S.ns >= SS_SECRETS_MAX || n < SS_SECRET_MIN || n > sizeof(S.s[0].b))
		abort(); /* a test written wrong */
	memcpy(S.s[S.ns].b, secret, n);
	S.s[S.ns++].n = n;
}

long
ss_hits(void)
{
	return S.hits;
}

long
ss_releases(void)
{
	return S.releases;
}

size_t
ss_last_hit_size(void)
{
	return S.last_hit;
}

void
ss_end(void)
{
	mdt__alloc_set_hooks(NULL);
	free(S.t);
	S.t = NULL;
}
