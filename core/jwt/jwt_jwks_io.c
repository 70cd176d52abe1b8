/*
 * Key sets in and out of files: a JWKS file read whole (bounded), and a
 * set written back as JWKS text with only public members, as an IdP
 * publishes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include "alloc_int.h"
#include "jwt_int.h"
#include "key_int.h"
#include "parse_err_int.h"

#define PUB_MAX (MDT_IDP_RSA_MAX_BITS / 8 + 1)

int
mdt_idp_keyset_load(const char *path, mdt_idp_keyset **out, char *err,
    size_t errlen)
{
	FILE *f;
	char *buf;
	size_t n;
	int rc;

	if (path == NULL || out == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no path");
	if ((f = fopen(path, "rb")) == NULL)
		return mdt__errmsg(errno == ENOENT ? -MDT_ENOTFOUND : -MDT_EIO,
		    err, errlen, "%s: %s", path, strerror(errno));
	if ((buf = mdt__malloc(MDT_IDP_JWKS_MAX + 1)) == NULL) {
		fclose(f);
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	}
	n = fread(buf, 1, MDT_IDP_JWKS_MAX + 1, f);
	rc = ferror(f) ? mdt__errmsg(-MDT_EIO, err, errlen, "%s: read error",
	    path) : n > MDT_IDP_JWKS_MAX ? mdt__errmsg(-MDT_ETOOBIG, err,
	    errlen, "%s: larger than %u bytes", path, MDT_IDP_JWKS_MAX) : 0;
	fclose(f);
	if (rc == 0 && (rc = mdt_idp_keyset_from_jwks(buf, n, out, err,
	    errlen)) != 0 && err != NULL && errlen > 0) {
		char why[MDT_ERRMSG_MAX];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
	}
	mdt__free(buf);
	return rc;
}

static json_t *
b64(const uint8_t *p, size_t n)
{
	char text[(PUB_MAX * 4 + 2) / 3 + 2];

	mdt__b64url_encode(p, n, text, sizeof(text));
	return json_string(text);
}

/* The public members of one key; NULL when OpenSSL cannot give them. */
static json_t *
jwk_of(const mdt_idp_key *k, const char *kid)
{
	uint8_t buf[PUB_MAX];
	size_t n = 0;
	BIGNUM *bn = NULL, *be = NULL;
	json_t *j = NULL;

	if (k->alg == MDT_IDP_ES256 && EVP_PKEY_get_octet_string_param(k->pkey,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf), &n) == 1 &&
	    n == 65)
		j = json_pack("{s:s,s:s,s:o,s:o}", "kty", "EC", "crv", "P-256",
		    "x", b64(buf + 1, 32), "y", b64(buf + 33, 32));
	else if (k->alg == MDT_IDP_EDDSA && (n = sizeof(buf),
	    EVP_PKEY_get_raw_public_key(k->pkey, buf, &n) == 1))
		j = json_pack("{s:s,s:s,s:o}", "kty", "OKP", "crv", "Ed25519",
		    "x", b64(buf, n));
	else if (k->alg == MDT_IDP_RS256 && EVP_PKEY_get_bn_param(k->pkey,
	    OSSL_PKEY_PARAM_RSA_N, &bn) == 1 && EVP_PKEY_get_bn_param(k->pkey,
	    OSSL_PKEY_PARAM_RSA_E, &be) == 1 && BN_num_bytes(bn) <= PUB_MAX) {
		json_t *nj = b64(buf, (size_t)BN_bn2bin(bn, buf));
		j = json_pack("{s:s,s:o,s:o}", "kty", "RSA", "n", nj, "e",
		    b64(buf, (size_t)BN_bn2bin(be, buf)));
	}
	BN_free(bn);
	BN_free(be);
	ERR_clear_error();
	if (j != NULL && json_object_update_new(j, json_pack("{s:s,s:s,s:s}",
	    "kid", kid, "use", "sig", "alg", mdt_idp_alg_name(k->alg))) != 0) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

int
mdt_idp_keyset_to_jwks(const mdt_idp_keyset *set, char **out)
{
	json_t *keys = json_array(), *root;
	int rc = 0;

	if (set == NULL || out == NULL || keys == NULL) {
		json_decref(keys);
		return -MDT_EINVAL;
	}
	for (size_t i = 0; rc == 0 && i < mdt_idp_keyset_count(set); i++) {
		json_t *j = jwk_of(mdt_idp_keyset_key(set, i),
		    mdt_idp_keyset_kid(set, i));
		rc = j != NULL ? json_array_append_new(keys, j) : -MDT_EKEY;
	}
	root = json_pack("{s:o}", "keys", keys);
	if (rc == 0 && root != NULL) {
		char *text = json_dumps(root, JSON_INDENT(2));
		*out = text != NULL ? mdt__strndup(text, strlen(text)) : NULL;
		free(text);
		rc = *out != NULL ? 0 : -MDT_ENOMEM;
	}
	json_decref(root);
	return rc;
}
