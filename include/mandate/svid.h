/*
 * X.509-SVIDs (SPIFFE X.509 SPIFFE Verifiable Identity Documents): trust
 * bundles, verification of a presented SVID chain and of a signature made
 * with its key, and the holder's side (load an SVID and its private key
 * from PEM files, sign).  docs/identity.md describes the rules; in short:
 *
 *   - the chain is DER certificates, leaf first, at most MDT_SVID_CHAIN_MAX
 *     of at most MDT_SVID_CERT_MAX bytes each, each exactly one DER
 *     certificate with nothing after it;
 *   - it must build an RFC 5280 path (OpenSSL, strict mode) to a CA of the
 *     trust bundle at the given time, at most MDT_SVID_CHAIN_MAX deep;
 *   - the leaf has exactly one URI SAN, a valid SPIFFE id (mdt_spiffe_parse)
 *     with a non-root path, in the bundle's trust domain; it is not a CA
 *     (basicConstraints cA false or absent); its keyUsage extension is
 *     present, critical, sets digitalSignature and neither keyCertSign nor
 *     cRLSign; an extendedKeyUsage, if present, includes clientAuth;
 *   - every other presented certificate is a CA (cA true, keyCertSign) and,
 *     if it carries a SPIFFE id, that id has no path;
 *   - the signature algorithm is fixed by the leaf's key type, never by the
 *     message: ECDSA P-256 with SHA-256, ECDSA P-384 with SHA-384 (both DER
 *     ECDSA-Sig-Value, verified strictly as received: r = 0 or s = 0 and
 *     non-canonical DER are refused) or Ed25519 (64 bytes).  Other key types
 *     are MDT_EUNSUPPORTED.
 *
 * Every refusal says which certificate (index in the presented chain, 0 =
 * leaf, or its depth in the built path) and which check failed.
 */
#ifndef MANDATE_SVID_H
#define MANDATE_SVID_H

#include <mandate/common.h>
#include <mandate/spiffe.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDT_SVID_CHAIN_MAX 8          /* certificates in a presented chain */
#define MDT_SVID_CERT_MAX 8192        /* DER bytes of one certificate */
#define MDT_SVID_BUNDLE_CERTS_MAX 64  /* CA certificates in a trust bundle */
#define MDT_SVID_PEM_MAX (1u << 20)   /* bytes of a bundle or SVID PEM file */
#define MDT_SVID_SIG_MAX 128          /* bytes of a signature (P-384 DER: 104) */

/* One DER certificate: len bytes at der. */
typedef struct mdt_svid_cert {
	const uint8_t *der;
	size_t len;
} mdt_svid_cert;

/* What a verified SVID establishes.  Plain data: copy freely. */
typedef struct mdt_svid_info {
	mdt_spiffe_id id;   /* the leaf's SPIFFE id */
	int64_t not_after;  /* unix seconds: earliest notAfter of the path */
} mdt_svid_info;

/* ---- verifier side ---- */

/* The CA certificates of one trust domain.  Opaque; immutable once
 * loaded, so one bundle may verify from several threads at once. */
typedef struct mdt_svid_bundle mdt_svid_bundle;

/*
 * Reads a trust bundle from PEM text (len bytes, at most MDT_SVID_PEM_MAX):
 * 1..MDT_SVID_BUNDLE_CERTS_MAX CERTIFICATE blocks, each a CA (cA true,
 * keyCertSign); a CA that carries a SPIFFE id must carry the id of
 * trust_domain (a bare name such as "example.org", validated with
 * mdt_spiffe_validate_trust_domain).  Text outside the PEM blocks is
 * ignored.  MDT_EPARSE / MDT_EDECODE / MDT_ETOOBIG / MDT_EAUTH with err
 * naming the certificate.  Caller frees *out with mdt_svid_bundle_free.
 */
MDT_API MDT_WUR int mdt_svid_bundle_from_pem(const char *pem, size_t len,
    const char *trust_domain, mdt_svid_bundle **out, char *err,
    size_t errlen);

/* As mdt_svid_bundle_from_pem, reading the file at path (err names it). */
MDT_API MDT_WUR int mdt_svid_bundle_load(const char *path,
    const char *trust_domain, mdt_svid_bundle **out, char *err,
    size_t errlen);

/* Frees a bundle.  NULL is a no-op. */
MDT_API void mdt_svid_bundle_free(mdt_svid_bundle *b);

/* The bundle's trust domain (bare name); owned by the bundle. */
MDT_API const char *mdt_svid_bundle_trust_domain(const mdt_svid_bundle *b);

/* Number of CA certificates in the bundle. */
MDT_API size_t mdt_svid_bundle_count(const mdt_svid_bundle *b);

/*
 * Verifies a presented chain (n certificates, leaf first) against bundle b
 * at time now (unix seconds), under the rules at the top of this header.
 * On success *out (may be NULL) receives the leaf's id and the path's
 * earliest notAfter.  Errors: MDT_ETOOBIG (count, size), MDT_EDECODE (not
 * one DER certificate), MDT_EPARSE (SPIFFE id), MDT_EEXPIRED (outside a
 * validity period), MDT_EAUTH (any other failed check, path building
 * included); err names the certificate and the check.
 */
MDT_API MDT_WUR int mdt_svid_verify(const mdt_svid_bundle *b,
    const mdt_svid_cert *chain, size_t n, int64_t now, mdt_svid_info *out,
    char *err, size_t errlen);

/*
 * mdt_svid_verify, then verifies sig (siglen bytes) over msg (msglen
 * bytes) with the leaf's public key, the algorithm fixed by the key type.
 * MDT_ESIG when the signature does not verify, MDT_EUNSUPPORTED for a key
 * type outside the list above.  *out is written only when both pass.
 */
MDT_API MDT_WUR int mdt_svid_verify_signed(const mdt_svid_bundle *b,
    const mdt_svid_cert *chain, size_t n, int64_t now, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen, mdt_svid_info *out,
    char *err, size_t errlen);

/* ---- holder side ---- */

/* An SVID chain with the leaf's private key.  Opaque; the key is freed
 * (and wiped by OpenSSL) with the handle. */
typedef struct mdt_svid mdt_svid;

/*
 * Loads an SVID: cert_file holds PEM certificates, leaf first, then any
 * intermediates (1..MDT_SVID_CHAIN_MAX); key_file the leaf's unencrypted
 * private key (PKCS#8 or traditional PEM), refused (MDT_EKEY) when group
 * or others may read or write it, or when it is not the leaf's key.  The
 * leaf's id is read with the rules above (exactly one URI SAN, a valid
 * SPIFFE id) but the chain is not verified: the broker does that.  Caller
 * frees *out with mdt_svid_free.
 */
MDT_API MDT_WUR int mdt_svid_load(const char *cert_file,
    const char *key_file, mdt_svid **out, char *err, size_t errlen);

/* Frees an SVID and its private key.  NULL is a no-op. */
MDT_API void mdt_svid_free(mdt_svid *s);

/* The leaf's SPIFFE id; owned by s. */
MDT_API const char *mdt_svid_spiffe_id(const mdt_svid *s);

/* The chain as DER certificates, leaf first: *n receives the count; the
 * array and the bytes are owned by s. */
MDT_API const mdt_svid_cert *mdt_svid_chain(const mdt_svid *s, size_t *n);

/*
 * Signs msg (msglen bytes) with the leaf's private key, the algorithm
 * fixed by the key type (as mdt_svid_verify_signed checks it).  sig holds
 * cap bytes (MDT_SVID_SIG_MAX always suffices); *siglen receives the
 * length.
 */
MDT_API MDT_WUR int mdt_svid_sign(const mdt_svid *s, const uint8_t *msg,
    size_t msglen, uint8_t *sig, size_t cap, size_t *siglen);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_SVID_H */
