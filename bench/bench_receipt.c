/*
 * Receipts: their size beside a single-action token, the cost for a
 * resource server of checking receipts of one batch (one head signature
 * between them, the verified-head cache), and the cost of signing one
 * head on the store's writer, each beside raw Ed25519 verifications
 * measured in the same rounds (alternating, medians).
 *
 *   ratio receipt_bytes_vs_token_bytes_b1:   receipt / token bytes, a
 *   ratio receipt_bytes_vs_token_bytes_b16:  decision in a batch of 1,
 *   ratio receipt_bytes_vs_token_bytes_b256: 16 or 256 decisions
 *   ratio receipt_bytes_vs_token_bytes:      the same, batch of 16
 *   ratio receipt_verify_b16_vs_ed25519:     decode + verify of one
 *       receipt, batches of 16, fresh cache per round
 *   ratio head_sign_vs_ed25519:              one head signature
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/receipt.h>
#include <mandate/token.h>

#include "benchutil.h"

#define ROUNDS 7
#define PER_ROUND 1024
#define AUD "spiffe://clinic.example/fhir-gateway"

static void
die(const char *what, int rv)
{
	fprintf(stderr, "bench_receipt: %s: %s\n", what, mdt_strerror(rv));
	exit(1);
}

/* Bytes of a broker-made single-action token, as an agent receives it. */
static size_t
token_bytes(const mdt_keypair *root)
{
	mdt_token_mint_params p;
	mdt_token_single_params sp = {"r", "Observation/obs-1", AUD, 0, 60,
	    NULL, root};
	mdt_scope_set *sc;
	mdt_pubkey hk;
	mdt_token *t, *s;
	size_t len;
	int rv;

	mdt_keypair_public(root, &hk);
	if ((rv = mdt_scope_set_parse("patient/*.rs", 12, &sc, NULL, 0)) != 0)
		die("scopes", rv);
	memset(&p, 0, sizeof(p));
	p.task_id = "task-bench";
	p.clinician = "dr-alice";
	p.patient = "pat-001";
	p.purpose = "TREAT";
	p.scopes = sc;
	p.issued_at = 1767225600;
	p.expires_at = p.issued_at + 900;
	sp.now = p.issued_at + 1;
	p.depth = 1;
	p.holder_id = "spiffe://clinic.example/agent/summarizer";
	p.holder_key = &hk;
	if ((rv = mdt_token_mint(root, &p, &t, NULL)) != 0 ||
	    (rv = mdt_token_single_action(t, &sp, &s, NULL)) != 0)
		die("token", rv);
	(void)mdt_token_bytes(s, &len);
	mdt_token_free(s);
	mdt_token_free(t);
	mdt_scope_set_free(sc);
	return len;
}

/* The receipts of one batch of n decisions, encoded into out[i]. */
static void
batch(const mdt_keypair *root, size_t n, uint64_t first, uint8_t *out,
    size_t stride, uint8_t *toks)
{
	uint8_t *leaves = malloc(n * 32), data[MDT_RECEIPT_LEAF_DATA_BYTES];
	mdt_receipt r;
	size_t len, pl;
	int rv;

	if (leaves == NULL)
		die("batch", -MDT_ENOMEM);
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++) {
		memset(r.record_hash, (int)i, 32);
		mdt_receipt_leaf_data(first + i, r.record_hash, toks + 32 * i,
		    data);
		mdt_receipt_leaf_hash(data, sizeof(data), leaves + 32 * i);
	}
	r.head = (mdt_receipt_head){.first_seq = first,
	    .last_seq = first + n - 1, .tree_size = (uint32_t)n,
	    .time_ms = 1767225600000};
	if ((rv = mdt_receipt_tree_root(leaves, n, r.head.root)) != 0 ||
	    (rv = mdt_receipt_head_sign(&r.head, root, r.sig)) != 0)
		die("head", rv);
	for (size_t i = 0; i < n; i++) {
		r.seq = first + i;
		r.index = (uint32_t)i;
		memset(r.record_hash, (int)i, 32);
		if ((rv = mdt_receipt_prove(leaves, n, i, r.path[0], &pl)) != 0)
			die("prove", rv);
		r.path_len = (uint8_t)pl;
		if ((rv = mdt_receipt_encode(&r, out + stride * i, stride,
		    &len)) != 0)
			die("encode", rv);
	}
	free(leaves);
}

static size_t
receipt_size(size_t n)
{
	mdt_receipt r = {.path_len = (uint8_t)mdt_receipt_path_len(0, n)};

	return mdt_receipt_size(&r);
}

/* ns per receipt check: decode and verify every receipt, fresh cache. */
static double
verify_round(const mdt_pubkey *pk, const uint8_t *rs, size_t stride,
    const uint8_t *toks)
{
	mdt_receipt_cache *c;
	mdt_receipt r;
	uint64_t t0;
	int rv;

	if ((rv = mdt_receipt_cache_new(256, &c)) != 0)
		die("cache", rv);
	t0 = bench_now_ns();
	for (size_t i = 0; i < PER_ROUND; i++) {
		size_t len = MDT_RECEIPT_FIXED_BYTES + 32 *
		    (size_t)rs[stride * i + 45];
		if ((rv = mdt_receipt_decode(rs + stride * i, len, &r,
		    NULL)) != 0 ||
		    (rv = mdt_receipt_verify_cached(&r, toks + 32 * i, pk, c,
		    NULL)) != 0)
			die("verify", rv);
	}
	t0 = bench_now_ns() - t0;
	mdt_receipt_cache_free(c);
	return (double)t0 / PER_ROUND;
}

static double
sign_round(const mdt_keypair *root)
{
	mdt_receipt_head h = {.first_seq = 1, .last_seq = 16, .tree_size = 16};
	uint8_t sig[64];
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < PER_ROUND / 4; i++) {
		h.time_ms = i;
		if (mdt_receipt_head_sign(&h, root, sig) != 0)
			die("sign", -MDT_ECRYPTO);
	}
	return (double)(bench_now_ns() - t0) / (PER_ROUND / 4);
}

int
main(void)
{
	size_t stride = MDT_RECEIPT_MAX_BYTES, tb;
	uint8_t *rs = malloc(PER_ROUND * stride), *toks = malloc(PER_ROUND * 32);
	double ed[ROUNDS], rv[ROUNDS], sg[ROUNDS], r1[ROUNDS], r2[ROUNDS];
	mdt_keypair *root;
	mdt_pubkey pk;

	if (rs == NULL || toks == NULL || mdt_keypair_generate(&root) != 0)
		die("setup", -MDT_ENOMEM);
	mdt_keypair_public(root, &pk);
	tb = token_bytes(root);
	for (size_t i = 0; i < PER_ROUND * 32; i++)
		toks[i] = (uint8_t)(i * 131u);
	for (size_t b = 0; b < PER_ROUND; b += 16)
		batch(root, 16, 1 + b, rs + stride * b, stride, toks + 32 * b);
	for (int r = 0; r < ROUNDS; r++) {
		ed[r] = bench_ed25519_verify_ns(3, PER_ROUND / 4);
		rv[r] = verify_round(&pk, rs, stride, toks);
		sg[r] = sign_round(root);
		r1[r] = rv[r] / ed[r];
		r2[r] = sg[r] / ed[r];
	}
	printf("single-action token: %zu bytes; receipt: %zu (batch of 1), "
	    "%zu (16), %zu (256) bytes\n", tb, receipt_size(1),
	    receipt_size(16), receipt_size(256));
	printf("ed25519 verify %.0f ns, receipt check (batches of 16) %.0f ns,"
	    " head sign %.0f ns (medians of %d rounds)\n",
	    bench_percentile(ed, ROUNDS, 50), bench_percentile(rv, ROUNDS, 50),
	    bench_percentile(sg, ROUNDS, 50), ROUNDS);
	bench_ratio("receipt_bytes_vs_token_bytes_b1",
	    (double)receipt_size(1) / (double)tb);
	bench_ratio("receipt_bytes_vs_token_bytes_b16",
	    (double)receipt_size(16) / (double)tb);
	bench_ratio("receipt_bytes_vs_token_bytes_b256",
	    (double)receipt_size(256) / (double)tb);
	bench_ratio("receipt_bytes_vs_token_bytes",
	    (double)receipt_size(16) / (double)tb);
	bench_ratio("receipt_verify_b16_vs_ed25519",
	    bench_percentile(r1, ROUNDS, 50));
	bench_ratio("head_sign_vs_ed25519", bench_percentile(r2, ROUNDS, 50));
	mdt_keypair_free(root);
	free(rs);
	free(toks);
	return 0;
}
