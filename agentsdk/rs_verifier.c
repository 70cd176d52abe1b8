/*
 * The resource-server verifier: offline acceptance of sealed single-action
 * tokens with proof of possession, a revocation set fed by the broker's
 * PUB socket (or by hand) and a single-use set of accepted tokens and
 * proof nonces.  Every failure is a deny with a reason; when a revocation
 * or a use cannot be recorded the verifier refuses everything (fail
 * closed) rather than risk accepting a revoked or replayed token.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sdk_int.h"

#define RS_REVOKED_CAP 65536
#define RS_USED_CAP 65536
#define RS_REVOKED_TTL (24 * 3600) /* far beyond any token lifetime */
#define RS_CACHE_CAP 4096
#define RS_HEADS_CAP 1024  /* verified receipt heads (one per batch) */
#define RS_SKEW_DEFAULT 30

struct mdt_rs_verifier {
	mdt_pubkey roots[MDT_TOKEN_ROOTS_MAX]; /* guarded by mu */
	uint8_t root_ids[MDT_TOKEN_ROOTS_MAX][MDT_KEY_ID_BYTES]; /* theirs */
	size_t nroots;
	char audience[MDT_AGENT_ID_MAX];
	int64_t skew;
	mdt_token_cache *cache;
	mdt_receipt_cache *rcache; /* receipt heads already verified */
	atomic_uint_fast64_t nrevocations;
	atomic_int_fast64_t epoch; /* single-action tokens before it: refused */
	int64_t since;             /* start: its single-use memory begins */
	pthread_mutex_t mu; /* guards everything below */
	sdk_idset *revoked;
	sdk_idset *used;
	int degraded;
	int subscribed;
	nng_socket sock;
	pthread_t thread;
};

/* Records one revoked id; on failure the verifier fails closed. */
static int
rs_revoke_locked(mdt_rs_verifier *v, const char *id, int64_t now)
{
	int rv = sdk_idset_add(v->revoked, id, strlen(id),
	    now + RS_REVOKED_TTL, now);

	if (rv == -MDT_EEXIST)
		return 0;
	if (rv != 0) {
		v->degraded = 1;
		return rv;
	}
	atomic_fetch_add(&v->nrevocations, 1);
	return 0;
}

static void
rs_apply_event(mdt_rs_verifier *v, const mdt_event *ev)
{
	int64_t now = sdk_now();

	if (ev->kind == MDT_EVENT_EPOCH)
		mdt_rs_verifier_set_epoch(v, ev->time);
	if (ev->kind != MDT_EVENT_REVOKED)
		return;
	pthread_mutex_lock(&v->mu);
	for (size_t i = 0; i < ev->nids; i++)
		(void)rs_revoke_locked(v, ev->ids[i], now);
	pthread_mutex_unlock(&v->mu);
}

/* Subscription thread: runs until the socket is closed. */
static void *
rs_subscriber(void *arg)
{
	mdt_rs_verifier *v = arg;
	sdk_event_buf buf;
	mdt_event ev;

	memset(&buf, 0, sizeof(buf));
	for (;;) {
		nng_msg *msg;
		int rv = nng_recvmsg(v->sock, &msg, 0);

		if (rv == NNG_ECLOSED)
			break;
		if (rv != 0)
			continue;
		rv = sdk_event_decode(nng_msg_body(msg), nng_msg_len(msg),
		    &buf, &ev);
		nng_msg_free(msg);
		if (rv == 0)
			rs_apply_event(v, &ev);
	}
	sdk_event_buf_clear(&buf);
	return NULL;
}

static int
rs_subscribe(mdt_rs_verifier *v, const char *url, char *err, size_t errlen)
{
	int rv;

	if ((rv = sdk_sub_dial(&v->sock, url, err, errlen)) != 0)
		return rv;
	if (pthread_create(&v->thread, NULL, rs_subscriber, v) != 0) {
		nng_close(v->sock);
		return sdk_err(err, errlen, -MDT_ENOMEM,
		    "cannot start the subscription thread");
	}
	v->subscribed = 1;
	return 0;
}

static int
rs_alloc(mdt_rs_verifier *v)
{
	if (sdk_idset_new(RS_REVOKED_CAP, &v->revoked) != 0 ||
	    sdk_idset_new(RS_USED_CAP, &v->used) != 0 ||
	    mdt_token_cache_new(RS_CACHE_CAP, &v->cache) != 0 ||
	    mdt_receipt_cache_new(RS_HEADS_CAP, &v->rcache) != 0)
		return -MDT_ENOMEM;
	return 0;
}

/*
 * Waits for the next whole second and returns it.  The set of used tokens
 * lives in memory, so a new verifier cannot know which tokens its
 * predecessor accepted: it refuses every single-action token issued
 * before it started.  Token times are whole seconds, so it starts on a
 * second's boundary: every token issued before is refused, and every one
 * issued from then on is not.
 */
static int64_t
rs_next_second(void)
{
	struct timespec now, wait;

	clock_gettime(CLOCK_REALTIME, &now);
	wait.tv_sec = 0;
	wait.tv_nsec = 1000000000L - now.tv_nsec;
	while (nanosleep(&wait, &wait) != 0)
		;
	return (int64_t)now.tv_sec + 1;
}

int
mdt_rs_verifier_new(const mdt_rs_verifier_opts *opts, mdt_rs_verifier **out,
    char *err, size_t errlen)
{
	mdt_rs_verifier *v;
	int rv;

	if (opts == NULL || out == NULL || opts->broker_key == NULL ||
	    opts->audience == NULL || opts->audience[0] == '\0')
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "verifier options: broker_key and audience are required");
	if ((rv = SDK_OPTS_CHECK(opts, "verifier options", err, errlen)) != 0)
		return rv;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -MDT_ENOMEM;
	v->roots[0] = *opts->broker_key;
	mdt_key_id(&v->roots[0], v->root_ids[0]);
	v->nroots = 1;
	v->since = rs_next_second();
	v->skew = opts->max_skew_s ? opts->max_skew_s : RS_SKEW_DEFAULT;
	pthread_mutex_init(&v->mu, NULL);
	if ((rv = sdk_strcpy(v->audience, sizeof(v->audience),
	    opts->audience)) != 0) {
		sdk_err(err, errlen, rv, "audience longer than %d bytes",
		    MDT_AGENT_ID_MAX - 1);
		goto fail;
	}
	if ((rv = rs_alloc(v)) != 0)
		goto fail;
	if (opts->events_url != NULL &&
	    (rv = rs_subscribe(v, opts->events_url, err, errlen)) != 0)
		goto fail;
	*out = v;
	return 0;
fail:
	mdt_rs_verifier_free(v);
	return rv;
}

int
mdt_rs_verifier_set_roots(mdt_rs_verifier *v, const mdt_pubkey *roots,
    size_t n)
{
	if (v == NULL || roots == NULL || n == 0 || n > MDT_TOKEN_ROOTS_MAX)
		return -MDT_EINVAL;
	pthread_mutex_lock(&v->mu);
	memcpy(v->roots, roots, n * sizeof(*roots));
	for (size_t i = 0; i < n; i++)
		mdt_key_id(&roots[i], v->root_ids[i]);
	v->nroots = n;
	pthread_mutex_unlock(&v->mu);
	return 0;
}

void
mdt_rs_verifier_free(mdt_rs_verifier *v)
{
	if (v == NULL)
		return;
	if (v->subscribed) {
		nng_close(v->sock);
		pthread_join(v->thread, NULL);
	}
	sdk_idset_free(v->revoked);
	sdk_idset_free(v->used);
	mdt_token_cache_free(v->cache);
	mdt_receipt_cache_free(v->rcache);
	pthread_mutex_destroy(&v->mu);
	free(v);
}

int
mdt_rs_verifier_revoke(mdt_rs_verifier *v, const char *id)
{
	int rv;

	if (v == NULL || id == NULL || id[0] == '\0')
		return -MDT_EINVAL;
	pthread_mutex_lock(&v->mu);
	rv = rs_revoke_locked(v, id, sdk_now());
	pthread_mutex_unlock(&v->mu);
	return rv;
}

int
mdt_rs_verifier_is_revoked(mdt_rs_verifier *v, const char *id)
{
	int r;

	if (v == NULL || id == NULL)
		return 0;
	pthread_mutex_lock(&v->mu);
	r = sdk_idset_has(v->revoked, id, strlen(id), sdk_now());
	pthread_mutex_unlock(&v->mu);
	return r;
}

uint64_t
mdt_rs_verifier_revocations(const mdt_rs_verifier *v)
{
	return (uint64_t)atomic_load(&v->nrevocations);
}

void
mdt_rs_verifier_set_epoch(mdt_rs_verifier *v, int64_t epoch)
{
	int_fast64_t cur = atomic_load(&v->epoch);

	while (epoch > cur && !atomic_compare_exchange_weak(&v->epoch, &cur,
	    epoch))
		;
}

int64_t
mdt_rs_verifier_epoch(const mdt_rs_verifier *v)
{
	return (int64_t)atomic_load(&v->epoch);
}

/* The single-action block (the last) was issued under the rules of the
 * policy epoch in force, or it is refused: a reload that changed the
 * rules ends every grant decided before it (check, then use). */
static int
rs_epoch_check(mdt_rs_verifier *v, const mdt_token *tok, char *err,
    size_t errlen)
{
	mdt_token_block_view b;
	size_t n = mdt_token_block_count(tok);
	int64_t epoch = (int64_t)atomic_load(&v->epoch);

	if (n == 0 || mdt_token_block(tok, n - 1, &b) != 0)
		return sdk_err(err, errlen, -MDT_EDECODE, "token has no blocks");
	if (b.issued_at < epoch)
		return sdk_err(err, errlen, -MDT_EREVOKED, "single-action token "
		    "issued at %lld, before the policy epoch %lld (the broker's "
		    "rules changed since): ask again", (long long)b.issued_at,
		    (long long)epoch);
	/* the set of used tokens lives in memory: a token issued before
	 * this verifier started may have been used at its predecessor */
	if (b.issued_at < v->since)
		return sdk_err(err, errlen, -MDT_EREVOKED, "single-action token "
		    "issued at %lld, before this verifier started (%lld), which "
		    "cannot know whether it was used already: ask again",
		    (long long)b.issued_at, (long long)v->since);
	return 0;
}

/* Revocation and single-use checks, then records the use. */
static int
rs_state_check(mdt_rs_verifier *v, const mdt_token *tok, const char *nonce,
    int64_t now, char *err, size_t errlen)
{
	char tid[MDT_TOKEN_ID_TEXT_BYTES], nkey[SDK_NONCE_MAX + 2];
	const char *task;
	int rv = 0;

	mdt_token_id_text(tok, tid);
	snprintf(nkey, sizeof(nkey), "n:%s", nonce);
	pthread_mutex_lock(&v->mu);
	if (v->degraded) {
		rv = sdk_err(err, errlen, -MDT_EBUSY,
		    "verifier could not record a revocation: refusing all");
		goto out;
	}
	/* Revocations are kept by wall-clock time, whatever `now` says. */
	for (size_t i = 0; (task = mdt_token_task_chain(tok, i)) != NULL; i++)
		if (sdk_idset_has(v->revoked, task, strlen(task), sdk_now())) {
			rv = sdk_err(err, errlen, -MDT_EREVOKED,
			    "task %s on the token's chain is revoked", task);
			goto out;
		}
	if (sdk_idset_has(v->used, tid, strlen(tid), now) ||
	    sdk_idset_has(v->used, nkey, strlen(nkey), now)) {
		rv = sdk_err(err, errlen, -MDT_EEXIST,
		    "single-action token %.16s... or its proof was already used",
		    tid);
		goto out;
	}
	if (sdk_idset_add(v->used, tid, strlen(tid),
	    mdt_token_expires_at(tok) + v->skew, now) != 0 ||
	    sdk_idset_add(v->used, nkey, strlen(nkey), now + 2 * v->skew,
	    now) != 0)
		rv = sdk_err(err, errlen, -MDT_EBUSY,
		    "single-use set full: refusing until entries expire");
out:
	pthread_mutex_unlock(&v->mu);
	return rv;
}

static void
rs_fill_grant(const mdt_token *tok, mdt_rs_grant *g)
{
	char tid[MDT_TOKEN_ID_TEXT_BYTES];

	memset(g, 0, sizeof(*g));
	mdt_token_id_text(tok, tid);
	/* Token strings are bounded by MDT_TOKEN_STR_MAX < the fields. */
	(void)sdk_strcpy(g->task_id, sizeof(g->task_id), mdt_token_task_id(tok));
	(void)sdk_strcpy(g->token_id, sizeof(g->token_id), tid);
	(void)sdk_strcpy(g->holder, sizeof(g->holder), mdt_token_holder_id(tok));
	(void)sdk_strcpy(g->clinician, sizeof(g->clinician),
	    mdt_token_clinician(tok));
	(void)sdk_strcpy(g->patient, sizeof(g->patient), mdt_token_patient(tok));
	(void)sdk_strcpy(g->purpose, sizeof(g->purpose), mdt_token_purpose(tok));
	g->expiry = mdt_token_expires_at(tok);
}

/* Stateless checks: chain, single action, audience, expiry, proof. */
static int
rs_token_check(mdt_rs_verifier *v, const mdt_token *tok, mdt_token_pop *pop,
    const mdt_rs_request *req, int64_t now, char *err, size_t errlen)
{
	mdt_token_check_params p;
	mdt_token_reason why;
	int rv;

	pop->audience = v->audience;
	pop->action = req->action;
	pop->resource = req->resource;
	memset(&p, 0, sizeof(p));
	p.action = req->action;
	p.resource = req->resource;
	p.patient = req->patient;
	p.now = now;
	p.audience = v->audience;
	p.pop = pop;
	p.pop_max_age = v->skew;
	p.flags = MDT_TOKEN_CHECK_SINGLE_ACTION;
	if ((rv = mdt_token_check(tok, &p, &why)) != 0)
		return sdk_err(err, errlen, rv, "%s", why.message);
	return 0;
}

/*
 * Opens the token (text form) with the receipt (text form) in place of
 * its block signatures (mdt_token_verify_receipt): the head must be
 * signed by one of roots, the one its key id names, and its tree must
 * hold this token's id.  A head verified before (v->rcache) costs no
 * signature check, so the tokens of one batch share one.
 */
static int
rs_open_receipt(mdt_rs_verifier *v, const char *token, const char *text,
    const mdt_pubkey *roots, uint8_t (*ids)[MDT_KEY_ID_BYTES], size_t n,
    mdt_token **out, char *err, size_t errlen)
{
	mdt_receipt_reason rwhy = MDT_RECEIPT_MALFORMED;
	mdt_token_reason why;
	mdt_receipt r;
	mdt_token *tok = NULL;
	const mdt_pubkey *root = NULL;
	int rv;

	if ((rv = mdt_receipt_from_text(text, strlen(text), &r, &rwhy)) != 0)
		return sdk_err(err, errlen, rv, "receipt: %s",
		    mdt_receipt_reason_name(rwhy));
	for (size_t i = 0; i < n && root == NULL; i++)
		if (memcmp(ids[i], r.head.key_id, MDT_KEY_ID_BYTES) == 0)
			root = &roots[i];
	if (root == NULL)
		return sdk_err(err, errlen, -MDT_EKEY, "receipt: %s",
		    mdt_receipt_reason_name(MDT_RECEIPT_KEY));
	if ((rv = mdt_token_decode_text(token, strlen(token), &tok, &why)) !=
	    0)
		return sdk_err(err, errlen, rv, "token: %s", why.message);
	rwhy = MDT_RECEIPT_OK;
	if ((rv = mdt_token_verify_receipt(tok, root, &r, v->rcache, &why,
	    &rwhy)) != 0) {
		mdt_token_free(tok);
		return rwhy != MDT_RECEIPT_OK ? sdk_err(err, errlen, rv,
		    "receipt: %s", mdt_receipt_reason_name(rwhy)) :
		    sdk_err(err, errlen, rv, "token: %s", why.message);
	}
	*out = tok;
	return 0;
}

static int
rs_verify(mdt_rs_verifier *v, const char *token, const char *proof,
    const char *receipt, const mdt_rs_request *req, mdt_rs_grant *grant,
    char *err, size_t errlen)
{
	char nonce[SDK_NONCE_MAX];
	mdt_pubkey roots[MDT_TOKEN_ROOTS_MAX];
	uint8_t ids[MDT_TOKEN_ROOTS_MAX][MDT_KEY_ID_BYTES];
	mdt_token_reason why;
	mdt_token_pop pop;
	mdt_token *tok = NULL;
	size_t nroots;
	int64_t now;
	int rv;

	if (v == NULL || req == NULL || req->action == NULL ||
	    req->resource == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL, "missing request");
	if ((rv = SDK_OPTS_CHECK(req, "verify request", err, errlen)) != 0)
		return rv;
	if (token == NULL || proof == NULL)
		return sdk_err(err, errlen, -MDT_EAUTH,
		    "no token or no proof of possession presented");
	now = req->now ? req->now : sdk_now();
	memset(&pop, 0, sizeof(pop));
	if ((rv = sdk_pop_parse(proof, &pop, nonce, err, errlen)) != 0)
		return rv;
	pthread_mutex_lock(&v->mu);
	memcpy(roots, v->roots, sizeof(roots));
	memcpy(ids, v->root_ids, sizeof(ids));
	nroots = v->nroots;
	pthread_mutex_unlock(&v->mu);
	if (receipt != NULL) {
		if ((rv = rs_open_receipt(v, token, receipt, roots, ids, nroots,
		    &tok, err, errlen)) != 0)
			return rv;
	} else if ((rv = mdt_token_open_roots_text(token, strlen(token), roots,
	    nroots, v->cache, &tok, &why)) != 0)
		return sdk_err(err, errlen, rv, "token: %s", why.message);
	if ((rv = rs_token_check(v, tok, &pop, req, now, err, errlen)) == 0 &&
	    (rv = rs_epoch_check(v, tok, err, errlen)) == 0 &&
	    (rv = rs_state_check(v, tok, nonce, now, err, errlen)) == 0 &&
	    grant != NULL)
		rs_fill_grant(tok, grant);
	mdt_token_free(tok);
	sodium_memzero(&pop, sizeof(pop));
	return rv;
}

int
mdt_rs_verify(mdt_rs_verifier *v, const char *token, const char *proof,
    const mdt_rs_request *req, mdt_rs_grant *grant, char *err, size_t errlen)
{
	return rs_verify(v, token, proof, NULL, req, grant, err, errlen);
}

int
mdt_rs_verify_receipt(mdt_rs_verifier *v, const char *token,
    const char *proof, const char *receipt, const mdt_rs_request *req,
    mdt_rs_grant *grant, char *err, size_t errlen)
{
	if (receipt == NULL)
		return sdk_err(err, errlen, -MDT_EAUTH, "no receipt presented");
	return rs_verify(v, token, proof, receipt, req, grant, err, errlen);
}
