/*
 * The request/reply server: one nng rep0 socket with a pool of contexts,
 * each an asynchronous state machine (receive -> work -> [park] -> send),
 * authorize run on the nng thread that received it, a pool of worker
 * threads for the operations that wait for the store, and a timer thread
 * that expires parked long polls and step-ups.  A parked request holds
 * its context but no thread, so thousands of agents can wait at once.
 * The listeners are in listen.c; what the operations call to answer,
 * park or hand a request on is in reply.c, below them.
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
	[MDT_OP_EVALUATE] = { brk_op_evaluate, 1 },
	[MDT_OP_STATUS] = { brk_op_status, 1 },
	[MDT_OP_ACCESS] = { brk_op_access, 1 },
	[MDT_OP_REVIEW] = { brk_op_review, 1 },
};

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

	/* only receives complete here: sends have no callback (reply.c) */
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		c->state = BRK_CTX_DONE;
		return;
	}
	if (rv != 0) {
		brk_ctx_recv(c);
		return;
	}
	c->msg = nng_aio_get_msg(c->aio);
	c->t0_us = brk_mono_us();
	c->pipe = nng_pipe_id(nng_msg_get_pipe(c->msg));
	c->state = BRK_CTX_WORK;
	atomic_fetch_add(&c->b->busy, 1);
	if (run_here(c))
		return;
	brk_jobs_push(c->b, c);
}

/* ------------------------------------------------------------ workers */

/* A request refused before it was authenticated or even read: nothing
 * is recorded (there is no one to record it for), but the refusal is
 * logged like every other, with its reason. */
static void
refuse_early(struct brk_ctx *c, int status, const char *reason,
    const char *op, const char *detail)
{
	BLOG(c->b, BRK_INFO, "request.refused", "op=%s reason=%s pipe=%u "
	    "recorded=no", op, reason, c->pipe);
	brk_reply_error(c, status, reason, "%s", detail);
}

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
	if (code == MDT_EPROTO && strstr(err, "unknown op") != NULL)
		refuse_early(c, rc, "op", "-", err);
	else if (code < 0 || code > MDT_EPROTO || reasons[code] == NULL)
		refuse_early(c, rc, "internal", "-", err);
	else
		refuse_early(c, rc, reasons[code], "-", err);
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

	switch (c->phase) {
	case BRK_PHASE_DELIVER:
		brk_record_deliver(c);
		return;
	case BRK_PHASE_RESUME:
		/* a parked request is decided under the rules in force when
		 * it is released: a reload while it waited may have changed
		 * them (check, then use) */
		brk_snapshot_release(c->snap);
		c->snap = brk_snapshot_acquire(c->b);
		ops[mdt_wire_msg_op(c->req)].fn(w, c);
		return;
	case BRK_PHASE_WORKER:
		ops[mdt_wire_msg_op(c->req)].fn(w, c);
		return;
	case BRK_PHASE_NEW:
		break;
	}
	if (c->req == NULL && decode(c) != 0)
		return;
	op = mdt_wire_msg_op(c->req);
	c->root = mdt_wire_msg_root(c->req);
	if (mdt_wire_msg_ok(c->req) != -1) {
		refuse_early(c, -MDT_EPROTO, "field", mdt_wire_op_name(op),
		    "a request must not carry ok");
		return;
	}
	brk_session_agent(c->b, c->pipe, c->agent, sizeof(c->agent));
	if (ops[op].auth > 0 && c->agent[0] == 0) {
		char why[96];
		snprintf(why, sizeof(why), "op %s needs an authenticated pipe "
		    "(hello, auth)", mdt_wire_op_name(op));
		refuse_early(c, -MDT_EAUTH, "auth.required",
		    mdt_wire_op_name(op), why);
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
		brk_metrics_request(&c->b->metrics, (int)op,
		    brk_mono_us() - c->t0_us);
		c->key[0] = 0;
		c->answered = 1;
		brk_ctx_send_msg(c, stored);
		return;
	case BRK_IDEM_FOLLOW:
		return; /* answered with the first copy's reply */
	case BRK_IDEM_CONFLICT:
		/* the id was answered for other content: the op runs, finds
		 * the id recorded for that content (brk_id_check, or its
		 * append), and records and answers the refusal id.reused */
		c->key[0] = 0;
		break;
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

	while ((c = brk_jobs_pop(b)) != NULL)
		handle(w, c);
	return NULL;
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

		brk_ctx_sweep_sends(b);
		brk_queue_sweep(b, now, all);
		brk_stepup_sweep(&b->workers[0], b, now, all);
		if (now - last_idem > 1000) {
			brk_idem_sweep(b, now);
			brk_publish_epoch(b);
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
		    nng_aio_alloc(&c->aio, ctx_cb, c) != 0 ||
		    nng_aio_alloc(&c->saio, NULL, NULL) != 0)
			return -MDT_ETRANSPORT;
	}
	for (size_t i = 0; i < b->nctx; i++)
		brk_ctx_recv(&b->ctxs[i]);
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
	/* the store's watch first: every change another broker commits
	 * once requests arrive is reported (the clinician-now cache) */
	rc = brk_peers_start(b, err, errlen);
	if (rc == 0)
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
	brk_peers_stop(b);
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
	brk_peers_stop(b); /* nothing resumes or publishes from here on */
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
		struct brk_ctx *c = &b->ctxs[i];
		if (c->aio != NULL)
			nng_aio_free(c->aio);
		if (c->saio != NULL) {
			nng_aio_wait(c->saio);
			if (nng_aio_get_msg(c->saio) != NULL)
				nng_msg_free(nng_aio_get_msg(c->saio));
			nng_aio_free(c->saio);
		}
		brk_ctx_reset(c);
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
