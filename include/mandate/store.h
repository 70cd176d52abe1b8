/*
 * The audit and task store: a durable, tamper-evident record of every
 * decision the broker makes, and of the tasks, delegation edges,
 * approvals and revocations those decisions refer to.
 *
 * Storage is one SQLite file in WAL mode with synchronous=FULL.  Every
 * write goes through one writer thread that batches concurrent writes
 * from many threads into one transaction and one fsync (group commit);
 * a write function returns only after the transaction holding its record
 * has committed, so "returned 0" means "durable on disk".  A store error
 * is MDT_ESTORE (never a silent success): the broker must treat it as a
 * deny.
 *
 * Every record (of every kind) gets a sequence number, unique across
 * kinds and contiguous from 1, and a BLAKE2b-256 hash over a
 * domain-separated canonical encoding of its fields and the previous
 * record's hash.  Every `checkpoint_every` records, every
 * `checkpoint_ms` and on close, the writer signs (store id, seq, chain
 * hash, time, previous checkpoint seq) with the broker's Ed25519 key.
 * mdt_store_verify() recomputes everything and names the sequence number
 * of any changed, deleted, inserted or re-ordered record and any invalid
 * or missing checkpoint.  docs/audit.md specifies the encoding precisely
 * enough to verify a store without this library.
 *
 * Thread-safety: every function taking an mdt_store may be called from
 * any number of threads at once, except mdt_store_close (call it once,
 * after every other call on the handle has returned).  Records returned
 * to callers are private copies.
 *
 * Strings are NUL-terminated UTF-8, borrowed for the duration of the
 * call.  Bounds: MDT_STORE_FIELD_MAX bytes for a plain field,
 * MDT_STORE_JSON_MAX for the JSON fields; longer input is MDT_ETOOBIG.
 */
#ifndef MANDATE_AUDIT_H
#define MANDATE_AUDIT_H

#include <mandate/common.h>
#include <mandate/receipt.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDT_STORE_FIELD_MAX 1024      /* ids, names, scopes, resources */
#define MDT_STORE_JSON_MAX 16384      /* reasons, policy_ids, agent_chain */
#define MDT_STORE_HASH_BYTES 32       /* BLAKE2b-256 */
#define MDT_STORE_SEED_BYTES 32       /* Ed25519 secret seed (key.h form) */
#define MDT_STORE_PK_BYTES 32         /* Ed25519 public key */
#define MDT_STORE_SIG_BYTES 64        /* Ed25519 signature */
#define MDT_STORE_REVOKE_MAX 100000   /* tasks revoked in one cascade */

typedef struct mdt_store mdt_store;

/*
 * Signs a receipt head (include/mandate/receipt.h) for the store, which
 * never holds the key: the store fills every field but key_id; the
 * signer sets key_id to its key's id and writes the signature over the
 * head (mdt_receipt_head_sign does both).  Called on the writer thread
 * once per commit batch holding decisions, before the batch commits;
 * non-zero fails the batch (nothing of it is recorded).
 */
typedef int (*mdt_store_head_sign_fn)(void *arg, mdt_receipt_head *head,
    uint8_t sig[MDT_STORE_SIG_BYTES]);

/* ======================================================================
 * Opening and closing
 * ==================================================================== */

typedef struct mdt_store_opts {
	/*
	 * The broker's 32-byte Ed25519 secret seed (as mdt_keypair_seed
	 * gives it) that signs checkpoints; copied, and wiped on close (the
	 * caller still wipes its own copy).  NULL: no checkpoints are
	 * written (the whole log verifies as unsigned).
	 */
	const unsigned char *seal_seed;
	uint32_t checkpoint_every;  /* records between checkpoints; 0 = 1000 */
	uint32_t checkpoint_ms;     /* also sign after this idle time when
	                               records are unsigned; 0 = 5000 */
	uint32_t busy_timeout_ms;   /* SQLite busy timeout; 0 = 5000 */
	/*
	 * Most records committed in one transaction; 0 = 512.  1 gives one
	 * transaction and one fsync per record (the baseline group commit
	 * is measured against).
	 */
	uint32_t max_batch;
	uint32_t readers;           /* read connections for queries; 0 = 4 */
	int read_only;              /* 1: queries only; writes are MDT_EINVAL,
	                               no writer thread, file must exist,
	                               no lock taken (works beside a writer) */
	/*
	 * Receipts (docs/audit.md, "Receipts"): when set, every commit
	 * batch forms a Merkle tree whose head head_sign signs: a leaf per
	 * decision, and a closing leaf for the batch's last record when it
	 * is of another kind.  The head and leaves are stored with the
	 * batch.  A head then covers every record of its batch, so it is
	 * the store's checkpoint: none are written beside it (an explicit
	 * mdt_store_checkpoint still writes one).  NULL: no receipts, and
	 * checkpoints as seal_seed says.  Both backends; on PostgreSQL the
	 * heads of every writer's batches form one chain.
	 */
	mdt_store_head_sign_fn head_sign;
	void *head_sign_arg;
} mdt_store_opts;

/*
 * Opens (creating when absent, unless read_only) the store named by path
 * and starts its writer thread.  path is a store URI: "sqlite:PATH" or a
 * plain PATH (an SQLite file; both name the same store), or
 * "postgresql://..." / "postgres://..." (a libpq URI) or
 * "postgresql:KEY=VALUE ..." (a libpq key/value string) for a PostgreSQL
 * store that several brokers may share (docs/state-model.md).  "sqlite:" with
 * no path is MDT_EINVAL; any other "SCHEME://..." is MDT_EUNSUPPORTED,
 * err listing the backends this build has (docs/audit.md, "Backends").
 * Below, <path> is the SQLite file.  Creates or migrates the schema (schema
 * version in PRAGMA user_version; a newer version than this library
 * knows is MDT_EVERSION).  opts may be NULL (defaults, no checkpoints).
 *
 * A writable open takes an exclusive lock on "<path>.lock" (created
 * 0600, holding the owner's pid as text) for the life of the handle: a
 * second writable open of the same store, from this or another process,
 * fails with MDT_EBUSY and err "store <path> is locked by process <pid>
 * (another mandated?)".  The database, its -wal and -shm files and the
 * lock file are created 0600, and an existing store whose files grant
 * any group or other permission is tightened to 0600 (silently; a file
 * that cannot be tightened fails the open with MDT_EIO).  The identity
 * (device, inode) of the database and WAL files is remembered: when
 * either is removed or replaced while the handle is open, the batch
 * being committed and every later write fail with MDT_ESTORE until the
 * store is closed and reopened.
 *
 * On success *out (caller closes with mdt_store_close).  On failure
 * returns MDT_ESTORE / MDT_EVERSION / MDT_EBUSY / MDT_EIO / MDT_ENOMEM /
 * MDT_EINVAL / MDT_EUNSUPPORTED and, when err is not NULL, writes the reason (with SQLite's
 * message) into err.
 */
MDT_API MDT_WUR int mdt_store_open(const char *path,
    const mdt_store_opts *opts, mdt_store **out, char *err, size_t errlen);

/*
 * Commits queued writes, writes a final checkpoint when records are
 * unsigned and a key is set, stops the writer, closes the file and wipes
 * the key.  Call it once every other call on the handle has returned.
 * NULL is a no-op.
 */
MDT_API void mdt_store_close(mdt_store *store);

/*
 * What other writers of a shared store did (mdt_store_watch).  ENDED: a
 * task ended (id: the task, state: its mdt_task_state, seq: the
 * revocation record); WORK: a work item was queued for the agent id;
 * APPROVAL: the approval id was decided; CLINICIAN: the clinician-now
 * grant of clinician id changed.  LOST: the watch lost its
 * connection, and events may be missed until BACK (id and seq unset);
 * on BACK the ends committed meanwhile are reported (ENDED) first.
 */
typedef enum mdt_store_event_kind {
	MDT_STORE_EV_ENDED = 1,
	MDT_STORE_EV_WORK = 2,
	MDT_STORE_EV_APPROVAL = 3,
	MDT_STORE_EV_LOST = 4,
	MDT_STORE_EV_BACK = 5,
	MDT_STORE_EV_CLINICIAN = 6
} mdt_store_event_kind;

typedef struct mdt_store_event {
	mdt_store_event_kind kind;
	const char *id;       /* valid during the call only */
	int state;
	uint64_t seq;
} mdt_store_event;

typedef void (*mdt_store_event_fn)(const mdt_store_event *ev, void *arg);

/*
 * Watches a shareable store (PostgreSQL: LISTEN on a connection of its
 * own) for the changes other handles commit, calling fn on a thread of
 * the watch, one event at a time.  The handle's own writes are not
 * reported (its caller acted on them already).  Each change is announced
 * in the transaction that makes it, so an event never names a change
 * that was rolled back.  It returns once the watch listens (or has
 * reported LOST), so every change committed after the call returns is
 * reported.  Returns 0, MDT_EUNSUPPORTED (a store that
 * cannot be shared: nothing else writes it), MDT_EBUSY (already
 * watched), MDT_EINVAL (read-only handle) or MDT_ENOMEM.  A server that
 * is down is not an error: the watch reports LOST and keeps trying.
 */
MDT_API MDT_WUR int mdt_store_watch(mdt_store *store, mdt_store_event_fn fn,
    void *arg);

/* Stops the watch (fn is not called once this returns); a no-op when
 * none runs.  mdt_store_close stops it too. */
MDT_API void mdt_store_unwatch(mdt_store *store);

/*
 * The detail of the calling thread's last failed call on this handle
 * (what failed and where: the backend's message with the statement), or
 * "" when it has none.  A failure of the store itself (a commit or sync
 * that failed) concerns every caller and is reported to every thread
 * whose own failure is older.  Another thread's failure is never
 * reported.  The string is copied into buf (NUL-terminated, truncated to
 * buflen).  Returns buf.
 */
MDT_API const char *mdt_store_errmsg(mdt_store *store, char *buf,
    size_t buflen);

/*
 * A store URI fit for logs and messages: a PostgreSQL URI's password
 * ("postgresql://user:SECRET@host/db") and a key/value "password=SECRET"
 * are written as "***"; anything else is copied.  Truncated to outlen
 * (NUL-terminated).  Returns out.
 */
MDT_API const char *mdt_store_uri_redact(const char *uri, char *out,
    size_t outlen);

/* Current time in Unix milliseconds (the clock records default to). */
MDT_API int64_t mdt_store_now_ms(void);

/* ======================================================================
 * Decisions
 * ==================================================================== */

typedef enum mdt_store_verdict {
	MDT_STORE_ALLOW = 1,
	MDT_STORE_DENY = 2,
	MDT_STORE_STEP_UP = 3,
	MDT_STORE_ERROR = 4 /* evaluation failed; answered as a deny */
} mdt_store_verdict;

/* Flags on a decision (bit set; unknown bits are stored as given). */
#define MDT_STORE_FLAG_BREAK_GLASS 0x1u /* purpose ETREAT */
#define MDT_STORE_FLAG_REVIEW 0x2u      /* flagged for human review */
#define MDT_STORE_FLAG_APPROVED 0x4u    /* allowed through an approval */
#define MDT_STORE_FLAG_REPLAY 0x8u      /* answer to a resent request */

/*
 * One decision.  On input every string is borrowed and may be NULL
 * (stored as SQL NULL) except operation.  On output (lookups) the strings
 * live in the same allocation as the struct.
 *
 *   time_ms      Unix ms; 0 on input = now
 *   request_id   idempotency key, unique in the store (NULL = none).  The
 *                store does not scope it: the broker must make it unique
 *                across clients, e.g. "AGENT-SPIFFE-ID#CLIENT-REQUEST-ID"
 *   operation    "open", "dispatch", "delegate", "authorize", "approve",
 *                "reject", "complete", "cancel", ... (required)
 *   reasons      JSON (validated): why.  For a deny it names the failed
 *                condition, e.g. {"failed":"scope","layer":"clinician",
 *                "scope":"patient/Observation.rs"} or {"failed":"policy",
 *                "policy":"forbid-export"} or {"failed":"approval",
 *                "approval":"ap-17"}; docs/audit.md lists the shapes
 *   policy_ids   JSON array of strings (validated): determining policies
 *   policy_hash  hash of the policy set in force (hex text)
 *   agent_chain  JSON array of strings (validated): SPIFFE ids from the
 *                orchestrator to the acting agent
 *   action, resource  what was asked ("read", "Observation/obs-1")
 *   seq          output only: the record's sequence number
 *   request_hash MDT_STORE_HASH_BYTES bytes: a hash of the request's
 *                content, so a request id reused for a different request
 *                can be told apart from a resend (NULL = none).  Chained
 *                like the other fields.  On output it points into the
 *                record's allocation, or is NULL when none was stored
 *   request      JSON (validated, NULL = none): the Cedar request as it
 *                was evaluated, for replay (mandatectl audit explain):
 *                {"principal":{"type","id"},"action":{...},
 *                "resource":{...},"context":{...},"entities":[...]},
 *                context and entities in Cedar's JSON forms (entities:
 *                the per-request ones added over the entity data)
 *   entities_version  hex hash of the entity data the request was
 *                evaluated against (a source of kind "entities"; NULL =
 *                none).  Both are chained; decisions written before
 *                schema 5 read them as NULL
 */
typedef struct mdt_store_decision {
	int64_t time_ms;
	const char *request_id;
	const char *operation;
	mdt_store_verdict verdict;
	uint32_t flags;
	const char *reasons;
	const char *policy_ids;
	const char *policy_hash;
	const char *task_id;
	const char *token_id;
	const char *clinician;
	const char *agent;
	const char *agent_chain;
	const char *patient;
	const char *purpose;
	const char *action;
	const char *resource;
	uint64_t seq;
	const uint8_t *request_hash;
	const char *request;
	const char *entities_version;
} mdt_store_decision;

/*
 * Appends a decision and returns once it is durably committed (group
 * commit), with its sequence number in *seq_out (may be NULL).
 * MDT_EEXIST when request_id is already recorded (look it up with
 * mdt_store_find_decision and answer identically); MDT_ETOOBIG /
 * MDT_EPARSE for oversized fields or invalid JSON; MDT_ESTORE when the
 * store failed (nothing was recorded: deny); MDT_ECLOSED while closing.
 */
MDT_API MDT_WUR int mdt_store_append_decision(mdt_store *store,
    const mdt_store_decision *rec, uint64_t *seq_out);

/*
 * Called once per asynchronous append, from the store's writer thread,
 * after the transaction holding the record has committed (rc 0, seq its
 * sequence number) or failed (rc as for mdt_store_append_decision, seq
 * 0).  It runs outside the store's locks but on the writer's time: it
 * must be short and must not wait for another write of the same store.
 */
typedef void (*mdt_store_done_fn)(void *arg, int rc, uint64_t seq);

/*
 * mdt_store_append_decision without waiting: checks and copies rec (its
 * strings need not outlive the call), queues it for the next group
 * commit and returns 0; done(arg, ...) then reports the outcome exactly
 * once.  A server answers from done, so a thread is not held per
 * decision while the batch's fsync runs.  On a non-zero return (bad
 * input as for the synchronous call, MDT_ENOMEM, MDT_ECLOSED) nothing is
 * queued and done is never called.
 */
MDT_API MDT_WUR int mdt_store_append_decision_async(mdt_store *store,
    const mdt_store_decision *rec, mdt_store_done_fn done, void *arg);

/*
 * Called once per mdt_store_append_decision_receipt, as mdt_store_done_fn
 * is, with the decision's receipt when it committed in a store that makes
 * receipts (receipt valid during the call only), NULL otherwise.
 */
typedef void (*mdt_store_receipt_fn)(void *arg, int rc, uint64_t seq,
    const mdt_receipt *receipt);

/*
 * mdt_store_append_decision_async that also hands back the decision's
 * receipt: the inclusion proof of its leaf in its batch's tree and the
 * signed head.  token_id (MDT_RECEIPT_HASH_BYTES, copied; NULL for none)
 * is the id of the token the decision issues: the leaf commits to it,
 * so the receipt proves that this token's decision was logged.
 */
MDT_API MDT_WUR int mdt_store_append_decision_receipt(mdt_store *store,
    const mdt_store_decision *rec, const uint8_t *token_id,
    mdt_store_receipt_fn done, void *arg);

/*
 * What the store holds about a decision's receipt: its leaf's token id,
 * the signed head of its batch, and the receipt rebuilt from the stored
 * batch.  MDT_ENOTFOUND when the store has no receipt for seq.  *out is
 * a value (no allocation).
 */
MDT_API MDT_WUR int mdt_store_get_receipt(mdt_store *store, uint64_t seq,
    uint8_t token_id[MDT_RECEIPT_HASH_BYTES], mdt_receipt *out);

/*
 * Idempotency: the decision recorded for request_id.  *out (caller frees
 * with mdt_free; one allocation) or MDT_ENOTFOUND.
 */
MDT_API MDT_WUR int mdt_store_find_decision(mdt_store *store,
    const char *request_id, mdt_store_decision **out);

/* The decision with sequence number seq; *out as above, or MDT_ENOTFOUND. */
MDT_API MDT_WUR int mdt_store_get_decision(mdt_store *store, uint64_t seq,
    mdt_store_decision **out);

/*
 * Calls fn for each decision with seq > after_seq in sequence order, at
 * most limit of them (0 = no limit).  The record is valid during the call
 * only.  fn returns 0 to go on; non-zero stops the walk, and a negative
 * value is returned by this function.  Callbacks (here and below) run
 * while a read connection is held: they must not call into the store.
 */
typedef int (*mdt_store_decision_fn)(void *arg,
    const mdt_store_decision *rec);
MDT_API MDT_WUR int mdt_store_list_decisions(mdt_store *store,
    uint64_t after_seq, uint32_t limit, mdt_store_decision_fn fn, void *arg);

/*
 * A filtered decision query.  Every criterion is optional (NULL / 0 =
 * any) and they combine with AND.  Strings are borrowed for the call.
 *
 *   agent        a SPIFFE id at any hop: the acting agent or any entry
 *                of the decision's agent_chain
 *   task         any task of the tree containing this task
 *   reason       the deny code a decision's reasons name ("failed":
 *                "scope.widen", "policy.deny", ...)
 *   verdict      0 = any
 *   flags_all    MDT_STORE_FLAG_* bits that must all be set
 *   since_ms, until_ms   time range [since, until) in Unix ms; 0 = open
 *   after_seq    only decisions with a higher sequence number
 *   limit        at most this many (0 = no limit)
 *
 * The backend answers from indexes on patient, clinician, agent (every
 * hop) and time, so a query's cost follows its answer, not the store.
 */
typedef struct mdt_store_query {
	const char *patient;
	const char *clinician;
	const char *agent;
	const char *task;
	const char *operation;
	const char *reason;
	const char *purpose;
	const char *policy_hash;
	mdt_store_verdict verdict;
	uint32_t flags_all;
	int64_t since_ms;
	int64_t until_ms;
	uint64_t after_seq;
	uint32_t limit;
} mdt_store_query;

/*
 * Calls fn for each decision matching q (NULL = every decision) in
 * sequence order.  Records valid during the call only; fn's return as
 * for mdt_store_list_decisions.  Works on read-only handles, beside a
 * writing broker.  MDT_EINVAL for a NULL store or fn; MDT_EUNSUPPORTED
 * from a backend that has no filtered queries.
 */
MDT_API MDT_WUR int mdt_store_query_decisions(mdt_store *store,
    const mdt_store_query *q, mdt_store_decision_fn fn, void *arg);

/* ======================================================================
 * Tasks and delegation edges
 * ==================================================================== */

typedef enum mdt_task_state {
	MDT_TASK_OPEN = 1,
	MDT_TASK_COMPLETED = 2,  /* completed by its holder */
	MDT_TASK_CANCELLED = 3,  /* cancelled */
	MDT_TASK_REVOKED = 4     /* revoked because an ancestor ended */
} mdt_task_state;

/*
 * A task.  A root task (opened by an orchestrator for a clinician) has
 * parent_id NULL and root_id == task_id; a child records the delegation
 * edge parent_id -> task_id, from_agent (the delegator, holder of the
 * parent) -> holder, with scopes (the child's effective scopes).
 *
 *   time_ms      creation, Unix ms; 0 on input = now
 *   operation    "open", "dispatch" or "delegate"
 *   depth        0 for a root, parent's depth + 1 for a child
 *   scopes       space-separated scope text
 *   expires_ms   token expiry, Unix ms
 *   state, ended_ms, end_seq   output only (derived from revocations):
 *                state, time of the revocation that ended it (0 when
 *                open) and its sequence number
 *   seq          output only: the record's sequence number
 */
typedef struct mdt_store_task {
	int64_t time_ms;
	const char *task_id;
	const char *parent_id;
	const char *root_id;
	const char *operation;
	uint32_t depth;
	const char *clinician;
	const char *patient;
	const char *purpose;
	const char *from_agent;
	const char *holder;
	const char *scopes;
	const char *token_id;
	int64_t expires_ms;
	mdt_task_state state;
	int64_t ended_ms;
	uint64_t end_seq;
	uint64_t seq;
} mdt_store_task;

/*
 * Records a task (and, for a child, its delegation edge); durable on
 * return.  Checked inside the same transaction, so concurrent delegations
 * cannot race past them: task_id unused (else MDT_EEXIST); for a child,
 * the parent exists (MDT_ENOTFOUND), no task on the parent's chain is
 * revoked (MDT_EREVOKED), root_id equals the parent's root, depth its
 * depth + 1 and patient, clinician and purpose its own (MDT_EINVAL), and,
 * when max_children > 0, the parent has fewer than max_children
 * children (MDT_EFANOUT).  MDT_ESTORE on store failure.
 */
MDT_API MDT_WUR int mdt_store_add_task(mdt_store *store,
    const mdt_store_task *task, uint32_t max_children, uint64_t *seq_out);

/* The task task_id with its current state.  *out (caller frees with
 * mdt_free; one allocation) or MDT_ENOTFOUND. */
MDT_API MDT_WUR int mdt_store_get_task(mdt_store *store, const char *task_id,
    mdt_store_task **out);

/*
 * Calls fn for each direct child of task_id in creation order.  The
 * record is valid during the call only; fn's return as for
 * mdt_store_list_decisions.
 */
typedef int (*mdt_store_task_fn)(void *arg, const mdt_store_task *task);
MDT_API MDT_WUR int mdt_store_task_children(mdt_store *store,
    const char *task_id, mdt_store_task_fn fn, void *arg);

/* Number of direct children of task_id (0 for an unknown task). */
MDT_API MDT_WUR int mdt_store_count_children(mdt_store *store,
    const char *task_id, uint32_t *count);

/*
 * Whether task_id or any ancestor is ended (completed, cancelled or
 * revoked): *revoked = 1 and, when revoked_by is not NULL, the id of the
 * nearest ended task on the chain copied into it (NUL-terminated,
 * truncated to len; MDT_STORE_FIELD_MAX + 1 always fits); *revoked = 0
 * otherwise.  MDT_ENOTFOUND for an unknown task (the broker must deny).
 */
MDT_API MDT_WUR int mdt_store_chain_revoked(mdt_store *store,
    const char *task_id, int *revoked, char *revoked_by, size_t len);

/*
 * The check of a task a request makes: mdt_store_get_task and
 * mdt_store_chain_revoked of task_id at once (*out as the first's, caller
 * frees with mdt_free; *revoked and revoked_by as the second's; *out is
 * NULL on failure).  On PostgreSQL one round trip once the handle has
 * read the task before (its row and chain never change; their ended
 * state is read fresh).
 */
MDT_API MDT_WUR int mdt_store_task_check(mdt_store *store,
    const char *task_id, mdt_store_task **out, int *revoked,
    char *revoked_by, size_t len);

/* ======================================================================
 * Revocations
 * ==================================================================== */

/*
 * Ends task_id (state MDT_TASK_COMPLETED or MDT_TASK_CANCELLED) and, in
 * the same transaction, revokes every descendant not already ended; one
 * chained revocation record lists them all.  by: who asked (agent or
 * clinician), reason: free text (may be NULL); time_ms 0 = now.
 * On success *out (caller frees with mdt_free; one allocation; may be
 * NULL when not wanted) lists the task ids ended, task_id first, so the
 * broker can publish them.  MDT_ENOTFOUND for an unknown task,
 * MDT_EREVOKED when task_id is already ended (nothing written).
 */
typedef struct mdt_store_revocation {
	uint64_t seq;
	int64_t time_ms;
	size_t count;
	const char *const *task_ids;
} mdt_store_revocation;

MDT_API MDT_WUR int mdt_store_end_task(mdt_store *store, const char *task_id,
    mdt_task_state state, const char *by, const char *reason,
    int64_t time_ms, mdt_store_revocation **out);

/* ======================================================================
 * Approvals (step-up)
 * ==================================================================== */

typedef enum mdt_approval_state {
	MDT_APPROVAL_PENDING = 0,
	MDT_APPROVAL_APPROVED = 1,
	MDT_APPROVAL_REJECTED = 2,
	MDT_APPROVAL_EXPIRED = 3   /* timed out before a clinician decided */
} mdt_approval_state;

/*
 * A step-up approval.  request_hash binds it to exactly what was asked
 * (the broker hashes task, agent, action, resource, patient, purpose).
 *   time_ms      when parked; 0 on input = now
 *   expires_ms   when the parked request times out
 *   decided_*, state, valid_until_ms, note   set by the decision
 *                (output only for mdt_store_add_approval)
 */
typedef struct mdt_store_approval {
	int64_t time_ms;
	const char *approval_id;
	unsigned char request_hash[MDT_STORE_HASH_BYTES];
	const char *request_id;
	const char *task_id;
	const char *agent;
	const char *clinician;
	const char *action;
	const char *resource;
	int64_t expires_ms;
	mdt_approval_state state;
	const char *decided_by;
	int64_t decided_ms;
	int64_t valid_until_ms;
	const char *note;
	uint64_t seq;
	uint64_t decision_seq;
} mdt_store_approval;

/* Records a parked step-up request (state pending).  MDT_EEXIST when
 * approval_id is in use. */
MDT_API MDT_WUR int mdt_store_add_approval(mdt_store *store,
    const mdt_store_approval *ap, uint64_t *seq_out);

/*
 * Records the single decision on approval_id: APPROVED / REJECTED by
 * decided_by (clinician id), or EXPIRED (decided_by e.g. "broker").
 * valid_until_ms: until when an approval may be used (0 for the others).
 * The first decision wins: a second one is MDT_EEXIST, so a late
 * approval racing with the timeout cannot both happen.  MDT_ENOTFOUND
 * for an unknown approval.
 */
MDT_API MDT_WUR int mdt_store_decide_approval(mdt_store *store,
    const char *approval_id, mdt_approval_state state,
    const char *decided_by, int64_t decided_ms, int64_t valid_until_ms,
    const char *note, uint64_t *seq_out);

/*
 * Records that a single-use clinician act (e.g. a signed assertion,
 * identified by a BLAKE2b-256 hash of its bytes) was used: kind names
 * what it is ("assertion", ...), clinician who made it, expires_ms when
 * it stops being acceptable anyway.  Chained like every record and
 * durable on return.  0 the first time the hash is seen, MDT_EEXIST when
 * it was recorded before (the act is being replayed: refuse it),
 * MDT_ESTORE on store failure.
 */
MDT_API MDT_WUR int mdt_store_use_act(mdt_store *store,
    const uint8_t hash[MDT_STORE_HASH_BYTES], const char *kind,
    const char *clinician, int64_t expires_ms);

/* The approval approval_id with its decision, if any.  *out (caller frees
 * with mdt_free; one allocation) or MDT_ENOTFOUND. */
MDT_API MDT_WUR int mdt_store_get_approval(mdt_store *store,
    const char *approval_id, mdt_store_approval **out);

typedef int (*mdt_store_approval_fn)(void *arg,
    const mdt_store_approval *ap);

/*
 * The approvals still undecided (state pending) whose expires_ms is at or
 * before now_ms, oldest first, at most limit: fn for each (valid during
 * the call; a non-zero return stops, a negative one is returned).  Every
 * broker's timer expires these (mdt_store_decide_approval EXPIRED; the
 * first decision wins), so a step-up outlives the broker that parked it
 * and is still ended on time.
 */
MDT_API MDT_WUR int mdt_store_expired_approvals(mdt_store *store,
    int64_t now_ms, uint32_t limit, mdt_store_approval_fn fn, void *arg);

/* ======================================================================
 * Clinician-now grants
 * ==================================================================== */

/*
 * The scope of a clinician's most recent launch assertion (by issued-at,
 * iat in seconds): scopes is its text (the broker's scope syntax, at most
 * MDT_STORE_JSON_MAX bytes).  Stored, durable on return, unless a grant
 * with a later iat is there already: then nothing changes and the call
 * returns MDT_EEXIST (a grant as recent replaces it).  Not chained: it is
 * state, not evidence (the assertion's use is in the decisions).  On a
 * shared store every other handle's watch reports the change
 * (MDT_STORE_EV_CLINICIAN).
 */
MDT_API MDT_WUR int mdt_store_put_clinician_now(mdt_store *store,
    const char *clinician, int64_t iat, const char *scopes);

/* The stored grant of clinician: *iat and *scopes (caller frees with
 * mdt_free), or MDT_ENOTFOUND. */
MDT_API MDT_WUR int mdt_store_get_clinician_now(mdt_store *store,
    const char *clinician, int64_t *iat, char **scopes);

/* ======================================================================
 * Admin queries and export
 * ==================================================================== */

/*
 * Walks the tree of tasks under root_task_id (the task itself included;
 * depth first, children in creation order).  For each task, task(arg,
 * task) is called, then decision(arg, rec) for each decision on that
 * task in sequence order.  Either callback may be NULL.  Records are
 * valid during the call only; a non-zero callback return stops the walk
 * and a negative one is returned.  MDT_ENOTFOUND for an unknown task.
 */
typedef struct mdt_store_tree_visitor {
	mdt_store_task_fn task;
	mdt_store_decision_fn decision;
} mdt_store_tree_visitor;

MDT_API MDT_WUR int mdt_store_task_tree(mdt_store *store,
    const char *root_task_id, const mdt_store_tree_visitor *v, void *arg);

/*
 * The task tree containing task_id (from its root), with delegation
 * edges and decisions, as one JSON document (format in docs/audit.md).
 * Caller frees *json with mdt_free.
 */
MDT_API MDT_WUR int mdt_store_task_tree_json(mdt_store *store,
    const char *task_id, char **json);

/*
 * Evidence export: every record (tasks, decisions, approvals and their
 * decisions, revocations, checkpoints) in sequence order as one JSON
 * object per line with its seq, prev and hash (format in docs/audit.md).
 * With task_id not NULL, only records about the tree containing that
 * task.  emit(arg, line, len) gets each line without its newline; a
 * non-zero return stops the export and a negative one is returned.
 */
typedef int (*mdt_store_emit_fn)(void *arg, const char *line, size_t len);
MDT_API MDT_WUR int mdt_store_export_jsonl(mdt_store *store,
    const char *task_id, mdt_store_emit_fn emit, void *arg);

/* Signs the current chain head now (durable on return), if there are
 * unsigned records and a key.  *seq_out (may be NULL) gets the covered
 * seq (0 when nothing needed signing). */
MDT_API MDT_WUR int mdt_store_checkpoint(mdt_store *store,
    uint64_t *seq_out);

/*
 * What the writer has done since the store was opened, for monitoring.
 * Bucket counts are per bucket (not cumulative): batch_size[i] counts
 * committed batches of at most batch_size_bound[i] records (the last
 * bound is UINT64_MAX), commit_us[i] those whose transaction (records,
 * checkpoint, commit) took at most commit_us_bound[i] microseconds.
 */
#define MDT_STORE_STATS_BUCKETS 12
typedef struct mdt_store_stats {
	uint64_t batches;          /* committed batches */
	uint64_t failed_batches;   /* batches rolled back or refused */
	uint64_t records;          /* operations in committed batches */
	uint64_t commit_us_sum;    /* total time of the committed batches */
	uint64_t batch_size_bound[MDT_STORE_STATS_BUCKETS];
	uint64_t batch_size[MDT_STORE_STATS_BUCKETS];
	uint64_t commit_us_bound[MDT_STORE_STATS_BUCKETS];
	uint64_t commit_us[MDT_STORE_STATS_BUCKETS];
	uint64_t head_seq;         /* last record's sequence number */
	uint64_t checkpoint_seq;   /* seq covered by the last checkpoint or,
	                              in a store with receipts, by the
	                              last head this handle committed */
	int64_t checkpoint_ms;     /* when this handle last signed one; 0:
	                              none since it was opened */
	int writable;              /* 0: read-only, or the writer has failed
	                              (its files were removed or replaced) */
} mdt_store_stats;

/* Fills *out; safe from any thread while the writer runs.  0, or
 * MDT_EINVAL for a NULL argument. */
MDT_API MDT_WUR int mdt_store_stats_get(mdt_store *store,
    mdt_store_stats *out);

/* ======================================================================
 * Work items: what the broker has to deliver to agents
 * ==================================================================== */

/*
 * A work item waits in the store until the agent it is for takes it with
 * `next` and acknowledges it.  Items are not chained records: they are a
 * durable queue beside the audit log (table `work`, docs/audit.md), and
 * an acknowledged item is deleted.  Delivery is at least once: a lease
 * that ends before the acknowledgement puts the item back, and it comes
 * back with the same id and a higher delivery count.
 */
typedef enum mdt_work_kind {
	MDT_WORK_TASK = 1,    /* a dispatched or delegated subtask */
	MDT_WORK_RESULT = 2   /* a result for the holder of the parent task */
} mdt_work_kind;

/*
 * One item.  On input every string is borrowed; id, agent and task are
 * required, the others may be NULL.  On output (lease) the strings and
 * bytes live in the same allocation as the struct; in a listing callback
 * they are valid during the call only.
 *
 *   id           stable item id, unique in the store: the subtask id for
 *                a task item, a derived id for a result
 *   agent        SPIFFE id of the agent it is for
 *   task, parent, from, op, status, scopes, patient, purpose, clinician,
 *   depth, expires, token, payload
 *                what `next` delivers (docs/wire-protocol.md); expires in
 *                Unix seconds
 *   time_ms      when queued; 0 on input = now
 *   lease_until_ms, deliveries, seq   output only: the end of the current
 *                lease (0 when never leased), how often it was leased,
 *                and its position in the queue
 */
typedef struct mdt_work_item {
	const char *id;
	const char *agent;
	mdt_work_kind kind;
	const char *task;
	const char *parent;
	const char *from;
	const char *op;
	const char *status;
	const char *scopes;
	const char *patient;
	const char *purpose;
	const char *clinician;
	int64_t depth;
	int64_t expires;
	const unsigned char *token;
	size_t token_len;
	const unsigned char *payload;
	size_t payload_len;
	int64_t time_ms;
	int64_t lease_until_ms;
	uint32_t deliveries;
	uint64_t seq;
} mdt_work_item;

#define MDT_WORK_BYTES_MAX (1u << 20) /* token or payload bytes */

/*
 * Queues an item; durable on return (group commit).  Checked in the
 * writer's transaction: id unused (MDT_EEXIST, nothing written: a resent
 * push is harmless), the agent has fewer than max_pending items queued
 * or leased when max_pending > 0 (MDT_EBUSY), and a task item's task is
 * not ended (MDT_EREVOKED).  *seq_out (may be NULL) gets its position.
 */
MDT_API MDT_WUR int mdt_store_work_push(mdt_store *store,
    const mdt_work_item *it, uint32_t max_pending, uint64_t *seq_out);

/*
 * Which items a lease may take, as `next` filters them: both NULL, any
 * item; child set, only results of that task; else task set, only
 * results of children of that task.
 */
typedef struct mdt_work_filter {
	const char *task;
	const char *child;
} mdt_work_filter;

/*
 * Leases the oldest item for agent that matches filter (may be NULL) and
 * is not leased, or whose lease ended at or before now_ms (Unix ms; 0 =
 * now): in one writer transaction, so two callers never lease the same
 * item, it is marked leased until now_ms + lease_ms and its delivery
 * count incremented, durable on return.  On success *out (caller frees
 * with mdt_free; one allocation).  MDT_ENOTFOUND when nothing is
 * leasable; then *retry_ms (may be NULL) gets the earliest end of a
 * matching lease still running, or 0 when there is none.
 */
MDT_API MDT_WUR int mdt_store_work_lease(mdt_store *store, const char *agent,
    const mdt_work_filter *filter, uint32_t lease_ms, int64_t now_ms,
    mdt_work_item **out, int64_t *retry_ms);

/*
 * Acknowledges item id for agent: the item is deleted, durable on
 * return.  MDT_ENOTFOUND when agent has no such item (never queued,
 * already acknowledged, or its task ended).  Ending a task
 * (mdt_store_end_task) deletes the task items of every task it ends in
 * the same transaction.
 */
MDT_API MDT_WUR int mdt_store_work_ack(mdt_store *store, const char *id,
    const char *agent);

/*
 * Calls fn for each queued item (of agent, or of every agent when agent
 * is NULL) in queue order.  Items are valid during the call only; fn's
 * return as for mdt_store_list_decisions.  Works on read-only handles.
 */
typedef int (*mdt_work_item_fn)(void *arg, const mdt_work_item *it);
MDT_API MDT_WUR int mdt_store_work_list(mdt_store *store, const char *agent,
    mdt_work_item_fn fn, void *arg);

/*
 * Calls fn for each open task (neither ended nor revoked) in creation
 * order, with its state columns filled.  Records valid during the call
 * only; fn's return as for mdt_store_list_decisions.
 */
MDT_API MDT_WUR int mdt_store_open_tasks(mdt_store *store,
    mdt_store_task_fn fn, void *arg);

/* ======================================================================
 * Decision inputs kept for replay: policy sets and entity data
 * ==================================================================== */

/*
 * A policy set or a version of the entity data a decision was made
 * under, kept once per hash so a decision can be replayed later (and the
 * rules in force at a past instant reconstructed).  Chained like every
 * record.
 *
 *   time_ms      when first recorded; 0 on input = now
 *   source_kind  MDT_STORE_SOURCE_POLICIES ("policies": the hash is
 *                mdt_policy_set_hash's, a decision's policy_hash) or
 *                MDT_STORE_SOURCE_ENTITIES ("entities": a decision's
 *                entities_version)
 *   digest       the hash, hex text, at most MDT_STORE_FIELD_MAX bytes
 *                (required)
 *   content      JSON (validated, required, unbounded):
 *                {"files":[{"name":"NAME","text":"TEXT"},...]}, the files
 *                in load order (mdt_policy_set_from_source and
 *                mdt_entity_store_from_source in policy.h rebuild them)
 *   seq          output only
 */
#define MDT_STORE_SOURCE_POLICIES "policies"
#define MDT_STORE_SOURCE_ENTITIES "entities"

typedef struct mdt_store_source {
	int64_t time_ms;
	const char *source_kind;
	const char *digest;
	const char *content;
	uint64_t seq;
} mdt_store_source;

/*
 * Records src once: MDT_EEXIST (nothing written) when a source of the
 * same kind and digest is already kept, so a broker calls it at every load
 * and reload.  MDT_EINVAL for an unknown kind or a missing field,
 * MDT_EPARSE for content that is not JSON; durable on return.
 */
MDT_API MDT_WUR int mdt_store_put_source(mdt_store *store,
    const mdt_store_source *src, uint64_t *seq_out);

/*
 * The source of kind source_kind whose digest is hash (NULL: the one
 * recorded last).  *out (caller frees with mdt_free; one allocation) or
 * MDT_ENOTFOUND.  Works on read-only handles.
 */
MDT_API MDT_WUR int mdt_store_get_source(mdt_store *store,
    const char *source_kind, const char *hash, mdt_store_source **out);

/* ======================================================================
 * Review: decisions to look at after the fact
 * ==================================================================== */

/*
 * A review mark: decision_seq was looked at by reviewer, with a note.
 * A chained record (kind "review"), so mdt_store_verify covers it.
 *   time_ms      0 on input = now
 *   decision_seq the decision's sequence number (required)
 *   reviewer     who reviewed it (required)
 *   note         free text (required, at most MDT_STORE_JSON_MAX bytes)
 */
typedef struct mdt_store_review {
	int64_t time_ms;
	uint64_t decision_seq;
	const char *reviewer;
	const char *note;
	uint64_t seq;
} mdt_store_review;

/*
 * Marks a decision reviewed; durable on return.  MDT_ENOTFOUND when no
 * decision has decision_seq, MDT_EEXIST when it is marked already (the
 * first mark stands), MDT_EINVAL for a missing field.
 */
MDT_API MDT_WUR int mdt_store_add_review(mdt_store *store,
    const mdt_store_review *rev, uint64_t *seq_out);

/* Why a decision is in the review queue (bits of mdt_review_item.why). */
#define MDT_REVIEW_BREAK_GLASS 0x1u  /* purpose ETREAT (break-the-glass) */
#define MDT_REVIEW_STEP_UP 0x2u      /* a step-up was asked or used */
#define MDT_REVIEW_WIDENING 0x4u     /* a refused widening of scopes */
#define MDT_REVIEW_REPEATED 0x8u     /* one of repeated denials of an agent */
#define MDT_REVIEW_FLAGGED 0x10u     /* flagged by the broker for review */

/*
 * What the queue holds.  Zero-initialized = the defaults.
 *   deny_threshold  an agent's denials enter the queue once it has at
 *                   least this many within deny_window_ms (0 = 3)
 *   deny_window_ms  0 = 3600000 (one hour)
 *   since_ms        only decisions at or after this time (0 = all)
 *   include_reviewed  1: reviewed decisions too (with their mark)
 */
typedef struct mdt_review_opts {
	uint32_t deny_threshold;
	int64_t deny_window_ms;
	int64_t since_ms;
	int include_reviewed;
} mdt_review_opts;

/* One entry, valid during the callback only; review is NULL when the
 * decision is not marked. */
typedef struct mdt_review_item {
	const mdt_store_decision *decision;
	uint32_t why;
	const mdt_store_review *review;
} mdt_review_item;

typedef int (*mdt_review_fn)(void *arg, const mdt_review_item *item);

/*
 * Calls fn for each decision in the review queue in sequence order: those
 * that are break-the-glass, step-ups (asked, or allowed through an
 * approval), refused widenings (reason "scope.widen"), flagged for review,
 * or one of at least deny_threshold denials of the same acting agent
 * within deny_window_ms; a marked decision leaves the queue unless
 * include_reviewed.  opts may be NULL.  fn's return as for
 * mdt_store_list_decisions.  Works on read-only handles and on every
 * backend (it reads the whole log: cost follows the store's size).
 */
MDT_API MDT_WUR int mdt_store_review_queue(mdt_store *store,
    const mdt_review_opts *opts, mdt_review_fn fn, void *arg);

/* Calls fn for each review mark in sequence order (valid during the call
 * only); fn's return as for mdt_store_list_decisions. */
typedef int (*mdt_store_review_fn)(void *arg, const mdt_store_review *rev);
MDT_API MDT_WUR int mdt_store_list_reviews(mdt_store *store,
    mdt_store_review_fn fn, void *arg);

/* ======================================================================
 * Verification
 * ==================================================================== */

typedef enum mdt_store_issue_kind {
	MDT_STORE_CHANGED = 1,          /* fields do not match the record's hash */
	MDT_STORE_DELETED = 2,          /* records seq..seq_end are missing */
	MDT_STORE_INSERTED = 3,         /* a record that is not in the chain */
	MDT_STORE_REORDERED = 4,        /* a record out of its chain position */
	MDT_STORE_BROKEN_LINK = 5,      /* does not follow its predecessor */
	MDT_STORE_BAD_CHECKPOINT = 6,   /* invalid signature or wrong hash */
	MDT_STORE_MISSING_CHECKPOINT = 7, /* a checkpoint was removed */
	MDT_STORE_TRUNCATED = 8,        /* signed records missing at the end */
	MDT_STORE_UNSIGNED_TAIL = 9,    /* warning: records after the last
	                                   valid checkpoint are unsigned */
	MDT_STORE_INDEX_MISMATCH = 10,  /* derived tables disagree with the
	                                   chained records */
	MDT_STORE_BAD_HEAD = 11         /* a receipt head: bad signature,
	                                   broken head chain, or a root its
	                                   batch's decisions do not give */
} mdt_store_issue_kind;

typedef struct mdt_store_issue {
	mdt_store_issue_kind kind;
	int fatal;              /* 0 only for MDT_STORE_UNSIGNED_TAIL */
	uint64_t seq;           /* first sequence number concerned */
	uint64_t seq_end;       /* last one (== seq for a single record) */
	char message[MDT_ERRMSG_MAX]; /* what and where, for people */
} mdt_store_issue;

typedef struct mdt_store_report {
	uint64_t records;             /* records read */
	uint64_t last_seq;            /* highest seq present */
	uint64_t checkpoints;         /* checkpoints that verified */
	uint64_t last_checkpoint_seq; /* seq covered by the last valid one */
	uint64_t unsigned_records;    /* records after it */
	uint64_t issues;              /* fatal issues */
	uint64_t warnings;
	uint64_t heads;               /* receipt heads that verified */
	uint64_t last_head_seq;       /* seq covered by the last signed head
	                                 (heads are the checkpoints of a
	                                 store with receipts) */
} mdt_store_report;

typedef void (*mdt_store_issue_fn)(void *arg, const mdt_store_issue *issue);

/*
 * Verifies the store named by path, a store URI as for mdt_store_open
 * (MDT_EINVAL / MDT_EUNSUPPORTED as there), opened read-only (safe while
 * a broker writes it) against the broker's Ed25519 public key: every record's hash
 * and link, sequence contiguity, every checkpoint's signature and the
 * hash it covers, the checkpoint chain, the derived revocation index,
 * and every receipt head (signature, chain, root of its batch).
 * Calls fn (may be NULL) for each issue in sequence order; fills *report
 * (may be NULL).  Returns 0 when intact (warnings allowed), MDT_EAUDIT
 * when any fatal issue was found, MDT_ESTORE / MDT_EVERSION when the file
 * cannot be read as a store (reason in err).
 */
MDT_API MDT_WUR int mdt_store_verify(const char *path,
    const unsigned char pk[MDT_STORE_PK_BYTES], mdt_store_issue_fn fn,
    void *arg, mdt_store_report *report, char *err, size_t errlen);

/* Names for enums ("allow", "completed", "approved", "changed", ...);
 * static strings, "?" for unknown values. */
MDT_API const char *mdt_store_verdict_name(mdt_store_verdict v);
MDT_API const char *mdt_task_state_name(mdt_task_state s);
MDT_API const char *mdt_approval_state_name(mdt_approval_state s);
MDT_API const char *mdt_store_issue_name(mdt_store_issue_kind k);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_AUDIT_H */
