/*
 * Shared set-up of the MCP gateway's integration tests: a broker whose
 * registry has the gateway's agent, its tools and an orchestrator that
 * may hand it work; a policy that reads a tool call's arguments; the
 * orchestrator's task with its subtask for the gateway; and the
 * gateway's configuration file.
 */
#ifndef MCP_FIXTURE_H
#define MCP_FIXTURE_H

#include <stdio.h>

#include <jansson.h>

#include <mandate/agent.h>

#include "brk_test.h"
#include "mcp_entities.h"

#define MCP_CLINIC_AUD "spiffe://clinic.example/mcp/clinic"
/* the gateway's task: every tool but get-env */
#define MCP_TOOLS "tool/echo.x tool/get-sum.x tool/fhir-read.x " \
	"tool/fhir-search.x tool/export.x tool/check-headers.x"
#define MCP_SCOPES "patient/*.rs " MCP_TOOLS " tool/get-env.x"

struct mcp_fx {
	struct bt_broker b;
	char pol[300];
	char *jwt;          /* dr-alice, pat-001 */
	mdt_agent *orch;
	mdt_task *root;
	char child[MDT_AGENT_ID_MAX];  /* the gateway's task */
	char config[600];
};

/* Starts the broker (with the policies above) and hands the gateway its
 * task; checks fail the running test. */
void mcp_fx_start(struct mcp_fx *f);
/* Writes f->config: step_up ("wait" or "pending"), the everything
 * upstream when npm_dir is not NULL, and max_message. */
void mcp_fx_config(struct mcp_fx *f, const char *step_up,
    const char *npm_dir, unsigned max_message);
/* Approves step-up request_id as dr-alice; 0 or the SDK's error. */
int mcp_fx_approve(struct mcp_fx *f, const char *request_id);
void mcp_fx_stop(struct mcp_fx *f);
/* The clinician: approves the gateway's step-ups (as dr-alice), each
 * after a pause long enough that the client is seen waiting. */
struct mcp_approver;
struct mcp_approver *mcp_fx_approver_start(struct mcp_fx *f);
/* Stops it; the number of step-ups it approved. */
int mcp_fx_approver_stop(struct mcp_approver *ap);

/* What a test client (tests/npm/mcp_*client.mjs) reported. */
struct mcp_client_report {
	int checks, failed, done;
	json_t *calls;      /* the tools it called, in order */
};

/* Reads a client's report lines from out until it ends, echoing them to
 * standard error; on READY-CANCEL cancels the task and answers "go" on
 * in.  The caller decrefs r->calls. */
void mcp_fx_read_client(struct mcp_fx *f, FILE *out, int in,
    struct mcp_client_report *r);
/* Checks that every call in calls has its authorize record. */
void mcp_fx_check_audit(struct mcp_fx *f, json_t *calls);

/* The environment variable name; its absence fails the test. */
const char *mcp_fx_env(const char *name);

/* 1 when a line of the file at path contains what (a sanitizer report
 * in a child's log). */
int mcp_fx_log_has(const char *path, const char *what);

#endif
