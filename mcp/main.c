/*
 * mandate-mcp: an MCP server on stdio that fronts upstream MCP servers
 * for one agent and one task.  main parses the command line and the
 * configuration, takes the task, starts the upstreams, serves the client
 * until its input ends, then tears down in reverse order.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mandate/key.h>

#include "gateway.h"

static const char usage_text[] =
"usage: mandate-mcp --config FILE\n"
"       mandate-mcp --check --config FILE\n"
"\n"
"An MCP server on standard input and output (newline-delimited JSON-RPC\n"
"2.0, protocol revision " MCP_PROTOCOL_LATEST "), or on MCP's Streamable HTTP\n"
"transport when FILE sets [http] listen, that fronts the upstream MCP\n"
"servers named in FILE for one agent and one task.  At start it connects\n"
"to the broker as the agent (its Ed25519 key, or its X.509-SVID), takes\n"
"the next task addressed to it, and starts every upstream (a child\n"
"process over stdio, or a URL over Streamable HTTP).  Then:\n"
"  tools/list  the upstreams' tools that the task's tool/ scopes grant\n"
"  tools/call  one authorize of \"x\" on tool/NAME?ARGS; on allow the call\n"
"              goes upstream with the single-action token and its proof\n"
"              in params._meta (" MCP_META_TOKEN ", " MCP_META_PROOF ")\n"
"              and, to an HTTP upstream, in the Mandate-Token and\n"
"              Mandate-Proof headers;\n"
"              a deny is a tool error naming the reason and condition;\n"
"              a step-up waits for the clinician or answers pending\n"
"When the task is completed or cancelled every call is refused.  At the\n"
"end of input (stdio) or on SIGINT/SIGTERM (HTTP) the task is completed\n"
"(on_exit = complete) and the upstreams are stopped.  Diagnostics go to\n"
"standard error (MANDATE_MCP_TIMING=1: each call's phases, in us).\n"
"\n"
"options:\n"
"  -c, --config FILE  the configuration (docs/mcp.md; example:\n"
"                     mcp/mandate-mcp.conf.example)\n"
"      --check        read the configuration, report, and exit\n"
"  -h, --help         this text\n"
"  -V, --version      the version\n"
"\n"
"exit status: 0 after the client closed its input (or a signal), 1 when the\n"
"configuration, the broker, the task or an upstream failed, 2 on usage\n"
"errors.\n";

static int
parse_args(int argc, char **argv, const char **config, int *check)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': *config = optarg; break;
		case 'k': *check = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': puts("mandate-mcp 1.0 (MCP " MCP_PROTOCOL_LATEST ")");
			exit(0);
		default: fputs(usage_text, stderr); return -1;
		}
	}
	if (*config == NULL || optind != argc) {
		fputs(usage_text, stderr);
		return -1;
	}
	return 0;
}

static void
patient_names(struct gw *g)
{
	char *save = NULL;

	snprintf(g->patient_buf, sizeof(g->patient_buf), "%s",
	    g->cfg.patient_args);
	for (char *t = strtok_r(g->patient_buf, " ,", &save); t != NULL &&
	    g->npatient_names < GW_PATIENT_ARGS_MAX;
	    t = strtok_r(NULL, " ,", &save))
		g->patient_names[g->npatient_names++] = t;
}

static int
connect_agent(struct gw *g, char *err, size_t errlen)
{
	mdt_agent_opts o = { .size = sizeof(o), .url = g->cfg.broker,
	    .spiffe_id = g->cfg.agent[0] ? g->cfg.agent : NULL,
	    .timeout_ms = g->cfg.timeout_ms };
	mdt_agent_svid_opts sv = { .size = sizeof(sv),
	    .cert_file = g->cfg.svid_cert, .key_file = g->cfg.svid_key };
	mdt_keypair *kp = NULL;
	int rc;

	if (g->cfg.key[0] != 0 &&
	    (rc = mdt_keypair_load(g->cfg.key, &kp, err, errlen)) != 0)
		return rc;
	o.key = kp;
	rc = g->cfg.svid_cert[0] != 0 ?
	    mdt_agent_connect_svid(&o, &sv, &g->agent, err, errlen) :
	    mdt_agent_connect(&o, &g->agent, err, errlen);
	mdt_keypair_free(kp);
	return rc;
}

/* Agent, event subscription, task, upstreams, tools: in that order. */
static int
start(struct gw *g, char *err, size_t errlen)
{
	int rc;

	if ((rc = connect_agent(g, err, errlen)) != 0 ||
	    (rc = gw_events_open(g, err, errlen)) != 0)
		return rc;
	if ((rc = mdt_agent_next(g->agent, g->cfg.task_wait_ms, &g->task, err,
	    errlen)) != 0)
		return rc;
	/* the gateway holds the task for the whole session */
	if ((rc = mdt_task_ack(g->task, err, errlen)) != 0 ||
	    (rc = gw_events_start(g, err, errlen)) != 0)
		return rc;
	fprintf(stderr, "mandate-mcp: task %s (patient %s, %s): %s\n",
	    mdt_task_id(g->task), mdt_task_patient(g->task),
	    mdt_task_purpose(g->task), mdt_task_scopes(g->task));
	for (size_t i = 0; i < g->cfg.nup; i++) {
		if ((rc = gw_upstream_start(g, &g->cfg.up[i], &g->up[i], err,
		    errlen)) != 0)
			return rc;
		g->nup++;
	}
	if ((rc = gw_tools_refresh(g)) != 0)
		snprintf(err, errlen, "tools/list of an upstream failed: %s",
		    mdt_strerror(rc));
	return rc;
}

/* stdio: one client, whose answers and notifications all go to stdout */
struct stdio_sink {
	struct gw_sink base;
	struct gw *g;
};

static struct gw_peer stdio_peer;

static int
stdio_send(struct gw_sink *s, const json_t *msg)
{
	return mcp_write(&((struct stdio_sink *)(void *)s)->g->out, msg);
}

static void
stdio_notify(struct gw *g, const json_t *msg)
{
	if (atomic_load(&stdio_peer.initialized))
		(void)mcp_write(&g->out, msg);
}

static void
answer_refused(struct gw *g, mcp_msg *m, int code, const char *err)
{
	json_t *e = mcp_error_msg(m->id, code, err);

	if (e != NULL)
		(void)mcp_write(&g->out, e);
	json_decref(e);
}

/* Reads the client's messages until its input ends. */
static void
serve(struct gw *g)
{
	struct stdio_sink sink = { { stdio_send }, g };
	mcp_reader r;
	const char *line;
	size_t len;
	int rc;

	if (mcp_reader_init(&r, 0, g->cfg.max_message) != 0)
		return;
	while ((rc = mcp_reader_next(&r, &line, &len)) != 1 && rc != -MDT_EIO) {
		mcp_msg m;
		char err[256];
		int code;
		if (rc == -MDT_ETOOBIG) {
			memset(&m, 0, sizeof(m));
			answer_refused(g, &m, MCP_INVALID_REQUEST, "message too "
			    "large");
			continue;
		}
		if (rc != 0)
			break;
		if ((code = mcp_msg_parse(line, len, g->cfg.max_message, &m,
		    err, sizeof(err))) != 0)
			answer_refused(g, &m, code, err);
		else
			gw_handle(g, &stdio_peer, &sink.base, &m);
		mcp_msg_clear(&m);
	}
	mcp_reader_free(&r);
}

/* Streamable HTTP runs until SIGINT or SIGTERM, which every thread
 * blocks so that this one takes them. */
static void
block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

static void
serve_http(const sigset_t *set)
{
	int sig = 0;

	(void)sigwait(set, &sig);
	fprintf(stderr, "mandate-mcp: signal %d: stopping\n", sig);
}

static void
finish(struct gw *g)
{
	char err[MDT_ERRMSG_MAX];

	atomic_store(&g->stopping, 1);
	gw_http_stop(g);
	gw_calls_join(g);
	gw_events_stop(g);
	if (g->task != NULL && g->cfg.complete_on_exit &&
	    !atomic_load(&g->ended) && mdt_task_complete(g->task,
	    (const uint8_t *)"mcp session ended", 17, err, sizeof(err)) != 0)
		fprintf(stderr, "mandate-mcp: complete: %s\n", err);
	for (size_t i = g->nup; i > 0; i--)
		gw_upstream_close(g->up[i - 1]);
	for (size_t i = 0; i < g->ntools; i++)
		json_decref(g->tools[i].def);
	gw_pending_free(g);
	mdt_task_free(g->task);
	mdt_agent_close(g->agent);
	mcp_writer_destroy(&g->out);
	pthread_cond_destroy(&g->work);
	pthread_mutex_destroy(&g->lock);
}

int
main(int argc, char **argv)
{
	static struct gw g;
	const char *config = NULL;
	sigset_t stop;
	char err[MDT_ERRMSG_MAX] = "";
	int check = 0, rc;

	if (parse_args(argc, argv, &config, &check) != 0)
		return 2;
	if (gw_config_load(config, &g.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "mandate-mcp: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: %zu upstream(s), step_up = %s\n", config, g.cfg.nup,
		    g.cfg.step_up == GW_STEP_UP_PENDING ? "pending" : "wait");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN); /* a child that died is seen at write */
	if (g.cfg.http_listen[0] != 0)
		block_stop_signals(&stop); /* before any thread starts */
	patient_names(&g);
	g.timing = getenv("MANDATE_MCP_TIMING") != NULL &&
	    strcmp(getenv("MANDATE_MCP_TIMING"), "1") == 0;
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.work, NULL);
	mcp_writer_init(&g.out, 1);
	g.notify = stdio_notify;
	if ((rc = start(&g, err, sizeof(err))) != 0 ||
	    (g.cfg.http_listen[0] != 0 &&
	    (rc = gw_http_start(&g, err, sizeof(err))) != 0))
		fprintf(stderr, "mandate-mcp: %s\n", err[0] ? err :
		    mdt_strerror(rc));
	else if (g.cfg.http_listen[0] != 0)
		serve_http(&stop);
	else
		serve(&g);
	finish(&g);
	return rc != 0;
}
