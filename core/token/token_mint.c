/*
 * Creating tokens: mint (block 0, root key), attenuate (a block signed
 * with the carried secret, or a broker block signed by the root key),
 * seal, and single-action tokens.  Every block made here goes through
 * the same strict decoder, and every token through the same attenuation
 * rules, as a token received from elsewhere before it is handed out.  A verified prefix's blocks, decoded already from the
 * same bytes, are taken over rather than decoded again.
 */
#include <stdio.h>
#include <string.h>

#include <mandate/spiffe.h>

#include "alloc_int.h"
#include "key_int.h"
#include "token_int.h"

static int
next_key(const mdt__tok_build *bd, mdt_keypair **kp)
{
	return bd->next_seed != NULL ? mdt_keypair_from_seed(bd->next_seed, kp) :
	    mdt_keypair_generate(kp);
}

/*
 * Room for the envelope: the previous one, plus the new block with its
 * array, bin and signature headers (at most 70 bytes), the proof (35), and
 * a blocks array header that may grow by 2.  Capped at the format's bound,
 * so that a token too large fails exactly as it would in any writer.
 */
#define ENVELOPE_SLACK 256

static size_t
envelope_cap(const mdt_token *prev, size_t raw_len)
{
	size_t n = (prev == NULL ? 0 : prev->enc_len) + raw_len +
	    ENVELOPE_SLACK;

	return n < MDT_TOKEN_BYTES_MAX ? n : MDT_TOKEN_BYTES_MAX;
}

/* Signs the written block and writes the whole envelope into env. */
static int
seal_envelope(const mdt__tok_build *bd, const uint8_t *raw, size_t raw_len,
    const uint8_t *proof, mdt__mp_writer *env)
{
	uint8_t sig[MDT_KEY_SIG_BYTES];
	const mdt_token *p = bd->prev;
	mdt__tok_raw extra;
	int rc;

	rc = mdt__tok_sign_block(bd->signer, p == NULL ? 0 :
	    (uint32_t)p->nblocks, p == NULL ? NULL : p->blocks[p->nblocks - 1].sig,
	    raw, raw_len, bd->broker, sig);
	if (rc != 0)
		return rc;
	extra = (mdt__tok_raw){raw, raw_len, sig};
	return mdt__tok_write_envelope(env, p, &extra, proof);
}

/*
 * Decodes the envelope written into tok and applies the rules.  A
 * verified prefix's blocks are strictly decoded already: they are copied
 * rather than decoded again, the new block is decoded, and the rules run
 * over the whole chain as for any token.
 */
static int
finish(const mdt__tok_build *bd, mdt_token *tok, size_t len,
    mdt_token **out, mdt_token_reason *why)
{
	const mdt_token *prefix = bd->prev != NULL && bd->prev->verified ?
	    bd->prev : NULL;
	int rc = mdt__tok_decode_into(tok, len, prefix, why);

	if (rc != 0)
		return rc;
	if ((rc = mdt__tok_rules(tok, why)) != 0) {
		mdt_token_free(tok);
		return rc;
	}
	/* Built on a verified prefix with our own signature: verified; on
	 * an unverified one, only as trustworthy as that prefix. */
	tok->root = *bd->root;
	tok->verified = bd->prev == NULL || bd->prev->verified;
	*out = tok;
	return 0;
}

/* Completes b with its next key (or the sealed flag); *seed gets the key's
 * secret, which the token will carry. */
static int
complete_block(const mdt__tok_build *bd, mdt__tok_block *b, mdt_pubkey *npk,
    uint8_t seed[MDT_KEY_SEED_BYTES], mdt_token_reason *why)
{
	mdt_keypair *nk = NULL;
	int rc;

	if (b->sealed) {
		b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_SEALED);
		return 0;
	}
	if ((rc = next_key(bd, &nk)) != 0)
		return mdt__tok_fail(why, rc, -1, "no next key");
	mdt_keypair_public(nk, npk);
	mdt_keypair_seed(nk, seed);
	mdt_keypair_free(nk);
	b->next_key = npk->bytes;
	b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_NEXT_KEY);
	return 0;
}

/* Signs raw and writes the envelope into a new token, then finishes. */
static int
write_token(const mdt__tok_build *bd, const uint8_t *raw, size_t raw_len,
    const uint8_t *proof, mdt_token **out, mdt_token_reason *why)
{
	size_t cap = envelope_cap(bd->prev, raw_len);
	mdt_token *tok;
	mdt__mp_writer env;
	int rc;

	if ((rc = mdt__tok_alloc(cap, &tok)) != 0)
		return mdt__tok_fail(why, rc, -1, "out of memory");
	mdt__mp_writer_init(&env, tok->mem, cap);
	if ((rc = seal_envelope(bd, raw, raw_len, proof, &env)) != 0) {
		mdt_token_free(tok);
		return mdt__tok_fail(why, rc, -1, rc == -MDT_ETOOBIG ?
		    "token exceeds %d bytes" : "cannot sign the block",
		    MDT_TOKEN_BYTES_MAX);
	}
	return finish(bd, tok, env.len, out, why);
}

/* Writes block b, signs it, appends it and decodes the result. */
int
mdt__tok_assemble(const mdt__tok_build *bd, mdt__tok_block *b, mdt_token **out,
    mdt_token_reason *why)
{
	uint8_t raw[MDT_TOKEN_BLOCK_BYTES_MAX], seed[MDT_KEY_SEED_BYTES];
	mdt_pubkey npk;
	mdt__mp_writer w;
	int rc;

	if ((rc = complete_block(bd, b, &npk, seed, why)) != 0)
		return rc;
	mdt__mp_writer_init(&w, raw, sizeof(raw));
	if ((rc = mdt__tok_write_block(&w, b, bd->scopes)) != 0)
		rc = mdt__tok_fail(why, rc, -1, rc == -MDT_ETOOBIG ?
		    "block exceeds %d bytes" : "block cannot be encoded",
		    MDT_TOKEN_BLOCK_BYTES_MAX);
	else
		rc = write_token(bd, raw, w.len, b->sealed ? NULL : seed, out,
		    why);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* ------------------------------------------------------------- mint */

int
mdt__tok_check_str(const char *s, size_t max, const char *name, int block,
    mdt_token_reason *why)
{
	size_t n;

	if (s == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, block, "%s missing",
		    name);
	n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return mdt__tok_fail(why, n == 0 ? -MDT_EINVAL : -MDT_ETOOBIG,
		    block, "%s must be 1..%zu bytes", name, max);
	if (!mdt__utf8_ok(s, n, MDT__UTF8_CONTROLS))
		return mdt__tok_fail(why, -MDT_EPARSE, block,
		    "%s is not printable UTF-8", name);
	return 0;
}

int
mdt__tok_check_holder(const char *id, const mdt_pubkey *key, int block,
    mdt_token_reason *why)
{
	char err[MDT_ERRMSG_MAX];
	int rc;

	if ((rc = mdt__tok_check_str(id, MDT__TOK_HOLDER_MAX, "holder", block,
	    why)) != 0)
		return rc;
	if (key == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, block,
		    "holder key missing");
	if (mdt_spiffe_validate(id, strlen(id), err, sizeof(err)) != 0)
		return mdt__tok_fail(why, -MDT_EPARSE, block,
		    "holder is not a SPIFFE id: %s", err);
	return 0;
}

static int
check_mint(const mdt_token_mint_params *p, mdt_token_reason *why)
{
	const struct {
		const char *v;
		size_t max;
		const char *name;
		int optional;
	} strs[] = {
		{p->task_id, MDT_TOKEN_STR_MAX, "task id", 1},
		{p->parent_task_id, MDT_TOKEN_STR_MAX, "parent task id", 1},
		{p->clinician, MDT_TOKEN_STR_MAX, "clinician", 0},
		{p->patient, MDT_TOKEN_STR_MAX, "patient", 0},
		{p->purpose, MDT__TOK_PURPOSE_MAX, "purpose", 0},
		{p->audience, MDT_TOKEN_STR_MAX, "audience", 1},
	};
	int rc;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if ((strs[i].v != NULL || !strs[i].optional) &&
		    (rc = mdt__tok_check_str(strs[i].v, strs[i].max,
		    strs[i].name, 0, why)) != 0)
			return rc;
	if ((rc = mdt__tok_check_holder(p->holder_id, p->holder_key, 0,
	    why)) != 0)
		return rc;
	if (!mdt__tok_purpose_ok(p->purpose))
		return mdt__tok_fail(why, -MDT_EPARSE, 0,
		    "purpose %s is not a PurposeOfUse code", p->purpose);
	if (p->scopes == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, 0, "scopes missing");
	if (p->issued_at < 0 || p->expires_at <= p->issued_at)
		return mdt__tok_fail(why, -MDT_EINVAL, 0,
		    "expiry must follow a non-negative issued-at");
	if (p->depth > MDT_TOKEN_DEPTH_MAX)
		return mdt__tok_fail(why, -MDT_ETOOBIG, 0,
		    "depth %u above %d", p->depth, MDT_TOKEN_DEPTH_MAX);
	return 0;
}

int
mdt_token_mint(const mdt_keypair *root, const mdt_token_mint_params *p,
    mdt_token **out, mdt_token_reason *why)
{
	mdt__tok_block b;
	uint8_t kid[MDT_KEY_ID_BYTES], rnd[16];
	char task[2 * sizeof(rnd) + 1];
	mdt_pubkey rpk;
	mdt__tok_build bd;
	int rc;

	if (root == NULL || p == NULL || out == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "missing argument");
	if ((rc = check_mint(p, why)) != 0 || (rc = mdt__sodium_init()) != 0)
		return rc;
	mdt_keypair_public(root, &rpk);
	mdt_key_id(&rpk, kid);
	if (p->task_id == NULL) {
		randombytes_buf(rnd, sizeof(rnd));
		mdt__hex(rnd, sizeof(rnd), task);
	}
	memset(&b, 0, sizeof(b));
	b.has = MDT__TOK_B0_REQUIRED;
	b.version = MDT_TOKEN_VERSION;
	b.kid = kid;
	b.task = p->task_id != NULL ? p->task_id : task;
	b.parent = p->parent_task_id;
	b.iat = p->issued_at;
	b.exp = p->expires_at;
	b.holder = p->holder_id;
	b.holder_key = p->holder_key->bytes;
	b.clinician = p->clinician;
	b.patient = p->patient;
	b.purpose = p->purpose;
	b.depth = p->depth;
	b.audience = p->audience;
	if (p->parent_task_id != NULL)
		b.has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_PARENT_TASK);
	if (p->audience != NULL)
		b.has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_AUDIENCE);
	bd = (mdt__tok_build){.prev = NULL, .signer = root, .root = &rpk,
	    .next_seed = p->next_seed, .scopes = p->scopes};
	return mdt__tok_assemble(&bd, &b, out, why);
}
