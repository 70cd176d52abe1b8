/*
 * Attack: SPIFFE ids that are not SPIFFE ids.  One validator at every
 * entry: an agent registry naming an id with a query, fragment, port,
 * userinfo, dot segments (plain or percent-encoded), an empty or trailing
 * segment, or an uppercase scheme or trust domain keeps the broker from
 * starting; the same shapes in hello/auth never authenticate, even with a
 * registered agent's own key, and nothing is ever recorded as done by
 * them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;

static const char *const bad_ids[] = {
	"spiffe://clinic.example/agent/x?q=1",
	"spiffe://clinic.example/agent/x#frag",
	"spiffe://clinic.example:8443/agent/x",
	"spiffe://user@clinic.example/agent/x",
	"spiffe://clinic.example/agent/../x",
	"spiffe://clinic.example/agent/./x",
	"spiffe://clinic.example/agent/%2e%2e/x",
	"spiffe://clinic.example/agent/%2E/x",
	"spiffe://clinic.example/agent/x/",
	"spiffe://clinic.example//agent/x",
	"spiffe://CLINIC.example/agent/x",
	"SPIFFE://clinic.example/agent/x",
	"Spiffe://clinic.example/agent/x",
	"spiffe:///agent/x",
	"spiffe://clinic.example/agent/x y",
};
#define NBAD (sizeof(bad_ids) / sizeof(bad_ids[0]))

/* The summarizer's id in shapes another parser might take for it. */
static const char *const lookalikes[] = {
	"spiffe://clinic.example/agent/summarizer/",
	"spiffe://clinic.example//agent/summarizer",
	"spiffe://clinic.example/agent//summarizer",
	"spiffe://clinic.example/agent/./summarizer",
	"spiffe://clinic.example/agent/x/../summarizer",
	"spiffe://clinic.example/agent/%73ummarizer",
	"spiffe://clinic.example/agent/summarizer?x=1",
	"spiffe://clinic.example/agent/summarizer#x",
	"spiffe://clinic.example:443/agent/summarizer",
	"spiffe://u@clinic.example/agent/summarizer",
	"SPIFFE://clinic.example/agent/summarizer",
	"spiffe://CLINIC.EXAMPLE/agent/summarizer",
	"spiffe://clinic.example/agent/summarizer\n",
};
#define NLOOK (sizeof(lookalikes) / sizeof(lookalikes[0]))

START_TEST(registry_refuses_bad_id)
{
	char extra[1024];
	const char *id = bad_ids[_i];

	snprintf(extra, sizeof(extra), "[{\"uid\":{\"type\":\"Mandate::Agent\","
	    "\"id\":\"%s\"},\"attrs\":{\"kind\":\"coding\",\"ceiling\":["
	    "\"patient/Condition.rs\"],\"allowedTargets\":[],\"maxDepth\":1,"
	    "\"maxFanout\":0,\"tools\":[],\"publicKey\":\"\"},\"parents\":[]}]",
	    id);
	ck_assert_int_eq(bt_setup(&B, extra), 0);
	ck_assert_msg(bt_start(&B, NULL) != 0, "a broker started with %s in "
	    "its registry", id);
	bt_cleanup(&B);
}
END_TEST

static int
agent_cb(void *arg, const mdt_store_decision *d)
{
	const char **ids = arg;

	for (size_t i = 0; i < NLOOK; i++)
		ck_assert_msg(d->agent == NULL || strcmp(d->agent, ids[i]) != 0,
		    "decision %llu recorded for %s", (unsigned long long)d->seq,
		    ids[i]);
	return 0;
}

START_TEST(handshake_refuses_lookalikes)
{
	struct bt_conn o, s, x;
	struct bt_task root, sub;
	mdt_store_opts so = { .read_only = 1 };
	mdt_store *st = NULL;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	bf_hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/*.rs", &sub);
	for (size_t i = 0; i < NLOOK; i++) {
		mdt_wire_msg *m;
		ck_assert_int_eq(bt_dial(&x, B.url), 0);
		/* with the summarizer's own key */
		ck_assert_msg(bt_auth(&x, lookalikes[i], bt_key(&B, BT_SUMM))
		    != 0, "authenticated as '%s'", lookalikes[i]);
		m = bt_authorize(&x, sub.id, sub.tok, sub.tlen, "r",
		    "Patient/pat-001", NULL, NULL, NULL, 0);
		ck_assert_ptr_nonnull(m);
		ck_assert_msg(mdt_wire_msg_ok(m) != 1, "'%s' was served",
		    lookalikes[i]);
		ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
		mdt_wire_msg_free(m);
		bt_close(&x);
	}
	for (size_t i = 0; i < NBAD; i++) {
		ck_assert_int_eq(bt_dial(&x, B.url), 0);
		ck_assert_msg(bt_auth(&x, bad_ids[i], bt_key(&B, BT_SUMM)) != 0,
		    "authenticated as '%s'", bad_ids[i]);
		bt_close(&x);
	}
	/* the real summarizer still works (control) */
	at_allowed(&B, &s, bt_authorize(&s, sub.id, sub.tok, sub.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", NULL, NULL);
	ck_assert_int_eq(mdt_store_open(B.store, &so, &st, NULL, 0), 0);
	ck_assert_int_eq(mdt_store_list_decisions(st, 0, 0, agent_cb,
	    (void *)(uintptr_t)lookalikes), 0);
	mdt_store_close(st);
	bt_close(&o);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_spiffe");
	TCase *tc = tcase_create("spiffe");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, registry_refuses_bad_id, 0, (int)NBAD);
	tcase_add_test(tc, handshake_refuses_lookalikes);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
