/*
 * Synthetic FHIR resources held in memory (a few dozen for the example),
 * indexed by type, id and patient compartment.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clinic.h"
#include "fhir_store.h"

typedef struct fhir_entry {
	char type[FHIR_NAME_MAX];
	char id[FHIR_NAME_MAX];
	char patient[FHIR_NAME_MAX];
	json_t *res;
} fhir_entry;

struct fhir_store {
	json_t *bundle;
	fhir_entry *e;
	size_t n;
};

/* Copies a non-empty src that fits in cap bytes; -1 otherwise. */
static int
copy_span(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n == 0 || n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* The patient whose compartment holds r: itself, or subject. */
static const char *
compartment(json_t *r, const char *type, const char *id)
{
	const char *ref;

	if (strcmp(type, "Patient") == 0)
		return id;
	ref = json_string_value(json_object_get(json_object_get(r, "subject"),
	    "reference"));
	if (ref == NULL || strncmp(ref, "Patient/", 8) != 0)
		return NULL;
	return ref + 8;
}

static int
index_entry(fhir_entry *e, json_t *r)
{
	const char *type = json_string_value(json_object_get(r, "resourceType"));
	const char *id = json_string_value(json_object_get(r, "id"));

	if (copy_span(e->type, FHIR_NAME_MAX, type) != 0 ||
	    copy_span(e->id, FHIR_NAME_MAX, id) != 0 ||
	    copy_span(e->patient, FHIR_NAME_MAX,
	    compartment(r, e->type, e->id)) != 0)
		return -1;
	e->res = r;
	return 0;
}

int
fhir_store_load(const char *path, fhir_store **out)
{
	json_error_t je;
	fhir_store *s = calloc(1, sizeof(*s));
	json_t *entries;

	if (s == NULL)
		return -1;
	if ((s->bundle = json_load_file(path, 0, &je)) == NULL) {
		clinic_log("gateway", "%s:%d:%d: %s", path, je.line, je.column,
		    je.text);
		goto fail;
	}
	entries = json_object_get(s->bundle, "entry");
	if ((s->e = calloc(json_array_size(entries) + 1, sizeof(*s->e))) == NULL)
		goto fail;
	for (size_t i = 0; i < json_array_size(entries); i++) {
		if (index_entry(&s->e[s->n], json_object_get(
		    json_array_get(entries, i), "resource")) != 0) {
			clinic_log("gateway", "%s: entry %zu is not a usable "
			    "resource", path, i);
			goto fail;
		}
		s->n++;
	}
	*out = s;
	return 0;
fail:
	fhir_store_free(s);
	return -1;
}

void
fhir_store_free(fhir_store *s)
{
	if (s == NULL)
		return;
	json_decref(s->bundle);
	free(s->e);
	free(s);
}

/* The search parameters the store applies (it indexes one patient per
 * resource: the subject, or a Patient's own id). */
static int
store_applies(const char *type, const char *name)
{
	static const char *const names[] = {"subject", "subject:Patient",
	    "patient", "patient:Patient"};

	if (strcmp(type, "Patient") == 0)
		return strcmp(name, "_id") == 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

int
fhir_parse_uri(const char *uri, const char *prefix, fhir_query *q)
{
	char buf[MDT_SCOPE_REF_MAX + 2 * MDT_SCOPE_PARAMS_MAX + 8];
	mdt_scope_param params[MDT_SCOPE_PARAMS_MAX];
	mdt_scope_request req;
	const char *ref;

	memset(q, 0, sizeof(*q));
	if (uri == NULL || strncmp(uri, prefix, strlen(prefix)) != 0)
		return -1;
	ref = uri + strlen(prefix);
	if (mdt_scope_request_parse(ref, &req, buf, sizeof(buf), params,
	    MDT_SCOPE_PARAMS_MAX, NULL, 0) != 0 ||
	    req.context == MDT_SCOPE_TOOL ||
	    copy_span(q->resource, sizeof(q->resource), ref) != 0 ||
	    copy_span(q->type, sizeof(q->type), req.type) != 0)
		return -1;
	if (req.id != NULL)
		return req.nparams == 0 ? copy_span(q->id, sizeof(q->id),
		    req.id) : -1;
	for (size_t i = 0; i < req.nparams; i++)
		if (!store_applies(req.type, params[i].name))
			return -1;
	q->search = 1;
	return 0;
}

int
fhir_store_read(const fhir_store *s, fhir_query *q, char **json)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].type, q->type) == 0 &&
		    strcmp(s->e[i].id, q->id) == 0) {
			memcpy(q->patient, s->e[i].patient, FHIR_NAME_MAX);
			*json = json_dumps(s->e[i].res, JSON_COMPACT);
			return *json != NULL ? 0 : -1;
		}
	return -1;
}

int
fhir_store_search(const fhir_store *s, fhir_query *q, char **json)
{
	json_t *b = json_pack("{s:s, s:s, s:[]}", "resourceType", "Bundle",
	    "type", "searchset", "entry");
	json_t *entries = json_object_get(b, "entry");

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].type, q->type) == 0 &&
		    strcmp(s->e[i].patient, q->patient) == 0)
			json_array_append_new(entries, json_pack("{s:O}",
			    "resource", s->e[i].res));
	json_object_set_new(b, "total", json_integer(
	    (json_int_t)json_array_size(entries)));
	*json = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return *json != NULL ? 0 : -1;
}

char *
fhir_outcome(const char *code, const char *text)
{
	json_t *o = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType",
	    "OperationOutcome", "issue", "severity", "error", "code", code,
	    "diagnostics", text);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}
