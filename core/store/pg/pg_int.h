/*
 * Internals of the PostgreSQL backend of the audit store
 * (core/store/pg/): its state behind the handle (the writer connection
 * and a pool of read connections, each reconnected when the server comes
 * back), the parameter and result helpers its files share, and the
 * functions they export to each other.
 */
#ifndef MDT_STORE_PG_INT_H
#define MDT_STORE_PG_INT_H

#include <libpq-fe.h>

#include "../backend.h"

#define MDT__PG_PARAMS_MAX 24

/* The PostgreSQL schema version (pg_schema.c, one migration each). */
#define MDT__PG_SCHEMA_VERSION 8

/* Parameters of one statement: text and integers as text, hashes and
 * other blobs as binary. */
typedef struct mdt__pgp {
	int n;
	const char *v[MDT__PG_PARAMS_MAX];
	int len[MDT__PG_PARAMS_MAX];
	int fmt[MDT__PG_PARAMS_MAX];
	char num[MDT__PG_PARAMS_MAX][24];
} mdt__pgp;

void mdt__pgp_text(mdt__pgp *p, const char *t); /* NULL: SQL NULL */
void mdt__pgp_int(mdt__pgp *p, int64_t i);
void mdt__pgp_blob(mdt__pgp *p, const void *b, size_t len);
/* Appends a kind's values (mdt__kind_vals). */
void mdt__pgp_vals(mdt__pgp *p, const mdt__val *vals, size_t n);

typedef struct mdt__pgconn {
	pthread_mutex_t mu;
	PGconn *c;
	uint32_t prepared;      /* bit i: statement "s<i>" prepared on c */
} mdt__pgconn;

/* The writer's prepared statements (bits of mdt__pgconn.prepared). */
enum { MDT__PGS_INSERT = 0, /* + kind */
	MDT__PGS_HEAD = MDT__KIND_COUNT_, MDT__PGS_HEAD_SET, MDT__PGS_AGENTS,
	MDT__PGS_DECISIONS };

typedef struct mdt__pgcache mdt__pgcache;

/* A batch's receipt head and leaves, staged by head_put until the
 * commit's pipeline sends them (pg_receipts.c). */
struct mdt__pgrcpt {
	int staged;
	int64_t first, last;
	uint8_t head[MDT_RECEIPT_HEAD_BYTES];
	uint8_t sig[MDT_STORE_SIG_BYTES];
	uint8_t hash[MDT_RECEIPT_HASH_BYTES];   /* the head's hash */
	char *seqs, *idx, *tokens;              /* array literals */
};

/* The backend's state (mdt_store.bs). */
struct mdt__bstate {
	mdt__pgcache *cache;    /* what never changes (pg_cache.c) */
	mdt__pgconn w;          /* the writer connection (writable handles) */
	int in_txn;             /* the writer has a batch open */
	/* the batch's decisions, sent at commit (pg_batch.c) */
	struct mdt__pgstaged *staged;
	size_t nstaged, capstaged;
	PGresult *known;        /* the batch's request ids already recorded */
	struct mdt__pgrcpt rcpt; /* the batch's receipt head, if any */
	mdt__pgconn readers[MDT__STORE_READERS_MAX];
	unsigned rr;
	_Atomic int wpid;       /* the writer connection's backend pid */
	struct mdt__pgwatch *watch; /* pg_notify.c; NULL when not watched */
};

/* ---- pg_conn.c -------------------------------------------------- */
/* Connects to conninfo (a URI or key=value string) with the session
 * settings the store relies on (synchronous_commit on, UTC). */
int mdt__pg_connect(const char *conninfo, PGconn **out, char *err,
    size_t errlen);
/* Makes sure c is connected: resets a broken connection once.  0 or
 * -MDT_ESTORE (reason on the handle). */
int mdt__pg_ready(mdt_store *s, mdt__pgconn *c);
/* Runs sql with p (NULL: none), results in binary.  Returns the result
 * (caller PQclear's) when it is a command or tuples result, else NULL
 * with the reason on the handle (*rc: -MDT_EEXIST for a uniqueness
 * violation, else -MDT_ESTORE). */
PGresult *mdt__pg_q(mdt_store *s, PGconn *c, const char *sql,
    const mdt__pgp *p, const char *what, int *rc);
/* The same for a statement outside a transaction on pc: once more on a
 * fresh connection when the first try found the connection broken. */
PGresult *mdt__pg_q_again(mdt_store *s, mdt__pgconn *pc, const char *sql,
    const mdt__pgp *p, const char *what, int *rc);
/* mdt__pg_q through a statement prepared once per connection (idx
 * names it; sql is read only the first time, or after a reconnect). */
PGresult *mdt__pg_qprep(mdt_store *s, mdt__pgconn *pc, int idx,
    const char *sql, const mdt__pgp *p, const char *what, int *rc);
/* Runs sql expecting no rows; 0 or negative MDT_E*. */
int mdt__pg_exec(mdt_store *s, PGconn *c, const char *sql,
    const mdt__pgp *p, const char *what);
/* A binary integer column (int8, int4, int2 or bool) as int64. */
int64_t mdt__pg_int(const PGresult *r, int row, int col);
/* A reader from the pool, locked and connected; NULL with the reason on
 * the handle when no connection can be made. */
mdt__pgconn *mdt__pg_reader(mdt_store *s);
/* pg_reads.c: the backend's kind_rows (backend.h) */
int mdt__pg_kind_rows(mdt_store *s, int kind, const char *tail,
    const char *const *args, size_t nargs, mdt__row_fn fn, void *arg);
void mdt__pg_reader_release(mdt__pgconn *r);

/* ---- pg_schema.c ------------------------------------------------ */
/* Creates the schema when absent (serialised across brokers by an
 * advisory lock) and reads the store id. */
int mdt__pg_schema(PGconn *c, int read_only, uint8_t id[MDT__STORE_ID_BYTES],
    char *err, size_t errlen);

/* ---- pg_writer.c ------------------------------------------------ */
int mdt__pg_writer_open(mdt_store *s, char *err, size_t errlen);
void mdt__pg_writer_close(mdt_store *s);
int mdt__pg_begin(mdt_store *s);
int mdt__pg_precommit(mdt_store *s);
int mdt__pg_commit(mdt_store *s);
int mdt__pg_rollback(mdt_store *s);
int mdt__pg_savepoint(mdt_store *s);
int mdt__pg_release(mdt_store *s);
int mdt__pg_rollback_to(mdt_store *s);
int mdt__pg_txn_gone(mdt_store *s);

/* ---- pg_batch.c: decisions staged and sent in two round trips --- */
/* BEGIN, the head row locked (*head: its row, caller clears) and the
 * batch's known request ids, as one pipeline. */
int mdt__pg_begin_batch(mdt_store *s, PGresult **head);
/* A decision op: refused (MDT_EEXIST) when its request id is recorded,
 * else chained and staged. */
int mdt__pg_stage_decision(mdt_store *s, mdt__op *op);
/* Sends the staged rows now (before a statement that may read them). */
int mdt__pg_flush(mdt_store *s);
/* The staged rows, the new head and COMMIT, as one pipeline. */
int mdt__pg_commit_batch(mdt_store *s);
void mdt__pg_batch_clear(mdt_store *s);
/* Receipts (pg_receipts.c): see backend.h's head_put / get_receipt.
 * receipt_send adds the staged head's two statements to the commit's
 * pipeline (counting them in *n); 0 when a send failed. */
int mdt__pg_head_put(mdt_store *s, const mdt_receipt_head *h,
    const uint8_t sig[MDT_STORE_SIG_BYTES], const struct mdt__rleaf *lv,
    size_t n);
int mdt__pg_get_receipt(mdt_store *s, uint64_t seq, mdt_receipt_head *h,
    uint8_t sig[MDT_STORE_SIG_BYTES], struct mdt__rleaf **leaves,
    size_t *n);
int mdt__pg_receipt_send(mdt_store *s, PGconn *c, int *n);
void mdt__pg_receipt_clear(mdt_store *s);
void mdt__pg_batch_free(mdt_store *s);
/* Column col of r's rows as a text array literal; NULL on no memory
 * (caller frees). */
char *mdt__pg_array_of(const PGresult *r, int col);

/* ---- pg_cache.c: what never changes, kept in memory ------------- */
int mdt__pg_cache_new(mdt__pgcache **out);
void mdt__pg_cache_free(mdt__pgcache *c);
/* Drops everything kept (a reconnect, or another broker's word). */
void mdt__pg_cache_clear(mdt__pgcache *c);
/* The chain of task_id (a text array literal, the task first) into
 * *chain (caller frees), or -MDT_ENOTFOUND when not kept. */
int mdt__pg_cache_chain(mdt__pgcache *c, const char *task_id, char **chain);
void mdt__pg_cache_put_chain(mdt__pgcache *c, const char *task_id,
    const char *chain);
/* Keeps a copy of t's row (its state is not kept: it changes). */
void mdt__pg_cache_put_task(mdt__pgcache *c, const mdt_store_task *t);
/* The chain and a copy of the row of task_id (caller frees both), or
 * -MDT_ENOTFOUND when either is not kept. */
int mdt__pg_cache_task(mdt__pgcache *c, const char *task_id, char **chain,
    mdt_store_task **task);

/* ---- pg_records.c ----------------------------------------------- */
int mdt__pg_run_op(mdt_store *s, mdt__op *op);
int mdt__pg_checkpoint(mdt_store *s, int64_t now_ms);

/* ---- pg_clinician.c: clinician-now grants ----------------------- */
/* The MDT__OP_CLINICIAN op (writer) and the backend's clinician_get. */
int mdt__pg_clinician_put(mdt_store *s, mdt__op *op);
int mdt__pg_clinician_get(mdt_store *s, const char *clinician, int64_t *iat,
    char **scopes);

/* ---- pg_reads.c ------------------------------------------------- */
int mdt__pg_readers_open(mdt_store *s, char *err, size_t errlen);
void mdt__pg_readers_close(mdt_store *s);
int mdt__pg_find_decision(mdt_store *s, const char *request_id,
    mdt_store_decision **out);
int mdt__pg_get_decision(mdt_store *s, uint64_t seq,
    mdt_store_decision **out);
int mdt__pg_list_decisions(mdt_store *s, uint64_t after_seq,
    uint32_t limit, mdt_store_decision_fn fn, void *arg);
int mdt__pg_get_task(mdt_store *s, const char *task_id,
    mdt_store_task **out);
int mdt__pg_task_children(mdt_store *s, const char *task_id,
    mdt_store_task_fn fn, void *arg);
int mdt__pg_count_children(mdt_store *s, const char *task_id,
    uint32_t *count);
int mdt__pg_chain_revoked(mdt_store *s, const char *task_id, int *revoked,
    char *revoked_by, size_t len);
int mdt__pg_task_check(mdt_store *s, const char *task_id,
    mdt_store_task **out, int *revoked, char *revoked_by, size_t len);
int mdt__pg_get_approval(mdt_store *s, const char *approval_id,
    mdt_store_approval **out);
int mdt__pg_task_tree(mdt_store *s, const char *root_task_id,
    const mdt_store_tree_visitor *v, void *arg);
int mdt__pg_open_tasks(mdt_store *s, mdt_store_task_fn fn, void *arg);
/* fn on each decision of "SELECT <the decision columns as t.*> <tail>"
 * with parameters p, in the result's order. */
int mdt__pg_each_decision(mdt_store *s, const char *tail, const mdt__pgp *p,
    mdt_store_decision_fn fn, void *arg);

/* ---- pg_query.c ------------------------------------------------- */
int mdt__pg_query_decisions(mdt_store *s, const mdt_store_query *q,
    mdt_store_decision_fn fn, void *arg);

/* ---- pg_work.c ------------------------------------------------- */
int mdt__pg_work_run(mdt_store *s, mdt__op *op);
/* Deletes the task items of the ended tasks ids[0..n) (end-task op). */
int mdt__pg_work_ended(mdt_store *s, const char *const *ids, size_t n);
int mdt__pg_work_list(mdt_store *s, const char *agent, mdt_work_item_fn fn,
    void *arg);

/* ---- pg_notify.c: change notices across brokers --------------- */
/* writer_open and begin with the notice triggers and the writer's pid */
int mdt__pg_notify_writer_open(mdt_store *s, char *err, size_t errlen);
int mdt__pg_notify_begin(mdt_store *s);
int mdt__pg_watch(mdt_store *s, mdt_store_event_fn fn, void *arg);
void mdt__pg_unwatch(mdt_store *s);

/* ---- pg_snap.c: a consistent copy into SQLite, for the checks ---- */
int mdt__pg_export_jsonl(mdt_store *s, const char *task_id,
    mdt_store_emit_fn emit, void *arg);
int mdt__pg_verify(const char *loc, const unsigned char pk[MDT_STORE_PK_BYTES],
    mdt_store_issue_fn fn, void *arg, mdt_store_report *report, char *err,
    size_t errlen);

#endif /* MDT_STORE_PG_INT_H */
