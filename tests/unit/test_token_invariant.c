/*
 * Invariant 1 (monotonic narrowing), randomized: random scope sets,
 * random attenuation sequences (narrowing, delegation, expiry, audience,
 * resource restriction, sealing) and, as an attacker holding the secret
 * would, raw blocks with arbitrary scopes, holders and tasks signed
 * outside the library's rules.  For every accepted child and thousands
 * of random requests at random times: nothing the child allows was
 * denied by its parent, and a child the broker did not make has its
 * parent's holder and task.
 */
#include <stdio.h>
#include <string.h>

#include <mandate/token.h>

#include "key_int.h"
#include "testutil.h"
#include "token_fixture.h"
#include "token_int.h"

#define SEQUENCES 400
#define STEPS 6
#define REQUESTS 40

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static size_t
pick(size_t n)
{
	return (size_t)(rnd() % n);
}

static const char *const ctxs[] = {"patient", "user", "system"};
static const char *const types[] = {"Observation", "Condition", "Patient",
    "*", "MedicationRequest"};
static const char *const qparams[] = {"category=laboratory",
    "category=vital-signs", "status=final"};
static const char *const tools[] = {"fax", "export"};

/* Random permission letters: a non-empty ordered subset of "cruds". */
static void
rand_perms(char *out)
{
	static const char letters[] = "cruds";
	unsigned mask = 0;
	size_t n = 0;

	while (mask == 0)
		mask = (unsigned)pick(32);
	for (int i = 0; i < 5; i++)
		if (mask & (1u << i))
			out[n++] = letters[i];
	out[n] = '\0';
}

static void
rand_scope(char *buf, size_t len)
{
	char perms[8];

	if (pick(8) == 0) {
		snprintf(buf, len, "tool/%s.x", tools[pick(2)]);
		return;
	}
	rand_perms(perms);
	if (pick(3) == 0)
		snprintf(buf, len, "%s/%s.%s?%s", ctxs[pick(3)], types[pick(5)],
		    perms, qparams[pick(3)]);
	else
		snprintf(buf, len, "%s/%s.%s", ctxs[pick(3)], types[pick(5)],
		    perms);
}

static mdt_scope_set *
rand_set(void)
{
	mdt_scope_set *set;
	char buf[128], err[MDT_ERRMSG_MAX];
	size_t n = 1 + pick(4);

	ck_assert_int_eq(mdt_scope_set_new(&set), 0);
	for (size_t i = 0; i < n; i++) {
		rand_scope(buf, sizeof(buf));
		ck_assert_msg(mdt_scope_set_add(set, buf, strlen(buf), err,
		    sizeof(err)) == 0, "%s: %s", buf, err);
	}
	return set;
}

typedef struct req {
	char action[2];
	char resource[128];
	const char *patient;
	mdt_scope_param attr;
	size_t nattrs;
	int64_t now;
	const char *audience;
} req;

static void
rand_req(req *r)
{
	/* Weighted toward what tokens allow, so allows are frequent. */
	static const char *const pats[] = {TF_PATIENT, TF_PATIENT, TF_PATIENT,
	    "pat-999", NULL};
	static const char *const auds[] = {NULL, NULL, NULL,
	    "spiffe://clinic.example/fhir", "spiffe://clinic.example/other"};
	const char *type = types[pick(5)];

	if (strcmp(type, "*") == 0)
		type = "Encounter";
	memset(r, 0, sizeof(*r));
	if (pick(8) == 0) {
		snprintf(r->resource, sizeof(r->resource), "tool/%s",
		    tools[pick(2)]);
		strcpy(r->action, "x");
	} else {
		r->action[0] = "cruds"[pick(5)];
		switch (pick(3)) {
		case 0:
			snprintf(r->resource, sizeof(r->resource), "%s/%zu",
			    type, pick(3));
			break;
		case 1:
			snprintf(r->resource, sizeof(r->resource), "%s", type);
			break;
		default:
			snprintf(r->resource, sizeof(r->resource), "%s?%s", type,
			    qparams[pick(3)]);
		}
	}
	if (pick(3) == 0) {
		r->attr = (mdt_scope_param){"category", 8,
		    pick(2) ? "laboratory" : "vital-signs",
		    0};
		r->attr.value_len = strlen(r->attr.value);
		r->nattrs = 1;
	}
	r->patient = pats[pick(5)];
	r->now = TF_NOW - 100 + (int64_t)pick(TF_TTL + 200);
	r->audience = auds[pick(5)];
}

static int
check(const mdt_token *t, const req *r)
{
	mdt_token_check_params p;

	memset(&p, 0, sizeof(p));
	p.action = r->action;
	p.resource = r->resource;
	p.patient = r->patient;
	p.attrs = &r->attr;
	p.nattrs = r->nattrs;
	p.now = r->now;
	p.audience = r->audience;
	return mdt_token_check(t, &p, NULL);
}

static long allowed_pairs, total_checks;

/* Nothing the child allows was denied by the parent. */
static void
assert_narrower(const mdt_token *parent, const mdt_token *child,
    uint64_t seed)
{
	for (int i = 0; i < REQUESTS; i++) {
		req r;

		rand_req(&r);
		total_checks++;
		if (check(child, &r) != 0)
			continue;
		allowed_pairs++;
		ck_assert_msg(check(parent, &r) == 0,
		    "seed %llu: child allows %s %s (patient %s, t=%lld) that "
		    "its parent denies", (unsigned long long)seed, r.action,
		    r.resource, r.patient ? r.patient : "-", (long long)r.now);
	}
}

/* Offline, only the broker changes who holds a token and for what task. */
static void
assert_same_principal(const mdt_token *parent, const mdt_token *child,
    uint64_t seed)
{
	mdt_token_block_view last;
	mdt_pubkey a, b;

	ck_assert_int_eq(mdt_token_block(child,
	    mdt_token_block_count(child) - 1, &last), 0);
	if (last.broker)
		return;
	mdt_token_holder_key(parent, &a);
	mdt_token_holder_key(child, &b);
	ck_assert_msg(strcmp(mdt_token_holder_id(parent),
	    mdt_token_holder_id(child)) == 0 && mdt_pubkey_equal(&a, &b) &&
	    strcmp(mdt_token_task_id(parent), mdt_token_task_id(child)) == 0,
	    "seed %llu: a block not made by the broker changed holder or task",
	    (unsigned long long)seed);
}

/* The received view: decode and verify the bytes of t. */
static mdt_token *
received(const mdt_token *t, const mdt_pubkey *root)
{
	size_t len;
	const uint8_t *b = mdt_token_bytes(t, &len);
	mdt_token *out = NULL;
	mdt_token_reason why;

	ck_assert_msg(mdt_token_open(b, len, root, NULL, &out, &why) == 0,
	    "%s", why.message);
	return out;
}

/*
 * One library attenuation with random parameters, offline or by the
 * broker (root); NULL if refused.  An offline one that would change the
 * holder or the task is always refused (counted in *offline_refused).
 */
static mdt_token *
rand_attenuate(const mdt_token *t, const mdt_keypair *root,
    const mdt_keypair *agent, long *offline_refused)
{
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	mdt_pubkey hk = tf_pub(agent);
	mdt_scope_set *r = NULL, *eff = NULL, *narrow = NULL;
	mdt_token *out = NULL;
	int rc, changes = 0;

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.broker = pick(2) == 0 ? root : NULL;
	if (pick(2)) {
		r = rand_set();
		ck_assert_int_eq(mdt_token_scopes(t, &eff), 0);
		ck_assert_int_eq(mdt_scope_set_intersect(eff, r, &narrow), 0);
		p.scopes = pick(4) == 0 ? r : narrow;
	}
	if (pick(3) == 0)
		p.expires_at = TF_NOW + (int64_t)pick(TF_TTL);
	if (pick(3) == 0 && mdt_token_depth(t) > 0) {
		p.holder_id = TF_AGENT;
		p.holder_key = &hk;
		changes = 1;
	}
	if (pick(6) == 0) {
		p.task_id = "t.sub";
		changes = 1;
	}
	if (pick(5) == 0)
		p.audience = "spiffe://clinic.example/fhir";
	if (pick(8) == 0)
		p.resource = "Observation/1";
	p.seal = pick(6) == 0;
	rc = mdt_token_attenuate(t, &p, &out, &why);
	if (p.broker == NULL && changes) {
		ck_assert_msg(rc == -MDT_EINVAL && out == NULL,
		    "offline holder or task change: %d %s", rc, why.message);
		(*offline_refused)++;
	} else if (rc != 0) {
		/* Only a widening or an expiry past the token's is refused. */
		ck_assert_msg(rc == -MDT_ESCOPE || rc == -MDT_EINVAL ||
		    rc == -MDT_EAUDIENCE, "%d %s", rc, why.message);
	}
	mdt_scope_set_free(r);
	mdt_scope_set_free(eff);
	mdt_scope_set_free(narrow);
	return out;
}

/* An attacker's block may also name a new holder (with a lower depth
 * when there is depth left) or a new task; the expected refusal. */
static int
forge_principal(const mdt_token *t, mdt__tok_block *b, const uint8_t *hk)
{
	switch (pick(4)) {
	case 0:
		b->holder = TF_AGENT;
		b->holder_key = hk;
		b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER) |
		    MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER_KEY);
		if (mdt_token_depth(t) > 0) {
			b->depth = mdt_token_depth(t) - 1;
			b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_DEPTH);
		}
		return -MDT_EHOLDER;
	case 1:
		b->task = "t.forged";
		b->has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_TASK);
		return -MDT_ESCOPE;
	default:
		return 0;
	}
}

/* An attacker's block: arbitrary scopes, maybe a holder or task, signed
 * with the secret, no rules applied; returns the verified result or NULL
 * if refused (a forged holder or task always is: *principal_refused). */
static mdt_token *
forged_attenuate(const mdt_token *t, const mdt_pubkey *root,
    const uint8_t *hk, long *principal_refused)
{
	uint8_t raw[MDT_TOKEN_BLOCK_BYTES_MAX], sig[64], seed[32], pk[32];
	mdt__tok_block b;
	mdt__mp_writer w, env;
	mdt__tok_raw extra;
	mdt_scope_set *s = rand_set();
	mdt_keypair *kp;
	mdt_token *out = NULL;
	mdt_token_reason why;
	uint8_t *bytes;
	size_t len;
	int rc, want;

	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)rnd();
	ck_assert_int_eq(mdt__seed_public(seed, pk), 0);
	memset(&b, 0, sizeof(b));
	b.has = MDT_TOKEN_F(MDT_TOKEN_FIELD_SCOPES) |
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_NEXT_KEY);
	b.next_key = pk;
	want = forge_principal(t, &b, hk);
	mdt__mp_writer_init(&w, raw, sizeof(raw));
	ck_assert_int_eq(mdt__tok_write_block(&w, &b, s), 0);
	mdt_scope_set_free(s);
	ck_assert_int_eq(mdt_keypair_from_seed(t->proof, &kp), 0);
	ck_assert_int_eq(mdt__tok_sign_block(kp, (uint32_t)t->nblocks,
	    t->blocks[t->nblocks - 1].sig, raw, w.len, 0, sig), 0);
	mdt_keypair_free(kp);
	extra = (mdt__tok_raw){raw, w.len, sig};
	mdt__mp_writer_init_dyn(&env, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&env, t, &extra, seed), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&env, &bytes, &len), 0);
	rc = mdt_token_open(bytes, len, root, NULL, &out, &why);
	mdt_free(bytes);
	if (want != 0) {
		ck_assert_msg(rc == want, "forged holder or task: %d %s", rc,
		    why.message);
		(*principal_refused)++;
	} else if (rc != 0)
		ck_assert_msg(rc == -MDT_ESCOPE, "%d %s", rc, why.message);
	return out;
}

START_TEST(monotonic_narrowing)
{
	mdt_keypair *root = tf_key(1), *orch = tf_key(2), *agent = tf_key(3);
	mdt_pubkey root_pub = tf_pub(root), agent_pub = tf_pub(agent);
	long sequences_with_forgery_refused = 0, principal_refused = 0;
	long offline_refused = 0;

	for (uint64_t seq = 1; seq <= SEQUENCES; seq++) {
		mdt_token_mint_params p;
		mdt_pubkey hk = tf_pub(orch);
		mdt_scope_set *s0;
		mdt_token *cur = NULL, *next;

		rng_state = 0x9e3779b97f4a7c15ull * seq;
		s0 = rand_set();
		memset(&p, 0, sizeof(p));
		p.task_id = "t";
		p.clinician = "dr";
		p.patient = TF_PATIENT;
		p.purpose = "TREAT";
		p.scopes = s0;
		p.issued_at = TF_NOW;
		p.expires_at = TF_NOW + TF_TTL;
		p.depth = (uint32_t)pick(4);
		p.holder_id = TF_ORCH;
		p.holder_key = &hk;
		ck_assert_int_eq(mdt_token_mint(root, &p, &cur, NULL), 0);
		mdt_scope_set_free(s0);
		for (int step = 0; step < STEPS && !mdt_token_is_sealed(cur);
		    step++) {
			int forged = pick(3) == 0;

			next = forged ? forged_attenuate(cur, &root_pub,
			    agent_pub.bytes, &principal_refused) :
			    rand_attenuate(cur, root, agent, &offline_refused);
			if (next == NULL) {
				sequences_with_forgery_refused += forged;
				continue;
			}
			if (!forged) {
				mdt_token *r = received(next, &root_pub);

				mdt_token_free(next);
				next = r;
			}
			assert_narrower(cur, next, seq);
			assert_same_principal(cur, next, seq);
			mdt_token_free(cur);
			cur = next;
		}
		mdt_token_free(cur);
	}
	printf("invariant 1: %ld checks, %ld allowed by a child, %ld forged "
	    "blocks refused (%ld for holder or task), %ld offline holder or "
	    "task changes refused\n", total_checks, allowed_pairs,
	    sequences_with_forgery_refused, principal_refused,
	    offline_refused);
	/* The random space must exercise both outcomes substantially. */
	ck_assert_msg(total_checks >= 5000, "only %ld checks", total_checks);
	ck_assert_msg(allowed_pairs >= 1000, "only %ld allowed", allowed_pairs);
	ck_assert_msg(sequences_with_forgery_refused > 10,
	    "only %ld forged widenings refused", sequences_with_forgery_refused);
	ck_assert_msg(principal_refused > 10 && offline_refused > 10,
	    "only %ld forged and %ld offline holder or task changes refused",
	    principal_refused, offline_refused);
	mdt_keypair_free(root);
	mdt_keypair_free(orch);
	mdt_keypair_free(agent);
}
END_TEST

static Suite *
invariant_suite(void)
{
	Suite *s = suite_create("token_invariant");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, monotonic_narrowing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(invariant_suite());
}
