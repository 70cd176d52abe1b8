/*
 * Proofs of possession for the SDK: fresh nonces, and the text form of
 * the Mandate-Proof HTTP header (mdtpop1.<time>.<nonce>.<signature>,
 * docs/token-format.md), which libmandate owns.
 */
#include <sodium.h>

#include "sdk_int.h"

_Static_assert(SDK_NONCE_MAX == MDT_TOKEN_POP_NONCE_MAX, "one nonce bound");

int
sdk_pop_nonce(char nonce[SDK_NONCE_MAX])
{
	uint8_t r[16];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(nonce, SDK_NONCE_MAX, r, sizeof(r));
	return 0;
}

/* The text form itself is libmandate's (mdt_token_pop_to_text/from_text):
 * the SDK's verifier, mandatectl and any resource server read one form. */
int
sdk_pop_format(const mdt_token_pop *pop, char *out, size_t cap)
{
	return mdt_token_pop_to_text(pop, out, cap);
}

int
sdk_pop_parse(const char *text, mdt_token_pop *pop,
    char nonce[SDK_NONCE_MAX], char *err, size_t errlen)
{
	return mdt_token_pop_from_text(text, pop, nonce, err, errlen);
}
