/*
 * Internals of the SQLite backend of the audit store (core/store/sqlite/):
 * its state behind the handle (writer and read connections, their
 * prepared statements, the lock, the WAL checkpointer) and the helpers
 * its files export to each other.
 */
#ifndef MDT_STORE_SQLITE_INT_H
#define MDT_STORE_SQLITE_INT_H

#include <sys/types.h>

#include <sqlite3.h>

#include "../backend.h"
#include "sq_shared.h"

/* Writer statements, prepared once on the writer connection. */
enum mdt__wstmt {
	MDT__W_BEGIN, MDT__W_COMMIT, MDT__W_ROLLBACK,
	MDT__W_SAVEPOINT, MDT__W_RELEASE, MDT__W_ROLLBACK_TO,
	MDT__W_TASK_PARENT, MDT__W_CHAIN_ENDED, MDT__W_COUNT_CHILDREN,
	MDT__W_TASK_ENDED, MDT__W_DESCENDANTS, MDT__W_ENDED_INSERT,
	MDT__W_APPROVAL_EXISTS, MDT__W_CHECKPOINT_INSERT, MDT__W_DECISION_AGENTS,
	MDT__W_HEAD_INSERT, MDT__W_LEAF_INSERT,
	MDT__W_COUNT_
};


/* Reader statements, prepared once per read connection. */
enum mdt__rstmt {
	MDT__R_FIND_DECISION, MDT__R_GET_DECISION, MDT__R_LIST_DECISIONS,
	MDT__R_GET_TASK, MDT__R_CHILDREN, MDT__R_COUNT_CHILDREN,
	MDT__R_CHAIN_ENDED, MDT__R_GET_APPROVAL, MDT__R_TREE,
	MDT__R_TASK_DECISIONS,
	MDT__R_COUNT_
};

typedef struct mdt__reader {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *st[MDT__R_COUNT_];
} mdt__reader;

/* The backend's state (mdt_store.bs). */
struct mdt__bstate {
	sqlite3 *db;           /* the writer connection (writable handles) */
	sqlite3_stmt *ins[MDT__KIND_COUNT_];
	sqlite3_stmt *st[MDT__W_COUNT_];
	/* Identity of the files at open, checked before every commit; once
	 * a file is found removed or replaced the writer stays failed. */
	dev_t db_dev, wal_dev;
	ino_t db_ino, wal_ino;
	int wal_known;
	char *wal_path;
	int lock_fd;           /* <path>.lock, held by a writable handle */
	struct mdt__walckpt *walckpt; /* NULL on read-only handles */
	struct mdt__work *work;       /* the writer's work statements */
	mdt__reader readers[MDT__STORE_READERS_MAX];
	unsigned rr;           /* round-robin start, under qmu-free atomics */
};

/* Records SQLite's message for db with a context into the handle's error
 * message; returns MDT_ESTORE (or MDT_EEXIST for a uniqueness
 * violation, when rc says so). */
int mdt__store_sqlerr(mdt_store *s, sqlite3 *db, int rc, const char *what);

/* ---- schema.c --------------------------------------------------- */
/* mdt__schema_open: in sq_shared.h. */
/* Prepares sql (persistent); on failure err holds SQLite's message. */
int mdt__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out,
    char *err, size_t errlen);


/* ---- files.c: the lock and the modes of a writable store --------- */
/* Takes the exclusive lock <path>.lock into s->bs->lock_fd: 0, -MDT_EBUSY
 * (err names the holder's pid), -MDT_EIO or -MDT_ENOMEM. */
int mdt__files_lock(mdt_store *s, char *err, size_t errlen);
void mdt__files_unlock(mdt_store *s);
/* Creates the database file 0600 when absent and tightens the store's
 * existing files to 0600: 0 or -MDT_EIO (reason in err). */
int mdt__files_private(const char *path, char *err, size_t errlen);
/* Remembers the identity (device, inode) of the database and -wal files
 * of the writer (at open). */
int mdt__files_remember(mdt_store *s, char *err, size_t errlen);
/* Before a commit: 0 when both files are still the ones remembered;
 * else -MDT_ESTORE, the reason in the handle's message, and the writer
 * failed for good (this and every later call fail). */
int mdt__files_check(mdt_store *s);
/* After a commit: names a -wal that was not there at open. */
void mdt__files_committed(mdt_store *s);

/* ---- records.c (run by the writer, inside its transaction) ------ */
int mdt__rec_run(mdt_store *s, mdt__op *op);
int mdt__rec_checkpoint(mdt_store *s, int64_t now_ms);
int mdt__step_done(mdt_store *s, sqlite3_stmt *st, const char *what);
int mdt__bind_vals(sqlite3_stmt *st, int first, const mdt__val *vals,
    size_t n);

/* ---- queries.c -------------------------------------------------- */
int mdt__readers_open(mdt_store *s, char *err, size_t errlen);
void mdt__readers_close(mdt_store *s);
mdt__reader *mdt__reader_acquire(mdt_store *s);
void mdt__reader_release(mdt__reader *r);
/* Builds one allocation of the kind's struct from a row whose column
 * `first` is seq, followed by prev, hash and the kind's columns. */
typedef struct mdt__seg {
	const mdt__kind_desc *d;
	int first;
	size_t seq_off;
} mdt__seg;
int mdt__unpack(sqlite3_stmt *st, const mdt__seg *segs, size_t nsegs,
    size_t struct_size, void **out);
/* Row -> one allocation (caller frees with mdt__free). */
int mdt__unpack_decision(sqlite3_stmt *st, void **out);
int mdt__unpack_task(sqlite3_stmt *st, void **out);
/* Calls task (when set) or decision on each row of a bound statement;
 * a non-zero callback return stops, a negative one is returned. */
typedef struct mdt__visit {
	mdt_store_task_fn task;
	mdt_store_decision_fn decision;
	void *arg;
} mdt__visit;
int mdt__each_row(mdt_store *s, sqlite3_stmt *st, const mdt__visit *v);
/* query.c: mdt_store_query_decisions */
int mdt__sq_query_decisions(mdt_store *s, const mdt_store_query *q,
    mdt_store_decision_fn fn, void *arg);
/* kindrows.c: the backend's kind_rows (backend.h) */
int mdt__sq_kind_rows(mdt_store *s, int kind, const char *tail,
    const char *const *args, size_t nargs, mdt__row_fn fn, void *arg);
/* Fills the derived state of a task from columns at first..first+2. */
void mdt__task_state_cols(sqlite3_stmt *st, int first, mdt_store_task *t);

/* ---- walckpt.c: WAL checkpoints on their own thread --------------- */
typedef struct mdt__walckpt mdt__walckpt;
/* Opens the checkpoint connection and thread and takes over the writer
 * connection's automatic checkpoint. */
int mdt__walckpt_start(mdt_store *s, sqlite3 *writer, char *err,
    size_t errlen);
/* Run by the writer between batches: finishes a checkpoint the thread
 * has done most of, so the next transaction can restart the WAL. */
void mdt__walckpt_between(mdt_store *s, sqlite3 *writer);
/* Call after the writer thread has stopped, before closing writer. */
void mdt__walckpt_stop(mdt_store *s, sqlite3 *writer);
/* Checkpoints run so far (tests). */
uint64_t mdt__walckpt_runs(mdt_store *s);


/* ---- work.c: work items (run by the writer) -------------------- */
/* Runs an MDT__OP_WORK op inside the writer's transaction. */
int mdt__work_run(mdt_store *s, mdt__op *op);
/* Deletes the task items of the ended tasks ids[0..n) (end-task op). */
int mdt__work_ended(mdt_store *s, const char *const *ids, size_t n);
/* Finalizes the writer's work statements (writer stopped). */
void mdt__work_close(mdt_store *s);

/* ---- sq_clinician.c: clinician-now grants ------------------------ */
/* The MDT__OP_CLINICIAN op (writer) and the backend's clinician_get. */
int mdt__sq_clinician_put(mdt_store *s, mdt__op *op);
int mdt__sq_clinician_get(mdt_store *s, const char *clinician, int64_t *iat,
    char **scopes);

/* ---- merge.c: all chained records in seq order ------------------ */
typedef struct mdt__merge mdt__merge;
typedef struct mdt__mrow {
	const mdt__kind_desc *d;
	sqlite3_stmt *st;    /* positioned on the row: seq, prev, hash, cols */
	uint64_t seq;
} mdt__mrow;
/* filter_task: NULL for all records, or a task id whose tree to keep. */
int mdt__merge_open(sqlite3 *db, const char *filter_task, mdt__merge **out,
    char *err, size_t errlen);
/* 1 with *row set, 0 at the end, negative on error (message in err). */
int mdt__merge_next(mdt__merge *m, mdt__mrow *row, char *err, size_t errlen);
void mdt__merge_close(mdt__merge *m);
/* Reads a row's kind columns as values (as stored); 0, or -1 when a
 * column has a storage class its type does not allow. */
int mdt__row_vals(sqlite3_stmt *st, const mdt__kind_desc *d, mdt__val *vals);


/* ---- sq_writer.c: the writer connection and its batch ops -------- */
int mdt__sq_writer_open(mdt_store *s, char *err, size_t errlen);
/* sq_receipts.c */
struct mdt__rleaf;
int mdt__sq_receipts_open(mdt_store *s, char *err, size_t errlen);
int mdt__sq_head_put(mdt_store *s, const mdt_receipt_head *h,
    const uint8_t sig[MDT_STORE_SIG_BYTES], const struct mdt__rleaf *lv,
    size_t n);
int mdt__sq_get_receipt(mdt_store *s, uint64_t seq, mdt_receipt_head *h,
    uint8_t sig[MDT_STORE_SIG_BYTES], struct mdt__rleaf **leaves,
    size_t *n);
int mdt__sq_read_leaves(sqlite3 *db, int64_t first,
    struct mdt__rleaf **out, size_t *n);
/* Checks every stored head (signature, chain of prev hashes, the root of
 * its batch's decisions); bad is called for each faulty one.  *nheads:
 * the heads that verified; *last: the highest last seq of a head whose
 * signature verifies (0 for none), up to which heads pin the chain. */
typedef void (*mdt__head_fault_fn)(void *ctx, uint64_t first,
    uint64_t last, const char *why);
int mdt__sq_check_heads(sqlite3 *db,
    const unsigned char pk[MDT_STORE_PK_BYTES], mdt__head_fault_fn bad,
    void *ctx, uint64_t *nheads, uint64_t *last);
void mdt__sq_writer_close(mdt_store *s);
int mdt__sq_begin(mdt_store *s);
int mdt__sq_commit(mdt_store *s);
int mdt__sq_rollback(mdt_store *s);
int mdt__sq_savepoint(mdt_store *s);
int mdt__sq_release(mdt_store *s);
int mdt__sq_rollback_to(mdt_store *s);
int mdt__sq_txn_gone(mdt_store *s);
void mdt__sq_between(mdt_store *s);

/* ---- the reads and work items behind the public API -------------- */
int mdt__sq_find_decision(mdt_store *store, const char *request_id,
    mdt_store_decision **out);
int mdt__sq_get_decision(mdt_store *store, uint64_t seq,
    mdt_store_decision **out);
int mdt__sq_list_decisions(mdt_store *store, uint64_t after_seq,
    uint32_t limit, mdt_store_decision_fn fn, void *arg);
int mdt__sq_get_task(mdt_store *store, const char *task_id,
    mdt_store_task **out);
int mdt__sq_task_children(mdt_store *store, const char *task_id,
    mdt_store_task_fn fn, void *arg);
int mdt__sq_count_children(mdt_store *store, const char *task_id,
    uint32_t *count);
int mdt__sq_chain_revoked(mdt_store *store, const char *task_id,
    int *revoked, char *revoked_by, size_t len);
int mdt__sq_get_approval(mdt_store *store, const char *approval_id,
    mdt_store_approval **out);
int mdt__sq_task_tree(mdt_store *store, const char *root_task_id,
    const mdt_store_tree_visitor *v, void *arg);
int mdt__sq_export_jsonl(mdt_store *store, const char *task_id,
    mdt_store_emit_fn emit, void *arg);
int mdt__sq_open_tasks(mdt_store *store, mdt_store_task_fn fn, void *arg);
int mdt__sq_work_list(mdt_store *store, const char *agent,
    mdt_work_item_fn fn, void *arg);

#endif /* MDT_STORE_SQLITE_INT_H */
