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

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

#define MCP_AGENT "spiffe://clinic.example/agent/mcp"
#define CLINIC_AUD "spiffe://clinic.example/mcp/clinic"
#define TOOLS "tool/echo.x tool/get-sum.x tool/fhir-read.x " \
	"tool/fhir-search.x tool/export.x"
#define SCOPES "patient/*.rs " TOOLS " tool/get-env.x"

extern char **environ;

static struct bt_broker B;

/* The gateway's agent, the tools (one Cedar action each) and an
 * orchestrator allowed to hand it work. */
static const char extra[] =
"[{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":\"" MCP_AGENT "\"},"
" \"attrs\":{\"kind\":\"mcp-gateway\",\"ceiling\":[\"tool/echo.x\","
"  \"tool/get-sum.x\",\"tool/get-env.x\",\"tool/fhir-read.x\","
"  \"tool/fhir-search.x\",\"tool/export.x\"],\"allowedTargets\":[],"
"  \"maxDepth\":1,\"maxFanout\":0,\"publicKey\":\"\",\"tools\":["
"  {\"__entity\":{\"type\":\"Mandate::Tool\",\"id\":\"echo\"}},"
"  {\"__entity\":{\"type\":\"Mandate::Tool\",\"id\":\"get-sum\"}},"
"  {\"__entity\":{\"type\":\"Mandate::Tool\",\"id\":\"get-env\"}},"
"  {\"__entity\":{\"type\":\"Mandate::Tool\",\"id\":\"fhir-read\"}},"
"  {\"__entity\":{\"type\":\"Mandate::Tool\",\"id\":\"fhir-search\"}},"
"  {\"__entity\":{\"type\":\"Mandate::Tool\",\"id\":\"export\"}}]},"
" \"parents\":[]},"
#define TOOL(n) \
"{\"uid\":{\"type\":\"Mandate::Action\",\"id\":\"" n "\"},\"attrs\":{}," \
" \"parents\":[{\"type\":\"Mandate::Action\",\"id\":\"tool\"}]}," \
"{\"uid\":{\"type\":\"Mandate::Tool\",\"id\":\"" n "\"},\"attrs\":{" \
" \"action\":{\"__entity\":{\"type\":\"Mandate::Action\",\"id\":\"" n "\"}}," \
" \"boundary\":\"none\"},\"parents\":[]},"
TOOL("echo") TOOL("get-sum") TOOL("get-env") TOOL("fhir-read")
TOOL("fhir-search")
"{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":\"" BT_ORCH "\"},"
" \"attrs\":{\"kind\":\"orchestrator\",\"ceiling\":[\"patient/*.cruds\","
"  \"tool/*.x\"],\"allowedTargets\":["
"  {\"__entity\":{\"type\":\"Mandate::Agent\",\"id\":\"" MCP_AGENT "\"}}],"
"  \"maxDepth\":0,\"maxFanout\":8,\"tools\":[],\"publicKey\":\"\"},"
" \"parents\":[]}]";

struct approver {
	mdt_agent *orch;
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

	if (mdt_event_sub_open(B.pub, &s, ap->err, sizeof(ap->err)) != 0)
		return NULL;
	while (!stop) {
		mdt_event ev;
		if (mdt_event_sub_next(s, 200, &ev) == 0 &&
		    ev.kind == MDT_EVENT_STEP_UP &&
		    strcmp(ev.agent, MCP_AGENT) == 0) {
			char id[MDT_AGENT_ID_MAX], *jwt;
			snprintf(id, sizeof(id), "%s", ev.request_id);
			nanosleep(&(struct timespec){ 1, 500000000L }, NULL);
			jwt = bt_assertion_act(&B, "dr-alice", "pat-001", SCOPES,
			    0, id, NULL);
			pthread_mutex_lock(&ap->lock);
			if (jwt != NULL && mdt_agent_decide_step_up(ap->orch, id,
			    jwt, 1, "approved at the bedside", ap->err,
			    sizeof(ap->err)) == 0)
				ap->approved++;
			pthread_mutex_unlock(&ap->lock);
			free(jwt);
		}
		pthread_mutex_lock(&ap->lock);
		stop = ap->stop;
		pthread_mutex_unlock(&ap->lock);
	}
	mdt_event_sub_close(s);
	return NULL;
}

static mdt_agent *
connect_as(const char *id)
{
	mdt_agent_opts o = { B.url, id, bt_key(&B, id), 10000, 20 };
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;

	ck_assert_msg(mdt_agent_connect(&o, &a, err, sizeof(err)) == 0,
	    "connect %s: %s", id, err);
	return a;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);
	ck_assert_msg(v != NULL, "%s is not set", name);
	return v;
}

/* The gateway's configuration and key, in the broker's directory. */
static void
write_config(char *path, size_t len)
{
	char key[600], err[MDT_ERRMSG_MAX];
	FILE *f;

	snprintf(key, sizeof(key), "%s/mcp", B.dir);
	ck_assert_msg(mdt_keypair_save(bt_key(&B, MCP_AGENT), key, err,
	    sizeof(err)) == 0, "key: %s", err);
	snprintf(path, len, "%s/mcp.conf", B.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[broker]\nurl = %s\nevents = %s\n\n"
	    "[agent]\nid = " MCP_AGENT "\nkey = %s.key\ntask_wait_ms = 20000\n\n"
	    "[gateway]\nstep_up = wait\nstep_up_wait_ms = 60000\n\n"
	    "[upstream everything]\ncommand = node %s/node_modules/"
	    "@modelcontextprotocol/server-everything/dist/index.js stdio\n\n"
	    "[upstream clinic]\ncommand = %s/examples/clinic/clinic-mcp --data "
	    "%s/examples/clinic/fhir/resources.json --root-pub %s --audience "
	    CLINIC_AUD " --events %s\naudience = " CLINIC_AUD "\n",
	    B.url, B.pub, key, env("MDT_NPM_DIR"), env("MDT_BINARY_DIR"),
	    env("MDT_SOURCE_DIR"), B.root_pub, B.pub);
	fclose(f);
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
	    env("MDT_BINARY_DIR"), config);
	snprintf(clinic, sizeof(clinic), "[\"%s/examples/clinic/clinic-mcp\","
	    "\"--data\",\"%s/examples/clinic/fhir/resources.json\",\"--root-pub\","
	    "\"%s\",\"--audience\",\"" CLINIC_AUD "\"]", env("MDT_BINARY_DIR"),
	    env("MDT_SOURCE_DIR"), B.root_pub);
	setenv("MANDATE_MCP_CMD", gw, 1);
	setenv("CLINIC_MCP_CMD", clinic, 1);
	snprintf(c->log, sizeof(c->log), "%s/client.log", B.dir);
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

static int
log_has(const char *path, const char *what)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	int hit = 0;

	while (f != NULL && !hit && fgets(line, sizeof(line), f) != NULL)
		hit = strstr(line, what) != NULL;
	if (f != NULL)
		fclose(f);
	return hit;
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
	ck_assert_msg(mdt_store_open(B.store, &ro, &st, err, sizeof(err)) == 0,
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

/* The default policies, and one that reads a tool call's arguments. */
static void
policies(char *dir, size_t len)
{
	char path[700];
	FILE *f;

	bf_policy_copy(&B, "pol", dir, len);
	snprintf(path, sizeof(path), "%s/90-mcp-args.cedar", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("@id(\"sum-not-13\")\nforbid (principal, action == "
	    "Mandate::Action::\"get-sum\", resource)\nwhen { context.args has a "
	    "&& context.args.a == \"13\" };\n", f);
	fclose(f);
}

START_TEST(mcp_gateway_with_real_clients)
{
	char pol[300];
	const char *args[] = { "--set", "stepup_timeout_ms=60000", "--set",
	    "audiences=" CLINIC_AUD "=none", "--policy-dir", pol, NULL };
	char config[600], line[16384], err[MDT_ERRMSG_MAX], child[MDT_AGENT_ID_MAX];
	struct approver ap;
	struct client c;
	char *jwt = NULL;
	mdt_open_opts op = { NULL, "pat-001", "TREAT", SCOPES };
	mdt_task *root = NULL;
	json_t *calls = NULL;
	int checks = 0, failed = 0, done = 0, status;

	ck_assert_int_eq(bt_setup(&B, extra), 0);
	policies(pol, sizeof(pol));
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
	memset(&ap, 0, sizeof(ap));
	pthread_mutex_init(&ap.lock, NULL);
	ap.orch = connect_as(BT_ORCH);
	jwt = bt_assertion(&B, "dr-alice", "pat-001", SCOPES, 0);
	op.assertion = jwt;
	ck_assert_msg(mdt_agent_open_task(ap.orch, &op, &root, err,
	    sizeof(err)) == 0, "open: %s", err);
	/* the gateway's task: every tool but get-env */
	ck_assert_msg(mdt_task_dispatch(root, MCP_AGENT, TOOLS, NULL, 0, child,
	    err, sizeof(err)) == 0, "dispatch: %s", err);
	write_config(config, sizeof(config));
	ck_assert_int_eq(pthread_create(&ap.th, NULL, approve_main, &ap), 0);
	start_client(&c, config);
	while (fgets(line, sizeof(line), c.out) != NULL) {
		fputs(line, stderr);
		if (strncmp(line, "CHECK ", 6) == 0) {
			json_t *j = json_loads(line + 6, 0, NULL);
			checks++;
			failed += !json_is_true(json_object_get(j, "pass"));
			json_decref(j);
		} else if (strncmp(line, "READY-CANCEL", 12) == 0) {
			ck_assert_msg(mdt_task_cancel(root, "the clinician "
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
	ck_assert_msg(!log_has(c.log, "Sanitizer"), "sanitizer report in %s",
	    c.log);
	json_decref(calls);
	mdt_task_free(root);
	mdt_agent_close(ap.orch);
	pthread_mutex_destroy(&ap.lock);
	free(jwt);
	bt_cleanup(&B);
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
