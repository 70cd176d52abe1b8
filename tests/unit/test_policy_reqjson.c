/*
 * Requests written out for replay (mdt_policy_request_write_json,
 * mdt_policy_record_write_json / _to_json): every value kind and every
 * character that needs escaping reads back through jansson and through
 * mdt_policy_replay to the decision the original request got (as does
 * the same request with its keys in the order jansson wrote them
 * before); a buffer too small at any length is refused without a byte
 * written past it; text that is not UTF-8, or holds a NUL, is refused.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <mandate/mandate.h>

#include "testutil.h"

static const char pol[] =
    "permit(principal == A::\"p\\\"q\", action == Action::\"read\","
    "  resource in Pt::\"x\")\n"
    "when { context.s == \"a\\\"b\\\\c\\nd\xc3\xa9\" && context.n == -5 &&\n"
    "  context.b && context.who == Pt::\"x\" && context.set.contains(\"z\") &&\n"
    "  context.r.inner == 1 && context.d == decimal(\"1.5\") &&\n"
    "  context.t == datetime(\"2026-01-02T03:04:05.006Z\") &&\n"
    "  context.dur == duration(\"90ms\") && resource.type == \"Observation\" };\n";

struct fx {
	mdt_policy_record *ctx, *attrs;
	mdt_entity_uid pt;
	mdt_policy_entity ent;
	mdt_policy_request req;
};

static void
fx_build(struct fx *f)
{
	static const char *const set[] = {"y", "z"};
	static const char s[] = "a\"b\\c\nd\xc3\xa9";

	ck_assert_int_eq(mdt_policy_record_new(&f->ctx), 0);
	ck_assert_int_eq(mdt_policy_record_new(&f->attrs), 0);
	f->pt = (mdt_entity_uid){"Pt", "x", 1};
	ck_assert(mdt_policy_record_set_string(f->ctx, "s", s, strlen(s)) == 0 &&
	    mdt_policy_record_set_long(f->ctx, "n", -5) == 0 &&
	    mdt_policy_record_set_bool(f->ctx, "b", 1) == 0 &&
	    mdt_policy_record_set_entity(f->ctx, "who", &f->pt) == 0 &&
	    mdt_policy_record_set_strings(f->ctx, "set", set, 2) == 0 &&
	    mdt_policy_record_begin_record(f->ctx, "r") == 0 &&
	    mdt_policy_record_set_long(f->ctx, "inner", 1) == 0 &&
	    mdt_policy_record_end(f->ctx) == 0 &&
	    mdt_policy_record_set_extension(f->ctx, "d", "decimal", "1.5") == 0 &&
	    mdt_policy_record_set_extension(f->ctx, "t", "datetime",
	    "2026-01-02T03:04:05.006Z") == 0 &&
	    mdt_policy_record_set_extension(f->ctx, "dur", "duration",
	    "90ms") == 0);
	ck_assert(mdt_policy_record_set_string(f->attrs, "type", "Observation",
	    11) == 0 && mdt_policy_record_set_entity(f->attrs, "patient",
	    &f->pt) == 0);
	f->ent = (mdt_policy_entity){ .uid = {"Res", "o/1", 3},
	    .attrs = f->attrs, .parents = &f->pt, .nparents = 1 };
	f->req = (mdt_policy_request){ .principal = {"A", "p\"q", 3},
	    .action = {"Action", "read", 4}, .resource = {"Res", "o/1", 3},
	    .context = f->ctx };
}

static void
fx_free(struct fx *f)
{
	mdt_policy_record_free(f->ctx);
	mdt_policy_record_free(f->attrs);
}

START_TEST(request_replays_to_the_same_decision)
{
	mdt_policy_set *set = NULL;
	mdt_policy_answer *ans = NULL;
	char buf[4096], err[256], *old;
	json_error_t je;
	json_t *j;
	size_t n = 0;
	struct fx f;

	fx_build(&f);
	ck_assert_msg(mdt_policy_set_parse(&set, pol, strlen(pol), "p", err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(mdt_policy_answer_new(&ans), 0);
	ck_assert_int_eq(mdt_policy_request_write_json(&f.req, &f.ent, 1, buf,
	    sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, strlen(buf));
	j = json_loads(buf, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(j != NULL, "%s: %s", buf, je.text);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "principal"), "id")), "p\"q");
	ck_assert_int_eq(mdt_policy_replay(set, NULL, buf, n, ans, err,
	    sizeof(err)), 0);
	ck_assert_msg(mdt_policy_answer_decision(ans) == MDT_DECISION_ALLOW,
	    "%s", buf);
	/* records written before this writer came from jansson, with their
	 * keys in another order: they replay the same */
	old = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_ptr_nonnull(old);
	ck_assert_str_ne(old, buf);
	ck_assert_int_eq(mdt_policy_replay(set, NULL, old, strlen(old), ans,
	    err, sizeof(err)), 0);
	ck_assert(mdt_policy_answer_decision(ans) == MDT_DECISION_ALLOW);
	free(old);
	json_decref(j);
	/* one fact less and the same policy does not permit */
	f.ent.nparents = 0;
	ck_assert_int_eq(mdt_policy_request_write_json(&f.req, &f.ent, 1, buf,
	    sizeof(buf), &n), 0);
	ck_assert_int_eq(mdt_policy_replay(set, NULL, buf, n, ans, err,
	    sizeof(err)), 0);
	ck_assert(mdt_policy_answer_decision(ans) == MDT_DECISION_DENY);
	mdt_policy_answer_free(ans);
	mdt_policy_set_free(set);
	fx_free(&f);
}
END_TEST

START_TEST(record_text_is_stable)
{
	mdt_policy_record *back = NULL;
	char buf[2048], err[256], *a = NULL, *b = NULL;
	struct fx f;

	fx_build(&f);
	ck_assert_int_eq(mdt_policy_record_write_json(f.ctx, buf, sizeof(buf),
	    NULL), 0);
	ck_assert_int_eq(mdt_policy_record_to_json(f.ctx, &a), 0);
	ck_assert_str_eq(a, buf);
	ck_assert_int_eq(mdt_policy_record_new(&back), 0);
	ck_assert_int_eq(mdt_policy_record_load_json(back, a, strlen(a), "c",
	    err, sizeof(err)), 0);
	ck_assert_int_eq(mdt_policy_record_to_json(back, &b), 0);
	ck_assert_str_eq(a, b);
	mdt_free(a);
	mdt_free(b);
	mdt_policy_record_free(back);
	fx_free(&f);
}
END_TEST

START_TEST(short_buffers_refused_in_bounds)
{
	char full[4096], buf[4096];
	size_t n = 0, m;
	struct fx f;

	fx_build(&f);
	ck_assert_int_eq(mdt_policy_request_write_json(&f.req, &f.ent, 1, full,
	    sizeof(full), &n), 0);
	for (size_t len = 1; len <= n + 1; len++) {
		memset(buf, 0x5a, sizeof(buf));
		ck_assert_int_eq(mdt_policy_request_write_json(&f.req, &f.ent, 1,
		    buf, len, &m), len <= n ? -MDT_ETOOBIG : 0);
		ck_assert_msg(buf[len] == 0x5a, "wrote past %zu", len);
	}
	ck_assert_str_eq(buf, full);
	ck_assert_int_eq(mdt_policy_request_write_json(&f.req, &f.ent, 1, buf,
	    0, &m), -MDT_EINVAL);
	fx_free(&f);
}
END_TEST

START_TEST(bad_text_refused)
{
	mdt_policy_record *r = NULL;
	mdt_policy_request req = { .principal = {"A", "p", 1},
	    .action = {"Act", "a", 1}, .resource = {"R", "r", 1} };
	char buf[512];

	ck_assert_int_eq(mdt_policy_record_new(&r), 0);
	req.context = r;
	ck_assert_int_eq(mdt_policy_request_write_json(&req, NULL, 0, buf,
	    sizeof(buf), NULL), 0);
	ck_assert_str_eq(buf, "{\"principal\":{\"type\":\"A\",\"id\":\"p\"},"
	    "\"action\":{\"type\":\"Act\",\"id\":\"a\"},\"resource\":"
	    "{\"type\":\"R\",\"id\":\"r\"},\"context\":{},\"entities\":[]}");
	req.resource.id = "\xc3(";
	req.resource.id_len = 2;
	ck_assert_int_eq(mdt_policy_request_write_json(&req, NULL, 0, buf,
	    sizeof(buf), NULL), -MDT_EPARSE);
	req.resource = (mdt_entity_uid){"R", "r", 1};
	ck_assert_int_eq(mdt_policy_record_set_string(r, "s", "a\0b", 3), 0);
	ck_assert_int_eq(mdt_policy_request_write_json(&req, NULL, 0, buf,
	    sizeof(buf), NULL), -MDT_EPARSE);
	mdt_policy_record_reset(r);
	ck_assert_int_eq(mdt_policy_record_begin_record(r, "open"), 0);
	ck_assert_int_eq(mdt_policy_request_write_json(&req, NULL, 0, buf,
	    sizeof(buf), NULL), -MDT_EINVAL);
	mdt_policy_record_free(r);
}
END_TEST

static Suite *
reqjson_suite(void)
{
	Suite *s = suite_create("policy_reqjson");
	TCase *tc = tcase_create("reqjson");

	tcase_add_test(tc, request_replays_to_the_same_decision);
	tcase_add_test(tc, record_text_is_stable);
	tcase_add_test(tc, short_buffers_refused_in_bounds);
	tcase_add_test(tc, bad_text_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(reqjson_suite());
}
