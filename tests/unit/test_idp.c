/*
 * Launch assertions (JWT): good assertions of every algorithm verify;
 * the attacks of the threat model's "algorithm confusion" and "signature
 * malleability" rows, bad claims, non-canonical encodings and oversize
 * input are refused, each with its own error.  Keys: generated once per
 * run (real OpenSSL keys, real files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <mandate/idp.h>

#include "jwt_int.h"
#include "key_int.h"
#include "testutil.h"

#define NOW 1800000000LL
#define ISS "https://idp.clinic.example"
#define AUD "spiffe://clinic.example/broker"

static mdt_idp_key *keys[4]; /* indexed by mdt_idp_alg */

static void
make_keys(void)
{
	for (int a = MDT_IDP_ES256; a <= MDT_IDP_EDDSA; a++)
		if (mdt_idp_key_generate((mdt_idp_alg)a, &keys[a]) != 0)
			abort();
}

static void
free_keys(void)
{
	for (int a = MDT_IDP_ES256; a <= MDT_IDP_EDDSA; a++)
		mdt_idp_key_free(keys[a]);
}

static mdt_idp_verify_opts
vopts(const mdt_idp_key *key)
{
	mdt_idp_verify_opts o;

	memset(&o, 0, sizeof(o));
	o.key = key;
	o.issuer = ISS;
	o.audience = AUD;
	o.now = NOW;
	o.skew = 60;
	return o;
}

static mdt_idp_assert_opts
aopts(void)
{
	mdt_idp_assert_opts a;

	memset(&a, 0, sizeof(a));
	a.iss = ISS;
	a.aud = AUD;
	a.sub = "dr-lee";
	a.fhir_user = "Practitioner/77";
	a.patient = "p-001";
	a.scope = "openid fhirUser launch/patient patient/*.read tool/fax.x";
	a.iat = NOW - 10;
	a.ttl = 300;
	return a;
}

/* Verifies and returns the status; the message goes to msg. */
static int
verify(const char *jwt, const mdt_idp_verify_opts *o, char *msg)
{
	mdt_idp_claims *c = NULL;
	int rc;

	msg[0] = '\0';
	rc = mdt_idp_verify(jwt, strlen(jwt), o, &c, msg, MDT_ERRMSG_MAX);
	ck_assert(rc == 0 ? c != NULL : c == NULL);
	mdt_idp_claims_free(c);
	return rc;
}

static void
expect(const char *jwt, const mdt_idp_verify_opts *o, int status,
    const char *reason)
{
	char msg[MDT_ERRMSG_MAX];
	int rc = verify(jwt, o, msg);

	ck_assert_msg(rc == status, "want %d (%s), got %d: %s", status,
	    reason, rc, msg);
	ck_assert_msg(strstr(msg, reason) != NULL, "message \"%s\" lacks "
	    "\"%s\"", msg, reason);
}

static char *
forge(const mdt_idp_key *key, const char *header, const char *payload)
{
	char *jwt;

	ck_assert_int_eq(mdt__jwt_compact(key, header, payload, &jwt), 0);
	return jwt;
}

/* A valid payload, with extra members spliced in before the last brace. */
static const char *
payload(const char *extra)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD
	    "\",\"sub\":\"dr-lee\",\"patient\":\"p-001\",\"scope\":"
	    "\"patient/*.rs\",\"iat\":%lld,\"exp\":%lld%s}", NOW - 10,
	    NOW + 290, extra);
	return buf;
}

START_TEST(good_assertions_of_every_alg_verify)
{
	for (int a = MDT_IDP_ES256; a <= MDT_IDP_EDDSA; a++) {
		mdt_idp_assert_opts ao = aopts();
		mdt_idp_verify_opts vo = vopts(keys[a]);
		mdt_idp_claims *c;
		char err[MDT_ERRMSG_MAX] = "", *jwt, *scopes;

		ck_assert_int_eq(mdt_idp_assert(keys[a], &ao, &jwt, err,
		    sizeof(err)), 0);
		ck_assert_msg(mdt_idp_verify(jwt, strlen(jwt), &vo, &c, err,
		    sizeof(err)) == 0, "%s: %s", mdt_idp_alg_name(
		    (mdt_idp_alg)a), err);
		ck_assert_str_eq(mdt_idp_claims_iss(c), ISS);
		ck_assert_str_eq(mdt_idp_claims_sub(c), "dr-lee");
		ck_assert_str_eq(mdt_idp_claims_fhir_user(c), "Practitioner/77");
		ck_assert_str_eq(mdt_idp_claims_patient(c), "p-001");
		ck_assert_int_eq(mdt_idp_claims_iat(c), NOW - 10);
		ck_assert_int_eq(mdt_idp_claims_exp(c), NOW + 290);
		ck_assert_uint_eq(strlen(mdt_idp_claims_jti(c)), 32);
		ck_assert_str_eq(mdt_idp_claims_scope_text(c), ao.scope);
		ck_assert_int_eq(mdt_scope_set_format(mdt_idp_claims_scopes(c),
		    &scopes), 0);
		ck_assert_str_eq(scopes, "patient/*.rs tool/fax.x");
		mdt_free(scopes);
		mdt_idp_claims_free(c);
		mdt_free(jwt);
	}
}
END_TEST

START_TEST(alg_none_is_refused)
{
	static const char *const hdrs[] = {"eyJhbGciOiJub25lIn0",
	    "eyJhbGciOiJOb05lIn0", "eyJhbGciOiJOT05FIiwidHlwIjoiSldUIn0"};
	mdt_idp_verify_opts o = vopts(keys[MDT_IDP_ES256]);
	char jwt[2200], pl[1024];

	mdt__b64url_encode((const uint8_t *)payload(""), strlen(payload("")),
	    pl, sizeof(pl));
	for (size_t i = 0; i < 3; i++) {
		/* {"alg":"none"}, {"alg":"NoNe"}, {"alg":"NONE","typ":"JWT"};
		 * with an empty and with a junk signature. */
		snprintf(jwt, sizeof(jwt), "%s.%s.", hdrs[i], pl);
		expect(jwt, &o, -MDT_EUNSUPPORTED, "unsigned");
		snprintf(jwt, sizeof(jwt), "%s.%s.AAAA", hdrs[i], pl);
		expect(jwt, &o, -MDT_EUNSUPPORTED, "unsigned");
	}
}
END_TEST

/* HS256 with the RSA / EC public key PEM as the HMAC secret. */
START_TEST(alg_confusion_hmac_with_public_key_is_refused)
{
	for (int a = MDT_IDP_ES256; a <= MDT_IDP_EDDSA; a++) {
		mdt_idp_verify_opts o = vopts(keys[a]);
		char *pem, input[2048], jwt[2200], h[64], p[1024], s[64];
		uint8_t mac[32];
		unsigned maclen = 0;
		const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

		ck_assert_int_eq(mdt_idp_key_public_pem(keys[a], &pem), 0);
		mdt__b64url_encode((const uint8_t *)hdr, strlen(hdr), h,
		    sizeof(h));
		mdt__b64url_encode((const uint8_t *)payload(""),
		    strlen(payload("")), p, sizeof(p));
		snprintf(input, sizeof(input), "%s.%s", h, p);
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), pem, (int)strlen(pem),
		    (const uint8_t *)input, strlen(input), mac, &maclen));
		mdt__b64url_encode(mac, maclen, s, sizeof(s));
		snprintf(jwt, sizeof(jwt), "%s.%s", input, s);
		expect(jwt, &o, -MDT_EUNSUPPORTED, "HMAC");
		mdt_free(pem);
	}
}
END_TEST

START_TEST(alg_must_match_the_configured_key)
{
	mdt_idp_assert_opts ao = aopts();
	char *jwt, msg[MDT_ERRMSG_MAX];

	for (int signer = MDT_IDP_ES256; signer <= MDT_IDP_EDDSA; signer++) {
		ck_assert_int_eq(mdt_idp_assert(keys[signer], &ao, &jwt, NULL,
		    0), 0);
		for (int v = MDT_IDP_ES256; v <= MDT_IDP_EDDSA; v++) {
			mdt_idp_verify_opts o = vopts(keys[v]);
			if (v == signer)
				continue;
			ck_assert_int_eq(verify(jwt, &o, msg), -MDT_EKEY);
			ck_assert_ptr_nonnull(strstr(msg, "does not match"));
		}
		mdt_free(jwt);
	}
	/* The right signature under a header that lies about the alg. */
	jwt = forge(keys[MDT_IDP_ES256], "{\"alg\":\"EdDSA\"}", payload(""));
	{
		mdt_idp_verify_opts o = vopts(keys[MDT_IDP_ES256]);
		expect(jwt, &o, -MDT_EKEY, "does not match");
	}
	mdt_free(jwt);
}
END_TEST

START_TEST(key_injection_headers_are_refused)
{
	static const struct {
		const char *member;
		const char *name;
	} inj[] = {
		{"\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\","
		    "\"y\":\"AA\"}", "'jwk'"},
		{"\"jku\":\"https://evil.example/jwks.json\"", "'jku'"},
		{"\"x5u\":\"https://evil.example/cert.pem\"", "'x5u'"},
		{"\"x5c\":[\"MIIB\"]", "'x5c'"},
		{"\"crit\":[\"exp\"]", "'crit'"},
		{"\"b64\":false", "'b64'"},
		{"\"zip\":\"DEF\"", "'zip'"},
		{"\"cty\":\"JWT\"", "'cty'"},
	};
	const mdt_idp_key *k = keys[MDT_IDP_ES256];
	mdt_idp_verify_opts o = vopts(k);

	for (size_t i = 0; i < sizeof(inj) / sizeof(inj[0]); i++) {
		char hdr[256], *jwt;
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",%s}",
		    inj[i].member);
		jwt = forge(k, hdr, payload(""));
		expect(jwt, &o, -MDT_EUNSUPPORTED, inj[i].name);
		mdt_free(jwt);
	}
}
END_TEST

/* Replaces the signature segment of jwt with sig (n bytes). */
static char *
with_signature(const char *jwt, const uint8_t *sig, size_t n)
{
	const char *dot = strrchr(jwt, '.');
	size_t pre = (size_t)(dot - jwt) + 1;
	char *out = malloc(pre + 2 * n + 8);

	memcpy(out, jwt, pre);
	mdt__b64url_encode(sig, n, out + pre, 2 * n + 8);
	return out;
}

START_TEST(ecdsa_psychic_and_out_of_range_signatures_are_refused)
{
	static const uint8_t n[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	mdt_idp_assert_opts ao = aopts();
	mdt_idp_verify_opts o = vopts(keys[MDT_IDP_ES256]);
	uint8_t sig[70]; /* 64 for r || s, 70 for the DER-length case */
	char *good, *bad;

	ck_assert_int_eq(mdt_idp_assert(keys[MDT_IDP_ES256], &ao, &good, NULL,
	    0), 0);
	/* r = s = 0: the "psychic signature" (CVE-2022-21449). */
	memset(sig, 0, sizeof(sig));
	bad = with_signature(good, sig, 64);
	expect(bad, &o, -MDT_ESIG, "outside [1, n-1]");
	free(bad);
	/* r = n, s = n: zero modulo n. */
	memcpy(sig, n, 32);
	memcpy(sig + 32, n, 32);
	bad = with_signature(good, sig, 64);
	expect(bad, &o, -MDT_ESIG, "outside [1, n-1]");
	free(bad);
	/* r = 1, s = 0. */
	memset(sig, 0, sizeof(sig));
	sig[31] = 1;
	bad = with_signature(good, sig, 64);
	expect(bad, &o, -MDT_ESIG, "outside [1, n-1]");
	free(bad);
	/* In range but wrong: refused by the verification itself. */
	sig[63] = 1;
	bad = with_signature(good, sig, 64);
	expect(bad, &o, -MDT_ESIG, "does not verify");
	free(bad);
	/* A DER signature where r || s belongs. */
	bad = with_signature(good, sig, 70);
	expect(bad, &o, -MDT_ESIG, "70 bytes");
	free(bad);
	mdt_free(good);
}
END_TEST

START_TEST(times_are_checked_with_skew)
{
	const mdt_idp_key *k = keys[MDT_IDP_EDDSA];
	mdt_idp_verify_opts o = vopts(k);
	mdt_idp_assert_opts ao = aopts();
	char *jwt, msg[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_idp_assert(k, &ao, &jwt, NULL, 0), 0);
	o.now = NOW + 290 + 59; /* expired 59 s ago, inside the skew */
	ck_assert_int_eq(verify(jwt, &o, msg), 0);
	o.now = NOW + 290 + 60;
	expect(jwt, &o, -MDT_EEXPIRED, "expired");
	o.skew = 0;
	o.now = NOW + 290;
	expect(jwt, &o, -MDT_EEXPIRED, "expired");
	o.now = NOW - 10 - 61; /* issued 61 s in the future */
	o.skew = 60;
	expect(jwt, &o, -MDT_EEXPIRED, "issued in the future");
	o.now = NOW;
	o.max_lifetime = 299;
	expect(jwt, &o, -MDT_EEXPIRED, "lifetime");
	o.max_lifetime = 300;
	ck_assert_int_eq(verify(jwt, &o, msg), 0);
	o.skew = MDT_IDP_SKEW_MAX + 1;
	expect(jwt, &o, -MDT_EINVAL, "skew");
	mdt_free(jwt);

	o = vopts(k);
	jwt = forge(k, "{\"alg\":\"EdDSA\"}", payload(",\"nbf\":1800000100"));
	expect(jwt, &o, -MDT_EEXPIRED, "not valid before");
	mdt_free(jwt);
	jwt = forge(k, "{\"alg\":\"EdDSA\"}", payload(",\"nbf\":1800000000"));
	ck_assert_int_eq(verify(jwt, &o, msg), 0);
	mdt_free(jwt);
}
END_TEST

START_TEST(issuer_and_audience)
{
	const mdt_idp_key *k = keys[MDT_IDP_ES256];
	mdt_idp_verify_opts o = vopts(k);
	mdt_idp_assert_opts ao = aopts();
	char *jwt, msg[MDT_ERRMSG_MAX];

	ao.aud = "spiffe://clinic.example/other-broker";
	ck_assert_int_eq(mdt_idp_assert(k, &ao, &jwt, NULL, 0), 0);
	expect(jwt, &o, -MDT_EAUDIENCE, "aud");
	mdt_free(jwt);
	ao = aopts();
	ao.iss = "https://evil.example";
	ck_assert_int_eq(mdt_idp_assert(k, &ao, &jwt, NULL, 0), 0);
	expect(jwt, &o, -MDT_EAUTH, "iss");
	mdt_free(jwt);
	/* aud as an array: must contain the broker */
	jwt = forge(k, "{\"alg\":\"ES256\"}", "{\"iss\":\"" ISS "\",\"aud\":"
	    "[\"x\",\"" AUD "\"],\"sub\":\"s\",\"patient\":\"p\",\"scope\":"
	    "\"\",\"iat\":1800000000,\"exp\":1800000100}");
	ck_assert_int_eq(verify(jwt, &o, msg), 0);
	mdt_free(jwt);
	jwt = forge(k, "{\"alg\":\"ES256\"}", "{\"iss\":\"" ISS "\",\"aud\":"
	    "[\"x\",\"y\"],\"sub\":\"s\",\"patient\":\"p\",\"scope\":"
	    "\"\",\"iat\":1800000000,\"exp\":1800000100}");
	expect(jwt, &o, -MDT_EAUDIENCE, "does not contain");
	mdt_free(jwt);
	jwt = forge(k, "{\"alg\":\"ES256\"}", "{\"iss\":\"" ISS "\",\"aud\":"
	    "[],\"sub\":\"s\",\"patient\":\"p\",\"scope\":"
	    "\"\",\"iat\":1800000000,\"exp\":1800000100}");
	expect(jwt, &o, -MDT_EPARSE, "aud");
	mdt_free(jwt);
}
END_TEST

/* Every byte of the token changed to another base64url character (or a
 * dot moved): nothing verifies. */
START_TEST(tampering_at_every_position_is_refused)
{
	static const char alphabet[] = "AQgw_-9z";
	const mdt_idp_key *k = keys[MDT_IDP_EDDSA];
	mdt_idp_verify_opts o = vopts(k);
	mdt_idp_assert_opts ao = aopts();
	char *jwt, msg[MDT_ERRMSG_MAX];
	size_t n;

	ck_assert_int_eq(mdt_idp_assert(k, &ao, &jwt, NULL, 0), 0);
	n = strlen(jwt);
	for (size_t i = 0; i < n; i++) {
		char saved = jwt[i];
		jwt[i] = alphabet[i % 8] != saved ? alphabet[i % 8] : 'B';
		ck_assert_msg(verify(jwt, &o, msg) != 0, "byte %zu", i);
		jwt[i] = saved;
	}
	ck_assert_int_eq(verify(jwt, &o, msg), 0);
	mdt_free(jwt);
}
END_TEST

START_TEST(tampered_payload_is_a_bad_signature)
{
	const mdt_idp_key *k = keys[MDT_IDP_RS256];
	mdt_idp_verify_opts o = vopts(k);
	mdt_idp_assert_opts ao = aopts();
	char *jwt, *evil, pl[1024];
	const char *d1, *d2;
	size_t pre;

	ck_assert_int_eq(mdt_idp_assert(k, &ao, &jwt, NULL, 0), 0);
	/* Swap in a payload granting every user scope; keep the signature. */
	mdt__b64url_encode((const uint8_t *)"{\"iss\":\"" ISS "\",\"aud\":\""
	    AUD "\",\"sub\":\"dr-lee\",\"patient\":\"p-001\",\"scope\":"
	    "\"user/*.cruds\",\"iat\":1800000000,\"exp\":1800000100}",
	    strlen("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"dr-lee"
	    "\",\"patient\":\"p-001\",\"scope\":\"user/*.cruds\",\"iat\":"
	    "1800000000,\"exp\":1800000100}"), pl, sizeof(pl));
	d1 = strchr(jwt, '.');
	d2 = strrchr(jwt, '.');
	pre = (size_t)(d1 - jwt) + 1;
	evil = malloc(strlen(jwt) + strlen(pl) + 1);
	memcpy(evil, jwt, pre);
	strcpy(evil + pre, pl);
	strcat(evil, d2);
	expect(evil, &o, -MDT_ESIG, "does not verify");
	free(evil);
	mdt_free(jwt);
}
END_TEST

START_TEST(non_canonical_base64url_is_refused)
{
	const mdt_idp_key *k = keys[MDT_IDP_EDDSA];
	mdt_idp_verify_opts o = vopts(k);
	mdt_idp_assert_opts ao = aopts();
	char *jwt, *bad, last;
	size_t n;

	ck_assert_int_eq(mdt_idp_assert(k, &ao, &jwt, NULL, 0), 0);
	n = strlen(jwt);
	bad = malloc(n + 8);
	/* 64-byte signature: 86 characters, the last one carries 2 bits.
	 * Setting an unused low bit decodes to the same bytes. */
	strcpy(bad, jwt);
	last = bad[n - 1];
	bad[n - 1] = last == 'A' ? 'B' : last == 'Q' ? 'R' : last == 'g' ?
	    'h' : 'x';
	expect(bad, &o, -MDT_EDECODE, "not canonical base64url");
	/* Padding, whitespace, standard-alphabet characters. */
	snprintf(bad, n + 8, "%s==", jwt);
	expect(bad, &o, -MDT_EDECODE, "padding");
	snprintf(bad, n + 8, "%s\n", jwt);
	expect(bad, &o, -MDT_EDECODE, "0x0a");
	strcpy(bad, jwt);
	bad[5] = '+';
	expect(bad, &o, -MDT_EDECODE, "byte 5:");
	strcpy(bad, jwt);
	bad[n - 3] = '/';
	expect(bad, &o, -MDT_EDECODE, "not base64url");
	free(bad);
	mdt_free(jwt);
}
END_TEST

START_TEST(shape_and_size_bounds)
{
	const mdt_idp_key *k = keys[MDT_IDP_EDDSA];
	mdt_idp_verify_opts o = vopts(k);
	mdt_idp_claims *c = NULL;
	char *big, *jwt, hdr[1200], msg[MDT_ERRMSG_MAX];

	expect("abc.def", &o, -MDT_EPARSE, "three segments");
	expect("a.b.c.d.e", &o, -MDT_EPARSE, "more than three");
	expect("", &o, -MDT_EPARSE, "three segments");
	expect("..", &o, -MDT_EPARSE, "header segment is empty");
	big = malloc(MDT_IDP_JWT_MAX + 2);
	memset(big, 'A', MDT_IDP_JWT_MAX + 1);
	big[MDT_IDP_JWT_MAX + 1] = '\0';
	ck_assert_int_eq(mdt_idp_verify(big, MDT_IDP_JWT_MAX + 1, &o, &c, msg,
	    sizeof(msg)), -MDT_ETOOBIG);
	ck_assert_ptr_null(c);
	free(big);
	/* A header over 1024 bytes, properly signed. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"EdDSA\",\"kid\":\"%01100d\"}",
	    0);
	jwt = forge(k, hdr, payload(""));
	expect(jwt, &o, -MDT_ETOOBIG, "header longer");
	mdt_free(jwt);
	/* Duplicate members, typ, unknown parameters. */
	jwt = forge(k, "{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}", payload(""));
	expect(jwt, &o, -MDT_EPARSE, "header: JSON error");
	mdt_free(jwt);
	jwt = forge(k, "{\"alg\":\"EdDSA\"}", payload(",\"sub\":\"evil\""));
	expect(jwt, &o, -MDT_EPARSE, "payload: JSON error");
	mdt_free(jwt);
	jwt = forge(k, "{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\"}", payload(""));
	expect(jwt, &o, -MDT_EPARSE, "typ");
	mdt_free(jwt);
	jwt = forge(k, "{\"alg\":\"EdDSA\",\"foo\":1}", payload(""));
	expect(jwt, &o, -MDT_EUNSUPPORTED, "'foo'");
	mdt_free(jwt);
	jwt = forge(k, "[\"alg\",\"EdDSA\"]", payload(""));
	expect(jwt, &o, -MDT_EPARSE, "not a JSON object");
	mdt_free(jwt);
	jwt = forge(k, "{\"typ\":\"JWT\"}", payload(""));
	expect(jwt, &o, -MDT_EPARSE, "alg: missing");
	mdt_free(jwt);
	jwt = forge(k, "{\"alg\":\"PS256\"}", payload(""));
	expect(jwt, &o, -MDT_EUNSUPPORTED, "unknown algorithm");
	mdt_free(jwt);
}
END_TEST

START_TEST(claims_are_typed_and_required)
{
	static const struct {
		const char *payload;
		const char *reason;
	} cases[] = {
		{"{\"aud\":\"" AUD "\",\"sub\":\"s\",\"patient\":\"p\",\"scope\""
		    ":\"\",\"iat\":1800000000,\"exp\":1800000100}",
		    "iss: missing"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"patient\":\"p\","
		    "\"scope\":\"\",\"iat\":1800000000,\"exp\":1800000100}",
		    "sub: missing"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"scope\":\"\",\"iat\":1800000000,\"exp\":1800000100}",
		    "patient: missing"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"patient\":\"p\",\"iat\":1800000000,\"exp\":1800000100}",
		    "scope: missing"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"patient\":\"p\",\"scope\":\"\",\"iat\":1800000000}",
		    "exp: missing"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"patient\":\"p\",\"scope\":\"\",\"iat\":1800000000,"
		    "\"exp\":1800000100.5}", "exp: not an integer"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"patient\":\"p\",\"scope\":\"\",\"iat\":\"1800000000\","
		    "\"exp\":1800000100}", "iat: not an integer"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":7,"
		    "\"patient\":\"p\",\"scope\":\"\",\"iat\":1800000000,"
		    "\"exp\":1800000100}", "sub: not a string"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\","
		    "\"patient\":\"p\",\"scope\":\"\",\"iat\":1800000000,"
		    "\"exp\":1800000100}", "sub: empty"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"patient\":\"p\",\"scope\":\"\",\"iat\":1800000100,"
		    "\"exp\":1800000000}", "exp: not after iat"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"patient\":\"p\",\"scope\":\"\",\"iat\":-1,"
		    "\"exp\":1800000100}", "out of range"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"patient\":\"p\",\"scope\":\"patient/*.rs Patient/*.r\","
		    "\"iat\":1800000000,\"exp\":1800000100}",
		    "claim scope: byte 13: wrong-case"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"patient\":\"p\",\"scope\":\"openid  patient/*.rs\","
		    "\"iat\":1800000000,\"exp\":1800000100}",
		    "claim scope: byte 7: empty scope"},
		{"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\","
		    "\"patient\":\"p\",\"scope\":\"patient/Observation.dus\","
		    "\"iat\":1800000000,\"exp\":1800000100}", "out of order"},
		{"[1,2]", "payload: not a JSON object"},
		{"{\"iss\":\"" ISS "\"} trailing", "payload: JSON error"},
	};
	const mdt_idp_key *k = keys[MDT_IDP_ES256];
	mdt_idp_verify_opts o = vopts(k);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *jwt = forge(k, "{\"alg\":\"ES256\"}", cases[i].payload);
		expect(jwt, &o, -MDT_EPARSE, cases[i].reason);
		mdt_free(jwt);
	}
}
END_TEST

/* The claims of a clinician's act round-trip, are absent by default and
 * must be strings. */
START_TEST(act_claims)
{
	const mdt_idp_key *k = keys[MDT_IDP_EDDSA];
	mdt_idp_verify_opts o = vopts(k);
	mdt_idp_assert_opts ao = aopts();
	mdt_idp_claims *c = NULL;
	char *jwt = NULL, err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_idp_assert(k, &ao, &jwt, err, sizeof(err)), 0);
	ck_assert_int_eq(mdt_idp_verify(jwt, strlen(jwt), &o, &c, err,
	    sizeof(err)), 0);
	ck_assert_ptr_null(mdt_idp_claims_stepup(c));
	ck_assert_ptr_null(mdt_idp_claims_purpose_of_use(c));
	mdt_idp_claims_free(c);
	mdt_free(jwt);
	ao.stepup = "su-0123";
	ao.purpose_of_use = "ETREAT";
	ck_assert_int_eq(mdt_idp_assert(k, &ao, &jwt, err, sizeof(err)), 0);
	ck_assert_int_eq(mdt_idp_verify(jwt, strlen(jwt), &o, &c, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(mdt_idp_claims_stepup(c), "su-0123");
	ck_assert_str_eq(mdt_idp_claims_purpose_of_use(c), "ETREAT");
	mdt_idp_claims_free(c);
	mdt_free(jwt);
	ao.stepup = "";
	ck_assert_int_eq(mdt_idp_assert(k, &ao, &jwt, err, sizeof(err)),
	    -MDT_EINVAL);
	jwt = forge(k, "{\"alg\":\"EdDSA\"}", payload(",\"mandate_stepup\":7"));
	expect(jwt, &o, -MDT_EPARSE, "mandate_stepup: not a string");
	mdt_free(jwt);
	jwt = forge(k, "{\"alg\":\"EdDSA\"}",
	    payload(",\"purpose_of_use\":[\"ETREAT\"]"));
	expect(jwt, &o, -MDT_EPARSE, "purpose_of_use: not a string");
	mdt_free(jwt);
}
END_TEST

START_TEST(assert_checks_its_input)
{
	mdt_idp_assert_opts ao = aopts();
	char *jwt = NULL, err[MDT_ERRMSG_MAX] = "";
	mdt_idp_key *pub;
	char *pem;

	ao.scope = "patient/Observation.rr";
	ck_assert_int_eq(mdt_idp_assert(keys[MDT_IDP_ES256], &ao, &jwt, err,
	    sizeof(err)), -MDT_EPARSE);
	ck_assert_ptr_nonnull(strstr(err, "byte 21: permission 'r' repeated"));
	ao = aopts();
	ao.ttl = 0;
	ck_assert_int_eq(mdt_idp_assert(keys[MDT_IDP_ES256], &ao, &jwt, err,
	    sizeof(err)), -MDT_EINVAL);
	ao = aopts();
	ao.patient = NULL;
	ck_assert_int_eq(mdt_idp_assert(keys[MDT_IDP_ES256], &ao, &jwt, err,
	    sizeof(err)), -MDT_EINVAL);
	/* A public key cannot sign. */
	ck_assert_int_eq(mdt_idp_key_public_pem(keys[MDT_IDP_ES256], &pem), 0);
	ck_assert_int_eq(mdt_idp_key_from_pem(pem, strlen(pem), 0, &pub, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(mdt_idp_key_is_private(pub), 0);
	ck_assert_int_eq(mdt_idp_key_is_development(pub), 0);
	ao = aopts();
	ck_assert_int_eq(mdt_idp_assert(pub, &ao, &jwt, err, sizeof(err)),
	    -MDT_EINVAL);
	ck_assert_ptr_null(jwt);
	mdt_idp_key_free(pub);
	mdt_free(pem);
}
END_TEST

static char *
tmpdir(void)
{
	static char dir[] = "/tmp/mdt-idp-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

START_TEST(key_files_round_trip)
{
	char *dir = tmpdir(), base[256], path[300], err[MDT_ERRMSG_MAX];
	mdt_idp_key *priv, *pub;
	mdt_idp_assert_opts ao = aopts();
	mdt_idp_verify_opts o;
	struct stat st;
	char *jwt;

	snprintf(base, sizeof(base), "%s/idp", dir);
	ck_assert_int_eq(mdt_idp_key_save(keys[MDT_IDP_ES256], base, err,
	    sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s.pem", base);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(mdt_idp_key_save(keys[MDT_IDP_ES256], base, err,
	    sizeof(err)), -MDT_EEXIST);
	ck_assert_int_eq(mdt_idp_key_load_private(path, &priv, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(mdt_idp_key_alg(priv), MDT_IDP_ES256);
	snprintf(path, sizeof(path), "%s.pub.pem", base);
	ck_assert_int_eq(mdt_idp_key_load_public(path, &pub, err,
	    sizeof(err)), 0);
	/* Saved keys are marked as the development IdP's; generated and
	 * plain PEM keys are not. */
	ck_assert_int_eq(mdt_idp_key_is_development(priv), 1);
	ck_assert_int_eq(mdt_idp_key_is_development(pub), 1);
	ck_assert_int_eq(mdt_idp_key_is_development(keys[MDT_IDP_ES256]), 0);
	ck_assert_int_eq(mdt_idp_assert(priv, &ao, &jwt, err, sizeof(err)), 0);
	o = vopts(pub);
	ck_assert_int_eq(verify(jwt, &o, err), 0);
	mdt_free(jwt);
	mdt_idp_key_free(priv);
	/* A public file is not a private key, and vice versa. */
	ck_assert_int_eq(mdt_idp_key_load_private(path, &priv, err,
	    sizeof(err)), -MDT_EKEY);
	mdt_idp_key_free(pub);
	/* A private key readable by others is refused. */
	snprintf(path, sizeof(path), "%s.pem", base);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(mdt_idp_key_load_private(path, &pub, err,
	    sizeof(err)), -MDT_EKEY);
	ck_assert_ptr_nonnull(strstr(err, "0644"));
	ck_assert_int_eq(mdt_idp_key_load_public("/nonexistent/x.pem", &pub,
	    err, sizeof(err)), -MDT_ENOTFOUND);
	unlink(path);
	snprintf(path, sizeof(path), "%s.pub.pem", base);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* Keys the verifier must refuse: small RSA, other curves. */
START_TEST(weak_or_foreign_keys_are_refused)
{
	static const struct {
		const char *type;
		const char *param;
		size_t bits;
		const char *reason;
	} bad[] = {
		{"RSA", NULL, 1024, "1024 bits"},
		{"EC", "P-384", 0, "P-256"},
		{"X25519", NULL, 0, "unsupported key type"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EVP_PKEY *p = bad[i].bits > 0 ?
		    EVP_PKEY_Q_keygen(NULL, NULL, bad[i].type, bad[i].bits) :
		    bad[i].param != NULL ?
		    EVP_PKEY_Q_keygen(NULL, NULL, bad[i].type, bad[i].param) :
		    EVP_PKEY_Q_keygen(NULL, NULL, bad[i].type);
		BIO *bio = BIO_new(BIO_s_mem());
		char *data, err[MDT_ERRMSG_MAX] = "";
		mdt_idp_key *k = NULL;
		long n;

		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, p), 1);
		n = BIO_get_mem_data(bio, &data);
		ck_assert_int_eq(mdt_idp_key_from_pem(data, (size_t)n, 0, &k,
		    err, sizeof(err)), -MDT_EKEY);
		ck_assert_msg(strstr(err, bad[i].reason) != NULL, "%s", err);
		ck_assert_ptr_null(k);
		BIO_free(bio);
		EVP_PKEY_free(p);
	}
	{
		mdt_idp_key *k = NULL;
		char err[MDT_ERRMSG_MAX];
		ck_assert_int_eq(mdt_idp_key_from_pem("garbage", 7, 0, &k, err,
		    sizeof(err)), -MDT_EKEY);
	}
}
END_TEST

START_TEST(alg_names)
{
	mdt_idp_alg a;

	ck_assert_str_eq(mdt_idp_alg_name(MDT_IDP_ES256), "ES256");
	ck_assert_str_eq(mdt_idp_alg_name(MDT_IDP_RS256), "RS256");
	ck_assert_str_eq(mdt_idp_alg_name(MDT_IDP_EDDSA), "EdDSA");
	ck_assert_ptr_null(mdt_idp_alg_name((mdt_idp_alg)9));
	ck_assert_int_eq(mdt_idp_alg_parse("EdDSA", &a), 0);
	ck_assert_int_eq(a, MDT_IDP_EDDSA);
	ck_assert_int_eq(mdt_idp_alg_parse("eddsa", &a), -MDT_EINVAL);
	ck_assert_int_eq(mdt_idp_alg_parse("HS256", &a), -MDT_EINVAL);
	ck_assert_int_eq(mdt_idp_alg_parse("none", &a), -MDT_EINVAL);
	mdt_idp_key_free(NULL);
	mdt_idp_claims_free(NULL);
}
END_TEST

static Suite *
idp_suite(void)
{
	Suite *s = suite_create("idp");
	TCase *tc = tcase_create("jwt");

	tcase_add_unchecked_fixture(tc, make_keys, free_keys);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_assertions_of_every_alg_verify);
	tcase_add_test(tc, alg_none_is_refused);
	tcase_add_test(tc, alg_confusion_hmac_with_public_key_is_refused);
	tcase_add_test(tc, alg_must_match_the_configured_key);
	tcase_add_test(tc, key_injection_headers_are_refused);
	tcase_add_test(tc, ecdsa_psychic_and_out_of_range_signatures_are_refused);
	tcase_add_test(tc, times_are_checked_with_skew);
	tcase_add_test(tc, issuer_and_audience);
	tcase_add_test(tc, tampering_at_every_position_is_refused);
	tcase_add_test(tc, act_claims);
	tcase_add_test(tc, tampered_payload_is_a_bad_signature);
	tcase_add_test(tc, non_canonical_base64url_is_refused);
	tcase_add_test(tc, shape_and_size_bounds);
	tcase_add_test(tc, claims_are_typed_and_required);
	tcase_add_test(tc, assert_checks_its_input);
	tcase_add_test(tc, key_files_round_trip);
	tcase_add_test(tc, weak_or_foreign_keys_are_refused);
	tcase_add_test(tc, alg_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(idp_suite());
}
