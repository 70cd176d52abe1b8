/*
 * Prints a task tree (the broker's `tree` answer: the audit store's JSON
 * export of a task tree) as an indented delegation graph: each task with
 * its holder, scopes and state, then the decisions taken on it.
 * Accepts both a nested form (tasks with "children") and a flat list of
 * tasks with parent ids.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clinic.h"

/* The first of the named string fields present in o, or "". */
static const char *
field(json_t *o, ...)
{
	const char *name, *v = NULL;
	va_list ap;

	va_start(ap, o);
	while (v == NULL && (name = va_arg(ap, const char *)) != NULL)
		v = json_string_value(json_object_get(o, name));
	va_end(ap);
	return v != NULL ? v : "";
}

/* The last path segment of a SPIFFE id ("summarizer"). */
static const char *
short_id(const char *id)
{
	const char *slash = strrchr(id, '/');

	return slash != NULL ? slash + 1 : id;
}

/* Why a decision that is not an allow came out as it did: its failed
 * check and detail ("patient: task ... is for pat-001"), or "". */
static void
reason_text(json_t *d, int indent, char *buf, size_t len)
{
	json_t *r = json_object_get(d, "reasons");

	buf[0] = '\0';
	if (json_is_string(r))
		r = json_loads(json_string_value(r), JSON_DECODE_ANY, NULL);
	else
		json_incref(r);
	if (json_is_object(r) && json_object_get(r, "failed") != NULL)
		snprintf(buf, len, "\n%*s%s: %s", indent, "",
		    field(r, "failed", NULL), field(r, "detail", NULL));
	json_decref(r);
}

/* What a decision was about, in words: "read Patient/pat-001", or the
 * operation and its object for hand-offs ("dispatch summarizer"). */
static void
subject_text(json_t *d, char *buf, size_t len)
{
	const char *act = field(d, "action", NULL);
	const char *res = field(d, "resource", NULL);

	if (strncmp(res, "spiffe://", 9) == 0)
		res = short_id(res);
	if (act[0] != '\0')
		snprintf(buf, len, "%s %s", clinic_action_word(act, res), res);
	else
		snprintf(buf, len, "%s", short_id(res));
}

static void
print_decisions(json_t *task, int depth)
{
	json_t *ds = json_object_get(task, "decisions"), *d;
	json_int_t flags;
	char why[512], what[256];
	size_t i;

	json_array_foreach(ds, i, d) {
		flags = json_integer_value(json_object_get(d, "flags"));
		reason_text(d, depth * 4 + 16, why, sizeof(why));
		subject_text(d, what, sizeof(what));
		printf("%*s  - %-9s %-7s %-40s by %s%s%s%s\n", depth * 4,
		    "", field(d, "operation", "op", NULL),
		    field(d, "verdict", "decision", NULL), what,
		    short_id(field(d, "agent", NULL)),
		    (flags & 0x2) ? " [review]" : "",
		    (flags & 0x4) ? " [approved]" : "", why);
	}
}

static void
print_task(json_t *t, int depth)
{
	printf("%*s%s task %s  held by %s (%s)\n%*s  scopes: %s\n",
	    depth * 4, "", depth > 1 ? "`-" : "*",
	    field(t, "task_id", "task", "id", NULL),
	    short_id(field(t, "holder", "agent", NULL)),
	    field(t, "state", NULL), depth * 4, "", field(t, "scopes", NULL));
	print_decisions(t, depth);
}

/* Flat form: print the children of parent (by parent id), recursively. */
static void
print_flat(json_t *tasks, const char *parent, int depth)
{
	json_t *t;
	size_t i;

	json_array_foreach(tasks, i, t) {
		if (strcmp(field(t, "parent_id", "parent", NULL), parent) != 0)
			continue;
		print_task(t, depth);
		print_flat(tasks, field(t, "task_id", "task", "id", NULL),
		    depth + 1);
	}
}

void
clinic_print_node(json_t *v, int depth)
{
	json_t *kids, *k, *tasks = json_object_get(v, "tasks");
	size_t i;

	if (json_is_array(tasks)) {
		print_flat(tasks, "", depth);
		fflush(stdout);
		return;
	}
	if (json_is_object(json_object_get(v, "root")))
		v = json_object_get(v, "root");
	print_task(v, depth);
	kids = json_object_get(v, "children");
	json_array_foreach(kids, i, k)
		clinic_print_node(k, depth + 1);
	fflush(stdout);
}
