/*
 * The lookups the broker needs on its request path (decision by request
 * id, task by id, children, fan-out count, revoked chain, approvals) and
 * the decision listing, all on the pooled read connections.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "sqlite_int.h"

#define TASK_STATE_FIRST(d) (3 + (int)(d)->ncols)

static int
bind_id(mdt_store *s, mdt__reader *r, sqlite3_stmt *st, const char *id)
{
	int rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : mdt__store_sqlerr(s, r->db, rc, "bind");
}

/* Steps st: 1 on a row, 0 at the end, negative on error. */
static int
step(mdt_store *s, mdt__reader *r, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return mdt__store_sqlerr(s, r->db, rc, "query");
}

int
mdt__unpack_decision(sqlite3_stmt *st, void **out)
{
	const mdt__seg seg = {mdt__kind_get(MDT__KIND_DECISION), 0,
	    offsetof(mdt_store_decision, seq)};

	return mdt__unpack(st, &seg, 1, sizeof(mdt_store_decision), out);
}

int
mdt__unpack_task(sqlite3_stmt *st, void **out)
{
	const mdt__kind_desc *d = mdt__kind_get(MDT__KIND_TASK);
	const mdt__seg seg = {d, 0, offsetof(mdt_store_task, seq)};
	int rc = mdt__unpack(st, &seg, 1, sizeof(mdt_store_task), out);

	if (rc == 0)
		mdt__task_state_cols(st, TASK_STATE_FIRST(d), *out);
	return rc;
}

typedef int (*unpack_fn)(sqlite3_stmt *, void **);

/* Runs statement idx (bound by the caller's text or seq) expecting at
 * most one row, unpacked into *out. */
static int
one_row(mdt_store *s, int idx, const char *key, int64_t seq,
    unpack_fn unpack, void **out)
{
	mdt__reader *r;
	sqlite3_stmt *st;
	int rc;

	if (s == NULL || out == NULL || (key == NULL && seq < 0))
		return -MDT_EINVAL;
	r = mdt__reader_acquire(s);
	st = r->st[idx];
	if (key != NULL)
		rc = bind_id(s, r, st, key);
	else
		rc = sqlite3_bind_int64(st, 1, seq) == SQLITE_OK ? 0 :
		    mdt__store_sqlerr(s, r->db, SQLITE_ERROR, "bind");
	if (rc == 0)
		rc = step(s, r, st);
	if (rc == 1)
		rc = unpack(st, out);
	else if (rc == 0)
		rc = -MDT_ENOTFOUND;
	mdt__reader_release(r);
	return rc;
}

int
mdt__sq_find_decision(mdt_store *store, const char *request_id,
    mdt_store_decision **out)
{
	if (request_id == NULL)
		return -MDT_EINVAL;
	return one_row(store, MDT__R_FIND_DECISION, request_id, 0,
	    mdt__unpack_decision, (void **)out);
}

int
mdt__sq_get_decision(mdt_store *store, uint64_t seq,
    mdt_store_decision **out)
{
	if (seq > INT64_MAX)
		return -MDT_ENOTFOUND;
	return one_row(store, MDT__R_GET_DECISION, NULL, (int64_t)seq,
	    mdt__unpack_decision, (void **)out);
}

int
mdt__sq_get_task(mdt_store *store, const char *task_id,
    mdt_store_task **out)
{
	uint64_t gen = 0;
	int rc;

	if (store == NULL || task_id == NULL || out == NULL)
		return -MDT_EINVAL;
	if (store->tcache != NULL) {
		rc = mdt__tcache_get(store->tcache, task_id, out);
		if (rc != -MDT_ENOTFOUND)
			return rc;
		gen = mdt__tcache_gen(store->tcache);
	}
	rc = one_row(store, MDT__R_GET_TASK, task_id, 0, mdt__unpack_task,
	    (void **)out);
	if (rc == 0 && store->tcache != NULL)
		mdt__tcache_put(store->tcache, gen, *out);
	return rc;
}

static int
unpack_approval(sqlite3_stmt *st, void **out)
{
	const mdt__kind_desc *a = mdt__kind_get(MDT__KIND_APPROVAL);
	const mdt__seg segs[2] = {
		{a, 0, offsetof(mdt_store_approval, seq)},
		{mdt__kind_get(MDT__KIND_APPROVAL_DECISION), 3 + (int)a->ncols,
		    offsetof(mdt_store_approval, decision_seq)},
	};

	return mdt__unpack(st, segs, 2, sizeof(mdt_store_approval), out);
}

int
mdt__sq_get_approval(mdt_store *store, const char *approval_id,
    mdt_store_approval **out)
{
	if (approval_id == NULL)
		return -MDT_EINVAL;
	return one_row(store, MDT__R_GET_APPROVAL, approval_id, 0,
	    unpack_approval, (void **)out);
}

int
mdt__each_row(mdt_store *s, sqlite3_stmt *st, const mdt__visit *v)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		void *rec;
		int stop;
		rc = v->task != NULL ? mdt__unpack_task(st, &rec) :
		    mdt__unpack_decision(st, &rec);
		if (rc != 0)
			return rc;
		stop = v->task != NULL ? v->task(v->arg, rec) :
		    v->decision(v->arg, rec);
		mdt__free(rec);
		if (stop != 0)
			return stop < 0 ? stop : 0;
	}
	return rc == SQLITE_DONE ? 0 :
	    mdt__store_sqlerr(s, sqlite3_db_handle(st), rc, "query");
}

int
mdt__sq_task_children(mdt_store *store, const char *task_id,
    mdt_store_task_fn fn, void *arg)
{
	mdt__reader *r;
	int rc;

	if (store == NULL || task_id == NULL || fn == NULL)
		return -MDT_EINVAL;
	r = mdt__reader_acquire(store);
	rc = bind_id(store, r, r->st[MDT__R_CHILDREN], task_id);
	if (rc == 0) {
		const mdt__visit v = {fn, NULL, arg};
		rc = mdt__each_row(store, r->st[MDT__R_CHILDREN], &v);
	}
	mdt__reader_release(r);
	return rc;
}

int
mdt__sq_list_decisions(mdt_store *store, uint64_t after_seq,
    uint32_t limit, mdt_store_decision_fn fn, void *arg)
{
	mdt__reader *r;
	sqlite3_stmt *st;
	int rc;

	if (store == NULL || fn == NULL || after_seq > INT64_MAX)
		return -MDT_EINVAL;
	r = mdt__reader_acquire(store);
	st = r->st[MDT__R_LIST_DECISIONS];
	if (sqlite3_bind_int64(st, 1, (int64_t)after_seq) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1) !=
	    SQLITE_OK)
		rc = mdt__store_sqlerr(store, r->db, SQLITE_ERROR, "bind");
	else {
		const mdt__visit v = {NULL, fn, arg};
		rc = mdt__each_row(store, st, &v);
	}
	mdt__reader_release(r);
	return rc;
}

int
mdt__sq_count_children(mdt_store *store, const char *task_id,
    uint32_t *count)
{
	mdt__reader *r;
	sqlite3_stmt *st;
	int rc;

	if (store == NULL || task_id == NULL || count == NULL)
		return -MDT_EINVAL;
	r = mdt__reader_acquire(store);
	st = r->st[MDT__R_COUNT_CHILDREN];
	rc = bind_id(store, r, st, task_id);
	if (rc == 0 && (rc = step(store, r, st)) == 1) {
		*count = (uint32_t)sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = mdt__store_sqlerr(store, r->db, SQLITE_ERROR, "count");
	}
	mdt__reader_release(r);
	return rc;
}

/* One hop: does id exist, its parent (copied; caller frees) and whether
 * id has ended.  Returns 0 or a negative MDT_E*. */
static int
chain_hop(mdt_store *s, mdt__reader *r, const char *id, int *exists,
    char **parent, int *ended)
{
	sqlite3_stmt *st = r->st[MDT__R_CHAIN_ENDED];
	const unsigned char *p;
	int rc;

	*parent = NULL;
	sqlite3_reset(st);
	rc = bind_id(s, r, st, id);
	if (rc == 0 && (rc = step(s, r, st)) != 1)
		return rc == 0 ? mdt__store_sqlerr(s, r->db, SQLITE_ERROR,
		    "chain") : rc;
	*exists = sqlite3_column_int(st, 0) != 0;
	*ended = sqlite3_column_int(st, 2) != 0;
	p = sqlite3_column_text(st, 1);
	if (p != NULL) {
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		if ((*parent = mdt__malloc(n + 1)) == NULL)
			return -MDT_ENOMEM;
		memcpy(*parent, p, n + 1);
	}
	return 0;
}

/* Walks from task_id up to its root (at most MDT__STORE_TREE_DEPTH_MAX
 * hops) and reports the nearest ended task on the way. */
/* The same walk over cached task rows (a writable handle). */
static int
chain_revoked_cached(mdt_store *s, const char *task_id, int *revoked,
    char *revoked_by, size_t len)
{
	mdt_store_task *t = NULL, *prev = NULL;
	const char *id = task_id;
	int rc = 0, found = 0;

	for (int n = 0; n <= MDT__STORE_TREE_DEPTH_MAX; n++) {
		rc = mdt_store_get_task(s, id, &t);
		if (rc == -MDT_ENOTFOUND && n > 0)
			rc = 0; /* a missing ancestor ends the walk */
		if (rc != 0 || t == NULL)
			break;
		if (t->state != MDT_TASK_OPEN) {
			found = 1;
			if (revoked_by != NULL && len > 0)
				snprintf(revoked_by, len, "%s", id);
			break;
		}
		if (t->parent_id == NULL)
			break;
		mdt__free(prev);
		prev = t;
		id = t->parent_id;
		t = NULL;
	}
	mdt__free(prev);
	mdt__free(t);
	if (rc == 0)
		*revoked = found;
	return rc;
}

int
mdt__sq_chain_revoked(mdt_store *store, const char *task_id, int *revoked,
    char *revoked_by, size_t len)
{
	mdt__reader *r;
	char *id = NULL, *parent = NULL;
	int rc = 0, exists = 0, ended = 0, found = 0;

	if (store == NULL || task_id == NULL || revoked == NULL)
		return -MDT_EINVAL;
	if (store->tcache != NULL)
		return chain_revoked_cached(store, task_id, revoked, revoked_by,
		    len);
	r = mdt__reader_acquire(store);
	for (int n = 0; rc == 0; n++) {
		rc = chain_hop(store, r, id != NULL ? id : task_id, &exists,
		    &parent, &ended);
		if (rc != 0)
			break;
		if (n == 0 && !exists) {
			rc = -MDT_ENOTFOUND;
			break;
		}
		if (ended) {
			found = 1;
			if (revoked_by != NULL && len > 0)
				snprintf(revoked_by, len, "%s", id != NULL ?
				    id : task_id);
			break;
		}
		if (!exists || parent == NULL ||
		    n >= MDT__STORE_TREE_DEPTH_MAX)
			break;
		mdt__free(id);
		id = parent;
		parent = NULL;
	}
	mdt__free(id);
	mdt__free(parent);
	mdt__reader_release(r);
	if (rc == 0)
		*revoked = found;
	return rc;
}
