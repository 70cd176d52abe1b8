/* The integration harness's development identity provider: an Ed25519
 * IdP key trusted by the test broker, and launch assertions signed by it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, strdup, kill */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mandate/idp.h>

#include "brk_test.h"

#define BT_ISSUER "mandate-dev-idp"
#define BT_AUDIENCE "spiffe://mandate.local/broker"

int bt_idp_setup(struct bt_broker *b);
void bt_idp_free(struct bt_broker *b);
size_t bt_idp_args(struct bt_broker *b, const char **argv, size_t max);

int
bt_idp_setup(struct bt_broker *b)
{
	mdt_idp_key *key = NULL;
	char base[580], err[256];

	snprintf(base, sizeof(base), "%s/idp", b->dir);
	snprintf(b->idp_pub, sizeof(b->idp_pub), "%s.pub.pem", base);
	if (mdt_idp_key_generate(MDT_IDP_EDDSA, &key) != 0 ||
	    mdt_idp_key_save(key, base, err, sizeof(err)) != 0) {
		fprintf(stderr, "idp setup: %s\n", err);
		mdt_idp_key_free(key);
		return -1;
	}
	b->idp = key;
	return 0;
}

void
bt_idp_free(struct bt_broker *b)
{
	mdt_idp_key_free(b->idp);
	b->idp = NULL;
}

size_t
bt_idp_args(struct bt_broker *b, const char **argv, size_t max)
{
	if (max < 4)
		return 0;
	argv[0] = "--idp-key";
	argv[1] = b->idp_pub;
	argv[2] = "--set";
	argv[3] = "idp_dev=1";
	return 4;
}

char *
bt_assertion(struct bt_broker *b, const char *clinician, const char *patient,
    const char *scopes, long iat_offset)
{
	return bt_assertion_act(b, clinician, patient, scopes, iat_offset, NULL,
	    NULL);
}

char *
bt_assertion_act(struct bt_broker *b, const char *clinician,
    const char *patient, const char *scopes, long iat_offset,
    const char *stepup, const char *purpose_of_use)
{
	char fu[300], err[256], *jwt = NULL, *copy;
	mdt_idp_assert_opts o = {
		.iss = BT_ISSUER, .aud = BT_AUDIENCE, .sub = clinician,
		.fhir_user = fu, .patient = patient, .scope = scopes,
		.iat = (int64_t)time(NULL) + iat_offset, .ttl = 600,
		.stepup = stepup, .purpose_of_use = purpose_of_use,
	};

	snprintf(fu, sizeof(fu), "Practitioner/%s", clinician);
	if (mdt_idp_assert(b->idp, &o, &jwt, err, sizeof(err)) != 0) {
		fprintf(stderr, "assertion: %s\n", err);
		return NULL;
	}
	copy = strdup(jwt);
	mdt_free(jwt);
	return copy;
}
