/*
 * mandate-mcp serving MCP's Streamable HTTP transport, with the official
 * MCP TypeScript SDK's StreamableHTTPClientTransport as the client
 * (tests/npm/mcp_http_client.mjs) and a real mandated: tools/list
 * filtered, an allowed call, refused calls, a step-up whose progress
 * reaches the client on the POST's event stream, list_changed on the
 * session's GET stream after the task is cancelled, the transport's
 * refusals (no or unknown session, foreign Origin, Accept, protocol
 * revision, method) and DELETE ending the session.  Upstream,
 * @modelcontextprotocol/server-everything runs in its Streamable HTTP
 * mode, reached by URL, beside the clinic's MCP server on stdio.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcp_fixture.h"
#include "testutil.h"

extern char **environ;

static struct mcp_fx F;

/* Spawns argv with stdout and stderr to log (or stdin/stdout pipes when
 * in/out are not NULL). */
static pid_t
spawn_logged(char **argv, const char *log, int *in, FILE **out)
{
	posix_spawn_file_actions_t fa;
	int pin[2], pout[2];
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (in != NULL) {
		ck_assert_int_eq(pipe(pin), 0);
		ck_assert_int_eq(pipe(pout), 0);
		posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
		posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
		posix_spawn_file_actions_addclose(&fa, pin[1]);
		posix_spawn_file_actions_addclose(&fa, pout[0]);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY |
		    O_CREAT | O_TRUNC, 0600);
	}
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT |
	    O_APPEND, 0600);
	ck_assert_msg(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) ==
	    0, "cannot run %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	if (in != NULL) {
		close(pin[0]);
		close(pout[1]);
		*in = pin[1];
		*out = fdopen(pout[0], "r");
		ck_assert_ptr_nonnull(*out);
	}
	return pid;
}

/* Polls log (60 s) for a line containing marker; the rest of that line
 * after the marker goes to out. */
static void
wait_line(const char *log, const char *marker, char *out, size_t outlen)
{
	for (int i = 0; i < 600; i++) {
		char line[1024];
		FILE *f = fopen(log, "r");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			char *p = strstr(line, marker);
			if (p != NULL) {
				p += strlen(marker);
				p[strcspn(p, "\r\n ")] = 0;
				snprintf(out, outlen, "%s", p);
				fclose(f);
				return;
			}
		}
		if (f != NULL)
			fclose(f);
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
	}
	ck_abort_msg("no \"%s\" in %s", marker, log);
}

/* A TCP port free on 127.0.0.1 now (the upstream binds it next). */
static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* A node MCP server (script under the npm folder, with mode) listening
 * on a free port given in PORT; its URL in url. */
static pid_t
start_upstream(const char *js, const char *name, char *url, size_t urllen)
{
	char script[600], mode[] = "streamableHttp", node[] = "node";
	char log[600], port[16], seen[64];
	char *argv[] = { node, script, mode, NULL };
	pid_t pid;

	snprintf(script, sizeof(script), "%s/%s", mcp_fx_env("MDT_NPM_DIR"), js);
	snprintf(log, sizeof(log), "%s/%s.log", F.b.dir, name);
	snprintf(port, sizeof(port), "%d", free_port());
	setenv("PORT", port, 1);
	pid = spawn_logged(argv, log, NULL, NULL);
	unsetenv("PORT");
	wait_line(log, "listening on port ", seen, sizeof(seen));
	ck_assert_str_eq(seen, port);
	snprintf(url, urllen, "http://127.0.0.1:%s/mcp", port);
	return pid;
}

static void
stop_child(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

START_TEST(mcp_streamable_http_with_the_sdk)
{
	char gwlog[600], cllog[600], url[300], script[600], bin[600], up[300];
	char flag[] = "--config", node[] = "node";
	char *gwargv[] = { bin, flag, F.config, NULL };
	char *clargv[] = { node, script, NULL };
	struct mcp_approver *ap;
	struct mcp_client_report rep;
	FILE *out, *cf;
	pid_t gw, cl, everything, headers;
	char up2[300];
	int in, status;

	mcp_fx_start(&F);
	everything = start_upstream("node_modules/@modelcontextprotocol/"
	    "server-everything/dist/index.js", "everything", up, sizeof(up));
	headers = start_upstream("mcp_http_upstream.mjs", "headers", up2,
	    sizeof(up2));
	mcp_fx_config(&F, "wait", NULL, 4194304);
	cf = fopen(F.config, "a");
	ck_assert_ptr_nonnull(cf);
	fprintf(cf, "\n[upstream everything]\nurl = %s\n\n[upstream headers]\n"
	    "url = %s\n\n[http]\nlisten = 127.0.0.1:0\n", up, up2);
	fclose(cf);
	snprintf(bin, sizeof(bin), "%s/mcp/mandate-mcp", mdt_test_binary_dir());
	snprintf(gwlog, sizeof(gwlog), "%s/gateway.log", F.b.dir);
	gw = spawn_logged(gwargv, gwlog, NULL, NULL);
	wait_line(gwlog, "Streamable HTTP at ", url, sizeof(url));
	setenv("MCP_URL", url, 1);
	ap = mcp_fx_approver_start(&F);
	snprintf(script, sizeof(script), "%s/mcp_http_client.mjs",
	    mcp_fx_env("MDT_NPM_DIR"));
	snprintf(cllog, sizeof(cllog), "%s/client.log", F.b.dir);
	cl = spawn_logged(clargv, cllog, &in, &out);
	mcp_fx_read_client(&F, out, in, &rep);
	close(in);
	fclose(out);
	waitpid(cl, &status, 0);
	ck_assert_int_eq(mcp_fx_approver_stop(ap), 1);
	stop_child(gw);
	stop_child(everything);
	stop_child(headers);
	ck_assert_msg(rep.done && rep.failed == 0 && rep.checks >= 20, "%d of "
	    "%d checks failed (logs %s, %s)", rep.failed, rep.checks, cllog,
	    gwlog);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client");
	ck_assert_ptr_nonnull(rep.calls);
	mcp_fx_check_audit(&F, rep.calls);
	ck_assert_msg(!mcp_fx_log_has(gwlog, "Sanitizer") &&
	    !mcp_fx_log_has(gwlog, "ThreadSanitizer"), "sanitizer report in %s",
	    gwlog);
	json_decref(rep.calls);
	mcp_fx_stop(&F);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mcp_http");
	TCase *tc = tcase_create("streamable_http");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, mcp_streamable_http_with_the_sdk);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
