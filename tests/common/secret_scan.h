/*
 * A test observer of libmandate's allocations (mdt__alloc_set_hooks): it
 * keeps the size of every block the calling thread allocates through
 * mdt__malloc and friends and, whenever such a block is released (freed,
 * or handed to mdt__realloc), counts the known secrets still in it.  A
 * secret left in a released block is a copy nobody can wipe any more.
 */
#ifndef SECRET_SCAN_H
#define SECRET_SCAN_H

#include <stddef.h>

#define SS_SECRETS_MAX 8
#define SS_SECRET_MIN 8 /* shorter patterns would match by chance */

/* Installs the observer on the calling thread, with no secrets and no
 * hits; 0, or -1 when out of memory. */
int ss_begin(void);
/* Adds a secret to look for (n >= SS_SECRET_MIN bytes, copied). */
void ss_watch(const void *secret, size_t n);
/* Released blocks that held a watched secret, since ss_begin. */
long ss_hits(void);
/* Blocks released since ss_begin (a test shows it exercised them). */
long ss_releases(void);
/* Size of the last block with a hit, 0 when none (for messages). */
size_t ss_last_hit_size(void);
/* Removes the observer and frees its table. */
void ss_end(void);

#endif
