/*
 * The PostgreSQL backend's writer connection and the transaction steps
 * of a batch.  Several brokers may write one store: each batch takes the
 * row lock on `head` first and reloads the chain head from it, and
 * stores the new head just before COMMIT, so the brokers' batches
 * append to one chain in turn (docs/state-model.md, "The hash chain").
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "pg_int.h"

static PGconn *
wc(mdt_store *s)
{
	return s->bs->w.c;
}

int
mdt__pg_writer_open(mdt_store *s, char *err, size_t errlen)
{
	int rc;

	if ((rc = mdt__pg_connect(s->path, &s->bs->w.c, err, errlen)) != 0)
		return rc;
	return mdt__pg_schema(s->bs->w.c, 0, s->id, err, errlen);
}

void
mdt__pg_writer_close(mdt_store *s)
{
	PQfinish(s->bs->w.c);
	s->bs->w.c = NULL;
}

/* Locks the head row and loads the chain head into s->w. */
static int
load_head(mdt_store *s)
{
	mdt__writer *w = &s->w;
	int rc;
	PGresult *r = mdt__pg_qprep(s, &s->bs->w, MDT__PGS_HEAD, "SELECT seq,"
	    " hash, last_cp FROM head WHERE one = 1 FOR UPDATE", NULL,
	    "chain head", &rc);

	if (r == NULL)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		mdt__store_seterr(s, "chain head: the head row is missing");
		return -MDT_ESTORE;
	}
	w->head_seq = (uint64_t)mdt__pg_int(r, 0, 0);
	if (PQgetisnull(r, 0, 1))
		mdt__chain_genesis(s->id, w->head_hash);
	else if (PQgetlength(r, 0, 1) == MDT_AUDIT_HASH_BYTES)
		memcpy(w->head_hash, PQgetvalue(r, 0, 1), MDT_AUDIT_HASH_BYTES);
	w->last_cp = (uint64_t)mdt__pg_int(r, 0, 2);
	PQclear(r);
	return 0;
}

int
mdt__pg_begin(mdt_store *s)
{
	int rc;

	/* A server that went away and came back: reconnect here, so the
	 * first batch after it returns is the first to succeed. */
	PGresult *r;

	if ((rc = mdt__pg_ready(s, &s->bs->w)) != 0)
		return rc;
	if ((r = mdt__pg_q_again(s, &s->bs->w, "BEGIN", NULL, "begin",
	    &rc)) == NULL)
		return rc;
	PQclear(r);
	return load_head(s);
}

int
mdt__pg_precommit(mdt_store *s)
{
	mdt__pgp p = {0};
	PGresult *r;
	int rc;

	mdt__pgp_int(&p, (int64_t)s->w.head_seq);
	mdt__pgp_blob(&p, s->w.head_hash, MDT_AUDIT_HASH_BYTES);
	mdt__pgp_int(&p, (int64_t)s->w.last_cp);
	r = mdt__pg_qprep(s, &s->bs->w, MDT__PGS_HEAD_SET, "UPDATE head SET"
	    " seq = $1, hash = $2, last_cp = $3 WHERE one = 1", &p,
	    "chain head", &rc);
	PQclear(r);
	return rc;
}

/* synchronous_commit is on for the session (pg_conn.c): COMMIT returns
 * once the batch's WAL is flushed. */
int
mdt__pg_commit(mdt_store *s)
{
	return mdt__pg_exec(s, wc(s), "COMMIT", NULL, "commit");
}

int
mdt__pg_rollback(mdt_store *s)
{
	return mdt__pg_exec(s, wc(s), "ROLLBACK", NULL, "rollback");
}

int
mdt__pg_savepoint(mdt_store *s)
{
	return mdt__pg_exec(s, wc(s), "SAVEPOINT op", NULL, "savepoint");
}

int
mdt__pg_release(mdt_store *s)
{
	return mdt__pg_exec(s, wc(s), "RELEASE op", NULL, "release");
}

int
mdt__pg_rollback_to(mdt_store *s)
{
	return mdt__pg_exec(s, wc(s), "ROLLBACK TO op", NULL, "rollback to");
}

/* An error outside a savepoint aborts the whole transaction in
 * PostgreSQL; so does a lost connection. */
int
mdt__pg_txn_gone(mdt_store *s)
{
	return wc(s) == NULL ||
	    PQtransactionStatus(wc(s)) != PQTRANS_INTRANS;
}
