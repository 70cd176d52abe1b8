/*
 * Answering a request against a verified token at a given time, and
 * proofs of possession of the holder key.  Every failure is a deny with
 * its reason; the order of checks is the order of the table in
 * mdt_token_check.
 */
#include <string.h>

#include "key_int.h"
#include "token_int.h"

#define ATTRS_MAX (2 * MDT_SCOPE_PARAMS_MAX)

/* ----------------------------------------------------------------- pop */

static void
put_u64be(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Length-prefixed string: 2-byte big-endian length, then the bytes. */
static int
lp_part(mdt__part *len_part, mdt__part *str_part, uint8_t lenbuf[2],
    const char *s)
{
	size_t n = s == NULL ? 0 : strlen(s);

	if (n > MDT__TOK_POP_STR_MAX)
		return -MDT_ETOOBIG;
	lenbuf[0] = (uint8_t)(n >> 8);
	lenbuf[1] = (uint8_t)n;
	*len_part = (mdt__part){lenbuf, 2};
	*str_part = (mdt__part){(const uint8_t *)(s == NULL ? "" : s), n};
	return 0;
}

/*
 * The PoP message: token id, then audience, action, resource and nonce
 * each length-prefixed, then the time (8 bytes, big-endian).
 */
typedef struct pop_msg {
	uint8_t id[MDT_TOKEN_ID_BYTES];
	uint8_t lens[4][2];
	uint8_t when[8];
	mdt__part parts[10];
} pop_msg;

static int
pop_message(const mdt_token *tok, const mdt_token_pop *pop, pop_msg *m)
{
	const char *strs[4] = {pop->audience, pop->action, pop->resource,
	    pop->nonce};
	int rc;

	if (pop->action == NULL || pop->resource == NULL || pop->nonce == NULL)
		return -MDT_EINVAL;
	mdt_token_id(tok, m->id);
	m->parts[0] = (mdt__part){m->id, sizeof(m->id)};
	for (int i = 0; i < 4; i++)
		if ((rc = lp_part(&m->parts[1 + 2 * i], &m->parts[2 + 2 * i],
		    m->lens[i], strs[i])) != 0)
			return rc;
	put_u64be(m->when, (uint64_t)pop->time);
	m->parts[9] = (mdt__part){m->when, sizeof(m->when)};
	return 0;
}

int
mdt_token_pop_sign(const mdt_token *tok, const mdt_keypair *holder,
    mdt_token_pop *pop)
{
	mdt_pubkey pk;
	pop_msg m;
	int rc;

	if (tok == NULL || holder == NULL || pop == NULL)
		return -MDT_EINVAL;
	mdt_keypair_public(holder, &pk);
	if (sodium_memcmp(pk.bytes, tok->holder_key, MDT_KEY_PUBLIC_BYTES) != 0)
		return -MDT_EHOLDER;
	if ((rc = pop_message(tok, pop, &m)) != 0)
		return rc;
	return mdt__sign_parts(holder, MDT__TOK_DOMAIN_POP, m.parts, 10,
	    pop->sig);
}

int
mdt_token_pop_verify(const mdt_token *tok, const mdt_token_pop *pop,
    int64_t now, int64_t max_age, mdt_token_reason *why)
{
	pop_msg m;
	int64_t age;
	int rc;

	if (tok == NULL || pop == NULL || max_age < 0)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "missing argument");
	if ((rc = pop_message(tok, pop, &m)) != 0)
		return mdt__tok_fail(why, rc, -1, "malformed proof challenge");
	if (mdt__verify_parts(tok->holder_key, MDT__TOK_DOMAIN_POP, m.parts, 10,
	    pop->sig) != 0)
		return mdt__tok_fail(why, -MDT_EHOLDER, -1,
		    "proof of possession not signed by the holder key of %s",
		    tok->holder);
	age = now > pop->time ? now - pop->time : pop->time - now;
	if (age > max_age || age < 0)
		return mdt__tok_fail(why, -MDT_EEXPIRED, -1,
		    "proof of possession made at %lld, %lld s from now",
		    (long long)pop->time, (long long)age);
	mdt__tok_ok(why);
	return 0;
}

/* --------------------------------------------------------------- check */

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int
check_time(const mdt_token *tok, const mdt_token_check_params *p,
    mdt_token_reason *why)
{
	for (size_t i = 0; i < tok->nblocks; i++) {
		const mdt__tok_block *b = &tok->blocks[i];

		if ((b->has & MDT_TOKEN_F(MDT_TOKEN_FIELD_ISSUED_AT)) &&
		    p->now < b->iat - MDT_TOKEN_SKEW_SECONDS)
			return mdt__tok_fail(why, -MDT_EEXPIRED, (int)i,
			    "block %zu: not valid before %lld (now %lld)", i,
			    (long long)b->iat, (long long)p->now);
	}
	if (p->now >= tok->exp)
		return mdt__tok_fail(why, -MDT_EEXPIRED, tok->exp_block,
		    "block %d: expired at %lld (now %lld)", tok->exp_block,
		    (long long)tok->exp, (long long)p->now);
	return 0;
}

static int
check_audience(const mdt_token *tok, const mdt_token_check_params *p,
    mdt_token_reason *why)
{
	if (tok->audience != NULL && !streq(tok->audience, p->audience))
		return mdt__tok_fail(why, -MDT_EAUDIENCE, -1,
		    "token is for audience %s, not %s", tok->audience,
		    p->audience != NULL ? p->audience : "this verifier");
	if ((p->flags & MDT_TOKEN_CHECK_SINGLE_ACTION) &&
	    (p->audience == NULL || tok->audience == NULL))
		return mdt__tok_fail(why, -MDT_EAUDIENCE, -1,
		    "a single-action token for this audience is required");
	if ((p->flags & MDT_TOKEN_CHECK_SINGLE_ACTION) &&
	    (!tok->sealed || tok->resource == NULL))
		return mdt__tok_fail(why, -MDT_ESCOPE, -1,
		    "only sealed single-action tokens are accepted here");
	/* A holder can seal its own token down to one action offline; that
	 * one would bypass the broker's runtime check and its audit. */
	if ((p->flags & MDT_TOKEN_CHECK_SINGLE_ACTION) &&
	    !tok->blocks[tok->nblocks - 1].broker)
		return mdt__tok_fail(why, -MDT_EHOLDER, (int)tok->nblocks - 1,
		    "block %zu: a single-action token not made by the broker",
		    tok->nblocks - 1);
	return 0;
}

static int
check_holder(const mdt_token *tok, const mdt_token_check_params *p,
    mdt_token_reason *why)
{
	const mdt_token_pop *pop = p->pop;

	if (p->holder_id != NULL && !streq(p->holder_id, tok->holder))
		return mdt__tok_fail(why, -MDT_EHOLDER, -1,
		    "caller %s is not the holder %s", p->holder_id, tok->holder);
	if (pop == NULL)
		return 0;
	if (!streq(pop->action, p->action) ||
	    !streq(pop->resource, p->resource) ||
	    (pop->audience != NULL || p->audience != NULL ?
	    !streq(pop->audience, p->audience) : 0))
		return mdt__tok_fail(why, -MDT_EHOLDER, -1,
		    "proof of possession is for another request");
	return mdt_token_pop_verify(tok, pop, p->now, p->pop_max_age, why);
}

static int
check_resource(const mdt_token *tok, const mdt_token_check_params *p,
    mdt_token_reason *why)
{
	if (p->patient != NULL && strcmp(p->patient, tok->blocks[0].patient))
		return mdt__tok_fail(why, -MDT_EPATIENT, 0,
		    "request is for patient %s, the token for %s", p->patient,
		    tok->blocks[0].patient);
	for (size_t i = 0; i < tok->nblocks; i++) {
		const char *res = tok->blocks[i].resource;

		if (res != NULL && strcmp(res, p->resource) != 0)
			return mdt__tok_fail(why, -MDT_ESCOPE, (int)i,
			    "block %zu: restricted to %s, not %s", i, res,
			    p->resource);
	}
	return 0;
}

/* The request as the scope module reads it; attrs follow the query. */
typedef struct req_buf {
	mdt_scope_request req;
	mdt_scope_param params[ATTRS_MAX];
	char text[MDT__TOK_REF_MAX];
} req_buf;

static int
parse_request(const mdt_token_check_params *p, req_buf *rb,
    mdt_token_reason *why)
{
	char err[MDT_ERRMSG_MAX];
	int rc = mdt_scope_request_parse(p->resource, &rb->req, rb->text,
	    sizeof(rb->text), rb->params, MDT_SCOPE_PARAMS_MAX, err,
	    sizeof(err));

	if (rc != 0)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "resource %s: %s",
		    p->resource, err);
	if (p->nattrs > ATTRS_MAX - rb->req.nparams)
		return mdt__tok_fail(why, -MDT_ETOOBIG, -1,
		    "too many resource attributes");
	if (p->nattrs > 0)
		memcpy(rb->params + rb->req.nparams, p->attrs,
		    p->nattrs * sizeof(*p->attrs));
	rb->req.params = rb->params;
	rb->req.nparams += p->nattrs;
	rb->req.action = p->action;
	rb->req.patient = p->patient;
	return 0;
}

static int
check_scopes(const mdt_token *tok, const mdt_token_check_params *p,
    mdt_token_reason *why)
{
	req_buf rb;
	int ok = 0, rc = parse_request(p, &rb, why);

	if (rc != 0)
		return rc;
	/* Every block, not only the intersection: a block that does not
	 * allow the request denies it, whatever the others say. */
	for (size_t i = 0; i < tok->nblocks; i++) {
		const mdt_scope_set *s = tok->blocks[i].scopes;

		if (s == NULL)
			continue;
		if ((rc = mdt_scope_set_matches(s, &rb.req,
		    tok->blocks[0].patient, &ok)) != 0)
			return mdt__tok_fail(why, rc, (int)i,
			    "block %zu: scope match failed", i);
		if (!ok)
			return mdt__tok_fail(why, -MDT_ESCOPE, (int)i,
			    "block %zu: %s on %s is outside its scopes", i,
			    p->action, p->resource);
	}
	return 0;
}

typedef int (*check_fn)(const mdt_token *, const mdt_token_check_params *,
    mdt_token_reason *);

static const check_fn checks[] = {
	check_time, check_audience, check_holder, check_resource,
	check_scopes,
};

int
mdt_token_check(const mdt_token *tok, const mdt_token_check_params *p,
    mdt_token_reason *why)
{
	int rc;

	if (tok == NULL || p == NULL || p->action == NULL ||
	    p->resource == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "missing argument");
	if (!tok->verified)
		return mdt__tok_fail(why, -MDT_EINVAL, -1,
		    "token has not been verified");
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if ((rc = checks[i](tok, p, why)) != 0)
			return rc;
	mdt__tok_ok(why);
	return 0;
}
