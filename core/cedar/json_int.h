/*
 * Conversion of Cedar's JSON data formats (entities, context, attribute
 * values) into values, with the JSON path of the offending node kept so
 * that errors can name file:line:col (json_locate.c).
 */
#ifndef MDT_CEDAR_JSON_INT_H
#define MDT_CEDAR_JSON_INT_H

#include <jansson.h>

#include "cedar/cedar_int.h"

#define CEDAR_JSON_DEPTH 64

typedef struct cedar_jstep {
	const char *key;     /* NULL for an array index */
	size_t index;
} cedar_jstep;

typedef struct cedar_jctx {
	cedar_arena *a;
	int bare_uids;       /* read {"type","id"} objects as entity refs */
	int failed;
	size_t depth;
	cedar_jstep path[CEDAR_JSON_DEPTH];
	char msg[160];
} cedar_jctx;

void cj_push_key(cedar_jctx *jc, const char *key);
void cj_push_index(cedar_jctx *jc, size_t i);
void cj_pop(cedar_jctx *jc);
/* Records msg (once) and returns -1. */
int cj_fail(cedar_jctx *jc, const char *msg);

int cj_value(cedar_jctx *jc, const json_t *j, cedar_value *out);
int cj_uid(cedar_jctx *jc, const json_t *j, cedar_uid *out);
int cj_record(cedar_jctx *jc, const json_t *obj, cedar_value *out);

/* Parses text with jansson (rejecting duplicate keys); on error writes
 * "name:line:col: message". */
json_t *cj_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen);
/* Formats jc's failure as "name:line:col: message" using its path. */
void cj_report(const cedar_jctx *jc, const char *text, size_t len,
    const char *name, char *err, size_t errlen);

/* Loads an already parsed entities array (no positions in messages). */
int cedar_entities_load_tree(mdt_entity_store *store, const json_t *root,
    int bare_uids, char *msg, size_t msglen);

/* Applies a method (by id) to a receiver and arguments (eval_ext.c). */
int cedar_method_apply(cedar_eval *ev, int id, const cedar_value *recv,
    const cedar_value *args, size_t nargs, cedar_value *out);

#endif
