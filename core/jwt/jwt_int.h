/*
 * Internals of the launch-assertion (JWT) module shared by core/jwt/jwt_*.c:
 * the key layout, JOSE signatures over raw bytes, compact serialisation
 * and the scope claim reader.  Tests use mdt__jwt_compact to forge tokens
 * with arbitrary headers.
 */
#ifndef MDT_JWT_INT_H
#define MDT_JWT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <mandate/idp.h>

#define MDT__JWT_SIG_MAX (MDT_IDP_RSA_MAX_BITS / 8) /* JOSE signature */

struct mdt_idp_key {
	EVP_PKEY *pkey;
	mdt_idp_alg alg;
	int priv;
	int dev; /* read from PEM marked MDT_IDP_DEV_MARKER */
};

/*
 * Wraps an OpenSSL key (the algorithm follows from it; keys of other
 * types or sizes are MDT_EKEY).  Takes pkey in every case: on failure it
 * is freed.  Caller frees *out with mdt_idp_key_free.
 */
int mdt__jwt_key_wrap(EVP_PKEY *pkey, int priv, mdt_idp_key **out,
    char *err, size_t errlen);

/*
 * JOSE signature of msg (n bytes) with a private key: r || s (64 bytes)
 * for ES256, the raw signature otherwise.  sig holds MDT__JWT_SIG_MAX
 * bytes; *siglen receives the length.
 */
int mdt__jwt_sign(const mdt_idp_key *key, const uint8_t *msg, size_t n,
    uint8_t *sig, size_t *siglen);

/* Verifies a JOSE signature; MDT_ESIG with the reason in err. */
int mdt__jwt_verify_sig(const mdt_idp_key *key, const uint8_t *msg,
    size_t n, const uint8_t *sig, size_t siglen, char *err, size_t errlen);

/*
 * base64url(header) "." base64url(payload) "." base64url(signature), the
 * signature made with key over the first two parts.  header and payload
 * are taken as given (any JSON, or none).  Caller frees *out with
 * mdt_free.
 */
int mdt__jwt_compact(const mdt_idp_key *key, const char *header,
    const char *payload, char **out);

/*
 * Reads a scope claim: SMART launch and identity scopes are skipped, the
 * rest parsed strictly.  Error offsets count from the start of the claim.
 * Caller frees *out with mdt_scope_set_free.
 */
int mdt__jwt_launch_scopes(const char *text, size_t len, mdt_scope_set **out,
    char *err, size_t errlen);

/*
 * Reads and checks the claims of a payload whose signature has verified
 * (core/jwt/jwt_claims.c).  Caller frees *out with mdt_idp_claims_free.
 */
int mdt__jwt_claims(const uint8_t *json, size_t n,
    const mdt_idp_verify_opts *o, mdt_idp_claims **out, char *err,
    size_t errlen);

#endif
