/*
 * Prints a task tree (the broker's `tree` answer: the audit store's JSON
 * export of a task tree) as an indented delegation graph: each task with
 * its holder, scopes and state, then the decisions taken on it.
 * Accepts both a nested form (tasks with "children") and a flat list of
 * tasks with parent ids.
 */
#include <stdarg.h>
#include <stdio.h>
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

static void
print_decisions(json_t *task, int depth)
{
	json_t *ds = json_object_get(task, "decisions"), *d;
	size_t i;

	json_array_foreach(ds, i, d) {
		const char *reason = field(d, "reason", NULL);

		printf("%*s  - %s %s %s %s%s%s%s\n", depth * 4, "",
		    field(d, "operation", "op", NULL),
		    field(d, "decision", "outcome", NULL),
		    field(d, "action", NULL), field(d, "resource", NULL),
		    reason[0] ? "  (" : "", reason, reason[0] ? ")" : "");
	}
}

static void
print_task(json_t *t, int depth)
{
	printf("%*s%s %s  held by %s\n%*s  scopes: %s  state: %s\n",
	    depth * 4, "", depth > 1 ? "└─" : "●",
	    field(t, "task_id", "task", "id", NULL),
	    field(t, "holder", "agent", NULL), depth * 4, "",
	    field(t, "scopes", NULL), field(t, "state", NULL));
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
