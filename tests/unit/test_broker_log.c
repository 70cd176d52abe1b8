/* The broker's JSON log lines: the leading key=value words become
 * fields, the rest is msg, everything is escaped, and a line cut to any
 * buffer size is still one valid JSON object. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "broker.h"
#include "testutil.h"

static json_t *
line_of(const char *msg, size_t len)
{
	static char out[8192];
	json_error_t je;
	json_t *j;

	brk_log_json_line(out, len, "2026-01-01T00:00:00.000Z", "info",
	    "decision.refused", msg);
	ck_assert_uint_lt(strlen(out), len);
	j = json_loads(out, 0, &je);
	ck_assert_msg(j != NULL, "len %zu: not JSON (%s): %s", len, je.text,
	    out);
	return j;
}

START_TEST(fields_and_msg)
{
	json_t *j = line_of("op=authorize reason=scope.token seq=42 the "
	    "rest \"quoted\"\n\tand a=b later", 4096);

	ck_assert_str_eq(json_string_value(json_object_get(j, "event")),
	    "decision.refused");
	ck_assert_str_eq(json_string_value(json_object_get(j, "op")),
	    "authorize");
	ck_assert_str_eq(json_string_value(json_object_get(j, "reason")),
	    "scope.token");
	ck_assert_str_eq(json_string_value(json_object_get(j, "seq")), "42");
	ck_assert_str_eq(json_string_value(json_object_get(j, "msg")),
	    "the rest \"quoted\"\n\tand a=b later");
	ck_assert_ptr_null(json_object_get(j, "a"));
	json_decref(j);
	j = line_of("", 4096);
	ck_assert_ptr_null(json_object_get(j, "msg"));
	json_decref(j);
}
END_TEST

START_TEST(cut_lines_stay_json)
{
	char msg[3000];

	for (size_t i = 0; i < sizeof(msg) - 1; i++)
		msg[i] = "k=v \"\\\x01x\xc3\xa9\xe2\x82\xac\xff"[i % 14];
	msg[sizeof(msg) - 1] = 0;
	for (size_t len = 80; len < 4096; len += 37)
		json_decref(line_of(msg, len));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_log");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, fields_and_msg);
	tcase_add_test(tc, cut_lines_stay_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
