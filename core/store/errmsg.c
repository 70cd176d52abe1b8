/*
 * Error detail per calling thread.  A store handle is shared by many
 * threads (a broker's workers, its nng callbacks, the writer), so one
 * "latest error" per handle would hand a thread the message of another
 * thread's failure.  The rule across Mandate's API is that detail goes
 * with the call that failed: constructors fill an err buffer, results
 * carry their own detail, and mdt_store_errmsg reports the last failure
 * of the calling thread on this handle.  A failure inside the writer is
 * kept for the thread that queued the op being run; a failure of the
 * writer's own (a commit or a sync that failed) concerns every call of
 * its batch and is kept for all, reported to a thread when it is newer
 * than that thread's own.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "backend.h"

/* Threads with a remembered failure; the least recent is reused. */
#define ERR_SLOTS 16

struct errslot {
	pthread_t tid;
	uint64_t stamp;        /* 0: unused */
	char msg[MDT_ERRMSG_MAX];
};

struct mdt__errs {
	pthread_mutex_t mu;
	uint64_t clock;
	struct errslot slot[ERR_SLOTS];
	struct errslot all;    /* the writer's own failures */
	pthread_t writer;
	int writer_known;
	pthread_t owner;       /* the thread whose op the writer runs */
	int owner_set;
};

int
mdt__store_errs_new(mdt_store *s)
{
	struct mdt__errs *e = mdt__calloc(1, sizeof(*e));

	if (e == NULL)
		return -1;
	if (pthread_mutex_init(&e->mu, NULL) != 0) {
		mdt__free(e);
		return -1;
	}
	s->errs = e;
	return 0;
}

void
mdt__store_errs_free(mdt_store *s)
{
	if (s->errs == NULL)
		return;
	pthread_mutex_destroy(&s->errs->mu);
	mdt__free(s->errs);
	s->errs = NULL;
}

void
mdt__store_err_op(mdt_store *s, const mdt__op *op)
{
	struct mdt__errs *e = s->errs;

	pthread_mutex_lock(&e->mu);
	e->writer = pthread_self();
	e->writer_known = 1;
	e->owner_set = op != NULL;
	if (op != NULL)
		e->owner = op->owner;
	pthread_mutex_unlock(&e->mu);
}

/* The slot for tid: its own, else an unused or the least recent one. */
static struct errslot *
slot_for(struct mdt__errs *e, pthread_t tid, int claim)
{
	struct errslot *old = &e->slot[0];

	for (size_t i = 0; i < ERR_SLOTS; i++) {
		struct errslot *sl = &e->slot[i];
		if (sl->stamp != 0 && pthread_equal(sl->tid, tid))
			return sl;
		if (sl->stamp < old->stamp)
			old = sl;
	}
	if (!claim)
		return NULL;
	old->tid = tid;
	return old;
}

/* Where a failure recorded by the calling thread now belongs (e->mu). */
static struct errslot *
target(struct mdt__errs *e)
{
	pthread_t self = pthread_self();

	if (e->writer_known && pthread_equal(self, e->writer))
		return e->owner_set ? slot_for(e, e->owner, 1) : &e->all;
	return slot_for(e, self, 1);
}

void
mdt__store_seterr(mdt_store *s, const char *fmt, ...)
{
	struct mdt__errs *e = s->errs;
	struct errslot *sl;
	va_list ap;

	pthread_mutex_lock(&e->mu);
	sl = target(e);
	va_start(ap, fmt);
	vsnprintf(sl->msg, sizeof(sl->msg), fmt, ap);
	va_end(ap);
	sl->stamp = ++e->clock;
	pthread_mutex_unlock(&e->mu);
}

const char *
mdt_store_errmsg(mdt_store *store, char *buf, size_t buflen)
{
	const struct errslot *own, *pick;
	struct mdt__errs *e;

	if (buf == NULL || buflen == 0)
		return buf;
	buf[0] = '\0';
	if (store == NULL || store->errs == NULL)
		return buf;
	e = store->errs;
	pthread_mutex_lock(&e->mu);
	own = slot_for(e, pthread_self(), 0);
	pick = own != NULL && own->stamp > e->all.stamp ? own : &e->all;
	if (pick->stamp != 0)
		snprintf(buf, buflen, "%s", pick->msg);
	pthread_mutex_unlock(&e->mu);
	return buf;
}
