/*
 * Verification and evidence export of a PostgreSQL store through one
 * checker: a consistent snapshot of the chained tables (one REPEATABLE
 * READ transaction) is copied into a private temporary SQLite store
 * with the same id, and the SQLite verifier and exporter run on it.  The
 * same code judges both backends' records, so a PostgreSQL store cannot
 * pass a check that its SQLite twin would fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_int.h"
#include "pg_int.h"
#include "../sqlite/sq_shared.h"

typedef struct snap {
	char dir[64];
	char path[96];
	sqlite3 *db;
	char err[MDT_ERRMSG_MAX];
} snap;

/* Binds column col of PG row i to SQLite parameter col + 1 as type t
 * ('T' text, 'B' blob, else integer). */
static int
bind_col(sqlite3_stmt *st, const PGresult *r, int i, int col, char t)
{
	const char *v = PQgetvalue(r, i, col);
	int len = PQgetlength(r, i, col);

	if (PQgetisnull(r, i, col))
		return sqlite3_bind_null(st, col + 1);
	if (t == 'T')
		return sqlite3_bind_text(st, col + 1, v, len, SQLITE_STATIC);
	if (t == 'B')
		return sqlite3_bind_blob(st, col + 1, v, len, SQLITE_STATIC);
	return sqlite3_bind_int64(st, col + 1, mdt__pg_int(r, i, col));
}

/* Copies table `cols` from PG (types[] per column) into the snapshot. */
static int
copy_table(PGconn *c, snap *x, const char *table, const char *cols,
    const char *types)
{
	char sql[1024], q[1024];
	size_t n = strlen(types), o;
	sqlite3_stmt *st = NULL;
	PGresult *r;
	int rc = SQLITE_OK;

	snprintf(sql, sizeof(sql), "SELECT %s FROM %s", cols, table);
	r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(x->err, sizeof(x->err), "reading %s: %s", table,
		    PQerrorMessage(c));
		PQclear(r);
		return -MDT_ESTORE;
	}
	o = (size_t)snprintf(q, sizeof(q), "INSERT INTO %s(%s) VALUES (?",
	    table, cols);
	for (size_t k = 1; k < n; k++)
		o += (size_t)snprintf(q + o, sizeof(q) - o, ", ?");
	snprintf(q + o, sizeof(q) - o, ")");
	if (sqlite3_prepare_v2(x->db, q, -1, &st, NULL) != SQLITE_OK)
		rc = SQLITE_ERROR;
	for (int i = 0; rc == SQLITE_OK && i < PQntuples(r); i++) {
		for (size_t k = 0; rc == SQLITE_OK && k < n; k++)
			rc = bind_col(st, r, i, (int)k, types[k]);
		if (rc == SQLITE_OK && sqlite3_step(st) != SQLITE_DONE)
			rc = SQLITE_ERROR;
		sqlite3_reset(st);
	}
	PQclear(r);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		snprintf(x->err, sizeof(x->err), "copying %s: %s", table,
		    sqlite3_errmsg(x->db));
		return -MDT_ESTORE;
	}
	return 0;
}

static int
copy_kind(PGconn *c, snap *x, const mdt__kind_desc *d)
{
	char *cols = mdt__select_list(d, NULL), types[MDT__COLS_MAX + 4];
	int rc;

	if (cols == NULL)
		return -MDT_ENOMEM;
	memcpy(types, "IBB", 3);
	for (size_t i = 0; i < d->ncols; i++) {
		char t = d->cols[i].type;
		types[3 + i] = t == 'T' ? 'T' : (t == 'H' || t == 'P') ? 'B' :
		    'I';
	}
	types[3 + d->ncols] = '\0';
	rc = copy_table(c, x, d->table, cols, types);
	mdt__free(cols);
	return rc;
}

static int
set_id(snap *x, const uint8_t id[MDT__STORE_ID_BYTES])
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(x->db, "UPDATE meta SET value = ?1 WHERE"
	    " key = 'id'", -1, &st, NULL) != SQLITE_OK)
		return -MDT_ESTORE;
	rc = sqlite3_bind_blob(st, 1, id, MDT__STORE_ID_BYTES, SQLITE_STATIC);
	if (rc == SQLITE_OK && sqlite3_step(st) != SQLITE_DONE)
		rc = SQLITE_ERROR;
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -MDT_ESTORE;
}

static int
copy_all(PGconn *c, snap *x, const uint8_t id[MDT__STORE_ID_BYTES])
{
	int rc = 0;

	if (sqlite3_exec(x->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    set_id(x, id) != 0)
		return -MDT_ESTORE;
	for (int k = 1; rc == 0 && k < MDT__KIND_COUNT_; k++)
		rc = copy_kind(c, x, mdt__kind_get(k));
	if (rc == 0)
		rc = copy_table(c, x, "ended", "task_id, state, rev_seq,"
		    " time_ms", "TIII");
	if (rc == 0)
		rc = copy_table(c, x, "checkpoints", "seq, hash, time_ms,"
		    " prev_cp, sig", "IBIIB");
	if (rc == 0 && sqlite3_exec(x->db, mdt__sq_receipt_tables_sql, NULL,
	    NULL, NULL) != SQLITE_OK)
		rc = -MDT_ESTORE;
	if (rc == 0)
		rc = copy_table(c, x, "receipt_heads", "first_seq, last_seq,"
		    " head, sig", "IIBB");
	if (rc == 0)
		rc = copy_table(c, x, "receipt_leaves", "seq, first_seq,"
		    " leaf_index, token_id", "IIIB");
	if (sqlite3_exec(x->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL,
	    NULL) != SQLITE_OK && rc == 0)
		rc = -MDT_ESTORE;
	return rc;
}

static void
snap_remove(snap *x)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char p[128];

	sqlite3_close(x->db);
	x->db = NULL;
	for (size_t i = 0; x->path[0] && i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", x->path, sfx[i]);
		unlink(p);
	}
	if (x->dir[0])
		rmdir(x->dir);
}

/* Takes the snapshot of the store at conninfo into x->path. */
static int
snap_take(const char *conninfo, snap *x)
{
	uint8_t id[MDT__STORE_ID_BYTES], tmp[MDT__STORE_ID_BYTES];
	PGconn *c;
	PGresult *r;
	int rc;

	snprintf(x->dir, sizeof(x->dir), "/tmp/mdt-pgsnap-XXXXXX");
	if (mkdtemp(x->dir) == NULL) {
		x->dir[0] = '\0';
		snprintf(x->err, sizeof(x->err), "cannot make a temporary "
		    "directory for the snapshot");
		return -MDT_EIO;
	}
	snprintf(x->path, sizeof(x->path), "%s/snap.db", x->dir);
	if ((rc = mdt__pg_connect(conninfo, &c, x->err, sizeof(x->err))) != 0)
		return rc;
	r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -MDT_ESTORE;
	PQclear(r);
	if (rc == 0)
		rc = mdt__pg_schema(c, 1, id, x->err, sizeof(x->err));
	if (rc == 0)
		rc = mdt__schema_open(x->path, 0, 0, &x->db, tmp, x->err,
		    sizeof(x->err));
	if (rc == 0)
		rc = copy_all(c, x, id);
	PQfinish(c);
	return rc;
}

int
mdt__pg_verify(const char *loc, const unsigned char pk[MDT_STORE_PK_BYTES],
    mdt_store_issue_fn fn, void *arg, mdt_store_report *report, char *err,
    size_t errlen)
{
	snap x = {0};
	int rc;

	if (loc == NULL || pk == NULL)
		return -MDT_EINVAL;
	rc = snap_take(loc, &x);
	sqlite3_close(x.db);
	x.db = NULL;
	if (rc == 0)
		rc = mdt__sq_verify(x.path, pk, fn, arg, report, err, errlen);
	else if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", x.err);
	snap_remove(&x);
	return rc;
}

int
mdt__pg_export_jsonl(mdt_store *s, const char *task_id,
    mdt_store_emit_fn emit, void *arg)
{
	mdt_store_opts o = {.read_only = 1, .readers = 1};
	mdt_store *ro = NULL;
	snap x = {0};
	char uri[128];
	int rc;

	if (s == NULL || emit == NULL)
		return -MDT_EINVAL;
	rc = snap_take(s->path, &x);
	sqlite3_close(x.db);
	x.db = NULL;
	snprintf(uri, sizeof(uri), "sqlite:%s", x.path);
	if (rc == 0)
		rc = mdt_store_open(uri, &o, &ro, x.err, sizeof(x.err));
	if (rc == 0) {
		rc = mdt_store_export_jsonl(ro, task_id, emit, arg);
		if (rc < 0)
			mdt__store_seterr(s, "%s", mdt_store_errmsg(ro, x.err,
			    sizeof(x.err)));
		mdt_store_close(ro);
	} else {
		mdt__store_seterr(s, "%s", x.err);
	}
	snap_remove(&x);
	return rc;
}
