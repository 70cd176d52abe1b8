/*
 * Internals of mandated shared by the files of broker/daemon: the broker
 * request contexts, the registry snapshot, and the functions each file
 * provides.  Nothing here is public API.
 */
#ifndef BRK_BROKER_H
#define BRK_BROKER_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include <mandate/store.h>
#include <mandate/common.h>
#include <mandate/key.h>
#include <mandate/policy.h>
#include <mandate/scope.h>
#include <mandate/token.h>
#include <mandate/wire.h>

#include "config.h"
#include "log.h"
#include "metrics.h"

#define BRK_ID_MAX 256        /* SPIFFE ids, task ids, patient ids */
#define BRK_KEY_MAX (BRK_ID_MAX + MDT_WIRE_ID_MAX + 2)
#define BRK_DETAIL_MAX 256
#define BRK_ASSERTION_MAX (16u << 10)
/* clock skew allowed between the identity provider and the broker, s */
#define BRK_IDP_SKEW 30
#define BRK_RID_MAX (BRK_KEY_MAX + 16) /* audit request id + suffix */
#define BRK_SCOPES_TEXT_MAX (MDT_SCOPE_TEXT_MAX * MDT_SCOPE_SET_MAX)

typedef struct brk_broker brk_broker;
struct brk_ctx;
struct brk_worker;
struct brk_sessions;
struct brk_idem;
struct brk_queues;
struct brk_stepups;
struct brk_clinicians;

/* ---------------------------------------------------------- registry */

/* One registered agent (entity type Mandate::Agent). */
struct brk_agent {
	char *id;
	int has_key;           /* 0: registered without a key, cannot auth */
	mdt_pubkey pk;
	mdt_scope_set *ceiling;
	char **targets;        /* allowed delegation targets */
	size_t ntargets;
	int64_t max_depth;
	int64_t max_fanout;    /* 0: config max_fanout */
};

/*
 * What SIGHUP replaces atomically: policies, entities, the agent registry
 * and the reloadable settings.  Requests hold a reference for their whole
 * life, so a reload never changes the rules under a running request.
 */
struct brk_snapshot {
	atomic_int refs;
	struct brk_config cfg;
	mdt_policy_set *policies;
	mdt_entity_store *entities;
	struct brk_agent *agents;
	size_t nagents;
	void *idp;             /* identity provider verifier (assertion.c) */
	long gen;              /* 0 at start, one more at each reload */
	size_t care_files;     /* paths of care_data loaded */
	/* sources.c: what decisions under this snapshot replay against */
	char *policy_source;   /* the policy files (mdt_policy_dir_source) */
	char *entities_source; /* entities file and care data */
	char entities_version[MDT_POLICY_HASH_HEX];
};

/* sources.c: fills s's sources from cfg's files (after the policies are
 * loaded; -MDT_ECONFIG when the policy directory changed meanwhile). */
int brk_snapshot_sources(struct brk_snapshot *s, const struct brk_config *cfg,
    char *err, size_t errlen);
/* Keeps s's sources in the audit store (once per hash). */
int brk_sources_record(brk_broker *b, const struct brk_snapshot *s,
    char *err, size_t errlen);

int brk_snapshot_load(const struct brk_config *cfg, struct brk_snapshot **out,
    char *err, size_t errlen);
void brk_snapshot_release(struct brk_snapshot *s);
struct brk_snapshot *brk_snapshot_acquire(brk_broker *b);
const struct brk_agent *brk_agent_find(const struct brk_snapshot *s,
    const char *id);
int brk_agent_may_target(const struct brk_agent *a, const char *target);
/*
 * The one check of an agent id read from outside (registry, config,
 * hello, auth): a valid SPIFFE id (mdt_spiffe_validate) that fits
 * BRK_ID_MAX.  0, or -MDT_EPARSE / -MDT_ETOOBIG with why filled in.
 */
int brk_agent_id_check(const char *id, char *why, size_t whylen);
/* id made safe to quote in a message or log: non-printable bytes as '?',
 * cut after 96 bytes with "...". */
void brk_id_display(const char *id, char *out, size_t outlen);
/*
 * care.c: loads the care data of list (space-separated files and
 * directories of *.json, setting care_data) into es; *files: how many
 * paths it named.  0, or -MDT_ECONFIG with err naming the file and the
 * entity.
 */
int brk_care_load(const char *list, mdt_entity_store *es, size_t *files,
    char *err, size_t errlen);
/* Reloads the config file's reloadable settings and the registry; on
 * failure keeps the old snapshot and logs why. */
void brk_reload(brk_broker *b);

/* --------------------------------------------------------- requests */

enum brk_ctx_state {
	BRK_CTX_RECV = 1, /* waiting for a request */
	BRK_CTX_WORK,     /* queued for or held by a worker */
	BRK_CTX_PARKED,   /* long poll or step-up wait */
	BRK_CTX_SEND,     /* reply being sent */
	BRK_CTX_FOLLOW,   /* duplicate waiting for the first copy's reply */
	BRK_CTX_DONE      /* stopped */
};

/*
 * Where a request is in its life, which decides what a worker does with
 * it: each phase is one step of the state machine, named rather than
 * inferred from flags.
 */
enum brk_phase {
	BRK_PHASE_NEW = 0,  /* received: decode, authenticate, run the op */
	BRK_PHASE_WORKER,   /* run the op again from the start on a worker,
	                       because it is about to wait for the store */
	BRK_PHASE_RESUME,   /* its step-up was approved: authorize again,
	                       consuming the approval */
	BRK_PHASE_DELIVER   /* its audit record is done (or failed): send
	                       the answer kept in pending */
};

/* Why a request was refused: what travels in the reply's error map and
 * in the audit record's reasons. */
struct brk_deny {
	int status;              /* negative MDT_E* */
	const char *reason;      /* static machine-readable reason */
	char detail[BRK_DETAIL_MAX];
	char policies[BRK_DETAIL_MAX]; /* JSON array text, or "" */
	char plist[BRK_DETAIL_MAX];    /* the same ids, comma-separated */
};

/* One request: owned by its nng context from receipt to reply. */
struct brk_ctx {
	brk_broker *b;
	nng_ctx ctx;
	nng_aio *aio;            /* receives (ctx_cb) */
	nng_aio *saio;           /* sends: no callback (reply.c) */
	atomic_int state;        /* enum brk_ctx_state; read by drain */
	nng_msg *msg;            /* the request as received */
	mdt_wire_msg *req;
	const mdt_wire_val *root;
	uint32_t pipe;
	char agent[BRK_ID_MAX];  /* the pipe's authenticated agent, or "" */
	char key[BRK_KEY_MAX];   /* idempotency key (agent or pipe, id) */
	char audit_id[BRK_KEY_MAX]; /* request id recorded in the audit */
	uint8_t hash[32];        /* BLAKE2b of the request bytes */
	struct brk_snapshot *snap;
	int64_t deadline_ms;     /* parked until */
	struct brk_ctx *qnext;   /* job queue / follower list / waiters */
	struct brk_ctx *followers;
	void *park;              /* what it waits on (queue filter) */
	int answered;
	/* an answer waiting for its audit record's commit (record.c) */
	mdt_wire_writer *pending;
	int pending_verdict;
	const char *pending_op;     /* the recorded operation (static): its
	                               record on a resend, its log line */
	int pending_rc;          /* the store's outcome, set by the writer */
	void (*pending_fail)(struct brk_ctx *, const struct brk_deny *);
	char pending_rid[BRK_RID_MAX];
	const char *pending_reason;  /* NULL: not a refusal */
	int64_t t0_us;               /* arrival (brk_mono_us) */
	enum brk_phase phase;
	char resume_stepup[64];  /* RESUME: the approved step-up to consume */
	char *cedar_request;     /* the Cedar request evaluated (policy.c),
	                            recorded for replay; NULL: none */
};

/* Per-worker scratch reused across requests. */
struct brk_worker {
	brk_broker *b;
	pthread_t thr;
	mdt_policy_answer *ans;
	mdt_policy_record *rec;     /* request context */
	mdt_policy_record *attrs;   /* per-request entity attributes */
	mdt_entity_store *overlay;  /* per-request entities over the base */
	const mdt_entity_store *overlay_base;
	int on_nng;                 /* scratch of an nng callback thread */
};

/* ----------------------------------------------------------- broker */

struct brk_broker {
	struct brk_config cfg;
	char config_path[BRK_PATH_MAX];
	struct brk_logger log;
	mdt_keypair *root;
	mdt_pubkey root_pub;
	/* root rollover (keys.c): the retired root, kept to extend the
	 * tokens minted under it, or NULL; the roots tokens may name:
	 * root_pub, then the previous one */
	mdt_keypair *root_prev;
	mdt_pubkey roots[2];
	size_t nroots;
	mdt_store *store;
	mdt_token_cache *tcache;
	pthread_mutex_t snap_lock;
	struct brk_snapshot *snap;

	nng_socket rep, pub;
	nng_listener *listeners;
	size_t nlisteners;
	nng_tls_config *tls;
	struct brk_ctx *ctxs;
	size_t nctx;
	pthread_mutex_t pub_lock;
	/* held from an end's last look at its task to its end in the
	 * store, so two ends of one tree cannot both be recorded allowed */
	pthread_mutex_t end_lock;

	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond;
	struct brk_ctx *jobs_head, *jobs_tail;
	struct brk_worker *workers;
	size_t nworkers;
	/* scratch for requests run on nng's callback threads (server.c) */
#define BRK_POOL 16
	pthread_mutex_t pool_lock;
	struct brk_worker pool_mem[BRK_POOL];
	struct brk_worker *pool[BRK_POOL];
	size_t npool;
	pthread_t timer;
	/* replies queued behind another on their pipe (reply.c) */
	pthread_mutex_t sending_lock;
	struct brk_ctx *sending;
	atomic_int stopping;     /* 1: draining, 2: stopping threads */
	atomic_int busy;         /* contexts in WORK, PARKED, SEND, FOLLOW */
	atomic_int recording;    /* answers waiting for their audit commit */
	atomic_long unrecorded;  /* refusals answered without a record */
	/* unix seconds: the rules in force apply to single-action tokens
	 * issued from then on; verifiers refuse the earlier ones */
	atomic_llong epoch;
	/* the gen of the snapshot in force: sessions authenticated under an
	 * older one are checked against the new registry (session.c) */
	atomic_long reg_gen;

	struct brk_sessions *sessions;
	struct brk_idem *idem;
	struct brk_queues *queues;
	struct brk_stepups *stepups;
	struct brk_clinicians *clinicians;

	struct brk_metrics metrics;
	struct brk_http *http;   /* NULL: no http_listen */
};

/* notify.c: the service manager's notification socket (NOTIFY_SOCKET):
 * sends state ("READY=1", "STOPPING=1", ...); 0 also when there is no
 * socket to tell. */
int brk_notify(const char *state);
/* RELOADING=1 with the monotonic time of the reload. */
int brk_notify_reloading(void);

/* check.c: --check-config past the snapshot; prints what it loaded to
 * out.  0, or err says what a start would fail on. */
int brk_check_config(const struct brk_config *cfg,
    const struct brk_snapshot *snap, FILE *out, char *err, size_t errlen);

/* status.c: what /readyz, /metrics and the status op report. */
struct brk_status {
	long long queued, audit_pending, in_flight, parked, sessions;
	long long policies, uptime_s;
	char policy_hash[65];
	mdt_store_stats store;  /* all zero when it cannot be read */
	int store_ok;           /* the store is open and writable */
};
void brk_status_get(brk_broker *b, struct brk_status *out);
/* 1 when the broker can take requests: store writable, policies loaded;
 * else 0 with why filled in. */
int brk_ready(brk_broker *b, char *why, size_t len);

/* http.c: the local health and metrics listener (http_listen). */
int brk_http_start(brk_broker *b, char *err, size_t errlen);
/* Whether spec is a listener address http_listen accepts (empty: none);
 * nothing is bound. */
int brk_http_check(const char *spec, char *err, size_t errlen);
void brk_http_stop(brk_broker *b);

/* log.c */
void brk_log_apply(brk_broker *b);
#define BLOG(b, lvl, ev, ...) brk_log(&(b)->log, lvl, ev, __VA_ARGS__)

/* util.c */
int64_t brk_now_ms(void);
void brk_random_id(const char *prefix, char *out, size_t len);
int brk_mkdirs(const char *path, unsigned mode);
/* Creates path 0700 (with its parents) or, when it exists, checks that
 * it is a directory owned by this user and drops any group or other
 * bit.  0, or -MDT_EIO with err naming the path and its mode. */
int brk_private_dir(const char *path, char *err, size_t errlen);
/* JSON string escaping into out (without quotes); truncates safely. */
void brk_json_escape(const char *s, char *out, size_t len);
/* Parses space-separated scopes; NULL text gives an empty set. */
int brk_scopes_parse(const char *text, mdt_scope_set **out, char *err,
    size_t errlen);
/* Canonical text of a set into buf. */
void brk_scopes_text(const mdt_scope_set *s, char *buf, size_t len);
int brk_word_in(const char *list, const char *word);

/* keys.c: root key load or first-start generation, the keys of a
 * rollover (root_key_next, root_key_previous) and ROOT.pubs. */
int brk_root_key(brk_broker *b, char *err, size_t errlen);
/* The root key that signed block 0 of tok (current or previous): the one
 * its broker blocks must be signed with.  Never NULL: a token that names
 * neither gets the current one, and the library refuses it (MDT_EKEY). */
const mdt_keypair *brk_root_for(const brk_broker *b, const mdt_token *tok);
/* mdt_token_open under the roots the broker accepts. */
int brk_token_open(brk_broker *b, const uint8_t *buf, size_t len,
    mdt_token **out, mdt_token_reason *why);

/* listen.c: starts a listener for each space-separated URL of list on
 * s (tls+tcp:// with the broker's TLS configuration). */
int brk_listen_all(brk_broker *b, nng_socket s, const char *list, char *err,
    size_t errlen);

/* server.c: the op table, contexts, workers, the timer. */
int brk_server_start(brk_broker *b, char *err, size_t errlen);
void brk_server_drain(brk_broker *b);
void brk_server_stop(brk_broker *b);

/* reply.c: below the operations.  Context life, the job queue, and what
 * an operation calls to answer, park or hand on a request. */
void brk_ctx_recv(struct brk_ctx *c);
/* Recycles the contexts whose queued replies have left (timer). */
void brk_ctx_sweep_sends(brk_broker *b);
/* Sends m (which it owns from then on) as c's reply, then recycles c. */
void brk_ctx_send_msg(struct brk_ctx *c, nng_msg *m);
/* Frees what the context holds of its last request. */
void brk_ctx_reset(struct brk_ctx *c);
/* Back to receiving (or stopped when draining). */
void brk_ctx_recycle(struct brk_ctx *c);
void brk_jobs_push(brk_broker *b, struct brk_ctx *c);
/* The next job; NULL once the broker stops (stopping == 2). */
struct brk_ctx *brk_jobs_pop(brk_broker *b);
/* Sends the finished writer's bytes as the reply of c (and its
 * followers), records it for resends, frees w.  Any thread. */
void brk_reply(struct brk_ctx *c, mdt_wire_writer *w);
/* Writes the reply's "error" map for d (with "policies" when any). */
int brk_put_deny(mdt_wire_writer *w, const struct brk_deny *d);
/* Builds and sends an error reply. */
void brk_reply_deny(struct brk_ctx *c, const struct brk_deny *d);
void brk_reply_error(struct brk_ctx *c, int status, const char *reason,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* A writer for c's reply (ok or not); NULL on allocation failure. */
mdt_wire_writer *brk_reply_writer(struct brk_ctx *c, int ok);
/* The answer of an ended task: {task, revoked: [ids]}. */
void brk_reply_ended(struct brk_ctx *c, const char *task,
    const mdt_store_revocation *rv);
/* Marks c parked until deadline_ms (the caller links it somewhere the
 * timer or an event will find it). */
void brk_park(struct brk_ctx *c, int64_t deadline_ms);
/* Queues a parked request to run its op again (after a step-up). */
void brk_resume(struct brk_ctx *c);
/* Queues c to a worker to send the answer its audit record was waiting
 * for (brk_record_deliver); the worker knows it by c->pending.  Any
 * thread. */
void brk_defer_reply(struct brk_ctx *c);
/* Queues a request that was running on an nng thread to run its op again
 * from the start on a worker, because it is about to wait for the store.
 * Nothing of it may have been recorded or answered yet. */
void brk_rerun_on_worker(struct brk_ctx *c);

/* session.c: per-pipe authentication. */
int brk_sessions_new(struct brk_sessions **out);
void brk_sessions_free(struct brk_sessions *s);
/* Authenticated sessions now (takes the table's lock). */
size_t brk_sessions_count(struct brk_sessions *s);
void brk_session_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg);
/* Copies the pipe's agent into out ("" when unauthenticated). */
void brk_session_agent(brk_broker *b, uint32_t pipe, char *out, size_t len);
void brk_op_hello(struct brk_worker *w, struct brk_ctx *c);
/* Loads svid_bundle (when set) as authentication would: 0, or err says
 * what is wrong with it. */
int brk_svid_check(const struct brk_config *cfg, char *err, size_t errlen);
void brk_op_auth(struct brk_worker *w, struct brk_ctx *c);

/* idem.c: replies kept for resent requests. */
enum brk_idem_result { BRK_IDEM_NEW, BRK_IDEM_DONE, BRK_IDEM_FOLLOW,
    BRK_IDEM_CONFLICT };
int brk_idem_new(size_t max, int64_t ttl_s, struct brk_idem **out);
void brk_idem_free(struct brk_idem *m);
/* Registers c's key; DONE copies the stored reply into *reply. */
enum brk_idem_result brk_idem_begin(brk_broker *b, struct brk_ctx *c,
    nng_msg **reply);
/* Stores the reply of c's key (NULL: forget it) and detaches the
 * followers (returned). */
struct brk_ctx *brk_idem_finish(brk_broker *b, struct brk_ctx *c,
    const uint8_t *buf, size_t len);
void brk_idem_sweep(brk_broker *b, int64_t now_ms);

/* queue.c: work and result items, next long polls. */
int brk_queues_new(struct brk_queues **out);
void brk_queues_free(struct brk_queues *q);
struct brk_item;
struct brk_item *brk_item_task(const char *task, const char *parent,
    const char *from, const char *op, const mdt_token *tok,
    const char *scopes, const uint8_t *payload, size_t plen);
struct brk_item *brk_item_result(const char *task, const char *parent,
    const char *from, const char *status, const uint8_t *payload,
    size_t plen);
void brk_item_free(struct brk_item *it);
/* Stores it as a work item for agent (at most max pending), durable on
 * return, and wakes a parked next of agent that it matches.  Takes it
 * (NULL is -MDT_ENOMEM).  A task item that cannot be stored cancels its
 * subtask. */
int brk_queue_push(brk_broker *b, int64_t max, const char *agent,
    struct brk_item *it);
void brk_op_next(struct brk_worker *w, struct brk_ctx *c);
/* Acknowledges a work item the caller took with next. */
void brk_op_ack(struct brk_worker *w, struct brk_ctx *c);
/* Expires parked nexts; answers them "no work". */
void brk_queue_sweep(brk_broker *b, int64_t now_ms, int all);
/* Wakes every parked next of agent (NULL: of every agent) to lease
 * again: an item was queued through another broker. */
void brk_queue_wake(brk_broker *b, const char *agent);

/* peers.c: what other brokers on a shared store did (mdt_store_watch):
 * their ends are published on this broker's PUB socket, their work
 * wakes parked nexts here.  start: 0 also when the store is not shared;
 * stop: before the sockets close (safe when not started). */
int brk_peers_start(brk_broker *b, char *err, size_t errlen);
void brk_peers_stop(brk_broker *b);

/* pubsub.c */
void brk_publish(brk_broker *b, const char *topic, mdt_wire_writer *w);
void brk_publish_revoke(brk_broker *b, const mdt_store_revocation *rv,
    const char *reason);
void brk_publish_task(brk_broker *b, const char *event, const char *task,
    const char *parent, const char *agent);
/* The policy epoch (docs/broker.md, Reload): on each reload and every
 * second, so a verifier that subscribes late learns it too. */
void brk_publish_epoch(brk_broker *b);

/* clinician.c: the latest asserted scope of each clinician (stored;
 * cached here). */
int brk_clinicians_new(struct brk_clinicians **out);
void brk_clinicians_free(struct brk_clinicians *c);
/* Stores the grant unless a later one is stored: 0, or a store failure
 * (d filled). */
int brk_clinician_assert(brk_broker *b, const char *clinician,
    int64_t iat, const mdt_scope_set *scopes, struct brk_deny *d);
/* Copy of the latest asserted scope, -MDT_ENOTFOUND (none asserted), or
 * a store failure. */
int brk_clinician_scopes(brk_broker *b, const char *clinician,
    mdt_scope_set **out);
/* Another broker changed clinician's grant (NULL: notices were lost or
 * are back): the cached one is dropped; lost: cache nothing until back. */
void brk_clinician_forget(brk_broker *b, const char *clinician, int lost);

/* assertion.c: launch assertions through the identity provider. */
struct brk_claims {
	char clinician[BRK_ID_MAX];
	char patient[BRK_ID_MAX];
	char stepup[64];          /* mandate_stepup, "" when absent */
	char purpose_of_use[64];  /* purpose_of_use, "" when absent */
	uint8_t act[32];          /* BLAKE2b of what the IdP signed
	                             (header.payload): the act's id */
	mdt_scope_set *scopes;
	int64_t iat, exp;
};
int brk_idp_load(const struct brk_config *cfg, void **out, char *err,
    size_t errlen);
void brk_idp_free(void *idp);
/* Verifies a launch assertion; fills d on failure. */
int brk_assertion_verify(brk_broker *b, struct brk_ctx *c, const char *jwt,
    struct brk_claims *out, struct brk_deny *d);
void brk_claims_clear(struct brk_claims *cl);
/* Records that the act cl (kind "approval", "emergency") is used; once
 * only: -1 with d filled (act.reused, or store) otherwise. */
int brk_act_use(struct brk_ctx *c, const struct brk_claims *cl,
    const char *kind, struct brk_deny *d);

/* checks.c: the per-hop and per-action checks. */
struct brk_held {
	const char *claimed_task;        /* the request's task field */
	mdt_token *tok;                  /* verified; NULL before */
	mdt_store_task *task;            /* the task's record; NULL before */
	const struct brk_agent *agent;   /* the caller's registry entry */
	char chain_json[MDT_STORE_JSON_MAX / 4];
	char token_id[MDT_TOKEN_ID_TEXT_BYTES];
};
void brk_deny_set(struct brk_deny *d, int status, const char *reason,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Reads task + token fields, verifies the token and its holder, the
 * task and its chain.  0 or -1 with d filled. */
int brk_check_held(struct brk_worker *w, struct brk_ctx *c,
    struct brk_held *h, struct brk_deny *d);
void brk_held_clear(struct brk_held *h);
/* *out = token ∩ clinician (now) ∩ agent ceiling (now). */
int brk_effective_scopes(brk_broker *b, const struct brk_held *h,
    mdt_scope_set **out, struct brk_deny *d);

/* policy.c: Cedar requests with the full context. */
struct brk_pctx {
	const char *action;       /* Mandate::Action id */
	const char *principal;    /* acting agent */
	const char *res_type;     /* Cedar resource type */
	const char *res_id;
	const char *fhir_type;    /* non-NULL: add a Mandate::Resource */
	const char *fhir_id;      /* its id, NULL for type level / search */
	const char *res_patient;  /* the resource's patient, or NULL */
	const char *task_id;
	const char *clinician, *patient, *purpose;
	const char *tool;         /* tool name or NULL */
	const mdt_scope_param *args; /* a tool request's attributes */
	size_t nargs;
	const char *boundary;     /* none, export, writeback */
	const char *request_hash; /* hex, or NULL */
	const char *chain_json;
	int64_t depth;            /* task depth, root = 0 */
	int64_t children;
	bool approved;
};
/* Empties w's per-request entity overlay over s's entities (a new
 * overlay when the entities were reloaded).  0 or a negative code. */
int brk_policy_overlay(struct brk_worker *w, const struct brk_snapshot *s);
/* The answer's determining policies as a JSON array and a comma list. */
void brk_policy_reasons(const mdt_policy_answer *ans, char *json,
    size_t jlen, char *list, size_t llen);
/* Evaluates; d filled for deny/step-up/error; *decision out. */
int brk_policy_eval(struct brk_worker *w, struct brk_ctx *c,
    const struct brk_pctx *p, mdt_decision *decision, struct brk_deny *d,
    char *policies_json, size_t plen);

/* record.c: audit glue. */
struct brk_record {
	const char *op;
	mdt_store_verdict verdict;
	uint32_t flags;
	const struct brk_deny *deny; /* NULL for allow */
	const char *policies_json;   /* allow: determining policies */
	const char *task, *token_id, *clinician, *chain_json;
	const char *patient, *purpose, *action, *resource;
	const char *suffix;          /* distinguishes a second record */
	/* allow: the id of the single-action token the answer carries; its
	 * decision's receipt (docs/token-format.md section 13) is added to
	 * the answer as "receipt".  NULL: none. */
	const uint8_t *issued_token_id;
};
/* The record of op on h as far as it is known: the task's record, else
 * the verified token's facts, else the claimed task id. */
struct brk_record brk_held_record(const struct brk_ctx *c,
    const struct brk_held *h, const char *op, mdt_store_verdict v,
    const struct brk_deny *deny);
/*
 * Whether c's request id may be used for this content: 0 when it is not
 * recorded yet, or recorded for the same content (a resend); -1 with d
 * filled when it was recorded for other content (the refusal, id.reused,
 * is recorded) or the store failed.  Ops with effects before their record
 * call it first, so nothing is applied under a reused id.  Workers only.
 */
int brk_id_check(struct brk_ctx *c, const char *op, struct brk_deny *d);
/* Appends durably; -1 (with d filled as a store deny) on failure. */
int brk_record(struct brk_ctx *c, const struct brk_record *r,
    struct brk_deny *d);
/* Records the refusal d of op on h (as far as h is known; resource may
 * be NULL), then answers it; a refusal that cannot be recorded is still
 * a refusal, answered as a store deny.  Workers only. */
void brk_refuse(struct brk_ctx *c, const char *op, const struct brk_held *h,
    const struct brk_deny *d, const char *resource);
/*
 * Audit before answer without holding a thread: queues r's record and
 * returns; once it is committed the store's writer thread sends reply
 * (taken) as c's answer, or calls fail(c, store deny) when it could not
 * be recorded.  0: c now belongs to that callback and must not be
 * touched.  -1: nothing queued, reply freed, d filled; the caller still
 * answers c.
 */
typedef void (*brk_fail_fn)(struct brk_ctx *c, const struct brk_deny *d);
int brk_record_then_reply(struct brk_ctx *c, const struct brk_record *r,
    mdt_wire_writer *reply, brk_fail_fn fail, struct brk_deny *d);
/* Sends the answer of a committed (or failed) record; run by a worker. */
void brk_record_deliver(struct brk_ctx *c);

/* operations */
void brk_op_open(struct brk_worker *w, struct brk_ctx *c);
void brk_op_dispatch(struct brk_worker *w, struct brk_ctx *c);
void brk_op_end(struct brk_worker *w, struct brk_ctx *c);
void brk_op_result(struct brk_worker *w, struct brk_ctx *c);
void brk_op_tree(struct brk_worker *w, struct brk_ctx *c);
void brk_op_authorize(struct brk_worker *w, struct brk_ctx *c);
void brk_op_decide(struct brk_worker *w, struct brk_ctx *c);
/* ops_admin.c: an admin ends a task it does not hold. */
void brk_op_abort(struct brk_worker *w, struct brk_ctx *c);
/* ops_eval.c: an admin's Cedar decision about any subject. */
void brk_op_evaluate(struct brk_worker *w, struct brk_ctx *c);
/* status.c: an admin's query of the broker's state. */
void brk_op_status(struct brk_worker *w, struct brk_ctx *c);
void brk_op_access(struct brk_worker *w, struct brk_ctx *c);
void brk_op_review(struct brk_worker *w, struct brk_ctx *c);

/* stepup.c: step-ups (rows of the store) and the requests parked on
 * them here. */
struct brk_stepup_info {
	char id[64];
	char task[BRK_ID_MAX], agent[BRK_ID_MAX], clinician[BRK_ID_MAX];
	char patient[BRK_ID_MAX], purpose[64];
	char action[32], resource[MDT_STORE_FIELD_MAX];
	uint8_t hash[32];
	int64_t created_ms;
	int64_t expires_ms;
};
int brk_stepups_new(struct brk_stepups **out);
void brk_stepups_free(struct brk_stepups *s);
/* The hash an approval is bound to. */
void brk_stepup_hash(const char *task, const char *agent, const char *action,
    const char *resource, const char *patient, const char *purpose,
    const char *boundary, const char *audience, uint8_t out[32]);
/* Parks request parked (NULL: none) on the stored step-up in until
 * deadline_ms. */
int brk_stepup_add(brk_broker *b, const struct brk_stepup_info *in,
    struct brk_ctx *parked, int64_t deadline_ms);
/* The stored step-up id (*state: its mdt_approval_state): 0,
 * -MDT_ENOTFOUND, or a store failure. */
int brk_stepup_get(brk_broker *b, const char *id,
    struct brk_stepup_info *out, int *state);
/* Uses the stored approval id for a request of hash h (once, on every
 * broker): 0, or d filled. */
int brk_stepup_consume(brk_broker *b, const char *id, const uint8_t h[32],
    struct brk_deny *d);
/* The request parked here on step-up id, taken off the list, or NULL. */
struct brk_ctx *brk_stepup_take(brk_broker *b, const char *id);
/* Stores the expiry of step-up in: 0, -MDT_EEXIST (decided first). */
int brk_stepup_expire(brk_broker *b, const struct brk_stepup_info *in,
    int64_t now_ms);
/* Undoes a decision that could not be recorded: the approval is used up
 * so it can no longer be consumed. */
void brk_stepup_void(brk_broker *b, const char *id);
/* Another broker decided step-up id (or, _all, notices were missed):
 * the request parked here on it, if any, is answered. */
void brk_stepup_wake(brk_broker *b, const char *id);
void brk_stepup_wake_all(brk_broker *b);
void brk_stepup_sweep(struct brk_worker *w, brk_broker *b, int64_t now_ms,
    int all);
void brk_stepup_publish_decided(brk_broker *b,
    const struct brk_stepup_info *in, const char *decision);
/* ops_authz.c: answers a parked authorize with a final deny, recorded
 * with what its step-up in asked for (task, clinician, patient, action,
 * resource). */
void brk_authorize_final_deny(struct brk_ctx *c,
    const struct brk_stepup_info *in, int status, const char *reason,
    const char *detail);
/* Answers a parked authorize with its (recorded) step-up decision, as a
 * request without wait_ms gets it: the step-up's id and expiry. */
void brk_authorize_stepup_pending(struct brk_ctx *c,
    const struct brk_stepup_info *in);

#endif
