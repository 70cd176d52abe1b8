/*
 * Cedar's JSON data formats (entities, context, attribute values): a
 * strict JSON tree with byte offsets (json_parse.c) and its conversion
 * into values (json.c), so that every error names file:line:col.
 */
#ifndef MDT_CEDAR_JSON_INT_H
#define MDT_CEDAR_JSON_INT_H

#include "cedar/cedar_int.h"

/* Arrays and objects open at once: Cedar reads JSON with serde_json, whose
 * recursion limit allows 127. */
#define CEDAR_JSON_DEPTH 127

typedef enum cjkind {
	CJ_NULL, CJ_BOOL, CJ_INT, CJ_REAL, CJ_STR, CJ_ARR, CJ_OBJ
} cjkind;

typedef struct cjnode cjnode;
struct cjnode {
	cjkind kind;
	size_t off;          /* byte offset of the value in the text */
	int b;
	int64_t i;
	cedar_str s;         /* decoded, NUL-terminated, may contain NUL */
	cjnode **items;      /* array elements or object values */
	cedar_str *keys;     /* object keys (unique) */
	size_t n;
};

/* Parses text into a tree in arena a; NULL with "name:line:col: why" in
 * err on malformed JSON. */
cjnode *cjson_parse(cedar_arena *a, const char *text, size_t len,
    const char *name, char *err, size_t errlen);
/* Member of an object, or NULL (also when obj is not an object). */
const cjnode *cjson_get(const cjnode *obj, const char *key);

typedef struct cedar_jctx {
	cedar_arena *a;      /* where converted values go */
	int bare_uids;       /* read {"type","id"} objects as entity refs */
	int failed;
	size_t off;          /* where the first failure is */
	char msg[MDT_ERRMSG_MAX];
} cedar_jctx;

/* Records msg at node j (first failure only) and returns -1. */
int cj_fail(cedar_jctx *jc, const cjnode *j, const char *msg);
int cj_value(cedar_jctx *jc, const cjnode *j, cedar_value *out);
int cj_uid(cedar_jctx *jc, const cjnode *j, cedar_uid *out);
int cj_record(cedar_jctx *jc, const cjnode *obj, cedar_value *out);
/* Formats jc's failure as "name:line:col: message". */
void cj_report(const cedar_jctx *jc, const char *text, const char *name,
    char *err, size_t errlen);

/* Loads an entities array into store, atomically. */
int cedar_entities_load_tree(mdt_entity_store *store, const cjnode *root,
    int bare_uids, cedar_jctx *jc);

/* Applies a method (by id) to a receiver and arguments (eval_ext.c). */
int cedar_method_apply(cedar_eval *ev, int id, const cedar_value *recv,
    const cedar_value *args, size_t nargs, cedar_value *out);

#endif
