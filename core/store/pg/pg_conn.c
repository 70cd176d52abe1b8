/*
 * Connections of the PostgreSQL backend: opening one with the settings
 * audit-before-answer needs, resetting a broken one (the server went
 * away and came back), statement parameters, binary results, and the
 * pool of read connections.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "pg_int.h"

void
mdt__pgp_text(mdt__pgp *p, const char *t)
{
	p->v[p->n] = t;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void
mdt__pgp_int(mdt__pgp *p, int64_t i)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)i);
	mdt__pgp_text(p, p->num[p->n]);
}

void
mdt__pgp_blob(mdt__pgp *p, const void *b, size_t len)
{
	p->v[p->n] = b;
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->n++;
}

void
mdt__pgp_vals(mdt__pgp *p, const mdt__val *vals, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const mdt__val *v = &vals[i];
		if (v->type == 'I')
			mdt__pgp_int(p, v->i);
		else if (v->type == 'B')
			mdt__pgp_blob(p, v->p, v->len);
		else if (v->type == 'T')
			mdt__pgp_text(p, v->p);
		else
			mdt__pgp_text(p, NULL);
	}
}

/* Every commit waits for the WAL flush (audit before answer) whatever
 * the server's default; times and text compare bytewise. */
static const char session_sql[] = "SET synchronous_commit = on;"
    " SET TIME ZONE 'UTC'; SET client_min_messages = warning";

int
mdt__pg_connect(const char *conninfo, PGconn **out, char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;

	*out = NULL;
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "connecting to PostgreSQL: %s",
		    c != NULL ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return -MDT_ESTORE;
	}
	r = PQexec(c, session_sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "session settings: %s",
		    PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return -MDT_ESTORE;
	}
	PQclear(r);
	*out = c;
	return 0;
}

int
mdt__pg_ready(mdt_store *s, mdt__pgconn *pc)
{
	PGresult *r;

	/* a pipeline left open (pg_batch.c) by a failure: a new session */
	if (pc->c != NULL && PQstatus(pc->c) == CONNECTION_OK &&
	    (PQpipelineStatus(pc->c) == PQ_PIPELINE_OFF ||
	    PQexitPipelineMode(pc->c)))
		return 0;
	if (pc->c == NULL) {
		mdt__store_seterr(s, "PostgreSQL: not connected");
		return -MDT_ESTORE;
	}
	PQreset(pc->c);
	pc->prepared = 0; /* a new session */
	if (PQstatus(pc->c) != CONNECTION_OK) {
		mdt__store_seterr(s, "PostgreSQL unreachable: %s",
		    PQerrorMessage(pc->c));
		return -MDT_ESTORE;
	}
	r = PQexec(pc->c, session_sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		mdt__store_seterr(s, "PostgreSQL session settings: %s",
		    PQerrorMessage(pc->c));
		PQclear(r);
		return -MDT_ESTORE;
	}
	PQclear(r);
	return 0;
}

/* r when it is a command or tuples result, else NULL with the reason on
 * the handle and *rc set. */
static PGresult *
checked(mdt_store *s, PGconn *c, PGresult *r, const char *what, int *rc)
{
	ExecStatusType st = PQresultStatus(r);
	const char *code;

	*rc = 0;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	code = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (code != NULL && strcmp(code, "23505") == 0) {
		mdt__store_seterr(s, "%s: already recorded (%s)", what,
		    PQerrorMessage(c));
		*rc = -MDT_EEXIST;
	} else {
		mdt__store_seterr(s, "%s: %s", what, PQerrorMessage(c));
		*rc = -MDT_ESTORE;
	}
	PQclear(r);
	return NULL;
}

PGresult *
mdt__pg_q(mdt_store *s, PGconn *c, const char *sql, const mdt__pgp *p,
    const char *what, int *rc)
{
	return checked(s, c, PQexecParams(c, sql, p != NULL ? p->n : 0, NULL,
	    p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
	    p != NULL ? p->fmt : NULL, 1), what, rc);
}

PGresult *
mdt__pg_qprep(mdt_store *s, mdt__pgconn *pc, int idx, const char *sql,
    const mdt__pgp *p, const char *what, int *rc)
{
	char name[16];
	int n = p != NULL ? p->n : 0;

	snprintf(name, sizeof(name), "s%d", idx);
	if (!(pc->prepared & (1u << idx))) {
		PGresult *r = checked(s, pc->c, PQprepare(pc->c, name, sql, n,
		    NULL), what, rc);
		if (r == NULL)
			return NULL;
		PQclear(r);
		pc->prepared |= 1u << idx;
	}
	return checked(s, pc->c, PQexecPrepared(pc->c, name, n,
	    p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
	    p != NULL ? p->fmt : NULL, 1), what, rc);
}

PGresult *
mdt__pg_q_again(mdt_store *s, mdt__pgconn *pc, const char *sql,
    const mdt__pgp *p, const char *what, int *rc)
{
	PGresult *r = mdt__pg_q(s, pc->c, sql, p, what, rc);

	/* A connection learns that the server restarted only when it is
	 * used: the statement stood alone, so it can run again. */
	if (r == NULL && PQstatus(pc->c) == CONNECTION_BAD &&
	    mdt__pg_ready(s, pc) == 0)
		r = mdt__pg_q(s, pc->c, sql, p, what, rc);
	return r;
}

int
mdt__pg_exec(mdt_store *s, PGconn *c, const char *sql, const mdt__pgp *p,
    const char *what)
{
	int rc;
	PGresult *r = mdt__pg_q(s, c, sql, p, what, &rc);

	PQclear(r);
	return rc;
}

int64_t
mdt__pg_int(const PGresult *r, int row, int col)
{
	const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
	int len = PQgetlength(r, row, col);
	uint64_t u = 0;

	if (len != 8 && len != 4 && len != 2 && len != 1)
		return 0;
	for (int i = 0; i < len; i++)
		u = u << 8 | v[i];
	/* sign-extend the narrower network-order integers */
	if (len < 8 && len > 1 && (v[0] & 0x80))
		u |= ~(uint64_t)0 << (8 * len);
	return (int64_t)u;
}

mdt__pgconn *
mdt__pg_reader(mdt_store *s)
{
	unsigned start = __atomic_fetch_add(&s->bs->rr, 1u, __ATOMIC_RELAXED);
	mdt__pgconn *r = NULL;

	for (uint32_t i = 0; i < s->nreaders && r == NULL; i++) {
		mdt__pgconn *c = &s->bs->readers[(start + i) % s->nreaders];
		if (pthread_mutex_trylock(&c->mu) == 0)
			r = c;
	}
	if (r == NULL) {
		r = &s->bs->readers[start % s->nreaders];
		pthread_mutex_lock(&r->mu);
	}
	if (mdt__pg_ready(s, r) != 0) {
		pthread_mutex_unlock(&r->mu);
		return NULL;
	}
	return r;
}

void
mdt__pg_reader_release(mdt__pgconn *r)
{
	pthread_mutex_unlock(&r->mu);
}
