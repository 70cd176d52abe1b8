/*
 * Clinician scopes as asserted now: the scope of the most recent launch
 * assertion (by issued-at) seen for each clinician, from open, approve or
 * reject.  Every check intersects with it, so a clinician whose grant
 * narrowed is held to the narrower scope on tasks opened earlier.  After
 * a restart, until a new assertion arrives, a task is held to its token's
 * block-0 scopes (the clinician's grant at open, already intersected).
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "broker.h"

#define NBUCKETS 256

struct cl {
	char id[BRK_ID_MAX];
	int64_t iat;
	mdt_scope_set *scopes;
	struct cl *next;
};

struct brk_clinicians {
	pthread_mutex_t lock;
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

void
brk_clinicians_free(struct brk_clinicians *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct cl *e = c->b[i], *n; e != NULL; e = n) {
			n = e->next;
			mdt_scope_set_free(e->scopes);
			mdt__free(e);
		}
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

void
brk_clinician_assert(brk_broker *b, const char *clinician, int64_t iat,
    const mdt_scope_set *scopes)
{
	struct brk_clinicians *c = b->clinicians;
	mdt_scope_set *copy = NULL;
	struct cl **p, *e;

	if (mdt_scope_set_dup(scopes, &copy) != 0)
		return;
	pthread_mutex_lock(&c->lock);
	p = slot(c, clinician);
	e = *p;
	if (e == NULL && (e = mdt__calloc(1, sizeof(*e))) != NULL) {
		snprintf(e->id, sizeof(e->id), "%s", clinician);
		e->iat = INT64_MIN;
		*p = e;
	}
	if (e != NULL && iat >= e->iat) {
		mdt_scope_set_free(e->scopes);
		e->scopes = copy;
		e->iat = iat;
		copy = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	mdt_scope_set_free(copy);
}

int
brk_clinician_scopes(brk_broker *b, const char *clinician,
    mdt_scope_set **out)
{
	struct brk_clinicians *c = b->clinicians;
	struct cl *e;
	int rc = -MDT_ENOTFOUND;

	pthread_mutex_lock(&c->lock);
	e = *slot(c, clinician);
	if (e != NULL && e->scopes != NULL)
		rc = mdt_scope_set_dup(e->scopes, out);
	pthread_mutex_unlock(&c->lock);
	return rc;
}
