/*
 * The registry snapshot: policies, Cedar entities and the agent registry
 * (entities of type Mandate::Agent) plus the reloadable settings, loaded
 * together and swapped atomically on SIGHUP.  A failed load leaves the
 * running snapshot in place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include <mandate/spiffe.h>

#include "alloc_int.h"
#include "broker.h"

#define AGENT_TYPE "Mandate::Agent"
#define ID_SHOWN 96 /* bytes of a refused id quoted in a message */

int
brk_agent_id_check(const char *id, char *why, size_t whylen)
{
	size_t n = id != NULL ? strlen(id) : 0;

	if (id == NULL) {
		snprintf(why, whylen, "not a string");
		return -MDT_EPARSE;
	}
	if (mdt_spiffe_validate(id, n, why, whylen) != 0)
		return -MDT_EPARSE;
	if (n >= BRK_ID_MAX) {
		snprintf(why, whylen, "%zu bytes; agent ids are at most %d",
		    n, BRK_ID_MAX - 1);
		return -MDT_ETOOBIG;
	}
	return 0;
}

void
brk_id_display(const char *id, char *out, size_t outlen)
{
	size_t o = 0, i = 0;

	if (outlen == 0)
		return;
	for (; id != NULL && id[i] != 0 && i < ID_SHOWN && o + 4 < outlen;
	    i++) {
		unsigned char c = (unsigned char)id[i];
		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (id != NULL && id[i] != 0 && o + 3 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
}

/* Refuses a registry id: `agent "ID": FIELD ["VALUE"]: ... WHY` into err
 * (value: the refused target, NULL when the agent's own id is). */
static int
bad_id(const char *agent, const char *field, const char *value,
    const char *why, char *err, size_t errlen)
{
	char shown[72], val[72];

	brk_id_display(agent, shown, sizeof(shown));
	brk_id_display(value, val, sizeof(val));
	snprintf(err, errlen, "agent \"%s\": %s%s%s%s: not a valid SPIFFE id: "
	    "%s", shown, field, value != NULL ? " \"" : "", val,
	    value != NULL ? "\"" : "", why);
	return -MDT_ECONFIG;
}

static void
agent_clear(struct brk_agent *a)
{
	mdt__free(a->id);
	mdt_scope_set_free(a->ceiling);
	for (size_t i = 0; i < a->ntargets; i++)
		mdt__free(a->targets[i]);
	mdt__free(a->targets);
}

static void
snapshot_free(struct brk_snapshot *s)
{
	for (size_t i = 0; i < s->nagents; i++)
		agent_clear(&s->agents[i]);
	mdt__free(s->agents);
	mdt_policy_set_free(s->policies);
	mdt_entity_store_free(s->entities);
	brk_idp_free(s->idp);
	mdt_free(s->policy_source);
	mdt_free(s->entities_source);
	mdt__free(s);
}

void
brk_snapshot_release(struct brk_snapshot *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		snapshot_free(s);
}

struct brk_snapshot *
brk_snapshot_acquire(brk_broker *b)
{
	struct brk_snapshot *s;

	pthread_mutex_lock(&b->snap_lock);
	s = b->snap;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&b->snap_lock);
	return s;
}

const struct brk_agent *
brk_agent_find(const struct brk_snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->nagents; i++)
		if (strcmp(s->agents[i].id, id) == 0)
			return &s->agents[i];
	return NULL;
}

int
brk_agent_may_target(const struct brk_agent *a, const char *target)
{
	for (size_t i = 0; i < a->ntargets; i++)
		if (strcmp(a->targets[i], target) == 0)
			return 1;
	return 0;
}

/* An entity reference or plain string naming an agent. */
static const char *
ref_id(json_t *v)
{
	json_t *e;

	if (json_is_string(v))
		return json_string_value(v);
	e = json_object_get(v, "__entity");
	if (e == NULL)
		e = v;
	return json_string_value(json_object_get(e, "id"));
}

static int
parse_key(const char *text, mdt_pubkey *pk)
{
	uint8_t raw[64];
	size_t n = 0;

	if (strncmp(text, MDT_KEY_PUBLIC_PREFIX,
	    strlen(MDT_KEY_PUBLIC_PREFIX)) == 0)
		return mdt_pubkey_from_text(text, strlen(text), pk);
	if (sodium_base642bin(raw, sizeof(raw), text, strlen(text), NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 &&
	    sodium_base642bin(raw, sizeof(raw), text, strlen(text), NULL, &n,
	    NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -MDT_EKEY;
	if (n != MDT_KEY_PUBLIC_BYTES)
		return -MDT_EKEY;
	memcpy(pk->bytes, raw, n);
	return 0;
}

static int
parse_ceiling(json_t *v, mdt_scope_set **out, char *err, size_t errlen)
{
	size_t i;
	json_t *it;
	int rc;

	if (json_is_string(v))
		return brk_scopes_parse(json_string_value(v), out, err, errlen);
	if (!json_is_array(v))
		return -MDT_EPARSE;
	rc = mdt_scope_set_new(out);
	json_array_foreach(v, i, it) {
		const char *s = json_string_value(it);
		if (rc == 0)
			rc = s == NULL ? -MDT_EPARSE :
			    mdt_scope_set_add(*out, s, strlen(s), err, errlen);
	}
	if (rc != 0) {
		mdt_scope_set_free(*out);
		*out = NULL;
	}
	return rc;
}

static int
parse_targets(json_t *v, struct brk_agent *a, char *err, size_t errlen)
{
	char field[48], why[MDT_ERRMSG_MAX];
	size_t i;
	json_t *it;

	if (v == NULL)
		return 0;
	if (!json_is_array(v)) {
		snprintf(err, errlen, "agent %s: allowedTargets: expected an "
		    "array of agent ids", a->id);
		return -MDT_ECONFIG;
	}
	a->targets = mdt__calloc(json_array_size(v) + 1, sizeof(char *));
	if (a->targets == NULL)
		return -MDT_ENOMEM;
	json_array_foreach(v, i, it) {
		const char *s = ref_id(it);
		snprintf(field, sizeof(field), "allowedTargets[%zu]", i);
		if (brk_agent_id_check(s, why, sizeof(why)) != 0)
			return bad_id(a->id, field, s != NULL ? s : "", why, err,
			    errlen);
		a->targets[a->ntargets] = mdt__strndup(s, strlen(s));
		if (a->targets[a->ntargets++] == NULL)
			return -MDT_ENOMEM;
	}
	return 0;
}

static int
parse_agent(json_t *ent, struct brk_agent *a, char *err, size_t errlen)
{
	json_t *attrs = json_object_get(ent, "attrs");
	const char *id = ref_id(json_object_get(ent, "uid"));
	const char *key = json_string_value(json_object_get(attrs, "publicKey"));
	json_t *depth = json_object_get(attrs, "maxDepth");
	json_t *fan = json_object_get(attrs, "maxFanout");
	char msg[MDT_ERRMSG_MAX] = "";
	int rc;

	/* one validator for every id the broker reads: an id refused by
	 * hello could never log in, and one that differs only in form from
	 * another would name the same workload twice */
	if (brk_agent_id_check(id, msg, sizeof(msg)) != 0)
		return bad_id(id, "id", NULL, msg, err, errlen);
	a->id = mdt__strndup(id, strlen(id));
	if (a->id == NULL)
		return -MDT_ENOMEM;
	if (key != NULL && key[0] == 0) {
		a->has_key = 0; /* registered, but cannot authenticate */
	} else if (key == NULL || parse_key(key, &a->pk) != 0) {
		snprintf(err, errlen, "agent %s: publicKey missing or not an "
		    "Ed25519 public key", id);
		return -MDT_ECONFIG;
	} else {
		a->has_key = 1;
	}
	rc = parse_ceiling(json_object_get(attrs, "ceiling"), &a->ceiling, msg,
	    sizeof(msg));
	if (rc != 0) {
		snprintf(err, errlen, "agent %s: ceiling: %s", id,
		    msg[0] ? msg : "expected scopes");
		return -MDT_ECONFIG;
	}
	if ((rc = parse_targets(json_object_get(attrs, "allowedTargets"), a,
	    err, errlen)) != 0)
		return rc;
	a->max_depth = json_is_integer(depth) ? json_integer_value(depth) : 0;
	a->max_fanout = json_is_integer(fan) ? json_integer_value(fan) : 0;
	if (a->max_depth < 0 || a->max_depth > MDT_TOKEN_DEPTH_MAX ||
	    a->max_fanout < 0) {
		snprintf(err, errlen, "agent %s: maxDepth 0..%d, maxFanout >= 0",
		    id, MDT_TOKEN_DEPTH_MAX);
		return -MDT_ECONFIG;
	}
	return 0;
}

static int
is_agent(json_t *ent)
{
	json_t *uid = json_object_get(ent, "uid");
	json_t *e = json_object_get(uid, "__entity");
	const char *t = json_string_value(json_object_get(e ? e : uid, "type"));

	/* an agent whose id is not a string is refused by parse_agent, not
	 * skipped */
	return t != NULL && strcmp(t, AGENT_TYPE) == 0;
}

static int
load_agents(struct brk_snapshot *s, const char *path, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je), *ent;
	size_t i;
	int rc = 0;

	if (!json_is_array(root)) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column,
		    root == NULL ? je.text : "expected an array of entities");
		json_decref(root);
		return -MDT_ECONFIG;
	}
	s->agents = mdt__calloc(json_array_size(root) + 1, sizeof(*s->agents));
	if (s->agents == NULL)
		rc = -MDT_ENOMEM;
	json_array_foreach(root, i, ent) {
		if (rc != 0 || !is_agent(ent))
			continue;
		rc = parse_agent(ent, &s->agents[s->nagents++], err, errlen);
	}
	json_decref(root);
	return rc;
}

int
brk_snapshot_load(const struct brk_config *cfg, struct brk_snapshot **out,
    char *err, size_t errlen)
{
	struct brk_snapshot *s = mdt__calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return -MDT_ENOMEM;
	atomic_init(&s->refs, 1);
	s->cfg = *cfg;
	rc = mdt_policy_set_load_dir(&s->policies, cfg->policy_dir, err, errlen);
	if (rc == 0)
		rc = mdt_entity_store_new(&s->entities);
	if (rc == 0)
		rc = mdt_entity_store_load_file(s->entities, cfg->entities, err,
		    errlen);
	if (rc == 0)
		rc = brk_care_load(cfg->care_data, s->entities, &s->care_files,
		    err, errlen);
	if (rc == 0)
		rc = brk_snapshot_sources(s, cfg, err, errlen);
	if (rc == 0)
		rc = load_agents(s, cfg->entities, err, errlen);
	if (rc == 0)
		rc = brk_idp_load(cfg, &s->idp, err, errlen);
	/* a bad trust bundle is refused here, at start or on reload, not at
	 * the first SVID login */
	if (rc == 0)
		rc = brk_svid_check(cfg, err, errlen);
	if (rc != 0) {
		snapshot_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/*
 * A reload changes the rules (policies, registry, care teams), so the
 * single-action tokens decided under the old ones must end: the new
 * epoch is the next whole second, and the old rules stay in force until
 * the clock reaches it.  Every token issued under the old rules then has
 * issued_at < epoch (verifiers refuse it), every one under the new rules
 * issued_at >= epoch.  Costs the reload at most one second.
 */
static void
brk_epoch_wait(brk_broker *b)
{
	int64_t epoch = brk_now_ms() / 1000 + 1;

	atomic_store(&b->epoch, epoch);
	for (int64_t now = brk_now_ms(); now < epoch * 1000;
	    now = brk_now_ms()) {
		struct timespec ts = { 0, (long)(epoch * 1000 - now) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

void
brk_reload(brk_broker *b)
{
	struct brk_config cfg = b->cfg;
	struct brk_snapshot *s, *old;
	char err[MDT_ERRMSG_MAX] = "";
	int rc = 0;

	if (b->config_path[0] != 0)
		rc = brk_config_load_file(&cfg, b->config_path, 1, err,
		    sizeof(err));
	if (rc == 0 && brk_log_level_parse(cfg.log_level) < 0) {
		snprintf(err, sizeof(err), "log_level: unknown level '%s'",
		    cfg.log_level);
		rc = -MDT_ECONFIG;
	}
	if (rc == 0)
		rc = brk_snapshot_load(&cfg, &s, err, sizeof(err));
	if (rc == 0 && (rc = brk_sources_record(b, s, err, sizeof(err))) != 0)
		brk_snapshot_release(s);
	if (rc != 0) {
		BLOG(b, BRK_ERROR, "reload.failed",
		    "keeping the running policies and registry: %s", err);
		return;
	}
	brk_epoch_wait(b);
	pthread_mutex_lock(&b->snap_lock);
	old = b->snap;
	s->gen = old->gen + 1;
	b->snap = s;
	atomic_store(&b->reg_gen, s->gen);
	b->cfg = cfg;
	pthread_mutex_unlock(&b->snap_lock);
	brk_publish_epoch(b);
	brk_snapshot_release(old);
	brk_log_apply(b);
	BLOG(b, BRK_INFO, "reload.done", "policies=%zu hash=%s agents=%zu "
	    "entities=%zu care_paths=%zu", mdt_policy_set_count(s->policies),
	    mdt_policy_set_hash(s->policies), s->nagents,
	    mdt_entity_store_count(s->entities), s->care_files);
}
