/* Audit store verification: a real store is written, then tampered with
 * directly in SQLite the way an attacker with file access would; verify
 * must name the kind of tampering and the sequence number. */
#include <mandate/mandate.h>

#include "store/store_int.h"
#include "store_fixture.h"
#include "testutil.h"

static fx F;

/*
 * seq 1 task t1, 2 task c1, 3..22 decisions r1..r20 on c1, 23 the
 * revocation of c1; checkpoints at 10, 20 and 23 (on close).
 */
static void
setup(void)
{
	char req[16];

	fx_init(&F);
	fx_open(&F);
	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), 0);
	for (int i = 1; i <= 20; i++) {
		snprintf(req, sizeof(req), "r%d", i);
		fx_decision(&F, req, "c1", i % 3 ? MDT_STORE_ALLOW :
		    MDT_STORE_DENY);
	}
	ck_assert_int_eq(mdt_store_end_task(F.s, "c1", MDT_TASK_COMPLETED,
	    "labs", NULL, 0, NULL), 0);
	fx_close(&F);
}

static void
teardown(void)
{
	fx_cleanup(&F);
}

static void
expect_tampered(fx_issues *is)
{
	mdt_store_report rep;

	ck_assert_int_eq(fx_verify(&F, is, &rep), -MDT_EAUDIT);
	ck_assert_uint_gt(rep.issues, 0);
	ck_assert_uint_gt(is->n, 0);
}

START_TEST(intact)
{
	mdt_store_report rep;
	fx_issues is;

	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(is.n, 0);
	ck_assert_uint_eq(rep.records, 23);
	ck_assert_uint_eq(rep.last_seq, 23);
	ck_assert_uint_eq(rep.checkpoints, 3);
	ck_assert_uint_eq(rep.last_checkpoint_seq, 23);
	ck_assert_uint_eq(rep.unsigned_records, 0);
}
END_TEST

START_TEST(changed_field)
{
	fx_issues is;

	fx_sql(&F, "UPDATE decisions SET resource = 'Patient/pat-999'"
	    " WHERE seq = 5");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_CHANGED, 5));
	ck_assert(!fx_has(&is, MDT_STORE_CHANGED, 4));
	ck_assert(!fx_has(&is, MDT_STORE_CHANGED, 6));
	ck_assert_ptr_nonnull(strstr(is.v[0].message, "record 5"));
}
END_TEST

START_TEST(changed_verdict_and_type)
{
	fx_issues is;

	/* Seq 4 (r2) was an allow: rewriting the same value is no change;
	 * seq 5 (r3) was a deny.  A blob where an integer was is a change
	 * even when its bytes would read the same. */
	fx_sql(&F, "UPDATE decisions SET verdict = 1 WHERE seq = 4;"
	    "UPDATE tasks SET depth = x'01' WHERE seq = 2");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_CHANGED, 2));
	ck_assert(!fx_has(&is, MDT_STORE_CHANGED, 4));
	fx_sql(&F, "UPDATE decisions SET verdict = 1 WHERE seq = 5");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_CHANGED, 5));
}
END_TEST

START_TEST(deleted_row)
{
	fx_issues is;

	fx_sql(&F, "DELETE FROM decisions WHERE seq = 7");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_DELETED, 7));
	ck_assert(!fx_has(&is, MDT_STORE_BROKEN_LINK, 8));
	ck_assert(!fx_has(&is, MDT_STORE_CHANGED, 8));
}
END_TEST

START_TEST(deleted_range)
{
	fx_issues is;

	fx_sql(&F, "DELETE FROM decisions WHERE seq BETWEEN 12 AND 14");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_DELETED, 12));
	ck_assert(fx_has(&is, MDT_STORE_DELETED, 14));
	ck_assert_uint_eq(is.v[0].seq, 12);
	ck_assert_uint_eq(is.v[0].seq_end, 14);
}
END_TEST

/* Inserts a well-formed decision at seq with the given prev link. */
static void
insert_forged(sqlite3 *db, uint64_t seq, const uint8_t prev[32])
{
	mdt_store_decision d = {.time_ms = 1, .request_id = "forged",
	    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
	    .task_id = "c1", .action = "read", .resource = "Patient/pat-001"};
	const mdt__kind_desc *k = mdt__kind_get(MDT__KIND_DECISION);
	mdt__val vals[MDT__COLS_MAX];
	uint8_t h[32];
	sqlite3_stmt *st;
	char sql[512];
	size_t o;

	mdt__kind_vals(k, &d, vals);
	mdt__chain_hash(MDT__KIND_DECISION, prev, vals,
	    mdt__kind_nhashed(k, vals), h);
	o = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO decisions VALUES"
	    "(?1, ?2, ?3");
	for (size_t i = 0; i < k->ncols; i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", ?%zu", i + 4);
	snprintf(sql + o, sizeof(sql) - o, ")");
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_bind_int64(st, 1, (int64_t)seq), SQLITE_OK);
	ck_assert_int_eq(sqlite3_bind_blob(st, 2, prev, 32, SQLITE_STATIC),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_bind_blob(st, 3, h, 32, SQLITE_STATIC),
	    SQLITE_OK);
	ck_assert_int_eq(mdt__bind_vals(st, 4, vals, k->ncols), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void
hash_of(sqlite3 *db, const char *table, uint64_t seq, uint8_t out[32])
{
	sqlite3_stmt *st;
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT hash FROM %s WHERE seq = %" PRIu64,
	    table, seq);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	memcpy(out, sqlite3_column_blob(st, 0), 32);
	sqlite3_finalize(st);
}

START_TEST(inserted_row_renumbered)
{
	uint8_t prev[32];
	fx_issues is;
	sqlite3 *db;

	/* Make room at 12 by renumbering the rest, then slip a record in
	 * that links correctly to 11. */
	fx_sql(&F, "UPDATE decisions SET seq = seq + 1000 WHERE seq >= 12;"
	    "UPDATE decisions SET seq = seq - 999 WHERE seq >= 1000;"
	    "UPDATE revocations SET seq = seq + 1;"
	    "UPDATE ended SET rev_seq = rev_seq + 1");
	ck_assert_int_eq(sqlite3_open(F.path, &db), SQLITE_OK);
	hash_of(db, "decisions", 11, prev);
	insert_forged(db, 12, prev);
	sqlite3_close(db);
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_INSERTED, 12));
	ck_assert(!fx_has(&is, MDT_STORE_CHANGED, 12));
	ck_assert(!fx_has(&is, MDT_STORE_BROKEN_LINK, 13));
}
END_TEST

START_TEST(inserted_duplicate_seq)
{
	fx_issues is;

	fx_sql(&F, "INSERT INTO approvals VALUES(8, zeroblob(32), zeroblob(32),"
	    " 1, 'ap-x', zeroblob(32), NULL, 'c1', NULL, NULL, NULL, NULL, 0)");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_INSERTED, 8));
	ck_assert(!fx_has(&is, MDT_STORE_BROKEN_LINK, 9));
}
END_TEST

START_TEST(inserted_at_end_is_unsigned)
{
	mdt_store_report rep;
	uint8_t prev[32];
	fx_issues is;
	sqlite3 *db;

	/* A record appended after the last checkpoint with a correct link
	 * cannot be told from a real one: verify says it is unsigned. */
	ck_assert_int_eq(sqlite3_open(F.path, &db), SQLITE_OK);
	hash_of(db, "revocations", 23, prev);
	insert_forged(db, 24, prev);
	sqlite3_close(db);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(rep.unsigned_records, 1);
	ck_assert(fx_has(&is, MDT_STORE_UNSIGNED_TAIL, 24));
	ck_assert_int_eq(is.v[0].fatal, 0);
}
END_TEST

START_TEST(swapped_rows)
{
	fx_issues is;

	fx_sql(&F, "UPDATE decisions SET seq = -14 WHERE seq = 14;"
	    "UPDATE decisions SET seq = 14 WHERE seq = 15;"
	    "UPDATE decisions SET seq = 15 WHERE seq = -14");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_REORDERED, 14));
	ck_assert(fx_has(&is, MDT_STORE_REORDERED, 15));
	ck_assert(!fx_has(&is, MDT_STORE_BROKEN_LINK, 16));
	ck_assert(!fx_has(&is, MDT_STORE_CHANGED, 14));
}
END_TEST

START_TEST(moved_row)
{
	fx_issues is;

	/* Record 5 moved to the end, the gap closed by renumbering. */
	fx_sql(&F, "UPDATE decisions SET seq = 100 WHERE seq = 5;"
	    "UPDATE decisions SET seq = seq - 1 WHERE seq BETWEEN 6 AND 22;"
	    "UPDATE revocations SET seq = 22; UPDATE decisions SET seq = 23"
	    " WHERE seq = 100");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_REORDERED, 5) ||
	    fx_has(&is, MDT_STORE_BROKEN_LINK, 5));
	ck_assert(fx_has(&is, MDT_STORE_REORDERED, 23));
}
END_TEST

START_TEST(forged_checkpoint)
{
	fx_issues is;

	fx_sql(&F, "UPDATE checkpoints SET sig = randomblob(64) WHERE seq = 20");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_BAD_CHECKPOINT, 20));
	ck_assert(!fx_has(&is, MDT_STORE_BAD_CHECKPOINT, 10));
	ck_assert_ptr_nonnull(strstr(is.v[0].message, "signature"));
}
END_TEST

START_TEST(wrong_key)
{
	mdt_store_report rep;
	fx_issues is;

	F.pk[0] ^= 1;
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_BAD_CHECKPOINT, 10));
	ck_assert(fx_has(&is, MDT_STORE_BAD_CHECKPOINT, 23));
	ck_assert_int_eq(fx_verify(&F, &is, &rep), -MDT_EAUDIT);
	ck_assert_uint_eq(rep.checkpoints, 0);
	ck_assert_uint_eq(rep.unsigned_records, 23);
}
END_TEST

START_TEST(deleted_checkpoint)
{
	fx_issues is;

	fx_sql(&F, "DELETE FROM checkpoints WHERE seq = 10");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_MISSING_CHECKPOINT, 10));
}
END_TEST

START_TEST(truncated_tail)
{
	fx_issues is;

	fx_sql(&F, "DELETE FROM decisions WHERE seq > 20;"
	    "DELETE FROM revocations; DELETE FROM ended");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_TRUNCATED, 21));
	ck_assert(fx_has(&is, MDT_STORE_TRUNCATED, 23));
}
END_TEST

/* Recomputes prev and hash of the records in [from, to] (the others
 * keep theirs), as an attacker without the key would after a change. */
static void
rehash_range(sqlite3 *db, uint64_t from, uint64_t to)
{
	struct upd {
		const char *table;
		uint64_t seq;
		uint8_t prev[32], hash[32];
	} u[64];
	size_t n = 0;
	char err[MDT_ERRMSG_MAX];
	mdt__merge *m;
	mdt__mrow row;
	uint8_t prev[32];
	uint8_t id[MDT__STORE_ID_BYTES];
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM meta",
	    -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	memcpy(id, sqlite3_column_blob(st, 0), sizeof(id));
	sqlite3_finalize(st);
	mdt__chain_genesis(id, prev);
	ck_assert_int_eq(mdt__merge_open(db, NULL, &m, err, sizeof(err)), 0);
	while (mdt__merge_next(m, &row, err, sizeof(err)) == 1) {
		mdt__val vals[MDT__COLS_MAX];
		ck_assert_uint_lt(n, 64);
		u[n].table = row.d->table;
		u[n].seq = row.seq;
		ck_assert_int_eq(mdt__row_vals(row.st, row.d, vals), 0);
		if (row.seq >= from && row.seq <= to) {
			memcpy(u[n].prev, prev, 32);
			mdt__chain_hash(row.d->kind, prev, vals,
			    mdt__kind_nhashed(row.d, vals),
			    u[n].hash);
		} else {
			memcpy(u[n].prev, sqlite3_column_blob(row.st, 1), 32);
			memcpy(u[n].hash, sqlite3_column_blob(row.st, 2), 32);
		}
		memcpy(prev, u[n].hash, 32);
		n++;
	}
	mdt__merge_close(m);
	for (size_t i = 0; i < n; i++) {
		char sql[96];
		snprintf(sql, sizeof(sql), "UPDATE %s SET prev = ?1, hash = ?2"
		    " WHERE seq = %" PRIu64, u[i].table, u[i].seq);
		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
		    SQLITE_OK);
		ck_assert_int_eq(sqlite3_bind_blob(st, 1, u[i].prev, 32,
		    SQLITE_STATIC), SQLITE_OK);
		ck_assert_int_eq(sqlite3_bind_blob(st, 2, u[i].hash, 32,
		    SQLITE_STATIC), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
	}
}

START_TEST(rewritten_chain_caught_by_checkpoint)
{
	fx_issues is;
	sqlite3 *db;

	fx_sql(&F, "UPDATE decisions SET verdict = 1 WHERE seq = 14");
	ck_assert_int_eq(sqlite3_open(F.path, &db), SQLITE_OK);
	rehash_range(db, 14, UINT64_MAX);
	sqlite3_close(db);
	expect_tampered(&is);
	ck_assert(!fx_has(&is, MDT_STORE_CHANGED, 14));
	ck_assert(!fx_has(&is, MDT_STORE_BROKEN_LINK, 15));
	ck_assert(!fx_has(&is, MDT_STORE_BAD_CHECKPOINT, 10));
	ck_assert(fx_has(&is, MDT_STORE_BAD_CHECKPOINT, 20));
	ck_assert(fx_has(&is, MDT_STORE_BAD_CHECKPOINT, 23));
}
END_TEST

START_TEST(rehashed_single_record)
{
	fx_issues is;
	sqlite3 *db;

	fx_sql(&F, "UPDATE decisions SET action = 'export' WHERE seq = 6");
	ck_assert_int_eq(sqlite3_open(F.path, &db), SQLITE_OK);
	rehash_range(db, 6, 6);
	sqlite3_close(db);
	expect_tampered(&is);
	ck_assert(!fx_has(&is, MDT_STORE_CHANGED, 6));
	ck_assert(fx_has(&is, MDT_STORE_BROKEN_LINK, 7));
	ck_assert(!fx_has(&is, MDT_STORE_BAD_CHECKPOINT, 10));
}
END_TEST

START_TEST(index_tampered)
{
	fx_issues is;

	fx_sql(&F, "DELETE FROM ended WHERE task_id = 'c1'");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_INDEX_MISMATCH, 23));
	ck_assert_ptr_nonnull(strstr(is.v[0].message, "c1"));
	fx_sql(&F, "INSERT INTO ended VALUES('c1', 2, 23, 0);"
	    "INSERT INTO ended VALUES('t1', 3, 23, 0)");
	expect_tampered(&is);
	ck_assert_uint_eq(is.n, 1);
	ck_assert_ptr_nonnull(strstr(is.v[0].message, "t1"));
}
END_TEST

START_TEST(no_key_all_unsigned)
{
	mdt_store_opts o = {0};
	mdt_store_report rep;
	fx_issues is;
	char err[MDT_ERRMSG_MAX];

	fx_cleanup(&F);
	fx_init(&F);
	ck_assert_int_eq(mdt_store_open(F.uri, &o, &F.s, err, sizeof(err)),
	    0);
	fx_root(&F, "t1");
	fx_decision(&F, "r1", "t1", MDT_STORE_ALLOW);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(rep.warnings, 1);
	ck_assert_uint_eq(rep.unsigned_records, 2);
	ck_assert(fx_has(&is, MDT_STORE_UNSIGNED_TAIL, 1));
}
END_TEST

START_TEST(changed_store_id)
{
	fx_issues is;

	fx_sql(&F, "UPDATE meta SET value = randomblob(16) WHERE key = 'id'");
	expect_tampered(&is);
	ck_assert(fx_has(&is, MDT_STORE_BROKEN_LINK, 1));
	ck_assert(fx_has(&is, MDT_STORE_BAD_CHECKPOINT, 10));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_verify");
	TCase *tc = tcase_create("tamper");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, intact);
	tcase_add_test(tc, changed_field);
	if (fx_backend_sqlite()) /* SQLite storage classes and files */
		tcase_add_test(tc, changed_verdict_and_type);
	tcase_add_test(tc, deleted_row);
	tcase_add_test(tc, deleted_range);
	if (fx_backend_sqlite()) /* SQLite storage classes and files */
		tcase_add_test(tc, inserted_row_renumbered);
	tcase_add_test(tc, inserted_duplicate_seq);
	if (fx_backend_sqlite()) /* SQLite storage classes and files */
		tcase_add_test(tc, inserted_at_end_is_unsigned);
	tcase_add_test(tc, swapped_rows);
	tcase_add_test(tc, moved_row);
	tcase_add_test(tc, forged_checkpoint);
	tcase_add_test(tc, wrong_key);
	tcase_add_test(tc, deleted_checkpoint);
	tcase_add_test(tc, truncated_tail);
	if (fx_backend_sqlite()) /* SQLite storage classes and files */
		tcase_add_test(tc, rewritten_chain_caught_by_checkpoint);
	if (fx_backend_sqlite()) /* SQLite storage classes and files */
		tcase_add_test(tc, rehashed_single_record);
	tcase_add_test(tc, index_tampered);
	tcase_add_test(tc, no_key_all_unsigned);
	tcase_add_test(tc, changed_store_id);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
