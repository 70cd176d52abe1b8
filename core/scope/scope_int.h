/*
 * Internals of the scope module, shared by core/scope/scope_*.c: the parsed form
 * of one scope and of a set, and the operations the files lend each other.
 *
 * Invariants of every mdt__scope (established by the parser and kept by
 * intersection): perms is non-zero; params are sorted by (name, value) and
 * distinct; the canonical text fits in MDT_SCOPE_TEXT_MAX bytes, so every
 * formatted scope parses again.
 */
#ifndef MDT_SCOPE_INT_H
#define MDT_SCOPE_INT_H

#include <stddef.h>

#include <mandate/scope.h>

#define MDT__SCOPE_NAME_MAX 64 /* bytes in a resource type or tool name */

/* FHIR permission bits, in canonical order c r u d s. */
enum { MDT__PERM_C = 1, MDT__PERM_R = 2, MDT__PERM_U = 4, MDT__PERM_D = 8,
	MDT__PERM_S = 16 };
/* Tool permission bits: x = invoke. */
enum { MDT__PERM_X = 1 };

/* One query restriction: "name=value" at pbuf[off], '=' at off+name_len. */
typedef struct mdt__scope_param {
	size_t off;
	size_t name_len;
	size_t value_len;
} mdt__scope_param;

typedef struct mdt__scope {
	mdt_scope_context ctx;
	unsigned perms;
	size_t type_len;
	char type[MDT__SCOPE_NAME_MAX + 1]; /* "*" for every type / tool */
	size_t nparams;
	mdt__scope_param params[MDT_SCOPE_PARAMS_MAX];
	size_t plen;
	char pbuf[MDT_SCOPE_TEXT_MAX];
} mdt__scope;

struct mdt_scope_set {
	size_t n;
	size_t cap;
	mdt__scope *v;
};

/* Letters of a context, in canonical order ("cruds" or "x"). */
const char *mdt__scope_letters(mdt_scope_context ctx);

/*
 * Parses one scope (s, len bytes) into *out.  base is added to every
 * offset in error messages (the scope's place in a longer text).
 */
int mdt__scope_parse(const char *s, size_t len, size_t base, mdt__scope *out,
    char *err, size_t errlen);

/* Byte classes shared by scopes and resource references. */
int mdt__scope_is_name_char(unsigned char c);
int mdt__scope_is_value_char(unsigned char c);
/* May ch stand at index k of a type (FHIR) or tool name (ctx TOOL)? */
int mdt__scope_type_char_ok(mdt_scope_context ctx, size_t k,
    unsigned char ch);

/* Canonical text length of a scope, without NUL. */
size_t mdt__scope_text_len(const mdt__scope *sc);

/* Writes the canonical text; buf must hold text_len + 1 bytes. */
void mdt__scope_write(const mdt__scope *sc, char *buf);

/* Total order on scopes: the byte order of their canonical texts. */
int mdt__scope_cmp(const mdt__scope *a, const mdt__scope *b);

/* Sorts n scopes (v may be NULL when n is 0) by mdt__scope_cmp. */
void mdt__scope_sort(mdt__scope *v, size_t n);

/* Name and value of param i. */
const char *mdt__scope_pname(const mdt__scope *sc, size_t i);
const char *mdt__scope_pvalue(const mdt__scope *sc, size_t i);

/* Order of params: name bytes, then value bytes (shorter first on ties). */
int mdt__scope_param_cmp(const char *an, size_t anl, const char *av,
    size_t avl, const char *bn, size_t bnl, const char *bv, size_t bvl);

/*
 * mdt_scope_set_parse, leaving out every scope for which skip (if not
 * NULL) returns 1: a JWT's scope claim skips SMART launch scopes.
 */
int mdt__scope_list_parse(const char *text, size_t len,
    int (*skip)(const char *s, size_t n), mdt_scope_set **out, char *err,
    size_t errlen);

/* Appends a copy of *sc unless an identical scope is present. */
int mdt__scope_set_push(mdt_scope_set *set, const mdt__scope *sc);

/*
 * Brings a set to its normal form without changing what it authorizes:
 * scopes equal but for their permissions are merged, scopes contained in
 * another single scope are dropped, the rest sorted.
 */
void mdt__scope_set_normalize(mdt_scope_set *set);

/* 1 when scope a alone authorizes everything scope b does. */
int mdt__scope_contains(const mdt__scope *a, const mdt__scope *b);

#endif
