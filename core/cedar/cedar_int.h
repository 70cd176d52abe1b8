/*
 * Internals shared by the Cedar engine's files: the arena, values,
 * compiled policies (AST), entity stores, record builders, answers and
 * the evaluator's entry points.  Nothing here is public API.
 */
#ifndef MDT_CEDAR_INT_H
#define MDT_CEDAR_INT_H

#include <stddef.h>
#include <stdint.h>

#include <mandate/policy.h>

#include "cedar/ext_int.h"

/* ---- arena: bump allocation in chunks, freed all at once ---- */

typedef struct cedar_chunk cedar_chunk;

typedef struct cedar_arena {
	cedar_chunk *head;  /* current chunk; older ones chained behind */
	size_t total;       /* bytes handed out since the last reset */
	size_t limit;       /* 0 = unbounded */
} cedar_arena;

void cedar_arena_init(cedar_arena *a, size_t limit);
/* Aligned to 16; NULL on allocation failure or when limit is reached. */
void *cedar_arena_alloc(cedar_arena *a, size_t n);
/* Copies len bytes and a NUL terminator. */
char *cedar_arena_dup(cedar_arena *a, const char *s, size_t len);
/* Forgets every allocation, keeping one chunk for reuse. */
void cedar_arena_reset(cedar_arena *a);
void cedar_arena_free(cedar_arena *a);
/* Moves every chunk of src into dst; src is left empty. */
void cedar_arena_adopt(cedar_arena *dst, cedar_arena *src);

/* ---- values ---- */

typedef struct cedar_str {
	const char *p;
	size_t n;
} cedar_str;

typedef struct cedar_uid {
	cedar_str type;
	cedar_str id;
} cedar_uid;

typedef enum cedar_kind {
	CK_BOOL,
	CK_LONG,
	CK_STRING,
	CK_ENTITY,
	CK_SET,
	CK_RECORD,
	CK_DECIMAL,
	CK_IP,
	CK_DATETIME,
	CK_DURATION
} cedar_kind;

typedef struct cedar_value cedar_value;
typedef struct cedar_field cedar_field;

struct cedar_value {
	cedar_kind kind;
	union {
		int b;
		int64_t l;          /* long, decimal (x10^4), datetime, duration (ms) */
		cedar_str s;
		cedar_uid uid;
		struct {
			cedar_value *v;
			size_t n;
		} set;
		struct {
			cedar_field *f; /* sorted by key, keys unique */
			size_t n;
		} rec;
		cedar_ip ip;
	} u;
};

struct cedar_field {
	cedar_str key;
	cedar_value val;
};

int cedar_str_eq(cedar_str a, cedar_str b);
int cedar_str_cmp(cedar_str a, cedar_str b);
int cedar_uid_eq(const cedar_uid *a, const cedar_uid *b);
int cedar_value_eq(const cedar_value *a, const cedar_value *b);
/* Field of a record value, or NULL. */
const cedar_value *cedar_record_get(const cedar_value *rec, cedar_str key);
const char *cedar_kind_name(cedar_kind k);
/* Deep copy into arena; -1 on allocation failure. */
int cedar_value_copy(cedar_arena *a, const cedar_value *src, cedar_value *dst);
/* Sorts fields by key; -1 if two keys are equal (*dup set to one). */
int cedar_record_sort(cedar_field *f, size_t n, cedar_str *dup);
/* Builds an extension value from fn(arg): 0, or -1 (bad name or literal). */
int cedar_ext_construct(cedar_str fn, cedar_str arg, cedar_value *out);
static inline cedar_str
cedar_cstr(const char *s, size_t n)
{
	cedar_str r = {s, n};
	return r;
}

/* ---- policies (compiled AST) ---- */

typedef enum cedar_expr_kind {
	EX_LIT, EX_VAR, EX_AND, EX_OR, EX_NOT, EX_NEG, EX_IF, EX_BIN,
	EX_HAS, EX_LIKE, EX_IS, EX_ATTR, EX_METHOD, EX_CALL, EX_SET, EX_RECORD,
	EX_ARITH
} cedar_expr_kind;

typedef enum cedar_binop {
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_ADD, OP_SUB, OP_MUL, OP_IN
} cedar_binop;

typedef enum cedar_var {
	VAR_PRINCIPAL, VAR_ACTION, VAR_RESOURCE, VAR_CONTEXT
} cedar_var;

/* One element of a compiled `like` pattern: literal text or a `*`. */
typedef struct cedar_pat {
	cedar_str lit;
	int star;
} cedar_pat;

typedef struct cedar_expr cedar_expr;
struct cedar_expr {
	cedar_expr_kind kind;
	int op;                  /* cedar_binop, cedar_var or method id */
	cedar_expr *a, *b, *c;   /* operands */
	cedar_value lit;         /* EX_LIT */
	cedar_str name;          /* attribute, type (is), method, function */
	cedar_expr **args;       /* EX_METHOD/EX_CALL args, EX_SET items,
	                            EX_RECORD values; the operands of a flat
	                            chain (EX_AND, EX_OR, EX_ARITH), evaluated
	                            in a loop so that a chain's length is not
	                            nesting */
	int *ops;                /* EX_ARITH: ops[i] joins args[i] (i >= 1) */
	cedar_str *keys;         /* EX_RECORD keys */
	size_t nargs;
	cedar_pat *pat;          /* EX_LIKE */
	size_t npat;
	uint32_t height;         /* nodes on the longest path below */
};

typedef enum cedar_scope_kind {
	SC_ANY, SC_EQ, SC_IN, SC_IS, SC_IS_IN, SC_IN_LIST
} cedar_scope_kind;

typedef struct cedar_scope {
	cedar_scope_kind kind;
	cedar_str type;      /* SC_IS, SC_IS_IN */
	cedar_uid uid;       /* SC_EQ, SC_IN, SC_IS_IN */
	cedar_uid *list;     /* SC_IN_LIST */
	size_t nlist;
} cedar_scope;

typedef struct cedar_clause {
	int unless;
	cedar_expr *expr;
} cedar_clause;

typedef struct cedar_annot {
	cedar_str key;
	cedar_str value;
	int has_value;
} cedar_annot;

typedef struct cedar_policy {
	int forbid;
	const char *id;
	cedar_scope principal, action, resource;
	cedar_clause *clauses;
	size_t nclauses;
	cedar_annot *annots;
	size_t nannots;
	int step_up;            /* carries @step_up */
	const char *approver;   /* @step_up("role") value, or NULL */
} cedar_policy;

struct mdt_policy_set {
	cedar_arena arena;
	cedar_policy *pol;      /* mdt__malloc'd array */
	size_t n, cap;
	int positional_ids;     /* ignore @id (conformance corpus rule) */
	char hash[MDT_POLICY_HASH_HEX];
};

/* mdt_policy_set_parse with a choice of id rule (positional = ignore @id). */
int cedar_policy_set_from_text(mdt_policy_set **out, const char *text,
    size_t len, const char *name, int positional, char *err, size_t errlen);
/* Reads a whole file (at most max bytes, NUL-terminated); caller frees
 * *out with mdt__free. */
int cedar_read_file(const char *path, size_t max, char **out, size_t *len,
    char *err, size_t errlen);

/* Parses text and appends its policies to set (positional ids start at
 * set->n).  On error, err holds "name:line:col: ...", and set->n is
 * unchanged (arena memory may remain until the set is freed). */
int cedar_parse_policies(mdt_policy_set *set, const char *text, size_t len,
    const char *name, char *err, size_t errlen);

/* Decodes a string literal body (between the quotes) with Cedar escapes;
 * pattern = 1 keeps `\*` as a marker (returns pattern parts instead). */
int cedar_unescape(cedar_arena *a, const char *s, size_t n, cedar_str *out,
    size_t *bad_off);

/* Why Cedar refuses identifier s[0..n) as an attribute, record key or
 * name part (a reserved word or `__cedar`), or NULL when it may be used. */
const char *cedar_ident_reserved(const char *s, size_t n);
/* Why t is not an entity type name as Cedar writes one (`Ident{::Ident}`,
 * no spaces, no reserved part), or NULL when it is. */
const char *cedar_type_name_check(cedar_str t);

/* ---- entities ---- */

typedef struct cedar_entity cedar_entity;
struct cedar_entity {
	cedar_uid uid;
	cedar_value attrs;      /* record */
	cedar_value tags;       /* record */
	cedar_uid *parents;
	/* parents[i] resolved to its entity when it was in the store (or its
	 * base) at load time, else NULL (looked up when needed) */
	const cedar_entity **pent;
	size_t nparents;
	uint64_t hash;
	cedar_entity *next;     /* bucket chain */
	cedar_entity *all;      /* insertion list */
};

struct mdt_entity_store {
	cedar_arena arena;
	cedar_entity **buckets;
	size_t nbuckets;
	size_t count;
	cedar_entity *first;
	const mdt_entity_store *base;
};

uint64_t cedar_uid_hash(const cedar_uid *u);
const cedar_entity *cedar_store_find(const mdt_entity_store *s,
    const cedar_uid *u);
/* Resolves the still unresolved parent links of every entity of s. */
void cedar_store_resolve(mdt_entity_store *s);
/* Whether the entities of added, joined to store, make a cycle of parent
 * links: 0 no, 1 yes (*cyc is on it), -1 out of memory. */
int cedar_store_find_cycle(const mdt_entity_store *store,
    const mdt_entity_store *added, const cedar_entity **cyc);
/* Inserts e (allocated in s->arena or adopted); -MDT_EEXIST, -MDT_ENOMEM. */
int cedar_store_insert(mdt_entity_store *s, cedar_entity *e);

/* ---- JSON (jansson) to values ---- */

/* mdt_entity_store_load_json with the option of reading bare
 * {"type","id"} objects as entity references (conformance corpus). */
int cedar_entities_load(mdt_entity_store *store, const char *json,
    size_t len, const char *name, int bare_uids, char *err, size_t errlen);

/* ---- record builder ---- */

typedef struct cedar_frame {
	int is_set;
	cedar_str key;       /* key in the parent */
	cedar_field *f;      /* items (keys ignored for sets) */
	size_t n, cap;
} cedar_frame;

#define CEDAR_RECORD_NEST_MAX 16

struct mdt_policy_record {
	cedar_arena arena;
	cedar_frame frames[CEDAR_RECORD_NEST_MAX];
	size_t depth;        /* open frames; frames[0] is the root */
	cedar_value root;    /* view of frames[0] as a record */
};

const cedar_value *cedar_record_root(const mdt_policy_record *r);

/* ---- answers and evaluation ---- */

typedef struct cedar_err_entry {
	const char *policy;
	const char *msg;
} cedar_err_entry;

struct mdt_policy_answer {
	cedar_arena arena;
	mdt_decision decision;
	const char **reasons;
	size_t nreasons;
	cedar_err_entry *errors;
	size_t nerrors;
	const char *approver;
};

/* Evaluates one policy: 1 satisfied, 0 not, -1 error (msg filled). */
typedef struct cedar_eval cedar_eval;
/* Recent entity lookups of one evaluation, keyed by the uid's string
 * pointers: the same variable or attribute value is looked up again and
 * again across the policies of a set. */
#define CEDAR_FIND_CACHE 64   /* direct-mapped by the id pointer */
typedef struct cedar_find_memo {
	const char *type, *id;
	size_t type_len, id_len;
	const cedar_entity *e;
} cedar_find_memo;

struct cedar_eval {
	const mdt_entity_store *store;
	cedar_find_memo memo[CEDAR_FIND_CACHE];   /* zeroed: id == NULL */
	cedar_value vars[4];
	cedar_arena *arena;
	char msg[MDT_ERRMSG_MAX];
	int oom;
};

int cedar_eval_policy(cedar_eval *ev, const cedar_policy *p);
int cedar_eval_expr(cedar_eval *ev, const cedar_expr *e, cedar_value *out);
/* Sets ev->msg; always returns -1. */
int cedar_fail(cedar_eval *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* cedar_store_find through the evaluation's memo (store may be NULL). */
const cedar_entity *cedar_eval_find(cedar_eval *ev, const cedar_uid *u);
/* e in target, over the entity hierarchy (every ancestor once). */
int cedar_entity_in(cedar_eval *ev, const cedar_uid *e, const cedar_uid *target);
/* Methods and extension functions (eval_ext.c). */
int cedar_eval_method(cedar_eval *ev, const cedar_expr *e, cedar_value *out);
int cedar_eval_call(cedar_eval *ev, const cedar_expr *e, cedar_value *out);
/* Method id for a name, or -1; its argument count (used by the parser). */
int cedar_method_id(cedar_str name);
size_t cedar_method_arity(int id);
/* 1 for set and tag methods, whose arity the parser checks. */
int cedar_method_builtin(int id);
/* 1 when name is a known extension function. */
int cedar_function_known(cedar_str name);
int cedar_like(const cedar_str *s, const cedar_pat *p, size_t np);

/* Writes code point cp as UTF-8 (1 to 4 bytes); returns the length. */
size_t cedar_utf8_put(char *o, uint32_t cp);

/* Line and column (1-based) of byte offset off in text. */
void cedar_line_col(const char *text, size_t off, uint32_t *line,
    uint32_t *col);

#endif
