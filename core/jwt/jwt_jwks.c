/*
 * Identity-provider key sets (include/mandate/idp.h): JWKS text (RFC
 * 7517, RFC 7518 section 6, RFC 8037) to keys named by kid, and back.
 * Only public signature keys of the three algorithms the verifier knows
 * are read; anything that would make a key set carry a secret, or let a
 * key be read two ways, is refused.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "alloc_int.h"
#include "jwt_int.h"
#include "key_int.h"
#include "parse_err_int.h"

#define COORD 32   /* P-256 coordinate, Ed25519 key */
#define B64_MAX (((MDT_IDP_RSA_MAX_BITS / 8) * 4 + 2) / 3 + 1)

struct mdt_idp_keyset {
	size_t n;
	char *kid[MDT_IDP_KEYSET_MAX];
	mdt_idp_key *key[MDT_IDP_KEYSET_MAX];
};

/* Members that hold private or symmetric key material. */
static const char *const secret_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

int
mdt_idp_keyset_new(mdt_idp_keyset **out)
{
	if (out == NULL)
		return -MDT_EINVAL;
	*out = mdt__calloc(1, sizeof(**out));
	return *out != NULL ? 0 : -MDT_ENOMEM;
}

void
mdt_idp_keyset_free(mdt_idp_keyset *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		mdt__free(set->kid[i]);
		mdt_idp_key_free(set->key[i]);
	}
	mdt__free(set);
}

size_t
mdt_idp_keyset_count(const mdt_idp_keyset *set)
{
	return set != NULL ? set->n : 0;
}

const char *
mdt_idp_keyset_kid(const mdt_idp_keyset *set, size_t i)
{
	return set != NULL && i < set->n ? set->kid[i] : NULL;
}

const mdt_idp_key *
mdt_idp_keyset_key(const mdt_idp_keyset *set, size_t i)
{
	return set != NULL && i < set->n ? set->key[i] : NULL;
}

const mdt_idp_key *
mdt_idp_keyset_find(const mdt_idp_keyset *set, const char *kid)
{
	for (size_t i = 0; set != NULL && kid != NULL && i < set->n; i++)
		if (strcmp(set->kid[i], kid) == 0)
			return set->key[i];
	return NULL;
}

int
mdt_idp_keyset_add(mdt_idp_keyset *set, const char *kid, mdt_idp_key *key,
    char *err, size_t errlen)
{
	size_t n = kid != NULL ? strlen(kid) : 0;

	if (set == NULL || key == NULL || key->priv)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "a key set holds "
		    "public keys only");
	if (n == 0 || n > MDT_IDP_KID_MAX)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "kid: 1 to %d "
		    "bytes", MDT_IDP_KID_MAX);
	if (mdt_idp_keyset_find(set, kid) != NULL)
		return mdt__errmsg(-MDT_EEXIST, err, errlen, "kid '%.64s' "
		    "appears twice", kid);
	if (set->n == MDT_IDP_KEYSET_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "more than %d "
		    "keys", MDT_IDP_KEYSET_MAX);
	if ((set->kid[set->n] = mdt__strndup(kid, n)) == NULL)
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	set->key[set->n++] = key;
	return 0;
}

/* A base64url member of exactly want bytes (0: 1..outmax). */
static int
member_bytes(const json_t *jwk, const char *name, size_t i, uint8_t *out,
    size_t outmax, size_t want, size_t *got, char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(jwk, name));

	if (s == NULL)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "keys[%zu]: %s: "
		    "missing or not a string", i, name);
	if (mdt__b64url_decode(s, strlen(s), out, outmax, got) != 0 ||
	    *got == 0)
		return mdt__errmsg(-MDT_EDECODE, err, errlen, "keys[%zu]: %s: "
		    "not canonical base64url of at most %zu bytes", i, name,
		    outmax);
	if (want != 0 && *got != want)
		return mdt__errmsg(-MDT_EKEY, err, errlen, "keys[%zu]: %s: %zu "
		    "bytes, expected %zu", i, name, *got, want);
	return 0;
}

/* A public key from OpenSSL parameters; check: OpenSSL's own public-key
 * check first (a point on the curve). */
static EVP_PKEY *
from_params(const char *type, OSSL_PARAM_BLD *bld, int check)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY_CTX *chk = NULL;
	EVP_PKEY *pk = NULL;

	if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1) {
		chk = check ? EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL) : NULL;
		if (check && (chk == NULL || EVP_PKEY_public_check(chk) != 1)) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	}
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	ERR_clear_error();
	return pk;
}

static int
read_ec(const json_t *jwk, size_t i, EVP_PKEY **pk, char *err, size_t errlen)
{
	uint8_t pt[1 + 2 * COORD];
	size_t got;
	OSSL_PARAM_BLD *bld;
	int rc;

	pt[0] = 0x04; /* uncompressed point */
	if ((rc = member_bytes(jwk, "x", i, pt + 1, COORD, COORD, &got, err,
	    errlen)) != 0 || (rc = member_bytes(jwk, "y", i, pt + 1 + COORD,
	    COORD, COORD, &got, err, errlen)) != 0)
		return rc;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return -MDT_ENOMEM;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) == 1 && OSSL_PARAM_BLD_push_octet_string(bld,
	    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) == 1)
		*pk = from_params("EC", bld, 1);
	OSSL_PARAM_BLD_free(bld);
	return *pk != NULL ? 0 : mdt__errmsg(-MDT_EKEY, err, errlen,
	    "keys[%zu]: x, y: not a point of P-256", i);
}

/*
 * A sane RSA modulus and exponent, decided the same way every time: n odd
 * and not a prime, e odd, from 3 to 256 bits (the size of n is checked
 * with every RSA key, jwt_key.c).  OpenSSL's public check is not used for
 * RSA: its SP 800-56B test runs Miller-Rabin with random bases and refuses
 * a modulus in which one of them happens to find a factor, so a key set
 * with an odd modulus loaded on one start and not on the next.
 */
static int
rsa_sane(const BIGNUM *n, const BIGNUM *e)
{
	BN_CTX *ctx;
	int ok = BN_is_odd(n) && BN_is_odd(e) && BN_num_bits(e) >= 2 &&
	    BN_num_bits(e) <= 256;

	if (ok && (ctx = BN_CTX_new()) != NULL) {
		/* 1 for a probable prime; a prime is one with certainty, a
		 * composite is called one with probability below 2^-128 */
		ok = BN_check_prime(n, ctx, NULL) == 0;
		BN_CTX_free(ctx);
	} else {
		ok = 0;
	}
	return ok;
}

static int
read_rsa(const json_t *jwk, size_t i, EVP_PKEY **pk, char *err,
    size_t errlen)
{
	uint8_t n[MDT_IDP_RSA_MAX_BITS / 8], e[8];
	size_t nn, en;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld;
	int rc;

	if ((rc = member_bytes(jwk, "n", i, n, sizeof(n), 0, &nn, err,
	    errlen)) != 0 || (rc = member_bytes(jwk, "e", i, e, sizeof(e), 0,
	    &en, err, errlen)) != 0)
		return rc;
	if (n[0] == 0 || e[0] == 0) /* RFC 7518: no leading zero octets */
		return mdt__errmsg(-MDT_EKEY, err, errlen, "keys[%zu]: n, e: "
		    "leading zero octet", i);
	bn = BN_bin2bn(n, (int)nn, NULL);
	be = BN_bin2bn(e, (int)en, NULL);
	if ((bld = OSSL_PARAM_BLD_new()) != NULL && bn != NULL && be != NULL &&
	    rsa_sane(bn, be) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
		*pk = from_params("RSA", bld, 0);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return *pk != NULL ? 0 : mdt__errmsg(-MDT_EKEY, err, errlen,
	    "keys[%zu]: n, e: not an RSA public key", i);
}

static int
read_okp(const json_t *jwk, size_t i, EVP_PKEY **pk, char *err,
    size_t errlen)
{
	uint8_t x[COORD];
	size_t got;
	int rc = member_bytes(jwk, "x", i, x, sizeof(x), COORD, &got, err,
	    errlen);

	if (rc != 0)
		return rc;
	*pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, COORD);
	ERR_clear_error();
	return *pk != NULL ? 0 : mdt__errmsg(-MDT_EKEY, err, errlen,
	    "keys[%zu]: x: not an Ed25519 public key", i);
}

/* kty and crv: which reader, or a refusal. */
static int
read_material(const json_t *jwk, size_t i, EVP_PKEY **pk, char *err,
    size_t errlen)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));

	if (kty == NULL)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "keys[%zu]: kty: "
		    "missing or not a string", i);
	if (strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
		return read_ec(jwk, i, pk, err, errlen);
	if (strcmp(kty, "RSA") == 0)
		return read_rsa(jwk, i, pk, err, errlen);
	if (strcmp(kty, "OKP") == 0 && crv != NULL &&
	    strcmp(crv, "Ed25519") == 0)
		return read_okp(jwk, i, pk, err, errlen);
	return mdt__errmsg(-MDT_EKEY, err, errlen, "keys[%zu]: kty '%.16s'%s"
	    "%.16s: not supported (EC P-256, RSA, OKP Ed25519)", i, kty,
	    crv != NULL ? " crv " : "", crv != NULL ? crv : "");
}

/* The members around the key material: kid, use, alg, no secrets. */
static int
check_members(const json_t *jwk, size_t i, char *err, size_t errlen)
{
	const json_t *use = json_object_get(jwk, "use");
	const json_t *alg = json_object_get(jwk, "alg");

	if (!json_is_object(jwk))
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "keys[%zu]: not an "
		    "object", i);
	for (size_t k = 0; k < sizeof(secret_members) /
	    sizeof(secret_members[0]); k++)
		if (json_object_get(jwk, secret_members[k]) != NULL)
			return mdt__errmsg(-MDT_EKEY, err, errlen, "keys[%zu]: "
			    "%s: private or symmetric key material; a key set "
			    "holds public keys only", i, secret_members[k]);
	if (!json_is_string(json_object_get(jwk, "kid")))
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "keys[%zu]: kid: "
		    "missing or not a string", i);
	if (use != NULL && (!json_is_string(use) ||
	    strcmp(json_string_value(use), "sig") != 0))
		return mdt__errmsg(-MDT_EKEY, err, errlen, "keys[%zu]: use: "
		    "not \"sig\"", i);
	if (alg != NULL && !json_is_string(alg))
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "keys[%zu]: alg: "
		    "not a string", i);
	return 0;
}

static int
read_jwk(mdt_idp_keyset *set, const json_t *jwk, size_t i, char *err,
    size_t errlen)
{
	const char *alg;
	EVP_PKEY *pk = NULL;
	mdt_idp_key *key = NULL;
	char why[MDT_ERRMSG_MAX];
	int rc;

	if ((rc = check_members(jwk, i, err, errlen)) != 0 ||
	    (rc = read_material(jwk, i, &pk, err, errlen)) != 0)
		return rc;
	if ((rc = mdt__jwt_key_wrap(pk, 0, &key, why, sizeof(why))) != 0)
		return mdt__errmsg(rc, err, errlen, "keys[%zu]: %s", i, why);
	alg = json_string_value(json_object_get(jwk, "alg"));
	if (alg != NULL && strcmp(alg, mdt_idp_alg_name(key->alg)) != 0) {
		rc = mdt__errmsg(-MDT_EKEY, err, errlen, "keys[%zu]: alg "
		    "'%.16s' is not the key's (%s)", i, alg,
		    mdt_idp_alg_name(key->alg));
	} else if ((rc = mdt_idp_keyset_add(set, json_string_value(
	    json_object_get(jwk, "kid")), key, why, sizeof(why))) != 0) {
		rc = mdt__errmsg(rc, err, errlen, "keys[%zu]: %s", i, why);
	}
	if (rc != 0)
		mdt_idp_key_free(key);
	return rc;
}

int
mdt_idp_keyset_from_jwks(const char *json, size_t len, mdt_idp_keyset **out,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *keys, *jwk;
	mdt_idp_keyset *set = NULL;
	size_t i;
	int rc;

	if (json == NULL || out == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no JWKS");
	if (len > MDT_IDP_JWKS_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "JWKS longer than "
		    "%u bytes", MDT_IDP_JWKS_MAX);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "JWKS: line %d "
		    "column %d: %s", je.line, je.column, je.text);
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0)
		rc = mdt__errmsg(-MDT_EPARSE, err, errlen, "JWKS: expected "
		    "{\"keys\": [at least one JWK]}");
	else if (json_array_size(keys) > MDT_IDP_KEYSET_MAX)
		rc = mdt__errmsg(-MDT_ETOOBIG, err, errlen, "JWKS: more than %d "
		    "keys", MDT_IDP_KEYSET_MAX);
	else
		rc = mdt_idp_keyset_new(&set);
	json_array_foreach(keys, i, jwk) {
		if (rc == 0)
			rc = read_jwk(set, jwk, i, err, errlen);
	}
	json_decref(root);
	if (rc != 0) {
		mdt_idp_keyset_free(set);
		return rc;
	}
	*out = set;
	return 0;
}
