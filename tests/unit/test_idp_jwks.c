/*
 * Identity-provider key sets (JWKS): keys of every algorithm round-trip
 * through JWKS text; an assertion verifies with the key its kid names,
 * and is refused when the kid is missing or names no key of the set (an
 * IdP's rotation: old and new keys both verify during the overlap, the
 * old one's assertions fail once it leaves the set); JWKS text that
 * carries secrets, unsupported keys, bad encodings or ambiguities is
 * refused with the key and the member at fault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mandate/idp.h>

#include "testutil.h"

#define NOW 1800000000LL
#define ISS "https://idp.clinic.example"
#define AUD "spiffe://clinic.example/broker"

static mdt_idp_key *priv[4], *pub[4]; /* indexed by mdt_idp_alg */
static const char *const kids[4] = {"", "ec-2026", "rsa-2026", "ed-2026"};

static void
make_keys(void)
{
	for (int a = MDT_IDP_ES256; a <= MDT_IDP_EDDSA; a++) {
		char *pem;
		if (mdt_idp_key_generate((mdt_idp_alg)a, &priv[a]) != 0 ||
		    mdt_idp_key_public_pem(priv[a], &pem) != 0 ||
		    mdt_idp_key_from_pem(pem, strlen(pem), 0, &pub[a], NULL,
		    0) != 0)
			abort();
		mdt_free(pem);
	}
}

static void
free_keys(void)
{
	for (int a = MDT_IDP_ES256; a <= MDT_IDP_EDDSA; a++) {
		mdt_idp_key_free(priv[a]);
		mdt_idp_key_free(pub[a]);
	}
}

/* A set of copies of the public keys of algs (0-terminated list). */
static mdt_idp_keyset *
set_of(const int *algs)
{
	mdt_idp_keyset *s;

	ck_assert_int_eq(mdt_idp_keyset_new(&s), 0);
	for (; *algs != 0; algs++) {
		char *pem;
		mdt_idp_key *k;
		ck_assert_int_eq(mdt_idp_key_public_pem(pub[*algs], &pem), 0);
		ck_assert_int_eq(mdt_idp_key_from_pem(pem, strlen(pem), 0, &k,
		    NULL, 0), 0);
		mdt_free(pem);
		ck_assert_int_eq(mdt_idp_keyset_add(s, kids[*algs], k, NULL, 0),
		    0);
	}
	return s;
}

/* An assertion signed by priv[alg] with header kid (NULL: none). */
static char *
assertion(int alg, const char *kid)
{
	mdt_idp_assert_opts a;
	char err[MDT_ERRMSG_MAX], *jwt;

	memset(&a, 0, sizeof(a));
	a.iss = ISS;
	a.aud = AUD;
	a.sub = "dr-lee";
	a.patient = "p-001";
	a.scope = "patient/*.rs";
	a.iat = NOW - 10;
	a.ttl = 300;
	a.kid = kid;
	ck_assert_msg(mdt_idp_assert(priv[alg], &a, &jwt, err, sizeof(err)) ==
	    0, "%s", err);
	return jwt;
}

static int
verify(const mdt_idp_keyset *set, const char *jwt, char *msg)
{
	mdt_idp_verify_opts o;
	mdt_idp_claims *c = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.keys = set;
	o.issuer = ISS;
	o.audience = AUD;
	o.now = NOW;
	o.skew = 60;
	msg[0] = 0;
	rc = mdt_idp_verify(jwt, strlen(jwt), &o, &c, msg, MDT_ERRMSG_MAX);
	ck_assert(rc == 0 ? c != NULL : c == NULL);
	mdt_idp_claims_free(c);
	return rc;
}

static void
expect(const mdt_idp_keyset *set, char *jwt, int status, const char *why)
{
	char msg[MDT_ERRMSG_MAX];
	int rc = verify(set, jwt, msg);

	ck_assert_msg(rc == status && strstr(msg, why) != NULL,
	    "want %d '%s', got %d '%s'", status, why, rc, msg);
	mdt_free(jwt);
}

START_TEST(round_trip_and_verify_by_kid)
{
	static const int all[] = {MDT_IDP_ES256, MDT_IDP_RS256, MDT_IDP_EDDSA,
	    0};
	mdt_idp_keyset *s = set_of(all), *back = NULL;
	char err[MDT_ERRMSG_MAX], *text;

	ck_assert_int_eq(mdt_idp_keyset_to_jwks(s, &text), 0);
	ck_assert_msg(mdt_idp_keyset_from_jwks(text, strlen(text), &back, err,
	    sizeof(err)) == 0, "%s\n%s", err, text);
	ck_assert_ptr_null(strstr(text, "\"d\""));
	mdt_free(text);
	ck_assert_uint_eq(mdt_idp_keyset_count(back), 3);
	for (int a = MDT_IDP_ES256; a <= MDT_IDP_EDDSA; a++) {
		ck_assert_str_eq(mdt_idp_keyset_kid(back, (size_t)a - 1), kids[a]);
		ck_assert_int_eq(mdt_idp_key_alg(mdt_idp_keyset_find(back,
		    kids[a])), a);
		expect(back, assertion(a, kids[a]), 0, "");
	}
	ck_assert_ptr_null(mdt_idp_keyset_kid(back, 3));
	/* no kid, an unknown kid, the kid of another key */
	expect(back, assertion(MDT_IDP_ES256, NULL), -MDT_EKEY, "kid: missing");
	expect(back, assertion(MDT_IDP_ES256, "ec-2025"), -MDT_EKEY,
	    "kid 'ec-2025': no key");
	expect(back, assertion(MDT_IDP_ES256, kids[MDT_IDP_EDDSA]), -MDT_EKEY,
	    "does not match");
	mdt_idp_keyset_free(s);
	mdt_idp_keyset_free(back);
}
END_TEST

/* The same algorithm under two kids: the signature decides, not the kid
 * alone. */
START_TEST(kid_of_another_key_of_the_same_alg)
{
	mdt_idp_keyset *s;
	mdt_idp_key *other, *other_pub;
	char *pem;

	ck_assert_int_eq(mdt_idp_key_generate(MDT_IDP_ES256, &other), 0);
	ck_assert_int_eq(mdt_idp_key_public_pem(other, &pem), 0);
	ck_assert_int_eq(mdt_idp_key_from_pem(pem, strlen(pem), 0, &other_pub,
	    NULL, 0), 0);
	mdt_free(pem);
	s = set_of((const int[]){MDT_IDP_ES256, 0});
	ck_assert_int_eq(mdt_idp_keyset_add(s, "ec-next", other_pub, NULL, 0),
	    0);
	expect(s, assertion(MDT_IDP_ES256, "ec-next"), -MDT_ESIG, "");
	expect(s, assertion(MDT_IDP_ES256, "ec-2026"), 0, "");
	mdt_idp_key_free(other);
	mdt_idp_keyset_free(s);
}
END_TEST

/* An IdP's rotation: {old} -> {old, new} -> {new}. */
START_TEST(rotation_overlap)
{
	mdt_idp_keyset *old = set_of((const int[]){MDT_IDP_ES256, 0});
	mdt_idp_keyset *both = set_of((const int[]){MDT_IDP_ES256,
	    MDT_IDP_EDDSA, 0});
	mdt_idp_keyset *next = set_of((const int[]){MDT_IDP_EDDSA, 0});

	expect(old, assertion(MDT_IDP_ES256, kids[MDT_IDP_ES256]), 0, "");
	expect(old, assertion(MDT_IDP_EDDSA, kids[MDT_IDP_EDDSA]), -MDT_EKEY,
	    "no key of that id");
	expect(both, assertion(MDT_IDP_ES256, kids[MDT_IDP_ES256]), 0, "");
	expect(both, assertion(MDT_IDP_EDDSA, kids[MDT_IDP_EDDSA]), 0, "");
	expect(next, assertion(MDT_IDP_ES256, kids[MDT_IDP_ES256]), -MDT_EKEY,
	    "no key of that id");
	expect(next, assertion(MDT_IDP_EDDSA, kids[MDT_IDP_EDDSA]), 0, "");
	mdt_idp_keyset_free(old);
	mdt_idp_keyset_free(both);
	mdt_idp_keyset_free(next);
}
END_TEST

/* A JWK of the Ed25519 key with members replaced: {MEMBERS}. */
static const struct bad {
	const char *jwks;
	int status;
	const char *why;
} bad[] = {
	{ "", -MDT_EPARSE, "JWKS: line" },
	{ "[]", -MDT_EPARSE, "expected {\"keys\"" },
	{ "{\"keys\":[]}", -MDT_EPARSE, "at least one" },
	{ "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%X\"}]}",
	  -MDT_EPARSE, "keys[0]: kid" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	  "\"x\":\"%X\",\"d\":\"%X\"}]}", -MDT_EKEY, "keys[0]: d: private" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"oct\",\"k\":\"%X\"}]}",
	  -MDT_EKEY, "keys[0]: k: private or symmetric" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"OKP\",\"crv\":\"X25519\","
	  "\"x\":\"%X\"}]}", -MDT_EKEY, "crv X25519: not supported" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"EC\",\"crv\":\"P-384\","
	  "\"x\":\"%X\",\"y\":\"%X\"}]}", -MDT_EKEY, "not supported" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"EC\",\"crv\":\"P-256\","
	  "\"x\":\"%X\",\"y\":\"%X\"}]}", -MDT_EKEY, "not a point of P-256" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	  "\"x\":\"%X=\"}]}", -MDT_EDECODE, "keys[0]: x: not canonical" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	  "\"x\":\"AAAA\"}]}", -MDT_EKEY, "keys[0]: x: 3 bytes, expected 32" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	  "\"x\":\"%X\",\"alg\":\"ES256\"}]}", -MDT_EKEY,
	  "alg 'ES256' is not the key's (EdDSA)" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	  "\"x\":\"%X\",\"use\":\"enc\"}]}", -MDT_EKEY, "use: not \"sig\"" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	  "\"x\":\"%X\"},{\"kid\":\"a\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	  "\"x\":\"%X\"}]}", -MDT_EEXIST, "keys[1]: kid 'a' appears twice" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kid\":\"b\",\"kty\":\"OKP\","
	  "\"crv\":\"Ed25519\",\"x\":\"%X\"}]}", -MDT_EPARSE, "duplicate" },
	{ "{\"keys\":[{\"kid\":\"a\",\"kty\":\"RSA\",\"n\":\"%X\","
	  "\"e\":\"AQAB\"}]}", -MDT_EKEY, "keys[0]: " },
};

/* %X: 32 bytes (43 base64url characters) of pattern. */
static void
fill(const char *tmpl, char *out, size_t len)
{
	const char *x = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
	size_t o = 0;

	for (const char *p = tmpl; *p != 0 && o + 50 < len; p++) {
		if (p[0] == '%' && p[1] == 'X') {
			o += (size_t)snprintf(out + o, len - o, "%s", x);
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = 0;
}

START_TEST(bad_jwks_refused)
{
	char text[1024], err[MDT_ERRMSG_MAX];
	mdt_idp_keyset *s = NULL;

	fill(bad[_i].jwks, text, sizeof(text));
	err[0] = 0;
	ck_assert_msg(mdt_idp_keyset_from_jwks(text, strlen(text), &s, err,
	    sizeof(err)) == bad[_i].status && strstr(err, bad[_i].why) != NULL,
	    "%s: want %d '%s', got '%s'", text, bad[_i].status, bad[_i].why,
	    err);
	ck_assert_ptr_null(s);
}
END_TEST

/* What real identity providers publish beside the key (x5c, x5t,
 * issuer...) is ignored; more than MDT_IDP_KEYSET_MAX keys are not. */
START_TEST(extra_members_and_limits)
{
	static const int ed[] = {MDT_IDP_EDDSA, 0};
	mdt_idp_keyset *s = set_of(ed), *back = NULL;
	char *text, big[8192], err[MDT_ERRMSG_MAX];
	size_t o;
	mdt_idp_key *k;

	ck_assert_int_eq(mdt_idp_keyset_to_jwks(s, &text), 0);
	/* splice members in after the opening brace of the key */
	o = (size_t)(strstr(text, "\"kty\"") - text);
	snprintf(big, sizeof(big), "%.*s\"x5t\": \"abc\", \"x5c\": [\"MII\"], "
	    "\"issuer\": \"" ISS "\", %s", (int)o, text, text + o);
	ck_assert_msg(mdt_idp_keyset_from_jwks(big, strlen(big), &back, err,
	    sizeof(err)) == 0, "%s", err);
	mdt_idp_keyset_free(back);
	mdt_free(text);
	o = (size_t)snprintf(big, sizeof(big), "{\"keys\":[");
	for (int i = 0; i <= MDT_IDP_KEYSET_MAX; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%s{\"kid\":\"k%d"
		    "\",\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAECAwQFBgcI"
		    "CQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"}", i ? "," : "", i);
	snprintf(big + o, sizeof(big) - o, "]}");
	ck_assert_int_eq(mdt_idp_keyset_from_jwks(big, strlen(big), &back, err,
	    sizeof(err)), -MDT_ETOOBIG);
	/* a private key never enters a set */
	ck_assert_int_eq(mdt_idp_keyset_add(s, "p", priv[MDT_IDP_EDDSA], err,
	    sizeof(err)), -MDT_EINVAL);
	ck_assert_int_eq(mdt_idp_key_generate(MDT_IDP_EDDSA, &k), 0);
	ck_assert_int_eq(mdt_idp_keyset_add(s, "", k, err, sizeof(err)),
	    -MDT_EINVAL);
	mdt_idp_key_free(k);
	mdt_idp_keyset_free(s);
}
END_TEST

START_TEST(load_file)
{
	char path[] = "/tmp/mdt-jwks-XXXXXX", err[MDT_ERRMSG_MAX], *text;
	mdt_idp_keyset *s = set_of((const int[]){MDT_IDP_RS256, 0}), *back;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(mdt_idp_keyset_to_jwks(s, &text), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (long)strlen(text));
	close(fd);
	ck_assert_msg(mdt_idp_keyset_load(path, &back, err, sizeof(err)) == 0,
	    "%s", err);
	expect(back, assertion(MDT_IDP_RS256, kids[MDT_IDP_RS256]), 0, "");
	mdt_idp_keyset_free(back);
	unlink(path);
	ck_assert_int_eq(mdt_idp_keyset_load(path, &back, err, sizeof(err)),
	    -MDT_ENOTFOUND);
	mdt_free(text);
	mdt_idp_keyset_free(s);
}
END_TEST

/* A key and a key set together, or neither, is a caller's error. */
/* A key set loads or is refused the same way every time: an RSA modulus
 * with moderate factors (found by fuzz_jwks) used to load or not at the
 * whim of a Miller-Rabin test with random bases. */
START_TEST(same_answer_every_time)
{
	char path[1024];
	int first = 0;

	snprintf(path, sizeof(path), "%s/fuzz/corpus/jwks/"
	    "rsa-modulus-with-moderate-factors.json", mdt_test_source_dir());
	for (int i = 0; i < 400; i++) {
		mdt_idp_keyset *set = NULL;
		char err[MDT_ERRMSG_MAX] = "";
		int rc = mdt_idp_keyset_load(path, &set, err, sizeof(err));

		if (i == 0)
			first = rc;
		ck_assert_msg(rc == first, "load %d: %d (%s), first %d", i, rc,
		    err, first);
		mdt_idp_keyset_free(set);
	}
}
END_TEST

START_TEST(key_or_set)
{
	mdt_idp_keyset *s = set_of((const int[]){MDT_IDP_EDDSA, 0});
	mdt_idp_verify_opts o;
	mdt_idp_claims *c = NULL;
	char *jwt = assertion(MDT_IDP_EDDSA, kids[MDT_IDP_EDDSA]);
	char err[MDT_ERRMSG_MAX];

	memset(&o, 0, sizeof(o));
	o.issuer = ISS;
	o.audience = AUD;
	o.now = NOW;
	o.key = pub[MDT_IDP_EDDSA];
	o.keys = s;
	ck_assert_int_eq(mdt_idp_verify(jwt, strlen(jwt), &o, &c, err,
	    sizeof(err)), -MDT_EINVAL);
	o.key = NULL;
	o.keys = NULL;
	ck_assert_int_eq(mdt_idp_verify(jwt, strlen(jwt), &o, &c, err,
	    sizeof(err)), -MDT_EINVAL);
	/* with one key, kid stays informational */
	o.key = pub[MDT_IDP_EDDSA];
	ck_assert_int_eq(mdt_idp_verify(jwt, strlen(jwt), &o, &c, err,
	    sizeof(err)), 0);
	mdt_idp_claims_free(c);
	mdt_free(jwt);
	mdt_idp_keyset_free(s);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("idp_jwks");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, make_keys, free_keys);
	tcase_add_test(tc, round_trip_and_verify_by_kid);
	tcase_add_test(tc, kid_of_another_key_of_the_same_alg);
	tcase_add_test(tc, rotation_overlap);
	tcase_add_loop_test(tc, bad_jwks_refused, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, extra_members_and_limits);
	tcase_add_test(tc, load_file);
	tcase_add_test(tc, key_or_set);
	tcase_add_test(tc, same_answer_every_time);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
