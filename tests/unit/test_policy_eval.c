/*
 * Cedar evaluator: operator precedence, short-circuit and type errors,
 * checked overflow, `like` escapes, strings with escapes and NULs, sets
 * and records, `in` over hierarchies (and at a hospital's size), missing
 * attributes, tags, extension values, and the effect of errors on
 * decisions (the erroring policy is skipped and reported).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mandate/mandate.h>

#include "policy_testutil.h"
#include "testutil.h"

typedef struct expr_case {
	const char *expr;
	char want;   /* T true, F false, E evaluation error, P parse error */
} expr_case;

static void
run_table(const expr_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char got = pt_expr(t[i].expr, NULL);
		ck_assert_msg(got == t[i].want, "`%s`: want %c, got %c", t[i].expr,
		    t[i].want, got);
	}
}

#define RUN(t) run_table((t), sizeof(t) / sizeof((t)[0]))

START_TEST(precedence)
{
	static const expr_case t[] = {
		{"1 + 2 * 3 == 7", 'T'},
		{"(1 + 2) * 3 == 9", 'T'},
		{"10 - 2 - 3 == 5", 'T'},
		{"-2 * 3 == -6", 'T'},
		{"!false && false", 'F'},
		{"true || false && false", 'T'},
		{"(true || false) && false", 'F'},
		{"1 < 2 == true", 'P'},           /* relations do not chain */
		{"if 1 < 2 then 3 == 3 else false", 'T'},
		{"if false then 1 else 2 == 2", 'T'},
		{"- - 3 == 3", 'T'},
		{"!!true", 'T'},
		{"!!!!!true", 'P'},               /* at most four unary ops */
		{"!-1", 'P'},
		{"[1, 2] == [2, 1, 1]", 'T'},     /* set semantics */
		{"{a: 1, b: [2]} == {b: [2], a: 1}", 'T'},
		{"{a: 1} == {a: 1, b: 2}", 'F'},
		{"User::\"alice\" == User::\"alice\"", 'T'},
		{"User::\"alice\" == Admin::\"alice\"", 'F'},
		{"1 == \"1\"", 'F'},              /* == never errors */
	};
	RUN(t);
}
END_TEST

START_TEST(short_circuit_and_type_errors)
{
	static const expr_case t[] = {
		{"false && (1 + \"a\" == 2)", 'F'},
		{"true || (1 + \"a\" == 2)", 'T'},
		{"1 && true", 'E'},
		{"true && 1", 'E'},
		{"false || 1", 'E'},
		{"!1", 'E'},
		{"-\"a\" == 1", 'E'},
		{"if 1 then true else false", 'E'},
		{"1 < \"2\"", 'E'},
		{"\"a\" < \"b\"", 'E'},
		{"1 in [User::\"alice\"]", 'E'},
		{"principal in [1]", 'E'},
		{"principal in 1", 'E'},
		{"\"abc\".contains(\"a\")", 'E'},
		{"[1].containsAll(1)", 'E'},
		{"1 has a", 'E'},
		{"1 like \"*\"", 'E'},
		{"1 is User", 'E'},
		{"ip(1) == ip(\"1.2.3.4\")", 'E'},
		{"decimal(\"1.23\").lessThan(1)", 'E'},
	};
	RUN(t);
}
END_TEST

START_TEST(overflow_is_an_error)
{
	static const expr_case t[] = {
		{"9223372036854775807 + 1 == 0", 'E'},
		{"-9223372036854775808 - 1 == 0", 'E'},
		{"-9223372036854775808 == -9223372036854775807 - 1", 'T'},
		{"9223372036854775807 * 2 == 0", 'E'},
		{"-(-9223372036854775808) == 0", 'E'},
		{"resource.size + 1 > 0", 'E'},
		{"resource.size - 1 < resource.size", 'T'},
		{"9223372036854775808 == 0", 'P'},   /* literal out of range */
		{"4611686018427387904 * 2 == 0", 'E'},
		{"3037000499 * 3037000499 > 0", 'T'},
	};
	RUN(t);
}
END_TEST

START_TEST(like_patterns)
{
	static const expr_case t[] = {
		{"\"hello\" like \"h*o\"", 'T'},
		{"\"hello\" like \"*\"", 'T'},
		{"\"\" like \"*\"", 'T'},
		{"\"hello\" like \"h*l\"", 'F'},
		{"\"a*b\" like \"a\\*b\"", 'T'},
		{"\"axb\" like \"a\\*b\"", 'F'},
		{"\"a*b\" like \"a*\\*b\"", 'T'},
		{"\"abcabc\" like \"*abc\"", 'T'},
		{"\"aaa\" like \"a**a\"", 'T'},
		{"\"ab\" like \"a*b*c\"", 'F'},
		{"\"tab\\there\" like \"tab\\t*\"", 'T'},
		{"\"x\" like \"\\q\"", 'P'},          /* unknown escape */
	};
	RUN(t);
}
END_TEST

START_TEST(strings_escapes_and_nul)
{
	static const expr_case t[] = {
		{"\"a\\0b\" != \"a\"", 'T'},
		{"\"a\\0b\" == \"a\\u{0}b\"", 'T'},
		{"\"\\u{48}\\u{49}\" == \"HI\"", 'T'},
		{"\"\\u{1F600}\" == \"\xF0\x9F\x98\x80\"", 'T'},
		{"\"\\x41\" == \"A\"", 'T'},
		{"\"\\x80\" == \"\"", 'P'},
		{"\"\\u{D800}\" == \"\"", 'P'},
		{"\"\\u{110000}\" == \"\"", 'P'},
		{"\"\\\"q\\\"\" like \"\\\"*\"", 'T'},
		{"A::B::C::\"x\" is A::B::C", 'T'},
		{"A::B::C::\"x\" is A::B", 'F'},
		{"A :: B :: \"x\" == A::B::\"x\"", 'T'},
		{"\"unterminated", 'P'},
	};
	RUN(t);
}
END_TEST

START_TEST(attributes_records_sets)
{
	static const expr_case t[] = {
		{"principal.age == 30", 'T'},
		{"principal[\"age\"] == 30", 'T'},
		{"principal.addr.zip.code == \"0150\"", 'T'},
		{"principal.missing == 1", 'E'},
		{"principal has missing", 'F'},
		{"principal has addr.zip.code", 'T'},
		{"principal has addr.zip.nope", 'F'},
		{"principal has \"age\"", 'T'},
		{"principal.manager.age == 1", 'E'},        /* bob does not exist */
		{"principal.manager has age", 'F'},
		{"principal.manager == User::\"bob\"", 'T'},
		{"resource.owner == principal", 'T'},
		{"context.x == 1", 'E'},
		{"context has x", 'F'},
		{"principal.tags.contains(\"a\")", 'T'},
		{"principal.tags.containsAll([\"a\", \"b\"])", 'T'},
		{"principal.tags.containsAll([\"a\", \"c\"])", 'F'},
		{"principal.tags.containsAny([\"c\", \"b\"])", 'T'},
		{"principal.tags.isEmpty()", 'F'},
		{"[].isEmpty()", 'T'},
		{"[[1], [2]].contains([1])", 'T'},
		{"{a: {b: 1}}.a.b == 1", 'T'},
		{"{\"a b\": 1}[\"a b\"] == 1", 'T'},
		{"{a: 1, a: 2}.a == 1", 'P'},
		{"[1].contains(1, 2)", 'P'},
		{"[1].frobnicate()", 'P'},
		{"nosuch(\"x\")", 'P'},
		{"?principal == principal", 'P'},
	};
	RUN(t);
}
END_TEST

START_TEST(hierarchy_in)
{
	static const expr_case t[] = {
		{"principal in Group::\"staff\"", 'T'},
		{"principal in Group::\"all\"", 'T'},
		{"principal in principal", 'T'},
		{"principal in Group::\"c1\"", 'F'},
		{"Group::\"c1\" in Group::\"c2\"", 'T'},
		{"Group::\"c1\" in Group::\"c1\"", 'T'},
		{"Group::\"c1\" in Group::\"all\"", 'F'},
		{"User::\"ghost\" in Group::\"all\"", 'F'},
		{"User::\"ghost\" in User::\"ghost\"", 'T'},
		{"principal in [Group::\"x\", Group::\"all\"]", 'T'},
		{"principal in []", 'F'},
		{"action in Action::\"read\"", 'T'},
		{"principal is User in Group::\"staff\"", 'T'},
		{"principal is Group in Group::\"staff\"", 'F'},
		{"principal is User in [Group::\"all\"]", 'T'},
	};
	RUN(t);
}
END_TEST

/* Appends s, then n unless it is negative, to a growing buffer (the
 * hierarchies below are megabytes). */
static void
put(char **buf, size_t *len, size_t *cap, const char *s, int n)
{
	if (*cap - *len < strlen(s) + 32) {
		*cap = *cap * 2 + strlen(s) + 4096;
		*buf = realloc(*buf, *cap);
		ck_assert_ptr_nonnull(*buf);
	}
	*len += (size_t)snprintf(*buf + *len, *cap - *len, "%s", s);
	if (n >= 0)
		*len += (size_t)snprintf(*buf + *len, *cap - *len, "%d", n);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Decides `principal in target` over ents (type G/U/D ids given) and
 * reports the time of loading and of one decision. */
static void
decide_in(const char *what, const char *ents, mdt_entity_uid principal,
    const char *target, mdt_decision want)
{
	char pol[160], err[MDT_ERRMSG_MAX];
	mdt_policy_set *set;
	mdt_entity_store *store;
	mdt_policy_answer *ans;
	mdt_policy_request req = {principal, {"Action", "a", 1}, {"R", "r", 1},
	    NULL};
	double t0 = now_ms(), t1, t2;

	snprintf(pol, sizeof(pol), "permit(principal, action, resource) when "
	    "{ principal in %s };", target);
	ck_assert_int_eq(mdt_policy_set_parse(&set, pol, strlen(pol), "p", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(mdt_entity_store_new(&store), 0);
	ck_assert_msg(mdt_entity_store_load_json(store, ents, strlen(ents), "e",
	    err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(mdt_policy_answer_new(&ans), 0);
	t1 = now_ms();
	ck_assert_int_eq(mdt_policy_evaluate(set, store, &req, ans), 0);
	t2 = now_ms();
	fprintf(stderr, "hierarchy %s: load %.1f ms, decision %.3f ms\n", what,
	    t1 - t0, t2 - t1);
	ck_assert_uint_eq(mdt_policy_answer_error_count(ans), 0);
	ck_assert_int_eq(mdt_policy_answer_decision(ans), want);
	mdt_policy_answer_free(ans);
	mdt_entity_store_free(store);
	mdt_policy_set_free(set);
}

START_TEST(hierarchy_at_hospital_scale)
{
	char *ents = NULL;
	size_t len = 0, cap = 0;

	/* A chain G0 in G1 in ... in G1000: no depth limit, as in Cedar. */
	put(&ents, &len, &cap, "[", -1);
	for (int i = 0; i < 1000; i++) {
		put(&ents, &len, &cap, "{\"uid\":{\"type\":\"G\",\"id\":\"", i);
		put(&ents, &len, &cap, "\"},\"attrs\":{},\"parents\":"
		    "[{\"type\":\"G\",\"id\":\"", i + 1);
		put(&ents, &len, &cap, "\"}]},", -1);
	}
	put(&ents, &len, &cap, "{\"uid\":{\"type\":\"G\",\"id\":\"1000\"},"
	    "\"attrs\":{},\"parents\":[]}]", -1);
	decide_in("depth 1000", ents, (mdt_entity_uid){"G", "0", 1},
	    "G::\"1000\"", MDT_DECISION_ALLOW);
	decide_in("depth 1000, absent", ents, (mdt_entity_uid){"G", "0", 1},
	    "G::\"nope\"", MDT_DECISION_DENY);
	/* One member of 100,000 groups (a ward roster's patients, say), each
	 * group in a department: the last group's department is found. */
	len = 0;
	put(&ents, &len, &cap, "[{\"uid\":{\"type\":\"U\",\"id\":\"u\"},"
	    "\"attrs\":{},\"parents\":[", -1);
	for (int i = 0; i < 100000; i++) {
		put(&ents, &len, &cap, i > 0 ? ",{\"type\":\"G\",\"id\":\"" :
		    "{\"type\":\"G\",\"id\":\"", i);
		put(&ents, &len, &cap, "\"}", -1);
	}
	put(&ents, &len, &cap, "]}", -1);
	for (int i = 0; i < 100000; i++) {
		put(&ents, &len, &cap, ",{\"uid\":{\"type\":\"G\",\"id\":\"", i);
		put(&ents, &len, &cap, "\"},\"attrs\":{},\"parents\":"
		    "[{\"type\":\"D\",\"id\":\"", i / 1000);
		put(&ents, &len, &cap, "\"}]}", -1);
	}
	put(&ents, &len, &cap, "]", -1);
	decide_in("width 100000", ents, (mdt_entity_uid){"U", "u", 1},
	    "D::\"99\"", MDT_DECISION_ALLOW);
	decide_in("width 100000, absent", ents, (mdt_entity_uid){"U", "u", 1},
	    "D::\"100\"", MDT_DECISION_DENY);
	free(ents);
}
END_TEST

START_TEST(tags_and_extensions)
{
	static const expr_case t[] = {
		{"resource.hasTag(\"level\")", 'T'},
		{"resource.hasTag(\"nope\")", 'F'},
		{"resource.getTag(\"level\") == \"secret\"", 'T'},
		{"resource.getTag(\"n\") + 1 == 4", 'T'},
		{"resource.getTag(\"nope\") == 1", 'E'},
		{"User::\"ghost\".hasTag(\"x\")", 'F'},
		{"User::\"ghost\".getTag(\"x\") == 1", 'E'},
		{"principal.ip.isInRange(ip(\"10.0.0.0/8\"))", 'T'},
		{"ip(\"127.0.0.1\").isLoopback()", 'T'},
		{"ip(\"nonsense\").isLoopback()", 'E'},
		{"ip(\"1.2.3.4\", \"5\") == ip(\"1.2.3.4\")", 'E'},
		{"decimal(\"1.50\") == decimal(\"1.5\")", 'T'},
		{"decimal(\"1.5\").lessThan(decimal(\"2.0\"))", 'T'},
		{"decimal(\"1.5\").lessThan(decimal(\"2.0\"), 1)", 'E'},
		{"datetime(\"2024-01-01\") < datetime(\"2024-01-02\")", 'T'},
		{"duration(\"1h\") == duration(\"60m\")", 'T'},
		{"duration(\"90m\").toHours() == 1", 'T'},
		{"datetime(\"2024-01-01\").offset(duration(\"1d\")) == "
		    "datetime(\"2024-01-02\")", 'T'},
		{"datetime(\"2024-01-02T10:00:00Z\").toTime() == duration(\"10h\")", 'T'},
		{"context.when < datetime(\"2030-01-01\")", 'E'},  /* no context */
	};
	RUN(t);
	ck_assert_int_eq(pt_expr("context.when < datetime(\"2030-01-01\")",
	    "{\"when\":{\"__extn\":{\"fn\":\"datetime\",\"arg\":\"2026-11-29\"}}}"), 'T');
}
END_TEST

START_TEST(errors_skip_the_policy)
{
	pt_result r;

	/* The forbid errors and is skipped: the permit decides, and the
	 * error is reported with the forbid's id and a message. */
	pt_eval("permit(principal, action, resource);\n"
	    "forbid(principal, action, resource) when { principal.nope };",
	    pt_entities, "User::\"alice\"", "Action::\"view\"", "Doc::\"d1\"",
	    NULL, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.decision, MDT_DECISION_ALLOW);
	ck_assert_str_eq(r.reasons, "policy0");
	ck_assert_str_eq(r.errors, "policy1");
	ck_assert_msg(strstr(r.message, "policy1") != NULL &&
	    strstr(r.message, "nope") != NULL, "%s", r.message);
	/* Only an erroring permit: deny, no reasons. */
	pt_eval("permit(principal, action, resource) when { 1 + true };",
	    NULL, "U::\"u\"", "A::\"a\"", "R::\"r\"", NULL, &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_DENY);
	ck_assert_str_eq(r.reasons, "");
	ck_assert_str_eq(r.errors, "policy0");
}
END_TEST

/* Resource exhaustion: a policy whose evaluation needs more scratch memory
 * than the per-request bound makes the whole evaluation fail, and the
 * answer reads deny with no reasons (fail closed, even with a permit). */
START_TEST(arena_bound_fails_closed)
{
	static char text[160000];
	size_t n = 0;
	pt_result r;

	n += (size_t)snprintf(text, sizeof(text),
	    "permit(principal, action, resource);\n"
	    "forbid(principal, action, resource) when { [");
	for (int i = 0; i < 250; i++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s[", i ? "," : "");
		/* One non-literal element keeps the set from being folded into
		 * a constant at parse time: it is built per request. */
		n += (size_t)snprintf(text + n, sizeof(text) - n, "principal");
		for (int k = 1; k < 250; k++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, ",%d", k % 10);
		ck_assert_uint_lt(n, sizeof(text) - 100);
		n += (size_t)snprintf(text + n, sizeof(text) - n, "]");
	}
	snprintf(text + n, sizeof(text) - n, "].isEmpty() };");
	pt_eval(text, NULL, "U::\"u\"", "A::\"a\"", "R::\"r\"", NULL, &r);
	ck_assert_int_eq(r.rc, -MDT_ETOOBIG);
	ck_assert_int_eq(r.decision, MDT_DECISION_DENY);
	ck_assert_str_eq(r.reasons, "");
	/* Bad arguments: no decision, and the answer reads deny. */
	{
		mdt_policy_answer *ans;
		mdt_policy_request req;
		mdt_policy_set *set;
		char err[MDT_ERRMSG_MAX];
		ck_assert_int_eq(mdt_policy_set_parse(&set, "permit(principal, "
		    "action, resource);", 36, "p", err, sizeof(err)), 0);
		ck_assert_int_eq(mdt_policy_answer_new(&ans), 0);
		memset(&req, 0, sizeof(req));
		ck_assert_int_eq(mdt_policy_evaluate(set, NULL, &req, ans), -MDT_EINVAL);
		ck_assert_int_eq(mdt_policy_answer_decision(ans), MDT_DECISION_DENY);
		ck_assert_int_eq(mdt_policy_evaluate(NULL, NULL, &req, ans), -MDT_EINVAL);
		mdt_policy_answer_free(ans);
		mdt_policy_set_free(set);
	}
}
END_TEST

Suite *policy_eval_suite(void);

Suite *
policy_eval_suite(void)
{
	Suite *s = suite_create("policy_eval");
	TCase *tc = tcase_create("eval");

	tcase_add_test(tc, precedence);
	tcase_add_test(tc, short_circuit_and_type_errors);
	tcase_add_test(tc, overflow_is_an_error);
	tcase_add_test(tc, like_patterns);
	tcase_add_test(tc, strings_escapes_and_nul);
	tcase_add_test(tc, attributes_records_sets);
	tcase_add_test(tc, hierarchy_in);
	tcase_add_test(tc, hierarchy_at_hospital_scale);
	tcase_add_test(tc, tags_and_extensions);
	tcase_add_test(tc, errors_skip_the_policy);
	tcase_add_test(tc, arena_bound_fails_closed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(policy_eval_suite());
}
