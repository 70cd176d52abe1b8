/*
 * Resource-server cost: offline verification by the SDK's verifier of a
 * sealed single-action token with its proof of possession (decode, chain
 * signatures, single-action/audience/expiry checks, proof signature,
 * revocation and single-use bookkeeping), beside raw Ed25519
 * verifications measured in the same run.
 *
 *   ratio gateway_verify_vs_ed25519: R   (one presentation with its
 *                                        receipt, tokens from batches of
 *                                        16, in units of one raw Ed25519
 *                                        verification)
 *   ratio gateway_verify_signed_vs_ed25519: R   (the same tokens without
 *                                        receipts: their block signatures)
 *
 * With a receipt the verifier checks the batch's head once (then finds it
 * in its cache) in place of each token's signatures, and the holder's
 * proof of possession as always (mdt_token_verify_receipt).
 *
 * Each single-action token is accepted once, so the presentations are
 * prepared (minted and signed) before the timed loop.  The ratio is the
 * median over rounds of (verifier / Ed25519) measured back to back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/agent.h>
#include <mandate/token.h>

#include "benchutil.h"
#include "sdk_int.h"

#define AUD "spiffe://clinic.example/fhir-gateway"
#define ROUNDS 7
#define PER_ROUND 1008   /* 63 batches */
#define BATCH 16

/* Identical single-action requests in one second give identical tokens,
 * so each presentation names its own resource. */
typedef struct presentation {
	char *token;
	char res[64];
	char proof[256];
	char receipt[MDT_RECEIPT_TEXT_MAX];
	uint8_t leaf[MDT_RECEIPT_HASH_BYTES];
} presentation;

static void
die(const char *what, int rv)
{
	fprintf(stderr, "bench_gateway: %s: %s\n", what, mdt_strerror(rv));
	exit(1);
}

static mdt_token *
mint(const mdt_keypair *root, const mdt_keypair *holder, int64_t now)
{
	mdt_token_mint_params p;
	mdt_scope_set *sc;
	mdt_pubkey hk;
	mdt_token *t;
	int rv;

	mdt_keypair_public(holder, &hk);
	if ((rv = mdt_scope_set_parse("patient/*.rs", 12, &sc, NULL, 0)) != 0)
		die("scopes", rv);
	memset(&p, 0, sizeof(p));
	p.task_id = "task-bench";
	p.clinician = "dr-alice";
	p.patient = "pat-001";
	p.purpose = "TREAT";
	p.scopes = sc;
	p.issued_at = now - 1;
	p.expires_at = now + 900;
	p.depth = 1;
	p.holder_id = "spiffe://clinic.example/agent/summarizer";
	p.holder_key = &hk;
	if ((rv = mdt_token_mint(root, &p, &t, NULL)) != 0)
		die("mint", rv);
	mdt_scope_set_free(sc);
	return t;
}

static void
prepare(const mdt_token *task, const mdt_keypair *root,
    const mdt_keypair *holder, int64_t now, int i, presentation *out)
{
	/* made by the broker, as resource servers require */
	mdt_token_single_params sp = {"r", out->res, AUD, now, 60, NULL, root};
	char nonce[SDK_NONCE_MAX];
	mdt_token_pop pop = {AUD, "r", out->res, nonce, now, {0}};
	uint8_t tid[MDT_TOKEN_ID_BYTES], rh[32];
	uint8_t data[MDT_RECEIPT_LEAF_DATA_BYTES];
	mdt_token *s;
	int rv;

	snprintf(out->res, sizeof(out->res), "Observation/obs-%d", i);
	sdk_pop_nonce(nonce);
	if ((rv = mdt_token_single_action(task, &sp, &s, NULL)) != 0 ||
	    (rv = mdt_token_to_text(s, &out->token)) != 0 ||
	    (rv = mdt_token_pop_sign(s, holder, &pop)) != 0 ||
	    (rv = sdk_pop_format(&pop, out->proof, sizeof(out->proof))) != 0)
		die("prepare", rv);
	mdt_token_id(s, tid);
	memset(rh, (int)(((uint64_t)i + 1) & 0xff), sizeof(rh));
	mdt_receipt_leaf_data((uint64_t)i + 1, rh, tid, data);
	mdt_receipt_leaf_hash(data, sizeof(data), out->leaf);
	mdt_token_free(s);
}

/* The receipts of pres[0..n) as one batch signed by root, as the broker's
 * store makes them (core/store/receipts.c). */
static void
seal_batch(presentation *pres, size_t n, uint64_t seq0,
    const mdt_keypair *root)
{
	uint8_t leaves[BATCH][MDT_RECEIPT_HASH_BYTES];
	uint8_t enc[MDT_RECEIPT_MAX_BYTES];
	mdt_receipt r;
	size_t len;
	int rv;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++)
		memcpy(leaves[i], pres[i].leaf, MDT_RECEIPT_HASH_BYTES);
	r.head.first_seq = seq0;
	r.head.last_seq = seq0 + n - 1;
	r.head.tree_size = (uint32_t)n;
	r.head.time_ms = 1;
	if ((rv = mdt_receipt_tree_root(leaves[0], n, r.head.root)) != 0 ||
	    (rv = mdt_receipt_head_sign(&r.head, root, r.sig)) != 0)
		die("head", rv);
	for (size_t i = 0; i < n; i++) {
		r.seq = seq0 + i;
		memset(r.record_hash, (int)(r.seq & 0xff), 32);
		r.index = (uint32_t)i;
		if ((rv = mdt_receipt_prove(leaves[0], n, i, r.path[0],
		    &len)) != 0)
			die("prove", rv);
		r.path_len = (uint8_t)len;
		if ((rv = mdt_receipt_encode(&r, enc, sizeof(enc), &len)) != 0 ||
		    (rv = mdt_receipt_to_text(enc, len, pres[i].receipt,
		    sizeof(pres[i].receipt))) != 0)
			die("receipt", rv);
	}
}

/* One round: a fresh verifier, PER_ROUND presentations; ns per verify. */
static double
round_ns(mdt_rs_verifier *v, presentation *pres, int receipts, double *lat)
{
	mdt_rs_request rq = {.action = "r", .patient = "pat-001"};
	char err[MDT_ERRMSG_MAX];
	uint64_t t0;
	int rv;

	t0 = bench_now_ns();
	for (int i = 0; i < PER_ROUND; i++) {
		uint64_t a = bench_now_ns();
		rq.resource = pres[i].res;
		rv = receipts ? mdt_rs_verify_receipt(v, pres[i].token,
		    pres[i].proof, pres[i].receipt, &rq, NULL, err,
		    sizeof(err)) : mdt_rs_verify(v, pres[i].token,
		    pres[i].proof, &rq, NULL, err, sizeof(err));
		if (rv != 0) {
			fprintf(stderr, "bench_gateway: verify: %s\n", err);
			exit(1);
		}
		lat[i] = (double)(bench_now_ns() - a);
	}
	t0 = bench_now_ns() - t0;
	return (double)t0 / PER_ROUND;
}

/* One round of each side: PER_ROUND fresh presentations verified with
 * their receipts and PER_ROUND verified by their signatures, beside the
 * raw Ed25519 baseline; ns per presentation into sig[r], rc[r], ed[r]. */
static void
one_round(mdt_rs_verifier *v, const mdt_token *task, const mdt_keypair *root,
    const mdt_keypair *holder, int64_t now, int r, presentation *pres,
    double *lat, double *sig, double *rc, double *ed)
{
	for (int side = 0; side < 2; side++) {
		int base = (2 * r + side) * PER_ROUND;
		for (int i = 0; i < PER_ROUND; i++)
			prepare(task, root, holder, now, base + i, &pres[i]);
		for (int b = 0; b < PER_ROUND; b += BATCH)
			seal_batch(&pres[b], BATCH, (uint64_t)(base + b) + 1,
			    root);
		if (side == 0)
			ed[r] = bench_ed25519_verify_ns(3, PER_ROUND / 2);
		if (side == 0)
			sig[r] = round_ns(v, pres, 0, lat);
		else
			rc[r] = round_ns(v, pres, 1, lat);
		for (int i = 0; i < PER_ROUND; i++)
			mdt_token_text_free(pres[i].token);
	}
}

int
main(void)
{
	presentation *pres = calloc(PER_ROUND, sizeof(*pres));
	double sig[ROUNDS], rc[ROUNDS], ed[ROUNDS], rs[ROUNDS], rr[ROUNDS];
	double *lat = calloc(PER_ROUND, sizeof(double));
	mdt_keypair *root, *holder;
	mdt_token *task;
	mdt_pubkey pk;
	mdt_rs_verifier_opts o = {.broker_key = &pk, .audience = AUD};
	mdt_rs_verifier *v;
	char err[MDT_ERRMSG_MAX];
	int64_t now;
	int rv;

	if (pres == NULL || lat == NULL ||
	    mdt_keypair_generate(&root) != 0 ||
	    mdt_keypair_generate(&holder) != 0)
		die("setup", -MDT_ENOMEM);
	mdt_keypair_public(root, &pk);
	/* one verifier for every round (each round's tokens are distinct):
	 * it refuses tokens issued before it started, so it starts first */
	if ((rv = mdt_rs_verifier_new(&o, &v, err, sizeof(err))) != 0)
		die("verifier", rv);
	now = sdk_now();
	task = mint(root, holder, now);
	/* Each round pairs the baseline with both sides, so load changes on
	 * a shared machine hit every side of the ratios alike. */
	for (int r = 0; r < ROUNDS; r++) {
		one_round(v, task, root, holder, now, r, pres, lat, sig, rc, ed);
		rs[r] = sig[r] / ed[r];
		rr[r] = rc[r] / ed[r];
	}
	printf("ed25519 verify: %.0f ns (median of %d rounds)\n",
	    bench_percentile(ed, ROUNDS, 50), ROUNDS);
	printf("gateway verify, token signatures + proof: %.0f ns; with a "
	    "receipt (batches of %d) + proof: %.0f ns (medians of %d rounds x"
	    " %d)\n", bench_percentile(sig, ROUNDS, 50), BATCH,
	    bench_percentile(rc, ROUNDS, 50), ROUNDS, PER_ROUND);
	mdt_rs_verifier_free(v);
	bench_ratio("gateway_verify_vs_ed25519",
	    bench_percentile(rr, ROUNDS, 50));
	bench_ratio("gateway_verify_signed_vs_ed25519",
	    bench_percentile(rs, ROUNDS, 50));
	mdt_token_free(task);
	mdt_keypair_free(root);
	mdt_keypair_free(holder);
	free(pres);
	free(lat);
	return 0;
}
