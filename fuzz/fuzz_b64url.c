/*
 * Fuzz harness for the constant-time base64url codec under every token,
 * receipt, proof and key text (core/key/key_b64.c).  Any input either is
 * refused by both the codec and a plain table decoder, or accepted by
 * both with the same bytes; and what is accepted encodes back to exactly
 * the input (one text per byte string).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "key_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXLEN 4096

static int
ref_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

static int
ref_decode(const uint8_t *t, size_t len, uint8_t *out, size_t *n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (len == 0 || len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = ref_val(t[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	*n = o;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[MAXLEN], ref[MAXLEN];
	static char back[MAXLEN * 2];
	size_t n = 0, rn = 0;
	int a, b;

	if (size > MAXLEN)
		return 0;
	a = mdt__b64url_decode((const char *)data, size, out, sizeof(out), &n);
	b = ref_decode(data, size, ref, &rn);
	if ((a == 0) != (b == 0))
		abort();
	if (a != 0)
		return 0;
	if (n != rn || memcmp(out, ref, n) != 0)
		abort();
	mdt__b64url_encode(out, n, back, sizeof(back));
	if (strlen(back) != size || memcmp(back, data, size) != 0)
		abort();
	return 0;
}
