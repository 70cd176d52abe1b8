/*
 * The signature chain and the attenuation rules: block signatures (chained
 * and broker blocks), chain verification (with the verified-prefix
 * cache), the carried-secret check and the rules every attenuation block
 * must follow, among them that only broker blocks change holder or task.
 */
#include <string.h>

#include "key_int.h"
#include "token_int.h"

static void
put_u32be(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

static const uint8_t zero_sig[MDT_KEY_SIG_BYTES];

/* Signed message of block i: index, previous signature, block bytes. */
static void
block_parts(mdt__part parts[3], uint8_t idx[4], uint32_t index,
    const uint8_t *prev_sig, const uint8_t *raw, size_t raw_len)
{
	put_u32be(idx, index);
	parts[0] = (mdt__part){idx, 4};
	parts[1] = (mdt__part){prev_sig != NULL ? prev_sig : zero_sig,
	    MDT_KEY_SIG_BYTES};
	parts[2] = (mdt__part){raw, raw_len};
}

/* A broker block's signature is over a domain string of its own, so it
 * can never pass for block 0's or a chained block's, nor they for it. */
static const char *
block_domain(int broker)
{
	return broker ? MDT__TOK_DOMAIN_BROKER : MDT__TOK_DOMAIN_BLOCK;
}

int
mdt__tok_sign_block(const mdt_keypair *kp, uint32_t index,
    const uint8_t *prev_sig, const uint8_t *raw, size_t raw_len, int broker,
    uint8_t sig[MDT_KEY_SIG_BYTES])
{
	mdt__part parts[3];
	uint8_t idx[4];

	block_parts(parts, idx, index, prev_sig, raw, raw_len);
	return mdt__sign_parts(kp, block_domain(broker), parts, 3, sig);
}

static int
verify_block(const mdt_token *tok, size_t i, const uint8_t *pk)
{
	mdt__part parts[3];
	uint8_t idx[4];
	const mdt__tok_block *b = &tok->blocks[i];

	block_parts(parts, idx, (uint32_t)i,
	    i == 0 ? NULL : tok->blocks[i - 1].sig, b->raw, b->raw_len);
	return mdt__verify_parts(pk, block_domain(b->broker), parts, 3,
	    b->sig);
}

/* -------------------------------------------------------------- rules */

/*
 * Only the broker hands a token to another holder or starts a subtask:
 * whoever holds an unsealed token can append blocks, so a block signed
 * with the carried secret may only narrow.
 */
static int
rule_broker(const mdt__tok_block *b, size_t i, mdt_token_reason *why)
{
	const unsigned holder = MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER_KEY);
	const unsigned task = MDT_TOKEN_F(MDT_TOKEN_FIELD_TASK) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_PARENT_TASK);

	if (b->broker)
		return 0;
	if (b->has & holder)
		return mdt__tok_fail(why, -MDT_EHOLDER, (int)i,
		    "block %zu changes the holder but was not made by the "
		    "broker", i);
	if (b->has & task)
		return mdt__tok_fail(why, -MDT_ESCOPE, (int)i,
		    "block %zu starts a task but was not made by the broker",
		    i);
	return 0;
}

static int
rule_depth(const mdt__tok_block *b, size_t i, uint32_t *depth,
    mdt_token_reason *why)
{
	int has = (b->has & MDT_TOKEN_F(MDT_TOKEN_FIELD_DEPTH)) != 0;

	if (b->holder != NULL && *depth == 0)
		return mdt__tok_fail(why, -MDT_EDEPTH, (int)i,
		    "block %zu: delegation to %s but depth is exhausted", i,
		    b->holder);
	if (b->holder != NULL && !has)
		return mdt__tok_fail(why, -MDT_EDEPTH, (int)i,
		    "block %zu: delegation must lower depth", i);
	if (has && b->depth >= *depth)
		return mdt__tok_fail(why, -MDT_EDEPTH, (int)i,
		    "block %zu: depth %u not below %u", i, b->depth, *depth);
	if (has)
		*depth = b->depth;
	return 0;
}

static int
rule_scopes(const mdt__tok_block *b, size_t i, const mdt_scope_set **last,
    mdt_token_reason *why)
{
	int inside = 0;
	int rc;

	if (b->scopes == NULL)
		return 0;
	if ((rc = mdt_scope_set_contains(*last, b->scopes, &inside)) != 0)
		return mdt__tok_fail(why, rc, (int)i,
		    "block %zu: scope comparison failed", i);
	if (!inside)
		return mdt__tok_fail(why, -MDT_ESCOPE, (int)i,
		    "block %zu: scopes not contained in the earlier blocks'",
		    i);
	*last = b->scopes;
	return 0;
}

/* A string restriction that may be set once and only repeated after. */
static int
rule_same(const char *v, const char **cur, size_t i, int code,
    const char *what, mdt_token_reason *why)
{
	if (v == NULL)
		return 0;
	if (*cur != NULL && strcmp(*cur, v) != 0)
		return mdt__tok_fail(why, code, (int)i,
		    "block %zu: %s %s differs from %s set earlier", i, what, v,
		    *cur);
	*cur = v;
	return 0;
}

int
mdt__tok_rules(const mdt_token *tok, mdt_token_reason *why)
{
	const mdt__tok_block *b0 = &tok->blocks[0];
	const mdt_scope_set *last = b0->scopes;
	const char *aud = b0->audience, *res = b0->resource;
	uint32_t depth = b0->depth;
	int rc;

	for (size_t i = 1; i < tok->nblocks; i++) {
		const mdt__tok_block *b = &tok->blocks[i];

		if ((rc = rule_broker(b, i, why)) != 0 ||
		    (rc = rule_depth(b, i, &depth, why)) != 0 ||
		    (rc = rule_scopes(b, i, &last, why)) != 0 ||
		    (rc = rule_same(b->audience, &aud, i, -MDT_EAUDIENCE,
		    "audience", why)) != 0 ||
		    (rc = rule_same(b->resource, &res, i, -MDT_ESCOPE,
		    "resource", why)) != 0)
			return rc;
	}
	return 0;
}

/* -------------------------------------------------------------- verify */

typedef struct digests {
	uint8_t prefix[MDT_TOKEN_BLOCKS_MAX][32]; /* blocks 0..i verified */
	uint8_t full[32];                          /* whole token, proof too */
} digests;

/*
 * Hash of the root key and every byte verified: for each block its
 * length, bytes and signature; for the whole token also the proof.
 * Runs over blocks 0..n-1 of tok; when prefix is not NULL, prefix[i] gets
 * the digest of blocks 0..i.
 */
static void
hash_chain(const mdt_token *tok, const mdt_pubkey *root,
    crypto_generichash_state *st, uint8_t (*prefix)[32])
{
	crypto_generichash_state tmp;
	uint8_t len[4];

	crypto_generichash_init(st, NULL, 0, 32);
	crypto_generichash_update(st, (const uint8_t *)MDT__TOK_DOMAIN_CACHE,
	    sizeof(MDT__TOK_DOMAIN_CACHE));
	crypto_generichash_update(st, root->bytes, MDT_KEY_PUBLIC_BYTES);
	for (size_t i = 0; i < tok->nblocks; i++) {
		const mdt__tok_block *b = &tok->blocks[i];

		put_u32be(len, (uint32_t)b->raw_len);
		crypto_generichash_update(st, len, 4);
		crypto_generichash_update(st, b->raw, b->raw_len);
		crypto_generichash_update(st, b->sig, MDT_KEY_SIG_BYTES);
		if (prefix != NULL) {
			tmp = *st;
			crypto_generichash_final(&tmp, prefix[i], 32);
		}
	}
}

/* d->full, and d->prefix too when `prefixes`. */
static void
compute_digests(const mdt_token *tok, const mdt_pubkey *root, digests *d,
    int prefixes)
{
	crypto_generichash_state st;
	uint8_t one = 1;

	hash_chain(tok, root, &st, prefixes ? d->prefix : NULL);
	if (tok->proof != NULL) {
		crypto_generichash_update(&st, &one, 1);
		crypto_generichash_update(&st, tok->proof, MDT_KEY_SEED_BYTES);
	}
	crypto_generichash_final(&st, d->full, 32);
	sodium_memzero(&st, sizeof(st));
}

/*
 * Blocks already verified according to the cache (all + proof: n+1).
 * The whole token is looked up first: a repeat presentation needs neither
 * the prefix digests nor any insertion.
 */
static size_t
cached_prefix(mdt_token_cache *cache, const mdt_token *tok,
    const mdt_pubkey *root, digests *d)
{
	compute_digests(tok, root, d, 0);
	if (mdt__tok_cache_has(cache, d->full))
		return tok->nblocks + 1;
	compute_digests(tok, root, d, 1);
	for (size_t k = tok->nblocks; k > 0; k--)
		if (mdt__tok_cache_has(cache, d->prefix[k - 1]))
			return k;
	return 0;
}

static void
cache_all(mdt_token_cache *cache, const mdt_token *tok, const digests *d)
{
	for (size_t i = 0; i < tok->nblocks; i++)
		mdt__tok_cache_put(cache, d->prefix[i]);
	mdt__tok_cache_put(cache, d->full);
}

static int
check_proof(const mdt_token *tok, mdt_token_reason *why)
{
	uint8_t pk[MDT_KEY_PUBLIC_BYTES];
	const uint8_t *want = tok->blocks[tok->nblocks - 1].next_key;
	int rc;

	if (tok->proof == NULL)
		return 0;
	if ((rc = mdt__seed_public(tok->proof, pk)) != 0)
		return mdt__tok_fail(why, rc, -1, "cannot derive a key");
	if (sodium_memcmp(pk, want, MDT_KEY_PUBLIC_BYTES) != 0)
		return mdt__tok_fail(why, -MDT_ECHAIN,
		    (int)tok->nblocks - 1,
		    "carried secret does not match the next key of block %zu",
		    tok->nblocks - 1);
	return 0;
}

static int
verify_signatures(const mdt_token *tok, const mdt_pubkey *root,
    size_t from, mdt_token_reason *why)
{
	for (size_t i = from; i < tok->nblocks; i++) {
		const uint8_t *pk = i == 0 || tok->blocks[i].broker ?
		    root->bytes : tok->blocks[i - 1].next_key;

		if (verify_block(tok, i, pk) != 0)
			return mdt__tok_fail(why, -MDT_ESIG, (int)i,
			    "block %zu: signature does not verify", i);
	}
	return 0;
}

static int
check_key_id(const mdt_token *tok, const mdt_pubkey *root,
    mdt_token_reason *why)
{
	uint8_t kid[MDT_KEY_ID_BYTES];

	mdt_key_id(root, kid);
	if (memcmp(kid, tok->blocks[0].kid, sizeof(kid)) != 0)
		return mdt__tok_fail(why, -MDT_EKEY, 0,
		    "block 0: signed by another key than this root");
	return 0;
}

int
mdt_token_verify(mdt_token *tok, const mdt_pubkey *root,
    mdt_token_cache *cache, mdt_token_reason *why)
{
	digests d;
	size_t done = 0;
	int rc;

	if (tok == NULL || root == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "no token or root");
	tok->verified = 0;
	if ((rc = check_key_id(tok, root, why)) != 0)
		return rc;
	if (cache != NULL)
		done = cached_prefix(cache, tok, root, &d);
	if ((rc = verify_signatures(tok, root, done, why)) != 0)
		return rc;
	if (done <= tok->nblocks && (rc = check_proof(tok, why)) != 0)
		return rc;
	if ((rc = mdt__tok_rules(tok, why)) != 0)
		return rc;
	if (cache != NULL && done <= tok->nblocks)
		cache_all(cache, tok, &d);
	tok->root = *root;
	tok->verified = 1;
	mdt__tok_ok(why);
	return 0;
}

int
mdt_token_verify_receipt(mdt_token *tok, const mdt_pubkey *root,
    const mdt_receipt *r, mdt_receipt_cache *rcache, mdt_token_reason *why,
    mdt_receipt_reason *rwhy)
{
	uint8_t tid[MDT_TOKEN_ID_BYTES];
	mdt_receipt_reason rw = MDT_RECEIPT_OK;
	int rc;

	if (rwhy != NULL)
		*rwhy = MDT_RECEIPT_OK;
	if (tok == NULL || root == NULL || r == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, -1,
		    "no token, root or receipt");
	tok->verified = 0;
	if ((rc = check_key_id(tok, root, why)) != 0)
		return rc;
	mdt_token_id(tok, tid);
	if ((rc = mdt_receipt_verify_cached(r, tid, root, rcache, &rw)) != 0) {
		if (rwhy != NULL)
			*rwhy = rw;
		return mdt__tok_fail(why, rc, -1, "receipt: %s",
		    mdt_receipt_reason_name(rw));
	}
	if ((rc = check_proof(tok, why)) != 0 ||
	    (rc = mdt__tok_rules(tok, why)) != 0)
		return rc;
	tok->root = *root;
	tok->verified = 1;
	mdt__tok_ok(why);
	return 0;
}

/* Decode (binary or text form) then verify; *out only on success. */
static int
open_form(const void *in, size_t len, int text, const mdt_pubkey *root,
    mdt_token_cache *cache, mdt_token **out, mdt_token_reason *why)
{
	mdt_token *tok;
	int rc;

	if (out == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "no output");
	rc = text ? mdt_token_decode_text(in, len, &tok, why) :
	    mdt_token_decode(in, len, &tok, why);
	if (rc != 0)
		return rc;
	if ((rc = mdt_token_verify(tok, root, cache, why)) != 0) {
		mdt_token_free(tok);
		return rc;
	}
	*out = tok;
	return 0;
}

int
mdt_token_open(const uint8_t *buf, size_t len, const mdt_pubkey *root,
    mdt_token_cache *cache, mdt_token **out, mdt_token_reason *why)
{
	return open_form(buf, len, 0, root, cache, out, why);
}

int
mdt_token_open_text(const char *text, size_t len, const mdt_pubkey *root,
    mdt_token_cache *cache, mdt_token **out, mdt_token_reason *why)
{
	return open_form(text, len, 1, root, cache, out, why);
}

int
mdt_token_is_verified(const mdt_token *tok)
{
	return tok != NULL && tok->verified;
}
