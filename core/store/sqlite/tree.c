/*
 * The admin view of the audit store in SQLite: the task tree under a
 * root with each task's decisions, as a walk with callbacks
 * (docs/audit.md, "Task tree"; the JSON document is tree_json.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "sqlite_int.h"

/* Calls the decision visitor for every decision on task_id. */
static int
task_decisions(mdt_store *s, mdt__reader *r, const char *task_id,
    const mdt_store_tree_visitor *v, void *arg)
{
	sqlite3_stmt *st = r->st[MDT__R_TASK_DECISIONS];
	const mdt__visit dv = {NULL, v->decision, arg};
	int rc = sqlite3_bind_text(st, 1, task_id, -1, SQLITE_STATIC);

	if (rc != SQLITE_OK)
		return mdt__store_sqlerr(s, r->db, rc, "bind");
	rc = mdt__each_row(s, st, &dv);
	sqlite3_reset(st);
	return rc;
}

static int
walk(mdt_store *s, mdt__reader *r, const mdt_store_tree_visitor *v,
    void *arg)
{
	sqlite3_stmt *st = r->st[MDT__R_TREE];
	int rc, seen = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		mdt_store_task *t;
		int stop = 0;
		seen = 1;
		if ((rc = mdt__unpack_task(st, (void **)&t)) != 0)
			return rc;
		if (v->task != NULL)
			stop = v->task(arg, t);
		if (stop == 0 && v->decision != NULL)
			stop = task_decisions(s, r, t->task_id, v, arg);
		mdt__free(t);
		if (stop != 0)
			return stop < 0 ? stop : 0;
	}
	if (rc != SQLITE_DONE)
		return mdt__store_sqlerr(s, r->db, rc, "task tree");
	return seen ? 0 : -MDT_ENOTFOUND;
}

int
mdt__sq_task_tree(mdt_store *store, const char *root_task_id,
    const mdt_store_tree_visitor *v, void *arg)
{
	mdt__reader *r;
	int rc;

	if (store == NULL || root_task_id == NULL || v == NULL)
		return -MDT_EINVAL;
	r = mdt__reader_acquire(store);
	rc = sqlite3_bind_text(r->st[MDT__R_TREE], 1, root_task_id, -1,
	    SQLITE_STATIC);
	rc = rc == SQLITE_OK ? walk(store, r, v, arg) :
	    mdt__store_sqlerr(store, r->db, rc, "bind");
	mdt__reader_release(r);
	return rc;
}
