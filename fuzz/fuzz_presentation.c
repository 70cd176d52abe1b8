/*
 * Fuzzes what a resource server receives: the Mandate-Token and
 * Mandate-Proof header values, given to the SDK's verifier (which reads
 * the proof with libmandate's mdt_token_pop_from_text).  Input: the
 * token text, one '\n', the proof text.  The verifier trusts a fixed root
 * key (seed 0x00...), so a seed built with that key reaches the chain,
 * single-action, proof and single-use checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_int.h"

#define FUZZ_TEXT_MAX 32768
#define FUZZ_NOW 1900000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long accepted;

static mdt_rs_verifier *
fuzz_verifier(void)
{
	static mdt_rs_verifier *v;
	uint8_t seed[MDT_KEY_SEED_BYTES] = {0};
	mdt_rs_verifier_opts o;
	mdt_keypair *kp;
	mdt_pubkey pk;

	if (v != NULL)
		return v;
	if (mdt_keypair_from_seed(seed, &kp) != 0)
		abort();
	mdt_keypair_public(kp, &pk);
	mdt_keypair_free(kp);
	memset(&o, 0, sizeof(o));
	o.broker_key = &pk;
	o.audience = "spiffe://clinic.example/fhir-gateway";
	if (mdt_rs_verifier_new(&o, &v, NULL, 0) != 0)
		abort();
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mdt_rs_request rq = {.action = "r",
	    .resource = "Observation/obs-001-1", .patient = "pat-001",
	    .now = FUZZ_NOW};
	const uint8_t *nl = memchr(data, '\n', size);
	char *tok, *proof;
	size_t tlen;

	if (nl == NULL || size > FUZZ_TEXT_MAX)
		return 0;
	tlen = (size_t)(nl - data);
	tok = malloc(tlen + 1);
	proof = malloc(size - tlen);
	if (tok == NULL || proof == NULL)
		abort();
	memcpy(tok, data, tlen);
	tok[tlen] = '\0';
	memcpy(proof, nl + 1, size - tlen - 1);
	proof[size - tlen - 1] = '\0';
	/* Single use: only the first run of a valid seed is accepted. */
	if (mdt_rs_verify(fuzz_verifier(), tok, proof, &rq, NULL, NULL, 0) == 0)
		accepted++;
	free(tok);
	free(proof);
	return 0;
}
