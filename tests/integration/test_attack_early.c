/*
 * Attack: refusals raised before the task is known.  A token that does
 * not decode, does not verify, is expired, is another task's or another
 * agent's, or a task id that does not exist: each is refused, and each
 * refusal is on record with the agent that presented it (the audit must
 * show someone probing, not only the requests that got far).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include <mandate/token.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;
static struct bt_conn O, S, K;
static struct bt_task Root, Sub;

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	bf_as(&B, &O, BT_ORCH);
	bf_as(&B, &S, BT_SUMM);
	bf_as(&B, &K, BT_CODER);
	bf_open_root(&B, &O, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &Root);
	bf_hand_on(&O, &S, MDT_OP_DISPATCH, &Root, "patient/*.rs", &Sub);
}

static void
teardown(void)
{
	bt_close(&O);
	bt_close(&S);
	bt_close(&K);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

static void
refused(struct bt_conn *c, const char *task, const uint8_t *tok,
    size_t tlen, const char *spec)
{
	at_refused(&B, c, bt_authorize(c, task, tok, tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", spec, NULL);
}

START_TEST(expired_token)
{
	mdt_token *tok = NULL, *old = NULL;
	mdt_token_attenuate_params p = { .depth = MDT_TOKEN_KEEP_DEPTH };
	mdt_token_reason why;
	const uint8_t *b;
	size_t n;

	/* the holder narrows its own token's expiry into the past */
	p.expires_at = (int64_t)time(NULL) - 120;
	ck_assert_int_eq(mdt_token_decode(Sub.tok, Sub.tlen, &tok, NULL), 0);
	ck_assert_msg(mdt_token_attenuate(tok, &p, &old, &why) == 0, "%s",
	    why.message);
	b = mdt_token_bytes(old, &n);
	refused(&S, Sub.id, b, n, "token.expired|token");
	mdt_token_free(tok);
	mdt_token_free(old);
}
END_TEST

START_TEST(forged_token)
{
	uint8_t junk[600];

	randombytes_buf(junk, sizeof(junk));
	refused(&S, Sub.id, junk, sizeof(junk), "token");
	/* a well-formed token minted by a key that is not the broker's */
	{
		mdt_keypair *fake = NULL;
		mdt_token *t = NULL;
		mdt_scope_set *sc = NULL;
		mdt_pubkey hk;
		const uint8_t *b;
		size_t n;
		int64_t now = (int64_t)time(NULL);
		mdt_token_mint_params mp = { Sub.id, Root.id, "dr-alice",
		    "pat-001", "TREAT", NULL, now, now + 600, 1, BT_SUMM, &hk,
		    NULL, NULL };

		ck_assert_int_eq(mdt_keypair_generate(&fake), 0);
		ck_assert_int_eq(mdt_scope_set_parse("patient/*.rs", 12, &sc, NULL,
		    0), 0);
		mp.scopes = sc;
		mdt_keypair_public(bt_key(&B, BT_SUMM), &hk);
		ck_assert_int_eq(mdt_token_mint(fake, &mp, &t, NULL), 0);
		b = mdt_token_bytes(t, &n);
		refused(&S, Sub.id, b, n, "token");
		mdt_token_free(t);
		mdt_scope_set_free(sc);
		mdt_keypair_free(fake);
	}
}
END_TEST

START_TEST(flipped_byte)
{
	struct bt_task t = Sub;
	/* one byte in the middle, one near the end (a signature) */
	t.tok[t.tlen / 2] ^= 0x01;
	refused(&S, t.id, t.tok, t.tlen, "token|token.*");
	t = Sub;
	t.tok[t.tlen - 10] ^= 0x80;
	refused(&S, t.id, t.tok, t.tlen, "token|token.*");
}
END_TEST

START_TEST(spliced_tokens)
{
	struct bt_task other, t;
	size_t half;

	bf_open_root(&B, &O, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &other);
	/* the first half of one task's token, the rest of another's */
	half = Root.tlen / 2;
	t = Root;
	ck_assert_uint_le(other.tlen, sizeof(t.tok));
	memcpy(t.tok + half, other.tok + half, other.tlen - half);
	t.tlen = other.tlen;
	refused(&O, Root.id, t.tok, t.tlen, "token|token.*");
	/* a whole valid token under another task's id */
	refused(&O, Root.id, other.tok, other.tlen, "token.task|token");
	refused(&O, other.id, Root.tok, Root.tlen, "token.task|token");
}
END_TEST

START_TEST(someone_elses_task)
{
	refused(&K, Sub.id, Sub.tok, Sub.tlen, "token.holder");
	refused(&K, Root.id, Root.tok, Root.tlen, "token.holder");
	/* the coder's claim of the summarizer's task with the root token */
	refused(&K, Sub.id, Root.tok, Root.tlen, "token.*|token");
}
END_TEST

START_TEST(unknown_task)
{
	refused(&S, "t-00000000000000000000000000000000", Sub.tok, Sub.tlen,
	    "task.unknown|token.task|token");
	refused(&S, "no-such-task", (const uint8_t *)"x", 1,
	    "task.unknown|token");
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_early");
	TCase *tc = tcase_create("early");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, expired_token);
	tcase_add_test(tc, forged_token);
	tcase_add_test(tc, flipped_byte);
	tcase_add_test(tc, spliced_tokens);
	tcase_add_test(tc, someone_elses_task);
	tcase_add_test(tc, unknown_task);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}
