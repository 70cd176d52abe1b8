/*
 * Work queues: per agent, the subtasks dispatched to it and the results
 * of its subtasks, delivered by `next` in arrival order.  A `next` that
 * finds nothing parks its context (no thread) until an item arrives or
 * its wait ends; the timer answers expired waits with "no work".
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "broker.h"

#define NBUCKETS 1024

enum { ITEM_TASK = 1, ITEM_RESULT = 2 };

struct brk_item {
	int kind;
	char task[BRK_ID_MAX], parent[BRK_ID_MAX], from[BRK_ID_MAX];
	char op[16], status[16];
	char scopes[BRK_SCOPES_TEXT_MAX];
	char patient[BRK_ID_MAX], purpose[64], clinician[BRK_ID_MAX];
	int64_t depth, expires;
	uint8_t *token;
	size_t token_len;
	uint8_t *payload;
	size_t plen;
	struct brk_item *next;
};

struct filter {
	char task[BRK_ID_MAX];
	char child[BRK_ID_MAX];
};

struct aq {
	char agent[BRK_ID_MAX];
	struct brk_item *head, *tail;
	size_t count;
	struct brk_ctx *waiters;
	struct aq *next;
};

struct brk_queues {
	pthread_mutex_t lock;
	struct aq *b[NBUCKETS];
};

int
brk_queues_new(struct brk_queues **out)
{
	struct brk_queues *q = mdt__calloc(1, sizeof(*q));

	if (q == NULL)
		return -MDT_ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	*out = q;
	return 0;
}

void
brk_item_free(struct brk_item *it)
{
	if (it == NULL)
		return;
	if (it->token != NULL)
		sodium_memzero(it->token, it->token_len);
	mdt__free(it->token);
	mdt__free(it->payload);
	mdt__free(it);
}

void
brk_queues_free(struct brk_queues *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct aq *a = q->b[i], *n; a != NULL; a = n) {
			n = a->next;
			for (struct brk_item *it = a->head, *in; it; it = in) {
				in = it->next;
				brk_item_free(it);
			}
			mdt__free(a);
		}
	pthread_mutex_destroy(&q->lock);
	mdt__free(q);
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = mdt__malloc(n > 0 ? n : 1);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

static struct brk_item *
item_new(int kind, const char *task, const char *parent, const char *from,
    const uint8_t *payload, size_t plen)
{
	struct brk_item *it = mdt__calloc(1, sizeof(*it));

	if (it == NULL)
		return NULL;
	it->kind = kind;
	snprintf(it->task, sizeof(it->task), "%s", task);
	snprintf(it->parent, sizeof(it->parent), "%s", parent);
	snprintf(it->from, sizeof(it->from), "%s", from);
	it->payload = dup_bytes(payload, plen);
	it->plen = plen;
	if (it->payload == NULL) {
		brk_item_free(it);
		return NULL;
	}
	return it;
}

struct brk_item *
brk_item_task(const char *task, const char *parent, const char *from,
    const char *op, const mdt_token *tok, const char *scopes,
    const uint8_t *payload, size_t plen)
{
	struct brk_item *it = item_new(ITEM_TASK, task, parent, from, payload,
	    plen);
	const uint8_t *tb;
	size_t tl = 0;

	if (it == NULL)
		return NULL;
	snprintf(it->op, sizeof(it->op), "%s", op);
	snprintf(it->scopes, sizeof(it->scopes), "%s", scopes);
	snprintf(it->patient, sizeof(it->patient), "%s",
	    mdt_token_patient(tok));
	snprintf(it->purpose, sizeof(it->purpose), "%s",
	    mdt_token_purpose(tok));
	snprintf(it->clinician, sizeof(it->clinician), "%s",
	    mdt_token_clinician(tok));
	it->depth = mdt_token_depth(tok);
	it->expires = mdt_token_expires_at(tok);
	tb = mdt_token_bytes(tok, &tl);
	it->token = dup_bytes(tb, tl);
	it->token_len = tl;
	if (it->token == NULL) {
		brk_item_free(it);
		return NULL;
	}
	return it;
}

struct brk_item *
brk_item_result(const char *task, const char *parent, const char *from,
    const char *status, const uint8_t *payload, size_t plen)
{
	struct brk_item *it = item_new(ITEM_RESULT, task, parent, from,
	    payload, plen);

	if (it != NULL)
		snprintf(it->status, sizeof(it->status), "%s", status);
	return it;
}

static int
matches(const struct filter *f, const struct brk_item *it)
{
	if (f == NULL || (f->task[0] == 0 && f->child[0] == 0))
		return 1;
	if (it->kind != ITEM_RESULT)
		return 0;
	if (f->child[0] != 0)
		return strcmp(f->child, it->task) == 0;
	return strcmp(f->task, it->parent) == 0;
}

/* Lock held. */
static struct aq *
find_aq(struct brk_queues *q, const char *agent, int create)
{
	size_t h = 5381;
	struct aq **p;

	for (const char *s = agent; *s != 0; s++)
		h = h * 33 + (unsigned char)*s;
	p = &q->b[h % NBUCKETS];
	while (*p != NULL && strcmp((*p)->agent, agent) != 0)
		p = &(*p)->next;
	if (*p == NULL && create) {
		*p = mdt__calloc(1, sizeof(**p));
		if (*p != NULL)
			snprintf((*p)->agent, sizeof((*p)->agent), "%s", agent);
	}
	return *p;
}

static int
put_task_item(mdt_wire_writer *w, const struct brk_item *it)
{
	return mdt_wire_begin_map(w, "item", 13) || 
	    mdt_wire_put_cstr(w, "kind", "task") ||
	    mdt_wire_put_cstr(w, "task", it->task) ||
	    mdt_wire_put_cstr(w, "parent", it->parent) ||
	    mdt_wire_put_cstr(w, "from", it->from) ||
	    mdt_wire_put_cstr(w, "op", it->op) ||
	    mdt_wire_put_bin(w, "token", it->token, it->token_len) ||
	    mdt_wire_put_cstr(w, "scopes", it->scopes) ||
	    mdt_wire_put_cstr(w, "patient", it->patient) ||
	    mdt_wire_put_cstr(w, "purpose", it->purpose) ||
	    mdt_wire_put_cstr(w, "clinician", it->clinician) ||
	    mdt_wire_put_int(w, "depth", it->depth) ||
	    mdt_wire_put_int(w, "expires", it->expires) ||
	    mdt_wire_put_bin(w, "payload", it->payload, it->plen) ||
	    mdt_wire_end(w);
}

static int
put_result_item(mdt_wire_writer *w, const struct brk_item *it)
{
	return mdt_wire_begin_map(w, "item", 6) ||
	    mdt_wire_put_cstr(w, "kind", "result") ||
	    mdt_wire_put_cstr(w, "task", it->task) ||
	    mdt_wire_put_cstr(w, "parent", it->parent) ||
	    mdt_wire_put_cstr(w, "from", it->from) ||
	    mdt_wire_put_cstr(w, "status", it->status) ||
	    mdt_wire_put_bin(w, "payload", it->payload, it->plen) ||
	    mdt_wire_end(w);
}

/* Answers c with it (or "no work" when it is NULL); frees it. */
static void
answer(struct brk_ctx *c, struct brk_item *it)
{
	mdt_wire_writer *w = brk_reply_writer(c, 1);
	int rc = w == NULL;

	if (!rc && it == NULL)
		rc = mdt_wire_put_nil(w, "item");
	else if (!rc)
		rc = it->kind == ITEM_TASK ? put_task_item(w, it) :
		    put_result_item(w, it);
	mdt__free(c->park);
	c->park = NULL;
	brk_item_free(it);
	if (rc != 0) {
		mdt_wire_writer_free(w);
		brk_reply_error(c, -MDT_ENOMEM, "internal", "cannot encode item");
		return;
	}
	brk_reply(c, w);
}

int
brk_queue_push(brk_broker *b, int64_t max, const char *agent,
    struct brk_item *it)
{
	struct brk_queues *q = b->queues;
	struct brk_ctx **p, *c = NULL;
	struct aq *a;

	pthread_mutex_lock(&q->lock);
	a = find_aq(q, agent, 1);
	if (a == NULL) {
		pthread_mutex_unlock(&q->lock);
		brk_item_free(it);
		return -MDT_ENOMEM;
	}
	for (p = &a->waiters; *p != NULL; p = &(*p)->qnext)
		if (matches((*p)->park, it))
			break;
	if (*p != NULL) {
		c = *p;
		*p = c->qnext;
	} else if (a->count >= (size_t)max) {
		pthread_mutex_unlock(&q->lock);
		brk_item_free(it);
		return -MDT_EBUSY;
	} else {
		if (a->tail != NULL)
			a->tail->next = it;
		else
			a->head = it;
		a->tail = it;
		a->count++;
	}
	pthread_mutex_unlock(&q->lock);
	if (c != NULL)
		answer(c, it);
	return 0;
}

/* Lock held: removes and returns the first item matching f. */
static struct brk_item *
take(struct aq *a, const struct filter *f)
{
	struct brk_item **p, *prev = NULL;

	for (p = &a->head; *p != NULL; prev = *p, p = &(*p)->next) {
		struct brk_item *it = *p;
		if (!matches(f, it))
			continue;
		*p = it->next;
		if (a->tail == it)
			a->tail = prev;
		a->count--;
		it->next = NULL;
		return it;
	}
	return NULL;
}

void
brk_op_next(struct brk_worker *w, struct brk_ctx *c)
{
	struct brk_queues *q = c->b->queues;
	struct filter *f = mdt__calloc(1, sizeof(*f));
	const char *task = NULL, *child = NULL;
	int64_t wait = 0;
	int has;
	char err[MDT_ERRMSG_MAX];
	struct brk_item *it = NULL;
	struct aq *a;

	(void)w;
	if (f == NULL) {
		brk_reply_error(c, -MDT_ENOMEM, "internal", "out of memory");
		return;
	}
	c->park = f;
	if (mdt_wire_get_int_opt(c->root, "wait_ms", 0, INT32_MAX, &wait,
	    &has, err, sizeof(err)) ||
	    mdt_wire_get_str_opt(c->root, "task", BRK_ID_MAX - 1, &task, &has,
	    err, sizeof(err)) ||
	    mdt_wire_get_str_opt(c->root, "child", BRK_ID_MAX - 1, &child,
	    &has, err, sizeof(err))) {
		brk_reply_error(c, -MDT_EPROTO, "field", "%s", err);
		return;
	}
	if (wait > c->snap->cfg.next_max_wait_ms)
		wait = c->snap->cfg.next_max_wait_ms;
	snprintf(f->task, sizeof(f->task), "%s", task ? task : "");
	snprintf(f->child, sizeof(f->child), "%s", child ? child : "");
	pthread_mutex_lock(&q->lock);
	a = find_aq(q, c->agent, wait > 0);
	if (a != NULL)
		it = take(a, f);
	if (it == NULL && a != NULL && wait > 0 &&
	    !atomic_load(&c->b->stopping)) {
		brk_park(c, brk_now_ms() + wait);
		c->qnext = a->waiters;
		a->waiters = c;
		pthread_mutex_unlock(&q->lock);
		return; /* c belongs to the queue now */
	}
	pthread_mutex_unlock(&q->lock);
	answer(c, it);
}

void
brk_queue_sweep(brk_broker *b, int64_t now_ms, int all)
{
	struct brk_queues *q = b->queues;
	struct brk_ctx *done = NULL, *next;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct aq *a = q->b[i]; a != NULL; a = a->next) {
			struct brk_ctx **p = &a->waiters;
			while (*p != NULL) {
				struct brk_ctx *c = *p;
				if (!all && c->deadline_ms > now_ms) {
					p = &c->qnext;
					continue;
				}
				*p = c->qnext;
				c->qnext = done;
				done = c;
			}
		}
	pthread_mutex_unlock(&q->lock);
	for (; done != NULL; done = next) {
		next = done->qnext;
		answer(done, NULL);
	}
}
