/*
 * The request/reply server: one nng rep0 socket with a pool of contexts,
 * each an asynchronous state machine (receive -> work -> [park] -> send),
 * authorize run on the nng thread that received it, a pool of worker
 * threads for the operations that wait for the store, and a timer thread
 * that expires parked long polls and step-ups.  A parked request holds
 * its context but no thread, so thousands of agents can wait at once.
 * The listeners are in listen.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>

#include "alloc_int.h"
#include "broker.h"

typedef void (*op_fn)(struct brk_worker *w, struct brk_ctx *c);

/* Which ops need an authenticated pipe, and who runs them. */
/* hello and auth are not idempotent: a resend gets a fresh challenge and
 * a challenge is used once. */
static const struct {
	op_fn fn;
	int auth;
} ops[MDT_OP_COUNT_] = {
	[MDT_OP_HELLO] = { brk_op_hello, -1 },
	[MDT_OP_AUTH] = { brk_op_auth, -1 },
	[MDT_OP_OPEN] = { brk_op_open, 1 },
	[MDT_OP_DISPATCH] = { brk_op_dispatch, 1 },
	[MDT_OP_DELEGATE] = { brk_op_dispatch, 1 },
	[MDT_OP_NEXT] = { brk_op_next, 1 },
	[MDT_OP_AUTHORIZE] = { brk_op_authorize, 1 },
	[MDT_OP_APPROVE] = { brk_op_decide, 1 },
	[MDT_OP_REJECT] = { brk_op_decide, 1 },
	[MDT_OP_COMPLETE] = { brk_op_end, 1 },
	[MDT_OP_CANCEL] = { brk_op_end, 1 },
	[MDT_OP_RESULT] = { brk_op_result, 1 },
	[MDT_OP_TREE] = { brk_op_tree, 1 },
	[MDT_OP_ACK] = { brk_op_ack, 1 },
	[MDT_OP_ABORT] = { brk_op_abort, 1 },
};

static void ctx_recv(struct brk_ctx *c);

static void
ctx_reset(struct brk_ctx *c)
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
	c->resume = 0;
	c->rerun = 0;
	c->resume_stepup[0] = 0;
}

/* Back to receiving (or stopped when draining). */
static void
ctx_recycle(struct brk_ctx *c)
{
	ctx_reset(c);
	atomic_fetch_sub(&c->b->busy, 1);
	if (atomic_load(&c->b->stopping)) {
		c->state = BRK_CTX_DONE;
		return;
	}
	ctx_recv(c);
}

static void
ctx_send_bytes(struct brk_ctx *c, const uint8_t *buf, size_t len)
{
	nng_msg *m;

	if (nng_msg_alloc(&m, len) != 0) {
		ctx_recycle(c);
		return;
	}
	memcpy(nng_msg_body(m), buf, len);
	c->state = BRK_CTX_SEND;
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
}

static void
enqueue(brk_broker *b, struct brk_ctx *c)
{
	pthread_mutex_lock(&b->jobs_lock);
	c->qnext = NULL;
	if (b->jobs_tail != NULL)
		b->jobs_tail->qnext = c;
	else
		b->jobs_head = c;
	b->jobs_tail = c;
	pthread_cond_signal(&b->jobs_cond);
	pthread_mutex_unlock(&b->jobs_lock);
}

static void handle(struct brk_worker *w, struct brk_ctx *c);
static int decode(struct brk_ctx *c);

/*
 * An authorize runs on the nng thread that received it: it never waits
 * for the store (its answer leaves from the writer once the record is
 * committed), so handing it to a worker would only add a thread switch.
 * Operations that wait for commits go to the workers, and so does an
 * authorize that turns out to need a step-up (whose records it waits
 * for).  Scratch comes from a small pool sized for nng's callback
 * threads; when it is empty the request goes to the workers too.
 */
static int
run_here(struct brk_ctx *c)
{
	brk_broker *b = c->b;
	struct brk_worker *w = NULL;

	if (decode(c) != 0)
		return 1; /* answered with the decode error */
	if (mdt_wire_msg_op(c->req) != MDT_OP_AUTHORIZE)
		return 0;
	pthread_mutex_lock(&b->pool_lock);
	if (b->npool > 0)
		w = b->pool[--b->npool];
	pthread_mutex_unlock(&b->pool_lock);
	if (w == NULL)
		return 0;
	handle(w, c);
	pthread_mutex_lock(&b->pool_lock);
	b->pool[b->npool++] = w;
	pthread_mutex_unlock(&b->pool_lock);
	return 1;
}

static void
ctx_cb(void *arg)
{
	struct brk_ctx *c = arg;
	int rv = nng_aio_result(c->aio);

	if (c->state == BRK_CTX_SEND) {
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(c->aio));
		ctx_recycle(c);
		return;
	}
	/* BRK_CTX_RECV */
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		c->state = BRK_CTX_DONE;
		return;
	}
	if (rv != 0) {
		ctx_recv(c);
		return;
	}
	c->msg = nng_aio_get_msg(c->aio);
	c->pipe = nng_pipe_id(nng_msg_get_pipe(c->msg));
	c->state = BRK_CTX_WORK;
	atomic_fetch_add(&c->b->busy, 1);
	if (run_here(c))
		return;
	enqueue(c->b, c);
}

static void
ctx_recv(struct brk_ctx *c)
{
	c->state = BRK_CTX_RECV;
	nng_ctx_recv(c->ctx, c->aio);
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

	c->answered = 1;
	if (w == NULL || mdt_wire_writer_finish(w, &buf, &len) != 0) {
		/* cannot even say why: let the clients time out and resend */
		mdt_wire_writer_free(w);
		BLOG(c->b, BRK_ERROR, "reply.failed", "pipe=%u", c->pipe);
		f = c->key[0] != 0 ? brk_idem_finish(c->b, c, NULL, 0) : NULL;
		for (; f != NULL; f = next) {
			next = f->qnext;
			ctx_recycle(f);
		}
		ctx_recycle(c);
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
brk_park(struct brk_ctx *c, int64_t deadline_ms)
{
	c->state = BRK_CTX_PARKED;
	c->deadline_ms = deadline_ms;
}

void
brk_rerun_on_worker(struct brk_ctx *c)
{
	c->rerun = 1;
	enqueue(c->b, c);
}

void
brk_defer_reply(struct brk_ctx *c)
{
	enqueue(c->b, c);
}

void
brk_resume(struct brk_ctx *c)
{
	c->resume = 1;
	c->state = BRK_CTX_WORK;
	enqueue(c->b, c);
}

/* ------------------------------------------------------------ workers */

static int
decode(struct brk_ctx *c)
{
	char err[MDT_ERRMSG_MAX] = "";
	const char *reasons[] = { [MDT_EDECODE] = "decode",
	    [MDT_ETOOBIG] = "toobig", [MDT_EVERSION] = "version",
	    [MDT_EPROTO] = "field" };
	int rc = mdt_wire_decode(nng_msg_body(c->msg), nng_msg_len(c->msg),
	    &c->req, err, sizeof(err));
	int code = -rc;

	if (rc == 0)
		return 0;
	if (code == MDT_EPROTO && strstr(err, "unknown op") != NULL) {
		brk_reply_error(c, rc, "op", "%s", err);
		return -1;
	}
	if (code < 0 || code > MDT_EPROTO || reasons[code] == NULL)
		brk_reply_error(c, rc, "internal", "%s", err);
	else
		brk_reply_error(c, rc, reasons[code], "%s", err);
	return -1;
}

static void
idem_key(struct brk_ctx *c)
{
	const char *id = mdt_wire_msg_id(c->req);
	void *body = nng_msg_body(c->msg);

	if (c->agent[0] != 0)
		snprintf(c->key, sizeof(c->key), "%s#%s", c->agent, id);
	else
		snprintf(c->key, sizeof(c->key), "pipe:%u#%s", c->pipe, id);
	snprintf(c->audit_id, sizeof(c->audit_id), "%s", c->key);
	crypto_generichash(c->hash, sizeof(c->hash), body,
	    nng_msg_len(c->msg), NULL, 0);
}

static void
handle(struct brk_worker *w, struct brk_ctx *c)
{
	mdt_wire_op op;
	nng_msg *stored = NULL;

	/* an answer kept aside for its audit record, which is now done */
	if (c->pending != NULL) {
		brk_record_deliver(c);
		return;
	}
	if (c->resume || c->rerun) {
		c->rerun = 0;
		ops[mdt_wire_msg_op(c->req)].fn(w, c);
		return;
	}
	if (c->req == NULL && decode(c) != 0)
		return;
	op = mdt_wire_msg_op(c->req);
	c->root = mdt_wire_msg_root(c->req);
	if (mdt_wire_msg_ok(c->req) != -1) {
		brk_reply_error(c, -MDT_EPROTO, "field",
		    "a request must not carry ok");
		return;
	}
	brk_session_agent(c->b, c->pipe, c->agent, sizeof(c->agent));
	if (ops[op].auth > 0 && c->agent[0] == 0) {
		brk_reply_error(c, -MDT_EAUTH, "auth.required",
		    "op %s needs an authenticated pipe (hello, auth)",
		    mdt_wire_op_name(op));
		return;
	}
	c->snap = brk_snapshot_acquire(c->b);
	if (ops[op].auth < 0) {
		ops[op].fn(w, c);
		return;
	}
	idem_key(c);
	switch (brk_idem_begin(c->b, c, &stored)) {
	case BRK_IDEM_DONE:
		c->key[0] = 0;
		c->state = BRK_CTX_SEND;
		c->answered = 1;
		nng_aio_set_msg(c->aio, stored);
		nng_ctx_send(c->ctx, c->aio);
		return;
	case BRK_IDEM_FOLLOW:
		return; /* answered with the first copy's reply */
	case BRK_IDEM_CONFLICT:
		c->key[0] = 0;
		brk_reply_error(c, -MDT_EEXIST, "id.reused",
		    "request id %s was used for a different request",
		    mdt_wire_msg_id(c->req));
		return;
	case BRK_IDEM_NEW:
		break;
	}
	/* the op answers or parks c; either way c may already be recycled
	 * by another thread when it returns, so it is not touched again */
	ops[op].fn(w, c);
}

static void *
worker_main(void *arg)
{
	struct brk_worker *w = arg;
	brk_broker *b = w->b;
	struct brk_ctx *c;

	for (;;) {
		pthread_mutex_lock(&b->jobs_lock);
		while (b->jobs_head == NULL && atomic_load(&b->stopping) < 2)
			pthread_cond_wait(&b->jobs_cond, &b->jobs_lock);
		c = b->jobs_head;
		if (c != NULL) {
			b->jobs_head = c->qnext;
			if (b->jobs_head == NULL)
				b->jobs_tail = NULL;
		}
		pthread_mutex_unlock(&b->jobs_lock);
		if (c == NULL)
			return NULL;
		handle(w, c);
	}
}

static void *
timer_main(void *arg)
{
	brk_broker *b = arg;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int64_t last_idem = 0;

	while (atomic_load(&b->stopping) < 2) {
		int64_t now = brk_now_ms();
		int all = atomic_load(&b->stopping) != 0;

		brk_queue_sweep(b, now, all);
		brk_stepup_sweep(&b->workers[0], b, now, all);
		if (now - last_idem > 1000) {
			brk_idem_sweep(b, now);
			last_idem = now;
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int
scratch_init(brk_broker *b, struct brk_worker *w)
{
	w->b = b;
	return mdt_policy_answer_new(&w->ans) != 0 ||
	    mdt_policy_record_new(&w->rec) != 0 ||
	    mdt_policy_record_new(&w->attrs) != 0 ? -MDT_ENOMEM : 0;
}

static int
workers_start(brk_broker *b)
{
	b->nworkers = (size_t)b->cfg.workers;
	b->workers = mdt__calloc(b->nworkers, sizeof(*b->workers));
	if (b->workers == NULL)
		return -MDT_ENOMEM;
	for (size_t i = 0; i < b->nworkers; i++)
		if (scratch_init(b, &b->workers[i]) != 0)
			return -MDT_ENOMEM;
	for (size_t i = 0; i < BRK_POOL; i++) {
		if (scratch_init(b, &b->pool_mem[i]) != 0)
			return -MDT_ENOMEM;
		b->pool_mem[i].on_nng = 1;
		b->pool[b->npool++] = &b->pool_mem[i];
	}
	for (size_t i = 1; i < b->nworkers; i++)
		if (pthread_create(&b->workers[i].thr, NULL, worker_main,
		    &b->workers[i]) != 0)
			return -MDT_ENOMEM;
	/* worker 0's scratch belongs to the timer thread */
	if (pthread_create(&b->timer, NULL, timer_main, b) != 0)
		return -MDT_ENOMEM;
	return 0;
}

static int
contexts_start(brk_broker *b)
{
	b->nctx = (size_t)b->cfg.contexts;
	b->ctxs = mdt__calloc(b->nctx, sizeof(*b->ctxs));
	if (b->ctxs == NULL)
		return -MDT_ENOMEM;
	for (size_t i = 0; i < b->nctx; i++) {
		struct brk_ctx *c = &b->ctxs[i];
		c->b = b;
		if (nng_ctx_open(&c->ctx, b->rep) != 0 ||
		    nng_aio_alloc(&c->aio, ctx_cb, c) != 0)
			return -MDT_ETRANSPORT;
	}
	for (size_t i = 0; i < b->nctx; i++)
		ctx_recv(&b->ctxs[i]);
	return 0;
}

int
brk_server_start(brk_broker *b, char *err, size_t errlen)
{
	int rc;

	if (b->cfg.workers < 2) {
		snprintf(err, errlen, "workers: at least 2 (one serves the timer)");
		return -MDT_ECONFIG;
	}
	if (nng_rep0_open(&b->rep) != 0 || nng_pub0_open(&b->pub) != 0) {
		snprintf(err, errlen, "cannot open nng sockets");
		return -MDT_ETRANSPORT;
	}
	/* up to twice the bound is read and refused with a clear error;
	 * beyond that the transport drops the connection */
	(void)nng_socket_set_size(b->rep, NNG_OPT_RECVMAXSZ,
	    2 * (size_t)MDT_WIRE_MSG_MAX);
	(void)nng_pipe_notify(b->rep, NNG_PIPE_EV_REM_POST,
	    brk_session_pipe_event, b);
	rc = workers_start(b);
	if (rc == 0)
		rc = contexts_start(b);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start workers or contexts: %s",
		    mdt_strerror(rc));
		return rc;
	}
	rc = brk_listen_all(b, b->pub, b->cfg.pub_listen, err, errlen);
	if (rc == 0)
		rc = brk_listen_all(b, b->rep, b->cfg.listen, err, errlen);
	return rc;
}

/* Stops accepting work, answers parked requests, waits for the rest. */
void
brk_server_drain(brk_broker *b)
{
	int64_t until = brk_now_ms() + b->cfg.drain_ms;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	/* contexts stop receiving; the timer answers parked waits; the
	 * listeners (and with them the connections) close only once every
	 * answer is out */
	atomic_store(&b->stopping, 1);
	for (size_t i = 0; i < b->nctx; i++)
		if (b->ctxs[i].aio != NULL && b->ctxs[i].state == BRK_CTX_RECV)
			nng_aio_cancel(b->ctxs[i].aio);
	while (atomic_load(&b->busy) > 0 && brk_now_ms() < until)
		nanosleep(&ts, NULL);
	if (atomic_load(&b->busy) > 0)
		BLOG(b, BRK_WARN, "drain.timeout", "requests_left=%d",
		    atomic_load(&b->busy));
	nanosleep(&ts, NULL); /* let the last replies leave the pipes */
	for (size_t i = 0; i < b->nlisteners; i++)
		nng_listener_close(b->listeners[i]);
}

static void
scratch_free(struct brk_worker *w)
{
	mdt_policy_answer_free(w->ans);
	mdt_policy_record_free(w->rec);
	mdt_policy_record_free(w->attrs);
	mdt_entity_store_free(w->overlay);
}

void
brk_server_stop(brk_broker *b)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int64_t next_log = brk_now_ms() + 5000;

	/* the store's writer answers these; it always finishes a batch
	 * (committed or failed), and the contexts must outlive it */
	while (atomic_load(&b->recording) > 0) {
		if (brk_now_ms() >= next_log) {
			BLOG(b, BRK_WARN, "stop.waiting", "audit_pending=%d",
			    atomic_load(&b->recording));
			next_log += 5000;
		}
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&b->jobs_lock);
	atomic_store(&b->stopping, 2);
	pthread_cond_broadcast(&b->jobs_cond);
	pthread_mutex_unlock(&b->jobs_lock);
	for (size_t i = 1; i < b->nworkers; i++)
		if (b->workers[i].thr)
			pthread_join(b->workers[i].thr, NULL);
	if (b->nworkers > 0)
		pthread_join(b->timer, NULL);
	nng_close(b->rep);
	for (size_t i = 0; i < b->nctx; i++) {
		if (b->ctxs[i].aio != NULL)
			nng_aio_free(b->ctxs[i].aio);
		ctx_reset(&b->ctxs[i]);
	}
	nng_close(b->pub);
	if (b->tls != NULL)
		nng_tls_config_free(b->tls);
	for (size_t i = 0; i < b->nworkers; i++)
		scratch_free(&b->workers[i]);
	for (size_t i = 0; i < BRK_POOL; i++)
		scratch_free(&b->pool_mem[i]);
	mdt__free(b->workers);
	mdt__free(b->ctxs);
	mdt__free(b->listeners);
}
