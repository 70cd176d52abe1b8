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

	PGresult *r;

	if ((rc = mdt__pg_connect(s->path, &s->bs->w.c, err, errlen)) != 0 ||
	    (rc = mdt__pg_schema(s->bs->w.c, 0, s->id, err, errlen)) != 0)
		return rc;
	/* what the heads already cover needs no checkpoint when idle */
	r = PQexec(wc(s), "SELECT coalesce(max(last_seq), 0) FROM"
	    " receipt_heads");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		s->w.rcover = (uint64_t)mdt__pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

void
mdt__pg_writer_close(mdt_store *s)
{
	PQfinish(s->bs->w.c);
	s->bs->w.c = NULL;
}

/* The chain head from the head row (locked by begin) into s->w. */
static int
load_head(mdt_store *s, PGresult *r)
{
	mdt__writer *w = &s->w;

	if (PQntuples(r) != 1) {
		mdt__store_seterr(s, "chain head: the head row is missing");
		return -MDT_ESTORE;
	}
	w->head_seq = (uint64_t)mdt__pg_int(r, 0, 0);
	if (PQgetisnull(r, 0, 1))
		mdt__chain_genesis(s->id, w->head_hash);
	else if (PQgetlength(r, 0, 1) == MDT_STORE_HASH_BYTES)
		memcpy(w->head_hash, PQgetvalue(r, 0, 1), MDT_STORE_HASH_BYTES);
	w->last_cp = (uint64_t)mdt__pg_int(r, 0, 2);
	/* the receipt heads chain across every broker's batches */
	if (PQgetlength(r, 0, 3) == MDT_RECEIPT_HASH_BYTES)
		memcpy(w->last_head, PQgetvalue(r, 0, 3), MDT_RECEIPT_HASH_BYTES);
	else
		memset(w->last_head, 0, MDT_RECEIPT_HASH_BYTES);
	return 0;
}

int
mdt__pg_begin(mdt_store *s)
{
	PGresult *head = NULL;
	int rc;

	/* A server that went away and came back: reconnect here, so the
	 * first batch after it returns is the first to succeed. */
	if ((rc = mdt__pg_ready(s, &s->bs->w)) != 0)
		return rc;
	/* a batch that failed inside the server leaves its transaction */
	if (PQtransactionStatus(wc(s)) != PQTRANS_IDLE)
		PQclear(PQexec(wc(s), "ROLLBACK"));
	if ((rc = mdt__pg_begin_batch(s, &head)) != 0 &&
	    PQstatus(wc(s)) == CONNECTION_BAD && mdt__pg_ready(s,
	    &s->bs->w) == 0)
		rc = mdt__pg_begin_batch(s, &head);
	if (rc == 0)
		rc = load_head(s, head);
	PQclear(head);
	return rc;
}

/* The new head is stored by commit, in the same round trip as COMMIT. */
int
mdt__pg_precommit(mdt_store *s)
{
	(void)s;
	return 0;
}

/* synchronous_commit is on for the session (pg_conn.c): COMMIT returns
 * once the batch's WAL is flushed. */
int
mdt__pg_commit(mdt_store *s)
{
	return mdt__pg_commit_batch(s);
}

int
mdt__pg_rollback(mdt_store *s)
{
	mdt__pg_batch_clear(s);
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
