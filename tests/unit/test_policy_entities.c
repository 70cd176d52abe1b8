/*
 * Entity and context data: Cedar's entities JSON loaded strictly (errors
 * with file:line:col, nothing half-loaded, duplicates rejected),
 * `__entity` / `__extn` escapes, overlay stores, the record builder, and
 * allocation failures on every path of parsing and loading.
 */
#include <stdio.h>
#include <string.h>

#include <mandate/mandate.h>

#include "alloc_int.h"
#include "policy_testutil.h"
#include "testutil.h"

static int
load(mdt_entity_store *s, const char *json, char *err, size_t errlen)
{
	return mdt_entity_store_load_json(s, json, strlen(json), "e.json", err,
	    errlen);
}

START_TEST(strict_errors_name_positions)
{
	static const struct {
		const char *json;
		const char *want;
	} t[] = {
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{},\"parents\":[]},]",
		    "e.json:1:56: expected a JSON value"},
		{"[\n {\"uid\":{\"type\":\"U\",\"id\":\"a\"},\n  \"attrs\":{\"x\":1.5}}]",
		    "e.json:3:16: floating-point"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"atrs\":{},\"parents\":[]}]",
		    "e.json:1:2: entity without \"attrs\""},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{}}]",
		    "e.json:1:2: entity without \"parents\""},
		{"[{\"uid\":{\"type\":\"U\"},\"attrs\":{},\"parents\":[]}]",
		    "e.json:1:9: expected an entity uid"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{},\"parents\":[]},\n"
		 " {\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{},\"parents\":[]}]",
		    "e.json:2:2: duplicate entity uid"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{\"x\":"
		 "{\"__expr\":\"1\"}},\"parents\":[]}]",
		    "e.json:1:44: the `__expr` escape is no longer supported"},
		{"[{\"uid\":{\"__expr\":\"U::\\\"a\\\"\"},\"attrs\":{},\"parents\":[]}]",
		    "e.json:1:9: the `__expr` escape"},
		{"[{\"uid\":{\"type\":\"if\",\"id\":\"a\"},\"attrs\":{},\"parents\":[]}]",
		    "e.json:1:9: this identifier is reserved"},
		{"[{\"uid\":{\"type\":\"A::__cedar\",\"id\":\"a\"},\"attrs\":{},\"parents\":[]}]",
		    "e.json:1:9: the name `__cedar` is reserved"},
		{"[{\"uid\":{\"type\":\"A :: B\",\"id\":\"a\"},\"attrs\":{},\"parents\":[]}]",
		    "e.json:1:9: entity type is not a Cedar name"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{\"x\":"
		 "{\"__entity\":{\"type\":\"U s\",\"id\":\"b\"}}},\"parents\":[]}]",
		    "e.json:1:56: entity type is not a Cedar name"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{},"
		 "\"parents\":[{\"type\":\"A::\",\"id\":\"b\"}]}]",
		    "e.json:1:53: entity type is not a Cedar name"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{},"
		 "\"parents\":[{\"type\":\"U\",\"id\":\"a\"}]}]",
		    "e.json:1:1: the parents hierarchy has a cycle containing U::\"a\""},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{},"
		 "\"parents\":[{\"type\":\"U\",\"id\":\"b\"}]},\n"
		 " {\"uid\":{\"type\":\"U\",\"id\":\"b\"},\"attrs\":{},"
		 "\"parents\":[{\"type\":\"U\",\"id\":\"a\"}]}]",
		    "e.json:1:1: the parents hierarchy has a cycle"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{\"a\":1,\"a\":2}}]",
		    "e.json:1:46: duplicate key"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{\"i\":"
		 "{\"__extn\":{\"fn\":\"ip\",\"arg\":\"300.1.1.1\"}}}}]",
		    "e.json:1:71: invalid extension"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{\"n\":null}}]",
		    "e.json:1:44: null"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"parents\":{}}]",
		    "e.json:1:41: \"parents\" must be an array"},
		{"{}", "e.json:1:1: entities must be a JSON array"},
		{"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{\"n\":99999999999999999999}}]",
		    "e.json:1:44: integer out of the 64-bit range"},
		{"[\"\\ud800\"]", "e.json:1:3: unpaired surrogate"},
	};
	char err[MDT_ERRMSG_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mdt_entity_store *s;
		ck_assert_int_eq(mdt_entity_store_new(&s), 0);
		err[0] = '\0';
		ck_assert_int_eq(load(s, t[i].json, err, sizeof(err)), -MDT_EPARSE);
		ck_assert_msg(strncmp(err, t[i].want, strlen(t[i].want)) == 0,
		    "case %zu: got \"%s\", want \"%s...\"", i, err, t[i].want);
		ck_assert_uint_eq(mdt_entity_store_count(s), 0); /* nothing half-loaded */
		mdt_entity_store_free(s);
	}
}
END_TEST

START_TEST(nothing_half_loaded_and_duplicates)
{
	mdt_entity_store *s;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_entity_store_new(&s), 0);
	ck_assert_int_eq(load(s, "[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{},\"parents\":[],"
	    "\"unknown\":1}]", err, sizeof(err)), 0);   /* ignored, as by Cedar */
	ck_assert_uint_eq(mdt_entity_store_count(s), 1);
	/* The second file's first entity is new, its second is bad: neither
	 * is added. */
	ck_assert_int_eq(load(s, "[{\"uid\":{\"type\":\"U\",\"id\":\"b\"},\"attrs\":{},\"parents\":[]},"
	    "{\"uid\":{\"type\":\"U\",\"id\":7},\"attrs\":{},\"parents\":[]}]", err, sizeof(err)),
	    -MDT_EPARSE);
	ck_assert_uint_eq(mdt_entity_store_count(s), 1);
	/* An entity already in the store makes the whole file fail. */
	ck_assert_int_eq(load(s, "[{\"uid\":{\"type\":\"U\",\"id\":\"b\"},\"attrs\":{},\"parents\":[]},"
	    "{\"uid\":{\"__entity\":{\"type\":\"U\",\"id\":\"a\"}},\"attrs\":{},\"parents\":[]}]", err,
	    sizeof(err)), -MDT_EPARSE);
	ck_assert_msg(strstr(err, "already in the store") != NULL, "%s", err);
	ck_assert_uint_eq(mdt_entity_store_count(s), 1);
	/* A cycle through an entity loaded before is found too, and nothing
	 * of the second file is added. */
	ck_assert_int_eq(load(s, "[{\"uid\":{\"type\":\"U\",\"id\":\"p\"},"
	    "\"attrs\":{},\"parents\":[{\"type\":\"U\",\"id\":\"q\"}]}]", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(load(s, "[{\"uid\":{\"type\":\"U\",\"id\":\"q\"},"
	    "\"attrs\":{},\"parents\":[{\"type\":\"U\",\"id\":\"p\"}]}]", err,
	    sizeof(err)), -MDT_EPARSE);
	ck_assert_msg(strstr(err, "cycle") != NULL, "%s", err);
	ck_assert_uint_eq(mdt_entity_store_count(s), 2);
	mdt_entity_store_free(s);
}
END_TEST

START_TEST(escapes_and_nul_keys)
{
	static const char ents[] =
	    "[{\"uid\":{\"__entity\":{\"type\":\"U\",\"id\":\"a\\u0000b\"}},"
	    "  \"attrs\":{\"k\\u0000\":1,\"k\":2,"
	    "   \"boss\":{\"__entity\":{\"type\":\"U\",\"id\":\"c\"}},"
	    "   \"d\":{\"__extn\":{\"fn\":\"decimal\",\"arg\":\"1.25\"}},"
	    "   \"t\":{\"__extn\":{\"fn\":\"offset\",\"args\":["
	    "     {\"__extn\":{\"fn\":\"datetime\",\"arg\":\"1970-01-01\"}},"
	    "     {\"__extn\":{\"fn\":\"duration\",\"arg\":\"1d\"}}]}},"
	    "   \"rec\":{\"type\":\"U\",\"id\":\"c\"}},"
	    "  \"parents\":[]}]";
	pt_result r;

	pt_eval("permit(principal, action, resource) when {"
	    " principal[\"k\\0\"] == 1 && principal.k == 2 &&"
	    " principal.boss == U::\"c\" &&"
	    " principal.d == decimal(\"1.2500\") &&"
	    " principal.t == datetime(\"1970-01-02\") &&"
	    " principal.rec.type == \"U\" };",
	    ents, "U::\"a\\0b\"", "A::\"x\"", "R::\"r\"", NULL, &r);
	ck_assert_msg(r.rc == 0 && r.decision == MDT_DECISION_ALLOW,
	    "rc %d errors %s msg %s", r.rc, r.errors, r.message);
	/* The id with a NUL is not the id cut at the NUL. */
	pt_eval("permit(principal == U::\"a\", action, resource);",
	    ents, "U::\"a\\0b\"", "A::\"x\"", "R::\"r\"", NULL, &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_DENY);
}
END_TEST

/*
 * Strings in JSON data are UTF-8 by RFC 3629: overlong forms, surrogates
 * and code points above U+10FFFF are refused at their first byte; every
 * other character, C1 controls and noncharacters included, is text.
 */
static void
json_utf8(void)
{
	static const struct {
		const char *json;
		const char *want; /* NULL: accepted */
	} t[] = {
		{"{\"a\":\"x\xe0\x80\x80\"}", "c.json:1:8: invalid UTF-8"},
		{"{\"a\":\"\xed\xa0\x80\"}", "c.json:1:7: invalid UTF-8"},
		{"{\"a\":\"\xed\xbf\xbf\"}", "c.json:1:7: invalid UTF-8"},
		{"{\"a\":\"\xc0\x80\"}", "c.json:1:7: invalid UTF-8"},
		{"{\"a\":\"\xf0\x80\x80\x80\"}", "c.json:1:7: invalid UTF-8"},
		{"{\"a\":\"\xf4\x90\x80\x80\"}", "c.json:1:7: invalid UTF-8"},
		{"{\"a\":\"\xc3\xa9\xa9\"}", "c.json:1:8: invalid UTF-8"},
		{"{\"a\":\"\xe2\x82\"}", "c.json:1:7: invalid UTF-8"},
		{"{\"a\":\"\xc2\x85\xef\xbf\xbf\xf4\x8f\xbf\xbf\"}", NULL},
		{"{\"\xc3\xa9\":\"\xed\x9f\xbf\xee\x80\x80\"}", NULL},
	};
	char err[MDT_ERRMSG_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mdt_policy_record *rec;
		int rc;

		ck_assert_int_eq(mdt_policy_record_new(&rec), 0);
		err[0] = '\0';
		rc = mdt_policy_record_load_json(rec, t[i].json,
		    strlen(t[i].json), "c.json", err, sizeof(err));
		if (t[i].want == NULL)
			ck_assert_msg(rc == 0, "case %zu: %s", i, err);
		else
			ck_assert_msg(rc == -MDT_EPARSE &&
			    strncmp(err, t[i].want, strlen(t[i].want)) == 0,
			    "case %zu: rc %d '%s'", i, rc, err);
		mdt_policy_record_free(rec);
	}
}

START_TEST(context_json)
{
	mdt_policy_record *rec;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_policy_record_new(&rec), 0);
	ck_assert_int_eq(mdt_policy_record_load_json(rec, "[1]", 3, "c.json",
	    err, sizeof(err)), -MDT_EPARSE);
	ck_assert_str_eq(err, "c.json:1:1: expected an object");
	ck_assert_int_eq(mdt_policy_record_load_json(rec, "{\"a\":\n 1.0}", 11,
	    "c.json", err, sizeof(err)), -MDT_EPARSE);
	ck_assert_str_eq(err, "c.json:2:2: floating-point numbers are not Cedar values");
	ck_assert_int_eq(mdt_policy_record_load_json(rec, "{\"a\": 1} x", 10,
	    "c.json", err, sizeof(err)), -MDT_EPARSE);
	ck_assert_str_eq(err, "c.json:1:10: trailing characters after the JSON value");
	mdt_policy_record_free(rec);
	json_utf8();
	ck_assert_int_eq(pt_expr("context.a.b == [1, \"x\"]",
	    "{\"a\":{\"b\":[\"x\",1]}}"), 'T');
}
END_TEST

START_TEST(record_builder_and_overlay)
{
	static const char *const purposes[] = {"TREAT", "ETREAT"};
	mdt_entity_store *base, *ov;
	mdt_policy_record *ctx, *attrs;
	mdt_policy_set *set;
	mdt_policy_answer *ans;
	char err[MDT_ERRMSG_MAX];
	mdt_entity_uid task = {"Task", "t1", 2}, agent = {"Agent", "a1", 2},
	    team = {"Team", "care", 4}, act = {"Action", "read", 4};
	mdt_policy_request req;
	static const char pol[] =
	    "permit(principal in Team::\"care\", action, resource is Task) when {"
	    " context.depth < 3 && context.purposes.contains(\"ETREAT\") &&"
	    " context.chain.agent == principal && context.ok &&"
	    " context.n.name == \"x\\0y\" && resource.owner == principal &&"
	    " context.at < datetime(\"2030-01-01\") };";

	ck_assert_int_eq(mdt_policy_set_parse(&set, pol, strlen(pol), "p", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(mdt_entity_store_new(&base), 0);
	ck_assert_int_eq(mdt_entity_store_add(base, &agent, NULL, &team, 1), 0);
	ck_assert_int_eq(mdt_entity_store_add(base, &agent, NULL, NULL, 0), -MDT_EEXIST);
	ck_assert_int_eq(mdt_entity_store_new_overlay(&ov, base), 0);
	ck_assert_int_eq(mdt_policy_record_new(&attrs), 0);
	ck_assert_int_eq(mdt_policy_record_set_entity(attrs, "owner", &agent), 0);
	ck_assert_int_eq(mdt_entity_store_add(ov, &task, attrs, NULL, 0), 0);
	ck_assert_int_eq(mdt_entity_store_add(ov, &agent, NULL, NULL, 0), -MDT_EEXIST);

	ck_assert_int_eq(mdt_policy_record_new(&ctx), 0);
	ck_assert_int_eq(mdt_policy_record_set_long(ctx, "depth", 2), 0);
	ck_assert_int_eq(mdt_policy_record_set_long(ctx, "depth", 1), -MDT_EEXIST);
	ck_assert_int_eq(mdt_policy_record_set_strings(ctx, "purposes", purposes, 2), 0);
	ck_assert_int_eq(mdt_policy_record_begin_record(ctx, "chain"), 0);
	ck_assert_int_eq(mdt_policy_record_set_entity(ctx, "agent", &agent), 0);
	ck_assert_int_eq(mdt_policy_record_end(ctx), 0);
	ck_assert_int_eq(mdt_policy_record_set_bool(ctx, "ok", 1), 0);
	ck_assert_int_eq(mdt_policy_record_begin_record(ctx, "n"), 0);
	ck_assert_int_eq(mdt_policy_record_set_string(ctx, "name", "x\0y", 3), 0);
	ck_assert_int_eq(mdt_policy_record_end(ctx), 0);
	ck_assert_int_eq(mdt_policy_record_end(ctx), -MDT_EINVAL);
	ck_assert_int_eq(mdt_policy_record_set_extension(ctx, "at", "datetime",
	    "2026-11-29T05:00:00Z"), 0);
	ck_assert_int_eq(mdt_policy_record_set_extension(ctx, "bad", "datetime",
	    "yesterday"), -MDT_EINVAL);

	ck_assert_int_eq(mdt_policy_answer_new(&ans), 0);
	memset(&req, 0, sizeof(req));
	req.principal = agent;
	req.action = act;
	req.resource = task;
	req.context = ctx;
	ck_assert_int_eq(mdt_policy_evaluate(set, ov, &req, ans), 0);
	ck_assert_msg(mdt_policy_answer_decision(ans) == MDT_DECISION_ALLOW, "%s",
	    mdt_policy_answer_error_count(ans) ? mdt_policy_answer_error_message(ans, 0) : "");
	/* The base alone does not know the task: its owner is missing. */
	ck_assert_int_eq(mdt_policy_evaluate(set, base, &req, ans), 0);
	ck_assert_int_eq(mdt_policy_answer_decision(ans), MDT_DECISION_DENY);
	ck_assert_uint_eq(mdt_policy_answer_error_count(ans), 1);
	/* Per request: clear the overlay and reset the context. */
	mdt_entity_store_clear(ov);
	ck_assert_uint_eq(mdt_entity_store_count(ov), 0);
	mdt_policy_record_reset(ctx);
	ck_assert_int_eq(mdt_policy_record_set_long(ctx, "depth", 2), 0);
	ck_assert_int_eq(mdt_policy_evaluate(set, ov, &req, ans), 0);
	ck_assert_int_eq(mdt_policy_answer_decision(ans), MDT_DECISION_DENY);

	mdt_policy_answer_free(ans);
	mdt_policy_record_free(ctx);
	mdt_policy_record_free(attrs);
	mdt_entity_store_free(ov);
	mdt_entity_store_free(base);
	mdt_policy_set_free(set);
}
END_TEST

/* Every allocation of parsing, loading and evaluating fails in turn: each
 * call fails cleanly (no crash, no leak under ASan) or succeeds. */
START_TEST(allocation_failures)
{
	static const char pol[] = "@id(\"x\") permit(principal in G::\"g\", action, "
	    "resource) when { [1, {a: \"s\"}].contains(1) && principal.n like \"a*\" };";
	int done = 0;

	for (long n = 0; !done && n < 200; n++) {
		mdt_policy_set *set = NULL;
		mdt_entity_store *s = NULL;
		mdt_policy_answer *ans = NULL;
		mdt_policy_request req;
		char err[MDT_ERRMSG_MAX];
		int ok;

		memset(&req, 0, sizeof(req));
		req.principal = (mdt_entity_uid){"U", "a", 1};
		req.action = req.resource = req.principal;
		mdt__alloc_fail_after(n);
		ok = mdt_policy_set_parse(&set, pol, strlen(pol), "p", err, sizeof(err)) == 0 &&
		    mdt_entity_store_new(&s) == 0 &&
		    mdt_entity_store_load_json(s, pt_entities, strlen(pt_entities),
		    "e", err, sizeof(err)) == 0 &&
		    mdt_policy_answer_new(&ans) == 0 &&
		    mdt_policy_evaluate(set, s, &req, ans) == 0;
		done = mdt__alloc_failures() == 0;
		mdt__alloc_fail_after(-1);
		ck_assert(ok || !done);
		mdt_policy_answer_free(ans);
		mdt_entity_store_free(s);
		mdt_policy_set_free(set);
	}
	ck_assert(done);
}
END_TEST

Suite *policy_entities_suite(void);

Suite *
policy_entities_suite(void)
{
	Suite *s = suite_create("policy_entities");
	TCase *tc = tcase_create("entities");

	tcase_add_test(tc, strict_errors_name_positions);
	tcase_add_test(tc, nothing_half_loaded_and_duplicates);
	tcase_add_test(tc, escapes_and_nul_keys);
	tcase_add_test(tc, context_json);
	tcase_add_test(tc, record_builder_and_overlay);
	tcase_add_test(tc, allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(policy_entities_suite());
}
