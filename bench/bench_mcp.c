/*
 * The cost of putting a tool call under Mandate: a tools/call through
 * mandate-mcp (one authorize with its durable audit record, the
 * presentation signed, the call forwarded with it) against the same call
 * sent straight to the same upstream, in the same run, alternating call
 * by call.  The upstream is this program itself run as a minimal MCP echo
 * server on stdio (--echo-server), so the baseline is the bare cost of an
 * MCP round trip over pipes.
 *
 *   ratio mcp_call_overhead_vs_direct: median(through the gateway) /
 *                                      median(straight to the upstream)
 *   ratio mcp_call_vs_sdk_authorize_then_call: median(through the
 *        gateway) / median(the agent's own authorize + present + call)
 *        — what the gateway adds over an agent that links the SDK
 *
 * Starts its own mandated on a temporary directory.
 */
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mandate/agent.h>

#include "benchutil.h"
#include "mcp.h"

/* The integration-test harness: a real broker process. */
#include "../tests/common/brk_test.c"
#include "../tests/common/brk_test_idp.c"
#include "../tests/common/mcp_entities.h"

#define CALLS 400
#define WARMUP 20

extern char **environ;

static struct bt_broker B;

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "bench_mcp: %s: %s\n", what, why);
	exit(1);
}

/* --echo-server: initialize, tools/list (one tool) and tools/call. */
static int
echo_server(void)
{
	mcp_reader r;
	mcp_writer w;
	const char *line;
	size_t len;

	if (mcp_reader_init(&r, 0, MCP_MESSAGE_MAX_DEFAULT) != 0 ||
	    mcp_writer_init(&w, 1) != 0)
		return 1;
	while (mcp_reader_next(&r, &line, &len) == 0) {
		mcp_msg m;
		json_t *a = NULL;
		if (mcp_msg_parse(line, len, MCP_MESSAGE_MAX_DEFAULT, &m, NULL,
		    0) != 0 || m.kind != MCP_REQUEST) {
			mcp_msg_clear(&m);
			continue;
		}
		if (strcmp(m.method, "initialize") == 0)
			a = mcp_result_msg(m.id, json_pack("{s:s,s:{s:{}},s:{s:s,"
			    "s:s}}", "protocolVersion", MCP_PROTOCOL_LATEST,
			    "capabilities", "tools", "serverInfo", "name", "echo",
			    "version", "1"));
		else if (strcmp(m.method, "tools/list") == 0)
			a = mcp_result_msg(m.id, json_pack("{s:[{s:s,s:{s:s}}]}",
			    "tools", "name", "echo", "inputSchema", "type",
			    "object"));
		else
			a = mcp_result_msg(m.id, mcp_text_result("echo", 0));
		if (a != NULL)
			(void)mcp_write(&w, a);
		json_decref(a);
		mcp_msg_clear(&m);
	}
	mcp_reader_free(&r);
	return 0;
}

struct peer {
	pid_t pid;
	int in, out;
	char buf[1 << 16];
	size_t len;
};

static void
spawn_peer(struct peer *p, char *const argv[])
{
	int pin[2], pout[2];
	posix_spawn_file_actions_t fa;

	memset(p, 0, sizeof(*p));
	if (pipe(pin) != 0 || pipe(pout) != 0)
		die("pipe", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_addclose(&fa, pin[1]);
	posix_spawn_file_actions_addclose(&fa, pout[0]);
	if (posix_spawn(&p->pid, argv[0], &fa, NULL, argv, environ) != 0)
		die("spawn", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	p->in = pin[1];
	p->out = pout[0];
}

static void
send_line(struct peer *p, const char *line)
{
	size_t n = strlen(line);

	if (write(p->in, line, n) != (ssize_t)n)
		die("write", strerror(errno));
}

/* Sends one request line and waits for the answer with its id. */
static void
roundtrip(struct peer *p, const char *line, int id)
{
	send_line(p, line);
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		ssize_t k;
		if (nl != NULL) {
			json_t *j = json_loadb(p->buf, (size_t)(nl - p->buf), 0,
			    NULL);
			int done = json_integer_value(json_object_get(j, "id")) ==
			    id && json_object_get(j, "method") == NULL;
			if (json_object_get(j, "error") != NULL)
				die("answer", p->buf);
			json_decref(j);
			p->len -= (size_t)(nl - p->buf) + 1;
			memmove(p->buf, nl + 1, p->len);
			if (done)
				return;
			continue;
		}
		k = read(p->out, p->buf + p->len, sizeof(p->buf) - p->len);
		if (k <= 0)
			die("read", "the peer closed");
		p->len += (size_t)k;
	}
}

static void
initialize(struct peer *p)
{
	roundtrip(p, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
	    "\"params\":{\"protocolVersion\":\"" MCP_PROTOCOL_LATEST "\","
	    "\"capabilities\":{},\"clientInfo\":{\"name\":\"bench\","
	    "\"version\":\"1\"}}}\n", 0);
	send_line(p, "{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/initialized\"}\n");
}

static double
call_ns(struct peer *p, int id)
{
	char line[256];
	uint64_t t0;

	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
	    "\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":"
	    "{\"message\":\"hi\"}}}\n", id);
	t0 = bench_now_ns();
	roundtrip(p, line, id);
	return (double)(bench_now_ns() - t0);
}

/* What an agent that links the SDK does for the same call itself. */
static double
native_ns(mdt_task *t, struct peer *p, int id)
{
	char tok[MDT_AGENT_HEADER_MAX], proof[MDT_AGENT_HEADER_MAX];
	char err[MDT_ERRMSG_MAX], *line;
	mdt_authz *az = NULL;
	uint64_t t0 = bench_now_ns();

	if (mdt_task_authorize(t, "x", "tool/echo?message=hi", &az, err,
	    sizeof(err)) != 0 || mdt_authz_decision_of(az) != MDT_AUTHZ_ALLOW ||
	    mdt_task_present(t, az, 0, tok, proof) != 0)
		die("authorize", err);
	line = malloc(2 * MDT_AGENT_HEADER_MAX + 256);
	snprintf(line, 2 * MDT_AGENT_HEADER_MAX + 256, "{\"jsonrpc\":\"2.0\","
	    "\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
	    "\"arguments\":{\"message\":\"hi\"},\"_meta\":{\"" MCP_META_TOKEN
	    "\":\"%s\",\"" MCP_META_PROOF "\":\"%s\"}}}\n", id, tok, proof);
	roundtrip(p, line, id);
	free(line);
	mdt_authz_free(az);
	return (double)(bench_now_ns() - t0);
}

static mdt_agent *
connect_as(const char *id)
{
	mdt_agent_opts o = { .size = sizeof(o), .url = B.url, .spiffe_id = id,
	    .key = bt_key(&B, id), .timeout_ms = 10000, .retry_ms = 20 };
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;

	if (mdt_agent_connect(&o, &a, err, sizeof(err)) != 0)
		die("connect", err);
	return a;
}

static void
write_config(const char *path, const char *self)
{
	char key[600], err[MDT_ERRMSG_MAX];
	FILE *f;

	snprintf(key, sizeof(key), "%s/mcp", B.dir);
	if (mdt_keypair_save(bt_key(&B, MCP_AGENT), key, err, sizeof(err)) != 0 ||
	    (f = fopen(path, "w")) == NULL)
		die("config", err);
	fprintf(f, "[broker]\nurl = %s\nevents = %s\n[agent]\nid = " MCP_AGENT
	    "\nkey = %s.key\non_exit = keep\n[upstream echo]\ncommand = %s "
	    "--echo-server\n", B.url, B.pub, key, self);
	fclose(f);
}

/* The gateway's task, then a second for this program as the agent. */
static mdt_task *
tasks(mdt_agent *orch, mdt_agent *agent, struct peer *gw, char *const gw_argv[])
{
	char *jwt = bt_assertion(&B, "dr-alice", "pat-001", "tool/echo.x", 0);
	mdt_open_opts op = { .size = sizeof(op), .assertion = jwt,
	    .patient = "pat-001", .purpose = "TREAT", .scopes = "tool/echo.x" };
	char err[MDT_ERRMSG_MAX], child[MDT_AGENT_ID_MAX];
	mdt_task *root = NULL, *mine = NULL;

	if (jwt == NULL || mdt_agent_open_task(orch, &op, &root, err,
	    sizeof(err)) != 0 || mdt_task_dispatch(root, MCP_AGENT,
	    "tool/echo.x", NULL, 0, child, err, sizeof(err)) != 0)
		die("task", err);
	spawn_peer(gw, gw_argv);
	initialize(gw);   /* answered once the gateway holds its task */
	if (mdt_task_dispatch(root, MCP_AGENT, "tool/echo.x", NULL, 0, child,
	    err, sizeof(err)) != 0 || mdt_agent_next(agent, 10000, &mine, err,
	    sizeof(err)) != 0)
		die("second task", err);
	free(jwt);
	mdt_task_free(root);
	return mine;
}

static void
report(const char *what, double *v, size_t n)
{
	printf("%-34s p50 %9.1f us  p99 %9.1f us\n", what,
	    bench_percentile(v, n, 50) / 1000, bench_percentile(v, n, 99) / 1000);
}

int
main(int argc, char **argv)
{
	static double gw_t[CALLS], direct_t[CALLS], native_t[CALLS];
	const char *args[] = { NULL };
	char self[512], gwbin[600], config[600], flag[] = "--config", echo[] =
	    "--echo-server";
	struct peer gw, direct;
	mdt_agent *orch, *agent;
	mdt_task *mine;
	ssize_t n;

	if (argc == 2 && strcmp(argv[1], "--echo-server") == 0)
		return echo_server();
	signal(SIGPIPE, SIG_IGN);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		die("self", "readlink");
	self[n] = 0;
	memcpy(config, self, (size_t)n + 1);
	/* BUILD/bench/bench_mcp -> BUILD */
	snprintf(gwbin, sizeof(gwbin), "%s", dirname(dirname(config)));
	setenv("MDT_SOURCE_DIR", MDT_SOURCE_DIR, 0);
	setenv("MDT_BINARY_DIR", gwbin, 0);
	snprintf(gwbin + strlen(gwbin), sizeof(gwbin) - strlen(gwbin),
	    "/mcp/mandate-mcp");
	if (bt_setup(&B, mcp_entities) != 0 || bt_start(&B, args) != 0)
		die("broker", B.log);
	snprintf(config, sizeof(config), "%s/mcp.conf", B.dir);
	write_config(config, self);
	orch = connect_as(MCP_ORCH);
	agent = connect_as(MCP_AGENT);
	{
		char *gw_argv[] = { gwbin, flag, config, NULL };
		char *direct_argv[] = { self, echo, NULL };
		mine = tasks(orch, agent, &gw, gw_argv);
		spawn_peer(&direct, direct_argv);
	}
	initialize(&direct);
	for (int i = 0; i < WARMUP; i++) {
		(void)call_ns(&gw, 1000000 + i);
		(void)call_ns(&direct, 1000000 + i);
	}
	for (int i = 0; i < CALLS; i++) {
		gw_t[i] = call_ns(&gw, i + 1);
		direct_t[i] = call_ns(&direct, i + 1);
		native_t[i] = native_ns(mine, &direct, CALLS + i + 1);
	}
	report("tools/call through mandate-mcp", gw_t, CALLS);
	report("tools/call straight to upstream", direct_t, CALLS);
	report("SDK authorize+present+call", native_t, CALLS);
	bench_ratio("mcp_call_overhead_vs_direct",
	    bench_percentile(gw_t, CALLS, 50) /
	    bench_percentile(direct_t, CALLS, 50));
	bench_ratio("mcp_call_vs_sdk_authorize_then_call",
	    bench_percentile(gw_t, CALLS, 50) /
	    bench_percentile(native_t, CALLS, 50));
	close(gw.in);
	close(direct.in);
	waitpid(gw.pid, NULL, 0);
	waitpid(direct.pid, NULL, 0);
	mdt_task_free(mine);
	mdt_agent_close(agent);
	mdt_agent_close(orch);
	bt_cleanup(&B);
	return 0;
}
