/*
 * Token verification cost: decode + verify of tokens with 1, 2, 4 and 8
 * attenuation blocks, cold and with the verified-prefix cache, beside
 * the raw cost of one crypto_sign_verify_detached measured in the same
 * run (interleaved, so machine noise hits both alike).
 *
 * Tokens are sealed single-action style: their last attenuation block
 * seals, so a token with N attenuation blocks carries exactly N + 1
 * signatures and no secret.  Unsealed tokens (which also carry the last
 * secret, checked with one fixed-base scalar multiplication) are reported
 * beside them.
 *
 * Last, the cost of mdt_token_single_action on a token with two
 * attenuation blocks (what the broker does on every allowed authorize)
 * beside one raw crypto_sign_detached, the one signature it must make.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <mandate/token.h>

#include "benchutil.h"

#define T0 1767225600
#define ROUNDS 301
#define SA_ROUNDS 201
#define SA_PER_ROUND 4
#define SIGN_MSG_BYTES 256 /* about a single-action block's signed message */

static const int depths[] = {1, 2, 4, 8};

static mdt_keypair *
key(uint8_t fill)
{
	uint8_t seed[32];
	mdt_keypair *kp;

	memset(seed, fill, sizeof(seed));
	if (mdt_keypair_from_seed(seed, &kp) != 0)
		abort();
	return kp;
}

static mdt_scope_set *
scopes(const char *text)
{
	mdt_scope_set *s;

	if (mdt_scope_set_parse(text, strlen(text), &s, NULL, 0) != 0)
		abort();
	return s;
}

/* Minted for an orchestrator, then n attenuation blocks: delegations
 * that narrow, the last one sealing when `sealed`. */
static mdt_token *
make_token(const mdt_keypair *root, const mdt_keypair *holder, int n,
    int sealed)
{
	mdt_token_mint_params p;
	mdt_pubkey hk;
	mdt_scope_set *s = scopes("patient/Observation.rs patient/Condition.rs "
	    "patient/MedicationRequest.rs");
	mdt_scope_set *narrow = scopes("patient/Observation.rs");
	mdt_token *t = NULL, *next;
	char holder_id[64];

	mdt_keypair_public(holder, &hk);
	memset(&p, 0, sizeof(p));
	p.task_id = "task-bench";
	p.clinician = "Practitioner/dr-ada";
	p.patient = "pat-123";
	p.purpose = "TREAT";
	p.scopes = s;
	p.issued_at = T0;
	p.expires_at = T0 + 900;
	p.depth = MDT_TOKEN_DEPTH_MAX;
	p.holder_id = "spiffe://clinic.example/orchestrator";
	p.holder_key = &hk;
	if (mdt_token_mint(root, &p, &t, NULL) != 0)
		abort();
	for (int i = 0; i < n; i++) {
		mdt_token_attenuate_params a;

		snprintf(holder_id, sizeof(holder_id),
		    "spiffe://clinic.example/agent/a%d", i);
		memset(&a, 0, sizeof(a));
		a.scopes = narrow;
		a.depth = MDT_TOKEN_KEEP_DEPTH;
		a.holder_id = holder_id;
		a.holder_key = &hk;
		a.task_id = holder_id + 24;
		a.expires_at = T0 + 600 - i;
		a.seal = sealed && i == n - 1;
		a.broker = root; /* a delegation is the broker's to make */
		if (mdt_token_attenuate(t, &a, &next, NULL) != 0)
			abort();
		mdt_token_free(t);
		t = next;
	}
	mdt_scope_set_free(s);
	mdt_scope_set_free(narrow);
	return t;
}

/* ns of `n` decode + verify runs of the token's bytes. */
static double
open_ns(const uint8_t *b, size_t len, const mdt_pubkey *root,
    mdt_token_cache *c, int n)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < n; i++) {
		mdt_token *x = NULL;

		if (mdt_token_open(b, len, root, c, &x, NULL) != 0)
			abort();
		mdt_token_free(x);
	}
	return (double)(bench_now_ns() - t0) / n;
}

typedef struct figures {
	double cold, cached, base;     /* medians, ns */
	double cold_ratio, cache_ratio; /* medians of per-round ratios */
} figures;

/*
 * Each round times, back to back, `sigs` raw verifications, one cold
 * open and a few cached opens; ratios are taken within a round so that
 * load from other processes hits numerator and denominator alike.
 */
static figures
measure(const mdt_token *t, const mdt_pubkey *root, int sigs)
{
	double cold[ROUNDS], cached[ROUNDS], base[ROUNDS];
	double rc[ROUNDS], rk[ROUNDS];
	size_t len;
	const uint8_t *b = mdt_token_bytes(t, &len);
	mdt_token_cache *c;
	figures f;

	if (mdt_token_cache_new(1024, &c) != 0)
		abort();
	open_ns(b, len, root, c, 1); /* warm the cache */
	for (int r = 0; r < ROUNDS; r++) {
		base[r] = bench_ed25519_verify_ns(1, sigs) * sigs;
		cold[r] = open_ns(b, len, root, NULL, 1);
		cached[r] = open_ns(b, len, root, c, 8);
		rc[r] = cold[r] / base[r];
		rk[r] = cold[r] / cached[r];
	}
	mdt_token_cache_free(c);
	f.cold = bench_percentile(cold, ROUNDS, 50);
	f.cached = bench_percentile(cached, ROUNDS, 50);
	f.base = bench_percentile(base, ROUNDS, 50) / sigs;
	f.cold_ratio = bench_percentile(rc, ROUNDS, 50);
	f.cache_ratio = bench_percentile(rk, ROUNDS, 50);
	return f;
}

/* ns of one mdt_token_single_action, averaged over `n` calls. */
static double
single_ns(const mdt_token *t, const mdt_keypair *root, int n)
{
	mdt_token_single_params sp = {"r", "Observation/obs-1",
	    "spiffe://clinic.example/fhir", T0 + 10, 60, NULL, root};
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < n; i++) {
		mdt_token *s = NULL;

		if (mdt_token_single_action(t, &sp, &s, NULL) != 0)
			abort();
		mdt_token_free(s);
	}
	return (double)(bench_now_ns() - t0) / n;
}

/* ns of one crypto_sign_detached over SIGN_MSG_BYTES, averaged. */
static double
sign_ns(int n)
{
	static unsigned char pk[crypto_sign_PUBLICKEYBYTES],
	    sk[crypto_sign_SECRETKEYBYTES];
	unsigned char msg[SIGN_MSG_BYTES] = {0}, sig[crypto_sign_BYTES];
	uint64_t t0;

	if (pk[0] == 0 && crypto_sign_keypair(pk, sk) != 0)
		abort();
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++) {
		msg[0] = (unsigned char)i;
		if (crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk) != 0)
			abort();
	}
	return (double)(bench_now_ns() - t0) / n;
}

/*
 * Single-action tokens from a verified token with two attenuation
 * blocks, interleaved round by round with raw signatures.
 */
static void
measure_single(const mdt_keypair *root, const mdt_keypair *holder)
{
	double sa[SA_ROUNDS], sg[SA_ROUNDS], r[SA_ROUNDS];
	mdt_token *t = make_token(root, holder, 2, 0);

	single_ns(t, root, SA_PER_ROUND); /* warm up */
	for (int i = 0; i < SA_ROUNDS; i++) {
		sa[i] = single_ns(t, root, SA_PER_ROUND);
		sg[i] = sign_ns(SA_PER_ROUND);
		r[i] = sa[i] / sg[i];
	}
	printf("single_action d2: %.1f us, ed25519 sign: %.1f us\n",
	    bench_percentile(sa, SA_ROUNDS, 50) / 1e3,
	    bench_percentile(sg, SA_ROUNDS, 50) / 1e3);
	bench_ratio("single_action_vs_ed25519_sign",
	    bench_percentile(r, SA_ROUNDS, 50));
	mdt_token_free(t);
}

int
main(void)
{
	mdt_keypair *root = key(1), *holder = key(2);
	mdt_pubkey rpk;
	figures d4 = {0, 0, 0, 0, 0};

	mdt_keypair_public(root, &rpk);
	printf("%-10s %-6s %6s %11s %11s %11s %9s %9s\n", "form", "blocks",
	    "sigs", "cold_us", "cached_us", "ed25519_us", "cold/sigs",
	    "cold/cache");
	for (int sealed = 1; sealed >= 0; sealed--) {
		for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
			mdt_token *t = make_token(root, holder, depths[i],
			    sealed);
			int sigs = depths[i] + 1;
			figures f = measure(t, &rpk, sigs);

			printf("%-10s %-6d %6d %11.1f %11.2f %11.1f %9.3f %9.1f\n",
			    sealed ? "sealed" : "unsealed", depths[i], sigs,
			    f.cold / 1e3, f.cached / 1e3, f.base / 1e3,
			    f.cold_ratio, f.cache_ratio);
			if (sealed && depths[i] == 4)
				d4 = f;
			mdt_token_free(t);
		}
	}
	bench_ratio("token_verify_cold_d4_vs_5_ed25519", d4.cold_ratio);
	bench_ratio("token_verify_cold_over_cached_d4", d4.cache_ratio);
	measure_single(root, holder);
	mdt_keypair_free(root);
	mdt_keypair_free(holder);
	return 0;
}
