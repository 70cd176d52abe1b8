/*
 * The holder's side of X.509-SVIDs (include/mandate/svid.h): an SVID
 * chain and its private key read from PEM files, and signatures made with
 * that key under the algorithm its type fixes.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "alloc_int.h"
#include "parse_err_int.h"
#include "svid_int.h"

static int
keep_der(mdt_svid *s, X509 *x, char *err, size_t errlen)
{
	unsigned char *der = NULL;
	int len;

	if (s->n == MDT_SVID_CHAIN_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "more than %d "
		    "certificates", MDT_SVID_CHAIN_MAX);
	if ((len = i2d_X509(x, NULL)) <= 0 || len > MDT_SVID_CERT_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "certificate "
		    "%zu: larger than %d bytes", s->n, MDT_SVID_CERT_MAX);
	if ((s->der[s->n] = mdt__malloc((size_t)len)) == NULL)
		return -MDT_ENOMEM;
	der = s->der[s->n];
	if (i2d_X509(x, &der) != len)
		return mdt__errmsg(-MDT_ECRYPTO, err, errlen, "certificate "
		    "%zu: cannot be encoded", s->n);
	s->chain[s->n].der = s->der[s->n];
	s->chain[s->n].len = (size_t)len;
	s->n++;
	return 0;
}

/* Reads the certificates of pem; the leaf stays in *leaf (caller frees). */
static int
read_chain(mdt_svid *s, const char *pem, size_t len, X509 **leaf,
    char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	int rc = bio == NULL ? -MDT_ENOMEM : 0;

	while (rc == 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) !=
	    NULL) {
		rc = keep_der(s, x, err, errlen);
		if (rc == 0 && *leaf == NULL)
			*leaf = x;
		else
			X509_free(x);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (rc == 0 && s->n == 0)
		rc = mdt__errmsg(-MDT_EPARSE, err, errlen, "no CERTIFICATE "
		    "block");
	return rc;
}

/* The first unencrypted private key block of bio (PKCS#8 or a
 * traditional EC key); no passphrase callback can ever run. */
static EVP_PKEY *
pem_private_key(BIO *bio)
{
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *key = NULL;
	long len = 0;

	while (key == NULL && PEM_read_bio(bio, &name, &header, &der,
	    &len) == 1) {
		p = der;
		if (strcmp(name, "PRIVATE KEY") == 0 ||
		    strcmp(name, "EC PRIVATE KEY") == 0)
			key = d2i_AutoPrivateKey(NULL, &p, len);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_clear_free(der, (size_t)len);
	}
	ERR_clear_error();
	return key;
}

static int
read_key(mdt_svid *s, const char *pem, size_t len, X509 *leaf, char *err,
    size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	const char *md;
	int rc;

	if (bio == NULL)
		return -MDT_ENOMEM;
	s->key = pem_private_key(bio);
	BIO_free(bio);
	if (s->key == NULL)
		return mdt__errmsg(-MDT_EKEY, err, errlen, "no unencrypted "
		    "PRIVATE KEY block");
	if ((rc = mdt__svid_key_digest(s->key, &md, err, errlen)) != 0)
		return rc;
	rc = X509_check_private_key(leaf, s->key) == 1 ? 0 :
	    mdt__errmsg(-MDT_EKEY, err, errlen, "the private key is not the "
	    "key of the leaf certificate");
	ERR_clear_error();
	return rc;
}

static int
load_files(mdt_svid *s, const char *cert_file, const char *key_file,
    char *err, size_t errlen)
{
	char *pem = NULL, why[MDT_ERRMSG_MAX] = "";
	size_t len = 0;
	X509 *leaf = NULL;
	int rc;

	if ((rc = mdt__svid_read_file(cert_file, 0, &pem, &len, err,
	    errlen)) != 0)
		return rc;
	if ((rc = read_chain(s, pem, len, &leaf, why, sizeof(why))) == 0)
		rc = mdt__svid_check_leaf(leaf, &s->id, why, sizeof(why));
	mdt__free(pem);
	if (rc != 0) {
		X509_free(leaf);
		return mdt__errmsg(rc, err, errlen, "%s: %s", cert_file, why);
	}
	pem = NULL;
	if ((rc = mdt__svid_read_file(key_file, 1, &pem, &len, err,
	    errlen)) == 0) {
		rc = read_key(s, pem, len, leaf, why, sizeof(why));
		sodium_memzero(pem, len);
		mdt__free(pem);
		if (rc != 0)
			mdt__errmsg(rc, err, errlen, "%s: %s", key_file, why);
	}
	X509_free(leaf);
	return rc;
}

int
mdt_svid_load(const char *cert_file, const char *key_file, mdt_svid **out,
    char *err, size_t errlen)
{
	mdt_svid *s;
	int rc;

	if (cert_file == NULL || key_file == NULL || out == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "svid: NULL "
		    "argument");
	if ((s = mdt__calloc(1, sizeof(*s))) == NULL)
		return -MDT_ENOMEM;
	if ((rc = load_files(s, cert_file, key_file, err, errlen)) != 0) {
		mdt_svid_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
mdt_svid_free(mdt_svid *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		mdt__free(s->der[i]);
	EVP_PKEY_free(s->key);
	mdt__free(s);
}

const char *
mdt_svid_spiffe_id(const mdt_svid *s)
{
	return s->id.id;
}

const mdt_svid_cert *
mdt_svid_chain(const mdt_svid *s, size_t *n)
{
	*n = s->n;
	return s->chain;
}

int
mdt_svid_sign(const mdt_svid *s, const uint8_t *msg, size_t msglen,
    uint8_t *sig, size_t cap, size_t *siglen)
{
	uint8_t buf[MDT_SVID_SIG_MAX];
	size_t len = sizeof(buf);
	EVP_MD_CTX *md;
	const char *dig = NULL;
	int rc;

	if (s == NULL || (msg == NULL && msglen != 0) || sig == NULL ||
	    siglen == NULL)
		return -MDT_EINVAL;
	if ((rc = mdt__svid_key_digest(s->key, &dig, NULL, 0)) != 0)
		return rc;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -MDT_ENOMEM;
	rc = EVP_DigestSignInit_ex(md, NULL, dig, NULL, NULL, s->key,
	    NULL) == 1 && EVP_DigestSign(md, buf, &len, msg == NULL ?
	    (const uint8_t *)"" : msg, msglen) == 1 ? 0 : -MDT_ECRYPTO;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (rc == 0 && len > cap)
		rc = -MDT_ETOOBIG;
	if (rc == 0) {
		memcpy(sig, buf, len);
		*siglen = len;
	}
	return rc;
}
