/*
 * The audit store guarded against its own host, with real mandated
 * processes: a second broker on the same data directory exits naming the
 * first one's pid while the first keeps answering and its log stays
 * intact; a store removed under a running broker turns every authorize
 * into a deny naming the store; a data directory created too open is
 * tightened to 0700 and the store's files are 0600, and one of another
 * user is refused.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mandate/store.h>
#include <mandate/key.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

static mdt_wire_msg *
authorize(struct bt_conn *c, const struct bt_task *t, const char *res)
{
	return bt_authorize(c, t->id, t->tok, t->tlen, "r", res, "pat-001", NULL, NULL,
	    0);
}

static const char *
decision(const mdt_wire_msg *m)
{
	const char *d = bt_str(m, "decision");

	return d != NULL ? d : "";
}

/* A broker with a root task and a summarizer holding a sub-task. */
static void
start_with_task(struct bt_conn *o, struct bt_conn *s, struct bt_task *sub)
{
	struct bt_task root;

	ck_assert_int_eq(bt_start(&B, NULL), 0);
	bf_as(&B, o, BT_ORCH);
	bf_as(&B, s, BT_SUMM);
	bf_open_root(&B, o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	bf_hand_on(o, s, MDT_OP_DISPATCH, &root, "patient/Observation.rs",
	    sub);
}

static void
expect(struct bt_conn *s, const struct bt_task *t, const char *res,
    const char *want, const char *reason)
{
	mdt_wire_msg *m = authorize(s, t, res);

	ck_assert_ptr_nonnull(m);
	ck_assert_msg(strcmp(decision(m), want) == 0, "%s: %s (%s)", res,
	    decision(m), bt_reason(m) ? bt_reason(m) : "");
	if (reason != NULL)
		ck_assert_str_eq(bt_reason(m), reason);
	mdt_wire_msg_free(m);
}

/* The whole log file, NUL-terminated (caller frees). */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
verify_intact(void)
{
	mdt_store_report rep;
	mdt_pubkey pk;
	char err[MDT_ERRMSG_MAX] = "";

	ck_assert_int_eq(mdt_pubkey_load(B.root_pub, &pk, err, sizeof(err)),
	    0);
	ck_assert_msg(mdt_store_verify(B.store, pk.bytes, NULL, NULL, &rep,
	    err, sizeof(err)) == 0, "audit verify: %s", err);
	ck_assert_uint_ge(rep.records, 3);
}

START_TEST(second_broker_refused)
{
	struct bt_conn o, s;
	struct bt_task sub;
	struct bt_broker b2;
	char want[64], *log;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	start_with_task(&o, &s, &sub);
	expect(&s, &sub, "Observation/obs-001-1", "allow", NULL);

	/* Same data directory, sockets of its own: it must not get far
	 * enough to take any. */
	b2 = B;
	snprintf(b2.url, sizeof(b2.url), "ipc://%s/run/api2.sock", B.dir);
	snprintf(b2.pub, sizeof(b2.pub), "ipc://%s/run/events2.sock", B.dir);
	ck_assert_int_eq(bt_start(&b2, NULL), -1);
	ck_assert(WIFEXITED(b2.exit_status));
	ck_assert_int_ne(WEXITSTATUS(b2.exit_status), 0);
	snprintf(want, sizeof(want), "locked by process %ld", (long)B.pid);
	log = slurp(B.log);
	ck_assert_msg(strstr(log, want) != NULL, "log lacks \"%s\":\n%s",
	    want, log);
	ck_assert_ptr_nonnull(strstr(log, "another mandated?"));
	free(log);
	ck_assert_int_ne(access(b2.url + strlen("ipc://"), F_OK), 0);

	/* The first broker answers and records as before. */
	for (int i = 0; i < 3; i++)
		expect(&s, &sub, "Observation/obs-001-1", "allow", NULL);
	bt_close(&o);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	verify_intact();
	bt_cleanup(&B);
}
END_TEST

START_TEST(removed_store_denies)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	struct bt_conn o, s;
	struct bt_task sub;
	char p[600];

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	start_with_task(&o, &s, &sub);
	expect(&s, &sub, "Observation/obs-001-1", "allow", NULL);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", B.store, sfx[i]);
		ck_assert_int_eq(unlink(p), 0);
	}
	for (int i = 0; i < 3; i++)
		expect(&s, &sub, "Observation/obs-001-1", "deny", "store");
	bt_close(&o);
	bt_close(&s);
	(void)bt_stop(&B, SIGTERM);
	bt_cleanup(&B);
}
END_TEST

static unsigned
mode_of(const char *dir, const char *name)
{
	char p[600];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", dir, name);
	ck_assert_msg(stat(p, &st) == 0, "stat %s", p);
	return (unsigned)(st.st_mode & 0777);
}

START_TEST(open_data_dir_tightened)
{
	static const char *const files[] = {"/audit.db", "/audit.db-wal",
	    "/audit.db-shm", "/audit.db.lock"};
	struct bt_conn o, s;
	struct bt_task sub;
	char data[600];

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	snprintf(data, sizeof(data), "%s/data", B.dir);
	ck_assert_int_eq(mkdir(data, 0755), 0);
	ck_assert_int_eq(chmod(data, 0755), 0);
	start_with_task(&o, &s, &sub);
	expect(&s, &sub, "Observation/obs-001-1", "allow", NULL);
	ck_assert_uint_eq(mode_of(data, ""), 0700);
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(mode_of(data, files[i]) == 0600, "%s: %o",
		    files[i], mode_of(data, files[i]));
	bt_close(&o);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

START_TEST(foreign_data_dir_refused)
{
	char own[600], want[700], *log;
	const char *dir = own;
	const char *args[] = {"--data-dir", NULL, NULL};
	struct stat st;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	/* A directory of another user: made so as root; otherwise /usr,
	 * which is root's and which a root broker would not be given. */
	snprintf(own, sizeof(own), "%s/foreign", B.dir);
	if (geteuid() == 0) {
		ck_assert_int_eq(mkdir(own, 0755), 0);
		ck_assert_int_eq(chmod(own, 0755), 0);
		ck_assert_int_eq(chown(own, 65534, 65534), 0);
	} else {
		dir = "/usr";
	}
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_ne(st.st_uid, geteuid());
	args[1] = dir;
	ck_assert_int_eq(bt_start(&B, args), -1);
	ck_assert(WIFEXITED(B.exit_status));
	ck_assert_int_ne(WEXITSTATUS(B.exit_status), 0);
	snprintf(want, sizeof(want), "directory %s (mode %04o", dir,
	    (unsigned)(st.st_mode & 07777));
	log = slurp(B.log);
	ck_assert_msg(strstr(log, want) != NULL, "log lacks \"%s\":\n%s",
	    want, log);
	free(log);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_ne(st.st_mode & 077, 0); /* left alone */
	bt_cleanup(&B);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("broker_store_guard");
	TCase *tc = tcase_create("guard");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, second_broker_refused);
	tcase_add_test(tc, removed_store_denies);
	tcase_add_test(tc, open_data_dir_tightened);
	tcase_add_test(tc, foreign_data_dir_refused);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
