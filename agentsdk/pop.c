/*
 * The text form of a proof of possession, as carried in the
 * Mandate-Proof HTTP header:
 *
 *     mdtpop1.<time>.<nonce>.<signature>
 *
 * time is decimal Unix seconds (1..19 digits), nonce 16..64 characters of
 * [0-9a-z], signature the 64-byte Ed25519 signature in base64url without
 * padding (86 characters).  The audience, action and resource the
 * signature covers are not carried: the verifier supplies its own, so a
 * proof made for another request cannot verify.
 */
#include <string.h>
#include <stdio.h>

#include <sodium.h>

#include "sdk_int.h"

#define POP_PREFIX "mdtpop1."
#define POP_SIG_B64 86
#define POP_NONCE_MIN 16

int
sdk_pop_nonce(char nonce[SDK_NONCE_MAX])
{
	uint8_t r[16];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(nonce, SDK_NONCE_MAX, r, sizeof(r));
	return 0;
}

int
sdk_pop_format(const mdt_token_pop *pop, char *out, size_t cap)
{
	char sig[POP_SIG_B64 + 1];
	int n;

	sodium_bin2base64(sig, sizeof(sig), pop->sig, sizeof(pop->sig),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = snprintf(out, cap, POP_PREFIX "%lld.%s.%s", (long long)pop->time,
	    pop->nonce, sig);
	return n < 0 || (size_t)n >= cap ? -MDT_ETOOBIG : 0;
}

static int
parse_time(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > 18)
		return -MDT_EDECODE;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -MDT_EDECODE;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
nonce_ok(const char *s, size_t len)
{
	if (len < POP_NONCE_MIN || len >= SDK_NONCE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
			return 0;
	return 1;
}

int
sdk_pop_parse(const char *text, mdt_token_pop *pop,
    char nonce[SDK_NONCE_MAX], char *err, size_t errlen)
{
	size_t plen = strlen(POP_PREFIX), bin_len = 0;
	const char *t, *dot1, *dot2;

	if (text == NULL || strncmp(text, POP_PREFIX, plen) != 0)
		return sdk_err(err, errlen, -MDT_EDECODE,
		    "proof: expected prefix \"" POP_PREFIX "\" at offset 0");
	t = text + plen;
	if ((dot1 = strchr(t, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL)
		return sdk_err(err, errlen, -MDT_EDECODE,
		    "proof: expected time.nonce.signature after offset %zu",
		    plen);
	if (parse_time(t, (size_t)(dot1 - t), &pop->time) != 0)
		return sdk_err(err, errlen, -MDT_EDECODE,
		    "proof: bad time at offset %zu", plen);
	if (!nonce_ok(dot1 + 1, (size_t)(dot2 - dot1 - 1)))
		return sdk_err(err, errlen, -MDT_EDECODE,
		    "proof: bad nonce at offset %zu", (size_t)(dot1 + 1 - text));
	memcpy(nonce, dot1 + 1, (size_t)(dot2 - dot1 - 1));
	nonce[dot2 - dot1 - 1] = '\0';
	pop->nonce = nonce;
	if (strlen(dot2 + 1) != POP_SIG_B64 ||
	    sodium_base642bin(pop->sig, sizeof(pop->sig), dot2 + 1,
	    POP_SIG_B64, NULL, &bin_len, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    bin_len != sizeof(pop->sig))
		return sdk_err(err, errlen, -MDT_EDECODE,
		    "proof: bad signature at offset %zu",
		    (size_t)(dot2 + 1 - text));
	return 0;
}
