/*
 * Tokens: mint, attenuate, delegate, seal, single-action tokens, text
 * form, accessors, request checks, proofs of possession and the cache.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/token.h>

#include "testutil.h"
#include "token_fixture.h"

static mdt_keypair *root, *orch, *agent, *agent2;
static mdt_pubkey root_pub;

static void
setup(void)
{
	root = tf_key(1);
	orch = tf_key(2);
	agent = tf_key(3);
	agent2 = tf_key(4);
	root_pub = tf_pub(root);
}

static void
teardown(void)
{
	mdt_keypair_free(root);
	mdt_keypair_free(orch);
	mdt_keypair_free(agent);
	mdt_keypair_free(agent2);
}

/* Re-decodes and verifies tok's bytes: the received view of it. */
static mdt_token *
reopen(const mdt_token *tok, mdt_token_reason *why)
{
	size_t len;
	const uint8_t *b = mdt_token_bytes(tok, &len);
	mdt_token *out = NULL;

	if (mdt_token_open(b, len, &root_pub, NULL, &out, why) != 0)
		return NULL;
	return out;
}

START_TEST(mint_verify_accessors)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs "
	    "patient/Patient.r", 3, 9), *back;
	mdt_token_reason why;
	mdt_scope_set *s;
	mdt_pubkey hk, opub = tf_pub(orch);
	char *text;
	uint8_t kid[MDT_KEY_ID_BYTES];

	back = reopen(t, &why);
	ck_assert_msg(back != NULL, "%s", why.message);
	ck_assert(mdt_token_is_verified(back));
	ck_assert_str_eq(mdt_token_task_id(back), "task-1");
	ck_assert_ptr_null(mdt_token_parent_task_id(back));
	ck_assert_str_eq(mdt_token_clinician(back), "dr-house");
	ck_assert_str_eq(mdt_token_patient(back), TF_PATIENT);
	ck_assert_str_eq(mdt_token_purpose(back), "TREAT");
	ck_assert_int_eq(mdt_token_issued_at(back), TF_NOW);
	ck_assert_int_eq(mdt_token_expires_at(back), TF_NOW + TF_TTL);
	ck_assert_uint_eq(mdt_token_depth(back), 3);
	ck_assert_str_eq(mdt_token_holder_id(back), TF_ORCH);
	mdt_token_holder_key(back, &hk);
	ck_assert(mdt_pubkey_equal(&hk, &opub));
	ck_assert_ptr_null(mdt_token_audience(back));
	ck_assert_uint_eq(mdt_token_block_count(back), 1);
	ck_assert(!mdt_token_is_sealed(back));
	mdt_key_id(&root_pub, kid);
	ck_assert_mem_eq(mdt_token_key_id(back), kid, sizeof(kid));
	ck_assert_int_eq(mdt_token_scopes(back, &s), 0);
	ck_assert_int_eq(mdt_scope_set_format(s, &text), 0);
	ck_assert_str_eq(text, "patient/Observation.rs patient/Patient.r");
	mdt_free(text);
	mdt_scope_set_free(s);
	mdt_token_free(back);
	mdt_token_free(t);
	mdt_token_free(NULL);
}
END_TEST

START_TEST(text_form_round_trip)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token *back = NULL;
	mdt_token_reason why;
	uint8_t a[32], b[32];
	char *text, ida[MDT_TOKEN_ID_TEXT_BYTES];
	size_t l1, l2;

	ck_assert_int_eq(mdt_token_to_text(t, &text), 0);
	ck_assert(strncmp(text, "mdt1.", 5) == 0);
	ck_assert_int_eq(mdt_token_open_text(text, strlen(text), &root_pub,
	    NULL, &back, &why), 0);
	ck_assert_mem_eq(mdt_token_bytes(t, &l1), mdt_token_bytes(back, &l2),
	    l1);
	ck_assert_uint_eq(l1, l2);
	mdt_token_id(t, a);
	mdt_token_id(back, b);
	ck_assert_mem_eq(a, b, 32);
	mdt_token_id_text(t, ida);
	ck_assert_uint_eq(strlen(ida), 64);
	/* Not canonical base64url, or no prefix: refused. */
	text[strlen(text) - 1] = '=';
	ck_assert_int_eq(mdt_token_decode_text(text, strlen(text), &back,
	    &why), -MDT_EDECODE);
	ck_assert_int_eq(mdt_token_decode_text(text + 1, strlen(text) - 1,
	    &back, &why), -MDT_EDECODE);
	mdt_token_text_free(text);
	mdt_token_free(back);
	mdt_token_free(t);
}
END_TEST

START_TEST(attenuation_narrows)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs "
	    "patient/Condition.rs", 2, 9);
	mdt_token *n = tf_narrow(t, "patient/Observation.r");
	mdt_token_reason why;

	ck_assert_int_eq(tf_check(t, "s", "Observation", TF_NOW, &why), 0);
	ck_assert_int_eq(tf_check(t, "r", "Condition/7", TF_NOW, &why), 0);
	ck_assert_int_eq(tf_check(n, "r", "Observation/1", TF_NOW, &why), 0);
	ck_assert_int_eq(tf_check(n, "s", "Observation", TF_NOW, &why),
	    -MDT_ESCOPE);
	ck_assert_int_eq(why.block, 1);
	ck_assert_int_eq(tf_check(n, "r", "Condition/7", TF_NOW, &why),
	    -MDT_ESCOPE);
	ck_assert_int_eq(why.block, 1);
	ck_assert_uint_eq(mdt_token_depth(n), 2); /* same holder: no cost */
	mdt_token_free(n);
	mdt_token_free(t);
}
END_TEST

START_TEST(attenuation_cannot_widen)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.r", 2, 9);
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	mdt_token *out = NULL;
	mdt_scope_set *wide = tf_scopes("patient/Observation.rs");
	mdt_scope_set *other = tf_scopes("user/Observation.r");

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.scopes = wide;
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &out, &why), -MDT_ESCOPE);
	ck_assert_int_eq(why.block, 1);
	p.scopes = other; /* context widening: user/ under patient/ */
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &out, &why), -MDT_ESCOPE);
	p.scopes = NULL;
	p.expires_at = TF_NOW + TF_TTL + 1;
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &out, &why), -MDT_EINVAL);
	p.expires_at = 0;
	p.depth = 2; /* not strictly lower */
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &out, &why), -MDT_EDEPTH);
	ck_assert_ptr_null(out);
	mdt_scope_set_free(wide);
	mdt_scope_set_free(other);
	mdt_token_free(t);
}
END_TEST

START_TEST(delegation_consumes_depth)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 1, 9);
	mdt_token *d1 = tf_delegate(t, root, TF_AGENT, agent,
	    "patient/Observation.r");
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	mdt_pubkey k2 = tf_pub(agent2), hk;
	mdt_token *out = NULL, *back;

	ck_assert_uint_eq(mdt_token_depth(d1), 0);
	ck_assert_str_eq(mdt_token_holder_id(d1), TF_AGENT);
	mdt_token_holder_key(d1, &hk);
	k2 = tf_pub(agent);
	ck_assert(mdt_pubkey_equal(&hk, &k2));
	k2 = tf_pub(agent2);
	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.holder_id = TF_AGENT2;
	p.holder_key = &k2;
	p.broker = root;
	ck_assert_int_eq(mdt_token_attenuate(d1, &p, &out, &why), -MDT_EDEPTH);
	p.holder_id = NULL;
	p.holder_key = NULL;
	p.broker = NULL;
	ck_assert_ptr_null(out);
	/* Narrowing without delegation is still allowed at depth 0. */
	out = tf_narrow(d1, NULL);
	back = reopen(out, &why);
	ck_assert_msg(back != NULL, "%s", why.message);
	mdt_token_free(back);
	mdt_token_free(out);
	mdt_token_free(d1);
	mdt_token_free(t);
}
END_TEST

START_TEST(tasks_chain)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	mdt_pubkey k = tf_pub(agent);
	mdt_token *sub = NULL;

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.holder_id = TF_AGENT;
	p.holder_key = &k;
	p.task_id = "task-1.1";
	p.broker = root;
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &sub, &why), 0);
	ck_assert_str_eq(mdt_token_task_id(sub), "task-1.1");
	ck_assert_str_eq(mdt_token_parent_task_id(sub), "task-1");
	ck_assert_str_eq(mdt_token_task_chain(sub, 0), "task-1");
	ck_assert_str_eq(mdt_token_task_chain(sub, 1), "task-1.1");
	ck_assert_ptr_null(mdt_token_task_chain(sub, 2));
	mdt_token_free(sub);
	mdt_token_free(t);
}
END_TEST

START_TEST(sealed_cannot_attenuate)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token *s = NULL, *out = NULL, *back;
	mdt_token_attenuate_params p;
	mdt_token_reason why;

	ck_assert_int_eq(mdt_token_seal(t, &s, &why), 0);
	ck_assert(mdt_token_is_sealed(s));
	ck_assert_uint_eq(mdt_token_block_count(s), 2);
	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	ck_assert_int_eq(mdt_token_attenuate(s, &p, &out, &why), -MDT_ESEALED);
	ck_assert_int_eq(mdt_token_seal(s, &out, &why), -MDT_ESEALED);
	back = reopen(s, &why);
	ck_assert_msg(back != NULL, "%s", why.message);
	ck_assert(mdt_token_is_sealed(back));
	ck_assert_int_eq(tf_check(back, "r", "Observation/1", TF_NOW, &why), 0);
	mdt_token_free(back);
	mdt_token_free(s);
	mdt_token_free(t);
}
END_TEST

START_TEST(time_checks)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	mdt_token *s = NULL;

	ck_assert_int_eq(tf_check(t, "r", "Observation/1", TF_NOW + TF_TTL - 1,
	    &why), 0);
	ck_assert_int_eq(tf_check(t, "r", "Observation/1", TF_NOW + TF_TTL,
	    &why), -MDT_EEXPIRED);
	ck_assert_int_eq(why.block, 0);
	ck_assert_int_eq(tf_check(t, "r", "Observation/1",
	    TF_NOW - MDT_TOKEN_SKEW_SECONDS, &why), 0);
	ck_assert_int_eq(tf_check(t, "r", "Observation/1",
	    TF_NOW - MDT_TOKEN_SKEW_SECONDS - 1, &why), -MDT_EEXPIRED);
	ck_assert_ptr_nonnull(strstr(why.message, "not valid before"));
	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.expires_at = TF_NOW + 10;
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &s, &why), 0);
	ck_assert_int_eq(mdt_token_expires_at(s), TF_NOW + 10);
	ck_assert_int_eq(tf_check(s, "r", "Observation/1", TF_NOW + 10, &why),
	    -MDT_EEXPIRED);
	ck_assert_int_eq(why.block, 1);
	mdt_token_free(s);
	mdt_token_free(t);
}
END_TEST

START_TEST(patient_and_holder_checks)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token_check_params p;
	mdt_token_reason why;

	memset(&p, 0, sizeof(p));
	p.action = "r";
	p.resource = "Observation/1";
	p.patient = "pat-999";
	p.now = TF_NOW;
	ck_assert_int_eq(mdt_token_check(t, &p, &why), -MDT_EPATIENT);
	p.patient = TF_PATIENT;
	p.holder_id = TF_AGENT;
	ck_assert_int_eq(mdt_token_check(t, &p, &why), -MDT_EHOLDER);
	p.holder_id = TF_ORCH;
	ck_assert_int_eq(mdt_token_check(t, &p, &why), 0);
	p.audience = "spiffe://clinic.example/fhir";
	ck_assert_int_eq(mdt_token_check(t, &p, &why), 0);
	p.flags = MDT_TOKEN_CHECK_SINGLE_ACTION;
	ck_assert_int_eq(mdt_token_check(t, &p, &why), -MDT_EAUDIENCE);
	mdt_token_free(t);
}
END_TEST

START_TEST(unverified_tokens_refused)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token *d = NULL, *out = NULL;
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	size_t len;
	const uint8_t *b = mdt_token_bytes(t, &len);
	mdt_keypair *other = tf_key(77);
	mdt_pubkey opub = tf_pub(other);

	ck_assert_int_eq(mdt_token_decode(b, len, &d, &why), 0);
	ck_assert(!mdt_token_is_verified(d));
	ck_assert_int_eq(tf_check(d, "r", "Observation/1", TF_NOW, &why),
	    -MDT_EINVAL);
	/* Offline attenuation of a merely decoded token: unverified too,
	 * until the result is verified as a whole. */
	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	ck_assert_int_eq(mdt_token_attenuate(d, &p, &out, &why), 0);
	ck_assert(!mdt_token_is_verified(out));
	ck_assert_int_eq(tf_check(out, "r", "Observation/1", TF_NOW, &why),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_token_verify(out, &root_pub, NULL, &why), 0);
	ck_assert_int_eq(tf_check(out, "r", "Observation/1", TF_NOW, &why), 0);
	mdt_token_free(out);
	ck_assert_int_eq(mdt_token_verify(d, &opub, NULL, &why), -MDT_EKEY);
	ck_assert(!mdt_token_is_verified(d));
	ck_assert_int_eq(mdt_token_verify(d, &root_pub, NULL, &why), 0);
	ck_assert_int_eq(tf_check(d, "r", "Observation/1", TF_NOW, &why), 0);
	mdt_keypair_free(other);
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

static mdt_token *
single(const mdt_token *t, const char *action, const char *res)
{
	mdt_token_single_params sp = {action, res,
	    "spiffe://clinic.example/fhir", TF_NOW, 60, NULL, root};
	mdt_token_reason why;
	mdt_token *out = NULL;

	ck_assert_msg(mdt_token_single_action(t, &sp, &out, &why) == 0, "%s",
	    why.message);
	return out;
}

START_TEST(single_action_tokens)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs "
	    "patient/Condition.r", 2, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent, NULL);
	mdt_token *s = single(d, "r", "Observation/42");
	mdt_token *r;
	mdt_token_single_params sp = {"d", "Observation/42",
	    "spiffe://clinic.example/fhir", TF_NOW, 60, NULL, root};
	mdt_token_check_params p;
	mdt_token_reason why;
	mdt_token_pop pop;

	ck_assert(mdt_token_is_sealed(s));
	ck_assert_int_eq(mdt_token_expires_at(s), TF_NOW + 60);
	ck_assert_int_eq(mdt_token_single_action(d, &sp, &r, &why),
	    -MDT_ESCOPE);
	r = reopen(s, &why);
	ck_assert_msg(r != NULL, "%s", why.message);
	memset(&p, 0, sizeof(p));
	p.action = "r";
	p.resource = "Observation/42";
	p.patient = TF_PATIENT;
	p.now = TF_NOW + 5;
	p.audience = "spiffe://clinic.example/fhir";
	p.flags = MDT_TOKEN_CHECK_SINGLE_ACTION;
	memset(&pop, 0, sizeof(pop));
	pop.audience = p.audience;
	pop.action = "r";
	pop.resource = "Observation/42";
	pop.nonce = "req-1";
	pop.time = TF_NOW + 4;
	ck_assert_int_eq(mdt_token_pop_sign(r, agent, &pop), 0);
	p.pop = &pop;
	p.pop_max_age = 30;
	ck_assert_msg(mdt_token_check(r, &p, &why) == 0, "%s", why.message);
	p.action = "s";
	ck_assert_int_eq(mdt_token_check(r, &p, &why), -MDT_EHOLDER);
	p.pop = NULL;
	ck_assert_int_eq(mdt_token_check(r, &p, &why), -MDT_ESCOPE);
	p.action = "r";
	p.resource = "Observation/43";
	ck_assert_int_eq(mdt_token_check(r, &p, &why), -MDT_ESCOPE);
	p.resource = "Observation/42";
	p.audience = "spiffe://clinic.example/other";
	ck_assert_int_eq(mdt_token_check(r, &p, &why), -MDT_EAUDIENCE);
	p.audience = NULL;
	p.flags = 0;
	ck_assert_int_eq(mdt_token_check(r, &p, &why), -MDT_EAUDIENCE);
	p.audience = "spiffe://clinic.example/fhir";
	p.now = TF_NOW + 60;
	ck_assert_int_eq(mdt_token_check(r, &p, &why), -MDT_EEXPIRED);
	/* The unsealed token fails the single-action requirement. */
	p.now = TF_NOW;
	p.flags = MDT_TOKEN_CHECK_SINGLE_ACTION;
	ck_assert_int_ne(mdt_token_check(d, &p, &why), 0);
	mdt_token_free(r);
	mdt_token_free(s);
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

START_TEST(tool_scopes)
{
	mdt_token *t = tf_mint(root, orch, "tool/fax.x patient/Observation.r",
	    2, 9);
	mdt_token *s;
	mdt_token_check_params p;
	mdt_token_reason why;

	ck_assert_int_eq(tf_check(t, "x", "tool/fax", TF_NOW, &why), 0);
	ck_assert_int_eq(tf_check(t, "x", "tool/export", TF_NOW, &why),
	    -MDT_ESCOPE);
	s = single(t, "x", "tool/fax");
	memset(&p, 0, sizeof(p));
	p.action = "x";
	p.resource = "tool/fax";
	p.patient = TF_PATIENT;
	p.now = TF_NOW + 1;
	p.audience = "spiffe://clinic.example/fhir";
	p.flags = MDT_TOKEN_CHECK_SINGLE_ACTION;
	ck_assert_msg(mdt_token_check(s, &p, &why) == 0, "%s", why.message);
	p.resource = "Observation/1";
	p.action = "r";
	ck_assert_int_eq(mdt_token_check(s, &p, &why), -MDT_ESCOPE);
	mdt_token_free(s);
	mdt_token_free(t);
}
END_TEST

START_TEST(proof_of_possession)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent, NULL);
	mdt_token_reason why;
	mdt_token_pop pop;

	memset(&pop, 0, sizeof(pop));
	pop.action = "r";
	pop.resource = "Observation/1";
	pop.nonce = "n-1";
	pop.time = TF_NOW;
	ck_assert_int_eq(mdt_token_pop_sign(d, orch, &pop), -MDT_EHOLDER);
	ck_assert_int_eq(mdt_token_pop_sign(d, agent, &pop), 0);
	ck_assert_int_eq(mdt_token_pop_verify(d, &pop, TF_NOW + 30, 30, &why), 0);
	ck_assert_int_eq(mdt_token_pop_verify(d, &pop, TF_NOW + 31, 30, &why),
	    -MDT_EEXPIRED);
	ck_assert_int_eq(mdt_token_pop_verify(d, &pop, TF_NOW - 31, 30, &why),
	    -MDT_EEXPIRED);
	/* Bound to the token: the parent token (other id, other holder). */
	ck_assert_int_eq(mdt_token_pop_verify(t, &pop, TF_NOW, 30, &why),
	    -MDT_EHOLDER);
	pop.nonce = "n-2";
	ck_assert_int_eq(mdt_token_pop_verify(d, &pop, TF_NOW, 30, &why),
	    -MDT_EHOLDER);
	pop.nonce = "n-1";
	pop.time++;
	ck_assert_int_eq(mdt_token_pop_verify(d, &pop, TF_NOW, 30, &why),
	    -MDT_EHOLDER);
	pop.time--;
	pop.sig[10] ^= 1;
	ck_assert_int_eq(mdt_token_pop_verify(d, &pop, TF_NOW, 30, &why),
	    -MDT_EHOLDER);
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

START_TEST(cache_prefixes)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 4, 9);
	mdt_token *a = tf_delegate(t, root, TF_AGENT, agent, NULL);
	mdt_token *b = tf_narrow(a, "patient/Observation.r");
	mdt_token_cache *c = NULL;
	mdt_token_reason why;
	mdt_token *x;
	uint8_t *bytes;
	size_t len;

	ck_assert_int_eq(mdt_token_cache_new(0, &c), -MDT_EINVAL);
	ck_assert_int_eq(mdt_token_cache_new(64, &c), 0);
	bytes = tf_bytes(a, &len);
	ck_assert_int_eq(mdt_token_open(bytes, len, &root_pub, c, &x, &why), 0);
	mdt_token_free(x);
	ck_assert_int_eq(mdt_token_open(bytes, len, &root_pub, c, &x, &why), 0);
	mdt_token_free(x);
	free(bytes);
	/* Prefix cached; a forged last block must still fail. */
	bytes = tf_bytes(b, &len);
	bytes[len - 10] ^= 1; /* inside the proof: secret no longer matches */
	ck_assert_int_eq(mdt_token_open(bytes, len, &root_pub, c, &x, &why),
	    -MDT_ECHAIN);
	bytes[len - 10] ^= 1;
	bytes[len - 40] ^= 1; /* last block's signature */
	ck_assert_int_eq(mdt_token_open(bytes, len, &root_pub, c, &x, &why),
	    -MDT_ESIG);
	ck_assert_int_eq(why.block, 2);
	free(bytes);
	bytes = tf_bytes(b, &len);
	ck_assert_int_eq(mdt_token_open(bytes, len, &root_pub, c, &x, &why), 0);
	mdt_token_free(x);
	free(bytes);
	/* Same bytes under another root: no cache hit, key id refused. */
	{
		mdt_keypair *o = tf_key(99);
		mdt_pubkey op = tf_pub(o);

		bytes = tf_bytes(b, &len);
		ck_assert_int_eq(mdt_token_open(bytes, len, &op, c, &x, &why),
		    -MDT_EKEY);
		free(bytes);
		mdt_keypair_free(o);
	}
	mdt_token_cache_free(c);
	mdt_token_cache_free(NULL);
	mdt_token_free(b);
	mdt_token_free(a);
	mdt_token_free(t);
}
END_TEST

/* Several threads verify through one cache; forged bytes never pass. */
typedef struct par {
	const uint8_t *good, *bad;
	size_t good_len, bad_len;
	mdt_token_cache *cache;
	int failures;
} par;

static void *
verify_loop(void *arg)
{
	par *p = arg;

	for (int i = 0; i < 60; i++) {
		mdt_token *x = NULL;

		if (mdt_token_open(p->good, p->good_len, &root_pub, p->cache, &x,
		    NULL) != 0)
			p->failures++;
		mdt_token_free(x);
		x = NULL;
		if (mdt_token_open(p->bad, p->bad_len, &root_pub, p->cache, &x,
		    NULL) != -MDT_ESIG)
			p->failures++;
		mdt_token_free(x);
	}
	return NULL;
}

START_TEST(cache_shared_by_threads)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent, NULL);
	size_t glen, blen;
	uint8_t *good = tf_bytes(d, &glen), *bad = tf_bytes(d, &blen);
	mdt_token_block_view v;
	mdt_token_cache *c;
	pthread_t th[4];
	par p[4];

	ck_assert_int_eq(mdt_token_block(d, 1, &v), 0);
	bad[v.signature - mdt_token_bytes(d, &blen) + 3] ^= 0x20;
	ck_assert_int_eq(mdt_token_cache_new(8, &c), 0);
	for (int i = 0; i < 4; i++) {
		p[i] = (par){good, bad, glen, blen, c, 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, verify_loop, &p[i]),
		    0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(p[i].failures, 0);
	}
	mdt_token_cache_free(c);
	free(good);
	free(bad);
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

START_TEST(json_and_block_views)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent,
	    "patient/Observation.r");
	mdt_token_block_view v;
	char *json;

	ck_assert_int_eq(mdt_token_block(d, 1, &v), 0);
	ck_assert_str_eq(v.holder_id, TF_AGENT);
	ck_assert(v.fields & MDT_TOKEN_F(MDT_TOKEN_FIELD_DEPTH));
	ck_assert(!(v.fields & MDT_TOKEN_F(MDT_TOKEN_FIELD_PATIENT)));
	ck_assert_uint_eq(v.depth, 1);
	ck_assert_int_eq(mdt_token_block(d, 2, &v), -MDT_EINVAL);
	ck_assert_int_eq(mdt_token_to_json(d, &json), 0);
	ck_assert_ptr_nonnull(strstr(json, "\"holder\": \"" TF_AGENT "\""));
	ck_assert_ptr_nonnull(strstr(json, "\"carries_secret\": true"));
	ck_assert_ptr_nonnull(strstr(json, "patient/Observation.r\""));
	mdt_free(json);
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

START_TEST(mint_rejects_bad_params)
{
	mdt_token_mint_params p;
	mdt_token_reason why;
	mdt_pubkey hk = tf_pub(orch);
	mdt_scope_set *s = tf_scopes("patient/Observation.r");
	mdt_token *t = NULL;

	memset(&p, 0, sizeof(p));
	p.clinician = "dr";
	p.patient = "p";
	p.purpose = "TREAT";
	p.scopes = s;
	p.issued_at = TF_NOW;
	p.expires_at = TF_NOW + 1;
	p.holder_id = TF_ORCH;
	p.holder_key = &hk;
	ck_assert_int_eq(mdt_token_mint(root, &p, &t, &why), 0);
	ck_assert_uint_eq(strlen(mdt_token_task_id(t)), 32); /* random id */
	mdt_token_free(t);
	t = NULL;
	p.purpose = "treat";
	ck_assert_int_eq(mdt_token_mint(root, &p, &t, &why), -MDT_EPARSE);
	p.purpose = "TREAT";
	p.holder_id = "spiffe://Clinic/x";
	ck_assert_int_eq(mdt_token_mint(root, &p, &t, &why), -MDT_EPARSE);
	p.holder_id = TF_ORCH;
	p.expires_at = TF_NOW;
	ck_assert_int_eq(mdt_token_mint(root, &p, &t, &why), -MDT_EINVAL);
	p.expires_at = TF_NOW + 1;
	p.depth = MDT_TOKEN_DEPTH_MAX + 1;
	ck_assert_int_eq(mdt_token_mint(root, &p, &t, &why), -MDT_ETOOBIG);
	p.depth = 0;
	p.patient = "line\nbreak";
	ck_assert_int_eq(mdt_token_mint(root, &p, &t, &why), -MDT_EPARSE);
	p.patient = NULL;
	ck_assert_int_eq(mdt_token_mint(root, &p, &t, &why), -MDT_EINVAL);
	ck_assert_ptr_null(t);
	mdt_scope_set_free(s);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mint_verify_accessors);
	tcase_add_test(tc, text_form_round_trip);
	tcase_add_test(tc, attenuation_narrows);
	tcase_add_test(tc, attenuation_cannot_widen);
	tcase_add_test(tc, delegation_consumes_depth);
	tcase_add_test(tc, tasks_chain);
	tcase_add_test(tc, sealed_cannot_attenuate);
	tcase_add_test(tc, time_checks);
	tcase_add_test(tc, patient_and_holder_checks);
	tcase_add_test(tc, unverified_tokens_refused);
	tcase_add_test(tc, single_action_tokens);
	tcase_add_test(tc, tool_scopes);
	tcase_add_test(tc, proof_of_possession);
	tcase_add_test(tc, cache_prefixes);
	tcase_add_test(tc, cache_shared_by_threads);
	tcase_add_test(tc, json_and_block_views);
	tcase_add_test(tc, mint_rejects_bad_params);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(token_suite());
}
