/*
 * What the SQLite backend lends to other backends: the public work-item
 * entry points (they only queue an op), and the schema and verifier that
 * check a PostgreSQL store through a temporary SQLite snapshot
 * (pg/pg_snap.c).  sqlite_int.h includes this, so the two stay in step.
 */
#ifndef MDT_STORE_SQ_SHARED_H
#define MDT_STORE_SQ_SHARED_H

#include <sqlite3.h>

#include "../core_int.h"

/* Opens a connection with the store's pragmas; creates/migrates the
 * schema when writable.  Fills id with the store id. */
int mdt__schema_open(const char *path, int read_only, uint32_t busy_ms,
    sqlite3 **out, uint8_t id[MDT__STORE_ID_BYTES], char *err,
    size_t errlen);
/* The receipt tables (CREATE ... IF NOT EXISTS), for a snapshot too. */
extern const char mdt__sq_receipt_tables_sql[];
int mdt__sq_verify(const char *path,
    const unsigned char pk[MDT_STORE_PK_BYTES], mdt_store_issue_fn fn,
    void *arg, mdt_store_report *report, char *err, size_t errlen);
int mdt__sq_work_push(mdt_store *store, const mdt_work_item *it,
    uint32_t max_pending, uint64_t *seq_out);
int mdt__sq_work_lease(mdt_store *store, const char *agent,
    const mdt_work_filter *filter, uint32_t lease_ms, int64_t now_ms,
    mdt_work_item **out, int64_t *retry_ms);
int mdt__sq_work_ack(mdt_store *store, const char *id, const char *agent);

#endif /* MDT_STORE_SQ_SHARED_H */
