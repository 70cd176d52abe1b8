/*
 * The task-row cache of a writable store handle.  Every authorize reads
 * its task and walks the task's chain for an ended ancestor; both are
 * point reads of rows that change only when this handle's own writer
 * commits an end-task op.  Keeping recent rows here turns those reads
 * into hash lookups, while the writer keeps the cache honest: after each
 * commit it drops the rows of the tasks that ended, and a row read from
 * SQLite while such a commit was under way is not cached (the generation
 * counter moved).  The cache is bounded: when full it starts over.
 */
#include <string.h>

#include "alloc_int.h"
#include "core_int.h"

#define TC_BUCKETS 4096u
#define TC_MAX 65536u

struct tc_ent {
	struct tc_ent *next;
	uint64_t hash;
	mdt_store_task *task;
};

struct mdt__tcache {
	pthread_mutex_t mu;
	uint64_t gen;
	size_t n;
	struct tc_ent *b[TC_BUCKETS];
};

/* FNV-1a: task ids are broker-made, so the distribution is not under an
 * attacker's control; the tables are bounded either way. */
uint64_t
mdt__task_id_hash(const char *s)
{
	uint64_t h = 1469598103934665603u;

	for (; *s != 0; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

int
mdt__tcache_new(mdt__tcache **out)
{
	mdt__tcache *c = mdt__calloc(1, sizeof(*c));

	if (c == NULL)
		return -MDT_ENOMEM;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		mdt__free(c);
		return -MDT_ENOMEM;
	}
	*out = c;
	return 0;
}

/* Caller holds mu. */
static void
clear(mdt__tcache *c)
{
	for (size_t i = 0; i < TC_BUCKETS; i++) {
		struct tc_ent *e = c->b[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			mdt__free(e->task);
			mdt__free(e);
		}
		c->b[i] = NULL;
	}
	c->n = 0;
}

void
mdt__tcache_free(mdt__tcache *c)
{
	if (c == NULL)
		return;
	clear(c);
	pthread_mutex_destroy(&c->mu);
	mdt__free(c);
}

/* The entry for id (caller holds mu), and where it is linked. */
static struct tc_ent **
slot(mdt__tcache *c, const char *id, uint64_t h)
{
	struct tc_ent **p = &c->b[h % TC_BUCKETS];

	for (; *p != NULL; p = &(*p)->next)
		if ((*p)->hash == h && strcmp((*p)->task->task_id, id) == 0)
			break;
	return p;
}

int
mdt__tcache_get(mdt__tcache *c, const char *task_id, mdt_store_task **out)
{
	uint64_t h = mdt__task_id_hash(task_id);
	struct tc_ent *e;
	int rc = -MDT_ENOTFOUND;

	pthread_mutex_lock(&c->mu);
	e = *slot(c, task_id, h);
	if (e != NULL) {
		*out = mdt__kind_dup(mdt__kind_get(MDT__KIND_TASK), e->task, 0);
		rc = *out != NULL ? 0 : -MDT_ENOMEM;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

uint64_t
mdt__tcache_gen(mdt__tcache *c)
{
	uint64_t g;

	pthread_mutex_lock(&c->mu);
	g = c->gen;
	pthread_mutex_unlock(&c->mu);
	return g;
}

void
mdt__tcache_put(mdt__tcache *c, uint64_t gen, const mdt_store_task *t)
{
	uint64_t h = mdt__task_id_hash(t->task_id);
	struct tc_ent *e = mdt__malloc(sizeof(*e));
	mdt_store_task *copy = mdt__kind_dup(mdt__kind_get(MDT__KIND_TASK), t,
	    0);

	pthread_mutex_lock(&c->mu);
	if (e != NULL && copy != NULL && gen == c->gen &&
	    *slot(c, t->task_id, h) == NULL) {
		if (c->n >= TC_MAX)
			clear(c);
		e->hash = h;
		e->task = copy;
		e->next = c->b[h % TC_BUCKETS];
		c->b[h % TC_BUCKETS] = e;
		c->n++;
		e = NULL;
		copy = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	mdt__free(e);
	mdt__free(copy);
}

void
mdt__tcache_ended(mdt__tcache *c, const char *const *ids, size_t n)
{
	pthread_mutex_lock(&c->mu);
	c->gen++;
	for (size_t i = 0; i < n; i++) {
		struct tc_ent **p = slot(c, ids[i], mdt__task_id_hash(ids[i]));
		struct tc_ent *e = *p;
		if (e == NULL)
			continue;
		*p = e->next;
		mdt__free(e->task);
		mdt__free(e);
		c->n--;
	}
	pthread_mutex_unlock(&c->mu);
}
