/*
 * Internal allocator of libmandate.  Every allocation in core/ goes through
 * these wrappers so tests can inject allocation failures: after
 * mdt__alloc_fail_after(n), the n+1-th allocation on the calling thread
 * fails; and observe blocks (mdt__alloc_set_hooks).  The countdown and
 * the hooks are thread-local and only ever set by tests.
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

/*
 * Test hook: observers of the calling thread's allocations, so a test can
 * look into every block before its memory goes back (e.g. for secrets
 * left unwiped).  alloc sees each block handed out with the size asked
 * for; release sees a block before mdt__free gives it back and before
 * mdt__realloc resizes it (a move leaves the old bytes behind, so a
 * realloc counts as a release).  A release of a block the observer never
 * saw (allocated on another thread or before the hooks) is its to ignore.
 * NULL removes them.  Thread-local like the countdown, and set only by
 * tests; h must outlive its installation.
 */
typedef struct mdt__alloc_hooks {
	void (*alloc)(void *p, size_t n, void *arg);
	void (*release)(void *p, void *arg);
	void *arg;
} mdt__alloc_hooks;

void mdt__alloc_set_hooks(const mdt__alloc_hooks *h);

#endif
