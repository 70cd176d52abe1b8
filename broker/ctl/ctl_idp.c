/*
 * `mandatectl idp`: a development identity provider.  Generates IdP keys,
 * signs launch assertions (JWT) for examples and tests, and verifies them
 * the way the broker does.  Uses only the public API (<mandate/idp.h>).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mandate/mandate.h>

#include "ctl.h"

static const char idp_usage[] =
    "usage: mandatectl idp keygen --alg ES256|RS256|EdDSA --out DIR/NAME\n"
    "       mandatectl idp assert --key NAME.pem --iss ISS --aud AUD\n"
    "                             --sub CLINICIAN --patient ID --scope \"S S\"\n"
    "                             --ttl SECONDS [--fhir-user REF] [--kid KID]\n"
    "                             [--iat UNIX_SECONDS] [--stepup ID]\n"
    "                             [--purpose-of-use ETREAT|BTG]\n"
    "       mandatectl idp verify --pub NAME.pub.pem|--jwks FILE --iss ISS\n"
    "                             --aud AUD"
    " --token JWT|- [--now UNIX_SECONDS]\n"
    "                             [--skew SECONDS]\n"
    "       mandatectl idp jwks --pub NAME.pub.pem --kid KID [--pub ... --kid ...]\n"
    "\n"
    "A development identity provider for Mandate's examples and tests.  The\n"
    "broker trusts the public key of an identity provider and accepts\n"
    "launch assertions signed by it (docs/identity.md).  Do not use these\n"
    "keys in production: the broker warns at start when it trusts one.\n"
    "\n"
    "keygen\n"
    "    Generates a key pair and writes DIR/NAME.pem (private, PKCS#8,\n"
    "    mode 0600) and DIR/NAME.pub.pem (public).  Existing files are never\n"
    "    overwritten.  Both files start with a line marking them as\n"
    "    development keys, which the broker reports when it trusts one.\n"
    "    --alg ALG        ES256 (P-256), RS256 (RSA 3072) or EdDSA (Ed25519)\n"
    "    --out DIR/NAME   path prefix of the two files\n"
    "\n"
    "assert\n"
    "    Prints a signed launch assertion (compact JWT) on standard output.\n"
    "    --key FILE       private key written by keygen\n"
    "    --iss ISS        issuer (the broker must be configured with it)\n"
    "    --aud AUD        audience: the broker's id\n"
    "    --sub ID         the clinician\n"
    "    --patient ID     the patient in context\n"
    "    --scope TEXT     SMART scopes granted, space-separated (one argument)\n"
    "    --ttl SECONDS    lifetime, 1..86400\n"
    "    --fhir-user REF  fhirUser claim, e.g. Practitioner/123 (optional)\n"
    "    --kid KID        key id put in the header (optional)\n"
    "    --iat SECONDS    issue time (default: now)\n"
    "    --stepup ID      mandate_stepup claim: this assertion is the\n"
    "                     clinician's decision of step-up ID (approve or\n"
    "                     reject); the broker accepts it once, and only when\n"
    "                     issued after the step-up\n"
    "    --purpose-of-use P  purpose_of_use claim: the clinician declares an\n"
    "                     emergency (ETREAT, BTG); the broker opens an\n"
    "                     emergency task only with such an assertion\n"
    "\n"
    "verify\n"
    "    Verifies an assertion as the broker does and prints its claims.\n"
    "    --pub FILE       public key of the identity provider\n"
    "    --jwks FILE      or its key set (JWKS): the assertion's kid picks\n"
    "                     the key, as the broker's idp_jwks does\n"
    "    --iss ISS        required issuer\n"
    "    --aud AUD        required audience\n"
    "    --token JWT      the assertion, or - to read standard input\n"
    "    --now SECONDS    verification time (default: now)\n"
    "    --skew SECONDS   clock-skew allowance, 0..300 (default 60)\n"
    "\n"
    "jwks\n"
    "    Prints a key set (JWKS) of the public keys given, each under the\n"
    "    kid that follows it, for the broker's idp_jwks: publish the next key\n"
    "    beside the current one, sign with it (assert --kid), then drop the\n"
    "    old one once its assertions have expired.\n"
    "\n"
    "Exit status: 0 success, 2 invalid input (unreadable key, malformed\n"
    "scope, assertion refused), 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl idp keygen --alg ES256 --out keys/idp\n"
    "    mandatectl idp assert --key keys/idp.pem --iss https://idp.example \\\n"
    "        --aud spiffe://clinic.example/broker --sub dr-lee --patient p-001 \\\n"
    "        --scope \"openid fhirUser patient/*.rs tool/fax.x\" --ttl 300\n";

#define SKEW_DEFAULT 60

typedef struct idp_opts {
	const char *alg, *out, *key, *pub, *iss, *aud, *sub, *patient, *scope;
	const char *ttl, *fhir_user, *kid, *iat, *token, *now, *skew;
	const char *stepup, *purpose_of_use, *jwks;
} idp_opts;

static const struct {
	const char *flag;
	size_t off;
} idp_flags[] = {
	{"--alg", offsetof(idp_opts, alg)},
	{"--out", offsetof(idp_opts, out)},
	{"--key", offsetof(idp_opts, key)},
	{"--pub", offsetof(idp_opts, pub)},
	{"--iss", offsetof(idp_opts, iss)},
	{"--aud", offsetof(idp_opts, aud)},
	{"--sub", offsetof(idp_opts, sub)},
	{"--patient", offsetof(idp_opts, patient)},
	{"--scope", offsetof(idp_opts, scope)},
	{"--ttl", offsetof(idp_opts, ttl)},
	{"--fhir-user", offsetof(idp_opts, fhir_user)},
	{"--kid", offsetof(idp_opts, kid)},
	{"--iat", offsetof(idp_opts, iat)},
	{"--token", offsetof(idp_opts, token)},
	{"--now", offsetof(idp_opts, now)},
	{"--skew", offsetof(idp_opts, skew)},
	{"--stepup", offsetof(idp_opts, stepup)},
	{"--purpose-of-use", offsetof(idp_opts, purpose_of_use)},
	{"--jwks", offsetof(idp_opts, jwks)},
};

static int
usage_error(const char *msg)
{
	ctl_error("%s (see `mandatectl idp --help`)", msg);
	return CTL_EXIT_USAGE;
}

static int
parse_opts(int argc, char **argv, idp_opts *o)
{
	const size_t nflags = sizeof(idp_flags) / sizeof(idp_flags[0]);

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i += 2) {
		size_t k = 0;
		while (k < nflags && strcmp(argv[i], idp_flags[k].flag) != 0)
			k++;
		if (k == nflags || i + 1 >= argc) {
			ctl_error("bad or incomplete option '%s'", argv[i]);
			return -1;
		}
		*(const char **)(void *)((char *)o + idp_flags[k].off) =
		    argv[i + 1];
	}
	return 0;
}

/* A decimal integer in [lo, hi]; -1 after printing what is wrong. */
static int
parse_int(const char *what, const char *s, int64_t lo, int64_t hi,
    int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		ctl_error("%s: '%s' is not an integer in %" PRId64 "..%" PRId64,
		    what, s, lo, hi);
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

static int
idp_keygen(const idp_opts *o)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_idp_key *key;
	mdt_idp_alg alg;
	int rc;

	if (o->alg == NULL || o->out == NULL)
		return usage_error("keygen needs --alg and --out");
	if (mdt_idp_alg_parse(o->alg, &alg) != 0)
		return usage_error("--alg must be ES256, RS256 or EdDSA");
	if ((rc = mdt_idp_key_generate(alg, &key)) != 0) {
		ctl_error("key generation failed: %s", mdt_strerror(rc));
		return CTL_EXIT_INVALID;
	}
	rc = mdt_idp_key_save(key, o->out, err, sizeof(err));
	mdt_idp_key_free(key);
	if (rc != 0) {
		ctl_error("%s", err);
		return CTL_EXIT_INVALID;
	}
	printf("%s.pem\n%s.pub.pem\n", o->out, o->out);
	return CTL_EXIT_OK;
}

static int
idp_assert(const idp_opts *o)
{
	char err[MDT_ERRMSG_MAX] = "", *jwt;
	mdt_idp_assert_opts a;
	mdt_idp_key *key;
	int rc;

	if (o->key == NULL || o->iss == NULL || o->aud == NULL ||
	    o->sub == NULL || o->patient == NULL || o->scope == NULL ||
	    o->ttl == NULL)
		return usage_error("assert needs --key, --iss, --aud, --sub, "
		    "--patient, --scope and --ttl");
	memset(&a, 0, sizeof(a));
	a.iat = (int64_t)time(NULL);
	if (parse_int("--ttl", o->ttl, 1, 86400, &a.ttl) != 0 ||
	    (o->iat != NULL && parse_int("--iat", o->iat, 0, INT64_C(1) << 40,
	    &a.iat) != 0))
		return CTL_EXIT_USAGE;
	a.iss = o->iss;
	a.aud = o->aud;
	a.sub = o->sub;
	a.patient = o->patient;
	a.scope = o->scope;
	a.fhir_user = o->fhir_user;
	a.kid = o->kid;
	a.stepup = o->stepup;
	a.purpose_of_use = o->purpose_of_use;
	if ((rc = mdt_idp_key_load_private(o->key, &key, err,
	    sizeof(err))) != 0) {
		ctl_error("%s", err);
		return CTL_EXIT_INVALID;
	}
	rc = mdt_idp_assert(key, &a, &jwt, err, sizeof(err));
	mdt_idp_key_free(key);
	if (rc != 0) {
		ctl_error("%s", err);
		return CTL_EXIT_INVALID;
	}
	printf("%s\n", jwt);
	mdt_free(jwt);
	return CTL_EXIT_OK;
}

static void
print_claims(const mdt_idp_claims *c)
{
	const char *fu = mdt_idp_claims_fhir_user(c);
	const char *jti = mdt_idp_claims_jti(c);
	char *scopes = NULL;

	printf("iss       %s\n", mdt_idp_claims_iss(c));
	printf("sub       %s\n", mdt_idp_claims_sub(c));
	printf("fhirUser  %s\n", fu != NULL ? fu : "-");
	printf("patient   %s\n", mdt_idp_claims_patient(c));
	printf("iat       %" PRId64 "\n", mdt_idp_claims_iat(c));
	printf("exp       %" PRId64 "\n", mdt_idp_claims_exp(c));
	printf("jti       %s\n", jti != NULL ? jti : "-");
	if (mdt_idp_claims_stepup(c) != NULL)
		printf("stepup    %s\n", mdt_idp_claims_stepup(c));
	if (mdt_idp_claims_purpose_of_use(c) != NULL)
		printf("purpose_of_use %s\n", mdt_idp_claims_purpose_of_use(c));
	if (mdt_scope_set_format(mdt_idp_claims_scopes(c), &scopes) == 0)
		printf("scopes    %s\n", scopes);
	mdt_free(scopes);
}

/* Reads --token: the text itself, or standard input for "-". */
static int
read_token(const char *arg, char **out, size_t *len)
{
	if (strcmp(arg, "-") != 0) {
		*len = strlen(arg);
		*out = strdup(arg);
		return *out != NULL ? 0 : -1;
	}
	if (ctl_read_file("-", MDT_IDP_JWT_MAX + 2, out, len) != 0)
		return -1;
	while (*len > 0 && ((*out)[*len - 1] == '\n' ||
	    (*out)[*len - 1] == '\r'))
		(*out)[--*len] = '\0';
	return 0;
}

/* The key (--pub) or key set (--jwks) to verify with, into v. */
static int
verify_keys(const idp_opts *o, mdt_idp_verify_opts *v, mdt_idp_key **key,
    mdt_idp_keyset **set)
{
	char err[MDT_ERRMSG_MAX] = "";
	int rc;

	if (o->jwks != NULL) {
		rc = mdt_idp_keyset_load(o->jwks, set, err, sizeof(err));
		v->keys = *set;
	} else {
		rc = mdt_idp_key_load_public(o->pub, key, err, sizeof(err));
		v->key = *key;
	}
	if (rc != 0) {
		ctl_error("%s", err);
		return CTL_EXIT_INVALID;
	}
	if (*key != NULL && mdt_idp_key_is_development(*key))
		ctl_error("warning: %s is a development identity provider key",
		    o->pub);
	return 0;
}

static int
idp_verify(const idp_opts *o)
{
	char err[MDT_ERRMSG_MAX] = "", *jwt;
	mdt_idp_verify_opts v;
	mdt_idp_claims *claims;
	mdt_idp_key *key = NULL;
	mdt_idp_keyset *set = NULL;
	size_t len;
	int rc;

	if ((o->pub == NULL) == (o->jwks == NULL) || o->iss == NULL ||
	    o->aud == NULL || o->token == NULL)
		return usage_error("verify needs --pub or --jwks (one), --iss, "
		    "--aud and --token");
	memset(&v, 0, sizeof(v));
	v.now = (int64_t)time(NULL);
	v.skew = SKEW_DEFAULT;
	if ((o->now != NULL && parse_int("--now", o->now, 0, INT64_C(1) << 40,
	    &v.now) != 0) || (o->skew != NULL && parse_int("--skew", o->skew,
	    0, MDT_IDP_SKEW_MAX, &v.skew) != 0))
		return CTL_EXIT_USAGE;
	if ((rc = verify_keys(o, &v, &key, &set)) != 0)
		return rc;
	if (read_token(o->token, &jwt, &len) != 0) {
		mdt_idp_key_free(key);
		mdt_idp_keyset_free(set);
		return CTL_EXIT_INVALID;
	}
	v.issuer = o->iss;
	v.audience = o->aud;
	rc = mdt_idp_verify(jwt, len, &v, &claims, err, sizeof(err));
	free(jwt);
	mdt_idp_key_free(key);
	mdt_idp_keyset_free(set);
	if (rc != 0) {
		ctl_error("assertion refused (%s): %s", mdt_strerror(rc), err);
		return CTL_EXIT_INVALID;
	}
	print_claims(claims);
	mdt_idp_claims_free(claims);
	return CTL_EXIT_OK;
}

int
ctl_idp_main(int argc, char **argv)
{
	idp_opts o;

	if (argc < 2 || ctl_wants_help(argc, argv)) {
		fputs(idp_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "jwks") == 0)
		return ctl_idp_jwks(argc - 1, argv + 1);
	if (parse_opts(argc - 1, argv + 1, &o) != 0)
		return CTL_EXIT_USAGE;
	if (strcmp(argv[1], "keygen") == 0)
		return idp_keygen(&o);
	if (strcmp(argv[1], "assert") == 0)
		return idp_assert(&o);
	if (strcmp(argv[1], "verify") == 0)
		return idp_verify(&o);
	return usage_error("unknown idp command");
}
