/* Ed25519 keys: generation, seeds, files, text forms, ids, signatures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <mandate/key.h>

#include "key_int.h"
#include "testutil.h"

static char tmpdir[256];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mdt-key-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* The checked-seed pair is the same key pair as the derived one: same
 * public key, same secret key bytes, and its signatures verify. */
START_TEST(checked_seed_matches_derived)
{
	uint8_t seed[MDT_KEY_SEED_BYTES], sig[MDT_KEY_SIG_BYTES];
	mdt_keypair *a = NULL, *b = NULL;
	mdt_pubkey pa, pb;
	const uint8_t msg[] = "block";

	randombytes_buf(seed, sizeof(seed));
	ck_assert_int_eq(mdt_keypair_from_seed(seed, &a), 0);
	mdt_keypair_public(a, &pa);
	ck_assert_int_eq(mdt__keypair_from_checked_seed(seed, pa.bytes, &b),
	    0);
	mdt_keypair_public(b, &pb);
	ck_assert(mdt_pubkey_equal(&pa, &pb));
	ck_assert_mem_eq(a->sk, b->sk, sizeof(a->sk));
	ck_assert_int_eq(mdt_key_sign(b, "test/v1", msg, sizeof(msg), sig), 0);
	ck_assert_int_eq(mdt_key_verify(&pa, "test/v1", msg, sizeof(msg), sig),
	    0);
	ck_assert_int_eq(mdt__keypair_from_checked_seed(NULL, pa.bytes, &b),
	    -MDT_EINVAL);
	mdt_keypair_free(a);
	mdt_keypair_free(b);
}
END_TEST

START_TEST(seed_is_deterministic)
{
	uint8_t seed[32], back[32];
	mdt_keypair *a, *b;
	mdt_pubkey pa, pb;

	memset(seed, 7, sizeof(seed));
	ck_assert_int_eq(mdt_keypair_from_seed(seed, &a), 0);
	ck_assert_int_eq(mdt_keypair_from_seed(seed, &b), 0);
	mdt_keypair_public(a, &pa);
	mdt_keypair_public(b, &pb);
	ck_assert(mdt_pubkey_equal(&pa, &pb));
	mdt_keypair_seed(a, back);
	ck_assert_mem_eq(seed, back, 32);
	mdt_keypair_free(a);
	mdt_keypair_free(b);
	ck_assert_int_eq(mdt_keypair_generate(&a), 0);
	mdt_keypair_public(a, &pa);
	ck_assert(!mdt_pubkey_equal(&pa, &pb));
	mdt_keypair_free(a);
	mdt_keypair_free(NULL);
}
END_TEST

START_TEST(save_and_load)
{
	char base[300], path[320], err[MDT_ERRMSG_MAX];
	mdt_keypair *kp, *back;
	mdt_pubkey pk, pk2, pk3;
	struct stat st;

	snprintf(base, sizeof(base), "%s/root", tmpdir);
	ck_assert_int_eq(mdt_keypair_generate(&kp), 0);
	ck_assert_int_eq(mdt_keypair_save(kp, base, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s.key", base);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(mdt_keypair_load(path, &back, err, sizeof(err)), 0);
	mdt_keypair_public(kp, &pk);
	mdt_keypair_public(back, &pk2);
	ck_assert(mdt_pubkey_equal(&pk, &pk2));
	snprintf(path, sizeof(path), "%s.pub", base);
	ck_assert_int_eq(mdt_pubkey_load(path, &pk3, err, sizeof(err)), 0);
	ck_assert(mdt_pubkey_equal(&pk, &pk3));
	/* Never overwritten. */
	ck_assert_int_eq(mdt_keypair_save(kp, base, err, sizeof(err)),
	    -MDT_EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "root.pub"));
	mdt_keypair_free(kp);
	mdt_keypair_free(back);
}
END_TEST

START_TEST(open_permissions_refused)
{
	char base[300], path[320], err[MDT_ERRMSG_MAX];
	mdt_keypair *kp, *back = NULL;

	snprintf(base, sizeof(base), "%s/k", tmpdir);
	ck_assert_int_eq(mdt_keypair_generate(&kp), 0);
	ck_assert_int_eq(mdt_keypair_save(kp, base, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s.key", base);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(mdt_keypair_load(path, &back, err, sizeof(err)),
	    -MDT_EKEY);
	ck_assert_ptr_null(back);
	ck_assert_ptr_nonnull(strstr(err, "too open"));
	mdt_keypair_free(kp);
}
END_TEST

START_TEST(malformed_files_refused)
{
	static const char *const bad[] = {
		"", "mdtsk1.", "mdtsk1.AAAA", "mdtpk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"mdtsk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", /* bits */
		"mdtsk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\n",
		" mdtsk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"mdtsk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"mdtsk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A",
	};
	char path[320], err[MDT_ERRMSG_MAX];
	mdt_keypair *kp = NULL;

	snprintf(path, sizeof(path), "%s/x.key", tmpdir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(path);
		write_file(path, bad[i], 0600);
		ck_assert_msg(mdt_keypair_load(path, &kp, err, sizeof(err)) ==
		    -MDT_EKEY, "case %zu accepted", i);
	}
	unlink(path);
	write_file(path, "mdtsk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
	    0600);
	ck_assert_int_eq(mdt_keypair_load(path, &kp, err, sizeof(err)), 0);
	mdt_keypair_free(kp);
	snprintf(path, sizeof(path), "%s/missing.key", tmpdir);
	ck_assert_int_eq(mdt_keypair_load(path, &kp, err, sizeof(err)),
	    -MDT_ENOTFOUND);
}
END_TEST

START_TEST(pubkey_text_round_trip)
{
	char text[MDT_KEY_PUBLIC_TEXT_BYTES];
	mdt_keypair *kp;
	mdt_pubkey pk, back;

	ck_assert_int_eq(mdt_keypair_generate(&kp), 0);
	mdt_keypair_public(kp, &pk);
	mdt_pubkey_to_text(&pk, text);
	ck_assert_uint_eq(strlen(text), MDT_KEY_PUBLIC_TEXT_BYTES - 1);
	ck_assert_int_eq(mdt_pubkey_from_text(text, strlen(text), &back), 0);
	ck_assert(mdt_pubkey_equal(&pk, &back));
	ck_assert_int_eq(mdt_pubkey_from_text(text, strlen(text) - 1, &back),
	    -MDT_EKEY);
	text[0] = 'x';
	ck_assert_int_eq(mdt_pubkey_from_text(text, strlen(text), &back),
	    -MDT_EKEY);
	mdt_keypair_free(kp);
}
END_TEST

/* Key id: BLAKE2b-128 over the domain, a 0x00 and the key (documented). */
START_TEST(key_id_matches_definition)
{
	static const char dom[] = "mandate/key/v1/id";
	uint8_t msg[sizeof(dom) + 32], want[16], got[16];
	char text[MDT_KEY_ID_TEXT_BYTES], hex[33];
	mdt_keypair *kp;
	mdt_pubkey pk;

	ck_assert_int_eq(mdt_keypair_generate(&kp), 0);
	mdt_keypair_public(kp, &pk);
	memcpy(msg, dom, sizeof(dom));
	memcpy(msg + sizeof(dom), pk.bytes, 32);
	crypto_generichash(want, 16, msg, sizeof(msg), NULL, 0);
	mdt_key_id(&pk, got);
	ck_assert_mem_eq(want, got, 16);
	mdt_key_id_text(&pk, text);
	sodium_bin2hex(hex, sizeof(hex), want, 16);
	ck_assert_str_eq(text, hex);
	mdt_keypair_free(kp);
}
END_TEST

START_TEST(signatures_are_domain_separated)
{
	static const uint8_t msg[] = "hello";
	uint8_t sig[64], big_sig[64], *big;
	mdt_keypair *kp;
	mdt_pubkey pk;
	size_t bign = 10000;

	ck_assert_int_eq(mdt_keypair_generate(&kp), 0);
	mdt_keypair_public(kp, &pk);
	ck_assert_int_eq(mdt_key_sign(kp, "test/a", msg, 5, sig), 0);
	ck_assert_int_eq(mdt_key_verify(&pk, "test/a", msg, 5, sig), 0);
	ck_assert_int_eq(mdt_key_verify(&pk, "test/b", msg, 5, sig), -MDT_ESIG);
	ck_assert_int_eq(mdt_key_verify(&pk, "test/a", msg, 4, sig), -MDT_ESIG);
	/* The domain and message are separated: "test/a"+"\0hello" differs
	 * from "test/a\0h"+"ello". */
	ck_assert_int_eq(mdt_key_verify(&pk, "test/", (const uint8_t *)"a",
	    1, sig), -MDT_ESIG);
	ck_assert_int_eq(mdt_key_sign(kp, "", msg, 5, sig), -MDT_EINVAL);
	/* Long messages are staged on the heap. */
	big = calloc(1, bign);
	ck_assert_int_eq(mdt_key_sign(kp, "test/big", big, bign, big_sig), 0);
	ck_assert_int_eq(mdt_key_verify(&pk, "test/big", big, bign, big_sig), 0);
	big[bign - 1] = 1;
	ck_assert_int_eq(mdt_key_verify(&pk, "test/big", big, bign, big_sig),
	    -MDT_ESIG);
	free(big);
	mdt_keypair_free(kp);
}
END_TEST

START_TEST(base64url_is_strict)
{
	uint8_t out[8];
	size_t n;

	ck_assert_int_eq(mdt__b64url_decode("AQI", 3, out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(mdt__b64url_decode("AQJ", 3, out, sizeof(out), &n),
	    -MDT_EPARSE); /* unused bits set */
	ck_assert_int_eq(mdt__b64url_decode("AQI=", 4, out, sizeof(out), &n),
	    -MDT_EPARSE);
	ck_assert_int_eq(mdt__b64url_decode("A", 1, out, sizeof(out), &n),
	    -MDT_EPARSE);
	ck_assert_int_eq(mdt__b64url_decode("A+I", 3, out, sizeof(out), &n),
	    -MDT_EPARSE);
	ck_assert_int_eq(mdt__b64url_decode("A_I", 3, out, sizeof(out), &n), 0);
}
END_TEST

/* A plain table decoder (not constant time), the reference for the
 * constant-time one: NULL-free alphabet, canonical tails only. */
static int
ref_decode(const char *t, size_t len, uint8_t *out, size_t *n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (len == 0 || len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *p = t[i] != '\0' ? strchr(al, t[i]) : NULL;
		if (p == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(p - al);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1; /* unused bits of the last character set */
	*n = o;
	return 0;
}

START_TEST(base64url_matches_rfc4648)
{
	/* RFC 4648 section 10 vectors (no padding in base64url here) */
	static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba",
	    "foobar"};
	static const char *want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg",
	    "Zm9vYmE", "Zm9vYmFy"};
	char text[16];
	uint8_t out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		mdt__b64url_encode((const uint8_t *)in[i], strlen(in[i]), text,
		    sizeof(text));
		ck_assert_str_eq(text, want[i]);
		if (i == 0)
			continue;
		ck_assert_int_eq(mdt__b64url_decode(want[i], strlen(want[i]),
		    out, sizeof(out), &n), 0);
		ck_assert_uint_eq(n, strlen(in[i]));
		ck_assert_mem_eq(out, in[i], n);
	}
	/* the two characters that differ from base64 */
	mdt__b64url_encode((const uint8_t *)"\xfb\xff", 2, text, sizeof(text));
	ck_assert_str_eq(text, "-_8");
}
END_TEST

/* Every length 1..200 with random bytes round-trips, and agrees with the
 * reference decoder on every single-character change of the text. */
START_TEST(base64url_agrees_with_reference)
{
	uint8_t in[200], out[200], rout[200];
	char text[300];
	size_t n, rn;

	for (size_t len = 1; len <= sizeof(in); len++) {
		randombytes_buf(in, len);
		mdt__b64url_encode(in, len, text, sizeof(text));
		ck_assert_uint_eq(strlen(text), MDT__B64URL_LEN(len));
		ck_assert_int_eq(mdt__b64url_decode(text, strlen(text), out,
		    sizeof(out), &n), 0);
		ck_assert_uint_eq(n, len);
		ck_assert_mem_eq(out, in, len);
		/* too small an output buffer is refused, not overrun */
		ck_assert_int_eq(mdt__b64url_decode(text, strlen(text), out,
		    len - 1, &n), -MDT_EPARSE);
		for (int k = 0; k < 4; k++) {
			size_t pos = randombytes_uniform((uint32_t)strlen(text));
			char was = text[pos];
			int a, b;

			text[pos] = (char)randombytes_uniform(256);
			a = ref_decode(text, strlen(text), rout, &rn);
			b = mdt__b64url_decode(text, strlen(text), out,
			    sizeof(out), &n);
			ck_assert_msg((a == 0) == (b == 0), "len %zu pos %zu "
			    "byte 0x%02x: reference %d, decoder %d", len, pos,
			    (unsigned char)text[pos], a, b);
			if (a == 0) {
				ck_assert_uint_eq(n, rn);
				ck_assert_mem_eq(out, rout, n);
			}
			text[pos] = was;
		}
	}
}
END_TEST

/* No byte outside the alphabet decodes, at any position of an eight-
 * character run or of a tail (some base64 decoders read bytes >= 0x80
 * as '_' or '/', which made one token many texts). */
START_TEST(base64url_refuses_every_other_byte)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	char text[12];
	uint8_t out[16];
	size_t n;

	for (int c = 0; c < 256; c++) {
		int valid = c != 0 && strchr(al, c) != NULL;

		for (size_t pos = 0; pos < sizeof(text); pos++) {
			memset(text, 'A', sizeof(text));
			text[pos] = (char)c;
			/* 12 characters: one run of eight, one group of four;
			 * 10: a run and a 2-character tail */
			ck_assert_int_eq(mdt__b64url_decode(text, 12, out,
			    sizeof(out), &n) == 0, valid);
			if (pos < 9)
				ck_assert_int_eq(mdt__b64url_decode(text, 10,
				    out, sizeof(out), &n) == 0, valid);
		}
	}
}
END_TEST

static Suite *
key_suite(void)
{
	Suite *s = suite_create("key");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, seed_is_deterministic);
	tcase_add_test(tc, checked_seed_matches_derived);
	tcase_add_test(tc, save_and_load);
	tcase_add_test(tc, open_permissions_refused);
	tcase_add_test(tc, malformed_files_refused);
	tcase_add_test(tc, pubkey_text_round_trip);
	tcase_add_test(tc, key_id_matches_definition);
	tcase_add_test(tc, signatures_are_domain_separated);
	tcase_add_test(tc, base64url_is_strict);
	tcase_add_test(tc, base64url_matches_rfc4648);
	tcase_add_test(tc, base64url_agrees_with_reference);
	tcase_add_test(tc, base64url_refuses_every_other_byte);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(key_suite());
}
