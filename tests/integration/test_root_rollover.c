/*
 * The broker's root key rollover, with a real broker, restarted at each
 * step, and the example FHIR gateway as a resource server:
 *   1. root_key_next: ROOT.pubs publishes the current key and the next;
 *      tokens are still minted under the current one;
 *   2. the next key becomes root_key, the old one root_key_previous: new
 *      tasks are minted under the new root, tasks of the old root go on
 *      (hand-ons and single-action tokens signed with their own root),
 *      and a gateway loading ROOT.pubs accepts both; one trusting only
 *      the new key refuses the old root's tokens; `mandatectl token
 *      inspect --root ROOT.pubs` verifies both;
 *   3. root_key_previous cleared: the old root's tokens are refused.
 * A rollover key equal to the current one stops the start.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mandate/key.h>
#include <mandate/token.h>

#include "attack.h"
#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;
static char data[400], pubs[420];
static mdt_pubkey ka, kb; /* the old root, the new one */

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	snprintf(data, sizeof(data), "%s/data", B.dir);
	snprintf(pubs, sizeof(pubs), "%s/root.pubs", data);
}

static void
teardown(void)
{
	bt_cleanup(&B);
}

static void
start(const char *setting, const char *value)
{
	char arg[700];
	const char *args[] = {"--set", arg, NULL};

	snprintf(arg, sizeof(arg), "%s=%s", setting, value);
	ck_assert_msg(bt_start(&B, setting != NULL ? args : NULL) == 0,
	    "broker did not start (log %s)", B.log);
}

static void
stop(void)
{
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
}

/* ROOT.pubs holds exactly want (n keys, in order). */
static void
published(const mdt_pubkey *want, size_t n)
{
	mdt_pubkey got[MDT_TOKEN_ROOTS_MAX];
	char err[MDT_ERRMSG_MAX];
	size_t k = 0;

	ck_assert_msg(mdt_token_roots_load(pubs, got, MDT_TOKEN_ROOTS_MAX, &k,
	    err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(k, n);
	for (size_t i = 0; i < n; i++)
		ck_assert(mdt_pubkey_equal(&got[i], &want[i]));
}

/* The root key block 0 of the token (binary) names is root. */
static int
named_root(const uint8_t *tok, size_t n, const mdt_pubkey *root)
{
	uint8_t id[MDT_KEY_ID_BYTES];
	mdt_token *t = NULL;
	int same;

	ck_assert_int_eq(mdt_token_decode(tok, n, &t, NULL), 0);
	mdt_key_id(root, id);
	same = memcmp(mdt_token_key_id(t), id, sizeof(id)) == 0;
	mdt_token_free(t);
	return same;
}

static uint8_t *
single(struct bt_conn *c, const struct bt_task *t, size_t *n)
{
	uint8_t *tok = NULL;

	at_allowed(&B, c, bt_authorize(c, t->id, t->tok, t->tlen, "r",
	    "Patient/pat-001", "pat-001", NULL, NULL, 0), "authorize", &tok, n);
	return tok;
}

/* `mandatectl token inspect --root ROOTS` on the token: exit status. */
static int
inspect(const uint8_t *tok, size_t n, const char *roots)
{
	char file[600], cmd[1600];
	mdt_token *t = NULL;
	char *text = NULL;
	FILE *f;
	int st;

	ck_assert_int_eq(mdt_token_decode(tok, n, &t, NULL), 0);
	ck_assert_int_eq(mdt_token_to_text(t, &text), 0);
	snprintf(file, sizeof(file), "%s/tok.txt", B.dir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	mdt_token_text_free(text);
	mdt_token_free(t);
	snprintf(cmd, sizeof(cmd), "%s/broker/mandatectl token inspect "
	    "--token @%s --root %s >/dev/null 2>&1", mdt_test_binary_dir(),
	    file, roots);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
move(const char *from, const char *to)
{
	ck_assert_msg(rename(from, to) == 0, "%s -> %s", from, to);
}

START_TEST(rollover)
{
	char next[420], old[420], a[460], b[460], err[MDT_ERRMSG_MAX];
	struct bt_conn o, s;
	struct bt_task t1, sub1, t3, sub3;
	struct at_gateway g, g_new;
	mdt_keypair *kp;
	uint8_t *tok;
	size_t n;

	/* before: one root */
	start(NULL, NULL);
	ck_assert_int_eq(mdt_pubkey_load(B.root_pub, &ka, err, sizeof(err)), 0);
	published(&ka, 1);
	bf_as(&B, &o, BT_ORCH);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &t1);
	ck_assert(named_root(t1.tok, t1.tlen, &ka));
	bt_close(&o);
	stop();

	/* 1: the next key announced */
	snprintf(next, sizeof(next), "%s/next", B.dir);
	ck_assert_int_eq(mdt_keypair_generate(&kp), 0);
	ck_assert_int_eq(mdt_keypair_save(kp, next, err, sizeof(err)), 0);
	mdt_keypair_public(kp, &kb);
	mdt_keypair_free(kp);
	snprintf(b, sizeof(b), "%s.pub", next);
	start("root_key_next", b);
	published((const mdt_pubkey[]){ka, kb}, 2);
	bf_as(&B, &o, BT_ORCH);
	tok = single(&o, &t1, &n);
	ck_assert(named_root(tok, n, &ka));
	free(tok);
	bt_close(&o);
	stop();

	/* a rollover key that is the current one stops the start */
	{
		char arg[600];
		const char *args[] = {"--set", arg, NULL};
		snprintf(arg, sizeof(arg), "root_key_next=%s", B.root_pub);
		ck_assert_int_ne(bt_start(&B, args), 0);
		B.pid = 0;
	}

	/* 2: the next key is the root; the old one is kept */
	snprintf(old, sizeof(old), "%s/old", B.dir);
	snprintf(a, sizeof(a), "%s/root.key", data);
	snprintf(b, sizeof(b), "%s.key", old);
	move(a, b);
	snprintf(a, sizeof(a), "%s/root.pub", data);
	snprintf(b, sizeof(b), "%s.pub", old);
	move(a, b);
	snprintf(a, sizeof(a), "%s.key", next);
	snprintf(b, sizeof(b), "%s/root.key", data);
	move(a, b);
	snprintf(a, sizeof(a), "%s.pub", next);
	snprintf(b, sizeof(b), "%s/root.pub", data);
	move(a, b);
	snprintf(b, sizeof(b), "%s.key", old);
	start("root_key_previous", b);
	published((const mdt_pubkey[]){kb, ka}, 2);
	snprintf(B.root_pub, sizeof(B.root_pub), "%s", pubs);
	at_gw_start(&B, &g);                     /* trusts ROOT.pubs */
	snprintf(B.root_pub, sizeof(B.root_pub), "%s/root.pub", data);
	at_gw_start(&B, &g_new);                 /* trusts the new key only */
	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	/* the old root's task goes on, signed with the old root */
	bf_hand_on(&o, &s, MDT_OP_DISPATCH, &t1, "patient/*.rs", &sub1);
	ck_assert(named_root(sub1.tok, sub1.tlen, &ka));
	tok = single(&s, &sub1, &n);
	ck_assert(named_root(tok, n, &ka));
	ck_assert_int_eq(at_present(&g, tok, n, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-001"), 200);
	ck_assert_int_eq(inspect(tok, n, pubs), 0);
	snprintf(b, sizeof(b), "%s/root.pub", data);
	ck_assert_int_eq(inspect(tok, n, b), 2);
	free(tok);
	tok = single(&s, &sub1, &n);
	ck_assert_int_ne(at_present(&g_new, tok, n, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-001"), 200);
	free(tok);
	/* a new task is minted under the new root */
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &t3);
	ck_assert(named_root(t3.tok, t3.tlen, &kb));
	bf_hand_on(&o, &s, MDT_OP_DISPATCH, &t3, "patient/*.rs", &sub3);
	tok = single(&s, &sub3, &n);
	ck_assert(named_root(tok, n, &kb));
	ck_assert_int_eq(at_present(&g, tok, n, bt_key(&B, BT_SUMM), "r",
	    "Patient/pat-001"), 200);
	ck_assert_int_eq(inspect(tok, n, pubs), 0);
	snprintf(b, sizeof(b), "%s.pub", old);
	ck_assert_int_eq(inspect(tok, n, b), 2);
	free(tok);
	bt_close(&o);
	bt_close(&s);
	at_gw_stop(&g);
	at_gw_stop(&g_new);
	stop();

	/* 3: the old root retired */
	start(NULL, NULL);
	published(&kb, 1);
	bf_as(&B, &s, BT_SUMM);
	bf_expect(bt_authorize(&s, sub1.id, sub1.tok, sub1.tlen, "r",
	    "Patient/pat-001", "pat-001", NULL, NULL, 0), "token");
	tok = single(&s, &sub3, &n);
	free(tok);
	bt_close(&s);
	stop();
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("root_rollover");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, rollover);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
