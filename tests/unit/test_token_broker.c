/*
 * The holder rule: only broker blocks (flagged, signed by the root key
 * under their own domain string) change the holder or start a task, and
 * resource servers accept only single-action tokens the broker made.
 * Both directions of every rule, forged blocks that break it, keys and
 * domains that must not pass for the root's, splices, and the
 * verified-prefix cache over broker blocks.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <mandate/token.h>

#include "alloc_int.h"
#include "key_int.h"
#include "testutil.h"
#include "token_fixture.h"
#include "token_int.h"

#define AUD "spiffe://clinic.example/fhir"
#define RES "Observation/1"

static mdt_keypair *root, *orch, *agent, *other;
static mdt_pubkey root_pub;
static const uint8_t next_seed[32] = {0x66, 0x66, 0x66};

static void
setup(void)
{
	root = tf_key(1);
	orch = tf_key(2);
	agent = tf_key(3);
	other = tf_key(4);
	root_pub = tf_pub(root);
}

static void
teardown(void)
{
	mdt_keypair_free(root);
	mdt_keypair_free(orch);
	mdt_keypair_free(agent);
	mdt_keypair_free(other);
}

static mdt_token *
reopen(const mdt_token *t, mdt_token_cache *cache, mdt_token_reason *why)
{
	size_t len;
	const uint8_t *b = mdt_token_bytes(t, &len);
	mdt_token *out = NULL;

	if (mdt_token_open(b, len, &root_pub, cache, &out, why) != 0)
		return NULL;
	return out;
}

static int
open_bytes(const uint8_t *b, size_t len, mdt_token_reason *why)
{
	mdt_token *t = NULL;
	int rc = mdt_token_open(b, len, &root_pub, NULL, &t, why);

	mdt_token_free(t);
	return rc;
}

/* ------------------------------------------------------------ forging */

/*
 * A block of raw bytes appended to tok, signed by signer (NULL: the
 * carried secret) under the broker block domain when domain_broker, the
 * chained one otherwise.  The result carries next_seed.  Caller frees
 * with mdt_free.
 */
static uint8_t *
forge(const mdt_token *tok, const uint8_t *raw, size_t raw_len,
    const mdt_keypair *signer, int domain_broker, size_t *len)
{
	mdt_keypair *kp = NULL;
	uint8_t sig[64], *out;
	mdt__tok_raw extra = {raw, raw_len, sig};
	mdt__mp_writer w;

	if (signer == NULL)
		ck_assert_int_eq(mdt_keypair_from_seed(tok->proof, &kp), 0);
	ck_assert_int_eq(mdt__tok_sign_block(signer != NULL ? signer : kp,
	    (uint32_t)tok->nblocks, tok->blocks[tok->nblocks - 1].sig, raw,
	    raw_len, domain_broker, sig), 0);
	mdt_keypair_free(kp);
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, tok, &extra, next_seed),
	    0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, len), 0);
	return out;
}

/* What forged blocks carry besides their next key (next_seed's). */
enum { WITH_HOLDER = 1, WITH_TASK = 2, WITH_FLAG = 4 };

/* Writes a block: holder (agent, depth 0) and/or task, the next key, and
 * the broker flag, as `what` says. */
static size_t
write_forged(uint8_t *raw, size_t cap, unsigned what)
{
	mdt__tok_block b;
	mdt_pubkey hk = tf_pub(agent);
	uint8_t pk[32];
	mdt__mp_writer w;

	ck_assert_int_eq(mdt__seed_public(next_seed, pk), 0);
	memset(&b, 0, sizeof(b));
	b.has = MDT_TOKEN_F(MDT_TOKEN_FIELD_NEXT_KEY);
	b.next_key = pk;
	if (what & WITH_HOLDER) {
		b.holder = TF_AGENT;
		b.holder_key = hk.bytes;
		b.depth = 0;
		b.has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER) |
		    MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER_KEY) |
		    MDT_TOKEN_F(MDT_TOKEN_FIELD_DEPTH);
	}
	if (what & WITH_TASK) {
		b.task = "task-1.forged";
		b.has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_TASK);
	}
	if (what & WITH_FLAG) {
		b.broker = 1;
		b.has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_BROKER);
	}
	mdt__mp_writer_init(&w, raw, cap);
	ck_assert_int_eq(mdt__tok_write_block(&w, &b, NULL), 0);
	return w.len;
}

/* Forges a block as above on tok and opens the result. */
static int
open_forged(const mdt_token *tok, unsigned what, const mdt_keypair *signer,
    int domain_broker, mdt_token_reason *why)
{
	uint8_t raw[512], *bytes;
	size_t n = write_forged(raw, sizeof(raw), what), len;
	int rc;

	bytes = forge(tok, raw, n, signer, domain_broker, &len);
	rc = open_bytes(bytes, len, why);
	mdt_free(bytes);
	return rc;
}

/* ------------------------------------------------------------- rules */

START_TEST(offline_holder_change_refused)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	mdt_pubkey hk = tf_pub(agent);
	mdt_token *out = NULL;

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.holder_id = TF_AGENT;
	p.holder_key = &hk;
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &out, &why), -MDT_EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(strstr(why.message, "only the broker"));
	/* A holder that writes the block itself: refused at every verifier. */
	ck_assert_int_eq(open_forged(t, WITH_HOLDER, NULL, 0, &why),
	    -MDT_EHOLDER);
	ck_assert_int_eq(why.block, 1);
	ck_assert_str_eq(why.message,
	    "block 1 changes the holder but was not made by the broker");
	/* The other direction: the broker's block delegates. */
	p.broker = root;
	ck_assert_msg(mdt_token_attenuate(t, &p, &out, &why) == 0, "%s",
	    why.message);
	ck_assert_str_eq(mdt_token_holder_id(out), TF_AGENT);
	mdt_token_free(out);
	ck_assert_msg(open_forged(t, WITH_HOLDER | WITH_FLAG, root, 1, &why) ==
	    0, "%s", why.message);
	mdt_token_free(t);
}
END_TEST

START_TEST(offline_task_change_refused)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent, NULL);
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	mdt_token *out = NULL, *back;

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.task_id = "task-1.2";
	ck_assert_int_eq(mdt_token_attenuate(d, &p, &out, &why), -MDT_EINVAL);
	ck_assert_ptr_nonnull(strstr(why.message, "subtask"));
	ck_assert_int_eq(open_forged(d, WITH_TASK, NULL, 0, &why),
	    -MDT_ESCOPE);
	ck_assert_int_eq(why.block, 2);
	ck_assert_str_eq(why.message,
	    "block 2 starts a task but was not made by the broker");
	/* Holder and task together: the holder is named first. */
	ck_assert_int_eq(open_forged(t, WITH_HOLDER | WITH_TASK, NULL, 0,
	    &why), -MDT_EHOLDER);
	/* The broker starts a subtask without changing the holder. */
	p.broker = root;
	ck_assert_msg(mdt_token_attenuate(d, &p, &out, &why) == 0, "%s",
	    why.message);
	back = reopen(out, NULL, &why);
	ck_assert_msg(back != NULL, "%s", why.message);
	ck_assert_str_eq(mdt_token_task_id(back), "task-1.2");
	ck_assert_str_eq(mdt_token_parent_task_id(back), "task-1");
	ck_assert_str_eq(mdt_token_holder_id(back), TF_AGENT);
	mdt_token_free(back);
	mdt_token_free(out);
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

/* Broker blocks are marked, verify, and the holder of the result can
 * still narrow it offline with the secret it carries. */
START_TEST(broker_blocks_verify_and_narrow)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent, NULL);
	mdt_token *n = tf_narrow(d, "patient/Observation.r");
	mdt_token_block_view v;
	mdt_token_reason why;
	mdt_token *back;
	char *json = NULL;

	ck_assert_int_eq(mdt_token_block(d, 1, &v), 0);
	ck_assert(v.broker);
	ck_assert(v.fields & MDT_TOKEN_F(MDT_TOKEN_FIELD_BROKER));
	ck_assert_int_eq(mdt_token_block(n, 2, &v), 0);
	ck_assert(!v.broker);
	ck_assert_int_eq(mdt_token_block(n, 0, &v), 0);
	ck_assert(!v.broker);
	back = reopen(n, NULL, &why);
	ck_assert_msg(back != NULL, "%s", why.message);
	ck_assert_str_eq(mdt_token_holder_id(back), TF_AGENT);
	ck_assert_int_eq(mdt_token_block(back, 1, &v), 0);
	ck_assert(v.broker);
	ck_assert_int_eq(mdt_token_to_json(back, &json), 0);
	ck_assert_ptr_nonnull(strstr(json, "\"broker\": true"));
	mdt_free(json);
	mdt_token_free(back);
	mdt_token_free(n);
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

/* ------------------------------------------------- keys and domains */

START_TEST(broker_key_must_be_root)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	mdt_pubkey hk = tf_pub(agent);
	mdt_token *out = NULL;

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.holder_id = TF_AGENT;
	p.holder_key = &hk;
	p.broker = other;
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &out, &why), -MDT_EKEY);
	ck_assert_ptr_null(out);
	/* Flagged, broker domain, but another key. */
	ck_assert_int_eq(open_forged(t, WITH_HOLDER | WITH_FLAG, other, 1,
	    &why), -MDT_ESIG);
	ck_assert_int_eq(why.block, 1);
	/* Flagged, broker domain, signed with the carried secret. */
	ck_assert_int_eq(open_forged(t, WITH_HOLDER | WITH_FLAG, NULL, 1,
	    &why), -MDT_ESIG);
	/* The control: the same block by the root. */
	ck_assert_msg(open_forged(t, WITH_HOLDER | WITH_FLAG, root, 1, &why) ==
	    0, "%s", why.message);
	mdt_token_free(t);
}
END_TEST

START_TEST(broker_domain_is_its_own)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token_reason why;

	/* Root key, flagged, but signed as a chained block. */
	ck_assert_int_eq(open_forged(t, WITH_HOLDER | WITH_FLAG, root, 0,
	    &why), -MDT_ESIG);
	ck_assert_int_eq(why.block, 1);
	/* Carried secret, flagged, chained domain. */
	ck_assert_int_eq(open_forged(t, WITH_HOLDER | WITH_FLAG, NULL, 0,
	    &why), -MDT_ESIG);
	/* Root key and broker domain without the flag: read as a chained
	 * block, so checked under the previous next key. */
	ck_assert_int_eq(open_forged(t, WITH_HOLDER, root, 1, &why),
	    -MDT_ESIG);
	/* A narrowing block made by the broker passes like any other. */
	ck_assert_msg(open_forged(t, WITH_FLAG, root, 1, &why) == 0, "%s",
	    why.message);
	mdt_token_free(t);
}
END_TEST

START_TEST(broker_flag_encoding)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	uint8_t raw[512], *bytes;
	mdt_token_reason why;
	size_t n, len;

	/* broker: false is not canonical (the flag is omitted instead) */
	n = write_forged(raw, sizeof(raw), WITH_FLAG);
	ck_assert_uint_eq(raw[n - 1], 0xc3);
	raw[n - 1] = 0xc2;
	bytes = forge(t, raw, n, root, 1, &len);
	ck_assert_int_eq(open_bytes(bytes, len, &why), -MDT_EDECODE);
	ck_assert_int_eq(why.block, 1);
	mdt_free(bytes);
	/* never in block 0 */
	{
		mdt__tok_block b = t->blocks[0];
		mdt__tok_build bd = {.signer = root, .root = &root_pub,
		    .next_seed = next_seed, .scopes = t->blocks[0].scopes};
		mdt_token *forged = NULL;

		b.has &= ~MDT_TOKEN_F(MDT_TOKEN_FIELD_NEXT_KEY);
		b.next_key = NULL;
		b.broker = 1;
		b.has |= MDT_TOKEN_F(MDT_TOKEN_FIELD_BROKER);
		ck_assert_int_eq(mdt__tok_assemble(&bd, &b, &forged, &why),
		    -MDT_EDECODE);
		ck_assert_int_eq(why.block, 0);
		ck_assert_ptr_nonnull(strstr(why.message, "broker"));
	}
	mdt_token_free(t);
}
END_TEST

/* ------------------------------------------------------------ splices */

/*
 * A broker block is signed by the same root key on every token, so only
 * the chaining (previous signature, index) stops it being moved: onto
 * another token whose block 0 announces the same next key, or to another
 * position of its own.
 */
START_TEST(broker_block_splice_refused)
{
	mdt_token *a = tf_mint(root, orch, "patient/Observation.r", 3, 9);
	mdt_token *b = tf_mint(root, orch, "patient/Observation.rs "
	    "patient/Condition.rs", 3, 9);
	mdt_token *b1 = tf_delegate(b, root, TF_AGENT, agent,
	    "patient/Condition.rs");
	mdt_token *b2 = tf_delegate(b1, root, TF_AGENT2, orch, NULL);
	mdt_token spliced;
	mdt_token_reason why;
	mdt__mp_writer w;
	uint8_t *out;
	size_t len;

	ck_assert_mem_eq(a->blocks[0].next_key, b->blocks[0].next_key, 32);
	memcpy(&spliced, b1, sizeof(spliced));
	spliced.blocks[0] = a->blocks[0];
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, &spliced, NULL,
	    b1->proof), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, &len), 0);
	ck_assert_int_eq(open_bytes(out, len, &why), -MDT_ESIG);
	ck_assert_int_eq(why.block, 1);
	mdt_free(out);
	/* Two broker blocks swapped. */
	memcpy(&spliced, b2, sizeof(spliced));
	spliced.blocks[1] = b2->blocks[2];
	spliced.blocks[2] = b2->blocks[1];
	mdt__mp_writer_init_dyn(&w, MDT_TOKEN_BYTES_MAX);
	ck_assert_int_eq(mdt__tok_write_envelope(&w, &spliced, NULL,
	    b2->proof), 0);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, &len), 0);
	ck_assert_int_eq(open_bytes(out, len, &why), -MDT_ESIG);
	ck_assert_int_eq(why.block, 1);
	mdt_free(out);
	mdt_token_free(b2);
	mdt_token_free(b1);
	mdt_token_free(b);
	mdt_token_free(a);
}
END_TEST

/* ---------------------------------------------- resource-server mode */

static int
rs_check(const mdt_token *t, unsigned flags, mdt_token_reason *why)
{
	mdt_token_check_params p;

	memset(&p, 0, sizeof(p));
	p.action = "r";
	p.resource = RES;
	p.patient = TF_PATIENT;
	p.now = TF_NOW + 1;
	p.audience = AUD;
	p.flags = flags;
	return mdt_token_check(t, &p, why);
}

START_TEST(single_action_needs_the_broker)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 2, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent, NULL);
	mdt_token_single_params sp = {"r", RES, AUD, TF_NOW, 60, NULL, root};
	mdt_token_attenuate_params ap;
	mdt_scope_set *one = tf_scopes("patient/Observation.r");
	mdt_token_reason why;
	mdt_token *by_broker = NULL, *own = NULL, *hand = NULL, *back;

	ck_assert_int_eq(mdt_token_single_action(d, &sp, &by_broker, &why), 0);
	back = reopen(by_broker, NULL, &why);
	ck_assert_msg(back != NULL, "%s", why.message);
	ck_assert_msg(rs_check(back, MDT_TOKEN_CHECK_SINGLE_ACTION, &why) == 0,
	    "%s", why.message);
	mdt_token_free(back);
	/* The same single action made by the holder: a valid token that
	 * every resource server refuses. */
	sp.broker = NULL;
	ck_assert_int_eq(mdt_token_single_action(d, &sp, &own, &why), 0);
	back = reopen(own, NULL, &why);
	ck_assert_msg(back != NULL, "%s", why.message);
	ck_assert_int_eq(rs_check(back, 0, &why), 0);
	ck_assert_int_eq(rs_check(back, MDT_TOKEN_CHECK_SINGLE_ACTION, &why),
	    -MDT_EHOLDER);
	ck_assert_int_eq(why.block, 2);
	ck_assert_ptr_nonnull(strstr(why.message, "not made by the broker"));
	mdt_token_free(back);
	/* Nor does writing the block by hand help. */
	memset(&ap, 0, sizeof(ap));
	ap.depth = MDT_TOKEN_KEEP_DEPTH;
	ap.scopes = one;
	ap.audience = AUD;
	ap.resource = RES;
	ap.seal = 1;
	ck_assert_int_eq(mdt_token_attenuate(d, &ap, &hand, &why), 0);
	ck_assert_int_eq(rs_check(hand, MDT_TOKEN_CHECK_SINGLE_ACTION, &why),
	    -MDT_EHOLDER);
	/* A broker single-action block after the holder's own narrowing
	 * still passes: what counts is who made the last block. */
	mdt_token_free(hand);
	ap.seal = 0;
	ck_assert_int_eq(mdt_token_attenuate(d, &ap, &hand, &why), 0);
	sp.broker = root;
	mdt_token_free(by_broker);
	ck_assert_int_eq(mdt_token_single_action(hand, &sp, &by_broker, &why),
	    0);
	ck_assert_msg(rs_check(by_broker, MDT_TOKEN_CHECK_SINGLE_ACTION,
	    &why) == 0, "%s", why.message);
	mdt_scope_set_free(one);
	mdt_token_free(hand);
	mdt_token_free(by_broker);
	mdt_token_free(own);
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

/* -------------------------------------------------------------- cache */

/* The cache digest of blocks 0..k-1 (k = nblocks + 1: with the proof),
 * as docs/token-format.md section 6 defines it. */
static void
doc_digest(const mdt_token *t, size_t k, uint8_t out[32])
{
	static const char dom[] = "mandate/token/v1/cache";
	crypto_generichash_state st;
	uint8_t len[4], one = 1;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)dom, sizeof(dom));
	crypto_generichash_update(&st, root_pub.bytes, 32);
	for (size_t i = 0; i < k && i < t->nblocks; i++) {
		const mdt__tok_block *b = &t->blocks[i];

		len[0] = (uint8_t)(b->raw_len >> 24);
		len[1] = (uint8_t)(b->raw_len >> 16);
		len[2] = (uint8_t)(b->raw_len >> 8);
		len[3] = (uint8_t)b->raw_len;
		crypto_generichash_update(&st, len, 4);
		crypto_generichash_update(&st, b->raw, b->raw_len);
		crypto_generichash_update(&st, b->sig, 64);
	}
	if (k > t->nblocks) {
		crypto_generichash_update(&st, &one, 1);
		crypto_generichash_update(&st, t->proof, 32);
	}
	crypto_generichash_final(&st, out, 32);
}

START_TEST(cache_holds_broker_blocks)
{
	mdt_token *t = tf_mint(root, orch, "patient/Observation.rs", 3, 9);
	mdt_token *d = tf_delegate(t, root, TF_AGENT, agent, NULL);
	mdt_token *n = tf_narrow(d, "patient/Observation.r");
	mdt_token_cache *c = NULL;
	mdt_token_reason why;
	uint8_t dg[32], *bytes;
	mdt_token *x;
	size_t len;

	ck_assert_int_eq(mdt_token_cache_new(64, &c), 0);
	x = reopen(d, c, &why);
	ck_assert_msg(x != NULL, "%s", why.message);
	mdt_token_free(x);
	for (size_t k = 1; k <= d->nblocks + 1; k++) {
		doc_digest(d, k, dg);
		ck_assert_msg(mdt__tok_cache_has(c, dg), "prefix %zu", k);
	}
	/* Its broker block is a cached prefix of n: n verifies, and a
	 * forged last block on it still fails. */
	x = reopen(n, c, &why);
	ck_assert_msg(x != NULL, "%s", why.message);
	mdt_token_free(x);
	doc_digest(n, n->nblocks + 1, dg);
	ck_assert(mdt__tok_cache_has(c, dg));
	bytes = tf_bytes(n, &len);
	bytes[len - 40] ^= 1; /* the last block's signature */
	ck_assert_int_eq(mdt_token_open(bytes, len, &root_pub, c, &x, &why),
	    -MDT_ESIG);
	ck_assert_int_eq(why.block, 2);
	free(bytes);
	/* The cached broker block's bytes re-signed by the root under the
	 * chained domain: another signature, so another digest, no cache
	 * hit, and a refusal. */
	bytes = forge(t, d->blocks[1].raw, d->blocks[1].raw_len, root, 0,
	    &len);
	ck_assert_int_eq(mdt_token_open(bytes, len, &root_pub, c, &x, &why),
	    -MDT_ESIG);
	ck_assert_int_eq(why.block, 1);
	mdt_free(bytes);
	mdt_token_cache_free(c);
	mdt_token_free(n);
	mdt_token_free(d);
	mdt_token_free(t);
}
END_TEST

static Suite *
broker_suite(void)
{
	Suite *s = suite_create("token_broker");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, offline_holder_change_refused);
	tcase_add_test(tc, offline_task_change_refused);
	tcase_add_test(tc, broker_blocks_verify_and_narrow);
	tcase_add_test(tc, broker_key_must_be_root);
	tcase_add_test(tc, broker_domain_is_its_own);
	tcase_add_test(tc, broker_flag_encoding);
	tcase_add_test(tc, broker_block_splice_refused);
	tcase_add_test(tc, single_action_needs_the_broker);
	tcase_add_test(tc, cache_holds_broker_blocks);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(broker_suite());
}
