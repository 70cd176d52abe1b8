/* Shared set-up of the MCP gateway's integration tests (mcp_fixture.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mandate/store.h>

#include "brk_flow.h"
#include "mcp_entities.h"
#include "mcp_fixture.h"
#include "testutil.h"

/* The default policies, and one that reads a tool call's arguments. */
static void
policies(struct mcp_fx *f)
{
	char path[700];
	FILE *fp;

	bf_policy_copy(&f->b, "pol", f->pol, sizeof(f->pol));
	snprintf(path, sizeof(path), "%s/90-mcp-args.cedar", f->pol);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("@id(\"sum-not-13\")\nforbid (principal, action == "
	    "Mandate::Action::\"get-sum\", resource)\nwhen { context.args has a "
	    "&& context.args.a == \"13\" };\n", fp);
	fclose(fp);
}

void
mcp_fx_start(struct mcp_fx *f)
{
	const char *args[] = { "--set", "stepup_timeout_ms=60000", "--set",
	    "audiences=" MCP_CLINIC_AUD "=none", "--set", "evaluators=" BT_ORCH,
	    "--policy-dir", f->pol, NULL };
	mdt_open_opts op = { .size = sizeof(op), .patient = "pat-001",
	    .purpose = "TREAT", .scopes = MCP_SCOPES };
	mdt_agent_opts o = { .size = sizeof(o), .spiffe_id = BT_ORCH,
	    .timeout_ms = 10000, .retry_ms = 20 };
	char err[MDT_ERRMSG_MAX];

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(bt_setup(&f->b, mcp_entities), 0);
	policies(f);
	ck_assert_msg(bt_start(&f->b, args) == 0, "broker (log %s)", f->b.log);
	o.url = f->b.url;
	o.key = bt_key(&f->b, BT_ORCH);
	ck_assert_msg(mdt_agent_connect(&o, &f->orch, err, sizeof(err)) == 0,
	    "connect: %s", err);
	f->jwt = bt_assertion(&f->b, "dr-alice", "pat-001", MCP_SCOPES, 0);
	op.assertion = f->jwt;
	ck_assert_msg(mdt_agent_open_task(f->orch, &op, &f->root, err,
	    sizeof(err)) == 0, "open: %s", err);
	ck_assert_msg(mdt_task_dispatch(f->root, MCP_AGENT, MCP_TOOLS, NULL, 0,
	    f->child, err, sizeof(err)) == 0, "dispatch: %s", err);
}

void
mcp_fx_config(struct mcp_fx *f, const char *step_up, const char *npm_dir,
    unsigned max_message)
{
	char key[600], err[MDT_ERRMSG_MAX];
	FILE *fp;

	snprintf(key, sizeof(key), "%s/mcp", f->b.dir);
	ck_assert_msg(mdt_keypair_save(bt_key(&f->b, MCP_AGENT), key, err,
	    sizeof(err)) == 0, "key: %s", err);
	snprintf(f->config, sizeof(f->config), "%s/mcp.conf", f->b.dir);
	fp = fopen(f->config, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "[broker]\nurl = %s\nevents = %s\n\n[agent]\nid = "
	    MCP_AGENT "\nkey = %s.key\ntask_wait_ms = 20000\n\n[gateway]\n"
	    "step_up = %s\nstep_up_wait_ms = 60000\nmax_message = %u\n\n",
	    f->b.url, f->b.pub, key, step_up, max_message);
	if (npm_dir != NULL)
		fprintf(fp, "[upstream everything]\ncommand = node %s/"
		    "node_modules/@modelcontextprotocol/server-everything/dist/"
		    "index.js stdio\n\n", npm_dir);
	fprintf(fp, "[upstream clinic]\ncommand = %s/examples/clinic/clinic-mcp "
	    "--data %s/examples/clinic/fhir/resources.json --root-pub %s "
	    "--audience " MCP_CLINIC_AUD " --events %s\naudience = "
	    MCP_CLINIC_AUD "\n", mdt_test_binary_dir(), mdt_test_source_dir(),
	    f->b.root_pub, f->b.pub);
	fclose(fp);
}

int
mcp_fx_approve(struct mcp_fx *f, const char *request_id)
{
	char err[MDT_ERRMSG_MAX];
	char *jwt = bt_assertion_act(&f->b, "dr-alice", "pat-001", MCP_SCOPES,
	    0, request_id, NULL);
	int rc = jwt == NULL ? -MDT_EINVAL : mdt_agent_decide_step_up(f->orch,
	    request_id, jwt, 1, "approved at the bedside", err, sizeof(err));

	free(jwt);
	return rc;
}

void
mcp_fx_stop(struct mcp_fx *f)
{
	mdt_task_free(f->root);
	mdt_agent_close(f->orch);
	free(f->jwt);
	bt_cleanup(&f->b);
}

int
mcp_fx_log_has(const char *path, const char *what)
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

struct mcp_approver {
	struct mcp_fx *f;
	pthread_t th;
	int approved;       /* step-ups approved */
	int stop;
	char err[MDT_ERRMSG_MAX];
	pthread_mutex_t lock;
};

static void *
approve_main(void *arg)
{
	struct mcp_approver *ap = arg;
	mdt_event_sub *s = NULL;
	int stop = 0;

	if (mdt_event_sub_open(ap->f->b.pub, &s, ap->err, sizeof(ap->err)) != 0)
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
			rc = mcp_fx_approve(ap->f, id);
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

struct mcp_approver *
mcp_fx_approver_start(struct mcp_fx *f)
{
	struct mcp_approver *ap = calloc(1, sizeof(*ap));

	ck_assert_ptr_nonnull(ap);
	ap->f = f;
	pthread_mutex_init(&ap->lock, NULL);
	ck_assert_int_eq(pthread_create(&ap->th, NULL, approve_main, ap), 0);
	return ap;
}

int
mcp_fx_approver_stop(struct mcp_approver *ap)
{
	int n;

	pthread_mutex_lock(&ap->lock);
	ap->stop = 1;
	pthread_mutex_unlock(&ap->lock);
	pthread_join(ap->th, NULL);
	n = ap->approved;
	pthread_mutex_destroy(&ap->lock);
	free(ap);
	return n;
}

void
mcp_fx_read_client(struct mcp_fx *f, FILE *out, int in,
    struct mcp_client_report *r)
{
	char line[16384], err[MDT_ERRMSG_MAX];

	memset(r, 0, sizeof(*r));
	while (fgets(line, sizeof(line), out) != NULL) {
		fputs(line, stderr);
		if (strncmp(line, "CHECK ", 6) == 0) {
			json_t *j = json_loads(line + 6, 0, NULL);
			r->checks++;
			r->failed += !json_is_true(json_object_get(j, "pass"));
			json_decref(j);
		} else if (strncmp(line, "READY-CANCEL", 12) == 0) {
			ck_assert_msg(mdt_task_cancel(f->root, "the clinician "
			    "stopped the task", err, sizeof(err)) == 0,
			    "cancel: %s", err);
			ck_assert_int_eq(write(in, "go\n", 3), 3);
		} else if (strncmp(line, "CALLS ", 6) == 0) {
			json_decref(r->calls);
			r->calls = json_loads(line + 6, 0, NULL);
		} else if (strncmp(line, "DONE ", 5) == 0) {
			r->done = 1;
		}
	}
}

struct audit_count {
	char prefix[80];
	int n;
};

static int
count_cb(void *arg, const mdt_store_decision *r)
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
audited(struct mcp_fx *f, const char *name)
{
	mdt_store_opts ro = { .read_only = 1 };
	mdt_store *st = NULL;
	struct audit_count a = { "", 0 };
	char err[MDT_ERRMSG_MAX];

	snprintf(a.prefix, sizeof(a.prefix), "tool/%s", name);
	ck_assert_msg(mdt_store_open(f->b.store, &ro, &st, err, sizeof(err)) == 0,
	    "store: %s", err);
	ck_assert_int_eq(mdt_store_list_decisions(st, 0, 0, count_cb, &a), 0);
	mdt_store_close(st);
	return a.n;
}

/* Every call the client made has its own authorize record. */
void
mcp_fx_check_audit(struct mcp_fx *f, json_t *calls)
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
		ck_assert_msg(audited(f, name) >= json_integer_value(v),
		    "%d authorize records of tool/%s for %d calls",
		    audited(f, name), name, (int)json_integer_value(v));
	json_decref(seen);
}

const char *
mcp_fx_env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL, "%s is not set", name);
	return v;
}
