/*
 * `mandatectl idp jwks`: a key set (JWKS) of identity-provider public
 * keys, each under the kid given after it, for the broker's idp_jwks.
 */
#include <string.h>

#include "ctl.h"
#include "ctl_token.h"

#define CMD "idp jwks"

/* Loads each --pub into set under the matching --kid. */
static int
fill(mdt_idp_keyset *set, const char *const *pub, const char *const *kid,
    size_t n)
{
	char err[MDT_ERRMSG_MAX];

	for (size_t i = 0; i < n; i++) {
		mdt_idp_key *k = NULL;
		if (mdt_idp_key_load_public(pub[i], &k, err, sizeof(err)) != 0 ||
		    mdt_idp_keyset_add(set, kid[i], k, err, sizeof(err)) != 0) {
			mdt_idp_key_free(k);
			ctl_error("%s: --pub %s --kid %s: %s", CMD, pub[i], kid[i],
			    err);
			return CTL_EXIT_INVALID;
		}
	}
	return 0;
}

int
ctl_idp_jwks(int argc, char **argv)
{
	const char *pub[CTL_OPT_MULTI_MAX], *kid[CTL_OPT_MULTI_MAX];
	size_t npub = 0, nkid = 0;
	const ctl_opt opts[] = {
		{"--pub", CTL_OPT_MULTI, NULL, pub, &npub},
		{"--kid", CTL_OPT_MULTI, NULL, kid, &nkid},
	};
	mdt_idp_keyset *set = NULL;
	char *text = NULL;
	int rc = ctl_parse_opts(argc, argv, 1, opts, 2, "idp");

	if (rc != 0)
		return rc;
	if (npub == 0 || npub != nkid) {
		ctl_error("%s: give --pub FILE --kid KID for each key (see "
		    "`mandatectl idp --help`)", CMD);
		return CTL_EXIT_USAGE;
	}
	if (mdt_idp_keyset_new(&set) != 0)
		return CTL_EXIT_INVALID;
	rc = fill(set, pub, kid, npub);
	if (rc == 0 && mdt_idp_keyset_to_jwks(set, &text) != 0) {
		ctl_error("%s: cannot write the key set", CMD);
		rc = CTL_EXIT_INVALID;
	}
	if (rc == 0)
		printf("%s\n", text);
	mdt_free(text);
	mdt_idp_keyset_free(set);
	return rc;
}
