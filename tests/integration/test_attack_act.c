/*
 * Attack: a clinician's act used twice under another spelling.  An ES256
 * signature (r, s) has a twin (r, n - s) that verifies just as well, so
 * whoever holds an assertion can make a second, different JWT of the same
 * signed claims.  An act is the signed content, not its signature: the
 * twin of an emergency declaration already used opens nothing.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <mandate/idp.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

#define SCOPES "patient/*.rs"

static struct bt_broker B;
static struct bt_conn O;

/* P-256's group order. */
static const uint8_t n256[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* The development IdP signs with ES256. */
static void
setup(void)
{
	char path[600], err[256];
	mdt_idp_key *key = NULL;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	mdt_idp_key_free(B.idp);
	snprintf(path, sizeof(path), "%s/idp.pem", B.dir);
	(void)unlink(path);
	(void)unlink(B.idp_pub);
	snprintf(path, sizeof(path), "%s/idp", B.dir);
	ck_assert_int_eq(mdt_idp_key_generate(MDT_IDP_ES256, &key), 0);
	ck_assert_msg(mdt_idp_key_save(key, path, err, sizeof(err)) == 0, "%s",
	    err);
	B.idp = key;
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	bf_as(&B, &O, BT_ORCH);
}

static void
teardown(void)
{
	bt_close(&O);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

/* The twin of an ES256 JWT: s replaced by n - s.  Caller frees. */
static char *
twin(const char *jwt)
{
	const char *dot = strrchr(jwt, '.');
	uint8_t sig[64];
	size_t n = 0, head = (size_t)(dot + 1 - jwt);
	char *out = malloc(head + 100);
	int borrow = 0;

	ck_assert_ptr_nonnull(dot);
	ck_assert_int_eq(sodium_base642bin(sig, sizeof(sig), dot + 1,
	    strlen(dot + 1), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	ck_assert_uint_eq(n, 64);
	for (int i = 31; i >= 0; i--) {
		int d = n256[i] - sig[32 + i] - borrow;
		borrow = d < 0;
		sig[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
	memcpy(out, jwt, head);
	sodium_bin2base64(out + head, 100, sig, sizeof(sig),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

START_TEST(emergency_declaration_twin)
{
	char *jwt = bt_assertion_act(&B, "dr-alice", "pat-003", SCOPES, 0,
	    NULL, "ETREAT");
	char *tw = twin(jwt);
	mdt_wire_msg *m = bt_open(&O, jwt, "pat-003", "ETREAT", SCOPES);

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "open: %s", bt_reason(m));
	mdt_wire_msg_free(m);
	ck_assert_str_ne(tw, jwt);
	at_refused(&B, &O, bt_open(&O, tw, "pat-003", "ETREAT", SCOPES), "open",
	    "act.reused", "pat-003");
	free(tw);
	free(jwt);
}
END_TEST

/* The twin verifies: used first, it is the act, and the original is the
 * reuse. */
START_TEST(twin_first)
{
	char *jwt = bt_assertion_act(&B, "dr-alice", "pat-003", SCOPES, 0,
	    NULL, "ETREAT");
	char *tw = twin(jwt);
	mdt_wire_msg *m = bt_open(&O, tw, "pat-003", "ETREAT", SCOPES);

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "open with the twin: %s",
	    bt_reason(m));
	mdt_wire_msg_free(m);
	at_refused(&B, &O, bt_open(&O, jwt, "pat-003", "ETREAT", SCOPES),
	    "open", "act.reused", "pat-003");
	free(tw);
	free(jwt);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_act");
	TCase *tc = tcase_create("act");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, emergency_declaration_twin);
	tcase_add_test(tc, twin_first);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
