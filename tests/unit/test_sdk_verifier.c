/*
 * The resource-server verifier, offline: a sealed single-action token and
 * a proof of possession accepted once for exactly its action, resource,
 * patient and audience; refused when replayed, presented by another agent,
 * expired, stale, revoked (by hand or through the broker's PUB socket),
 * minted under another root, unsealed, or malformed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/supplemental/util/platform.h>

#include "sdk_int.h"
#include "testutil.h"

#define AUD "spiffe://clinic.example/fhir-gateway"
#define HOLDER "spiffe://clinic.example/agent/summarizer"
#define NOW 1900000000

static mdt_keypair *root, *holder, *other;
static mdt_token *task_tok, *single;

static mdt_token *
mint_for(const mdt_keypair *r, const char *task, const mdt_keypair *h,
    const char *holder_id)
{
	mdt_token_mint_params p;
	mdt_scope_set *sc;
	mdt_pubkey hk;
	mdt_token *t;

	mdt_keypair_public(h, &hk);
	ck_assert_int_eq(mdt_scope_set_parse("patient/*.rs", 12, &sc, NULL,
	    0), 0);
	memset(&p, 0, sizeof(p));
	p.task_id = task;
	p.clinician = "dr-alice";
	p.patient = "pat-001";
	p.purpose = "TREAT";
	p.scopes = sc;
	p.issued_at = NOW - 10;
	p.expires_at = NOW + 600;
	p.depth = 1;
	p.holder_id = holder_id;
	p.holder_key = &hk;
	ck_assert_int_eq(mdt_token_mint(r, &p, &t, NULL), 0);
	mdt_scope_set_free(sc);
	return t;
}

static mdt_token *
mint_task(const mdt_keypair *r, const char *task)
{
	return mint_for(r, task, holder, HOLDER);
}

/* A single-action token as the broker makes it (r: its root key), or,
 * with r NULL, as a holder could make one offline. */
static mdt_token *
make_single(const mdt_keypair *r, const mdt_token *t, const char *action,
    const char *res)
{
	mdt_token_single_params sp = {action, res, AUD, NOW, 60, NULL, r};
	mdt_token *s;

	ck_assert_int_eq(mdt_token_single_action(t, &sp, &s, NULL), 0);
	return s;
}

static void
setup(void)
{
	ck_assert_int_eq(mdt_keypair_generate(&root), 0);
	ck_assert_int_eq(mdt_keypair_generate(&holder), 0);
	ck_assert_int_eq(mdt_keypair_generate(&other), 0);
	task_tok = mint_task(root, "task-1");
	single = make_single(root, task_tok, "r", "Observation/obs-001-1");
}

static void
teardown(void)
{
	mdt_token_free(single);
	mdt_token_free(task_tok);
	mdt_keypair_free(root);
	mdt_keypair_free(holder);
	mdt_keypair_free(other);
}

static mdt_rs_verifier *
verifier(const char *aud, const char *events)
{
	mdt_rs_verifier_opts o;
	mdt_rs_verifier *v;
	mdt_pubkey pk;
	char err[MDT_ERRMSG_MAX];

	mdt_keypair_public(root, &pk);
	memset(&o, 0, sizeof(o));
	o.broker_key = &pk;
	o.audience = aud;
	o.events_url = events;
	ck_assert_msg(mdt_rs_verifier_new(&o, &v, err, sizeof(err)) == 0, "%s",
	    err);
	return v;
}

/* Token text and a proof signed by kp for (action, resource) at time. */
static void
present(const mdt_token *t, const mdt_keypair *kp, const char *action,
    const char *res, int64_t time, char **text, char proof[512])
{
	char nonce[SDK_NONCE_MAX];
	mdt_token_pop pop;

	memset(&pop, 0, sizeof(pop));
	sdk_pop_nonce(nonce);
	pop.audience = AUD;
	pop.action = action;
	pop.resource = res;
	pop.nonce = nonce;
	pop.time = time;
	ck_assert_int_eq(mdt_token_to_text(t, text), 0);
	ck_assert_int_eq(mdt_token_pop_sign(t, kp, &pop), 0);
	ck_assert_int_eq(sdk_pop_format(&pop, proof, 512), 0);
}

static int
verify(mdt_rs_verifier *v, const char *text, const char *proof,
    const char *action, const char *res, int64_t now, mdt_rs_grant *g,
    char *err)
{
	mdt_rs_request rq = {.action = action, .resource = res,
	    .patient = "pat-001", .now = now};

	return mdt_rs_verify(v, text, proof, &rq, g, err, MDT_ERRMSG_MAX);
}

START_TEST(test_accept_once)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	char *text, proof[512], proof2[512], err[MDT_ERRMSG_MAX];
	mdt_rs_grant g;

	present(single, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_msg(verify(v, text, proof, "r", "Observation/obs-001-1", NOW,
	    &g, err) == 0, "%s", err);
	ck_assert_str_eq(g.task_id, "task-1");
	ck_assert_str_eq(g.holder, HOLDER);
	ck_assert_str_eq(g.patient, "pat-001");
	ck_assert_str_eq(g.clinician, "dr-alice");
	ck_assert_str_eq(g.purpose, "TREAT");
	/* the same presentation again, then the token with a fresh proof */
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, &g, err), -MDT_EEXIST);
	mdt_token_text_free(text);
	present(single, holder, "r", "Observation/obs-001-1", NOW, &text,
	    proof2);
	ck_assert_int_eq(verify(v, text, proof2, "r", "Observation/obs-001-1",
	    NOW, &g, err), -MDT_EEXIST);
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
}
END_TEST

/* Two tokens for the same request in the same second (a retry) are
 * distinct, so each is accepted once and neither is taken for a replay. */
START_TEST(test_same_second_tokens_each_once)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	mdt_token *again = make_single(root, task_tok, "r",
	    "Observation/obs-001-1");
	char *text, *text2, proof[512], proof2[512], err[MDT_ERRMSG_MAX];

	present(single, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	present(again, holder, "r", "Observation/obs-001-1", NOW, &text2,
	    proof2);
	ck_assert_str_ne(text, text2);
	ck_assert_msg(verify(v, text, proof, "r", "Observation/obs-001-1", NOW,
	    NULL, err) == 0, "%s", err);
	ck_assert_msg(verify(v, text2, proof2, "r", "Observation/obs-001-1",
	    NOW, NULL, err) == 0, "%s", err);
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EEXIST);
	ck_assert_int_eq(verify(v, text2, proof2, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EEXIST);
	mdt_token_text_free(text);
	mdt_token_text_free(text2);
	mdt_token_free(again);
	mdt_rs_verifier_free(v);
}
END_TEST

START_TEST(test_exact_action_and_resource)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	char *text, proof[512], err[MDT_ERRMSG_MAX];

	present(single, holder, "s", "Observation?patient=pat-001", NOW, &text,
	    proof);
	ck_assert_int_ne(verify(v, text, proof, "s",
	    "Observation?patient=pat-001", NOW, NULL, err), 0);
	mdt_token_text_free(text);
	present(single, holder, "r", "Observation/obs-001-2", NOW, &text,
	    proof);
	ck_assert_int_ne(verify(v, text, proof, "r", "Observation/obs-001-2",
	    NOW, NULL, err), 0);
	/* a failed presentation does not use the token up */
	mdt_token_text_free(text);
	present(single, holder, "r", "Observation/obs-001-1", NOW, &text,
	    proof);
	ck_assert_msg(verify(v, text, proof, "r", "Observation/obs-001-1", NOW,
	    NULL, err) == 0, "%s", err);
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
}
END_TEST

START_TEST(test_proof_mismatch_refused)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	char *text, proof[512], err[MDT_ERRMSG_MAX];

	/* proof made for another resource than the one requested */
	present(single, holder, "r", "Observation/obs-001-2", NOW, &text, proof);
	ck_assert_int_ne(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), 0);
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
}
END_TEST

START_TEST(test_wrong_agent_refused)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	char *text, *mine, proof[512], err[MDT_ERRMSG_MAX];
	mdt_token *t_other, *s_other;

	/* Another registered agent copies the summarizer's token and
	 * presents it with a proof made with its own key. */
	t_other = mint_for(root, "task-2", other,
	    "spiffe://clinic.example/agent/coder");
	s_other = make_single(root, t_other, "r", "Observation/obs-001-1");
	present(s_other, other, "r", "Observation/obs-001-1", NOW, &mine,
	    proof);
	ck_assert_int_eq(mdt_token_to_text(single, &text), 0);
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EHOLDER);
	/* and cannot even sign for it through the API */
	{
		mdt_token_pop pop = {AUD, "r", "Observation/obs-001-1",
		    "0123456789abcdef0123456789abcdef", NOW, {0}};
		ck_assert_int_eq(mdt_token_pop_sign(single, other, &pop),
		    -MDT_EHOLDER);
	}
	mdt_token_text_free(text);
	mdt_token_text_free(mine);
	mdt_token_free(s_other);
	mdt_token_free(t_other);
	mdt_rs_verifier_free(v);
}
END_TEST

START_TEST(test_audience_expiry_staleness)
{
	mdt_rs_verifier *other_aud = verifier("spiffe://elsewhere/api", NULL);
	mdt_rs_verifier *v = verifier(AUD, NULL);
	char *text, proof[512], err[MDT_ERRMSG_MAX];

	present(single, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_int_ne(verify(other_aud, text, proof, "r",
	    "Observation/obs-001-1", NOW, NULL, err), 0);
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW + 61, NULL, err), -MDT_EEXPIRED);
	mdt_token_text_free(text);
	present(single, holder, "r", "Observation/obs-001-1", NOW - 100, &text,
	    proof);
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EEXPIRED);
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
	mdt_rs_verifier_free(other_aud);
}
END_TEST

START_TEST(test_revoked_by_hand)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	char *text, proof[512], err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_rs_verifier_revoke(v, "task-1"), 0);
	ck_assert_int_eq(mdt_rs_verifier_is_revoked(v, "task-1"), 1);
	ck_assert_uint_eq(mdt_rs_verifier_revocations(v), 1);
	present(single, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EREVOKED);
	ck_assert_ptr_nonnull(strstr(err, "task-1"));
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
}
END_TEST

/* Publishes the finished event w (taken) under topic on pub. */
static void
publish(nng_socket pub, const char *topic, mdt_wire_writer *w)
{
	const uint8_t *buf;
	nng_msg *msg;
	size_t len;

	ck_assert_int_eq(mdt_wire_writer_finish(w, &buf, &len), 0);
	ck_assert_int_eq(nng_msg_alloc(&msg, 0), 0);
	ck_assert_int_eq(nng_msg_append(msg, topic, strlen(topic) + 1), 0);
	ck_assert_int_eq(nng_msg_append(msg, buf, len), 0);
	ck_assert_int_eq(nng_sendmsg(pub, msg, 0), 0);
	mdt_wire_writer_free(w);
}

static void
publish_revoke(nng_socket pub, const char *task)
{
	mdt_wire_writer *w;

	ck_assert_int_eq(mdt_wire_event_writer_new(&w, MDT_WIRE_TOPIC_REVOKE),
	    0);
	ck_assert_int_eq(mdt_wire_put_int(w, "time", NOW), 0);
	ck_assert_int_eq(mdt_wire_begin_array(w, "tasks", 1), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, NULL, task), 0);
	ck_assert_int_eq(mdt_wire_end(w), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "reason", "completed"), 0);
	publish(pub, MDT_WIRE_TOPIC_REVOKE, w);
}

START_TEST(test_policy_epoch)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	char *text, proof[512], err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_rs_verifier_epoch(v), 0);
	mdt_rs_verifier_set_epoch(v, NOW + 1);
	mdt_rs_verifier_set_epoch(v, NOW - 100);
	ck_assert_int_eq(mdt_rs_verifier_epoch(v), NOW + 1);
	present(single, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EREVOKED);
	ck_assert_ptr_nonnull(strstr(err, "policy epoch"));
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
	v = verifier(AUD, NULL);
	mdt_rs_verifier_set_epoch(v, NOW);
	present(single, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_msg(verify(v, text, proof, "r", "Observation/obs-001-1", NOW,
	    NULL, err) == 0, "%s", err);
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
}
END_TEST

static void
publish_epoch(nng_socket pub, int64_t epoch)
{
	mdt_wire_writer *w;

	ck_assert_int_eq(mdt_wire_event_writer_new(&w, MDT_WIRE_TOPIC_EPOCH),
	    0);
	ck_assert_int_eq(mdt_wire_put_int(w, "time", epoch), 0);
	publish(pub, MDT_WIRE_TOPIC_EPOCH, w);
}

START_TEST(test_epoch_by_publication)
{
	char url[128], *text, proof[512], err[MDT_ERRMSG_MAX];
	mdt_rs_verifier *v;
	nng_socket pub;

	snprintf(url, sizeof(url), "ipc:///tmp/mdt-test-rs-epoch-%d.sock",
	    (int)getpid());
	ck_assert_int_eq(nng_pub0_open(&pub), 0);
	ck_assert_int_eq(nng_listen(pub, url, NULL, 0), 0);
	v = verifier(AUD, url);
	for (int i = 0; i < 100 && mdt_rs_verifier_epoch(v) != NOW + 5; i++) {
		publish_epoch(pub, NOW + 5);
		nng_msleep(20);
	}
	ck_assert_int_eq(mdt_rs_verifier_epoch(v), NOW + 5);
	present(single, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EREVOKED);
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
	nng_close(pub);
}
END_TEST

START_TEST(test_revoked_by_publication)
{
	char url[128], *text, proof[512], err[MDT_ERRMSG_MAX];
	mdt_rs_verifier *v;
	nng_socket pub;

	snprintf(url, sizeof(url), "ipc:///tmp/mdt-test-rs-%d.sock",
	    (int)getpid());
	ck_assert_int_eq(nng_pub0_open(&pub), 0);
	ck_assert_int_eq(nng_listen(pub, url, NULL, 0), 0);
	v = verifier(AUD, url);
	/* publish until the subscription is connected and the event lands */
	for (int i = 0; i < 100 && !mdt_rs_verifier_is_revoked(v, "task-1");
	    i++) {
		publish_revoke(pub, "task-1");
		nng_msleep(20);
	}
	ck_assert_int_eq(mdt_rs_verifier_is_revoked(v, "task-1"), 1);
	present(single, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EREVOKED);
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
	nng_close(pub);
}
END_TEST

/* A holder sealing its own token to one action offline (valid as a
 * token) cannot use it at a resource server: only the broker's are. */
START_TEST(test_offline_single_action_refused)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	mdt_token *own = make_single(NULL, task_tok, "r",
	    "Observation/obs-001-1");
	char *text, proof[512], err[MDT_ERRMSG_MAX];

	present(own, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_int_eq(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EHOLDER);
	ck_assert_msg(strstr(err, "not made by the broker") != NULL, "%s", err);
	mdt_token_text_free(text);
	/* the broker's token for the same request passes */
	present(single, holder, "r", "Observation/obs-001-1", NOW, &text,
	    proof);
	ck_assert_msg(verify(v, text, proof, "r", "Observation/obs-001-1", NOW,
	    NULL, err) == 0, "%s", err);
	mdt_token_text_free(text);
	mdt_token_free(own);
	mdt_rs_verifier_free(v);
}
END_TEST

START_TEST(test_foreign_root_and_unsealed)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	char *text, proof[512], err[MDT_ERRMSG_MAX];
	mdt_keypair *root2;
	mdt_token *t2, *s2;

	ck_assert_int_eq(mdt_keypair_generate(&root2), 0);
	t2 = mint_task(root2, "task-9");
	s2 = make_single(root2, t2, "r", "Observation/obs-001-1");
	present(s2, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_int_ne(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), 0);
	mdt_token_text_free(text);
	/* the task token itself (unsealed, no audience) is no pass */
	present(task_tok, holder, "r", "Observation/obs-001-1", NOW, &text,
	    proof);
	ck_assert_int_ne(verify(v, text, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), 0);
	mdt_token_text_free(text);
	mdt_token_free(s2);
	mdt_token_free(t2);
	mdt_keypair_free(root2);
	mdt_rs_verifier_free(v);
}
END_TEST

START_TEST(test_malformed)
{
	mdt_rs_verifier *v = verifier(AUD, NULL);
	char *text, proof[512], err[MDT_ERRMSG_MAX];
	static const char *const bad_proofs[] = {
		"", "mdtpop2.1.0123456789abcdef0123456789abcdef.x",
		"mdtpop1.12a.0123456789abcdef0123456789abcdef.x",
		"mdtpop1.1.short.AAAA",
		"mdtpop1.1.0123456789ABCDEF0123456789ABCDEF.AAAA",
		"mdtpop1.1.0123456789abcdef0123456789abcdef.AAAA",
		"mdtpop1.1.0123456789abcdef0123456789abcdef",
	};

	present(single, holder, "r", "Observation/obs-001-1", NOW, &text, proof);
	ck_assert_int_eq(verify(v, NULL, proof, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EAUTH);
	ck_assert_int_eq(verify(v, text, NULL, "r", "Observation/obs-001-1",
	    NOW, NULL, err), -MDT_EAUTH);
	ck_assert_int_ne(verify(v, "mdt1.AAAA", proof, "r",
	    "Observation/obs-001-1", NOW, NULL, err), 0);
	for (size_t i = 0; i < sizeof(bad_proofs) / sizeof(*bad_proofs); i++)
		ck_assert_int_eq(verify(v, text, bad_proofs[i], "r",
		    "Observation/obs-001-1", NOW, NULL, err), -MDT_EDECODE);
	mdt_token_text_free(text);
	mdt_rs_verifier_free(v);
}
END_TEST

START_TEST(test_bad_options)
{
	mdt_rs_verifier_opts o;
	mdt_rs_verifier *v = NULL;

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(mdt_rs_verifier_new(&o, &v, NULL, 0), -MDT_EINVAL);
	ck_assert_ptr_null(v);
	mdt_rs_verifier_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sdk_verifier");
	TCase *tc = tcase_create("offline");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_accept_once);
	tcase_add_test(tc, test_same_second_tokens_each_once);
	tcase_add_test(tc, test_exact_action_and_resource);
	tcase_add_test(tc, test_proof_mismatch_refused);
	tcase_add_test(tc, test_wrong_agent_refused);
	tcase_add_test(tc, test_audience_expiry_staleness);
	tcase_add_test(tc, test_revoked_by_hand);
	tcase_add_test(tc, test_revoked_by_publication);
	tcase_add_test(tc, test_policy_epoch);
	tcase_add_test(tc, test_epoch_by_publication);
	tcase_add_test(tc, test_foreign_root_and_unsealed);
	tcase_add_test(tc, test_offline_single_action_refused);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_bad_options);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
