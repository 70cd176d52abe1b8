/*
 * Attacks on tokens, each rejected with its specific reason: tampering at
 * every byte, truncation at every length and at block boundaries,
 * reordered and spliced blocks, re-signing with another root, forged
 * attenuation blocks that widen, extend depth or change fixed fields,
 * appending to a sealed token, and non-canonical encodings.
 */
#include <stdlib.h>
#include <string.h>

#include <mandate/token.h>

#include "alloc_int.h"
#include "key_int.h"
#include "testutil.h"
#include "token_fixture.h"
#include "token_int.h"

static mdt_keypair *root, *orch, *agent;
static mdt_pubkey root_pub;
static const uint8_t next_seed[32] = {0x55, 0x55, 0x55};

static void
setup(void)
{
	root = tf_key(1);
	orch = tf_key(2);
	agent = tf_key(3);
	root_pub = tf_pub(root);
}

static void
teardown(void)
{
	mdt_keypair_free(root);
	mdt_keypair_free(orch);
	mdt_keypair_free(agent);
}

/* A three-block unsealed token: mint, delegate, narrow. */
static mdt_token *
chain3(void)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs "
	    "patient/Condition.rs", 3, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent,
	    "patient/Observation.rs");
	mdt_token *n = tf_narrow(d, "patient/Observation.r");

	mdt_token_free(t);
	mdt_token_free(d);
	return n;
}

static int
open_bytes(const uint8_t *b, size_t len, mdt_token_reason *why)
{
	mdt_token *t = NULL;
	int rc = mdt_token_open(b, len, &root_pub, NULL, &t, why);

	mdt_token_free(t);
	return rc;
}

/* Region of byte `off` of the encoding: 'r' block raw, 's' signature,
 * 'p' proof, 'e' envelope structure; *block gets the block index. */
static char
region(const mdt_token *t, size_t off, int *block)
{
	const uint8_t *p = t->enc + off;

	for (size_t i = 0; i < t->nblocks; i++) {
		const mdt__tok_block *b = &t->blocks[i];

		*block = (int)i;
		if (p >= b->raw && p < b->raw + b->raw_len)
			return 'r';
		if (p >= b->sig && p < b->sig + MDT_KEY_SIG_BYTES)
			return 's';
	}
	*block = -1;
	if (t->proof != NULL && p >= t->proof && p < t->proof + 32)
		return 'p';
	return 'e';
}

/* Flips every byte of tok's encoding with three masks: each is refused,
 * with the reason at the right block for signatures, secret and blocks. */
static void
tamper_all(const mdt_token *t)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	size_t len;
	uint8_t *b = tf_bytes(t, &len);
	mdt_token_reason why;
	int last = (int)t->nblocks - 1;

	for (size_t off = 0; off < len; off++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			int block, rc;
			char reg = region(t, off, &block);

			b[off] ^= masks[m];
			rc = open_bytes(b, len, &why);
			b[off] ^= masks[m];
			ck_assert_msg(rc != 0, "byte %zu ^ %02x accepted", off,
			    masks[m]);
			if (reg == 's') {
				ck_assert_int_eq(rc, -MDT_ESIG);
				ck_assert_int_eq(why.block, block);
			} else if (reg == 'p') {
				ck_assert_int_eq(rc, -MDT_ECHAIN);
				ck_assert_int_eq(why.block, last);
			} else if (reg == 'r') {
				ck_assert_msg(why.block == block,
				    "byte %zu (block %d): reason at block %d: %s",
				    off, block, why.block, why.message);
			}
		}
	}
	free(b);
}

START_TEST(tamper_every_byte)
{
	mdt_token *t = chain3();
	mdt_token_single_params sp = {"r", "Observation/1",
	    "spiffe://clinic.example/fhir", TF_NOW, 60, NULL, root};
	mdt_token_reason why;
	mdt_token *s = NULL;

	tamper_all(t); /* unsealed: blocks, signatures, carried secret */
	ck_assert_int_eq(mdt_token_single_action(t, &sp, &s, &why), 0);
	tamper_all(s); /* sealed single-action token: no secret */
	mdt_token_free(s);
	mdt_token_free(t);
}
END_TEST

START_TEST(truncate_every_length)
{
	mdt_token *t = chain3();
	size_t len;
	uint8_t *b = tf_bytes(t, &len);
	mdt_token_reason why;

	for (size_t n = 0; n < len; n++) {
		int rc = open_bytes(b, n, &why);

		ck_assert_msg(rc == -MDT_EDECODE || (n == 0 && rc == -MDT_EINVAL),
		    "length %zu: %d %s", n, rc, why.message);
	}
	/* A trailing byte is refused too. */
	b = realloc(b, len + 1);
	b[len] = 0xc0;
	ck_assert_int_eq(open_bytes(b, len + 1, &why), -MDT_EDECODE);
	free(b);
	mdt_token_free(t);
}
END_TEST

/* Encodes tok's blocks in the given order (indices), with a proof. */
static uint8_t *
reencode(const mdt_token *tok, const size_t *order, size_t n,
    const uint8_t *proof, size_t *len)
{
	mdt_token copy;
	mdt__mp_writer w;
	uint8_t *out;

	memcpy(&copy, tok, sizeof(copy));
	for (size_t i = 0; i < n; i++)
		copy.blocks[i] = tok->blocks[order[i]];
	copy.nblocks = n;
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, &copy, NULL, proof), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, len), 0);
	return out;
}

START_TEST(truncate_at_block_boundaries)
{
	static const size_t order[] = {0, 1, 2};
	mdt_token *t = chain3();
	mdt_token_reason why;
	uint8_t *b;
	size_t len;

	for (size_t k = 1; k < 3; k++) {
		/* Blocks dropped, carried secret kept: it does not match. */
		b = reencode(t, order, k, t->proof, &len);
		ck_assert_int_eq(open_bytes(b, len, &why), -MDT_ECHAIN);
		ck_assert_int_eq(why.block, (int)k - 1);
		/* Nor can it be attenuated offline. */
		{
			mdt_token *d = NULL, *x = NULL;
			mdt_token_attenuate_params p;

			ck_assert_int_eq(mdt_token_decode(b, len, &d, &why), 0);
			memset(&p, 0, sizeof(p));
			p.depth = MDT_TOKEN_KEEP_DEPTH;
			ck_assert_int_eq(mdt_token_attenuate(d, &p, &x, &why),
			    -MDT_ECHAIN);
			ck_assert_ptr_null(x);
			mdt_token_free(d);
		}
		free(b);
		/* Without any secret: an unsealed token must carry one. */
		b = reencode(t, order, k, NULL, &len);
		ck_assert_int_eq(open_bytes(b, len, &why), -MDT_EDECODE);
		free(b);
	}
	mdt_token_free(t);
}
END_TEST

START_TEST(reordered_blocks)
{
	static const size_t swap12[] = {0, 2, 1};
	static const size_t swap01[] = {1, 0, 2};
	mdt_token *t = chain3();
	mdt_token_reason why;
	uint8_t *b;
	size_t len;

	b = reencode(t, swap12, 3, t->proof, &len);
	ck_assert_int_eq(open_bytes(b, len, &why), -MDT_ESIG);
	ck_assert_int_eq(why.block, 1);
	free(b);
	b = reencode(t, swap01, 3, t->proof, &len);
	ck_assert_int_eq(open_bytes(b, len, &why), -MDT_EDECODE);
	ck_assert_int_eq(why.block, 0); /* block 0 lacks required fields */
	free(b);
	mdt_token_free(t);
}
END_TEST

/*
 * Splicing: block 1 of token B appended to block 0 of token A.  Both
 * block 0s announce the SAME next key (same seed), so the key matches;
 * only the chaining of each signature on the previous one refuses it.
 */
START_TEST(spliced_from_two_tokens)
{
	mdt_token *a0 = tf_mint(root, orch, "patient/Observation.r", 2, 9);
	mdt_token *b0 = tf_mint(root, orch, "patient/Observation.rs "
	    "patient/Condition.rs", 2, 9);
	mdt_token *b1 = tf_narrow(b0, "patient/Condition.rs");
	mdt_token spliced;
	mdt_token_reason why;
	mdt__mp_writer w;
	uint8_t *out;
	size_t len;

	ck_assert_mem_eq(a0->blocks[0].next_key, b0->blocks[0].next_key, 32);
	memcpy(&spliced, b1, sizeof(spliced));
	spliced.blocks[0] = a0->blocks[0];
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, &spliced, NULL,
	    b1->proof), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, &len), 0);
	ck_assert_int_eq(open_bytes(out, len, &why), -MDT_ESIG);
	ck_assert_int_eq(why.block, 1);
	mdt_free(out);
	mdt_token_free(a0);
	mdt_token_free(b0);
	mdt_token_free(b1);
}
END_TEST

START_TEST(resigned_with_another_root)
{
	mdt_keypair *evil = tf_key(66);
	mdt_token *t = tf_mint(evil, orch, "patient/*.cruds", 2, 9);
	mdt_token_reason why;
	mdt__tok_block b;
	mdt__tok_build bd;
	mdt_pubkey epub = tf_pub(evil);
	uint8_t kid[MDT_KEY_ID_BYTES];
	mdt_token *forged = NULL;
	uint8_t *bytes;
	size_t len;

	/* Plainly signed by another key: the key id says so. */
	bytes = tf_bytes(t, &len);
	ck_assert_int_eq(open_bytes(bytes, len, &why), -MDT_EKEY);
	ck_assert_int_eq(why.block, 0);
	free(bytes);
	/* Claiming the real root's key id: the signature says so. */
	b = t->blocks[0];
	b.scopes = NULL;
	mdt_key_id(&root_pub, kid);
	b.kid = kid;
	b.has &= ~MDT_TOKEN_F(MDT_TOKEN_FIELD_NEXT_KEY);
	b.next_key = NULL;
	bd = (mdt__tok_build){.signer = evil, .root = &epub,
	    .next_seed = next_seed, .scopes = t->blocks[0].scopes};
	ck_assert_int_eq(mdt__tok_assemble(&bd, &b, &forged, &why), 0);
	bytes = tf_bytes(forged, &len);
	ck_assert_int_eq(open_bytes(bytes, len, &why), -MDT_ESIG);
	ck_assert_int_eq(why.block, 0);
	free(bytes);
	mdt_token_free(forged);
	mdt_token_free(t);
	mdt_keypair_free(evil);
}
END_TEST

/*
 * Appends raw block bytes, no rules: signed with tok's carried secret as
 * a chained block, or, when broker is not NULL, with that key as a broker
 * block.
 */
static uint8_t *
forge_by(const mdt_token *tok, const uint8_t *raw, size_t raw_len,
    int sealed, const mdt_keypair *broker, size_t *len)
{
	mdt_keypair *kp = NULL;
	uint8_t sig[64], *out;
	mdt__tok_raw extra = {raw, raw_len, sig};
	mdt__mp_writer w;

	if (broker == NULL)
		ck_assert_int_eq(mdt_keypair_from_seed(tok->proof, &kp), 0);
	ck_assert_int_eq(mdt__tok_sign_block(broker != NULL ? broker : kp,
	    (uint32_t)tok->nblocks, tok->blocks[tok->nblocks - 1].sig, raw,
	    raw_len, broker != NULL, sig), 0);
	mdt_keypair_free(kp);
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, tok, &extra,
	    sealed ? NULL : next_seed), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, len), 0);
	return out;
}

static uint8_t *
forge(const mdt_token *tok, const uint8_t *raw, size_t raw_len, int sealed,
    size_t *len)
{
	return forge_by(tok, raw, raw_len, sealed, NULL, len);
}

/* Writes the next key field (16) of next_seed's key. */
static void
write_next(mdt__mp_writer *w)
{
	uint8_t pk[32];

	ck_assert_int_eq(mdt__seed_public(next_seed, pk), 0);
	mdt__mp_write_uint(w, MDT_TOKEN_FIELD_NEXT_KEY);
	mdt__mp_write_bin(w, pk, 32);
}

/* Forges a block {key: string} + next key on tok; returns open's rc. */
static int
forge_str_field(const mdt_token *tok, unsigned key, const char *v,
    mdt_token_reason *why)
{
	uint8_t raw[512], *bytes;
	mdt__mp_writer w;
	size_t len;
	int rc;

	mdt__mp_writer_init(&w, raw, sizeof(raw));
	mdt__mp_write_map(&w, 2);
	mdt__mp_write_uint(&w, key);
	mdt__mp_write_cstr(&w, v);
	write_next(&w);
	bytes = forge(tok, raw, w.len, 0, &len);
	rc = open_bytes(bytes, len, why);
	mdt_free(bytes);
	return rc;
}

/* Forges a block with a scope list + next key. */
static int
forge_scopes(const mdt_token *tok, const char *const *scopes, size_t n,
    mdt_token_reason *why)
{
	uint8_t raw[1024], *bytes;
	mdt__mp_writer w;
	size_t len;
	int rc;

	mdt__mp_writer_init(&w, raw, sizeof(raw));
	mdt__mp_write_map(&w, 2);
	mdt__mp_write_uint(&w, MDT_TOKEN_FIELD_SCOPES);
	mdt__mp_write_array(&w, n);
	for (size_t i = 0; i < n; i++)
		mdt__mp_write_cstr(&w, scopes[i]);
	write_next(&w);
	bytes = forge(tok, raw, w.len, 0, &len);
	rc = open_bytes(bytes, len, why);
	mdt_free(bytes);
	return rc;
}

START_TEST(forged_blocks_breaking_rules)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.r", 1, 9);
	/* depth 0 after this */
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent, NULL);
	static const char *const wide[] = {"patient/Observation.rs"};
	static const char *const ctx[] = {"user/Observation.r"};
	static const char *const same[] = {"patient/Observation.r"};
	mdt_token_reason why;

	/* Sanity: a well-formed forged block passes (the helper works). */
	ck_assert_msg(forge_scopes(t, same, 1, &why) == 0, "%s", why.message);
	/* Widening, caught at verify (not only at attenuate). */
	ck_assert_int_eq(forge_scopes(t, wide, 1, &why), -MDT_ESCOPE);
	ck_assert_int_eq(why.block, 1);
	ck_assert_int_eq(forge_scopes(t, ctx, 1, &why), -MDT_ESCOPE);
	/* Fixed fields cannot appear after block 0. */
	ck_assert_int_eq(forge_str_field(t, MDT_TOKEN_FIELD_PATIENT, "other",
	    &why), -MDT_EDECODE);
	ck_assert_int_eq(why.block, 1);
	ck_assert_int_eq(forge_str_field(t, MDT_TOKEN_FIELD_CLINICIAN, "dr-x",
	    &why), -MDT_EDECODE);
	ck_assert_int_eq(forge_str_field(t, MDT_TOKEN_FIELD_PURPOSE, "HMARKT",
	    &why), -MDT_EDECODE);
	ck_assert_int_eq(forge_str_field(t, MDT_TOKEN_FIELD_PARENT_TASK, "t0",
	    &why), -MDT_EDECODE);
	/* A holder without its key. */
	ck_assert_int_eq(forge_str_field(t, MDT_TOKEN_FIELD_HOLDER, TF_AGENT,
	    &why), -MDT_EDECODE);
	/* Audience: once set it cannot change. */
	{
		mdt_token_attenuate_params p;
		mdt_token *a = NULL;

		memset(&p, 0, sizeof(p));
		p.depth = MDT_TOKEN_KEEP_DEPTH;
		p.audience = "spiffe://clinic.example/fhir";
		ck_assert_int_eq(mdt_token_attenuate(t, &p, &a, &why), 0);
		ck_assert_int_eq(forge_str_field(a, MDT_TOKEN_FIELD_AUDIENCE,
		    "spiffe://clinic.example/other", &why), -MDT_EAUDIENCE);
		ck_assert_int_eq(why.block, 2);
		ck_assert_int_eq(forge_str_field(a, MDT_TOKEN_FIELD_AUDIENCE,
		    "spiffe://clinic.example/fhir", &why), 0);
		mdt_token_free(a);
	}
	/* Depth: exhausted, or not decreasing, even in broker blocks. */
	{
		uint8_t raw[512], *bytes;
		mdt__mp_writer w;
		mdt_pubkey hk = tf_pub(orch);
		size_t len;

		mdt__mp_writer_init(&w, raw, sizeof(raw));
		mdt__mp_write_map(&w, 5);
		mdt__mp_write_uint(&w, MDT_TOKEN_FIELD_HOLDER);
		mdt__mp_write_cstr(&w, TF_ORCH);
		mdt__mp_write_uint(&w, MDT_TOKEN_FIELD_HOLDER_KEY);
		mdt__mp_write_bin(&w, hk.bytes, 32);
		mdt__mp_write_uint(&w, MDT_TOKEN_FIELD_DEPTH);
		mdt__mp_write_uint(&w, 0);
		write_next(&w);
		mdt__mp_write_uint(&w, MDT_TOKEN_FIELD_BROKER);
		mdt__mp_write_bool(&w, 1);
		bytes = forge_by(d, raw, w.len, 0, root, &len);
		ck_assert_int_eq(open_bytes(bytes, len, &why), -MDT_EDEPTH);
		ck_assert_int_eq(why.block, 2);
		mdt_free(bytes);
		/* Delegation without lowering depth, at depth 1. */
		mdt__mp_writer_init(&w, raw, sizeof(raw));
		mdt__mp_write_map(&w, 4);
		mdt__mp_write_uint(&w, MDT_TOKEN_FIELD_HOLDER);
		mdt__mp_write_cstr(&w, TF_ORCH);
		mdt__mp_write_uint(&w, MDT_TOKEN_FIELD_HOLDER_KEY);
		mdt__mp_write_bin(&w, hk.bytes, 32);
		write_next(&w);
		mdt__mp_write_uint(&w, MDT_TOKEN_FIELD_BROKER);
		mdt__mp_write_bool(&w, 1);
		bytes = forge_by(t, raw, w.len, 0, root, &len);
		ck_assert_int_eq(open_bytes(bytes, len, &why), -MDT_EDEPTH);
		ck_assert_int_eq(why.block, 1);
		mdt_free(bytes);
	}
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

START_TEST(sealed_cannot_be_extended)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.r", 1, 9);
	mdt_token *s = NULL;
	mdt_token_reason why;
	uint8_t raw[128], sig[64], *out;
	mdt__mp_writer w;
	mdt_keypair *kp;
	mdt_token ext;
	size_t len;

	ck_assert_int_eq(mdt_token_seal(t, &s, &why), 0);
	/* Whoever held the unsealed token signs a block after the seal
	 * block with the old secret: refused. */
	mdt__mp_writer_init(&w, raw, sizeof(raw));
	mdt__mp_write_map(&w, 1);
	write_next(&w);
	ck_assert_int_eq(mdt_keypair_from_seed(t->proof, &kp), 0);
	ck_assert_int_eq(mdt__tok_sign_block(kp, 2, s->blocks[1].sig, raw,
	    w.len, 0, sig), 0);
	mdt_keypair_free(kp);
	memcpy(&ext, s, sizeof(ext));
	ext.blocks[2] = (mdt__tok_block){.raw = raw, .raw_len = w.len,
	    .sig = sig};
	ext.nblocks = 3;
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, &ext, NULL, next_seed), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, &len), 0);
	ck_assert_int_eq(open_bytes(out, len, &why), -MDT_ESEALED);
	ck_assert_int_eq(why.block, 1);
	mdt_free(out);
	/* A sealed token that carries a secret is malformed. */
	out = reencode(s, (const size_t[]){0, 1}, 2, next_seed, &len);
	ck_assert_int_eq(open_bytes(out, len, &why), -MDT_EDECODE);
	free(out);
	mdt_token_free(s);
	mdt_token_free(t);
}
END_TEST

/* Signs raw (any bytes) as the next block of t, then opens the result. */
static int
open_forged_raw(const mdt_token *t, const uint8_t *raw, size_t n,
    mdt_token_reason *why)
{
	size_t len;
	uint8_t *bytes = forge(t, raw, n, 0, &len);
	int rc = open_bytes(bytes, len, why);

	mdt_free(bytes);
	return rc;
}

START_TEST(non_canonical_encodings)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 3, 9);
	uint8_t pk[32], raw[128];
	size_t n;
	mdt_token_reason why;
	static const char *const unordered[] = {"patient/Patient.r",
	    "patient/Observation.r"};
	static const char *const v1[] = {"patient/Observation.read"};
	static const char *const dup[] = {"patient/Observation.r",
	    "patient/Observation.r"};

	ck_assert_int_eq(mdt__seed_public(next_seed, pk), 0);
	/* {13: depth 1 as uint8 (0xcc 0x01), 16: next key} */
	n = 0;
	raw[n++] = 0x82;
	raw[n++] = 0x0d;
	raw[n++] = 0xcc;
	raw[n++] = 0x01;
	raw[n++] = 0x10;
	raw[n++] = 0xc4;
	raw[n++] = 0x20;
	memcpy(raw + n, pk, 32);
	n += 32;
	ck_assert_int_eq(open_forged_raw(t, raw, n, &why), -MDT_EDECODE);
	ck_assert_int_eq(why.block, 1);
	ck_assert_ptr_nonnull(strstr(why.message, "shortest"));
	/* The same block in canonical form is accepted. */
	raw[2] = 0x01;
	memmove(raw + 3, raw + 4, n - 4);
	ck_assert_msg(open_forged_raw(t, raw, n - 1, &why) == 0, "%s",
	    why.message);
	/* Trailing byte inside the block. */
	raw[n - 1] = 0xc0;
	ck_assert_int_eq(open_forged_raw(t, raw, n, &why), -MDT_EDECODE);
	ck_assert_ptr_nonnull(strstr(why.message, "trailing"));
	/* Duplicate key: {13: 1, 13: 0, 16: key} */
	memmove(raw + 5, raw + 3, n - 4);
	raw[0] = 0x83;
	raw[3] = 0x0d;
	raw[4] = 0x00;
	ck_assert_int_eq(open_forged_raw(t, raw, n + 1, &why), -MDT_EDECODE);
	ck_assert_ptr_nonnull(strstr(why.message, "repeated"));
	/* Unknown field 20 (19, the last, is the broker flag). */
	raw[0] = 0x82;
	raw[1] = 0x10;
	raw[2] = 0xc4;
	raw[3] = 0x20;
	memcpy(raw + 4, pk, 32);
	raw[36] = 0x14;
	raw[37] = 0x01;
	ck_assert_int_eq(open_forged_raw(t, raw, 38, &why), -MDT_EDECODE);
	ck_assert_ptr_nonnull(strstr(why.message, "unknown field"));
	/* sealed: false (canonical form omits it) */
	raw[0] = 0x81;
	raw[1] = 0x11;
	raw[2] = 0xc2;
	ck_assert_int_eq(open_forged_raw(t, raw, 3, &why), -MDT_EDECODE);
	/* Scopes out of order, in v1 form, or repeated. */
	ck_assert_int_eq(forge_scopes(t, unordered, 2, &why), -MDT_EDECODE);
	ck_assert_int_eq(forge_scopes(t, v1, 1, &why), -MDT_EDECODE);
	ck_assert_int_eq(forge_scopes(t, dup, 2, &why), -MDT_EDECODE);
	/* Empty string field. */
	ck_assert_int_eq(forge_str_field(t, MDT_TOKEN_FIELD_TASK, "", &why),
	    -MDT_EDECODE);
	mdt_token_free(t);
}
END_TEST

START_TEST(envelope_non_canonical)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 3, 9);
	size_t len;
	uint8_t *b = tf_bytes(t, &len), *w;
	mdt_token_reason why;

	/* The envelope starts {1: 1, ...}: widen the version to uint8. */
	ck_assert_uint_eq(b[0], 0x83);
	ck_assert_uint_eq(b[1], 0x01);
	ck_assert_uint_eq(b[2], 0x01);
	w = malloc(len + 1);
	memcpy(w, b, 2);
	w[2] = 0xcc;
	w[3] = 0x01;
	memcpy(w + 4, b + 3, len - 3);
	ck_assert_int_eq(open_bytes(w, len + 1, &why), -MDT_EDECODE);
	/* Version 2: refused as such. */
	b[2] = 0x02;
	ck_assert_int_eq(open_bytes(b, len, &why), -MDT_EVERSION);
	/* Oversize input. */
	ck_assert_int_eq(open_bytes(b, MDT_TOKEN_BYTES_MAX + 1, &why),
	    -MDT_ETOOBIG);
	free(w);
	free(b);
	mdt_token_free(t);
}
END_TEST

START_TEST(allocation_failures_fail_closed)
{
	mdt_token *t = chain3(), *x;
	size_t len;
	uint8_t *b = tf_bytes(t, &len);
	mdt_token_reason why;
	int ok = 0;

	for (long n = 0; n < 200 && !ok; n++) {
		int rc;

		x = NULL;
		mdt__alloc_fail_after(n);
		rc = mdt_token_open(b, len, &root_pub, NULL, &x, &why);
		mdt__alloc_fail_after(-1);
		if (rc == 0) {
			ok = 1;
			mdt_token_free(x);
		} else {
			ck_assert_ptr_null(x);
			ck_assert_int_ne(rc, 0);
		}
	}
	ck_assert(ok);
	free(b);
	mdt_token_free(t);
}
END_TEST

static Suite *
attack_suite(void)
{
	Suite *s = suite_create("token_attack");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tamper_every_byte);
	tcase_add_test(tc, truncate_every_length);
	tcase_add_test(tc, truncate_at_block_boundaries);
	tcase_add_test(tc, reordered_blocks);
	tcase_add_test(tc, spliced_from_two_tokens);
	tcase_add_test(tc, resigned_with_another_root);
	tcase_add_test(tc, forged_blocks_breaking_rules);
	tcase_add_test(tc, sealed_cannot_be_extended);
	tcase_add_test(tc, non_canonical_encodings);
	tcase_add_test(tc, envelope_non_canonical);
	tcase_add_test(tc, allocation_failures_fail_closed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(attack_suite());
}
