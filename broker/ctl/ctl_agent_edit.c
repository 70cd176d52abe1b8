/*
 * `mandatectl agent add | remove | rotate-key`: each reads the registry
 * under its lock, changes one agent, and saves the file only when the
 * whole registry passes the broker's checks (ctl_agent_file.c).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_agent.h"
#include "ctl_token.h"

#define CMD_ADD "agent add"
#define CMD_RM "agent remove"
#define CMD_ROT "agent rotate-key"
#define TOOL_TYPE "Mandate::Tool"

static json_t *
entity_ref(const char *type, const char *id)
{
	return json_pack("{s:{s:s,s:s}}", "__entity", "type", type, "id", id);
}

/*
 * The publicKey value from --key FILE, --public-key TEXT or --svid
 * (exactly one): mdtpk1. text, or "" for an agent that authenticates
 * with an X.509-SVID only.
 */
static int
key_value(const char *file, const char *text, const char *svid,
    const char *cmd, char out[MDT_KEY_PUBLIC_TEXT_BYTES])
{
	mdt_pubkey pk;
	int n = (file != NULL) + (text != NULL) + (svid != NULL);

	if (n != 1) {
		ctl_error("%s: give exactly one of --key FILE, --public-key "
		    "TEXT%s (see `mandatectl agent --help`)", cmd,
		    svid != NULL || strcmp(cmd, CMD_ADD) == 0 ? ", --svid" : "");
		return CTL_EXIT_USAGE;
	}
	if (svid != NULL) {
		out[0] = 0;
		return 0;
	}
	if (file != NULL && ctl_load_pub(file, &pk) != 0)
		return CTL_EXIT_INVALID;
	if (text != NULL && ctl_agent_key_parse(text, &pk) != 0) {
		ctl_error("%s: --public-key: not an Ed25519 public key "
		    "(`%s...` text or base64url of 32 bytes)", cmd,
		    MDT_KEY_PUBLIC_PREFIX);
		return CTL_EXIT_USAGE;
	}
	mdt_pubkey_to_text(&pk, out);
	return 0;
}

static int
id_arg(const char *id, const char *opt, const char *cmd)
{
	char why[MDT_ERRMSG_MAX];

	if (ctl_agent_id_check(id, why, sizeof(why)) != 0) {
		ctl_error("%s: %s '%.96s': not a valid agent id: %s", cmd, opt,
		    id, why);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

/* The canonical text of every --ceiling scope, as a JSON array. */
static int
ceiling_json(const char *const *v, size_t n, json_t **out)
{
	mdt_scope_set *set;
	char s[MDT_SCOPE_TEXT_MAX + 1];
	int rc;

	if (n == 0)
		return ctl_missing("--ceiling", CMD_ADD);
	if ((rc = ctl_scopes_opt(v, n, "--ceiling", "agent", &set)) != 0)
		return rc;
	*out = json_array();
	for (size_t i = 0; i < mdt_scope_set_count(set); i++)
		if (mdt_scope_set_get(set, i, s, sizeof(s)) == 0)
			json_array_append_new(*out, json_string(s));
	mdt_scope_set_free(set);
	return 0;
}

static int
targets_json(const ctl_registry *r, const char *const *v, size_t n,
    json_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int rc = id_arg(v[i], "--target", CMD_ADD);
		if (rc != 0)
			return rc;
		if (ctl_registry_find(r, v[i]) < 0)
			fprintf(stderr, "mandatectl: note: target %s is not "
			    "registered yet\n", v[i]);
		json_array_append_new(out, entity_ref(CTL_AGENT_TYPE, v[i]));
	}
	return 0;
}

static int
has_tool(const ctl_registry *r, const char *name)
{
	size_t i;
	json_t *ent;

	json_array_foreach(r->root, i, ent) {
		json_t *uid = json_object_get(ent, "uid");
		const char *t = json_string_value(json_object_get(uid, "type"));
		const char *id = json_string_value(json_object_get(uid, "id"));
		if (t != NULL && id != NULL && strcmp(t, TOOL_TYPE) == 0 &&
		    strcmp(id, name) == 0)
			return 1;
	}
	return 0;
}

static int
tools_json(const ctl_registry *r, const char *const *v, size_t n,
    json_t *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!has_tool(r, v[i])) {
			ctl_error("%s: --tool '%s': no %s entity of that id in "
			    "%s", CMD_ADD, v[i], TOOL_TYPE, r->path);
			return CTL_EXIT_INVALID;
		}
		json_array_append_new(out, entity_ref(TOOL_TYPE, v[i]));
	}
	return 0;
}

/* Reports every missing option at once, not one per run. */
static int
need(const char *cmd, const char *const *names, const int *have, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if (!have[i])
			rc = ctl_missing(names[i], cmd);
	return rc;
}

/* A Cedar datetime literal, checked by the Cedar loader itself. */
static int
datetime_ok(const char *text)
{
	char err[MDT_ERRMSG_MAX];
	mdt_entity_store *es = NULL;
	json_t *probe = json_pack("[{s:{s:s,s:s},s:{s:{s:{s:s,s:s}}},s:[]}]",
	    "uid", "type", "T", "id", "t", "attrs", "t", "__extn", "fn",
	    "datetime", "arg", text, "parents");
	char *js = probe != NULL ? json_dumps(probe, 0) : NULL;
	int rc = js != NULL ? mdt_entity_store_new(&es) : -MDT_ENOMEM;

	if (rc == 0)
		rc = mdt_entity_store_load_json(es, js, strlen(js), "", err,
		    sizeof(err));
	mdt_entity_store_free(es);
	free(js);
	json_decref(probe);
	return rc == 0;
}

struct add_args {
	const char *file, *id, *kind, *key, *pubtext, *svid, *depth, *fanout;
	const char *until;
	const char *ceil[CTL_OPT_MULTI_MAX], *tgt[CTL_OPT_MULTI_MAX];
	const char *tool[CTL_OPT_MULTI_MAX];
	size_t nceil, ntgt, ntool;
};

static int
add_parse(int argc, char **argv, struct add_args *a)
{
	const ctl_opt opts[] = {
		{"--entities", CTL_OPT_ARG, &a->file, NULL, NULL},
		{"--id", CTL_OPT_ARG, &a->id, NULL, NULL},
		{"--kind", CTL_OPT_ARG, &a->kind, NULL, NULL},
		{"--key", CTL_OPT_ARG, &a->key, NULL, NULL},
		{"--public-key", CTL_OPT_ARG, &a->pubtext, NULL, NULL},
		{"--svid", CTL_OPT_FLAG, &a->svid, NULL, NULL},
		{"--ceiling", CTL_OPT_MULTI, NULL, a->ceil, &a->nceil},
		{"--target", CTL_OPT_MULTI, NULL, a->tgt, &a->ntgt},
		{"--tool", CTL_OPT_MULTI, NULL, a->tool, &a->ntool},
		{"--max-depth", CTL_OPT_ARG, &a->depth, NULL, NULL},
		{"--max-fanout", CTL_OPT_ARG, &a->fanout, NULL, NULL},
		{"--valid-until", CTL_OPT_ARG, &a->until, NULL, NULL},
	};
	int rc = ctl_parse_opts(argc, argv, 1, opts,
	    sizeof(opts) / sizeof(opts[0]), CMD_ADD);

	if (rc != 0)
		return rc;
	const char *names[] = {"--entities", "--id", "--kind", "--ceiling",
	    "--max-depth"};
	const int have[] = {a->file != NULL, a->id != NULL, a->kind != NULL,
	    a->nceil > 0, a->depth != NULL};
	return need(CMD_ADD, names, have, 5);
}

/* The new entity from the arguments; CTL_EXIT_* on a refusal. */
static int
add_entity(const ctl_registry *r, const struct add_args *a, json_t **out)
{
	char key[MDT_KEY_PUBLIC_TEXT_BYTES];
	int64_t depth, fanout = 0;
	json_t *ceil = NULL, *tgt = json_array(), *tools = json_array();
	int rc;

	rc = key_value(a->key, a->pubtext, a->svid, CMD_ADD, key);
	if (rc == 0)
		rc = ctl_parse_int(a->depth, 0, MDT_TOKEN_DEPTH_MAX,
		    "--max-depth", "agent", &depth);
	if (rc == 0 && a->fanout != NULL)
		rc = ctl_parse_int(a->fanout, 0, INT32_MAX, "--max-fanout",
		    "agent", &fanout);
	if (rc == 0 && a->kind[0] == 0) {
		ctl_error("%s: --kind: empty (policies key off it: "
		    "orchestrator, summarizer, coding, prior-auth, ...)",
		    CMD_ADD);
		rc = CTL_EXIT_USAGE;
	}
	if (rc == 0 && a->until != NULL && !datetime_ok(a->until)) {
		ctl_error("%s: --valid-until '%.64s': not a datetime "
		    "(2027-01-31 or 2027-01-31T00:00:00Z)", CMD_ADD, a->until);
		rc = CTL_EXIT_USAGE;
	}
	if (rc == 0)
		rc = ceiling_json(a->ceil, a->nceil, &ceil);
	if (rc == 0)
		rc = targets_json(r, a->tgt, a->ntgt, tgt);
	if (rc == 0)
		rc = tools_json(r, a->tool, a->ntool, tools);
	if (rc != 0) {
		json_decref(ceil);
		json_decref(tgt);
		json_decref(tools);
		return rc;
	}
	*out = json_pack("{s:{s:s,s:s},s:{s:s,s:o,s:o,s:I,s:I,s:o,s:s},s:[]}",
	    "uid", "type", CTL_AGENT_TYPE, "id", a->id, "attrs", "kind",
	    a->kind, "ceiling", ceil, "allowedTargets", tgt, "maxDepth",
	    (json_int_t)depth, "maxFanout", (json_int_t)fanout, "tools",
	    tools, "publicKey", key, "parents");
	if (*out != NULL && a->until != NULL)
		json_object_set_new(json_object_get(*out, "attrs"),
		    "validUntil", json_pack("{s:{s:s,s:s}}", "__extn", "fn",
		    "datetime", "arg", a->until));
	return *out != NULL ? 0 : CTL_EXIT_INVALID;
}

static void
key_note(const char *verb, const char *id, const char *key)
{
	mdt_pubkey pk;
	char kid[MDT_KEY_ID_TEXT_BYTES];

	if (key[0] == 0) {
		printf("%s %s (no key: authenticates with an X.509-SVID only)\n",
		    verb, id);
	} else {
		(void)ctl_agent_key_parse(key, &pk);
		mdt_key_id_text(&pk, kid);
		printf("%s %s (key id %s)\n", verb, id, kid);
	}
}

static const char reload_note[] =
    "send SIGHUP to mandated to load the change\n";

int
ctl_agent_add(int argc, char **argv)
{
	struct add_args a;
	ctl_registry r;
	json_t *ent = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = add_parse(argc, argv, &a)) != 0)
		return rc;
	if ((rc = id_arg(a.id, "--id", CMD_ADD)) != 0)
		return rc;
	if ((rc = ctl_registry_open(&r, a.file, 1)) != 0)
		return rc;
	if (ctl_registry_find(&r, a.id) >= 0) {
		ctl_error("%s: %s is already registered in %s (rotate-key "
		    "changes its key; remove it to register it anew)", CMD_ADD,
		    a.id, r.path);
		rc = CTL_EXIT_INVALID;
	}
	if (rc == 0)
		rc = add_entity(&r, &a, &ent);
	if (rc == 0)
		json_array_append_new(r.root, ent);
	if (rc == 0 && (rc = ctl_registry_save(&r)) == 0) {
		key_note("added", a.id, json_string_value(json_object_get(
		    json_object_get(ent, "attrs"), "publicKey")));
		fputs(reload_note, stdout);
	}
	ctl_registry_close(&r);
	return rc;
}

/* Indexes of the agents whose allowedTargets name id; prints them. */
static size_t
referrers(const ctl_registry *r, const char *id, int prune)
{
	size_t i, k, n = 0;
	json_t *ent, *t;

	json_array_foreach(r->root, i, ent) {
		json_t *tg = json_object_get(json_object_get(ent, "attrs"),
		    "allowedTargets");
		if (!ctl_agent_is(ent) || !json_is_array(tg))
			continue;
		for (k = json_array_size(tg); k-- > 0;) {
			t = json_array_get(tg, k);
			if (ctl_agent_ref(t) == NULL ||
			    strcmp(ctl_agent_ref(t), id) != 0)
				continue;
			if (!prune)
				ctl_error("%s: %s is an allowed target of %s",
				    CMD_RM, id, ctl_agent_uid(ent));
			else
				json_array_remove(tg, k);
			n++;
		}
	}
	return n;
}

int
ctl_agent_remove(int argc, char **argv)
{
	const char *file = NULL, *id = NULL, *prune = NULL;
	const ctl_opt opts[] = {
		{"--entities", CTL_OPT_ARG, &file, NULL, NULL},
		{"--id", CTL_OPT_ARG, &id, NULL, NULL},
		{"--prune-targets", CTL_OPT_FLAG, &prune, NULL, NULL},
	};
	ctl_registry r;
	long at;
	int rc = ctl_parse_opts(argc, argv, 1, opts, 3, CMD_RM);

	const char *names[] = {"--entities", "--id"};
	const int have[] = {file != NULL, id != NULL};

	if (rc == 0)
		rc = need(CMD_RM, names, have, 2);
	if (rc != 0 || (rc = ctl_registry_open(&r, file, 1)) != 0)
		return rc;
	if ((at = ctl_registry_find(&r, id)) < 0) {
		ctl_error("%s: %s is not registered in %s", CMD_RM, id, r.path);
		rc = CTL_EXIT_INVALID;
	} else if (referrers(&r, id, prune != NULL) > 0 && prune == NULL) {
		ctl_error("%s: nothing written; remove those targets first or "
		    "pass --prune-targets", CMD_RM);
		rc = CTL_EXIT_INVALID;
	}
	if (rc == 0) {
		json_array_remove(r.root, (size_t)at);
		if ((rc = ctl_registry_save(&r)) == 0)
			printf("removed %s\n%s", id, reload_note);
	}
	ctl_registry_close(&r);
	return rc;
}

int
ctl_agent_rotate(int argc, char **argv)
{
	const char *file = NULL, *id = NULL, *key = NULL, *text = NULL;
	const ctl_opt opts[] = {
		{"--entities", CTL_OPT_ARG, &file, NULL, NULL},
		{"--id", CTL_OPT_ARG, &id, NULL, NULL},
		{"--key", CTL_OPT_ARG, &key, NULL, NULL},
		{"--public-key", CTL_OPT_ARG, &text, NULL, NULL},
	};
	char pk[MDT_KEY_PUBLIC_TEXT_BYTES];
	const char *old;
	json_t *attrs;
	ctl_registry r;
	long at;
	int rc = ctl_parse_opts(argc, argv, 1, opts, 4, CMD_ROT);

	const char *names[] = {"--entities", "--id"};
	const int have[] = {file != NULL, id != NULL};

	if (rc == 0)
		rc = need(CMD_ROT, names, have, 2);
	if (rc == 0)
		rc = key_value(key, text, NULL, CMD_ROT, pk);
	if (rc != 0 || (rc = ctl_registry_open(&r, file, 1)) != 0)
		return rc;
	if ((at = ctl_registry_find(&r, id)) < 0) {
		ctl_error("%s: %s is not registered in %s", CMD_ROT, id, r.path);
		rc = CTL_EXIT_INVALID;
	}
	attrs = json_object_get(json_array_get(r.root, (size_t)at), "attrs");
	old = json_string_value(json_object_get(attrs, "publicKey"));
	if (rc == 0 && old != NULL && old[0] != 0) {
		mdt_pubkey a, b;
		if (ctl_agent_key_parse(old, &a) == 0 &&
		    ctl_agent_key_parse(pk, &b) == 0 && mdt_pubkey_equal(&a, &b)) {
			ctl_error("%s: %s already has that key; nothing written",
			    CMD_ROT, id);
			rc = CTL_EXIT_INVALID;
		}
	}
	if (rc == 0 && json_object_set_new(attrs, "publicKey",
	    json_string(pk)) != 0)
		rc = CTL_EXIT_INVALID;
	if (rc == 0 && (rc = ctl_registry_save(&r)) == 0) {
		key_note("new key for", id, pk);
		fputs(reload_note, stdout);
	}
	ctl_registry_close(&r);
	return rc;
}
