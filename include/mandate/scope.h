/*
 * SMART App Launch v2 scopes and scope sets.
 *
 * A scope is `context/Type.perms[?param=value[&param=value...]]` where
 * context is patient, user or system (FHIR) or tool (non-FHIR tools), Type
 * is a FHIR resource type or `*` (for tool/, a tool name), and perms is a
 * non-empty, ordered, non-repeating subset of "cruds" (for tool/, of the
 * tool letters documented in docs/scopes.md).  SMART v1 suffixes `read`,
 * `write` and `*` are accepted by the parser and normalised to v2 (rs, cud,
 * cruds) before anything else sees them.  Parsing is strict: malformed
 * text is rejected, never repaired.
 *
 * A scope set is a union of scopes.  Sets are immutable once built by the
 * functions below except through mdt_scope_set_add.
 */
#ifndef MANDATE_SCOPE_H
#define MANDATE_SCOPE_H

#include <mandate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds: longer input is MDT_ETOOBIG. */
#define MDT_SCOPE_TEXT_MAX 256  /* one scope string, bytes */
#define MDT_SCOPE_SET_MAX 64    /* scopes in one set */
#define MDT_SCOPE_PARAMS_MAX 8  /* query restrictions in one scope */
#define MDT_SCOPE_REF_MAX 1024  /* a resource reference (request_parse) */

typedef enum mdt_scope_context {
	MDT_SCOPE_FHIR = 0, /* requests only: a FHIR request (any context) */
	MDT_SCOPE_PATIENT = 1,
	MDT_SCOPE_USER = 2,
	MDT_SCOPE_SYSTEM = 3,
	MDT_SCOPE_TOOL = 4
} mdt_scope_context;

typedef struct mdt_scope_set mdt_scope_set;

/* One query restriction or request parameter.  Not NUL-terminated
 * necessarily: lengths are explicit. */
typedef struct mdt_scope_param {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
} mdt_scope_param;

/*
 * A request to check against a scope set.  All strings are NUL-terminated
 * and borrowed from the caller.
 *   action   one permission letter ("c","r","u","d","s") for FHIR, or a
 *            tool letter for tool/ requests
 *   context  MDT_SCOPE_TOOL for tool requests, any other value for FHIR
 *   type     FHIR resource type ("Observation") or tool name ("fax")
 *   id       resource id, or NULL
 *   patient  patient whose compartment the resource belongs to, or NULL
 *            when the resource is in no patient compartment
 *   params   query parameters of a search, or attributes of the resource
 *            that query restrictions are matched against
 */
typedef struct mdt_scope_request {
	const char *action;
	mdt_scope_context context;
	const char *type;
	const char *id;
	const char *patient;
	const mdt_scope_param *params;
	size_t nparams;
} mdt_scope_request;

/* Creates an empty set.  Caller frees with mdt_scope_set_free. */
MDT_API MDT_WUR int mdt_scope_set_new(mdt_scope_set **out);

/* Frees a set.  NULL is a no-op. */
MDT_API void mdt_scope_set_free(mdt_scope_set *set);

/* Deep copy.  Caller frees *out with mdt_scope_set_free. */
MDT_API MDT_WUR int mdt_scope_set_dup(const mdt_scope_set *set,
    mdt_scope_set **out);

/*
 * Parses one scope string (text, len bytes; no NUL needed) and adds it to
 * the set; a scope already present (after v1 normalisation) is not added
 * twice.  On MDT_EPARSE / MDT_ETOOBIG, err (if not NULL) receives a
 * message naming the byte offset and the reason, and the set is unchanged.
 */
MDT_API MDT_WUR int mdt_scope_set_add(mdt_scope_set *set, const char *text,
    size_t len, char *err, size_t errlen);

/*
 * Parses a space-separated list of scopes into a new set.  All or
 * nothing: on error *out is not written.  Caller frees *out.
 */
MDT_API MDT_WUR int mdt_scope_set_parse(const char *text, size_t len,
    mdt_scope_set **out, char *err, size_t errlen);

/* Number of scopes in the set. */
MDT_API size_t mdt_scope_set_count(const mdt_scope_set *set);

/*
 * Writes the canonical v2 text of scope i into buf (NUL-terminated).
 * MDT_ETOOBIG if buflen is too small, MDT_EINVAL if i is out of range.
 */
MDT_API MDT_WUR int mdt_scope_set_get(const mdt_scope_set *set, size_t i,
    char *buf, size_t buflen);

/*
 * Canonical space-separated text of the whole set, scopes in a stable
 * sorted order.  Caller frees *out with mdt_free.
 */
MDT_API MDT_WUR int mdt_scope_set_format(const mdt_scope_set *set,
    char **out);

/*
 * *out = 1 when every request that `inner` authorizes is also authorized
 * by `outer`, else 0.  Conservative: when in doubt, 0.
 */
MDT_API MDT_WUR int mdt_scope_set_contains(const mdt_scope_set *outer,
    const mdt_scope_set *inner, int *out);

/*
 * Exact intersection: the set of scopes authorizing exactly the requests
 * both a and b authorize.  Contexts narrow (system > user > patient; tool
 * only meets tool), wildcards narrow to the named type, permissions
 * intersect, query restrictions conjoin.  An empty result is an empty
 * set.  Caller frees *out with mdt_scope_set_free.
 */
MDT_API MDT_WUR int mdt_scope_set_intersect(const mdt_scope_set *a,
    const mdt_scope_set *b, mdt_scope_set **out);

/*
 * *out = 1 when some scope in the set authorizes the request, else 0.
 * `patient` is the patient the token or task is bound to: a patient/
 * scope only matches requests whose req->patient equals it.
 */
MDT_API MDT_WUR int mdt_scope_set_matches(const mdt_scope_set *set,
    const mdt_scope_request *req, const char *patient, int *out);

/*
 * Parses a resource reference as used on command lines and in requests:
 * `Type/id`, `Type`, `Type?name=value&...` or `tool/name`.  Strings in
 * *req point into `buf`, a caller-provided scratch buffer of buflen
 * bytes, and params into `params` (up to maxparams).  req->action and
 * req->patient are left for the caller to fill.
 */
MDT_API MDT_WUR int mdt_scope_request_parse(const char *ref,
    mdt_scope_request *req, char *buf, size_t buflen,
    mdt_scope_param *params, size_t maxparams, char *err, size_t errlen);

/*
 * The requests one scope grants, each as authorize names it: for a FHIR
 * scope (`patient/Observation.rs`), fn(arg, "r", "read", "Observation",
 * 0) for each of c, r, u, d, s it names, in that order; for a tool scope
 * (`tool/fax.x`), fn(arg, "x", "fax", "fax", 1).  text is one scope in
 * canonical form (mdt_scope_set_get); a scope of another shape calls fn
 * never.  A non-zero fn return stops the walk and is returned.
 */
typedef int (*mdt_scope_action_fn)(void *arg, const char *action,
    const char *cedar_action, const char *type, int tool);
MDT_API MDT_WUR int mdt_scope_actions(const char *text,
    mdt_scope_action_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_SCOPE_H */
