/*
 * Reading every chained record of a store in sequence order: one cursor
 * per record table, merged on seq.  Verification and export read through
 * this, optionally restricted to the task tree containing one task.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "sqlite_int.h"

struct mdt__merge {
	sqlite3_stmt *st[MDT__KIND_COUNT_];
	int has[MDT__KIND_COUNT_];
	int last;      /* kind returned by the previous call, 0 before */
	int started;
};

#define TREE_CTE "WITH RECURSIVE tree(id, n) AS (SELECT root_id, 0 FROM" \
	" tasks WHERE task_id = ?1 UNION ALL SELECT t.task_id, tree.n + 1" \
	" FROM tasks t JOIN tree ON t.parent_id = tree.id WHERE tree.n < 256) "

static char *
cursor_sql(const mdt__kind_desc *d, int filtered)
{
	char *cols = mdt__select_list(d, NULL), *sql;
	size_t cap;

	if (cols == NULL)
		return NULL;
	cap = strlen(cols) + 512;
	if ((sql = mdt__malloc(cap)) != NULL) {
		if (!filtered)
			snprintf(sql, cap, "SELECT %s FROM %s ORDER BY seq", cols,
			    d->table);
		else if (d->kind == MDT__KIND_ACT_USE ||
		    d->kind == MDT__KIND_SOURCE) /* about no task */
			snprintf(sql, cap, TREE_CTE "SELECT %s FROM %s WHERE 0",
			    cols, d->table);
		else if (d->kind == MDT__KIND_REVIEW) /* a decision's */
			snprintf(sql, cap, TREE_CTE "SELECT %s FROM %s WHERE"
			    " decision_seq IN (SELECT seq FROM decisions WHERE"
			    " task_id IN (SELECT id FROM tree)) ORDER BY seq",
			    cols, d->table);
		else if (d->task_col != NULL)
			snprintf(sql, cap, TREE_CTE "SELECT %s FROM %s WHERE %s"
			    " IN (SELECT id FROM tree) ORDER BY seq", cols,
			    d->table, d->task_col);
		else
			snprintf(sql, cap, TREE_CTE "SELECT %s FROM %s WHERE"
			    " approval_id IN (SELECT approval_id FROM approvals"
			    " WHERE task_id IN (SELECT id FROM tree))"
			    " ORDER BY seq", cols, d->table);
	}
	mdt__free(cols);
	return sql;
}

int
mdt__merge_open(sqlite3 *db, const char *filter_task, mdt__merge **out,
    char *err, size_t errlen)
{
	mdt__merge *m = mdt__calloc(1, sizeof(*m));
	int rc = 0;

	if (m == NULL)
		return -MDT_ENOMEM;
	for (int k = 1; k < MDT__KIND_COUNT_ && rc == 0; k++) {
		char *sql = cursor_sql(mdt__kind_get(k), filter_task != NULL);
		if (sql == NULL) {
			rc = -MDT_ENOMEM;
			break;
		}
		if (sqlite3_prepare_v2(db, sql, -1, &m->st[k], NULL) !=
		    SQLITE_OK || (filter_task != NULL && sqlite3_bind_text(
		    m->st[k], 1, filter_task, -1, SQLITE_TRANSIENT) !=
		    SQLITE_OK)) {
			snprintf(err, errlen, "reading table %s: %s",
			    mdt__kind_get(k)->table, sqlite3_errmsg(db));
			rc = -MDT_ESTORE;
		}
		mdt__free(sql);
	}
	if (rc != 0) {
		mdt__merge_close(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* Advances cursor k; 0 or -MDT_ESTORE. */
static int
advance(mdt__merge *m, int k, char *err, size_t errlen)
{
	int rc = sqlite3_step(m->st[k]);

	m->has[k] = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	snprintf(err, errlen, "reading table %s: %s", mdt__kind_get(k)->table,
	    sqlite3_errmsg(sqlite3_db_handle(m->st[k])));
	return -MDT_ESTORE;
}

int
mdt__merge_next(mdt__merge *m, mdt__mrow *row, char *err, size_t errlen)
{
	int best = 0, rc;
	uint64_t best_seq = 0;

	if (!m->started) {
		m->started = 1;
		for (int k = 1; k < MDT__KIND_COUNT_; k++)
			if ((rc = advance(m, k, err, errlen)) != 0)
				return rc;
	} else if (m->last != 0 &&
	    (rc = advance(m, m->last, err, errlen)) != 0) {
		return rc;
	}
	for (int k = 1; k < MDT__KIND_COUNT_; k++) {
		uint64_t seq;
		if (!m->has[k])
			continue;
		seq = (uint64_t)sqlite3_column_int64(m->st[k], 0);
		if (best == 0 || seq < best_seq) {
			best = k;
			best_seq = seq;
		}
	}
	m->last = best;
	if (best == 0)
		return 0;
	row->d = mdt__kind_get(best);
	row->st = m->st[best];
	row->seq = best_seq;
	return 1;
}

void
mdt__merge_close(mdt__merge *m)
{
	if (m == NULL)
		return;
	for (int k = 0; k < MDT__KIND_COUNT_; k++)
		sqlite3_finalize(m->st[k]);
	mdt__free(m);
}

int
mdt__row_vals(sqlite3_stmt *st, const mdt__kind_desc *d, mdt__val *vals)
{
	for (size_t i = 0; i < d->ncols; i++) {
		int col = 3 + (int)i;
		mdt__val *v = &vals[i];
		memset(v, 0, sizeof(*v));
		switch (sqlite3_column_type(st, col)) {
		case SQLITE_NULL:
			break;
		case SQLITE_INTEGER:
			v->type = 'I';
			v->i = sqlite3_column_int64(st, col);
			break;
		case SQLITE_TEXT:
			v->type = 'T';
			v->p = sqlite3_column_text(st, col);
			v->len = (size_t)sqlite3_column_bytes(st, col);
			break;
		case SQLITE_BLOB:
			v->type = 'B';
			v->p = sqlite3_column_blob(st, col);
			v->len = (size_t)sqlite3_column_bytes(st, col);
			break;
		default:
			return -1;
		}
	}
	return 0;
}
