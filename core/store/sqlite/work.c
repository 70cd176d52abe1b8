/*
 * Work items: the durable queue of subtasks and results waiting for the
 * agent they are for (table `work`).  Push, lease and acknowledge are
 * writer operations, so a lease is one read-modify-write in the writer's
 * transaction and two leases never take the same item; listings run on
 * the read connections.  Items are not chained: they are delivery state,
 * not evidence (the dispatch decision and the task row are the evidence).
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "sqlite_int.h"
#include "../work_int.h"

enum {
	WS_COUNT, WS_ENDED, WS_INSERT, WS_PICK, WS_RETRY, WS_MARK, WS_ACK,
	WS_DROP_TASK, WS_COUNT_
};

#define COLS "seq, item_id, agent, kind, task_id, parent_id, from_agent," \
    " op, status, scopes, patient, purpose, clinician, depth, expires," \
    " token, payload, time_ms, lease_until, deliveries"
#define FILTER " AND (?3 = 0 OR (kind = 2 AND CASE ?3 WHEN 1 THEN" \
    " task_id = ?4 ELSE parent_id = ?4 END))"

static const char *const wsql[WS_COUNT_] = {
	[WS_COUNT] = "SELECT count(*) FROM work WHERE agent = ?1",
	[WS_ENDED] = "SELECT 1 FROM ended WHERE task_id = ?1",
	[WS_INSERT] = "INSERT INTO work(item_id, agent, kind, task_id,"
	    " parent_id, from_agent, op, status, scopes, patient, purpose,"
	    " clinician, depth, expires, token, payload, time_ms) VALUES (?1,"
	    " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
	    " ?16, ?17)",
	[WS_PICK] = "SELECT " COLS " FROM work WHERE agent = ?1 AND"
	    " lease_until <= ?2" FILTER " ORDER BY seq LIMIT 1",
	[WS_RETRY] = "SELECT min(lease_until) FROM work WHERE agent = ?1"
	    " AND lease_until > ?2" FILTER,
	[WS_MARK] = ("UPDATE work SET lease_until = ?2,"
	    " deliveries = deliveries + 1 WHERE seq = ?1"),
	[WS_ACK] = "DELETE FROM work WHERE item_id = ?1 AND agent = ?2",
	[WS_DROP_TASK] = "DELETE FROM work WHERE kind = 1 AND task_id = ?1",
};

struct mdt__work {
	sqlite3_stmt *st[WS_COUNT_];
};

/* ------------------------------------------------------------- rows */

static const char *
col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* Points v's fields at the row's columns (valid until the next step). */
static void
row_view(sqlite3_stmt *st, mdt_work_item *v)
{
	memset(v, 0, sizeof(*v));
	v->seq = (uint64_t)sqlite3_column_int64(st, 0);
	v->id = col_text(st, 1);
	v->agent = col_text(st, 2);
	v->kind = (mdt_work_kind)sqlite3_column_int(st, 3);
	v->task = col_text(st, 4);
	v->parent = col_text(st, 5);
	v->from = col_text(st, 6);
	v->op = col_text(st, 7);
	v->status = col_text(st, 8);
	v->scopes = col_text(st, 9);
	v->patient = col_text(st, 10);
	v->purpose = col_text(st, 11);
	v->clinician = col_text(st, 12);
	v->depth = sqlite3_column_int64(st, 13);
	v->expires = sqlite3_column_int64(st, 14);
	v->token = sqlite3_column_blob(st, 15);
	v->token_len = (size_t)sqlite3_column_bytes(st, 15);
	v->payload = sqlite3_column_blob(st, 16);
	v->payload_len = (size_t)sqlite3_column_bytes(st, 16);
	v->time_ms = sqlite3_column_int64(st, 17);
	v->lease_until_ms = sqlite3_column_int64(st, 18);
	v->deliveries = (uint32_t)sqlite3_column_int64(st, 19);
}

#define NTEXT 11

static const char **
text_slot(mdt_work_item *it, int i)
{
	const char **slots[NTEXT] = { &it->id, &it->agent, &it->task,
	    &it->parent, &it->from, &it->op, &it->status, &it->scopes,
	    &it->patient, &it->purpose, &it->clinician };

	return slots[i];
}

/* Copies bytes to *p (advancing it); returns the copy, NULL for NULL. */
static const void *
put_bytes(unsigned char **p, const void *src, size_t n, int nul)
{
	unsigned char *d = *p;

	if (src == NULL)
		return NULL;
	if (n > 0)
		memcpy(d, src, n);
	if (nul)
		d[n] = 0;
	*p += n + (size_t)(nul != 0);
	return d;
}

mdt_work_item *
mdt__work_item_dup(const mdt_work_item *v)
{
	mdt_work_item tmp = *v, *it;
	size_t bytes = sizeof(*it) + v->token_len + v->payload_len;
	unsigned char *p;

	for (int i = 0; i < NTEXT; i++)
		if (*text_slot(&tmp, i) != NULL)
			bytes += strlen(*text_slot(&tmp, i)) + 1;
	if ((it = mdt__malloc(bytes)) == NULL)
		return NULL;
	*it = *v;
	p = (unsigned char *)(it + 1);
	for (int i = 0; i < NTEXT; i++) {
		const char *t = *text_slot(&tmp, i);
		*text_slot(it, i) = put_bytes(&p, t, t ? strlen(t) : 0, 1);
	}
	it->token = put_bytes(&p, v->token, v->token_len, 0);
	it->payload = put_bytes(&p, v->payload, v->payload_len, 0);
	return it;
}

/* ------------------------------------------------------ the writer */

static int
wstmt(mdt_store *s, int idx, sqlite3_stmt **out)
{
	char err[MDT_ERRMSG_MAX];

	if (s->bs->work == NULL &&
	    (s->bs->work = mdt__calloc(1, sizeof(*s->bs->work))) == NULL)
		return -MDT_ENOMEM;
	if (s->bs->work->st[idx] == NULL &&
	    mdt__prepare(s->bs->db, wsql[idx], &s->bs->work->st[idx], err,
	    sizeof(err)) != 0) {
		mdt__store_seterr(s, "%s", err);
		return -MDT_ESTORE;
	}
	*out = s->bs->work->st[idx];
	return 0;
}

void
mdt__work_close(mdt_store *s)
{
	if (s->bs->work == NULL)
		return;
	for (int i = 0; i < WS_COUNT_; i++)
		sqlite3_finalize(s->bs->work->st[i]);
	mdt__free(s->bs->work);
	s->bs->work = NULL;
}

static int
bind_t(sqlite3_stmt *st, int col, const char *t)
{
	return t == NULL ? sqlite3_bind_null(st, col) :
	    sqlite3_bind_text(st, col, t, -1, SQLITE_STATIC);
}

static int
bind_b(sqlite3_stmt *st, int col, const void *p, size_t n)
{
	return p == NULL ? sqlite3_bind_null(st, col) :
	    sqlite3_bind_blob(st, col, p, (int)n, SQLITE_STATIC);
}

/* Steps a statement expected to give one integer row; resets it. */
static int
scalar(mdt_store *s, sqlite3_stmt *st, int64_t *v, int *null)
{
	int rc = sqlite3_step(st);

	*null = rc != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL;
	*v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	return mdt__store_sqlerr(s, s->bs->db, rc, "work");
}

/* 0 when the push may go ahead; EBUSY / EREVOKED otherwise. */
static int
push_checks(mdt_store *s, const struct mdt__work_req *q)
{
	sqlite3_stmt *st;
	int64_t n;
	int null, rc;

	if (q->max_pending > 0) {
		if ((rc = wstmt(s, WS_COUNT, &st)) != 0 ||
		    (rc = bind_t(st, 1, q->it->agent)) != SQLITE_OK ||
		    (rc = scalar(s, st, &n, &null)) != 0)
			return rc > 0 ? mdt__store_sqlerr(s, s->bs->db, rc,
			    "work") : rc;
		if (n >= (int64_t)q->max_pending)
			return -MDT_EBUSY;
	}
	if (q->it->kind != MDT_WORK_TASK)
		return 0;
	if ((rc = wstmt(s, WS_ENDED, &st)) != 0 ||
	    (rc = bind_t(st, 1, q->it->task)) != SQLITE_OK ||
	    (rc = scalar(s, st, &n, &null)) != 0)
		return rc > 0 ? mdt__store_sqlerr(s, s->bs->db, rc, "work") : rc;
	return null ? 0 : -MDT_EREVOKED;
}

static int
push_binds(sqlite3_stmt *st, const mdt_work_item *it)
{
	const char *t[12] = { it->id, it->agent, NULL, it->task, it->parent,
	    it->from, it->op, it->status, it->scopes, it->patient,
	    it->purpose, it->clinician };
	int rc = SQLITE_OK;

	for (int i = 0; rc == SQLITE_OK && i < 12; i++)
		rc = i == 2 ? sqlite3_bind_int(st, 3, (int)it->kind) :
		    bind_t(st, i + 1, t[i]);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 13, it->depth);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 14, it->expires);
	if (rc == SQLITE_OK)
		rc = bind_b(st, 15, it->token, it->token_len);
	if (rc == SQLITE_OK)
		rc = bind_b(st, 16, it->payload, it->payload_len);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 17, it->time_ms);
	return rc;
}

static int
work_push(mdt_store *s, mdt__op *op, const struct mdt__work_req *q)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = push_checks(s, q)) != 0 ||
	    (rc = wstmt(s, WS_INSERT, &st)) != 0)
		return rc;
	if ((rc = push_binds(st, q->it)) != SQLITE_OK) {
		sqlite3_clear_bindings(st);
		return mdt__store_sqlerr(s, s->bs->db, rc, "work");
	}
	rc = mdt__step_done(s, st, "work");
	sqlite3_clear_bindings(st);
	if (rc == 0)
		op->seq = (uint64_t)sqlite3_last_insert_rowid(s->bs->db);
	return rc;
}

/* Binds agent, time and the filter (?1..?4) of a pick or retry query. */
static int
bind_filter(sqlite3_stmt *st, const struct mdt__work_req *q)
{
	int rc = bind_t(st, 1, q->agent);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, q->now_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, q->mode);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 4, q->fkey);
	return rc;
}

/* Nothing leasable: when will a matching lease end? */
static int
lease_retry(mdt_store *s, struct mdt__work_req *q)
{
	sqlite3_stmt *st;
	int null, rc;

	if ((rc = wstmt(s, WS_RETRY, &st)) != 0)
		return rc;
	if ((rc = bind_filter(st, q)) != SQLITE_OK) {
		sqlite3_reset(st);
		return mdt__store_sqlerr(s, s->bs->db, rc, "work");
	}
	if ((rc = scalar(s, st, &q->retry_ms, &null)) != 0)
		return rc;
	return -MDT_ENOTFOUND;
}

static int
lease_mark(mdt_store *s, mdt_work_item *it)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = wstmt(s, WS_MARK, &st)) != 0)
		return rc;
	rc = sqlite3_bind_int64(st, 1, (int64_t)it->seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, it->lease_until_ms);
	if (rc != SQLITE_OK) {
		sqlite3_reset(st);
		return mdt__store_sqlerr(s, s->bs->db, rc, "work");
	}
	return mdt__step_done(s, st, "work");
}

static int
work_lease(mdt_store *s, mdt__op *op, struct mdt__work_req *q)
{
	mdt_work_item view, *it = NULL;
	sqlite3_stmt *st;
	int rc;

	if ((rc = wstmt(s, WS_PICK, &st)) != 0)
		return rc;
	if ((rc = bind_filter(st, q)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_view(st, &view);
		it = mdt__work_item_dup(&view);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return lease_retry(s, q);
	if (rc != SQLITE_ROW)
		return mdt__store_sqlerr(s, s->bs->db, rc, "work");
	if (it == NULL)
		return -MDT_ENOMEM;
	it->lease_until_ms = q->until_ms;
	it->deliveries++;
	if ((rc = lease_mark(s, it)) != 0) {
		mdt__free(it);
		return rc;
	}
	op->seq = it->seq;
	op->result = it;
	return 0;
}

static int
work_ack(mdt_store *s, const struct mdt__work_req *q)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = wstmt(s, WS_ACK, &st)) != 0)
		return rc;
	rc = bind_t(st, 1, q->id);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 2, q->agent);
	if (rc != SQLITE_OK) {
		sqlite3_reset(st);
		return mdt__store_sqlerr(s, s->bs->db, rc, "work");
	}
	if ((rc = mdt__step_done(s, st, "work")) != 0)
		return rc;
	return sqlite3_changes(s->bs->db) > 0 ? 0 : -MDT_ENOTFOUND;
}

int
mdt__work_run(mdt_store *s, mdt__op *op)
{
	struct mdt__work_req *q = (struct mdt__work_req *)(uintptr_t)op->rec;

	switch (q->what) {
	case MDT__WORK_PUSH:
		return work_push(s, op, q);
	case MDT__WORK_LEASE:
		return work_lease(s, op, q);
	default:
		return work_ack(s, q);
	}
}

int
mdt__work_ended(mdt_store *s, const char *const *ids, size_t n)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = wstmt(s, WS_DROP_TASK, &st)) != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = bind_t(st, 1, ids[i])) != SQLITE_OK) {
			sqlite3_reset(st);
			return mdt__store_sqlerr(s, s->bs->db, rc, "work");
		}
		rc = mdt__step_done(s, st, "work");
	}
	return rc;
}

/* ------------------------------------------------------ public API */

static int
submit(mdt_store *s, struct mdt__work_req *q, uint64_t *seq,
    void **result)
{
	mdt__op op = {.type = MDT__OP_WORK, .rec = q};
	int rc = mdt__writer_submit(s, &op);

	if (seq != NULL)
		*seq = op.seq;
	if (rc == 0 && result != NULL)
		*result = op.result;
	else
		mdt__free(op.result);
	return rc;
}

static int
writable(mdt_store *s)
{
	if (s->read_only) {
		mdt__store_seterr(s, "store opened read-only");
		return -MDT_EINVAL;
	}
	return 0;
}

/* Text bounds of an item about to be pushed; err detail on the handle. */
static int
push_valid(mdt_store *s, const mdt_work_item *it)
{
	mdt_work_item tmp = *it;

	if (it->id == NULL || it->agent == NULL || it->task == NULL ||
	    (it->kind != MDT_WORK_TASK && it->kind != MDT_WORK_RESULT)) {
		mdt__store_seterr(s, "work item: id, agent, task and a kind "
		    "are required");
		return -MDT_EINVAL;
	}
	for (int i = 0; i < NTEXT; i++) {
		const char *t = *text_slot(&tmp, i);
		size_t max = text_slot(&tmp, i) == &tmp.scopes ?
		    MDT_STORE_JSON_MAX : MDT_STORE_FIELD_MAX;
		if (t != NULL && strlen(t) > max) {
			mdt__store_seterr(s, "work item: field %d too long", i);
			return -MDT_ETOOBIG;
		}
	}
	if (it->token_len > MDT_WORK_BYTES_MAX ||
	    it->payload_len > MDT_WORK_BYTES_MAX ||
	    (it->token == NULL && it->token_len > 0) ||
	    (it->payload == NULL && it->payload_len > 0))
		return -MDT_ETOOBIG;
	return 0;
}

int
mdt__sq_work_push(mdt_store *store, const mdt_work_item *it,
    uint32_t max_pending, uint64_t *seq_out)
{
	mdt_work_item r;
	struct mdt__work_req q = {.what = MDT__WORK_PUSH,
	    .max_pending = max_pending};
	uint64_t seq = 0;
	int rc;

	if (store == NULL || it == NULL)
		return -MDT_EINVAL;
	if ((rc = writable(store)) != 0 || (rc = push_valid(store, it)) != 0)
		return rc;
	r = *it;
	if (r.time_ms == 0)
		r.time_ms = mdt_store_now_ms();
	q.it = &r;
	rc = submit(store, &q, &seq, NULL);
	if (rc == 0 && seq_out != NULL)
		*seq_out = seq;
	return rc;
}

int
mdt__sq_work_lease(mdt_store *store, const char *agent,
    const mdt_work_filter *filter, uint32_t lease_ms, int64_t now_ms,
    mdt_work_item **out, int64_t *retry_ms)
{
	struct mdt__work_req q = {.what = MDT__WORK_LEASE, .agent = agent};
	int rc;

	if (store == NULL || agent == NULL || out == NULL)
		return -MDT_EINVAL;
	if ((rc = writable(store)) != 0)
		return rc;
	q.now_ms = now_ms != 0 ? now_ms : mdt_store_now_ms();
	q.until_ms = q.now_ms + (int64_t)lease_ms;
	if (filter != NULL && filter->child != NULL && filter->child[0]) {
		q.mode = 1;
		q.fkey = filter->child;
	} else if (filter != NULL && filter->task != NULL &&
	    filter->task[0]) {
		q.mode = 2;
		q.fkey = filter->task;
	}
	rc = submit(store, &q, NULL, (void **)out);
	if (retry_ms != NULL)
		*retry_ms = rc == -MDT_ENOTFOUND ? q.retry_ms : 0;
	return rc;
}

int
mdt__sq_work_ack(mdt_store *store, const char *id, const char *agent)
{
	struct mdt__work_req q = {.what = MDT__WORK_ACK, .agent = agent,
	    .id = id};
	int rc;

	if (store == NULL || id == NULL || agent == NULL)
		return -MDT_EINVAL;
	if ((rc = writable(store)) != 0)
		return rc;
	return submit(store, &q, NULL, NULL);
}

/* ------------------------------------------------------- listings */

/* Runs sql (with ?1 bound to key when not NULL) on a read connection and
 * calls row(st, arg) on each row until it returns non-zero. */
static int
each(mdt_store *s, const char *sql, const char *key,
    int (*row)(sqlite3_stmt *, void *), void *arg)
{
	mdt__reader *r = mdt__reader_acquire(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL), stop = 0;

	if (rc == SQLITE_OK && key != NULL)
		rc = bind_t(st, 1, key);
	while (rc == SQLITE_OK && stop == 0 &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		stop = row(st, arg);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		stop = mdt__store_sqlerr(s, r->db, rc, "work listing");
	sqlite3_finalize(st);
	mdt__reader_release(r);
	return stop < 0 ? stop : 0;
}

struct item_visit {
	mdt_work_item_fn fn;
	void *arg;
};

static int
item_row(sqlite3_stmt *st, void *arg)
{
	struct item_visit *v = arg;
	mdt_work_item it;

	row_view(st, &it);
	return v->fn(v->arg, &it);
}

int
mdt__sq_work_list(mdt_store *store, const char *agent,
    mdt_work_item_fn fn, void *arg)
{
	struct item_visit v = {fn, arg};

	if (store == NULL || fn == NULL)
		return -MDT_EINVAL;
	return each(store, agent != NULL ?
	    "SELECT " COLS " FROM work WHERE agent = ?1 ORDER BY seq" :
	    "SELECT " COLS " FROM work ORDER BY seq", agent, item_row, &v);
}

struct task_visit {
	mdt_store_task_fn fn;
	void *arg;
	int rc;
};

static int
task_row(sqlite3_stmt *st, void *arg)
{
	struct task_visit *v = arg;
	void *rec;
	int stop;

	if ((v->rc = mdt__unpack_task(st, &rec)) != 0)
		return v->rc;
	stop = v->fn(v->arg, rec);
	mdt__free(rec);
	return stop;
}

int
mdt__sq_open_tasks(mdt_store *store, mdt_store_task_fn fn, void *arg)
{
	struct task_visit v = {fn, arg, 0};
	char *cols, sql[1024];
	int rc;

	if (store == NULL || fn == NULL)
		return -MDT_EINVAL;
	if ((cols = mdt__select_list(mdt__kind_get(MDT__KIND_TASK), "t")) ==
	    NULL)
		return -MDT_ENOMEM;
	snprintf(sql, sizeof(sql), "SELECT %s, NULL, NULL, NULL FROM tasks t"
	    " WHERE NOT EXISTS (SELECT 1 FROM ended e WHERE"
	    " e.task_id = t.task_id) ORDER BY t.seq", cols);
	mdt__free(cols);
	rc = each(store, sql, NULL, task_row, &v);
	return rc != 0 ? rc : v.rc;
}
