/*
 * The development identity provider: compact JWS serialisation and
 * mdt_idp_assert, which signs launch assertions for tests and examples.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "alloc_int.h"
#include "jwt_int.h"
#include "key_int.h"
#include "parse_err_int.h"

#define TTL_MAX 86400

static size_t
b64_len(size_t n)
{
	return sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
mdt__jwt_compact(const mdt_idp_key *key, const char *header,
    const char *payload, char **out)
{
	size_t hn = strlen(header), pn = strlen(payload);
	size_t cap = b64_len(hn) + b64_len(pn) + b64_len(MDT__JWT_SIG_MAX) + 2;
	uint8_t sig[MDT__JWT_SIG_MAX];
	size_t siglen = 0, n;
	char *buf;
	int rc;

	if ((buf = mdt__malloc(cap)) == NULL)
		return -MDT_ENOMEM;
	mdt__b64url_encode((const uint8_t *)header, hn, buf, cap);
	n = strlen(buf);
	buf[n++] = '.';
	mdt__b64url_encode((const uint8_t *)payload, pn, buf + n, cap - n);
	n += strlen(buf + n);
	if ((rc = mdt__jwt_sign(key, (const uint8_t *)buf, n, sig,
	    &siglen)) != 0) {
		mdt__free(buf);
		return rc;
	}
	buf[n++] = '.';
	mdt__b64url_encode(sig, siglen, buf + n, cap - n);
	*out = buf;
	return 0;
}

static int
check_assert_opts(const mdt_idp_assert_opts *o, char *err, size_t errlen)
{
	const char *req[] = {o->iss, o->aud, o->sub, o->patient};
	const char *opt[] = {o->fhir_user, o->kid, o->stepup,
	    o->purpose_of_use};

	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (req[i] == NULL || req[i][0] == '\0' ||
		    strlen(req[i]) > MDT_IDP_CLAIM_MAX)
			return mdt__errmsg(-MDT_EINVAL, err, errlen, "iss, aud, "
			    "sub and patient must be 1..%d bytes",
			    MDT_IDP_CLAIM_MAX);
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i] != NULL && (opt[i][0] == '\0' ||
		    strlen(opt[i]) > 256))
			return mdt__errmsg(-MDT_EINVAL, err, errlen, "fhirUser, "
			    "kid, stepup and purpose_of_use must be 1..256 "
			    "bytes when given");
	if (o->ttl < 1 || o->ttl > TTL_MAX || o->iat < 0 ||
	    o->iat > 253402300799LL - TTL_MAX)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "ttl must be "
		    "1..%d seconds and iat a time after 1970", TTL_MAX);
	if (o->scope == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no scope");
	return 0;
}

static json_t *
assert_header(const mdt_idp_key *key, const mdt_idp_assert_opts *o)
{
	json_t *h = json_pack("{s:s, s:s}", "alg", mdt_idp_alg_name(key->alg),
	    "typ", "JWT");

	if (h != NULL && o->kid != NULL &&
	    json_object_set_new(h, "kid", json_string(o->kid)) != 0) {
		json_decref(h);
		return NULL;
	}
	return h;
}

/* Adds a string claim when v is given. */
static int
opt_claim(json_t *p, const char *name, const char *v)
{
	return v == NULL ? 0 : json_object_set_new(p, name, json_string(v));
}

static json_t *
assert_payload(const mdt_idp_assert_opts *o)
{
	uint8_t rnd[16];
	char jti[33];
	json_t *p;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
	p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}",
	    "iss", o->iss, "aud", o->aud, "sub", o->sub, "patient", o->patient,
	    "scope", o->scope, "iat", (json_int_t)o->iat,
	    "exp", (json_int_t)(o->iat + o->ttl), "jti", jti);
	if (p != NULL && (opt_claim(p, "fhirUser", o->fhir_user) != 0 ||
	    opt_claim(p, "mandate_stepup", o->stepup) != 0 ||
	    opt_claim(p, "purpose_of_use", o->purpose_of_use) != 0)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

int
mdt_idp_assert(const mdt_idp_key *key, const mdt_idp_assert_opts *opts,
    char **out, char *err, size_t errlen)
{
	mdt_scope_set *check;
	json_t *h = NULL, *p = NULL;
	char *hs = NULL, *ps = NULL;
	int rc;

	if (key == NULL || opts == NULL || out == NULL || !key->priv)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "a private key and "
		    "options are required");
	if ((rc = check_assert_opts(opts, err, errlen)) != 0)
		return rc;
	if ((rc = mdt__jwt_launch_scopes(opts->scope, strlen(opts->scope),
	    &check, err, errlen)) != 0)
		return rc;
	mdt_scope_set_free(check);
	if ((h = assert_header(key, opts)) == NULL ||
	    (p = assert_payload(opts)) == NULL ||
	    (hs = json_dumps(h, JSON_COMPACT)) == NULL ||
	    (ps = json_dumps(p, JSON_COMPACT)) == NULL)
		rc = mdt__errmsg(-MDT_ENOMEM, err, errlen, "JSON encoding "
		    "failed");
	else if ((rc = mdt__jwt_compact(key, hs, ps, out)) != 0)
		mdt__errmsg(rc, err, errlen, "signing failed: %s",
		    mdt_strerror(rc));
	free(hs);
	free(ps);
	json_decref(h);
	json_decref(p);
	return rc;
}
