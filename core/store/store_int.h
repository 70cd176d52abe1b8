/*
 * Internals shared by the files of the audit store (core/store/): the
 * record-kind descriptors that drive hashing, inserts, reads, export and
 * verification; the handle; the writer's operation queue; and the helpers
 * each file exports to the others.
 */
#ifndef MDT_STORE_INT_H
#define MDT_STORE_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include <mandate/audit.h>

#include "key_int.h" /* mdt__hex */

#define MDT__STORE_SCHEMA_VERSION 3
#define MDT__STORE_ID_BYTES 16
#define MDT__STORE_TREE_DEPTH_MAX 256 /* bounds recursive queries */
#define MDT__STORE_READERS_MAX 32

/* Record kinds, as hashed and exported. */
enum mdt__kind {
	MDT__KIND_TASK = 1,
	MDT__KIND_DECISION = 2,
	MDT__KIND_APPROVAL = 3,
	MDT__KIND_APPROVAL_DECISION = 4,
	MDT__KIND_REVOCATION = 5,
	MDT__KIND_ACT_USE = 6,
	MDT__KIND_COUNT_ = 7
};

/*
 * Column types.  'T' text (NULL allowed), 'L' int64_t, 'U' uint32_t,
 * 'E' an enum stored in an int, 'H' a 32-byte hash stored inline,
 * 'P' a pointer to a 32-byte hash (NULL allowed).
 */
typedef struct mdt__col {
	const char *name;
	char type;
	size_t off;   /* offset of the field in the kind's C struct */
	size_t max;   /* text bound (bytes); 0 for non-text */
	int json;     /* 1: any JSON, 2: JSON array of strings */
} mdt__col;

typedef struct mdt__kind_desc {
	int kind;
	const char *name;     /* "task", "decision", ... */
	const char *table;
	const mdt__col *cols;
	size_t ncols;
	size_t seq_off;       /* where the seq goes in the C struct */
	size_t struct_size;
	const char *task_col; /* column naming the task (export filter) */
	/* Columns always hashed; later ones (added by a newer schema) are
	 * left out of the encoding while they are NULL from the last one
	 * back, so records written before them verify unchanged.  0: all. */
	size_t nhash_min;
} mdt__kind_desc;

/* Row of the revocation kind (internal; the public API returns a list). */
typedef struct mdt__revocation_row {
	int64_t time_ms;
	const char *task_id;
	int state;
	const char *ended_by;
	const char *reason;
	const char *revoked; /* JSON array of task ids */
	uint64_t seq;
} mdt__revocation_row;

/* Row of the single-use act kind (internal; see mdt_store_use_act). */
typedef struct mdt__act_row {
	int64_t time_ms;
	uint8_t act_hash[MDT_AUDIT_HASH_BYTES];
	const char *act_kind; /* not "kind": export lines name the record's */
	const char *clinician;
	int64_t expires_ms;
	uint64_t seq;
} mdt__act_row;

/* One field value, as bound and hashed. */
typedef struct mdt__val {
	char type;           /* 0 NULL, 'T', 'I' (integer), 'B' (blob) */
	const void *p;
	size_t len;
	int64_t i;
} mdt__val;

#define MDT__COLS_MAX 20

const mdt__kind_desc *mdt__kind_get(int kind);
/* Fills vals[desc->ncols] from a C struct of the kind. */
void mdt__kind_vals(const mdt__kind_desc *d, const void *rec, mdt__val *vals);
/* How many of vals[d->ncols] the chain hash covers (see nhash_min). */
size_t mdt__kind_nhashed(const mdt__kind_desc *d, const mdt__val *vals);
/* Checks text bounds and JSON columns; err names the field. */
int mdt__kind_check(const mdt__kind_desc *d, const void *rec, char *err,
    size_t errlen);
/* One allocation of `extra` bytes (a multiple of the maximum alignment),
 * then a copy of the kind's struct rec whose text columns point into the
 * same allocation.  The struct starts at extra.  NULL on no memory;
 * caller frees with mdt__free. */
void *mdt__kind_dup(const mdt__kind_desc *d, const void *rec, size_t extra);

/* ---- jsoncheck.c ---------------------------------------------- */
/* 1 when text is JSON (want 1) or a JSON array of strings (want 2),
 * duplicate object keys refused. */
int mdt__json_ok(const char *text, int want);
/* The same through jansson alone: the rule mdt__json_ok must agree with. */
int mdt__json_ok_jansson(const char *text, int want);

/* ---- json.c ---------------------------------------------------- */
/* {"seq": seq, "kind": name, column: value, ...}; NULL on no memory. */
struct json_t;
struct json_t *mdt__vals_json(const mdt__kind_desc *d, uint64_t seq,
    const mdt__val *vals);
/* The same from a C struct of the kind (seq taken from the struct). */
struct json_t *mdt__struct_json(int kind, const void *rec);

/* ---- chain.c ---------------------------------------------------- */
void mdt__chain_genesis(const uint8_t id[MDT__STORE_ID_BYTES],
    uint8_t out[MDT_AUDIT_HASH_BYTES]);
void mdt__chain_hash(int kind, const uint8_t prev[MDT_AUDIT_HASH_BYTES],
    const mdt__val *vals, size_t n, uint8_t out[MDT_AUDIT_HASH_BYTES]);
#define MDT__CHECKPOINT_MSG_BYTES (28 + MDT__STORE_ID_BYTES + 8 + 32 + 8 + 8)
size_t mdt__checkpoint_msg(const uint8_t id[MDT__STORE_ID_BYTES],
    uint64_t seq, const uint8_t hash[MDT_AUDIT_HASH_BYTES], int64_t time_ms,
    uint64_t prev_cp, uint8_t out[MDT__CHECKPOINT_MSG_BYTES]);

/* ---- schema.c --------------------------------------------------- */
/* Opens a connection with the store's pragmas; creates/migrates the
 * schema when writable.  Fills id with the store id. */
int mdt__schema_open(const char *path, int read_only, uint32_t busy_ms,
    sqlite3 **out, uint8_t id[MDT__STORE_ID_BYTES], char *err,
    size_t errlen);
/* Prepares sql (persistent); on failure err holds SQLite's message. */
int mdt__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out,
    char *err, size_t errlen);

/* ---- writer.c --------------------------------------------------- */
enum mdt__op_type {
	MDT__OP_DECISION = 1,
	MDT__OP_TASK,
	MDT__OP_APPROVAL,
	MDT__OP_APPROVAL_DECISION,
	MDT__OP_END_TASK,
	MDT__OP_CHECKPOINT,
	MDT__OP_USE_ACT,
	MDT__OP_EXEC,         /* test hook: run SQL on the writer connection */
	MDT__OP_WORK          /* work items (work.c) */
};

typedef struct mdt__op {
	int type;
	const void *rec;
	uint32_t max_children;
	int rc;
	uint64_t seq;
	void *result;          /* MDT__OP_END_TASK: mdt_audit_revocation * */
	int done;
	pthread_cond_t cv;     /* signalled (under qmu) when done */
	/* Asynchronous ops (done_fn set) live on the heap, are freed by the
	 * writer after done_fn has run, and have no cv. */
	mdt_store_done_fn done_fn;
	void *done_arg;
	struct mdt__op *next;
} mdt__op;

/* Writer statements, prepared once on the writer connection. */
enum mdt__wstmt {
	MDT__W_BEGIN, MDT__W_COMMIT, MDT__W_ROLLBACK,
	MDT__W_SAVEPOINT, MDT__W_RELEASE, MDT__W_ROLLBACK_TO,
	MDT__W_TASK_PARENT, MDT__W_CHAIN_ENDED, MDT__W_COUNT_CHILDREN,
	MDT__W_TASK_ENDED, MDT__W_DESCENDANTS, MDT__W_ENDED_INSERT,
	MDT__W_APPROVAL_EXISTS, MDT__W_CHECKPOINT_INSERT,
	MDT__W_COUNT_
};

typedef struct mdt__writer {
	sqlite3 *db;
	sqlite3_stmt *ins[MDT__KIND_COUNT_];
	sqlite3_stmt *st[MDT__W_COUNT_];
	uint64_t head_seq;
	uint8_t head_hash[MDT_AUDIT_HASH_BYTES];
	uint64_t last_cp;      /* seq covered by the last checkpoint */
	pthread_t thread;
	int running;
	/* Identity of the files at open, checked before every commit; once
	 * a file is found removed or replaced the writer stays failed. */
	dev_t db_dev, wal_dev;
	ino_t db_ino, wal_ino;
	int wal_known;
	int failed;
	char *wal_path;
} mdt__writer;

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

struct mdt_store {
	char *path;
	uint8_t id[MDT__STORE_ID_BYTES];
	uint8_t seal_sk[64];
	int have_key;
	int read_only;
	int lock_fd;           /* <path>.lock, held by a writable handle */
	uint32_t checkpoint_every;
	uint32_t checkpoint_ms;
	uint32_t max_batch;

	mdt__writer w;

	pthread_mutex_t qmu;
	pthread_cond_t qwork;  /* signalled when work is queued or on close */
	mdt__op *qhead, *qtail;
	int closing;

	struct mdt__tcache *tcache; /* NULL on read-only handles */
	struct mdt__walckpt *walckpt; /* NULL on read-only handles */
	struct mdt__work *work;       /* the writer's work statements */

	mdt__reader readers[MDT__STORE_READERS_MAX];
	uint32_t nreaders;
	unsigned rr;           /* round-robin start, under qmu-free atomics */

	pthread_mutex_t errmu;
	char errmsg[MDT_ERRMSG_MAX];
};

/* Records SQLite's message for db with a context into the handle's error
 * message; returns MDT_ESTORE (or MDT_EEXIST for a uniqueness
 * violation, when rc says so). */
int mdt__store_sqlerr(mdt_store *s, sqlite3 *db, int rc, const char *what);
void mdt__store_seterr(mdt_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int mdt__writer_start(mdt_store *s, char *err, size_t errlen);

/* ---- files.c: the lock and the modes of a writable store --------- */
/* Takes the exclusive lock <path>.lock into s->lock_fd: 0, -MDT_EBUSY
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
void mdt__writer_stop(mdt_store *s);
/* Queues a heap op with done_fn set and returns; the writer reports and
 * frees it.  -MDT_ECLOSED when closing (op not taken). */
int mdt__writer_enqueue(mdt_store *s, mdt__op *op);
/* Queues op and waits until its batch is finished; returns op->rc. */
int mdt__writer_submit(mdt_store *s, mdt__op *op);
/* Test hook: runs sql on the writer connection inside the next batch. */
int mdt__store_exec_writer(mdt_store *s, const char *sql);

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
/* "seq, prev, hash, c1, c2, ..." for desc, each prefixed by alias + "."
 * when alias is not NULL.  Caller frees with mdt__free. */
char *mdt__select_list(const mdt__kind_desc *d, const char *alias);
/* Row -> one allocation (caller frees with mdt__free). */
int mdt__unpack_decision(sqlite3_stmt *st, void **out);
int mdt__unpack_task(sqlite3_stmt *st, void **out);
/* Calls task (when set) or decision on each row of a bound statement;
 * a non-zero callback return stops, a negative one is returned. */
typedef struct mdt__visit {
	mdt_audit_task_fn task;
	mdt_audit_decision_fn decision;
	void *arg;
} mdt__visit;
int mdt__each_row(mdt_store *s, sqlite3_stmt *st, const mdt__visit *v);
/* Fills the derived state of a task from columns at first..first+2. */
void mdt__task_state_cols(sqlite3_stmt *st, int first, mdt_audit_task *t);

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

/* ---- tcache.c: the task rows the request path reads -------------- */
/*
 * Task rows change in one way only, when an end-task op of this handle's
 * writer commits, so a writable handle keeps recent rows in memory and
 * the writer drops the ended ones after each commit.  A row read from
 * SQLite while an end was committing is not cached (generation check).
 */
typedef struct mdt__tcache mdt__tcache;
int mdt__tcache_new(mdt__tcache **out);
void mdt__tcache_free(mdt__tcache *c);
/* A copy of the cached row (caller frees with mdt__free): 0, or
 * -MDT_ENOTFOUND when not cached, -MDT_ENOMEM. */
int mdt__tcache_get(mdt__tcache *c, const char *task_id,
    mdt_audit_task **out);
/* The generation to pass to put, read before reading the row. */
uint64_t mdt__tcache_gen(mdt__tcache *c);
/* Caches a copy of t unless an end committed since gen. */
void mdt__tcache_put(mdt__tcache *c, uint64_t gen, const mdt_audit_task *t);
/* Drops the rows of the ended tasks ids[0..n). */
void mdt__tcache_ended(mdt__tcache *c, const char *const *ids, size_t n);

/* ---- work.c: work items (run by the writer) -------------------- */
/* Runs an MDT__OP_WORK op inside the writer's transaction. */
int mdt__work_run(mdt_store *s, mdt__op *op);
/* Deletes the task items of the ended tasks ids[0..n) (end-task op). */
int mdt__work_ended(mdt_store *s, const char *const *ids, size_t n);
/* Finalizes the writer's work statements (writer stopped). */
void mdt__work_close(mdt_store *s);

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

#endif
