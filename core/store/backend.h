/*
 * The seam between the backend-neutral store (the writer thread and its
 * group commit, record kinds and chain hashing, the task-row cache, the
 * public entry points) and a storage engine.  A backend fills one
 * mdt__store_backend_ops; the handle's `be` points at it and its state
 * lives behind the handle's `bs`.  What a backend must guarantee is in
 * docs/audit.md ("Backends").  SQLite is in core/store/sqlite/.
 */
#ifndef MDT_STORE_BACKEND_H
#define MDT_STORE_BACKEND_H

#include "core_int.h"

/*
 * The leaves of the batch whose first seq is ?1 (a placeholder both SQL
 * dialects take) in order: seq, the chained hash of the record at that
 * seq as its table holds it now (a decision, or for a closing leaf any
 * kind), token id.  COALESCE stops at the first table holding the seq.
 */
#define MDT__LEAVES_SQL(p) \
	"SELECT l.seq, COALESCE(d.hash," \
	" (SELECT hash FROM tasks WHERE seq = l.seq)," \
	" (SELECT hash FROM revocations WHERE seq = l.seq)," \
	" (SELECT hash FROM approvals WHERE seq = l.seq)," \
	" (SELECT hash FROM approval_decisions WHERE seq = l.seq)," \
	" (SELECT hash FROM act_uses WHERE seq = l.seq)," \
	" (SELECT hash FROM sources WHERE seq = l.seq)," \
	" (SELECT hash FROM reviews WHERE seq = l.seq)), l.token_id" \
	" FROM receipt_leaves l LEFT JOIN decisions d ON d.seq = l.seq" \
	" WHERE l.first_seq = " p " ORDER BY l.leaf_index"

/* One stored leaf of a batch's tree. */
struct mdt__rleaf {
	uint64_t seq;
	uint8_t rhash[MDT_STORE_HASH_BYTES];
	uint8_t token_id[MDT_STORE_HASH_BYTES];
};

struct mdt__store_backend_ops {
	const char *scheme;   /* URI scheme: "sqlite" */
	/* 0: one writable handle per store at a time (lock_* refuses a
	 * second); 1: several brokers may write the same store. */
	int shareable;

	/* ---- a handle (store.c, in this order) ------------------------
	 * lock: takes the store's writer lock (-MDT_EBUSY when held).
	 * writer_open: creates or opens the store, fills s->id and the
	 * chain head s->w (head_seq, head_hash, last_cp).  readers_open:
	 * the read connections (read-only handles open only these).
	 * Every close is safe after a failed or partial open; state_new
	 * comes first and state_free last. */
	int (*state_new)(mdt_store *s);   /* s->bs; -MDT_ENOMEM */
	void (*state_free)(mdt_store *s); /* after every close */
	int (*lock)(mdt_store *s, char *err, size_t errlen);
	void (*unlock)(mdt_store *s);
	int (*writer_open)(mdt_store *s, char *err, size_t errlen);
	void (*writer_close)(mdt_store *s);
	int (*readers_open)(mdt_store *s, char *err, size_t errlen);
	void (*readers_close)(mdt_store *s);

	/* ---- a writer batch (writer thread only, writer.c) ------------
	 * begin .. precommit .. commit, or rollback.  commit returns only
	 * once the batch is durable.  A savepoint wraps one multi-record
	 * op so its failure leaves the rest of the batch.  txn_gone: 1
	 * when the engine has abandoned the transaction itself.
	 * precommit: 0 when the store is still the one opened (else the
	 * writer is failed for good, reason on the handle).  between: run
	 * between batches (SQLite: finishes a WAL checkpoint).  begin may
	 * read the batch's ops ahead (s->w.batch .. s->w.batch_end), and
	 * run_op may defer an op's statements to commit when its outcome
	 * is already known (PostgreSQL: decisions, pg_batch.c). */
	int (*begin)(mdt_store *s);
	int (*precommit)(mdt_store *s);
	int (*commit)(mdt_store *s);
	void (*committed)(mdt_store *s);
	int (*rollback)(mdt_store *s);
	int (*savepoint)(mdt_store *s);
	int (*release)(mdt_store *s);
	int (*rollback_to)(mdt_store *s);
	int (*txn_gone)(mdt_store *s);
	void (*between)(mdt_store *s);
	/* Runs one queued op inside the batch: appends its chained record
	 * (advancing s->w), or the work-item / end-task / act-use logic
	 * the op names; negative MDT_E* with the reason on the handle. */
	int (*run_op)(mdt_store *s, mdt__op *op);
	/* Appends a signed checkpoint of the head when one is due. */
	int (*checkpoint)(mdt_store *s, int64_t now_ms);
	/* Receipts (NULL: this backend keeps none).  head_put stores a
	 * batch's signed head and its n leaves (seq, token id; the index is
	 * the position) inside the batch's transaction.  get_receipt
	 * reads back what mdt_store_get_receipt returns: the head and sig
	 * of seq's batch, the seqs, record hashes and token ids of its
	 * leaves in order (caller frees *leaves with mdt__free). */
	int (*head_put)(mdt_store *s, const mdt_receipt_head *h,
	    const uint8_t sig[MDT_STORE_SIG_BYTES],
	    const struct mdt__rleaf *lv, size_t n);
	int (*get_receipt)(mdt_store *s, uint64_t seq, mdt_receipt_head *h,
	    uint8_t sig[MDT_STORE_SIG_BYTES], struct mdt__rleaf **leaves,
	    size_t *n);

	/* ---- reads (any thread; arguments as the public API's) -------- */
	int (*find_decision)(mdt_store *s, const char *request_id,
	    mdt_store_decision **out);
	int (*get_decision)(mdt_store *s, uint64_t seq,
	    mdt_store_decision **out);
	int (*list_decisions)(mdt_store *s, uint64_t after_seq,
	    uint32_t limit, mdt_store_decision_fn fn, void *arg);
	int (*get_task)(mdt_store *s, const char *task_id,
	    mdt_store_task **out);
	int (*task_children)(mdt_store *s, const char *task_id,
	    mdt_store_task_fn fn, void *arg);
	int (*count_children)(mdt_store *s, const char *task_id,
	    uint32_t *count);
	int (*chain_revoked)(mdt_store *s, const char *task_id, int *revoked,
	    char *revoked_by, size_t len);
	/* get_task and chain_revoked at once (NULL: those two) */
	int (*task_check)(mdt_store *s, const char *task_id,
	    mdt_store_task **out, int *revoked, char *revoked_by, size_t len);
	int (*get_approval)(mdt_store *s, const char *approval_id,
	    mdt_store_approval **out);
	int (*task_tree)(mdt_store *s, const char *root_task_id,
	    const mdt_store_tree_visitor *v, void *arg);
	int (*export_jsonl)(mdt_store *s, const char *task_id,
	    mdt_store_emit_fn emit, void *arg);
	int (*open_tasks)(mdt_store *s, mdt_store_task_fn fn, void *arg);
	int (*query_decisions)(mdt_store *s, const mdt_store_query *q,
	    mdt_store_decision_fn fn, void *arg);
	/* Rows of a kind: "SELECT <its columns> FROM <its table> t" + tail,
	 * with text parameters $1..$n (args), each row unpacked into the
	 * kind's struct for fn (sources, reviews). */
	int (*kind_rows)(mdt_store *s, int kind, const char *tail,
	    const char *const *args, size_t nargs, mdt__row_fn fn, void *arg);

	/* ---- work items (queued to the writer as MDT__OP_WORK) -------- */
	int (*work_push)(mdt_store *s, const mdt_work_item *it,
	    uint32_t max_pending, uint64_t *seq_out);
	int (*work_lease)(mdt_store *s, const char *agent,
	    const mdt_work_filter *filter, uint32_t lease_ms, int64_t now_ms,
	    mdt_work_item **out, int64_t *retry_ms);
	int (*work_ack)(mdt_store *s, const char *id, const char *agent);
	int (*work_list)(mdt_store *s, const char *agent,
	    mdt_work_item_fn fn, void *arg);

	/* ---- clinician-now grants (table clinician_now; not chained) ---
	 * The put runs in the writer's batch as MDT__OP_CLINICIAN (rec: a
	 * struct mdt__clin_req, clinician_int.h), through run_op.
	 * clinician_get reads one grant on a read connection (*scopes:
	 * caller frees with mdt__free; -MDT_ENOTFOUND for none). */
	int (*clinician_get)(mdt_store *s, const char *clinician,
	    int64_t *iat, char **scopes);

	/* ---- other writers' changes (NULL: the store is not shared) ---
	 * watch starts the listener (mdt_store_watch); unwatch stops it
	 * and is safe when none runs. */
	int (*watch)(mdt_store *s, mdt_store_event_fn fn, void *arg);
	void (*unwatch)(mdt_store *s);

	/* ---- verification of a store at loc (read-only, no handle) ---- */
	int (*verify)(const char *loc, const unsigned char pk[MDT_STORE_PK_BYTES],
	    mdt_store_issue_fn fn, void *arg, mdt_store_report *report,
	    char *err, size_t errlen);
};

/* The tree over stored leaves, for get_receipt and verification
 * (receipts.c); -MDT_EAUDIT for none.  Caller frees with
 * mdt__rtree_free. */
struct mdt__rtree;
int mdt__rleaves_tree(const struct mdt__rleaf *lv, size_t n,
    struct mdt__rtree *t);

/* The SQLite backend (core/store/sqlite/). */
extern const struct mdt__store_backend_ops mdt__sqlite_backend;

/* The PostgreSQL backend (core/store/pg/). */
extern const struct mdt__store_backend_ops mdt__pg_backend;

/* Resolves a store URI ("sqlite:PATH" or a plain path; "postgresql://..."
 * or "postgres://...", handed whole to libpq; "postgresql:KEY=VALUE ..."
 * for a libpq key/value string) to its backend
 * and the location handed to it (a pointer into uri): 0, -MDT_EINVAL
 * (an empty location) or -MDT_EUNSUPPORTED (a scheme this build has no
 * backend for; err lists the ones it has). */
int mdt__store_uri(const char *uri, const struct mdt__store_backend_ops **be,
    const char **loc, char *err, size_t errlen);

#endif /* MDT_STORE_BACKEND_H */
