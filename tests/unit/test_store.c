/* Audit store: every record kind written and read back, the checks made
 * inside the writer's transaction, idempotency, the task tree, reopen,
 * export and store errors. */
#include <time.h>

#include <jansson.h>

#include <mandate/mandate.h>

#include "alloc_int.h"
#include "store/store_int.h"
#include "store_fixture.h"
#include "testutil.h"

static fx F;

static void
setup(void)
{
	fx_init(&F);
	fx_open(&F);
}

static void
teardown(void)
{
	fx_cleanup(&F);
}

START_TEST(decision_roundtrip)
{
	mdt_store_decision *d = NULL;
	uint64_t seq;

	fx_root(&F, "t1");
	seq = fx_decision(&F, "agent#r1", "t1", MDT_STORE_DENY);
	ck_assert_int_eq(mdt_store_find_decision(F.s, "agent#r1", &d), 0);
	ck_assert_uint_eq(d->seq, seq);
	ck_assert_int_eq(d->verdict, MDT_STORE_DENY);
	ck_assert_str_eq(d->operation, "authorize");
	ck_assert_str_eq(d->reasons,
	    "{\"failed\":\"scope\",\"layer\":\"clinician\"}");
	ck_assert_str_eq(d->policy_ids, "[\"permit-care-team\"]");
	ck_assert_str_eq(d->resource, "Observation/obs-1");
	ck_assert_str_eq(d->patient, "pat-001");
	ck_assert_int_gt(d->time_ms, 0);
	mdt_free(d);
	ck_assert_int_eq(mdt_store_get_decision(F.s, seq, &d), 0);
	ck_assert_str_eq(d->request_id, "agent#r1");
	mdt_free(d);
	ck_assert_int_eq(mdt_store_find_decision(F.s, "agent#none", &d),
	    -MDT_ENOTFOUND);
	ck_assert_int_eq(mdt_store_get_decision(F.s, 9999, &d),
	    -MDT_ENOTFOUND);
}
END_TEST

START_TEST(idempotent_request_id)
{
	mdt_store_decision d = {.request_id = "a#1", .operation = "authorize",
	    .verdict = MDT_STORE_ALLOW}, *got;
	uint64_t s1, s2 = 0;
	char msg[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &s1), 0);
	d.verdict = MDT_STORE_DENY;
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &s2),
	    -MDT_EEXIST);
	ck_assert_uint_eq(s2, 0);
	ck_assert_ptr_nonnull(strstr(mdt_store_errmsg(F.s, msg, sizeof(msg)),
	    "already recorded"));
	ck_assert_int_eq(mdt_store_find_decision(F.s, "a#1", &got), 0);
	ck_assert_int_eq(got->verdict, MDT_STORE_ALLOW);
	ck_assert_uint_eq(got->seq, s1);
	mdt_free(got);
	/* No request id: never deduplicated. */
	d.request_id = NULL;
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &s1), 0);
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &s2), 0);
	ck_assert_uint_eq(s2, s1 + 1);
}
END_TEST

START_TEST(decision_input_checked)
{
	mdt_store_decision d = {.operation = "authorize",
	    .verdict = MDT_STORE_DENY, .reasons = "{\"failed\":"};
	char big[MDT_STORE_FIELD_MAX + 2];

	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, NULL),
	    -MDT_EPARSE);
	d.reasons = NULL;
	d.agent_chain = "[\"a\", 3]";
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, NULL),
	    -MDT_EPARSE);
	d.agent_chain = NULL;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	d.resource = big;
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, NULL),
	    -MDT_ETOOBIG);
	d.resource = "Observation/\xff";
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, NULL),
	    -MDT_EPARSE);
	d.resource = NULL;
	d.verdict = 9;
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, NULL),
	    -MDT_EINVAL);
	d.verdict = MDT_STORE_DENY;
	d.operation = NULL;
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, NULL),
	    -MDT_EINVAL);
}
END_TEST

START_TEST(task_roundtrip_and_checks)
{
	mdt_store_task *t;
	mdt_store_task bad = {.task_id = "c9", .parent_id = "t1",
	    .operation = "delegate", .depth = 1, .patient = "pat-OTHER",
	    .clinician = "dr-who", .purpose = "TREAT", .expires_ms = 1};
	uint32_t n;

	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), 0);
	ck_assert_int_eq(mdt_store_get_task(F.s, "c1", &t), 0);
	ck_assert_str_eq(t->root_id, "t1");
	ck_assert_str_eq(t->parent_id, "t1");
	ck_assert_str_eq(t->from_agent, "spiffe://clinic.example/orchestrator");
	ck_assert_str_eq(t->holder, "spiffe://clinic.example/labs");
	ck_assert_uint_eq(t->depth, 1);
	ck_assert_int_eq(t->state, MDT_TASK_OPEN);
	mdt_free(t);
	ck_assert_int_eq(mdt_store_get_task(F.s, "t1", &t), 0);
	ck_assert_str_eq(t->root_id, "t1");
	ck_assert_ptr_null(t->parent_id);
	mdt_free(t);
	/* Duplicates, unknown parents, wrong depth or patient. */
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), -MDT_EEXIST);
	ck_assert_int_eq(fx_child(&F, "c2", "nope", 1, 0), -MDT_ENOTFOUND);
	ck_assert_int_eq(fx_child(&F, "c2", "t1", 2, 0), -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_add_task(F.s, &bad, 0, NULL), -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_get_task(F.s, "c2", &t), -MDT_ENOTFOUND);
	/* Fan-out limit, checked in the writer's transaction. */
	ck_assert_int_eq(fx_child(&F, "c2", "t1", 1, 2), 0);
	ck_assert_int_eq(fx_child(&F, "c3", "t1", 1, 2), -MDT_EFANOUT);
	ck_assert_int_eq(mdt_store_count_children(F.s, "t1", &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(mdt_store_count_children(F.s, "c1", &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static int
count_cb(void *arg, const mdt_store_task *t)
{
	char *order = arg;

	strcat(order, t->task_id);
	strcat(order, " ");
	return 0;
}

START_TEST(children_in_creation_order)
{
	char order[128] = "";

	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "b", "t1", 1, 0), 0);
	ck_assert_int_eq(fx_child(&F, "a", "t1", 1, 0), 0);
	ck_assert_int_eq(fx_child(&F, "x", "a", 2, 0), 0);
	ck_assert_int_eq(mdt_store_task_children(F.s, "t1", count_cb, order),
	    0);
	ck_assert_str_eq(order, "b a ");
}
END_TEST

/* The revocation walk follows every hop of a deep chain up to its root,
 * and answers for a task id that is not there. */
START_TEST(chain_revoked_walks_deep_chain)
{
	char by[MDT_STORE_FIELD_MAX + 1] = "";
	char id[16], parent[16];
	int revoked = -1;

	fx_root(&F, "d0");
	for (int i = 1; i <= 6; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		snprintf(parent, sizeof(parent), "d%d", i - 1);
		ck_assert_int_eq(fx_child(&F, id, parent, i, 0), 0);
	}
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "d6", &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 0);
	ck_assert_str_eq(by, "");
	ck_assert_int_eq(mdt_store_end_task(F.s, "d3", MDT_TASK_CANCELLED,
	    "dr-who", NULL, 0, NULL), 0);
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "d6", &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 1);
	ck_assert_str_eq(by, "d6");
	revoked = -1;
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "d2", &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 0);
	revoked = -1;
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "d9", &revoked, by,
	    sizeof(by)), -MDT_ENOTFOUND);
	ck_assert_int_eq(revoked, -1);
}
END_TEST

/* The task read and the chain check at once agree with the two reads,
 * before and after an end, also when the handle read the task before. */
static void
check_matches(const char *id, int want_revoked, const char *want_by)
{
	char by[MDT_STORE_FIELD_MAX + 1] = "";
	mdt_store_task *t = NULL, *g = NULL;
	int revoked = -1;

	ck_assert_int_eq(mdt_store_task_check(F.s, id, &t, &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(mdt_store_get_task(F.s, id, &g), 0);
	ck_assert_str_eq(t->task_id, id);
	ck_assert_str_eq(t->root_id, g->root_id);
	ck_assert_str_eq(t->patient, g->patient);
	ck_assert_int_eq(t->state, g->state);
	ck_assert_int_eq(t->ended_ms, g->ended_ms);
	ck_assert_uint_eq(t->end_seq, g->end_seq);
	ck_assert_int_eq(revoked, want_revoked);
	if (want_by != NULL)
		ck_assert_str_eq(by, want_by);
	mdt_free(t);
	mdt_free(g);
}

START_TEST(task_check_reads_row_and_chain)
{
	mdt_store_task dummy, *t = &dummy;
	int revoked = -1;

	fx_root(&F, "k0");
	ck_assert_int_eq(fx_child(&F, "k1", "k0", 1, 0), 0);
	ck_assert_int_eq(fx_child(&F, "k2", "k1", 2, 0), 0);
	for (int i = 0; i < 2; i++) {
		check_matches("k2", 0, "");
		check_matches("k0", 0, "");
	}
	ck_assert_int_eq(mdt_store_end_task(F.s, "k1", MDT_TASK_CANCELLED,
	    "dr-who", NULL, 0, NULL), 0);
	check_matches("k2", 1, "k2");
	check_matches("k1", 1, "k1");
	check_matches("k0", 0, "");
	ck_assert_int_eq(mdt_store_end_task(F.s, "k0", MDT_TASK_COMPLETED,
	    "dr-who", NULL, 0, NULL), 0);
	check_matches("k0", 1, "k0");
	ck_assert_int_eq(mdt_store_task_check(F.s, "k9", &t, &revoked, NULL,
	    0), -MDT_ENOTFOUND);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(end_task_cascades)
{
	mdt_store_revocation *r = NULL;
	mdt_store_task *t;
	char by[MDT_STORE_FIELD_MAX + 1];
	int revoked = -1;

	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), 0);
	ck_assert_int_eq(fx_child(&F, "c2", "t1", 1, 0), 0);
	ck_assert_int_eq(fx_child(&F, "g1", "c1", 2, 0), 0);
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "g1", &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 0);
	/* Ending c1 ends g1 but not t1 or c2. */
	ck_assert_int_eq(mdt_store_end_task(F.s, "c1", MDT_TASK_CANCELLED,
	    "dr-who", "not needed", 0, &r), 0);
	ck_assert_uint_eq(r->count, 2);
	ck_assert_str_eq(r->task_ids[0], "c1");
	ck_assert_str_eq(r->task_ids[1], "g1");
	ck_assert_uint_gt(r->seq, 0);
	mdt_free(r);
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "g1", &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 1);
	ck_assert_str_eq(by, "g1");
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "c2", &revoked, NULL,
	    0), 0);
	ck_assert_int_eq(revoked, 0);
	ck_assert_int_eq(mdt_store_get_task(F.s, "c1", &t), 0);
	ck_assert_int_eq(t->state, MDT_TASK_CANCELLED);
	mdt_free(t);
	ck_assert_int_eq(mdt_store_get_task(F.s, "g1", &t), 0);
	ck_assert_int_eq(t->state, MDT_TASK_REVOKED);
	ck_assert_int_gt(t->ended_ms, 0);
	mdt_free(t);
	/* A revoked chain takes no new children; an ended task no end. */
	ck_assert_int_eq(fx_child(&F, "g2", "c1", 2, 0), -MDT_EREVOKED);
	ck_assert_int_eq(fx_child(&F, "gg", "g1", 3, 0), -MDT_EREVOKED);
	ck_assert_int_eq(mdt_store_end_task(F.s, "g1", MDT_TASK_COMPLETED,
	    "x", NULL, 0, NULL), -MDT_EREVOKED);
	/* Completing the root ends the rest (c2, not c1 or g1 again). */
	ck_assert_int_eq(mdt_store_end_task(F.s, "t1", MDT_TASK_COMPLETED,
	    "orchestrator", NULL, 0, &r), 0);
	ck_assert_uint_eq(r->count, 2);
	ck_assert_str_eq(r->task_ids[0], "t1");
	ck_assert_str_eq(r->task_ids[1], "c2");
	mdt_free(r);
	ck_assert_int_eq(mdt_store_end_task(F.s, "nope", MDT_TASK_COMPLETED,
	    "x", NULL, 0, NULL), -MDT_ENOTFOUND);
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "nope", &revoked, NULL,
	    0), -MDT_ENOTFOUND);
}
END_TEST

START_TEST(approvals)
{
	mdt_store_approval ap = {.approval_id = "ap-1", .request_id = "a#7",
	    .task_id = "t1", .agent = "spiffe://clinic.example/labs",
	    .clinician = "dr-who", .action = "export",
	    .resource = "Patient/pat-001", .expires_ms = 1000}, *got;
	uint64_t s1, s2;

	memset(ap.request_hash, 0xab, sizeof(ap.request_hash));
	ck_assert_int_eq(mdt_store_add_approval(F.s, &ap, &s1), 0);
	ck_assert_int_eq(mdt_store_add_approval(F.s, &ap, NULL), -MDT_EEXIST);
	ck_assert_int_eq(mdt_store_get_approval(F.s, "ap-1", &got), 0);
	ck_assert_int_eq(got->state, MDT_APPROVAL_PENDING);
	ck_assert_uint_eq(got->seq, s1);
	ck_assert_uint_eq(got->decision_seq, 0);
	ck_assert_ptr_null(got->decided_by);
	ck_assert_int_eq(got->request_hash[31], 0xab);
	ck_assert_str_eq(got->action, "export");
	mdt_free(got);
	ck_assert_int_eq(mdt_store_decide_approval(F.s, "ap-1",
	    MDT_APPROVAL_APPROVED, "dr-who", 0, 5000, "ok", &s2), 0);
	/* The first decision wins: a racing timeout is refused. */
	ck_assert_int_eq(mdt_store_decide_approval(F.s, "ap-1",
	    MDT_APPROVAL_EXPIRED, "broker", 0, 0, NULL, NULL), -MDT_EEXIST);
	ck_assert_int_eq(mdt_store_decide_approval(F.s, "ap-x",
	    MDT_APPROVAL_REJECTED, "dr-who", 0, 0, NULL, NULL),
	    -MDT_ENOTFOUND);
	ck_assert_int_eq(mdt_store_decide_approval(F.s, "ap-1",
	    MDT_APPROVAL_PENDING, "dr-who", 0, 0, NULL, NULL), -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_get_approval(F.s, "ap-1", &got), 0);
	ck_assert_int_eq(got->state, MDT_APPROVAL_APPROVED);
	ck_assert_str_eq(got->decided_by, "dr-who");
	ck_assert_str_eq(got->approval_id, "ap-1");
	ck_assert_str_eq(got->note, "ok");
	ck_assert_int_eq(got->valid_until_ms, 5000);
	ck_assert_uint_eq(got->decision_seq, s2);
	mdt_free(got);
}
END_TEST

typedef struct walk {
	char log[512];
} walk;

static int
tree_task(void *arg, const mdt_store_task *t)
{
	walk *w = arg;
	size_t o = strlen(w->log);

	snprintf(w->log + o, sizeof(w->log) - o, "T:%s ", t->task_id);
	return 0;
}

static int
tree_dec(void *arg, const mdt_store_decision *d)
{
	walk *w = arg;
	size_t o = strlen(w->log);

	snprintf(w->log + o, sizeof(w->log) - o, "D:%s ", d->request_id);
	return 0;
}

START_TEST(task_tree_walk_and_json)
{
	mdt_store_tree_visitor v = {tree_task, tree_dec};
	walk w = {""};
	json_error_t je;
	json_t *j, *kids;
	char *text;

	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), 0);
	ck_assert_int_eq(fx_child(&F, "c2", "t1", 1, 0), 0);
	ck_assert_int_eq(fx_child(&F, "g1", "c1", 2, 0), 0);
	fx_decision(&F, "r1", "c2", MDT_STORE_ALLOW);
	fx_decision(&F, "r2", "g1", MDT_STORE_DENY);
	fx_decision(&F, "r3", "t1", MDT_STORE_ALLOW);
	fx_decision(&F, "r4", "g1", MDT_STORE_ALLOW);
	fx_root(&F, "other");
	fx_decision(&F, "r5", "other", MDT_STORE_ALLOW);
	ck_assert_int_eq(mdt_store_task_tree(F.s, "t1", &v, &w), 0);
	ck_assert_str_eq(w.log, "T:t1 D:r3 T:c1 T:g1 D:r2 D:r4 T:c2 D:r1 ");
	ck_assert_int_eq(mdt_store_task_tree(F.s, "zz", &v, &w),
	    -MDT_ENOTFOUND);
	/* JSON from any task of the tree starts at its root. */
	ck_assert_int_eq(mdt_store_task_tree_json(F.s, "g1", &text), 0);
	j = json_loads(text, 0, &je);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "task_id")),
	    "t1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")),
	    "open");
	kids = json_object_get(j, "children");
	ck_assert_uint_eq(json_array_size(kids), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_array_get(kids, 0), "edge"), "to")),
	    "spiffe://clinic.example/labs");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(json_object_get(json_array_get(kids,
	    0), "children"), 0), "decisions"), 0), "verdict")), "deny");
	json_decref(j);
	mdt_free(text);
}
END_TEST

static int
list_cb(void *arg, const mdt_store_decision *d)
{
	uint64_t *last = arg;

	ck_assert_uint_gt(d->seq, *last);
	*last = d->seq;
	return 0;
}

START_TEST(reopen_keeps_chain)
{
	mdt_store_report rep;
	fx_issues is;
	uint64_t s1, s2, last = 0;

	fx_root(&F, "t1");
	s1 = fx_decision(&F, "r1", "t1", MDT_STORE_ALLOW);
	fx_close(&F);
	fx_open(&F);
	s2 = fx_decision(&F, "r2", "t1", MDT_STORE_DENY);
	ck_assert_uint_eq(s2, s1 + 1);
	ck_assert_int_eq(mdt_store_list_decisions(F.s, 0, 0, list_cb, &last),
	    0);
	ck_assert_uint_eq(last, s2);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(rep.records, 3);
	ck_assert_uint_eq(rep.last_checkpoint_seq, 3);
	ck_assert_uint_eq(rep.unsigned_records, 0);
	ck_assert_uint_eq(rep.checkpoints, 2); /* one per close */
	ck_assert_uint_eq(is.n, 0);
}
END_TEST

START_TEST(store_full_is_estore)
{
	char reasons[4200], msg[MDT_ERRMSG_MAX];
	mdt_store_decision d = {.operation = "authorize",
	    .verdict = MDT_STORE_ALLOW, .reasons = reasons};
	mdt_store_report rep;
	fx_issues is;
	uint64_t seq;
	int rc = 0, i;

	snprintf(reasons, sizeof(reasons), "\"%4000d\"", 7);
	fx_decision(&F, "before", NULL, MDT_STORE_ALLOW);
	ck_assert_int_eq(mdt__store_exec_writer(F.s,
	    "PRAGMA max_page_count = 1"), 0);
	for (i = 0; i < 100 && rc == 0; i++)
		rc = mdt_store_append_decision(F.s, &d, &seq);
	ck_assert_int_eq(rc, -MDT_ESTORE);
	ck_assert_ptr_nonnull(strstr(mdt_store_errmsg(F.s, msg, sizeof(msg)),
	    "full"));
	/* The failed record is absent and the chain continues intact. */
	ck_assert_int_eq(mdt__store_exec_writer(F.s,
	    "PRAGMA max_page_count = 1000000"), 0);
	seq = fx_decision(&F, "after", NULL, MDT_STORE_DENY);
	ck_assert_uint_eq(seq, (uint64_t)i + 1);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(rep.records, seq);
}
END_TEST

START_TEST(read_only_refuses_writes)
{
	mdt_store_opts o = {.read_only = 1};
	mdt_store *ro;
	mdt_store_decision *got;
	char err[MDT_ERRMSG_MAX];

	fx_decision(&F, "r1", NULL, MDT_STORE_ALLOW);
	ck_assert_int_eq(mdt_store_open(F.uri, &o, &ro, err, sizeof(err)), 0);
	ck_assert_int_eq(mdt_store_find_decision(ro, "r1", &got), 0);
	mdt_free(got);
	ck_assert_int_eq(fx_child(&(fx){.s = ro}, "x", "y", 1, 0),
	    -MDT_EINVAL);
	mdt_store_close(ro);
	mdt_store_close(NULL);
}
END_TEST

START_TEST(not_a_store)
{
	char path[200], err[MDT_ERRMSG_MAX];
	mdt_store *s = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/junk.db", F.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("this is not an SQLite database, not at all......\n", f);
	fclose(f);
	ck_assert_int_eq(mdt_store_open(path, NULL, &s, err, sizeof(err)),
	    -MDT_ESTORE);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(mdt_store_verify(path, F.pk, NULL, NULL, NULL, err,
	    sizeof(err)), -MDT_ESTORE);
	ck_assert_ptr_nonnull(strstr(err, "not a database"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/junk.db.lock", F.dir);
	unlink(path);
}
END_TEST

START_TEST(newer_schema_refused)
{
	char err[MDT_ERRMSG_MAX];
	mdt_store *s = NULL;

	fx_close(&F);
	fx_sql(&F, "PRAGMA user_version = 99");
	ck_assert_int_eq(mdt_store_open(F.path, NULL, &s, err, sizeof(err)),
	    -MDT_EVERSION);
	ck_assert_ptr_nonnull(strstr(err, "99"));
}
END_TEST

static int
export_cb(void *arg, const char *line, size_t len)
{
	json_t *arr = arg;
	json_error_t je;
	json_t *j = json_loadb(line, len, 0, &je);

	ck_assert_msg(j != NULL, "line %.*s: %s", (int)len, line, je.text);
	json_array_append_new(arr, j);
	return 0;
}

static const char *
kind_of(json_t *arr, size_t i)
{
	return json_string_value(json_object_get(json_array_get(arr, i),
	    "kind"));
}

START_TEST(export_jsonl)
{
	json_t *all = json_array(), *sub = json_array();
	size_t n;

	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), 0);
	fx_decision(&F, "r1", "c1", MDT_STORE_ALLOW);
	fx_root(&F, "t2");
	fx_decision(&F, "r2", "t2", MDT_STORE_ALLOW);
	ck_assert_int_eq(mdt_store_end_task(F.s, "t1", MDT_TASK_COMPLETED,
	    "o", NULL, 0, NULL), 0);
	ck_assert_int_eq(mdt_store_checkpoint(F.s, NULL), 0);
	ck_assert_int_eq(mdt_store_export_jsonl(F.s, NULL, export_cb, all), 0);
	n = json_array_size(all);
	ck_assert_uint_eq(n, 1 + 6 + 1); /* header, records, checkpoint */
	ck_assert_str_eq(kind_of(all, 0), "store");
	ck_assert_str_eq(kind_of(all, 1), "task");
	ck_assert_str_eq(kind_of(all, 3), "decision");
	ck_assert_str_eq(kind_of(all, 6), "revocation");
	ck_assert_str_eq(kind_of(all, 7), "checkpoint");
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(
	    json_array_get(all, 3), "hash"))), 64);
	/* Filtered: the tree of t1 only (no t2, no r2). */
	ck_assert_int_eq(mdt_store_export_jsonl(F.s, "c1", export_cb, sub), 0);
	ck_assert_uint_eq(json_array_size(sub), 1 + 4 + 1);
	ck_assert_int_eq(mdt_store_export_jsonl(F.s, "zz", export_cb, sub),
	    -MDT_ENOTFOUND);
	json_decref(all);
	json_decref(sub);
}
END_TEST

static int
count_lines(void *arg, const char *line, size_t len)
{
	(void)line;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

/* Every allocation on the caller's thread fails in turn: each call
 * reports MDT_ENOMEM (or succeeds) and leaks nothing. */
START_TEST(allocation_failures)
{
	mdt_store_opts o = {.checkpoint_every = 10, .readers = 1};
	mdt_store_task *t;
	mdt_store *s2;
	char *json;
	int done = 0, lines = 0, want;

	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), 0);
	fx_decision(&F, "r1", "c1", MDT_STORE_DENY);
	ck_assert_int_eq(mdt_store_checkpoint(F.s, NULL), 0); /* none later */
	ck_assert_int_eq(mdt_store_export_jsonl(F.s, NULL, count_lines,
	    &lines), 0);
	want = lines;
	ck_assert_int_eq(want, 5); /* header, three records, checkpoint */
	fx_close(&F); /* one writer per store */
	for (long n = 0; !done; n++) {
		int rc;
		ck_assert_int_lt(n, 1000);
		mdt__alloc_fail_after(n);
		rc = mdt_store_open(F.uri, &o, &s2, NULL, 0);
		done = mdt__alloc_failures() == 0;
		mdt__alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == -MDT_ENOMEM);
		ck_assert(rc == 0 || !done);
		if (rc == 0)
			mdt_store_close(s2);
	}
	fx_open(&F);
	done = 0;
	for (long n = 0; !done; n++) {
		int r1, r2, r3;
		ck_assert_int_lt(n, 1000);
		lines = 0;
		mdt__alloc_fail_after(n);
		r1 = mdt_store_get_task(F.s, "c1", &t);
		r2 = mdt_store_task_tree_json(F.s, "c1", &json);
		r3 = mdt_store_export_jsonl(F.s, NULL, count_lines, &lines);
		done = mdt__alloc_failures() == 0;
		mdt__alloc_fail_after(-1);
		ck_assert(r1 == 0 || r1 == -MDT_ENOMEM);
		ck_assert(r2 == 0 || r2 == -MDT_ENOMEM);
		ck_assert(r3 == 0 || r3 == -MDT_ENOMEM);
		if (r1 == 0)
			mdt_free(t);
		if (r2 == 0)
			mdt_free(json);
		if (done)
			ck_assert_msg(r1 == 0 && r2 == 0 && r3 == 0 && lines == want, "%d %d %d %d %d", r1, r2, r3, lines, want);
	}
}
END_TEST

START_TEST(idle_checkpoint_signs_the_tail)
{
	mdt_store_opts o = {.checkpoint_every = 1000, .checkpoint_ms = 100};
	mdt_store_report rep;
	fx_issues is;
	uint64_t seq;

	fx_close(&F);
	fx_open_opts(&F, &o);
	seq = fx_decision(&F, "r1", NULL, MDT_STORE_ALLOW);
	for (int i = 0; i < 100; i++) { /* up to 5 s on a loaded machine */
		ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
		if (rep.unsigned_records == 0)
			break;
		nanosleep(&(struct timespec){0, 50000000}, NULL);
	}
	/* Verified live, while the store is open. */
	ck_assert_uint_eq(rep.unsigned_records, 0);
	ck_assert_uint_eq(rep.last_checkpoint_seq, seq);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(mdt_store_verdict_name(MDT_STORE_STEP_UP), "step_up");
	ck_assert_str_eq(mdt_store_verdict_name(0), "?");
	ck_assert_str_eq(mdt_task_state_name(MDT_TASK_REVOKED), "revoked");
	ck_assert_str_eq(mdt_approval_state_name(MDT_APPROVAL_EXPIRED),
	    "expired");
	ck_assert_str_eq(mdt_store_issue_name(MDT_STORE_REORDERED),
	    "reordered");
	ck_assert_str_eq(mdt_store_issue_name(99), "?");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("records");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, decision_roundtrip);
	tcase_add_test(tc, idempotent_request_id);
	tcase_add_test(tc, decision_input_checked);
	tcase_add_test(tc, task_roundtrip_and_checks);
	tcase_add_test(tc, children_in_creation_order);
	tcase_add_test(tc, end_task_cascades);
	tcase_add_test(tc, chain_revoked_walks_deep_chain);
	tcase_add_test(tc, task_check_reads_row_and_chain);
	tcase_add_test(tc, approvals);
	tcase_add_test(tc, task_tree_walk_and_json);
	tcase_add_test(tc, reopen_keeps_chain);
	if (fx_backend_sqlite()) /* PRAGMAs: SQLite's own limits */
		tcase_add_test(tc, store_full_is_estore);
	tcase_add_test(tc, read_only_refuses_writes);
	tcase_add_test(tc, not_a_store);
	if (fx_backend_sqlite())
		tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, export_jsonl);
	tcase_add_test(tc, allocation_failures);
	tcase_add_test(tc, idle_checkpoint_signs_the_tail);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
