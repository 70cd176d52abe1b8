/*
 * What the PostgreSQL backend keeps in memory between requests: only
 * what no broker can change once it is written.  A task's chain (its id
 * and its ancestors' up to the root) is fixed when the task is created,
 * so the walk up the chain that every authorize makes is read from the
 * database once per task and per handle; whether a task on it has ended
 * is read fresh each time (one indexed lookup of the chain's ids in
 * `ended`), so an end committed by any broker is seen by the next
 * request on every broker.  Caching state that changes (a task's ended
 * state) needs invalidation from the other brokers (LISTEN/NOTIFY);
 * mdt__pg_cache_clear is where that, and a reconnect, drop what is kept.
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

int
mdt__pg_cache_chain(mdt__pgcache *c, const char *task_id, char **chain)
{
	uint64_t h = mdt__task_id_hash(task_id);
	struct pc_ent *e;
	int rc = -MDT_ENOTFOUND;

	pthread_mutex_lock(&c->mu);
	if ((e = find(c, task_id, h)) != NULL) {
		size_t n = strlen(e->chain) + 1;
		rc = (*chain = mdt__malloc(n)) != NULL ? 0 : -MDT_ENOMEM;
		if (rc == 0)
			memcpy(*chain, e->chain, n);
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void
mdt__pg_cache_put_chain(mdt__pgcache *c, const char *task_id,
    const char *chain)
{
	uint64_t h = mdt__task_id_hash(task_id);
	size_t il = strlen(task_id) + 1, cl = strlen(chain) + 1;
	struct pc_ent *e = mdt__malloc(sizeof(*e) + il + cl);

	if (e == NULL)
		return;
	memcpy(e->id, task_id, il);
	e->chain = e->id + il;
	memcpy(e->chain, chain, cl);
	e->hash = h;
	pthread_mutex_lock(&c->mu);
	if (find(c, task_id, h) == NULL) {
		if (c->n >= PC_MAX)
			clear(c);
		e->next = c->b[h % PC_BUCKETS];
		c->b[h % PC_BUCKETS] = e;
		c->n++;
		e = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	mdt__free(e);
}
