/*
 * Receipts (core/receipt/): RFC 9162 trees and proofs against the vectors
 * an independent Python implementation computed
 * (tests/vectors/receipt-v1.json, tests/vectors/receipt_vectors.py), every
 * receipt of the vectors rebuilt byte for byte, and the tamper cases:
 * any byte flipped, a proof for another leaf, a head from another key, a
 * head of another batch, an index past the tree size, each refused with
 * its own reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <mandate/receipt.h>

#include "testutil.h"

typedef uint8_t hash_t[MDT_RECEIPT_HASH_BYTES];

static json_t *vec;

#define JSTR(o, k) json_string_value(json_object_get((o), (k)))
#define JINT(o, k) json_integer_value(json_object_get((o), (k)))

static void
load(void)
{
	char path[4096];
	json_error_t e;

	snprintf(path, sizeof(path), "%s/tests/vectors/receipt-v1.json",
	    mdt_test_source_dir());
	vec = json_load_file(path, 0, &e);
	ck_assert_msg(vec != NULL, "%s: %s", path, e.text);
}

static void
unload(void)
{
	json_decref(vec);
}

/* Hex of a JSON string into out (exactly n bytes). */
static void
unhex(json_t *s, uint8_t *out, size_t n)
{
	size_t got = 0;
	const char *t = json_string_value(s);

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(sodium_hex2bin(out, n, t, strlen(t), NULL, &got, NULL),
	    0);
	ck_assert_uint_eq(got, n);
}

static size_t
hexlen(json_t *s)
{
	return strlen(json_string_value(s)) / 2;
}

/* The proof of leaf k of n; its length. */
static size_t
prove(hash_t *leaves, size_t n, size_t k, hash_t *path)
{
	size_t len = 0;

	ck_assert_int_eq(mdt_receipt_prove(leaves[0], n, k, path[0], &len), 0);
	return len;
}

static mdt_keypair *
key(int b)
{
	uint8_t seed[32];
	mdt_keypair *kp = NULL;

	memset(seed, b, sizeof(seed));
	ck_assert_int_eq(mdt_keypair_from_seed(seed, &kp), 0);
	return kp;
}

START_TEST(merkle_vectors)
{
	json_t *m = json_object_get(vec, "merkle"), *t;
	size_t i;

	ck_assert_uint_ge(json_array_size(m), 8);
	json_array_foreach(m, i, t) {
		size_t n = (size_t)JINT(t, "leaves");
		hash_t leaves[16], root, want, path[MDT_RECEIPT_PATH_MAX], node;
		json_t *proofs = json_object_get(t, "proofs");

		for (size_t k = 0; k < n; k++) {
			uint8_t b = (uint8_t)k;
			mdt_receipt_leaf_hash(&b, 1, leaves[k]);
		}
		ck_assert_int_eq(mdt_receipt_tree_root(leaves[0], n, root), 0);
		unhex(json_object_get(t, "root"), want, 32);
		ck_assert_mem_eq(root, want, 32);
		for (size_t k = 0; k < n; k++) {
			json_t *p = json_array_get(proofs, k);
			size_t len = prove(leaves, n, k, path);
			ck_assert_uint_eq(len, json_array_size(p));
			ck_assert_uint_eq(len, mdt_receipt_path_len(k, n));
			for (size_t j = 0; j < len; j++) {
				unhex(json_array_get(p, j), node, 32);
				ck_assert_mem_eq(path[j], node, 32);
			}
			ck_assert_int_eq(mdt_receipt_verify_path(k, n, leaves[k],
			    path[0], len, root, NULL), 0);
			/* the same path does not prove any other leaf */
			if (n > 1)
				ck_assert_int_eq(mdt_receipt_verify_path(k, n,
				    leaves[(k + 1) % n], path[0], len, root,
				    NULL),
				    -MDT_ECHAIN);
		}
	}
}
END_TEST

/* One batch of the vectors, rebuilt: seqs, record hashes and token ids
 * from the JSON, head from the key; every receipt must come out
 * byte for byte. */
static void
rebuild_batch(const char *name, const hash_t prev, hash_t head_hash)
{
	json_t *rs = json_object_get(vec, "receipts"), *r;
	json_t *hd = json_object_get(json_object_get(vec, "heads"), name);
	hash_t leaves[8], recs[8], toks[8];
	uint64_t seqs[8];
	size_t n = 0, i;
	mdt_receipt_head h = { 0 };
	uint8_t sig[64], want_sig[64], hb[MDT_RECEIPT_HEAD_BYTES];
	uint8_t want_hb[MDT_RECEIPT_HEAD_BYTES];
	mdt_keypair *kp = key(1);

	json_array_foreach(rs, i, r) {
		uint8_t data[MDT_RECEIPT_LEAF_DATA_BYTES];
		if (strcmp(JSTR(r, "batch"), name))
			continue;
		seqs[n] = (uint64_t)JINT(r, "seq");
		unhex(json_object_get(r, "record_hash"), recs[n], 32);
		unhex(json_object_get(r, "token_id"), toks[n], 32);
		mdt_receipt_leaf_data(seqs[n], recs[n], toks[n], data);
		mdt_receipt_leaf_hash(data, sizeof(data), leaves[n]);
		n++;
	}
	unhex(json_object_get(hd, "bytes"), want_hb, sizeof(want_hb));
	unhex(json_object_get(hd, "signature"), want_sig, 64);
	ck_assert_int_eq(mdt_receipt_head_decode(want_hb, sizeof(want_hb), &h),
	    0);
	/* fields the batch does not determine: first/last seq and time */
	ck_assert_int_eq(mdt_receipt_tree_root(leaves[0], n, h.root), 0);
	memcpy(h.prev, prev, 32);
	h.tree_size = (uint32_t)n;
	ck_assert_int_eq(mdt_receipt_head_sign(&h, kp, sig), 0);
	mdt_receipt_head_encode(&h, hb);
	ck_assert_mem_eq(hb, want_hb, sizeof(hb));
	ck_assert_mem_eq(sig, want_sig, 64);
	mdt_receipt_head_hash(&h, head_hash);
	i = 0;
	json_array_foreach(rs, i, r) {
		mdt_receipt rc = { 0 }, back;
		uint8_t enc[MDT_RECEIPT_MAX_BYTES], want[MDT_RECEIPT_MAX_BYTES];
		size_t len, k;
		mdt_pubkey pk;
		if (strcmp(JSTR(r, "batch"), name))
			continue;
		k = (size_t)JINT(r, "index");
		rc.seq = seqs[k];
		memcpy(rc.record_hash, recs[k], 32);
		rc.index = (uint32_t)k;
		rc.path_len = (uint8_t)prove(leaves, n, k, rc.path);
		rc.head = h;
		memcpy(rc.sig, sig, 64);
		ck_assert_int_eq(mdt_receipt_encode(&rc, enc, sizeof(enc), &len),
		    0);
		ck_assert_uint_eq(len, hexlen(json_object_get(r, "bytes")));
		unhex(json_object_get(r, "bytes"), want, len);
		ck_assert_mem_eq(enc, want, len);
		ck_assert_int_eq(mdt_receipt_decode(enc, len, &back, NULL), 0);
		mdt_keypair_public(kp, &pk);
		ck_assert_int_eq(mdt_receipt_verify(&back, toks[k], &pk, 0, NULL),
		    0);
	}
	mdt_keypair_free(kp);
}

START_TEST(receipts_rebuilt)
{
	hash_t zero = { 0 }, ha, hb;

	rebuild_batch("a", zero, ha);
	rebuild_batch("b", ha, hb);
}
END_TEST

static mdt_receipt_reason
verdict(const uint8_t *b, size_t len, const uint8_t tok[32],
    const mdt_pubkey *pk)
{
	mdt_receipt r;
	mdt_receipt_reason why = MDT_RECEIPT_OK;

	if (mdt_receipt_decode(b, len, &r, &why) != 0)
		return why;
	if (mdt_receipt_verify(&r, tok, pk, 0, &why) != 0)
		ck_assert_int_ne(why, MDT_RECEIPT_OK);
	return why;
}

static const char *
reason_text(mdt_receipt_reason r)
{
	static const char *const n[] = { "ok", "malformed", "index", "range",
		"path", "key", "signature", "leaf" };
	return n[r];
}

START_TEST(rejections_refused_for_their_reason)
{
	json_t *rj = json_object_get(vec, "rejections"), *r;
	mdt_keypair *kp = key(1);
	mdt_pubkey pk;
	size_t i;
	unsigned seen = 0;

	mdt_keypair_public(kp, &pk);
	ck_assert_uint_ge(json_array_size(rj), 8);
	json_array_foreach(rj, i, r) {
		uint8_t b[MDT_RECEIPT_MAX_BYTES + 8], tok[32];
		size_t len = hexlen(json_object_get(r, "bytes"));
		mdt_receipt_reason got;
		ck_assert_uint_le(len, sizeof(b));
		unhex(json_object_get(r, "bytes"), b, len);
		unhex(json_object_get(r, "token_id"), tok, 32);
		got = verdict(b, len, tok, &pk);
		ck_assert_msg(strcmp(reason_text(got), json_string_value(
		    json_object_get(r, "reason"))) == 0, "%s: %s",
		    json_string_value(json_object_get(r, "name")),
		    mdt_receipt_reason_name(got));
		seen |= 1u << got;
	}
	/* index, range, path, key, signature, malformed: distinct reasons */
	ck_assert_uint_eq(seen, 0x7eu);
	mdt_keypair_free(kp);
}
END_TEST

/* The first receipt of batch a, its token id and the root key. */
static size_t
first_receipt(uint8_t *b, uint8_t tok[32], mdt_pubkey *pk)
{
	json_t *r = json_array_get(json_object_get(vec, "receipts"), 2);
	size_t len = hexlen(json_object_get(r, "bytes"));
	mdt_keypair *kp = key(1);

	unhex(json_object_get(r, "bytes"), b, len);
	unhex(json_object_get(r, "token_id"), tok, 32);
	mdt_keypair_public(kp, pk);
	mdt_keypair_free(kp);
	return len;
}

START_TEST(any_byte_flipped_is_refused)
{
	uint8_t b[MDT_RECEIPT_MAX_BYTES], tok[32];
	mdt_pubkey pk;
	size_t len = first_receipt(b, tok, &pk);

	ck_assert_int_eq(verdict(b, len, tok, &pk), MDT_RECEIPT_OK);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			mdt_receipt_reason why = verdict(b, len, tok, &pk);
			ck_assert_msg(why != MDT_RECEIPT_OK, "byte %zu bit %d",
			    i, bit);
			b[i] ^= (uint8_t)(1u << bit);
		}
	/* and the receipt of another decision's token */
	tok[0] ^= 1;
	ck_assert_int_eq(verdict(b, len, tok, &pk), MDT_RECEIPT_PATH);
}
END_TEST

START_TEST(cache_skips_known_heads)
{
	uint8_t b[MDT_RECEIPT_MAX_BYTES], tok[32];
	mdt_pubkey pk, other;
	mdt_receipt r;
	mdt_receipt_cache *c = NULL;
	mdt_receipt_reason why;
	mdt_keypair *kp = key(2);
	size_t len = first_receipt(b, tok, &pk);

	mdt_keypair_public(kp, &other);
	ck_assert_int_eq(mdt_receipt_cache_new(64, &c), 0);
	ck_assert_int_eq(mdt_receipt_decode(b, len, &r, NULL), 0);
	ck_assert_int_eq(mdt_receipt_verify_cached(&r, tok, &pk, c, &why), 0);
	ck_assert_int_eq(mdt_receipt_verify_cached(&r, tok, &pk, c, &why), 0);
	/* a cached head is no use under another key, or with another sig */
	ck_assert_int_eq(mdt_receipt_verify_cached(&r, tok, &other, c, &why),
	    -MDT_EKEY);
	ck_assert_int_eq(why, MDT_RECEIPT_KEY);
	r.sig[3] ^= 1;
	ck_assert_int_eq(mdt_receipt_verify_cached(&r, tok, &pk, c, &why),
	    -MDT_ESIG);
	r.sig[3] ^= 1;
	/* a known head still needs the path to its root */
	tok[5] ^= 1;
	ck_assert_int_eq(mdt_receipt_verify_cached(&r, tok, &pk, c, &why),
	    -MDT_ECHAIN);
	ck_assert_int_eq(why, MDT_RECEIPT_PATH);
	mdt_receipt_cache_free(c);
	mdt_keypair_free(kp);
}
END_TEST

/* Large trees: every leaf of every size up to 70 proves, against the
 * root, and no other. */
START_TEST(every_size_proves)
{
	hash_t leaves[70], root, path[MDT_RECEIPT_PATH_MAX];
	size_t len;

	for (size_t k = 0; k < 70; k++)
		crypto_hash_sha256(leaves[k], (const uint8_t *)&k, sizeof(k));
	for (size_t n = 1; n <= 70; n++) {
		ck_assert_int_eq(mdt_receipt_tree_root(leaves[0], n, root), 0);
		for (size_t k = 0; k < n; k++) {
			mdt_receipt_reason why;
			len = prove(leaves, n, k, path);
			ck_assert_int_eq(mdt_receipt_verify_path(k, n, leaves[k],
			    path[0], len, root, &why), 0);
			ck_assert_int_eq(mdt_receipt_verify_path(n, n, leaves[k],
			    path[0], len, root, &why), -MDT_EDECODE);
			ck_assert_int_eq(why, MDT_RECEIPT_INDEX);
			if (n > 1)
				ck_assert_int_eq(mdt_receipt_verify_path(k, n,
				    leaves[(k + 1) % n], path[0], len, root,
				    &why),
				    -MDT_ECHAIN);
		}
	}
	ck_assert_int_eq(mdt_receipt_prove(leaves[0], 3, 3, path[0], &len),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_receipt_tree_root(leaves[0], 0, root),
	    -MDT_EINVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("receipt");
	TCase *tc = tcase_create("receipt");

	tcase_add_checked_fixture(tc, load, unload);
	tcase_add_test(tc, merkle_vectors);
	tcase_add_test(tc, receipts_rebuilt);
	tcase_add_test(tc, rejections_refused_for_their_reason);
	tcase_add_test(tc, any_byte_flipped_is_refused);
	tcase_add_test(tc, cache_skips_known_heads);
	tcase_add_test(tc, every_size_proves);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
