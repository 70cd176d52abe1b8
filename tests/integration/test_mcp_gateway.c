/*
 * mandate-mcp against real MCP software: the official MCP TypeScript SDK
 * as the client (tests/npm/mcp_client.mjs) and, upstream,
 * @modelcontextprotocol/server-everything and the clinic's MCP server
 * (which verifies every presentation offline), with a real mandated.
 * The client checks what it sees (allowed calls return the upstream's
 * result; a tool outside the task's scopes is neither listed nor served;
 * another patient's id is refused; the export waits for the clinician's
 * approval; after the task is cancelled nothing is served); this driver
 * plays the orchestrator and the clinician, and checks that every call
 * the client made is in the audit store.
 */
#include <pthread.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <mandate/agent.h>
#include <mandate/store.h>

#include "mcp_fixture.h"
#include "testutil.h"

extern char **environ;

static struct mcp_fx F;

struct client {
	pid_t pid;
	FILE *out;     /* its stdout */
	int in;        /* its stdin */
	char log[600]; /* its stderr, and the gateway's */
};

static void
start_client(struct client *c, const char *config)
{
	char script[600], gw[2048], clinic[2048], node[] = "node";
	int pin[2], pout[2];
	posix_spawn_file_actions_t fa;
	char *argv[] = { node, script, NULL };

	snprintf(script, sizeof(script), "%s/mcp_client.mjs", mcp_fx_env("MDT_NPM_DIR"));
	snprintf(gw, sizeof(gw), "[\"%s/mcp/mandate-mcp\",\"--config\",\"%s\"]",
	    mdt_test_binary_dir(), config);
	snprintf(clinic, sizeof(clinic), "[\"%s/examples/clinic/clinic-mcp\","
	    "\"--data\",\"%s/examples/clinic/fhir/resources.json\",\"--root-pub\","
	    "\"%s\",\"--audience\",\"" MCP_CLINIC_AUD "\"]",
	    mdt_test_binary_dir(), mdt_test_source_dir(), F.b.root_pub);
	setenv("MANDATE_MCP_CMD", gw, 1);
	setenv("CLINIC_MCP_CMD", clinic, 1);
	snprintf(c->log, sizeof(c->log), "%s/client.log", F.b.dir);
	ck_assert_int_eq(pipe(pin), 0);
	ck_assert_int_eq(pipe(pout), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, c->log, O_WRONLY | O_CREAT |
	    O_TRUNC, 0600);
	posix_spawn_file_actions_addclose(&fa, pin[1]);
	posix_spawn_file_actions_addclose(&fa, pout[0]);
	ck_assert_msg(posix_spawnp(&c->pid, "node", &fa, NULL, argv,
	    environ) == 0, "node not found");
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	c->in = pin[1];
	c->out = fdopen(pout[0], "r");
	ck_assert_ptr_nonnull(c->out);
}

START_TEST(mcp_gateway_with_real_clients)
{
	struct mcp_approver *ap;
	struct mcp_client_report rep;
	struct client c;
	int status;

	mcp_fx_start(&F);
	mcp_fx_config(&F, "wait", mcp_fx_env("MDT_NPM_DIR"), 4194304);
	ap = mcp_fx_approver_start(&F);
	start_client(&c, F.config);
	mcp_fx_read_client(&F, c.out, c.in, &rep);
	close(c.in);
	fclose(c.out);
	waitpid(c.pid, &status, 0);
	ck_assert_int_eq(mcp_fx_approver_stop(ap), 1);
	ck_assert_msg(rep.done && rep.failed == 0 && rep.checks >= 16, "%d of "
	    "%d checks failed (client log %s)", rep.failed, rep.checks, c.log);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client");
	ck_assert_ptr_nonnull(rep.calls);
	mcp_fx_check_audit(&F, rep.calls);
	ck_assert_msg(!mcp_fx_log_has(c.log, "Sanitizer"), "sanitizer report in %s",
	    c.log);
	json_decref(rep.calls);
	mcp_fx_stop(&F);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mcp_gateway");
	TCase *tc = tcase_create("real_clients");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, mcp_gateway_with_real_clients);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
