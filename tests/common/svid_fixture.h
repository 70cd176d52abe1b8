/*
 * Test PKI for X.509-SVIDs, built with OpenSSL: keys of each supported
 * type, CA and leaf certificates with chosen extensions, DER and PEM
 * output.  Used by the SVID unit tests and the broker integration test.
 */
#ifndef SVID_FIXTURE_H
#define SVID_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

enum svf_key_type { SVF_P256, SVF_P384, SVF_ED25519, SVF_RSA2048 };

/* A fresh key (NULL on failure).  Caller frees with EVP_PKEY_free. */
EVP_PKEY *svf_key(enum svf_key_type t);

/* What goes into a certificate.  Zero fields mean "leave out". */
struct svf_opts {
	const char *cn;          /* subject CN (NULL: empty subject) */
	const char *san;         /* X509v3 SAN text, e.g. "URI:spiffe://a/b" */
	char uri[512];           /* used when san is NULL: one URI SAN */
	const char *bc;          /* e.g. "critical,CA:TRUE"; NULL: none */
	const char *ku;          /* e.g. "critical,digitalSignature" */
	const char *eku;         /* e.g. "clientAuth,serverAuth" */
	long not_before;         /* seconds from now */
	long not_after;          /* seconds from now (0: one hour) */
};

/* Leaf and CA presets (spiffe id for the SAN, or NULL for none). */
struct svf_opts svf_leaf_opts(const char *spiffe_id);
struct svf_opts svf_ca_opts(const char *spiffe_id);

/*
 * A certificate for key, signed by issuer_key under issuer (both NULL:
 * self-signed).  Subject and authority key ids are added.  Caller frees
 * with X509_free; NULL on failure.
 */
X509 *svf_cert(EVP_PKEY *key, const struct svf_opts *o, X509 *issuer,
    EVP_PKEY *issuer_key);

/* A fresh P-256 key (into *key) and its self-signed CA certificate for
 * trust domain td (bare name); NULL on failure.  Caller frees both. */
X509 *svf_root(const char *td, EVP_PKEY **key);

/* DER of x into a fresh buffer; caller frees with OPENSSL_free. */
uint8_t *svf_der(X509 *x, size_t *len);

/* Writes PEM certificates (n of them, in order) to path; 0 or -1. */
int svf_write_certs(const char *path, X509 *const *certs, size_t n);

/* Writes key as unencrypted PKCS#8 PEM to path with mode 0600; 0 or -1. */
int svf_write_key(const char *path, EVP_PKEY *key);

#endif
