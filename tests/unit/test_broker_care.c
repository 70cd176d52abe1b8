/*
 * Care data (setting care_data): care teams, clinicians and patients in
 * files of their own, loaded beside the entities file at a hospital's
 * size; only care entity types, patients whose careTeams equal their
 * CareTeam parents, no uid twice.  Prints the load time of 50,000
 * patients (no bound asserted: the machine may be loaded).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "testutil.h"

#define PATIENTS 50000
#define TEAMS 200
#define CLINICIANS 2000
#define FILES 5

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mdt-care-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static FILE *
open_in(const char *name)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	return f;
}

static void
write_text(const char *name, const char *text)
{
	FILE *f = open_in(name);

	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* teams.json, clinicians.json and FILES patients-N.json. */
static void
write_hospital(void)
{
	FILE *f = open_in("teams.json");

	for (int i = 0; i < TEAMS; i++)
		fprintf(f, "%s{\"uid\":{\"type\":\"Mandate::CareTeam\",\"id\":"
		    "\"team-%d\"},\"attrs\":{\"name\":\"Team %d\"},\"parents\":"
		    "[]}", i ? ",\n" : "[", i, i);
	fputs("]\n", f);
	ck_assert_int_eq(fclose(f), 0);
	f = open_in("clinicians.json");
	for (int i = 0; i < CLINICIANS; i++)
		fprintf(f, "%s{\"uid\":{\"type\":\"Mandate::Clinician\",\"id\":"
		    "\"dr-%d\"},\"attrs\":{\"role\":\"physician\"},\"parents\":"
		    "[{\"type\":\"Mandate::CareTeam\",\"id\":\"team-%d\"}]}",
		    i ? ",\n" : "[", i, i % TEAMS);
	fputs("]\n", f);
	ck_assert_int_eq(fclose(f), 0);
	for (int k = 0; k < FILES; k++) {
		char name[32];
		snprintf(name, sizeof(name), "patients-%d.json", k);
		f = open_in(name);
		for (int i = k; i < PATIENTS; i += FILES) {
			int a = i % TEAMS, b = (i * 7 + 3) % TEAMS;
			fprintf(f, "%s{\"uid\":{\"type\":\"Mandate::Patient\","
			    "\"id\":\"p-%d\"},\"attrs\":{\"careTeams\":["
			    "{\"__entity\":{\"type\":\"Mandate::CareTeam\",\"id\":"
			    "\"team-%d\"}},{\"__entity\":{\"type\":"
			    "\"Mandate::CareTeam\",\"id\":\"team-%d\"}}]},"
			    "\"parents\":[{\"type\":\"Mandate::CareTeam\",\"id\":"
			    "\"team-%d\"},{\"type\":\"Mandate::CareTeam\",\"id\":"
			    "\"team-%d\"}]}", i == k ? "[" : ",\n", i, a, b, a, b);
		}
		fputs("]\n", f);
		ck_assert_int_eq(fclose(f), 0);
	}
	write_text("README.txt", "not JSON: ignored\n");
}

static int
load(const char *care, struct brk_snapshot **out, char *err, size_t errlen)
{
	struct brk_config cfg;

	brk_config_defaults(&cfg);
	snprintf(cfg.policy_dir, sizeof(cfg.policy_dir), "%s/policies",
	    mdt_test_source_dir());
	snprintf(cfg.entities, sizeof(cfg.entities), "%s/policies/"
	    "entities.json", mdt_test_source_dir());
	snprintf(cfg.care_data, sizeof(cfg.care_data), "%s", care);
	err[0] = 0;
	return brk_snapshot_load(&cfg, out, err, errlen);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(hospital_loads)
{
	struct brk_snapshot *base = NULL, *s = NULL;
	char err[MDT_ERRMSG_MAX];
	double t0, t1, t2;

	write_hospital();
	t0 = now_s();
	ck_assert_msg(load("", &base, err, sizeof(err)) == 0, "%s", err);
	t1 = now_s();
	ck_assert_msg(load(dir, &s, err, sizeof(err)) == 0, "%s", err);
	t2 = now_s();
	ck_assert_uint_eq(mdt_entity_store_count(s->entities),
	    mdt_entity_store_count(base->entities) + TEAMS + CLINICIANS +
	    PATIENTS);
	ck_assert_uint_eq(s->care_files, 1);
	ck_assert_uint_eq(s->nagents, base->nagents);
	printf("care data: %d patients, %d clinicians, %d teams in %d files: "
	    "snapshot loaded in %.0f ms (%.0f ms without care data)\n",
	    PATIENTS, CLINICIANS, TEAMS, FILES + 2, (t2 - t1) * 1e3,
	    (t1 - t0) * 1e3);
	brk_snapshot_release(base);
	brk_snapshot_release(s);
}
END_TEST

/* Each refusal names the file and the entity; nothing half-loaded is
 * returned. */
static void
refused(const char *file, const char *text, const char *want)
{
	struct brk_snapshot *s = NULL;
	char err[MDT_ERRMSG_MAX], path[160];

	write_text(file, text);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ck_assert_int_eq(load(path, &s, err, sizeof(err)), -MDT_ECONFIG);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, want) != NULL && strstr(err, path) != NULL,
	    "'%s' lacks '%s' or the path", err, want);
}

START_TEST(refusals)
{
	struct brk_snapshot *s = NULL;
	char err[MDT_ERRMSG_MAX], two[200];

	refused("agent.json", "[{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":"
	    "\"spiffe://clinic.example/x\"},\"attrs\":{},\"parents\":[]}]",
	    "care data holds only");
	refused("teams.json", "[{\"uid\":{\"type\":\"Mandate::Patient\","
	    "\"id\":\"p-1\"},\"attrs\":{\"careTeams\":[{\"__entity\":{"
	    "\"type\":\"Mandate::CareTeam\",\"id\":\"oncology\"}}]},"
	    "\"parents\":[{\"type\":\"Mandate::CareTeam\",\"id\":"
	    "\"cardiology\"}]}]", "patient \"p-1\": careTeams and the");
	/* a patient of the entities file again */
	refused("dup.json", "[{\"uid\":{\"type\":\"Mandate::Patient\","
	    "\"id\":\"pat-001\"},\"attrs\":{\"careTeams\":[]},\"parents\":[]}]",
	    "already in the store");
	refused("bad.json", "[{\"uid\":", "bad.json:");
	refused("obj.json", "{}", "expected an array");
	ck_assert_int_eq(load("/nonexistent/care", &s, err, sizeof(err)),
	    -MDT_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/care: not found"));
	/* two paths, the second refused: nothing loads */
	write_text("ok.json", "[]");
	snprintf(two, sizeof(two), "%s/ok.json %s/agent.json", dir, dir);
	ck_assert_int_eq(load(two, &s, err, sizeof(err)), -MDT_ECONFIG);
	ck_assert_ptr_null(s);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_care");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, hospital_loads);
	tcase_add_test(tc, refusals);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
