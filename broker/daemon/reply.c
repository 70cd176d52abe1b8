/*
 * The life of a request context below the operations: receiving,
 * recycling, the worker job queue, and everything an operation calls to
 * answer, park, resume or hand a request on.  The dispatcher (server.c)
 * calls the operations; the operations call down into this file, and this
 * file calls neither, so the daemon's files form no cycle.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>

#include "broker.h"

void
brk_ctx_reset(struct brk_ctx *c)
{
	mdt_wire_msg_free(c->req);
	c->req = NULL;
	c->root = NULL;
	if (c->msg != NULL)
		nng_msg_free(c->msg);
	c->msg = NULL;
	brk_snapshot_release(c->snap);
	c->snap = NULL;
	c->agent[0] = 0;
	c->key[0] = 0;
	c->audit_id[0] = 0;
	c->park = NULL;
	c->qnext = NULL;
	c->followers = NULL;
	c->answered = 0;
	mdt_wire_writer_free(c->pending);
	c->pending = NULL;
	c->phase = BRK_PHASE_NEW;
	c->resume_stepup[0] = 0;
	mdt_free(c->cedar_request);
	c->cedar_request = NULL;
}

/* Back to receiving (or stopped when draining). */
void
brk_ctx_recycle(struct brk_ctx *c)
{
	brk_ctx_reset(c);
	atomic_fetch_sub(&c->b->busy, 1);
	if (atomic_load(&c->b->stopping)) {
		c->state = BRK_CTX_DONE;
		return;
	}
	brk_ctx_recv(c);
}

/* Whether c's send has finished: a finished send has a result or a
 * count (the reply's length), both reset when a send begins. */
static int
send_finished(struct brk_ctx *c)
{
	return nng_aio_result(c->saio) != 0 || nng_aio_count(c->saio) > 0;
}

/* The send is over: frees the reply if it did not leave, recycles c. */
static void
send_done(struct brk_ctx *c)
{
	nng_msg *m;

	nng_aio_wait(c->saio); /* nng's own bookkeeping of the finish */
	if ((m = nng_aio_get_msg(c->saio)) != NULL) {
		nng_aio_set_msg(c->saio, NULL);
		nng_msg_free(m);
	}
	brk_ctx_recycle(c);
}

/*
 * The send aio has no callback, so a reply that nng writes at once
 * finishes inside nng_ctx_send, and the sending thread (often the store's
 * writer, right after the commit) recycles the context: no completion is
 * handed to one of nng's threads.  A reply queued behind another on its
 * pipe finishes later; the timer recycles its context then.
 */
void
brk_ctx_send_msg(struct brk_ctx *c, nng_msg *m)
{
	brk_broker *b = c->b;

	c->state = BRK_CTX_SEND;
	nng_aio_set_msg(c->saio, m);
	nng_ctx_send(c->ctx, c->saio);
	if (send_finished(c)) {
		send_done(c);
		return;
	}
	pthread_mutex_lock(&b->sending_lock);
	c->qnext = b->sending;
	b->sending = c;
	pthread_mutex_unlock(&b->sending_lock);
}

void
brk_ctx_sweep_sends(brk_broker *b)
{
	struct brk_ctx *done = NULL, **p, *c;

	pthread_mutex_lock(&b->sending_lock);
	for (p = &b->sending; (c = *p) != NULL;) {
		if (!send_finished(c)) {
			p = &c->qnext;
			continue;
		}
		*p = c->qnext;
		c->qnext = done;
		done = c;
	}
	pthread_mutex_unlock(&b->sending_lock);
	for (; done != NULL; done = c) {
		c = done->qnext;
		send_done(done);
	}
}

static void
ctx_send_bytes(struct brk_ctx *c, const uint8_t *buf, size_t len)
{
	nng_msg *m;

	if (nng_msg_alloc(&m, len) != 0) {
		brk_ctx_recycle(c);
		return;
	}
	memcpy(nng_msg_body(m), buf, len);
	brk_ctx_send_msg(c, m);
}

void
brk_jobs_push(brk_broker *b, struct brk_ctx *c)
{
	pthread_mutex_lock(&b->jobs_lock);
	c->qnext = NULL;
	if (b->jobs_tail != NULL)
		b->jobs_tail->qnext = c;
	else
		b->jobs_head = c;
	b->jobs_tail = c;
	atomic_fetch_add(&b->metrics.queued, 1);
	pthread_cond_signal(&b->jobs_cond);
	pthread_mutex_unlock(&b->jobs_lock);
}

void
brk_ctx_recv(struct brk_ctx *c)
{
	c->state = BRK_CTX_RECV;
	nng_ctx_recv(c->ctx, c->aio);
}

struct brk_ctx *
brk_jobs_pop(brk_broker *b)
{
	struct brk_ctx *c;

	pthread_mutex_lock(&b->jobs_lock);
	while (b->jobs_head == NULL && atomic_load(&b->stopping) < 2)
		pthread_cond_wait(&b->jobs_cond, &b->jobs_lock);
	c = b->jobs_head;
	if (c != NULL) {
		b->jobs_head = c->qnext;
		atomic_fetch_sub(&b->metrics.queued, 1);
		if (b->jobs_head == NULL)
			b->jobs_tail = NULL;
	}
	pthread_mutex_unlock(&b->jobs_lock);
	return c;
}

/* ------------------------------------------------------------ replies */

mdt_wire_writer *
brk_reply_writer(struct brk_ctx *c, int ok)
{
	mdt_wire_writer *w = NULL;
	mdt_wire_op op = c->req != NULL ? mdt_wire_msg_op(c->req) :
	    MDT_OP_HELLO;
	const char *id = c->req != NULL ? mdt_wire_msg_id(c->req) : "-";

	if (mdt_wire_writer_new(&w, op, id, 1, ok) != 0)
		return NULL;
	return w;
}

void
brk_reply(struct brk_ctx *c, mdt_wire_writer *w)
{
	const uint8_t *buf = NULL;
	size_t len = 0;
	struct brk_ctx *f, *next;
	int frc = w != NULL ? mdt_wire_writer_finish(w, &buf, &len) :
	    -MDT_ENOMEM;

	c->answered = 1;
	if (frc == -MDT_ETOOBIG) {
		/* say so rather than leave the client to time out */
		mdt_wire_writer_free(w);
		BLOG(c->b, BRK_ERROR, "reply.toobig", "pipe=%u", c->pipe);
		brk_reply_error(c, -MDT_ETOOBIG, "toobig", "the answer is "
		    "larger than one reply carries (%u bytes)",
		    (unsigned)MDT_WIRE_MSG_MAX);
		return;
	}
	brk_metrics_request(&c->b->metrics, c->req != NULL ?
	    (int)mdt_wire_msg_op(c->req) : MDT_OP_INVALID,
	    brk_mono_us() - c->t0_us);
	if (frc != 0) {
		/* cannot even say why: let the clients time out and resend */
		mdt_wire_writer_free(w);
		BLOG(c->b, BRK_ERROR, "reply.failed", "pipe=%u", c->pipe);
		f = c->key[0] != 0 ? brk_idem_finish(c->b, c, NULL, 0) : NULL;
		for (; f != NULL; f = next) {
			next = f->qnext;
			brk_ctx_recycle(f);
		}
		brk_ctx_recycle(c);
		return;
	}
	f = c->key[0] != 0 ? brk_idem_finish(c->b, c, buf, len) : NULL;
	for (; f != NULL; f = next) {
		next = f->qnext;
		ctx_send_bytes(f, buf, len);
	}
	ctx_send_bytes(c, buf, len);
	mdt_wire_writer_free(w);
}

int
brk_put_deny(mdt_wire_writer *w, const struct brk_deny *d)
{
	const char *code = mdt_wire_code_name(d->status);
	char buf[BRK_DETAIL_MAX], *save = NULL;
	size_t np = d->plist[0] != 0;
	int rc;

	if (code == NULL || d->status == 0)
		return -MDT_EINVAL;
	for (const char *p = d->plist; *p != 0; p++)
		np += *p == ',';
	rc = mdt_wire_begin_map(w, "error", 3 + (d->detail[0] != 0) +
	    (np > 0)) || mdt_wire_put_cstr(w, "code", code) ||
	    mdt_wire_put_int(w, "status", d->status) ||
	    mdt_wire_put_cstr(w, "reason", d->reason) ||
	    (d->detail[0] != 0 && mdt_wire_put_cstr(w, "detail", d->detail)) ||
	    (np > 0 && mdt_wire_begin_array(w, "policies", np));
	snprintf(buf, sizeof(buf), "%s", d->plist);
	for (char *t = strtok_r(buf, ",", &save); rc == 0 && t != NULL;
	    t = strtok_r(NULL, ",", &save))
		rc = mdt_wire_put_cstr(w, NULL, t);
	if (rc == 0 && np > 0)
		rc = mdt_wire_end(w);
	return rc != 0 ? -MDT_EINVAL : mdt_wire_end(w);
}

void
brk_reply_deny(struct brk_ctx *c, const struct brk_deny *d)
{
	mdt_wire_writer *w = brk_reply_writer(c, 0);

	if (w != NULL && brk_put_deny(w, d) != 0) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	brk_reply(c, w);
}

void
brk_reply_error(struct brk_ctx *c, int status, const char *reason,
    const char *fmt, ...)
{
	struct brk_deny d = { .status = status, .reason = reason };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d.detail, sizeof(d.detail), fmt, ap);
	va_end(ap);
	brk_reply_deny(c, &d);
}

void
brk_reply_ended(struct brk_ctx *c, const char *task,
    const mdt_store_revocation *rv)
{
	mdt_wire_writer *w = brk_reply_writer(c, 1);
	int rc = w == NULL || mdt_wire_put_cstr(w, "task", task) ||
	    mdt_wire_begin_array(w, "revoked", rv->count);

	for (size_t i = 0; !rc && i < rv->count; i++)
		rc = mdt_wire_put_cstr(w, NULL, rv->task_ids[i]);
	if (rc || mdt_wire_end(w)) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	brk_reply(c, w);
}

void
brk_park(struct brk_ctx *c, int64_t deadline_ms)
{
	c->state = BRK_CTX_PARKED;
	c->deadline_ms = deadline_ms;
}

void
brk_rerun_on_worker(struct brk_ctx *c)
{
	c->phase = BRK_PHASE_WORKER;
	brk_jobs_push(c->b, c);
}

void
brk_defer_reply(struct brk_ctx *c)
{
	c->phase = BRK_PHASE_DELIVER;
	brk_jobs_push(c->b, c);
}

void
brk_resume(struct brk_ctx *c)
{
	c->phase = BRK_PHASE_RESUME;
	c->state = BRK_CTX_WORK;
	brk_jobs_push(c->b, c);
}

