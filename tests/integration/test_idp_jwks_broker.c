/*
 * A broker trusting an identity provider through a key set (idp_jwks):
 * an assertion opens a task when its kid names a key of the set and the
 * key signed it, and is refused without a kid or with an unknown one.  An
 * IdP's rotation through SIGHUP: {k1} -> {k1, k2} (both open) -> {k2}
 * (k1's assertions refused).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* kill */
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mandate/idp.h>

#include "brk_test.h"
#include "testutil.h"

#define WAIT_MS 60000

static struct bt_broker B;
static mdt_idp_key *k2;
static char jwks[600];

/* Writes the JWKS of the public halves of keys (named kids) atomically. */
static void
write_jwks(mdt_idp_key *const *keys, const char *const *kids, size_t n)
{
	mdt_idp_keyset *set;
	char tmp[640], *text, *pem;
	FILE *f;

	ck_assert_int_eq(mdt_idp_keyset_new(&set), 0);
	for (size_t i = 0; i < n; i++) {
		mdt_idp_key *pub;
		ck_assert_int_eq(mdt_idp_key_public_pem(keys[i], &pem), 0);
		ck_assert_int_eq(mdt_idp_key_from_pem(pem, strlen(pem), 0, &pub,
		    NULL, 0), 0);
		mdt_free(pem);
		ck_assert_int_eq(mdt_idp_keyset_add(set, kids[i], pub, NULL, 0),
		    0);
	}
	ck_assert_int_eq(mdt_idp_keyset_to_jwks(set, &text), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", jwks);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, jwks), 0);
	mdt_free(text);
	mdt_idp_keyset_free(set);
}

static void
setup(void)
{
	const char *args[] = {"--set", "idp_key=", "--idp-jwks", jwks, NULL};
	mdt_idp_key *k1;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	k1 = B.idp;
	snprintf(jwks, sizeof(jwks), "%s/idp.jwks", B.dir);
	write_jwks(&k1, (const char *const[]){"k1"}, 1);
	ck_assert_int_eq(mdt_idp_key_generate(MDT_IDP_ES256, &k2), 0);
	ck_assert_int_eq(bt_start(&B, args), 0);
}

static void
teardown(void)
{
	bt_cleanup(&B);
	mdt_idp_key_free(k2);
}

/* An assertion of dr-alice for pat-001 signed by key, header kid. */
static char *
assertion(const mdt_idp_key *key, const char *kid)
{
	mdt_idp_assert_opts o = {
		.iss = "mandate-dev-idp", .aud = "spiffe://mandate.local/broker",
		.sub = "dr-alice", .fhir_user = "Practitioner/dr-alice",
		.patient = "pat-001", .scope = "patient/*.rs",
		.iat = (int64_t)time(NULL), .ttl = 600, .kid = kid,
	};
	char err[256], *jwt = NULL;

	ck_assert_msg(mdt_idp_assert(key, &o, &jwt, err, sizeof(err)) == 0,
	    "%s", err);
	return jwt;
}

/* The reason an open with this assertion gets ("" when it opens). */
static const char *
open_with(const mdt_idp_key *key, const char *kid, char *detail,
    size_t len)
{
	static char reason[64];
	struct bt_conn c;
	mdt_wire_msg *m;
	char *jwt = assertion(key, kid);
	const char *d = NULL;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	m = bt_open(&c, jwt, "pat-001", "TREAT", "patient/*.rs");
	snprintf(reason, sizeof(reason), "%s", bt_reason(m));
	(void)mdt_wire_msg_error(m, NULL, &d);
	snprintf(detail, len, "%s", d != NULL ? d : "");
	mdt_wire_msg_free(m);
	mdt_free(jwt);
	bt_close(&c);
	return reason;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SIGHUP, then polls until an assertion of key/kid opens (want_ok) or is
 * refused. */
static void
reload_until(const mdt_idp_key *key, const char *kid, int want_ok)
{
	int64_t end = now_ms() + WAIT_MS;
	struct timespec ts = { 0, 50 * 1000000L };
	char detail[256];

	ck_assert_int_eq(kill(B.pid, SIGHUP), 0);
	while ((open_with(key, kid, detail, sizeof(detail))[0] == 0) !=
	    want_ok) {
		ck_assert_msg(now_ms() < end, "no reload within %d ms (%s)",
		    WAIT_MS, B.log);
		nanosleep(&ts, NULL);
	}
}

static void
expect_refused(const mdt_idp_key *key, const char *kid, const char *why)
{
	char detail[256];
	const char *r = open_with(key, kid, detail, sizeof(detail));

	ck_assert_msg(strcmp(r, "assertion") == 0 && strstr(detail, why) !=
	    NULL, "want assertion '%s', got %s '%s'", why, r, detail);
}

START_TEST(kid_chooses_the_key_and_rotation)
{
	char detail[256];
	mdt_idp_key *both[2] = {B.idp, k2};

	ck_assert_str_eq(open_with(B.idp, "k1", detail, sizeof(detail)), "");
	expect_refused(B.idp, NULL, "kid: missing");
	expect_refused(B.idp, "k0", "kid 'k0'");
	expect_refused(k2, "k1", "does not match");
	expect_refused(k2, "k2", "kid 'k2'");

	write_jwks(both, (const char *const[]){"k1", "k2"}, 2);
	reload_until(k2, "k2", 1);
	ck_assert_str_eq(open_with(B.idp, "k1", detail, sizeof(detail)), "");

	write_jwks(&k2, (const char *const[]){"k2"}, 1);
	reload_until(B.idp, "k1", 0);
	expect_refused(B.idp, "k1", "kid 'k1'");
	ck_assert_str_eq(open_with(k2, "k2", detail, sizeof(detail)), "");
}
END_TEST

/* A key set that does not load stops a start (and keeps the running one
 * on reload): the IdP's keys never silently vanish. */
START_TEST(bad_key_set_keeps_the_running_one)
{
	char detail[256];
	FILE *f = fopen(jwks, "w");

	ck_assert_ptr_nonnull(f);
	fputs("{\"keys\":[{\"kid\":\"x\",\"kty\":\"oct\",\"k\":\"AAAA\"}]}", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(kill(B.pid, SIGHUP), 0);
	/* the reload fails; the old set still verifies k1 after it */
	for (int i = 0; i < 40; i++) {
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "grep -q 'reload.failed.*idp.jwks' %s",
		    B.log);
		if (system(cmd) == 0)
			break;
		ck_assert_int_lt(i, 39);
		sleep(1);
	}
	ck_assert_str_eq(open_with(B.idp, "k1", detail, sizeof(detail)), "");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("idp_jwks_broker");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, kid_chooses_the_key_and_rotation);
	tcase_add_test(tc, bad_key_set_keeps_the_running_one);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
