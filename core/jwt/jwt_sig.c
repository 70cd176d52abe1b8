/*
 * JOSE signatures through OpenSSL: ES256 (r || s, converted to and from
 * DER, with r and s required in [1, n-1] before OpenSSL sees them, so
 * "psychic" all-zero signatures never reach a verifier), RS256 and EdDSA.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include "jwt_int.h"
#include "parse_err_int.h"

#define ES256_HALF 32

/* Order n of the P-256 group (FIPS 186-4, D.1.2.3). */
static const uint8_t p256_n[ES256_HALF] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static const EVP_MD *
alg_md(mdt_idp_alg alg)
{
	return alg == MDT_IDP_EDDSA ? NULL : EVP_sha256();
}

/* 1 when the 32-byte big-endian x is in [1, n-1]. */
static int
in_scalar_range(const uint8_t *x)
{
	int zero = 1;

	for (size_t i = 0; i < ES256_HALF; i++)
		zero &= x[i] == 0;
	return !zero && memcmp(x, p256_n, ES256_HALF) < 0;
}

/* DER ECDSA-Sig-Value of r || s.  Caller frees *der with OPENSSL_free. */
static int
es256_to_der(const uint8_t *sig, uint8_t **der, size_t *derlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, ES256_HALF, NULL);
	BIGNUM *s = BN_bin2bn(sig + ES256_HALF, ES256_HALF, NULL);
	int n = -1;

	if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s)) {
		r = s = NULL; /* owned by es now */
		*der = NULL;
		n = i2d_ECDSA_SIG(es, der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return -MDT_ECRYPTO;
	*derlen = (size_t)n;
	return 0;
}

static int
der_to_es256(const uint8_t *der, size_t derlen, uint8_t *sig)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	const BIGNUM *r, *s;
	int ok;

	if (es == NULL)
		return -MDT_ECRYPTO;
	ECDSA_SIG_get0(es, &r, &s);
	ok = BN_bn2binpad(r, sig, ES256_HALF) == ES256_HALF &&
	    BN_bn2binpad(s, sig + ES256_HALF, ES256_HALF) == ES256_HALF;
	ECDSA_SIG_free(es);
	return ok ? 0 : -MDT_ECRYPTO;
}

int
mdt__jwt_sign(const mdt_idp_key *key, const uint8_t *msg, size_t n,
    uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[MDT__JWT_SIG_MAX];
	size_t len = sizeof(der);
	int rc = -MDT_ECRYPTO;

	if (ctx == NULL)
		return -MDT_ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, alg_md(key->alg), NULL,
	    key->pkey) == 1 && EVP_DigestSign(ctx, NULL, &len, msg, n) == 1 &&
	    len <= sizeof(der) && EVP_DigestSign(ctx, der, &len, msg, n) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (rc != 0)
		return rc;
	if (key->alg == MDT_IDP_ES256) {
		*siglen = 2 * ES256_HALF;
		return der_to_es256(der, len, sig);
	}
	memcpy(sig, der, len);
	*siglen = len;
	return 0;
}

/* The signature OpenSSL verifies: DER for ES256, the bytes otherwise. */
static int
openssl_form(const mdt_idp_key *key, const uint8_t *sig, size_t siglen,
    uint8_t **der, size_t *derlen, char *err, size_t errlen)
{
	size_t want = key->alg == MDT_IDP_RS256 ?
	    (size_t)EVP_PKEY_get_size(key->pkey) : 2 * ES256_HALF;

	*der = NULL;
	if (siglen != want)
		return mdt__errmsg(-MDT_ESIG, err, errlen, "signature is %zu "
		    "bytes, %s needs %zu", siglen, mdt_idp_alg_name(key->alg),
		    want);
	if (key->alg != MDT_IDP_ES256) {
		*derlen = siglen;
		return 0;
	}
	if (!in_scalar_range(sig) || !in_scalar_range(sig + ES256_HALF))
		return mdt__errmsg(-MDT_ESIG, err, errlen, "ES256 signature "
		    "with r or s outside [1, n-1]");
	if (es256_to_der(sig, der, derlen) != 0)
		return mdt__errmsg(-MDT_ECRYPTO, err, errlen, "DER encoding "
		    "failed");
	return 0;
}

int
mdt__jwt_verify_sig(const mdt_idp_key *key, const uint8_t *msg, size_t n,
    const uint8_t *sig, size_t siglen, char *err, size_t errlen)
{
	EVP_MD_CTX *ctx;
	uint8_t *der;
	size_t derlen = 0;
	int rc, ok;

	if ((rc = openssl_form(key, sig, siglen, &der, &derlen, err,
	    errlen)) != 0)
		return rc;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		OPENSSL_free(der);
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	}
	ok = EVP_DigestVerifyInit(ctx, NULL, alg_md(key->alg), NULL,
	    key->pkey) == 1 && EVP_DigestVerify(ctx, der != NULL ? der : sig,
	    derlen, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ERR_clear_error(); /* a failed verify leaves nothing for the next */
	if (!ok)
		return mdt__errmsg(-MDT_ESIG, err, errlen, "%s signature does "
		    "not verify", mdt_idp_alg_name(key->alg));
	return 0;
}
