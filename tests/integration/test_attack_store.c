/*
 * Attack: the store pulled from under the process.  Deleting the audit
 * database and its WAL while mandated runs turns every later decision
 * into a `store` deny (never an allow answered without a record); a
 * second mandated on the same data directory exits non-zero naming the
 * first one's pid, and the first keeps answering with its chain intact;
 * the audit files are 0600 and the data directory 0700, even when it was
 * created 0755 beforehand.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;

static void
task_for(struct bt_conn *o, struct bt_conn *s, struct bt_task *root,
    struct bt_task *sub)
{
	bf_as(&B, o, BT_ORCH);
	bf_as(&B, s, BT_SUMM);
	bf_open_root(&B, o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    root);
	bf_hand_on(o, s, MDT_OP_DISPATCH, root, "patient/*.rs", sub);
}

START_TEST(deleted_store_denies)
{
	struct bt_conn o, s;
	struct bt_task root, sub;
	const char *sfx[] = { "", "-wal", "-shm" };
	char path[700];
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	task_for(&o, &s, &root, &sub);
	at_allowed(&B, &s, bt_authorize(&s, sub.id, sub.tok, sub.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", NULL, NULL);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", B.store, sfx[i]);
		ck_assert_msg(unlink(path) == 0 || errno == ENOENT, "%s", path);
	}
	for (int i = 0; i < 3; i++) {
		m = bt_authorize(&s, sub.id, sub.tok, sub.tlen, "r",
		    "Patient/pat-001", NULL, NULL, NULL, 0);
		ck_assert_ptr_nonnull(m);
		ck_assert_msg(mdt_wire_msg_ok(m) != 1, "allowed with the store "
		    "deleted");
		ck_assert_str_eq(bt_reason(m), "store");
		ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
		mdt_wire_msg_free(m);
	}
	/* nor a new task, nor a subtask */
	{
		char *jwt = bt_assertion(&B, "dr-alice", "pat-001",
		    "patient/*.rs", 0);
		m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
		free(jwt);
		ck_assert_msg(mdt_wire_msg_ok(m) != 1, "opened without a store");
		ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
		mdt_wire_msg_free(m);
		m = bt_delegate(&o, MDT_OP_DISPATCH, root.id, root.tok,
		    root.tlen, BT_SUMM, "patient/Condition.rs");
		ck_assert_msg(mdt_wire_msg_ok(m) != 1, "dispatched without a "
		    "store");
		mdt_wire_msg_free(m);
	}
	bt_close(&o);
	bt_close(&s);
	(void)bt_stop(&B, SIGTERM);
	bt_cleanup(&B);
}
END_TEST

/* Runs a second mandated on B's directories (its own log); its exit
 * status, or -1 when it is still running after 20 s (then killed). */
static int
second_broker(const char *log)
{
	char bin[600], run[600], data[600], pol[600], listen_url[700],
	    pub[700];
	pid_t pid;
	int status;

	snprintf(bin, sizeof(bin), "%s/broker/mandated", mdt_test_binary_dir());
	snprintf(run, sizeof(run), "%s/run2", B.dir);
	snprintf(data, sizeof(data), "%s/data", B.dir);
	snprintf(pol, sizeof(pol), "%s/policies", mdt_test_source_dir());
	snprintf(listen_url, sizeof(listen_url), "ipc://%s/run2/api.sock",
	    B.dir);
	snprintf(pub, sizeof(pub), "ipc://%s/run2/events.sock", B.dir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		FILE *f = fopen(log, "w");
		if (f != NULL) {
			dup2(fileno(f), 2);
			fclose(f);
		}
		execl(bin, bin, "--run-dir", run, "--data-dir", data,
		    "--policy-dir", pol, "--entities", B.entities, "--listen",
		    listen_url, "--pub", pub, "--idp-key", B.idp_pub, "--set",
		    "idp_dev=1", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		struct timespec ts = { 0, 50000000L };
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

START_TEST(one_writer_private_files)
{
	struct bt_conn o, s;
	struct bt_task root, sub;
	char data[600], log2[600], pidtxt[32], cmd[2200], path[700];
	const char *sfx[] = { "", "-wal", "-shm", ".lock" };
	FILE *f;
	char text[8192] = "";
	size_t n;
	int rc;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	snprintf(data, sizeof(data), "%s/data", B.dir);
	ck_assert_int_eq(mkdir(data, 0755), 0);
	ck_assert_int_eq(chmod(data, 0755), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	task_for(&o, &s, &root, &sub);
	at_allowed(&B, &s, bt_authorize(&s, sub.id, sub.tok, sub.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", NULL, NULL);
	ck_assert_int_eq(mode_of(data), 0700);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", B.store, sfx[i]);
		rc = mode_of(path);
		ck_assert_msg(rc == -1 || rc == 0600, "%s is %o", path, rc);
	}
	ck_assert_int_eq(mode_of(B.store), 0600);

	/* a second broker on the same data directory */
	snprintf(log2, sizeof(log2), "%s/second.log", B.dir);
	rc = second_broker(log2);
	ck_assert_msg(rc > 0 && rc < 128, "second mandated: status %d", rc);
	ck_assert_ptr_nonnull(f = fopen(log2, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	snprintf(pidtxt, sizeof(pidtxt), "%ld", (long)B.pid);
	ck_assert_msg(strstr(text, pidtxt) != NULL, "the second broker's "
	    "error does not name pid %s: %s", pidtxt, text);

	/* the first keeps working */
	at_allowed(&B, &s, bt_authorize(&s, sub.id, sub.tok, sub.tlen, "s",
	    "Observation?subject=Patient/pat-001", NULL, NULL, NULL, 0),
	    "authorize", NULL, NULL);
	bt_close(&o);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	snprintf(cmd, sizeof(cmd), "'%s/broker/mandatectl' audit verify --db "
	    "'%s' --pub '%s' --quiet", mdt_test_binary_dir(), B.store,
	    B.root_pub);
	ck_assert_msg(system(cmd) == 0, "audit verify failed: %s", cmd);
	bt_cleanup(&B);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_store");
	TCase *tc = tcase_create("store");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, deleted_store_denies);
	tcase_add_test(tc, one_writer_private_files);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
