/*
 * Secrets leave no copies in freed memory.  An observer of libmandate's
 * allocations (tests/common/secret_scan.c, through mdt__alloc_set_hooks)
 * looks into every block as it is released, freed or reallocated, and
 * counts the blocks that still hold a known secret: a key's seed, a
 * token's carried secret, the text of a key file.  The positive controls
 * show the observer finds a secret that is not wiped.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <mandate/key.h>
#include <mandate/wire.h>

#include "alloc_int.h"
#include "broker.h"
#include "secret_scan.h"
#include "testutil.h"
#include "token_fixture.h"

static uint8_t secret[32];

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	randombytes_buf(secret, sizeof(secret));
	ck_assert_int_eq(ss_begin(), 0);
	ss_watch(secret, sizeof(secret));
}

static void
teardown(void)
{
	ss_end();
}

START_TEST(observer_finds_unwiped_blocks)
{
	uint8_t *p = mdt__malloc(100), *q;

	memcpy(p + 10, secret, sizeof(secret));
	mdt__free(p);
	ck_assert_int_eq(ss_hits(), 1);
	/* a realloc may move the block and leave the bytes behind */
	p = mdt__malloc(64);
	memcpy(p, secret, sizeof(secret));
	q = mdt__realloc(p, 1 << 20);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(ss_hits(), 2);
	sodium_memzero(q, 1 << 20);
	mdt__free(q);
	ck_assert_int_eq(ss_hits(), 2);
	ck_assert_int_eq(ss_releases(), 3);
}
END_TEST

/* A writer holding a secret grows through several buffers, then is freed
 * (finished or not). */
START_TEST(wire_writer_growth)
{
	static uint8_t filler[300];
	mdt_wire_writer *w = NULL;
	const uint8_t *buf;
	size_t len;
	char key[8];

	for (int finish = 0; finish < 2; finish++) {
		ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_AUTHORIZE, "r-1",
		    0, 0), 0);
		ck_assert_int_eq(mdt_wire_put_bin(w, "secret", secret,
		    sizeof(secret)), 0);
		for (int i = 0; i < 200; i++) {
			snprintf(key, sizeof(key), "f%d", i);
			ck_assert_int_eq(mdt_wire_put_bin(w, key, filler,
			    sizeof(filler)), 0);
		}
		if (finish)
			ck_assert_int_eq(mdt_wire_writer_finish(w, &buf, &len), 0);
		mdt_wire_writer_free(w);
	}
	/* 256 bytes to 64 KiB: eight moves per writer, each a release */
	ck_assert_int_ge(ss_releases(), 2 * (8 + 2));
	ck_assert_msg(ss_hits() == 0, "%ld released blocks held the secret "
	    "(last of %zu bytes)", ss_hits(), ss_last_hit_size());
}
END_TEST

/* An unsealed token's bytes end with its carried secret. */
static const uint8_t *
carried_secret(const mdt_token *tok)
{
	size_t len;
	const uint8_t *b = mdt_token_bytes(tok, &len);

	ck_assert_uint_gt(len, 34);
	ck_assert_uint_eq(b[len - 34], 0xc4); /* bin8 */
	ck_assert_uint_eq(b[len - 33], 32);
	return b + len - 32;
}

/* A token carrying its secret, written into a request, decoded, the
 * token decoded from the message; everything freed. */
START_TEST(wire_message_with_token)
{
	mdt_keypair *root = tf_key(1), *holder = tf_key(2);
	mdt_token *tok = tf_mint(root, holder, "patient/Observation.rs", 2, 7);
	mdt_token *back = NULL;
	mdt_token_reason why;
	mdt_wire_writer *w = NULL;
	mdt_wire_msg *m = NULL;
	const uint8_t *buf, *tb;
	size_t len, tlen;
	char err[MDT_ERRMSG_MAX];

	ck_assert(!mdt_token_is_sealed(tok));
	ss_watch(carried_secret(tok), 32);
	tb = mdt_token_bytes(tok, &tlen);
	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_DELEGATE, "r-2", 0, 0),
	    0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", "task-1"), 0);
	ck_assert_int_eq(mdt_wire_put_bin(w, "token", tb, tlen), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &buf, &len), 0);
	ck_assert_int_eq(mdt_wire_decode(buf, len, &m, err, sizeof(err)), 0);
	mdt_wire_writer_free(w);
	ck_assert_int_eq(mdt_wire_get_bin(mdt_wire_msg_root(m), "token",
	    MDT_TOKEN_BYTES_MAX, &tb, &tlen, err, sizeof(err)), 0);
	ck_assert_int_eq(mdt_token_decode(tb, tlen, &back, &why), 0);
	mdt_wire_msg_free(m);
	mdt_token_free(back);
	mdt_token_free(tok);
	mdt_keypair_free(holder);
	mdt_keypair_free(root);
	ck_assert_int_ge(ss_releases(), 5);
	ck_assert_msg(ss_hits() == 0, "%ld released blocks held the secret "
	    "(last of %zu bytes)", ss_hits(), ss_last_hit_size());
}
END_TEST

/* ---- key files ---- */

static char kdir[64], kbase[96], kpath[128];
static char ktext[128]; /* the good file's line */

static void
key_setup(void)
{
	mdt_keypair *kp = NULL;
	char err[MDT_ERRMSG_MAX];
	size_t pre = strlen(MDT_KEY_SECRET_PREFIX);
	FILE *f;

	setup();
	snprintf(kdir, sizeof(kdir), "/tmp/mdt-wipe-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(kdir));
	snprintf(kbase, sizeof(kbase), "%s/k", kdir);
	snprintf(kpath, sizeof(kpath), "%s.key", kbase);
	ck_assert_int_eq(mdt_keypair_from_seed(secret, &kp), 0);
	ck_assert_int_eq(mdt_keypair_save(kp, kbase, err, sizeof(err)), 0);
	mdt_keypair_free(kp);
	f = fopen(kpath, "r");
	ck_assert_ptr_nonnull(fgets(ktext, sizeof(ktext), f));
	fclose(f);
	ktext[strcspn(ktext, "\n")] = 0;
	ss_watch(ktext + pre, 8); /* any piece of the encoded seed */
	ss_watch(ktext + pre + 16, 8);
	ss_watch(secret + 8, 8);
}

static void
key_teardown(void)
{
	char p[160];

	unlink(kpath);
	snprintf(p, sizeof(p), "%s.pub", kbase);
	unlink(p);
	rmdir(kdir);
	teardown();
}

static void
write_key(const char *text, size_t len, mode_t mode)
{
	FILE *f;

	unlink(kpath);
	f = fopen(kpath, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	ck_assert_int_eq(chmod(kpath, mode), 0);
}

START_TEST(key_file_every_path)
{
	char text[400], err[MDT_ERRMSG_MAX];
	mdt_keypair *kp = NULL;
	size_t n = strlen(ktext);

	ss_hits(); /* key_setup's own frees are counted: none held it */
	ck_assert_int_eq(ss_hits(), 0);
	/* good */
	ck_assert_int_eq(mdt_keypair_load(kpath, &kp, err, sizeof(err)), 0);
	mdt_keypair_free(kp);
	/* truncated */
	write_key(ktext, n - 10, 0600);
	ck_assert_int_eq(mdt_keypair_load(kpath, &kp, err, sizeof(err)),
	    -MDT_EKEY);
	/* permissions open to others */
	write_key(ktext, n, 0644);
	ck_assert_int_eq(mdt_keypair_load(kpath, &kp, err, sizeof(err)),
	    -MDT_EKEY);
	/* bad encoding */
	memcpy(text, ktext, n);
	text[n - 5] = '!';
	write_key(text, n, 0600);
	ck_assert_int_eq(mdt_keypair_load(kpath, &kp, err, sizeof(err)),
	    -MDT_EKEY);
	/* larger than a key file */
	memcpy(text, ktext, n);
	memset(text + n, 'A', sizeof(text) - n);
	write_key(text, sizeof(text), 0600);
	ck_assert_int_eq(mdt_keypair_load(kpath, &kp, err, sizeof(err)),
	    -MDT_EKEY);
	/* wrong prefix */
	memcpy(text, ktext, n);
	text[0] = 'x';
	write_key(text, n, 0600);
	ck_assert_int_eq(mdt_keypair_load(kpath, &kp, err, sizeof(err)),
	    -MDT_EKEY);
	ck_assert_msg(ss_hits() == 0, "%ld released blocks held the key "
	    "(last of %zu bytes)", ss_hits(), ss_last_hit_size());
	ck_assert_int_ge(ss_releases(), 1); /* the loaded key pair */
}
END_TEST

/* ---- the broker's reply cache ---- */

static void
kept_reply(brk_broker *b, struct brk_ctx *c, int i)
{
	uint8_t reply[200];
	nng_msg *again = NULL;

	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "spiffe://a/b\x1fr-%d", i);
	memset(c->hash, i, sizeof(c->hash));
	ck_assert_int_eq(brk_idem_begin(b, c, &again), BRK_IDEM_NEW);
	memset(reply, 0xa5, sizeof(reply));
	memcpy(reply + 50, secret, sizeof(secret));
	ck_assert_ptr_null(brk_idem_finish(b, c, reply, sizeof(reply)));
}

/* Replies leave the cache by eviction (full), sweep (expired) and
 * free; none leaves a single-action token behind. */
START_TEST(reply_cache_wipes)
{
	static brk_broker b;
	static struct brk_ctx c;
	nng_msg *again = NULL;
	long before;

	ck_assert_int_eq(brk_idem_new(16, 1, &b.idem), 0);
	for (int i = 0; i < 40; i++)
		kept_reply(&b, &c, i);
	/* the newest reply is answered again, byte for byte */
	ck_assert_int_eq(brk_idem_begin(&b, &c, &again), BRK_IDEM_DONE);
	ck_assert(memcmp((uint8_t *)nng_msg_body(again) + 50, secret, 32) == 0);
	nng_msg_free(again);
	before = ss_releases();
	ck_assert_int_ge(before, 24); /* evicted */
	brk_idem_sweep(&b, brk_now_ms() + 10000);
	ck_assert_int_ge(ss_releases(), before + 16); /* swept */
	for (int i = 0; i < 5; i++)
		kept_reply(&b, &c, 100 + i);
	brk_idem_free(b.idem);
	ck_assert_msg(ss_hits() == 0, "%ld released blocks held a kept reply "
	    "(last of %zu bytes)", ss_hits(), ss_last_hit_size());
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("secret_wipe");
	TCase *tc = tcase_create("wipe");
	TCase *tk = tcase_create("key_file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, observer_finds_unwiped_blocks);
	tcase_add_test(tc, wire_writer_growth);
	tcase_add_test(tc, wire_message_with_token);
	tcase_add_test(tc, reply_cache_wipes);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tk, key_setup, key_teardown);
	tcase_add_test(tk, key_file_every_path);
	suite_add_tcase(s, tk);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
