/*
 * mdt_token_verify_receipt: a single-action token whose block signatures
 * are stood for by a receipt (the broker's signed head over a batch whose
 * leaf names the token's id).  Accepted with a receipt for exactly its
 * bytes under the root; refused for a token changed in any byte, a
 * receipt for another token of the batch, a head signed by another key,
 * a receipt whose index or path was changed; and a head verified once
 * is not verified again (the cache).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <sodium.h>

#include <mandate/mandate.h>

#include "testutil.h"

#define BATCH 16

static mdt_keypair *root, *other, *holder;
static mdt_pubkey root_pk;
static mdt_token *task;
static mdt_token *tok[BATCH];
static uint8_t leaves[BATCH][MDT_RECEIPT_HASH_BYTES];
static mdt_receipt rcpt[BATCH];

static mdt_token *
mint(void)
{
	mdt_token_mint_params p;
	mdt_scope_set *sc;
	mdt_pubkey hk;
	mdt_token *t;
	int64_t now = time(NULL);

	mdt_keypair_public(holder, &hk);
	ck_assert_int_eq(mdt_scope_set_parse("patient/*.rs", 12, &sc, NULL,
	    0), 0);
	memset(&p, 0, sizeof(p));
	p.task_id = "task-1";
	p.clinician = "dr-alice";
	p.patient = "pat-001";
	p.purpose = "TREAT";
	p.scopes = sc;
	p.issued_at = now - 1;
	p.expires_at = now + 900;
	p.depth = 1;
	p.holder_id = "spiffe://clinic.example/agent/summarizer";
	p.holder_key = &hk;
	ck_assert_int_eq(mdt_token_mint(root, &p, &t, NULL), 0);
	mdt_scope_set_free(sc);
	return t;
}

/* BATCH single-action tokens and their receipts, one batch signed by
 * signer (the root unless a test says otherwise). */
static void
make_batch(const mdt_keypair *signer)
{
	uint8_t tid[MDT_TOKEN_ID_BYTES], rh[32], data[MDT_RECEIPT_LEAF_DATA_BYTES];
	mdt_receipt_head h;
	uint8_t sig[MDT_KEY_SIG_BYTES];
	size_t len;

	for (int i = 0; i < BATCH; i++) {
		char res[64];
		mdt_token_single_params sp = {"r", res,
		    "spiffe://clinic.example/fhir-gateway", time(NULL), 60,
		    NULL, root};
		snprintf(res, sizeof(res), "Observation/obs-%d", i);
		ck_assert_int_eq(mdt_token_single_action(task, &sp, &tok[i],
		    NULL), 0);
		mdt_token_id(tok[i], tid);
		randombytes_buf(rh, sizeof(rh));
		mdt_receipt_leaf_data(100 + (uint64_t)i, rh, tid, data);
		mdt_receipt_leaf_hash(data, sizeof(data), leaves[i]);
		memset(&rcpt[i], 0, sizeof(rcpt[i]));
		rcpt[i].seq = 100 + (uint64_t)i;
		memcpy(rcpt[i].record_hash, rh, 32);
		rcpt[i].index = (uint32_t)i;
	}
	memset(&h, 0, sizeof(h));
	h.first_seq = 100;
	h.last_seq = 100 + BATCH - 1;
	h.tree_size = BATCH;
	h.time_ms = 1;
	ck_assert_int_eq(mdt_receipt_tree_root(leaves[0], BATCH, h.root), 0);
	ck_assert_int_eq(mdt_receipt_head_sign(&h, signer, sig), 0);
	for (int i = 0; i < BATCH; i++) {
		ck_assert_int_eq(mdt_receipt_prove(leaves[0], BATCH, (size_t)i,
		    rcpt[i].path[0], &len), 0);
		rcpt[i].path_len = (uint8_t)len;
		rcpt[i].head = h;
		memcpy(rcpt[i].sig, sig, sizeof(sig));
	}
}

static void
setup(void)
{
	ck_assert_int_eq(mdt_keypair_generate(&root), 0);
	ck_assert_int_eq(mdt_keypair_generate(&other), 0);
	ck_assert_int_eq(mdt_keypair_generate(&holder), 0);
	mdt_keypair_public(root, &root_pk);
	task = mint();
	make_batch(root);
}

static void
teardown(void)
{
	for (int i = 0; i < BATCH; i++)
		mdt_token_free(tok[i]);
	mdt_token_free(task);
	mdt_keypair_free(root);
	mdt_keypair_free(other);
	mdt_keypair_free(holder);
}

/* The token decoded again from its bytes, unverified. */
static mdt_token *
fresh(int i)
{
	size_t len;
	const uint8_t *b = mdt_token_bytes(tok[i], &len);
	mdt_token *t;

	ck_assert_int_eq(mdt_token_decode(b, len, &t, NULL), 0);
	ck_assert_int_eq(mdt_token_is_verified(t), 0);
	return t;
}

static int
verify(mdt_token *t, const mdt_receipt *r, mdt_receipt_cache *c,
    mdt_receipt_reason *rwhy)
{
	mdt_token_reason why;

	return mdt_token_verify_receipt(t, &root_pk, r, c, &why, rwhy);
}

START_TEST(every_token_of_the_batch_verifies)
{
	mdt_receipt_reason rwhy;

	for (int i = 0; i < BATCH; i++) {
		mdt_token *t = fresh(i);
		ck_assert_int_eq(verify(t, &rcpt[i], NULL, &rwhy), 0);
		ck_assert_int_eq(rwhy, MDT_RECEIPT_OK);
		ck_assert_int_eq(mdt_token_is_verified(t), 1);
		mdt_token_free(t);
	}
}
END_TEST

START_TEST(receipt_of_another_token_is_refused)
{
	mdt_receipt_reason rwhy;
	mdt_token *t = fresh(3);

	ck_assert_int_ne(verify(t, &rcpt[4], NULL, &rwhy), 0);
	ck_assert_int_eq(rwhy, MDT_RECEIPT_PATH);
	ck_assert_int_eq(mdt_token_is_verified(t), 0);
	mdt_token_free(t);
}
END_TEST

/* Any byte of the token changed (a claim, a signature): what still
 * decodes names another id, which the batch's tree does not hold. */
START_TEST(any_token_byte_changed_is_refused)
{
	size_t len;
	const uint8_t *b = mdt_token_bytes(tok[5], &len);
	uint8_t *copy = malloc(len);
	size_t decoded = 0;

	ck_assert_ptr_nonnull(copy);
	for (size_t k = 0; k < len; k++) {
		mdt_token *t;
		memcpy(copy, b, len);
		copy[k] ^= 0x01;
		if (mdt_token_decode(copy, len, &t, NULL) != 0)
			continue;
		decoded++;
		ck_assert_msg(verify(t, &rcpt[5], NULL, NULL) != 0,
		    "byte %zu changed, still accepted", k);
		mdt_token_free(t);
	}
	ck_assert_uint_gt(decoded, 0);
	free(copy);
}
END_TEST

START_TEST(head_of_another_key_is_refused)
{
	mdt_receipt_reason rwhy;
	mdt_token *t;

	for (int i = 0; i < BATCH; i++)
		mdt_token_free(tok[i]);
	make_batch(other);
	t = fresh(0);
	ck_assert_int_eq(verify(t, &rcpt[0], NULL, &rwhy), -MDT_EKEY);
	ck_assert_int_eq(rwhy, MDT_RECEIPT_KEY);
	mdt_token_free(t);
}
END_TEST

START_TEST(changed_receipt_is_refused)
{
	mdt_receipt r = rcpt[7];
	mdt_token *t = fresh(7);

	r.index = BATCH + 2;            /* past the tree */
	ck_assert_int_ne(verify(t, &r, NULL, NULL), 0);
	r = rcpt[7];
	r.path[0][0] ^= 1;              /* another path */
	ck_assert_int_ne(verify(t, &r, NULL, NULL), 0);
	r = rcpt[7];
	r.head.tree_size = BATCH * 2;   /* a head replayed for another batch */
	ck_assert_int_ne(verify(t, &r, NULL, NULL), 0);
	r = rcpt[7];
	r.sig[9] ^= 1;
	ck_assert_int_ne(verify(t, &r, NULL, NULL), 0);
	ck_assert_int_eq(verify(t, &rcpt[7], NULL, NULL), 0);
	mdt_token_free(t);
}
END_TEST

/* With the cache, a head already verified is not verified again: a
 * receipt whose signature was spoiled after the head was cached still
 * names a head known good (its bytes are what the cache keys on), and a
 * head never seen needs its signature. */
START_TEST(cache_spares_the_head_signature)
{
	mdt_receipt_cache *c;
	mdt_receipt r = rcpt[2];
	mdt_token *t0 = fresh(0), *t2 = fresh(2);

	ck_assert_int_eq(mdt_receipt_cache_new(8, &c), 0);
	r.sig[0] ^= 1;
	ck_assert_int_ne(verify(t2, &r, c, NULL), 0);
	ck_assert_int_eq(verify(t0, &rcpt[0], c, NULL), 0);
	ck_assert_int_eq(verify(t2, &rcpt[2], c, NULL), 0);
	mdt_receipt_cache_free(c);
	mdt_token_free(t0);
	mdt_token_free(t2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("token_receipt");
	TCase *tc = tcase_create("receipt");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_token_of_the_batch_verifies);
	tcase_add_test(tc, receipt_of_another_token_is_refused);
	tcase_add_test(tc, any_token_byte_changed_is_refused);
	tcase_add_test(tc, head_of_another_key_is_refused);
	tcase_add_test(tc, changed_receipt_is_refused);
	tcase_add_test(tc, cache_spares_the_head_signature);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
