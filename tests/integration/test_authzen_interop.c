/*
 * The OpenID AuthZEN interop suite's Todo decisions for the Authorization
 * API 1.0 (examples/authzen-todo/decisions-authorization-api-1_0-02.json,
 * origin in examples/authzen-todo/README.md), every request sent over
 * real HTTP to mandate-authzen in front of a real mandated loaded with
 * the scenario's Cedar policies and entities.  An answer passes when it
 * is what the suite's own runner compares: the evaluation's decision, or
 * the evaluations array as JSON.  Prints "N passed, N failed"; fails
 * unless every request passes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "az_test.h"

#define SUITE "examples/authzen-todo/decisions-authorization-api-1_0-02.json"

static struct bt_broker B;
static struct az_front F;

static char *
read_text(const char *rel)
{
	char path[600];
	json_t *j;
	char *s;

	snprintf(path, sizeof(path), "%s/%s", getenv("MDT_SOURCE_DIR"), rel);
	if ((j = json_load_file(path, 0, NULL)) == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static int
start(void)
{
	static char pol[600];
	const char *args[] = { "--policy-dir", pol, "--set",
	    "evaluators=" BT_ORCH, NULL };
	char *ents = read_text("examples/authzen-todo/entities.json");
	int rc;

	snprintf(pol, sizeof(pol), "%s/examples/authzen-todo/policies",
	    getenv("MDT_SOURCE_DIR"));
	if (ents == NULL)
		return -1;
	rc = bt_setup(&B, ents);
	free(ents);
	if (rc != 0 || bt_start(&B, args) != 0) {
		fprintf(stderr, "broker did not start (log %s)\n", B.log);
		return -1;
	}
	return az_front_start(&F, &B, BT_ORCH);
}

/* 1 when the answer to one case is the expected one. */
static int
run_case(const char *endpoint, json_t *c)
{
	char path[64], *req = json_dumps(json_object_get(c, "request"),
	    JSON_COMPACT), *resp = NULL;
	json_t *want = json_object_get(c, "expected"), *got = NULL, *ans;
	int status = 0, pass = 0;

	snprintf(path, sizeof(path), "/access/v1/%s", endpoint);
	if (req != NULL && az_http(F.port, "POST", path,
	    "Bearer " AZ_TEST_TOKEN, req, &status, &resp) == 0 &&
	    status == 200 && (ans = json_loads(resp, 0, NULL)) != NULL) {
		got = json_object_get(ans, strcmp(endpoint, "evaluation") ==
		    0 ? "decision" : "evaluations");
		pass = got != NULL && json_equal(got, want);
		json_decref(ans);
	}
	printf("%s %s %s -> %d %s\n", pass ? "PASS" : "FAIL", endpoint, req,
	    status, resp ? resp : "");
	free(req);
	free(resp);
	return pass;
}

int
main(void)
{
	static const char *const endpoints[] = { "evaluation", "evaluations" };
	char path[600];
	json_t *suite, *c;
	size_t i, passed = 0, failed = 0;

	snprintf(path, sizeof(path), "%s/" SUITE, getenv("MDT_SOURCE_DIR"));
	if ((suite = json_load_file(path, 0, NULL)) == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	if (start() != 0) {
		fprintf(stderr, "mandate-authzen did not start\n");
		bt_cleanup(&B);
		json_decref(suite);
		return 1;
	}
	for (size_t e = 0; e < 2; e++)
		json_array_foreach(json_object_get(suite, endpoints[e]), i, c) {
			if (run_case(endpoints[e], c))
				passed++;
			else
				failed++;
		}
	json_decref(suite);
	printf("%zu passed, %zu failed\n", passed, failed);
	if (az_front_stop(&F) != 0 || bt_stop(&B, SIGTERM) != 0)
		failed++;
	bt_cleanup(&B);
	return failed == 0 && passed > 0 ? 0 : 1;
}
