/*
 * Fuzz harness for the launch-assertion (JWT) reader.  Two modes, chosen
 * by a NUL byte in the input:
 *   - no NUL: the input is a compact JWT, verified as received against a
 *     fixed Ed25519 key (shape, base64url, header rules, signature);
 *   - "HEADER\0PAYLOAD": both are signed with the fixed key's private
 *     half and verified, so header and claims parsing see arbitrary JSON
 *     behind a valid signature.
 * Verification either succeeds with claims whose scopes format and
 * reparse, or fails with a message.  The key is a test key, nothing else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/idp.h>

#include "jwt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char test_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIAzEo2EI53Isum5+JpC71r7s9AF8tMJsvEZrwQ/dvDWA\n"
    "-----END PRIVATE KEY-----\n";

static mdt_idp_key *
test_key(void)
{
	static mdt_idp_key *key;

	if (key == NULL && mdt_idp_key_from_pem(test_key_pem,
	    strlen(test_key_pem), 1, &key, NULL, 0) != 0)
		abort();
	return key;
}

static void
check(const char *jwt, size_t len)
{
	mdt_idp_verify_opts o;
	mdt_idp_claims *c = NULL;
	char err[MDT_ERRMSG_MAX] = "", *text;
	int rc;

	memset(&o, 0, sizeof(o));
	o.key = test_key();
	o.issuer = "i";
	o.audience = "a";
	o.now = 1800000000;
	o.skew = 60;
	rc = mdt_idp_verify(jwt, len, &o, &c, err, sizeof(err));
	if (rc != 0) {
		if (c != NULL || err[0] == '\0')
			abort();
		return;
	}
	if (mdt_scope_set_format(mdt_idp_claims_scopes(c), &text) != 0)
		abort();
	mdt_free(text);
	mdt_idp_claims_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	char *hdr, *payload, *jwt;

	if (nul == NULL) {
		check((const char *)data, size);
		return 0;
	}
	hdr = malloc((size_t)(nul - data) + 1);
	payload = malloc(size - (size_t)(nul - data));
	if (hdr == NULL || payload == NULL)
		abort();
	memcpy(hdr, data, (size_t)(nul - data));
	hdr[nul - data] = '\0';
	memcpy(payload, nul + 1, size - (size_t)(nul - data) - 1);
	payload[size - (size_t)(nul - data) - 1] = '\0';
	if (mdt__jwt_compact(test_key(), hdr, payload, &jwt) == 0) {
		check(jwt, strlen(jwt));
		mdt_free(jwt);
	}
	free(hdr);
	free(payload);
	return 0;
}
