/*
 * The MCP protocol code of mandate-mcp: message parsing and its refusals,
 * stdio framing with bounded lines, the tool mapping (reference and
 * patient), and the configuration file (the shipped example included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "httpcli_int.h"
#include "httpd_int.h"
#include "testutil.h"

static int
parse(const char *s, mcp_msg *m)
{
	char err[256];
	return mcp_msg_parse(s, strlen(s), 4096, m, err, sizeof(err));
}

START_TEST(test_parse_kinds)
{
	mcp_msg m;

	ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"tools/list\"}", &m), 0);
	ck_assert_int_eq(m.kind, MCP_REQUEST);
	ck_assert_str_eq(m.method, "tools/list");
	mcp_msg_clear(&m);
	ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"method\":\"n\","
	    "\"params\":{}}", &m), 0);
	ck_assert_int_eq(m.kind, MCP_NOTIFICATION);
	ck_assert_ptr_null(m.id);
	mcp_msg_clear(&m);
	ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":\"x\","
	    "\"result\":{}}", &m), 0);
	ck_assert_int_eq(m.kind, MCP_RESULT);
	mcp_msg_clear(&m);
	ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
	    "{\"code\":-1,\"message\":\"m\"}}", &m), 0);
	ck_assert_int_eq(m.kind, MCP_ERROR);
	ck_assert_ptr_nonnull(m.error);
	mcp_msg_clear(&m);
}
END_TEST

START_TEST(test_parse_refusals)
{
	static const struct {
		const char *text;
		int code;
	} bad[] = {
		{ "{", MCP_PARSE_ERROR },
		{ "[{\"jsonrpc\":\"2.0\",\"method\":\"a\"}]", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"1.0\",\"method\":\"a\"}", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"a\"}",
		    MCP_PARSE_ERROR },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"a\"}",
		    MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"a\"}",
		    MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"params\":[]}",
		    MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}",
		    MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":"
		    "{\"code\":1,\"message\":\"m\"}}", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\\u0000b\"}",
		    MCP_PARSE_ERROR },
	};
	char deep[400];
	mcp_msg m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i].text, &m) == bad[i].code, "%s",
		    bad[i].text);
		ck_assert_ptr_null(m.root);
		mcp_msg_clear(&m);
	}
	/* the id of a refused request is kept for the answer */
	ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":5}",
	    &m), MCP_INVALID_REQUEST);
	ck_assert_int_eq(json_integer_value(m.id), 7);
	mcp_msg_clear(&m);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	deep[200] = 0;
	ck_assert_int_eq(parse(deep, &m), MCP_PARSE_ERROR);
	ck_assert_int_eq(mcp_msg_parse("{}", 5000, 4096, &m, NULL, 0),
	    MCP_INVALID_REQUEST);
}
END_TEST

START_TEST(test_tool_ref)
{
	json_t *args = json_loads("{\"type\":\"Observation\",\"patient\":"
	    "\"pat-001\",\"n\":3,\"ok\":true,\"text\":\"two words\",\"x\":1.5,"
	    "\"obj\":{}}", 0, NULL);
	json_t *many = json_loads("{\"i\":\"9\",\"a\":\"1\",\"b\":\"2\",\"c\":"
	    "\"3\",\"d\":\"4\",\"e\":\"5\",\"f\":\"6\",\"g\":\"7\",\"h\":\"8\"}",
	    0, NULL);
	char ref[MDT_SCOPE_REF_MAX + 1], small[12];

	ck_assert_int_eq(mcp_tool_ref("fhir-read", args, ref, sizeof(ref)), 0);
	ck_assert_str_eq(ref, "tool/fhir-read?n=3&ok=true&patient=pat-001&"
	    "type=Observation");
	ck_assert_int_eq(mcp_tool_ref("echo", NULL, ref, sizeof(ref)), 0);
	ck_assert_str_eq(ref, "tool/echo");
	ck_assert_int_eq(mcp_tool_ref("x", many, ref, sizeof(ref)), 0);
	ck_assert_str_eq(ref, "tool/x?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8");
	ck_assert_int_eq(mcp_tool_ref("getEnv", NULL, ref, sizeof(ref)),
	    -MDT_EINVAL);
	ck_assert_int_eq(mcp_tool_ref("", NULL, ref, sizeof(ref)), -MDT_EINVAL);
	ck_assert_int_eq(mcp_tool_ref("fhir-read", args, small, sizeof(small)),
	    -MDT_ETOOBIG);
	json_decref(args);
	json_decref(many);
}
END_TEST

START_TEST(test_patient_arg)
{
	const char *names[] = { "patient", "subject" };
	json_t *a = json_loads("{\"subject\":\"Patient/pat-002\"}", 0, NULL);
	json_t *b = json_loads("{\"patient\":[\"pat-001\"]}", 0, NULL);
	json_t *c = json_loads("{\"other\":\"pat-001\"}", 0, NULL);
	char out[64];

	ck_assert_int_eq(mcp_patient_arg(a, names, 2, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "pat-002");
	ck_assert_int_eq(mcp_patient_arg(b, names, 2, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "[\"pat-001\"]");
	ck_assert_int_eq(mcp_patient_arg(c, names, 2, out, sizeof(out)), 0);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

START_TEST(test_reader_bounds)
{
	int p[2];
	mcp_reader r;
	const char *line;
	size_t len;
	char big[300];

	ck_assert_int_eq(pipe(p), 0);
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(write(p[1], "one\r\n\n", 6), 6);
	ck_assert_int_eq(write(p[1], big, sizeof(big)), (ssize_t)sizeof(big));
	ck_assert_int_eq(write(p[1], "\ntwo\nlast", 9), 9);
	close(p[1]);
	ck_assert_int_eq(mcp_reader_init(&r, p[0], 100), 0);
	ck_assert_int_eq(mcp_reader_next(&r, &line, &len), 0);
	ck_assert_int_eq(len, 3);
	ck_assert_int_eq(memcmp(line, "one", 3), 0);
	ck_assert_int_eq(mcp_reader_next(&r, &line, &len), -MDT_ETOOBIG);
	ck_assert_int_eq(mcp_reader_next(&r, &line, &len), 0);
	ck_assert_int_eq(memcmp(line, "two", 3), 0);
	ck_assert_int_eq(mcp_reader_next(&r, &line, &len), 0);
	ck_assert_int_eq(len, 4);
	ck_assert_int_eq(mcp_reader_next(&r, &line, &len), 1);
	mcp_reader_free(&r);
	close(p[0]);
}
END_TEST

static int
load_text(const char *text, struct gw_config *c, char *err, size_t errlen)
{
	char path[] = "/tmp/mcp-conf-XXXXXX";
	int fd = mkstemp(path), rc;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = gw_config_load(path, c, err, errlen);
	unlink(path);
	return rc;
}

START_TEST(test_config)
{
	static struct gw_config c;
	char err[512], path[600];

	snprintf(path, sizeof(path), "%s/mcp/mandate-mcp.conf.example",
	    mdt_test_source_dir());
	ck_assert_msg(gw_config_load(path, &c, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(c.nup, 2);
	ck_assert_str_eq(c.up[0].name, "clinic");
	ck_assert_str_eq(c.up[0].audience, "spiffe://clinic.example/mcp/clinic");
	ck_assert_int_eq(c.step_up, GW_STEP_UP_WAIT);
	ck_assert_int_eq(c.complete_on_exit, 1);
	ck_assert_int_eq(c.max_message, 4194304);
	ck_assert_int_eq(load_text("[broker]\nurl = a\nevents = b\n[agent]\n"
	    "id = x\nkey = k\n[gateway]\nstep_up = pending\n[upstream u]\n"
	    "command = c\n", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.step_up, GW_STEP_UP_PENDING);
	ck_assert_int_eq(c.call_timeout_ms, 60000);
	ck_assert_int_eq(load_text("[broker]\nurl = a\nevnts = b\n", &c, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":3: unknown setting evnts") != NULL, "%s",
	    err);
	ck_assert_int_eq(load_text("[gateway]\nmax_message = 12\n", &c, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(load_text("[broker]\nurl = a\nevents = b\n[agent]\n"
	    "id = x\nkey = k\n", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "no [upstream") != NULL, "%s", err);
	ck_assert_int_eq(load_text("[upstream Bad]\n", &c, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(c.http_listen, "");
	ck_assert_int_eq(load_text("[broker]\nurl = a\nevents = b\n[agent]\n"
	    "id = x\nkey = k\n[http]\nlisten = 8931\n[upstream u]\n"
	    "url = http://127.0.0.1:3001/mcp\n", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.http_listen, "8931");
	ck_assert_str_eq(c.http_path, "/mcp");
	ck_assert_str_eq(c.up[0].url, "http://127.0.0.1:3001/mcp");
	/* one of command and url; http:// only */
	ck_assert_int_eq(load_text("[broker]\nurl = a\nevents = b\n[agent]\n"
	    "id = x\nkey = k\n[upstream u]\ncommand = c\nurl = http://h/\n",
	    &c, err, sizeof(err)), -1);
	ck_assert_int_eq(load_text("[broker]\nurl = a\nevents = b\n[agent]\n"
	    "id = x\nkey = k\n[upstream u]\nurl = https://h/\n", &c, err,
	    sizeof(err)), -1);
}
END_TEST

/* Parses req and runs the transport's checks (path /mcp, loopback). */
static int
http_check(const char *req, const char *origins)
{
	struct az_http_req r;
	struct mcph_hdrs hd;
	int rc = mcph_parse(req, strlen(req), 4096, &r, &hd);

	return rc != 0 ? rc : mcph_check(&r, &hd, "/mcp", origins, 1);
}

#define POST_HEAD "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\n" \
	"Accept: application/json, text/event-stream\r\nContent-Length: 2\r\n"

START_TEST(test_http_checks)
{
	ck_assert_int_eq(http_check(POST_HEAD "Host: 127.0.0.1:8931\r\n\r\n{}",
	    ""), 0);
	ck_assert_int_eq(http_check(POST_HEAD "Host: localhost\r\nOrigin: "
	    "http://localhost:6274\r\n\r\n{}", ""), 0);
	/* DNS rebinding: a foreign Host or Origin */
	ck_assert_int_eq(http_check(POST_HEAD "Host: evil.example:8931\r\n"
	    "\r\n{}", ""), 403);
	ck_assert_int_eq(http_check(POST_HEAD "Host: 127.0.0.1\r\nOrigin: "
	    "http://evil.example\r\n\r\n{}", ""), 403);
	ck_assert_int_eq(http_check(POST_HEAD "Host: 127.0.0.1\r\nOrigin: "
	    "https://app.example\r\n\r\n{}", "https://app.example"), 0);
	ck_assert_int_eq(http_check(POST_HEAD "Host: 127.0.0.1\r\nOrigin: "
	    "http://localhost.evil.example\r\n\r\n{}", ""), 403);
	ck_assert_int_eq(http_check(POST_HEAD "Host: 127.0.0.1\r\nOrigin: a\r\n"
	    "Origin: b\r\n\r\n{}", ""), 400);
	ck_assert_int_eq(http_check("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nAccept: application/json\r\n"
	    "Content-Length: 2\r\n\r\n{}", ""), 406);
	ck_assert_int_eq(http_check("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Accept: text/event-stream\r\n\r\n", ""), 0);
	ck_assert_int_eq(http_check("PUT /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 0\r\n\r\n", ""), 405);
	ck_assert_int_eq(http_check("GET /other HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "\r\n", ""), 404);
	ck_assert_int_eq(http_check(POST_HEAD "Host: 127.0.0.1\r\n"
	    "MCP-Protocol-Version: 2024-01-01\r\n\r\n{}", ""), 400);
	ck_assert_int_eq(http_check(POST_HEAD "Host: 127.0.0.1\r\n"
	    "MCP-Protocol-Version: 2025-06-18\r\n\r\n{}", ""), 0);
}
END_TEST

struct got {
	int n;
	char last[256];
};

static int
got_msg(void *arg, const char *m, size_t n)
{
	struct got *g = arg;

	g->n++;
	snprintf(g->last, sizeof(g->last), "%.*s", (int)n, m);
	return 0;
}

/* Feeds text to a response parser one byte at a time. */
static int
feed_bytes(struct mcpc_resp *r, const char *text)
{
	int rc = 0;

	for (size_t i = 0; text[i] != 0 && rc == 0; i++)
		rc = mcpc_feed(r, text + i, 1);
	return rc;
}

START_TEST(test_http_response)
{
	struct mcpc_resp r;
	struct got g = { 0, "" };

	mcpc_init(&r, 1024, got_msg, &g);
	ck_assert_int_eq(feed_bytes(&r, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/event-stream\r\nMcp-Session-Id: s1\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n1a\r\nevent: message\ndata: {\"a\":\r\n"
	    "a\r\n1}\n\ndata: \r\n8\r\n{\"b\":2}\n\r\n1\r\n\n\r\n0\r\n\r\n"), 1);
	ck_assert_int_eq(g.n, 2);
	ck_assert_str_eq(g.last, "{\"b\":2}");
	ck_assert_str_eq(r.session, "s1");
	mcpc_free(&r);
	/* a JSON body by Content-Length */
	mcpc_init(&r, 1024, got_msg, &g);
	ck_assert_int_eq(feed_bytes(&r, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n"
	    "Content-Type: application/json\r\n\r\n{\"c\":3}"), 1);
	ck_assert_str_eq(g.last, "{\"c\":3}");
	mcpc_free(&r);
	/* over the bound, a bad chunk size, a response cut short */
	mcpc_init(&r, 4, got_msg, &g);
	ck_assert_int_lt(feed_bytes(&r, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n"
	    "\r\n{\"c\":3}"), 0);
	mcpc_free(&r);
	mcpc_init(&r, 1024, got_msg, &g);
	ck_assert_int_lt(feed_bytes(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\nzz\r\n"), 0);
	mcpc_free(&r);
	mcpc_init(&r, 1024, got_msg, &g);
	ck_assert_int_eq(feed_bytes(&r, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n"
	    "\r\n{}"), 0);
	ck_assert_int_lt(mcpc_eof(&r), 0);
	mcpc_free(&r);
}
END_TEST

START_TEST(test_split_command)
{
	char buf[128], *argv[8];

	ck_assert_int_eq(gw_split_command("node  \"a b\" c", buf, sizeof(buf),
	    argv, 8), 3);
	ck_assert_str_eq(argv[1], "a b");
	ck_assert_ptr_null(argv[3]);
	ck_assert_int_eq(gw_split_command("\"open", buf, sizeof(buf), argv, 8),
	    -1);
	ck_assert_int_eq(gw_split_command("   ", buf, sizeof(buf), argv, 8), -1);
	ck_assert_int_eq(gw_split_command("a b c d", buf, sizeof(buf), argv, 3),
	    -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mcp_proto");
	TCase *tc = tcase_create("proto");

	tcase_add_test(tc, test_parse_kinds);
	tcase_add_test(tc, test_parse_refusals);
	tcase_add_test(tc, test_tool_ref);
	tcase_add_test(tc, test_patient_arg);
	tcase_add_test(tc, test_reader_bounds);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_split_command);
	tcase_add_test(tc, test_http_checks);
	tcase_add_test(tc, test_http_response);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
