/*
 * Clinician-now grants on SQLite (table clinician_now): the upsert that
 * keeps the grant of the latest issued-at, run by the writer, and the
 * read, on a read connection.  Both are rare next to decisions (a launch
 * assertion, a cache miss), so their statements are prepared per call.
 */
#include <string.h>

#include "alloc_int.h"
#include "sqlite_int.h"
#include "../clinician_int.h"

int
mdt__sq_clinician_put(mdt_store *s, mdt__op *op)
{
	const struct mdt__clin_req *q = op->rec;
	sqlite3 *db = s->bs->db;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "INSERT INTO clinician_now(clinician,"
	    " iat, scopes, time_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT"
	    " (clinician) DO UPDATE SET iat = excluded.iat, scopes ="
	    " excluded.scopes, time_ms = excluded.time_ms WHERE excluded.iat"
	    " >= clinician_now.iat", -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, q->clinician, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, q->iat);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, q->scopes, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, q->time_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return mdt__store_sqlerr(s, db, rc, "clinician_now");
	/* no row changed: the stored grant is more recent */
	return sqlite3_changes(db) == 0 ? -MDT_EEXIST : 0;
}

int
mdt__sq_clinician_get(mdt_store *s, const char *clinician, int64_t *iat,
    char **scopes)
{
	mdt__reader *r = mdt__reader_acquire(s);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(r->db, "SELECT iat, scopes FROM"
	    " clinician_now WHERE clinician = ?1", -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, clinician, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*iat = sqlite3_column_int64(st, 0);
		*scopes = mdt__strndup((const char *)sqlite3_column_text(st,
		    1), (size_t)sqlite3_column_bytes(st, 1));
		rc = *scopes != NULL ? 0 : -MDT_ENOMEM;
	} else if (rc == SQLITE_DONE) {
		rc = -MDT_ENOTFOUND;
	} else {
		rc = mdt__store_sqlerr(s, r->db, rc, "clinician_now");
	}
	sqlite3_finalize(st);
	mdt__reader_release(r);
	return rc;
}
