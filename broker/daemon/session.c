/*
 * Sessions: authentication bound to an nng pipe.  hello issues a
 * challenge (nonce, time, broker id, agent id) for one pipe; auth checks
 * the agent's Ed25519 signature over it with the registered key and marks
 * the pipe as that agent's until the pipe closes.  A challenge is used at
 * most once, successful or not.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "broker.h"

#define NBUCKETS 1024

struct sess {
	uint32_t pipe;
	int authed;
	char agent[BRK_ID_MAX];
	uint8_t challenge[MDT_WIRE_CHALLENGE_MAX];
	size_t clen;
	int64_t expires_ms;
	struct sess *next;
};

struct brk_sessions {
	pthread_mutex_t lock;
	struct sess *b[NBUCKETS];
};

int
brk_sessions_new(struct brk_sessions **out)
{
	struct brk_sessions *s = mdt__calloc(1, sizeof(*s));

	if (s == NULL)
		return -MDT_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
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
	pthread_mutex_destroy(&s->lock);
	mdt__free(s);
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

void
brk_session_agent(brk_broker *b, uint32_t pipe, char *out, size_t len)
{
	struct brk_sessions *s = b->sessions;
	struct sess *e;

	pthread_mutex_lock(&s->lock);
	e = *slot(s, pipe);
	snprintf(out, len, "%s", e != NULL && e->authed ? e->agent : "");
	pthread_mutex_unlock(&s->lock);
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

static void
mark_authed(brk_broker *b, uint32_t pipe, const char *agent)
{
	struct brk_sessions *s = b->sessions;
	struct sess *e;

	pthread_mutex_lock(&s->lock);
	e = *slot(s, pipe);
	if (e != NULL && strcmp(e->agent, agent) == 0)
		e->authed = 1;
	pthread_mutex_unlock(&s->lock);
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
	mdt_wire_writer *wr;

	(void)w;
	if (mdt_wire_get_str(c->root, "agent", BRK_ID_MAX - 1, &agent, err,
	    sizeof(err)) != 0 || mdt_wire_get_bin(c->root, "sig",
	    MDT_KEY_SIG_BYTES, &sig, &siglen, err, sizeof(err)) != 0) {
		brk_reply_error(c, -MDT_EPROTO, "field", "%s", err);
		return;
	}
	a = brk_agent_find(c->snap, agent);
	if (take_challenge(c->b, c->pipe, agent, chal, &clen) != 0) {
		brk_reply_error(c, -MDT_EAUTH, "auth.failed",
		    "no valid challenge for %s on this connection (hello first; "
		    "challenges expire and are used once)", agent);
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
	mark_authed(c->b, c->pipe, agent);
	BLOG(c->b, BRK_INFO, "auth.ok", "pipe=%u agent=%s", c->pipe, agent);
	wr = brk_reply_writer(c, 1);
	if (wr != NULL && mdt_wire_put_cstr(wr, "agent", agent) != 0) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	brk_reply(c, wr);
}
