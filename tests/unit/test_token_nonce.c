/*
 * The nonce field of attenuation blocks: single-action tokens made for the
 * same request in the same second differ and both verify; the nonce is
 * covered by the block signature; a nonce of the wrong length or type, in
 * a non-canonical encoding, or in block 0 is refused by the decoder even
 * when correctly signed.
 */
#include <stdlib.h>
#include <string.h>

#include <mandate/token.h>

#include "alloc_int.h"
#include "testutil.h"
#include "token_fixture.h"
#include "token_int.h"

#define AUD "spiffe://clinic.example/fhir"
#define RES "Observation/42"

static mdt_keypair *root, *orch, *agent;
static mdt_pubkey root_pub;
static mdt_token *task, *deleg;

static void
setup(void)
{
	root = tf_key(1);
	orch = tf_key(2);
	agent = tf_key(3);
	root_pub = tf_pub(root);
	task = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	deleg = tf_delegate(task, root, TF_AGENT, agent, NULL);
}

static void
teardown(void)
{
	mdt_token_free(deleg);
	mdt_token_free(task);
	mdt_keypair_free(root);
	mdt_keypair_free(orch);
	mdt_keypair_free(agent);
}

/* A single-action token made by the broker (root) or offline (NULL). */
static mdt_token *
single_by(const uint8_t *nonce, const mdt_keypair *broker)
{
	mdt_token_single_params sp = {"r", RES, AUD, TF_NOW, 60, nonce,
	    broker};
	mdt_token_reason why;
	mdt_token *out = NULL;

	ck_assert_msg(mdt_token_single_action(deleg, &sp, &out, &why) == 0,
	    "%s", why.message);
	return out;
}

/* Made by the broker, as resource servers require. */
static mdt_token *
single(const uint8_t *nonce)
{
	return single_by(nonce, root);
}

/* What a resource server accepting only single-action tokens answers. */
static int
rs_check(const mdt_token *t, mdt_token_reason *why)
{
	mdt_token_check_params p;

	memset(&p, 0, sizeof(p));
	p.action = "r";
	p.resource = RES;
	p.patient = TF_PATIENT;
	p.now = TF_NOW + 1;
	p.audience = AUD;
	p.flags = MDT_TOKEN_CHECK_SINGLE_ACTION;
	return mdt_token_check(t, &p, why);
}

/* Offset of needle in hay, or -1. */
static long
find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return (long)i;
	return -1;
}

/*
 * A token made of base's blocks (none when base is NULL) and one more
 * block with the given bytes, correctly signed by signer: whatever the
 * decoder then refuses, it refuses for the content, not the signature.
 * Caller frees *out with mdt__free.
 */
static void
forge(const mdt_token *base, const uint8_t *raw, size_t len,
    const mdt_keypair *signer, const uint8_t *proof, uint8_t **out,
    size_t *outlen)
{
	uint8_t sig[MDT_KEY_SIG_BYTES];
	mdt__mp_writer w;
	mdt__tok_raw extra;

	ck_assert_int_eq(mdt__tok_sign_block(signer, base == NULL ? 0 :
	    (uint32_t)base->nblocks, base == NULL ? NULL :
	    base->blocks[base->nblocks - 1].sig, raw, len, 0, sig), 0);
	extra = (mdt__tok_raw){raw, len, sig};
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, base, &extra, proof), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, out, outlen), 0);
}

/* Opens forged bytes; returns the status and frees everything. */
static int
open_forged(uint8_t *bytes, size_t len, mdt_token_reason *why)
{
	mdt_token *t = NULL;
	int rc = mdt_token_open(bytes, len, &root_pub, NULL, &t, why);

	mdt_token_free(t);
	mdt__free(bytes);
	return rc;
}

START_TEST(same_second_tokens_differ_and_verify)
{
	mdt_token *a = single(NULL), *b = single(NULL), *ra, *rb;
	mdt_token_block_view va, vb;
	uint8_t ida[MDT_TOKEN_ID_BYTES], idb[MDT_TOKEN_ID_BYTES];
	mdt_token_reason why;
	size_t la, lb;
	const uint8_t *pa = mdt_token_bytes(a, &la), *pb = mdt_token_bytes(b,
	    &lb);

	ck_assert_uint_eq(la, lb);
	ck_assert(memcmp(pa, pb, la) != 0);
	mdt_token_id(a, ida);
	mdt_token_id(b, idb);
	ck_assert(memcmp(ida, idb, sizeof(ida)) != 0);
	ck_assert_int_eq(mdt_token_block(a, 2, &va), 0);
	ck_assert_int_eq(mdt_token_block(b, 2, &vb), 0);
	ck_assert(va.fields & MDT_TOKEN_F(MDT_TOKEN_FIELD_NONCE));
	ck_assert_ptr_nonnull(va.nonce);
	ck_assert_ptr_nonnull(vb.nonce);
	ck_assert(memcmp(va.nonce, vb.nonce, MDT_TOKEN_NONCE_BYTES) != 0);
	/* both verify from their bytes alone and are accepted */
	ck_assert_msg(mdt_token_open(pa, la, &root_pub, NULL, &ra, &why) == 0,
	    "%s", why.message);
	ck_assert_msg(mdt_token_open(pb, lb, &root_pub, NULL, &rb, &why) == 0,
	    "%s", why.message);
	ck_assert_msg(rs_check(ra, &why) == 0, "%s", why.message);
	ck_assert_msg(rs_check(rb, &why) == 0, "%s", why.message);
	mdt_token_free(ra);
	mdt_token_free(rb);
	mdt_token_free(a);
	mdt_token_free(b);
}
END_TEST

START_TEST(given_nonce_is_recorded)
{
	uint8_t n[MDT_TOKEN_NONCE_BYTES];
	mdt_token *a, *b;
	mdt_token_block_view v;
	const uint8_t *pa, *pb;
	size_t la, lb;
	char *json = NULL;

	memset(n, 0x5a, sizeof(n));
	a = single(n);
	b = single(n);
	/* the same nonce for the same request: the same bytes (which is
	 * why only test vectors may pass one) */
	pa = mdt_token_bytes(a, &la);
	pb = mdt_token_bytes(b, &lb);
	ck_assert_uint_eq(la, lb);
	ck_assert_int_eq(memcmp(pa, pb, la), 0);
	ck_assert_int_eq(mdt_token_block(a, 2, &v), 0);
	ck_assert_int_eq(memcmp(v.nonce, n, sizeof(n)), 0);
	ck_assert_int_eq(mdt_token_to_json(a, &json), 0);
	ck_assert_ptr_nonnull(strstr(json,
	    "\"nonce\": \"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\""));
	mdt_free(json);
	/* earlier blocks carry none */
	ck_assert_int_eq(mdt_token_block(a, 1, &v), 0);
	ck_assert_ptr_null(v.nonce);
	mdt_token_free(a);
	mdt_token_free(b);
}
END_TEST

START_TEST(attenuate_with_nonce_then_continue)
{
	uint8_t n[MDT_TOKEN_NONCE_BYTES];
	mdt_token_attenuate_params p;
	mdt_token *a, *again, *r;
	mdt_token_block_view v;
	mdt_token_reason why;
	const uint8_t *bytes;
	size_t len;

	memset(n, 0x77, sizeof(n));
	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.nonce = n;
	ck_assert_msg(mdt_token_attenuate(deleg, &p, &a, &why) == 0, "%s",
	    why.message);
	ck_assert_int_eq(mdt_token_block(a, 2, &v), 0);
	ck_assert_int_eq(memcmp(v.nonce, n, sizeof(n)), 0);
	/* an unsealed block with a nonce can be attenuated further, and the
	 * whole chain verifies from its bytes */
	again = tf_narrow(a, "patient/Observation.r");
	bytes = mdt_token_bytes(again, &len);
	ck_assert_msg(mdt_token_open(bytes, len, &root_pub, NULL, &r, &why) ==
	    0, "%s", why.message);
	ck_assert_int_eq(tf_check(r, "r", RES, TF_NOW, &why), 0);
	mdt_token_free(r);
	mdt_token_free(again);
	mdt_token_free(a);
}
END_TEST

START_TEST(nonce_is_signed)
{
	uint8_t n[MDT_TOKEN_NONCE_BYTES];
	mdt_token *s;
	mdt_token *r = NULL;
	mdt_token_reason why;
	size_t len;
	uint8_t *bytes;
	long at;

	memset(n, 0x5a, sizeof(n));
	s = single(n);
	bytes = tf_bytes(s, &len);
	at = find(bytes, len, n, sizeof(n));
	ck_assert_int_ge(at, 0);
	bytes[at + 7] ^= 0x01;
	ck_assert_int_eq(mdt_token_open(bytes, len, &root_pub, NULL, &r, &why),
	    -MDT_ESIG);
	ck_assert_int_eq(why.block, 2);
	ck_assert_ptr_null(r);
	/* another token's nonce spliced in does not verify either */
	bytes[at + 7] ^= 0x01;
	memset(bytes + at, 0xa5, sizeof(n));
	ck_assert_int_eq(mdt_token_open(bytes, len, &root_pub, NULL, &r, &why),
	    -MDT_ESIG);
	free(bytes);
	mdt_token_free(s);
}
END_TEST

/* The sealed single-action block with its nonce tail replaced. */
typedef struct variant {
	const char *name;
	uint8_t tail[24];
	size_t len;
	int code;
} variant;

START_TEST(malformed_nonce_refused)
{
	static const variant vs[] = {
		{"17 bytes", {0xc4, 0x11}, 19, -MDT_ETOOBIG},
		{"15 bytes", {0xc4, 0x0f}, 17, -MDT_EDECODE},
		{"empty", {0xc4, 0x00}, 2, -MDT_EDECODE},
		{"bin16 header", {0xc5, 0x00, 0x10}, 19, -MDT_EDECODE},
		{"nil", {0xc0}, 1, -MDT_EDECODE},
		{"string", {0xb0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
		    'j', 'k', 'l', 'm', 'n', 'o', 'p'}, 17, -MDT_EDECODE},
		{"integer", {0x05}, 1, -MDT_EDECODE},
	};
	uint8_t n[MDT_TOKEN_NONCE_BYTES], raw[MDT_TOKEN_BLOCK_BYTES_MAX];
	const uint8_t tail[] = {MDT_TOKEN_FIELD_NONCE, 0xc4, 0x10};
	mdt_token *s;
	mdt_keypair *signer;
	mdt_token_reason why;
	const mdt__tok_block *last;
	uint8_t *bytes;
	size_t len, keep;

	memset(n, 0x5a, sizeof(n));
	/* made offline, so that the nonce is the block's last field (a
	 * broker block ends with its broker flag) */
	s = single_by(n, NULL);
	last = &s->blocks[2];
	keep = last->raw_len - sizeof(n) - 2; /* up to the nonce's key */
	ck_assert_int_eq(memcmp(last->raw + keep - 1, tail, sizeof(tail)), 0);
	ck_assert_int_eq(mdt_keypair_from_seed(deleg->proof, &signer), 0);
	/* control: the unchanged block, re-signed, is accepted */
	forge(deleg, last->raw, last->raw_len, signer, NULL, &bytes, &len);
	ck_assert_int_eq(open_forged(bytes, len, &why), 0);
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		size_t hdr = vs[i].tail[0] == 0xc5 ? 3 : vs[i].tail[0] == 0xc4 ?
		    2 : vs[i].len;

		memcpy(raw, last->raw, keep);
		memcpy(raw + keep, vs[i].tail, hdr);
		memset(raw + keep + hdr, 0x5a, vs[i].len - hdr);
		forge(deleg, raw, keep + vs[i].len, signer, NULL, &bytes, &len);
		ck_assert_msg(open_forged(bytes, len, &why) == vs[i].code,
		    "%s: %d %s", vs[i].name, why.code, why.message);
	}
	mdt_keypair_free(signer);
	mdt_token_free(s);
}
END_TEST

START_TEST(nonce_refused_in_block_0)
{
	uint8_t raw[MDT_TOKEN_BLOCK_BYTES_MAX], *bytes;
	const mdt__tok_block *b0 = &task->blocks[0];
	mdt_token_reason why;
	size_t len, n = b0->raw_len;

	ck_assert_uint_eq(b0->raw[0], 0x8d); /* map of 13 fields */
	/* control: block 0 re-signed as is */
	forge(NULL, b0->raw, n, root, task->proof, &bytes, &len);
	ck_assert_int_eq(open_forged(bytes, len, &why), 0);
	memcpy(raw, b0->raw, n);
	raw[0] = 0x8e;
	raw[n] = MDT_TOKEN_FIELD_NONCE;
	raw[n + 1] = 0xc4;
	raw[n + 2] = MDT_TOKEN_NONCE_BYTES;
	memset(raw + n + 3, 0x33, MDT_TOKEN_NONCE_BYTES);
	forge(NULL, raw, n + 3 + MDT_TOKEN_NONCE_BYTES, root, task->proof,
	    &bytes, &len);
	ck_assert_int_eq(open_forged(bytes, len, &why), -MDT_EDECODE);
	ck_assert_int_eq(why.block, 0);
	ck_assert_ptr_nonnull(strstr(why.message, "nonce"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("token_nonce");
	TCase *tc = tcase_create("nonce");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, same_second_tokens_differ_and_verify);
	tcase_add_test(tc, given_nonce_is_recorded);
	tcase_add_test(tc, attenuate_with_nonce_then_continue);
	tcase_add_test(tc, nonce_is_signed);
	tcase_add_test(tc, malformed_nonce_refused);
	tcase_add_test(tc, nonce_refused_in_block_0);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
