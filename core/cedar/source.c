/*
 * Sources: the files a policy set or entity data was loaded from, as one
 * JSON document ({"files":[{"name","text"},...]}) that the audit store
 * keeps by hash, and the rebuilding of a set or an entity store from it.
 * The hash is the one mdt_policy_set_load_dir gives a directory, so a
 * decision's policy_hash names the source it can be replayed against.
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
#include <sodium.h>

#include "alloc_int.h"
#include "cedar/cedar_int.h"

/* The files array of a source, or NULL with err filled. */
static json_t *
source_files(const char *json, size_t len, json_t **root, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *files;
	size_t i;
	json_t *f;

	*root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (*root == NULL) {
		snprintf(err, errlen, "source: %s (line %d)", je.text, je.line);
		return NULL;
	}
	files = json_object_get(*root, "files");
	if (!json_is_array(files)) {
		snprintf(err, errlen, "source: \"files\" must be an array");
		return NULL;
	}
	json_array_foreach(files, i, f) {
		if (!json_is_string(json_object_get(f, "name")) ||
		    !json_is_string(json_object_get(f, "text"))) {
			snprintf(err, errlen, "source: files[%zu] needs string "
			    "name and text", i);
			return NULL;
		}
	}
	return files;
}

static void
hash_file(crypto_hash_sha256_state *st, const json_t *f)
{
	const json_t *name = json_object_get(f, "name");
	const json_t *text = json_object_get(f, "text");
	uint64_t l64 = json_string_length(text);

	crypto_hash_sha256_update(st, (const unsigned char *)json_string_value(
	    name), json_string_length(name) + 1);
	crypto_hash_sha256_update(st, (const unsigned char *)&l64, 8);
	crypto_hash_sha256_update(st, (const unsigned char *)json_string_value(
	    text), json_string_length(text));
}

static void
files_hash(const json_t *files, char hex[MDT_POLICY_HASH_HEX])
{
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	size_t i;
	json_t *f;

	crypto_hash_sha256_init(&st);
	json_array_foreach(files, i, f)
		hash_file(&st, f);
	crypto_hash_sha256_final(&st, d);
	sodium_bin2hex(hex, MDT_POLICY_HASH_HEX, d, sizeof(d));
}

int
mdt_policy_source_hash(const char *json, size_t len,
    char hex[MDT_POLICY_HASH_HEX], char *err, size_t errlen)
{
	json_t *root, *files;

	if (json == NULL || hex == NULL)
		return -MDT_EINVAL;
	if ((files = source_files(json, len, &root, err, errlen)) != NULL)
		files_hash(files, hex);
	json_decref(root);
	return files != NULL ? 0 : -MDT_EPARSE;
}

int
mdt_policy_set_from_source(mdt_policy_set **out, const char *json,
    size_t len, char *err, size_t errlen)
{
	mdt_policy_set *s = NULL;
	json_t *root, *files, *f;
	size_t i, total = 0;
	int rc = 0;

	if (out == NULL || json == NULL)
		return -MDT_EINVAL;
	if ((files = source_files(json, len, &root, err, errlen)) == NULL)
		rc = -MDT_EPARSE;
	else if ((rc = mdt_policy_set_parse(&s, "", 0, "source", err,
	    errlen)) == 0)
		json_array_foreach(files, i, f) {
			const json_t *t = json_object_get(f, "text");
			total += json_string_length(t);
			if (total > MDT_POLICY_TEXT_MAX) {
				snprintf(err, errlen, "source: policy set "
				    "larger than %u bytes", MDT_POLICY_TEXT_MAX);
				rc = -MDT_ETOOBIG;
			} else {
				rc = cedar_parse_policies(s, json_string_value(t),
				    json_string_length(t), json_string_value(
				    json_object_get(f, "name")), err, errlen);
			}
			if (rc != 0)
				break;
		}
	if (rc == 0)
		files_hash(files, s->hash);
	json_decref(root);
	if (rc != 0) {
		mdt_policy_set_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
mdt_entity_store_from_source(mdt_entity_store **out, const char *json,
    size_t len, char *err, size_t errlen)
{
	mdt_entity_store *es = NULL;
	json_t *root, *files, *f;
	size_t i;
	int rc;

	if (out == NULL || json == NULL)
		return -MDT_EINVAL;
	if ((files = source_files(json, len, &root, err, errlen)) == NULL)
		rc = -MDT_EPARSE;
	else
		rc = mdt_entity_store_new(&es);
	if (rc == 0)
		json_array_foreach(files, i, f) {
			const json_t *t = json_object_get(f, "text");
			if ((rc = mdt_entity_store_load_json(es,
			    json_string_value(t), json_string_length(t),
			    json_string_value(json_object_get(f, "name")), err,
			    errlen)) != 0)
				break;
		}
	json_decref(root);
	if (rc != 0) {
		mdt_entity_store_free(es);
		return rc;
	}
	*out = es;
	return 0;
}

/* ---- building a source from files --------------------------------- */

static int
add_file(json_t *files, const char *name, const char *path, char *err,
    size_t errlen)
{
	char *text;
	size_t len;
	json_t *f;
	int rc = cedar_read_file(path, MDT_ENTITY_JSON_MAX, &text, &len, err,
	    errlen);

	if (rc != 0)
		return rc;
	f = json_pack("{s:s, s:s%}", "name", name, "text", text, len);
	mdt__free(text);
	if (f == NULL) {
		snprintf(err, errlen, "%s: not UTF-8 text", path);
		return -MDT_EPARSE;
	}
	return json_array_append_new(files, f) == 0 ? 0 : -MDT_ENOMEM;
}

static int
has_ext(const char *n, const char *ext)
{
	size_t l = strlen(n), e = strlen(ext);

	return n[0] != '.' && l > e + 1 && n[l - e - 1] == '.' &&
	    strcmp(n + l - e, ext) == 0;
}

static int
cedar_filter(const struct dirent *de)
{
	return has_ext(de->d_name, "cedar");
}

static int
json_filter(const struct dirent *de)
{
	return has_ext(de->d_name, "json");
}

/* Adds dir's *.json (json_ext) or *.cedar files sorted by name, named
 * dir/file (entity files) or by the file name (policies, as
 * mdt_policy_set_load_dir hashes them). */
static int
add_dir(json_t *files, const char *dir, int json_ext, char *err,
    size_t errlen)
{
	struct dirent **names;
	int n = scandir(dir, &names, json_ext ? json_filter : cedar_filter,
	    alphasort), rc = 0;
	char path[4096];

	if (n < 0) {
		snprintf(err, errlen, "%s: cannot list the directory", dir);
		return -MDT_EIO;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rc == 0)
			rc = add_file(files, json_ext ? path : names[i]->d_name,
			    path, err, errlen);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
dump(json_t *files, int rc, char **json)
{
	json_t *root = rc == 0 ? json_pack("{s:O}", "files", files) : NULL;
	char *text = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	json_decref(files);
	if (rc != 0)
		return rc;
	if (text == NULL)
		return -MDT_ENOMEM;
	*json = mdt__strndup(text, strlen(text));
	free(text);
	return *json != NULL ? 0 : -MDT_ENOMEM;
}

int
mdt_policy_dir_source(const char *dir, char **json, char *err,
    size_t errlen)
{
	json_t *files;

	if (dir == NULL || json == NULL)
		return -MDT_EINVAL;
	if ((files = json_array()) == NULL)
		return -MDT_ENOMEM;
	return dump(files, add_dir(files, dir, 0, err, errlen), json);
}

int
mdt_entity_files_source(const char *paths, char **json, char *err,
    size_t errlen)
{
	char path[4096];
	const char *p = paths;
	json_t *files;
	int rc = 0;

	if (paths == NULL || json == NULL)
		return -MDT_EINVAL;
	if ((files = json_array()) == NULL)
		return -MDT_ENOMEM;
	while (rc == 0 && *p != 0) {
		size_t n = strcspn(p, " \t");
		struct stat sb;
		if (n > 0 && n < sizeof(path)) {
			memcpy(path, p, n);
			path[n] = 0;
			rc = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) ?
			    add_dir(files, path, 1, err, errlen) :
			    add_file(files, path, path, err, errlen);
		} else if (n > 0) {
			rc = -MDT_ETOOBIG;
		}
		p += n;
		p += strspn(p, " \t");
	}
	return dump(files, rc, json);
}
