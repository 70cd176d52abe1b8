/*
 * mandate-console end to end, in a real browser: a broker run writes a
 * store (a task for pat-001 dispatched to a second agent, an allow and a
 * deny with its reason, a task for another patient, a refused request
 * naming a resource that looks like markup); mandate-console serves it
 * read-only while the broker keeps running; Debian's chromium, driven
 * by puppeteer-core (tests/npm/console_browser.mjs), is refused a wrong
 * credential and an unauthenticated page, signs in, filters by patient,
 * opens the task and finds the graph's nodes and the deny's reason on
 * the page, nothing from the store turned into markup, the repeated
 * denials in the review queue, the broker's answer to the access
 * question (asked as an admin agent), and the chain verified.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include <mandate/key.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

/* A resource the broker refuses and records as asked. */
#define HOSTILE "Observation/<img src=x onerror=alert(1)>"

#define ADMIN BT_PRIOR

static struct bt_broker B;
static char reason[128];
static struct bt_task root, sub;

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL, "%s is not set", name);
	return v;
}

/* The broker run: what the console will show. */
static void
broker_run(void)
{
	struct bt_conn o, s;
	struct bt_task other;
	mdt_wire_msg *m;

	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	bf_hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/Observation.rs",
	    &sub);
	m = bt_authorize(&s, sub.id, sub.tok, sub.tlen, "r",
	    "Observation/obs-001-1", "pat-001", NULL, NULL, 0);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "allow: %s", bt_reason(m));
	mdt_wire_msg_free(m);
	m = bt_authorize(&s, sub.id, sub.tok, sub.tlen, "r", "Condition/c-1",
	    "pat-001", NULL, NULL, 0);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 0);
	snprintf(reason, sizeof(reason), "%s", bt_reason(m));
	ck_assert(reason[0] != '\0');
	mdt_wire_msg_free(m);
	/* a third denial of the same agent within the hour: the review
	 * queue's repeated denials */
	for (int i = 0; i < 2; i++) {
		m = bt_authorize(&s, sub.id, sub.tok, sub.tlen, "r", i ? HOSTILE :
		    "Condition/c-2", "pat-001", NULL, NULL, 0);
		ck_assert_int_eq(mdt_wire_msg_ok(m), 0);
		mdt_wire_msg_free(m);
	}
	bf_open_root(&B, &o, "dr-alice", "pat-002", "TREAT", "patient/*.rs",
	    &other);
	bt_close(&o);
	bt_close(&s);
}

/* A port nobody listens on now. */
static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int
answers(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Writes a fresh credential (0600) into path and cred. */
static void
credential(const char *path, char *cred, size_t len)
{
	unsigned char r[16];
	FILE *f = fopen("/dev/urandom", "rb");
	int fd;

	ck_assert(f != NULL && fread(r, 1, sizeof(r), f) == sizeof(r));
	fclose(f);
	for (size_t i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
		snprintf(cred + 2 * i, 3, "%02x", r[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert(fd >= 0 && write(fd, cred, strlen(cred)) ==
	    (ssize_t)strlen(cred) && write(fd, "\n", 1) == 1);
	close(fd);
}

static pid_t
start_console(int port, const char *cred_file, char *log, size_t loglen)
{
	char bin[512], listen[64], base[600], key[700], err[256];
	pid_t pid;

	snprintf(base, sizeof(base), "%s/console-admin", B.dir);
	snprintf(key, sizeof(key), "%s.key", base);
	ck_assert_msg(mdt_keypair_save(bt_key(&B, ADMIN), base, err,
	    sizeof(err)) == 0, "%s", err);
	snprintf(bin, sizeof(bin), "%s/console/mandate-console",
	    env("MDT_BINARY_DIR"));
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(log, loglen, "%s/console.log", B.dir);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "--store", B.store, "--credential-file",
		    cred_file, "--listen", listen, "--pub", B.root_pub,
		    "--broker", B.url, "--admin-id", ADMIN, "--admin-key", key,
		    (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 600 && !answers(port); i++) {
		struct timespec t = {0, 50000000L};
		ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0,
		    "mandate-console exited (log %s)", log);
		nanosleep(&t, NULL);
	}
	ck_assert_msg(answers(port), "mandate-console does not answer");
	return pid;
}

START_TEST(console_in_chromium)
{
	static char out[1 << 16];
	char cred_file[600], cred[40] = "", log[600], url[64], port_s[16];
	char cmd[1200];
	pid_t pid;
	int port = free_port(), st, cst;

	broker_run();
	snprintf(cred_file, sizeof(cred_file), "%s/console.cred", B.dir);
	credential(cred_file, cred, sizeof(cred));
	pid = start_console(port, cred_file, log, sizeof(log));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	snprintf(port_s, sizeof(port_s), "%d", port);
	setenv("CONSOLE_URL", url, 1);
	setenv("CREDENTIAL", cred, 1);
	setenv("PATIENT", "pat-001", 1);
	setenv("OTHER_PATIENT", "pat-002", 1);
	setenv("CLINICIAN", "dr-alice", 1);
	setenv("TASK", root.id, 1);
	setenv("SUBTASK", sub.id, 1);
	setenv("AGENT", BT_SUMM, 1);
	setenv("HOLDERS", BT_ORCH "," BT_SUMM, 1);
	setenv("REASON", reason, 1);
	setenv("HOSTILE", HOSTILE, 1);
	if (getenv("CHROMIUM") == NULL)
		setenv("CHROMIUM", "/usr/bin/chromium", 1);
	snprintf(cmd, sizeof(cmd), "node %s/console_browser.mjs 2>&1",
	    env("MDT_NPM_DIR"));
	st = mdt_test_capture(cmd, out, sizeof(out));
	fputs(out, stdout);
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &cst, 0), pid);
	ck_assert_msg(WIFEXITED(cst) && WEXITSTATUS(cst) == 0,
	    "mandate-console did not stop cleanly on SIGTERM (log %s)", log);
	ck_assert_msg(st == 0, "browser checks failed (%d):\n%s\nconsole log "
	    "%s", st, out, log);
	ck_assert_ptr_nonnull(strstr(out, "\"pass\":true"));
	ck_assert_ptr_null(strstr(out, "\"pass\":false"));
}
END_TEST

static void
setup(void)
{
	const char *args[] = {"--set", "admins=" ADMIN, NULL};

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker did not start (log %s)",
	    B.log);
}

static void
teardown(void)
{
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

int
main(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("browser");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, console_in_chromium);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
