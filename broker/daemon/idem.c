/*
 * Idempotency: the reply to each (agent, request id) is kept for
 * idem_ttl seconds (at most idem_max of them) and sent again, byte for
 * byte, when the request is resent; the operation is not applied again.
 * A resend that arrives while the first copy is still being handled (or
 * parked) follows it and receives the same reply.  The same id with other
 * bytes is a conflict.
 */
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "broker.h"

struct ient {
	char key[BRK_KEY_MAX];
	uint8_t hash[32];
	int done;
	uint8_t *reply;
	size_t len;
	int64_t time_ms;
	struct brk_ctx *owner;      /* in flight: the first copy */
	struct brk_ctx *followers;
	struct ient *next;          /* bucket chain */
	struct ient *older, *newer; /* age list */
};

struct brk_idem {
	pthread_mutex_t lock;
	size_t nb, count, max;
	int64_t ttl_ms;
	struct ient **b;
	struct ient *oldest, *newest;
	uint8_t skey[crypto_shorthash_KEYBYTES];
};

int
brk_idem_new(size_t max, int64_t ttl_s, struct brk_idem **out)
{
	struct brk_idem *m = mdt__calloc(1, sizeof(*m));

	if (m == NULL)
		return -MDT_ENOMEM;
	m->nb = 1;
	while (m->nb < max)
		m->nb <<= 1;
	m->b = mdt__calloc(m->nb, sizeof(*m->b));
	if (m->b == NULL) {
		mdt__free(m);
		return -MDT_ENOMEM;
	}
	m->max = max;
	m->ttl_ms = ttl_s * 1000;
	randombytes_buf(m->skey, sizeof(m->skey));
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return 0;
}

/* A kept reply may hold a single-action token: wiped before it goes. */
static void
ent_free(struct ient *e)
{
	if (e->reply != NULL)
		sodium_memzero(e->reply, e->len);
	mdt__free(e->reply);
	mdt__free(e);
}

void
brk_idem_free(struct brk_idem *m)
{
	if (m == NULL)
		return;
	for (struct ient *e = m->oldest, *n; e != NULL; e = n) {
		n = e->newer;
		ent_free(e);
	}
	mdt__free(m->b);
	pthread_mutex_destroy(&m->lock);
	mdt__free(m);
}

static size_t
bucket(struct brk_idem *m, const char *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const uint8_t *)key, strlen(key), m->skey);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (m->nb - 1));
}

static struct ient **
lookup(struct brk_idem *m, const char *key)
{
	struct ient **p = &m->b[bucket(m, key)];

	while (*p != NULL && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

/* Unlinks e from both lists; caller frees.  Lock held. */
static void
unlink_ent(struct brk_idem *m, struct ient *e)
{
	struct ient **p = lookup(m, e->key);

	*p = e->next;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		m->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		m->newest = e->older;
	m->count--;
}

/* Evicts the oldest finished entries while full.  Lock held. */
static void
make_room(struct brk_idem *m)
{
	struct ient *e = m->oldest, *n;

	while (m->count >= m->max && e != NULL) {
		n = e->newer;
		if (e->done) {
			unlink_ent(m, e);
			ent_free(e);
		}
		e = n;
	}
}

enum brk_idem_result
brk_idem_begin(brk_broker *b, struct brk_ctx *c, nng_msg **reply)
{
	struct brk_idem *m = b->idem;
	struct ient **p, *e;
	enum brk_idem_result r = BRK_IDEM_NEW;

	pthread_mutex_lock(&m->lock);
	p = lookup(m, c->key);
	e = *p;
	if (e != NULL && sodium_memcmp(e->hash, c->hash, 32) != 0) {
		r = BRK_IDEM_CONFLICT;
	} else if (e != NULL && e->done) {
		r = nng_msg_alloc(reply, e->len) == 0 ? BRK_IDEM_DONE :
		    BRK_IDEM_CONFLICT;
		if (r == BRK_IDEM_DONE)
			memcpy(nng_msg_body(*reply), e->reply, e->len);
	} else if (e != NULL) {
		c->state = BRK_CTX_FOLLOW;
		c->qnext = e->followers;
		e->followers = c;
		r = BRK_IDEM_FOLLOW;
	} else {
		make_room(m);
		e = mdt__calloc(1, sizeof(*e));
		if (e != NULL) {
			memcpy(e->key, c->key, sizeof(e->key));
			memcpy(e->hash, c->hash, 32);
			e->owner = c;
			e->time_ms = brk_now_ms();
			e->older = m->newest;
			if (m->newest != NULL)
				m->newest->newer = e;
			else
				m->oldest = e;
			m->newest = e;
			e->next = m->b[bucket(m, c->key)];
			m->b[bucket(m, c->key)] = e;
			m->count++;
		} else {
			c->key[0] = 0; /* no memory: answer without keeping */
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

struct brk_ctx *
brk_idem_finish(brk_broker *b, struct brk_ctx *c, const uint8_t *buf,
    size_t len)
{
	struct brk_idem *m = b->idem;
	struct ient *e;
	struct brk_ctx *f = NULL;

	pthread_mutex_lock(&m->lock);
	e = *lookup(m, c->key);
	if (e != NULL && e->owner == c) {
		e->reply = buf != NULL ? mdt__malloc(len) : NULL;
		if (e->reply != NULL) {
			memcpy(e->reply, buf, len);
			e->len = len;
			e->done = 1;
		}
		e->owner = NULL;
		f = e->followers;
		e->followers = NULL;
		if (!e->done) { /* could not keep it: forget the key */
			unlink_ent(m, e);
			ent_free(e);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return f;
}

void
brk_idem_sweep(brk_broker *b, int64_t now_ms)
{
	struct brk_idem *m = b->idem;
	int64_t ttl = m->ttl_ms;

	pthread_mutex_lock(&m->lock);
	while (m->oldest != NULL && m->oldest->done &&
	    now_ms - m->oldest->time_ms > ttl) {
		struct ient *e = m->oldest;
		unlink_ent(m, e);
		ent_free(e);
	}
	pthread_mutex_unlock(&m->lock);
}
