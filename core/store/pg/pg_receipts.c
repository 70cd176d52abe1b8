/*
 * Receipts in the PostgreSQL backend.  head_put stages a batch's signed
 * head and its leaves; the commit's pipeline sends them with the
 * records they cover (same transaction, no extra round trip).  The hash
 * of the last head lives in the locked `head` row beside the chain head,
 * so that the batches of several brokers on one store form one chain of
 * heads, as they form one hash chain.  get_receipt reads a decision's
 * batch back.  Verification copies both tables into the snapshot
 * (pg_snap.c), where the SQLite checker judges them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "pg_int.h"
#include "receipt_int.h"

void
mdt__pg_receipt_clear(mdt_store *s)
{
	struct mdt__pgrcpt *r = &s->bs->rcpt;

	mdt__free(r->seqs);
	mdt__free(r->idx);
	mdt__free(r->tokens);
	memset(r, 0, sizeof(*r));
}

/* The array literals of the batch's leaves: seqs, indexes, token ids. */
static int
leaf_arrays(struct mdt__pgrcpt *r, const struct mdt__rleaf *lv, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t o1 = 1, o2 = 1, o3 = 1;

	r->seqs = mdt__malloc(n * 22 + 3);
	r->idx = mdt__malloc(n * 12 + 3);
	r->tokens = mdt__malloc(n * (2 * MDT_STORE_HASH_BYTES + 8) + 3);
	if (r->seqs == NULL || r->idx == NULL || r->tokens == NULL)
		return -MDT_ENOMEM;
	r->seqs[0] = r->idx[0] = r->tokens[0] = '{';
	for (size_t k = 0; k < n; k++) {
		const char *sep = k > 0 ? "," : "";
		o1 += (size_t)sprintf(r->seqs + o1, "%s%" PRIu64, sep,
		    lv[k].seq);
		o2 += (size_t)sprintf(r->idx + o2, "%s%zu", sep, k);
		o3 += (size_t)sprintf(r->tokens + o3, "%s\"\\\\x", sep);
		for (size_t i = 0; i < MDT_STORE_HASH_BYTES; i++) {
			r->tokens[o3++] = hx[lv[k].token_id[i] >> 4];
			r->tokens[o3++] = hx[lv[k].token_id[i] & 15];
		}
		r->tokens[o3++] = '"';
	}
	memcpy(r->seqs + o1, "}", 2);
	memcpy(r->idx + o2, "}", 2);
	memcpy(r->tokens + o3, "}", 2);
	return 0;
}

int
mdt__pg_head_put(mdt_store *s, const mdt_receipt_head *h,
    const uint8_t sig[MDT_STORE_SIG_BYTES], const struct mdt__rleaf *lv,
    size_t n)
{
	struct mdt__pgrcpt *r = &s->bs->rcpt;
	int rc;

	mdt__pg_receipt_clear(s);
	mdt_receipt_head_encode(h, r->head);
	mdt_receipt_head_hash(h, r->hash);
	memcpy(r->sig, sig, MDT_STORE_SIG_BYTES);
	r->first = (int64_t)h->first_seq;
	r->last = (int64_t)h->last_seq;
	if ((rc = leaf_arrays(r, lv, n)) != 0) {
		mdt__pg_receipt_clear(s);
		return rc;
	}
	r->staged = 1;
	return 0;
}

static const char rhead_sql[] = "INSERT INTO receipt_heads(first_seq,"
    " last_seq, head, sig) VALUES ($1, $2, $3, $4)";
static const char rleaves_sql[] = "INSERT INTO receipt_leaves(seq,"
    " first_seq, leaf_index, token_id) SELECT u.s, $2, u.i, u.t FROM"
    " unnest($1::bigint[], $3::int[], $4::bytea[]) AS u(s, i, t)";

int
mdt__pg_receipt_send(mdt_store *s, PGconn *c, int *n)
{
	struct mdt__pgrcpt *r = &s->bs->rcpt;
	mdt__pgp ph = {0}, pl = {0};

	if (!r->staged)
		return 1;
	mdt__pgp_int(&ph, r->first);
	mdt__pgp_int(&ph, r->last);
	mdt__pgp_blob(&ph, r->head, sizeof(r->head));
	mdt__pgp_blob(&ph, r->sig, sizeof(r->sig));
	mdt__pgp_text(&pl, r->seqs);
	mdt__pgp_int(&pl, r->first);
	mdt__pgp_text(&pl, r->idx);
	mdt__pgp_text(&pl, r->tokens);
	if (!PQsendQueryParams(c, rhead_sql, ph.n, NULL, ph.v, ph.len, ph.fmt,
	    1))
		return 0;
	++*n;
	if (!PQsendQueryParams(c, rleaves_sql, pl.n, NULL, pl.v, pl.len,
	    pl.fmt, 1))
		return 0;
	++*n;
	return 1;
}

/* ---- reading a decision's batch back ---------------------------- */

static PGresult *
rq(mdt_store *s, const char *sql, int64_t v, int *rc)
{
	mdt__pgconn *c = mdt__pg_reader(s);
	mdt__pgp p = {0};
	PGresult *r;

	if (c == NULL) {
		*rc = -MDT_ESTORE;
		return NULL;
	}
	mdt__pgp_int(&p, v);
	r = mdt__pg_q_again(s, c, sql, &p, "receipt", rc);
	mdt__pg_reader_release(c);
	return r;
}

static int
read_head(mdt_store *s, uint64_t seq, mdt_receipt_head *h, uint8_t *sig,
    int64_t *first)
{
	int rc;
	PGresult *r = rq(s, "SELECT l.first_seq, h.head, h.sig FROM"
	    " receipt_leaves l JOIN receipt_heads h ON h.first_seq ="
	    " l.first_seq WHERE l.seq = $1", (int64_t)seq, &rc);

	if (r == NULL)
		return rc;
	rc = -MDT_ENOTFOUND;
	if (PQntuples(r) == 1) {
		*first = mdt__pg_int(r, 0, 0);
		rc = mdt_receipt_head_decode((const uint8_t *)PQgetvalue(r, 0,
		    1), (size_t)PQgetlength(r, 0, 1), h) != 0 ||
		    PQgetlength(r, 0, 2) != MDT_STORE_SIG_BYTES ?
		    -MDT_EAUDIT : 0;
		if (rc == 0)
			memcpy(sig, PQgetvalue(r, 0, 2), MDT_STORE_SIG_BYTES);
	}
	PQclear(r);
	return rc;
}

static int
read_leaves(mdt_store *s, int64_t first, struct mdt__rleaf **out,
    size_t *n)
{
	int rc, k;
	PGresult *r = rq(s, MDT__LEAVES_SQL("$1"), first, &rc);
	struct mdt__rleaf *lv;

	if (r == NULL)
		return rc;
	k = PQntuples(r);
	if ((lv = mdt__calloc((size_t)k + 1, sizeof(*lv))) == NULL) {
		PQclear(r);
		return -MDT_ENOMEM;
	}
	for (int i = 0; i < k; i++) {
		lv[i].seq = (uint64_t)mdt__pg_int(r, i, 0);
		if (PQgetlength(r, i, 1) == MDT_STORE_HASH_BYTES)
			memcpy(lv[i].rhash, PQgetvalue(r, i, 1), 32);
		if (PQgetlength(r, i, 2) == MDT_STORE_HASH_BYTES)
			memcpy(lv[i].token_id, PQgetvalue(r, i, 2), 32);
	}
	PQclear(r);
	*out = lv;
	*n = (size_t)k;
	return 0;
}

int
mdt__pg_get_receipt(mdt_store *s, uint64_t seq, mdt_receipt_head *h,
    uint8_t sig[MDT_STORE_SIG_BYTES], struct mdt__rleaf **leaves,
    size_t *n)
{
	int64_t first = 0;
	int rc;

	if (seq > INT64_MAX)
		return -MDT_ENOTFOUND;
	rc = read_head(s, seq, h, sig, &first);
	if (rc == 0)
		rc = read_leaves(s, first, leaves, n);
	return rc;
}
