/*
 * The audit store's single writer: a queue of operations from any number
 * of threads and one thread that commits them in batches (group commit:
 * one transaction and, with synchronous=FULL, one WAL fsync per batch).
 * A caller's submit returns only after the transaction holding its record
 * has committed or failed.  The writer also owns the in-memory chain head
 * and decides when a checkpoint is due.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc_int.h"
#include "backend.h"

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Runs one op; multi-statement ops run under a savepoint so a failure
 * leaves the rest of the batch intact. */
static int
run_one(mdt_store *s, mdt__op *op)
{
	mdt__writer *w = &s->w;
	uint64_t seq0 = w->head_seq;
	uint8_t h0[MDT_STORE_HASH_BYTES];
	int sp = op->type == MDT__OP_END_TASK, rc;

	memcpy(h0, w->head_hash, sizeof(h0));
	if (sp && (rc = s->be->savepoint(s)) != 0)
		return rc;
	mdt__store_err_op(s, op);
	rc = s->be->run_op(s, op);
	mdt__store_err_op(s, NULL);
	if (rc == 0 && sp && s->be->release(s) != 0)
		rc = -MDT_ESTORE;
	if (rc != 0) {
		w->head_seq = seq0;
		memcpy(w->head_hash, h0, sizeof(h0));
		if (sp && !s->be->txn_gone(s)) {
			(void)s->be->rollback_to(s);
			(void)s->be->release(s);
		}
	}
	return rc;
}

static int
checkpoint_due(mdt_store *s, uint64_t deadline)
{
	mdt__writer *w = &s->w;

	/* with receipts, each batch's signed head pins its records */
	if (!s->have_key || w->head_seq == w->last_cp || mdt__receipts_on(s))
		return 0;
	return w->head_seq - w->last_cp >= s->checkpoint_every ||
	    (deadline != 0 && mono_ms() >= deadline);
}

/* After a commit: the task rows that ended are no longer what the cache
 * holds. */
static void
forget_ended(mdt_store *s, mdt__op *batch, mdt__op *end)
{
	for (mdt__op *op = batch; op != end; op = op->next) {
		const mdt_store_revocation *rv = op->result;
		if (op->type == MDT__OP_END_TASK && op->rc == 0 && rv != NULL &&
		    s->tcache != NULL)
			mdt__tcache_ended(s->tcache, rv->task_ids, rv->count);
	}
}

/* A failed batch: nothing of it is recorded.  gone: the store file was
 * removed or replaced, and every op reports the store's failure. */
static void
fail_batch(mdt__op *batch, mdt__op *end, int gone)
{
	for (mdt__op *op = batch; op != end; op = op->next) {
		if (gone || op->rc == 0 || op->rc == -MDT_EEXIST)
			op->rc = -MDT_ESTORE;
		mdt__free(op->result);
		op->result = NULL;
	}
}

/* Commits ops [batch, end) as one transaction; sets every op's rc. */
static void
run_batch(mdt_store *s, mdt__op *batch, mdt__op *end, uint64_t deadline)
{
	mdt__writer *w = &s->w;
	uint64_t seq0 = w->head_seq, cp0 = w->last_cp, nops = 0, bseq;
	uint64_t t0 = mdt__stats_now_us();
	uint8_t h0[MDT_STORE_HASH_BYTES];
	int rc, gone = w->failed;

	if (gone) {
		fail_batch(batch, end, 1);
		mdt__stats_batch(s, 0, 0, 0, cp0);
		return;
	}
	memcpy(h0, w->head_hash, sizeof(h0));
	w->batch = batch;
	w->batch_end = end;
	rc = s->be->begin(s);
	bseq = w->head_seq; /* after begin: another broker may have written */
	for (mdt__op *op = batch; rc == 0 && op != end; op = op->next) {
		op->rc = run_one(s, op);
		nops++;
		if (op->rc == 0 && op->type == MDT__OP_DECISION)
			memcpy(op->rhash, w->head_hash, sizeof(op->rhash));
		if (op->rc != 0 && s->be->txn_gone(s))
			rc = -MDT_ESTORE;
	}
	if (rc == 0)
		rc = mdt__receipts_seal(s, batch, end, bseq);
	if (rc == 0 && checkpoint_due(s, deadline))
		rc = s->be->checkpoint(s, mdt_store_now_ms());
	/* A commit into a store that is no longer the one opened would be
	 * lost on the next open: fail closed instead. */
	if (rc == 0 && (rc = s->be->precommit(s)) != 0)
		gone = 1;
	if (rc == 0)
		rc = s->be->commit(s);
	mdt__receipts_end(s, rc == 0);
	if (rc == 0) {
		s->be->committed(s);
		forget_ended(s, batch, end);
		mdt__stats_batch(s, nops, mdt__stats_now_us() - t0, 1, cp0);
		return;
	}
	if (!s->be->txn_gone(s))
		(void)s->be->rollback(s);
	w->head_seq = seq0;
	w->last_cp = cp0;
	memcpy(w->head_hash, h0, sizeof(h0));
	fail_batch(batch, end, gone);
	mdt__stats_batch(s, nops, 0, 0, cp0);
}

/* Waits for work; returns 1 when the idle checkpoint timer fired.
 * wsleeping tells the queue's producers that a signal is needed: while
 * the writer runs, it finds their ops itself before it waits again. */
static int
wait_work(mdt_store *s, uint64_t deadline)
{
	struct timespec ts;
	uint64_t now;
	int rc;

	if (deadline == 0) {
		s->wsleeping = 1;
		pthread_cond_wait(&s->qwork, &s->qmu);
		s->wsleeping = 0;
		return 0;
	}
	now = mono_ms();
	if (now >= deadline)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)((deadline - now) / 1000u);
	ts.tv_nsec += (long)((deadline - now) % 1000u) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	s->wsleeping = 1;
	rc = pthread_cond_timedwait(&s->qwork, &s->qmu, &ts);
	s->wsleeping = 0;
	return rc == ETIMEDOUT;
}

/* Takes up to max_batch ops off the queue (caller holds qmu). */
static mdt__op *
take_batch(mdt_store *s, mdt__op **end)
{
	mdt__op *first = s->qhead, *op = first;

	for (uint32_t n = 0; op != NULL && n < s->max_batch; n++)
		op = op->next;
	s->qhead = op;
	if (op == NULL)
		s->qtail = NULL;
	*end = op;
	return first;
}

static void
idle_checkpoint(mdt_store *s)
{
	mdt__op op = {.type = MDT__OP_CHECKPOINT};
	uint64_t covered = s->w.last_cp;

	/* With receipts every batch's head covers its records; what is
	 * left is a tail no head covers (records another writer added
	 * while this one was stopped, e.g. review marks). */
	if (mdt__receipts_on(s) && s->w.rcover > covered)
		covered = s->w.rcover;
	if (s->have_key && s->w.head_seq > covered)
		run_batch(s, &op, NULL, 0);
}

/* Runs an asynchronous op's callback, with its receipt when it wants
 * one. */
static void
report(mdt_store *s, mdt__op *op)
{
	mdt_receipt r;
	uint64_t seq = op->rc == 0 ? op->seq : 0;

	if (op->receipt_fn == NULL)
		op->done_fn(op->done_arg, op->rc, seq);
	else
		op->receipt_fn(op->done_arg, op->rc, seq,
		    mdt__receipts_of(s, op, &r) == 0 ? &r : NULL);
}

/* Reports the batch's outcome: runs the asynchronous ops' callbacks,
 * then wakes the waiting callers, so a caller's write that follows an
 * asynchronous one returns only after that one was reported. */
static void
finish_batch(mdt_store *s, mdt__op *batch, mdt__op *end)
{
	mdt__op *async = NULL, *sync = NULL, *next;
	mdt__op **at = &async, **st = &sync;

	/* Every op of the batch is the writer's until it is reported; the
	 * callbacks run in commit order. */
	for (mdt__op *op = batch; op != end; op = next) {
		next = op->next;
		op->next = NULL;
		if (op->done_fn != NULL || op->receipt_fn != NULL) {
			*at = op;
			at = &op->next;
		} else {
			*st = op;
			st = &op->next;
		}
	}
	for (mdt__op *op = async; op != NULL; op = next) {
		next = op->next;
		report(s, op);
		mdt__free(op->result);
		mdt__free(op);
	}
	mdt__receipts_release(s);
	if (sync == NULL)
		return;
	pthread_mutex_lock(&s->qmu);
	/* A waited-for op lives on its caller's stack: it is not touched
	 * once qmu is released. */
	for (mdt__op *op = sync; op != NULL; op = next) {
		next = op->next;
		op->done = 1;
		pthread_cond_signal(&op->cv);
	}
	pthread_mutex_unlock(&s->qmu);
}

static void *
writer_main(void *arg)
{
	mdt_store *s = arg;
	uint64_t deadline = 0; /* when unsigned records must be signed */

	mdt__store_err_op(s, NULL); /* failures from here on are the writer's */
	pthread_mutex_lock(&s->qmu);
	for (;;) {
		mdt__op *batch, *end = NULL;
		int fired = 0;
		while (s->qhead == NULL && !s->closing && !fired)
			fired = wait_work(s, deadline);
		if (s->qhead == NULL && s->closing)
			break;
		batch = s->qhead != NULL ? take_batch(s, &end) : NULL;
		pthread_mutex_unlock(&s->qmu);
		if (batch != NULL)
			run_batch(s, batch, end, deadline);
		else
			idle_checkpoint(s);
		if (s->w.head_seq == s->w.last_cp || !s->have_key)
			deadline = 0;
		else if (deadline == 0)
			deadline = mono_ms() + s->checkpoint_ms;
		finish_batch(s, batch, end);
		s->be->between(s);
		pthread_mutex_lock(&s->qmu);
	}
	pthread_mutex_unlock(&s->qmu);
	idle_checkpoint(s);
	return NULL;
}

/* Links op at the queue's tail (caller holds qmu). */
static int
link_op(mdt_store *s, mdt__op *op)
{
	if (s->closing || !s->w.running)
		return -MDT_ECLOSED;
	op->next = NULL;
	if (s->qtail != NULL)
		s->qtail->next = op;
	else
		s->qhead = op;
	s->qtail = op;
	/* one wake-up per batch: the first op queued while the writer
	 * sleeps wakes it, and it takes the others with that one */
	if (s->wsleeping) {
		s->wsleeping = 0;
		pthread_cond_signal(&s->qwork);
	}
	return 0;
}

int
mdt__writer_enqueue(mdt_store *s, mdt__op *op)
{
	int rc;

	op->rc = 0;
	op->result = NULL;
	op->owner = pthread_self();
	pthread_mutex_lock(&s->qmu);
	rc = link_op(s, op);
	pthread_mutex_unlock(&s->qmu);
	return rc;
}

int
mdt__writer_submit(mdt_store *s, mdt__op *op)
{
	op->done = 0;
	op->next = NULL;
	op->rc = 0;
	op->result = NULL;
	op->owner = pthread_self();
	if (pthread_cond_init(&op->cv, NULL) != 0)
		return -MDT_ENOMEM;
	pthread_mutex_lock(&s->qmu);
	if (link_op(s, op) != 0) {
		pthread_mutex_unlock(&s->qmu);
		pthread_cond_destroy(&op->cv);
		return -MDT_ECLOSED;
	}
	while (!op->done)
		pthread_cond_wait(&op->cv, &s->qmu);
	pthread_mutex_unlock(&s->qmu);
	pthread_cond_destroy(&op->cv);
	return op->rc;
}

int
mdt__store_exec_writer(mdt_store *s, const char *sql)
{
	mdt__op op = {.type = MDT__OP_EXEC, .rec = sql};

	return mdt__writer_submit(s, &op);
}

int
mdt__writer_start(mdt_store *s, char *err, size_t errlen)
{
	int rc;

	if ((rc = s->be->writer_open(s, err, errlen)) != 0)
		return rc;
	if (mdt__stats_new(s) != 0) {
		snprintf(err, errlen, "out of memory");
		return -MDT_ENOMEM;
	}
	if (pthread_create(&s->w.thread, NULL, writer_main, s) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		return -MDT_ESTORE;
	}
	s->w.running = 1;
	return 0;
}

void
mdt__writer_stop(mdt_store *s)
{
	mdt__writer *w = &s->w;

	if (w->running) {
		pthread_mutex_lock(&s->qmu);
		s->closing = 1;
		pthread_cond_signal(&s->qwork);
		pthread_mutex_unlock(&s->qmu);
		pthread_join(w->thread, NULL);
		w->running = 0;
	}
	s->be->writer_close(s);
	mdt__stats_free(s);
}
