/* Allocation wrappers with a per-thread failure-injection countdown. */
#include <stdlib.h>
#include <string.h>

#include "alloc_int.h"

static _Thread_local long fail_countdown = -1;
static _Thread_local long fail_count;

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

void *
mdt__malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n == 0 ? 1 : n);
}

void *
mdt__calloc(size_t count, size_t n)
{
	if (should_fail())
		return NULL;
	return calloc(count == 0 ? 1 : count, n == 0 ? 1 : n);
}

void *
mdt__realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n == 0 ? 1 : n);
}

void
mdt__free(void *p)
{
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
