/*
 * Internal allocator of libmandate.  Every allocation in core/ goes through
 * these wrappers so tests can inject allocation failures: after
 * mdt__alloc_fail_after(n), the n+1-th allocation on the calling thread
 * fails.  The countdown is thread-local and only ever set by tests.
 */
#ifndef MDT_ALLOC_INT_H
#define MDT_ALLOC_INT_H

#include <stddef.h>

#define MDT_VERSION_STRING "0.1.0"

void *mdt__malloc(size_t n);
void *mdt__calloc(size_t count, size_t n);
void *mdt__realloc(void *p, size_t n);
void mdt__free(void *p);
/* Copies len bytes and appends a NUL.  Caller frees with mdt__free. */
char *mdt__strndup(const char *s, size_t len);

/* Test hook: n >= 0 arms the countdown, n < 0 disarms it. */
void mdt__alloc_fail_after(long n);
/* Number of allocations refused since the countdown was armed. */
long mdt__alloc_failures(void);

#endif
