/*
 * Evidence export of the audit store as JSON lines: a header line naming
 * the store, then every chained record in sequence order with its prev
 * and hash, each checkpoint and receipt head right after the record it
 * covers (a head with its leaves' seqs and token ids, so that a copy of
 * the export kept elsewhere pins the log as its checkpoints would).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "sqlite_int.h"

typedef struct exporter {
	mdt_store_emit_fn emit;
	void *arg;
	sqlite3_stmt *cp;   /* checkpoints in seq order */
	int cp_has;
	sqlite3_stmt *hd;   /* receipt heads in seq order (NULL: none) */
	sqlite3_stmt *lf;   /* their leaves, in the same order */
	int hd_has, lf_has;
	char err[MDT_ERRMSG_MAX];
} exporter;

static json_t *
hex_json(const void *p, int len)
{
	char hex[2 * 128 + 1]; /* a receipt head is 109 bytes */

	if (p == NULL || len < 0 || len > 128)
		return json_null();
	mdt__hex(p, (size_t)len, hex);
	return json_string(hex);
}

/* Emits one JSON object as a line and drops the reference. */
static int
emit_json(exporter *x, json_t *o)
{
	char *text;
	int rc;

	if (o == NULL)
		return -MDT_ENOMEM;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return -MDT_ENOMEM;
	rc = x->emit(x->arg, text, strlen(text));
	free(text);
	return rc < 0 ? rc : rc > 0 ? 1 : 0;
}

static int
emit_header(exporter *x, const mdt_store *s, const char *task_id)
{
	uint8_t genesis[MDT_STORE_HASH_BYTES];

	mdt__chain_genesis(s->id, genesis);
	return emit_json(x, json_pack("{s:s, s:i, s:o, s:o, s:s?}", "kind",
	    "store", "schema_version", MDT__STORE_SCHEMA_VERSION, "store_id",
	    hex_json(s->id, MDT__STORE_ID_BYTES), "genesis",
	    hex_json(genesis, MDT_STORE_HASH_BYTES), "task", task_id));
}

/* Emits the checkpoints covering seqs up to `upto`. */
static int
emit_checkpoints(exporter *x, uint64_t upto)
{
	sqlite3_stmt *st = x->cp;
	int rc = 0;

	while (rc == 0 && x->cp_has &&
	    (uint64_t)sqlite3_column_int64(st, 0) <= upto) {
		rc = emit_json(x, json_pack("{s:I, s:s, s:o, s:I, s:I, s:o}",
		    "seq", (json_int_t)sqlite3_column_int64(st, 0), "kind",
		    "checkpoint", "hash", hex_json(sqlite3_column_blob(st, 1),
		    sqlite3_column_bytes(st, 1)), "time_ms",
		    (json_int_t)sqlite3_column_int64(st, 2), "prev_cp",
		    (json_int_t)sqlite3_column_int64(st, 3), "sig",
		    hex_json(sqlite3_column_blob(st, 4),
		    sqlite3_column_bytes(st, 4))));
		x->cp_has = sqlite3_step(st) == SQLITE_ROW;
	}
	return rc;
}

/* The leaves of the head whose first seq is first: [[seq, token id]...]. */
static json_t *
head_leaves(exporter *x, int64_t first)
{
	json_t *a = json_array();

	while (a != NULL && x->lf_has &&
	    sqlite3_column_int64(x->lf, 0) <= first) {
		if (sqlite3_column_int64(x->lf, 0) == first &&
		    json_array_append_new(a, json_pack("[I, o]",
		    (json_int_t)sqlite3_column_int64(x->lf, 1),
		    hex_json(sqlite3_column_blob(x->lf, 2),
		    sqlite3_column_bytes(x->lf, 2)))) != 0) {
			json_decref(a);
			return NULL;
		}
		x->lf_has = sqlite3_step(x->lf) == SQLITE_ROW;
	}
	return a;
}

/* Emits the receipt heads whose batches end at or before `upto`. */
static int
emit_heads(exporter *x, uint64_t upto)
{
	sqlite3_stmt *st = x->hd;
	int rc = 0;

	while (rc == 0 && x->hd_has &&
	    (uint64_t)sqlite3_column_int64(st, 1) <= upto) {
		int64_t first = sqlite3_column_int64(st, 0);
		rc = emit_json(x, json_pack("{s:I, s:s, s:I, s:o, s:o, s:o}",
		    "seq", (json_int_t)sqlite3_column_int64(st, 1), "kind",
		    "receipt_head", "first_seq", (json_int_t)first, "head",
		    hex_json(sqlite3_column_blob(st, 2),
		    sqlite3_column_bytes(st, 2)), "sig",
		    hex_json(sqlite3_column_blob(st, 3),
		    sqlite3_column_bytes(st, 3)), "leaves",
		    head_leaves(x, first)));
		x->hd_has = sqlite3_step(st) == SQLITE_ROW;
	}
	return rc;
}

static int
emit_record(exporter *x, const mdt__mrow *row)
{
	mdt__val vals[MDT__COLS_MAX];
	json_t *o;

	if (mdt__row_vals(row->st, row->d, vals) != 0)
		return -MDT_ESTORE;
	if ((o = mdt__vals_json(row->d, row->seq, vals)) == NULL)
		return -MDT_ENOMEM;
	json_object_set_new(o, "prev", hex_json(sqlite3_column_blob(row->st,
	    1), sqlite3_column_bytes(row->st, 1)));
	json_object_set_new(o, "hash", hex_json(sqlite3_column_blob(row->st,
	    2), sqlite3_column_bytes(row->st, 2)));
	return emit_json(x, o);
}

static int
run(mdt_store *s, sqlite3 *db, const char *task_id, exporter *x)
{
	mdt__merge *m;
	mdt__mrow row;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT seq, hash, time_ms, prev_cp, sig"
	    " FROM checkpoints ORDER BY seq", -1, &x->cp, NULL) != SQLITE_OK)
		return mdt__store_sqlerr(s, db, SQLITE_ERROR, "checkpoints");
	x->cp_has = sqlite3_step(x->cp) == SQLITE_ROW;
	/* a store without receipt tables has no heads */
	if (sqlite3_prepare_v2(db, "SELECT first_seq, last_seq, head, sig FROM"
	    " receipt_heads ORDER BY first_seq", -1, &x->hd, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, "SELECT first_seq, seq,"
	    " token_id FROM receipt_leaves ORDER BY first_seq, leaf_index", -1,
	    &x->lf, NULL) == SQLITE_OK) {
		x->hd_has = sqlite3_step(x->hd) == SQLITE_ROW;
		x->lf_has = sqlite3_step(x->lf) == SQLITE_ROW;
	}
	if ((rc = mdt__merge_open(db, task_id, &m, x->err,
	    sizeof(x->err))) != 0)
		return rc;
	rc = emit_header(x, s, task_id);
	while (rc == 0 && (rc = mdt__merge_next(m, &row, x->err,
	    sizeof(x->err))) == 1) {
		rc = emit_checkpoints(x, row.seq - 1);
		if (rc == 0)
			rc = emit_heads(x, row.seq - 1);
		if (rc == 0)
			rc = emit_record(x, &row);
	}
	if (rc == 0)
		rc = emit_checkpoints(x, UINT64_MAX);
	if (rc == 0)
		rc = emit_heads(x, UINT64_MAX);
	mdt__merge_close(m);
	return rc;
}

int
mdt__sq_export_jsonl(mdt_store *store, const char *task_id,
    mdt_store_emit_fn emit, void *arg)
{
	exporter x = {.emit = emit, .arg = arg};
	mdt__reader *r;
	int rc;

	if (store == NULL || emit == NULL)
		return -MDT_EINVAL;
	if (task_id != NULL) {
		mdt_store_task *t;
		if ((rc = mdt_store_get_task(store, task_id, &t)) != 0)
			return rc;
		mdt__free(t);
	}
	r = mdt__reader_acquire(store);
	/* One read transaction: a consistent snapshot while the broker
	 * keeps writing. */
	if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = mdt__store_sqlerr(store, r->db, SQLITE_ERROR, "begin");
	} else {
		rc = run(store, r->db, task_id, &x);
		sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	}
	sqlite3_finalize(x.cp);
	sqlite3_finalize(x.hd);
	sqlite3_finalize(x.lf);
	if (x.err[0] != '\0')
		mdt__store_seterr(store, "%s", x.err);
	mdt__reader_release(r);
	return rc > 0 ? 0 : rc;
}
