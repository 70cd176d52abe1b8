/* Token fixtures for the token suites (see token_fixture.h). */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <sodium.h>

#include "alloc_int.h"
#include "key_int.h"
#include "token_int.h"
#include "token_fixture.h"

mdt_keypair *
tf_key(uint8_t fill)
{
	uint8_t seed[MDT_KEY_SEED_BYTES];
	mdt_keypair *kp = NULL;

	memset(seed, fill, sizeof(seed));
	ck_assert_int_eq(mdt_keypair_from_seed(seed, &kp), 0);
	return kp;
}

mdt_pubkey
tf_pub(const mdt_keypair *kp)
{
	mdt_pubkey pk;

	mdt_keypair_public(kp, &pk);
	return pk;
}

mdt_scope_set *
tf_scopes(const char *text)
{
	mdt_scope_set *set = NULL;
	char err[MDT_ERRMSG_MAX];
	int rc = mdt_scope_set_parse(text, strlen(text), &set, err, sizeof(err));

	ck_assert_msg(rc == 0, "scopes '%s': %s", text, err);
	return set;
}

mdt_token *
tf_mint(const mdt_keypair *root, const mdt_keypair *holder,
    const char *scopes, uint32_t depth, uint8_t salt)
{
	mdt_token_mint_params p;
	mdt_token_reason why;
	mdt_pubkey hk = tf_pub(holder);
	uint8_t seed[MDT_KEY_SEED_BYTES];
	mdt_scope_set *set = tf_scopes(scopes);
	mdt_token *tok = NULL;
	int rc;

	memset(seed, salt, sizeof(seed));
	memset(&p, 0, sizeof(p));
	p.task_id = "task-1";
	p.clinician = "dr-house";
	p.patient = TF_PATIENT;
	p.purpose = "TREAT";
	p.scopes = set;
	p.issued_at = TF_NOW;
	p.expires_at = TF_NOW + TF_TTL;
	p.depth = depth;
	p.holder_id = TF_ORCH;
	p.holder_key = &hk;
	p.next_seed = seed;
	rc = mdt_token_mint(root, &p, &tok, &why);
	mdt_scope_set_free(set);
	ck_assert_msg(rc == 0, "mint: %s", why.message);
	return tok;
}

static mdt_token *
attenuate(const mdt_token *tok, mdt_token_attenuate_params *p,
    const char *scopes)
{
	mdt_token_reason why;
	mdt_scope_set *set = scopes != NULL ? tf_scopes(scopes) : NULL;
	mdt_token *out = NULL;
	int rc;

	p->scopes = set;
	rc = mdt_token_attenuate(tok, p, &out, &why);
	mdt_scope_set_free(set);
	ck_assert_msg(rc == 0, "attenuate: %s", why.message);
	return out;
}

mdt_token *
tf_narrow(const mdt_token *tok, const char *scopes)
{
	mdt_token_attenuate_params p;

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	return attenuate(tok, &p, scopes);
}

mdt_token *
tf_delegate(const mdt_token *tok, const mdt_keypair *root,
    const char *holder_id, const mdt_keypair *holder, const char *scopes)
{
	mdt_token_attenuate_params p;
	mdt_pubkey hk = tf_pub(holder);

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.broker = root;
	p.holder_id = holder_id;
	p.holder_key = &hk;
	return attenuate(tok, &p, scopes);
}

int
tf_check(const mdt_token *tok, const char *action, const char *resource,
    int64_t now, mdt_token_reason *why)
{
	mdt_token_check_params p;

	memset(&p, 0, sizeof(p));
	p.action = action;
	p.resource = resource;
	p.patient = TF_PATIENT;
	p.now = now;
	return mdt_token_check(tok, &p, why);
}

uint8_t *
tf_bytes(const mdt_token *tok, size_t *len)
{
	const uint8_t *b = mdt_token_bytes(tok, len);
	uint8_t *copy = malloc(*len);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, b, *len);
	return copy;
}

uint8_t *
tf_offline_holder(const mdt_token *tok, const char *holder_id,
    const mdt_pubkey *hk, size_t *len)
{
	uint8_t seed[MDT_KEY_SEED_BYTES], pk[MDT_KEY_PUBLIC_BYTES];
	uint8_t raw[1024], sig[MDT_KEY_SIG_BYTES], *out = NULL;
	uint32_t depth = mdt_token_depth(tok);
	mdt__tok_block b;
	mdt__mp_writer w;
	mdt_keypair *carried = NULL;
	mdt__tok_raw extra = {raw, 0, sig};

	randombytes_buf(seed, sizeof(seed));
	ck_assert_int_eq(mdt__seed_public(seed, pk), 0);
	memset(&b, 0, sizeof(b));
	b.has = MDT_TOKEN_F(MDT_TOKEN_FIELD_NEXT_KEY) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER_KEY) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_DEPTH);
	b.next_key = pk;
	b.holder = holder_id;
	b.holder_key = hk->bytes;
	b.depth = depth > 0 ? depth - 1 : 0;
	mdt__mp_writer_init(&w, raw, sizeof(raw));
	ck_assert_int_eq(mdt__tok_write_block(&w, &b, NULL), 0);
	extra.raw_len = w.len;
	ck_assert_ptr_nonnull(tok->proof);
	ck_assert_int_eq(mdt_keypair_from_seed(tok->proof, &carried), 0);
	ck_assert_int_eq(mdt__tok_sign_block(carried, (uint32_t)tok->nblocks,
	    tok->blocks[tok->nblocks - 1].sig, raw, extra.raw_len, 0, sig), 0);
	mdt_keypair_free(carried);
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, tok, &extra, seed), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, len), 0);
	sodium_memzero(seed, sizeof(seed));
	return out;
}
