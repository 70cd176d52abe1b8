/*
 * Attack: the holder of a task changed outside the broker.  An unsealed
 * token carries the secret that lets whoever holds it append a block, so
 * an orchestrator can name another registered agent as holder offline, and
 * a holder can make its own single-action token for a resource server.
 * Neither is a task the broker handed on: the broker refuses the token of
 * anyone but the task's recorded holder (and records the refusal with the
 * presenting agent), and the real fhir-gateway never serves a
 * single-action token the broker did not mint.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mandate/token.h>

#include "attack.h"
#include "token_fixture.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;
static struct at_gateway G;

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	at_gw_start(&B, &G);
}

static void
teardown(void)
{
	at_gw_stop(&G);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

/* t's token with one more block naming agent as holder, made offline
 * with the secret the token carries (the library refuses to make it; an
 * attacker's own code does not), into *out. */
static void
rehold(const struct bt_task *t, const char *agent, struct bt_task *out)
{
	mdt_token *tok = NULL;
	mdt_pubkey pk;
	uint8_t *b;
	size_t n;

	mdt_keypair_public(bt_key(&B, agent), &pk);
	ck_assert_int_eq(mdt_token_decode(t->tok, t->tlen, &tok, NULL), 0);
	b = tf_offline_holder(tok, agent, &pk, &n);
	ck_assert_uint_le(n, sizeof(out->tok));
	*out = *t;
	memcpy(out->tok, b, n);
	out->tlen = n;
	mdt_free(b);
	mdt_token_free(tok);
}

static uint8_t *
offline_single(const struct bt_task *t, const char *action,
    const char *resource, const char *aud, size_t *len)
{
	mdt_token *tok = NULL, *one = NULL;
	mdt_token_single_params p = { action, resource, aud,
	    (int64_t)time(NULL), 60, NULL, NULL };
	mdt_token_reason why;
	const uint8_t *b;
	uint8_t *copy;

	ck_assert_int_eq(mdt_token_decode(t->tok, t->tlen, &tok, NULL), 0);
	ck_assert_msg(mdt_token_single_action(tok, &p, &one, &why) == 0,
	    "single action: %s", why.message);
	b = mdt_token_bytes(one, len);
	copy = malloc(*len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, b, *len);
	mdt_token_free(tok);
	mdt_token_free(one);
	return copy;
}

static void
not_served(int status, const char *what)
{
	ck_assert_msg(status == 401 || status == 403,
	    "%s: the gateway answered %d", what, status);
}

/* (a) The orchestrator hands its root token to the summarizer offline. */
START_TEST(holder_changed_offline_refused_by_broker)
{
	struct bt_conn o, s;
	struct bt_task root, moved;

	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	rehold(&root, BT_SUMM, &moved);
	at_refused(&B, &s, bt_authorize(&s, moved.id, moved.tok, moved.tlen,
	    "r", "Patient/pat-001", NULL, NULL, NULL, 0), "authorize",
	    "token|token.holder", NULL);
	/* nor can it hand the task on, or end it */
	at_refused(&B, &s, bt_delegate(&s, MDT_OP_DELEGATE, moved.id,
	    moved.tok, moved.tlen, BT_CODER, "patient/Condition.rs"),
	    "delegate", "token|token.holder", NULL);
	at_refused(&B, &s, bt_end(&s, MDT_OP_COMPLETE, moved.id, moved.tok,
	    moved.tlen), "complete", "token|token.holder", NULL);
	/* and the orchestrator cannot use the moved token either */
	at_refused(&B, &o, bt_authorize(&o, moved.id, moved.tok, moved.tlen,
	    "r", "Patient/pat-001", NULL, NULL, NULL, 0), "authorize",
	    "token|token.holder", NULL);
	/* the real holder with the real token still works (control) */
	at_allowed(&B, &o, bt_authorize(&o, root.id, root.tok, root.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", NULL, NULL);
	bt_close(&o);
	bt_close(&s);
}
END_TEST

/* (b) A single-action token made offline never reaches the data. */
START_TEST(offline_single_action_refused_by_gateway)
{
	struct bt_conn o, s;
	struct bt_task root, sub, moved;
	uint8_t *one, *tok = NULL;
	size_t n, tn;

	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	bf_hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/*.rs", &sub);
	/* the legitimate holder of the subtask mints for itself */
	one = offline_single(&sub, "r", "Patient/pat-001", AT_GW_AUD, &n);
	not_served(at_present(&G, one, n, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-001"), "summarizer's own single-action token");
	free(one);
	one = offline_single(&sub, "s", "Observation?patient=pat-001",
	    AT_GW_AUD, &n);
	not_served(at_present(&G, one, n, bt_key(&B, BT_SUMM), "s",
	    "Observation?patient=pat-001"), "offline search token");
	free(one);
	/* the orchestrator's root token moved to the summarizer, then made
	 * single-action: the summarizer's proof matches the token's holder */
	rehold(&root, BT_SUMM, &moved);
	{
		/* the library will not build on a holder change the broker
		 * did not make: it does not verify */
		mdt_token *mt = NULL, *st = NULL;
		mdt_token_single_params sp = { "r", "Patient/pat-001",
		    AT_GW_AUD, (int64_t)time(NULL), 60, NULL, NULL };
		ck_assert_int_eq(mdt_token_decode(moved.tok, moved.tlen, &mt,
		    NULL), 0);
		ck_assert_int_ne(mdt_token_single_action(mt, &sp, &st, NULL), 0);
		ck_assert_ptr_null(st);
		mdt_token_free(mt);
	}
	not_served(at_present(&G, moved.tok, moved.tlen, bt_key(&B, BT_SUMM),
	    "r", "Patient/pat-001"), "moved root token");
	/* the root itself, single-action by its holder */
	one = offline_single(&root, "r", "Patient/pat-001", AT_GW_AUD, &n);
	not_served(at_present(&G, one, n, bt_key(&B, BT_ORCH), "r",
	    "Patient/pat-001"), "orchestrator's own single-action token");
	free(one);
	/* control: the broker's single-action token is served once */
	at_allowed(&B, &s, bt_authorize(&s, sub.id, sub.tok, sub.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", &tok, &tn);
	ck_assert_int_eq(at_present(&G, tok, tn, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-001"), 200);
	not_served(at_present(&G, tok, tn, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-001"), "replayed broker token");
	free(tok);
	bt_close(&o);
	bt_close(&s);
}
END_TEST

/* (b') The export tool, held for the clinician's step-up at the broker,
 * made single-action offline by its holder: the step-up is skipped unless
 * the payer exchange refuses it. */
START_TEST(offline_export_skips_step_up)
{
	struct bt_conn o, p;
	struct bt_task root, sub;
	uint8_t *one;
	size_t n;

	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &p, BT_PRIOR);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT",
	    "patient/*.rs tool/export.x", &root);
	bf_hand_on(&o, &p, MDT_OP_DISPATCH, &root,
	    "patient/Claim.rs tool/export.x", &sub);
	one = offline_single(&sub, "x", "tool/export", AT_EXPORT_AUD, &n);
	not_served(at_present_export(&G, one, n, bt_key(&B, BT_PRIOR),
	    "Procedure/proc-001-1"), "export token made by its holder");
	free(one);
	bt_close(&o);
	bt_close(&p);
}
END_TEST

/* (c) A real token presented by an agent that is not the task's holder,
 * at the broker and at the gateway. */
START_TEST(other_agent_presents_token)
{
	struct bt_conn o, s, k, p;
	struct bt_task root, sub;
	uint8_t *tok = NULL;
	size_t tn;

	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_as(&B, &k, BT_CODER);
	bf_as(&B, &p, BT_PRIOR);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	bf_hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/*.rs", &sub);
	at_refused(&B, &k, bt_authorize(&k, sub.id, sub.tok, sub.tlen, "r",
	    "Condition/cond-001-1", NULL, NULL, NULL, 0), "authorize",
	    "token.holder", NULL);
	at_refused(&B, &p, bt_authorize(&p, root.id, root.tok, root.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", "token.holder",
	    NULL);
	at_refused(&B, &k, bt_delegate(&k, MDT_OP_DELEGATE, sub.id, sub.tok,
	    sub.tlen, BT_CODER, "patient/Condition.rs"), "delegate",
	    "token.holder", NULL);
	at_refused(&B, &p, bt_delegate(&p, MDT_OP_DISPATCH, root.id, root.tok,
	    root.tlen, BT_PRIOR, "patient/Patient.rs"), "dispatch",
	    "token.holder", NULL);
	at_refused(&B, &k, bt_end(&k, MDT_OP_CANCEL, sub.id, sub.tok,
	    sub.tlen), "cancel", "token.holder", NULL);
	/* a broker-minted single-action token whose proof is not the
	 * holder's: the coder copied it out of the summarizer */
	at_allowed(&B, &s, bt_authorize(&s, sub.id, sub.tok, sub.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", &tok, &tn);
	not_served(at_present(&G, tok, tn, bt_key(&B, BT_CODER), "r",
	    "Patient/pat-001"), "token presented by the coder");
	/* and not for another resource by its own holder */
	not_served(at_present(&G, tok, tn, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-002"), "token for another resource");
	free(tok);
	bt_close(&o);
	bt_close(&s);
	bt_close(&k);
	bt_close(&p);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_holder");
	TCase *tc = tcase_create("holder");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, holder_changed_offline_refused_by_broker);
	tcase_add_test(tc, offline_single_action_refused_by_gateway);
	tcase_add_test(tc, offline_export_skips_step_up);
	tcase_add_test(tc, other_agent_presents_token);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
