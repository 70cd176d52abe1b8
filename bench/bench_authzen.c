/*
 * An AuthZEN access evaluation through mandate-authzen (HTTP, JSON, the
 * wire op evaluate, Cedar, the durable audit record) beside a native
 * authorize over the wire (token, scopes, Cedar, audit record) measured
 * in the same run.  Two brokers from the same build: one with the
 * default policies and a task to authorize in, one with the Todo
 * scenario's policies behind the front.
 *
 *   ratio authzen_eval_vs_native_authorize: median latency of one
 *       evaluation (one client, kept-alive HTTP connection) / median
 *       latency of one authorize (one client)
 *
 * The sides alternate, five rounds each, and each side's figure is the
 * median of its rounds' medians, so a passing disturbance of a shared
 * machine weighs on one round of one side, not on the ratio.
 */
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "benchutil.h"

/* The test harnesses: real broker and front processes, and clients. */
#include "../tests/common/brk_test.c"
#include "../tests/common/brk_test_idp.c"
#include "../tests/common/az_test.c"

#define ROUNDS 5
#define PER_ROUND 1000

static struct bt_broker Native, Todo;
static struct az_front Front;
static struct bt_task Task;

static const char Body[] = "{\"subject\":{\"type\":\"user\",\"id\":"
    "\"CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs\"},"
    "\"action\":{\"name\":\"can_update_todo\"},\"resource\":{\"type\":"
    "\"todo\",\"id\":\"7240d0db-8ff0-41ec-98b2-34a096273b91\","
    "\"properties\":{\"ownerID\":\"morty@the-citadel.com\"}}}";

static void
env(void)
{
	char exe[1024], *d;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	setenv("MDT_SOURCE_DIR", MDT_SOURCE_DIR, 0);
	if (n > 0) {
		exe[n] = 0;
		d = dirname(dirname(exe)); /* BUILD/bench/x -> BUILD */
		setenv("MDT_BINARY_DIR", d, 0);
	}
}

/* A subtask of the summarizer to authorize reads in (as
 * bench_authorize does). */
static int
prepare_native(struct bt_conn *s)
{
	struct bt_conn o;
	struct bt_task root;
	char *jwt = bt_assertion(&Native, "dr-alice", "pat-001",
	    "patient/*.rs", 0);
	mdt_wire_msg *m;
	int rc = -1;

	if (jwt == NULL || bt_dial(&o, Native.url) || bt_dial(s, Native.url) ||
	    bt_auth(&o, BT_ORCH, bt_key(&Native, BT_ORCH)) ||
	    bt_auth(s, BT_SUMM, bt_key(&Native, BT_SUMM)))
		return -1;
	m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
	if (m != NULL && bt_task_from(&root, m, 0) == 0) {
		mdt_wire_msg_free(m);
		m = bt_delegate(&o, MDT_OP_DISPATCH, root.id, root.tok,
		    root.tlen, BT_SUMM, "patient/Observation.rs");
		mdt_wire_msg_free(m);
		m = bt_next(s, 3000);
		rc = m != NULL ? bt_task_from(&Task, m, 1) : -1;
	}
	mdt_wire_msg_free(m);
	free(jwt);
	bt_close(&o);
	return rc;
}

static char *
todo_entities(void)
{
	char path[600];
	json_t *j;
	char *s;

	snprintf(path, sizeof(path), "%s/examples/authzen-todo/entities.json",
	    MDT_SOURCE_DIR);
	if ((j = json_load_file(path, 0, NULL)) == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static int
start_todo(void)
{
	static char pol[600];
	const char *args[] = { "--policy-dir", pol, "--set",
	    "evaluators=" BT_ORCH, NULL };
	char *ents = todo_entities();
	int rc;

	snprintf(pol, sizeof(pol), "%s/examples/authzen-todo/policies",
	    MDT_SOURCE_DIR);
	if (ents == NULL)
		return -1;
	rc = bt_setup(&Todo, ents);
	free(ents);
	if (rc != 0 || bt_start(&Todo, args) != 0)
		return -1;
	return az_front_start(&Front, &Todo, BT_ORCH);
}

static int
one_authorize(struct bt_conn *c)
{
	mdt_wire_msg *m = bt_authorize(c, Task.id, Task.tok, Task.tlen, "r",
	    "Observation/obs-001-1", "pat-001", NULL, NULL, 0);
	int ok = m != NULL && mdt_wire_msg_ok(m) == 1;

	mdt_wire_msg_free(m);
	return ok ? 0 : -1;
}

static int
one_evaluation(int fd)
{
	int status = 0;
	char *resp = NULL;
	int rc = az_request(fd, "POST", "/access/v1/evaluation",
	    "Bearer " AZ_TEST_TOKEN, NULL, Body, &status, &resp, NULL);

	rc = rc == 0 && status == 200 && strstr(resp, "\"decision\":true") !=
	    NULL ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "bench_authzen: evaluation answered %d: %s\n",
		    status, resp ? resp : "(nothing)");
	free(resp);
	return rc;
}

/* Median latency (ns) of one round of side (0 authorize, 1 evaluation). */
static double
round_median(int side, struct bt_conn *c, int fd)
{
	static double lat[PER_ROUND];

	for (int i = 0; i < PER_ROUND; i++) {
		uint64_t t0 = bench_now_ns();
		if ((side == 0 ? one_authorize(c) : one_evaluation(fd)) != 0)
			return -1;
		lat[i] = (double)(bench_now_ns() - t0);
	}
	return bench_percentile(lat, PER_ROUND, 50);
}

static int
measure(struct bt_conn *c, int fd)
{
	double r[2][ROUNDS], med[2];

	for (int k = 0; k < ROUNDS; k++)
		for (int side = 0; side < 2; side++)
			if ((r[side][k] = round_median(side, c, fd)) < 0) {
				fprintf(stderr, "bench_authzen: %s failed\n",
				    side ? "evaluation" : "authorize");
				return -1;
			}
	for (int side = 0; side < 2; side++)
		med[side] = bench_percentile(r[side], ROUNDS, 50);
	printf("medians of %d rounds of %d: authorize %.1f us, AuthZEN "
	    "evaluation %.1f us\n", ROUNDS, PER_ROUND, med[0] / 1000,
	    med[1] / 1000);
	bench_ratio("authzen_eval_vs_native_authorize", med[1] / med[0]);
	return 0;
}

int
main(void)
{
	struct bt_conn s;
	int fd = -1, rc = 1;

	env();
	if (sodium_init() < 0)
		return 1;
	if (bt_setup(&Native, NULL) != 0 || bt_start(&Native, NULL) != 0 ||
	    prepare_native(&s) != 0) {
		fprintf(stderr, "bench_authzen: native broker setup failed\n");
		goto out;
	}
	if (start_todo() != 0 || (fd = az_conn(Front.port)) < 0) {
		fprintf(stderr, "bench_authzen: AuthZEN front setup failed\n");
		goto out;
	}
	rc = measure(&s, fd) == 0 ? 0 : 1;
	close(fd);
	bt_close(&s);
out:
	if (Front.pid > 0)
		(void)az_front_stop(&Front);
	bt_cleanup(&Todo);
	bt_cleanup(&Native);
	return rc;
}
