/*
 * Backend-neutral internals of the audit store (core/store/): the
 * record-kind descriptors that drive hashing, inserts, reads, export and
 * verification; the handle; the writer's operation queue; the task-row
 * cache.  Nothing here names a storage engine: a backend (backend.h)
 * keeps its own state behind mdt_store.bs.
 */
#ifndef MDT_STORE_CORE_INT_H
#define MDT_STORE_CORE_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <mandate/store.h>

#include "key_int.h" /* mdt__hex */

#define MDT__STORE_SCHEMA_VERSION 6
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
	MDT__KIND_SOURCE = 7,   /* schema 5: policy sets and entity data */
	MDT__KIND_REVIEW = 8,   /* schema 5: review marks */
	MDT__KIND_COUNT_ = 9
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
	uint8_t act_hash[MDT_STORE_HASH_BYTES];
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

#define MDT__COLS_MAX 24

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

/* ---- kindsql.c: shared by the SQL backends ----------------------- */
/* "seq, prev, hash, c1, c2, ..." for desc, each prefixed by alias + "."
 * when alias is not NULL.  Caller frees with mdt__free. */
char *mdt__select_list(const mdt__kind_desc *d, const char *alias);
/* "INSERT INTO table(seq, prev, hash, cols...) VALUES (...)" with ?N
 * (SQLite) or $N placeholders and ON CONFLICT DO NOTHING (pg = 1).
 * Caller frees with mdt__free. */
char *mdt__insert_sql(const mdt__kind_desc *d, int pg);
/* The ended task ids (a JSON array of strings) as the caller's
 * mdt_store_revocation: one allocation (caller frees with mdt__free). */
struct json_t;
int mdt__revocation_list(struct json_t *ids, uint64_t seq, int64_t time_ms,
    mdt_store_revocation **out);

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

/* One record of a kind, valid during the call (kind_rows). */
typedef int (*mdt__row_fn)(void *arg, const void *rec);

/* ---- chain.c ---------------------------------------------------- */
void mdt__chain_genesis(const uint8_t id[MDT__STORE_ID_BYTES],
    uint8_t out[MDT_STORE_HASH_BYTES]);
void mdt__chain_hash(int kind, const uint8_t prev[MDT_STORE_HASH_BYTES],
    const mdt__val *vals, size_t n, uint8_t out[MDT_STORE_HASH_BYTES]);
#define MDT__CHECKPOINT_MSG_BYTES (28 + MDT__STORE_ID_BYTES + 8 + 32 + 8 + 8)
size_t mdt__checkpoint_msg(const uint8_t id[MDT__STORE_ID_BYTES],
    uint64_t seq, const uint8_t hash[MDT_STORE_HASH_BYTES], int64_t time_ms,
    uint64_t prev_cp, uint8_t out[MDT__CHECKPOINT_MSG_BYTES]);

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
	MDT__OP_WORK,         /* work items (work.c) */
	MDT__OP_SOURCE,       /* a source record (unique kind + hash) */
	MDT__OP_REVIEW,       /* a review mark (unique decision_seq) */
	MDT__OP_CLINICIAN     /* a clinician-now grant (clinician_int.h) */
};

typedef struct mdt__op {
	int type;
	const void *rec;
	uint32_t max_children;
	int rc;
	uint64_t seq;
	void *result;          /* MDT__OP_END_TASK: mdt_store_revocation * */
	int done;
	pthread_cond_t cv;     /* signalled (under qmu) when done */
	/* Asynchronous ops (done_fn or receipt_fn set) live on the heap,
	 * are freed by the writer after the callback has run, and have no
	 * cv. */
	mdt_store_done_fn done_fn;
	void *done_arg;
	pthread_t owner;       /* the thread that queued it (errmsg.c) */
	/* Receipts (receipts.c): set by mdt_store_append_decision_receipt,
	 * then by the writer for every decision that committed. */
	mdt_store_receipt_fn receipt_fn;
	uint8_t token_id[MDT_STORE_HASH_BYTES];
	uint8_t rhash[MDT_STORE_HASH_BYTES]; /* the record's chained hash */
	uint32_t leaf;          /* its index in the batch's tree */
	int in_tree;
	struct mdt__op *next;
} mdt__op;

/* The batch's tree and signed head (receipts.c). */
struct mdt__rbatch;

/* The writer's chain head and thread (the backend's connection is in
 * mdt_store.bs). */
typedef struct mdt__writer {
	uint64_t head_seq;
	uint8_t head_hash[MDT_STORE_HASH_BYTES];
	uint64_t last_cp;      /* seq covered by the last checkpoint */
	uint64_t rcover;       /* last seq covered by a head this handle
	                          committed (receipts stand in for
	                          checkpoints) */
	pthread_t thread;
	int running;
	/* Set by the backend when the store can no longer be committed to
	 * (its files were removed or replaced): the writer stays failed. */
	int failed;
	struct mdt__wstats *stats; /* monitoring counters (writer.c) */
	/* The batch being run, ops [batch, batch_end), for a backend that
	 * reads ahead of run_op (writer thread only). */
	struct mdt__op *batch, *batch_end;
	/* Receipts: the last committed head's hash (the next one's prev),
	 * and the tree of the batch being committed. */
	uint8_t last_head[MDT_RECEIPT_HASH_BYTES];
	struct mdt__rbatch *rb;
} mdt__writer;

struct mdt__store_backend_ops;
struct mdt__bstate;

struct mdt_store {
	const struct mdt__store_backend_ops *be;
	struct mdt__bstate *bs; /* the backend's state (connections, lock) */
	char *path;            /* the backend's location, scheme removed */
	uint8_t id[MDT__STORE_ID_BYTES];
	uint8_t seal_sk[64];
	int have_key;
	int read_only;
	uint32_t checkpoint_every;
	uint32_t checkpoint_ms;
	uint32_t max_batch;
	mdt_store_head_sign_fn head_sign; /* NULL: no receipts */
	void *head_sign_arg;

	mdt__writer w;

	pthread_mutex_t qmu;
	pthread_cond_t qwork;  /* signalled when work is queued or on close */
	mdt__op *qhead, *qtail;
	int closing;
	int wsleeping;         /* the writer waits on qwork (under qmu) */

	struct mdt__tcache *tcache; /* NULL on read-only handles */
	uint32_t nreaders;     /* read connections asked for */

	struct mdt__errs *errs; /* error detail per calling thread (errmsg.c) */
};

/* ---- errmsg.c: error detail per calling thread ------------------- */
/* Records the detail of a failure for the thread whose call failed: the
 * calling thread, or on the writer the thread that queued the op being
 * run (see mdt__store_err_op); a failure of the writer's own (a commit)
 * concerns every caller of its batch and is kept for all. */
void mdt__store_seterr(mdt_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int mdt__store_errs_new(mdt_store *s);
void mdt__store_errs_free(mdt_store *s);
/* Writer only: op is being run (NULL: none), so failures recorded now are
 * its caller's. */
void mdt__store_err_op(mdt_store *s, const mdt__op *op);

int mdt__writer_start(mdt_store *s, char *err, size_t errlen);

void mdt__writer_stop(mdt_store *s);
/* Queues a heap op with done_fn set and returns; the writer reports and
 * frees it.  -MDT_ECLOSED when closing (op not taken). */
int mdt__writer_enqueue(mdt_store *s, mdt__op *op);
/* Queues op and waits until its batch is finished; returns op->rc. */
int mdt__writer_submit(mdt_store *s, mdt__op *op);
/* Test hook: runs sql on the writer connection inside the next batch. */
int mdt__store_exec_writer(mdt_store *s, const char *sql);

/* ---- receipts.c: one tree and signed head per batch of decisions ---- */
/* Before the batch commits: builds the tree over its committed
 * decisions and closing leaf (seq0: the chain's head seq when the batch
 * began), signs the head and has the backend store it.  0 when done or
 * nothing to do. */
int mdt__receipts_seal(mdt_store *s, mdt__op *batch, mdt__op *end,
    uint64_t seq0);
/* 1 when the store signs a head per batch (a signer and a backend that
 * keeps receipts): heads then pin the chain and checkpoints are not
 * written. */
int mdt__receipts_on(const mdt_store *s);
/* After the batch: ok 1 when it committed (the head becomes the last). */
void mdt__receipts_end(mdt_store *s, int ok);
/* The receipt of a decision op of the batch just committed; 0 or
 * -MDT_ENOTFOUND when it has none. */
int mdt__receipts_of(const mdt_store *s, const mdt__op *op,
    mdt_receipt *out);
/* Frees the batch's tree once its ops are reported. */
void mdt__receipts_release(mdt_store *s);

/* ---- stats.c: the writer's monitoring counters --------------------- */
struct mdt__wstats;
int mdt__stats_new(mdt_store *s);
void mdt__stats_free(mdt_store *s);
uint64_t mdt__stats_now_us(void);
/* After a batch of nops operations that took us microseconds: ok 1 when
 * it committed; cp_before the checkpoint seq before it.  Writer only. */
void mdt__stats_batch(mdt_store *s, uint64_t nops, uint64_t us, int ok,
    uint64_t cp_before);

/* ---- tcache.c: the task rows the request path reads -------------- */
/*
 * Task rows change in one way only, when an end-task op of this handle's
 * writer commits, so a writable handle keeps recent rows in memory and
 * the writer drops the ended ones after each commit.  A row read from
 * the backend while an end was committing is not cached (generation check).
 */
typedef struct mdt__tcache mdt__tcache;
/* The hash of a task id the task caches key on (FNV-1a). */
uint64_t mdt__task_id_hash(const char *task_id);
int mdt__tcache_new(mdt__tcache **out);
void mdt__tcache_free(mdt__tcache *c);
/* A copy of the cached row (caller frees with mdt__free): 0, or
 * -MDT_ENOTFOUND when not cached, -MDT_ENOMEM. */
int mdt__tcache_get(mdt__tcache *c, const char *task_id,
    mdt_store_task **out);
/* The generation to pass to put, read before reading the row. */
uint64_t mdt__tcache_gen(mdt__tcache *c);
/* Caches a copy of t unless an end committed since gen. */
void mdt__tcache_put(mdt__tcache *c, uint64_t gen, const mdt_store_task *t);
/* Drops the rows of the ended tasks ids[0..n). */
void mdt__tcache_ended(mdt__tcache *c, const char *const *ids, size_t n);

#endif /* MDT_STORE_CORE_INT_H */
