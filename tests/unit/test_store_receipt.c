/*
 * Audit store receipts: every asynchronous decision appended with
 * mdt_store_append_decision_receipt gets, after its batch commits, an
 * inclusion proof into its batch's tree and the head the broker's signer
 * signed; heads chain (each names the previous one's hash) across
 * batches and reopenings; the store gives back the same receipt for a
 * seq; decisions appended without one are leaves too.  Backends without
 * receipts report none.
 */
#include <inttypes.h>
#include <pthread.h>
#include <time.h>

#include <mandate/mandate.h>

#include "store_fixture.h"
#include "testutil.h"

#define N 240

static fx F;

struct got {
	pthread_mutex_t mu;
	size_t calls, with;
	uint8_t tok[N][32];
	int rc[N];
	uint64_t seq[N];
	int have[N];
	mdt_receipt r[N];
};

struct arg {
	struct got *g;
	size_t i;
};

static int
signer(void *arg, mdt_receipt_head *h, uint8_t sig[MDT_STORE_SIG_BYTES])
{
	return mdt_receipt_head_sign(h, arg, sig);
}

static void
on_receipt(void *p, int rc, uint64_t seq, const mdt_receipt *r)
{
	struct arg *a = p;
	struct got *g = a->g;

	pthread_mutex_lock(&g->mu);
	g->rc[a->i] = rc;
	g->seq[a->i] = seq;
	if (r != NULL) {
		g->r[a->i] = *r;
		g->have[a->i] = 1;
		g->with++;
	}
	g->calls++;
	pthread_mutex_unlock(&g->mu);
}

static mdt_keypair *kp;
static mdt_pubkey pk;

static void
setup(void)
{
	fx_init(&F);
	ck_assert_int_eq(mdt_keypair_from_seed(F.seed, &kp), 0);
	mdt_keypair_public(kp, &pk);
}

static void
teardown(void)
{
	fx_cleanup(&F);
	mdt_keypair_free(kp);
}

static void
open_signing(void)
{
	mdt_store_opts o = {.checkpoint_every = 50, .checkpoint_ms = 3600000,
	    .head_sign = signer, .head_sign_arg = kp, .max_batch = 16};

	fx_open_opts(&F, &o);
}

static void
append_all(struct got *g, struct arg *a, size_t from, size_t to)
{
	char req[32];

	for (size_t i = from; i < to; i++) {
		mdt_store_decision d = {.request_id = req,
		    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
		    .task_id = "t1", .action = "r", .resource = "Observation/1"};
		snprintf(req, sizeof(req), "req-%zu", i);
		randombytes_buf(g->tok[i], 32);
		a[i] = (struct arg){.g = g, .i = i};
		ck_assert_int_eq(mdt_store_append_decision_receipt(F.s, &d,
		    g->tok[i], on_receipt, &a[i]), 0);
	}
}

/* A waited-for decision is a leaf too (token id 0); its batch's head
 * must follow *last; *last becomes that head's hash. */
static void
sync_leaf(const char *req, uint8_t last[32])
{
	uint64_t seq = fx_decision(&F, req, "t1", MDT_STORE_DENY);
	uint8_t tok[32], zero[32] = { 0 };
	mdt_receipt r;

	ck_assert_int_eq(mdt_store_get_receipt(F.s, seq, tok, &r), 0);
	ck_assert_mem_eq(tok, zero, 32);
	ck_assert_int_eq(mdt_receipt_verify(&r, zero, &pk, 0, NULL), 0);
	ck_assert_mem_eq(r.head.prev, last, 32);
	mdt_receipt_head_hash(&r.head, last);
}

static void
wait_calls(struct got *g, size_t n)
{
	for (int t = 0; t < 60000; t++) {
		size_t c;
		pthread_mutex_lock(&g->mu);
		c = g->calls;
		pthread_mutex_unlock(&g->mu);
		if (c == n)
			return;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	ck_abort_msg("callbacks did not all run");
}

/* Every receipt verifies for its token and no other; the stored batch
 * gives the same receipt back. */
static void
check_receipts(struct got *g, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		mdt_receipt back;
		mdt_receipt_reason why;
		uint8_t tok[32], other[32];
		ck_assert_int_eq(g->rc[i], 0);
		ck_assert_int_eq(g->have[i], 1);
		ck_assert_uint_eq(g->r[i].seq, g->seq[i]);
		ck_assert_int_eq(mdt_receipt_verify(&g->r[i], g->tok[i], &pk, 0,
		    &why), 0);
		memcpy(other, g->tok[i], 32);
		other[0] ^= 1;
		ck_assert_int_eq(mdt_receipt_verify(&g->r[i], other, &pk, 0,
		    &why), -MDT_ECHAIN);
		ck_assert_int_eq(mdt_store_get_receipt(F.s, g->seq[i], tok,
		    &back), 0);
		ck_assert_mem_eq(tok, g->tok[i], 32);
		ck_assert(mdt_receipt_equal(&back, &g->r[i]));
	}
}

/* Heads seen, in order, each naming the previous one. */
static void
check_chain(struct got *g, size_t from, size_t n, uint8_t last[32])
{
	size_t heads = 0;

	for (size_t i = from; i < n; i++) {
		const mdt_receipt_head *h = &g->r[i].head;
		int first = 1;
		for (size_t j = from; j < i; j++)
			if (g->r[j].head.first_seq == h->first_seq)
				first = 0;
		if (!first)
			continue;
		ck_assert_mem_eq(h->prev, last, 32);
		mdt_receipt_head_hash(h, last);
		heads++;
	}
	ck_assert_uint_ge(heads, (n - from) / 16); /* max_batch 16 */
	ck_assert_uint_lt(heads, n - from); /* batches of several */
}

START_TEST(receipts_for_every_decision)
{
	static struct got g;
	static struct arg a[N];
	uint8_t last[32] = { 0 };
	fx_issues is;
	mdt_store_report rep;

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	open_signing();
	sync_leaf("sync-1", last);
	append_all(&g, a, 0, N / 2);
	wait_calls(&g, N / 2);
	check_receipts(&g, 0, N / 2);
	check_chain(&g, 0, N / 2, last);
	fx_close(&F);
	/* the chain of heads goes on after a reopening */
	open_signing();
	sync_leaf("sync-2", last);
	append_all(&g, a, N / 2, N);
	wait_calls(&g, N);
	check_receipts(&g, N / 2, N);
	check_chain(&g, N / 2, N, last);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(is.n, 0);
	pthread_mutex_destroy(&g.mu);
}
END_TEST

START_TEST(no_signer_no_receipts)
{
	static struct got g;
	static struct arg a[4];

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	fx_open(&F);
	append_all(&g, a, 0, 4);
	wait_calls(&g, 4);
	ck_assert_uint_eq(g.with, 0);
	for (size_t i = 0; i < 4; i++) {
		mdt_receipt r;
		uint8_t tok[32];
		ck_assert_int_eq(g.rc[i], 0);
		ck_assert_int_eq(mdt_store_get_receipt(F.s, g.seq[i], tok, &r),
		    -MDT_ENOTFOUND);
	}
	pthread_mutex_destroy(&g.mu);
}
END_TEST

/* A store with several signed batches, closed; then sql run on its
 * file; returns the verification's issues of kind BAD_HEAD. */
static size_t
tampered(const char *sql, mdt_store_report *rep)
{
	static struct got g;
	static struct arg a[64];
	fx_issues is;
	size_t bad = 0;

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	open_signing();
	append_all(&g, a, 0, 64);
	wait_calls(&g, 64);
	fx_close(&F);
	pthread_mutex_destroy(&g.mu);
	ck_assert_int_eq(fx_verify(&F, &is, rep), 0);
	ck_assert_uint_ge(rep->heads, 4);
	fx_sql(&F, sql);
	ck_assert_int_eq(fx_verify(&F, &is, rep), -MDT_EAUDIT);
	for (size_t i = 0; i < is.n; i++)
		bad += is.v[i].kind == MDT_STORE_BAD_HEAD;
	ck_assert_uint_eq(bad, is.n); /* the chained records are intact */
	return bad;
}

START_TEST(verify_refuses_changed_leaf)
{
	mdt_store_report rep;

	ck_assert_uint_eq(tampered("UPDATE receipt_leaves SET token_id ="
	    " zeroblob(32) WHERE seq = (SELECT max(seq) FROM receipt_leaves)",
	    &rep), 1);
}
END_TEST

START_TEST(verify_refuses_bad_head_signature)
{
	mdt_store_report rep;

	ck_assert_uint_eq(tampered("UPDATE receipt_heads SET sig ="
	    " zeroblob(64) WHERE first_seq = (SELECT min(first_seq) FROM"
	    " receipt_heads)", &rep), 1);
}
END_TEST

START_TEST(verify_refuses_removed_head)
{
	mdt_store_report rep;

	/* the next head no longer names its predecessor */
	ck_assert_uint_eq(tampered("DELETE FROM receipt_heads WHERE first_seq"
	    " = (SELECT min(first_seq) FROM receipt_heads)", &rep), 1);
}
END_TEST

/* Two handles writing one PostgreSQL store (two brokers): each batch's
 * head names the previous head whichever handle wrote it, so the heads
 * form one chain, and every receipt verifies. */
START_TEST(two_writers_one_chain_of_heads)
{
	static struct got g;
	static struct arg a[N];
	mdt_store_opts o = {.checkpoint_every = 50, .checkpoint_ms = 3600000,
	    .head_sign = signer, .head_sign_arg = kp, .max_batch = 16};
	mdt_store *first, *second;
	mdt_store_report rep;
	fx_issues is;
	char err[256];

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	open_signing();
	first = F.s;
	o.seal_seed = F.seed;
	ck_assert_msg(mdt_store_open(F.uri, &o, &second, err, sizeof(err)) ==
	    0, "%s", err);
	for (size_t k = 0; k < 8; k++) {
		F.s = k % 2 ? second : first;
		append_all(&g, a, k * 30, k * 30 + 30);
		wait_calls(&g, k * 30 + 30);
	}
	F.s = first;
	ck_assert_uint_eq(g.with, 8 * 30);
	for (size_t i = 0; i < 8 * 30; i++)
		ck_assert_int_eq(mdt_receipt_verify(&g.r[i], g.tok[i], &pk, 0,
		    NULL), 0);
	mdt_store_close(second);
	fx_close(&F);
	pthread_mutex_destroy(&g.mu);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(is.n, 0);
	ck_assert_uint_ge(rep.heads, 16);
}
END_TEST

/* Heads pin the chain in place of checkpoints: none is written, nothing
 * is unsigned, and removing the last records is found as a truncation
 * by the heads alone. */
START_TEST(verify_heads_pin_the_tail)
{
	static struct got g;
	static struct arg a[64];
	fx_issues is;
	mdt_store_report rep;
	uint64_t last;

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	open_signing();
	append_all(&g, a, 0, 64);
	wait_calls(&g, 64);
	fx_close(&F);
	pthread_mutex_destroy(&g.mu);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(rep.checkpoints, 0);
	ck_assert_uint_eq(rep.unsigned_records, 0);
	last = rep.last_seq;
	fx_sql(&F, "DELETE FROM decisions WHERE seq = (SELECT max(seq) FROM"
	    " decisions)");
	ck_assert_int_eq(fx_verify(&F, &is, &rep), -MDT_EAUDIT);
	ck_assert(fx_has(&is, MDT_STORE_TRUNCATED, last));
}
END_TEST

/*
 * A batch that ends with another kind of record (tasks opened, a task
 * ended) gets a closing leaf for it, so its head covers it: the store
 * verifies with no checkpoint and nothing unsigned, the closing record's
 * receipt-less leaf is in the tree, and removing or changing that record
 * is found by its head.
 */
static uint64_t
closing_store(void)
{
	static struct got g;
	static struct arg a[16];
	mdt_store_revocation *rv = NULL;
	mdt_store_report rep;
	fx_issues is;

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	open_signing();
	fx_root(&F, "t1");                       /* a batch of one task */
	append_all(&g, a, 0, 16);
	wait_calls(&g, 16);
	ck_assert_int_eq(fx_child(&F, "t2", "t1", 1, 0), 0);
	ck_assert_int_eq(mdt_store_end_task(F.s, "t1", MDT_TASK_CANCELLED,
	    "dr-who", "test", mdt_store_now_ms(), &rv), 0);
	mdt_free(rv);
	fx_close(&F);
	pthread_mutex_destroy(&g.mu);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(is.n, 0);
	ck_assert_uint_eq(rep.checkpoints, 0);
	ck_assert_uint_eq(rep.unsigned_records, 0);
	ck_assert_uint_ge(rep.heads, 4);
	return rep.last_seq;
}

START_TEST(closing_leaves_cover_every_record)
{
	uint8_t tok[32];
	mdt_receipt r;
	uint64_t last = closing_store();

	/* the revocation that ended the log is its batch's closing leaf,
	 * with a zero token id: the store gives its batch back */
	open_signing();
	ck_assert_int_eq(mdt_store_get_receipt(F.s, last, tok, &r), 0);
	ck_assert_uint_eq(r.head.last_seq, last);
	ck_assert_uint_eq(r.index, r.head.tree_size - 1);
	for (size_t i = 0; i < 32; i++)
		ck_assert_uint_eq(tok[i], 0);
	ck_assert_int_eq(mdt_receipt_verify(&r, tok, &pk, 0, NULL), 0);
}
END_TEST

struct lines {
	size_t n, heads;
	char last[4096];
};

static int
on_line(void *arg, const char *line, size_t len)
{
	struct lines *l = arg;

	l->n++;
	l->heads += strstr(line, "\"kind\":\"receipt_head\"") != NULL;
	snprintf(l->last, sizeof(l->last), "%.*s", (int)len, line);
	return 0;
}

/* The export carries every head, after the record it ends with, with its
 * leaves: a copy kept elsewhere pins the log as checkpoints did. */
START_TEST(export_carries_the_heads)
{
	struct lines l = {0};
	mdt_store_report rep;
	fx_issues is;
	char want[64];
	uint64_t last = closing_store();

	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	open_signing();
	ck_assert_int_eq(mdt_store_export_jsonl(F.s, NULL, on_line, &l), 0);
	ck_assert_uint_eq(l.heads, rep.heads);
	snprintf(want, sizeof(want), "{\"seq\":%" PRIu64 ",\"kind\":"
	    "\"receipt_head\"", last);
	ck_assert_msg(strncmp(l.last, want, strlen(want)) == 0, "%s", l.last);
	ck_assert_ptr_nonnull(strstr(l.last, "\"leaves\":[["));
	ck_assert_ptr_nonnull(strstr(l.last, "\"sig\":\""));
}
END_TEST

START_TEST(closing_leaf_finds_removed_last_record)
{
	fx_issues is;
	mdt_store_report rep;
	uint64_t last = closing_store();

	/* the revocation that ended the log, with no checkpoint to miss */
	fx_sql(&F, "DELETE FROM revocations WHERE seq = (SELECT max(seq) FROM"
	    " revocations)");
	ck_assert_int_eq(fx_verify(&F, &is, &rep), -MDT_EAUDIT);
	ck_assert(fx_has(&is, MDT_STORE_TRUNCATED, last));
}
END_TEST

START_TEST(closing_leaf_finds_changed_last_record)
{
	fx_issues is;
	mdt_store_report rep;
	size_t bad = 0;

	(void)closing_store();
	/* a new hash for the last record: nothing follows it to break a
	 * link, but its head's root no longer matches */
	fx_sql(&F, "UPDATE revocations SET hash = zeroblob(32) WHERE seq ="
	    " (SELECT max(seq) FROM revocations)");
	ck_assert_int_eq(fx_verify(&F, &is, &rep), -MDT_EAUDIT);
	for (size_t i = 0; i < is.n; i++)
		bad += is.v[i].kind == MDT_STORE_BAD_HEAD;
	ck_assert_uint_eq(bad, 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_receipt");
	TCase *tc = tcase_create("receipt");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, receipts_for_every_decision);
	tcase_add_test(tc, verify_refuses_changed_leaf);
	tcase_add_test(tc, verify_refuses_bad_head_signature);
	tcase_add_test(tc, verify_refuses_removed_head);
	tcase_add_test(tc, verify_heads_pin_the_tail);
	tcase_add_test(tc, closing_leaves_cover_every_record);
	tcase_add_test(tc, closing_leaf_finds_removed_last_record);
	tcase_add_test(tc, closing_leaf_finds_changed_last_record);
	tcase_add_test(tc, export_carries_the_heads);
	if (!fx_backend_sqlite())
		tcase_add_test(tc, two_writers_one_chain_of_heads);
	tcase_add_test(tc, no_signer_no_receipts);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
