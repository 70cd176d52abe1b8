/*
 * Golden test vectors for the token format (tests/vectors/token-v1.json,
 * documented in docs/token-format.md): fixed seeds, keys and times give
 * fixed bytes; the recorded bytes give fixed decisions and rejections.
 * Run with MDT_VECTORS_OUT=FILE to (re)write the vector file instead of
 * comparing against it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <mandate/token.h>

#include "testutil.h"
#include "token_fixture.h"
#include "token_int.h"

#define T0 1767225600 /* 2026-01-01T00:00:00Z */
#define AUD "spiffe://clinic.example/fhir"

static const char *const code_names[] = {
	[MDT_OK] = "OK", [MDT_EDECODE] = "MDT_EDECODE",
	[MDT_ESIG] = "MDT_ESIG", [MDT_EEXPIRED] = "MDT_EEXPIRED",
	[MDT_ESCOPE] = "MDT_ESCOPE", [MDT_EPATIENT] = "MDT_EPATIENT",
	[MDT_EAUDIENCE] = "MDT_EAUDIENCE", [MDT_EKEY] = "MDT_EKEY",
	[MDT_ECHAIN] = "MDT_ECHAIN", [MDT_EHOLDER] = "MDT_EHOLDER",
	[MDT_EDEPTH] = "MDT_EDEPTH", [MDT_ESEALED] = "MDT_ESEALED",
};

static const char *
code_name(int rc)
{
	int c = rc < 0 ? -rc : rc;

	ck_assert(c < (int)(sizeof(code_names) / sizeof(code_names[0])) &&
	    code_names[c] != NULL);
	return code_names[c];
}

static char *
hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	sodium_bin2hex(s, 2 * n + 1, p, n);
	return s;
}

static json_t *
jhex(const uint8_t *p, size_t n)
{
	char *s = hex(p, n);
	json_t *j = json_string(s);

	free(s);
	return j;
}

static uint8_t *
unhex(const char *s, size_t *n)
{
	size_t len = strlen(s);
	uint8_t *b = malloc(len / 2 + 1);

	ck_assert_int_eq(sodium_hex2bin(b, len / 2 + 1, s, len, NULL, n, NULL),
	    0);
	return b;
}

/* ------------------------------------------------------- the tokens */

typedef struct vec {
	mdt_keypair *root, *orch, *agent;
	mdt_token *minted, *delegated, *single, *offline;
} vec;

static void
seed_of(uint8_t fill, uint8_t seed[32])
{
	memset(seed, fill, 32);
}

static mdt_token *
make_minted(vec *v)
{
	mdt_token_mint_params p;
	mdt_pubkey hk = tf_pub(v->orch);
	mdt_scope_set *s = tf_scopes("patient/Observation.rs "
	    "patient/Condition.rs");
	uint8_t next[32];
	mdt_token_reason why;
	mdt_token *t = NULL;

	seed_of(0x11, next);
	memset(&p, 0, sizeof(p));
	p.task_id = "task-0001";
	p.clinician = "Practitioner/dr-ada";
	p.patient = "pat-123";
	p.purpose = "TREAT";
	p.scopes = s;
	p.issued_at = T0;
	p.expires_at = T0 + 900;
	p.depth = 2;
	p.holder_id = "spiffe://clinic.example/orchestrator";
	p.holder_key = &hk;
	p.next_seed = next;
	ck_assert_msg(mdt_token_mint(v->root, &p, &t, &why) == 0, "%s",
	    why.message);
	mdt_scope_set_free(s);
	return t;
}

static mdt_token *
make_delegated(vec *v)
{
	mdt_token_attenuate_params p;
	mdt_pubkey hk = tf_pub(v->agent);
	mdt_scope_set *s = tf_scopes("patient/Observation.rs");
	uint8_t next[32];
	mdt_token_reason why;
	mdt_token *t = NULL;

	seed_of(0x12, next);
	memset(&p, 0, sizeof(p));
	p.scopes = s;
	p.expires_at = T0 + 600;
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.holder_id = "spiffe://clinic.example/agent/labs";
	p.holder_key = &hk;
	p.task_id = "task-0001.1";
	p.issued_at = T0 + 10;
	p.next_seed = next;
	p.broker = v->root; /* a delegation is the broker's */
	ck_assert_msg(mdt_token_attenuate(v->minted, &p, &t, &why) == 0, "%s",
	    why.message);
	mdt_scope_set_free(s);
	return t;
}

/* The same single action made by the broker (broker: the root key) or
 * offline by the holder (NULL), with a nonce of 16 x fill. */
static mdt_token *
make_single(vec *v, const mdt_keypair *broker, uint8_t fill)
{
	uint8_t nonce[MDT_TOKEN_NONCE_BYTES];
	mdt_token_single_params p = {"r", "Observation/obs-1", AUD, T0 + 20,
	    60, nonce, broker};
	mdt_token_reason why;
	mdt_token *t = NULL;

	memset(nonce, fill, sizeof(nonce));
	ck_assert_msg(mdt_token_single_action(v->delegated, &p, &t, &why) == 0,
	    "%s", why.message);
	return t;
}

static void
vec_make(vec *v)
{
	v->root = tf_key(0x01);
	v->orch = tf_key(0x02);
	v->agent = tf_key(0x03);
	v->minted = make_minted(v);
	v->delegated = make_delegated(v);
	v->single = make_single(v, v->root, 0x13);
	v->offline = make_single(v, NULL, 0x14);
}

static void
vec_free(vec *v)
{
	mdt_token_free(v->minted);
	mdt_token_free(v->delegated);
	mdt_token_free(v->single);
	mdt_token_free(v->offline);
	mdt_keypair_free(v->root);
	mdt_keypair_free(v->orch);
	mdt_keypair_free(v->agent);
}

/* --------------------------------------------------------- decisions */

typedef struct decision {
	const char *token;
	const char *action, *resource, *patient, *audience;
	int64_t now;
	unsigned flags;
} decision;

static const decision decisions[] = {
	{"minted", "r", "Condition/c-1", "pat-123", NULL, T0 + 30, 0},
	{"minted", "r", "Observation/obs-1", "pat-123", NULL, T0 + 899, 0},
	{"minted", "r", "Observation/obs-1", "pat-123", NULL, T0 + 900, 0},
	{"minted", "d", "Observation/obs-1", "pat-123", NULL, T0 + 30, 0},
	{"delegated", "r", "Observation/obs-1", "pat-123", NULL, T0 + 30, 0},
	{"delegated", "s", "Observation", "pat-123", NULL, T0 + 30, 0},
	{"delegated", "r", "Condition/c-1", "pat-123", NULL, T0 + 30, 0},
	{"delegated", "r", "Observation/obs-1", "pat-999", NULL, T0 + 30, 0},
	{"delegated", "r", "Observation/obs-1", "pat-123", NULL, T0 + 600, 0},
	{"delegated", "r", "Observation/obs-1", "pat-123", NULL, T0 - 100, 0},
	{"single_action", "r", "Observation/obs-1", "pat-123", AUD, T0 + 30,
	    MDT_TOKEN_CHECK_SINGLE_ACTION},
	{"single_action", "r", "Observation/obs-1", "pat-123", AUD, T0 + 80,
	    MDT_TOKEN_CHECK_SINGLE_ACTION},
	{"single_action", "s", "Observation/obs-1", "pat-123", AUD, T0 + 30,
	    MDT_TOKEN_CHECK_SINGLE_ACTION},
	{"single_action", "r", "Observation/obs-2", "pat-123", AUD, T0 + 30,
	    MDT_TOKEN_CHECK_SINGLE_ACTION},
	{"single_action", "r", "Observation/obs-1", "pat-123",
	    "spiffe://clinic.example/other", T0 + 30,
	    MDT_TOKEN_CHECK_SINGLE_ACTION},
	{"delegated", "r", "Observation/obs-1", "pat-123", AUD, T0 + 30,
	    MDT_TOKEN_CHECK_SINGLE_ACTION},
	{"single_action_offline", "r", "Observation/obs-1", "pat-123", AUD,
	    T0 + 30, MDT_TOKEN_CHECK_SINGLE_ACTION},
	{"single_action_offline", "r", "Observation/obs-1", "pat-123", AUD,
	    T0 + 30, 0},
};

static const mdt_token *
by_name(const vec *v, const char *name)
{
	if (strcmp(name, "minted") == 0)
		return v->minted;
	if (strcmp(name, "delegated") == 0)
		return v->delegated;
	if (strcmp(name, "single_action_offline") == 0)
		return v->offline;
	ck_assert_str_eq(name, "single_action");
	return v->single;
}

static int
run_decision(const mdt_token *t, const decision *d, mdt_token_reason *why)
{
	mdt_token_check_params p;

	memset(&p, 0, sizeof(p));
	p.action = d->action;
	p.resource = d->resource;
	p.patient = d->patient;
	p.audience = d->audience;
	p.now = d->now;
	p.flags = d->flags;
	return mdt_token_check(t, &p, why);
}

static json_t *
decision_json(const vec *v, const decision *d)
{
	mdt_token_reason why;
	int rc = run_decision(by_name(v, d->token), d, &why);

	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I, s:b, s:s, s:s, s:i}",
	    "token", d->token, "action", d->action, "resource", d->resource,
	    "patient", d->patient, "audience", d->audience,
	    "now", (json_int_t)d->now,
	    "single_action", (d->flags & MDT_TOKEN_CHECK_SINGLE_ACTION) != 0,
	    "result", rc == 0 ? "allow" : "deny", "code", code_name(rc),
	    "block", rc == 0 ? -1 : why.block);
}

/* ------------------------------------------------------- rejections */

typedef struct rejection {
	const char *name;
	uint8_t *bytes;
	size_t len;
	int use_orch_as_root;
} rejection;

#define NREJ 8

/*
 * base plus one block of the given bytes, signed by signer under the
 * broker block domain (broker) or the chained one, carrying the secret
 * whose seed is 32 x 0x12 (which raw's next key, if any, must match).
 */
static uint8_t *
append_signed(const mdt_token *base, const uint8_t *raw, size_t raw_len,
    const mdt_keypair *signer, int broker, size_t *len)
{
	uint8_t sig[64], seed[32], *env, *out;
	mdt__tok_raw extra = {raw, raw_len, sig};
	mdt__mp_writer w;

	seed_of(0x12, seed);
	ck_assert_int_eq(mdt__tok_sign_block(signer, (uint32_t)base->nblocks,
	    base->blocks[base->nblocks - 1].sig, raw, raw_len, broker, sig), 0);
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, base, &extra, seed), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &env, len), 0);
	out = malloc(*len); /* freed with the other rejections' bytes */
	memcpy(out, env, *len);
	mdt_free(env);
	return out;
}

/*
 * What a holder of "minted" could append offline with its carried
 * secret: delegated's block 1 without the broker flag (a holder change),
 * or a block that only starts a task.
 */
static uint8_t *
offline_change(const vec *v, int task_only, size_t *len)
{
	uint8_t raw[MDT_TOKEN_BLOCK_BYTES_MAX], seed[32], *out;
	mdt__tok_block b = v->delegated->blocks[1];
	mdt__mp_writer w;
	mdt_keypair *secret;

	b.has &= ~MDT_TOKEN_F(MDT_TOKEN_FIELD_BROKER);
	if (task_only) {
		seed_of(0x12, seed);
		b.has = MDT_TOKEN_F(MDT_TOKEN_FIELD_TASK) |
		    MDT_TOKEN_F(MDT_TOKEN_FIELD_NEXT_KEY);
		b.task = "task-0001.2";
	}
	mdt__mp_writer_init(&w, raw, sizeof(raw));
	ck_assert_int_eq(mdt__tok_write_block(&w, &b, b.scopes), 0);
	ck_assert_int_eq(mdt_keypair_from_seed(v->minted->proof, &secret), 0);
	out = append_signed(v->minted, raw, w.len, secret, 0, len);
	mdt_keypair_free(secret);
	return out;
}

/* The rejections that concern who made a block. */
static void
make_maker_rejections(const vec *v, rejection r[4])
{
	const mdt__tok_block *b1 = &v->delegated->blocks[1];
	size_t len;
	uint8_t *b;

	b = offline_change(v, 0, &len);
	r[0] = (rejection){"offline holder change", b, len, 0};
	b = offline_change(v, 1, &len);
	r[1] = (rejection){"offline task change", b, len, 0};
	b = append_signed(v->minted, b1->raw, b1->raw_len, v->root, 0, &len);
	r[2] = (rejection){"broker block signed under the chained-block domain",
	    b, len, 0};
	b = append_signed(v->minted, b1->raw, b1->raw_len, v->orch, 1, &len);
	r[3] = (rejection){"broker block signed by another key than the root",
	    b, len, 0};
}

/* Byte strings derived from "delegated" that verifiers must refuse. */
static void
make_rejections(const vec *v, rejection r[NREJ])
{
	size_t len, len0;
	uint8_t *b = tf_bytes(v->delegated, &len);
	mdt_token_block_view bv;
	const uint8_t *base = mdt_token_bytes(v->delegated, &len);
	uint8_t *m0 = tf_bytes(v->minted, &len0);

	ck_assert_int_eq(mdt_token_block(v->delegated, 1, &bv), 0);
	r[0] = (rejection){"signature of block 1 altered", b, len, 0};
	b[bv.signature - base + 5] ^= 0x01;
	r[1] = (rejection){"verified against another root key",
	    tf_bytes(v->delegated, &len), len, 1};
	/* Block 0 alone with the delegated token's secret: the minted
	 * envelope (its last 32 bytes are its secret) with that swapped. */
	memcpy(m0 + len0 - 32, base + len - 32, 32);
	r[2] = (rejection){"truncated to block 0, secret kept", m0, len0, 0};
	b = malloc(len + 1);
	memcpy(b, base, len);
	b[len] = 0xc0;
	r[3] = (rejection){"trailing byte", b, len + 1, 0};
	make_maker_rejections(v, r + 4);
}

static int
run_rejection(const vec *v, const rejection *r, mdt_token_reason *why)
{
	mdt_pubkey root = tf_pub(r->use_orch_as_root ? v->orch : v->root);
	mdt_token *t = NULL;
	int rc = mdt_token_open(r->bytes, r->len, &root, NULL, &t, why);

	mdt_token_free(t);
	return rc;
}

/* -------------------------------------------------------------- pop */

static mdt_token_pop
pop_challenge(void)
{
	mdt_token_pop pop;

	memset(&pop, 0, sizeof(pop));
	pop.audience = AUD;
	pop.action = "r";
	pop.resource = "Observation/obs-1";
	pop.nonce = "req-0001";
	pop.time = T0 + 25;
	return pop;
}

/* ----------------------------------------------------------- writing */

static json_t *
key_json(uint8_t fill, const mdt_keypair *kp)
{
	uint8_t seed[32];
	mdt_pubkey pk = tf_pub(kp);
	char text[MDT_KEY_PUBLIC_TEXT_BYTES], kid[MDT_KEY_ID_TEXT_BYTES];

	seed_of(fill, seed);
	mdt_pubkey_to_text(&pk, text);
	mdt_key_id_text(&pk, kid);
	return json_pack("{s:o, s:o, s:s, s:s}", "seed", jhex(seed, 32),
	    "public", jhex(pk.bytes, 32), "public_text", text, "key_id", kid);
}

static json_t *
token_json(const char *name, const mdt_token *t)
{
	size_t len;
	const uint8_t *b = mdt_token_bytes(t, &len);
	char *text, id[MDT_TOKEN_ID_TEXT_BYTES];
	json_t *blocks = json_array(), *o;

	for (size_t i = 0; i < t->nblocks; i++)
		json_array_append_new(blocks, json_pack("{s:o, s:o}", "bytes",
		    jhex(t->blocks[i].raw, t->blocks[i].raw_len),
		    "signature", jhex(t->blocks[i].sig, 64)));
	ck_assert_int_eq(mdt_token_to_text(t, &text), 0);
	mdt_token_id_text(t, id);
	o = json_pack("{s:s, s:o, s:s, s:s, s:b, s:o}", "name", name,
	    "bytes", jhex(b, len), "text", text, "id", id,
	    "sealed", mdt_token_is_sealed(t), "blocks", blocks);
	mdt_token_text_free(text);
	return o;
}

static json_t *
all_json(vec *v)
{
	json_t *decs = json_array(), *rejs = json_array(), *o;
	rejection r[NREJ];
	mdt_token_pop pop = pop_challenge();

	for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++)
		json_array_append_new(decs, decision_json(v, &decisions[i]));
	make_rejections(v, r);
	for (int i = 0; i < NREJ; i++) {
		mdt_token_reason why;
		int rc = run_rejection(v, &r[i], &why);

		json_array_append_new(rejs, json_pack("{s:s, s:o, s:s, s:s, s:i}",
		    "name", r[i].name, "bytes", jhex(r[i].bytes, r[i].len),
		    "root", r[i].use_orch_as_root ? "orchestrator" : "root",
		    "code", code_name(rc), "block", why.block));
		free(r[i].bytes);
	}
	ck_assert_int_eq(mdt_token_pop_sign(v->single, v->agent, &pop), 0);
	o = json_pack("{s:s, s:{s:o, s:o, s:o}, s:[o, o, o, o], s:o, s:o, "
	    "s:{s:s, s:s?, s:s, s:s, s:s, s:I, s:o}}",
	    "format", "mandate token v1 test vectors",
	    "keys", "root", key_json(0x01, v->root),
	    "orchestrator", key_json(0x02, v->orch),
	    "agent", key_json(0x03, v->agent),
	    "tokens", token_json("minted", v->minted),
	    token_json("delegated", v->delegated),
	    token_json("single_action", v->single),
	    token_json("single_action_offline", v->offline),
	    "decisions", decs, "rejections", rejs,
	    "pop", "token", "single_action", "audience", pop.audience,
	    "action", pop.action, "resource", pop.resource, "nonce", pop.nonce,
	    "time", (json_int_t)pop.time, "signature", jhex(pop.sig, 64));
	return o;
}

/* --------------------------------------------------------- checking */

static json_t *
load_vectors(void)
{
	char path[1024];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof(path), "%s/tests/vectors/token-v1.json",
	    mdt_test_source_dir());
	j = json_load_file(path, 0, &err);
	ck_assert_msg(j != NULL, "%s: %s", path, err.text);
	return j;
}

START_TEST(vectors)
{
	const char *out = getenv("MDT_VECTORS_OUT");
	json_t *want, *got;
	vec v;

	vec_make(&v);
	got = all_json(&v);
	if (out != NULL && out[0] != '\0') {
		ck_assert_int_eq(json_dump_file(got, out, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER), 0);
		printf("vectors written to %s\n", out);
	} else {
		want = load_vectors();
		ck_assert_msg(json_equal(want, got),
		    "tokens, decisions or rejections differ from "
		    "tests/vectors/token-v1.json");
		json_decref(want);
	}
	json_decref(got);
	vec_free(&v);
}
END_TEST

/* The recorded bytes alone (no regeneration) verify and decide. */
START_TEST(recorded_bytes_verify)
{
	json_t *j = load_vectors(), *tok, *d;
	mdt_pubkey root;
	size_t i, n;
	uint8_t *pk = unhex(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "keys"), "root"), "public")), &n);

	ck_assert_uint_eq(n, 32);
	memcpy(root.bytes, pk, 32);
	free(pk);
	json_array_foreach(json_object_get(j, "tokens"), i, tok) {
		const char *text = json_string_value(json_object_get(tok, "text"));
		mdt_token *t = NULL;
		mdt_token_reason why;
		char id[MDT_TOKEN_ID_TEXT_BYTES];
		size_t k;

		ck_assert_msg(mdt_token_open_text(text, strlen(text), &root,
		    NULL, &t, &why) == 0, "%s", why.message);
		mdt_token_id_text(t, id);
		ck_assert_str_eq(id, json_string_value(json_object_get(tok,
		    "id")));
		json_array_foreach(json_object_get(j, "decisions"), k, d) {
			decision dd;
			int rc;

			if (strcmp(json_string_value(json_object_get(d, "token")),
			    json_string_value(json_object_get(tok, "name"))) != 0)
				continue;
			dd = (decision){NULL,
			    json_string_value(json_object_get(d, "action")),
			    json_string_value(json_object_get(d, "resource")),
			    json_string_value(json_object_get(d, "patient")),
			    json_string_value(json_object_get(d, "audience")),
			    json_integer_value(json_object_get(d, "now")),
			    json_is_true(json_object_get(d, "single_action")) ?
			    MDT_TOKEN_CHECK_SINGLE_ACTION : 0};
			rc = run_decision(t, &dd, &why);
			ck_assert_str_eq(code_name(rc),
			    json_string_value(json_object_get(d, "code")));
		}
		mdt_token_free(t);
	}
	json_decref(j);
}
END_TEST

static Suite *
vectors_suite(void)
{
	Suite *s = suite_create("token_vectors");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, vectors);
	tcase_add_test(tc, recorded_bytes_verify);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(vectors_suite());
}
