/*
 * SPIFFE trust bundles (include/mandate/svid.h): the CA certificates of
 * one trust domain, read from PEM and held in an OpenSSL X509_STORE.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "alloc_int.h"
#include "parse_err_int.h"
#include "svid_int.h"

static int
add_ca(mdt_svid_bundle *b, X509 *x, char *err, size_t errlen)
{
	char what[48];
	int rc;

	snprintf(what, sizeof(what), "bundle certificate %zu", b->count);
	if (b->count == MDT_SVID_BUNDLE_CERTS_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "bundle: more "
		    "than %d certificates", MDT_SVID_BUNDLE_CERTS_MAX);
	if ((rc = mdt__svid_check_ca(x, what, b->td, err, errlen)) != 0)
		return rc;
	if (X509_STORE_add_cert(b->store, x) != 1)
		return mdt__errmsg(-MDT_ECRYPTO, err, errlen, "%s: cannot be "
		    "added to the store (duplicate?)", what);
	b->count++;
	return 0;
}

/* Reads every CERTIFICATE block of bio into b. */
static int
read_cas(mdt_svid_bundle *b, BIO *bio, char *err, size_t errlen)
{
	X509 *x;
	unsigned long e;
	int rc = 0;

	ERR_clear_error();
	while (rc == 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) !=
	    NULL) {
		rc = add_ca(b, x, err, errlen);
		X509_free(x);
	}
	e = ERR_peek_last_error();
	ERR_clear_error();
	if (rc != 0)
		return rc;
	if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		return mdt__errmsg(-MDT_EDECODE, err, errlen, "bundle: PEM "
		    "block after certificate %zu is not a valid certificate",
		    b->count);
	if (b->count == 0)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "bundle: no "
		    "CERTIFICATE block");
	return 0;
}

int
mdt_svid_bundle_from_pem(const char *pem, size_t len,
    const char *trust_domain, mdt_svid_bundle **out, char *err,
    size_t errlen)
{
	mdt_svid_bundle *b;
	BIO *bio;
	char msg[MDT_ERRMSG_MAX];
	int rc;

	if (pem == NULL || trust_domain == NULL || out == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "bundle: NULL "
		    "argument");
	if (len > MDT_SVID_PEM_MAX || len > INT32_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "bundle: larger "
		    "than %u bytes", MDT_SVID_PEM_MAX);
	if (mdt_spiffe_validate_trust_domain(trust_domain,
	    strlen(trust_domain), msg, sizeof(msg)) != 0)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "bundle: trust "
		    "domain: %s", msg);
	if ((b = mdt__calloc(1, sizeof(*b))) == NULL)
		return -MDT_ENOMEM;
	snprintf(b->td, sizeof(b->td), "%s", trust_domain);
	b->store = X509_STORE_new();
	bio = BIO_new_mem_buf(pem, (int)len);
	rc = b->store == NULL || bio == NULL ? -MDT_ENOMEM :
	    read_cas(b, bio, err, errlen);
	BIO_free(bio);
	if (rc != 0) {
		mdt_svid_bundle_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

int
mdt_svid_bundle_load(const char *path, const char *trust_domain,
    mdt_svid_bundle **out, char *err, size_t errlen)
{
	char *pem = NULL, why[MDT_ERRMSG_MAX] = "";
	size_t len = 0;
	int rc;

	if (path == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "bundle: no path");
	if ((rc = mdt__svid_read_file(path, 0, &pem, &len, err, errlen)) != 0)
		return rc;
	rc = mdt_svid_bundle_from_pem(pem, len, trust_domain, out, why,
	    sizeof(why));
	mdt__free(pem);
	if (rc != 0)
		mdt__errmsg(rc, err, errlen, "%s: %s", path, why);
	return rc;
}

void
mdt_svid_bundle_free(mdt_svid_bundle *b)
{
	if (b == NULL)
		return;
	X509_STORE_free(b->store);
	mdt__free(b);
}

const char *
mdt_svid_bundle_trust_domain(const mdt_svid_bundle *b)
{
	return b->td;
}

size_t
mdt_svid_bundle_count(const mdt_svid_bundle *b)
{
	return b->count;
}
