/*
 * mandate-mcp spoken to line by line: the JSON-RPC refusals (not JSON, a
 * batch, an oversized line, calls before initialize, unknown methods and
 * tools), version negotiation, a step-up answered as pending and picked
 * up by the same call once the clinician approved (step_up = pending),
 * and the task completed when the client's input ends (on_exit).
 */
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "mcp_fixture.h"
#include "testutil.h"

extern char **environ;

static struct mcp_fx F;

struct gw {
	pid_t pid;
	int in, out;
	char buf[65536];
	size_t len;
	char log[600];
};

static void
gw_start(struct gw *g)
{
	char bin[600], flag[] = "--config";
	char *argv[] = { bin, flag, F.config, NULL };
	int pin[2], pout[2];
	posix_spawn_file_actions_t fa;

	memset(g, 0, sizeof(*g));
	snprintf(bin, sizeof(bin), "%s/mcp/mandate-mcp", mdt_test_binary_dir());
	snprintf(g->log, sizeof(g->log), "%s/gateway.log", F.b.dir);
	ck_assert_int_eq(pipe(pin), 0);
	ck_assert_int_eq(pipe(pout), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, g->log, O_WRONLY | O_CREAT |
	    O_TRUNC, 0600);
	posix_spawn_file_actions_addclose(&fa, pin[1]);
	posix_spawn_file_actions_addclose(&fa, pout[0]);
	ck_assert_int_eq(posix_spawn(&g->pid, bin, &fa, NULL, argv, environ),
	    0);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	g->in = pin[1];
	g->out = pout[0];
}

static void
gw_send(struct gw *g, const char *line)
{
	size_t n = strlen(line);

	ck_assert_int_eq(write(g->in, line, n), (ssize_t)n);
	ck_assert_int_eq(write(g->in, "\n", 1), 1);
}

/* The next line from the gateway (60 s at most); caller decrefs. */
static json_t *
gw_line(struct gw *g)
{
	for (;;) {
		char *nl = memchr(g->buf, '\n', g->len);
		struct pollfd p = { g->out, POLLIN, 0 };
		ssize_t n;
		if (nl != NULL) {
			json_t *j = json_loadb(g->buf, (size_t)(nl - g->buf), 0,
			    NULL);
			g->len -= (size_t)(nl - g->buf) + 1;
			memmove(g->buf, nl + 1, g->len);
			ck_assert_ptr_nonnull(j);
			return j;
		}
		ck_assert_msg(poll(&p, 1, 60000) == 1, "no answer (log %s)",
		    g->log);
		n = read(g->out, g->buf + g->len, sizeof(g->buf) - g->len);
		ck_assert_msg(n > 0, "the gateway closed (log %s)", g->log);
		g->len += (size_t)n;
	}
}

/* The answer to the request with this id (notifications skipped). */
static json_t *
gw_answer(struct gw *g, json_t *id)
{
	for (;;) {
		json_t *j = gw_line(g);
		if (json_equal(json_object_get(j, "id"), id) &&
		    json_object_get(j, "method") == NULL) {
			json_decref(id);
			return j;
		}
		json_decref(j);
	}
}

static int
error_code(json_t *a)
{
	return (int)json_integer_value(json_object_get(json_object_get(a,
	    "error"), "code"));
}

static void
refused(struct gw *g, const char *line, json_t *id, int code)
{
	json_t *a;

	gw_send(g, line);
	a = gw_answer(g, id);
	ck_assert_msg(error_code(a) == code, "%s: %d", line, error_code(a));
	json_decref(a);
}

static json_t *
export_call(struct gw *g, int id)
{
	char line[512];
	json_t *a, *r;

	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"export\",\"arguments\":{"
	    "\"patient\":\"pat-001\",\"destination\":\"payer-portal\"}}}", id);
	gw_send(g, line);
	a = gw_answer(g, json_integer(id));
	r = json_incref(json_object_get(a, "result"));
	ck_assert_ptr_nonnull(r);
	json_decref(a);
	return r;
}

static void
protocol_refusals(struct gw *g)
{
	char big[3000];

	refused(g, "not json", json_null(), -32700);
	refused(g, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
	    json_null(), -32600);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	refused(g, big, json_null(), -32600);
	refused(g, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}",
	    json_integer(2), -32600);
}

static void
initialize(struct gw *g)
{
	json_t *a;
	char *names;

	gw_send(g, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}");
	a = gw_answer(g, json_string("p"));
	ck_assert(json_is_object(json_object_get(a, "result")));
	json_decref(a);
	gw_send(g, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\","
	    "\"params\":{\"protocolVersion\":\"1999-01-01\",\"capabilities\":{},"
	    "\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}");
	a = gw_answer(g, json_integer(3));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
	    "result"), "protocolVersion")), "2025-11-25");
	json_decref(a);
	gw_send(g, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
	gw_send(g, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}");
	a = gw_answer(g, json_integer(4));
	names = json_dumps(json_object_get(a, "result"), JSON_COMPACT);
	ck_assert_msg(strstr(names, "\"fhir-read\"") && strstr(names,
	    "\"export\"") && !strstr(names, "\"echo\""), "%s", names);
	free(names);
	json_decref(a);
	refused(g, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/list\"}",
	    json_integer(5), -32601);
	refused(g, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\","
	    "\"params\":{\"name\":\"Bad Name\"}}", json_integer(6), -32602);
}

START_TEST(pending_step_up_and_refusals)
{
	struct gw g;
	json_t *r, *d;
	char err[MDT_ERRMSG_MAX], id[MDT_AGENT_ID_MAX];
	uint8_t *res = NULL;
	size_t len = 0;
	int status;

	mcp_fx_start(&F);
	mcp_fx_config(&F, "pending", NULL, 2048);
	gw_start(&g);
	protocol_refusals(&g);
	initialize(&g);

	r = export_call(&g, 7);
	d = json_object_get(json_object_get(r, "_meta"), "io.mandate/decision");
	ck_assert(json_is_true(json_object_get(r, "isError")));
	ck_assert_str_eq(json_string_value(json_object_get(d, "decision")),
	    "pending");
	ck_assert_str_eq(json_string_value(json_object_get(d, "reason")),
	    "step_up.required");
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(d,
	    "stepup")));
	ck_assert_int_ne(strlen(id), 0);
	json_decref(r);
	ck_assert_int_eq(mcp_fx_approve(&F, id), 0);
	r = export_call(&g, 8);
	ck_assert(!json_is_true(json_object_get(r, "isError")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(
	    json_array_get(json_object_get(r, "content"), 0), "text")),
	    "\"sent\""));
	json_decref(r);

	/* end of input: the gateway completes its task and exits 0 */
	close(g.in);
	ck_assert_int_eq(waitpid(g.pid, &status, 0), g.pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "exit status %d (log %s)", status, g.log);
	ck_assert_msg(mdt_task_wait_result(F.root, F.child, 20000, &res, &len,
	    err, sizeof(err)) == 0, "result: %s", err);
	ck_assert_int_eq(len, 17);
	ck_assert_int_eq(memcmp(res, "mcp session ended", 17), 0);
	mdt_free(res);
	close(g.out);
	ck_assert_msg(!mcp_fx_log_has(g.log, "Sanitizer"), "sanitizer report in %s",
	    g.log);
	mcp_fx_stop(&F);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mcp_raw");
	TCase *tc = tcase_create("raw");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, pending_step_up_and_refusals);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
