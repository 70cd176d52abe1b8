/*
 * Sessions: authentication bound to an nng pipe.  hello issues a
 * challenge (nonce, time, broker id, agent id) for one pipe; auth checks
 * a signature over it, either the agent's Ed25519 signature with the
 * registered key or, when svid_bundle is set, a signature by the key of
 * an X.509-SVID that chains to the trust bundle and names the agent
 * (below), and marks the pipe as that agent's until the pipe
 * closes (or the SVID expires).  A challenge is used at most once,
 * successful or not.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include <mandate/spiffe.h>
#include <mandate/svid.h>

#include "alloc_int.h"
#include "broker.h"

#define NBUCKETS 1024

struct sess {
	uint32_t pipe;
	int authed;
	char agent[BRK_ID_MAX];
	uint8_t challenge[MDT_WIRE_CHALLENGE_MAX];
	size_t clen;
	int64_t expires_ms;      /* of the challenge */
	int64_t valid_until_ms;  /* of the session; 0: until the pipe closes */
	int by_key;              /* authenticated with the registered key pk */
	mdt_pubkey pk;
	long gen;                /* registry snapshot it was last checked in */
	struct sess *next;
};

/* A loaded SVID trust bundle, shared by the authentications using it. */
struct bundle_ref {
	atomic_int refs;
	mdt_svid_bundle *bundle;
};

/* The bundle of svid_bundle as last loaded and what it came from: a new
 * setting, trust domain or file (replaced or rewritten) loads it again. */
struct svid_cache {
	pthread_mutex_t lock;
	struct bundle_ref *ref;
	char path[BRK_PATH_MAX];
	char td[MDT_SPIFFE_TRUST_DOMAIN_MAX + 1];
	struct stat st;
};

struct brk_sessions {
	pthread_mutex_t lock;
	struct sess *b[NBUCKETS];
	struct svid_cache svid;
};

static void bundle_release(struct bundle_ref *r);

int
brk_sessions_new(struct brk_sessions **out)
{
	struct brk_sessions *s = mdt__calloc(1, sizeof(*s));

	if (s == NULL)
		return -MDT_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->svid.lock, NULL);
	*out = s;
	return 0;
}

void
brk_sessions_free(struct brk_sessions *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct sess *e = s->b[i], *n; e != NULL; e = n) {
			n = e->next;
			mdt__free(e);
		}
	bundle_release(s->svid.ref);
	pthread_mutex_destroy(&s->svid.lock);
	pthread_mutex_destroy(&s->lock);
	mdt__free(s);
}

size_t
brk_sessions_count(struct brk_sessions *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct sess *e = s->b[i]; e != NULL; e = e->next)
			n += e->authed != 0;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Caller holds the lock. */
static struct sess **
slot(struct brk_sessions *s, uint32_t pipe)
{
	struct sess **p = &s->b[pipe % NBUCKETS];

	while (*p != NULL && (*p)->pipe != pipe)
		p = &(*p)->next;
	return p;
}

void
brk_session_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	brk_broker *b = arg;
	struct brk_sessions *s = b->sessions;
	struct sess **e, *dead = NULL;

	if (ev != NNG_PIPE_EV_REM_POST)
		return;
	pthread_mutex_lock(&s->lock);
	e = slot(s, nng_pipe_id(p));
	if (*e != NULL) {
		dead = *e;
		*e = dead->next;
	}
	pthread_mutex_unlock(&s->lock);
	if (dead != NULL && dead->authed)
		BLOG(b, BRK_DEBUG, "session.closed", "pipe=%u agent=%s",
		    dead->pipe, dead->agent);
	mdt__free(dead);
}

/*
 * After a reload, a session holds only while its agent is still
 * registered and, when it authenticated with a key, still registered
 * with that key: removing an agent or rotating its key ends the sessions
 * opened under the old entry, not only the next authentication.  Caller
 * holds the lock.  1 when the session still holds.
 */
static int
still_registered(brk_broker *b, struct sess *e)
{
	struct brk_snapshot *snap;
	const struct brk_agent *a;
	int ok;

	if (e->gen == atomic_load(&b->reg_gen))
		return 1;
	snap = brk_snapshot_acquire(b);
	a = brk_agent_find(snap, e->agent);
	ok = a != NULL && (!e->by_key || (a->has_key &&
	    mdt_pubkey_equal(&a->pk, &e->pk)));
	e->gen = snap->gen;
	brk_snapshot_release(snap);
	return ok;
}

void
brk_session_agent(brk_broker *b, uint32_t pipe, char *out, size_t len)
{
	struct brk_sessions *s = b->sessions;
	struct sess *e;
	int ended = 0;

	pthread_mutex_lock(&s->lock);
	e = *slot(s, pipe);
	/* a session of an expired SVID ends: the agent authenticates anew */
	if (e != NULL && e->authed && e->valid_until_ms != 0 &&
	    brk_now_ms() >= e->valid_until_ms)
		e->authed = 0;
	if (e != NULL && e->authed && !still_registered(b, e)) {
		e->authed = 0;
		ended = 1;
	}
	snprintf(out, len, "%s", e != NULL && e->authed ? e->agent : "");
	pthread_mutex_unlock(&s->lock);
	if (ended)
		BLOG(b, BRK_INFO, "session.ended", "pipe=%u why=the agent's "
		    "registration or key changed", pipe);
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static size_t
make_challenge(const char *broker, const char *agent, int64_t now_s,
    uint8_t *out)
{
	size_t bl = strlen(broker), al = strlen(agent), n = 0;

	randombytes_buf(out, MDT_WIRE_NONCE_LEN);
	n += MDT_WIRE_NONCE_LEN;
	put_be64(out + n, (uint64_t)now_s);
	n += 8;
	memcpy(out + n, broker, bl + 1);
	n += bl + 1;
	memcpy(out + n, agent, al);
	return n + al;
}

static void
drop_challenge(brk_broker *b, uint32_t pipe)
{
	struct brk_sessions *s = b->sessions;
	struct sess *e;

	pthread_mutex_lock(&s->lock);
	if ((e = *slot(s, pipe)) != NULL)
		e->clen = 0;
	pthread_mutex_unlock(&s->lock);
}

/*
 * The claimed agent id of hello and auth, checked before anything else by
 * the validator of every id the broker reads.  A refused id also ends the
 * pipe's pending challenge (a failed auth consumes it).  1 when valid;
 * else 0, and the refusal (agent.invalid) is sent.
 */
static int
agent_id_ok(struct brk_ctx *c, const char *op, const char *agent)
{
	char why[MDT_ERRMSG_MAX], shown[112];

	if (brk_agent_id_check(agent, why, sizeof(why)) == 0)
		return 1;
	drop_challenge(c->b, c->pipe);
	brk_id_display(agent, shown, sizeof(shown));
	BLOG(c->b, BRK_WARN, "auth.failed", "pipe=%u op=%s agent=%s why=%s",
	    c->pipe, op, shown, why);
	brk_reply_error(c, -MDT_EINVAL, "agent.invalid", "agent \"%s\" is "
	    "not a valid SPIFFE id: %s", shown, why);
	return 0;
}

void
brk_op_hello(struct brk_worker *w, struct brk_ctx *c)
{
	brk_broker *b = c->b;
	const struct brk_config *cfg = &c->snap->cfg;
	struct brk_sessions *s = b->sessions;
	const char *agent;
	char err[MDT_ERRMSG_MAX];
	int64_t now = brk_now_ms();
	struct sess *e;
	mdt_wire_writer *wr;

	(void)w;
	if (mdt_wire_get_str(c->root, "agent", BRK_ID_MAX - 1, &agent, err,
	    sizeof(err)) != 0) {
		brk_reply_error(c, -MDT_EPROTO, "field", "%s", err);
		return;
	}
	if (!agent_id_ok(c, "hello", agent))
		return;
	if (strlen(cfg->broker_id) + strlen(agent) + 1 + MDT_WIRE_NONCE_LEN +
	    8 > MDT_WIRE_CHALLENGE_MAX) {
		brk_reply_error(c, -MDT_ETOOBIG, "toobig", "agent id too long");
		return;
	}
	pthread_mutex_lock(&s->lock);
	e = *slot(s, c->pipe);
	if (e == NULL && (e = mdt__calloc(1, sizeof(*e))) != NULL) {
		e->pipe = c->pipe;
		e->next = s->b[c->pipe % NBUCKETS];
		s->b[c->pipe % NBUCKETS] = e;
	}
	if (e != NULL) {
		e->authed = 0; /* a new hello ends any earlier session */
		snprintf(e->agent, sizeof(e->agent), "%s", agent);
		e->clen = make_challenge(cfg->broker_id, agent, now / 1000,
		    e->challenge);
		e->expires_ms = now + cfg->auth_window * 1000;
	}
	wr = e != NULL ? brk_reply_writer(c, 1) : NULL;
	if (wr != NULL && (mdt_wire_put_bin(wr, "challenge", e->challenge,
	    e->clen) != 0 || mdt_wire_put_cstr(wr, "broker",
	    cfg->broker_id) != 0 || mdt_wire_put_int(wr, "time",
	    now / 1000) != 0 || mdt_wire_put_int(wr, "expires",
	    e->expires_ms / 1000) != 0)) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (wr == NULL) {
		brk_reply_error(c, -MDT_ENOMEM, "internal", "out of memory");
		return;
	}
	brk_reply(c, wr);
}

/* Takes the pipe's pending challenge for agent (used once). */
static int
take_challenge(brk_broker *b, uint32_t pipe, const char *agent,
    uint8_t *out, size_t *len)
{
	struct brk_sessions *s = b->sessions;
	struct sess *e;
	int rc = -MDT_EAUTH;

	pthread_mutex_lock(&s->lock);
	e = *slot(s, pipe);
	if (e != NULL && !e->authed && e->clen > 0 &&
	    strcmp(e->agent, agent) == 0 && brk_now_ms() <= e->expires_ms) {
		memcpy(out, e->challenge, e->clen);
		*len = e->clen;
		rc = 0;
	}
	if (e != NULL)
		e->clen = 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* pk: the registered key the agent signed with, NULL for an SVID; gen:
 * the registry snapshot the authentication was checked in. */
static void
mark_authed(brk_broker *b, uint32_t pipe, const char *agent,
    int64_t valid_until_ms, const mdt_pubkey *pk, long gen)
{
	struct brk_sessions *s = b->sessions;
	struct sess *e;

	pthread_mutex_lock(&s->lock);
	e = *slot(s, pipe);
	if (e != NULL && strcmp(e->agent, agent) == 0) {
		e->authed = 1;
		e->valid_until_ms = valid_until_ms;
		e->by_key = pk != NULL;
		if (pk != NULL)
			e->pk = *pk;
		e->gen = gen;
	}
	pthread_mutex_unlock(&s->lock);
}

/* The reply {agent, expires?} of a successful auth. */
static void
reply_ok(struct brk_ctx *c, const char *agent,
    int64_t expires_s)
{
	mdt_wire_writer *wr = brk_reply_writer(c, 1);

	if (wr != NULL && (mdt_wire_put_cstr(wr, "agent", agent) != 0 ||
	    (expires_s != 0 && mdt_wire_put_int(wr, "expires",
	    expires_s) != 0))) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	brk_reply(c, wr);
}

static void
no_challenge(struct brk_ctx *c, const char *agent)
{
	brk_reply_error(c, -MDT_EAUTH, "auth.failed",
	    "no valid challenge for %s on this connection (hello first; "
	    "challenges expire and are used once)", agent);
}

/* ---- X.509-SVID authentication ---- */

static void
bundle_release(struct bundle_ref *r)
{
	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
		mdt_svid_bundle_free(r->bundle);
		mdt__free(r);
	}
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The trust domain SVIDs must belong to: svid_trust_domain, else that of
 * broker_id. */
static int
svid_trust_domain(const struct brk_config *cfg, char *td, size_t len,
    char *err, size_t errlen)
{
	mdt_spiffe_id id;
	char why[MDT_ERRMSG_MAX];

	if (cfg->svid_trust_domain[0] != 0) {
		snprintf(td, len, "%s", cfg->svid_trust_domain);
		return 0;
	}
	if (mdt_spiffe_parse(cfg->broker_id, strlen(cfg->broker_id), &id, why,
	    sizeof(why)) != 0) {
		snprintf(err, errlen, "broker_id: %.200s", why);
		return -MDT_ECONFIG;
	}
	snprintf(td, len, "%.*s", (int)id.td_len, id.id + id.td_off);
	return 0;
}

int
brk_svid_check(const struct brk_config *cfg, char *err, size_t errlen)
{
	char td[MDT_SPIFFE_TRUST_DOMAIN_MAX + 1];
	mdt_svid_bundle *bundle = NULL;
	int rc;

	if (cfg->svid_bundle[0] == 0)
		return 0;
	if ((rc = svid_trust_domain(cfg, td, sizeof(td), err, errlen)) != 0 ||
	    (rc = mdt_svid_bundle_load(cfg->svid_bundle, td, &bundle, err,
	    errlen)) != 0)
		return rc;
	mdt_svid_bundle_free(bundle);
	return 0;
}

/* Loads the bundle and makes it the cache's; *out holds a reference. */
static int
bundle_reload(brk_broker *b, const char *path, const char *td,
    const struct stat *st, struct bundle_ref **out, char *err,
    size_t errlen)
{
	struct svid_cache *k = &b->sessions->svid;
	struct bundle_ref *r = mdt__calloc(1, sizeof(*r)), *old;
	int rc;

	if (r == NULL)
		return -MDT_ENOMEM;
	if ((rc = mdt_svid_bundle_load(path, td, &r->bundle, err,
	    errlen)) != 0) {
		mdt__free(r);
		return rc;
	}
	atomic_init(&r->refs, 2); /* the cache's and the caller's */
	pthread_mutex_lock(&k->lock);
	old = k->ref;
	k->ref = r;
	snprintf(k->path, sizeof(k->path), "%s", path);
	snprintf(k->td, sizeof(k->td), "%s", td);
	k->st = *st;
	pthread_mutex_unlock(&k->lock);
	bundle_release(old);
	BLOG(b, BRK_INFO, "svid.bundle", "path=%s trust_domain=%s cas=%zu",
	    path, td, mdt_svid_bundle_count(r->bundle));
	*out = r;
	return 0;
}

/* The trust bundle of cfg, loaded again when anything it came from
 * changed.  Caller releases *out with bundle_release. */
static int
bundle_get(brk_broker *b, const struct brk_config *cfg,
    struct bundle_ref **out, char *err, size_t errlen)
{
	struct svid_cache *k = &b->sessions->svid;
	char td[MDT_SPIFFE_TRUST_DOMAIN_MAX + 1];
	struct bundle_ref *r = NULL;
	struct stat st;
	int rc;

	if ((rc = svid_trust_domain(cfg, td, sizeof(td), err, errlen)) != 0)
		return rc;
	if (stat(cfg->svid_bundle, &st) != 0) {
		snprintf(err, errlen, "%.180s: %.60s", cfg->svid_bundle,
		    strerror(errno));
		return -MDT_EIO;
	}
	pthread_mutex_lock(&k->lock);
	if (k->ref != NULL && strcmp(k->path, cfg->svid_bundle) == 0 &&
	    strcmp(k->td, td) == 0 && same_file(&k->st, &st)) {
		r = k->ref;
		atomic_fetch_add(&r->refs, 1);
	}
	pthread_mutex_unlock(&k->lock);
	if (r == NULL)
		return bundle_reload(b, cfg->svid_bundle, td, &st, out, err,
		    errlen);
	*out = r;
	return 0;
}

/* The "svid" field: 1..MDT_SVID_CHAIN_MAX binary DER certificates. */
static int
read_chain(const mdt_wire_val *v, mdt_svid_cert *chain, size_t *n,
    char *err, size_t errlen)
{
	size_t count = mdt_wire_val_count(v);

	if (mdt_wire_val_type(v) != MDT_WIRE_ARRAY || count == 0) {
		snprintf(err, errlen, "field svid: expected a non-empty array "
		    "of DER certificates");
		return -MDT_EPROTO;
	}
	if (count > MDT_SVID_CHAIN_MAX) {
		snprintf(err, errlen, "field svid: %zu certificates (at most "
		    "%d)", count, MDT_SVID_CHAIN_MAX);
		return -MDT_ETOOBIG;
	}
	for (size_t i = 0; i < count; i++) {
		if (mdt_wire_val_bin(mdt_wire_array_at(v, i), &chain[i].der,
		    &chain[i].len) != 0) {
			snprintf(err, errlen, "field svid[%zu]: expected bin", i);
			return -MDT_EPROTO;
		}
		if (chain[i].len > MDT_SVID_CERT_MAX) {
			snprintf(err, errlen, "field svid[%zu]: %zu bytes (at "
			    "most %d)", i, chain[i].len, MDT_SVID_CERT_MAX);
			return -MDT_ETOOBIG;
		}
	}
	*n = count;
	return 0;
}

/* What an SVID auth presents. */
struct svid_req {
	const char *agent;
	mdt_svid_cert chain[MDT_SVID_CHAIN_MAX];
	size_t n;
	const uint8_t *sig;
	size_t siglen;
};

static int
read_svid_req(struct brk_ctx *c, const mdt_wire_val *v, struct svid_req *r)
{
	char err[MDT_ERRMSG_MAX];
	int rc;

	if ((rc = mdt_wire_get_str(c->root, "agent", BRK_ID_MAX - 1,
	    &r->agent, err, sizeof(err))) == 0 &&
	    (rc = mdt_wire_get_bin(c->root, "sig", MDT_SVID_SIG_MAX, &r->sig,
	    &r->siglen, err, sizeof(err))) == 0)
		rc = read_chain(v, r->chain, &r->n, err, sizeof(err));
	if (rc != 0)
		brk_reply_error(c, rc == -MDT_ETOOBIG ? -MDT_ETOOBIG :
		    -MDT_EPROTO, rc == -MDT_ETOOBIG ? "toobig" : "field", "%s",
		    err);
	return rc;
}

/* Refuses an SVID auth: logged with the detail, answered with it. */
static void
svid_refuse(struct brk_ctx *c, const char *agent, const char *detail)
{
	BLOG(c->b, BRK_WARN, "auth.failed", "pipe=%u agent=%s method=svid "
	    "why=%s", c->pipe, agent, detail);
	brk_reply_error(c, -MDT_EAUTH, "auth.failed", "%s", detail);
}

/*
 * The checks, in order: the chain and the signature over the challenge
 * (mdt_svid_verify_signed), the SVID's id equal to the claimed agent, the
 * agent registered.  0, or detail says which check failed.
 */
static int
svid_check(struct brk_ctx *c, const struct svid_req *r,
    const mdt_svid_bundle *bundle, const uint8_t *chal, size_t clen,
    int64_t *not_after, char *detail, size_t len)
{
	uint8_t msg[sizeof(MDT_WIRE_AUTH_DOMAIN) + MDT_WIRE_CHALLENGE_MAX];
	mdt_svid_info info;
	char err[MDT_ERRMSG_MAX];
	size_t mlen = 0;

	if (mdt_wire_auth_message(chal, clen, msg, sizeof(msg), &mlen) != 0 ||
	    mdt_svid_verify_signed(bundle, r->chain, r->n, brk_now_ms() / 1000,
	    msg, mlen, r->sig, r->siglen, &info, err, sizeof(err)) != 0) {
		snprintf(detail, len, "SVID refused: %.230s", err);
		return -1;
	}
	if (strcmp(info.id.id, r->agent) != 0) {
		snprintf(detail, len, "SVID names %.200s, not the claimed agent",
		    info.id.id);
		return -1;
	}
	if (brk_agent_find(c->snap, r->agent) == NULL) {
		snprintf(detail, len, "agent %.200s is not registered", r->agent);
		return -1;
	}
	*not_after = info.not_after;
	return 0;
}

static void
svid_auth(struct brk_ctx *c, const mdt_wire_val *v)
{
	const struct brk_config *cfg = &c->snap->cfg;
	struct svid_req r;
	struct bundle_ref *ref = NULL;
	uint8_t chal[MDT_WIRE_CHALLENGE_MAX];
	char detail[BRK_DETAIL_MAX], err[MDT_ERRMSG_MAX];
	size_t clen = 0;
	int64_t not_after = 0;
	int rc;

	if (read_svid_req(c, v, &r) != 0 || !agent_id_ok(c, "auth", r.agent))
		return;
	if (take_challenge(c->b, c->pipe, r.agent, chal, &clen) != 0) {
		no_challenge(c, r.agent);
		return;
	}
	if (cfg->svid_bundle[0] == 0) {
		brk_reply_error(c, -MDT_EUNSUPPORTED, "auth.unsupported",
		    "X.509-SVID authentication is off on this broker "
		    "(svid_bundle is not set)");
		return;
	}
	if (bundle_get(c->b, cfg, &ref, err, sizeof(err)) != 0) {
		BLOG(c->b, BRK_ERROR, "svid.bundle", "unusable: %s", err);
		svid_refuse(c, r.agent, "the broker's SVID trust bundle cannot "
		    "be loaded");
		return;
	}
	rc = svid_check(c, &r, ref->bundle, chal, clen, &not_after, detail,
	    sizeof(detail));
	bundle_release(ref);
	if (rc != 0) {
		svid_refuse(c, r.agent, detail);
		return;
	}
	mark_authed(c->b, c->pipe, r.agent, not_after * 1000, NULL,
	    c->snap->gen);
	BLOG(c->b, BRK_INFO, "auth.ok", "pipe=%u agent=%s method=svid "
	    "until=%lld", c->pipe, r.agent, (long long)not_after);
	reply_ok(c, r.agent, not_after);
}

void
brk_op_auth(struct brk_worker *w, struct brk_ctx *c)
{
	const char *agent;
	const uint8_t *sig;
	size_t siglen, clen = 0;
	uint8_t chal[MDT_WIRE_CHALLENGE_MAX];
	char err[MDT_ERRMSG_MAX];
	const struct brk_agent *a;

	(void)w;
	if (mdt_wire_map_get(c->root, "svid") != NULL) {
		svid_auth(c, mdt_wire_map_get(c->root, "svid"));
		return;
	}
	if (mdt_wire_get_str(c->root, "agent", BRK_ID_MAX - 1, &agent, err,
	    sizeof(err)) != 0 || mdt_wire_get_bin(c->root, "sig",
	    MDT_KEY_SIG_BYTES, &sig, &siglen, err, sizeof(err)) != 0) {
		brk_reply_error(c, -MDT_EPROTO, "field", "%s", err);
		return;
	}
	if (!agent_id_ok(c, "auth", agent))
		return;
	a = brk_agent_find(c->snap, agent);
	if (take_challenge(c->b, c->pipe, agent, chal,
	    &clen) != 0) {
		no_challenge(c, agent);
		return;
	}
	if (a == NULL || !a->has_key || siglen != MDT_KEY_SIG_BYTES ||
	    mdt_key_verify(&a->pk, MDT_WIRE_AUTH_DOMAIN, chal, clen, sig) != 0) {
		BLOG(c->b, BRK_WARN, "auth.failed", "pipe=%u agent=%s why=%s",
		    c->pipe, agent, a == NULL ? "unknown agent" : "bad signature");
		brk_reply_error(c, -MDT_EAUTH, "auth.failed",
		    "authentication of %s failed", agent);
		return;
	}
	mark_authed(c->b, c->pipe, agent, 0, &a->pk, c->snap->gen);
	BLOG(c->b, BRK_INFO, "auth.ok", "pipe=%u agent=%s method=key",
	    c->pipe, agent);
	reply_ok(c, agent, 0);
}
