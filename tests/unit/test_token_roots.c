/*
 * Root sets (root key rollover): a token verifies under the key of the
 * set its block 0 names, and is refused (MDT_EKEY, naming the key id)
 * when the set does not hold it; a broker block can only be signed with
 * the root block 0 names, which is why the broker keeps the previous root
 * during a rollover; root set files are read strictly.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mandate/key.h>
#include <mandate/token.h>

#include "testutil.h"
#include "token_fixture.h"

static mdt_keypair *ka, *kb, *holder;
static mdt_pubkey a, b;
static char dir[64], path[128];

static void
setup(void)
{
	ka = tf_key(0xa1);
	kb = tf_key(0xb2);
	holder = tf_key(0x33);
	a = tf_pub(ka);
	b = tf_pub(kb);
	snprintf(dir, sizeof(dir), "/tmp/mdt-roots-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/root.pubs", dir);
}

static void
teardown(void)
{
	mdt_keypair_free(ka);
	mdt_keypair_free(kb);
	mdt_keypair_free(holder);
	unlink(path);
	rmdir(dir);
}

START_TEST(token_picks_its_root)
{
	mdt_token *t = tf_mint(ka, holder, "patient/*.rs", 2, 1), *o = NULL;
	mdt_pubkey both[2] = {b, a}, only_b[1] = {b};
	mdt_token_reason why;
	char hex[MDT_KEY_ID_TEXT_BYTES];
	size_t n;
	uint8_t *bytes = tf_bytes(t, &n);

	ck_assert_ptr_eq(mdt_token_root_of(t, both, 2), &both[1]);
	ck_assert_ptr_null(mdt_token_root_of(t, only_b, 1));
	ck_assert_int_eq(mdt_token_open_roots(bytes, n, both, 2, NULL, &o,
	    &why), 0);
	ck_assert(mdt_token_is_verified(o));
	mdt_token_free(o);
	o = NULL;
	ck_assert_int_eq(mdt_token_open_roots(bytes, n, only_b, 1, NULL, &o,
	    &why), -MDT_EKEY);
	ck_assert_ptr_null(o);
	mdt_key_id_text(&a, hex);
	ck_assert_msg(strstr(why.message, hex) != NULL, "%s", why.message);
	ck_assert_int_eq(mdt_token_open_roots(bytes, n, both, 0, NULL, &o,
	    &why), -MDT_EINVAL);
	ck_assert_int_eq(mdt_token_open_roots(bytes, n, both,
	    MDT_TOKEN_ROOTS_MAX + 1, NULL, &o, &why), -MDT_EINVAL);
	free(bytes);
	mdt_token_free(t);
}
END_TEST

/* A token minted under the old root, extended by the broker: only its
 * own root can sign the broker block; the result verifies under any set
 * holding that root. */
START_TEST(broker_block_needs_the_named_root)
{
	mdt_token *t = tf_mint(ka, holder, "patient/*.rs", 2, 2), *d = NULL;
	mdt_pubkey hk = tf_pub(holder), both[2] = {b, a};
	mdt_token_attenuate_params p;
	mdt_token_reason why;
	size_t n;
	uint8_t *bytes;

	memset(&p, 0, sizeof(p));
	p.depth = MDT_TOKEN_KEEP_DEPTH;
	p.holder_id = TF_AGENT;
	p.holder_key = &hk;
	p.task_id = "sub-1";
	p.broker = kb;
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &d, &why), -MDT_EKEY);
	p.broker = ka;
	ck_assert_int_eq(mdt_token_attenuate(t, &p, &d, &why), 0);
	bytes = tf_bytes(d, &n);
	mdt_token_free(d);
	d = NULL;
	ck_assert_int_eq(mdt_token_open_roots(bytes, n, both, 2, NULL, &d,
	    &why), 0);
	mdt_token_free(d);
	free(bytes);
	mdt_token_free(t);
}
END_TEST

static void
write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static int
load(mdt_pubkey *roots, size_t max, size_t *n, char *err)
{
	err[0] = 0;
	return mdt_token_roots_load(path, roots, max, n, err, MDT_ERRMSG_MAX);
}

START_TEST(root_set_files)
{
	char ta[MDT_KEY_PUBLIC_TEXT_BYTES], tb[MDT_KEY_PUBLIC_TEXT_BYTES];
	char text[1024], err[MDT_ERRMSG_MAX];
	mdt_pubkey roots[MDT_TOKEN_ROOTS_MAX];
	size_t n = 0;

	mdt_pubkey_to_text(&a, ta);
	mdt_pubkey_to_text(&b, tb);
	snprintf(text, sizeof(text), "# current\n%s\n\n# previous\n%s  \n", tb,
	    ta);
	write_file(text);
	ck_assert_msg(load(roots, MDT_TOKEN_ROOTS_MAX, &n, err) == 0, "%s", err);
	ck_assert_uint_eq(n, 2);
	ck_assert(mdt_pubkey_equal(&roots[0], &b));
	ck_assert(mdt_pubkey_equal(&roots[1], &a));
	ck_assert_int_eq(load(roots, 1, &n, err), -MDT_ETOOBIG);
	/* a .pub file is a set of one */
	unlink(path);
	ck_assert_int_eq(mdt_pubkey_save(&a, path, err, sizeof(err)), 0);
	ck_assert_int_eq(load(roots, MDT_TOKEN_ROOTS_MAX, &n, err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(mdt_pubkey_equal(&roots[0], &a));
	/* refusals name the file and line */
	snprintf(text, sizeof(text), "%s\n%s\n", ta, ta);
	write_file(text);
	ck_assert_int_eq(load(roots, MDT_TOKEN_ROOTS_MAX, &n, err), -MDT_EPARSE);
	ck_assert_msg(strstr(err, ":2: the same key") != NULL, "%s", err);
	snprintf(text, sizeof(text), "%s\n# x\nmdtpk1.nope\n", ta);
	write_file(text);
	ck_assert_int_eq(load(roots, MDT_TOKEN_ROOTS_MAX, &n, err), -MDT_EKEY);
	ck_assert_msg(strstr(err, "root.pubs:3: not a public key") != NULL,
	    "%s", err);
	write_file("# nothing\n\n");
	ck_assert_int_eq(load(roots, MDT_TOKEN_ROOTS_MAX, &n, err), -MDT_EKEY);
	ck_assert_ptr_nonnull(strstr(err, "no public key"));
	{
		size_t o = 0;
		for (uint8_t i = 0; i <= MDT_TOKEN_ROOTS_MAX; i++) {
			mdt_keypair *k = tf_key((uint8_t)(0x40 + i));
			mdt_pubkey pk = tf_pub(k);
			mdt_pubkey_to_text(&pk, ta);
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\n",
			    ta);
			mdt_keypair_free(k);
		}
	}
	write_file(text);
	ck_assert_int_eq(load(roots, MDT_TOKEN_ROOTS_MAX, &n, err),
	    -MDT_ETOOBIG);
	unlink(path);
	ck_assert_int_eq(load(roots, MDT_TOKEN_ROOTS_MAX, &n, err),
	    -MDT_ENOTFOUND);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("token_roots");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, token_picks_its_root);
	tcase_add_test(tc, broker_block_needs_the_named_root);
	tcase_add_test(tc, root_set_files);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
