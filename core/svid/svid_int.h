/*
 * Internals of the X.509-SVID module shared by core/svid/svid_*.c: the bundle
 * layout, the per-certificate SPIFFE checks, the signature algorithm
 * table and bounded file reads.
 */
#ifndef MDT_SVID_INT_H
#define MDT_SVID_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <mandate/svid.h>

struct mdt_svid_bundle {
	X509_STORE *store;
	char td[MDT_SPIFFE_TRUST_DOMAIN_MAX + 1];
	size_t count;
};

struct mdt_svid {
	mdt_svid_cert chain[MDT_SVID_CHAIN_MAX];
	uint8_t *der[MDT_SVID_CHAIN_MAX]; /* owned bytes of chain[i] */
	size_t n;
	EVP_PKEY *key;
	mdt_spiffe_id id;
};

/*
 * The SPIFFE id of x's URI SAN.  *count receives the number of URI SANs
 * (0 or 1 on success: more is an error, as is a duplicated SAN extension
 * or a URI that is not a valid SPIFFE id).  what names the certificate in
 * messages ("certificate 0").  *out is written only when *count is 1.
 */
int mdt__svid_uri_id(X509 *x, const char *what, mdt_spiffe_id *out,
    int *count, char *err, size_t errlen);

/* The leaf rules: one URI SAN with a SPIFFE id that has a path, not a CA,
 * keyUsage present, critical, digitalSignature without keyCertSign or
 * cRLSign, extendedKeyUsage (if any) with clientAuth. */
int mdt__svid_check_leaf(X509 *x, mdt_spiffe_id *out, char *err,
    size_t errlen);

/* The signing-certificate rules: cA true, keyCertSign, and a SPIFFE id,
 * if any, without a path (and equal to spiffe://td when td is not NULL). */
int mdt__svid_check_ca(X509 *x, const char *what, const char *td, char *err,
    size_t errlen);

/*
 * The digest of the signature algorithm fixed by key's type: "SHA256" for
 * P-256, "SHA384" for P-384, NULL for Ed25519 (*md set, 0 returned), or
 * MDT_EUNSUPPORTED naming the key type.
 */
int mdt__svid_key_digest(EVP_PKEY *key, const char **md, char *err,
    size_t errlen);

/*
 * Reads a whole file of at most MDT_SVID_PEM_MAX bytes into a fresh
 * buffer (NUL-terminated; *len excludes the NUL).  With secret set the
 * file must not be open to group or others.  Caller wipes (when secret)
 * and frees *out with mdt__free.
 */
int mdt__svid_read_file(const char *path, int secret, char **out,
    size_t *len, char *err, size_t errlen);

#endif
