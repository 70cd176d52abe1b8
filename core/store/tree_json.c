/*
 * The admin view of the audit store as one JSON document: the task tree
 * under a root with each task's decisions (docs/audit.md, "Task tree"),
 * built on the backend's tree walk.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "core_int.h"

/* Building the JSON document. */
typedef struct tree_json {
	json_t *root;     /* the root node */
	json_t *index;    /* task id -> node (borrowed) */
	json_t *current;  /* node of the task whose decisions follow */
	int rc;
} tree_json;

static json_t *
task_node(const mdt_store_task *t)
{
	json_t *n = mdt__struct_json(MDT__KIND_TASK, t);

	if (n == NULL)
		return NULL;
	json_object_set_new(n, "state", json_string(
	    mdt_task_state_name(t->state)));
	json_object_set_new(n, "ended_ms", json_integer(t->ended_ms));
	json_object_set_new(n, "end_seq", json_integer((json_int_t)t->end_seq));
	if (t->parent_id != NULL)
		json_object_set_new(n, "edge", json_pack("{s:s?, s:s?, s:s?, "
		    "s:s?, s:s?}", "parent", t->parent_id, "from",
		    t->from_agent, "to", t->holder, "scopes", t->scopes,
		    "operation", t->operation));
	json_object_set_new(n, "decisions", json_array());
	json_object_set_new(n, "children", json_array());
	return n;
}

static int
on_task(void *arg, const mdt_store_task *t)
{
	tree_json *tj = arg;
	json_t *n = task_node(t), *parent;

	if (n == NULL)
		return tj->rc = -MDT_ENOMEM;
	parent = t->parent_id != NULL ?
	    json_object_get(tj->index, t->parent_id) : NULL;
	if (json_object_set(tj->index, t->task_id, n) != 0) {
		json_decref(n);
		return tj->rc = -MDT_ENOMEM;
	}
	if (parent != NULL)
		json_array_append(json_object_get(parent, "children"), n);
	else if (tj->root == NULL)
		tj->root = json_incref(n);
	tj->current = n;
	json_decref(n);
	return 0;
}

static int
on_decision(void *arg, const mdt_store_decision *d)
{
	tree_json *tj = arg;
	json_t *j = mdt__struct_json(MDT__KIND_DECISION, d);

	if (j == NULL)
		return tj->rc = -MDT_ENOMEM;
	json_object_set_new(j, "verdict", json_string(
	    mdt_store_verdict_name(d->verdict)));
	json_array_append_new(json_object_get(tj->current, "decisions"), j);
	return 0;
}

int
mdt_store_task_tree_json(mdt_store *store, const char *task_id, char **json)
{
	static const mdt_store_tree_visitor v = {on_task, on_decision};
	tree_json tj = {0};
	mdt_store_task *t;
	char *text;
	int rc;

	if (json == NULL)
		return -MDT_EINVAL;
	if ((rc = mdt_store_get_task(store, task_id, &t)) != 0)
		return rc;
	if ((tj.index = json_object()) == NULL) {
		mdt__free(t);
		return -MDT_ENOMEM;
	}
	rc = mdt_store_task_tree(store, t->root_id, &v, &tj);
	mdt__free(t);
	if (rc == 0 && tj.rc != 0)
		rc = tj.rc;
	if (rc == 0) {
		char *copy = NULL;
		text = json_dumps(tj.root, JSON_COMPACT);
		if (text != NULL)
			copy = mdt__strndup(text, strlen(text));
		free(text);
		rc = copy != NULL ? 0 : -MDT_ENOMEM;
		if (rc == 0)
			*json = copy;
	}
	json_decref(tj.root);
	json_decref(tj.index);
	return rc;
}
