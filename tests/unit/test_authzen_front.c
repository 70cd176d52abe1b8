/*
 * mandate-authzen without a broker: the HTTP request parser's rules and
 * bounds, the AuthZEN-to-Cedar mapping, bearer authentication, and the
 * evaluations semantics, with a stand-in that records what it was asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "authzen_int.h"
#include "testutil.h"

static int
parse(const char *s, struct az_http_req *r)
{
	return az_http_parse(s, strlen(s), r);
}

START_TEST(a_request_with_a_body_parses)
{
	const char *s = "POST /access/v1/evaluation HTTP/1.1\r\n"
	    "Host: x\r\nauthorization:  Bearer abc \r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "X-Request-ID: r-1\r\nContent-Length: 2\r\n\r\n{}GET";
	struct az_http_req r;

	ck_assert_int_eq(parse(s, &r), 0);
	ck_assert_str_eq(r.method, "POST");
	ck_assert_str_eq(r.path, "/access/v1/evaluation");
	ck_assert_str_eq(r.auth, "Bearer abc");
	ck_assert_str_eq(r.request_id, "r-1");
	ck_assert_int_eq(r.json, 1);
	ck_assert_int_eq(r.keep_alive, 1);
	ck_assert_int_eq(r.body_len, 2);
	ck_assert_int_eq(memcmp(r.body, "{}", 2), 0);
	ck_assert_int_eq(r.total, strlen(s) - 3);
}
END_TEST

START_TEST(a_partial_request_asks_for_more)
{
	const char *s = "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}";
	struct az_http_req r;

	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r),
	    AZ_HTTP_MORE);
	ck_assert_int_eq(parse(s, &r), AZ_HTTP_MORE);
	ck_assert_int_eq(parse("", &r), AZ_HTTP_MORE);
}
END_TEST

START_TEST(broken_requests_get_their_status)
{
	static const struct {
		const char *req;
		int status;
	} t[] = {
		{ "GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\nA: 1\r\n\r\n", 400 },
		{ "GET relative HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\n\r\n", 505 },
		{ "GET / FTP/1.1\r\n\r\n", 400 },
		{ "GET  / HTTP/1.1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\n\r\n", 411 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501 },
		{ "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1"
		    "\r\n\r\nx", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n"
		    "\r\n", 413 },
		{ "POST / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n"
		    "Content-Length: 0\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400 },
		{ "LONGMETHOD / HTTP/1.1\r\n\r\n", 501 },
	};
	struct az_http_req r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(parse(t[i].req, &r) == t[i].status, "%zu: %s -> %d",
		    i, t[i].req, parse(t[i].req, &r));
}
END_TEST

START_TEST(the_bounds_hold)
{
	size_t n = AZ_HTTP_HEAD_MAX + 100;
	char *big = malloc(n + 1);
	struct az_http_req r;
	char cl[128];

	ck_assert_ptr_nonnull(big);
	/* a head that never ends within the bound */
	memset(big, 'a', n);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[n] = 0;
	ck_assert_int_eq(parse(big, &r), 431);
	/* a path over its bound */
	memset(big, 'a', n);
	memcpy(big, "GET /", 5);
	memcpy(big + 600, " HTTP/1.1\r\n\r\n", 14);
	big[614] = 0;
	ck_assert_int_eq(parse(big, &r), 414);
	free(big);
	snprintf(cl, sizeof(cl), "POST / HTTP/1.1\r\nContent-Length: %u\r\n"
	    "\r\n", AZ_HTTP_BODY_MAX + 1);
	ck_assert_int_eq(parse(cl, &r), 413);
	/* too many headers */
	big = malloc(AZ_HTTP_HEAD_MAX);
	ck_assert_ptr_nonnull(big);
	strcpy(big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= AZ_HTTP_HEADERS_MAX; i++)
		strcat(big, "A: b\r\n");
	strcat(big, "\r\n");
	ck_assert_int_eq(parse(big, &r), 431);
	free(big);
}
END_TEST

START_TEST(connection_headers_and_versions)
{
	struct az_http_req r;

	ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n", &r), 0);
	ck_assert_int_eq(r.keep_alive, 0);
	ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "\r\n", &r), 0);
	ck_assert_int_eq(r.keep_alive, 1);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
	    &r), 0);
	ck_assert_int_eq(r.keep_alive, 0);
	/* an id that could split a header is dropped, not echoed */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX-Request-ID: a b\r\n\r\n",
	    &r), 0);
	ck_assert_str_eq(r.request_id, "");
}
END_TEST

/* ------------------------------------------------------- mapping */

START_TEST(an_evaluation_maps_to_cedar_inputs)
{
	json_t *j = json_loads("{\"subject\":{\"type\":\"user\",\"id\":\"a\","
	    "\"properties\":{\"dept\":\"x\"}},\"action\":{\"name\":\"read\"},"
	    "\"resource\":{\"type\":\"doc\",\"id\":\"1\"},\"context\":{\"n\":1}"
	    "}", 0, NULL);
	struct az_eval e;
	char err[256];

	ck_assert_int_eq(az_eval_map(j, NULL, &e, err, sizeof(err)), 0);
	ck_assert_str_eq(e.q.subject_type, "user");
	ck_assert_str_eq(e.q.subject_id, "a");
	ck_assert_str_eq(e.q.subject_props, "{\"dept\":\"x\"}");
	ck_assert_str_eq(e.q.action, "read");
	ck_assert_str_eq(e.q.resource_type, "doc");
	ck_assert_ptr_null(e.q.resource_props);
	ck_assert_str_eq(e.q.context, "{\"n\":1}");
	az_eval_clear(&e);
	json_decref(j);
}
END_TEST

START_TEST(an_item_overrides_its_defaults_whole)
{
	json_t *d = json_loads("{\"subject\":{\"type\":\"user\",\"id\":\"a\"},"
	    "\"action\":{\"name\":\"read\"},\"context\":{\"k\":\"v\"}}", 0,
	    NULL);
	json_t *i = json_loads("{\"action\":{\"name\":\"edit\"},\"resource\":"
	    "{\"type\":\"doc\",\"id\":\"2\"}}", 0, NULL);
	struct az_eval e;
	char err[256];

	ck_assert_int_eq(az_eval_map(i, d, &e, err, sizeof(err)), 0);
	ck_assert_str_eq(e.q.subject_id, "a");
	ck_assert_str_eq(e.q.action, "edit");
	ck_assert_str_eq(e.q.resource_id, "2");
	ck_assert_str_eq(e.q.context, "{\"k\":\"v\"}");
	az_eval_clear(&e);
	json_decref(i);
	json_decref(d);
}
END_TEST

START_TEST(an_incomplete_evaluation_is_refused)
{
	static const char *const bad[] = {
		"{}",
		"{\"subject\":{\"type\":\"u\",\"id\":\"\"},\"action\":{\"name\":"
		    "\"r\"},\"resource\":{\"type\":\"d\",\"id\":\"1\"}}",
		"{\"subject\":{\"type\":\"u\",\"id\":\"a\"},\"action\":{},"
		    "\"resource\":{\"type\":\"d\",\"id\":\"1\"}}",
		"{\"subject\":{\"type\":\"u\",\"id\":\"a\"},\"action\":{\"name\":"
		    "\"r\"},\"resource\":{\"type\":\"d\",\"id\":1}}",
		"{\"subject\":{\"type\":\"u\",\"id\":\"a\",\"properties\":[]},"
		    "\"action\":{\"name\":\"r\"},\"resource\":{\"type\":\"d\","
		    "\"id\":\"1\"}}",
		"{\"subject\":{\"type\":\"u\",\"id\":\"a\"},\"action\":{\"name\":"
		    "\"r\",\"properties\":{}},\"resource\":{\"type\":\"d\","
		    "\"id\":\"1\"}}",
		"{\"subject\":\"u\",\"action\":{\"name\":\"r\"},\"resource\":{"
		    "\"type\":\"d\",\"id\":\"1\"}}",
	};
	struct az_eval e;
	char err[256];

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		json_t *j = json_loads(bad[k], 0, NULL);
		err[0] = 0;
		ck_assert_msg(az_eval_map(j, NULL, &e, err, sizeof(err)) == -1,
		    "%s", bad[k]);
		ck_assert_msg(err[0] != 0, "no message for %s", bad[k]);
		json_decref(j);
	}
}
END_TEST

/* ------------------------------------------------- endpoints */

struct seen {
	int calls;
	char resources[16][16];
	char refused[64];   /* the last refused reason it was asked to record */
};

/* allows resource ids starting with 'y'; "err" is a broker error; a
 * refused request is denied with its reason, as the broker records it,
 * unless the id starts with 'y' (a broker that ignores refused) */
static int
stand_in(void *arg, const mdt_eval_request *q, mdt_eval_result *out,
    char *err, size_t errlen)
{
	struct seen *s = arg;

	if (s->calls < 16)
		snprintf(s->resources[s->calls], 16, "%s", q->resource_id);
	s->calls++;
	memset(out, 0, sizeof(*out));
	if (strcmp(q->resource_id, "err") == 0) {
		snprintf(err, errlen, "store down");
		return -MDT_ESTORE;
	}
	if (q->refused_reason != NULL)
		snprintf(s->refused, sizeof(s->refused), "%s", q->refused_reason);
	if (q->refused_reason != NULL && q->resource_id[0] != 'y') {
		snprintf(out->reason, sizeof(out->reason), "%s",
		    q->refused_reason);
		return 0;
	}
	out->allow = q->resource_id[0] == 'y';
	snprintf(out->reason, sizeof(out->reason), "%s", out->allow ? "" :
	    "policy.deny");
	return 0;
}

static struct az_api Api;
static struct seen Seen;

static void
api_setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	memset(&Api, 0, sizeof(Api));
	memset(&Seen, 0, sizeof(Seen));
	crypto_generichash(Api.tokens[0], 32, (const uint8_t *)"tok", 3, NULL,
	    0);
	Api.ntokens = 1;
	Api.eval = stand_in;
	Api.eval_arg = &Seen;
	snprintf(Api.pdp, sizeof(Api.pdp), "https://pdp.example");
}

static json_t *
call(const char *path, const char *auth, const char *body, int status)
{
	struct az_http_req r;
	struct az_resp resp;
	json_t *j;

	memset(&r, 0, sizeof(r));
	snprintf(r.method, sizeof(r.method), "%s", body ? "POST" : "GET");
	snprintf(r.path, sizeof(r.path), "%s", path);
	snprintf(r.auth, sizeof(r.auth), "%s", auth ? auth : "");
	r.json = 1;
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	az_api_handle(&Api, &r, &resp);
	ck_assert_msg(resp.status == status, "%s: %d, want %d: %s", path,
	    resp.status, status, resp.body);
	j = json_loads(resp.body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	free(resp.body);
	return j;
}

#define BATCH(sem) "{\"subject\":{\"type\":\"u\",\"id\":\"a\"},\"action\":" \
    "{\"name\":\"r\"}," sem "\"evaluations\":[{\"resource\":{\"type\":" \
    "\"d\",\"id\":\"y1\"}},{\"resource\":{\"type\":\"d\",\"id\":\"n2\"}}," \
    "{\"resource\":{\"type\":\"d\",\"id\":\"y3\"}}]}"

static void
expect_list(json_t *j, const char *want, int calls)
{
	json_t *l = json_object_get(j, "evaluations"), *e;
	char got[16] = "";
	size_t i;

	json_array_foreach(l, i, e)
		got[i] = json_is_true(json_object_get(e, "decision")) ? 'T' :
		    'F';
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(Seen.calls, calls);
	json_decref(j);
	Seen.calls = 0;
}

START_TEST(the_semantics_stop_where_they_should)
{
	expect_list(call("/access/v1/evaluations", "Bearer tok", BATCH(""),
	    200), "TFT", 3);
	expect_list(call("/access/v1/evaluations", "Bearer tok",
	    BATCH("\"options\":{\"evaluations_semantic\":\"execute_all\"},"),
	    200), "TFT", 3);
	expect_list(call("/access/v1/evaluations", "Bearer tok",
	    BATCH("\"options\":{\"evaluations_semantic\":"
	    "\"deny_on_first_deny\"},"), 200), "TF", 2);
	expect_list(call("/access/v1/evaluations", "bearer tok",
	    BATCH("\"options\":{\"evaluations_semantic\":"
	    "\"permit_on_first_permit\"},"), 200), "T", 1);
}
END_TEST

START_TEST(the_stopping_item_names_the_semantic)
{
	json_t *j = call("/access/v1/evaluations", "Bearer tok",
	    BATCH("\"options\":{\"evaluations_semantic\":"
	    "\"deny_on_first_deny\"},"), 200);
	json_t *ctx = json_object_get(json_array_get(json_object_get(j,
	    "evaluations"), 1), "context");

	ck_assert_str_eq(json_string_value(json_object_get(ctx, "reason")),
	    "deny_on_first_deny");
	json_decref(j);
}
END_TEST

START_TEST(a_broker_failure_is_never_an_allow)
{
	json_t *j = call("/access/v1/evaluation", "Bearer tok",
	    "{\"subject\":{\"type\":\"u\",\"id\":\"a\"},\"action\":{\"name\":"
	    "\"r\"},\"resource\":{\"type\":\"d\",\"id\":\"err\"}}", 500);

	ck_assert_ptr_null(json_object_get(j, "decision"));
	json_decref(j);
	Seen.calls = 0;
	j = call("/access/v1/evaluations", "Bearer tok", "{\"subject\":{"
	    "\"type\":\"u\",\"id\":\"a\"},\"action\":{\"name\":\"r\"},"
	    "\"options\":{\"evaluations_semantic\":\"permit_on_first_permit\"},"
	    "\"evaluations\":[{\"resource\":{\"type\":\"d\",\"id\":\"err\"}},"
	    "{\"resource\":{\"type\":\"d\",\"id\":\"y\"}}]}", 200);
	expect_list(j, "FT", 2);
}
END_TEST

#define TOKEN_EVAL(id) "{\"subject\":{\"type\":\"u\",\"id\":\"a\"}," \
    "\"action\":{\"name\":\"r\"},\"resource\":{\"type\":\"d\",\"id\":" \
    "\"" id "\"},\"context\":{\"mandate\":{\"token\":\"t\"," \
    "\"proof\":\"p\"}}}"

/* A refused token goes to the broker to be recorded; its deny is the
 * broker's answer, a store failure is an error, and an allow for it
 * (a broker that does not know refused) is never passed on. */
START_TEST(a_refused_token_is_recorded_by_the_broker)
{
	json_t *j = call("/access/v1/evaluation", "Bearer tok",
	    TOKEN_EVAL("n1"), 200);

	ck_assert(json_is_false(json_object_get(j, "decision")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "context"), "reason")), "token.unsupported");
	ck_assert_int_eq(Seen.calls, 1);
	ck_assert_str_eq(Seen.refused, "token.unsupported");
	json_decref(j);
	json_decref(call("/access/v1/evaluation", "Bearer tok",
	    TOKEN_EVAL("err"), 500));
	json_decref(call("/access/v1/evaluation", "Bearer tok",
	    TOKEN_EVAL("y1"), 500));
	ck_assert_int_eq(Seen.calls, 3);
}
END_TEST

START_TEST(credentials_are_checked)
{
	static const char *const bad[] = { NULL, "", "Bearer", "Bearer ",
	    "Bearer to", "Bearer tokk", "Basic tok", "tok" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_decref(call("/access/v1/evaluation", bad[i], "{}", 401));
	ck_assert_int_eq(Seen.calls, 0);
	/* the metadata is discovery: no credential needed */
	json_decref(call("/.well-known/authzen-configuration", NULL, NULL,
	    200));
	json_decref(call("/.well-known/authzen-configuration", NULL, "{}",
	    405));
}
END_TEST

START_TEST(too_many_evaluations_are_refused)
{
	size_t cap = 64 + (AZ_EVALUATIONS_MAX + 1) * 48;
	char *b = malloc(cap);

	ck_assert_ptr_nonnull(b);
	strcpy(b, "{\"subject\":{\"type\":\"u\",\"id\":\"a\"},\"action\":{"
	    "\"name\":\"r\"},\"evaluations\":[");
	for (int i = 0; i <= AZ_EVALUATIONS_MAX; i++)
		strcat(b, i ? ",{\"resource\":{\"type\":\"d\",\"id\":\"y\"}}" :
		    "{\"resource\":{\"type\":\"d\",\"id\":\"y\"}}");
	strcat(b, "]}");
	json_decref(call("/access/v1/evaluations", "Bearer tok", b, 400));
	ck_assert_int_eq(Seen.calls, 0);
	free(b);
}
END_TEST

START_TEST(the_credentials_file_must_be_private)
{
	char path[] = "/tmp/mdt-az-cred-XXXXXX", err[256];
	struct az_api a;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "# c\n\none\ntwo\n", 13), 13);
	close(fd);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(az_api_load_tokens(&a, path, err, sizeof(err)),
	    -MDT_EIO);
	ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(az_api_load_tokens(&a, path, err, sizeof(err)), 0);
	ck_assert_int_eq(a.ntokens, 2);
	unlink(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("authzen_front");
	TCase *p = tcase_create("http");
	TCase *m = tcase_create("map");
	TCase *a = tcase_create("api");

	tcase_add_test(p, a_request_with_a_body_parses);
	tcase_add_test(p, a_partial_request_asks_for_more);
	tcase_add_test(p, broken_requests_get_their_status);
	tcase_add_test(p, the_bounds_hold);
	tcase_add_test(p, connection_headers_and_versions);
	tcase_add_test(m, an_evaluation_maps_to_cedar_inputs);
	tcase_add_test(m, an_item_overrides_its_defaults_whole);
	tcase_add_test(m, an_incomplete_evaluation_is_refused);
	tcase_add_checked_fixture(a, api_setup, NULL);
	tcase_add_test(a, the_semantics_stop_where_they_should);
	tcase_add_test(a, the_stopping_item_names_the_semantic);
	tcase_add_test(a, a_broker_failure_is_never_an_allow);
	tcase_add_test(a, a_refused_token_is_recorded_by_the_broker);
	tcase_add_test(a, credentials_are_checked);
	tcase_add_test(a, too_many_evaluations_are_refused);
	tcase_add_test(a, the_credentials_file_must_be_private);
	suite_add_tcase(s, p);
	suite_add_tcase(s, m);
	suite_add_tcase(s, a);
	return mdt_test_run(s);
}
