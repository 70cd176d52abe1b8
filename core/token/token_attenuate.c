/*
 * Attenuation: appending a block with the secret an unsealed token
 * carries (mdt_token_attenuate), or a broker block with the root key,
 * sealing, and single-action tokens for resource servers.  The
 * attenuation rules themselves live in token_chain.c and run on every
 * result.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "key_int.h"
#include "token_int.h"

/* The parameters that name strings: checked and copied into b. */
static int
set_strings(const mdt_token_attenuate_params *p, mdt__tok_block *b, int bi,
    mdt_token_reason *why)
{
	const struct {
		const char *v;
		unsigned key;
		const char **dst;
	} strs[] = {
		{p->task_id, MDT_TOKEN_FIELD_TASK, &b->task},
		{p->audience, MDT_TOKEN_FIELD_AUDIENCE, &b->audience},
		{p->resource, MDT_TOKEN_FIELD_RESOURCE, &b->resource},
	};
	int rc;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strs[i].v == NULL)
			continue;
		if ((rc = mdt__tok_check_str(strs[i].v, MDT_TOKEN_STR_MAX,
		    mdt__tok_field_name(strs[i].key), bi, why)) != 0)
			return rc;
		*strs[i].dst = strs[i].v;
		b->has |= MDT_TOKEN_F(strs[i].key);
	}
	return 0;
}

static int
set_holder(const mdt_token *tok, const mdt_token_attenuate_params *p,
    mdt__tok_block *b, int bi, mdt_token_reason *why)
{
	int rc;

	if (p->holder_id == NULL && p->holder_key == NULL)
		return 0;
	if ((rc = mdt__tok_check_holder(p->holder_id, p->holder_key, bi,
	    why)) != 0)
		return rc;
	b->holder = p->holder_id;
	b->holder_key = p->holder_key->bytes;
	b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER_KEY);
	if (p->depth == MDT_TOKEN_KEEP_DEPTH) {
		if (tok->depth == 0)
			return mdt__tok_fail(why, -MDT_EDEPTH, bi,
			    "depth exhausted: the token cannot be delegated");
		b->depth = tok->depth - 1;
		b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_DEPTH);
	}
	return 0;
}

static int
set_numbers(const mdt_token *tok, const mdt_token_attenuate_params *p,
    mdt__tok_block *b, int bi, mdt_token_reason *why)
{
	if (p->expires_at < 0 || p->expires_at > tok->exp)
		return mdt__tok_fail(why, -MDT_EINVAL, bi,
		    "expiry %lld is later than the token's (%lld)",
		    (long long)p->expires_at, (long long)tok->exp);
	if (p->expires_at > 0) {
		b->exp = p->expires_at;
		b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_EXPIRES_AT);
	}
	if (p->issued_at < 0)
		return mdt__tok_fail(why, -MDT_EINVAL, bi, "negative issued-at");
	if (p->issued_at > 0) {
		b->iat = p->issued_at;
		b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_ISSUED_AT);
	}
	if (p->depth < MDT_TOKEN_KEEP_DEPTH)
		return mdt__tok_fail(why, -MDT_EINVAL, bi, "negative depth");
	if (p->depth >= 0) {
		b->depth = (uint32_t)p->depth;
		b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_DEPTH);
	}
	return 0;
}

/* The carried secret must be the last block's next key, or the new
 * block could never verify (tokens decoded but not verified). */
static int
check_secret(const mdt_token *tok, mdt_token_reason *why)
{
	uint8_t pk[MDT_KEY_PUBLIC_BYTES];
	int rc = mdt__seed_public(tok->proof, pk);

	if (rc != 0)
		return mdt__tok_fail(why, rc, -1, "cannot derive a key");
	if (sodium_memcmp(pk, tok->blocks[tok->nblocks - 1].next_key,
	    MDT_KEY_PUBLIC_BYTES) != 0)
		return mdt__tok_fail(why, -MDT_ECHAIN, (int)tok->nblocks - 1,
		    "carried secret does not match the last block's next key");
	return 0;
}

static int
check_base(const mdt_token *tok, mdt_token_reason *why)
{
	if (tok->sealed)
		return mdt__tok_fail(why, -MDT_ESEALED, (int)tok->nblocks - 1,
		    "token is sealed: no block can be appended");
	if (tok->nblocks >= MDT_TOKEN_BLOCKS_MAX)
		return mdt__tok_fail(why, -MDT_ETOOBIG, (int)tok->nblocks,
		    "token already has %d blocks", MDT_TOKEN_BLOCKS_MAX);
	return tok->verified ? 0 : check_secret(tok, why);
}

/*
 * Offline, only narrowing: the holder and the task are the broker's to
 * set.  A broker block must be signed by the root key block 0 names, or
 * no verifier would accept it.
 */
static int
check_maker(const mdt_token *tok, const mdt_token_attenuate_params *p,
    mdt_token_reason *why)
{
	uint8_t kid[MDT_KEY_ID_BYTES];
	mdt_pubkey pk;
	int bi = (int)tok->nblocks;

	if (p->broker == NULL) {
		if (p->holder_id != NULL || p->holder_key != NULL)
			return mdt__tok_fail(why, -MDT_EINVAL, bi,
			    "only the broker hands a token to another holder: "
			    "offline attenuation may only narrow");
		if (p->task_id != NULL)
			return mdt__tok_fail(why, -MDT_EINVAL, bi,
			    "only the broker starts a subtask: offline "
			    "attenuation may only narrow");
		return 0;
	}
	mdt_keypair_public(p->broker, &pk);
	mdt_key_id(&pk, kid);
	if (memcmp(kid, tok->blocks[0].kid, sizeof(kid)) != 0)
		return mdt__tok_fail(why, -MDT_EKEY, bi,
		    "broker block: the key is not the root key block 0 names");
	return 0;
}

/* Signs b with the carried secret, or with the root key for a broker
 * block, and assembles the result. */
static int
append_block(const mdt_token *tok, const mdt_token_attenuate_params *p,
    mdt__tok_block *b, mdt_token **out, mdt_token_reason *why)
{
	mdt_keypair *secret = NULL;
	mdt__tok_build bd = {.prev = tok, .root = &tok->root,
	    .next_seed = p->next_seed, .scopes = p->scopes};
	int rc;

	if (p->broker != NULL) {
		b->broker = 1;
		b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_BROKER);
		bd.signer = p->broker;
		bd.broker = 1;
		return mdt__tok_assemble(&bd, b, out, why);
	}
	/* check_base established that the carried secret is the last
	 * block's next key (verified on open, or checked just now) */
	if ((rc = mdt__keypair_from_checked_seed(tok->proof,
	    tok->blocks[tok->nblocks - 1].next_key, &secret)) != 0)
		return mdt__tok_fail(why, rc, (int)tok->nblocks,
		    "cannot load the secret");
	bd.signer = secret;
	rc = mdt__tok_assemble(&bd, b, out, why);
	mdt_keypair_free(secret);
	return rc;
}

int
mdt_token_attenuate(const mdt_token *tok, const mdt_token_attenuate_params *p,
    mdt_token **out, mdt_token_reason *why)
{
	mdt__tok_block b;
	int bi, rc;

	if (tok == NULL || p == NULL || out == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "missing argument");
	if ((rc = check_base(tok, why)) != 0 ||
	    (rc = check_maker(tok, p, why)) != 0)
		return rc;
	bi = (int)tok->nblocks;
	memset(&b, 0, sizeof(b));
	b.sealed = p->seal != 0;
	if (p->scopes != NULL)
		b.has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_SCOPES);
	if (p->nonce != NULL) {
		b.nonce = p->nonce;
		b.has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_NONCE);
	}
	if ((rc = set_numbers(tok, p, &b, bi, why)) != 0 ||
	    (rc = set_holder(tok, p, &b, bi, why)) != 0 ||
	    (rc = set_strings(p, &b, bi, why)) != 0)
		return rc;
	return append_block(tok, p, &b, out, why);
}

int
mdt_token_seal(const mdt_token *tok, mdt_token **out, mdt_token_reason *why)
{
	mdt_token_attenuate_params p;

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.seal = 1;
	return mdt_token_attenuate(tok, &p, out, why);
}

/* ----------------------------------------------------- single action */

/*
 * The scopes that allow exactly `action` on the reference's type, in
 * every context it could be granted in: the token's effective scopes
 * intersected with these keep only that action (and any restriction).
 */
static int
action_scopes(const mdt_scope_request *req, const char *action,
    mdt_scope_set **out, mdt_token_reason *why)
{
	static const char *const fhir[] = {"patient", "user", "system"};
	char text[MDT_SCOPE_TEXT_MAX + 1], err[MDT_ERRMSG_MAX];
	mdt_scope_set *set;
	size_t n = req->context == MDT_SCOPE_TOOL ? 1 : 3;
	int rc;

	if ((rc = mdt_scope_set_new(&set)) != 0)
		return mdt__tok_fail(why, rc, -1, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "%s/%s.%s",
		    req->context == MDT_SCOPE_TOOL ? "tool" : fhir[i],
		    req->type, action);
		if ((rc = mdt_scope_set_add(set, text, strlen(text), err,
		    sizeof(err))) != 0) {
			mdt_scope_set_free(set);
			return mdt__tok_fail(why, rc, -1, "action %s on %s: %s",
			    action, req->type, err);
		}
	}
	*out = set;
	return 0;
}

static int
narrowed_scopes(const mdt_token *tok, const mdt_token_single_params *p,
    mdt_scope_set **out, mdt_token_reason *why)
{
	char buf[MDT__TOK_REF_MAX], err[MDT_ERRMSG_MAX];
	mdt_scope_param params[MDT_SCOPE_PARAMS_MAX];
	mdt_scope_request req;
	mdt_scope_set *want = NULL, *eff = NULL;
	int rc;

	if ((rc = mdt_scope_request_parse(p->resource, &req, buf, sizeof(buf),
	    params, MDT_SCOPE_PARAMS_MAX, err, sizeof(err))) != 0)
		return mdt__tok_fail(why, rc, -1, "resource %s: %s",
		    p->resource, err);
	if ((rc = action_scopes(&req, p->action, &want, why)) != 0)
		return rc;
	if ((rc = mdt_token_scopes(tok, &eff)) == 0)
		rc = mdt_scope_set_intersect(eff, want, out);
	mdt_scope_set_free(want);
	mdt_scope_set_free(eff);
	if (rc != 0)
		return mdt__tok_fail(why, rc, -1, "scope intersection failed");
	if (mdt_scope_set_count(*out) == 0) {
		mdt_scope_set_free(*out);
		return mdt__tok_fail(why, -MDT_ESCOPE, -1,
		    "the token does not allow action %s on %s", p->action,
		    p->resource);
	}
	return 0;
}

int
mdt_token_single_action(const mdt_token *tok,
    const mdt_token_single_params *p, mdt_token **out, mdt_token_reason *why)
{
	mdt_token_attenuate_params ap;
	mdt_scope_set *scopes = NULL;
	uint8_t nonce[MDT_TOKEN_NONCE_BYTES];
	int rc;

	if (tok == NULL || p == NULL || out == NULL || p->action == NULL ||
	    p->resource == NULL || p->audience == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "missing argument");
	if (p->ttl <= 0 || p->ttl > MDT_TOKEN_SINGLE_TTL_MAX || p->now <= 0)
		return mdt__tok_fail(why, -MDT_EINVAL, -1,
		    "ttl must be 1..%d seconds after a positive now",
		    MDT_TOKEN_SINGLE_TTL_MAX);
	if ((rc = mdt__sodium_init()) != 0 || (rc = check_base(tok, why)) != 0 ||
	    (rc = narrowed_scopes(tok, p, &scopes, why)) != 0)
		return rc;
	memset(&ap, 0, sizeof(ap));
	ap.scopes = scopes;
	ap.expires_at = p->now + p->ttl < tok->exp ? p->now + p->ttl : tok->exp;
	ap.depth = MDT_TOKEN_KEEP_DEPTH;
	ap.audience = p->audience;
	ap.resource = p->resource;
	ap.issued_at = p->now;
	ap.seal = 1;
	/* Resource servers accept a token id once: without fresh bytes, two
	 * tokens for the same request in the same second would be equal. */
	if (p->nonce != NULL)
		memcpy(nonce, p->nonce, sizeof(nonce));
	else
		randombytes_buf(nonce, sizeof(nonce));
	ap.nonce = nonce;
	ap.broker = p->broker;
	rc = mdt_token_attenuate(tok, &ap, out, why);
	mdt_scope_set_free(scopes);
	return rc;
}
