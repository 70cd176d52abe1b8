/*
 * Fuzz harness for the token decoder and verifier.  Any input either is
 * refused with a reason, or decodes into a token such that:
 *   - re-encoding every decoded block gives back its exact bytes (the
 *     reader accepts nothing the canonical writer would not produce);
 *   - the text form round-trips to the same bytes and token id;
 *   - accessors, block views, JSON and the effective scopes work;
 *   - verification under the test-vector root key (seed 32 x 0x01), with
 *     and without the cache, agrees; in a verified token every block that
 *     changes holder or task is a broker block; and it answers a request,
 *     also as a resource server, without error codes outside the
 *     documented set;
 *   - an unsealed token attenuates offline into one more block, or is
 *     refused because its carried secret does not match.
 * The input is also tried as a token's text form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/token.h>

#include "token_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mdt_pubkey root;
static mdt_token_cache *cache;

static void
init(void)
{
	uint8_t seed[32];
	mdt_keypair *kp;

	if (cache != NULL)
		return;
	memset(seed, 0x01, sizeof(seed));
	if (mdt_keypair_from_seed(seed, &kp) != 0 ||
	    mdt_token_cache_new(256, &cache) != 0)
		abort();
	mdt_keypair_public(kp, &root);
	mdt_keypair_free(kp);
}

static void
check_canonical(const mdt_token *t)
{
	uint8_t buf[MDT_TOKEN_BLOCK_BYTES_MAX];

	for (size_t i = 0; i < t->nblocks; i++) {
		const mdt__tok_block *b = &t->blocks[i];
		mdt__mp_writer w;

		mdt__mp_writer_init(&w, buf, sizeof(buf));
		if (mdt__tok_write_block(&w, b, b->scopes) != 0 ||
		    w.len != b->raw_len || memcmp(buf, b->raw, w.len) != 0)
			abort();
	}
}

static void
check_text(const mdt_token *t)
{
	char *text;
	mdt_token *back = NULL;
	size_t l1, l2;
	const uint8_t *b1 = mdt_token_bytes(t, &l1), *b2;

	if (mdt_token_to_text(t, &text) != 0)
		return; /* allocation failure only */
	if (mdt_token_decode_text(text, strlen(text), &back, NULL) != 0)
		abort();
	b2 = mdt_token_bytes(back, &l2);
	if (l1 != l2 || memcmp(b1, b2, l1) != 0)
		abort();
	mdt_token_text_free(text);
	mdt_token_free(back);
}

static void
check_views(const mdt_token *t)
{
	mdt_token_block_view v;
	mdt_scope_set *s = NULL;
	char *json = NULL;

	for (size_t i = 0; i < mdt_token_block_count(t); i++)
		if (mdt_token_block(t, i, &v) != 0 || v.signature == NULL ||
		    !v.broker != !(v.fields & MDT_TOKEN_F(MDT_TOKEN_FIELD_BROKER)))
			abort();
	if (mdt_token_block(t, mdt_token_block_count(t), &v) != -MDT_EINVAL)
		abort();
	if (mdt_token_task_id(t) == NULL || mdt_token_holder_id(t) == NULL ||
	    mdt_token_patient(t) == NULL)
		abort();
	if (mdt_token_scopes(t, &s) == 0)
		mdt_scope_set_free(s);
	if (mdt_token_to_json(t, &json) == 0)
		mdt_free(json);
}

/* The holder rule, on whatever verified. */
static void
check_holder_rule(const mdt_token *t)
{
	const unsigned changes = MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER_KEY) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_TASK) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_PARENT_TASK);
	mdt_token_block_view v;

	for (size_t i = 1; i < mdt_token_block_count(t); i++)
		if (mdt_token_block(t, i, &v) != 0 ||
		    ((v.fields & changes) && !v.broker))
			abort();
}

static void
check_verified(mdt_token *t)
{
	mdt_token_check_params p;
	mdt_token_reason why;
	int a, b;

	a = mdt_token_verify(t, &root, NULL, &why);
	b = mdt_token_verify(t, &root, cache, &why);
	if (a != b)
		abort();
	if (a != 0)
		return;
	check_holder_rule(t);
	memset(&p, 0, sizeof(p));
	p.action = "r";
	p.resource = "Observation/obs-1";
	p.patient = mdt_token_patient(t);
	p.now = mdt_token_issued_at(t) + 1;
	a = mdt_token_check(t, &p, &why);
	if (a != 0 && a != -MDT_ESCOPE && a != -MDT_EEXPIRED &&
	    a != -MDT_EAUDIENCE)
		abort();
	p.audience = mdt_token_audience(t);
	p.flags = MDT_TOKEN_CHECK_SINGLE_ACTION;
	a = mdt_token_check(t, &p, &why);
	if (a != 0 && a != -MDT_ESCOPE && a != -MDT_EEXPIRED &&
	    a != -MDT_EAUDIENCE && a != -MDT_EHOLDER)
		abort();
}

static void
check_attenuate(const mdt_token *t)
{
	mdt_token_attenuate_params p;
	mdt_token *out = NULL;
	mdt_token_reason why;
	int rc;

	if (mdt_token_is_sealed(t) ||
	    mdt_token_block_count(t) >= MDT_TOKEN_BLOCKS_MAX)
		return;
	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.seal = 1;
	rc = mdt_token_attenuate(t, &p, &out, &why);
	if (rc == 0 && mdt_token_block_count(out) != mdt_token_block_count(t) + 1)
		abort();
	if (rc != 0 && rc != -MDT_ECHAIN && rc != -MDT_ETOOBIG &&
	    rc != -MDT_ENOMEM && rc != -MDT_ESCOPE && rc != -MDT_EDEPTH &&
	    rc != -MDT_EAUDIENCE && rc != -MDT_EHOLDER)
		abort();
	mdt_token_free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mdt_token *t = NULL;
	mdt_token_reason why;

	init();
	if (mdt_token_decode(data, size, &t, &why) == 0) {
		check_canonical(t);
		check_text(t);
		check_views(t);
		check_attenuate(t);
		check_verified(t);
		mdt_token_free(t);
	} else if (why.message[0] == '\0' || why.code >= 0) {
		abort();
	}
	if (mdt_token_decode_text((const char *)data, size, &t, &why) == 0) {
		check_canonical(t);
		mdt_token_free(t);
	}
	return 0;
}
