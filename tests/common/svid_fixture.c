/* Test PKI for X.509-SVIDs (see svid_fixture.h). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "svid_fixture.h"

EVP_PKEY *
svf_key(enum svf_key_type t)
{
	switch (t) {
	case SVF_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case SVF_P384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case SVF_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case SVF_RSA2048:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	}
	return NULL;
}

struct svf_opts
svf_leaf_opts(const char *spiffe_id)
{
	struct svf_opts o = {
		.cn = "svid", .bc = "critical,CA:FALSE",
		.ku = "critical,digitalSignature,keyEncipherment",
		.eku = "clientAuth,serverAuth", .not_before = -60,
		.not_after = 3600,
	};

	if (spiffe_id != NULL)
		snprintf(o.uri, sizeof(o.uri), "%s", spiffe_id);
	return o;
}

struct svf_opts
svf_ca_opts(const char *spiffe_id)
{
	struct svf_opts o = svf_leaf_opts(spiffe_id);

	o.cn = "ca";
	o.bc = "critical,CA:TRUE";
	o.ku = "critical,keyCertSign,cRLSign";
	o.eku = NULL;
	o.not_before = -3600;
	o.not_after = 86400;
	return o;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;
	int ok;

	if (value == NULL)
		return 1;
	e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	ok = e != NULL && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

static int
set_fields(X509 *x, EVP_PKEY *key, const struct svf_opts *o)
{
	uint8_t serial[16];
	BIGNUM *bn;
	int ok;

	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) !=
	    NULL && X509_set_version(x, 2) == 1 && X509_set_pubkey(x, key) ==
	    1 && X509_gmtime_adj(X509_getm_notBefore(x), o->not_before) !=
	    NULL && X509_gmtime_adj(X509_getm_notAfter(x), o->not_after ?
	    o->not_after : 3600) != NULL;
	BN_free(bn);
	if (ok && o->cn != NULL)
		ok = X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
		    MBSTRING_ASC, (const unsigned char *)o->cn, -1, -1, 0) == 1;
	return ok;
}

static int
set_exts(X509 *x, X509 *issuer, const struct svf_opts *o)
{
	X509V3_CTX ctx;
	char san[600];

	snprintf(san, sizeof(san), "URI:%s", o->uri);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	return add_ext(x, &ctx, NID_basic_constraints, o->bc) &&
	    add_ext(x, &ctx, NID_key_usage, o->ku) &&
	    add_ext(x, &ctx, NID_ext_key_usage, o->eku) &&
	    add_ext(x, &ctx, NID_subject_alt_name, o->san != NULL ? o->san :
	    o->uri[0] != 0 ? san : NULL) &&
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
	    (issuer == NULL || add_ext(x, &ctx,
	    NID_authority_key_identifier, "keyid:always"));
}

static const EVP_MD *
md_for(EVP_PKEY *k)
{
	return EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL :
	    EVP_PKEY_get_bits(k) == 384 ? EVP_sha384() : EVP_sha256();
}

X509 *
svf_cert(EVP_PKEY *key, const struct svf_opts *o, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	EVP_PKEY *signer = issuer_key != NULL ? issuer_key : key;

	if (x == NULL || !set_fields(x, key, o) ||
	    X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ?
	    issuer : x)) != 1 || !set_exts(x, issuer, o) ||
	    X509_sign(x, signer, md_for(signer)) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

X509 *
svf_root(const char *td, EVP_PKEY **key)
{
	char id[300];
	struct svf_opts o;

	snprintf(id, sizeof(id), "spiffe://%s", td);
	o = svf_ca_opts(id);
	*key = svf_key(SVF_P256);
	return *key != NULL ? svf_cert(*key, &o, NULL, NULL) : NULL;
}

uint8_t *
svf_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return der;
}

int
svf_write_certs(const char *path, X509 *const *certs, size_t n)
{
	FILE *f = fopen(path, "w");
	int ok = f != NULL;

	for (size_t i = 0; ok && i < n; i++)
		ok = PEM_write_X509(f, certs[i]) == 1;
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

int
svf_write_key(const char *path, EVP_PKEY *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok = f != NULL && PEM_write_PrivateKey(f, key, NULL, NULL, 0,
	    NULL, NULL) == 1;

	if (f != NULL)
		ok = fclose(f) == 0 && ok;
	else if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}
