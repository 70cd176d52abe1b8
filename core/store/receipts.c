/*
 * Receipts of the audit store (docs/audit.md, "Receipts"): for each
 * commit batch, the writer builds an RFC 9162 tree over the batch's
 * committed decisions (leaf: seq, the record's chained hash, the id of
 * the token the decision issued) and, when the batch ends with another
 * kind of record, a closing leaf for it; has the broker's signer sign
 * the head and stores head and leaves in the batch's own transaction, so
 * a decision is durable exactly when its receipt is, and every record
 * is covered by a signed head once its batch commits (heads are the
 * store's checkpoints).  The signer runs
 * before COMMIT on the writer thread: a signature costs tens of
 * microseconds, the batch's fsync milliseconds.
 */
#include <string.h>

#include "alloc_int.h"
#include "backend.h"
#include "receipt_int.h"

struct mdt__rbatch {
	mdt__rtree tree;
	mdt_receipt_head head;
	uint8_t sig[MDT_STORE_SIG_BYTES];
};

/* The batch's last chained record, when it is not one of its leaves. */
struct closing {
	int present;
	uint64_t seq;
	uint8_t rhash[MDT_STORE_HASH_BYTES];
};

static int
leaf_of(mdt__op *op)
{
	return op->type == MDT__OP_DECISION && op->rc == 0;
}

/*
 * The batch's leaves: each committed decision in order, then, when the
 * batch's last chained record is not a decision (a task opened or
 * ended, a revocation, a step-up), a closing leaf for that record with
 * a zero token id.  The head then pins every record the batch wrote, so
 * heads stand in for checkpoints.
 */
static int
collect(mdt__op *batch, mdt__op *end, const struct closing *c,
    struct mdt__rleaf **out, size_t *n, mdt_receipt_head *h)
{
	size_t k = 0, cap = (size_t)c->present;
	struct mdt__rleaf *lv;

	for (mdt__op *op = batch; op != end; op = op->next)
		cap += (size_t)leaf_of(op);
	if (cap == 0 || (lv = mdt__calloc(cap, sizeof(*lv))) == NULL)
		return cap == 0 ? 0 : -MDT_ENOMEM;
	for (mdt__op *op = batch; op != end; op = op->next) {
		if (!leaf_of(op))
			continue;
		op->leaf = (uint32_t)k;
		op->in_tree = 1;
		lv[k].seq = op->seq;
		memcpy(lv[k].rhash, op->rhash, MDT_STORE_HASH_BYTES);
		memcpy(lv[k++].token_id, op->token_id, MDT_STORE_HASH_BYTES);
	}
	if (c->present) {
		lv[k].seq = c->seq;
		memcpy(lv[k++].rhash, c->rhash, MDT_STORE_HASH_BYTES);
	}
	h->first_seq = lv[0].seq;
	h->last_seq = lv[k - 1].seq;
	*out = lv;
	*n = k;
	return 0;
}

int
mdt__receipts_seal(mdt_store *s, mdt__op *batch, mdt__op *end,
    uint64_t seq0)
{
	struct closing c = {0};
	struct mdt__rbatch *rb;
	struct mdt__rleaf *lv = NULL;
	uint64_t last = 0;
	size_t n = 0;
	int rc;

	if (!mdt__receipts_on(s))
		return 0;
	for (mdt__op *op = batch; op != end; op = op->next)
		if (leaf_of(op))
			last = op->seq;
	if (s->w.head_seq > (last > seq0 ? last : seq0)) {
		c.present = 1;
		c.seq = s->w.head_seq;
		memcpy(c.rhash, s->w.head_hash, MDT_STORE_HASH_BYTES);
	}
	if ((rb = mdt__calloc(1, sizeof(*rb))) == NULL)
		return -MDT_ENOMEM;
	if ((rc = collect(batch, end, &c, &lv, &n, &rb->head)) != 0 || n == 0) {
		mdt__free(rb);
		return rc;
	}
	rc = mdt__rleaves_tree(lv, n, &rb->tree);
	s->w.rb = rb;
	if (rc == 0) {
		rb->head.tree_size = (uint32_t)n;
		rb->head.time_ms = mdt_store_now_ms();
		memcpy(rb->head.root, mdt__rtree_root(&rb->tree), 32);
		memcpy(rb->head.prev, s->w.last_head, 32);
		if (s->head_sign(s->head_sign_arg, &rb->head, rb->sig) != 0) {
			mdt__store_seterr(s, "signing the receipt head failed");
			rc = -MDT_ESTORE;
		}
	}
	if (rc == 0)
		rc = s->be->head_put(s, &rb->head, rb->sig, lv, n);
	mdt__free(lv);
	return rc;
}

int
mdt__receipts_on(const mdt_store *s)
{
	return s->head_sign != NULL && s->be->head_put != NULL;
}

void
mdt__receipts_end(mdt_store *s, int ok)
{
	if (s->w.rb == NULL)
		return;
	if (ok) {
		mdt_receipt_head_hash(&s->w.rb->head, s->w.last_head);
		s->w.rcover = s->w.rb->head.last_seq;
	} else {
		mdt__receipts_release(s);
	}
}

int
mdt__receipts_of(const mdt_store *s, const mdt__op *op, mdt_receipt *out)
{
	const struct mdt__rbatch *rb = s->w.rb;
	size_t len = 0;

	if (rb == NULL || !op->in_tree || op->rc != 0)
		return -MDT_ENOTFOUND;
	memset(out, 0, sizeof(*out));
	out->seq = op->seq;
	memcpy(out->record_hash, op->rhash, 32);
	out->index = op->leaf;
	mdt__rtree_prove(&rb->tree, op->leaf, out->path[0], &len);
	out->path_len = (uint8_t)len;
	out->head = rb->head;
	memcpy(out->sig, rb->sig, sizeof(out->sig));
	return 0;
}

void
mdt__receipts_release(mdt_store *s)
{
	struct mdt__rbatch *rb = s->w.rb;

	if (rb == NULL)
		return;
	mdt__rtree_free(&rb->tree);
	mdt__free(rb);
	s->w.rb = NULL;
}

int
mdt_store_get_receipt(mdt_store *store, uint64_t seq,
    uint8_t token_id[MDT_RECEIPT_HASH_BYTES], mdt_receipt *out)
{
	struct mdt__rleaf *lv = NULL;
	mdt__rtree t;
	size_t n = 0, k, len = 0;
	int rc;

	if (store == NULL || token_id == NULL || out == NULL)
		return -MDT_EINVAL;
	if (store->be->get_receipt == NULL)
		return -MDT_ENOTFOUND;
	memset(out, 0, sizeof(*out));
	rc = store->be->get_receipt(store, seq, &out->head, out->sig, &lv, &n);
	for (k = 0; rc == 0 && k < n && lv[k].seq != seq; k++)
		;
	if (rc == 0 && (k == n || n != out->head.tree_size))
		rc = -MDT_EAUDIT;
	if (rc == 0)
		rc = mdt__rleaves_tree(lv, n, &t);
	if (rc == 0) {
		out->seq = seq;
		out->index = (uint32_t)k;
		memcpy(out->record_hash, lv[k].rhash, 32);
		memcpy(token_id, lv[k].token_id, 32);
		mdt__rtree_prove(&t, k, out->path[0], &len);
		out->path_len = (uint8_t)len;
		mdt__rtree_free(&t);
	}
	mdt__free(lv);
	return rc;
}

int
mdt__rleaves_tree(const struct mdt__rleaf *lv, size_t n, mdt__rtree *t)
{
	uint8_t *leaves, data[MDT_RECEIPT_LEAF_DATA_BYTES];
	int rc;

	if (n == 0)
		return -MDT_EAUDIT;
	if ((leaves = mdt__malloc(n * 32)) == NULL)
		return -MDT_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		mdt_receipt_leaf_data(lv[i].seq, lv[i].rhash, lv[i].token_id,
		    data);
		mdt_receipt_leaf_hash(data, sizeof(data), leaves + 32 * i);
	}
	rc = mdt__rtree_build(leaves, n, t);
	mdt__free(leaves);
	return rc;
}
