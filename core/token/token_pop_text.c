/*
 * The text form of a proof of possession, as carried in the
 * Mandate-Proof HTTP header:
 *
 *     mdtpop1.<time>.<nonce>.<signature>
 *
 * time is decimal Unix seconds (1..18 digits), nonce 16..64 characters of
 * [0-9a-z], signature the 64-byte Ed25519 signature in base64url without
 * padding (86 characters).  The audience, action and resource the
 * signature covers are not carried: the verifier supplies its own, so a
 * proof made for another request cannot verify.
 */
#include <stdio.h>
#include <string.h>

#include "key_int.h"
#include "parse_err_int.h"
#include "token_int.h"

#define POP_PREFIX "mdtpop1."
#define POP_SIG_B64 86
#define POP_NONCE_MIN 16

int
mdt_token_pop_to_text(const mdt_token_pop *pop, char *out, size_t cap)
{
	char sig[POP_SIG_B64 + 1];
	int n;

	if (pop == NULL || out == NULL || pop->nonce == NULL)
		return -MDT_EINVAL;
	mdt__b64url_encode(pop->sig, sizeof(pop->sig), sig, sizeof(sig));
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
	if (len < POP_NONCE_MIN || len >= MDT_TOKEN_POP_NONCE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
			return 0;
	return 1;
}

int
mdt_token_pop_from_text(const char *text, mdt_token_pop *pop,
    char nonce[MDT_TOKEN_POP_NONCE_MAX], char *err, size_t errlen)
{
	size_t plen = strlen(POP_PREFIX), bin_len = 0;
	const char *t, *dot1, *dot2;

	if (text == NULL || pop == NULL || nonce == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "proof: no input");
	if (strncmp(text, POP_PREFIX, plen) != 0)
		return mdt__errmsg(-MDT_EDECODE, err, errlen,
		    "proof: expected prefix \"" POP_PREFIX "\" at offset 0");
	t = text + plen;
	if ((dot1 = strchr(t, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL)
		return mdt__errmsg(-MDT_EDECODE, err, errlen,
		    "proof: expected time.nonce.signature after offset %zu",
		    plen);
	if (parse_time(t, (size_t)(dot1 - t), &pop->time) != 0)
		return mdt__errmsg(-MDT_EDECODE, err, errlen,
		    "proof: bad time at offset %zu", plen);
	if (!nonce_ok(dot1 + 1, (size_t)(dot2 - dot1 - 1)))
		return mdt__errmsg(-MDT_EDECODE, err, errlen,
		    "proof: bad nonce at offset %zu", (size_t)(dot1 + 1 - text));
	if (strlen(dot2 + 1) != POP_SIG_B64 ||
	    mdt__b64url_decode(dot2 + 1, POP_SIG_B64, pop->sig,
	    sizeof(pop->sig), &bin_len) != 0 ||
	    bin_len != sizeof(pop->sig))
		return mdt__errmsg(-MDT_EDECODE, err, errlen,
		    "proof: bad signature at offset %zu",
		    (size_t)(dot2 + 1 - text));
	memcpy(nonce, dot1 + 1, (size_t)(dot2 - dot1 - 1));
	nonce[dot2 - dot1 - 1] = '\0';
	pop->nonce = nonce;
	return 0;
}
