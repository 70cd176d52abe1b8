/*
 * The SDK against a real broker (mandated started by the broker tests'
 * harness in a temporary directory): the orchestrator/agent flow through
 * the C API, a resource server refusing a token once the completion's
 * revocation is published, tokens presented by the wrong agent refused
 * (at the broker and at the resource server), a clinician's step-up
 * approval and rejection, and a broker restart in the middle of a
 * session that the agents ride out without help.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "brk_test.h"
#include "sdk_int.h"
#include "testutil.h"

#define GW "spiffe://mandate.local/gateway"
#define CLINIC_SCOPES "patient/*.rs tool/export.x"

static struct bt_broker B;
static char *jwt; /* dr-alice, pat-001 */

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, NULL), 0);
	jwt = bt_assertion(&B, "dr-alice", "pat-001", CLINIC_SCOPES, 0);
	ck_assert_ptr_nonnull(jwt);
}

static void
teardown(void)
{
	free(jwt);
	bt_cleanup(&B);
}

static mdt_agent *
connect_as(const char *id)
{
	mdt_agent_opts o = {.url = B.url, .spiffe_id = id,
	    .key = bt_key(&B, id), .timeout_ms = 10000, .retry_ms = 20};
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;

	ck_assert_ptr_nonnull(o.key);
	ck_assert_msg(mdt_agent_connect(&o, &a, err, sizeof(err)) == 0,
	    "connect %s: %s", id, err);
	return a;
}

static mdt_task *
open_root(mdt_agent *orch)
{
	mdt_open_opts op = {.assertion = jwt, .patient = "pat-001",
	    .purpose = "TREAT", .scopes = CLINIC_SCOPES};
	char err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;

	ck_assert_msg(mdt_agent_open_task(orch, &op, &t, err, sizeof(err)) ==
	    0, "open: %s", err);
	return t;
}

/* Dispatches to `to` and receives the work on `agent`. */
static mdt_task *
hand_work(mdt_task *root, mdt_agent *agent, const char *to,
    const char *scopes)
{
	char child[MDT_AGENT_ID_MAX], err[MDT_ERRMSG_MAX];
	mdt_task *w = NULL;

	ck_assert_msg(mdt_task_dispatch(root, to, scopes,
	    (const uint8_t *)"job", 3, child, err, sizeof(err)) == 0,
	    "dispatch: %s", err);
	ck_assert_msg(mdt_agent_next(agent, 5000, &w, err, sizeof(err)) == 0,
	    "next: %s", err);
	ck_assert_str_eq(mdt_task_id(w), child);
	ck_assert_str_eq(mdt_task_parent(w), mdt_task_id(root));
	return w;
}

static mdt_authz *
authorize(mdt_task *t, const char *action, const char *res)
{
	char err[MDT_ERRMSG_MAX];
	mdt_authz *az = NULL;

	ck_assert_msg(mdt_task_authorize(t, action, res, &az, err,
	    sizeof(err)) == 0, "authorize: %s", err);
	return az;
}

static mdt_rs_verifier *
verifier(void)
{
	mdt_rs_verifier_opts o;
	mdt_rs_verifier *v;
	mdt_pubkey pk;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_pubkey_load(B.root_pub, &pk, err, sizeof(err)),
	    0);
	memset(&o, 0, sizeof(o));
	o.broker_key = &pk;
	o.audience = GW;
	o.events_url = B.pub;
	ck_assert_int_eq(mdt_rs_verifier_new(&o, &v, err, sizeof(err)), 0);
	return v;
}

static int
present(mdt_rs_verifier *v, mdt_task *t, const mdt_authz *az,
    const char *action, const char *res, char *err)
{
	static char tok[MDT_AGENT_HEADER_MAX], proof[MDT_AGENT_HEADER_MAX];
	mdt_rs_request rq = {.action = action, .resource = res,
	    .patient = "pat-001"};

	ck_assert_int_eq(mdt_task_present(t, az, 0, tok, proof), 0);
	return mdt_rs_verify(v, tok, proof, &rq, NULL, err, MDT_ERRMSG_MAX);
}

START_TEST(test_flow_and_revocation)
{
	mdt_agent *orch = connect_as(BT_ORCH), *summ = connect_as(BT_SUMM);
	mdt_rs_verifier *v = verifier();
	mdt_task *root = open_root(orch), *w;
	mdt_authz *az, *late;
	char err[MDT_ERRMSG_MAX];
	uint8_t *res = NULL;
	size_t len = 0;

	ck_assert_str_eq(mdt_task_clinician(root), "dr-alice");
	w = hand_work(root, summ, BT_SUMM, "patient/Observation.rs");
	ck_assert_str_eq(mdt_task_patient(w), "pat-001");
	ck_assert_ptr_null(strstr(mdt_task_scopes(w), "Condition"));

	az = authorize(w, "r", "Observation/obs-001-1");
	ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_ALLOW);
	ck_assert_msg(present(v, w, az, "r", "Observation/obs-001-1", err) == 0,
	    "%s", err);
	mdt_authz_free(az);
	/* outside the delegated scope, and another patient */
	az = authorize(w, "r", "Condition/cond-001-1");
	ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_DENY);
	ck_assert_str_ne(mdt_authz_reason(az), "");
	mdt_authz_free(az);
	{
		mdt_authz_request q = {.action = "r",
		    .resource = "Observation/obs-002-1", .patient = "pat-002"};
		ck_assert_int_eq(mdt_task_authorize_req(w, &q, &az, err,
		    sizeof(err)), 0);
		ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_DENY);
		ck_assert_str_eq(mdt_authz_reason(az), "patient");
		mdt_authz_free(az);
	}
	/* Asked without naming the compartment, the broker takes the task's
	 * patient; the resource server knows better and refuses. */
	az = authorize(w, "r", "Observation/obs-002-1");
	ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_ALLOW);
	{
		static char tok[MDT_AGENT_HEADER_MAX], proof[MDT_AGENT_HEADER_MAX];
		mdt_rs_request rq = {.action = "r",
		    .resource = "Observation/obs-002-1", .patient = "pat-002"};

		ck_assert_int_eq(mdt_task_present(w, az, 0, tok, proof), 0);
		ck_assert_int_eq(mdt_rs_verify(v, tok, proof, &rq, NULL, err,
		    sizeof(err)), -MDT_EPATIENT);
	}
	mdt_authz_free(az);

	late = authorize(w, "s", "Observation?patient=pat-001");
	ck_assert_int_eq(mdt_authz_decision_of(late), MDT_AUTHZ_ALLOW);
	ck_assert_int_eq(mdt_task_report(w, (const uint8_t *)"ok", 2, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(mdt_task_wait_result(root, mdt_task_id(w), 5000, &res,
	    &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 2);
	mdt_free(res);

	ck_assert_msg(mdt_task_complete(root, NULL, 0, err, sizeof(err)) == 0,
	    "complete: %s", err);
	for (int i = 0; i < 200 && !mdt_rs_verifier_is_revoked(v,
	    mdt_task_id(root)); i++)
		nng_msleep(10);
	ck_assert_int_eq(mdt_rs_verifier_is_revoked(v, mdt_task_id(root)), 1);
	ck_assert_int_eq(present(v, w, late, "s", "Observation?patient=pat-001",
	    err), -MDT_EREVOKED);
	/* and the broker refuses the ended task */
	az = NULL;
	if (mdt_task_authorize(w, "r", "Observation/obs-001-1", &az, err,
	    sizeof(err)) == 0)
		ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_DENY);
	mdt_authz_free(az);
	mdt_authz_free(late);
	mdt_task_free(w);
	mdt_task_free(root);
	mdt_rs_verifier_free(v);
	mdt_agent_close(summ);
	mdt_agent_close(orch);
}
END_TEST

static void
texts(mdt_task *t, const mdt_authz *az, char **tok, char **proof)
{
	*tok = malloc(MDT_AGENT_HEADER_MAX);
	*proof = malloc(MDT_AGENT_HEADER_MAX);
	ck_assert_ptr_nonnull(*tok);
	ck_assert_ptr_nonnull(*proof);
	ck_assert_int_eq(mdt_task_present(t, az, 0, *tok, *proof), 0);
}

START_TEST(test_wrong_agent)
{
	mdt_agent *orch = connect_as(BT_ORCH), *summ = connect_as(BT_SUMM);
	mdt_agent *coder = connect_as(BT_CODER);
	mdt_rs_verifier *v = verifier();
	mdt_task *root = open_root(orch), *w, *cw = NULL, stolen;
	mdt_rs_request rq = {.action = "r", .resource = "Condition/cond-001-1",
	    .patient = "pat-001"};
	char child[MDT_AGENT_ID_MAX], err[MDT_ERRMSG_MAX];
	char *tok_s, *proof_s, *tok_c, *proof_c;
	mdt_authz *az_s, *az_c, *az2 = NULL;
	int rv;

	w = hand_work(root, summ, BT_SUMM,
	    "patient/Observation.rs patient/Condition.rs");
	ck_assert_int_eq(mdt_task_dispatch(w, BT_CODER, "patient/Condition.rs",
	    NULL, 0, child, err, sizeof(err)), 0);
	ck_assert_int_eq(mdt_agent_next(coder, 5000, &cw, err, sizeof(err)), 0);
	az_s = authorize(w, "r", "Condition/cond-001-1");
	az_c = authorize(cw, "r", "Condition/cond-001-1");
	ck_assert_int_eq(mdt_authz_decision_of(az_s), MDT_AUTHZ_ALLOW);
	ck_assert_int_eq(mdt_authz_decision_of(az_c), MDT_AUTHZ_ALLOW);
	texts(w, az_s, &tok_s, &proof_s);
	texts(cw, az_c, &tok_c, &proof_c);
	/* each agent's proof only works with its own token */
	ck_assert_int_eq(mdt_rs_verify(v, tok_s, proof_c, &rq, NULL, err,
	    sizeof(err)), -MDT_EHOLDER);
	ck_assert_int_eq(mdt_rs_verify(v, tok_c, proof_s, &rq, NULL, err,
	    sizeof(err)), -MDT_EHOLDER);
	ck_assert_msg(mdt_rs_verify(v, tok_s, proof_s, &rq, NULL, err,
	    sizeof(err)) == 0, "%s", err);
	/* the coder cannot sign for the summarizer's token */
	ck_assert_int_eq(mdt_task_present(cw, az_s, 0, tok_c, proof_c),
	    -MDT_EHOLDER);
	/* nor use the summarizer's task token at the broker */
	stolen = *w;
	stolen.a = coder;
	rv = mdt_task_authorize(&stolen, "r", "Observation/obs-001-1", &az2,
	    err, sizeof(err));
	ck_assert_msg(rv != 0 || mdt_authz_decision_of(az2) == MDT_AUTHZ_DENY,
	    "the broker accepted a token from a connection not its holder");
	mdt_authz_free(az2);
	free(tok_s);
	free(proof_s);
	free(tok_c);
	free(proof_c);
	mdt_authz_free(az_s);
	mdt_authz_free(az_c);
	mdt_task_free(cw);
	mdt_task_free(w);
	mdt_task_free(root);
	mdt_rs_verifier_free(v);
	mdt_agent_close(coder);
	mdt_agent_close(summ);
	mdt_agent_close(orch);
}
END_TEST

typedef struct waiter {
	mdt_agent *a;
	mdt_task *got;
	int rv;
	char err[MDT_ERRMSG_MAX];
} waiter;

static void *
wait_work(void *arg)
{
	waiter *w = arg;

	w->rv = mdt_agent_next(w->a, 20000, &w->got, w->err, sizeof(w->err));
	return NULL;
}

START_TEST(test_broker_restart)
{
	mdt_agent *orch = connect_as(BT_ORCH), *summ = connect_as(BT_SUMM);
	mdt_task *root = open_root(orch), *w;
	waiter wt = {summ, NULL, 0, ""};
	char child[MDT_AGENT_ID_MAX], err[MDT_ERRMSG_MAX];
	mdt_authz *az;
	pthread_t th;

	w = hand_work(root, summ, BT_SUMM, "patient/Observation.rs");
	/* the summarizer is parked in a long poll when the broker goes */
	ck_assert_int_eq(pthread_create(&th, NULL, wait_work, &wt), 0);
	nng_msleep(200);
	(void)bt_stop(&B, SIGTERM); /* its exit status is the broker's test */
	ck_assert_int_eq(bt_start(&B, NULL), 0);
	/* both connections carry on: a new dispatch reaches the waiter */
	ck_assert_msg(mdt_task_dispatch(root, BT_SUMM, "patient/Condition.rs",
	    NULL, 0, child, err, sizeof(err)) == 0, "dispatch: %s", err);
	pthread_join(th, NULL);
	ck_assert_msg(wt.rv == 0, "next across the restart: %s", wt.err);
	ck_assert_str_eq(mdt_task_id(wt.got), child);
	/* and a task from before the restart still works */
	az = authorize(w, "r", "Observation/obs-001-1");
	ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_ALLOW);
	ck_assert_uint_ge(mdt_agent_reconnects(summ), 1);
	ck_assert_uint_ge(mdt_agent_reconnects(orch), 1);
	mdt_authz_free(az);
	mdt_task_free(wt.got);
	mdt_task_free(w);
	mdt_task_free(root);
	mdt_agent_close(summ);
	mdt_agent_close(orch);
}
END_TEST

/* The export step-up: the clinician decides on the events she sees. */
static void
decide_next_step_up(mdt_agent *orch, mdt_event_sub *ev, int approve)
{
	char err[MDT_ERRMSG_MAX];
	mdt_event e;
	char *act;
	int found = 0;

	for (int i = 0; i < 100 && !found; i++)
		found = mdt_event_sub_next(ev, 100, &e) == 0 &&
		    e.kind == MDT_EVENT_STEP_UP;
	ck_assert_msg(found, "no step-up event");
	ck_assert_str_eq(e.agent, BT_PRIOR);
	ck_assert_str_eq(e.resource, "tool/export");
	/* the clinician's act: a fresh assertion naming this step-up */
	act = bt_assertion_act(&B, "dr-alice", "pat-001",
	    "patient/*.rs tool/export.x", 0, e.request_id, NULL);
	ck_assert_ptr_nonnull(act);
	ck_assert_msg(mdt_agent_decide_step_up(orch, e.request_id, act, approve,
	    "test", err, sizeof(err)) == 0, "decide: %s", err);
	free(act);
}

typedef struct asker {
	mdt_task *t;
	const mdt_authz_request *q;
	mdt_authz *az;
	int rv;
} asker;

static void *
ask(void *arg)
{
	asker *ak = arg;

	ak->rv = mdt_task_authorize_req(ak->t, ak->q, &ak->az, NULL, 0);
	return NULL;
}

START_TEST(test_step_up)
{
	mdt_agent *orch = connect_as(BT_ORCH), *pa = connect_as(BT_PRIOR);
	mdt_task *root = open_root(orch), *w;
	mdt_authz_request q = {.action = "x", .resource = "tool/export",
	    .boundary = "export"};
	mdt_authz *az, *fin;
	mdt_event_sub *ev;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_event_sub_open(B.pub, &ev, err, sizeof(err)), 0);
	nng_msleep(100); /* let the subscription connect */
	w = hand_work(root, pa, BT_PRIOR, "patient/Procedure.rs tool/export.x");
	ck_assert_int_eq(mdt_task_authorize_req(w, &q, &az, err, sizeof(err)),
	    0);
	ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_STEP_UP);
	ck_assert_str_ne(mdt_authz_request_id(az), "");
	decide_next_step_up(orch, ev, 1);
	ck_assert_msg(mdt_task_wait_step_up(w, az, 5000, &fin, err,
	    sizeof(err)) == 0, "wait_step_up: %s", err);
	ck_assert_int_eq(mdt_authz_decision_of(fin), MDT_AUTHZ_ALLOW);
	ck_assert(mdt_authz_flags(fin) & MDT_AUTHZ_FLAG_APPROVED);
	mdt_authz_free(fin);
	mdt_authz_free(az);
	/* asked again, waiting in the same request; this time rejected */
	{
		asker ak = {w, &q, NULL, 0};
		pthread_t th;

		q.wait_ms = 10000;
		ck_assert_int_eq(pthread_create(&th, NULL, ask, &ak), 0);
		decide_next_step_up(orch, ev, 0);
		pthread_join(th, NULL);
		ck_assert_int_eq(ak.rv, 0);
		ck_assert_int_eq(mdt_authz_decision_of(ak.az), MDT_AUTHZ_DENY);
		ck_assert_str_eq(mdt_authz_reason(ak.az), "step_up.rejected");
		mdt_authz_free(ak.az);
	}
	mdt_task_free(w);
	mdt_task_free(root);
	mdt_event_sub_close(ev);
	mdt_agent_close(pa);
	mdt_agent_close(orch);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sdk_broker");
	TCase *tc = tcase_create("broker");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_flow_and_revocation);
	tcase_add_test(tc, test_wrong_agent);
	tcase_add_test(tc, test_broker_restart);
	tcase_add_test(tc, test_step_up);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
