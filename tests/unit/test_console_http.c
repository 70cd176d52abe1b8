/*
 * mandate-console's pieces that take untrusted input or hold the
 * credential: the request parser (bounds, framing, refusals), query and
 * form decoding, cookies, HTML and URL escaping, the credential file's
 * rules, constant-time sign-in with its throttle, and sessions.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "console_int.h"

static int
parse(const char *s, con_req *r)
{
	return con_http_parse(s, strlen(s), r);
}

START_TEST(parses_a_request)
{
	const char *s = "POST /login?x=1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n"
	    "Cookie: a=b; mdt_login=xyz\r\nContent-Length: 5\r\n\r\nab=cdEXTRA";
	con_req r;
	size_t n;
	const char *v;

	ck_assert_int_eq(con_http_parse(s, strlen(s), &r), 0);
	ck_assert_str_eq(r.method, "POST");
	ck_assert(con_path_is(&r, "/login"));
	ck_assert_uint_eq(r.query_len, 3);
	ck_assert_int_eq(memcmp(r.body, "ab=cd", 5), 0);
	ck_assert_uint_eq(r.total, strlen(s) - 5);
	v = con_header(&r, "cookie", &n);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(memcmp(v, "a=b; mdt_login=xyz", n), 0);
	/* every proper prefix is incomplete */
	for (size_t k = 0; k < r.total; k++)
		ck_assert_int_eq(con_http_parse(s, k, &r), CON_MORE);
}
END_TEST

START_TEST(refuses_what_it_does_not_need)
{
	static const struct {
		const char *req;
		int status;
	} t[] = {
		{"GET / HTTP/1.1\nHost: a\n\n", CON_MORE},   /* bare LF: no end */
		{"GET / HTTP/1.1\r\nA: 1\r\n b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nCookie: a\r\nCookie: b\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n"
		    "\r\nx", 400},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
		{"POST / HTTP/1.1\r\n\r\n", 411},
		{"POST / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", 413},
		{"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
		{"DELETE / HTTP/1.1\r\n\r\n", 501},
		{"GET / HTTP/2.0\r\n\r\n", 505},
		{"GET / FTP/1.0\r\n\r\n", 400},
		{"GET x HTTP/1.1\r\n\r\n", 400},
		{"GET /a#b HTTP/1.1\r\n\r\n", 400},
		{"GET /\x01 HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nA: x\x01y\r\n\r\n", 400},
	};
	con_req r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(parse(t[i].req, &r) == t[i].status, "case %zu: %d",
		    i, parse(t[i].req, &r));
}
END_TEST

START_TEST(bounds_the_head)
{
	size_t n = CON_HEAD_MAX + 100;
	char *s = malloc(n + 1);
	con_req r;

	memcpy(s, "GET / HTTP/1.1\r\nX: ", 19);
	memset(s + 19, 'a', n - 19);
	s[n] = 0;
	ck_assert_int_eq(con_http_parse(s, n, &r), 431);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', CON_TARGET_MAX + 10);
	memcpy(s + 5 + CON_TARGET_MAX + 10, " HTTP/1.1\r\n\r\n", 13);
	ck_assert_int_eq(con_http_parse(s, 5 + CON_TARGET_MAX + 23, &r), 414);
	free(s);
}
END_TEST

START_TEST(decodes_forms)
{
	const char *q = "a=1&patient=pat%2D001+x&patient=second&bad=%zz&"
	    "ctl=%0A&nul=%00&utf=%C3%A9&badutf=%C3%28&empty=&flag";
	char out[16];

	ck_assert_int_eq(con_form_get(q, strlen(q), "patient", out,
	    sizeof(out)), 1);
	ck_assert_str_eq(out, "pat-001 x");
	ck_assert_int_eq(con_form_get(q, strlen(q), "bad", out, sizeof(out)),
	    -1);
	ck_assert_int_eq(con_form_get(q, strlen(q), "ctl", out, sizeof(out)),
	    -1);
	ck_assert_int_eq(con_form_get(q, strlen(q), "nul", out, sizeof(out)),
	    -1);
	ck_assert_int_eq(con_form_get(q, strlen(q), "utf", out, sizeof(out)),
	    1);
	ck_assert_str_eq(out, "\xc3\xa9");
	ck_assert_int_eq(con_form_get(q, strlen(q), "badutf", out,
	    sizeof(out)), -1);
	ck_assert_int_eq(con_form_get(q, strlen(q), "empty", out,
	    sizeof(out)), 1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(con_form_get(q, strlen(q), "flag", out, sizeof(out)),
	    1);
	ck_assert_int_eq(con_form_get(q, strlen(q), "none", out, sizeof(out)),
	    0);
	ck_assert_int_eq(con_form_get("k=0123456789abcdef", 18, "k", out,
	    sizeof(out)), -1); /* too long: refused, not cut */
	ck_assert_int_eq(con_form_get("k=%4", 4, "k", out, sizeof(out)), -1);
	ck_assert_int_eq(con_form_get(NULL, 0, "k", out, sizeof(out)), 0);
}
END_TEST

START_TEST(reads_cookies)
{
	const char *c = "a=1; mdt_session=abc; mdt_sessionx=no";
	char out[8];

	ck_assert_int_eq(con_cookie_get(c, strlen(c), "mdt_session", out,
	    sizeof(out)), 1);
	ck_assert_str_eq(out, "abc");
	ck_assert_int_eq(con_cookie_get(c, strlen(c), "mdt", out,
	    sizeof(out)), 0);
	ck_assert_int_eq(con_cookie_get("x=a\"b", 5, "x", out, sizeof(out)),
	    -1);
	ck_assert_int_eq(con_cookie_get("x=0123456789", 12, "x", out,
	    sizeof(out)), -1);
}
END_TEST

START_TEST(escapes_output)
{
	con_buf b = {0};

	con_esc(&b, "<img src=x onerror='a'>&\"");
	ck_assert_str_eq(b.p, "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;"
	    "&quot;");
	con_buf_free(&b);
	con_url(&b, "a b&c=d/<\"");
	ck_assert_str_eq(b.p, "a%20b%26c%3Dd%2F%3C%22");
	con_buf_free(&b);
	con_esc(&b, NULL);
	ck_assert_str_eq(b.p, "-");
	con_buf_free(&b);
}
END_TEST

static char dir[] = "/tmp/mdt-console-XXXXXX";

static const char *
cred_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert(fd >= 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

START_TEST(credential_rules)
{
	con_auth a = {0};
	char err[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(con_auth_load(&a, cred_file("open",
	    "0123456789abcdef\n", 0644), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
	ck_assert_int_eq(con_auth_load(&a, cred_file("short", "short\n", 0600),
	    err, sizeof(err)), -1);
	ck_assert_int_eq(con_auth_load(&a, cred_file("space",
	    "0123456789 abcdef\n", 0600), err, sizeof(err)), -1);
	ck_assert_int_eq(con_auth_load(&a, cred_file("good",
	    "0123456789abcdefXYZ\r\n", 0600), err, sizeof(err)), 0);
	ck_assert(con_auth_check(&a, "0123456789abcdefXYZ", 19, 1000));
	ck_assert(!con_auth_check(&a, "0123456789abcdefXY", 18, 1000));
	ck_assert(!con_auth_check(&a, "0123456789abcdefXYZ\n", 20, 1000));
	ck_assert(!con_auth_throttled(&a, 1000));
	for (int i = 0; i < CON_FAILS_MAX; i++)
		(void)con_auth_check(&a, "wrong", 5, 2000);
	ck_assert(con_auth_throttled(&a, 2000));
	ck_assert(!con_auth_throttled(&a, 1000 + CON_FAILS_WINDOW_MS));
	con_auth_wipe(&a);
}
END_TEST

START_TEST(sessions)
{
	con_auth a = {0};
	char sid[CON_TOKEN_HEX + 1], other[CON_TOKEN_HEX + 1];
	int64_t t = 1000000;

	ck_assert_int_eq(con_session_new(&a, t, sid), 0);
	ck_assert_uint_eq(strlen(sid), CON_TOKEN_HEX);
	ck_assert(con_session_valid(&a, sid, t + 1));
	con_random_token(other);
	ck_assert(!con_session_valid(&a, other, t + 1));
	ck_assert(!con_session_valid(&a, "", t + 1));
	ck_assert(con_session_valid(&a, sid, t + CON_SESSION_IDLE_MS - 1));
	ck_assert(!con_session_valid(&a, sid,
	    t + 2 * CON_SESSION_IDLE_MS + 1)); /* idle too long */
	ck_assert_int_eq(con_session_new(&a, t, sid), 0);
	for (int64_t k = 1; k < 30; k++)   /* kept alive, but not forever */
		ck_assert(con_session_valid(&a, sid,
		    t + k * (CON_SESSION_LIFE_MS / 30)));
	ck_assert(!con_session_valid(&a, sid, t + CON_SESSION_LIFE_MS));
	ck_assert(con_token_equal("abc", "abc"));
	ck_assert(!con_token_equal("abc", "abd"));
	ck_assert(!con_token_equal("abc", "abcd"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parses_a_request);
	tcase_add_test(tc, refuses_what_it_does_not_need);
	tcase_add_test(tc, bounds_the_head);
	tcase_add_test(tc, decodes_forms);
	tcase_add_test(tc, reads_cookies);
	tcase_add_test(tc, escapes_output);
	tcase_add_test(tc, credential_rules);
	tcase_add_test(tc, sessions);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
