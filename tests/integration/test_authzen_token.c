/*
 * A Mandate token and its proof of possession presented in an AuthZEN
 * evaluation's context (context.mandate) as the subject's credential:
 * mandate-authzen verifies them offline as a resource server does
 * (chain, audience, scope, patient, revocation, holder's proof, single
 * use), then asks Cedar.  A real mandated mints the tokens for the MCP
 * gateway's agent; the front runs as a real process.  Every refusal is
 * in the broker's audit store by the time its answer arrives.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <mandate/store.h>

#include "az_test.h"
#include "mcp_fixture.h"
#include "testutil.h"

#define BEARER "Bearer " AZ_TEST_TOKEN
#define EVAL "/access/v1/evaluation"

static struct mcp_fx F;
static struct az_front A;

struct pres {
	char tok[MDT_AGENT_HEADER_MAX];
	char proof[MDT_AGENT_HEADER_MAX];
};

/* An allowed authorize of x on tool/TOOL for the front's audience, and
 * its presentation. */
static void
present(mdt_task *t, const char *tool, struct pres *p)
{
	char ref[80], err[MDT_ERRMSG_MAX];
	mdt_authz_request rq = { .size = sizeof(rq), .action = "x",
	    .resource = ref, .audience = MCP_CLINIC_AUD };
	mdt_authz *az = NULL;

	snprintf(ref, sizeof(ref), "tool/%s", tool);
	ck_assert_msg(mdt_task_authorize_req(t, &rq, &az, err, sizeof(err)) ==
	    0, "authorize: %s", err);
	ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_ALLOW);
	ck_assert_int_eq(mdt_task_present(t, az, 0, p->tok, p->proof), 0);
	mdt_authz_free(az);
}

/* One evaluation of x on tool/TOOL by subject with context.mandate
 * {token, proof} (proof NULL: left out); the answer. */
static json_t *
evaluate(const char *subject, const char *tool, const char *tok,
    const char *proof)
{
	json_t *m = json_pack("{s:s}", "token", tok), *req, *ans;
	char *body, *resp = NULL, ref[80];
	int status = 0;

	snprintf(ref, sizeof(ref), "tool/%s", tool);
	if (proof != NULL)
		json_object_set_new(m, "proof", json_string(proof));
	json_object_set_new(m, "resource", json_string(ref));
	/* the token's permission letter; Cedar's action is the tool's own */
	json_object_set_new(m, "action", json_string("x"));
	/* the rest of the broker's authorize context, as the PEP knows it;
	 * clinician, patient, purpose and taskId come from the token */
	req = json_pack("{s:{s:s,s:s},s:{s:s},s:{s:s,s:s},s:{s:o,s:b,s:i,"
	    "s:[],s:[],s:s,s:s,s:s,s:{s:b,s:s},s:i,s:s}}",
	    "subject", "type", "Mandate::Agent", "id", subject, "action",
	    "name", tool, "resource", "type", "Mandate::Tool", "id", tool,
	    "context", "mandate", m, "breakGlass", 0, "depth", 1, "agentChain",
	    "children", "tool", tool, "boundary", "none", "requestHash", "",
	    "approval", "valid", 0, "requestHash", "", "time", 1700000000,
	    "purpose", "HRESCH");
	body = json_dumps(req, JSON_COMPACT);
	ck_assert_int_eq(az_http(A.port, "POST", EVAL, BEARER, body, &status,
	    &resp), 0);
	ck_assert_int_eq(status, 200);
	ans = json_loads(resp, 0, NULL);
	ck_assert_ptr_nonnull(ans);
	fprintf(stderr, "%s\n", resp);
	free(resp);
	free(body);
	json_decref(req);
	return ans;
}

static const char *
reason(json_t *ans)
{
	const char *r = json_string_value(json_object_get(json_object_get(ans,
	    "context"), "reason"));
	return r != NULL ? r : "";
}

static int
allowed(json_t *ans)
{
	return json_is_true(json_object_get(ans, "decision"));
}

struct find {
	const char *reason, *resource;
	uint64_t after;   /* records up to this seq are not counted */
	uint64_t last;    /* the highest seq seen */
	int n;
};

/* Counts the front's evaluate denies of f->reason on f->resource. */
static int
count_refusal(void *arg, const mdt_store_decision *r)
{
	struct find *f = arg;
	char failed[80];

	if (r->seq > f->last)
		f->last = r->seq;
	snprintf(failed, sizeof(failed), "\"failed\":\"%s\"", f->reason);
	if (r->seq <= f->after || strcmp(r->operation, "evaluate") != 0 ||
	    r->verdict != MDT_STORE_DENY || r->resource == NULL ||
	    strcmp(r->resource, f->resource) != 0 ||
	    strstr(r->reasons, failed) == NULL)
		return 0;
	/* the evaluator is the caller on record, the subject on the chain */
	ck_assert_str_eq(r->agent, BT_ORCH);
	ck_assert_ptr_nonnull(strstr(r->agent_chain, "Mandate::Agent::"));
	/* a token that verified but is another's names itself */
	if (strcmp(f->reason, "token.subject") == 0)
		ck_assert_msg(r->token_id != NULL && r->token_id[0] != 0,
		    "token.subject without the token's id");
	f->n++;
	return 0;
}

/* The audit store's count of f's refusals past f->after; f->last is
 * set to the store's last seq. */
static int
recorded(struct find *f)
{
	mdt_store_opts so = { .read_only = 1 };
	mdt_store *st = NULL;

	f->n = 0;
	ck_assert_int_eq(mdt_store_open(F.b.store, &so, &st, NULL, 0), 0);
	ck_assert_int_eq(mdt_store_list_decisions(st, 0, 0, count_refusal, f),
	    0);
	mdt_store_close(st);
	return f->n;
}

static uint64_t
last_seq(void)
{
	struct find f = { "", "", UINT64_MAX, 0, 0 };

	(void)recorded(&f);
	return f.last;
}

/* A deny for why, found in the store as soon as it is answered. */
static void
expect_deny_at(json_t *ans, const char *why, const char *tool,
    uint64_t before)
{
	char res[80];
	struct find f = { why, res, before, 0, 0 };

	snprintf(res, sizeof(res), "Mandate::Tool::\"%s\"", tool);
	ck_assert_msg(!allowed(ans), "allowed");
	ck_assert_str_eq(reason(ans), why);
	json_decref(ans);
	ck_assert_msg(recorded(&f) == 1, "%s on %s: %d records", why, tool,
	    f.n);
}

#define expect_deny(call, why, tool) do { \
	uint64_t before_ = last_seq(); \
	expect_deny_at((call), (why), (tool), before_); \
} while (0)

/* Waits (30 s) for the broker to announce the task's revocation. */
static void
wait_revoked(mdt_event_sub *s)
{
	for (int i = 0; i < 150; i++) {
		mdt_event ev;
		if (mdt_event_sub_next(s, 200, &ev) == 0 &&
		    ev.kind == MDT_EVENT_REVOKED)
			return;
	}
	ck_abort_msg("no revocation event");
}

START_TEST(token_in_the_authzen_context)
{
	mdt_agent_opts o = { .size = sizeof(o), .spiffe_id = MCP_AGENT,
	    .timeout_ms = 10000 };
	struct pres a, b, late[3];
	char err[MDT_ERRMSG_MAX];
	mdt_event_sub *sub = NULL;
	mdt_agent *agent = NULL;
	mdt_task *t = NULL;
	json_t *ans;
	int revoked = 0;

	mcp_fx_start(&F);
	ck_assert_msg(az_front_start_tokens(&A, &F.b, BT_ORCH, MCP_CLINIC_AUD) ==
	    0, "front (%s)", A.dir);
	o.url = F.b.url;
	o.key = bt_key(&F.b, MCP_AGENT);
	ck_assert_int_eq(mdt_agent_connect(&o, &agent, err, sizeof(err)), 0);
	ck_assert_msg(mdt_agent_next(agent, 20000, &t, err, sizeof(err)) == 0,
	    "next: %s", err);
	ck_assert_int_eq(mdt_task_ack(t, err, sizeof(err)), 0);
	present(t, "echo", &a);
	present(t, "get-sum", &b);

	/* the token, its proof, its holder, its call: Cedar decides */
	ans = evaluate(MCP_AGENT, "echo", a.tok, a.proof);
	ck_assert_msg(allowed(ans), "valid presentation refused: %s",
	    reason(ans));
	json_decref(ans);
	/* single use, as at a resource server */
	expect_deny(evaluate(MCP_AGENT, "echo", a.tok, a.proof), "token.replay",
	    "echo");
	/* no proof; another token's proof; another call; another subject */
	expect_deny(evaluate(MCP_AGENT, "get-sum", b.tok, NULL), "token.proof",
	    "get-sum");
	expect_deny(evaluate(MCP_AGENT, "get-sum", b.tok, a.proof),
	    "token.proof", "get-sum");
	/* the proof signs the call, so it is what fails first */
	expect_deny(evaluate(MCP_AGENT, "echo", b.tok, b.proof), "token.proof",
	    "echo");
	expect_deny(evaluate(BT_ORCH, "get-sum", b.tok, b.proof),
	    "token.subject", "get-sum");

	/* the task cancelled: its tokens are refused once the front hears */
	for (int i = 0; i < 3; i++)
		present(t, "echo", &late[i]);
	ck_assert_int_eq(mdt_event_sub_open(F.b.pub, &sub, err, sizeof(err)), 0);
	nanosleep(&(struct timespec){ 0, 300000000L }, NULL);
	ck_assert_msg(mdt_task_cancel(F.root, "stopped", err, sizeof(err)) == 0,
	    "cancel: %s", err);
	wait_revoked(sub);
	for (int i = 0; i < 3 && !revoked; i++) {
		uint64_t before;

		nanosleep(&(struct timespec){ 1, 0 }, NULL);
		before = last_seq();
		ans = evaluate(MCP_AGENT, "echo", late[i].tok, late[i].proof);
		ck_assert_msg(!allowed(ans), "a revoked task's token allowed");
		revoked = strcmp(reason(ans), "token.revoked") == 0;
		if (revoked)
			expect_deny_at(ans, "token.revoked", "echo", before);
		else
			json_decref(ans);
	}
	ck_assert_msg(revoked, "no token.revoked refusal");
	mdt_event_sub_close(sub);
	mdt_task_free(t);
	mdt_agent_close(agent);
	ck_assert_int_eq(az_front_stop(&A), 0);
	mcp_fx_stop(&F);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("authzen_token");
	TCase *tc = tcase_create("token");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, token_in_the_authzen_context);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
