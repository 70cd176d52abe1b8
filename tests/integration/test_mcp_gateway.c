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
#include <mandate/audit.h>

#include "mcp_fixture.h"
#include "testutil.h"

extern char **environ;

static struct mcp_fx F;

struct approver {
	pthread_t th;
	int approved;       /* step-ups approved */
	int stop;
	char err[MDT_ERRMSG_MAX];
	pthread_mutex_t lock;
};

/* The clinician: approves the gateway's step-ups, after a pause long
 * enough that the client is seen waiting. */
static void *
approve_main(void *arg)
{
	struct approver *ap = arg;
	mdt_event_sub *s = NULL;
	int stop = 0;

	if (mdt_event_sub_open(F.b.pub, &s, ap->err, sizeof(ap->err)) != 0)
		return NULL;
	while (!stop) {
		mdt_event ev;
		if (mdt_event_sub_next(s, 200, &ev) == 0 &&
		    ev.kind == MDT_EVENT_STEP_UP &&
		    strcmp(ev.agent, MCP_AGENT) == 0) {
			char id[MDT_AGENT_ID_MAX];
			int rc;
			snprintf(id, sizeof(id), "%s", ev.request_id);
			nanosleep(&(struct timespec){ 1, 500000000L }, NULL);
			rc = mcp_fx_approve(&F, id);
			pthread_mutex_lock(&ap->lock);
			ap->approved += rc == 0;
			pthread_mutex_unlock(&ap->lock);
		}
		pthread_mutex_lock(&ap->lock);
		stop = ap->stop;
		pthread_mutex_unlock(&ap->lock);
	}
	mdt_event_sub_close(s);
	return NULL;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);
	ck_assert_msg(v != NULL, "%s is not set", name);
	return v;
}

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

	snprintf(script, sizeof(script), "%s/mcp_client.mjs", env("MDT_NPM_DIR"));
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

struct audit_count {
	char prefix[80];
	int n;
};

static int
count_cb(void *arg, const mdt_audit_decision *r)
{
	struct audit_count *a = arg;
	size_t n = strlen(a->prefix);

	if (strcmp(r->operation, "authorize") == 0 && r->agent != NULL &&
	    strcmp(r->agent, MCP_AGENT) == 0 && r->resource != NULL &&
	    strncmp(r->resource, a->prefix, n) == 0 &&
	    (r->resource[n] == 0 || r->resource[n] == '?'))
		a->n++;
	return 0;
}

/* Authorize records of the gateway's agent on tool/NAME. */
static int
audited(const char *name)
{
	mdt_store_opts ro = { .read_only = 1 };
	mdt_store *st = NULL;
	struct audit_count a = { "", 0 };
	char err[MDT_ERRMSG_MAX];

	snprintf(a.prefix, sizeof(a.prefix), "tool/%s", name);
	ck_assert_msg(mdt_store_open(F.b.store, &ro, &st, err, sizeof(err)) == 0,
	    "store: %s", err);
	ck_assert_int_eq(mdt_store_list_decisions(st, 0, 0, count_cb, &a), 0);
	mdt_store_close(st);
	return a.n;
}

/* Every call the client made has its own authorize record. */
static void
check_audit(json_t *calls)
{
	json_t *seen = json_object(), *v;
	const char *name;
	size_t i;

	json_array_foreach(calls, i, v) {
		json_int_t n = json_integer_value(json_object_get(seen,
		    json_string_value(v)));
		json_object_set_new(seen, json_string_value(v),
		    json_integer(n + 1));
	}
	json_object_foreach(seen, name, v)
		ck_assert_msg(audited(name) >= json_integer_value(v),
		    "%d authorize records of tool/%s for %d calls",
		    audited(name), name, (int)json_integer_value(v));
	json_decref(seen);
}

START_TEST(mcp_gateway_with_real_clients)
{
	char line[16384], err[MDT_ERRMSG_MAX];
	struct approver ap;
	struct client c;
	json_t *calls = NULL;
	int checks = 0, failed = 0, done = 0, status;

	mcp_fx_start(&F);
	mcp_fx_config(&F, "wait", env("MDT_NPM_DIR"), 4194304);
	memset(&ap, 0, sizeof(ap));
	pthread_mutex_init(&ap.lock, NULL);
	ck_assert_int_eq(pthread_create(&ap.th, NULL, approve_main, &ap), 0);
	start_client(&c, F.config);
	while (fgets(line, sizeof(line), c.out) != NULL) {
		fputs(line, stderr);
		if (strncmp(line, "CHECK ", 6) == 0) {
			json_t *j = json_loads(line + 6, 0, NULL);
			checks++;
			failed += !json_is_true(json_object_get(j, "pass"));
			json_decref(j);
		} else if (strncmp(line, "READY-CANCEL", 12) == 0) {
			ck_assert_msg(mdt_task_cancel(F.root, "the clinician "
			    "stopped the task", err, sizeof(err)) == 0,
			    "cancel: %s", err);
			ck_assert_int_eq(write(c.in, "go\n", 3), 3);
		} else if (strncmp(line, "CALLS ", 6) == 0) {
			calls = json_loads(line + 6, 0, NULL);
		} else if (strncmp(line, "DONE ", 5) == 0) {
			done = 1;
		}
	}
	close(c.in);
	fclose(c.out);
	waitpid(c.pid, &status, 0);
	pthread_mutex_lock(&ap.lock);
	ap.stop = 1;
	pthread_mutex_unlock(&ap.lock);
	pthread_join(ap.th, NULL);
	ck_assert_msg(done && failed == 0 && checks >= 16, "%d of %d checks "
	    "failed (client log %s)", failed, checks, c.log);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client");
	ck_assert_int_eq(ap.approved, 1);
	ck_assert_ptr_nonnull(calls);
	check_audit(calls);
	ck_assert_msg(!mcp_fx_log_has(c.log, "Sanitizer"), "sanitizer report in %s",
	    c.log);
	json_decref(calls);
	pthread_mutex_destroy(&ap.lock);
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
