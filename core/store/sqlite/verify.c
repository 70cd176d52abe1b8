/*
 * Verification of an audit store file: recomputes every record's hash,
 * follows the prev links in sequence order, checks the signed
 * checkpoints and their chain, and cross-checks the derived index of
 * ended tasks.  Each finding names the sequence numbers concerned and
 * the most likely cause (changed, deleted, inserted, re-ordered).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "sqlite_int.h"

#define HASH MDT_STORE_HASH_BYTES
#define LOOKUPS_MAX 16 /* full-table hash lookups when explaining links */

typedef struct vrow {
	int present;
	uint64_t seq;
	const mdt__kind_desc *d;
	uint8_t prev[HASH], hash[HASH];
	int content_ok;
} vrow;

typedef struct vcp {
	uint64_t seq, prev_cp;
	uint8_t hash[HASH];
	int sig_ok, matched;
} vcp;

typedef struct verifier {
	sqlite3 *db;
	uint8_t id[MDT__STORE_ID_BYTES];
	const unsigned char *pk;
	mdt_store_issue_fn fn;
	void *arg;
	mdt_store_report rep;
	vcp *cps;
	size_t ncps, cpi;   /* checkpoints, next one to match */
	vrow z, a, b;       /* the two rows before b, and b */
	uint8_t tail[HASH]; /* hash b must link to */
	int skip_link;      /* b's link was explained with its predecessor */
	int swap_pending;   /* after b the chain continues from swap_tail */
	uint8_t swap_tail[HASH];
	int lookups;
	uint64_t head_last; /* the chain is pinned up to here by heads */
	char err[MDT_ERRMSG_MAX];
} verifier;

static void
issue(verifier *v, mdt_store_issue_kind kind, uint64_t seq, uint64_t end,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
issue(verifier *v, mdt_store_issue_kind kind, uint64_t seq, uint64_t end,
    const char *fmt, ...)
{
	mdt_store_issue is = {.kind = kind, .seq = seq, .seq_end = end,
	    .fatal = kind != MDT_STORE_UNSIGNED_TAIL};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(is.message, sizeof(is.message), fmt, ap);
	va_end(ap);
	if (is.fatal)
		v->rep.issues++;
	else
		v->rep.warnings++;
	if (v->fn != NULL)
		v->fn(v->arg, &is);
}

static int
blob32(sqlite3_stmt *st, int col, uint8_t out[HASH])
{
	if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, col) != HASH) {
		memset(out, 0, HASH);
		return 0;
	}
	memcpy(out, sqlite3_column_blob(st, col), HASH);
	return 1;
}

/* ---- checkpoints ------------------------------------------------- */

static int
load_checkpoints(verifier *v)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(v->db, "SELECT seq, hash, time_ms, prev_cp,"
	    " sig FROM checkpoints ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		goto bad;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t msg[MDT__CHECKPOINT_MSG_BYTES];
		vcp *c;
		size_t len;
		if (v->ncps == cap) {
			vcp *n = mdt__realloc(v->cps, (cap * 2 + 16) *
			    sizeof(*n));
			if (n == NULL) {
				sqlite3_finalize(st);
				return -MDT_ENOMEM;
			}
			v->cps = n;
			cap = cap * 2 + 16;
		}
		c = &v->cps[v->ncps++];
		memset(c, 0, sizeof(*c));
		c->seq = (uint64_t)sqlite3_column_int64(st, 0);
		c->prev_cp = (uint64_t)sqlite3_column_int64(st, 3);
		c->sig_ok = blob32(st, 1, c->hash) &&
		    sqlite3_column_bytes(st, 4) == MDT_STORE_SIG_BYTES;
		len = mdt__checkpoint_msg(v->id, c->seq, c->hash,
		    sqlite3_column_int64(st, 2), c->prev_cp, msg);
		c->sig_ok = c->sig_ok && crypto_sign_verify_detached(
		    sqlite3_column_blob(st, 4), msg, len, v->pk) == 0;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
bad:
	snprintf(v->err, sizeof(v->err), "reading checkpoints: %s",
	    sqlite3_errmsg(v->db));
	return -MDT_ESTORE;
}

/* Reports what is wrong with checkpoint i on its own. */
static void
check_checkpoint(verifier *v, size_t i)
{
	const vcp *c = &v->cps[i];
	uint64_t want_prev = i > 0 ? v->cps[i - 1].seq : 0;

	if (!c->sig_ok)
		issue(v, MDT_STORE_BAD_CHECKPOINT, c->seq, c->seq,
		    "checkpoint at seq %" PRIu64 ": signature does not verify "
		    "with the given key (forged or altered)", c->seq);
	if (c->prev_cp != want_prev)
		issue(v, MDT_STORE_MISSING_CHECKPOINT, want_prev, c->seq,
		    "checkpoint at seq %" PRIu64 " names previous checkpoint "
		    "%" PRIu64 ", but the one before it is at %" PRIu64
		    " (checkpoint deleted or inserted)", c->seq, c->prev_cp,
		    want_prev);
}

/* Matches the checkpoints up to b's seq against b. */
static void
match_checkpoints(verifier *v, const vrow *b)
{
	char have[2 * HASH + 1], want[2 * HASH + 1];

	while (v->cpi < v->ncps && v->cps[v->cpi].seq <= b->seq) {
		vcp *c = &v->cps[v->cpi];
		check_checkpoint(v, v->cpi++);
		if (c->seq != b->seq)
			continue; /* its record is gone: reported as deleted */
		if (memcmp(c->hash, b->hash, HASH) != 0) {
			mdt__hex(c->hash, HASH, want);
			mdt__hex(b->hash, HASH, have);
			issue(v, MDT_STORE_BAD_CHECKPOINT, c->seq, c->seq,
			    "checkpoint at seq %" PRIu64 " signs chain hash "
			    "%.16s... but record %" PRIu64 " has %.16s... "
			    "(records up to it were rewritten)", c->seq, want,
			    b->seq, have);
			continue;
		}
		c->matched = 1;
		if (c->sig_ok) {
			v->rep.checkpoints++;
			v->rep.last_checkpoint_seq = c->seq;
		}
	}
}

/* ---- records ----------------------------------------------------- */

static void
read_row(const mdt__mrow *m, vrow *r)
{
	mdt__val vals[MDT__COLS_MAX];
	uint8_t h[HASH];
	int ok;

	memset(r, 0, sizeof(*r));
	r->present = 1;
	r->seq = m->seq;
	r->d = m->d;
	ok = blob32(m->st, 1, r->prev) & blob32(m->st, 2, r->hash);
	if (ok && mdt__row_vals(m->st, m->d, vals) == 0) {
		mdt__chain_hash(m->d->kind, r->prev, vals,
		    mdt__kind_nhashed(m->d, vals), h);
		ok = sodium_memcmp(h, r->hash, HASH) == 0;
	} else {
		ok = 0;
	}
	r->content_ok = ok;
}

/* Seq of the record whose stored hash is h (0 when none), bounded. */
static uint64_t
find_hash(verifier *v, const uint8_t h[HASH])
{
	uint64_t found = 0;
	char sql[96];

	if (v->lookups >= LOOKUPS_MAX)
		return 0;
	v->lookups++;
	for (int k = 1; k < MDT__KIND_COUNT_ && found == 0; k++) {
		sqlite3_stmt *st;
		snprintf(sql, sizeof(sql), "SELECT seq FROM %s WHERE hash = ?1",
		    mdt__kind_get(k)->table);
		if (sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) != SQLITE_OK)
			continue;
		if (sqlite3_bind_blob(st, 1, h, HASH, SQLITE_STATIC) ==
		    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			found = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return found;
}

/* Explains why b does not link to its predecessor a; c is b's
 * successor (may be absent). */
static void
explain_link(verifier *v, const vrow *c)
{
	const vrow *z = &v->z, *a = &v->a, *b = &v->b;
	uint64_t s;

	if (z->present && a->present && memcmp(b->prev, z->hash, HASH) == 0) {
		issue(v, MDT_STORE_INSERTED, a->seq, a->seq, "record %" PRIu64
		    " (%s) is not part of the chain: record %" PRIu64
		    " links to %" PRIu64 " (inserted)", a->seq, a->d->name,
		    b->seq, z->seq);
	} else if (c != NULL && c->present &&
	    memcmp(b->prev, c->hash, HASH) == 0 &&
	    memcmp(c->prev, v->tail, HASH) == 0) {
		issue(v, MDT_STORE_REORDERED, b->seq, c->seq, "records %"
		    PRIu64 " and %" PRIu64 " are in each other's place "
		    "(re-ordered)", b->seq, c->seq);
		v->skip_link = 1;
		v->swap_pending = 1;
		memcpy(v->swap_tail, b->hash, HASH);
	} else if ((s = find_hash(v, b->prev)) != 0) {
		issue(v, MDT_STORE_REORDERED, b->seq, b->seq, "record %"
		    PRIu64 " (%s) follows record %" PRIu64 " in the chain, "
		    "not %" PRIu64 " (re-ordered)", b->seq, b->d->name, s,
		    a->present ? a->seq : 0);
	} else {
		issue(v, MDT_STORE_BROKEN_LINK, b->seq, b->seq, "record %"
		    PRIu64 " (%s) does not follow record %" PRIu64 ": its "
		    "prev hash matches no record (a record before it was "
		    "deleted and the rest renumbered, or the record before "
		    "it was replaced)", b->seq, b->d->name,
		    a->present ? a->seq : 0);
	}
}

/* b has the same seq as a (the tables share one numbering). */
static void
duplicate(verifier *v, const vrow *c)
{
	issue(v, MDT_STORE_INSERTED, v->b.seq, v->b.seq, "seq %" PRIu64
	    " appears twice (%s and %s): one of them was inserted",
	    v->b.seq, v->a.d->name, v->b.d->name);
	/* The one the chain continues from stays the predecessor. */
	if (c != NULL && memcmp(c->prev, v->b.hash, HASH) == 0)
		memcpy(v->tail, v->b.hash, HASH);
	else
		v->b = v->a;
}

static void
report_gap(verifier *v, uint64_t from, uint64_t to)
{
	if (from == to)
		issue(v, MDT_STORE_DELETED, from, to, "record %" PRIu64
		    " is missing (deleted)", from);
	else
		issue(v, MDT_STORE_DELETED, from, to, "records %" PRIu64
		    "..%" PRIu64 " are missing (deleted)", from, to);
}

/* Evaluates v->b, the row after v->a; c is the next row or NULL. */
static void
eval(verifier *v, const vrow *c)
{
	vrow *a = &v->a, *b = &v->b;
	uint64_t expect = a->present ? a->seq + 1 : 1;
	int explained = 0, finish_swap = 0;

	if (!b->content_ok)
		issue(v, MDT_STORE_CHANGED, b->seq, b->seq, "record %" PRIu64
		    " (%s): fields do not match its hash (changed after it "
		    "was written)", b->seq, b->d->name);
	if (a->present && b->seq == a->seq) {
		duplicate(v, c);
		return;
	}
	if (b->seq > expect) {
		report_gap(v, expect, b->seq - 1);
		explained = 1;
	}
	if (v->skip_link) {
		explained = 1;
		v->skip_link = 0;
		finish_swap = v->swap_pending;
		v->swap_pending = 0;
	}
	if (!explained && memcmp(b->prev, v->tail, HASH) != 0)
		explain_link(v, c);
	memcpy(v->tail, finish_swap ? v->swap_tail : b->hash, HASH);
	match_checkpoints(v, b);
}

static int
run_chain(verifier *v)
{
	mdt__merge *m;
	mdt__mrow row;
	vrow c;
	int rc;

	if ((rc = mdt__merge_open(v->db, NULL, &m, v->err,
	    sizeof(v->err))) != 0)
		return rc;
	mdt__chain_genesis(v->id, v->tail);
	while ((rc = mdt__merge_next(m, &row, v->err, sizeof(v->err))) == 1) {
		read_row(&row, &c);
		if (v->b.present) {
			eval(v, &c);
			v->z = v->a;
			v->a = v->b;
		}
		v->b = c;
		v->rep.records++;
		v->rep.last_seq = c.seq;
	}
	if (rc == 0 && v->b.present)
		eval(v, NULL);
	mdt__merge_close(m);
	return rc;
}

/* Checkpoints beyond the last record, and the unsigned tail. */
static void
finish(verifier *v)
{
	uint64_t last = v->rep.last_seq, lastcp = 0, lcp;

	for (; v->cpi < v->ncps; v->cpi++) {
		check_checkpoint(v, v->cpi);
		if (v->cps[v->cpi].sig_ok)
			lastcp = v->cps[v->cpi].seq;
	}
	if (lastcp > last)
		issue(v, MDT_STORE_TRUNCATED, last + 1, lastcp, "records %"
		    PRIu64 "..%" PRIu64 " covered by the checkpoint at seq %"
		    PRIu64 " are missing (log truncated)", last + 1, lastcp,
		    lastcp);
	if (v->head_last > last)
		issue(v, MDT_STORE_TRUNCATED, last + 1, v->head_last, "records %"
		    PRIu64 "..%" PRIu64 " covered by a receipt head are "
		    "missing (log truncated)", last + 1, v->head_last);
	/* A valid head signs its batch's last record's chained hash (a
	 * decision, or its closing leaf), which pins every record before
	 * it, as a checkpoint does. */
	lcp = v->rep.last_checkpoint_seq > v->head_last ?
	    v->rep.last_checkpoint_seq : v->head_last;
	v->rep.unsigned_records = last > lcp ? last - lcp : 0;
	if (last > lcp)
		issue(v, MDT_STORE_UNSIGNED_TAIL, lcp + 1, last, "records %"
		    PRIu64 "..%" PRIu64 " come after the last valid checkpoint"
		    " or receipt head (seq %" PRIu64 ") and are not covered by"
		    " a signature: their removal could not be detected",
		    lcp + 1, last, lcp);
}

/* Ended tasks as the revocation records say; the index must agree. */
#define DERIVED "SELECT r.seq AS seq, j.value AS id, CASE WHEN j.key = 0" \
	" THEN r.state ELSE 4 END AS st FROM revocations r," \
	" json_each(r.revoked) j WHERE json_valid(r.revoked)"

static const struct {
	const char *sql;
	const char *pre, *post;
} index_checks[] = {
	{"SELECT d.seq, d.id FROM (" DERIVED ") d WHERE NOT EXISTS (SELECT 1"
	    " FROM ended e WHERE e.task_id = d.id AND e.state = d.st AND"
	    " e.rev_seq = d.seq) ORDER BY d.seq",
	    ", ended by revocation", ", is missing from the ended-task index"
	    " (it would be treated as open)"},
	{"SELECT e.rev_seq, e.task_id FROM ended e WHERE NOT EXISTS (SELECT 1"
	    " FROM (" DERIVED ") d WHERE d.id = e.task_id AND d.st = e.state"
	    " AND d.seq = e.rev_seq) ORDER BY e.rev_seq",
	    " is marked ended in the index by revocation", ", but no "
	    "revocation record says so"},
};

static int
check_index(verifier *v)
{
	for (size_t i = 0; i < sizeof(index_checks) / sizeof(index_checks[0]);
	    i++) {
		sqlite3_stmt *st;
		int rc;
		if (sqlite3_prepare_v2(v->db, index_checks[i].sql, -1, &st,
		    NULL) != SQLITE_OK)
			goto bad;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
			const unsigned char *id = sqlite3_column_text(st, 1);
			issue(v, MDT_STORE_INDEX_MISMATCH, seq, seq,
			    "task %s%s %" PRIu64 "%s", id ? (const char *)id :
			    "?", index_checks[i].pre, seq,
			    index_checks[i].post);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			goto bad;
	}
	return 0;
bad:
	snprintf(v->err, sizeof(v->err), "checking the ended-task index: %s",
	    sqlite3_errmsg(v->db));
	return -MDT_ESTORE;
}

static void
bad_head(void *ctx, uint64_t first, uint64_t last, const char *why)
{
	issue(ctx, MDT_STORE_BAD_HEAD, first, last, "receipt head of the "
	    "batch %" PRIu64 "..%" PRIu64 ": %s", first, last, why);
}

static int
check_heads(verifier *v)
{
	int rc = mdt__sq_check_heads(v->db, v->pk, bad_head, v,
	    &v->rep.heads, &v->head_last);

	if (rc != 0)
		snprintf(v->err, sizeof(v->err), "checking receipt heads: %s",
		    sqlite3_errmsg(v->db));
	v->rep.last_head_seq = v->head_last;
	return rc;
}

int
mdt__sq_verify(const char *path, const unsigned char pk[MDT_STORE_PK_BYTES],
    mdt_store_issue_fn fn, void *arg, mdt_store_report *report, char *err,
    size_t errlen)
{
	verifier v = {.pk = pk, .fn = fn, .arg = arg};
	int rc;

	if (path == NULL || pk == NULL)
		return -MDT_EINVAL;
	if (sodium_init() < 0)
		return -MDT_ECRYPTO;
	if ((rc = mdt__schema_open(path, 1, 5000, &v.db, v.id, v.err,
	    sizeof(v.err))) != 0)
		goto out;
	/* One read transaction: a consistent snapshot of a live store. */
	if (sqlite3_exec(v.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = -MDT_ESTORE;
		snprintf(v.err, sizeof(v.err), "%s", sqlite3_errmsg(v.db));
		goto out;
	}
	if ((rc = load_checkpoints(&v)) == 0 && (rc = run_chain(&v)) == 0 &&
	    (rc = check_index(&v)) == 0 && (rc = check_heads(&v)) == 0)
		finish(&v);
	sqlite3_exec(v.db, "COMMIT", NULL, NULL, NULL);
out:
	sqlite3_close(v.db);
	mdt__free(v.cps);
	if (rc != 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", v.err);
	if (rc == 0 && v.rep.issues > 0)
		rc = -MDT_EAUDIT;
	if (report != NULL)
		*report = v.rep;
	return rc;
}
