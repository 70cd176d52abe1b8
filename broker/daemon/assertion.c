/*
 * Launch assertions: the identity provider configured by idp_key or
 * idp_jwks, idp_issuer and idp_alg (loaded with the registry snapshot, so SIGHUP
 * rotates it), and the verification of an assertion into the clinician,
 * patient and granted scopes the broker uses.  The clinician id is the
 * fhirUser with its "Practitioner/" prefix removed, or sub.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <mandate/idp.h>

#include "alloc_int.h"
#include "broker.h"

#define MAX_LIFETIME (24 * 3600)

/* The identity provider of a snapshot: one key (idp_key) or a key set
 * (idp_jwks), never both. */
struct brk_idp {
	mdt_idp_key *key;
	mdt_idp_keyset *set;
};

/* idp_alg, when set, names the algorithm of every key. */
static int
check_alg(const struct brk_config *cfg, const mdt_idp_key *key,
    const char *file, const char *kid, char *err, size_t errlen)
{
	mdt_idp_alg alg;

	if (cfg->idp_alg[0] == 0 || (mdt_idp_alg_parse(cfg->idp_alg, &alg) == 0
	    && alg == mdt_idp_key_alg(key)))
		return 0;
	snprintf(err, errlen, "idp_alg %s does not match the key%s%s in %s "
	    "(%s)", cfg->idp_alg, kid != NULL ? " " : "", kid != NULL ? kid :
	    "", file, mdt_idp_alg_name(mdt_idp_key_alg(key)));
	return -MDT_ECONFIG;
}

static int
load_set(const struct brk_config *cfg, struct brk_idp *idp, char *err,
    size_t errlen)
{
	int rc = mdt_idp_keyset_load(cfg->idp_jwks, &idp->set, err, errlen);

	for (size_t i = 0; rc == 0 && i < mdt_idp_keyset_count(idp->set); i++)
		rc = check_alg(cfg, mdt_idp_keyset_key(idp->set, i),
		    cfg->idp_jwks, mdt_idp_keyset_kid(idp->set, i), err, errlen);
	return rc;
}

int
brk_idp_load(const struct brk_config *cfg, void **out, char *err,
    size_t errlen)
{
	struct brk_idp *idp;
	int rc;

	*out = NULL;
	if (cfg->idp_key[0] == 0 && cfg->idp_jwks[0] == 0)
		return 0; /* no IdP: every assertion is refused */
	if (cfg->idp_key[0] != 0 && cfg->idp_jwks[0] != 0) {
		snprintf(err, errlen, "idp_key and idp_jwks are both set: the "
		    "identity provider's keys come from one of them");
		return -MDT_ECONFIG;
	}
	if ((idp = mdt__calloc(1, sizeof(*idp))) == NULL)
		return -MDT_ENOMEM;
	if (cfg->idp_jwks[0] != 0) {
		rc = load_set(cfg, idp, err, errlen);
	} else {
		rc = mdt_idp_key_load_public(cfg->idp_key, &idp->key, err,
		    errlen);
		if (rc == 0)
			rc = check_alg(cfg, idp->key, cfg->idp_key, NULL, err,
			    errlen);
	}
	if (rc != 0) {
		brk_idp_free(idp);
		return rc == -MDT_ENOMEM ? rc : -MDT_ECONFIG;
	}
	*out = idp;
	return 0;
}

void
brk_idp_free(void *p)
{
	struct brk_idp *idp = p;

	if (idp == NULL)
		return;
	mdt_idp_key_free(idp->key);
	mdt_idp_keyset_free(idp->set);
	mdt__free(idp);
}

void
brk_claims_clear(struct brk_claims *cl)
{
	mdt_scope_set_free(cl->scopes);
	cl->scopes = NULL;
}

static const char *
clinician_of(const mdt_idp_claims *c)
{
	const char *fu = mdt_idp_claims_fhir_user(c);
	const char *slash;

	if (fu == NULL || fu[0] == 0)
		return mdt_idp_claims_sub(c);
	slash = strrchr(fu, '/');
	return slash != NULL ? slash + 1 : fu;
}

int
brk_assertion_verify(brk_broker *b, struct brk_ctx *c, const char *jwt,
    struct brk_claims *out, struct brk_deny *d)
{
	const struct brk_config *cfg = &c->snap->cfg;
	const struct brk_idp *idp = c->snap->idp;
	mdt_idp_verify_opts o = {
		.key = idp != NULL ? idp->key : NULL,
		.keys = idp != NULL ? idp->set : NULL,
		.issuer = cfg->idp_issuer,
		.audience = cfg->broker_id,
		.now = brk_now_ms() / 1000,
		.skew = BRK_IDP_SKEW,
		.max_lifetime = MAX_LIFETIME,
	};
	mdt_idp_claims *cl = NULL;
	char err[MDT_ERRMSG_MAX] = "";
	int rc;

	(void)b;
	if (idp == NULL) {
		brk_deny_set(d, -MDT_EKEY, "assertion", "no identity provider "
		    "is configured (idp_key or idp_jwks)");
		return -1;
	}
	rc = mdt_idp_verify(jwt, strlen(jwt), &o, &cl, err, sizeof(err));
	if (rc == 0)
		rc = mdt_scope_set_dup(mdt_idp_claims_scopes(cl), &out->scopes);
	if (rc != 0) {
		mdt_idp_claims_free(cl);
		brk_deny_set(d, rc, "assertion", "launch assertion refused: %s",
		    err[0] ? err : mdt_strerror(rc));
		return -1;
	}
	snprintf(out->clinician, sizeof(out->clinician), "%s", clinician_of(cl));
	snprintf(out->patient, sizeof(out->patient), "%s",
	    mdt_idp_claims_patient(cl));
	snprintf(out->stepup, sizeof(out->stepup), "%s",
	    mdt_idp_claims_stepup(cl) ? mdt_idp_claims_stepup(cl) : "");
	snprintf(out->purpose_of_use, sizeof(out->purpose_of_use), "%s",
	    mdt_idp_claims_purpose_of_use(cl) ?
	    mdt_idp_claims_purpose_of_use(cl) : "");
	/* the act is what the IdP signed (header.payload), not how its
	 * signature is spelled: an ES256 signature (r, s) has a twin
	 * (r, n - s) that verifies as well, so the whole JWT would let one
	 * act be used twice.  The JWT verified, so it has its dots. */
	crypto_generichash(out->act, sizeof(out->act), (const uint8_t *)jwt,
	    strrchr(jwt, '.') != NULL ? (size_t)(strrchr(jwt, '.') - jwt) :
	    strlen(jwt), NULL, 0);
	out->iat = mdt_idp_claims_iat(cl);
	out->exp = mdt_idp_claims_exp(cl);
	mdt_idp_claims_free(cl);
	return 0;
}

int
brk_act_use(struct brk_ctx *c, const struct brk_claims *cl, const char *kind,
    struct brk_deny *d)
{
	int rc = mdt_store_use_act(c->b->store, cl->act, kind, cl->clinician,
	    cl->exp * 1000);

	if (rc == -MDT_EEXIST)
		brk_deny_set(d, -MDT_EEXIST, "act.reused", "this assertion was "
		    "already used for an act of the clinician (%s): each act "
		    "needs an assertion of its own", kind);
	else if (rc != 0)
		brk_deny_set(d, -MDT_ESTORE, "store", "the clinician's act "
		    "could not be recorded: %s", mdt_strerror(rc));
	return rc == 0 ? 0 : -1;
}
