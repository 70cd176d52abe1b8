/*
 * The checks `mandatectl agent` applies to a registry entry before it
 * writes the file: the ones mandated applies when it loads the registry
 * (broker/daemon/registry.c), so an edit the broker would refuse, and
 * leave the running registry in place for, is refused here first, with
 * the agent, the field and the reason.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl_agent.h"

#define SHOWN 96 /* bytes of a refused value quoted in a message */

int
ctl_agent_id_check(const char *id, char *why, size_t whylen)
{
	mdt_spiffe_id sid;
	size_t n = id != NULL ? strlen(id) : 0;

	if (id == NULL) {
		snprintf(why, whylen, "not a string");
		return -MDT_EPARSE;
	}
	if (mdt_spiffe_parse(id, n, &sid, why, whylen) != 0)
		return -MDT_EPARSE;
	if (n > CTL_AGENT_ID_MAX) {
		snprintf(why, whylen, "%zu bytes; agent ids are at most %d", n,
		    CTL_AGENT_ID_MAX);
		return -MDT_EPARSE;
	}
	if (sid.path_len == 0) {
		snprintf(why, whylen, "a bare trust domain names no workload; "
		    "add a path (spiffe://%.*s/agent/NAME)", (int)sid.td_len,
		    sid.id + sid.td_off);
		return -MDT_EPARSE;
	}
	return 0;
}

int
ctl_agent_key_parse(const char *text, mdt_pubkey *pk)
{
	uint8_t raw[64];
	size_t n = 0, len = strlen(text);

	if (strncmp(text, MDT_KEY_PUBLIC_PREFIX,
	    strlen(MDT_KEY_PUBLIC_PREFIX)) == 0)
		return mdt_pubkey_from_text(text, len, pk) == 0 ? 0 : -MDT_EKEY;
	/* the other forms the broker accepts in a hand-written file */
	if (sodium_base642bin(raw, sizeof(raw), text, len, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 &&
	    sodium_base642bin(raw, sizeof(raw), text, len, NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -MDT_EKEY;
	if (n != MDT_KEY_PUBLIC_BYTES)
		return -MDT_EKEY;
	memcpy(pk->bytes, raw, n);
	return 0;
}

/* `agent "ID": FIELD: WHY` into err; -MDT_ECONFIG. */
static int
refuse(const char *id, const char *field, const char *why, char *err,
    size_t errlen)
{
	snprintf(err, errlen, "agent \"%.*s\": %s: %s", SHOWN,
	    id != NULL ? id : "?", field, why);
	return -MDT_ECONFIG;
}

/* The broker's id rule (any SPIFFE id of at most 255 bytes); the stricter
 * command-line rule applies only to ids an operator types. */
static int
id_ok(const char *id, char *why, size_t whylen)
{
	if (id == NULL) {
		snprintf(why, whylen, "not a string");
		return 0;
	}
	if (mdt_spiffe_validate(id, strlen(id), why, whylen) != 0)
		return 0;
	if (strlen(id) > CTL_AGENT_ID_MAX) {
		snprintf(why, whylen, "%zu bytes; agent ids are at most %d",
		    strlen(id), CTL_AGENT_ID_MAX);
		return 0;
	}
	return 1;
}

static int
check_ceiling(const char *id, const json_t *v, char *err, size_t errlen)
{
	char why[MDT_ERRMSG_MAX] = "", field[48];
	mdt_scope_set *set = NULL;
	const json_t *it;
	size_t i;
	int rc;

	if (json_is_string(v)) { /* the space-separated form */
		rc = mdt_scope_set_parse(json_string_value(v),
		    json_string_length(v), &set, why, sizeof(why));
		mdt_scope_set_free(set);
		return rc == 0 ? 0 : refuse(id, "ceiling", why, err, errlen);
	}
	if (!json_is_array(v))
		return refuse(id, "ceiling", "expected an array of scopes",
		    err, errlen);
	if (mdt_scope_set_new(&set) != 0)
		return refuse(id, "ceiling", "out of memory", err, errlen);
	rc = 0;
	json_array_foreach(v, i, it) {
		const char *s = json_string_value(it);
		snprintf(field, sizeof(field), "ceiling[%zu]", i);
		if (s == NULL)
			rc = refuse(id, field, "not a string", err, errlen);
		else if (mdt_scope_set_add(set, s, strlen(s), why,
		    sizeof(why)) != 0)
			rc = refuse(id, field, why, err, errlen);
		if (rc != 0)
			break;
	}
	mdt_scope_set_free(set);
	return rc;
}

static int
check_targets(const char *id, const json_t *v, char *err, size_t errlen)
{
	char why[MDT_ERRMSG_MAX], field[48];
	const json_t *it;
	size_t i;

	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return refuse(id, "allowedTargets",
		    "expected an array of agent ids", err, errlen);
	json_array_foreach(v, i, it) {
		snprintf(field, sizeof(field), "allowedTargets[%zu]", i);
		if (!id_ok(ctl_agent_ref(it), why, sizeof(why)))
			return refuse(id, field, why, err, errlen);
	}
	return 0;
}

static int
check_limits(const char *id, const json_t *attrs, char *err, size_t errlen)
{
	const json_t *d = json_object_get(attrs, "maxDepth");
	const json_t *f = json_object_get(attrs, "maxFanout");
	char why[64];

	snprintf(why, sizeof(why), "expected an integer from 0 to %d",
	    MDT_TOKEN_DEPTH_MAX);
	if (d != NULL && (!json_is_integer(d) || json_integer_value(d) < 0 ||
	    json_integer_value(d) > MDT_TOKEN_DEPTH_MAX))
		return refuse(id, "maxDepth", why, err, errlen);
	if (f != NULL && (!json_is_integer(f) || json_integer_value(f) < 0))
		return refuse(id, "maxFanout", "expected an integer >= 0", err,
		    errlen);
	return 0;
}

int
ctl_agent_check(const json_t *ent, char *err, size_t errlen)
{
	const json_t *attrs = json_object_get(ent, "attrs");
	const char *id = ctl_agent_uid(ent), *key;
	char why[MDT_ERRMSG_MAX];
	mdt_pubkey pk;
	int rc;

	if (!id_ok(id, why, sizeof(why)))
		return refuse(id, "id: not a valid SPIFFE id", why, err, errlen);
	if (!json_is_object(attrs))
		return refuse(id, "attrs", "expected an object", err, errlen);
	key = json_string_value(json_object_get(attrs, "publicKey"));
	if (key == NULL || (key[0] != 0 && ctl_agent_key_parse(key, &pk) != 0))
		return refuse(id, "publicKey", "missing or not an Ed25519 public "
		    "key (\"\" for an agent that authenticates with an SVID)",
		    err, errlen);
	if ((rc = check_ceiling(id, json_object_get(attrs, "ceiling"), err,
	    errlen)) != 0)
		return rc;
	if ((rc = check_targets(id, json_object_get(attrs, "allowedTargets"),
	    err, errlen)) != 0)
		return rc;
	return check_limits(id, attrs, err, errlen);
}
