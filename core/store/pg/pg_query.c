/*
 * Filtered decision queries (mdt_store_query_decisions) on PostgreSQL,
 * with the SQLite backend's semantics (sqlite/query.c): the WHERE clause
 * is built from the criteria that are set, every value a parameter, and
 * each criterion that has one answered from an index (decisions_patient,
 * decisions_clinician, decisions_time, decision_agents, tasks_root; the
 * schema's version 5).
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "pg_int.h"

#define QUERY_SQL_MAX 2048

typedef struct qbuild {
	char sql[QUERY_SQL_MAX];
	size_t len;
	mdt__pgp p;
} qbuild;

/* Appends " AND <cond>", cond's "$?" replaced by the next parameter
 * number, and v (text, or the integer when NULL) as that parameter. */
static void
add(qbuild *b, const char *cond, const char *text, int64_t num)
{
	const char *at = strstr(cond, "$?");

	b->len += (size_t)snprintf(b->sql + b->len, sizeof(b->sql) - b->len,
	    " AND %.*s$%d%s", (int)(at - cond), cond, b->p.n + 1, at + 2);
	if (text != NULL)
		mdt__pgp_text(&b->p, text);
	else
		mdt__pgp_int(&b->p, num);
}

static void
add_text(qbuild *b, const char *cond, const char *value)
{
	if (value != NULL)
		add(b, cond, value, 0);
}

static void
build(qbuild *b, const mdt_store_query *q)
{
	b->len = (size_t)snprintf(b->sql, sizeof(b->sql),
	    " FROM decisions t WHERE true");
	add_text(b, "patient = $?", q->patient);
	add_text(b, "clinician = $?", q->clinician);
	add_text(b, "seq IN (SELECT seq FROM decision_agents WHERE agent ="
	    " $?)", q->agent);
	add_text(b, "task_id IN (SELECT task_id FROM tasks WHERE root_id ="
	    " (SELECT root_id FROM tasks WHERE task_id = $?))", q->task);
	add_text(b, "operation = $?", q->operation);
	add_text(b, "mdt_json_str(reasons, 'failed') = $?", q->reason);
	add_text(b, "purpose = $?", q->purpose);
	add_text(b, "policy_hash = $?", q->policy_hash);
	if (q->verdict != 0)
		add(b, "verdict = $?", NULL, (int64_t)q->verdict);
	if (q->flags_all != 0)
		add(b, "(flags | $?) = flags", NULL, (int64_t)q->flags_all);
	if (q->since_ms != 0)
		add(b, "time_ms >= $?", NULL, q->since_ms);
	if (q->until_ms != 0)
		add(b, "time_ms < $?", NULL, q->until_ms);
	if (q->after_seq != 0)
		add(b, "seq > $?", NULL, (int64_t)q->after_seq);
	b->len += (size_t)snprintf(b->sql + b->len, sizeof(b->sql) - b->len,
	    " ORDER BY seq LIMIT $%d", b->p.n + 1);
	if (q->limit != 0)
		mdt__pgp_int(&b->p, q->limit);
	else
		mdt__pgp_text(&b->p, NULL); /* LIMIT NULL: no limit */
}

int
mdt__pg_query_decisions(mdt_store *s, const mdt_store_query *q,
    mdt_store_decision_fn fn, void *arg)
{
	qbuild *b;
	int rc;

	if (q->after_seq > INT64_MAX)
		return -MDT_EINVAL;
	if ((b = mdt__calloc(1, sizeof(*b))) == NULL)
		return -MDT_ENOMEM;
	build(b, q);
	rc = b->len >= sizeof(b->sql) ? -MDT_ETOOBIG :
	    mdt__pg_each_decision(s, b->sql, &b->p, fn, arg);
	mdt__free(b);
	return rc;
}
