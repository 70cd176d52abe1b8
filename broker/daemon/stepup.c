/*
 * Step-ups: an authorize that policy holds for a clinician is parked
 * under a step-up id.  The clinician's approval is bound to a hash of
 * everything that changes what is released (task, agent, action,
 * resource, patient, purpose, boundary, audience), lives
 * approval_ttl_ms after the decision and is used once; a step-up nobody
 * decides within stepup_timeout_ms is a deny.  Durable state (the pending
 * request and its decision) is in the audit store; this table holds what
 * is needed to resume the parked request.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "broker.h"

enum { SU_PENDING, SU_APPROVED, SU_REJECTED, SU_EXPIRED, SU_USED };

struct su {
	struct brk_stepup_info info;
	int state;
	int64_t valid_until_ms;
	int64_t forget_ms;          /* when the entry is dropped */
	struct brk_ctx *parked;
	struct su *next;
};

struct brk_stepups {
	pthread_mutex_t lock;
	struct su *head;
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
	for (struct su *e = s->head, *n; e != NULL; e = n) {
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

static struct su *
find(struct brk_stepups *s, const char *id)
{
	for (struct su *e = s->head; e != NULL; e = e->next)
		if (strcmp(e->info.id, id) == 0)
			return e;
	return NULL;
}

int
brk_stepup_add(brk_broker *b, const struct brk_stepup_info *in,
    struct brk_ctx *parked)
{
	struct brk_stepups *s = b->stepups;
	struct su *e = mdt__calloc(1, sizeof(*e));

	if (e == NULL)
		return -MDT_ENOMEM;
	e->info = *in;
	e->state = SU_PENDING;
	e->parked = parked;
	e->forget_ms = in->expires_ms + 3600 * 1000;
	pthread_mutex_lock(&s->lock);
	e->next = s->head;
	s->head = e;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int
brk_stepup_get(brk_broker *b, const char *id, struct brk_stepup_info *out)
{
	struct brk_stepups *s = b->stepups;
	struct su *e;

	pthread_mutex_lock(&s->lock);
	e = find(s, id);
	if (e != NULL)
		*out = e->info;
	pthread_mutex_unlock(&s->lock);
	return e != NULL ? 0 : -MDT_ENOTFOUND;
}

int
brk_stepup_consume(brk_broker *b, const char *id, const uint8_t h[32],
    struct brk_deny *d)
{
	struct brk_stepups *s = b->stepups;
	struct su *e;
	int rc = -1;

	pthread_mutex_lock(&s->lock);
	e = find(s, id);
	if (e == NULL || e->state == SU_USED)
		brk_deny_set(d, -MDT_ENOTFOUND, "step_up.unknown",
		    "no unused approval %s", id);
	else if (sodium_memcmp(e->info.hash, h, 32) != 0)
		brk_deny_set(d, -MDT_EDENIED, "step_up.mismatch", "approval %s "
		    "was given for another request", id);
	else if (e->state == SU_REJECTED)
		brk_deny_set(d, -MDT_EDENIED, "step_up.rejected",
		    "the clinician rejected %s", id);
	else if (e->state != SU_APPROVED)
		brk_deny_set(d, -MDT_ESTEPUP, "step_up.required",
		    "%s is not approved", id);
	else if (brk_now_ms() > e->valid_until_ms)
		brk_deny_set(d, -MDT_EEXPIRED, "step_up.unknown",
		    "approval %s expired", id);
	else {
		e->state = SU_USED;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
brk_stepup_decide(brk_broker *b, const char *id, int approve,
    int64_t valid_until_ms, struct brk_ctx **parked)
{
	struct brk_stepups *s = b->stepups;
	struct su *e;
	int rc = 0;

	*parked = NULL;
	pthread_mutex_lock(&s->lock);
	e = find(s, id);
	if (e == NULL || e->state != SU_PENDING) {
		rc = -MDT_ENOTFOUND;
	} else {
		e->state = approve ? SU_APPROVED : SU_REJECTED;
		e->valid_until_ms = valid_until_ms;
		*parked = e->parked;
		e->parked = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void
brk_stepup_void(brk_broker *b, const char *id)
{
	struct brk_stepups *s = b->stepups;
	struct su *e;

	pthread_mutex_lock(&s->lock);
	e = find(s, id);
	if (e != NULL && (e->state == SU_APPROVED || e->state == SU_REJECTED))
		e->state = SU_EXPIRED;
	pthread_mutex_unlock(&s->lock);
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

/* Expires undecided step-ups; their parked requests are denied. */
void
brk_stepup_sweep(struct brk_worker *w, brk_broker *b, int64_t now_ms,
    int all)
{
	struct brk_stepups *s = b->stepups;
	struct su *expired[64];
	struct brk_ctx *ctxs[64];
	size_t n = 0;

	(void)w;
	pthread_mutex_lock(&s->lock);
	for (struct su **p = &s->head; *p != NULL;) {
		struct su *e = *p;
		if (e->state != SU_PENDING && e->forget_ms < now_ms) {
			*p = e->next;
			mdt__free(e);
			continue;
		}
		if (e->state == SU_PENDING && n < 64 &&
		    (all || e->info.expires_ms <= now_ms)) {
			e->state = SU_EXPIRED;
			expired[n] = e;
			ctxs[n++] = e->parked;
			e->parked = NULL;
		}
		p = &e->next;
	}
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		/* entries are only freed by this thread, so expired[i] lives */
		int rc = mdt_store_decide_approval(b->store, expired[i]->info.id,
		    MDT_APPROVAL_EXPIRED, "broker", now_ms, 0, "timed out",
		    NULL);
		if (rc != 0 && rc != -MDT_EEXIST)
			BLOG(b, BRK_ERROR, "stepup.expire_failed", "stepup=%s "
			    "error=%s", expired[i]->info.id, mdt_strerror(rc));
		publish_decided(b, &expired[i]->info, "expired");
		if (ctxs[i] != NULL)
			brk_authorize_final_deny(ctxs[i], &expired[i]->info,
			    -MDT_ETIMEDOUT, "step_up.timeout", all ? "the "
			    "broker is shutting down" : "no clinician decided "
			    "in time");
	}
}

void
brk_stepup_publish_decided(brk_broker *b, const struct brk_stepup_info *in,
    const char *decision)
{
	publish_decided(b, in, decision);
}
