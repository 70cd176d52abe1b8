/* Shared set-up of the MCP gateway's integration tests (mcp_fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	    "audiences=" MCP_CLINIC_AUD "=none", "--policy-dir", f->pol, NULL };
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
