/*
 * The audit store handle: opening (options, key, writer and readers),
 * closing, the clock and enum names.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "alloc_int.h"
#include "backend.h"

int64_t
mdt_store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
apply_opts(mdt_store *s, const mdt_store_opts *o)
{
	static const mdt_store_opts defaults = {0};

	if (o == NULL)
		o = &defaults;
	s->checkpoint_every = o->checkpoint_every ? o->checkpoint_every : 1000;
	s->checkpoint_ms = o->checkpoint_ms ? o->checkpoint_ms : 5000;
	s->max_batch = o->max_batch ? o->max_batch : 512;
	s->nreaders = o->readers ? o->readers : 4;
	if (s->nreaders > MDT__STORE_READERS_MAX)
		s->nreaders = MDT__STORE_READERS_MAX;
	s->read_only = o->read_only != 0;
	s->head_sign = o->head_sign;
	s->head_sign_arg = o->head_sign_arg;
	if (o->seal_seed != NULL) {
		uint8_t pk[crypto_sign_PUBLICKEYBYTES];
		crypto_sign_seed_keypair(pk, s->seal_sk, o->seal_seed);
		s->have_key = 1;
	}
}

static int
init_sync(mdt_store *s)
{
	pthread_condattr_t ca;
	int rc;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&s->qwork, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return -1;
	pthread_mutex_init(&s->qmu, NULL);
	return mdt__store_errs_new(s);
}

static void
destroy(mdt_store *s)
{
	if (s->bs != NULL) {
		mdt_store_unwatch(s);
		mdt__writer_stop(s);
		s->be->readers_close(s);
		s->be->unlock(s);
		s->be->state_free(s);
	}
	mdt__tcache_free(s->tcache);
	pthread_cond_destroy(&s->qwork);
	pthread_mutex_destroy(&s->qmu);
	mdt__store_errs_free(s);
	sodium_memzero(s->seal_sk, sizeof(s->seal_sk));
	mdt__free(s->path);
	mdt__free(s);
}

int
mdt_store_open(const char *path, const mdt_store_opts *opts,
    mdt_store **out, char *err, size_t errlen)
{
	char tmp[MDT_ERRMSG_MAX];
	const struct mdt__store_backend_ops *be;
	const char *loc;
	mdt_store *s;
	int rc;

	if (err == NULL || errlen == 0) {
		err = tmp;
		errlen = sizeof(tmp);
	}
	err[0] = '\0';
	if (path == NULL || out == NULL) {
		snprintf(err, errlen, "path and out are required");
		return -MDT_EINVAL;
	}
	if ((rc = mdt__store_uri(path, &be, &loc, err, errlen)) != 0)
		return rc;
	if (sodium_init() < 0)
		return -MDT_ECRYPTO;
	if ((s = mdt__calloc(1, sizeof(*s))) == NULL)
		return -MDT_ENOMEM;
	s->be = be;
	if (init_sync(s) != 0) {
		mdt__free(s);
		return -MDT_ENOMEM;
	}
	apply_opts(s, opts);
	if ((s->path = mdt__strndup(loc, strlen(loc))) == NULL ||
	    be->state_new(s) != 0) {
		rc = -MDT_ENOMEM;
		goto fail;
	}
	/* The lock first: a second writer must not touch the store. */
	/* The task-row cache assumes this handle is the only writer: a
	 * shareable store reads task rows from the backend each time. */
	if (!s->read_only && ((rc = be->lock(s, err, errlen)) != 0 ||
	    (!be->shareable && (rc = mdt__tcache_new(&s->tcache)) != 0) ||
	    (rc = mdt__writer_start(s, err, errlen)) != 0))
		goto fail;
	if ((rc = be->readers_open(s, err, errlen)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	destroy(s);
	return rc;
}

void
mdt_store_close(mdt_store *store)
{
	if (store != NULL)
		destroy(store);
}

int
mdt_store_watch(mdt_store *store, mdt_store_event_fn fn, void *arg)
{
	if (store == NULL || fn == NULL || store->read_only)
		return -MDT_EINVAL;
	if (store->be->watch == NULL)
		return -MDT_EUNSUPPORTED;
	return store->be->watch(store, fn, arg);
}

void
mdt_store_unwatch(mdt_store *store)
{
	if (store != NULL && store->bs != NULL && store->be->unwatch != NULL)
		store->be->unwatch(store);
}

const char *
mdt_store_verdict_name(mdt_store_verdict v)
{
	static const char *const names[] = {
		[MDT_STORE_ALLOW] = "allow", [MDT_STORE_DENY] = "deny",
		[MDT_STORE_STEP_UP] = "step_up", [MDT_STORE_ERROR] = "error",
	};
	return (unsigned)v < 5 && names[v] ? names[v] : "?";
}

const char *
mdt_task_state_name(mdt_task_state st)
{
	static const char *const names[] = {
		[MDT_TASK_OPEN] = "open", [MDT_TASK_COMPLETED] = "completed",
		[MDT_TASK_CANCELLED] = "cancelled",
		[MDT_TASK_REVOKED] = "revoked",
	};
	return (unsigned)st < 5 && names[st] ? names[st] : "?";
}

const char *
mdt_approval_state_name(mdt_approval_state st)
{
	static const char *const names[] = {
		[MDT_APPROVAL_PENDING] = "pending",
		[MDT_APPROVAL_APPROVED] = "approved",
		[MDT_APPROVAL_REJECTED] = "rejected",
		[MDT_APPROVAL_EXPIRED] = "expired",
	};
	return (unsigned)st < 4 ? names[st] : "?";
}

const char *
mdt_store_issue_name(mdt_store_issue_kind k)
{
	static const char *const names[] = {
		[MDT_STORE_CHANGED] = "changed",
		[MDT_STORE_DELETED] = "deleted",
		[MDT_STORE_INSERTED] = "inserted",
		[MDT_STORE_REORDERED] = "reordered",
		[MDT_STORE_BROKEN_LINK] = "broken_link",
		[MDT_STORE_BAD_CHECKPOINT] = "bad_checkpoint",
		[MDT_STORE_MISSING_CHECKPOINT] = "missing_checkpoint",
		[MDT_STORE_TRUNCATED] = "truncated",
		[MDT_STORE_UNSIGNED_TAIL] = "unsigned_tail",
		[MDT_STORE_INDEX_MISMATCH] = "index_mismatch",
		[MDT_STORE_BAD_HEAD] = "bad_head",
	};
	return (unsigned)k < 12 && names[k] ? names[k] : "?";
}
