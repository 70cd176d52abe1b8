/*
 * Resource-server cost: offline verification by the SDK's verifier of a
 * sealed single-action token with its proof of possession (decode, chain
 * signatures, single-action/audience/expiry checks, proof signature,
 * revocation and single-use bookkeeping), beside raw Ed25519
 * verifications measured in the same run.
 *
 *   ratio gateway_verify_vs_ed25519: R   (one presentation, in units of
 *                                        one raw Ed25519 verification)
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
#define PER_ROUND 1000

/* Identical single-action requests in one second give identical tokens,
 * so each presentation names its own resource. */
typedef struct presentation {
	char *token;
	char res[64];
	char proof[256];
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
	mdt_token *s;
	int rv;

	snprintf(out->res, sizeof(out->res), "Observation/obs-%d", i);
	sdk_pop_nonce(nonce);
	if ((rv = mdt_token_single_action(task, &sp, &s, NULL)) != 0 ||
	    (rv = mdt_token_to_text(s, &out->token)) != 0 ||
	    (rv = mdt_token_pop_sign(s, holder, &pop)) != 0 ||
	    (rv = sdk_pop_format(&pop, out->proof, sizeof(out->proof))) != 0)
		die("prepare", rv);
	mdt_token_free(s);
}

/* One round: a fresh verifier, PER_ROUND presentations; ns per verify. */
static double
round_ns(mdt_rs_verifier *v, presentation *pres, double *lat)
{
	mdt_rs_request rq = {.action = "r", .patient = "pat-001"};
	char err[MDT_ERRMSG_MAX];
	uint64_t t0;
	int rv;

	t0 = bench_now_ns();
	for (int i = 0; i < PER_ROUND; i++) {
		uint64_t a = bench_now_ns();
		rq.resource = pres[i].res;
		if ((rv = mdt_rs_verify(v, pres[i].token, pres[i].proof, &rq,
		    NULL, err, sizeof(err))) != 0) {
			fprintf(stderr, "bench_gateway: verify: %s\n", err);
			exit(1);
		}
		lat[i] = (double)(bench_now_ns() - a);
	}
	t0 = bench_now_ns() - t0;
	return (double)t0 / PER_ROUND;
}

int
main(void)
{
	presentation *pres = calloc(PER_ROUND, sizeof(*pres));
	double gw[ROUNDS], ed[ROUNDS], ratio[ROUNDS];
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
	/* Each round pairs the baseline with the verifier, so load changes
	 * on a shared machine hit both sides of the ratio alike. */
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < PER_ROUND; i++)
			prepare(task, root, holder, now, r * PER_ROUND + i,
			    &pres[i]);
		ed[r] = bench_ed25519_verify_ns(3, PER_ROUND / 2);
		gw[r] = round_ns(v, pres, lat);
		ratio[r] = gw[r] / ed[r];
		for (int i = 0; i < PER_ROUND; i++)
			mdt_token_text_free(pres[i].token);
	}
	printf("ed25519 verify: %.0f ns (median of %d rounds)\n",
	    bench_percentile(ed, ROUNDS, 50), ROUNDS);
	printf("gateway verify (single-action token + proof): %.0f ns median "
	    "of %d rounds x %d; last round p50 %.0f ns, p99 %.0f ns\n",
	    bench_percentile(gw, ROUNDS, 50), ROUNDS, PER_ROUND,
	    bench_percentile(lat, PER_ROUND, 50),
	    bench_percentile(lat, PER_ROUND, 99));
	mdt_rs_verifier_free(v);
	bench_ratio("gateway_verify_vs_ed25519",
	    bench_percentile(ratio, ROUNDS, 50));
	mdt_token_free(task);
	mdt_keypair_free(root);
	mdt_keypair_free(holder);
	free(pres);
	free(lat);
	return 0;
}
