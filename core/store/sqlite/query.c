/*
 * Filtered decision queries (mdt_store_query_decisions) on SQLite: the
 * WHERE clause is built from the criteria that are set, every value
 * bound as a parameter, and each criterion that has one answered from
 * an index (decisions_patient, decisions_clinician, decisions_time,
 * decision_agents, tasks_root).
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "sqlite_int.h"

#define QUERY_SQL_MAX 4096
#define QUERY_BINDS_MAX 16

typedef struct qbuild {
	char sql[QUERY_SQL_MAX];
	size_t len;
	const char *text[QUERY_BINDS_MAX]; /* NULL: the int at the same slot */
	int64_t num[QUERY_BINDS_MAX];
	int nbind;
} qbuild;

/* Appends " AND <cond>" where cond holds one "?" for a text value. */
static void
add_text(qbuild *b, const char *cond, const char *value)
{
	if (value == NULL)
		return;
	b->len += (size_t)snprintf(b->sql + b->len, sizeof(b->sql) - b->len,
	    " AND %s", cond);
	b->text[b->nbind++] = value;
}

static void
add_int(qbuild *b, const char *cond, int64_t value)
{
	b->len += (size_t)snprintf(b->sql + b->len, sizeof(b->sql) - b->len,
	    " AND %s", cond);
	b->text[b->nbind] = NULL;
	b->num[b->nbind++] = value;
}

static void
build(qbuild *b, const char *cols, const mdt_store_query *q)
{
	b->len = (size_t)snprintf(b->sql, sizeof(b->sql),
	    "SELECT %s FROM decisions WHERE 1", cols);
	add_text(b, "patient = ?", q->patient);
	add_text(b, "clinician = ?", q->clinician);
	add_text(b, "seq IN (SELECT seq FROM decision_agents WHERE agent = ?)",
	    q->agent);
	add_text(b, "task_id IN (SELECT task_id FROM tasks WHERE root_id ="
	    " (SELECT root_id FROM tasks WHERE task_id = ?))", q->task);
	add_text(b, "operation = ?", q->operation);
	add_text(b, "json_valid(reasons) AND"
	    " json_extract(reasons, '$.failed') = ?", q->reason);
	add_text(b, "purpose = ?", q->purpose);
	add_text(b, "policy_hash = ?", q->policy_hash);
	if (q->verdict != 0)
		add_int(b, "verdict = ?", (int64_t)q->verdict);
	if (q->flags_all != 0)
		add_int(b, "(flags | ?) = flags", (int64_t)q->flags_all);
	if (q->since_ms != 0)
		add_int(b, "time_ms >= ?", q->since_ms);
	if (q->until_ms != 0)
		add_int(b, "time_ms < ?", q->until_ms);
	if (q->after_seq != 0)
		add_int(b, "seq > ?", (int64_t)q->after_seq);
	b->len += (size_t)snprintf(b->sql + b->len, sizeof(b->sql) - b->len,
	    " ORDER BY seq LIMIT ?");
}

static int
bind_all(sqlite3_stmt *st, const qbuild *b, const mdt_store_query *q)
{
	int rc = SQLITE_OK;

	for (int i = 0; i < b->nbind && rc == SQLITE_OK; i++)
		rc = b->text[i] != NULL ?
		    sqlite3_bind_text(st, i + 1, b->text[i], -1, SQLITE_STATIC) :
		    sqlite3_bind_int64(st, i + 1, b->num[i]);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, b->nbind + 1,
		    q->limit ? (int64_t)q->limit : -1);
	return rc;
}

int
mdt__sq_query_decisions(mdt_store *s, const mdt_store_query *q,
    mdt_store_decision_fn fn, void *arg)
{
	char *cols;
	qbuild b;
	mdt__reader *r;
	sqlite3_stmt *st = NULL;
	int rc;

	if (q->after_seq > INT64_MAX)
		return -MDT_EINVAL;
	cols = mdt__select_list(mdt__kind_get(MDT__KIND_DECISION), NULL);
	if (cols == NULL)
		return -MDT_ENOMEM;
	memset(&b, 0, sizeof(b));
	build(&b, cols, q);
	mdt__free(cols);
	if (b.len >= sizeof(b.sql))
		return -MDT_ETOOBIG;
	r = mdt__reader_acquire(s);
	rc = sqlite3_prepare_v2(r->db, b.sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_all(st, &b, q);
	if (rc != SQLITE_OK)
		rc = mdt__store_sqlerr(s, r->db, rc, "query");
	else {
		const mdt__visit v = {NULL, fn, arg};
		rc = mdt__each_row(s, st, &v);
	}
	sqlite3_finalize(st);
	mdt__reader_release(r);
	return rc;
}
