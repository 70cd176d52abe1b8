/*
 * Attacks at the resource server: a broker-minted single-action token
 * used twice (also across a gateway restart, which empties the gateway's
 * memory of used tokens), for another action, another resource or
 * another audience.  The broker recorded one allow for one action; the
 * gateway must serve that action at most once, and nothing else.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;
static struct at_gateway G;
static struct bt_conn O, S;
static struct bt_task Root, Sub;

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	at_gw_start(&B, &G);
	bf_as(&B, &O, BT_ORCH);
	bf_as(&B, &S, BT_SUMM);
	bf_open_root(&B, &O, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &Root);
	bf_hand_on(&O, &S, MDT_OP_DISPATCH, &Root, "patient/*.rs", &Sub);
}

static void
teardown(void)
{
	bt_close(&O);
	bt_close(&S);
	at_gw_stop(&G);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

static uint8_t *
mint(const char *action, const char *resource, size_t *n)
{
	uint8_t *tok = NULL;

	at_allowed(&B, &S, bt_authorize(&S, Sub.id, Sub.tok, Sub.tlen, action,
	    resource, "pat-001", NULL, NULL, 0), "authorize", &tok, n);
	return tok;
}

static void
not_served(int status, const char *what)
{
	ck_assert_msg(status == 401 || status == 403,
	    "%s: the gateway answered %d", what, status);
}

START_TEST(replay_across_gateway_restart)
{
	size_t n;
	uint8_t *tok = mint("r", "Patient/pat-001", &n);

	ck_assert_int_eq(at_present(&G, tok, n, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-001"), 200);
	not_served(at_present(&G, tok, n, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-001"), "replay");
	/* the gateway restarts: the token is still within its lifetime */
	at_gw_stop(&G);
	at_gw_start(&B, &G);
	not_served(at_present(&G, tok, n, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-001"), "replay after a gateway restart");
	free(tok);
}
END_TEST

START_TEST(token_for_something_else)
{
	size_t n;
	uint8_t *tok = mint("r", "Observation/obs-001-1", &n);

	/* another resource of the same patient, another patient's */
	not_served(at_present(&G, tok, n, bt_key(&B, BT_SUMM), "r",
	    "Observation/obs-001-2"), "another resource");
	not_served(at_present(&G, tok, n, bt_key(&B, BT_SUMM), "r",
	    "Observation/obs-002-1"), "another patient's resource");
	/* a search with the read's token */
	not_served(at_present(&G, tok, n, bt_key(&B, BT_SUMM), "s",
	    "Observation?patient=pat-001"), "a search");
	/* the payer exchange (another audience) */
	not_served(at_present_export(&G, tok, n, bt_key(&B, BT_SUMM),
	    "Observation/obs-001-1"), "an export");
	/* unused so far: its own request is served once */
	ck_assert_int_eq(at_present(&G, tok, n, bt_key(&B, BT_SUMM), "r",
	    "Observation/obs-001-1"), 200);
	free(tok);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_gateway");
	TCase *tc = tcase_create("gateway");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, replay_across_gateway_restart);
	tcase_add_test(tc, token_for_something_else);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
