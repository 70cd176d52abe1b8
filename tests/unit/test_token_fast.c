/*
 * Tokens built on a verified prefix: attenuation and single-action tokens
 * take the prefix's decoded blocks over instead of decoding the whole
 * chain again, decode only the new block and run the attenuation rules on
 * the whole result.  For random attenuation sequences, each token so
 * built must equal, field by field, the decode and the open of its own
 * bytes; its bytes must equal those the full re-decoding path (used when
 * the prefix is unverified) makes from the same inputs; and it must own
 * all its memory (its parent is freed before it is compared).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/token.h>

#include "alloc_int.h"
#include "testutil.h"
#include "token_fixture.h"
#include "token_int.h"

#define SEQUENCES 150
#define STEPS 8

static uint64_t rng_state;

static uint64_t
next_rand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t
below(size_t n)
{
	return (size_t)(next_rand() % n);
}

/* Scopes overlapping in every way the algebra distinguishes: contexts,
 * wildcard types, permission subsets, query restrictions, tools. */
static const char *const pool[] = {
	"patient/Observation.rs", "patient/Observation.r",
	"patient/Condition.rs", "user/Observation.cruds", "patient/*.r",
	"patient/Observation.rs?category=laboratory", "tool/fax.x",
	"system/Patient.r", "patient/MedicationRequest.rs", "user/*.rs",
};
#define POOL_N (sizeof(pool) / sizeof(pool[0]))

/* Text of 1..4 scopes of the pool (repeats allowed). */
static void
pool_text(char text[1024])
{
	size_t n = 1 + below(4);

	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(text, " ");
		strcat(text, pool[below(POOL_N)]);
	}
}

static mdt_scope_set *
pool_subset(void)
{
	char text[1024];

	pool_text(text);
	return tf_scopes(text);
}

static void
fill_rand(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next_rand();
}

/* ---------------------------------------------------------- comparing */

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
same_bin(const uint8_t *a, const uint8_t *b, size_t n)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && memcmp(a, b, n) == 0);
}

static int
same_set(const mdt_scope_set *a, const mdt_scope_set *b)
{
	char *ta = NULL, *tb = NULL;
	int same;

	if (a == NULL || b == NULL)
		return a == b;
	ck_assert_int_eq(mdt_scope_set_format(a, &ta), 0);
	ck_assert_int_eq(mdt_scope_set_format(b, &tb), 0);
	same = strcmp(ta, tb) == 0 &&
	    mdt_scope_set_count(a) == mdt_scope_set_count(b);
	mdt_free(ta);
	mdt_free(tb);
	return same;
}

static void
assert_same_block(const mdt_token *a, const mdt_token *b, size_t i,
    const char *what)
{
	mdt_token_block_view x, y;

	ck_assert_int_eq(mdt_token_block(a, i, &x), 0);
	ck_assert_int_eq(mdt_token_block(b, i, &y), 0);
	ck_assert_msg(x.fields == y.fields && x.version == y.version &&
	    x.issued_at == y.issued_at && x.expires_at == y.expires_at &&
	    x.depth == y.depth && x.sealed == y.sealed &&
	    x.broker == y.broker,
	    "%s: block %zu numbers differ", what, i);
	ck_assert_msg(same_bin(x.key_id, y.key_id, MDT_KEY_ID_BYTES) &&
	    same_bin(x.holder_key, y.holder_key, MDT_KEY_PUBLIC_BYTES) &&
	    same_bin(x.next_key, y.next_key, MDT_KEY_PUBLIC_BYTES) &&
	    same_bin(x.signature, y.signature, MDT_KEY_SIG_BYTES) &&
	    same_bin(x.nonce, y.nonce, MDT_TOKEN_NONCE_BYTES),
	    "%s: block %zu byte fields differ", what, i);
	ck_assert_msg(same_str(x.task_id, y.task_id) &&
	    same_str(x.parent_task_id, y.parent_task_id) &&
	    same_str(x.holder_id, y.holder_id) &&
	    same_str(x.clinician, y.clinician) &&
	    same_str(x.patient, y.patient) && same_str(x.purpose, y.purpose) &&
	    same_str(x.audience, y.audience) &&
	    same_str(x.resource, y.resource),
	    "%s: block %zu strings differ", what, i);
	ck_assert_msg(same_set(x.scopes, y.scopes),
	    "%s: block %zu scopes differ", what, i);
}

static void
assert_same_effective(const mdt_token *a, const mdt_token *b,
    const char *what)
{
	mdt_pubkey ka, kb;
	mdt_scope_set *sa = NULL, *sb = NULL;

	ck_assert_msg(mdt_token_block_count(a) == mdt_token_block_count(b) &&
	    mdt_token_is_sealed(a) == mdt_token_is_sealed(b) &&
	    mdt_token_issued_at(a) == mdt_token_issued_at(b) &&
	    mdt_token_expires_at(a) == mdt_token_expires_at(b) &&
	    mdt_token_depth(a) == mdt_token_depth(b), "%s: numbers", what);
	ck_assert_msg(same_str(mdt_token_task_id(a), mdt_token_task_id(b)) &&
	    same_str(mdt_token_parent_task_id(a),
	    mdt_token_parent_task_id(b)) &&
	    same_str(mdt_token_clinician(a), mdt_token_clinician(b)) &&
	    same_str(mdt_token_patient(a), mdt_token_patient(b)) &&
	    same_str(mdt_token_purpose(a), mdt_token_purpose(b)) &&
	    same_str(mdt_token_holder_id(a), mdt_token_holder_id(b)) &&
	    same_str(mdt_token_audience(a), mdt_token_audience(b)) &&
	    same_str(mdt_token_resource(a), mdt_token_resource(b)),
	    "%s: strings", what);
	for (size_t i = 0; i <= MDT_TOKEN_BLOCKS_MAX + 1; i++)
		ck_assert_msg(same_str(mdt_token_task_chain(a, i),
		    mdt_token_task_chain(b, i)), "%s: task chain %zu", what, i);
	ck_assert(same_bin(mdt_token_key_id(a), mdt_token_key_id(b),
	    MDT_KEY_ID_BYTES));
	mdt_token_holder_key(a, &ka);
	mdt_token_holder_key(b, &kb);
	ck_assert(mdt_pubkey_equal(&ka, &kb));
	ck_assert_int_eq(mdt_token_scopes(a, &sa), 0);
	ck_assert_int_eq(mdt_token_scopes(b, &sb), 0);
	ck_assert_msg(same_set(sa, sb), "%s: effective scopes", what);
	mdt_scope_set_free(sa);
	mdt_scope_set_free(sb);
}

/* Everything but the verified flag (and the root it was verified with). */
static void
assert_same_token(const mdt_token *a, const mdt_token *b, const char *what)
{
	size_t la, lb;
	const uint8_t *ba = mdt_token_bytes(a, &la), *bb = mdt_token_bytes(b,
	    &lb);

	ck_assert_msg(la == lb && memcmp(ba, bb, la) == 0, "%s: bytes", what);
	assert_same_effective(a, b, what);
	for (size_t i = 0; i < mdt_token_block_count(a); i++)
		assert_same_block(a, b, i, what);
	ck_assert_msg((a->proof == NULL) == (b->proof == NULL) &&
	    (a->proof == NULL || memcmp(a->proof, b->proof,
	    MDT_KEY_SEED_BYTES) == 0), "%s: carried secret", what);
}

static int
inside(const mdt_token *t, const void *p)
{
	const uint8_t *q = p;

	return p == NULL || (q >= t->mem && q < t->mem + t->mem_len);
}

/* Every pointer of every block points into t's own memory. */
static void
assert_owns_memory(const mdt_token *t)
{
	for (size_t i = 0; i < t->nblocks; i++) {
		const mdt__tok_block *b = &t->blocks[i];
		const void *ptrs[] = {b->raw, b->sig, b->kid, b->task,
		    b->parent, b->holder, b->holder_key, b->clinician,
		    b->patient, b->purpose, b->audience, b->resource,
		    b->next_key, b->nonce};

		for (size_t k = 0; k < sizeof(ptrs) / sizeof(ptrs[0]); k++)
			ck_assert_msg(inside(t, ptrs[k]),
			    "block %zu pointer %zu outside the token", i, k);
	}
	ck_assert(inside(t, t->proof));
	ck_assert(inside(t, t->holder) && inside(t, t->holder_key));
}

/* t (built on a verified prefix, its parent already freed) equals the
 * decode and the open of its own bytes. */
static void
assert_equals_reopened(const mdt_token *t, const mdt_pubkey *root)
{
	size_t len;
	const uint8_t *b = mdt_token_bytes(t, &len);
	mdt_token *d = NULL, *o = NULL;
	mdt_token_reason why;
	char *jt = NULL, *jo = NULL;

	ck_assert_msg(mdt_token_decode(b, len, &d, &why) == 0, "%s",
	    why.message);
	ck_assert_msg(mdt_token_open(b, len, root, NULL, &o, &why) == 0, "%s",
	    why.message);
	ck_assert(mdt_token_is_verified(t));
	ck_assert(!mdt_token_is_verified(d));
	assert_same_token(t, d, "decoded");
	assert_same_token(t, o, "opened");
	ck_assert_int_eq(mdt_token_to_json(t, &jt), 0);
	ck_assert_int_eq(mdt_token_to_json(o, &jo), 0);
	ck_assert_str_eq(jt, jo);
	assert_owns_memory(t);
	mdt_free(jt);
	mdt_free(jo);
	mdt_token_free(d);
	mdt_token_free(o);
}

/* ----------------------------------------------------------- building */

typedef struct step {
	int single;
	mdt_token_attenuate_params ap;
	mdt_token_single_params sp;
	mdt_pubkey hk;
	mdt_scope_set *scopes;
	char task[32];
	uint8_t seed[MDT_KEY_SEED_BYTES];
	uint8_t nonce[MDT_TOKEN_NONCE_BYTES];
} step;

static const char *const agents[] = {TF_AGENT, TF_AGENT2,
    "spiffe://clinic.example/agent/a-b_c.d"};
/* Requests, weighted toward what the pool grants. */
static const char *const requests[][2] = {
	{"r", "Observation/1"}, {"s", "Observation/1"}, {"r", "Condition/7"},
	{"r", "Observation?category=laboratory"}, {"x", "tool/fax"},
	{"r", "Patient/pat-123"}, {"c", "Observation/2"}, {"r", "tool/fax"},
};

static void
rand_single(step *s)
{
	size_t k = below(sizeof(requests) / sizeof(requests[0]));

	s->single = 1;
	s->sp.action = requests[k][0];
	s->sp.resource = requests[k][1];
	s->sp.audience = "spiffe://clinic.example/fhir";
	s->sp.now = TF_NOW + (int64_t)below(100);
	s->sp.ttl = 1 + (int64_t)below(MDT_TOKEN_SINGLE_TTL_MAX);
	s->sp.nonce = s->nonce;
}

/*
 * Random parameters (fixed seed and nonce: the result is reproducible).
 * Delegations and subtasks are broker blocks, as they must be; some
 * other blocks are broker blocks too.
 */
static void
rand_step(step *s, const mdt_token *t, const mdt_keypair *root,
    const mdt_keypair *agent)
{
	mdt_scope_set *eff = NULL, *r;

	memset(s, 0, sizeof(*s));
	fill_rand(s->seed, sizeof(s->seed));
	fill_rand(s->nonce, sizeof(s->nonce));
	if (below(4) == 0) {
		rand_single(s);
		/* from the nonce's bits: the draws stay those of old */
		s->sp.broker = s->nonce[0] & 1 ? root : NULL;
		return;
	}
	s->ap.broker = s->nonce[1] % 6 == 0 ? root : NULL;
	s->ap.depth = MDT_TOKEN_KEEP_DEPTH;
	s->ap.next_seed = s->seed;
	if (below(3) != 0) {
		r = pool_subset();
		ck_assert_int_eq(mdt_token_scopes(t, &eff), 0);
		if (below(5) == 0)
			s->scopes = r;
		else {
			ck_assert_int_eq(mdt_scope_set_intersect(eff, r,
			    &s->scopes), 0);
			mdt_scope_set_free(r);
		}
		mdt_scope_set_free(eff);
		s->ap.scopes = s->scopes;
	}
	if (below(3) == 0)
		s->ap.expires_at = TF_NOW + 1 + (int64_t)below(TF_TTL);
	if (below(3) == 0 && mdt_token_depth(t) > 0) {
		s->hk = tf_pub(agent);
		s->ap.holder_id = agents[below(3)];
		s->ap.holder_key = &s->hk;
		snprintf(s->task, sizeof(s->task), "sub-%zu", below(1000));
		s->ap.task_id = s->task;
		s->ap.broker = root;
	}
	if (below(5) == 0)
		s->ap.audience = "spiffe://clinic.example/fhir";
	if (below(8) == 0)
		s->ap.resource = "Observation/1";
	if (below(4) == 0)
		s->ap.issued_at = TF_NOW + (int64_t)below(60);
	if (below(3) == 0)
		s->ap.nonce = s->nonce;
	s->ap.seal = below(8) == 0;
}

static int
run_step(const step *s, const mdt_token *t, mdt_token **out,
    mdt_token_reason *why)
{
	return s->single ? mdt_token_single_action(t, &s->sp, out, why) :
	    mdt_token_attenuate(t, &s->ap, out, why);
}

/*
 * The step from t (verified: the prefix is taken over) and from an
 * unverified decode of t's bytes (the full re-decoding path): same status,
 * same bytes, same token but for the verified flag.
 */
static mdt_token *
both_paths(const step *s, const mdt_token *t, long *refused)
{
	size_t len;
	const uint8_t *b = mdt_token_bytes(t, &len);
	mdt_token *u = NULL, *fast = NULL, *full = NULL;
	mdt_token_reason why, why2;
	int rc, rc2;

	ck_assert_int_eq(mdt_token_decode(b, len, &u, NULL), 0);
	rc = run_step(s, t, &fast, &why);
	rc2 = run_step(s, u, &full, &why2);
	ck_assert_msg(rc == rc2, "fast %d (%s), full %d (%s)", rc, why.message,
	    rc2, why2.message);
	if (rc != 0) {
		ck_assert_msg(rc == -MDT_ESCOPE || rc == -MDT_EAUDIENCE ||
		    rc == -MDT_EINVAL || rc == -MDT_EPARSE, "%d %s", rc,
		    why.message);
		ck_assert_str_eq(why.message, why2.message);
		(*refused)++;
	} else {
		ck_assert(!mdt_token_is_verified(full));
		assert_same_token(fast, full, "full path");
	}
	mdt_token_free(full);
	mdt_token_free(u);
	return fast;
}

START_TEST(random_sequences)
{
	mdt_keypair *root = tf_key(1), *orch = tf_key(2), *agent = tf_key(3);
	mdt_pubkey root_pub = tf_pub(root);
	long built = 0, refused = 0, singles = 0;

	for (uint64_t seq = 1; seq <= SEQUENCES; seq++) {
		char text[1024];
		mdt_token *cur;

		rng_state = 0x2545f4914f6cdd1dull * seq;
		pool_text(text);
		cur = tf_mint(root, orch, text, (uint32_t)below(5),
		    (uint8_t)seq);
		for (int i = 0; i < STEPS && !mdt_token_is_sealed(cur); i++) {
			step s;
			mdt_token *next;

			rand_step(&s, cur, root, agent);
			next = both_paths(&s, cur, &refused);
			mdt_scope_set_free(s.scopes);
			if (next == NULL)
				continue;
			/* The parent goes first: nothing may point into it. */
			mdt_token_free(cur);
			assert_equals_reopened(next, &root_pub);
			built++;
			singles += s.single;
			cur = next;
		}
		mdt_token_free(cur);
	}
	printf("fast path: %ld tokens built (%ld single-action), %ld "
	    "refused alike\n", built, singles, refused);
	ck_assert_msg(built >= 400, "only %ld built", built);
	ck_assert_msg(singles >= 50, "only %ld single-action", singles);
	ck_assert_msg(refused >= 50, "only %ld refused", refused);
	mdt_keypair_free(root);
	mdt_keypair_free(orch);
	mdt_keypair_free(agent);
}
END_TEST

/* The prefix given is a hint: blocks that differ from it are decoded,
 * never copied, so a wrong hint gives the same token as the right one. */
START_TEST(prefix_hint_checked)
{
	mdt_keypair *root = tf_key(1), *orch = tf_key(2), *agent = tf_key(3);
	mdt_token *a = tf_mint(root, orch, "patient/Observation.rs", 3, 7);
	mdt_token *b = tf_mint(root, orch, "patient/Condition.r", 3, 8);
	mdt_token *c = tf_delegate(a, root, TF_AGENT, agent, NULL);
	const mdt_token *hints[] = {a, b, c, NULL};
	size_t len;
	const uint8_t *bytes = mdt_token_bytes(c, &len);

	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		mdt_token *d = NULL;
		mdt_token_reason why;

		ck_assert_int_eq(mdt__tok_alloc(len, &d), 0);
		memcpy(d->mem, bytes, len);
		ck_assert_msg(mdt__tok_decode_into(d, len, hints[i], &why) == 0,
		    "%s", why.message);
		assert_same_token(c, d, "hint");
		assert_owns_memory(d);
		mdt_token_free(d);
	}
	mdt_token_free(c);
	mdt_token_free(b);
	mdt_token_free(a);
	mdt_keypair_free(root);
	mdt_keypair_free(orch);
	mdt_keypair_free(agent);
}
END_TEST

/* Allocation failures anywhere on the fast path fail cleanly. */
START_TEST(allocation_failures)
{
	mdt_keypair *root = tf_key(1), *orch = tf_key(2), *agent = tf_key(3);
	mdt_pubkey root_pub = tf_pub(root);
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs "
	    "patient/Condition.rs", 3, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent,
	    "patient/Observation.rs");
	mdt_token_single_params sp = {"r", "Observation/1",
	    "spiffe://clinic.example/fhir", TF_NOW, 60, NULL, root};
	mdt_token_reason why;
	int ok = 0;
	long failures = 0;

	for (long n = 0; n < 200 && !ok; n++) {
		mdt_token *x = NULL;
		int rc;

		mdt__alloc_fail_after(n);
		rc = mdt_token_single_action(d, &sp, &x, &why);
		failures += mdt__alloc_failures();
		mdt__alloc_fail_after(-1);
		if (rc == 0) {
			ok = 1;
			assert_equals_reopened(x, &root_pub);
		} else {
			ck_assert_ptr_null(x);
			ck_assert_int_eq(rc, -MDT_ENOMEM);
		}
		mdt_token_free(x);
	}
	ck_assert(ok);
	ck_assert(failures > 5);
	mdt_token_free(d);
	mdt_token_free(t);
	mdt_keypair_free(root);
	mdt_keypair_free(orch);
	mdt_keypair_free(agent);
}
END_TEST

static Suite *
fast_suite(void)
{
	Suite *s = suite_create("token_fast");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, random_sequences);
	tcase_add_test(tc, prefix_hint_checked);
	tcase_add_test(tc, allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(fast_suite());
}
