/*
 * mdt_idp_verify: the compact JWS reader.  Order matters: the text is
 * checked for its alphabet and shape, the header decoded and judged (the
 * algorithm must be the configured key's), the signature verified over
 * the bytes as received, and only then is the payload parsed.
 */
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "jwt_int.h"
#include "key_int.h"
#include "parse_err_int.h"

/* Largest encoded header: MDT_IDP_HEADER_MAX bytes in base64url. */
#define HEADER_B64_MAX ((MDT_IDP_HEADER_MAX * 4 + 2) / 3)
#define HDR_STR_MAX 256

typedef struct jws_parts {
	size_t dot1;
	size_t dot2;
} jws_parts;

/* Header parameters: allowed ones are checked, the rest refused. */
typedef struct hdr_rule {
	const char *name;
	const char *refusal; /* NULL: allowed */
} hdr_rule;

static const hdr_rule hdr_rules[] = {
	{"alg", NULL},
	{"typ", NULL},
	{"kid", NULL}, /* chooses among the keys of a configured set */
	{"x5t", NULL},
	{"x5t#S256", NULL},
	{"jwk", "carries a key (keys come only from configuration)"},
	{"jku", "points to a key URL (keys come only from configuration)"},
	{"x5u", "points to a certificate URL (keys come only from "
	    "configuration)"},
	{"x5c", "carries certificates (keys come only from configuration)"},
	{"crit", "declares critical extensions, none of which are supported"},
	{"b64", "changes the signing input (RFC 7797) and is not supported"},
	{"zip", "compression is not supported"},
	{"enc", "is for encrypted tokens (JWE), not supported"},
};

static int
is_b64url(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int
split(const char *jwt, size_t len, jws_parts *p, char *err, size_t errlen)
{
	size_t ndots = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)jwt[i];
		if (c == '.') {
			if (++ndots > 2)
				return mdt__parse_err(-MDT_EPARSE, err, errlen,
				    i, "more than three segments (JWE or "
				    "garbage)");
			*(ndots == 1 ? &p->dot1 : &p->dot2) = i;
			continue;
		}
		if (!is_b64url(c))
			return mdt__parse_err(-MDT_EDECODE, err, errlen, i,
			    c == '=' ? "base64url padding '=' is not allowed" :
			    "byte 0x%02x is not base64url", c);
	}
	if (ndots != 2)
		return mdt__parse_err(-MDT_EPARSE, err, errlen, len, "a compact "
		    "JWS has three segments, found %zu", ndots + 1);
	return 0;
}

static int
decode_seg(const char *name, const char *s, size_t off, size_t n,
    uint8_t *out, size_t outmax, size_t *got, char *err, size_t errlen)
{
	if (n == 0)
		return mdt__parse_err(-MDT_EPARSE, err, errlen, off, "%s "
		    "segment is empty", name);
	if (mdt__b64url_decode(s + off, n, out, outmax, got) != 0)
		return mdt__parse_err(-MDT_EDECODE, err, errlen, off, "%s "
		    "segment is not canonical base64url (bytes %zu..%zu)",
		    name, off, off + n);
	return 0;
}

static int
check_alg(json_t *v, const mdt_idp_key *key, char *err, size_t errlen)
{
	const char *alg;
	mdt_idp_alg a;

	if (v == NULL || !json_is_string(v))
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "header alg: %s",
		    v == NULL ? "missing" : "not a string");
	alg = json_string_value(v);
	if (strlen(alg) == 4 && (alg[0] | 0x20) == 'n' && (alg[1] | 0x20) ==
	    'o' && (alg[2] | 0x20) == 'n' && (alg[3] | 0x20) == 'e')
		return mdt__errmsg(-MDT_EUNSUPPORTED, err, errlen, "header alg: "
		    "'%s' (unsigned tokens) is refused", alg);
	if (alg[0] == 'H' && alg[1] == 'S')
		return mdt__errmsg(-MDT_EUNSUPPORTED, err, errlen, "header alg: "
		    "HMAC algorithm '%.16s' is refused", alg);
	if (mdt_idp_alg_parse(alg, &a) != 0)
		return mdt__errmsg(-MDT_EUNSUPPORTED, err, errlen, "header alg: "
		    "unknown algorithm '%.32s'", alg);
	if (a != key->alg)
		return mdt__errmsg(-MDT_EKEY, err, errlen, "header alg: %s does "
		    "not match the configured key (%s)", alg,
		    mdt_idp_alg_name(key->alg));
	return 0;
}

static int
check_param(const char *name, json_t *v, char *err, size_t errlen)
{
	const hdr_rule *r = NULL;

	for (size_t i = 0; i < sizeof(hdr_rules) / sizeof(hdr_rules[0]); i++)
		if (strcmp(hdr_rules[i].name, name) == 0)
			r = &hdr_rules[i];
	if (r == NULL)
		return mdt__errmsg(-MDT_EUNSUPPORTED, err, errlen, "header "
		    "parameter '%.32s' is not supported", name);
	if (r->refusal != NULL)
		return mdt__errmsg(-MDT_EUNSUPPORTED, err, errlen, "header "
		    "parameter '%s' is refused: it %s", name, r->refusal);
	if (!json_is_string(v) || json_string_length(v) > HDR_STR_MAX)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "header %s: not a "
		    "string of at most %d bytes", name, HDR_STR_MAX);
	if (strcmp(name, "typ") == 0 && strcmp(json_string_value(v), "JWT")
	    != 0)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "header typ: "
		    "'%.32s', expected JWT", json_string_value(v));
	return 0;
}

/* The key that verifies: the configured one, or the key of the set that
 * the header's kid names (a set without a kid to choose by is refused,
 * never tried key by key). */
static int
pick_key(json_t *hdr, const mdt_idp_verify_opts *o, const mdt_idp_key **key,
    char *err, size_t errlen)
{
	const char *kid = json_string_value(json_object_get(hdr, "kid"));

	if (o->keys == NULL) {
		*key = o->key;
		return 0;
	}
	if (kid == NULL)
		return mdt__errmsg(-MDT_EKEY, err, errlen, "header kid: missing; "
		    "the identity provider's key set needs it to choose a key");
	if ((*key = mdt_idp_keyset_find(o->keys, kid)) == NULL)
		return mdt__errmsg(-MDT_EKEY, err, errlen, "header kid '%.64s': "
		    "no key of that id in the identity provider's key set", kid);
	return 0;
}

static int
check_header(const uint8_t *buf, size_t n, const mdt_idp_verify_opts *o,
    const mdt_idp_key **key, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *hdr = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES,
	    &jerr), *v;
	const char *name;
	int rc = 0;

	if (hdr == NULL)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "header: JSON error "
		    "at byte %d: %s", jerr.position, jerr.text);
	if (!json_is_object(hdr)) {
		json_decref(hdr);
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "header: not a "
		    "JSON object");
	}
	json_object_foreach(hdr, name, v) {
		if ((rc = check_param(name, v, err, errlen)) != 0)
			break;
	}
	if (rc == 0)
		rc = pick_key(hdr, o, key, err, errlen);
	if (rc == 0)
		rc = check_alg(json_object_get(hdr, "alg"), *key, err, errlen);
	json_decref(hdr);
	return rc;
}

static int
check_opts(const mdt_idp_verify_opts *o, char *err, size_t errlen)
{
	if (o == NULL || (o->key == NULL) == (o->keys == NULL) ||
	    o->issuer == NULL || o->audience == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "a key or a key "
		    "set (not both), issuer and audience are required");
	if (o->skew < 0 || o->skew > MDT_IDP_SKEW_MAX || o->max_lifetime < 0)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "skew must be "
		    "0..%d seconds", MDT_IDP_SKEW_MAX);
	return 0;
}

/* Header and signature: everything before the payload is trusted. */
static int
verify_jws(const char *jwt, const jws_parts *p, const mdt_idp_verify_opts *o,
    char *err, size_t errlen)
{
	const mdt_idp_key *key = NULL;
	uint8_t hdr[MDT_IDP_HEADER_MAX], sig[MDT__JWT_SIG_MAX];
	size_t hn = 0, sn = 0, slen;
	int rc;

	if (p->dot1 > HEADER_B64_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen, 0, "header "
		    "longer than %d bytes", MDT_IDP_HEADER_MAX);
	if ((rc = decode_seg("header", jwt, 0, p->dot1, hdr, sizeof(hdr),
	    &hn, err, errlen)) != 0 ||
	    (rc = check_header(hdr, hn, o, &key, err, errlen)) != 0)
		return rc;
	slen = strlen(jwt + p->dot2 + 1);
	if (slen > (MDT__JWT_SIG_MAX * 4 + 2) / 3)
		return mdt__parse_err(-MDT_ESIG, err, errlen, p->dot2 + 1,
		    "signature longer than %d bytes", MDT__JWT_SIG_MAX);
	if ((rc = decode_seg("signature", jwt, p->dot2 + 1, slen, sig,
	    sizeof(sig), &sn, err, errlen)) != 0)
		return rc;
	return mdt__jwt_verify_sig(key, (const uint8_t *)jwt, p->dot2, sig,
	    sn, err, errlen);
}

int
mdt_idp_verify(const char *jwt, size_t len, const mdt_idp_verify_opts *opts,
    mdt_idp_claims **out, char *err, size_t errlen)
{
	jws_parts p = {0, 0};
	uint8_t *payload;
	char *copy;
	size_t pn = 0;
	int rc;

	if (jwt == NULL || out == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no token");
	if ((rc = check_opts(opts, err, errlen)) != 0)
		return rc;
	if (len > MDT_IDP_JWT_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen, MDT_IDP_JWT_MAX,
		    "a launch assertion is at most %d bytes", MDT_IDP_JWT_MAX);
	if ((rc = split(jwt, len, &p, err, errlen)) != 0)
		return rc;
	/* A NUL-terminated copy: len bytes are the whole token, no more. */
	if ((copy = mdt__strndup(jwt, len)) == NULL)
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	if ((payload = mdt__malloc(len + 1)) == NULL) {
		mdt__free(copy);
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	}
	if ((rc = verify_jws(copy, &p, opts, err, errlen)) == 0 &&
	    (rc = decode_seg("payload", copy, p.dot1 + 1, p.dot2 - p.dot1 - 1,
	    payload, len + 1, &pn, err, errlen)) == 0)
		rc = mdt__jwt_claims(payload, pn, opts, out, err, errlen);
	mdt__free(payload);
	mdt__free(copy);
	return rc;
}
