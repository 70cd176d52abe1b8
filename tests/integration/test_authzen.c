/*
 * mandate-authzen against a real mandated (the Todo policies of
 * examples/authzen-todo): the AuthZEN endpoints over real HTTP, their
 * authentication, the evaluations semantics, malformed requests, the
 * broker op `evaluate` on the wire, and the audit records of decisions.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <mandate/store.h>
#include <mandate/wire.h>

#include "az_test.h"
#include "testutil.h"

#define RICK "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
#define BETH "CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
#define MORTY "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
#define BEARER "Bearer " AZ_TEST_TOKEN

static struct bt_broker B;
static struct az_front F;

static char *
read_text(const char *rel)
{
	char path[600];
	FILE *f;
	char *buf = malloc(1 << 20);
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", getenv("MDT_SOURCE_DIR"), rel);
	f = fopen(path, "r");
	if (f == NULL || buf == NULL) {
		free(buf);
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void
start_all(void)
{
	static char pol[600];
	const char *args[] = { "--policy-dir", pol, "--set",
	    "evaluators=" BT_ORCH, NULL };
	char *ents = read_text("examples/authzen-todo/entities.json");

	snprintf(pol, sizeof(pol), "%s/examples/authzen-todo/policies",
	    getenv("MDT_SOURCE_DIR"));
	ck_assert_ptr_nonnull(ents);
	ck_assert_int_eq(bt_setup(&B, ents), 0);
	free(ents);
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
	ck_assert_msg(az_front_start(&F, &B, BT_ORCH) == 0, "front (%s)",
	    F.dir);
}

static void
stop_all(void)
{
	ck_assert_int_eq(az_front_stop(&F), 0);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

/* POSTs body to path with the test credential; the parsed answer. */
static json_t *
post(const char *path, const char *body, int want_status)
{
	int status = 0;
	char *resp = NULL;
	json_t *j;

	ck_assert_int_eq(az_http(F.port, "POST", path, BEARER, body, &status,
	    &resp), 0);
	ck_assert_msg(status == want_status, "%s: status %d, want %d: %s",
	    path, status, want_status, resp);
	j = json_loads(resp, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", resp);
	free(resp);
	return j;
}

static int
decision_of(const char *subject, const char *action, const char *rtype,
    const char *rid, const char *owner)
{
	char body[1024];
	json_t *j;
	int d;

	snprintf(body, sizeof(body), "{\"subject\":{\"type\":\"user\",\"id\":"
	    "\"%s\"},\"action\":{\"name\":\"%s\"},\"resource\":{\"type\":"
	    "\"%s\",\"id\":\"%s\"%s%s%s}}", subject, action, rtype, rid,
	    owner ? ",\"properties\":{\"ownerID\":\"" : "", owner ? owner :
	    "", owner ? "\"}" : "");
	j = post("/access/v1/evaluation", body, 200);
	ck_assert(json_is_boolean(json_object_get(j, "decision")));
	d = json_is_true(json_object_get(j, "decision"));
	json_decref(j);
	return d;
}

START_TEST(metadata_names_the_endpoints)
{
	int status;
	char *resp = NULL, want[128];
	json_t *j;

	ck_assert_int_eq(az_http(F.port, "GET",
	    "/.well-known/authzen-configuration", NULL, NULL, &status, &resp),
	    0);
	ck_assert_int_eq(status, 200);
	j = json_loads(resp, 0, NULL);
	ck_assert_ptr_nonnull(j);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/access/v1/"
	    "evaluations", F.port);
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "access_evaluations_endpoint")), want);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d", F.port);
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "policy_decision_point")), want);
	json_decref(j);
	free(resp);
}
END_TEST

START_TEST(decisions_need_a_valid_bearer_credential)
{
	static const char *const bad[] = { NULL, "Bearer wrong",
	    "Basic " AZ_TEST_TOKEN, "Bearer ", AZ_TEST_TOKEN,
	    "Bearer " AZ_TEST_TOKEN "x" };
	const char *body = "{\"subject\":{\"type\":\"user\",\"id\":\"" RICK
	    "\"},\"action\":{\"name\":\"can_read_todos\"},\"resource\":{"
	    "\"type\":\"todo\",\"id\":\"t\"}}";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status;
		char *resp = NULL;
		ck_assert_int_eq(az_http(F.port, "POST",
		    "/access/v1/evaluation", bad[i], body, &status, &resp), 0);
		ck_assert_msg(status == 401, "auth %s: %d", bad[i], status);
		ck_assert_ptr_null(strstr(resp, "decision"));
		free(resp);
		ck_assert_int_eq(az_http(F.port, "POST",
		    "/access/v1/evaluations", bad[i], body, &status, &resp), 0);
		ck_assert_int_eq(status, 401);
		free(resp);
	}
}
END_TEST

START_TEST(evaluation_follows_the_roles)
{
	/* rick: admin and evil genius; morty: editor; beth: viewer */
	ck_assert_int_eq(decision_of(RICK, "can_delete_todo", "todo", "1",
	    "morty@the-citadel.com"), 1);
	ck_assert_int_eq(decision_of(MORTY, "can_delete_todo", "todo", "1",
	    "rick@the-citadel.com"), 0);
	ck_assert_int_eq(decision_of(MORTY, "can_update_todo", "todo", "1",
	    "morty@the-citadel.com"), 1);
	ck_assert_int_eq(decision_of(BETH, "can_create_todo", "todo", "1",
	    NULL), 0);
	ck_assert_int_eq(decision_of(BETH, "can_read_user", "user",
	    "rick@the-citadel.com", NULL), 1);
	/* an unknown user holds no role */
	ck_assert_int_eq(decision_of("nobody", "can_read_todos", "todo", "1",
	    NULL), 0);
}
END_TEST

START_TEST(a_deny_names_its_reason)
{
	json_t *j = post("/access/v1/evaluation", "{\"subject\":{\"type\":"
	    "\"user\",\"id\":\"" BETH "\"},\"action\":{\"name\":"
	    "\"can_create_todo\"},\"resource\":{\"type\":\"todo\",\"id\":"
	    "\"1\"}}", 200);
	json_t *ctx = json_object_get(j, "context");

	ck_assert(json_is_false(json_object_get(j, "decision")));
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "reason")),
	    "policy.deny");
	json_decref(j);
}
END_TEST

/* An evaluations call for rick (update) over three todos: mine, not
 * mine and another's; morty may update only his own. */
static json_t *
batch(const char *subject, const char *semantic)
{
	char body[2048];

	snprintf(body, sizeof(body), "{\"subject\":{\"type\":\"user\","
	    "\"id\":\"%s\"},\"action\":{\"name\":\"can_update_todo\"},"
	    "%s%s%s\"evaluations\":["
	    "{\"resource\":{\"type\":\"todo\",\"id\":\"a\",\"properties\":{"
	    "\"ownerID\":\"rick@the-citadel.com\"}}},"
	    "{\"resource\":{\"type\":\"todo\",\"id\":\"b\",\"properties\":{"
	    "\"ownerID\":\"morty@the-citadel.com\"}}},"
	    "{\"action\":{\"name\":\"can_read_todos\"},\"resource\":{\"type\":"
	    "\"todo\",\"id\":\"c\"}}]}", subject,
	    semantic ? "\"options\":{\"evaluations_semantic\":\"" : "",
	    semantic ? semantic : "", semantic ? "\"}," : "");
	return post("/access/v1/evaluations", body, 200);
}

static void
expect(json_t *j, const char *want)
{
	json_t *l = json_object_get(j, "evaluations"), *e;
	char got[16] = "";
	size_t i;

	ck_assert(json_is_array(l));
	json_array_foreach(l, i, e)
		if (i < sizeof(got) - 1)
			got[i] = json_is_true(json_object_get(e, "decision")) ?
			    'T' : 'F';
	ck_assert_str_eq(got, want);
	json_decref(j);
}

START_TEST(evaluations_follow_their_semantic)
{
	expect(batch(MORTY, NULL), "FTT");
	expect(batch(MORTY, "execute_all"), "FTT");
	expect(batch(MORTY, "deny_on_first_deny"), "F");
	expect(batch(MORTY, "permit_on_first_permit"), "FT");
	expect(batch(RICK, "permit_on_first_permit"), "T");
	expect(batch(RICK, "deny_on_first_deny"), "TTT");
	expect(batch(BETH, NULL), "FFT");
}
END_TEST

START_TEST(evaluations_without_a_list_is_one_evaluation)
{
	json_t *j = post("/access/v1/evaluations", "{\"subject\":{\"type\":"
	    "\"user\",\"id\":\"" RICK "\"},\"action\":{\"name\":"
	    "\"can_create_todo\"},\"resource\":{\"type\":\"todo\",\"id\":"
	    "\"1\"},\"evaluations\":[]}", 200);

	ck_assert(json_is_true(json_object_get(j, "decision")));
	json_decref(j);
}
END_TEST

START_TEST(an_item_error_is_a_deny_with_its_error)
{
	json_t *j = post("/access/v1/evaluations", "{\"subject\":{\"type\":"
	    "\"user\",\"id\":\"" RICK "\"},\"action\":{\"name\":"
	    "\"can_create_todo\"},\"evaluations\":[{\"resource\":{\"type\":"
	    "\"todo\",\"id\":\"1\"}},{\"resource\":{\"type\":\"bad type\","
	    "\"id\":\"2\"}},{\"resource\":{\"id\":\"3\"}}]}", 200);
	json_t *l = json_object_get(j, "evaluations");

	ck_assert_int_eq(json_array_size(l), 3);
	ck_assert(json_is_true(json_object_get(json_array_get(l, 0),
	    "decision")));
	for (size_t i = 1; i < 3; i++) {
		json_t *e = json_array_get(l, i);
		ck_assert(json_is_false(json_object_get(e, "decision")));
		ck_assert_int_eq(json_integer_value(json_object_get(
		    json_object_get(json_object_get(e, "context"), "error"),
		    "status")), 400);
	}
	json_decref(j);
}
END_TEST

START_TEST(malformed_requests_are_refused)
{
	static const char *const bodies[] = {
		"{not json",
		"[1]",
		"{\"subject\":{\"type\":\"user\",\"id\":\"x\"},\"action\":{"
		    "\"name\":\"can_read_todos\"}}",
		"{\"subject\":{\"type\":\"user-x\",\"id\":\"x\"},\"action\":{"
		    "\"name\":\"a\"},\"resource\":{\"type\":\"todo\",\"id\":"
		    "\"1\"}}",
		"{\"subject\":{\"type\":\"user\",\"id\":\"x\"},\"action\":{"
		    "\"name\":\"a\",\"properties\":{}},\"resource\":{\"type\":"
		    "\"todo\",\"id\":\"1\"}}",
		"{\"subject\":{\"type\":\"user\",\"id\":\"x\"},\"action\":{"
		    "\"name\":\"a\"},\"resource\":{\"type\":\"todo\",\"id\":"
		    "\"1\",\"properties\":{\"ownerID\":1.5}}}",
		"{\"subject\":{\"type\":\"user\",\"id\":\"x\"},\"action\":{"
		    "\"name\":\"a\"},\"resource\":{\"type\":\"todo\",\"id\":"
		    "\"1\"},\"context\":[]}",
		"{\"subject\":{\"type\":\"user\",\"id\":\"x\"},\"subject\":{}}",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		json_decref(post("/access/v1/evaluation", bodies[i], 400));
	json_decref(post("/access/v1/evaluations", "{\"evaluations\":{},"
	    "\"subject\":{}}", 400));
	json_decref(post("/access/v1/evaluations", "{\"evaluations\":[{}],"
	    "\"options\":{\"evaluations_semantic\":\"any\"}}", 400));
	json_decref(post("/access/v1/nothing", "{}", 404));
}
END_TEST

START_TEST(the_request_id_is_echoed)
{
	int fd = az_conn(F.port), status;
	char *resp = NULL, rid[128];

	ck_assert_int_ge(fd, 0);
	/* two requests on one kept-alive connection */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(az_request(fd, "POST", "/access/v1/evaluation",
		    BEARER, "X-Request-ID: req-42\r\n", "{\"subject\":{\"type\":"
		    "\"user\",\"id\":\"" RICK "\"},\"action\":{\"name\":"
		    "\"can_read_todos\"},\"resource\":{\"type\":\"todo\","
		    "\"id\":\"1\"}}", &status, &resp, rid), 0);
		ck_assert_int_eq(status, 200);
		ck_assert_str_eq(rid, "req-42");
		free(resp);
	}
	close(fd);
}
END_TEST

/* The wire op itself: evaluators only, registered agents as subjects. */
START_TEST(the_broker_op_checks_its_caller_and_subject)
{
	struct bt_conn c;
	mdt_wire_writer *w;
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
	w = bt_req(&c, MDT_OP_EVALUATE);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "subject_type", "user") ||
	    mdt_wire_put_cstr(w, "subject_id", RICK) ||
	    mdt_wire_put_cstr(w, "action", "can_read_todos") ||
	    mdt_wire_put_cstr(w, "resource_type", "todo") ||
	    mdt_wire_put_cstr(w, "resource_id", "1"), 0);
	ck_assert_int_eq(bt_call(&c, w, &m), 0);
	ck_assert_str_eq(bt_reason(m), "evaluator.required");
	mdt_wire_msg_free(m);
	bt_close(&c);

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	w = bt_req(&c, MDT_OP_EVALUATE);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "subject_type",
	    "Mandate::Agent") || mdt_wire_put_cstr(w, "subject_id",
	    "spiffe://clinic.example/agent/unknown") ||
	    mdt_wire_put_cstr(w, "action", "can_read_todos") ||
	    mdt_wire_put_cstr(w, "resource_type", "todo") ||
	    mdt_wire_put_cstr(w, "resource_id", "1"), 0);
	ck_assert_int_eq(bt_call(&c, w, &m), 0);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	ck_assert_str_eq(bt_str(m, "decision"), "deny");
	ck_assert_str_eq(bt_str(m, "reason"), "agent.unknown");
	mdt_wire_msg_free(m);

	w = bt_req(&c, MDT_OP_EVALUATE);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "subject_type",
	    "Mandate::Agent") || mdt_wire_put_cstr(w, "subject_id", BT_SUMM) ||
	    mdt_wire_put_cstr(w, "action", "can_read_todos") ||
	    mdt_wire_put_cstr(w, "resource_type", "todo") ||
	    mdt_wire_put_cstr(w, "resource_id", "1"), 0);
	ck_assert_int_eq(bt_call(&c, w, &m), 0);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	ck_assert_str_eq(bt_str(m, "decision"), "deny");
	ck_assert_str_eq(bt_str(m, "reason"), "policy.deny");
	mdt_wire_msg_free(m);
	bt_close(&c);
}
END_TEST

/* evaluate of an allowed request (RICK reads todo 1) with refused =
 * the map of n entries from kv, or a string when n is 0. */
static mdt_wire_msg *
refused_call(struct bt_conn *c, const char *const *kv, size_t n)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_EVALUATE);
	mdt_wire_msg *m = NULL;
	int rc = mdt_wire_put_cstr(w, "subject_type", "user") ||
	    mdt_wire_put_cstr(w, "subject_id", RICK) ||
	    mdt_wire_put_cstr(w, "action", "can_read_todos") ||
	    mdt_wire_put_cstr(w, "resource_type", "todo") ||
	    mdt_wire_put_cstr(w, "resource_id", "refused-probe");

	if (n == 0)
		rc = rc || mdt_wire_put_cstr(w, "refused", "token.proof");
	else
		rc = rc || mdt_wire_begin_map(w, "refused", n);
	for (size_t i = 0; i < n; i++)
		rc = rc || mdt_wire_put_cstr(w, kv[2 * i], kv[2 * i + 1]);
	rc = rc || (n > 0 && mdt_wire_end(w));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

static int
find_refused(void *arg, const mdt_store_decision *r)
{
	int *n = arg;

	if (strcmp(r->operation, "evaluate") == 0 && r->resource != NULL &&
	    strcmp(r->resource, "todo::\"refused-probe\"") == 0 &&
	    r->verdict == MDT_STORE_DENY && r->token_id != NULL &&
	    strcmp(r->token_id, "tok-probe") == 0 &&
	    strstr(r->reasons, "\"failed\":\"token.proof\"") != NULL &&
	    strstr(r->reasons, "no proof here") != NULL &&
	    strcmp(r->agent, BT_ORCH) == 0)
		(*n)++;
	return 0;
}

/* A deny the evaluator decided: recorded as it says, Cedar unasked (the
 * request would be allowed); only a known token.* reason, and only
 * reason, detail and token_id. */
START_TEST(a_refusal_the_evaluator_decided_is_recorded)
{
	static const char *const ok[] = { "reason", "token.proof", "detail",
	    "no proof here", "token_id", "tok-probe" };
	static const char *const looser[] = { "reason", "policy.allow" };
	static const char *const extra[] = { "reason", "token.proof", "x",
	    "y" };
	mdt_store_opts so = { .read_only = 1 };
	mdt_store *st = NULL;
	struct bt_conn c;
	mdt_wire_msg *m;
	int n = 0;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	m = refused_call(&c, ok, 3);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	ck_assert_str_eq(bt_str(m, "decision"), "deny");
	ck_assert_str_eq(bt_str(m, "reason"), "token.proof");
	ck_assert_str_eq(bt_str(m, "detail"), "no proof here");
	mdt_wire_msg_free(m);
	/* on record once its answer is here */
	ck_assert_int_eq(mdt_store_open(B.store, &so, &st, NULL, 0), 0);
	ck_assert_int_eq(mdt_store_list_decisions(st, 0, 0, find_refused, &n),
	    0);
	mdt_store_close(st);
	ck_assert_int_eq(n, 1);
	m = refused_call(&c, looser, 1);
	ck_assert_str_eq(bt_reason(m), "field");
	mdt_wire_msg_free(m);
	m = refused_call(&c, extra, 2);
	ck_assert_str_eq(bt_reason(m), "field");
	mdt_wire_msg_free(m);
	m = refused_call(&c, NULL, 0);
	ck_assert_str_eq(bt_reason(m), "field");
	mdt_wire_msg_free(m);
	bt_close(&c);
}
END_TEST

struct find {
	int allow, deny, refused;
	char want_resource[64];
};

static int
count_evaluate(void *arg, const mdt_store_decision *r)
{
	struct find *f = arg;

	if (strcmp(r->operation, "evaluate") != 0 || r->resource == NULL ||
	    strcmp(r->resource, f->want_resource) != 0)
		return 0;
	if (r->verdict == MDT_STORE_ALLOW)
		f->allow++;
	else
		f->deny++;
	ck_assert_ptr_nonnull(strstr(r->agent_chain, BT_ORCH));
	ck_assert_ptr_nonnull(strstr(r->agent_chain, "user::"));
	return 0;
}

START_TEST(every_decision_is_in_the_audit)
{
	mdt_store_opts so = { .read_only = 1 };
	struct find f = { 0, 0, 0, "todo::\"audit-probe\"" };
	mdt_store *st = NULL;

	ck_assert_int_eq(decision_of(RICK, "can_update_todo", "todo",
	    "audit-probe", "x"), 1);
	ck_assert_int_eq(decision_of(BETH, "can_update_todo", "todo",
	    "audit-probe", "x"), 0);
	ck_assert_int_eq(decision_of(MORTY, "can_update_todo", "todo",
	    "audit-probe", "x"), 0);
	ck_assert_int_eq(mdt_store_open(B.store, &so, &st, NULL, 0), 0);
	ck_assert_int_eq(mdt_store_list_decisions(st, 0, 0, count_evaluate,
	    &f), 0);
	mdt_store_close(st);
	ck_assert_int_eq(f.allow, 1);
	ck_assert_int_eq(f.deny, 2);
}
END_TEST

/* A front whose agent is not an admin answers 500, never a decision. */
START_TEST(a_front_the_broker_refuses_gives_no_decision)
{
	struct az_front g;
	int status;
	char *resp = NULL;

	ck_assert_int_eq(az_front_start(&g, &B, BT_SUMM), 0);
	ck_assert_int_eq(az_http(g.port, "POST", "/access/v1/evaluation",
	    BEARER, "{\"subject\":{\"type\":\"user\",\"id\":\"" RICK "\"},"
	    "\"action\":{\"name\":\"can_read_todos\"},\"resource\":{\"type\":"
	    "\"todo\",\"id\":\"1\"}}", &status, &resp), 0);
	ck_assert_int_eq(status, 500);
	ck_assert_ptr_null(strstr(resp, "decision"));
	free(resp);
	ck_assert_int_eq(az_front_stop(&g), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("authzen");
	TCase *tc = tcase_create("http");

	/* one broker and front for the suite, and nng cannot cross a fork:
	 * the tests run in this process */
	setenv("CK_FORK", "no", 1);

	tcase_add_unchecked_fixture(tc, start_all, stop_all);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, metadata_names_the_endpoints);
	tcase_add_test(tc, decisions_need_a_valid_bearer_credential);
	tcase_add_test(tc, evaluation_follows_the_roles);
	tcase_add_test(tc, a_deny_names_its_reason);
	tcase_add_test(tc, evaluations_follow_their_semantic);
	tcase_add_test(tc, evaluations_without_a_list_is_one_evaluation);
	tcase_add_test(tc, an_item_error_is_a_deny_with_its_error);
	tcase_add_test(tc, malformed_requests_are_refused);
	tcase_add_test(tc, the_request_id_is_echoed);
	tcase_add_test(tc, the_broker_op_checks_its_caller_and_subject);
	tcase_add_test(tc, every_decision_is_in_the_audit);
	tcase_add_test(tc, a_refusal_the_evaluator_decided_is_recorded);
	tcase_add_test(tc, a_front_the_broker_refuses_gives_no_decision);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
