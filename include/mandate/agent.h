/*
 * libmandate-agent: the SDK for orchestrators, agents and resource servers.
 *
 * Three roles, one library (link with `pkg-config --libs mandate-agent`):
 *
 *   Orchestrators and agents talk to the broker (mandated) over nng
 *   request/reply, following docs/wire-protocol.md:
 *     mdt_agent   one authenticated connection to the broker for one agent
 *                 identity (a SPIFFE id and its Ed25519 key).
 *     mdt_task    a task the caller holds: its id, its delegation token and
 *                 the facts bound to it (clinician, patient, purpose,
 *                 scopes).  Obtained by opening a root task (orchestrator)
 *                 or by receiving work (agent); used to dispatch/delegate
 *                 subtasks, to ask for runtime authorization, to report a
 *                 result and to complete or cancel.
 *     mdt_authz   the broker's answer to one authorize request: allow (with
 *                 a sealed single-action token for the resource server),
 *                 deny (with a machine-readable reason) or step-up (with a
 *                 request id to wait on).
 *     mdt_event_sub  a subscription to the broker's PUB socket
 *                 (revocations, step-up requests, task events).
 *
 *   Resource servers verify tokens offline:
 *     mdt_rs_verifier  the broker's public key, the server's audience, a
 *                 revocation set (fed by a subscription to the broker's
 *                 PUB socket, or by hand) and a replay set of single-action
 *                 tokens already used.
 *
 * Connections re-establish themselves: when the broker restarts or the
 * pipe drops, the next request re-dials, re-runs the challenge-response
 * authentication and resends (requests carry ids and are idempotent, so a
 * resend is never applied twice).  Given several addresses of the same
 * service, a connection whose broker stays away moves to the next address
 * (failover, mdt_agent_opts).  Callers see an error only when no broker
 * answers within the request timeout.
 *
 * Options structs carry their size as their first member, so that later
 * versions can add fields at the end without breaking callers built
 * against this header.  Set it to sizeof the struct (the MDT_*_INIT
 * macros do); 0 is read as the size of the struct's first version (this
 * header's), so zero-initialized options keep working.  A size smaller
 * than the first version's is MDT_EINVAL; a larger one (a caller built
 * against a newer header) is accepted when every byte this library does
 * not know is zero, and refused with MDT_EUNSUPPORTED otherwise, since
 * the caller asked for something this library cannot do.
 *
 * Thread safety, per handle:
 *   mdt_agent        safe: any number of threads may use one connection at
 *                    once (each request runs on its own nng context); many
 *                    threads may wait in mdt_agent_next concurrently.
 *                    mdt_agent_close must not race with other calls.
 *   mdt_task         safe for concurrent authorize/dispatch from several
 *                    threads; mdt_task_free must not race with other calls.
 *                    A task borrows its mdt_agent: free tasks first.
 *   mdt_authz        immutable once returned; readable from any thread.
 *   mdt_event_sub    one thread at a time.
 *   mdt_rs_verifier  safe: verify, revoke and the background subscription
 *                    may run concurrently (internal lock).
 *
 * Errors are negative MDT_E* codes from <mandate/common.h>; functions
 * that take `char *err, size_t errlen` (err may be NULL) write a message
 * saying what failed and where.  Anything not declared here is internal.
 */
#ifndef MANDATE_AGENT_H
#define MANDATE_AGENT_H

#include <mandate/common.h>
#include <mandate/key.h>
#include <mandate/receipt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- sizes and bounds (exceeding one is MDT_ETOOBIG) ---- */

#define MDT_AGENT_ID_MAX 256         /* SPIFFE ids, task ids, request ids */
#define MDT_AGENT_URL_MAX 512        /* broker and event URLs */
#define MDT_AGENT_PAYLOAD_MAX (256u * 1024u) /* subtask payload / result */
#define MDT_AGENT_ASSERTION_MAX (16u * 1024u) /* launch assertion JWT */
#define MDT_AGENT_TOKEN_MAX 16384   /* binary token (MDT_TOKEN_BYTES_MAX) */
#define MDT_AGENT_REASON_MAX 512     /* deny reason text */
/* Header text of a single-action token ("mdt1." + base64url) or of a
 * proof of possession, NUL included. */
#define MDT_AGENT_HEADER_MAX 21856

/* HTTP header names a resource server reads the presentation from. */
#define MDT_HTTP_TOKEN_HEADER "Mandate-Token"
#define MDT_HTTP_PROOF_HEADER "Mandate-Proof"

typedef struct mdt_agent mdt_agent;
typedef struct mdt_task mdt_task;
typedef struct mdt_authz mdt_authz;
typedef struct mdt_event_sub mdt_event_sub;
typedef struct mdt_rs_verifier mdt_rs_verifier;

/* ======================================================================
 * Connection
 * ==================================================================== */

/* Most broker addresses a connection takes (mdt_agent_opts). */
#define MDT_AGENT_URLS_MAX 16

/*
 * Connection options.  Strings and keys are copied by mdt_agent_connect;
 * the caller may wipe and free them after it returns.
 *   size          sizeof(mdt_agent_opts) or 0 (see the top of this file).
 *   url           broker request/reply URL ("ipc:///run/mandate/api",
 *                 "tcp://127.0.0.1:7450"), or several addresses of the
 *                 same service separated by commas
 *                 ("tcp://10.0.0.1:7450,tcp://10.0.0.2:7450"), the form a
 *                 command line or an environment variable gives.  Ignored
 *                 when nurls > 0.
 *   spiffe_id     the agent's identity, as registered with the broker; an
 *                 invalid SPIFFE id is MDT_EINVAL before any connection.
 *   key           the agent's key pair (<mandate/key.h>, e.g. from
 *                 mdt_keypair_load); the handle keeps its own copy, wiped
 *                 on close.
 *   timeout_ms    per-request timeout, including reconnection and
 *                 re-authentication (0 = 10000).
  *   retry_ms      delay between re-dial attempts (0 = 100).
 *   urls, nurls   the broker addresses as an array (at most
 *                 MDT_AGENT_URLS_MAX; an address holding a comma must be
 *                 given this way).  The first is dialed first.
 *   failover_ms   with several addresses: how long the connection may
 *                 stay without a pipe to its broker (refused dials, a
 *                 broker killed or restarting) before it moves to the next
 *                 address, round robin (0 = 1000).  Requests in flight are
 *                 then resent to the new broker after re-authentication,
 *                 with their request ids, so a request the old broker
 *                 already decided is answered from its record, not
 *                 applied twice.
 */
typedef struct mdt_agent_opts {
	size_t size;
	const char *url;
	const char *spiffe_id;
	const mdt_keypair *key;
	uint32_t timeout_ms;
	uint32_t retry_ms;
	const char *const *urls;
	size_t nurls;
	uint32_t failover_ms;
} mdt_agent_opts;
#define MDT_AGENT_OPTS_INIT { .size = sizeof(mdt_agent_opts) }

/*
 * X.509-SVID authentication (mdt_agent_connect_svid).  Paths are copied.
 * The files are read again at every authentication, so an SVID rotated on
 * disk (by a SPIFFE agent or helper) is used from the next reconnect on.
 *   size       sizeof(mdt_agent_svid_opts) or 0.
 *   cert_file  PEM certificates: the SVID (leaf) first, then any
 *              intermediates.
 *   key_file   the SVID's unencrypted private key (PEM, mode 0600):
 *              ECDSA P-256, P-384 or Ed25519.
 */
typedef struct mdt_agent_svid_opts {
	size_t size;
	const char *cert_file;
	const char *key_file;
} mdt_agent_svid_opts;
#define MDT_AGENT_SVID_OPTS_INIT { .size = sizeof(mdt_agent_svid_opts) }

/*
 * Dials the broker and authenticates (hello + signed challenge).  Fails
 * with MDT_EAUTH when the broker refuses the identity or key,
 * MDT_ETRANSPORT / MDT_ETIMEDOUT when it cannot be reached in time.  On
 * success *out owns the connection; caller frees with mdt_agent_close.
 */
MDT_API MDT_WUR int mdt_agent_connect(const mdt_agent_opts *opts,
    mdt_agent **out, char *err, size_t errlen);

/*
 * As mdt_agent_connect, but answers the challenge with an X.509-SVID (the
 * chain and a signature by its key) instead of the Ed25519 key; the broker
 * must be configured with svid_bundle (MDT_EUNSUPPORTED otherwise).
 * opts->spiffe_id may be NULL: the SVID's id is used; when set it must
 * equal the SVID's (MDT_EAUTH).  opts->key may be NULL: the Ed25519 key
 * is then needed only to present tokens to resource servers, which
 * mdt_task_present refuses with MDT_EKEY without it.  Unreadable or
 * malformed SVID files fail here, before dialing.  On success *out owns
 * the connection; caller frees with mdt_agent_close.
 */
MDT_API MDT_WUR int mdt_agent_connect_svid(const mdt_agent_opts *opts,
    const mdt_agent_svid_opts *svid, mdt_agent **out, char *err,
    size_t errlen);

/* Closes the connection, wakes any waiter with MDT_ECLOSED, wipes the key
 * and frees the handle.  NULL is a no-op.  Free every mdt_task first. */
MDT_API void mdt_agent_close(mdt_agent *a);

/* The SPIFFE id this connection authenticated as; owned by the handle. */
MDT_API const char *mdt_agent_spiffe_id(const mdt_agent *a);

/* Number of times the connection re-authenticated after a lost pipe
 * (broker restart, network drop, failover) since connect.  For
 * monitoring. */
MDT_API uint64_t mdt_agent_reconnects(const mdt_agent *a);

/* The broker address the connection dials now (one of the addresses it
 * was given); owned by the handle, valid until mdt_agent_close. */
MDT_API const char *mdt_agent_url(const mdt_agent *a);

/* Number of times the connection moved to another broker address since
 * connect.  For monitoring. */
MDT_API uint64_t mdt_agent_failovers(const mdt_agent *a);

/* ======================================================================
 * Tasks: open, receive, inspect
 * ==================================================================== */

/*
 * Opening a root task (orchestrator).  Strings are borrowed for the call.
 *   size       sizeof(mdt_open_opts) or 0.
 *   assertion  the clinician's launch assertion (a JWT from the identity
 *              provider the broker trusts).
 *   patient    patient in context (must equal the assertion's `patient`).
 *   purpose    purpose of use code: "TREAT", "ETREAT" (break-the-glass),
 *              "HPAYMT", ...
 *   scopes     space-separated SMART scopes requested; the broker grants
 *              requested ∩ clinician ∩ orchestrator ceiling.
 */
typedef struct mdt_open_opts {
	size_t size;
	const char *assertion;
	const char *patient;
	const char *purpose;
	const char *scopes;
} mdt_open_opts;
#define MDT_OPEN_OPTS_INIT { .size = sizeof(mdt_open_opts) }

/*
 * Opens a root task on behalf of the clinician.  On success *out owns the
 * task (with its block-0 token, held by this agent); caller frees with
 * mdt_task_free.  A policy or scope refusal is MDT_EDENIED / MDT_ESCOPE
 * with the broker's reason in err.
 */
MDT_API MDT_WUR int mdt_agent_open_task(mdt_agent *a,
    const mdt_open_opts *opts, mdt_task **out, char *err, size_t errlen);

/*
 * Waits up to timeout_ms for work addressed to this agent (a subtask
 * dispatched or delegated to it).  MDT_ETIMEDOUT when none arrived.  On
 * success *out owns the received task; caller frees with mdt_task_free.
 *
 * Delivery is at least once.  The broker keeps each work item in its
 * store until it is acknowledged, which happens when the task is
 * completed or cancelled (by anyone, ancestors included) or with
 * mdt_task_ack.  An item taken here and not acknowledged within the
 * broker's work_lease_ms (default 60 s) is delivered again, also after a
 * broker restart or when this process died holding it: with the same
 * mdt_task_item_id and a higher mdt_task_deliveries.  An agent that
 * must not do the work twice keeps the ids it has done (or acks early).
 */
MDT_API MDT_WUR int mdt_agent_next(mdt_agent *a, uint32_t timeout_ms,
    mdt_task **out, char *err, size_t errlen);

/*
 * Callback style.  The handler owns `task` (free it with mdt_task_free,
 * possibly later on another thread).  Returning non-zero stops the loop.
 */
typedef int (*mdt_work_fn)(mdt_agent *a, mdt_task *task, void *arg);

/*
 * Calls fn for each work item until fn returns non-zero (then 0 is
 * returned), no work arrives for idle_ms (MDT_ETIMEDOUT; 0 = wait
 * forever), mdt_agent_stop is called (MDT_ECLOSED) or an error occurs.
 */
MDT_API MDT_WUR int mdt_agent_serve(mdt_agent *a, mdt_work_fn fn,
    void *arg, uint32_t idle_ms);

/* Makes mdt_agent_serve and every pending request return MDT_ECLOSED;
 * afterwards every call on the connection fails with MDT_ECLOSED (close
 * it).  Safe from any thread (not from a signal handler). */
MDT_API void mdt_agent_stop(mdt_agent *a);

/* Frees a task handle (the task itself lives on at the broker; see
 * mdt_task_complete / mdt_task_cancel).  Wipes the token.  NULL is a
 * no-op. */
MDT_API void mdt_task_free(mdt_task *t);

/* Accessors; strings are owned by the task and live as long as it.
 * parent is "" for a root task; from is the SPIFFE id of the agent that
 * dispatched the work ("" for a root task). */
MDT_API const char *mdt_task_id(const mdt_task *t);
MDT_API const char *mdt_task_parent(const mdt_task *t);
MDT_API const char *mdt_task_from(const mdt_task *t);
MDT_API const char *mdt_task_clinician(const mdt_task *t);
MDT_API const char *mdt_task_patient(const mdt_task *t);
MDT_API const char *mdt_task_purpose(const mdt_task *t);
/* Effective scopes of the task's token, canonical space-separated text. */
MDT_API const char *mdt_task_scopes(const mdt_task *t);
/* Remaining delegation depth. */
MDT_API uint32_t mdt_task_depth(const mdt_task *t);
/* Expiry of the task's token, Unix seconds. */
MDT_API int64_t mdt_task_expiry(const mdt_task *t);
/* The payload sent with the work (NULL and *len = 0 when none); owned by
 * the task. */
MDT_API const uint8_t *mdt_task_payload(const mdt_task *t, size_t *len);
/* The id of the work item that delivered the task: the same on every
 * redelivery ("" for a task opened with mdt_agent_open_task). */
MDT_API const char *mdt_task_item_id(const mdt_task *t);
/* How often the broker delivered that item: 1 the first time, 2 or more
 * for a redelivery after a lease ended (0 for an opened task). */
MDT_API uint32_t mdt_task_deliveries(const mdt_task *t);

/*
 * Acknowledges the work item that delivered t, so it is not delivered
 * again even while the task stays open (long work, or work handed on).
 * Completing or cancelling the task acknowledges it too; calling this is
 * needed only to stop redeliveries earlier.  0 also when there is
 * nothing to acknowledge (an opened task, an item acknowledged already
 * or whose task ended).
 */
MDT_API MDT_WUR int mdt_task_ack(mdt_task *t, char *err, size_t errlen);

/* ======================================================================
 * Delegation, results, completion
 * ==================================================================== */

/*
 * Sends a subtask of t to the agent named target (a SPIFFE id; an invalid
 * one is MDT_EINVAL before anything is sent) with
 * scopes (space-separated; must be inside the task's effective scopes,
 * the target's ceiling and policy, else MDT_ESCOPE / MDT_EDENIED / MDT_EDEPTH
 * / MDT_EFANOUT / MDT_ECYCLE with the broker's reason in err) and a payload
 * (may be NULL when len is 0; copied).  The same call serves an
 * orchestrator's dispatch and an agent's further delegation.  On success
 * the new task's id is written to child_id (NUL-terminated; at most
 * MDT_AGENT_ID_MAX bytes).
 */
MDT_API MDT_WUR int mdt_task_dispatch(mdt_task *t, const char *target,
    const char *scopes, const uint8_t *payload, size_t len,
    char child_id[MDT_AGENT_ID_MAX], char *err, size_t errlen);

/*
 * Waits up to timeout_ms for the result of the subtask child_id of t
 * (reported by its holder with mdt_task_complete).  On success *result
 * (caller frees with mdt_free) holds *len bytes (possibly 0, then *result
 * may be NULL).  MDT_ETIMEDOUT when none arrived, MDT_EREVOKED when the
 * child was cancelled.  A result is acknowledged to the broker once it
 * is handed over here; one that arrived but was never asked for is
 * delivered again after a restart of this process (at least once).
 */
MDT_API MDT_WUR int mdt_task_wait_result(mdt_task *t, const char *child_id,
    uint32_t timeout_ms, uint8_t **result, size_t *len, char *err,
    size_t errlen);

/*
 * Sends an interim result (copied; may be NULL when len is 0) to the
 * holder of t's parent without ending t; the parent receives it through
 * mdt_task_wait_result as a completion does.
 */
MDT_API MDT_WUR int mdt_task_report(mdt_task *t, const uint8_t *result,
    size_t len, char *err, size_t errlen);

/*
 * Reports the result (may be NULL when len is 0; copied) and completes
 * the task: its token and every descendant's are revoked at once and the
 * revocation is published.  The handle stays valid (for accessors) until
 * mdt_task_free; further requests with it fail with MDT_EREVOKED.
 */
MDT_API MDT_WUR int mdt_task_complete(mdt_task *t, const uint8_t *result,
    size_t len, char *err, size_t errlen);

/* Cancels the task (revoking it and every descendant, as complete does,
 * but without a result); reason is recorded in the audit (may be NULL). */
MDT_API MDT_WUR int mdt_task_cancel(mdt_task *t, const char *reason,
    char *err, size_t errlen);

/* ======================================================================
 * Runtime authorization
 * ==================================================================== */

typedef enum mdt_authz_decision {
	MDT_AUTHZ_DENY = 0,
	MDT_AUTHZ_ALLOW = 1,
	MDT_AUTHZ_STEP_UP = 2
} mdt_authz_decision;

/* Flags on a decision. */
#define MDT_AUTHZ_FLAG_REVIEW 0x1u   /* flagged for review (break-the-glass) */
#define MDT_AUTHZ_FLAG_APPROVED 0x2u /* allowed by a clinician's approval */

/*
 * One authorization request.  Strings are borrowed for the call.
 *   size      sizeof(mdt_authz_request) or 0.
 *   action    one permission letter: "c" "r" "u" "d" "s" for FHIR, or a
 *             tool letter for tool/ resources (docs/scopes.md).
 *   resource  "Type/id", "Type", "Type?name=value&..." or "tool/NAME".
 *   patient   the patient the caller says the resource belongs to (NULL:
 *             the task's patient).  The broker derives the patient from
 *             the reference itself and refuses a reference naming
 *             another patient, or a search naming none, whatever this
 *             says; for an instance read ("Observation/obs-1") this
 *             claim is all there is, and the resource server checks it
 *             against the record (docs/scopes.md).
 *   boundary  NULL or "none", "export" (data leaves the organisation) or
 *             "writeback" (chart write-back): boundary crossings may be
 *             held for a clinician's step-up by policy.
 *   audience  resource server the single-action token is for (NULL = the
 *             broker's configured gateway audience).
 *   wait_ms   when policy asks for step-up, wait up to this long for the
 *             clinician's decision before answering (0 = answer step-up
 *             at once; see mdt_task_wait_step_up).
 */
typedef struct mdt_authz_request {
	size_t size;
	const char *action;
	const char *resource;
	const char *patient;
	const char *boundary;
	const char *audience;
	uint32_t wait_ms;
} mdt_authz_request;
#define MDT_AUTHZ_REQUEST_INIT { .size = sizeof(mdt_authz_request) }

/*
 * Asks the broker whether the holder of t may perform req now.  A
 * decision -- allow, deny or step-up -- is success (returns 0 with *out
 * set; caller frees with mdt_authz_free); a non-zero return means no
 * decision was obtained (transport, protocol, revoked task) and must be
 * treated as a deny too.
 */
MDT_API MDT_WUR int mdt_task_authorize_req(mdt_task *t,
    const mdt_authz_request *req, mdt_authz **out, char *err,
    size_t errlen);

/* Shorthand for mdt_task_authorize_req with only action and resource. */
MDT_API MDT_WUR int mdt_task_authorize(mdt_task *t, const char *action,
    const char *resource, mdt_authz **out, char *err, size_t errlen);

/*
 * After a step-up answer `az` to a request made with t, waits up to
 * timeout_ms for the clinician's decision, asking the broker again with
 * the step-up id (the same action, resource, patient, boundary and
 * audience) until it is decided.  On success *out (caller frees with
 * mdt_authz_free) is the final answer: allow (with a token, flagged
 * MDT_AUTHZ_FLAG_APPROVED; the approval is used up) or deny
 * ("step_up.rejected", or expired).  MDT_ETIMEDOUT while still undecided,
 * MDT_EINVAL when az is not a step-up answer.  Asking with
 * mdt_authz_request.wait_ms instead lets the broker hold the request until
 * the decision, in one round trip.
 */
MDT_API MDT_WUR int mdt_task_wait_step_up(mdt_task *t, const mdt_authz *az,
    uint32_t timeout_ms, mdt_authz **out, char *err, size_t errlen);

/* Frees an answer and wipes its token.  NULL is a no-op. */
MDT_API void mdt_authz_free(mdt_authz *az);

MDT_API mdt_authz_decision mdt_authz_decision_of(const mdt_authz *az);
/* MDT_AUTHZ_FLAG_* bits. */
MDT_API uint32_t mdt_authz_flags(const mdt_authz *az);
/* Machine-readable reason of a deny or step-up ("policy.deny",
 * "scope.token", "step_up.required", ...: docs/wire-protocol.md; "" on
 * allow); owned by az. */
MDT_API const char *mdt_authz_reason(const mdt_authz *az);
/* Human detail of a deny (which scope, which policy); owned by az. */
MDT_API const char *mdt_authz_detail(const mdt_authz *az);
/* Determining policy ids, comma-separated ("" when none); owned by az. */
MDT_API const char *mdt_authz_policies(const mdt_authz *az);
/* Step-up request id ("" unless step-up); owned by az. */
MDT_API const char *mdt_authz_request_id(const mdt_authz *az);
/* Expiry (Unix seconds) of the token on allow, of the step-up request on
 * step-up; 0 on deny. */
MDT_API int64_t mdt_authz_expires(const mdt_authz *az);
/* The sealed single-action token (NULL unless allow); owned by az. */
MDT_API const uint8_t *mdt_authz_token(const mdt_authz *az, size_t *len);
/* The receipt of the allow's decision (docs/token-format.md section 13;
 * mdt_receipt_decode reads it, mdt_receipt_to_text gives the text a
 * resource server takes): NULL when the broker's store makes none;
 * owned by az. */
MDT_API const uint8_t *mdt_authz_receipt(const mdt_authz *az, size_t *len);

/*
 * Builds what a resource server needs to accept an allowed request: the
 * single-action token and a fresh proof of possession of the holder's key
 * bound to that token, the action, the resource and the time `now` (Unix
 * seconds; 0 = current time) and a fresh random nonce, as NUL-terminated
 * text for the MDT_HTTP_TOKEN_HEADER header (the token's text form,
 * "mdt1.<base64url>") and the MDT_HTTP_PROOF_HEADER header
 * ("mdtpop1.<time>.<nonce>.<base64url signature>", docs/sdk.md).  Each
 * call makes a new proof; the token itself is accepted once.  MDT_EINVAL
 * when az is not an allow.  Buffers: MDT_AGENT_HEADER_MAX bytes.
 */
MDT_API MDT_WUR int mdt_task_present(mdt_task *t, const mdt_authz *az,
    int64_t now, char token_text[MDT_AGENT_HEADER_MAX],
    char proof_text[MDT_AGENT_HEADER_MAX]);

/* ======================================================================
 * Clinician decisions and admin queries
 * ==================================================================== */

/*
 * Approves (approve != 0) or rejects a parked step-up request on behalf of
 * the clinician named by `assertion` (a launch assertion for the same
 * clinician and patient as the task).  `note` (may be NULL) goes to the
 * audit record.  Sent over any authenticated connection.
 */
MDT_API MDT_WUR int mdt_agent_decide_step_up(mdt_agent *a,
    const char *request_id, const char *assertion, int approve,
    const char *note, char *err, size_t errlen);

/*
 * Admin action: ends task_id as cancelled (revoking its subtree, as its
 * holder's mdt_task_cancel would) although the caller does not hold it,
 * for a task left open by an agent that is gone.  The broker allows it
 * to agents listed in its `admins` setting only (MDT_EAUTH otherwise),
 * records the decision, publishes the revocation and sends the parent's
 * holder a `cancelled` result.  reason (may be NULL) goes to the audit
 * record.  *revoked (may be NULL) gets how many tasks ended.
 * MDT_ENOTFOUND for an unknown task, MDT_EREVOKED when it already ended.
 */
MDT_API MDT_WUR int mdt_agent_abort_task(mdt_agent *a, const char *task_id,
    const char *reason, size_t *revoked, char *err, size_t errlen);

/*
 * Read-only admin query: the task tree rooted at (or containing) task_id
 * with its delegation edges and decisions, as JSON text (documented in
 * docs/wire-protocol.md).  Caller frees *json with mdt_free.
 */
MDT_API MDT_WUR int mdt_agent_task_graph(mdt_agent *a, const char *task_id,
    char **json, char *err, size_t errlen);

/*
 * A decision about any subject, asked of the broker's Cedar policy set
 * and entities (op `evaluate`, docs/wire-protocol.md): what a policy
 * enforcement point asks through the AuthZEN front (docs/authzen.md).
 * Types are Cedar type names ("user", "Mandate::Agent"); the action is
 * an Action of the resource type's namespace.  *_props and context are
 * Cedar JSON objects (NULL: none); the props become the attributes of an
 * entity the broker does not hold.  All borrowed for the call.
 */
typedef struct mdt_eval_request {
	size_t size;   /* sizeof(mdt_eval_request), or 0 */
	const char *subject_type, *subject_id, *subject_props;
	const char *action;
	const char *resource_type, *resource_id, *resource_props;
	const char *context;
	/* A deny the caller already decided (a Mandate token it refused,
	 * docs/authzen.md): when refused_reason is set the broker asks no
	 * policy and records and answers a deny with this reason (at most 63
	 * bytes of [a-z0-9._]) and refused_detail (at most 255 bytes, NULL:
	 * none); token_id names the refused token when known (NULL: not).
	 * A broker that answers such a request with an allow does not know
	 * refused: MDT_EPROTO, never an allow. */
	const char *refused_reason, *refused_detail, *token_id;
} mdt_eval_request;
#define MDT_EVAL_REQUEST_INIT { .size = sizeof(mdt_eval_request) }

#define MDT_EVAL_TEXT_MAX 256
/* The decision: allow, and for a deny its reason ("policy.deny",
 * "policy.error", "step_up.required") and detail; policies the
 * determining policy ids, comma-separated (truncated to fit). */
typedef struct mdt_eval_result {
	int allow;
	char reason[64];
	char detail[MDT_EVAL_TEXT_MAX];
	char policies[MDT_EVAL_TEXT_MAX];
} mdt_eval_result;

/*
 * Asks the broker for the decision of req; the broker records it before
 * it answers.  Allowed to agents listed in the broker's `evaluators` only
 * (MDT_EAUTH).  0 with *out filled (allow or deny); a negative code when
 * no decision was made (MDT_EPROTO for a malformed request, with err
 * saying which field; MDT_ESTORE when it could not be recorded).
 */
MDT_API MDT_WUR int mdt_agent_evaluate(mdt_agent *a,
    const mdt_eval_request *req, mdt_eval_result *out, char *err,
    size_t errlen);

/*
 * Read-only admin query: the broker's state as one JSON object (fields in
 * docs/operations.md, "Status"): version, policy_hash, policies,
 * uptime_s, sessions, queued, audit_pending, in_flight, parked,
 * unrecorded_refusals and store {writable, head_seq, checkpoint_seq,
 * checkpoint_ms, batches, failed_batches}.  Allowed to agents listed in
 * the broker's `admins` setting (MDT_EAUTH otherwise).  Caller frees
 * *json with mdt_free.
 */
MDT_API MDT_WUR int mdt_agent_broker_status(mdt_agent *a, char **json,
    char *err, size_t errlen);

/*
 * Read-only admin query: what agent may do to patient at this instant,
 * across every open task it holds for that patient, as one JSON object
 * (docs/security-teams.md, "access"):
 *
 *   {"agent","patient","time_ms","policy_hash","entities_version",
 *    "tasks":[{"task","clinician","purpose","expires_ms",
 *      "token_scopes","clinician_scopes","ceiling","effective_scopes",
 *      "actions":[{"action":"r","cedar_action":"read",
 *        "resource":"Observation","decision":"allow"|"step_up"|"deny",
 *        "policies":[...]}]}]}
 *
 * effective_scopes is token ∩ clinician now ∩ agent ceiling now; each
 * action those scopes grant is asked of the policy set in force, at the
 * resource type, as authorize would ask it.  Allowed to agents listed in
 * the broker's `admins` setting (MDT_EAUTH otherwise); the broker
 * records the question (operation "access", the asked-about agent as its
 * resource) before it answers.  Caller frees *json with mdt_free.
 */
MDT_API MDT_WUR int mdt_agent_access(mdt_agent *a, const char *agent,
    const char *patient, char **json, char *err, size_t errlen);

/*
 * Admin: marks decision seq reviewed, by reviewer (NULL: the admin's own
 * id), with note, through the broker (which holds a SQLite store's
 * writer lock; store.h's mdt_store_add_review writes it directly).  The
 * mark is a chained record; *mark_seq (may be NULL) gets its sequence
 * number.  MDT_EEXIST when the decision is marked already, MDT_ENOTFOUND
 * when there is no such decision, MDT_EAUTH for an agent not in
 * `admins`.
 */
MDT_API MDT_WUR int mdt_agent_review_mark(mdt_agent *a, uint64_t seq,
    const char *reviewer, const char *note, uint64_t *mark_seq, char *err,
    size_t errlen);

/* ======================================================================
 * Event subscription (broker PUB socket)
 * ==================================================================== */

typedef enum mdt_event_kind {
	MDT_EVENT_REVOKED = 1,   /* ids: revoked task and token ids */
	MDT_EVENT_STEP_UP = 2,   /* a step-up request was parked */
	MDT_EVENT_DECIDED = 3,   /* a step-up was approved/rejected/expired */
	MDT_EVENT_TASK = 4,      /* task opened, dispatched, completed */
	MDT_EVENT_EPOCH = 5      /* the rules changed: earlier grants end */
} mdt_event_kind;

/*
 * One event (docs/wire-protocol.md, "Events").  Strings are owned by the
 * subscription and valid until the next mdt_event_sub_next or
 * mdt_event_sub_close; a field the event does not carry is "".
 *   MDT_EVENT_REVOKED  ids/nids: the revoked task ids; detail: "completed"
 *                      or "cancelled"
 *   MDT_EVENT_STEP_UP  request_id (the step-up id), task_id, agent,
 *                      clinician, action, resource, patient, purpose;
 *                      expires
 *   MDT_EVENT_TASK     detail: "open", "dispatch", "delegate", "completed"
 *                      or "cancelled"; task_id, parent, agent
 *   MDT_EVENT_DECIDED  request_id, detail: "approved"/"rejected"/"expired"
 *   MDT_EVENT_EPOCH    time: the policy epoch.  The broker reloaded its
 *                      policies, registry or care teams; single-action
 *                      tokens issued before the epoch were decided under
 *                      the old rules and are refused by resource servers.
 *                      Published on every reload and again every second.
 */
typedef struct mdt_event {
	mdt_event_kind kind;
	int64_t time;
	int64_t expires;
	const char *task_id;
	const char *parent;
	const char *request_id;
	const char *agent;
	const char *clinician;
	const char *patient;
	const char *purpose;
	const char *action;
	const char *resource;
	const char *detail;
	const char *const *ids;
	size_t nids;
} mdt_event;

/* Subscribes to the broker's PUB socket at url (every event kind; dialing
 * retries in the background).  Caller frees with mdt_event_sub_close. */
MDT_API MDT_WUR int mdt_event_sub_open(const char *url, mdt_event_sub **out,
    char *err, size_t errlen);

/* Waits up to timeout_ms for the next event; MDT_ETIMEDOUT when none. */
MDT_API MDT_WUR int mdt_event_sub_next(mdt_event_sub *s, uint32_t timeout_ms,
    mdt_event *ev);

/* Closes the subscription.  NULL is a no-op. */
MDT_API void mdt_event_sub_close(mdt_event_sub *s);

/* ======================================================================
 * Resource-server verifier (offline)
 * ==================================================================== */

/*
 * Verifier options.  Copied by mdt_rs_verifier_new.
 *   size         sizeof(mdt_rs_verifier_opts) or 0.
 *   broker_key   the broker's token-signing (root) public key.
 *   audience     this resource server's identity; only single-action
 *                tokens minted for it are accepted.
 *   events_url   the broker's PUB URL; when not NULL a background
 *                subscription feeds revocations into the verifier.
 *   max_skew_s   accepted clock difference for proofs (0 = 30).
 */
typedef struct mdt_rs_verifier_opts {
	size_t size;
	const mdt_pubkey *broker_key;
	const char *audience;
	const char *events_url;
	uint32_t max_skew_s;
} mdt_rs_verifier_opts;
#define MDT_RS_VERIFIER_OPTS_INIT { .size = sizeof(mdt_rs_verifier_opts) }

/* What a verified presentation authorizes; filled on allow.  Plain
 * fixed-size strings so the caller owns nothing. */
typedef struct mdt_rs_grant {
	char task_id[MDT_AGENT_ID_MAX];
	char token_id[MDT_AGENT_ID_MAX];
	char holder[MDT_AGENT_ID_MAX];
	char clinician[MDT_AGENT_ID_MAX];
	char patient[MDT_AGENT_ID_MAX];
	char purpose[32];
	int64_t expiry;
} mdt_rs_grant;

/* Creates a verifier (and its subscription when events_url is set).
 * A verifier remembers the tokens it accepted in memory, so it refuses
 * single-action tokens issued before it started (MDT_EREVOKED): one its
 * predecessor accepted cannot be replayed after a restart.  Token times
 * are whole seconds, so it starts on the next second's boundary and
 * returns then (it waits up to one second).
 * Caller frees with mdt_rs_verifier_free. */
MDT_API MDT_WUR int mdt_rs_verifier_new(const mdt_rs_verifier_opts *opts,
    mdt_rs_verifier **out, char *err, size_t errlen);

/* Stops the subscription and frees the verifier.  NULL is a no-op. */
MDT_API void mdt_rs_verifier_free(mdt_rs_verifier *v);

/*
 * Replaces the root keys the verifier accepts tokens under (at first,
 * broker_key alone) with roots (1..MDT_TOKEN_ROOTS_MAX keys, copied), as
 * the broker's root set changes during a root key rollover
 * (mdt_token_roots_load reads the ROOT.pubs file the broker publishes);
 * a token verifies under the key its block 0 names.  Safe while other
 * threads verify.  MDT_EINVAL for a bad count.
 */
MDT_API MDT_WUR int mdt_rs_verifier_set_roots(mdt_rs_verifier *v,
    const mdt_pubkey *roots, size_t n);

/* Adds a revoked task or token id by hand (in addition to, or instead
 * of, the subscription).  The set is bounded; when full, MDT_EBUSY. */
MDT_API MDT_WUR int mdt_rs_verifier_revoke(mdt_rs_verifier *v,
    const char *id);

/* 1 when the task or token id is in the revocation set, else 0. */
MDT_API int mdt_rs_verifier_is_revoked(mdt_rs_verifier *v, const char *id);

/* Number of revocations received or added so far (for tests/monitoring). */
MDT_API uint64_t mdt_rs_verifier_revocations(const mdt_rs_verifier *v);

/* Raises the policy epoch (unix seconds; a lower value is ignored): a
 * single-action token issued before it is refused with MDT_EREVOKED.
 * The subscription does this on each MDT_EVENT_EPOCH. */
MDT_API void mdt_rs_verifier_set_epoch(mdt_rs_verifier *v, int64_t epoch);

/* The policy epoch in force (0 before any). */
MDT_API int64_t mdt_rs_verifier_epoch(const mdt_rs_verifier *v);

/*
 * The request a presentation is checked against.  Strings borrowed.
 *   size      sizeof(mdt_rs_request) or 0
 *   action    the permission letter the server is about to perform ("r"
 *             for a read, "s" for a search, ...)
 *   resource  the reference it is about to serve ("Observation/obs-1",
 *             "Observation?patient=pat-001")
 *   patient   the patient whose compartment holds the resource, or NULL
 *             when it is in none
 *   now       Unix seconds; 0 = the current time
 */
typedef struct mdt_rs_request {
	size_t size;
	const char *action;
	const char *resource;
	const char *patient;
	int64_t now;
} mdt_rs_request;
#define MDT_RS_REQUEST_INIT { .size = sizeof(mdt_rs_request) }

/*
 * Verifies one presentation, entirely offline: the token (text form,
 * "mdt1.<base64url>", as in the MDT_HTTP_TOKEN_HEADER header) is a sealed
 * single-action token whose chain verifies from the broker key; it is for
 * this audience and for exactly req's action on req's resource in req's
 * patient's compartment, not expired; no task on its chain is revoked;
 * the proof (MDT_HTTP_PROOF_HEADER text, from mdt_task_present) is a
 * signature by the token's holder key over this token, audience, action,
 * resource, a fresh nonce and a time within max_skew_s of now; and
 * neither the token nor the nonce was accepted before (single use).
 * Returns 0 (allow; *grant filled when not NULL) or the first failing
 * check (MDT_EDECODE, MDT_ESIG, MDT_EKEY, MDT_EEXPIRED, MDT_EAUDIENCE,
 * MDT_ESCOPE, MDT_EPATIENT, MDT_EREVOKED, MDT_EHOLDER, MDT_EEXIST for a
 * replay, MDT_EBUSY when the verifier could not record a revocation or a
 * use and so refuses everything), with a reason in err.
 */
MDT_API MDT_WUR int mdt_rs_verify(mdt_rs_verifier *v, const char *token,
    const char *proof, const mdt_rs_request *req, mdt_rs_grant *grant,
    char *err, size_t errlen);

/*
 * mdt_rs_verify that also requires the decision's receipt (text form,
 * "mdtrc1.<base64url>", the Mandate-Receipt header; docs/token-format.md
 * section 13): proof, offline, that the broker committed the decision
 * that issued this token to its audit log.  The head must be signed by a
 * root key of the verifier (the one its key id names) and the proof lead
 * from the leaf of this token's id to the head's root.  The token's id
 * hashes every byte of it, so the receipt stands for the token's own
 * block signatures, which are not checked one by one
 * (mdt_token_verify_receipt).  Verified heads are cached (bounded), so
 * the tokens of one commit batch cost one head signature check between
 * them, and each its holder's proof of possession.  Besides
 * mdt_rs_verify's codes:
 * MDT_EAUTH (no receipt), MDT_EDECODE (malformed, index past the tree),
 * MDT_ECHAIN (another batch's head, or a receipt for another token),
 * MDT_EKEY (head of another key), MDT_ESIG (head signature), with the
 * reason in err.
 */
MDT_API MDT_WUR int mdt_rs_verify_receipt(mdt_rs_verifier *v,
    const char *token, const char *proof, const char *receipt,
    const mdt_rs_request *req, mdt_rs_grant *grant, char *err,
    size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_AGENT_H */
