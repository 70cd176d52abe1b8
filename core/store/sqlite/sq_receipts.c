/*
 * Receipts in the SQLite backend: the tables (not chained; created by a
 * writer when absent, so stores of every schema version may have them),
 * the last head at open, storing a batch's head and leaves inside its
 * transaction, and reading a decision's batch back.
 */
#include <string.h>

#include "alloc_int.h"
#include "receipt_int.h"
#include "sqlite_int.h"

const char mdt__sq_receipt_tables_sql[] =
    "CREATE TABLE IF NOT EXISTS receipt_heads(first_seq INTEGER PRIMARY KEY,"
    " last_seq INTEGER NOT NULL, head BLOB NOT NULL, sig BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS receipt_leaves(seq INTEGER PRIMARY KEY,"
    " first_seq INTEGER NOT NULL, leaf_index INTEGER NOT NULL,"
    " token_id BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS receipt_leaves_batch ON"
    " receipt_leaves(first_seq, leaf_index);";

int
mdt__sq_receipts_open(mdt_store *s, char *err, size_t errlen)
{
	sqlite3 *db = s->bs->db;
	sqlite3_stmt *st;
	uint8_t *zero = s->w.last_head;

	memset(zero, 0, MDT_RECEIPT_HASH_BYTES);
	if (sqlite3_exec(db, mdt__sq_receipt_tables_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT head FROM receipt_heads ORDER BY"
	    " first_seq DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "receipt tables: %s", sqlite3_errmsg(db));
		return -MDT_ESTORE;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		mdt_receipt_head h;
		if (mdt_receipt_head_decode(sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), &h) == 0) {
			mdt_receipt_head_hash(&h, s->w.last_head);
			s->w.rcover = h.last_seq;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static int
put_leaf(mdt_store *s, const struct mdt__rleaf *l, uint64_t first,
    size_t index)
{
	sqlite3_stmt *st = s->bs->st[MDT__W_LEAF_INSERT];

	if (sqlite3_bind_int64(st, 1, (int64_t)l->seq) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (int64_t)first) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (int64_t)index) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, l->token_id, 32, SQLITE_STATIC) !=
	    SQLITE_OK) {
		sqlite3_reset(st);
		return mdt__store_sqlerr(s, s->bs->db, SQLITE_ERROR, "leaf");
	}
	return mdt__step_done(s, st, "receipt leaf");
}

int
mdt__sq_head_put(mdt_store *s, const mdt_receipt_head *h,
    const uint8_t sig[MDT_STORE_SIG_BYTES], const struct mdt__rleaf *lv,
    size_t n)
{
	sqlite3_stmt *st = s->bs->st[MDT__W_HEAD_INSERT];
	uint8_t hb[MDT_RECEIPT_HEAD_BYTES];
	int rc;

	mdt_receipt_head_encode(h, hb);
	if (sqlite3_bind_int64(st, 1, (int64_t)h->first_seq) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (int64_t)h->last_seq) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, hb, sizeof(hb), SQLITE_TRANSIENT) !=
	    SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, sig, MDT_STORE_SIG_BYTES,
	    SQLITE_TRANSIENT) != SQLITE_OK) {
		sqlite3_reset(st);
		return mdt__store_sqlerr(s, s->bs->db, SQLITE_ERROR, "head");
	}
	if ((rc = mdt__step_done(s, st, "receipt head")) != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = put_leaf(s, &lv[i], h->first_seq, i);
	return rc;
}

/* The head and signature of the batch holding seq; its first seq. */
static int
read_head(sqlite3 *db, uint64_t seq, mdt_receipt_head *h, uint8_t *sig,
    int64_t *first)
{
	sqlite3_stmt *st;
	int rc = -MDT_ENOTFOUND;

	if (sqlite3_prepare_v2(db, "SELECT l.first_seq, h.head, h.sig FROM"
	    " receipt_leaves l JOIN receipt_heads h ON h.first_seq ="
	    " l.first_seq WHERE l.seq = ?1", -1, &st, NULL) != SQLITE_OK)
		return -MDT_ENOTFOUND; /* a store without receipt tables */
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*first = sqlite3_column_int64(st, 0);
		rc = mdt_receipt_head_decode(sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), h) != 0 ||
		    sqlite3_column_bytes(st, 2) != MDT_STORE_SIG_BYTES ?
		    -MDT_EAUDIT : 0;
		if (rc == 0)
			memcpy(sig, sqlite3_column_blob(st, 2), MDT_STORE_SIG_BYTES);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The batch's leaves in order, each with its decision's chained hash
 * as the decisions table holds it now. */
int
mdt__sq_read_leaves(sqlite3 *db, int64_t first, struct mdt__rleaf **out,
    size_t *n)
{
	sqlite3_stmt *st;
	struct mdt__rleaf *lv = NULL, *t;
	size_t k = 0;
	int rc = 0;

	/* A store without the newer kinds' tables was never written by a
	 * writer that adds closing leaves (writers add every table first):
	 * its leaves are all decisions. */
	if (sqlite3_prepare_v2(db, MDT__LEAVES_SQL("?1"), -1, &st, NULL) !=
	    SQLITE_OK && sqlite3_prepare_v2(db, "SELECT l.seq, d.hash,"
	    " l.token_id FROM receipt_leaves l LEFT JOIN decisions d ON"
	    " d.seq = l.seq WHERE l.first_seq = ?1 ORDER BY l.leaf_index", -1,
	    &st, NULL) != SQLITE_OK)
		return -MDT_ESTORE;
	sqlite3_bind_int64(st, 1, first);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		if ((t = mdt__realloc(lv, (k + 1) * sizeof(*lv))) == NULL) {
			rc = -MDT_ENOMEM;
			break;
		}
		lv = t;
		memset(&lv[k], 0, sizeof(lv[k]));
		lv[k].seq = (uint64_t)sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == 32)
			memcpy(lv[k].rhash, sqlite3_column_blob(st, 1), 32);
		if (sqlite3_column_bytes(st, 2) == 32)
			memcpy(lv[k].token_id, sqlite3_column_blob(st, 2), 32);
		k++;
	}
	sqlite3_finalize(st);
	if (rc != 0)
		mdt__free(lv);
	else {
		*out = lv;
		*n = k;
	}
	return rc;
}

int
mdt__sq_get_receipt(mdt_store *s, uint64_t seq, mdt_receipt_head *h,
    uint8_t sig[MDT_STORE_SIG_BYTES], struct mdt__rleaf **leaves,
    size_t *n)
{
	mdt__reader *r;
	int64_t first = 0;
	int rc;

	if (seq > INT64_MAX)
		return -MDT_ENOTFOUND;
	r = mdt__reader_acquire(s);
	rc = read_head(r->db, seq, h, sig, &first);
	if (rc == 0)
		rc = mdt__sq_read_leaves(r->db, first, leaves, n);
	mdt__reader_release(r);
	return rc;
}

/* ---- verification ------------------------------------------------ */

/* What is wrong with one stored head, or NULL.  prev: the previous
 * head's hash, advanced here. */
static const char *
head_fault(sqlite3 *db, sqlite3_stmt *st, const mdt_pubkey *pk,
    uint8_t prev[MDT_RECEIPT_HASH_BYTES], mdt_receipt_head *h,
    int *authentic)
{
	struct mdt__rleaf *lv = NULL;
	mdt__rtree t;
	size_t n = 0;
	const char *why = NULL;

	if (mdt_receipt_head_decode(sqlite3_column_blob(st, 2),
	    (size_t)sqlite3_column_bytes(st, 2), h) != 0 ||
	    sqlite3_column_bytes(st, 3) != MDT_STORE_SIG_BYTES ||
	    h->first_seq != (uint64_t)sqlite3_column_int64(st, 0) ||
	    h->last_seq != (uint64_t)sqlite3_column_int64(st, 1))
		return "malformed head";
	if (mdt_receipt_head_verify(h, sqlite3_column_blob(st, 3), pk, NULL))
		why = "signature does not verify under the broker's key";
	else {
		*authentic = 1;
		if (memcmp(h->prev, prev, MDT_RECEIPT_HASH_BYTES) != 0)
			why = "does not name the previous head (a head was "
			    "removed or replaced)";
	}
	mdt_receipt_head_hash(h, prev);
	if (why != NULL)
		return why;
	if (mdt__sq_read_leaves(db, (int64_t)h->first_seq, &lv, &n) != 0)
		return "cannot read its leaves";
	if (n != h->tree_size || lv[0].seq != h->first_seq ||
	    lv[n - 1].seq != h->last_seq)
		why = "its leaves are not the batch it signed";
	else if (mdt__rleaves_tree(lv, n, &t) != 0)
		why = "cannot rebuild its tree";
	else {
		if (memcmp(mdt__rtree_root(&t), h->root, 32) != 0)
			why = "the batch's records do not give the signed root"
			    " (a decision, the batch's last record or a leaf's"
			    " token id was changed or removed)";
		mdt__rtree_free(&t);
	}
	mdt__free(lv);
	return why;
}

int
mdt__sq_check_heads(sqlite3 *db, const unsigned char pk[MDT_STORE_PK_BYTES],
    mdt__head_fault_fn bad, void *ctx, uint64_t *nheads, uint64_t *last)
{
	sqlite3_stmt *st;
	uint8_t prev[MDT_RECEIPT_HASH_BYTES] = { 0 };
	mdt_pubkey key;
	mdt_receipt_head h;
	int rc;

	*nheads = 0;
	*last = 0;
	memcpy(key.bytes, pk, sizeof(key.bytes));
	if (sqlite3_prepare_v2(db, "SELECT first_seq, last_seq, head, sig FROM"
	    " receipt_heads ORDER BY first_seq", -1, &st, NULL) != SQLITE_OK)
		return 0; /* a store without receipts */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int authentic = 0;
		const char *why = head_fault(db, st, &key, prev, &h,
		    &authentic);
		if (why != NULL)
			bad(ctx, (uint64_t)sqlite3_column_int64(st, 0),
			    (uint64_t)sqlite3_column_int64(st, 1), why);
		else
			(*nheads)++;
		/* a signed head is the broker's word on its range even
		 * when the records it names were changed since */
		if (authentic && h.last_seq > *last)
			*last = h.last_seq;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -MDT_ESTORE;
}
