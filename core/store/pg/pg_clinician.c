/*
 * Clinician-now grants on PostgreSQL (table clinician_now): the upsert
 * that keeps the grant of the latest issued-at, in the writer's batch,
 * and the read on a read connection.  A trigger (pg_notify.c) announces
 * each change to the other brokers, whose caches drop the clinician.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc_int.h"
#include "pg_int.h"
#include "../clinician_int.h"

int
mdt__pg_clinician_put(mdt_store *s, mdt__op *op)
{
	const struct mdt__clin_req *q = op->rec;
	mdt__pgp p = {0};
	PGresult *r;
	int rc, changed;

	mdt__pgp_text(&p, q->clinician);
	mdt__pgp_int(&p, q->iat);
	mdt__pgp_text(&p, q->scopes);
	mdt__pgp_int(&p, q->time_ms);
	r = mdt__pg_q(s, s->bs->w.c, "INSERT INTO clinician_now(clinician,"
	    " iat, scopes, time_ms) VALUES ($1, $2, $3, $4) ON CONFLICT"
	    " (clinician) DO UPDATE SET iat = excluded.iat, scopes ="
	    " excluded.scopes, time_ms = excluded.time_ms WHERE excluded.iat"
	    " >= clinician_now.iat", &p, "clinician_now", &rc);
	if (r == NULL)
		return rc;
	changed = atoi(PQcmdTuples(r));
	PQclear(r);
	/* no row changed: the stored grant is more recent */
	return changed == 0 ? -MDT_EEXIST : 0;
}

int
mdt__pg_clinician_get(mdt_store *s, const char *clinician, int64_t *iat,
    char **scopes)
{
	mdt__pgconn *c = mdt__pg_reader(s);
	mdt__pgp p = {0};
	PGresult *r;
	int rc;

	if (c == NULL)
		return -MDT_ESTORE;
	mdt__pgp_text(&p, clinician);
	r = mdt__pg_q_again(s, c, "SELECT iat, scopes FROM clinician_now"
	    " WHERE clinician = $1", &p, "clinician_now", &rc);
	mdt__pg_reader_release(c);
	if (r == NULL)
		return rc;
	if (PQntuples(r) == 0) {
		rc = -MDT_ENOTFOUND;
	} else {
		*iat = mdt__pg_int(r, 0, 0);
		*scopes = mdt__strndup(PQgetvalue(r, 0, 1),
		    (size_t)PQgetlength(r, 0, 1));
		rc = *scopes != NULL ? 0 : -MDT_ENOMEM;
	}
	PQclear(r);
	return rc;
}
