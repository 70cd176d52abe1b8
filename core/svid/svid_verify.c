/*
 * Verification of a presented X.509-SVID (include/mandate/svid.h): strict
 * DER decoding of the chain, the SPIFFE leaf and signing-certificate rules,
 * RFC 5280 path building to the trust bundle (OpenSSL), then a signature
 * made with the leaf's key.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "parse_err_int.h"
#include "svid_int.h"

/* One DER certificate, exactly len bytes. */
static int
decode_one(const mdt_svid_cert *c, size_t i, X509 **out, char *err,
    size_t errlen)
{
	const unsigned char *p = c->der;
	X509 *x;

	if (c->der == NULL || c->len == 0)
		return mdt__errmsg(-MDT_EDECODE, err, errlen, "certificate "
		    "%zu: empty", i);
	if (c->len > MDT_SVID_CERT_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "certificate "
		    "%zu: %zu bytes (at most %d)", i, c->len,
		    MDT_SVID_CERT_MAX);
	x = d2i_X509(NULL, &p, (long)c->len);
	ERR_clear_error();
	if (x == NULL)
		return mdt__errmsg(-MDT_EDECODE, err, errlen, "certificate "
		    "%zu: not a DER X.509 certificate", i);
	if (p != c->der + c->len) {
		X509_free(x);
		return mdt__errmsg(-MDT_EDECODE, err, errlen, "certificate "
		    "%zu: %zu bytes after the certificate", i,
		    (size_t)(c->der + c->len - p));
	}
	*out = x;
	return 0;
}

/* Decodes the chain: *leaf and the others in *rest (caller frees both). */
static int
decode_chain(const mdt_svid_cert *chain, size_t n, X509 **leaf,
    STACK_OF(X509) **rest, char *err, size_t errlen)
{
	STACK_OF(X509) *sk;
	X509 *x = NULL;
	int rc = 0;

	if (chain == NULL || n == 0)
		return mdt__errmsg(-MDT_EDECODE, err, errlen, "empty chain");
	if (n > MDT_SVID_CHAIN_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "chain of %zu "
		    "certificates (at most %d)", n, MDT_SVID_CHAIN_MAX);
	if ((sk = sk_X509_new_null()) == NULL)
		return -MDT_ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = decode_one(&chain[i], i, &x, err, errlen)) != 0)
			break;
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			rc = -MDT_ENOMEM;
		}
	}
	if (rc != 0) {
		sk_X509_pop_free(sk, X509_free);
		return rc;
	}
	*leaf = sk_X509_shift(sk);
	*rest = sk;
	return 0;
}

static int
check_signers(STACK_OF(X509) *rest, char *err, size_t errlen)
{
	char what[48];
	int rc;

	for (int i = 0; i < sk_X509_num(rest); i++) {
		snprintf(what, sizeof(what), "certificate %d", i + 1);
		rc = mdt__svid_check_ca(sk_X509_value(rest, i), what, NULL,
		    err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Unix seconds of an ASN1_TIME. */
static int
unix_time(const ASN1_TIME *t, int64_t *out)
{
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	int days = 0, secs = 0, ok;

	ok = epoch != NULL && ASN1_TIME_diff(&days, &secs, epoch, t) == 1;
	ASN1_TIME_free(epoch);
	if (ok)
		*out = (int64_t)days * 86400 + secs;
	return ok ? 0 : -MDT_EDECODE;
}

static int
earliest_not_after(X509_STORE_CTX *ctx, int64_t *out)
{
	STACK_OF(X509) *path = X509_STORE_CTX_get0_chain(ctx);
	int64_t min = INT64_MAX, t;

	for (int i = 0; i < sk_X509_num(path); i++) {
		if (unix_time(X509_get0_notAfter(sk_X509_value(path, i)),
		    &t) != 0)
			return -MDT_EDECODE;
		if (t < min)
			min = t;
	}
	*out = min;
	return 0;
}

static int
path_error(X509_STORE_CTX *ctx, char *err, size_t errlen)
{
	int e = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	int rc = e == X509_V_ERR_CERT_HAS_EXPIRED ||
	    e == X509_V_ERR_CERT_NOT_YET_VALID ? -MDT_EEXPIRED : -MDT_EAUTH;

	return mdt__errmsg(rc, err, errlen, "path: certificate at depth %d: "
	    "%s", depth, X509_verify_cert_error_string(e));
}

/* RFC 5280 path from leaf through rest to a bundle CA at now. */
static int
build_path(const mdt_svid_bundle *b, X509 *leaf, STACK_OF(X509) *rest,
    int64_t now, int64_t *not_after, char *err, size_t errlen)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *p;
	int rc;

	if (ctx == NULL || X509_STORE_CTX_init(ctx, b->store, leaf,
	    rest) != 1) {
		X509_STORE_CTX_free(ctx);
		return -MDT_ENOMEM;
	}
	p = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(p, (time_t)now);
	X509_VERIFY_PARAM_set_depth(p, MDT_SVID_CHAIN_MAX);
	X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(ctx) == 1)
		rc = earliest_not_after(ctx, not_after) != 0 ?
		    mdt__errmsg(-MDT_EDECODE, err, errlen, "path: unreadable "
		    "notAfter") : 0;
	else
		rc = path_error(ctx, err, errlen);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

static int
verify_decoded(const mdt_svid_bundle *b, X509 *leaf, STACK_OF(X509) *rest,
    int64_t now, mdt_svid_info *info, char *err, size_t errlen)
{
	int rc;

	if ((rc = mdt__svid_check_leaf(leaf, &info->id, err, errlen)) != 0 ||
	    (rc = check_signers(rest, err, errlen)) != 0)
		return rc;
	if (!mdt_spiffe_in_trust_domain(&info->id, b->td, strlen(b->td)))
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "certificate 0 "
		    "(leaf): SPIFFE id %s is not in trust domain %s",
		    info->id.id, b->td);
	return build_path(b, leaf, rest, now, &info->not_after, err, errlen);
}

static int
verify_sig(X509 *leaf, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen, char *err, size_t errlen)
{
	EVP_PKEY *key = X509_get0_pubkey(leaf);
	EVP_MD_CTX *md = NULL;
	const char *dig = NULL;
	int rc;

	if (key == NULL)
		return mdt__errmsg(-MDT_EDECODE, err, errlen, "certificate 0 "
		    "(leaf): unreadable public key");
	if ((rc = mdt__svid_key_digest(key, &dig, err, errlen)) != 0)
		return rc;
	if (sig == NULL || siglen == 0 || siglen > MDT_SVID_SIG_MAX)
		return mdt__errmsg(-MDT_ESIG, err, errlen, "signature: %zu "
		    "bytes (1..%d)", siglen, MDT_SVID_SIG_MAX);
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -MDT_ENOMEM;
	if (EVP_DigestVerifyInit_ex(md, NULL, dig, NULL, NULL, key,
	    NULL) != 1)
		rc = mdt__errmsg(-MDT_ECRYPTO, err, errlen, "signature: "
		    "cannot set up verification");
	else if (EVP_DigestVerify(md, sig, siglen, msg, msglen) != 1)
		rc = mdt__errmsg(-MDT_ESIG, err, errlen, "signature: does not "
		    "verify with the leaf's key");
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

static int
verify_all(const mdt_svid_bundle *b, const mdt_svid_cert *chain, size_t n,
    int64_t now, const uint8_t *msg, size_t msglen, const uint8_t *sig,
    size_t siglen, int want_sig, mdt_svid_info *out, char *err,
    size_t errlen)
{
	STACK_OF(X509) *rest = NULL;
	X509 *leaf = NULL;
	mdt_svid_info info;
	int rc;

	if (b == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no trust bundle");
	if (want_sig && msg == NULL && msglen != 0)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no message");
	if ((rc = decode_chain(chain, n, &leaf, &rest, err, errlen)) != 0)
		return rc;
	rc = verify_decoded(b, leaf, rest, now, &info, err, errlen);
	if (rc == 0 && want_sig)
		rc = verify_sig(leaf, msg == NULL ? (const uint8_t *)"" : msg,
		    msglen, sig, siglen, err, errlen);
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	if (rc == 0 && out != NULL)
		*out = info;
	return rc;
}

int
mdt_svid_verify(const mdt_svid_bundle *b, const mdt_svid_cert *chain,
    size_t n, int64_t now, mdt_svid_info *out, char *err, size_t errlen)
{
	return verify_all(b, chain, n, now, NULL, 0, NULL, 0, 0, out, err,
	    errlen);
}

int
mdt_svid_verify_signed(const mdt_svid_bundle *b, const mdt_svid_cert *chain,
    size_t n, int64_t now, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen, mdt_svid_info *out, char *err,
    size_t errlen)
{
	return verify_all(b, chain, n, now, msg, msglen, sig, siglen, 1, out,
	    err, errlen);
}
