/*
 * Cedar policy engine.
 *
 * Policies are Cedar (cedarpolicy.com) policy sets: permit/forbid with
 * annotations, scope constraints, when/unless conditions and the full
 * expression language, including the ip, decimal, datetime and duration
 * extension types and entity tags.  Policy templates (`?principal`,
 * `?resource` slots) are not supported yet: the parser rejects them with a
 * message naming the position.
 *
 * Objects:
 *   mdt_policy_set     parsed and compiled policies; immutable after load,
 *                      safe to share between threads for evaluation.
 *   mdt_entity_store   entities (uid, attributes, parents, tags), loaded
 *                      from Cedar's entities JSON or added one by one; a
 *                      store may be an overlay over a base store (consulted
 *                      first) so per-request entities cost no copy.
 *   mdt_policy_record  a builder for a Cedar record: the request context,
 *                      or the attributes of an entity added by code.
 *   mdt_policy_answer  the result of one evaluation plus the per-request
 *                      arena it was computed in; reuse one per thread.
 *
 * Semantics are Cedar's: a policy whose condition errors is skipped and
 * reported in the errors; any satisfied forbid wins (reasons = satisfied
 * forbids); else any satisfied permit allows (reasons = satisfied permits);
 * else deny with empty reasons.  Mandate's one addition: when some permit
 * is satisfied and every satisfied forbid carries the `@step_up` annotation
 * (optionally `@step_up("approver-role")`), the decision is
 * MDT_DECISION_STEP_UP; the reasons are then the satisfied forbids.
 *
 * Policy ids: the value of an `@id("...")` annotation if present, else
 * "policyN" where N is the policy's position (0-based) in the set.
 */
#ifndef MANDATE_POLICY_H
#define MANDATE_POLICY_H

#include <mandate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds: exceeding one is an error (MDT_ETOOBIG), never a truncation. */
#define MDT_POLICY_TEXT_MAX (4u << 20)     /* bytes of policy text per set */
#define MDT_POLICY_COUNT_MAX 4096          /* policies per set */
#define MDT_POLICY_FILES_MAX 256           /* *.cedar files per directory */
#define MDT_POLICY_NEST_MAX 128            /* expression nesting depth (a flat
                                              chain such as a || b || c
                                              is one level) */
#define MDT_ENTITY_JSON_MAX (64u << 20)    /* bytes of entities or context JSON */
/* No longer a limit: `in` follows the whole hierarchy, as Cedar does
 * (docs/policy-engine.md); kept so that code naming it still builds. */
#define MDT_ENTITY_HIERARCHY_MAX 64
#define MDT_POLICY_ARENA_MAX (1u << 20)    /* per-evaluation arena bytes */
#define MDT_POLICY_HASH_HEX 65             /* SHA-256 hex + NUL */

typedef struct mdt_policy_set mdt_policy_set;
typedef struct mdt_entity_store mdt_entity_store;
typedef struct mdt_policy_record mdt_policy_record;
typedef struct mdt_policy_answer mdt_policy_answer;

typedef enum mdt_decision {
	MDT_DECISION_DENY = 0,
	MDT_DECISION_ALLOW = 1,
	MDT_DECISION_STEP_UP = 2
} mdt_decision;

/*
 * An entity uid, borrowed from the caller.  type is the NUL-terminated
 * (possibly namespaced) type name, e.g. "Mandate::Agent"; id is id_len
 * bytes and may contain NUL bytes.
 */
typedef struct mdt_entity_uid {
	const char *type;
	const char *id;
	size_t id_len;
} mdt_entity_uid;

/* A request.  Everything is borrowed for the duration of the call only.
 * context may be NULL (empty record). */
typedef struct mdt_policy_request {
	mdt_entity_uid principal;
	mdt_entity_uid action;
	mdt_entity_uid resource;
	const mdt_policy_record *context;
} mdt_policy_request;

/* ---- policy sets ---- */

/*
 * Parses and compiles a Cedar policy set from text (len bytes, need not
 * be NUL-terminated).  name labels the text in messages ("file.cedar").
 * On a parse error returns -MDT_EPARSE and writes "name:line:col: expected
 * X, found Y" into err.  On success *out owns a new set; caller frees it
 * with mdt_policy_set_free.
 */
MDT_API MDT_WUR int mdt_policy_set_parse(mdt_policy_set **out,
    const char *text, size_t len, const char *name, char *err,
    size_t errlen);

/*
 * Loads every `*.cedar` file of directory dir (sorted by file name) as
 * one policy set, atomically: any unreadable or malformed file fails the
 * whole load (err names file:line:col) and *out is untouched.  Positional
 * ids count across files in that order.  The hash covers each file's name
 * and text.  Caller frees *out with mdt_policy_set_free.
 */
MDT_API MDT_WUR int mdt_policy_set_load_dir(mdt_policy_set **out,
    const char *dir, char *err, size_t errlen);

/* Frees a policy set.  NULL is a no-op. */
MDT_API void mdt_policy_set_free(mdt_policy_set *set);

/* Number of policies in the set. */
MDT_API size_t mdt_policy_set_count(const mdt_policy_set *set);

/* Id of policy i (0-based), or NULL when out of range.  The string is
 * owned by the set and lives as long as it. */
MDT_API const char *mdt_policy_set_id(const mdt_policy_set *set, size_t i);

/* SHA-256 of the policy text as 64 lowercase hex digits; owned by the
 * set and lives as long as it.  Recorded in audit records. */
MDT_API const char *mdt_policy_set_hash(const mdt_policy_set *set);

/* ---- sources: what a set or entity data was loaded from ----
 *
 * A source is JSON {"files":[{"name":"NAME","text":"TEXT"},...]}: the
 * files in load order.  The broker keeps the source of every policy set
 * and entity data it decides under in the audit store (store.h,
 * mdt_store_put_source), so a decision can be replayed later.
 */

/*
 * The hash of a source as 64 hex digits + NUL into hex: SHA-256 over
 * each file's name, a NUL, its length (8 bytes, little-endian on the
 * platforms Mandate runs on) and text, which is mdt_policy_set_hash of
 * the set mdt_policy_set_load_dir loads from a directory of these files.
 * -MDT_EPARSE for JSON that is not a source (err says why).
 */
MDT_API MDT_WUR int mdt_policy_source_hash(const char *json, size_t len,
    char hex[MDT_POLICY_HASH_HEX], char *err, size_t errlen);

/*
 * The source of directory dir as mdt_policy_set_load_dir reads it (its
 * *.cedar files sorted by name), with ext "cedar"; or of a list of
 * entity files: paths, space-separated, each a file or a directory whose
 * *.json files are taken sorted by name (ext "json"; names are the
 * paths given, or dir/file).  Caller frees *json with mdt_free.
 */
MDT_API MDT_WUR int mdt_policy_dir_source(const char *dir, char **json,
    char *err, size_t errlen);
MDT_API MDT_WUR int mdt_entity_files_source(const char *paths, char **json,
    char *err, size_t errlen);

/*
 * Rebuilds a policy set from a source: the files' policies in order,
 * with the hash mdt_policy_source_hash gives (so a set loaded from a
 * directory and rebuilt from its source have the same hash).  Errors as
 * mdt_policy_set_parse's, naming the file.  Caller frees *out.
 */
MDT_API MDT_WUR int mdt_policy_set_from_source(mdt_policy_set **out,
    const char *json, size_t len, char *err, size_t errlen);

/*
 * Rebuilds entity data from a source: each file's text loaded as
 * mdt_entity_store_load_json does, in order, into a new store.  Caller
 * frees *out with mdt_entity_store_free.
 */
MDT_API MDT_WUR int mdt_entity_store_from_source(mdt_entity_store **out,
    const char *json, size_t len, char *err, size_t errlen);

/* ---- entity stores ---- */

/* Creates an empty entity store.  Caller frees *out with
 * mdt_entity_store_free. */
MDT_API MDT_WUR int mdt_entity_store_new(mdt_entity_store **out);

/*
 * Creates an empty overlay store over base: lookups consult the overlay
 * first, then base.  base is borrowed and must outlive the overlay and not
 * be modified while the overlay is in use.  Adding an entity that base
 * already holds is -MDT_EEXIST.  Caller frees *out with
 * mdt_entity_store_free (which does not free base).
 */
MDT_API MDT_WUR int mdt_entity_store_new_overlay(mdt_entity_store **out,
    const mdt_entity_store *base);

/* Frees a store (not its base).  NULL is a no-op. */
MDT_API void mdt_entity_store_free(mdt_entity_store *store);

/* Removes every entity of the store (not of its base) while keeping its
 * memory for reuse, e.g. to reuse one overlay per request. */
MDT_API void mdt_entity_store_clear(mdt_entity_store *store);

/*
 * Adds the entities of Cedar's entities JSON (an array of {"uid",
 * "attrs", "parents", optional "tags"}; values may use {"__entity": ...}
 * and {"__extn": {"fn", "arg"}} escapes) to the store, atomically: on any
 * error (malformed JSON, wrong field type, a missing "attrs" or "parents",
 * an entity type that is not a Cedar name, the removed "__expr" escape,
 * bad extension literal, duplicate uid, a cycle of parents, also through
 * entities already in the store) nothing is added and err names
 * "name:line:col: what".  Unknown fields are ignored, as by Cedar.  The
 * text is copied; name labels messages.
 */
MDT_API MDT_WUR int mdt_entity_store_load_json(mdt_entity_store *store,
    const char *json, size_t len, const char *name, char *err,
    size_t errlen);

/* Reads a file (at most MDT_ENTITY_JSON_MAX bytes) and loads it as
 * mdt_entity_store_load_json does, with the path as name. */
MDT_API MDT_WUR int mdt_entity_store_load_file(mdt_entity_store *store,
    const char *path, char *err, size_t errlen);

/*
 * Adds one entity.  attrs may be NULL (no attributes); its content is
 * copied, so the builder may be reused or freed afterwards.  parents
 * (nparents uids) are copied.  A uid already present (here or in the
 * base) is -MDT_EEXIST.
 */
MDT_API MDT_WUR int mdt_entity_store_add(mdt_entity_store *store,
    const mdt_entity_uid *uid, const mdt_policy_record *attrs,
    const mdt_entity_uid *parents, size_t nparents);

/* Number of entities in the store itself (not counting its base). */
MDT_API size_t mdt_entity_store_count(const mdt_entity_store *store);

/* ---- records (request context, entity attributes) ---- */

/*
 * Creates an empty record builder.  Caller frees *out with
 * mdt_policy_record_free.  Setting a key twice at one level is
 * -MDT_EEXIST.  Nested values: mdt_policy_record_begin_record or
 * _begin_set opens a container under key; values set until the matching
 * mdt_policy_record_end go into it (inside a set the key is ignored and
 * may be NULL).  All strings are copied.
 */
MDT_API MDT_WUR int mdt_policy_record_new(mdt_policy_record **out);

/* Frees a builder.  NULL is a no-op. */
MDT_API void mdt_policy_record_free(mdt_policy_record *rec);

/* Empties the builder, keeping its memory for the next request. */
MDT_API void mdt_policy_record_reset(mdt_policy_record *rec);

/* Sets key to a string of len bytes (may contain NUL); the bytes are
 * copied into the builder. */
MDT_API MDT_WUR int mdt_policy_record_set_string(mdt_policy_record *rec,
    const char *key, const char *value, size_t len);
/* Sets key to a Cedar long. */
MDT_API MDT_WUR int mdt_policy_record_set_long(mdt_policy_record *rec,
    const char *key, int64_t value);
/* Sets key to a Cedar bool (any non-zero value is true). */
MDT_API MDT_WUR int mdt_policy_record_set_bool(mdt_policy_record *rec,
    const char *key, int value);
/* Sets key to an entity reference; the uid's strings are copied.  The
 * entity need not exist in any store. */
MDT_API MDT_WUR int mdt_policy_record_set_entity(mdt_policy_record *rec,
    const char *key, const mdt_entity_uid *uid);
/* Sets key to a set of n strings (each NUL-terminated, copied). */
MDT_API MDT_WUR int mdt_policy_record_set_strings(mdt_policy_record *rec,
    const char *key, const char *const *values, size_t n);
/* An extension value, e.g. fn "datetime", arg "2026-01-01T00:00:00Z";
 * a malformed literal is -MDT_EINVAL. */
MDT_API MDT_WUR int mdt_policy_record_set_extension(mdt_policy_record *rec,
    const char *key, const char *fn, const char *arg);
/* Opens a nested record under key (at most 15 levels deep, else
 * -MDT_ETOOBIG); close it with mdt_policy_record_end. */
MDT_API MDT_WUR int mdt_policy_record_begin_record(mdt_policy_record *rec,
    const char *key);
/* Opens a set under key; values set until mdt_policy_record_end are its
 * elements (their keys are ignored). */
MDT_API MDT_WUR int mdt_policy_record_begin_set(mdt_policy_record *rec,
    const char *key);
/* Closes the innermost open container; -MDT_EINVAL if none is open. */
MDT_API MDT_WUR int mdt_policy_record_end(mdt_policy_record *rec);

/*
 * Replaces the builder's content with a JSON object in Cedar's context
 * format (values may use __entity / __extn escapes).  Errors name
 * "name:line:col: what"; on error the builder is left empty.
 */
MDT_API MDT_WUR int mdt_policy_record_load_json(mdt_policy_record *rec,
    const char *json, size_t len, const char *name, char *err,
    size_t errlen);

/*
 * The record as JSON in Cedar's context format (entities as
 * {"__entity":{"type","id"}}, extension values as {"__extn":{"fn","arg"}}),
 * which mdt_policy_record_load_json reads back to an equal record.
 * -MDT_EUNSUPPORTED for an ipaddr value (none is built by the broker),
 * -MDT_EPARSE for a string or key that is not UTF-8 or holds a NUL.
 * Caller frees *json with mdt_free.
 */
MDT_API MDT_WUR int mdt_policy_record_to_json(const mdt_policy_record *rec,
    char **json);

/*
 * The same written into buf (len bytes, NUL-terminated, its length in
 * *out_len when not NULL), allocating nothing: -MDT_ETOOBIG when it does
 * not fit, else as mdt_policy_record_to_json.
 */
MDT_API MDT_WUR int mdt_policy_record_write_json(
    const mdt_policy_record *rec, char *buf, size_t len, size_t *out_len);

/* An entity written out with a request (mdt_policy_request_write_json):
 * attrs NULL for none.  Borrowed for the duration of the call. */
typedef struct mdt_policy_entity {
	mdt_entity_uid uid;
	const mdt_policy_record *attrs;
	const mdt_entity_uid *parents;
	size_t nparents;
} mdt_policy_entity;

/*
 * req (its context NULL for {}) and the entities ents[0..nents) as the
 * JSON mdt_policy_replay reads, {"principal":{"type","id"},"action":...,
 * "resource":...,"context":{...},"entities":[{"uid","attrs","parents"}]},
 * written into buf in one pass as mdt_policy_record_write_json writes a
 * record (same errors; nothing allocated).
 */
MDT_API MDT_WUR int mdt_policy_request_write_json(
    const mdt_policy_request *req, const mdt_policy_entity *ents,
    size_t nents, char *buf, size_t len, size_t *out_len);

/* ---- evaluation ---- */

/* Creates an answer (with its arena).  Caller frees *out with
 * mdt_policy_answer_free; reuse it across evaluations on one thread. */
MDT_API MDT_WUR int mdt_policy_answer_new(mdt_policy_answer **out);

/* Frees an answer.  NULL is a no-op. */
MDT_API void mdt_policy_answer_free(mdt_policy_answer *ans);

/*
 * Evaluates request req against set with entities store (may be NULL: no
 * entities), overwriting ans.  Returns 0 whenever a decision was reached
 * (policy errors are part of the answer, not the return value); a
 * negative code (bad arguments, -MDT_ETOOBIG when the arena bound is hit)
 * means no decision, and ans then reads as DENY: callers fail closed.
 * Strings read from ans stay valid until its next evaluation or its free.
 */
MDT_API MDT_WUR int mdt_policy_evaluate(const mdt_policy_set *set,
    const mdt_entity_store *store, const mdt_policy_request *req,
    mdt_policy_answer *ans);

/* The decision of the last evaluation (DENY for a NULL answer, a fresh
 * answer, or one whose evaluation failed). */
MDT_API mdt_decision mdt_policy_answer_decision(const mdt_policy_answer *ans);

/*
 * Replays a recorded request (the JSON of mdt_store_decision.request:
 * {"principal":{"type","id"},"action":{...},"resource":{...},
 * "context":{...},"entities":[...]}; entities optional, added over
 * entities, which may be NULL) against set, overwriting ans as
 * mdt_policy_evaluate does.  -MDT_EPARSE with err naming the field for a
 * request that is not of this form.
 */
MDT_API MDT_WUR int mdt_policy_replay(const mdt_policy_set *set,
    const mdt_entity_store *entities, const char *request, size_t len,
    mdt_policy_answer *ans, char *err, size_t errlen);

/* Number of determining policies: the satisfied forbids (DENY/STEP_UP) or
 * the satisfied permits (ALLOW); 0 for a default deny. */
MDT_API size_t mdt_policy_answer_reason_count(const mdt_policy_answer *ans);
/* Id of determining policy i (in policy order), or NULL when out of
 * range; owned by the policy set. */
MDT_API const char *mdt_policy_answer_reason(const mdt_policy_answer *ans,
    size_t i);

/* Number of policies skipped because their evaluation errored. */
MDT_API size_t mdt_policy_answer_error_count(const mdt_policy_answer *ans);
/* Id of errored policy i, or NULL when out of range; owned by the set. */
MDT_API const char *mdt_policy_answer_error_policy(
    const mdt_policy_answer *ans, size_t i);
/* Message of error i, "policy3: type error: ...", or NULL; owned by the
 * answer until its next evaluation. */
MDT_API const char *mdt_policy_answer_error_message(
    const mdt_policy_answer *ans, size_t i);

/* For STEP_UP: the approver role named by the first satisfied
 * `@step_up("role")` forbid, or NULL when none names one.  Owned by the
 * policy set. */
MDT_API const char *mdt_policy_answer_approver(const mdt_policy_answer *ans);

/* ---- uids from text ---- */

/*
 * Parses a Cedar entity uid literal such as `Ns::Type::"id"` (string
 * escapes allowed).  On success *storage holds the decoded type and id
 * that *out points into; caller frees *storage with mdt_free (after last
 * use of *out).
 */
MDT_API MDT_WUR int mdt_entity_uid_parse(const char *text, size_t len,
    mdt_entity_uid *out, char **storage);

/* ---- conformance cases (Cedar integration-test format) ---- */

typedef struct mdt_policy_case mdt_policy_case;

/* A request of a case and what Cedar answered for it. */
typedef struct mdt_policy_expect {
	const char *description;
	mdt_decision decision;
	const char *const *reasons;
	size_t nreasons;
	const char *const *errors;
	size_t nerrors;
} mdt_policy_expect;

/*
 * Parses one line of the conformance corpus (see the corpus README:
 * name, policies, entities, requests).  -MDT_EPARSE when the line is not
 * a valid case or its policies or entities fail to load (err says why).
 * Caller frees *out with mdt_policy_case_free.
 */
MDT_API MDT_WUR int mdt_policy_case_parse(mdt_policy_case **out,
    const char *line, size_t len, char *err, size_t errlen);

/* Frees a case.  NULL is a no-op. */
MDT_API void mdt_policy_case_free(mdt_policy_case *c);
/* The case's name; owned by the case. */
MDT_API const char *mdt_policy_case_name(const mdt_policy_case *c);
/* Number of requests in the case. */
MDT_API size_t mdt_policy_case_request_count(const mdt_policy_case *c);
/* Why the case cannot be evaluated (it uses a feature documented as not
 * supported yet: policy templates), or NULL.  Static string. */
MDT_API const char *mdt_policy_case_skip_reason(const mdt_policy_case *c);
/* The case's policies (NULL for a skipped case) and entities; owned by
 * the case. */
MDT_API const mdt_policy_set *mdt_policy_case_policies(
    const mdt_policy_case *c);
MDT_API const mdt_entity_store *mdt_policy_case_entities(
    const mdt_policy_case *c);

/* Fills *req and *exp for request i; pointers are owned by the case. */
MDT_API MDT_WUR int mdt_policy_case_request(const mdt_policy_case *c,
    size_t i, mdt_policy_request *req, mdt_policy_expect *exp);

/* Returns a static name: "allow", "deny" or "step-up". */
MDT_API const char *mdt_decision_name(mdt_decision d);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_POLICY_H */
