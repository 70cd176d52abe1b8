/*
 * What the PostgreSQL backend keeps in memory between requests: only
 * what no broker can change once it is written.  A task's row (all but
 * its ended state) and its chain (its id and its ancestors' up to the
 * root) are fixed when the task is created, so the task read and the
 * walk up the chain that every authorize makes are read from the
 * database once per task and per handle; whether a task on the chain has
 * ended is read fresh each time (one indexed lookup of the chain's ids
 * in `ended`, which also gives the task's own state), so an end
 * committed by any broker is seen by the next request on every broker.
 * What is kept never answers for the store: the same read finds the
 * task still there (a database restored without it says ENOTFOUND).
 * Caching state that changes (a task's ended state) would need
 * invalidation from the other brokers (LISTEN/NOTIFY);
 * mdt__pg_cache_clear is where that would drop what is kept.
 * Bounded: when full it starts over.
 */
#include <string.h>

#include "alloc_int.h"
#include "pg_int.h"

#define PC_BUCKETS 4096u
#define PC_MAX 65536u

struct pc_ent {
	struct pc_ent *next;
	uint64_t hash;
	char *chain;   /* text array literal of the chain, task first */
	mdt_store_task *task; /* its row; the state in it is not used */
	char id[];
};

struct mdt__pgcache {
	pthread_mutex_t mu;
	size_t n;
	struct pc_ent *b[PC_BUCKETS];
};

int
mdt__pg_cache_new(mdt__pgcache **out)
{
	mdt__pgcache *c = mdt__calloc(1, sizeof(*c));

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
clear(mdt__pgcache *c)
{
	for (size_t i = 0; i < PC_BUCKETS; i++) {
		struct pc_ent *e = c->b[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			mdt__free(e->chain);
			mdt__free(e->task);
			mdt__free(e);
		}
		c->b[i] = NULL;
	}
	c->n = 0;
}

void
mdt__pg_cache_clear(mdt__pgcache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	clear(c);
	pthread_mutex_unlock(&c->mu);
}

void
mdt__pg_cache_free(mdt__pgcache *c)
{
	if (c == NULL)
		return;
	clear(c);
	pthread_mutex_destroy(&c->mu);
	mdt__free(c);
}

static struct pc_ent *
find(mdt__pgcache *c, const char *id, uint64_t h)
{
	struct pc_ent *e = c->b[h % PC_BUCKETS];

	while (e != NULL && (e->hash != h || strcmp(e->id, id) != 0))
		e = e->next;
	return e;
}

/* The entry of id, added when absent (caller holds mu); NULL on no
 * memory. */
static struct pc_ent *
entry(mdt__pgcache *c, const char *id, uint64_t h)
{
	struct pc_ent *e = find(c, id, h);
	size_t il = strlen(id) + 1;

	if (e != NULL)
		return e;
	if (c->n >= PC_MAX)
		clear(c);
	if ((e = mdt__calloc(1, sizeof(*e) + il)) == NULL)
		return NULL;
	memcpy(e->id, id, il);
	e->hash = h;
	e->next = c->b[h % PC_BUCKETS];
	c->b[h % PC_BUCKETS] = e;
	c->n++;
	return e;
}

static char *
str_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = mdt__malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

int
mdt__pg_cache_chain(mdt__pgcache *c, const char *task_id, char **chain)
{
	uint64_t h = mdt__task_id_hash(task_id);
	struct pc_ent *e;
	int rc = -MDT_ENOTFOUND;

	pthread_mutex_lock(&c->mu);
	if ((e = find(c, task_id, h)) != NULL && e->chain != NULL)
		rc = (*chain = str_dup(e->chain)) != NULL ? 0 : -MDT_ENOMEM;
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int
mdt__pg_cache_task(mdt__pgcache *c, const char *task_id, char **chain,
    mdt_store_task **task)
{
	uint64_t h = mdt__task_id_hash(task_id);
	struct pc_ent *e;
	int rc = -MDT_ENOTFOUND;

	*chain = NULL;
	*task = NULL;
	pthread_mutex_lock(&c->mu);
	if ((e = find(c, task_id, h)) != NULL && e->chain != NULL &&
	    e->task != NULL) {
		*chain = str_dup(e->chain);
		*task = mdt__kind_dup(mdt__kind_get(MDT__KIND_TASK), e->task,
		    0);
		rc = *chain != NULL && *task != NULL ? 0 : -MDT_ENOMEM;
	}
	pthread_mutex_unlock(&c->mu);
	if (rc != 0) {
		mdt__free(*chain);
		mdt__free(*task);
		*chain = NULL;
		*task = NULL;
	}
	return rc;
}

void
mdt__pg_cache_put_chain(mdt__pgcache *c, const char *task_id,
    const char *chain)
{
	uint64_t h = mdt__task_id_hash(task_id);
	char *copy = str_dup(chain);
	struct pc_ent *e;

	if (copy == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if ((e = entry(c, task_id, h)) != NULL && e->chain == NULL) {
		e->chain = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	mdt__free(copy);
}

void
mdt__pg_cache_put_task(mdt__pgcache *c, const mdt_store_task *t)
{
	uint64_t h = mdt__task_id_hash(t->task_id);
	mdt_store_task *copy = mdt__kind_dup(mdt__kind_get(MDT__KIND_TASK), t,
	    0);
	struct pc_ent *e;

	if (copy == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if ((e = entry(c, t->task_id, h)) != NULL && e->task == NULL) {
		e->task = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	mdt__free(copy);
}
