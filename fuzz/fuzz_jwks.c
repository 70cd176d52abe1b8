/*
 * Fuzz harness for the identity provider's key set reader (JWKS): any
 * input either loads into 1..MDT_IDP_KEYSET_MAX public keys with distinct
 * kids that write back as JWKS and read again into the same kids and
 * algorithms, or is refused with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/idp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same(const mdt_idp_keyset *a, const mdt_idp_keyset *b)
{
	if (mdt_idp_keyset_count(a) != mdt_idp_keyset_count(b))
		abort();
	for (size_t i = 0; i < mdt_idp_keyset_count(a); i++) {
		const char *kid = mdt_idp_keyset_kid(a, i);
		if (strcmp(kid, mdt_idp_keyset_kid(b, i)) != 0 ||
		    mdt_idp_keyset_find(a, kid) != mdt_idp_keyset_key(a, i) ||
		    mdt_idp_key_alg(mdt_idp_keyset_key(a, i)) !=
		    mdt_idp_key_alg(mdt_idp_keyset_key(b, i)) ||
		    mdt_idp_key_is_private(mdt_idp_keyset_key(a, i)))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mdt_idp_keyset *set = NULL, *back = NULL;
	char err[MDT_ERRMSG_MAX] = "", *text = NULL;
	int rc = mdt_idp_keyset_from_jwks((const char *)data, size, &set, err,
	    sizeof(err));

	if (rc != 0) {
		if (set != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if (mdt_idp_keyset_count(set) == 0 ||
	    mdt_idp_keyset_count(set) > MDT_IDP_KEYSET_MAX ||
	    mdt_idp_keyset_to_jwks(set, &text) != 0 ||
	    mdt_idp_keyset_from_jwks(text, strlen(text), &back, err,
	    sizeof(err)) != 0)
		abort();
	same(set, back);
	mdt_free(text);
	mdt_idp_keyset_free(back);
	mdt_idp_keyset_free(set);
	return 0;
}
