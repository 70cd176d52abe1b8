/*
 * Step-ups: an authorize that policy holds for a clinician is parked
 * under a step-up id.  The clinician's approval is bound to a hash of
 * everything that changes what is released (task, agent, action,
 * resource, patient, purpose, boundary, audience), lives
 * approval_ttl_ms after the decision and is used once; a step-up nobody
 * decides within stepup_timeout_ms is a deny.
 *
 * All of a step-up's state is in the store, so any broker on it, and this
 * one after a restart, can decide and use it: the pending request is an
 * `approvals` row, its single decision an `approval_decisions` row (the
 * first decision wins, on every broker), and the use of an approval an
 * act (`act_uses`, unique, so an approval is used once on every broker).
 * What stays here is the requests parked on this broker (`wait_ms`),
 * waiting for a decision made here, or on another broker (the store's
 * watch reports it, peers.c), or for their deadline.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "broker.h"

#define EXPIRY_EVERY_MS 1000   /* the store's undecided step-ups, looked at */
#define EXPIRY_BATCH 32

struct waiter {
	struct brk_stepup_info info;
	int64_t deadline_ms;
	struct brk_ctx *c;
	struct waiter *next;
};

struct brk_stepups {
	pthread_mutex_t lock;
	struct waiter *head;
	int64_t last_expiry_ms;     /* timer thread only */
	int expiry_failing;         /* timer thread only: logged once */
};

int
brk_stepups_new(struct brk_stepups **out)
{
	struct brk_stepups *s = mdt__calloc(1, sizeof(*s));

	if (s == NULL)
		return -MDT_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void
brk_stepups_free(struct brk_stepups *s)
{
	if (s == NULL)
		return;
	for (struct waiter *e = s->head, *n; e != NULL; e = n) {
		n = e->next;
		mdt__free(e);
	}
	pthread_mutex_destroy(&s->lock);
	mdt__free(s);
}

void
brk_stepup_hash(const char *task, const char *agent, const char *action,
    const char *resource, const char *patient, const char *purpose,
    const char *boundary, const char *audience, uint8_t out[32])
{
	const char *parts[] = { "mandate/stepup/v2", task, agent, action,
	    resource, patient, purpose, boundary, audience };
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		crypto_hash_sha256_update(&st, (const uint8_t *)parts[i],
		    strlen(parts[i]) + 1); /* NUL separates the fields */
	crypto_hash_sha256_final(&st, out);
}

int
brk_stepup_add(brk_broker *b, const struct brk_stepup_info *in,
    struct brk_ctx *parked, int64_t deadline_ms)
{
	struct brk_stepups *s = b->stepups;
	struct waiter *e;

	if (parked == NULL)
		return 0; /* the store's row is the step-up */
	if ((e = mdt__calloc(1, sizeof(*e))) == NULL)
		return -MDT_ENOMEM;
	e->info = *in;
	e->deadline_ms = deadline_ms;
	e->c = parked;
	pthread_mutex_lock(&s->lock);
	e->next = s->head;
	s->head = e;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* The approval, and the task's patient and purpose, into out. */
static void
info_of(const mdt_store_approval *ap, const mdt_store_task *t,
    struct brk_stepup_info *out)
{
	snprintf(out->id, sizeof(out->id), "%s", ap->approval_id);
	snprintf(out->task, sizeof(out->task), "%s", ap->task_id ?
	    ap->task_id : "");
	snprintf(out->agent, sizeof(out->agent), "%s", ap->agent ?
	    ap->agent : "");
	snprintf(out->clinician, sizeof(out->clinician), "%s",
	    ap->clinician ? ap->clinician : "");
	snprintf(out->action, sizeof(out->action), "%s", ap->action ?
	    ap->action : "");
	snprintf(out->resource, sizeof(out->resource), "%s", ap->resource ?
	    ap->resource : "");
	snprintf(out->patient, sizeof(out->patient), "%s",
	    t != NULL && t->patient ? t->patient : "");
	snprintf(out->purpose, sizeof(out->purpose), "%s",
	    t != NULL && t->purpose ? t->purpose : "");
	memcpy(out->hash, ap->request_hash, 32);
	out->created_ms = ap->time_ms;
	out->expires_ms = ap->expires_ms;
}

int
brk_stepup_get(brk_broker *b, const char *id, struct brk_stepup_info *out,
    int *state)
{
	mdt_store_approval *ap = NULL;
	mdt_store_task *t = NULL;
	int rc = mdt_store_get_approval(b->store, id, &ap);

	if (rc != 0)
		return rc;
	if (ap->task_id != NULL)
		rc = mdt_store_get_task(b->store, ap->task_id, &t);
	if (rc == 0 || rc == -MDT_ENOTFOUND) {
		info_of(ap, t, out);
		*state = (int)ap->state;
		rc = 0;
	}
	mdt_free(t);
	mdt_free(ap);
	return rc;
}

/* The act that uses approval id: one per approval, on every broker. */
static int
use(brk_broker *b, const char *id, const char *by, int64_t until)
{
	static const char tag[] = "mandate/approval-use/v1";
	uint8_t h[MDT_STORE_HASH_BYTES];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)tag, sizeof(tag));
	crypto_generichash_update(&st, (const uint8_t *)id, strlen(id));
	crypto_generichash_final(&st, h, sizeof(h));
	return mdt_store_use_act(b->store, h, "approval", by, until);
}

/* Why approval ap does not let a request of hash h through: 0 when it
 * does (still to be used), else d filled. */
static int
usable(const mdt_store_approval *ap, const uint8_t h[32], int64_t now,
    struct brk_deny *d)
{
	const char *id = ap->approval_id;

	if (sodium_memcmp(ap->request_hash, h, 32) != 0)
		brk_deny_set(d, -MDT_EDENIED, "step_up.mismatch", "approval %s "
		    "was given for another request", id);
	else if (ap->state == MDT_APPROVAL_REJECTED)
		brk_deny_set(d, -MDT_EDENIED, "step_up.rejected",
		    "the clinician rejected %s", id);
	else if (ap->state == MDT_APPROVAL_EXPIRED)
		brk_deny_set(d, -MDT_ETIMEDOUT, "step_up.timeout", "no "
		    "clinician decided %s in time", id);
	else if (ap->state != MDT_APPROVAL_APPROVED)
		brk_deny_set(d, -MDT_ESTEPUP, "step_up.required",
		    "%s is not approved", id);
	else if (now > ap->valid_until_ms)
		brk_deny_set(d, -MDT_EEXPIRED, "step_up.unknown",
		    "approval %s expired", id);
	else
		return 0;
	return -1;
}

int
brk_stepup_consume(brk_broker *b, const char *id, const uint8_t h[32],
    struct brk_deny *d)
{
	mdt_store_approval *ap = NULL;
	int rc = mdt_store_get_approval(b->store, id, &ap);

	if (rc == -MDT_ENOTFOUND) {
		brk_deny_set(d, rc, "step_up.unknown", "no unused approval %s",
		    id);
		return -1;
	}
	if (rc != 0) {
		brk_deny_set(d, -MDT_ESTORE, "store", "approval store: %s",
		    mdt_strerror(rc));
		return -1;
	}
	if (usable(ap, h, brk_now_ms(), d) == 0) {
		rc = use(b, id, ap->decided_by, ap->valid_until_ms);
		if (rc == -MDT_EEXIST)
			brk_deny_set(d, -MDT_ENOTFOUND, "step_up.unknown",
			    "no unused approval %s", id);
		else if (rc != 0)
			brk_deny_set(d, -MDT_ESTORE, "store", "approval store: "
			    "%s", mdt_strerror(rc));
	} else {
		rc = -1;
	}
	mdt_free(ap);
	return rc == 0 ? 0 : -1;
}

struct brk_ctx *
brk_stepup_take(brk_broker *b, const char *id)
{
	struct brk_stepups *s = b->stepups;
	struct brk_ctx *c = NULL;

	pthread_mutex_lock(&s->lock);
	for (struct waiter **p = &s->head; *p != NULL; p = &(*p)->next) {
		if (strcmp((*p)->info.id, id) == 0) {
			struct waiter *e = *p;
			*p = e->next;
			c = e->c;
			mdt__free(e);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return c;
}

void
brk_stepup_void(brk_broker *b, const char *id)
{
	int rc = use(b, id, "broker", brk_now_ms());

	if (rc != 0 && rc != -MDT_EEXIST)
		BLOG(b, BRK_ERROR, "stepup.void_failed", "stepup=%s error=%s",
		    id, mdt_strerror(rc));
}

static void
publish_decided(brk_broker *b, const struct brk_stepup_info *in,
    const char *decision)
{
	mdt_wire_writer *w = NULL;

	if (mdt_wire_event_writer_new(&w, MDT_WIRE_TOPIC_DECIDED) == 0 &&
	    (mdt_wire_put_int(w, "time", brk_now_ms() / 1000) ||
	    mdt_wire_put_cstr(w, "stepup", in->id) ||
	    mdt_wire_put_cstr(w, "task", in->task) ||
	    mdt_wire_put_cstr(w, "agent", in->agent) ||
	    mdt_wire_put_cstr(w, "decision", decision))) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	brk_publish(b, MDT_WIRE_TOPIC_DECIDED, w);
}

/* Expires step-up `in` in the store: 0, -MDT_EEXIST when it was decided
 * (here or on another broker) first, or a store failure. */
int
brk_stepup_expire(brk_broker *b, const struct brk_stepup_info *in,
    int64_t now_ms)
{
	int rc = mdt_store_decide_approval(b->store, in->id,
	    MDT_APPROVAL_EXPIRED, "broker", now_ms, 0, "timed out", NULL);

	if (rc == 0)
		publish_decided(b, in, "expired");
	else if (rc != -MDT_EEXIST)
		BLOG(b, BRK_ERROR, "stepup.expire_failed", "stepup=%s "
		    "error=%s", in->id, mdt_strerror(rc));
	return rc;
}

/* A parked request whose step-up was decided: it authorizes again,
 * on a worker, and the stored decision answers it (allow, or the
 * refusal of usable()). */
static void
resume(struct brk_ctx *c, const char *id)
{
	snprintf(c->resume_stepup, sizeof(c->resume_stepup), "%s", id);
	brk_resume(c);
}

void
brk_stepup_wake(brk_broker *b, const char *id)
{
	mdt_store_approval *ap = NULL;
	struct brk_ctx *c;

	if (mdt_store_get_approval(b->store, id, &ap) != 0)
		return; /* the deadline answers it */
	if (ap->state != MDT_APPROVAL_PENDING &&
	    (c = brk_stepup_take(b, id)) != NULL)
		resume(c, id);
	mdt_free(ap);
}

void
brk_stepup_wake_all(brk_broker *b)
{
	struct brk_stepups *s = b->stepups;
	char (*ids)[64] = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&s->lock);
	for (struct waiter *e = s->head; e != NULL; e = e->next)
		cap++;
	if (cap > 0 && (ids = mdt__calloc(cap, sizeof(*ids))) != NULL)
		for (struct waiter *e = s->head; e != NULL; e = e->next)
			memcpy(ids[n++], e->info.id, sizeof(ids[0]));
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++)
		brk_stepup_wake(b, ids[i]);
	mdt__free(ids);
}

/* The waiters whose deadline passed (all of them when all is set),
 * taken off the list. */
static struct waiter *
take_due(struct brk_stepups *s, int64_t now_ms, int all)
{
	struct waiter *due = NULL;

	pthread_mutex_lock(&s->lock);
	for (struct waiter **p = &s->head; *p != NULL;) {
		struct waiter *e = *p;
		if (all || e->deadline_ms <= now_ms) {
			*p = e->next;
			e->next = due;
			due = e;
		} else {
			p = &e->next;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return due;
}

/* A waiter whose deadline passed: its step-up expires, unless it was
 * decided first (then the decision answers it). */
static void
due_one(brk_broker *b, struct waiter *e, int64_t now_ms)
{
	int rc = brk_stepup_expire(b, &e->info, now_ms);

	if (rc == -MDT_EEXIST)
		resume(e->c, e->info.id);
	else if (rc == 0)
		brk_authorize_final_deny(e->c, &e->info, -MDT_ETIMEDOUT,
		    "step_up.timeout", "no clinician decided in time");
	else
		brk_authorize_final_deny(e->c, &e->info, -MDT_ESTORE, "store",
		    "the step-up's expiry could not be stored");
}

struct expiring {
	brk_broker *b;
	int64_t now_ms;
};

static int
expire_row(void *arg, const mdt_store_approval *ap)
{
	struct expiring *x = arg;
	struct brk_stepup_info in = { 0 };

	info_of(ap, NULL, &in);
	(void)brk_stepup_expire(x->b, &in, x->now_ms);
	return 0;
}

/*
 * The timer: parked requests past their deadline, and once a second the
 * store's undecided step-ups past their expiry, whichever broker asked
 * them (on a shared store every broker looks; the first decision wins).
 * On shutdown (all) the requests parked here are answered as a request
 * without wait_ms is, with the step-up's id: it stays pending in the
 * store, so it can still be approved, here after a restart or on another
 * broker, and the request resent with the id.
 */
void
brk_stepup_sweep(struct brk_worker *w, brk_broker *b, int64_t now_ms,
    int all)
{
	struct brk_stepups *s = b->stepups;
	struct waiter *due = take_due(s, now_ms, all), *n;
	struct expiring x = { b, now_ms };
	int rc;

	(void)w;
	for (; due != NULL; due = n) {
		n = due->next;
		if (all)
			brk_authorize_stepup_pending(due->c, &due->info);
		else
			due_one(b, due, now_ms);
		mdt__free(due);
	}
	if (all || now_ms - s->last_expiry_ms < EXPIRY_EVERY_MS)
		return;
	s->last_expiry_ms = now_ms;
	rc = mdt_store_expired_approvals(b->store, now_ms, EXPIRY_BATCH,
	    expire_row, &x);
	if (rc != 0 && !s->expiry_failing)
		BLOG(b, BRK_WARN, "stepup.expiry_failed", "error=%s (retried "
		    "every second)", mdt_strerror(rc));
	s->expiry_failing = rc != 0;
}

void
brk_stepup_publish_decided(brk_broker *b, const struct brk_stepup_info *in,
    const char *decision)
{
	publish_decided(b, in, decision);
}
