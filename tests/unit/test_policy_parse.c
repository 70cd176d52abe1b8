/*
 * Cedar parser and policy sets: parse errors name file:line:col and what
 * was expected; policy ids (@id or positional); annotations; templates
 * rejected; directory loading is atomic; the set hash; and decision
 * precedence including Mandate's step-up rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mandate/mandate.h>

#include "policy_testutil.h"
#include "testutil.h"

static int
parse_err(const char *text, char *err, size_t errlen)
{
	mdt_policy_set *set = NULL;
	int rc = mdt_policy_set_parse(&set, text, strlen(text), "p.cedar", err,
	    errlen);

	mdt_policy_set_free(set);
	return rc;
}

START_TEST(parse_errors_have_positions)
{
	static const struct {
		const char *text;
		const char *want;   /* prefix of the message */
	} t[] = {
		{"permit(principal, action, resource)", "p.cedar:1:36: expected ';'"},
		{"permit(\n  principal,\n  actoin,\n  resource);",
		    "p.cedar:3:3: expected 'action', found 'actoin'"},
		{"permit(principal, action, resource) when { 1 + };",
		    "p.cedar:1:48: expected expression"},
		{"allow(principal, action, resource);",
		    "p.cedar:1:1: expected 'permit' or 'forbid'"},
		{"permit(principal == User, action, resource);",
		    "p.cedar:1:25: expected '::' and an entity id"},
		{"permit(principal, action, resource) when { \"abc };",
		    "p.cedar:1:44: unterminated string literal"},
		{"permit(principal, action, resource) when { true } # ;",
		    "p.cedar:1:51: unexpected character"},
		{"@id(\"a\") @id(\"b\") permit(principal, action, resource);",
		    "p.cedar:1:10: duplicate annotation"},
		{"permit(principal == ?principal, action, resource);",
		    "p.cedar:1:21: template slots are not supported"},
		{"permit(principal, action, resource) when { \"\\q\" };",
		    "p.cedar:1:45: invalid escape"},
		{"permit(principal, action is A, resource);",
		    "p.cedar:1:26: expected ','"},
	};
	char err[MDT_ERRMSG_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(parse_err(t[i].text, err, sizeof(err)), -MDT_EPARSE);
		ck_assert_msg(strncmp(err, t[i].want, strlen(t[i].want)) == 0,
		    "text %zu: got \"%s\", want \"%s...\"", i, err, t[i].want);
	}
}
END_TEST

START_TEST(nesting_is_bounded)
{
	char text[8192], err[MDT_ERRMSG_MAX];
	size_t n = 0;

	n += (size_t)snprintf(text, sizeof(text), "permit(principal, action, resource) when { ");
	for (int i = 0; i < 1000; i++)
		text[n++] = '(';
	text[n] = '\0';
	ck_assert_int_eq(parse_err(text, err, sizeof(err)), -MDT_EPARSE);
	ck_assert_msg(strstr(err, "nested too deeply") != NULL, "%s", err);
	/* A long flat chain is not nesting: it is one node, evaluated in a
	 * loop (as Cedar loads it, so does the engine). */
	n = (size_t)snprintf(text, sizeof(text), "permit(principal, action, resource) when { 1");
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "+1");
	snprintf(text + n, sizeof(text) - n, " > 0 };");
	ck_assert_int_eq(parse_err(text, err, sizeof(err)), 0);
}
END_TEST

START_TEST(ids_annotations_and_hash)
{
	static const char text[] =
	    "// comment\n"
	    "@id(\"allow-staff\") @note permit(principal in Group::\"staff\", action, resource);\n"
	    "forbid(principal, action, resource) unless { true };\n"
	    "@step_up(\"supervisor\") forbid(principal, action in [Action::\"x\", Action::\"y\"], resource is Doc in Folder::\"f\");\n";
	mdt_policy_set *set, *set2;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_policy_set_parse(&set, text, strlen(text), "p", err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(mdt_policy_set_count(set), 3);
	ck_assert_str_eq(mdt_policy_set_id(set, 0), "allow-staff");
	ck_assert_str_eq(mdt_policy_set_id(set, 1), "policy1");
	ck_assert_str_eq(mdt_policy_set_id(set, 2), "policy2");
	ck_assert_ptr_null(mdt_policy_set_id(set, 3));
	ck_assert_uint_eq(strlen(mdt_policy_set_hash(set)), 64);
	ck_assert_int_eq(mdt_policy_set_parse(&set2, text, strlen(text) - 1, "p",
	    err, sizeof(err)), 0);
	ck_assert_str_ne(mdt_policy_set_hash(set), mdt_policy_set_hash(set2));
	mdt_policy_set_free(set2);
	mdt_policy_set_free(set);
	/* Duplicate ids are rejected. */
	ck_assert_int_eq(parse_err("@id(\"policy1\") permit(principal, action, resource);"
	    "permit(principal, action, resource);", err, sizeof(err)), -MDT_EPARSE);
	ck_assert_msg(strstr(err, "duplicate policy id") != NULL, "%s", err);
	/* Empty text is an empty set. */
	ck_assert_int_eq(mdt_policy_set_parse(&set, "", 0, "e", err, sizeof(err)), 0);
	ck_assert_uint_eq(mdt_policy_set_count(set), 0);
	mdt_policy_set_free(set);
}
END_TEST

static void
eval3(const char *policies, pt_result *r)
{
	pt_eval(policies, pt_entities, "User::\"alice\"", "Action::\"view\"",
	    "Doc::\"d1\"", NULL, r);
	ck_assert_int_eq(r->rc, 0);
}

START_TEST(decision_precedence)
{
	pt_result r;

	eval3("permit(principal, action, resource);"
	    "permit(principal in Group::\"all\", action, resource);", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_ALLOW);
	ck_assert_str_eq(r.reasons, "policy0,policy1");
	eval3("permit(principal, action, resource);"
	    "forbid(principal, action == Action::\"view\", resource);", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_DENY);
	ck_assert_str_eq(r.reasons, "policy1");
	eval3("permit(principal, action, resource) when { false };", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_DENY);
	ck_assert_str_eq(r.reasons, "");
	eval3("forbid(principal, action, resource) when { false };"
	    "permit(principal == User::\"alice\", action in Action::\"read\", "
	    "resource == Doc::\"d1\");", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_ALLOW);
	ck_assert_str_eq(r.reasons, "policy1");
	eval3("permit(principal is User, action, resource is Doc) "
	    "when { true } unless { false } when { resource.owner == principal };", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_ALLOW);
	eval3("permit(principal, action, resource) unless { true };", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_DENY);
}
END_TEST

START_TEST(step_up_semantics)
{
	pt_result r;

	/* Permit + only step-up forbids: step-up, approver from the forbid. */
	eval3("permit(principal, action, resource);"
	    "@step_up(\"supervisor\") forbid(principal, action, resource) "
	    "unless { context has approval };", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_STEP_UP);
	ck_assert_str_eq(r.reasons, "policy1");
	ck_assert_str_eq(r.approver, "supervisor");
	/* With the approval in the context the forbid stops applying. */
	pt_eval("permit(principal, action, resource);"
	    "@step_up(\"supervisor\") forbid(principal, action, resource) "
	    "unless { context has approval };", pt_entities, "User::\"alice\"",
	    "Action::\"view\"", "Doc::\"d1\"", "{\"approval\": \"ok\"}", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_ALLOW);
	/* A plain forbid beside the step-up forbid: deny. */
	eval3("permit(principal, action, resource);"
	    "@step_up forbid(principal, action, resource);"
	    "forbid(principal, action, resource);", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_DENY);
	ck_assert_str_eq(r.reasons, "policy1,policy2");
	ck_assert_str_eq(r.approver, "");
	/* No permit: deny, even though only a step-up forbid holds. */
	eval3("@step_up(\"x\") forbid(principal, action, resource);", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_DENY);
	/* @step_up without a role: step-up with no approver named. */
	eval3("permit(principal, action, resource);"
	    "@step_up forbid(principal, action, resource);", &r);
	ck_assert_int_eq(r.decision, MDT_DECISION_STEP_UP);
	ck_assert_str_eq(r.approver, "");
}
END_TEST

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

START_TEST(load_dir_is_atomic)
{
	char dir[] = "/tmp/mdt_policy_XXXXXX", err[MDT_ERRMSG_MAX];
	mdt_policy_set *set = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "a.cedar", "permit(principal, action, resource);\n");
	write_file(dir, "b.cedar", "forbid(principal, action, resource);\n"
	    "@id(\"named\") permit(principal, action, resource);\n");
	write_file(dir, "notes.txt", "not a policy");
	ck_assert_int_eq(mdt_policy_set_load_dir(&set, dir, err, sizeof(err)), 0);
	ck_assert_uint_eq(mdt_policy_set_count(set), 3);
	ck_assert_str_eq(mdt_policy_set_id(set, 0), "policy0");
	ck_assert_str_eq(mdt_policy_set_id(set, 1), "policy1");
	ck_assert_str_eq(mdt_policy_set_id(set, 2), "named");
	mdt_policy_set_free(set);
	set = NULL;
	write_file(dir, "c.cedar", "permit(principal, action, resource);\n"
	    "permit(principal action, resource);\n");
	ck_assert_int_eq(mdt_policy_set_load_dir(&set, dir, err, sizeof(err)),
	    -MDT_EPARSE);
	ck_assert_ptr_null(set);
	ck_assert_msg(strstr(err, "/c.cedar:2:18: expected ','") != NULL, "%s", err);
	ck_assert_int_eq(mdt_policy_set_load_dir(&set, "/nonexistent/dir", err,
	    sizeof(err)), -MDT_EIO);
	ck_assert_ptr_null(set);
	snprintf(err, sizeof(err), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(err), 0);
}
END_TEST

START_TEST(uid_parse)
{
	mdt_entity_uid u;
	char *st = NULL;

	ck_assert_int_eq(mdt_entity_uid_parse("A::B::\"x\\0y\"", 12, &u, &st), 0);
	ck_assert_str_eq(u.type, "A::B");
	ck_assert_uint_eq(u.id_len, 3);
	ck_assert_int_eq(memcmp(u.id, "x\0y", 3), 0);
	mdt_free(st);
	ck_assert_int_eq(mdt_entity_uid_parse("A::", 3, &u, &st), -MDT_EPARSE);
	ck_assert_int_eq(mdt_entity_uid_parse("A::\"x\" junk", 11, &u, &st),
	    -MDT_EPARSE);
}
END_TEST

Suite *policy_parse_suite(void);

Suite *
policy_parse_suite(void)
{
	Suite *s = suite_create("policy_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parse_errors_have_positions);
	tcase_add_test(tc, nesting_is_bounded);
	tcase_add_test(tc, ids_annotations_and_hash);
	tcase_add_test(tc, decision_precedence);
	tcase_add_test(tc, step_up_semantics);
	tcase_add_test(tc, load_dir_is_atomic);
	tcase_add_test(tc, uid_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(policy_parse_suite());
}
