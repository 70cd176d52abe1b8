/*
 * The agent registry loader: every agent id and every allowedTargets
 * entry goes through the one SPIFFE id validator, and a registry holding
 * a bad one does not load (the error names the agent, the field and
 * why).  The same validator backs the SPIFFE settings of the config.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "broker.h"
#include "testutil.h"

#define GOOD "spiffe://clinic.example/agent/extra"
#define KEY "mdtpk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static char dir[64], path[128];

/* The bad forms, and what the refusal says. */
static const struct bad {
	const char *what;
	const char *id;
	const char *why;
} bad[] = {
	{ "query", "spiffe://clinic.example/agent/x?y=1", "no query" },
	{ "fragment", "spiffe://clinic.example/agent/x#f", "no fragment" },
	{ "port", "spiffe://clinic.example:8443/agent/x", "no port" },
	{ "userinfo", "spiffe://admin@clinic.example/agent/x", "no userinfo" },
	{ "dot-dot", "spiffe://clinic.example/agent/../x", "\"..\"" },
	{ "dot", "spiffe://clinic.example/./x", "\"..\"" },
	{ "percent 2e", "spiffe://clinic.example/agent/%2e%2e/x",
	  "percent-encoding" },
	{ "percent 2E", "spiffe://clinic.example/agent/%2E/x",
	  "percent-encoding" },
	{ "trailing slash", "spiffe://clinic.example/agent/x/", "trailing" },
	{ "double slash", "spiffe://clinic.example/agent//x", "\"//\"" },
	{ "empty first segment", "spiffe://clinic.example//x", "\"//\"" },
	{ "uppercase trust domain", "spiffe://Clinic.example/agent/x",
	  "lowercase" },
	{ "uppercase scheme", "SPIFFE://clinic.example/agent/x", "lowercase" },
	{ "mixed-case scheme", "Spiffe://clinic.example/agent/x", "lowercase" },
	{ "no scheme", "clinic.example/agent/x", "spiffe://" },
	{ "other scheme", "https://clinic.example/agent/x", "spiffe://" },
	{ "empty", "", "spiffe://" },
	{ "empty trust domain", "spiffe:///agent/x", "empty" },
	{ "space", "spiffe://clinic.example/agent/x y", "not allowed" },
	{ "backslash", "spiffe://clinic.example/agent\\x", "not allowed" },
	{ "overlong", NULL, "at most 2048" },
	{ "over the broker's bound", NULL, "at most 255" },
};

static char overlong[2100], over_bound[300];

static const char *
bad_id(size_t i)
{
	if (strcmp(bad[i].what, "overlong") == 0)
		return overlong;
	if (strcmp(bad[i].what, "over the broker's bound") == 0)
		return over_bound;
	return bad[i].id;
}

static void
setup(void)
{
	size_t n;

	snprintf(dir, sizeof(dir), "/tmp/mdt-reg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/entities.json", dir);
	n = (size_t)snprintf(overlong, sizeof(overlong), "spiffe://clinic."
	    "example/");
	memset(overlong + n, 'a', 2049 - n);
	overlong[2049] = 0;
	n = (size_t)snprintf(over_bound, sizeof(over_bound), "spiffe://clinic."
	    "example/");
	memset(over_bound + n, 'b', 256 - n);
	over_bound[256] = 0;
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static json_t *
agent(const char *id, json_t *targets)
{
	return json_pack("{s:{s:s,s:s},s:{s:s,s:[s],s:o,s:i,s:i},s:[]}",
	    "uid", "type", "Mandate::Agent", "id", id, "attrs", "publicKey",
	    KEY, "ceiling", "patient/Observation.rs", "allowedTargets",
	    targets != NULL ? targets : json_array(), "maxDepth", 1,
	    "maxFanout", 1, "parents");
}

static json_t *
ref(const char *id)
{
	return json_pack("{s:{s:s,s:s}}", "__entity", "type", "Mandate::Agent",
	    "id", id);
}

/* Writes the source tree's entities plus ent; loads; the status. */
static int
load_with(json_t *ent, struct brk_snapshot **out, char *err, size_t errlen)
{
	char base[1024];
	struct brk_config cfg;
	json_t *root;

	snprintf(base, sizeof(base), "%s/policies/entities.json",
	    mdt_test_source_dir());
	root = json_load_file(base, 0, NULL);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(json_array_append_new(root, ent), 0);
	ck_assert_int_eq(json_dump_file(root, path, 0), 0);
	json_decref(root);
	brk_config_defaults(&cfg);
	snprintf(cfg.policy_dir, sizeof(cfg.policy_dir), "%s/policies",
	    mdt_test_source_dir());
	snprintf(cfg.entities, sizeof(cfg.entities), "%s", path);
	err[0] = 0;
	return brk_snapshot_load(&cfg, out, err, errlen);
}

START_TEST(good_id_and_target_load)
{
	struct brk_snapshot *s = NULL;
	const struct brk_agent *a;
	char err[MDT_ERRMSG_MAX];
	json_t *t = json_array();

	json_array_append_new(t, ref("spiffe://clinic.example/agent/coder"));
	json_array_append_new(t, json_string("spiffe://clinic.example/a-b_c.d"));
	ck_assert_msg(load_with(agent(GOOD, t), &s, err, sizeof(err)) == 0,
	    "%s", err);
	a = brk_agent_find(s, GOOD);
	ck_assert_ptr_nonnull(a);
	ck_assert(brk_agent_may_target(a, "spiffe://clinic.example/agent/coder"));
	ck_assert(brk_agent_may_target(a, "spiffe://clinic.example/a-b_c.d"));
	brk_snapshot_release(s);
}
END_TEST

/* Each bad form as an agent's own id. */
START_TEST(bad_agent_id_refused)
{
	struct brk_snapshot *s = NULL;
	char err[MDT_ERRMSG_MAX];
	const char *id = bad_id((size_t)_i);
	int rc = load_with(agent(id, NULL), &s, err, sizeof(err));

	ck_assert_msg(rc == -MDT_ECONFIG, "%s (%s): loaded (rc %d)",
	    bad[_i].what, id, rc);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, ": id: not a valid SPIFFE id") != NULL &&
	    strstr(err, bad[_i].why) != NULL, "%s: %s", bad[_i].what, err);
	/* the message quotes the id (short ones whole) */
	if (strlen(id) > 0 && strlen(id) < 60 && strchr(id, '\\') == NULL)
		ck_assert_msg(strstr(err, id) != NULL, "%s: %s", bad[_i].what,
		    err);
}
END_TEST

/* Each bad form as an allowedTargets entry, entity reference or string. */
START_TEST(bad_target_refused)
{
	struct brk_snapshot *s = NULL;
	char err[MDT_ERRMSG_MAX];
	const char *id = bad_id((size_t)_i);
	json_t *t = json_array();
	int rc;

	json_array_append_new(t, ref("spiffe://clinic.example/agent/coder"));
	json_array_append_new(t, _i % 2 ? json_string(id) : ref(id));
	rc = load_with(agent(GOOD, t), &s, err, sizeof(err));
	ck_assert_msg(rc == -MDT_ECONFIG, "%s (%s): loaded (rc %d)",
	    bad[_i].what, id, rc);
	ck_assert_ptr_null(s);
	ck_assert_msg(strncmp(err, "agent \"" GOOD "\": allowedTargets[1] \"",
	    strlen(GOOD) + 29) == 0 && strstr(err, "\": not a valid SPIFFE "
	    "id: ") != NULL && strstr(err, bad[_i].why) != NULL, "%s: %s",
	    bad[_i].what, err);
	if (strlen(id) > 0 && strlen(id) < 60 && strchr(id, '\\') == NULL)
		ck_assert_msg(strstr(err, id) != NULL, "%s: %s", bad[_i].what,
		    err);
}
END_TEST

START_TEST(non_string_ids_refused)
{
	struct brk_snapshot *s = NULL;
	char err[MDT_ERRMSG_MAX];
	json_t *ent = agent(GOOD, NULL), *t = json_array();

	json_object_set_new(json_object_get(ent, "uid"), "id", json_integer(7));
	ck_assert_int_ne(load_with(ent, &s, err, sizeof(err)), 0);
	ck_assert_ptr_null(s);
	json_array_append_new(t, json_integer(7));
	ck_assert_int_eq(load_with(agent(GOOD, t), &s, err, sizeof(err)),
	    -MDT_ECONFIG);
	ck_assert_msg(strstr(err, "allowedTargets[0] \"\": not a valid SPIFFE "
	    "id: not a string") != NULL, "%s", err);
	ck_assert_ptr_null(s);
}
END_TEST

/* A display never carries control bytes into a log line. */
START_TEST(id_display_is_safe)
{
	char out[112];
	char longid[400];

	brk_id_display("spiffe://a/b\nforged=1\x1b[2J", out, sizeof(out));
	ck_assert_str_eq(out, "spiffe://a/b?forged=1?[2J");
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	brk_id_display(longid, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), 96 + 3);
	ck_assert_str_eq(out + 96, "...");
	brk_id_display(longid, out, 10);
	ck_assert_str_eq(out, "xxxxxx...");
	brk_id_display(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(config_ids_checked)
{
	struct brk_config cfg;
	char err[MDT_ERRMSG_MAX];

	brk_config_defaults(&cfg);
	ck_assert_int_eq(brk_config_set(&cfg, "broker_id",
	    "spiffe://clinic.example/broker", err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *id = bad_id(i);
		if (strlen(id) >= BRK_STR_MAX)
			continue; /* refused as too long for the setting */
		if (strcmp(bad[i].what, "over the broker's bound") == 0)
			continue; /* a broker id may be longer than an agent's */
		ck_assert_msg(brk_config_set(&cfg, "broker_id", id, err,
		    sizeof(err)) == -MDT_ECONFIG, "broker_id %s accepted", id);
		ck_assert_msg(strstr(err, "broker_id: not a valid SPIFFE id") !=
		    NULL, "%s", err);
	}
	ck_assert_str_eq(cfg.broker_id, "spiffe://clinic.example/broker");
	ck_assert_int_eq(brk_config_set(&cfg, "admins", "", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(brk_config_set(&cfg, "admins",
	    " spiffe://clinic.example/a  spiffe://clinic.example/b ", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(brk_config_set(&cfg, "admins",
	    "spiffe://clinic.example/a spiffe://clinic.example/b/", err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_msg(strstr(err, "admins: \"spiffe://clinic.example/b/\" is "
	    "not a valid SPIFFE id") != NULL, "%s", err);
	ck_assert_int_eq(brk_config_set(&cfg, "admins", over_bound, err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_str_eq(cfg.admins,
	    " spiffe://clinic.example/a  spiffe://clinic.example/b ");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_registry");
	TCase *tc = tcase_create("ids");
	int n = (int)(sizeof(bad) / sizeof(bad[0]));

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, good_id_and_target_load);
	tcase_add_loop_test(tc, bad_agent_id_refused, 0, n);
	tcase_add_loop_test(tc, bad_target_refused, 0, n);
	tcase_add_test(tc, non_string_ids_refused);
	tcase_add_test(tc, id_display_is_safe);
	tcase_add_test(tc, config_ids_checked);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
