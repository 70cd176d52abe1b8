/*
 * Fuzz harness for the audit store's JSON column check: the
 * allocation-free scan of the two common shapes must never accept what
 * jansson refuses, and the combined check must always agree with jansson
 * (any JSON for want 1, an array of strings for want 2).  Inputs are cut
 * at the first NUL, as the store's C strings are.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	for (int want = 1; want <= 2; want++)
		if (mdt__json_ok(s, want) != mdt__json_ok_jansson(s, want))
			abort();
	free(s);
	return 0;
}
