/*
 * A store that cannot commit is a deny, against a real mandated: another
 * process holds the audit database's write lock, so the broker's group
 * commit fails; every authorize answered meanwhile is a deny naming the
 * store, none of them is recorded as an allow, and once the lock is gone
 * the same broker answers allows again with their records on disk.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include <mandate/store.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

static mdt_wire_msg *
authorize(struct bt_conn *c, const struct bt_task *t)
{
	return bt_authorize(c, t->id, t->tok, t->tlen, "r",
	    "Observation/obs-001-1", "pat-001", NULL, NULL, 0);
}

static const char *
decision(const mdt_wire_msg *m)
{
	const char *d = bt_str(m, "decision");

	return d != NULL ? d : "";
}

/* How many allow records the audit store holds. */
static int
count_cb(void *arg, const mdt_store_decision *d)
{
	if (d->verdict == MDT_STORE_ALLOW && strcmp(d->operation,
	    "authorize") == 0)
		(*(int *)arg)++;
	return 0;
}

static int
allows_on_disk(const char *path)
{
	mdt_store_opts o = {.read_only = 1};
	mdt_store *s = NULL;
	int n = 0;

	ck_assert_int_eq(mdt_store_open(path, &o, &s, NULL, 0), 0);
	ck_assert_int_eq(mdt_store_list_decisions(s, 0, 0, count_cb, &n), 0);
	mdt_store_close(s);
	return n;
}

START_TEST(locked_store_denies)
{
	struct bt_conn o, s;
	struct bt_task root, sub;
	char db[600];
	sqlite3 *lock = NULL;
	mdt_wire_msg *m;
	int before;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, NULL), 0);
	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	bf_hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/Observation.rs",
	    &sub);
	m = authorize(&s, &sub);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(decision(m), "allow");
	mdt_wire_msg_free(m);
	snprintf(db, sizeof(db), "%s/data/audit.db", B.dir);
	before = allows_on_disk(db);
	ck_assert_int_ge(before, 1);

	/* another process takes the write lock and keeps it */
	ck_assert_int_eq(sqlite3_open(db, &lock), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	for (int i = 0; i < 3; i++) {
		m = authorize(&s, &sub);
		ck_assert_ptr_nonnull(m);
		ck_assert_int_eq(mdt_wire_msg_ok(m), 0);
		ck_assert_str_eq(decision(m), "deny");
		ck_assert_str_eq(bt_reason(m), "store");
		ck_assert_ptr_null(bt_bin(m, "token", &(size_t){0}));
		mdt_wire_msg_free(m);
	}
	ck_assert_int_eq(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(lock);
	ck_assert_int_eq(allows_on_disk(db), before);

	/* the lock is gone: the same broker allows again, durably */
	m = authorize(&s, &sub);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(decision(m), "allow");
	ck_assert_ptr_nonnull(bt_bin(m, "token", &(size_t){0}));
	mdt_wire_msg_free(m);
	ck_assert_int_eq(allows_on_disk(db), before + 1);
	bt_close(&o);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("broker_store_fail");
	TCase *tc = tcase_create("store");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, locked_store_denies);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
