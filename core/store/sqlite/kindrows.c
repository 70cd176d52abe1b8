/*
 * Reads of the record kinds the request path never touches (sources,
 * review marks): a statement prepared per call on a read connection,
 * each row unpacked into the kind's struct.
 */
#include <stdio.h>

#include "alloc_int.h"
#include "sqlite_int.h"

static int
bind_args(sqlite3_stmt *st, const char *const *args, size_t nargs)
{
	for (size_t i = 0; i < nargs; i++)
		if (sqlite3_bind_text(st, (int)i + 1, args[i], -1,
		    SQLITE_STATIC) != SQLITE_OK)
			return -MDT_ESTORE;
	return 0;
}

static int
rows(mdt_store *s, sqlite3_stmt *st, const mdt__kind_desc *d,
    mdt__row_fn fn, void *arg)
{
	mdt__seg sg = {d, 0, d->seq_off};
	int rc, step;
	void *rec;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = mdt__unpack(st, &sg, 1, d->struct_size, &rec)) != 0)
			return rc;
		rc = fn(arg, rec);
		mdt__free(rec);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	return step == SQLITE_DONE ? 0 :
	    mdt__store_sqlerr(s, sqlite3_db_handle(st), step, d->table);
}

int
mdt__sq_kind_rows(mdt_store *s, int kind, const char *tail,
    const char *const *args, size_t nargs, mdt__row_fn fn, void *arg)
{
	const mdt__kind_desc *d = mdt__kind_get(kind);
	char *cols = d != NULL ? mdt__select_list(d, "t") : NULL;
	sqlite3_stmt *st = NULL;
	mdt__reader *r;
	char sql[1024];
	int rc;

	if (cols == NULL)
		return d == NULL ? -MDT_EINVAL : -MDT_ENOMEM;
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s t%s", cols, d->table,
	    tail);
	mdt__free(cols);
	r = mdt__reader_acquire(s);
	rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		rc = mdt__store_sqlerr(s, r->db, rc, d->table);
	else if ((rc = bind_args(st, args, nargs)) == 0)
		rc = rows(s, st, d, fn, arg);
	sqlite3_finalize(st);
	mdt__reader_release(r);
	return rc;
}
