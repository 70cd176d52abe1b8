/*
 * Work delivery: the subtasks dispatched to an agent and the results of
 * its subtasks live in the store as work items (core/store/work.c), so a
 * restart loses none of them.  `next` leases the oldest matching item
 * (the lease is a writer transaction: two nexts never take the same
 * item), `ack` deletes it, and an item whose lease ends unacknowledged
 * is delivered again with the same id.  What stays in memory is only who
 * is waiting: a `next` that finds nothing parks its context (no thread)
 * on its agent until an item is pushed for it, a lease it could take
 * ends, or its wait ends.  After a restart nothing is rebuilt: the first
 * `next` of each agent reads the store.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "broker.h"

#define NBUCKETS 1024
#define WAKE_TRIES 4 /* leases retried when pushes race with parking */

/* What a dispatch or a result asks to deliver, before it is pushed. */
struct brk_item {
	mdt_work_item wi;
	char id[BRK_ID_MAX + 48];
	uint8_t *token;
	size_t token_len;
	uint8_t *payload;
	char task[BRK_ID_MAX], parent[BRK_ID_MAX], from[BRK_ID_MAX];
	char op[16], status[16];
	char scopes[BRK_SCOPES_TEXT_MAX];
	char patient[BRK_ID_MAX], purpose[64], clinician[BRK_ID_MAX];
};

/* A parked next: its filter and how long it may wait (c->park). */
struct waiter {
	char task[BRK_ID_MAX];
	char child[BRK_ID_MAX];
	int64_t deadline_ms;
	int64_t retry_ms;        /* a matching lease ends: try again */
};

/* The agents with parked nexts. */
struct aq {
	char agent[BRK_ID_MAX];
	struct brk_ctx *waiters;
	uint64_t pushes;         /* bumped by every push for the agent */
	int64_t lease_end;       /* earliest end of a lease handed out */
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
brk_queues_free(struct brk_queues *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct aq *a = q->b[i], *n; a != NULL; a = n) {
			n = a->next;
			mdt__free(a);
		}
	pthread_mutex_destroy(&q->lock);
	mdt__free(q);
}

/* ------------------------------------------------------------ items */

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

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = mdt__malloc(n > 0 ? n : 1);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

static struct brk_item *
item_new(mdt_work_kind kind, const char *task, const char *parent,
    const char *from, const uint8_t *payload, size_t plen)
{
	struct brk_item *it = mdt__calloc(1, sizeof(*it));

	if (it == NULL)
		return NULL;
	snprintf(it->task, sizeof(it->task), "%s", task);
	snprintf(it->parent, sizeof(it->parent), "%s", parent);
	snprintf(it->from, sizeof(it->from), "%s", from);
	if ((it->payload = dup_bytes(payload, plen)) == NULL) {
		brk_item_free(it);
		return NULL;
	}
	it->wi = (mdt_work_item){ .id = it->id, .kind = kind,
	    .task = it->task, .parent = it->parent, .from = it->from,
	    .payload = it->payload, .payload_len = plen };
	return it;
}

struct brk_item *
brk_item_task(const char *task, const char *parent, const char *from,
    const char *op, const mdt_token *tok, const char *scopes,
    const uint8_t *payload, size_t plen)
{
	struct brk_item *it = item_new(MDT_WORK_TASK, task, parent, from,
	    payload, plen);
	const uint8_t *tb;
	size_t tl = 0;

	if (it == NULL)
		return NULL;
	/* the subtask id: whoever dispatched it knows it already */
	snprintf(it->id, sizeof(it->id), "%s", task);
	snprintf(it->op, sizeof(it->op), "%s", op);
	snprintf(it->scopes, sizeof(it->scopes), "%s", scopes);
	snprintf(it->patient, sizeof(it->patient), "%s",
	    mdt_token_patient(tok));
	snprintf(it->purpose, sizeof(it->purpose), "%s",
	    mdt_token_purpose(tok));
	snprintf(it->clinician, sizeof(it->clinician), "%s",
	    mdt_token_clinician(tok));
	tb = mdt_token_bytes(tok, &tl);
	if ((it->token = dup_bytes(tb, tl)) == NULL) {
		brk_item_free(it);
		return NULL;
	}
	it->token_len = tl;
	it->wi.op = it->op;
	it->wi.scopes = it->scopes;
	it->wi.patient = it->patient;
	it->wi.purpose = it->purpose;
	it->wi.clinician = it->clinician;
	it->wi.depth = mdt_token_depth(tok);
	it->wi.expires = mdt_token_expires_at(tok);
	it->wi.token = it->token;
	it->wi.token_len = tl;
	return it;
}

struct brk_item *
brk_item_result(const char *task, const char *parent, const char *from,
    const char *status, const uint8_t *payload, size_t plen)
{
	struct brk_item *it = item_new(MDT_WORK_RESULT, task, parent, from,
	    payload, plen);
	char rnd[40];

	if (it == NULL)
		return NULL;
	snprintf(it->status, sizeof(it->status), "%s", status);
	it->wi.status = it->status;
	/* a task ends once; it may report any number of results */
	if (strcmp(status, "result") != 0) {
		snprintf(it->id, sizeof(it->id), "%s/%s", task, status);
	} else {
		brk_random_id("", rnd, 17);
		snprintf(it->id, sizeof(it->id), "%s/result/%s", task, rnd);
	}
	return it;
}

/* ---------------------------------------------------------- waiters */

static int
matches(const struct waiter *f, const mdt_work_item *it)
{
	if (f->task[0] == 0 && f->child[0] == 0)
		return 1;
	if (it->kind != MDT_WORK_RESULT)
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

/* Takes the first waiter of agent whose filter matches it (NULL: any). */
static struct brk_ctx *
take_waiter(struct brk_queues *q, const char *agent,
    const mdt_work_item *it)
{
	struct brk_ctx **p, *c = NULL;
	struct aq *a;

	pthread_mutex_lock(&q->lock);
	if ((a = find_aq(q, agent, 0)) != NULL) {
		a->pushes++;
		for (p = &a->waiters; *p != NULL; p = &(*p)->qnext)
			if (it == NULL || matches((*p)->park, it))
				break;
		if ((c = *p) != NULL)
			*p = c->qnext;
	}
	pthread_mutex_unlock(&q->lock);
	return c;
}

/* A task item that cannot be queued would leave its subtask open with
 * nobody to deliver it to: the broker cancels it. */
static void
cancel_undeliverable(brk_broker *b, const struct brk_item *it, int why)
{
	mdt_store_revocation *rv = NULL;
	char reason[96];

	snprintf(reason, sizeof(reason), "not queued: %s", mdt_strerror(why));
	if (mdt_store_end_task(b->store, it->task, MDT_TASK_CANCELLED,
	    "broker", reason, 0, &rv) != 0)
		return;
	brk_publish_revoke(b, rv, "cancelled");
	mdt_free(rv);
}

int
brk_queue_push(brk_broker *b, int64_t max, const char *agent,
    struct brk_item *it)
{
	struct brk_ctx *c;
	int rc;

	if (it == NULL)
		return -MDT_ENOMEM;
	it->wi.agent = agent;
	rc = mdt_store_work_push(b->store, &it->wi, (uint32_t)max, NULL);
	if (rc == -MDT_EEXIST)
		rc = 0; /* a resent push: the item is there already */
	if (rc != 0) {
		BLOG(b, BRK_WARN, "queue.push_failed", "agent=%s item=%s "
		    "error=%s", agent, it->id, mdt_strerror(rc));
		if (it->wi.kind == MDT_WORK_TASK)
			cancel_undeliverable(b, it, rc);
	} else if ((c = take_waiter(b->queues, agent, &it->wi)) != NULL) {
		brk_resume(c);
	}
	brk_item_free(it);
	return rc;
}

/* ------------------------------------------------------------- next */

static int
put_task_item(mdt_wire_writer *w, const mdt_work_item *it)
{
	return mdt_wire_begin_map(w, "item", 15) ||
	    mdt_wire_put_cstr(w, "kind", "task") ||
	    mdt_wire_put_cstr(w, "id", it->id) ||
	    mdt_wire_put_int(w, "deliveries", it->deliveries) ||
	    mdt_wire_put_cstr(w, "task", it->task) ||
	    mdt_wire_put_cstr(w, "parent", it->parent ? it->parent : "") ||
	    mdt_wire_put_cstr(w, "from", it->from ? it->from : "") ||
	    mdt_wire_put_cstr(w, "op", it->op ? it->op : "") ||
	    mdt_wire_put_bin(w, "token", it->token, it->token_len) ||
	    mdt_wire_put_cstr(w, "scopes", it->scopes ? it->scopes : "") ||
	    mdt_wire_put_cstr(w, "patient", it->patient ? it->patient : "") ||
	    mdt_wire_put_cstr(w, "purpose", it->purpose ? it->purpose : "") ||
	    mdt_wire_put_cstr(w, "clinician",
	    it->clinician ? it->clinician : "") ||
	    mdt_wire_put_int(w, "depth", it->depth) ||
	    mdt_wire_put_int(w, "expires", it->expires) ||
	    mdt_wire_put_bin(w, "payload", it->payload, it->payload_len) ||
	    mdt_wire_end(w);
}

static int
put_result_item(mdt_wire_writer *w, const mdt_work_item *it)
{
	return mdt_wire_begin_map(w, "item", 8) ||
	    mdt_wire_put_cstr(w, "kind", "result") ||
	    mdt_wire_put_cstr(w, "id", it->id) ||
	    mdt_wire_put_int(w, "deliveries", it->deliveries) ||
	    mdt_wire_put_cstr(w, "task", it->task) ||
	    mdt_wire_put_cstr(w, "parent", it->parent ? it->parent : "") ||
	    mdt_wire_put_cstr(w, "from", it->from ? it->from : "") ||
	    mdt_wire_put_cstr(w, "status", it->status ? it->status : "") ||
	    mdt_wire_put_bin(w, "payload", it->payload, it->payload_len) ||
	    mdt_wire_end(w);
}

static void
work_free(mdt_work_item *it)
{
	if (it == NULL)
		return;
	if (it->token != NULL)
		sodium_memzero((void *)(uintptr_t)it->token, it->token_len);
	mdt_free(it);
}

/* Answers c with it (or "no work" when it is NULL); frees it. */
static void
answer(struct brk_ctx *c, mdt_work_item *it)
{
	mdt_wire_writer *w = brk_reply_writer(c, 1);
	int rc = w == NULL;

	if (!rc && it == NULL)
		rc = mdt_wire_put_nil(w, "item");
	else if (!rc)
		rc = it->kind == MDT_WORK_TASK ? put_task_item(w, it) :
		    put_result_item(w, it);
	mdt__free(c->park);
	c->park = NULL;
	work_free(it);
	if (rc != 0) {
		mdt_wire_writer_free(w);
		brk_reply_error(c, -MDT_ENOMEM, "internal", "cannot encode item");
		return;
	}
	brk_reply(c, w);
}

/* The fields of a first next into a new waiter (c->park). */
static int
next_fields(struct brk_ctx *c)
{
	struct waiter *f = mdt__calloc(1, sizeof(*f));
	const char *task = NULL, *child = NULL;
	int64_t wait = 0;
	int has;
	char err[MDT_ERRMSG_MAX];

	if (f == NULL) {
		brk_reply_error(c, -MDT_ENOMEM, "internal", "out of memory");
		return -1;
	}
	c->park = f;
	if (mdt_wire_get_int_opt(c->root, "wait_ms", 0, INT32_MAX, &wait,
	    &has, err, sizeof(err)) ||
	    mdt_wire_get_str_opt(c->root, "task", BRK_ID_MAX - 1, &task, &has,
	    err, sizeof(err)) ||
	    mdt_wire_get_str_opt(c->root, "child", BRK_ID_MAX - 1, &child,
	    &has, err, sizeof(err))) {
		struct brk_held h = { 0 };
		struct brk_deny d = { 0 };
		mdt__free(c->park);
		c->park = NULL;
		brk_deny_set(&d, -MDT_EPROTO, "field", "%s", err);
		brk_refuse(c, "next", &h, &d, NULL);
		return -1;
	}
	if (wait > c->snap->cfg.next_max_wait_ms)
		wait = c->snap->cfg.next_max_wait_ms;
	snprintf(f->task, sizeof(f->task), "%s", task ? task : "");
	snprintf(f->child, sizeof(f->child), "%s", child ? child : "");
	f->deadline_ms = wait > 0 ? brk_now_ms() + wait : 0;
	return 0;
}

/* Parks c on its agent unless an item was pushed since `seen` or its
 * wait is over; 1 when parked (c belongs to the queue now). */
static int
park(struct brk_ctx *c, uint64_t seen, int64_t retry_ms)
{
	struct brk_queues *q = c->b->queues;
	struct waiter *f = c->park;
	struct aq *a;
	int parked = 0;

	pthread_mutex_lock(&q->lock);
	a = find_aq(q, c->agent, 1);
	if (a != NULL && a->pushes == seen && !atomic_load(&c->b->stopping)) {
		f->retry_ms = retry_ms;
		brk_park(c, f->deadline_ms);
		c->qnext = a->waiters;
		a->waiters = c;
		parked = 1;
	}
	pthread_mutex_unlock(&q->lock);
	return parked;
}

/* The agent's push count (and, when lease_end is set, notes a lease
 * that parked nexts may take once it ends). */
static uint64_t
pushes_seen(struct brk_queues *q, const char *agent, int64_t lease_end)
{
	struct aq *a;
	uint64_t n = 0;

	pthread_mutex_lock(&q->lock);
	if ((a = find_aq(q, agent, 1)) != NULL) {
		n = a->pushes;
		if (lease_end != 0 && (a->lease_end == 0 ||
		    lease_end < a->lease_end))
			a->lease_end = lease_end;
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

/*
 * Runs on a worker for a new next and for a parked one that was woken
 * (c->park already set): leases an item or parks again.
 */
void
brk_op_next(struct brk_worker *w, struct brk_ctx *c)
{
	mdt_work_filter flt;
	mdt_work_item *it = NULL;
	struct waiter *f;
	int64_t retry = 0;
	int rc = -MDT_ENOTFOUND;

	(void)w;
	if (c->park == NULL && next_fields(c) != 0)
		return;
	f = c->park;
	flt.task = f->task;
	flt.child = f->child;
	for (int i = 0; i < WAKE_TRIES; i++) {
		uint64_t seen = pushes_seen(c->b->queues, c->agent, 0);
		rc = mdt_store_work_lease(c->b->store, c->agent, &flt,
		    (uint32_t)c->snap->cfg.work_lease_ms, 0, &it, &retry);
		if (rc != -MDT_ENOTFOUND || f->deadline_ms <= brk_now_ms() ||
		    atomic_load(&c->b->stopping))
			break;
		if (park(c, seen, retry))
			return;
	}
	if (rc == 0)
		(void)pushes_seen(c->b->queues, c->agent, it->lease_until_ms);
	if (rc != 0 && rc != -MDT_ENOTFOUND) {
		mdt__free(c->park);
		c->park = NULL;
		brk_reply_error(c, -MDT_ESTORE, "store", "work items: %s",
		    mdt_strerror(rc));
		return;
	}
	answer(c, it);
}

/* ------------------------------------------------------------- ack */

void
brk_op_ack(struct brk_worker *w, struct brk_ctx *c)
{
	const char *id = NULL;
	char err[MDT_ERRMSG_MAX];
	struct brk_held h = { 0 };
	struct brk_deny d = { 0 };
	mdt_wire_writer *wr;
	int rc;

	(void)w;
	if (mdt_wire_get_str(c->root, "item", MDT_STORE_FIELD_MAX - 1, &id,
	    err, sizeof(err)) != 0) {
		brk_deny_set(&d, -MDT_EPROTO, "field", "%s", err);
		id = NULL;
	} else if ((rc = mdt_store_work_ack(c->b->store, id, c->agent)) ==
	    -MDT_ENOTFOUND) {
		brk_deny_set(&d, rc, "work.unknown", "no item %s is waiting for "
		    "%s (acknowledged already, or its task ended)", id,
		    c->agent);
	} else if (rc != 0) {
		brk_deny_set(&d, -MDT_ESTORE, "store", "work items: %s",
		    mdt_strerror(rc));
	}
	if (d.status != 0) {
		/* recorded: acknowledging items that are not one's own is
		 * probing for them */
		brk_refuse(c, "ack", &h, &d, id);
		return;
	}
	wr = brk_reply_writer(c, 1);
	if (wr != NULL && mdt_wire_put_cstr(wr, "item", id)) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	brk_reply(c, wr);
}

/* --------------------------------------------------- other brokers */

/* Lock held: moves every waiter of a to *out and counts a push, so a
 * next between its lease and its park sees it too. */
static void
wake_aq(struct aq *a, struct brk_ctx **out)
{
	a->pushes++;
	while (a->waiters != NULL) {
		struct brk_ctx *c = a->waiters;
		a->waiters = c->qnext;
		c->qnext = *out;
		*out = c;
	}
}

void
brk_queue_wake(brk_broker *b, const char *agent)
{
	struct brk_queues *q = b->queues;
	struct brk_ctx *wake = NULL, *next;
	struct aq *a;

	pthread_mutex_lock(&q->lock);
	if (agent != NULL) {
		if ((a = find_aq(q, agent, 0)) != NULL)
			wake_aq(a, &wake);
	} else {
		for (size_t i = 0; i < NBUCKETS; i++)
			for (a = q->b[i]; a != NULL; a = a->next)
				wake_aq(a, &wake);
	}
	pthread_mutex_unlock(&q->lock);
	for (; wake != NULL; wake = next) {
		next = wake->qnext;
		brk_resume(wake);
	}
}

/* ------------------------------------------------------------ timer */

/* Lock held: moves the waiters of a that must act now to *done (their
 * wait ended) or *wake (a lease they may take ended). */
static void
sweep_aq(struct aq *a, int64_t now_ms, int all, struct brk_ctx **done,
    struct brk_ctx **wake)
{
	struct brk_ctx **p = &a->waiters;
	int lease_over = a->lease_end != 0 && a->lease_end <= now_ms;

	while (*p != NULL) {
		struct brk_ctx *c = *p;
		struct waiter *f = c->park;
		struct brk_ctx **to = all || c->deadline_ms <= now_ms ? done :
		    lease_over || (f->retry_ms != 0 && f->retry_ms <= now_ms) ?
		    wake : NULL;
		if (to == NULL) {
			p = &c->qnext;
			continue;
		}
		*p = c->qnext;
		c->qnext = *to;
		*to = c;
	}
	if (lease_over)
		a->lease_end = 0;
}

void
brk_queue_sweep(brk_broker *b, int64_t now_ms, int all)
{
	struct brk_queues *q = b->queues;
	struct brk_ctx *done = NULL, *wake = NULL, *next;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct aq *a = q->b[i]; a != NULL; a = a->next)
			sweep_aq(a, now_ms, all, &done, &wake);
	pthread_mutex_unlock(&q->lock);
	for (; done != NULL; done = next) {
		next = done->qnext;
		answer(done, NULL);
	}
	for (; wake != NULL; wake = next) {
		next = wake->qnext;
		brk_resume(wake);
	}
}
