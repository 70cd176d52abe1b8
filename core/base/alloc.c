/* Allocation wrappers with a per-thread failure-injection countdown and
 * per-thread observer hooks (tests only). */
#include <stdlib.h>
#include <string.h>

#include "alloc_int.h"

static _Thread_local long fail_countdown = -1;
static _Thread_local long fail_count;
static _Thread_local const mdt__alloc_hooks *hooks;

static int
should_fail(void)
{
	if (fail_countdown < 0)
		return 0;
	if (fail_countdown == 0) {
		fail_count++;
		return 1;
	}
	fail_countdown--;
	return 0;
}

void
mdt__alloc_fail_after(long n)
{
	fail_countdown = n;
	fail_count = 0;
}

long
mdt__alloc_failures(void)
{
	return fail_count;
}

void
mdt__alloc_set_hooks(const mdt__alloc_hooks *h)
{
	hooks = h;
}

static void *
seen(void *p, size_t n)
{
	if (p != NULL && hooks != NULL && hooks->alloc != NULL)
		hooks->alloc(p, n, hooks->arg);
	return p;
}

static void
released(void *p)
{
	if (p != NULL && hooks != NULL && hooks->release != NULL)
		hooks->release(p, hooks->arg);
}

void *
mdt__malloc(size_t n)
{
	if (should_fail())
		return NULL;
	n = n == 0 ? 1 : n;
	return seen(malloc(n), n);
}

void *
mdt__calloc(size_t count, size_t n)
{
	count = count == 0 ? 1 : count;
	n = n == 0 ? 1 : n;
	if (should_fail())
		return NULL;
	/* calloc checks count * n for overflow; the hook sees it only then */
	return seen(calloc(count, n), count * n);
}

void *
mdt__realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	n = n == 0 ? 1 : n;
	released(p);
	return seen(realloc(p, n), n);
}

void
mdt__free(void *p)
{
	released(p);
	free(p);
}

char *
mdt__strndup(const char *s, size_t len)
{
	char *d = mdt__malloc(len + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}
