/*
 * `mandatectl tasks` against a real broker: list shows open tasks with
 * their holder, parent and waiting items and flags idle ones as orphans;
 * cancel ends a task through the broker as an admin agent (the parent's
 * holder gets a `cancelled` result), is refused to other agents and for
 * ended or unknown tasks; --help documents both.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <mandate/key.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;
static char out[1 << 16];

/* Runs mandatectl with args; output in `out`; returns the exit status. */
static int
ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
ctl(const char *fmt, ...)
{
	char args[2048], cmd[3072];
	size_t n = 0, got;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s/broker/mandatectl %s 2>&1",
	    getenv("MDT_BINARY_DIR") ? getenv("MDT_BINARY_DIR") : ".", args);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while ((got = fread(out + n, 1, sizeof(out) - 1 - n, p)) > 0)
		n += got;
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The output line about task id ("" when none). */
static const char *
line_of(const char *id, char *buf, size_t len)
{
	char key[160];
	const char *at, *end;

	snprintf(key, sizeof(key), "TASK %s ", id);
	buf[0] = '\0';
	if ((at = strstr(out, key)) == NULL)
		return buf;
	end = strchr(at, '\n');
	snprintf(buf, len, "%.*s", (int)(end ? end - at : (long)strlen(at)),
	    at);
	return buf;
}

static void
save_key(const char *agent, const char *name, char *path, size_t len)
{
	char base[600], err[256];

	snprintf(base, sizeof(base), "%s/%s", B.dir, name);
	ck_assert_int_eq(mdt_keypair_save(bt_key(&B, agent), base, err,
	    sizeof(err)), 0);
	snprintf(path, len, "%s.key", base);
}

static void
dispatch(struct bt_conn *o, const struct bt_task *root, char id[128])
{
	mdt_wire_msg *m = bt_delegate(o, MDT_OP_DISPATCH, root->id, root->tok,
	    root->tlen, BT_SUMM, "patient/Observation.rs");

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "dispatch: %s", bt_reason(m));
	snprintf(id, 128, "%s", bt_str(m, "task"));
	mdt_wire_msg_free(m);
}

START_TEST(list_and_cancel)
{
	static const char *const args[] = { "--set",
	    "admins=" BT_PRIOR, NULL };
	struct bt_conn o, s;
	struct bt_task root, taken;
	char waiting[128], held[128], line[1024], admin_key[700], summ_key[700];
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "start failed (log %s)", B.log);
	save_key(BT_PRIOR, "ops", admin_key, sizeof(admin_key));
	save_key(BT_SUMM, "summ", summ_key, sizeof(summ_key));
	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	dispatch(&o, &root, held);
	m = bt_next(&s, 3000);
	ck_assert_int_eq(bt_task_from(&taken, m, 1), 0);
	mdt_wire_msg_free(m);
	ck_assert_str_eq(taken.id, held);
	m = bt_end(&s, MDT_OP_RESULT, taken.id, taken.tok, taken.tlen);
	mdt_wire_msg_free(m);
	/* its item stays until acknowledged: ack it, nothing is waiting */
	{
		mdt_wire_writer *w = bt_req(&s, MDT_OP_ACK);
		ck_assert_int_eq(mdt_wire_put_cstr(w, "item", held), 0);
		ck_assert_int_eq(bt_call(&s, w, &m), 0);
		ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
		mdt_wire_msg_free(m);
	}
	dispatch(&o, &root, waiting);

	/* nothing idle for an hour: no orphans */
	ck_assert_int_eq(ctl("tasks list --db %s", B.store), 0);
	ck_assert_msg(strstr(out, "3 open, 0 orphans") != NULL, "%s", out);
	line_of(waiting, line, sizeof(line));
	ck_assert_msg(strstr(line, "holder=" BT_SUMM) != NULL, "%s", out);
	ck_assert_msg(strstr(line, root.id) != NULL, "%s", out);
	ck_assert_msg(strstr(line, " items=1 deliveries=0") != NULL, "%s",
	    out);
	/* the root has the reported result waiting for its holder */
	line_of(root.id, line, sizeof(line));
	ck_assert_msg(strstr(line, "parent=- ") != NULL, "%s", out);
	ck_assert_msg(strstr(line, " items=1 ") != NULL, "%s", out);
	/* with no patience, the task nobody has work for is an orphan */
	ck_assert_int_eq(ctl("tasks list --store %s --idle-ms 0", B.store), 0);
	ck_assert_msg(strstr(line_of(held, line, sizeof(line)),
	    "items=0 deliveries=0 orphan=idle") != NULL, "%s", out);
	ck_assert_msg(strstr(line_of(waiting, line, sizeof(line)), "orphan")
	    == NULL, "%s", out);
	ck_assert_msg(strstr(out, "3 open, 1 orphan\n") != NULL, "%s", out);

	/* only an admin may cancel a task it does not hold */
	ck_assert_int_eq(ctl("tasks cancel %s --url %s --id %s --key %s",
	    held, B.url, BT_SUMM, summ_key), 1);
	ck_assert_msg(strstr(out, "admin.required") != NULL, "%s", out);
	ck_assert_int_eq(ctl("tasks cancel %s --url %s --id %s --key %s "
	    "--reason 'agent gone'", held, B.url, BT_PRIOR, admin_key), 0);
	ck_assert_msg(strstr(out, "cancelled") != NULL, "%s", out);
	ck_assert_int_eq(ctl("tasks cancel %s --url %s --id %s --key %s",
	    held, B.url, BT_PRIOR, admin_key), 1);
	ck_assert_int_eq(ctl("tasks cancel t-nope --url %s --id %s --key %s",
	    B.url, BT_PRIOR, admin_key), 2);
	/* the orchestrator learns of it as of any cancellation */
	m = bt_next(&o, 3000);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	{
		const mdt_wire_val *it = mdt_wire_map_get(mdt_wire_msg_root(m),
		    "item");
		const char *st, *task;
		char err[128];
		/* the reported result came first */
		ck_assert_int_eq(mdt_wire_get_str(it, "status", 32, &st, err,
		    sizeof(err)), 0);
		ck_assert_str_eq(st, "result");
		mdt_wire_msg_free(m);
		m = bt_next(&o, 3000);
		it = mdt_wire_map_get(mdt_wire_msg_root(m), "item");
		ck_assert_int_eq(mdt_wire_get_str(it, "status", 32, &st, err,
		    sizeof(err)), 0);
		ck_assert_str_eq(st, "cancelled");
		ck_assert_int_eq(mdt_wire_get_str(it, "task", 128, &task, err,
		    sizeof(err)), 0);
		ck_assert_str_eq(task, held);
	}
	mdt_wire_msg_free(m);
	ck_assert_int_eq(ctl("tasks list --db %s", B.store), 0);
	ck_assert_msg(strstr(out, "2 open, 0 orphans") != NULL, "%s", out);
	ck_assert_str_eq(line_of(held, line, sizeof(line)), "");

	ck_assert_int_eq(ctl("tasks --help"), 0);
	ck_assert_msg(strstr(out, "orphan") && strstr(out, "admins"), "%s",
	    out);
	ck_assert_int_eq(ctl("tasks list"), 64);
	ck_assert_int_eq(ctl("tasks cancel %s", held), 64);
	bt_close(&o);
	bt_close(&s);
	bt_cleanup(&B);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ctl_tasks");
	TCase *tc = tcase_create("tasks");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, list_and_cancel);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
