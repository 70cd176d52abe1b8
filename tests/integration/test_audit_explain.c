/*
 * After-the-fact questions against a real broker run:
 *  - `access` (the admin operation, through the SDK and mandatectl) lists
 *    the actions of the summarizer's task with allow, step-up and deny,
 *    and `authorize` then answers each of them the same way; the
 *    question itself is an audited decision;
 *  - `audit explain` replays an allow and a deny with their determining
 *    policies and says "same decision"; after the policy set is changed
 *    and reloaded (the broker keeps the new one in the store) it says
 *    "would now decide differently" with the new determining policies;
 *  - `access --at` rebuilds the earlier answer from the store alone;
 *  - `review list` holds the step-up and the repeated denials; `review
 *    mark` takes one out of the queue, and `audit verify` still finds the
 *    chain intact with the mark in it.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include <mandate/agent.h>
#include <mandate/store.h>
#include <mandate/wire.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

#define PATIENT "pat-001"
#define ROOT_SCOPES "patient/*.rs patient/DocumentReference.cu"
#define SUB_SCOPES "patient/Observation.rs patient/Condition.rs " \
	"patient/DocumentReference.cu"

static struct bt_broker B;
static char Pol[300], ctl[512], out[1 << 18];

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "test_audit_explain:%d: ", __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n--- output ---\n%s\n(broker log %s)\n", out, \
		    B.log); \
		exit(1); \
	} \
} while (0)

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[4096], args[3072];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", ctl, args);
	return mdt_test_capture(cmd, out, sizeof(out));
}

static void
write_policy(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", Pol, name);
	CHECK((f = fopen(path, "w")) != NULL, "open %s", path);
	fputs(text, f);
	CHECK(fclose(f) == 0, "write %s", path);
}

/* The resource authorize is asked about for an action of the access
 * answer, and the patient it claims (NULL: none). */
static const char *
resource_for(const char *act, const char *res, char *buf, size_t len,
    const char **claim)
{
	*claim = NULL;
	if (strcmp(act, "s") == 0) {
		snprintf(buf, len, "%s?patient=" PATIENT, res);
	} else {
		snprintf(buf, len, "%s/x-1", res);
		*claim = PATIENT;
	}
	return buf;
}

/* What authorize answered, in the access answer's words. */
static const char *
authorized(struct bt_conn *c, const struct bt_task *t, const char *act,
    const char *res)
{
	char buf[256];
	const char *claim = NULL, *why;
	const char *ref = resource_for(act, res, buf, sizeof(buf), &claim);
	mdt_wire_msg *m = bt_authorize(c, t->id, t->tok, t->tlen, act, ref,
	    claim, NULL, NULL, 0);
	static char word[32];

	CHECK(m != NULL, "authorize %s %s", act, res);
	why = bt_reason(m);
	snprintf(word, sizeof(word), "%s", mdt_wire_msg_ok(m) == 1 ? "allow" :
	    strcmp(why, "step_up.required") == 0 ? "step_up" :
	    strcmp(why, "policy.deny") == 0 ? "deny" : why);
	mdt_wire_msg_free(m);
	return word;
}

/* The broker's access answer (SDK), as JSON. */
static json_t *
access_now(void)
{
	mdt_agent_opts ao = {.url = B.url, .spiffe_id = BT_PRIOR,
	    .key = bt_key(&B, BT_PRIOR)};
	char err[MDT_ERRMSG_MAX] = "", *text = NULL;
	mdt_agent *a = NULL;
	json_t *j;

	CHECK(mdt_agent_connect(&ao, &a, err, sizeof(err)) == 0, "admin: %s",
	    err);
	CHECK(mdt_agent_access(a, BT_SUMM, PATIENT, &text, err,
	    sizeof(err)) == 0, "access: %s", err);
	mdt_agent_close(a);
	snprintf(out, sizeof(out), "%s", text);
	j = json_loads(text, 0, NULL);
	mdt_free(text);
	CHECK(j != NULL, "access answer is JSON");
	return j;
}

/* The actions of task id in an access answer. */
static json_t *
actions_of(json_t *ans, const char *id)
{
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(ans, "tasks"), i, t)
		if (strcmp(json_string_value(json_object_get(t, "task")), id) ==
		    0)
			return json_object_get(t, "actions");
	CHECK(0, "task %s is not in the access answer", id);
	return NULL;
}

static const char *
field(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* access then authorize for every action: they agree; each of allow,
 * step-up and deny occurs.  Returns the answer (caller decrefs). */
static json_t *
access_agrees(struct bt_conn *s, const struct bt_task *sub)
{
	json_t *ans = access_now(), *a;
	int seen[3] = {0, 0, 0};
	size_t i;

	json_array_foreach(actions_of(ans, sub->id), i, a) {
		const char *want = field(a, "decision");
		const char *got = authorized(s, sub, field(a, "action"),
		    field(a, "resource"));
		CHECK(strcmp(want, got) == 0, "%s %s: access says %s, "
		    "authorize %s", field(a, "action"), field(a, "resource"),
		    want, got);
		seen[strcmp(want, "allow") == 0 ? 0 :
		    strcmp(want, "step_up") == 0 ? 1 : 2] = 1;
	}
	CHECK(seen[0] && seen[1] && seen[2], "allow, step-up and deny all "
	    "occur (%d %d %d)", seen[0], seen[1], seen[2]);
	return ans;
}

struct found {
	const char *op, *resource;
	mdt_store_verdict verdict;
	uint64_t seq;
};

static int
find_cb(void *arg, const mdt_store_decision *d)
{
	struct found *f = arg;

	if (strcmp(d->operation, f->op) == 0 && d->verdict == f->verdict &&
	    (f->resource == NULL || (d->resource != NULL &&
	    strcmp(d->resource, f->resource) == 0)) && f->seq == 0)
		f->seq = d->seq;
	return 0;
}

/* The first decision of op on resource with verdict v. */
static uint64_t
find(const char *op, const char *resource, mdt_store_verdict v)
{
	struct found f = {op, resource, v, 0};
	mdt_store_opts so = {.read_only = 1, .readers = 1};
	mdt_store *s;

	CHECK(mdt_store_open(B.store, &so, &s, NULL, 0) == 0, "store");
	CHECK(mdt_store_list_decisions(s, 0, 0, find_cb, &f) == 0, "list");
	mdt_store_close(s);
	CHECK(f.seq != 0, "no %s decision on %s", op, resource);
	return f.seq;
}

/* The digest of the last policy set the store keeps. */
static void
latest_policies(char *out_hash, size_t len)
{
	mdt_store_opts so = {.read_only = 1, .readers = 1};
	mdt_store_source *src = NULL;
	mdt_store *s;

	CHECK(mdt_store_open(B.store, &so, &s, NULL, 0) == 0, "store");
	CHECK(mdt_store_get_source(s, MDT_STORE_SOURCE_POLICIES, NULL,
	    &src) == 0, "a policy set is kept");
	snprintf(out_hash, len, "%s", src->digest);
	mdt_free(src);
	mdt_store_close(s);
}

static void
explain_before(uint64_t allow, uint64_t deny)
{
	CHECK(run("audit explain %llu --store %s", (unsigned long long)allow,
	    B.store) == 0, "explain allow");
	CHECK(strstr(out, "verdict          allow") != NULL, "verdict");
	CHECK(strstr(out, "\"principal\"") != NULL && strstr(out,
	    "\"agentChain\"") != NULL, "the Cedar request");
	CHECK(strstr(out, "replay (then):   allow") != NULL, "replayed allow");
	CHECK(strstr(out, "treat-clinical-access") != NULL, "determining");
	CHECK(strstr(out, "today:           same decision") != NULL, "same");
	CHECK(run("audit explain %llu --store %s", (unsigned long long)deny,
	    B.store) == 0, "explain deny");
	CHECK(strstr(out, "replay (then):   deny") != NULL, "replayed deny");
	CHECK(strstr(out, "no-condition-read") != NULL, "forbid named");
	CHECK(strstr(out, "today:           same decision") != NULL, "same");
}

/* The policy set changes: Condition reads are allowed again, Observation
 * searches forbidden.  The reload is done when the store keeps a policy
 * set other than old. */
static void
change_policies(const char *old)
{
	char now[80] = "";

	write_policy("zz-test.cedar", "@id(\"no-observation-search\")\n"
	    "forbid(principal, action == Mandate::Action::\"search\", "
	    "resource)\nwhen { resource has type && resource.type == "
	    "\"Observation\" };\n");
	CHECK(kill(B.pid, SIGHUP) == 0, "reload");
	for (int i = 0; i < 600 && (now[0] == 0 || strcmp(now, old) == 0);
	    i++) {
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
		latest_policies(now, sizeof(now));
	}
	CHECK(strcmp(now, old) != 0, "the reloaded policy set is kept");
}

static void
explain_after(uint64_t allow, uint64_t deny)
{
	CHECK(run("audit explain %llu --store %s", (unsigned long long)deny,
	    B.store) == 0, "explain deny again");
	CHECK(strstr(out, "replay (then):   deny") != NULL, "then: deny");
	CHECK(strstr(out, "would now decide differently: allow") != NULL,
	    "now: allow");
	CHECK(strstr(out, "treat-clinical-access") != NULL, "now determining");
	CHECK(run("audit explain %llu --store %s --format json",
	    (unsigned long long)allow, B.store) == 0, "explain allow json");
	CHECK(strstr(out, "\"same_now\":false") != NULL &&
	    strstr(out, "no-observation-search") != NULL, "now forbidden");
	/* --policies DIR: today's rules from files */
	CHECK(run("audit explain %llu --store %s --policies %s/policies",
	    (unsigned long long)deny, B.store, getenv("MDT_SOURCE_DIR")) == 0,
	    "explain --policies");
	CHECK(strstr(out, "would now decide differently: allow") != NULL,
	    "the source tree's policies allow it");
}

/* access --at before the change, from the store: the same answers. */
static void
access_at(json_t *before, const char *task, int64_t at)
{
	char when[64];
	time_t s = (time_t)((at + 999) / 1000);
	struct tm tm;
	json_t *j, *a, *b;
	size_t i;

	gmtime_r(&s, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	CHECK(run("access --agent %s --patient %s --at %s --store %s "
	    "--format json", BT_SUMM, PATIENT, when, B.store) == 0, "at");
	CHECK((j = json_loads(out, 0, NULL)) != NULL, "at: JSON");
	b = actions_of(before, task);
	CHECK(json_array_size(actions_of(j, task)) == json_array_size(b),
	    "as many actions then");
	json_array_foreach(actions_of(j, task), i, a) {
		json_t *x = NULL, *y;
		size_t k;
		json_array_foreach(b, k, y)
			if (strcmp(field(a, "action"), field(y, "action")) == 0 &&
			    strcmp(field(a, "resource"), field(y, "resource")) ==
			    0)
				x = y;
		CHECK(x != NULL && strcmp(field(a, "decision"), field(x,
		    "decision")) == 0, "%s %s as the broker answered",
		    field(a, "action"), field(a, "resource"));
	}
	json_decref(j);
	CHECK(run("access --agent %s --patient %s --at %s --store %s", BT_SUMM,
	    PATIENT, when, B.store) == 0 && strstr(out, "reconstructed") !=
	    NULL && strstr(out, "effective") != NULL, "at: text");
}

static void
review(uint64_t stepup, uint64_t deny)
{
	char key[600], skey[600];
	CHECK(run("review list --store %s", B.store) == 0, "review list");
	CHECK(strstr(out, "step_up") != NULL, "a step-up is queued");
	CHECK(strstr(out, "repeated_denials") != NULL, "repeated denials");
	CHECK(run("review list --store %s --threshold 50", B.store) == 0 &&
	    strstr(out, "repeated_denials") == NULL, "threshold");
	/* through the running broker, which holds the store */
	snprintf(key, sizeof(key), "%s/admin", B.dir);
	snprintf(skey, sizeof(skey), "%s/summarizer", B.dir);
	CHECK(mdt_keypair_save(bt_key(&B, BT_PRIOR), key, NULL, 0) == 0 &&
	    mdt_keypair_save(bt_key(&B, BT_SUMM), skey, NULL, 0) == 0,
	    "key files");
	CHECK(run("review mark %llu --url %s --id %s --key %s.key --note "
	    "'clinician confirmed' --by sec-team", (unsigned long long)stepup,
	    B.url, BT_PRIOR, key) == 0 && strstr(out, "marked reviewed by "
	    "sec-team") != NULL, "mark through the broker");
	CHECK(run("review mark %llu --url %s --id %s --key %s.key --note "
	    "again", (unsigned long long)stepup, B.url, BT_PRIOR, key) == 2 &&
	    strstr(out, "already") != NULL, "marked once");
	CHECK(run("review mark %llu --url %s --id %s --key %s.key --note x",
	    (unsigned long long)stepup, B.url, BT_SUMM, skey) == 2 &&
	    strstr(out, "admins") != NULL, "only an admin marks");
	CHECK(bt_stop(&B, SIGTERM) == 0, "broker stopped");
	/* and directly, on the store the broker has let go of */
	CHECK(run("review mark %llu --store %s --note 'agent misconfigured'",
	    (unsigned long long)deny, B.store) == 0, "mark on the store");
	CHECK(run("review mark %llu --store %s --note again", (unsigned long
	    long)deny, B.store) == 2 && strstr(out, "already") != NULL,
	    "marked once on the store");
	CHECK(run("review list --store %s --format jsonl", B.store) == 0,
	    "review list jsonl");
	{
		char needle[48];
		snprintf(needle, sizeof(needle), "{\"seq\":%llu,",
		    (unsigned long long)stepup);
		CHECK(strstr(out, needle) == NULL, "marked: out of the queue");
		CHECK(run("review list --store %s --all --format jsonl",
		    B.store) == 0 && strstr(out, needle) != NULL &&
		    strstr(out, "\"reviewed_by\":\"sec-team\"") != NULL,
		    "--all shows it with its mark");
	}
	CHECK(run("audit verify --store %s --pub %s", B.store, B.root_pub) ==
	    0 && strstr(out, "intact") != NULL, "verify covers the mark");
	CHECK(run("audit export --store %s", B.store) == 0 &&
	    strstr(out, "\"kind\":\"review\"") != NULL &&
	    strstr(out, "\"kind\":\"source\"") != NULL, "exported");
}

static void
setup(struct bt_conn *o, struct bt_conn *s, struct bt_task *sub)
{
	const char *args[] = { "--policy-dir", Pol, "--set",
	    "admins=" BT_PRIOR, NULL };
	struct bt_task root;

	CHECK(bt_setup(&B, NULL) == 0, "setup");
	bf_policy_copy(&B, "pol", Pol, sizeof(Pol));
	write_policy("zz-test.cedar", "@id(\"no-condition-read\")\n"
	    "forbid(principal, action == Mandate::Action::\"read\", resource)\n"
	    "when { resource has type && resource.type == \"Condition\" };\n");
	CHECK(bt_start(&B, args) == 0, "broker started");
	bf_as(&B, o, BT_ORCH);
	bf_as(&B, s, BT_SUMM);
	bf_open_root(&B, o, "dr-alice", PATIENT, "TREAT", ROOT_SCOPES, &root);
	bf_hand_on(o, s, MDT_OP_DISPATCH, &root, SUB_SCOPES, sub);
}

START_TEST(after_the_fact)
{
	const char *bin = getenv("MDT_BINARY_DIR");
	struct bt_conn o, s;
	struct bt_task sub;
	char old[80];
	json_t *before;
	uint64_t allow, deny, stepup;
	int64_t mid;

	snprintf(ctl, sizeof(ctl), "%s/broker/mandatectl", bin ? bin : ".");
	setup(&o, &s, &sub);
	before = access_agrees(&s, &sub);
	CHECK(find("access", BT_SUMM, MDT_STORE_ALLOW) != 0, "access recorded");
	/* two more refusals of the same agent: repeated denials */
	for (int i = 0; i < 2; i++)
		CHECK(strcmp(authorized(&s, &sub, "r", "Condition"), "deny") ==
		    0, "deny %d", i);
	allow = find("authorize", "Observation?patient=" PATIENT,
	    MDT_STORE_ALLOW);
	deny = find("authorize", "Condition/x-1", MDT_STORE_DENY);
	stepup = find("authorize", "DocumentReference/x-1", MDT_STORE_STEP_UP);
	explain_before(allow, deny);
	mid = mdt_store_now_ms();
	sleep(1);
	latest_policies(old, sizeof(old));
	change_policies(old);
	explain_after(allow, deny);
	access_at(before, sub.id, mid);
	json_decref(before);
	bt_close(&o);
	bt_close(&s);
	review(stepup, deny);
	bt_cleanup(&B);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("audit_explain");
	TCase *tc = tcase_create("explain");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, after_the_fact);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
