/*
 * One SPIFFE id validator at every entry of a real mandated: a registry
 * with an invalid agent id or allowedTargets entry stops the start (the
 * message names the id) and is refused by SIGHUP (the running registry
 * stays); hello and auth refuse each invalid form of a registered
 * agent's id (agent.invalid) and leave the pipe unauthenticated; an
 * invalid broker_id or admins entry stops mandated.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

/* Invalid forms of BT_SUMM, each near enough to pass a loose check. */
static const char *const bad[] = {
	BT_SUMM "?x=1",
	BT_SUMM "#frag",
	"spiffe://clinic.example:8443/agent/summarizer",
	"spiffe://admin@clinic.example/agent/summarizer",
	"spiffe://clinic.example/agent/../agent/summarizer",
	"spiffe://clinic.example/agent/./summarizer",
	"spiffe://clinic.example/agent/%2e%2e/agent/summarizer",
	"spiffe://clinic.example/agent/%73ummarizer",
	BT_SUMM "/",
	"spiffe://clinic.example/agent//summarizer",
	"spiffe://clinic.example//agent/summarizer",
	"spiffe://Clinic.example/agent/summarizer",
	"spiffe://CLINIC.EXAMPLE/agent/summarizer",
	"SPIFFE://clinic.example/agent/summarizer",
	"Spiffe://clinic.example/agent/summarizer",
	"spiffe:/clinic.example/agent/summarizer",
	(" " BT_SUMM),
};
#define NBAD (sizeof(bad) / sizeof(bad[0]))

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* 1 when the broker's log has a line holding all of a, b (b may be
 * NULL). */
static int
log_has(const char *a, const char *b)
{
	FILE *f = fopen(B.log, "r");
	char line[8192];
	int found = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		found |= strstr(line, a) != NULL &&
		    (b == NULL || strstr(line, b) != NULL);
	if (f != NULL)
		fclose(f);
	return found;
}

static void
wait_log(const char *a, const char *b)
{
	for (int i = 0; i < 200 && !log_has(a, b); i++)
		pause_ms(25);
	ck_assert_msg(log_has(a, b), "log never showed %s %s", a,
	    b != NULL ? b : "");
}

/* An agent entity (JSON array of one) with id and targets. */
static char *
agent_json(const char *id, const char *target)
{
	json_t *t = json_array(), *a;
	char *s;

	if (target != NULL)
		json_array_append_new(t, json_pack("{s:{s:s,s:s}}", "__entity",
		    "type", "Mandate::Agent", "id", target));
	a = json_pack("[{s:{s:s,s:s},s:{s:[s],s:o,s:i,s:i,s:[]},s:[]}]",
	    "uid", "type", "Mandate::Agent", "id", id, "attrs", "ceiling",
	    "patient/Observation.rs", "allowedTargets", t, "maxDepth", 1,
	    "maxFanout", 1, "tools", "parents");
	s = json_dumps(a, 0);
	json_decref(a);
	return s;
}

/* mandated exits at start on a registry with a bad id or target, and
 * says which. */
START_TEST(bad_registry_refuses_start)
{
	for (size_t i = 0; i < NBAD; i++) {
		for (int as_target = 0; as_target < 2; as_target++) {
			char *extra = as_target ?
			    agent_json("spiffe://clinic.example/agent/x", bad[i]) :
			    agent_json(bad[i], NULL);
			ck_assert_int_eq(bt_setup(&B, extra), 0);
			free(extra);
			ck_assert_msg(bt_start(&B, NULL) != 0, "started with %s",
			    bad[i]);
			ck_assert_msg(log_has("config.invalid", bad[i]),
			    "the refusal does not name %s", bad[i]);
			ck_assert(log_has("config.invalid", as_target ?
			    "\"spiffe://clinic.example/agent/x\": "
			    "allowedTargets[0] \"" :
			    ": id: not a valid SPIFFE id"));
			bt_cleanup(&B);
		}
	}
}
END_TEST

/* Rewrites the registry from the one the broker started with: the
 * summarizer's key removed, and when bad_id is set an agent with that id
 * added. */
static json_t *first;

static void
rewrite_registry(const char *bad_id)
{
	json_t *root, *ent;
	size_t i;

	if (first == NULL)
		first = json_load_file(B.entities, 0, NULL);
	root = json_deep_copy(first);
	ck_assert_ptr_nonnull(root);
	json_array_foreach(root, i, ent) {
		const char *id = json_string_value(json_object_get(
		    json_object_get(ent, "uid"), "id"));
		if (id != NULL && strcmp(id, BT_SUMM) == 0)
			json_object_set_new(json_object_get(ent, "attrs"),
			    "publicKey", json_string(""));
	}
	if (bad_id != NULL) {
		char *s = agent_json(bad_id, NULL);
		json_t *more = json_loads(s, 0, NULL);
		free(s);
		json_array_extend(root, more);
		json_decref(more);
	}
	ck_assert_int_eq(json_dump_file(root, B.entities, 0), 0);
	json_decref(root);
}

START_TEST(sighup_with_bad_id_keeps_registry)
{
	struct bt_conn c;
	const char *bad_id = "spiffe://clinic.example/agent/../orchestrator";

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, NULL), 0);
	/* the bad registry would also lock the summarizer out */
	rewrite_registry(bad_id);
	kill(B.pid, SIGHUP);
	wait_log("reload.failed", bad_id);
	ck_assert(log_has("reload.failed", ": id: not a valid SPIFFE id: "));
	ck_assert(log_has("reload.failed", "\"..\""));
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
	bt_close(&c);
	/* the same change without the bad id is taken */
	rewrite_registry(NULL);
	kill(B.pid, SIGHUP);
	wait_log("reload.done", NULL);
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)),
	    -MDT_EAUTH);
	bt_close(&c);
	json_decref(first);
	first = NULL;
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

static mdt_wire_msg *
hello(struct bt_conn *c, const char *agent)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_HELLO);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "agent", agent), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

static mdt_wire_msg *
auth(struct bt_conn *c, const char *agent, const uint8_t *sig, int svid)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_AUTH);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "agent", agent), 0);
	ck_assert_int_eq(mdt_wire_put_bin(w, "sig", sig, MDT_KEY_SIG_BYTES), 0);
	if (svid) {
		ck_assert_int_eq(mdt_wire_begin_array(w, "svid", 1), 0);
		ck_assert_int_eq(mdt_wire_put_bin(w, NULL, sig, 16), 0);
		ck_assert_int_eq(mdt_wire_end(w), 0);
	}
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

/* The pipe is not authenticated: an op needing it is refused. */
static void
assert_not_authed(struct bt_conn *c)
{
	mdt_wire_msg *m = bt_next(c, 0);

	ck_assert_str_eq(bt_reason(m), "auth.required");
	mdt_wire_msg_free(m);
}

static void
expect_invalid(mdt_wire_msg *m, const char *id)
{
	const char *detail = NULL;

	ck_assert_msg(strcmp(bt_reason(m), "agent.invalid") == 0,
	    "%s: reason %s", id, bt_reason(m));
	ck_assert_int_eq(mdt_wire_msg_error(m, NULL, &detail), -MDT_EINVAL);
	ck_assert_msg(detail != NULL && strstr(detail, "not a valid SPIFFE id"),
	    "%s: %s", id, detail != NULL ? detail : "(no detail)");
	mdt_wire_msg_free(m);
}

START_TEST(hello_and_auth_refuse_bad_ids)
{
	const mdt_keypair *kp;
	struct bt_conn c;
	uint8_t sig[MDT_KEY_SIG_BYTES];
	char longid[300];
	mdt_wire_msg *m;
	const uint8_t *ch;
	size_t n;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, NULL), 0);
	kp = bt_key(&B, BT_SUMM);
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	for (size_t i = 0; i < NBAD; i++) {
		/* hello: no challenge for an invalid id */
		m = hello(&c, bad[i]);
		ck_assert_ptr_null(bt_bin(m, "challenge", &n));
		expect_invalid(m, bad[i]);
		assert_not_authed(&c);
		/* auth: a challenge for the real id, signed by its key, and
		 * presented under the invalid form */
		m = hello(&c, BT_SUMM);
		ch = bt_bin(m, "challenge", &n);
		ck_assert_ptr_nonnull(ch);
		ck_assert_int_eq(mdt_key_sign(kp, MDT_WIRE_AUTH_DOMAIN, ch, n,
		    sig), 0);
		mdt_wire_msg_free(m);
		expect_invalid(auth(&c, bad[i], sig, (int)(i % 2)), bad[i]);
		assert_not_authed(&c);
		/* the refused auth used up the challenge */
		m = auth(&c, BT_SUMM, sig, 0);
		ck_assert_str_eq(bt_reason(m), "auth.failed");
		mdt_wire_msg_free(m);
		assert_not_authed(&c);
	}
	/* longer than the broker's agent ids: refused, not truncated */
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	memcpy(longid, BT_SUMM "/", strlen(BT_SUMM) + 1);
	m = hello(&c, longid);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 0);
	mdt_wire_msg_free(m);
	assert_not_authed(&c);
	ck_assert(log_has("auth.failed", "op=hello"));
	ck_assert(log_has("auth.failed", "op=auth"));
	/* and the real id still logs in */
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, kp), 0);
	bt_close(&c);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

/* broker_id and admins go through the same validator: mandated stops. */
START_TEST(bad_config_ids_refused)
{
	static const char *const args[] = {
		"--set broker_id=spiffe://Mandate.local/broker",
		"--broker-id spiffe://mandate.local/broker/",
		"--set 'admins=" BT_ORCH " " BT_SUMM "?x'",
	};
	char cmd[1024], out[4096];

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		FILE *p;
		size_t n;
		snprintf(cmd, sizeof(cmd), "%s/broker/mandated %s --check-config "
		    "2>&1", mdt_test_binary_dir(), args[i]);
		p = popen(cmd, "r");
		ck_assert_ptr_nonnull(p);
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = 0;
		ck_assert_int_eq(WEXITSTATUS(pclose(p)), 1);
		ck_assert_msg(strstr(out, "not a valid SPIFFE id") != NULL, "%s",
		    out);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_spiffe");
	TCase *tc = tcase_create("spiffe");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, bad_registry_refuses_start);
	tcase_add_test(tc, sighup_with_bad_id_keeps_registry);
	tcase_add_test(tc, hello_and_auth_refuse_bad_ids);
	tcase_add_test(tc, bad_config_ids_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
