/*
 * mandated end to end: a real broker process on a temporary ipc path,
 * driven by real nng clients.  Tasks, delegation limits, the three scope
 * layers, revocation and step-up.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include <mandate/token.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

/* coder may delegate to "deep", whose maxDepth stops a third hop, and
 * back to the summarizer (a cycle, below that summarizer's maxDepth). */
static const char *extra =
    "[{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":"
    "\"spiffe://clinic.example/agent/coder\"},\"attrs\":{\"kind\":\"coding\","
    "\"ceiling\":[\"patient/Condition.rs\",\"patient/Procedure.rs\","
    "\"patient/Encounter.rs\",\"tool/codes.x\"],\"allowedTargets\":[{"
    "\"__entity\":{\"type\":\"Mandate::Agent\",\"id\":"
    "\"spiffe://clinic.example/agent/deep\"}},{\"__entity\":{\"type\":"
    "\"Mandate::Agent\",\"id\":"
    "\"spiffe://clinic.example/agent/summarizer\"}}],\"maxDepth\":2,"
    "\"maxFanout\":2,\"tools\":[],\"publicKey\":\"\"},\"parents\":[]},"
    "{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":"
    "\"spiffe://clinic.example/agent/deep\"},\"attrs\":{\"kind\":\"coding\","
    "\"ceiling\":[\"patient/Condition.rs\"],\"allowedTargets\":[],"
    "\"maxDepth\":2,\"maxFanout\":0,\"tools\":[],\"publicKey\":\"\"},"
    "\"parents\":[]}]";

#define DEEP "spiffe://clinic.example/agent/deep"
#define PAYER "spiffe://clinic.example/payer-exchange"

static void
setup(void)
{
	const char *args[] = { "--set", "stepup_timeout_ms=2500", "--set",
	    "audiences=" PAYER "=export", NULL };

	ck_assert_int_eq(bt_setup(&B, extra), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker did not start (log %s)",
	    B.log);
}

static void
teardown(void)
{
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

static void
as(struct bt_conn *c, const char *agent)
{
	bf_as(&B, c, agent);
}

static void
open_root(struct bt_conn *c, const char *clinician, const char *patient,
    const char *purpose, const char *scopes, struct bt_task *t)
{
	bf_open_root(&B, c, clinician, patient, purpose, scopes, t);
}

static void
hand_on(struct bt_conn *from, struct bt_conn *to, mdt_wire_op op,
    const struct bt_task *parent, const char *scopes, struct bt_task *t)
{
	bf_hand_on(from, to, op, parent, scopes, t);
}

static void
expect(mdt_wire_msg *m, const char *reason)
{
	bf_expect(m, reason);
}

/* What a client names as the patient: the task's (pat-001), for an
 * instance read or a tool; a search names its patient itself. */
static const char *
claim(const char *resource)
{
	return strchr(resource, '?') == NULL && strchr(resource, '/') != NULL ?
	    "pat-001" : NULL;
}

static void
allowed(struct bt_conn *c, const struct bt_task *t, const char *action,
    const char *resource)
{
	mdt_wire_msg *m = bt_authorize(c, t->id, t->tok, t->tlen, action,
	    resource, claim(resource), NULL, NULL, 0);
	size_t n = 0;

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s %s refused: %s", action,
	    resource, bt_reason(m));
	ck_assert_str_eq(bt_str(m, "decision"), "allow");
	ck_assert_ptr_nonnull(bt_bin(m, "token", &n));
	ck_assert_uint_gt(n, 0);
	mdt_wire_msg_free(m);
}

static void
refused(struct bt_conn *c, const struct bt_task *t, const char *action,
    const char *resource, const char *reason)
{
	expect(bt_authorize(c, t->id, t->tok, t->tlen, action, resource,
	    claim(resource), NULL, NULL, 0), reason);
}

/*
 * Cedar skips a policy whose condition errors.  A forbid that errors must
 * not silently stop guarding: the broker denies any answer with errors.
 */
static void
setup_erroring_forbid(void)
{
	static char pol[300];
	const char *args[] = { "--policy-dir", pol, NULL };
	char cmd[1024];
	FILE *f;

	ck_assert_int_eq(bt_setup(&B, extra), 0);
	bf_policy_copy(&B, "pol-err", pol, sizeof(pol));
	snprintf(cmd, sizeof(cmd), "%s/zz-erroring.cedar", pol);
	ck_assert_ptr_nonnull(f = fopen(cmd, "w"));
	fputs("@id(\"erroring-forbid\")\n"
	    "forbid(principal, action == Mandate::Action::\"read\", resource)\n"
	    "when { resource.noSuchAttribute == \"x\" };\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker did not start (log %s)",
	    B.log);
}

START_TEST(erroring_forbid_denies)
{
	struct bt_conn o, s;
	struct bt_task root, sub;

	as(&o, BT_ORCH);
	as(&s, BT_SUMM);
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/*.rs", &root);
	hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/Observation.rs",
	    &sub);
	/* search is not guarded by the erroring forbid: still allowed */
	allowed(&s, &sub, "s", "Observation?patient=pat-001");
	refused(&s, &sub, "r", "Observation/obs-001-1", "policy.error");
	bt_close(&o);
	bt_close(&s);
}
END_TEST

START_TEST(open_dispatch_delegate_authorize_complete)
{
	struct bt_conn o, s, k;
	struct bt_task root, sub, leaf;
	mdt_wire_msg *m;

	as(&o, BT_ORCH);
	as(&s, BT_SUMM);
	as(&k, BT_CODER);
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/*.rs", &root);
	hand_on(&o, &s, MDT_OP_DISPATCH, &root,
	    "patient/Observation.rs patient/Condition.rs", &sub);
	allowed(&s, &sub, "r", "Observation/obs-001-1");
	hand_on(&s, &k, MDT_OP_DELEGATE, &sub, "patient/Condition.rs", &leaf);
	allowed(&k, &leaf, "r", "Condition/c-1");
	allowed(&k, &leaf, "s", "Condition?patient=pat-001&code=I10");
	refused(&k, &leaf, "r", "Observation/obs-001-1", "scope.token");
	/* the coder completes: its parent's holder gets the result */
	m = bt_end(&k, MDT_OP_COMPLETE, leaf.id, leaf.tok, leaf.tlen);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	mdt_wire_msg_free(m);
	m = bt_next(&s, 3000);
	ck_assert_str_eq(bt_str(m, "decision"), "");
	{
		const mdt_wire_val *it = mdt_wire_map_get(mdt_wire_msg_root(m),
		    "item");
		const char *st = NULL;
		size_t n;
		ck_assert_int_eq(mdt_wire_val_str(mdt_wire_map_get(it, "status"),
		    &st, &n), 0);
		ck_assert_str_eq(st, "completed");
	}
	mdt_wire_msg_free(m);
	refused(&k, &leaf, "r", "Condition/c-1", "task.ended");
	m = bt_end(&o, MDT_OP_COMPLETE, root.id, root.tok, root.tlen);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	/* root and the open subtask, not the leaf already ended */
	ck_assert_uint_eq(mdt_wire_val_count(mdt_wire_map_get(
	    mdt_wire_msg_root(m), "revoked")), 2);
	mdt_wire_msg_free(m);
	refused(&s, &sub, "r", "Observation/obs-001-1", "revoked");
	bt_close(&o);
	bt_close(&s);
	bt_close(&k);
}
END_TEST

/* The single-action token of an allow, decoded (caller frees). */
static mdt_token *
allow_token(struct bt_conn *c, const struct bt_task *t, const char *action,
    const char *resource)
{
	mdt_wire_msg *m = bt_authorize(c, t->id, t->tok, t->tlen, action,
	    resource, claim(resource), NULL, NULL, 0);
	const uint8_t *b;
	size_t n = 0;
	mdt_token *tok = NULL;

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "refused: %s", bt_reason(m));
	b = bt_bin(m, "token", &n);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(mdt_token_decode(b, n, &tok, NULL), 0);
	mdt_wire_msg_free(m);
	return tok;
}

/* The same request twice in a row (within a second): two distinct
 * tokens, so a resource server accepting each token once takes both. */
START_TEST(repeated_authorize_distinct_tokens)
{
	struct bt_conn o, s;
	struct bt_task root, sub;
	mdt_token *a, *b;
	mdt_token_block_view va, vb;
	uint8_t ida[MDT_TOKEN_ID_BYTES], idb[MDT_TOKEN_ID_BYTES];

	as(&o, BT_ORCH);
	as(&s, BT_SUMM);
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/*.rs", &root);
	hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/Observation.rs",
	    &sub);
	a = allow_token(&s, &sub, "r", "Observation/obs-001-1");
	b = allow_token(&s, &sub, "r", "Observation/obs-001-1");
	mdt_token_id(a, ida);
	mdt_token_id(b, idb);
	ck_assert(memcmp(ida, idb, sizeof(ida)) != 0);
	ck_assert_int_eq(mdt_token_block(a, mdt_token_block_count(a) - 1, &va),
	    0);
	ck_assert_int_eq(mdt_token_block(b, mdt_token_block_count(b) - 1, &vb),
	    0);
	ck_assert(va.sealed && vb.sealed);
	ck_assert_ptr_nonnull(va.nonce);
	ck_assert_ptr_nonnull(vb.nonce);
	ck_assert(memcmp(va.nonce, vb.nonce, MDT_TOKEN_NONCE_BYTES) != 0);
	mdt_token_free(a);
	mdt_token_free(b);
	bt_close(&o);
	bt_close(&s);
}
END_TEST

START_TEST(widening_refused_at_every_hop)
{
	struct bt_conn o, s, k;
	struct bt_task root, sub;

	as(&o, BT_ORCH);
	as(&s, BT_SUMM);
	as(&k, BT_CODER);
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/Observation.rs "
	    "patient/Condition.rs", &root);
	/* the orchestrator asks for more than its root token holds */
	expect(bt_delegate(&o, MDT_OP_DISPATCH, root.id, root.tok, root.tlen,
	    BT_SUMM, "patient/*.rs"), "scope.widen");
	hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/Condition.rs", &sub);
	/* the summarizer asks for more than its subtask holds */
	expect(bt_delegate(&s, MDT_OP_DELEGATE, sub.id, sub.tok, sub.tlen,
	    BT_CODER, "patient/Condition.rs patient/Observation.rs"),
	    "scope.widen");
	expect(bt_delegate(&s, MDT_OP_DELEGATE, sub.id, sub.tok, sub.tlen,
	    BT_CODER, "patient/Condition.cruds"), "scope.widen");
	/* and an action outside its own token */
	refused(&s, &sub, "r", "Observation/obs-001-1", "scope.token");
	bt_close(&o);
	bt_close(&s);
	bt_close(&k);
}
END_TEST

START_TEST(targets_depth_cycles)
{
	struct bt_conn o, s, k, d;
	struct bt_task root, sub, leaf;

	as(&o, BT_ORCH);
	as(&s, BT_SUMM);
	as(&k, BT_CODER);
	as(&d, DEEP);
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/*.rs", &root);
	/* the orchestrator may not hand work to the coder directly */
	expect(bt_delegate(&o, MDT_OP_DISPATCH, root.id, root.tok, root.tlen,
	    BT_CODER, "patient/Condition.rs"), "target.not_allowed");
	hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/Condition.rs", &sub);
	/* nor the summarizer to prior-auth */
	expect(bt_delegate(&s, MDT_OP_DELEGATE, sub.id, sub.tok, sub.tlen,
	    BT_PRIOR, "patient/Condition.rs"), "target.not_allowed");
	hand_on(&s, &k, MDT_OP_DELEGATE, &sub, "patient/Condition.rs", &leaf);
	/* a third hop would put deep below its maxDepth */
	expect(bt_delegate(&k, MDT_OP_DELEGATE, leaf.id, leaf.tok, leaf.tlen,
	    DEEP, "patient/Condition.rs"), "depth");
	/* handing work back up the chain would also be a cycle, but the
	 * summarizer's maxDepth (1) refuses it first: the broker's depth
	 * bound comes before the policy (cycles: test_broker_cycles.c) */
	expect(bt_delegate(&k, MDT_OP_DELEGATE, leaf.id, leaf.tok, leaf.tlen,
	    BT_SUMM, "patient/Condition.rs"), "depth");
	/* a token presented by someone else than its holder */
	expect(bt_delegate(&d, MDT_OP_DELEGATE, leaf.id, leaf.tok, leaf.tlen,
	    DEEP, "patient/Condition.rs"), "token.holder");
	bt_close(&o);
	bt_close(&s);
	bt_close(&k);
	bt_close(&d);
}
END_TEST

START_TEST(fanout_limit)
{
	struct bt_conn o, s, k;
	struct bt_task root, sub, l1, l2;

	as(&o, BT_ORCH);
	as(&s, BT_SUMM);
	as(&k, BT_CODER);
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/*.rs", &root);
	hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/*.rs", &sub);
	for (int i = 0; i < 4; i++) { /* summarizer maxFanout = 4 */
		hand_on(&s, &k, MDT_OP_DELEGATE, &sub, "patient/Condition.rs",
		    i % 2 ? &l1 : &l2);
	}
	expect(bt_delegate(&s, MDT_OP_DELEGATE, sub.id, sub.tok, sub.tlen,
	    BT_CODER, "patient/Condition.rs"), "fanout");
	bt_close(&o);
	bt_close(&s);
	bt_close(&k);
}
END_TEST

START_TEST(cross_patient_and_narrowed_clinician)
{
	struct bt_conn o, s;
	struct bt_task root, sub, other;
	mdt_wire_writer *w;
	mdt_wire_msg *m;

	as(&o, BT_ORCH);
	as(&s, BT_SUMM);
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/*.rs", &root);
	hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/*.rs", &sub);
	allowed(&s, &sub, "r", "Condition/c-1");
	/* another patient's resource */
	w = bt_req(&s, MDT_OP_AUTHORIZE);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", sub.id) ||
	    mdt_wire_put_bin(w, "token", sub.tok, sub.tlen) ||
	    mdt_wire_put_cstr(w, "action", "r") ||
	    mdt_wire_put_cstr(w, "resource", "Condition/c-9") ||
	    mdt_wire_put_cstr(w, "patient", "pat-002"), 0);
	ck_assert_int_eq(bt_call(&s, w, &m), 0);
	expect(m, "patient");
	/* research is never a purpose: the forbid is named */
	{
		char *jwt = bt_assertion(&B, "dr-alice", "pat-001",
		    "patient/*.rs", 0);
		const mdt_wire_val *e;
		const char *pol = NULL;
		size_t n;
		m = bt_open(&o, jwt, "pat-001", "HRESCH", "patient/*.rs");
		ck_assert_str_eq(bt_reason(m), "policy.deny");
		e = mdt_wire_map_get(mdt_wire_msg_root(m), "error");
		ck_assert_int_eq(mdt_wire_val_str(mdt_wire_array_at(
		    mdt_wire_map_get(e, "policies"), 0), &pol, &n), 0);
		ck_assert_str_eq(pol, "forbid-research-marketing");
		mdt_wire_msg_free(m);
		free(jwt);
	}
	/* an open for a patient the assertion is not about */
	{
		char *jwt = bt_assertion(&B, "dr-alice", "pat-001",
		    "patient/*.rs", 0);
		expect(bt_open(&o, jwt, "pat-002", "TREAT", "patient/*.rs"),
		    "patient");
		free(jwt);
	}
	/* dr-alice's grant narrows (a newer assertion): the running task
	 * is held to it at once */
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/Observation.rs",
	    &other);
	refused(&s, &sub, "r", "Condition/c-1", "scope.clinician");
	allowed(&s, &sub, "r", "Observation/obs-001-1");
	bt_close(&o);
	bt_close(&s);
}
END_TEST

/* priorauth holds a task that may use the export tool (held for step-up). */
static void
export_task(struct bt_conn *o, struct bt_conn *p, struct bt_task *sub)
{
	struct bt_task root;

	as(o, BT_ORCH);
	as(p, BT_PRIOR);
	open_root(o, "dr-alice", "pat-001", "TREAT",
	    "patient/*.rs tool/export.x", &root);
	hand_on(o, p, MDT_OP_DISPATCH, &root, "patient/Claim.rs tool/export.x",
	    sub);
}

/* The clinician's decision: a fresh assertion naming the step-up. */
static mdt_wire_msg *
decide_with(struct bt_conn *c, mdt_wire_op op, const char *id,
    const char *jwt)
{
	mdt_wire_writer *w = bt_req(c, op);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "stepup", id) ||
	    mdt_wire_put_cstr(w, "assertion", jwt), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

static mdt_wire_msg *
decide(struct bt_conn *c, mdt_wire_op op, const char *id,
    const char *clinician)
{
	char *jwt = bt_assertion_act(&B, clinician, "pat-001",
	    "patient/*.rs tool/export.x", 0, id, NULL);
	mdt_wire_writer *w = bt_req(c, op);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "stepup", id) ||
	    mdt_wire_put_cstr(w, "assertion", jwt), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	free(jwt);
	return m;
}

static mdt_wire_msg *
authorize_to(struct bt_conn *c, const struct bt_task *t, const char *res,
    const char *audience, const char *boundary)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_AUTHORIZE);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", t->id) ||
	    mdt_wire_put_bin(w, "token", t->tok, t->tlen) ||
	    mdt_wire_put_cstr(w, "action", "r") ||
	    mdt_wire_put_cstr(w, "resource", res) ||
	    mdt_wire_put_cstr(w, "audience", audience) ||
	    (boundary != NULL && mdt_wire_put_cstr(w, "boundary", boundary)),
	    0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

/* Where a token may go, and the boundary that crosses, are the broker's
 * facts: an unknown audience is refused, and sending to an export
 * audience is an export whatever the request declares. */
START_TEST(audience_decides_the_boundary)
{
	struct bt_conn o, s;
	struct bt_task root, sub;

	as(&o, BT_ORCH);
	as(&s, BT_SUMM);
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/*.rs", &root);
	hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/Patient.rs", &sub);
	expect(authorize_to(&s, &sub, "Patient/pat-001",
	    "spiffe://elsewhere.example/exfil", NULL), "audience.unknown");
	expect(authorize_to(&s, &sub, "Patient/pat-001", PAYER, NULL),
	    "step_up.required");
	expect(authorize_to(&s, &sub, "Patient/pat-001", PAYER, "none"),
	    "step_up.required");
	expect(authorize_to(&s, &sub, "Patient/pat-001", PAYER, "writeback"),
	    "field");
	bt_close(&o);
	bt_close(&s);
}
END_TEST

START_TEST(step_up_approved_once)
{
	struct bt_conn o, p;
	struct bt_task sub;
	mdt_wire_msg *m;
	char id[64];

	export_task(&o, &p, &sub);
	m = bt_authorize(&p, sub.id, sub.tok, sub.tlen, "x", "tool/export", NULL,
	    NULL, NULL, 0);
	ck_assert_str_eq(bt_str(m, "decision"), "step_up");
	snprintf(id, sizeof(id), "%s", bt_str(m, "stepup"));
	expect(m, "step_up.required");
	/* another clinician cannot approve it */
	expect(decide(&o, MDT_OP_APPROVE, id, "dr-bob"), "assertion");
	/* nor can software holding the clinician's launch assertion: it names
	 * no step-up; nor an act naming it but issued before it was asked */
	{
		char *launch = bt_assertion(&B, "dr-alice", "pat-001",
		    "patient/*.rs tool/export.x", 0);
		char *old = bt_assertion_act(&B, "dr-alice", "pat-001",
		    "patient/*.rs tool/export.x", -35, id, NULL);
		expect(decide_with(&o, MDT_OP_APPROVE, id, launch),
		    "approval.unbound");
		expect(decide_with(&o, MDT_OP_APPROVE, id, old),
		    "approval.stale");
		free(launch);
		free(old);
	}
	m = decide(&o, MDT_OP_APPROVE, id, "dr-alice");
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	ck_assert_str_eq(bt_str(m, "decision"), "approved");
	mdt_wire_msg_free(m);
	/* the approval unlocks exactly this request, not another one */
	expect(bt_authorize(&p, sub.id, sub.tok, sub.tlen, "x", "tool/export", NULL,
	    "export", id, 0), "step_up.mismatch");
	m = bt_authorize(&p, sub.id, sub.tok, sub.tlen, "x", "tool/export", NULL,
	    NULL, id, 0);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	mdt_wire_msg_free(m);
	/* and only once */
	expect(bt_authorize(&p, sub.id, sub.tok, sub.tlen, "x", "tool/export", NULL,
	    NULL, id, 0), "step_up.unknown");
	bt_close(&o);
	bt_close(&p);
}
END_TEST

struct waiter {
	struct bt_conn *c;
	struct bt_task *t;
	mdt_wire_msg *m;
};

static void *
wait_authorize(void *arg)
{
	struct waiter *w = arg;

	w->m = bt_authorize(w->c, w->t->id, w->t->tok, w->t->tlen, "x",
	    "tool/export", NULL, NULL, NULL, 5000);
	return NULL;
}

/* Parks an authorize, learns its id from the stepup event. */
static void
parked(struct bt_conn *o, struct bt_conn *p, struct bt_task *sub,
    pthread_t *th, struct waiter *w, char *id, size_t idlen)
{
	nng_socket sub_s;
	void *buf;
	size_t n;
	mdt_wire_msg *ev = NULL;

	ck_assert_int_eq(nng_sub0_open(&sub_s), 0);
	ck_assert_int_eq(nng_socket_set(sub_s, NNG_OPT_SUB_SUBSCRIBE,
	    "stepup", 7), 0);
	nng_socket_set_ms(sub_s, NNG_OPT_RECVTIMEO, 5000);
	ck_assert_int_eq(nng_dial(sub_s, B.pub, NULL, 0), 0);
	export_task(o, p, sub);
	w->c = p;
	w->t = sub;
	w->m = NULL;
	ck_assert_int_eq(pthread_create(th, NULL, wait_authorize, w), 0);
	ck_assert_int_eq(nng_recv(sub_s, &buf, &n, NNG_FLAG_ALLOC), 0);
	ck_assert_int_eq(mdt_wire_decode_event(buf, n, &ev, NULL, 0), 0);
	snprintf(id, idlen, "%s", bt_str(ev, "stepup"));
	mdt_wire_msg_free(ev);
	nng_free(buf, n);
	nng_close(sub_s);
}

START_TEST(step_up_parked_then_approved)
{
	struct bt_conn o, p;
	struct bt_task sub;
	struct waiter w;
	pthread_t th;
	char id[64];
	mdt_wire_msg *m;
	const mdt_wire_val *flags;

	parked(&o, &p, &sub, &th, &w, id, sizeof(id));
	m = decide(&o, MDT_OP_APPROVE, id, "dr-alice");
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	mdt_wire_msg_free(m);
	pthread_join(th, NULL);
	ck_assert_msg(mdt_wire_msg_ok(w.m) == 1, "%s", bt_reason(w.m));
	flags = mdt_wire_map_get(mdt_wire_msg_root(w.m), "flags");
	ck_assert_uint_eq(mdt_wire_val_count(flags), 1);
	mdt_wire_msg_free(w.m);
	bt_close(&o);
	bt_close(&p);
}
END_TEST

START_TEST(step_up_parked_then_rejected)
{
	struct bt_conn o, p;
	struct bt_task sub;
	struct waiter w;
	pthread_t th;
	char id[64];

	parked(&o, &p, &sub, &th, &w, id, sizeof(id));
	expect(decide(&o, MDT_OP_REJECT, id, "dr-alice"), "");
	pthread_join(th, NULL);
	expect(w.m, "step_up.rejected");
	/* a decided step-up cannot be decided again */
	expect(decide(&o, MDT_OP_APPROVE, id, "dr-alice"), "step_up.unknown");
	bt_close(&o);
	bt_close(&p);
}
END_TEST

START_TEST(step_up_times_out)
{
	struct bt_conn o, p;
	struct bt_task sub;
	struct waiter w;
	pthread_t th;
	char id[64];

	parked(&o, &p, &sub, &th, &w, id, sizeof(id));
	pthread_join(th, NULL); /* the broker's step-up timeout is 2.5 s */
	expect(w.m, "step_up.timeout");
	expect(decide(&o, MDT_OP_APPROVE, id, "dr-alice"), "step_up.unknown");
	bt_close(&o);
	bt_close(&p);
}
END_TEST

START_TEST(cancel_revokes_descendants)
{
	struct bt_conn o, s, k;
	struct bt_task root, sub, leaf;
	mdt_wire_msg *m;

	as(&o, BT_ORCH);
	as(&s, BT_SUMM);
	as(&k, BT_CODER);
	open_root(&o, "dr-alice", "pat-001", "TREAT", "patient/*.rs", &root);
	hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/*.rs", &sub);
	hand_on(&s, &k, MDT_OP_DELEGATE, &sub, "patient/Condition.rs", &leaf);
	m = bt_end(&s, MDT_OP_CANCEL, sub.id, sub.tok, sub.tlen);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	ck_assert_uint_eq(mdt_wire_val_count(mdt_wire_map_get(
	    mdt_wire_msg_root(m), "revoked")), 2);
	mdt_wire_msg_free(m);
	refused(&k, &leaf, "r", "Condition/c-1", "revoked");
	expect(bt_delegate(&k, MDT_OP_DELEGATE, leaf.id, leaf.tok, leaf.tlen,
	    DEEP, "patient/Condition.rs"), "revoked");
	expect(bt_end(&s, MDT_OP_CANCEL, sub.id, sub.tok, sub.tlen),
	    "task.ended");
	/* the root is untouched */
	allowed(&o, &root, "r", "Condition/c-1");
	bt_close(&o);
	bt_close(&s);
	bt_close(&k);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_flow");
	TCase *tc = tcase_create("flow");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, open_dispatch_delegate_authorize_complete);
	tcase_add_test(tc, repeated_authorize_distinct_tokens);
	tcase_add_test(tc, widening_refused_at_every_hop);
	tcase_add_test(tc, targets_depth_cycles);
	tcase_add_test(tc, fanout_limit);
	tcase_add_test(tc, cross_patient_and_narrowed_clinician);
	tcase_add_test(tc, audience_decides_the_boundary);
	tcase_add_test(tc, step_up_approved_once);
	tcase_add_test(tc, step_up_parked_then_approved);
	tcase_add_test(tc, step_up_parked_then_rejected);
	tcase_add_test(tc, step_up_times_out);
	tcase_add_test(tc, cancel_revokes_descendants);
	suite_add_tcase(s, tc);
	tc = tcase_create("policy_errors");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup_erroring_forbid, teardown);
	tcase_add_test(tc, erroring_forbid_denies);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
