/*
 * Clinician scopes as asserted now: the scope of the most recent launch
 * assertion (by issued-at) seen for each clinician, from open, approve or
 * reject.  Every check intersects with it, so a clinician whose grant
 * narrowed is held to the narrower scope on tasks opened earlier.
 *
 * The grant lives in the store (clinician_now), written before the
 * request that carried the assertion is answered, so it survives a
 * restart and holds on every broker of a shared store.  This table is a
 * cache of it, read on the request path: filled from the store on a miss
 * (a clinician without a grant is cached too), kept by this broker's own
 * writes, and dropped when another broker changes a grant (the store's
 * watch, peers.c).  While the watch has lost its notices nothing is
 * cached: every check reads the store.  A fill that raced with a drop is
 * discarded (gen), so the cache never holds a grant older than the
 * store's at the time of the last notice.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "broker.h"

#define NBUCKETS 256

struct cl {
	char id[BRK_ID_MAX];
	int64_t iat;
	mdt_scope_set *scopes;  /* NULL: the store has no grant */
	struct cl *next;
};

struct brk_clinicians {
	pthread_mutex_t lock;
	uint64_t gen;           /* bumped by every drop */
	int lost;               /* the store's notices are lost: no caching */
	struct cl *b[NBUCKETS];
};

int
brk_clinicians_new(struct brk_clinicians **out)
{
	struct brk_clinicians *c = mdt__calloc(1, sizeof(*c));

	if (c == NULL)
		return -MDT_ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static void
drop_all(struct brk_clinicians *c)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		for (struct cl *e = c->b[i], *n; e != NULL; e = n) {
			n = e->next;
			mdt_scope_set_free(e->scopes);
			mdt__free(e);
		}
		c->b[i] = NULL;
	}
}

void
brk_clinicians_free(struct brk_clinicians *c)
{
	if (c == NULL)
		return;
	drop_all(c);
	pthread_mutex_destroy(&c->lock);
	mdt__free(c);
}

static struct cl **
slot(struct brk_clinicians *c, const char *id)
{
	size_t h = 5381;
	struct cl **p;

	for (const char *s = id; *s != 0; s++)
		h = h * 33 + (unsigned char)*s;
	p = &c->b[h % NBUCKETS];
	while (*p != NULL && strcmp((*p)->id, id) != 0)
		p = &(*p)->next;
	return p;
}

/* Caches (id, iat, scopes), taking scopes, unless a later grant is
 * cached; under the lock. */
static void
put(struct brk_clinicians *c, const char *id, int64_t iat,
    mdt_scope_set *scopes)
{
	struct cl **p = slot(c, id), *e = *p;

	if (e == NULL && (e = mdt__calloc(1, sizeof(*e))) != NULL) {
		snprintf(e->id, sizeof(e->id), "%s", id);
		e->iat = INT64_MIN;
		*p = e;
	}
	if (e != NULL && (iat >= e->iat || e->scopes == NULL)) {
		mdt_scope_set_free(e->scopes);
		e->scopes = scopes;
		e->iat = iat;
		scopes = NULL;
	}
	mdt_scope_set_free(scopes);
}

static void
drop(struct brk_clinicians *c, const char *id)
{
	struct cl **p = slot(c, id), *e = *p;

	if (e != NULL) {
		*p = e->next;
		mdt_scope_set_free(e->scopes);
		mdt__free(e);
	}
}

int
brk_clinician_assert(brk_broker *b, const char *clinician, int64_t iat,
    const mdt_scope_set *scopes, struct brk_deny *d)
{
	struct brk_clinicians *c = b->clinicians;
	mdt_scope_set *copy = NULL;
	char *text = NULL;
	uint64_t gen;
	int rc;

	pthread_mutex_lock(&c->lock);
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	if ((rc = mdt_scope_set_format(scopes, &text)) == 0)
		rc = mdt_store_put_clinician_now(b->store, clinician, iat, text);
	mdt_free(text);
	if (rc != 0 && rc != -MDT_EEXIST) {
		brk_deny_set(d, -MDT_ESTORE, "store", "clinician grant store: "
		    "%s", mdt_strerror(rc));
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	/* a later grant stored, or another broker's change meanwhile: read
	 * the store when needed */
	if (rc == -MDT_EEXIST || c->lost || gen != c->gen)
		drop(c, clinician);
	else if (mdt_scope_set_dup(scopes, &copy) == 0)
		put(c, clinician, iat, copy);
	else
		drop(c, clinician);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* The stored grant into *out (NULL for none): 0 or a store failure. */
static int
load(brk_broker *b, const char *clinician, int64_t *iat,
    mdt_scope_set **out)
{
	char err[MDT_ERRMSG_MAX], *text = NULL;
	int rc = mdt_store_get_clinician_now(b->store, clinician, iat, &text);

	*out = NULL;
	if (rc == -MDT_ENOTFOUND)
		return 0;
	if (rc == 0)
		rc = mdt_scope_set_parse(text, strlen(text), out, err,
		    sizeof(err));
	mdt_free(text);
	return rc;
}

int
brk_clinician_scopes(brk_broker *b, const char *clinician,
    mdt_scope_set **out)
{
	struct brk_clinicians *c = b->clinicians;
	mdt_scope_set *got = NULL, *keep = NULL;
	struct cl *e;
	uint64_t gen;
	int64_t iat = 0;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	e = *slot(c, clinician);
	if (e != NULL) {
		rc = e->scopes != NULL ? mdt_scope_set_dup(e->scopes, out) :
		    -MDT_ENOTFOUND;
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	if ((rc = load(b, clinician, &iat, &got)) != 0)
		return rc;
	if (got != NULL && (rc = mdt_scope_set_dup(got, out)) != 0) {
		mdt_scope_set_free(got);
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	if (gen == c->gen && !c->lost && *slot(c, clinician) == NULL &&
	    (got == NULL || mdt_scope_set_dup(got, &keep) == 0))
		put(c, clinician, got != NULL ? iat : INT64_MIN, keep);
	pthread_mutex_unlock(&c->lock);
	mdt_scope_set_free(got);
	return *out != NULL ? 0 : -MDT_ENOTFOUND;
}

void
brk_clinician_forget(brk_broker *b, const char *clinician, int lost)
{
	struct brk_clinicians *c = b->clinicians;

	pthread_mutex_lock(&c->lock);
	if (clinician != NULL) {
		drop(c, clinician);
	} else {
		drop_all(c);
		c->lost = lost;
	}
	c->gen++;
	pthread_mutex_unlock(&c->lock);
}
