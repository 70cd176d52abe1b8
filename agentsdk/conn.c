/*
 * mdt_agent: one req0 connection to the broker, its challenge-response
 * authentication (Ed25519 key or X.509-SVID) and the request/reply engine
 * every operation uses.
 *
 * Each request runs on its own nng context, so any number of threads can
 * share a connection.  The broker binds a session to a pipe; when the
 * pipe is lost (broker restart, network drop) nng re-dials and resends
 * in-flight requests on the new pipe, the broker answers them
 * "auth.required", and sdk_call re-authenticates once (other threads wait
 * for it) and resends with the same request id, which the broker's
 * idempotency makes safe.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <mandate/spiffe.h>
#include <mandate/svid.h>

#include "sdk_int.h"

#include <nng/protocol/reqrep0/req.h>

#define CONN_TIMEOUT_DEFAULT 10000
#define CONN_RETRY_DEFAULT 100
#define CONN_RESEND_MS 120000 /* beyond the longest long poll */
#define CONN_AIO_MAX 4096     /* concurrent requests on one connection */

static int
conn_key_copy(mdt_agent *a, const mdt_keypair *key)
{
	uint8_t seed[MDT_KEY_SEED_BYTES];
	int rv;

	mdt_keypair_seed(key, seed);
	rv = mdt_keypair_from_seed(seed, &a->key);
	sodium_memzero(seed, sizeof(seed));
	return rv;
}

/* The SVID files, read once here so that a bad file fails the connect;
 * the SPIFFE id comes from the SVID unless opts name one. */
static int
conn_svid(mdt_agent *a, const mdt_agent_opts *o,
    const mdt_agent_svid_opts *svid, char *err, size_t errlen)
{
	mdt_svid *s = NULL;
	int rv;

	if (svid->cert_file == NULL || svid->key_file == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "svid options: cert_file and key_file are required");
	if (sdk_strcpy(a->svid_cert, sizeof(a->svid_cert),
	    svid->cert_file) != 0 || sdk_strcpy(a->svid_key,
	    sizeof(a->svid_key), svid->key_file) != 0)
		return sdk_err(err, errlen, -MDT_ETOOBIG,
		    "svid options: path too long");
	if ((rv = mdt_svid_load(a->svid_cert, a->svid_key, &s, err,
	    errlen)) != 0)
		return rv;
	if (o->spiffe_id == NULL)
		rv = sdk_strcpy(a->spiffe_id, sizeof(a->spiffe_id),
		    mdt_svid_spiffe_id(s));
	else if (strcmp(o->spiffe_id, mdt_svid_spiffe_id(s)) != 0)
		rv = sdk_err(err, errlen, -MDT_EAUTH, "the SVID names %s, not "
		    "%s", mdt_svid_spiffe_id(s), o->spiffe_id);
	mdt_svid_free(s);
	return rv;
}

static int
conn_opts(mdt_agent *a, const mdt_agent_opts *o,
    const mdt_agent_svid_opts *svid, char *err, size_t errlen)
{
	uint8_t r[8];
	int rv;

	if (o == NULL || (svid == NULL &&
	    (o->spiffe_id == NULL || o->key == NULL)))
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "agent options: url, spiffe_id and key are required");
	if ((rv = SDK_OPTS_CHECK(o, "agent options", err, errlen)) != 0 ||
	    (svid != NULL && (rv = SDK_OPTS_CHECK(svid, "svid options", err,
	    errlen)) != 0) || (rv = sdk_addrs_parse(a, o, err, errlen)) != 0)
		return rv;
	/* the broker refuses an invalid id; say why before connecting */
	if (o->spiffe_id != NULL &&
	    (rv = sdk_check_agent_id("agent options: spiffe_id", o->spiffe_id,
	    err, errlen)) != 0)
		return rv;
	if (o->spiffe_id != NULL && sdk_strcpy(a->spiffe_id,
	    sizeof(a->spiffe_id), o->spiffe_id) != 0)
		return sdk_err(err, errlen, -MDT_ETOOBIG,
		    "agent options: spiffe_id too long");
	a->timeout_ms = o->timeout_ms ? o->timeout_ms : CONN_TIMEOUT_DEFAULT;
	a->retry_ms = o->retry_ms ? o->retry_ms : CONN_RETRY_DEFAULT;
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(a->id_prefix, sizeof(a->id_prefix), r, sizeof(r));
	if (svid != NULL && (rv = conn_svid(a, o, svid, err, errlen)) != 0)
		return rv;
	return o->key != NULL ? conn_key_copy(a, o->key) : 0;
}

static int
conn_dial(mdt_agent *a, char *err, size_t errlen)
{
	int rv;

	if ((rv = nng_req0_open(&a->sock)) != 0)
		return sdk_err(err, errlen, -MDT_ETRANSPORT, "req0 open: %s",
		    nng_strerror(rv));
	a->sock_open = 1;
	if ((rv = nng_socket_set_ms(a->sock, NNG_OPT_REQ_RESENDTIME,
	    CONN_RESEND_MS)) != 0 ||
	    (rv = nng_socket_set_ms(a->sock, NNG_OPT_RECONNMINT,
	    (nng_duration)a->retry_ms)) != 0 ||
	    (rv = nng_socket_set_ms(a->sock, NNG_OPT_RECONNMAXT,
	    (nng_duration)a->retry_ms * 10)) != 0 ||
	    (rv = nng_socket_set_size(a->sock, NNG_OPT_RECVMAXSZ,
	    SDK_MSG_MAX)) != 0)
		return sdk_err(err, errlen, -MDT_ETRANSPORT, "%s: %s",
		    sdk_addr(a), nng_strerror(rv));
	return sdk_addrs_start(a, err, errlen);
}

static int
connect_with(const mdt_agent_opts *opts, const mdt_agent_svid_opts *svid,
    mdt_agent **out, char *err, size_t errlen)
{
	mdt_agent *a;
	int rv;

	if (out == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL, "out is NULL");
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -MDT_ENOMEM;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if ((rv = conn_opts(a, opts, svid, err, errlen)) != 0 ||
	    (rv = conn_dial(a, err, errlen)) != 0 ||
	    (rv = sdk_authenticate(a, 0, err, errlen)) != 0) {
		mdt_agent_close(a);
		return rv;
	}
	*out = a;
	return 0;
}

int
mdt_agent_connect(const mdt_agent_opts *opts, mdt_agent **out, char *err,
    size_t errlen)
{
	return connect_with(opts, NULL, out, err, errlen);
}

int
mdt_agent_connect_svid(const mdt_agent_opts *opts,
    const mdt_agent_svid_opts *svid, mdt_agent **out, char *err,
    size_t errlen)
{
	if (svid == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL, "svid options are "
		    "required");
	return connect_with(opts, svid, out, err, errlen);
}

void
mdt_agent_close(mdt_agent *a)
{
	if (a == NULL)
		return;
	mdt_agent_stop(a);
	sdk_addrs_stop(a);
	if (a->sock_open)
		nng_close(a->sock);
	sdk_mailbox_clear(a);
	mdt_keypair_free(a->key);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a->aios);
	free(a);
}

const char *
mdt_agent_spiffe_id(const mdt_agent *a)
{
	return a->spiffe_id;
}

uint64_t
mdt_agent_reconnects(const mdt_agent *a)
{
	return (uint64_t)atomic_load(&a->reauths);
}

void
mdt_agent_stop(mdt_agent *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopping = 1;
	for (size_t i = 0; i < a->naios; i++)
		nng_aio_cancel(a->aios[i]);
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* ---- in-flight aios, so mdt_agent_stop can wake every waiter ---- */

static int
aio_track(mdt_agent *a, nng_aio *aio)
{
	int rv = 0;

	pthread_mutex_lock(&a->mu);
	if (a->stopping) {
		rv = -MDT_ECLOSED;
	} else if (a->naios == a->caios) {
		size_t n = a->caios ? a->caios * 2 : 16;
		nng_aio **p = n <= CONN_AIO_MAX ?
		    realloc(a->aios, n * sizeof(*p)) : NULL;
		if (p == NULL) {
			rv = -MDT_EBUSY;
		} else {
			a->aios = p;
			a->caios = n;
		}
	}
	if (rv == 0)
		a->aios[a->naios++] = aio;
	pthread_mutex_unlock(&a->mu);
	return rv;
}

static void
aio_untrack(mdt_agent *a, nng_aio *aio)
{
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->naios; i++)
		if (a->aios[i] == aio) {
			a->aios[i] = a->aios[--a->naios];
			break;
		}
	pthread_mutex_unlock(&a->mu);
}

/* ---- one exchange on a fresh context ---- */

static int
nng_to_mdt(int rv)
{
	switch (rv) {
	case 0:
		return 0;
	case NNG_ETIMEDOUT:
		return -MDT_ETIMEDOUT;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return -MDT_ECLOSED;
	case NNG_ENOMEM:
		return -MDT_ENOMEM;
	default:
		return -MDT_ETRANSPORT;
	}
}

static int
exchange_io(nng_ctx ctx, nng_aio *aio, const uint8_t *buf, size_t len,
    uint32_t wait_ms, nng_msg **reply)
{
	nng_msg *msg;
	int rv;

	if ((rv = nng_msg_alloc(&msg, 0)) != 0 ||
	    (rv = nng_msg_append(msg, buf, len)) != 0)
		return nng_to_mdt(rv);
	nng_aio_set_msg(aio, msg);
	nng_aio_set_timeout(aio, (nng_duration)wait_ms);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(aio));
		return nng_to_mdt(rv);
	}
	nng_aio_set_timeout(aio, (nng_duration)wait_ms);
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0)
		return nng_to_mdt(rv);
	*reply = nng_aio_get_msg(aio);
	return 0;
}

/* Sends buf and waits up to wait_ms for the reply; decodes it. */
static int
exchange(mdt_agent *a, const uint8_t *buf, size_t len, uint32_t wait_ms,
    mdt_wire_msg **out, char *err, size_t errlen)
{
	nng_msg *reply = NULL;
	nng_aio *aio;
	nng_ctx ctx;
	int rv;

	if ((rv = nng_ctx_open(&ctx, a->sock)) != 0)
		return sdk_err(err, errlen, nng_to_mdt(rv), "context: %s",
		    nng_strerror(rv));
	if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		nng_ctx_close(ctx);
		return -MDT_ENOMEM;
	}
	if ((rv = aio_track(a, aio)) == 0) {
		rv = exchange_io(ctx, aio, buf, len, wait_ms, &reply);
		aio_untrack(a, aio);
	}
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	if (rv != 0)
		return sdk_err(err, errlen, rv, "broker %s: %s", sdk_addr(a),
		    rv == -MDT_ETIMEDOUT ? "no reply in time" : mdt_strerror(rv));
	rv = mdt_wire_decode(nng_msg_body(reply), nng_msg_len(reply), out,
	    err, errlen);
	/* a reply carries task tokens and their secrets; *out holds its own
	 * copy, wiped by mdt_wire_msg_free */
	sodium_memzero(nng_msg_body(reply), nng_msg_len(reply));
	nng_msg_free(reply);
	return rv;
}

/* ---- authentication ---- */

static int
auth_hello(mdt_agent *a, uint32_t wait_ms, uint8_t *chal, size_t *chal_len,
    char *err, size_t errlen)
{
	sdk_req r;
	const uint8_t *p;
	size_t n;
	int rv;

	if ((rv = sdk_req_begin(a, MDT_OP_HELLO, &r)) != 0 ||
	    (rv = mdt_wire_put_cstr(r.w, "agent", a->spiffe_id)) != 0 ||
	    (rv = sdk_req_send(a, &r, wait_ms, err, errlen)) != 0)
		goto out;
	if ((rv = sdk_reply_status(r.reply, err, errlen)) != 0 ||
	    (rv = mdt_wire_get_bin(mdt_wire_msg_root(r.reply), "challenge",
	    MDT_WIRE_CHALLENGE_MAX, &p, &n, err, errlen)) != 0)
		goto out;
	memcpy(chal, p, n);
	*chal_len = n;
out:
	sdk_req_end(&r);
	return rv;
}

/* Sends auth with the signature (and the SVID chain, n > 0). */
static int
auth_send(mdt_agent *a, uint32_t wait_ms, const mdt_svid_cert *chain,
    size_t n, const uint8_t *sig, size_t siglen, char *err, size_t errlen)
{
	sdk_req r;
	int rv;

	if ((rv = sdk_req_begin(a, MDT_OP_AUTH, &r)) == 0 &&
	    (rv = mdt_wire_put_cstr(r.w, "agent", a->spiffe_id)) == 0 &&
	    n > 0 && (rv = mdt_wire_begin_array(r.w, "svid", n)) == 0) {
		for (size_t i = 0; rv == 0 && i < n; i++)
			rv = mdt_wire_put_bin(r.w, NULL, chain[i].der,
			    chain[i].len);
		if (rv == 0)
			rv = mdt_wire_end(r.w);
	}
	if (rv == 0 && (rv = mdt_wire_put_bin(r.w, "sig", sig, siglen)) == 0 &&
	    (rv = sdk_req_send(a, &r, wait_ms, err, errlen)) == 0)
		rv = sdk_reply_status(r.reply, err, errlen);
	sdk_req_end(&r);
	return rv;
}

/* Reads the SVID files again (they may have been rotated) and signs. */
static int
auth_answer_svid(mdt_agent *a, uint32_t wait_ms, const uint8_t *chal,
    size_t n, char *err, size_t errlen)
{
	uint8_t msg[sizeof(MDT_WIRE_AUTH_DOMAIN) + MDT_WIRE_CHALLENGE_MAX];
	uint8_t sig[MDT_SVID_SIG_MAX];
	size_t mlen = 0, siglen = 0, nc = 0;
	const mdt_svid_cert *chain;
	mdt_svid *s = NULL;
	int rv;

	if ((rv = mdt_svid_load(a->svid_cert, a->svid_key, &s, err,
	    errlen)) != 0)
		return rv;
	if (strcmp(mdt_svid_spiffe_id(s), a->spiffe_id) != 0)
		rv = sdk_err(err, errlen, -MDT_EAUTH, "the SVID now names %s, "
		    "not %s", mdt_svid_spiffe_id(s), a->spiffe_id);
	else if ((rv = mdt_wire_auth_message(chal, n, msg, sizeof(msg),
	    &mlen)) != 0 || (rv = mdt_svid_sign(s, msg, mlen, sig,
	    sizeof(sig), &siglen)) != 0)
		rv = sdk_err(err, errlen, rv, "signing the challenge with the "
		    "SVID key");
	chain = mdt_svid_chain(s, &nc);
	if (rv == 0)
		rv = auth_send(a, wait_ms, chain, nc, sig, siglen, err, errlen);
	mdt_svid_free(s);
	return rv;
}

static int
auth_answer(mdt_agent *a, uint32_t wait_ms, const uint8_t *chal, size_t n,
    char *err, size_t errlen)
{
	uint8_t sig[MDT_KEY_SIG_BYTES];
	int rv;

	if (a->svid_cert[0] != 0)
		return auth_answer_svid(a, wait_ms, chal, n, err, errlen);
	if ((rv = mdt_key_sign(a->key, MDT_WIRE_AUTH_DOMAIN, chal, n, sig)) != 0)
		return sdk_err(err, errlen, rv, "signing the challenge");
	return auth_send(a, wait_ms, NULL, 0, sig, sizeof(sig), err, errlen);
}

static int
auth_once(mdt_agent *a, uint32_t wait_ms, char *err, size_t errlen)
{
	uint8_t chal[MDT_WIRE_CHALLENGE_MAX];
	size_t n = 0;
	int rv;

	if ((rv = auth_hello(a, wait_ms, chal, &n, err, errlen)) != 0)
		return rv;
	return auth_answer(a, wait_ms, chal, n, err, errlen);
}

/*
 * Authenticates unless another thread already did since generation
 * `seen` (then returns at once).  One thread authenticates at a time.
 */
int
sdk_authenticate(mdt_agent *a, uint64_t seen, char *err, size_t errlen)
{
	int rv;

	pthread_mutex_lock(&a->mu);
	while (a->authing && !a->stopping)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->stopping || a->gen != seen) {
		rv = a->stopping ? -MDT_ECLOSED : 0;
		pthread_mutex_unlock(&a->mu);
		return rv;
	}
	a->authing = 1;
	pthread_mutex_unlock(&a->mu);
	rv = auth_once(a, a->timeout_ms, err, errlen);
	pthread_mutex_lock(&a->mu);
	a->authing = 0;
	if (rv == 0) {
		if (a->gen > 0)
			atomic_fetch_add(&a->reauths, 1);
		a->gen++;
	}
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return rv;
}

static uint64_t
conn_gen(mdt_agent *a)
{
	uint64_t g;

	pthread_mutex_lock(&a->mu);
	g = a->gen;
	pthread_mutex_unlock(&a->mu);
	return g;
}

/* ---- requests ---- */

int
sdk_req_begin(mdt_agent *a, mdt_wire_op op, sdk_req *r)
{
	uint64_t n = atomic_fetch_add(&a->seq, 1);

	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s-%llu", a->id_prefix,
	    (unsigned long long)n);
	return mdt_wire_writer_new(&r->w, op, r->id, 0, 0);
}

void
sdk_req_end(sdk_req *r)
{
	mdt_wire_writer_free(r->w);
	mdt_wire_msg_free(r->reply);
	memset(r, 0, sizeof(*r));
}

static int
is_auth_required(const mdt_wire_msg *m)
{
	const char *reason = NULL;

	return mdt_wire_msg_ok(m) == 0 &&
	    mdt_wire_msg_error(m, &reason, NULL) == -MDT_EAUTH &&
	    reason != NULL && strcmp(reason, "auth.required") == 0;
}

int
sdk_req_send(mdt_agent *a, sdk_req *r, uint32_t wait_ms, char *err,
    size_t errlen)
{
	int rv;

	if (r->buf == NULL &&
	    (rv = mdt_wire_writer_finish(r->w, &r->buf, &r->len)) != 0)
		return sdk_err(err, errlen, rv, "encoding the request");
	rv = exchange(a, r->buf, r->len, wait_ms, &r->reply, err, errlen);
	if (rv == 0 && strcmp(mdt_wire_msg_id(r->reply), r->id) != 0)
		rv = sdk_err(err, errlen, -MDT_EPROTO,
		    "reply id %s does not match request %s",
		    mdt_wire_msg_id(r->reply), r->id);
	return rv;
}

int
sdk_call(mdt_agent *a, sdk_req *r, uint32_t extra_ms, char *err,
    size_t errlen)
{
	uint64_t deadline = sdk_clock_ms() + a->timeout_ms + extra_ms;
	int auth_failures = 0;

	for (;;) {
		uint64_t now = sdk_clock_ms(), gen = conn_gen(a);
		int rv;

		if (now >= deadline)
			return sdk_err(err, errlen, -MDT_ETIMEDOUT,
			    "broker %s: no reply in time", sdk_addr(a));
		mdt_wire_msg_free(r->reply);
		r->reply = NULL;
		rv = sdk_req_send(a, r, (uint32_t)(deadline - now), err,
		    errlen);
		if (rv != 0 || !is_auth_required(r->reply))
			return rv;
		/*
		 * New pipe (broker restart): authenticate, then resend.  A
		 * refused authentication is retried once, since the pipe may
		 * have changed again between hello and auth.
		 */
		r->resent = 1;
		rv = sdk_authenticate(a, gen, err, errlen);
		if (rv == -MDT_EAUTH && ++auth_failures > 1)
			return rv;
		if (rv != 0 && rv != -MDT_EAUTH && rv != -MDT_ETIMEDOUT &&
		    rv != -MDT_ETRANSPORT)
			return rv;
	}
}

int
sdk_reply_status(const mdt_wire_msg *m, char *err, size_t errlen)
{
	const char *reason = NULL, *detail = NULL;
	int rv;

	if (mdt_wire_msg_ok(m) == 1)
		return 0;
	rv = mdt_wire_msg_error(m, &reason, &detail);
	if (rv == 0)
		rv = -MDT_EPROTO;
	return sdk_err(err, errlen, rv, "%s: %s", reason ? reason : "error",
	    detail ? detail : mdt_strerror(rv));
}

int
sdk_decided_before(const sdk_req *r)
{
	const char *reason = NULL;

	return r->resent && r->reply != NULL && mdt_wire_msg_ok(r->reply) == 0 &&
	    mdt_wire_msg_error(r->reply, &reason, NULL) != 0 &&
	    reason != NULL && strcmp(reason, "id.reused") == 0;
}
