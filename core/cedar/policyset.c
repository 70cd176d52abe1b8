/*
 * Policy sets: the public constructors (from text, from a directory of
 * *.cedar files loaded atomically), accessors, and the SHA-256 hash of the
 * policy text recorded in audit records.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "cedar/cedar_int.h"

static mdt_policy_set *
set_new(void)
{
	mdt_policy_set *s = mdt__calloc(1, sizeof(*s));

	if (s != NULL)
		cedar_arena_init(&s->arena, 0);
	return s;
}

void
mdt_policy_set_free(mdt_policy_set *set)
{
	if (set == NULL)
		return;
	cedar_arena_free(&set->arena);
	mdt__free(set->pol);
	mdt__free(set);
}

static void
hash_hex(crypto_hash_sha256_state *st, char *hex)
{
	unsigned char d[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_final(st, d);
	sodium_bin2hex(hex, MDT_POLICY_HASH_HEX, d, sizeof(d));
}

int
cedar_policy_set_from_text(mdt_policy_set **out, const char *text,
    size_t len, const char *name, int positional, char *err, size_t errlen)
{
	mdt_policy_set *s;
	crypto_hash_sha256_state st;
	int rc;

	if (out == NULL || (text == NULL && len > 0))
		return -MDT_EINVAL;
	if (len > MDT_POLICY_TEXT_MAX) {
		snprintf(err, errlen, "%s: policy text larger than %u bytes",
		    name, MDT_POLICY_TEXT_MAX);
		return -MDT_ETOOBIG;
	}
	if ((s = set_new()) == NULL)
		return -MDT_ENOMEM;
	s->positional_ids = positional;
	if ((rc = cedar_parse_policies(s, text == NULL ? "" : text, len,
	    name == NULL ? "<policy>" : name, err, errlen)) != 0) {
		mdt_policy_set_free(s);
		return rc;
	}
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)text, len);
	hash_hex(&st, s->hash);
	*out = s;
	return 0;
}

int
mdt_policy_set_parse(mdt_policy_set **out, const char *text, size_t len,
    const char *name, char *err, size_t errlen)
{
	return cedar_policy_set_from_text(out, text, len, name, 0, err, errlen);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_cedar_file(const char *n)
{
	size_t l = strlen(n);

	return l > 6 && strcmp(n + l - 6, ".cedar") == 0 && n[0] != '.';
}

/* Sorted *.cedar names of dir; caller frees each and the array. */
static int
list_dir(const char *dir, char ***names, size_t *count, char *err,
    size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -MDT_EIO;
	}
	if ((v = mdt__calloc(MDT_POLICY_FILES_MAX, sizeof(*v))) == NULL) {
		closedir(d);
		return -MDT_ENOMEM;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_cedar_file(de->d_name))
			continue;
		if (n == MDT_POLICY_FILES_MAX) {
			snprintf(err, errlen, "%s: more than %d policy files", dir,
			    MDT_POLICY_FILES_MAX);
			break;
		}
		if ((v[n] = mdt__strndup(de->d_name, strlen(de->d_name))) == NULL)
			break;
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), name_cmp);
	*names = v;
	*count = n;
	return de == NULL ? 0 : (n == MDT_POLICY_FILES_MAX ? -MDT_ETOOBIG : -MDT_ENOMEM);
}

static int
read_file(const char *path, size_t max, char **out, size_t *len, char *err,
    size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long sz;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -MDT_EIO;
	}
	if ((size_t)sz > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		fclose(f);
		return -MDT_ETOOBIG;
	}
	if ((buf = mdt__malloc((size_t)sz + 1)) == NULL) {
		fclose(f);
		return -MDT_ENOMEM;
	}
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		snprintf(err, errlen, "%s: read error", path);
		fclose(f);
		mdt__free(buf);
		return -MDT_EIO;
	}
	fclose(f);
	buf[sz] = '\0';
	*out = buf;
	*len = (size_t)sz;
	return 0;
}

int
cedar_read_file(const char *path, size_t max, char **out, size_t *len,
    char *err, size_t errlen)
{
	return read_file(path, max, out, len, err, errlen);
}

/* Parses one file of the directory into s and feeds the hash. */
static int
load_one(mdt_policy_set *s, const char *dir, const char *name,
    size_t *total, crypto_hash_sha256_state *st, char *err, size_t errlen)
{
	char path[4096];
	char *text;
	size_t len;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -MDT_ETOOBIG;
	if ((rc = read_file(path, MDT_POLICY_TEXT_MAX, &text, &len, err,
	    errlen)) != 0)
		return rc;
	*total += len;
	if (*total > MDT_POLICY_TEXT_MAX) {
		snprintf(err, errlen, "%s: policy set larger than %u bytes", dir,
		    MDT_POLICY_TEXT_MAX);
		rc = -MDT_ETOOBIG;
	} else {
		/* Name, NUL, length-prefixed text: unambiguous across files. */
		uint64_t l64 = len;
		crypto_hash_sha256_update(st, (const unsigned char *)name,
		    strlen(name) + 1);
		crypto_hash_sha256_update(st, (const unsigned char *)&l64, 8);
		crypto_hash_sha256_update(st, (const unsigned char *)text, len);
		rc = cedar_parse_policies(s, text, len, path, err, errlen);
	}
	mdt__free(text);
	return rc;
}

int
mdt_policy_set_load_dir(mdt_policy_set **out, const char *dir, char *err,
    size_t errlen)
{
	mdt_policy_set *s = NULL;
	crypto_hash_sha256_state st;
	char **names = NULL;
	size_t n = 0, total = 0;
	int rc;

	if (out == NULL || dir == NULL)
		return -MDT_EINVAL;
	if ((rc = list_dir(dir, &names, &n, err, errlen)) == 0 &&
	    (s = set_new()) == NULL)
		rc = -MDT_ENOMEM;
	crypto_hash_sha256_init(&st);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = load_one(s, dir, names[i], &total, &st, err, errlen);
	for (size_t i = 0; names != NULL && i < n; i++)
		mdt__free(names[i]);
	mdt__free(names);
	if (rc != 0) {
		mdt_policy_set_free(s);
		return rc;
	}
	hash_hex(&st, s->hash);
	*out = s;
	return 0;
}

size_t
mdt_policy_set_count(const mdt_policy_set *set)
{
	return set == NULL ? 0 : set->n;
}

const char *
mdt_policy_set_id(const mdt_policy_set *set, size_t i)
{
	return set == NULL || i >= set->n ? NULL : set->pol[i].id;
}

const char *
mdt_policy_set_hash(const mdt_policy_set *set)
{
	return set == NULL ? NULL : set->hash;
}

const char *
mdt_decision_name(mdt_decision d)
{
	switch (d) {
	case MDT_DECISION_ALLOW:
		return "allow";
	case MDT_DECISION_STEP_UP:
		return "step-up";
	default:
		return "deny";
	}
}
