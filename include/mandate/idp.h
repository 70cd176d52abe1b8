/*
 * Launch assertions from an identity provider (IdP): compact JWS tokens
 * (JWT) in the shape of a SMART on FHIR EHR launch, naming the clinician,
 * the patient in context and the SMART scopes granted to the clinician.
 *
 * Verification is strict (docs/identity.md):
 *   - the algorithm is fixed by the configured key, never by the token:
 *     the header's `alg` must equal the key's (ES256, RS256 with a key of
 *     at least 2048 bits, or EdDSA with Ed25519); `none` and HMAC
 *     algorithms are refused;
 *   - the header may hold only `alg`, `typ` (= "JWT"), `kid`, `x5t` and
 *     `x5t#S256`; key-carrying or semantics-changing parameters (`jwk`,
 *     `jku`, `x5u`, `x5c`, `crit`, `b64`, ...) are refused;
 *   - every segment is canonical base64url without padding, JSON objects
 *     have no duplicate keys, sizes are bounded;
 *   - ES256 signatures are the 64-byte r || s of RFC 7518, with r and s in
 *     [1, n-1];
 *   - claims: iss equal to the configured issuer, aud containing the
 *     broker's audience, sub, patient, scope (parsed strictly by the scope
 *     module), exp and iat required; fhirUser, nbf and jti optional.
 *
 * A development IdP is included: key generation and mdt_idp_assert, which
 * signs assertions for tests and examples.
 */
#ifndef MANDATE_IDP_H
#define MANDATE_IDP_H

#include <mandate/common.h>
#include <mandate/scope.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDT_IDP_JWT_MAX 16384     /* bytes in a compact JWT */
#define MDT_IDP_HEADER_MAX 1024   /* bytes of decoded header JSON */
#define MDT_IDP_CLAIM_MAX 512     /* bytes in one string claim */
#define MDT_IDP_AUD_MAX 16        /* entries in an aud array */
#define MDT_IDP_SKEW_MAX 300      /* largest clock-skew allowance, s */
#define MDT_IDP_RSA_MIN_BITS 2048 /* smaller RSA keys are refused */
#define MDT_IDP_RSA_MAX_BITS 8192 /* larger RSA keys are refused */
#define MDT_IDP_PEM_MAX 16384     /* bytes in a PEM key file */

/*
 * Line written above the PEM block of keys saved by mdt_idp_key_save (the
 * development IdP), so a broker can warn when it trusts one.
 */
#define MDT_IDP_DEV_MARKER "Mandate development identity provider key: " \
    "not for production"

typedef enum mdt_idp_alg {
	MDT_IDP_ES256 = 1, /* ECDSA P-256 with SHA-256 */
	MDT_IDP_RS256 = 2, /* RSASSA-PKCS1-v1_5 with SHA-256 */
	MDT_IDP_EDDSA = 3  /* Ed25519 */
} mdt_idp_alg;

/* An IdP key: public (to verify) or private (to sign).  Opaque. */
typedef struct mdt_idp_key mdt_idp_key;

/* Verified claims of one launch assertion.  Opaque. */
typedef struct mdt_idp_claims mdt_idp_claims;

/* JOSE name of an algorithm ("ES256", "RS256", "EdDSA"), or NULL. */
MDT_API const char *mdt_idp_alg_name(mdt_idp_alg alg);

/* Parses a JOSE name (exact case).  MDT_EINVAL for any other name. */
MDT_API MDT_WUR int mdt_idp_alg_parse(const char *name, mdt_idp_alg *out);

/*
 * Generates a fresh private key (RSA keys have 3072 bits).  Caller frees
 * *out with mdt_idp_key_free.
 */
MDT_API MDT_WUR int mdt_idp_key_generate(mdt_idp_alg alg,
    mdt_idp_key **out);

/*
 * Reads a key from PEM text (len bytes): a SubjectPublicKeyInfo
 * ("PUBLIC KEY") when want_private is 0, an unencrypted PKCS#8
 * ("PRIVATE KEY") otherwise.  The algorithm follows from the key: P-256
 * EC -> ES256, RSA of 2048..8192 bits -> RS256, Ed25519 -> EdDSA; any
 * other key is MDT_EKEY.  Caller frees *out with mdt_idp_key_free.
 */
MDT_API MDT_WUR int mdt_idp_key_from_pem(const char *pem, size_t len,
    int want_private, mdt_idp_key **out, char *err, size_t errlen);

/* As mdt_idp_key_from_pem, reading a public key file. */
MDT_API MDT_WUR int mdt_idp_key_load_public(const char *path,
    mdt_idp_key **out, char *err, size_t errlen);

/*
 * As mdt_idp_key_from_pem, reading a private key file; refused with
 * MDT_EKEY when group or other users may read or write the file.
 */
MDT_API MDT_WUR int mdt_idp_key_load_private(const char *path,
    mdt_idp_key **out, char *err, size_t errlen);

/*
 * Writes `base.pem` (private, PKCS#8, mode 0600) and `base.pub.pem`
 * (public, 0644), both created exclusively: MDT_EEXIST if either exists,
 * and nothing is overwritten.  MDT_EINVAL for a public-only key.  Both
 * files start with the line MDT_IDP_DEV_MARKER: this is the development
 * IdP's key store.
 */
MDT_API MDT_WUR int mdt_idp_key_save(const mdt_idp_key *key,
    const char *base, char *err, size_t errlen);

/* PEM text of the public half.  Caller frees *out with mdt_free. */
MDT_API MDT_WUR int mdt_idp_key_public_pem(const mdt_idp_key *key,
    char **out);

/* The key's algorithm. */
MDT_API mdt_idp_alg mdt_idp_key_alg(const mdt_idp_key *key);

/*
 * 1 when the PEM text the key was read from carried MDT_IDP_DEV_MARKER
 * above its PEM block (a development IdP key), else 0.
 */
MDT_API int mdt_idp_key_is_development(const mdt_idp_key *key);

/* 1 when the key holds a private half, else 0. */
MDT_API int mdt_idp_key_is_private(const mdt_idp_key *key);

/* Frees a key (OpenSSL clears private material).  NULL is a no-op. */
MDT_API void mdt_idp_key_free(mdt_idp_key *key);

/*
 * A key set: the IdP's public keys, each named by a key id (kid), read
 * from a JWKS (RFC 7517) so that an IdP can rotate: it publishes its next
 * key beside the current one, signs with the new one (naming it in the
 * header's kid), and drops the old one once no assertion signed with it
 * is still valid.  The verifier picks the key by the assertion's kid; the
 * algorithm still follows from the key.  Opaque.
 */
typedef struct mdt_idp_keyset mdt_idp_keyset;

#define MDT_IDP_KEYSET_MAX 16 /* keys in one set */
#define MDT_IDP_KID_MAX 256   /* bytes in a kid */
#define MDT_IDP_JWKS_MAX (256u << 10) /* bytes of JWKS text */

/* An empty set.  Caller frees *out with mdt_idp_keyset_free. */
MDT_API MDT_WUR int mdt_idp_keyset_new(mdt_idp_keyset **out);
/*
 * Adds a public key (a private one is MDT_EINVAL) under kid (1 to
 * MDT_IDP_KID_MAX bytes; MDT_EEXIST when the set has it, MDT_ETOOBIG when
 * the set is full).  On success the set owns key; on failure the caller
 * still does.
 */
MDT_API MDT_WUR int mdt_idp_keyset_add(mdt_idp_keyset *set, const char *kid,
    mdt_idp_key *key, char *err, size_t errlen);
/*
 * Reads a JWKS: {"keys": [JWK, ...]} with 1 to MDT_IDP_KEYSET_MAX keys,
 * each {"kty": "EC", "crv": "P-256", "x", "y"}, {"kty": "RSA", "n", "e"}
 * (2048 to 8192 bits) or {"kty": "OKP", "crv": "Ed25519", "x"}, with a
 * unique "kid"; "use", if present, is "sig", and "alg", if present, the
 * key's algorithm.  Private members (d, p, q, dp, dq, qi, oth, k),
 * symmetric keys, other curves, non-canonical base64url, points off the
 * curve and duplicate JSON members are refused (MDT_EPARSE, MDT_EKEY,
 * MDT_EDECODE), the message naming the key (keys[i]) and the member.
 * Members this reader does not use (x5c, x5t, ...) are ignored, as RFC
 * 7517 requires.  Caller frees *out with mdt_idp_keyset_free.
 */
MDT_API MDT_WUR int mdt_idp_keyset_from_jwks(const char *json, size_t len,
    mdt_idp_keyset **out, char *err, size_t errlen);
/* As mdt_idp_keyset_from_jwks, reading a file (at most MDT_IDP_JWKS_MAX
 * bytes). */
MDT_API MDT_WUR int mdt_idp_keyset_load(const char *path,
    mdt_idp_keyset **out, char *err, size_t errlen);
/* The set as JWKS text (public members only, with alg and use).  Caller
 * frees *out with mdt_free. */
MDT_API MDT_WUR int mdt_idp_keyset_to_jwks(const mdt_idp_keyset *set,
    char **out);
MDT_API size_t mdt_idp_keyset_count(const mdt_idp_keyset *set);
/* The i-th kid and key (owned by the set), or NULL past the end. */
MDT_API const char *mdt_idp_keyset_kid(const mdt_idp_keyset *set, size_t i);
MDT_API const mdt_idp_key *mdt_idp_keyset_key(const mdt_idp_keyset *set,
    size_t i);
/* The key named kid, or NULL. */
MDT_API const mdt_idp_key *mdt_idp_keyset_find(const mdt_idp_keyset *set,
    const char *kid);
/* Frees a set and its keys.  NULL is a no-op. */
MDT_API void mdt_idp_keyset_free(mdt_idp_keyset *set);

/* What a verifier requires of an assertion. */
typedef struct mdt_idp_verify_opts {
	const mdt_idp_key *key; /* the IdP's key; fixes the algorithm */
	const char *issuer;     /* iss must equal this */
	const char *audience;   /* aud must be or contain this */
	int64_t now;            /* unix seconds */
	int64_t skew;           /* clock-skew allowance, 0..MDT_IDP_SKEW_MAX */
	int64_t max_lifetime;   /* exp - iat at most this; 0: no bound */
	/* instead of key: the IdP's key set.  The header must then carry a
	 * kid naming one of its keys (MDT_EKEY otherwise), which verifies
	 * the assertion and fixes the algorithm. */
	const mdt_idp_keyset *keys;
} mdt_idp_verify_opts;

/*
 * Verifies a compact JWT (len bytes) and returns its claims.  Errors,
 * each with a message in err saying which part and why:
 *   MDT_ETOOBIG       the token or a part exceeds a bound
 *   MDT_EPARSE        not three segments, bad JSON, missing or mistyped
 *                     claims, a malformed scope (offset inside `scope`)
 *   MDT_EDECODE       a segment that is not canonical base64url
 *   MDT_EUNSUPPORTED  alg none, HMAC or unknown alg; a refused header
 *                     parameter (jwk, jku, x5u, x5c, crit, ...)
 *   MDT_EKEY          alg differs from the configured key's; with a key
 *                     set, kid missing or naming no key of the set
 *   MDT_ESIG          the signature does not verify (or r, s out of range)
 *   MDT_EAUTH         iss is not the configured issuer
 *   MDT_EAUDIENCE     aud does not contain the audience
 *   MDT_EEXPIRED      expired, not yet valid (nbf, iat in the future), or
 *                     living longer than max_lifetime
 *   MDT_EINVAL        bad options
 * Caller frees *out with mdt_idp_claims_free.
 */
MDT_API MDT_WUR int mdt_idp_verify(const char *jwt, size_t len,
    const mdt_idp_verify_opts *opts, mdt_idp_claims **out, char *err,
    size_t errlen);

/* Frees claims.  NULL is a no-op. */
MDT_API void mdt_idp_claims_free(mdt_idp_claims *c);

/* String claims, owned by c.  fhirUser and jti may be NULL (absent). */
MDT_API const char *mdt_idp_claims_iss(const mdt_idp_claims *c);
MDT_API const char *mdt_idp_claims_sub(const mdt_idp_claims *c);
MDT_API const char *mdt_idp_claims_fhir_user(const mdt_idp_claims *c);
MDT_API const char *mdt_idp_claims_patient(const mdt_idp_claims *c);
MDT_API const char *mdt_idp_claims_jti(const mdt_idp_claims *c);
/* The scope claim as sent. */
MDT_API const char *mdt_idp_claims_scope_text(const mdt_idp_claims *c);
/*
 * Claims of a clinician's act, NULL when absent: "mandate_stepup", the id
 * of the step-up an approval or rejection decides (the broker accepts a
 * decision only from an assertion that names its step-up and was issued
 * after it); "purpose_of_use", an emergency purpose (ETREAT, BTG) the
 * clinician declared when signing in (the broker opens an emergency task
 * only with one).  Owned by c.
 */
MDT_API const char *mdt_idp_claims_stepup(const mdt_idp_claims *c);
MDT_API const char *mdt_idp_claims_purpose_of_use(const mdt_idp_claims *c);
MDT_API int64_t mdt_idp_claims_iat(const mdt_idp_claims *c);
MDT_API int64_t mdt_idp_claims_exp(const mdt_idp_claims *c);

/*
 * The granted resource scopes, parsed; SMART launch and identity scopes
 * (openid, fhirUser, profile, launch, launch/patient, launch/encounter,
 * offline_access, online_access) are accepted in the claim and left out
 * of the set.  Owned by c.
 */
MDT_API const mdt_scope_set *mdt_idp_claims_scopes(const mdt_idp_claims *c);

/* What the development IdP asserts. */
typedef struct mdt_idp_assert_opts {
	const char *iss;
	const char *aud;
	const char *sub;       /* clinician id */
	const char *fhir_user; /* e.g. "Practitioner/123", or NULL */
	const char *patient;
	const char *scope;     /* space-separated SMART scopes */
	int64_t iat;           /* unix seconds */
	int64_t ttl;           /* exp = iat + ttl; 1..86400 */
	const char *kid;       /* header kid, or NULL */
	const char *stepup;    /* mandate_stepup claim, or NULL */
	const char *purpose_of_use; /* purpose_of_use claim, or NULL */
} mdt_idp_assert_opts;

/*
 * Signs a launch assertion with a private key (development IdP; a random
 * jti is included).  The scope text is checked with the same parser as
 * verification.  Caller frees *out (a NUL-terminated compact JWT) with
 * mdt_free.
 */
MDT_API MDT_WUR int mdt_idp_assert(const mdt_idp_key *key,
    const mdt_idp_assert_opts *opts, char **out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_IDP_H */
