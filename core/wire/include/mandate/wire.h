/*
 * The broker wire protocol codec (shared by mandated and libmandate-agent).
 *
 * Every message on the broker's request/reply socket is one msgpack map:
 *   request: {"v": 1, "op": OP, "id": REQUEST-ID, ...op fields}
 *   reply:   {"v": 1, "op": OP, "id": REQUEST-ID, "ok": BOOL,
 *             ["error": {"code", "status", "reason", "detail", ...}],
 *             ...op result fields}
 * docs/wire-protocol.md gives every op's fields, the error reasons, the
 * authentication handshake and the publish/subscribe events.
 *
 * Decoding is strict and bounded: one map at top level and nothing after
 * it, string keys only, no duplicate keys, no floats or extension types,
 * strings valid UTF-8 without NUL bytes, integers within int64, every size
 * and the nesting depth under the MDT_WIRE_* bounds.  A message that breaks
 * a rule is refused with -MDT_EDECODE (or -MDT_ETOOBIG, -MDT_EVERSION,
 * -MDT_EPROTO) and a message naming the byte offset and the rule.
 *
 * Decoded messages are immutable trees of values (mdt_wire_val) that live as
 * long as their message; they are safe to read from several threads.
 */
#ifndef MANDATE_WIRE_H
#define MANDATE_WIRE_H

#include <stdbool.h>

#include <mandate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDT_WIRE_VERSION 1

/* Bounds: a message breaking one is refused, never truncated. */
#define MDT_WIRE_MSG_MAX (1u << 20)     /* bytes of one message */
#define MDT_WIRE_DEPTH_MAX 8            /* nesting of maps and arrays */
#define MDT_WIRE_MAP_MAX 256            /* entries in one map */
#define MDT_WIRE_ARRAY_MAX 65536        /* items in one array */
#define MDT_WIRE_KEY_MAX 64             /* bytes of one map key */
#define MDT_WIRE_ID_MAX 64              /* bytes of a request id */
#define MDT_WIRE_PAYLOAD_MAX (256u << 10) /* bytes of a task payload */

/* Operations.  Values are stable; names are what travels on the wire. */
typedef enum mdt_wire_op {
	MDT_OP_INVALID = 0,
	MDT_OP_HELLO = 1,     /* "hello": ask for an authentication challenge */
	MDT_OP_AUTH = 2,      /* "auth": answer it, binding the pipe */
	MDT_OP_OPEN = 3,      /* "open": root task for a clinician */
	MDT_OP_DISPATCH = 4,  /* "dispatch": subtask of a root task */
	MDT_OP_DELEGATE = 5,  /* "delegate": subtask of a subtask */
	MDT_OP_NEXT = 6,      /* "next": long poll for work or results */
	MDT_OP_AUTHORIZE = 7, /* "authorize": runtime action check */
	MDT_OP_APPROVE = 8,   /* "approve": clinician approves a step-up */
	MDT_OP_REJECT = 9,    /* "reject": clinician rejects a step-up */
	MDT_OP_COMPLETE = 10, /* "complete": end a task, revoke its subtree */
	MDT_OP_CANCEL = 11,   /* "cancel": same, as a cancellation */
	MDT_OP_RESULT = 12,   /* "result": report a task's result to its parent */
	MDT_OP_TREE = 13,     /* "tree": admin query, task tree and decisions */
	MDT_OP_ACK = 14,      /* "ack": acknowledge a work item from next */
	MDT_OP_ABORT = 15,    /* "abort": an admin cancels a task it does not hold */
	MDT_OP_EVALUATE = 16, /* "evaluate": an evaluator asks a Cedar decision
	                         about any subject (AuthZEN front) */
	MDT_OP_STATUS = 17,   /* "status": an admin asks for the broker's state */
	MDT_OP_ACCESS = 18,   /* "access": an admin asks what an agent may do
	                         to a patient now */
	MDT_OP_REVIEW = 19,   /* "review": an admin marks a decision reviewed */
	MDT_OP_COUNT_
} mdt_wire_op;

/* Static name of an op ("authorize"), or NULL for an invalid value. */
MDT_API const char *mdt_wire_op_name(mdt_wire_op op);

/* Op for a name of len bytes, or MDT_OP_INVALID. */
MDT_API mdt_wire_op mdt_wire_op_parse(const char *name, size_t len);

/* Static name of a status code as it travels in "error.code" ("EDENIED",
 * "OK"), or NULL for an unknown code.  Accepts either sign. */
MDT_API const char *mdt_wire_code_name(int status);

/* Status code (negative, or 0) of a code name, or -MDT_EPROTO when the
 * name is unknown. */
MDT_API int mdt_wire_code_parse(const char *name);

/* ---- decoded messages ---- */

typedef enum mdt_wire_type {
	MDT_WIRE_NIL = 0,
	MDT_WIRE_BOOL = 1,
	MDT_WIRE_INT = 2,
	MDT_WIRE_STR = 3,
	MDT_WIRE_BIN = 4,
	MDT_WIRE_ARRAY = 5,
	MDT_WIRE_MAP = 6
} mdt_wire_type;

typedef struct mdt_wire_msg mdt_wire_msg;
typedef struct mdt_wire_val mdt_wire_val;

/*
 * Decodes one message of len bytes (at most MDT_WIRE_MSG_MAX) under the
 * strict rules above and checks the envelope: "v" equal to
 * MDT_WIRE_VERSION (-MDT_EVERSION otherwise), "op" a known op name, "id"
 * a string of 1..MDT_WIRE_ID_MAX printable ASCII bytes other than '#'
 * (the separator of the broker's audit ids), and for a reply
 * ("ok" present) a boolean "ok".  buf is copied; the caller keeps it.  On
 * error err (if not NULL) names the byte offset or field and *out is not
 * written.  Caller frees *out with mdt_wire_msg_free.
 */
MDT_API MDT_WUR int mdt_wire_decode(const void *buf, size_t len,
    mdt_wire_msg **out, char *err, size_t errlen);

/* Frees a decoded message and every value in it, wiping its copy of the
 * message's bytes first.  NULL is a no-op. */
MDT_API void mdt_wire_msg_free(mdt_wire_msg *msg);

/* Envelope accessors.  Strings are owned by msg and NUL-terminated. */
MDT_API mdt_wire_op mdt_wire_msg_op(const mdt_wire_msg *msg);
MDT_API const char *mdt_wire_msg_id(const mdt_wire_msg *msg);
/* 1 for a reply with "ok": true, 0 for a reply with false, -1 for a
 * request (no "ok"). */
MDT_API int mdt_wire_msg_ok(const mdt_wire_msg *msg);
/* The top-level map (envelope keys included). */
MDT_API const mdt_wire_val *mdt_wire_msg_root(const mdt_wire_msg *msg);

/*
 * For a reply with "ok": false: the status code of "error.code" (negative),
 * and (each may be NULL) the machine-readable reason and the human detail.
 * Returns 0 for an ok reply or a request.  Strings are owned by msg.
 */
MDT_API int mdt_wire_msg_error(const mdt_wire_msg *msg, const char **reason,
    const char **detail);

/* ---- values ---- */

MDT_API mdt_wire_type mdt_wire_val_type(const mdt_wire_val *v);

/* Value under key in map m, or NULL when m is not a map or has no such
 * key. */
MDT_API const mdt_wire_val *mdt_wire_map_get(const mdt_wire_val *m,
    const char *key);
/* Number of entries of a map or items of an array, else 0. */
MDT_API size_t mdt_wire_val_count(const mdt_wire_val *v);
/* Item i of an array, or NULL. */
MDT_API const mdt_wire_val *mdt_wire_array_at(const mdt_wire_val *a,
    size_t i);
/* Entry i of a map: its key (NUL-terminated) and value; NULL if out of
 * range. */
MDT_API const mdt_wire_val *mdt_wire_map_entry(const mdt_wire_val *m,
    size_t i, const char **key);

/*
 * Typed reads.  Each returns 0 and writes its out-parameters, or
 * -MDT_EPROTO when v is NULL or of another type.  String and binary
 * pointers are owned by the message; strings are NUL-terminated.
 */
MDT_API MDT_WUR int mdt_wire_val_str(const mdt_wire_val *v, const char **s,
    size_t *len);
MDT_API MDT_WUR int mdt_wire_val_bin(const mdt_wire_val *v,
    const uint8_t **p, size_t *len);
MDT_API MDT_WUR int mdt_wire_val_int(const mdt_wire_val *v, int64_t *out);
MDT_API MDT_WUR int mdt_wire_val_bool(const mdt_wire_val *v, bool *out);

/*
 * Field reads of a map with the protocol's error messages: a missing key
 * is -MDT_EPROTO "missing field KEY" unless the getter is an _opt one (then
 * 0 with *present = 0 and outputs untouched); a wrong type is -MDT_EPROTO
 * "field KEY: expected T"; a string longer than max bytes is -MDT_ETOOBIG.
 */
MDT_API MDT_WUR int mdt_wire_get_str(const mdt_wire_val *m, const char *key,
    size_t max, const char **s, char *err, size_t errlen);
MDT_API MDT_WUR int mdt_wire_get_str_opt(const mdt_wire_val *m,
    const char *key, size_t max, const char **s, int *present, char *err,
    size_t errlen);
MDT_API MDT_WUR int mdt_wire_get_bin(const mdt_wire_val *m, const char *key,
    size_t max, const uint8_t **p, size_t *len, char *err, size_t errlen);
MDT_API MDT_WUR int mdt_wire_get_bin_opt(const mdt_wire_val *m,
    const char *key, size_t max, const uint8_t **p, size_t *len,
    int *present, char *err, size_t errlen);
MDT_API MDT_WUR int mdt_wire_get_int(const mdt_wire_val *m, const char *key,
    int64_t min, int64_t max, int64_t *out, char *err, size_t errlen);
MDT_API MDT_WUR int mdt_wire_get_int_opt(const mdt_wire_val *m,
    const char *key, int64_t min, int64_t max, int64_t *out, int *present,
    char *err, size_t errlen);

/* ---- encoding ---- */

typedef struct mdt_wire_writer mdt_wire_writer;

/*
 * Starts a message: writes "v", "op" and "id" (id must be 1..
 * MDT_WIRE_ID_MAX printable ASCII bytes other than '#'); for a reply
 * (is_reply = 1) also "ok" = ok.  Fields follow with the put functions; the top-level map is
 * counted for you.  Caller frees *out with mdt_wire_writer_free.
 */
MDT_API MDT_WUR int mdt_wire_writer_new(mdt_wire_writer **out,
    mdt_wire_op op, const char *id, int is_reply, int ok);

/* Frees a writer and its buffer, wiped first (as it is whenever it grows).
 * NULL is a no-op. */
MDT_API void mdt_wire_writer_free(mdt_wire_writer *w);

/*
 * Put functions.  key names the field inside the current map and must be
 * NULL inside an array.  Strings are copied; len is in bytes (no NUL
 * needed); keeping them valid UTF-8 without NUL is the caller's part (the
 * writer does not check; a decoder refuses the message).  Containers are counted: begin_map(key, n) expects exactly n
 * entries before mdt_wire_end, begin_array(key, n) exactly n items; a
 * mismatch is -MDT_EINVAL at mdt_wire_end or mdt_wire_writer_finish.
 * After any error the writer only reports that error.
 */
MDT_API MDT_WUR int mdt_wire_put_str(mdt_wire_writer *w, const char *key,
    const char *s, size_t len);
/* NUL-terminated convenience form of mdt_wire_put_str. */
MDT_API MDT_WUR int mdt_wire_put_cstr(mdt_wire_writer *w, const char *key,
    const char *s);
MDT_API MDT_WUR int mdt_wire_put_bin(mdt_wire_writer *w, const char *key,
    const void *p, size_t len);
MDT_API MDT_WUR int mdt_wire_put_int(mdt_wire_writer *w, const char *key,
    int64_t v);
MDT_API MDT_WUR int mdt_wire_put_bool(mdt_wire_writer *w, const char *key,
    bool v);
MDT_API MDT_WUR int mdt_wire_put_nil(mdt_wire_writer *w, const char *key);
MDT_API MDT_WUR int mdt_wire_begin_map(mdt_wire_writer *w, const char *key,
    size_t n);
MDT_API MDT_WUR int mdt_wire_begin_array(mdt_wire_writer *w,
    const char *key, size_t n);
MDT_API MDT_WUR int mdt_wire_end(mdt_wire_writer *w);

/*
 * Writes the standard "error" map of a failed reply: code name and status
 * of `status` (negative MDT_E*), the machine-readable reason (see
 * docs/wire-protocol.md) and a human detail (may be NULL).  For a writer
 * made with is_reply = 1, ok = 0.
 */
MDT_API MDT_WUR int mdt_wire_put_error(mdt_wire_writer *w, int status,
    const char *reason, const char *detail);

/*
 * Finishes the message.  On success *buf points to *len bytes owned by
 * the writer (valid until it is freed) and the writer accepts no more
 * puts.  -MDT_ETOOBIG when the message exceeds MDT_WIRE_MSG_MAX.
 */
MDT_API MDT_WUR int mdt_wire_writer_finish(mdt_wire_writer *w,
    const uint8_t **buf, size_t *len);

/* ---- authentication ---- */

#define MDT_WIRE_NONCE_LEN 32
#define MDT_WIRE_CHALLENGE_MAX 600
/* Domain separation prefix of the signed authentication message. */
#define MDT_WIRE_AUTH_DOMAIN "mandate-auth-v1"

/*
 * Builds the exact bytes an agent signs with its Ed25519 key to answer a
 * challenge: MDT_WIRE_AUTH_DOMAIN, one 0x00 byte, then the challenge bytes
 * the broker sent in its hello reply.  *outlen receives the length; -MDT_
 * ETOOBIG when cap is too small (cap of sizeof(MDT_WIRE_AUTH_DOMAIN) +
 * MDT_WIRE_CHALLENGE_MAX always suffices).
 */
MDT_API MDT_WUR int mdt_wire_auth_message(const uint8_t *challenge,
    size_t challenge_len, uint8_t *out, size_t cap, size_t *outlen);

/* ---- publish/subscribe events ---- */

/*
 * Starts an event map {"v": 1, "topic": topic, ...}; fields follow with
 * the put functions.  The published message is topic, 0x00, then the
 * finished map.  Caller frees *out with mdt_wire_writer_free.
 */
MDT_API MDT_WUR int mdt_wire_event_writer_new(mdt_wire_writer **out,
    const char *topic);

/*
 * Decodes a published message (topic, 0x00, map) under the same strict
 * rules as mdt_wire_decode; the map must hold "v" = 1 and a "topic" equal
 * to the prefix.  mdt_wire_msg_op is MDT_OP_INVALID and mdt_wire_msg_id
 * the topic.  Caller frees *out with mdt_wire_msg_free.
 */
MDT_API MDT_WUR int mdt_wire_decode_event(const void *buf, size_t len,
    mdt_wire_msg **out, char *err, size_t errlen);

/* Topics: a published message is the topic, one 0x00 byte, then a msgpack
 * map (an event, see docs/wire-protocol.md).  Subscribe to "revoke" plus
 * the 0x00 byte to receive only revocations. */
#define MDT_WIRE_TOPIC_REVOKE "revoke"
#define MDT_WIRE_TOPIC_TASK "task"
#define MDT_WIRE_TOPIC_STEPUP "stepup"
#define MDT_WIRE_TOPIC_DECIDED "decided"
#define MDT_WIRE_TOPIC_EPOCH "epoch"

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_WIRE_H */
