/*
 * Delegation cycles end to end, against a real mandated: whether an agent
 * may reappear on its own chain is the policy set's decision, and the
 * broker's depth bound holds whatever the policies say.
 *
 * The registry lets the summarizer go three levels deep and delegate to
 * the coder and to itself, and the coder delegate back to the summarizer,
 * so every cycle below reaches Cedar instead of stopping at a registry
 * limit.  The default set refuses those cycles (reason "cycle", policy
 * no-delegation-cycles); a copy of it that exempts coder -> summarizer
 * allows exactly that one, and the hop after it is still refused for
 * depth.  The audit store shows the repeated agent on the recorded chain,
 * and probe permits show which chain Cedar was given.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/store.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

#define SCOPE "patient/Condition.rs" /* what every hop hands on */

#define REF(id) "{\"__entity\":{\"type\":\"Mandate::Agent\",\"id\":\"" id "\"}}"

static const char *extra =
    "[{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":\"" BT_SUMM "\"},"
    "\"attrs\":{\"kind\":\"summarizer\",\"ceiling\":[\"patient/*.rs\"],"
    "\"allowedTargets\":[" REF(BT_CODER) "," REF(BT_SUMM) "],"
    "\"maxDepth\":3,\"maxFanout\":4,\"tools\":[],\"publicKey\":\"\"},"
    "\"parents\":[]},"
    "{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":\"" BT_CODER "\"},"
    "\"attrs\":{\"kind\":\"coding\",\"ceiling\":[\"patient/Condition.rs\","
    "\"patient/Procedure.rs\"],\"allowedTargets\":[" REF(BT_SUMM) "],"
    "\"maxDepth\":2,\"maxFanout\":2,\"tools\":[],\"publicKey\":\"\"},"
    "\"parents\":[]}]";

#define CHAIN3 "[Mandate::Agent::\"" BT_ORCH "\", Mandate::Agent::\"" \
    BT_SUMM "\", Mandate::Agent::\"" BT_CODER "\"]"

/* The default no-delegation-cycles with one exception, and probes whose
 * ids land among an allow's determining policies when Cedar saw the
 * target on the chain, and exactly {orchestrator, summarizer, coder}. */
static const char *permissive =
    "@id(\"no-delegation-cycles\")\n"
    "forbid (principal, action in Mandate::Action::\"delegation\", "
    "resource)\n"
    "when { context.agentChain.contains(resource) }\n"
    "unless {\n"
    "  principal == Mandate::Agent::\"" BT_CODER "\" &&\n"
    "  resource == Mandate::Agent::\"" BT_SUMM "\"\n"
    "};\n\n"
    "@id(\"probe-target-on-chain\")\n"
    "permit (principal, action in Mandate::Action::\"delegation\", "
    "resource)\n"
    "when { context.agentChain.contains(resource) };\n\n"
    "@id(\"probe-chain-exact\")\n"
    "permit (principal, action, resource)\n"
    "when { context.agentChain == " CHAIN3 " };\n";

static void
setup_default(void)
{
	ck_assert_int_eq(bt_setup(&B, extra), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker did not start (log %s)",
	    B.log);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void
spit(const char *path, const char *a, size_t alen, const char *b)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(a, 1, alen, f), alen);
	ck_assert_int_ge(fputs(b, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* A copy of policies/ with no-delegation-cycles cut out of
 * 30-delegation.cedar and replaced by the permissive version. */
static void
setup_permissive(void)
{
	static char pol[300];
	const char *args[] = { "--policy-dir", pol, NULL };
	char path[600];
	char *text, *at, *end;

	ck_assert_int_eq(bt_setup(&B, extra), 0);
	bf_policy_copy(&B, "pol-cycles", pol, sizeof(pol));
	snprintf(path, sizeof(path), "%s/30-delegation.cedar", pol);
	text = slurp(path);
	at = strstr(text, "@id(\"no-delegation-cycles\")");
	ck_assert_ptr_nonnull(at);
	end = strstr(at, "};");
	ck_assert_ptr_nonnull(end);
	spit(path, text, (size_t)(at - text), end + 2);
	free(text);
	snprintf(path, sizeof(path), "%s/35-cycles.cedar", pol);
	spit(path, "", 0, permissive);
	ck_assert_msg(bt_start(&B, args) == 0, "broker did not start (log %s)",
	    B.log);
}

static void
teardown(void)
{
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

/* orchestrator -> summarizer -> coder, each holding its task. */
static void
chain3(struct bt_conn *o, struct bt_conn *s, struct bt_conn *k,
    struct bt_task *root, struct bt_task *sub, struct bt_task *leaf)
{
	bf_as(&B, o, BT_ORCH);
	bf_as(&B, s, BT_SUMM);
	bf_as(&B, k, BT_CODER);
	bf_open_root(&B, o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    root);
	bf_hand_on(o, s, MDT_OP_DISPATCH, root, SCOPE, sub);
	bf_hand_on(s, k, MDT_OP_DELEGATE, sub, SCOPE, leaf);
}

static const char *
err_str(const mdt_wire_msg *m, const char *key)
{
	const char *v = "";
	size_t n;

	if (mdt_wire_val_str(mdt_wire_map_get(mdt_wire_map_get(
	    mdt_wire_msg_root(m), "error"), key), &v, &n) != 0)
		return "";
	return v;
}

/* The reply's error.policies joined with commas ("" when absent). */
static void
err_policies(const mdt_wire_msg *m, char *out, size_t len)
{
	const mdt_wire_val *a = mdt_wire_map_get(mdt_wire_map_get(
	    mdt_wire_msg_root(m), "error"), "policies");
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < mdt_wire_val_count(a) && o < len; i++) {
		const char *p = NULL;
		size_t n;
		ck_assert_int_eq(mdt_wire_val_str(mdt_wire_array_at(a, i), &p,
		    &n), 0);
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "",
		    p);
	}
}

/* A refusal with this reason, code and policy list. */
static void
expect(mdt_wire_msg *m, const char *reason, const char *code,
    const char *policies)
{
	char pol[512];

	ck_assert_ptr_nonnull(m);
	ck_assert_msg(strcmp(bt_reason(m), reason) == 0,
	    "expected reason '%s', got '%s' (%s)", reason, bt_reason(m),
	    err_str(m, "detail"));
	ck_assert_str_eq(err_str(m, "code"), code);
	err_policies(m, pol, sizeof(pol));
	ck_assert_str_eq(pol, policies);
	mdt_wire_msg_free(m);
}

/* ------------------------------------------------------- audit reading */

struct found {
	const char *op, *agent, *task;
	mdt_store_verdict verdict;
	int hits;
	char reasons[1024], policies[1024], chain[1024];
};

static int
match(void *arg, const mdt_store_decision *r)
{
	struct found *f = arg;

	if (r->operation == NULL || strcmp(r->operation, f->op) != 0 ||
	    r->agent == NULL || strcmp(r->agent, f->agent) != 0 ||
	    r->task_id == NULL || strcmp(r->task_id, f->task) != 0 ||
	    r->verdict != f->verdict)
		return 0;
	f->hits++;
	snprintf(f->reasons, sizeof(f->reasons), "%s",
	    r->reasons ? r->reasons : "");
	snprintf(f->policies, sizeof(f->policies), "%s",
	    r->policy_ids ? r->policy_ids : "");
	snprintf(f->chain, sizeof(f->chain), "%s",
	    r->agent_chain ? r->agent_chain : "");
	return 0;
}

/* The one audit record of op by agent on task with this verdict.  The
 * broker committed it before replying, so a reader sees it now. */
static void
audited(struct found *f)
{
	mdt_store_opts ro = { .read_only = 1 };
	mdt_store *st = NULL;
	char err[MDT_ERRMSG_MAX];

	ck_assert_msg(mdt_store_open(B.store, &ro, &st, err, sizeof(err)) == 0,
	    "store: %s", err);
	ck_assert_int_eq(mdt_store_list_decisions(st, 0, 0, match, f), 0);
	mdt_store_close(st);
	ck_assert_msg(f->hits == 1, "%d %s records of %s by %s on %s",
	    f->hits, mdt_store_verdict_name(f->verdict), f->op, f->agent,
	    f->task);
}

#define Q(id) "\"" id "\""

/* ---------------------------------------------------- default policies */

START_TEST(cycle_refused_by_default_policy)
{
	struct bt_conn o, s, k;
	struct bt_task root, sub, leaf;
	struct found f = { .op = "delegate", .agent = BT_CODER,
	    .verdict = MDT_STORE_DENY };
	mdt_wire_msg *m;

	chain3(&o, &s, &k, &root, &sub, &leaf);
	/* back to the summarizer: inside every registry limit, so only the
	 * policy stands in the way */
	m = bt_delegate(&k, MDT_OP_DELEGATE, leaf.id, leaf.tok, leaf.tlen,
	    BT_SUMM, SCOPE);
	ck_assert_ptr_nonnull(strstr(err_str(m, "detail"),
	    BT_SUMM " is already on the task's agent chain"));
	expect(m, "cycle", "ECYCLE", "no-delegation-cycles");
	/* the audit record names the condition and the policy, and the
	 * chain the decision was made on */
	f.task = leaf.id;
	audited(&f);
	ck_assert_ptr_nonnull(strstr(f.reasons,
	    "\"failed\":\"cycle\",\"code\":\"ECYCLE\""));
	ck_assert_str_eq(f.policies, "[\"no-delegation-cycles\"]");
	ck_assert_str_eq(f.chain, "[" Q(BT_ORCH) "," Q(BT_SUMM) ","
	    Q(BT_CODER) "]");
	/* the principal itself is on the chain: self-delegation */
	expect(bt_delegate(&s, MDT_OP_DELEGATE, sub.id, sub.tok, sub.tlen,
	    BT_SUMM, SCOPE), "cycle", "ECYCLE",
	    "no-delegation-cycles");
	/* the refused hops queued no work for the summarizer */
	m = bt_next(&s, 200);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	ck_assert_int_eq(mdt_wire_val_type(mdt_wire_map_get(
	    mdt_wire_msg_root(m), "item")), MDT_WIRE_NIL);
	mdt_wire_msg_free(m);
	bt_close(&o);
	bt_close(&s);
	bt_close(&k);
}
END_TEST

/* ------------------------------------------------- a permissive policy */

START_TEST(cycle_allowed_by_policy_depth_still_bounds)
{
	struct bt_conn o, s, k;
	struct bt_task root, sub, leaf, again;
	struct found fd = { .op = "delegate", .agent = BT_CODER,
	    .verdict = MDT_STORE_ALLOW };
	struct found fa = { .op = "authorize", .agent = BT_SUMM,
	    .verdict = MDT_STORE_ALLOW };
	const char *repeat = "[" Q(BT_ORCH) "," Q(BT_SUMM) "," Q(BT_CODER)
	    "," Q(BT_SUMM) "]";
	mdt_wire_msg *m;

	chain3(&o, &s, &k, &root, &sub, &leaf);
	/* the coder consults the summarizer a second time */
	bf_hand_on(&k, &s, MDT_OP_DELEGATE, &leaf, SCOPE, &again);
	ck_assert_str_ne(again.id, sub.id);
	fd.task = again.id;
	audited(&fd);
	ck_assert_str_eq(fd.chain, repeat);
	/* Cedar was given the chain before the hop, the target on it */
	ck_assert_ptr_nonnull(strstr(fd.policies, "\"probe-target-on-chain\""));
	ck_assert_ptr_nonnull(strstr(fd.policies, "\"probe-chain-exact\""));
	ck_assert_ptr_nonnull(strstr(fd.policies, "\"delegate-task\""));
	/* the summarizer works in its second task; the token's chain, with
	 * the summarizer twice, is what the decision is recorded with and
	 * (as a set) what Cedar evaluates */
	m = bt_authorize(&s, again.id, again.tok, again.tlen, "r",
	    "Condition/c-1", "pat-001", NULL, NULL, 0);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "authorize refused: %s",
	    bt_reason(m));
	mdt_wire_msg_free(m);
	fa.task = again.id;
	audited(&fa);
	ck_assert_str_eq(fa.chain, repeat);
	ck_assert_ptr_nonnull(strstr(fa.policies, "\"probe-chain-exact\""));
	/* one hop further is past the depth bound, which no policy lifts:
	 * back to the coder, and to itself */
	expect(bt_delegate(&s, MDT_OP_DELEGATE, again.id, again.tok,
	    again.tlen, BT_CODER, SCOPE), "depth", "EDEPTH",
	    "");
	expect(bt_delegate(&s, MDT_OP_DELEGATE, again.id, again.tok,
	    again.tlen, BT_SUMM, SCOPE), "depth", "EDEPTH",
	    "");
	/* the exception is narrow: other cycles are still refused */
	expect(bt_delegate(&s, MDT_OP_DELEGATE, sub.id, sub.tok, sub.tlen,
	    BT_SUMM, SCOPE), "cycle", "ECYCLE",
	    "no-delegation-cycles");
	bt_close(&o);
	bt_close(&s);
	bt_close(&k);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_cycles");
	TCase *tc = tcase_create("default_policies");

	tcase_add_checked_fixture(tc, setup_default, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cycle_refused_by_default_policy);
	suite_add_tcase(s, tc);
	tc = tcase_create("permissive_policies");
	tcase_add_checked_fixture(tc, setup_permissive, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cycle_allowed_by_policy_depth_still_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
