/*
 * Care data: the care teams, clinicians and patients of the setting
 * `care_data`, kept apart from the agent registry so that a hospital's
 * tens of thousands of patients live in files of their own (a file, or
 * a directory of *.json files, each a Cedar entities array), loaded into
 * the snapshot's entity store beside the entities file at start and on
 * SIGHUP.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* scandir, alphasort */
#endif
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "broker.h"

static const char *const care_types[] = {
	"Mandate::CareTeam", "Mandate::Clinician", "Mandate::Patient",
};

static const char *
uid_field(const json_t *uid, const char *field)
{
	const json_t *e = json_object_get(uid, "__entity");

	return json_string_value(json_object_get(e != NULL ? e : uid, field));
}

static int
care_type(const char *t)
{
	for (size_t i = 0; t != NULL && i < 3; i++)
		if (strcmp(t, care_types[i]) == 0)
			return (int)i;
	return -1;
}

static int
has_team(const json_t *refs, const char *team)
{
	const json_t *r;
	size_t i;

	json_array_foreach(refs, i, r) {
		const char *id = uid_field(r, "id");
		if (id != NULL && strcmp(id, team) == 0)
			return 1;
	}
	return 0;
}

/* careTeams and the CareTeam parents name the same teams: the care-team
 * rule reads the attribute, `in` reads the parents (docs/policy-guide.md). */
static int
teams_agree(const json_t *ent)
{
	const json_t *teams = json_object_get(json_object_get(ent, "attrs"),
	    "careTeams");
	const json_t *parents = json_object_get(ent, "parents"), *r;
	size_t i;

	json_array_foreach(parents, i, r) {
		const char *t = uid_field(r, "type");
		if (t != NULL && strcmp(t, "Mandate::CareTeam") == 0 &&
		    !has_team(teams, uid_field(r, "id")))
			return 0;
	}
	json_array_foreach(teams, i, r)
		if (!has_team(parents, uid_field(r, "id")))
			return 0;
	return 1;
}

/* The checks Cedar's loader does not make: only care entities (an agent
 * here would be an entity the registry does not know), and patients'
 * two lists of teams equal. */
static int
check_entities(const char *path, const json_t *root, char *err,
    size_t errlen)
{
	const json_t *ent;
	size_t i;

	if (!json_is_array(root)) {
		snprintf(err, errlen, "%s: expected an array of entities", path);
		return -MDT_ECONFIG;
	}
	json_array_foreach(root, i, ent) {
		const json_t *uid = json_object_get(ent, "uid");
		const char *t = uid_field(uid, "type"), *id = uid_field(uid, "id");
		char shown[72];
		int k = care_type(t);

		brk_id_display(id, shown, sizeof(shown));
		if (k < 0) {
			snprintf(err, errlen, "%s: entity %zu (\"%s\"): type %.64s: "
			    "care data holds only Mandate::CareTeam, "
			    "Mandate::Clinician and Mandate::Patient", path, i,
			    shown, t != NULL ? t : "missing");
			return -MDT_ECONFIG;
		}
		if (k == 2 && !teams_agree(ent)) {
			snprintf(err, errlen, "%s: patient \"%s\": careTeams and "
			    "the CareTeam parents name different teams", path,
			    shown);
			return -MDT_ECONFIG;
		}
	}
	return 0;
}

static int
load_file(mdt_entity_store *es, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	int rc;

	if (root == NULL) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column,
		    je.text);
		return -MDT_ECONFIG;
	}
	rc = check_entities(path, root, err, errlen);
	json_decref(root);
	if (rc == 0 && (rc = mdt_entity_store_load_file(es, path, err,
	    errlen)) != 0)
		rc = -MDT_ECONFIG;
	return rc;
}

static int
json_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	    strcmp(d->d_name + n - 5, ".json") == 0;
}

/* Every *.json of dir, in name order, so a load is reproducible. */
static int
load_dir(mdt_entity_store *es, const char *dir, char *err, size_t errlen)
{
	struct dirent **names = NULL;
	char path[BRK_PATH_MAX * 2];
	int n = scandir(dir, &names, json_name, alphasort), rc = 0;

	if (n < 0) {
		snprintf(err, errlen, "care_data %s: cannot list", dir);
		return -MDT_ECONFIG;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rc == 0)
			rc = load_file(es, path, err, errlen);
		free(names[i]);
	}
	free(names);
	return rc;
}

int
brk_care_load(const char *list, mdt_entity_store *es, size_t *files,
    char *err, size_t errlen)
{
	char path[BRK_PATH_MAX];
	struct stat st;
	int rc = 0;

	*files = 0;
	for (const char *p = list; rc == 0 && *p != 0;) {
		size_t n = strcspn(p, " \t");
		if (n > 0) {
			snprintf(path, sizeof(path), "%.*s", (int)n, p);
			if (stat(path, &st) != 0) {
				snprintf(err, errlen, "care_data %s: not found",
				    path);
				return -MDT_ECONFIG;
			}
			rc = S_ISDIR(st.st_mode) ? load_dir(es, path, err,
			    errlen) : load_file(es, path, err, errlen);
			(*files)++;
		}
		p += n + (p[n] != 0);
	}
	return rc;
}
