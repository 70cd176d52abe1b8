/*
 * Internals shared by the files of libmandate-agent.  Nothing here is
 * public; the API is include/mandate/agent.h.
 */
#ifndef MDT_SDK_INT_H
#define MDT_SDK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <nng/nng.h>

#include <mandate/agent.h>
#include <mandate/token.h>
#include <mandate/wire.h>

/* Largest message accepted from the broker (MDT_WIRE_MSG_MAX). */
#define SDK_MSG_MAX (1u << 20)
/* Longest SVID file path. */
#define SDK_PATH_MAX 1024

/* ---- bounded id sets (idset.c) ---- */

typedef struct sdk_idset sdk_idset;

/* A set holding at most cap live ids.  Caller frees with sdk_idset_free. */
int sdk_idset_new(size_t cap, sdk_idset **out);
void sdk_idset_free(sdk_idset *s);
/* Remembers id (len bytes) until `expires` (Unix seconds).  -MDT_EEXIST
 * when it is already present and alive (the entry is left unchanged),
 * -MDT_EBUSY when the set is full of live entries. */
int sdk_idset_add(sdk_idset *s, const char *id, size_t len, int64_t expires,
    int64_t now);
/* 1 when id is present and alive at now, else 0. */
int sdk_idset_has(const sdk_idset *s, const char *id, size_t len,
    int64_t now);
size_t sdk_idset_count(const sdk_idset *s);

/* ---- the connection (conn.c) ---- */

/* A result item received for a task of ours, kept until asked for. */
typedef struct sdk_result {
	struct sdk_result *next;
	char *item;   /* the work item's id, acknowledged when taken */
	char *task;   /* the child task the result is for */
	char *parent;
	char *status; /* "result", "completed" or "cancelled" */
	uint8_t *payload;
	size_t len;
} sdk_result;

#define SDK_MAILBOX_MAX 4096 /* results held per connection */

struct mdt_agent {
	char urls[MDT_AGENT_URLS_MAX][MDT_AGENT_URL_MAX]; /* set at connect */
	size_t nurls;
	atomic_size_t cur;            /* index of the address dialed now */
	uint32_t failover_ms;
	nng_dialer dialer;            /* the monitor's once it runs */
	atomic_int pipes;             /* live pipes (pipe events) */
	atomic_uint_fast64_t failovers;
	pthread_t mon;                /* failover monitor (failover.c) */
	pthread_mutex_t mon_mu;       /* guards mon_stop */
	pthread_cond_t mon_cv;
	int mon_init, mon_running, mon_stop;
	char spiffe_id[MDT_AGENT_ID_MAX];
	char id_prefix[17];
	mdt_keypair *key;             /* NULL: SVID only, no holder key */
	char svid_cert[SDK_PATH_MAX]; /* "": authenticate with key */
	char svid_key[SDK_PATH_MAX];
	uint32_t timeout_ms;
	uint32_t retry_ms;
	nng_socket sock;
	int sock_open;
	atomic_uint_fast64_t seq;     /* request counter */
	atomic_uint_fast64_t reauths; /* re-authentications after connect */
	pthread_mutex_t mu;           /* guards the fields below */
	pthread_cond_t cv;
	uint64_t gen;                 /* successful authentications */
	int authing;
	int stopping;
	nng_aio **aios;               /* in flight, for mdt_agent_stop */
	size_t naios, caios;
	sdk_result *mailbox;          /* results not yet asked for */
	size_t nmail;
};

/* One request: writer, id, encoded bytes and the decoded reply. */
typedef struct sdk_req {
	char id[MDT_WIRE_ID_MAX + 1];
	mdt_wire_writer *w;
	const uint8_t *buf;
	size_t len;
	mdt_wire_msg *reply;
	int resent;   /* sent again after a re-authentication */
} sdk_req;

/* ---- broker addresses and failover (failover.c) ---- */

/* Reads the addresses (o->urls, else o->url split at commas) and
 * failover_ms into a. */
int sdk_addrs_parse(mdt_agent *a, const mdt_agent_opts *o, char *err,
    size_t errlen);
/* Watches pipes, dials the first address and, with several, starts the
 * failover monitor. */
int sdk_addrs_start(mdt_agent *a, char *err, size_t errlen);
/* Stops the monitor; before the socket closes. */
void sdk_addrs_stop(mdt_agent *a);
/* The address dialed now. */
const char *sdk_addr(const mdt_agent *a);

/* Starts a request with a fresh id; caller adds fields to r->w. */
int sdk_req_begin(mdt_agent *a, mdt_wire_op op, sdk_req *r);
/* Frees the writer and the reply. */
void sdk_req_end(sdk_req *r);
/* One send/receive of r, no re-authentication. */
int sdk_req_send(mdt_agent *a, sdk_req *r, uint32_t wait_ms, char *err,
    size_t errlen);
/* Sends r and waits for its reply (timeout_ms + extra_ms in all),
 * re-authenticating and resending after a pipe change.  0 when a reply
 * (ok or error) is in r->reply. */
int sdk_call(mdt_agent *a, sdk_req *r, uint32_t extra_ms, char *err,
    size_t errlen);
/* 1 when r was resent after a re-authentication and the broker refused
 * it as `id.reused`: an earlier copy (the same bytes, as this library
 * never reuses an id) was decided before the connection moved, with
 * another verdict than a run now gives, so the answer was lost but the
 * decision stands. */
int sdk_decided_before(const sdk_req *r);
/* 0 for an ok reply, else its status with "reason: detail" in err. */
int sdk_reply_status(const mdt_wire_msg *m, char *err, size_t errlen);
/* Authenticates the connection unless generation `seen` is stale. */
int sdk_authenticate(mdt_agent *a, uint64_t seen, char *err, size_t errlen);
/* Frees every held result. */
void sdk_mailbox_clear(mdt_agent *a);

struct mdt_task {
	mdt_agent *a;
	char *id, *parent, *from, *clinician, *patient, *purpose, *scopes;
	char *item;                   /* work item id ("" when opened) */
	uint32_t deliveries;
	uint32_t depth;
	int64_t expires;
	uint8_t *token;
	size_t token_len;
	uint8_t *payload;
	size_t payload_len;
};

/* Adds the "task" and "token" fields of t to a request. */
int sdk_put_task(sdk_req *r, const mdt_task *t);

/* ---- results held for later (mailbox.c) ---- */

/* Keeps a `result` item of `next`. */
int sdk_mailbox_put(mdt_agent *a, const mdt_wire_val *item, char *err,
    size_t errlen);
/* Takes the held result of task; -MDT_ENOTFOUND when none is held,
 * -MDT_EREVOKED for a cancellation.  *payload: caller frees with free().
 * *item (when not NULL and a result was taken): its work item id, caller
 * frees with free(). */
int sdk_mailbox_take(mdt_agent *a, const char *task, uint8_t **payload,
    size_t *len, char **item, char *err, size_t errlen);
/* Acknowledges work item id to the broker; 0 also when it is gone. */
int sdk_ack(mdt_agent *a, const char *id, char *err, size_t errlen);

/* ---- events (events.c) ---- */

/* Storage behind one decoded event. */
typedef struct sdk_event_buf {
	mdt_wire_msg *msg;
	const char **ids;
} sdk_event_buf;

/* Decodes one published message into *ev (pointers into b, valid until
 * the next decode or clear).  -MDT_EUNSUPPORTED for an unknown topic. */
int sdk_event_decode(const uint8_t *buf, size_t len, sdk_event_buf *b,
    mdt_event *ev);
/* Frees what b holds and zeroes it. */
void sdk_event_buf_clear(sdk_event_buf *b);
/* Opens a sub0 socket subscribed to everything and dials url in the
 * background (re-dialing while the broker is away). */
int sdk_sub_dial(nng_socket *sock, const char *url, char *err,
    size_t errlen);

/* ---- proof-of-possession text (pop.c) ---- */

#define SDK_NONCE_MAX 65 /* nonce text, NUL included */

/* A fresh random nonce: 32 lowercase hex digits. */
int sdk_pop_nonce(char nonce[SDK_NONCE_MAX]);
/* "mdtpop1.<time>.<nonce>.<sig>" of a signed pop into out (cap bytes). */
int sdk_pop_format(const mdt_token_pop *pop, char *out, size_t cap);
/* Parses the text form: fills pop->time, pop->nonce (pointing at nonce)
 * and pop->sig; audience, action and resource are left to the caller. */
int sdk_pop_parse(const char *text, mdt_token_pop *pop,
    char nonce[SDK_NONCE_MAX], char *err, size_t errlen);

/* ---- helpers (util.c) ---- */

/* Formats into err (may be NULL) like snprintf; returns status. */
int sdk_err(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A SPIFFE id given by the caller (what names it), checked as the broker
 * checks it: a valid SPIFFE id shorter than MDT_AGENT_ID_MAX.  0, or
 * -MDT_EINVAL with why in err. */
int sdk_check_agent_id(const char *what, const char *id, char *err,
    size_t errlen);
/*
 * The size rule of the public options structs (agent.h): *opts begins
 * with its size_t size; 0 or at least v1 bytes, and any byte past
 * `known` (what this library reads) zero.  0, -MDT_EINVAL (too small) or
 * -MDT_EUNSUPPORTED (fields this library does not know are set), with
 * why in err.
 */
int sdk_opts_size(const void *opts, size_t v1, size_t known,
    const char *what, char *err, size_t errlen);
/* The check for options of this library's version (the first sized one). */
#define SDK_OPTS_CHECK(o, what, err, errlen) \
	sdk_opts_size((o), sizeof(*(o)), sizeof(*(o)), (what), (err), (errlen))
#define SDK_STR_MAX 16384u /* any string field of a reply */

/* Copies string field key of map m (NUL-terminated, malloc'd).  When
 * optional, a missing or nil field gives "". */
int sdk_get_dup(const mdt_wire_val *m, const char *key, int optional,
    char **out, char *err, size_t errlen);
/* Copies binary field key of map m (malloc'd; NULL when empty or absent
 * and optional). */
int sdk_get_bin_dup(const mdt_wire_val *m, const char *key, size_t max,
    int optional, uint8_t **out, size_t *len, char *err, size_t errlen);
/* Current Unix time, seconds. */
int64_t sdk_now(void);
/* Monotonic clock, milliseconds. */
uint64_t sdk_clock_ms(void);
/* Sleeps ms milliseconds. */
void sdk_sleep_ms(uint32_t ms);
/* Copies a NUL-terminated string of at most max-1 bytes into dst (max
 * bytes); -MDT_ETOOBIG when longer, -MDT_EINVAL when NULL. */
int sdk_strcpy(char *dst, size_t max, const char *src);

#endif
