/*
 * `mandatectl agent`: the agent registry from the command line.  This
 * file owns the usage text, the dispatch to the subcommands and the two
 * that only read (list, show); the edits are in ctl_agent_edit.c.
 */
#include <string.h>

#include "ctl.h"
#include "ctl_agent.h"
#include "ctl_token.h"

static const char agent_usage[] =
    "usage: mandatectl agent SUBCOMMAND --entities FILE [OPTIONS]\n"
    "\n"
    "Maintains the agent registry: the Mandate::Agent entities of the\n"
    "broker's entities file (its `entities` setting).  Every edit checks the\n"
    "whole file as mandated will load it and replaces it atomically\n"
    "(temporary file, fsync, rename; mode and owner kept); a refused edit\n"
    "writes nothing.  The broker loads the new registry on SIGHUP.\n"
    "\n"
    "Subcommands:\n"
    "    add         register an agent\n"
    "      --id SPIFFE_ID       spiffe://TRUST_DOMAIN/PATH, at most 255 bytes\n"
    "      --kind KIND          orchestrator, summarizer, coding, prior-auth...\n"
    "      --key FILE.pub | --public-key mdtpk1.TEXT | --svid\n"
    "                           its Ed25519 key (from `mandatectl keygen`), or\n"
    "                           none: it authenticates with an X.509-SVID\n"
    "      --ceiling SCOPES     repeatable; SMART and tool/NAME.x scopes\n"
    "      --max-depth N        deepest task it may hold, 0..16\n"
    "      --max-fanout N       subtasks per task (default 0: none)\n"
    "      --target SPIFFE_ID   repeatable; agents it may hand work to\n"
    "      --tool NAME          repeatable; a Mandate::Tool of the file\n"
    "      --valid-until TIME   registration expiry (2027-01-31T00:00:00Z)\n"
    "    list        the registered agents [--format text|json]\n"
    "    show        one agent: --id SPIFFE_ID [--format text|json]\n"
    "    remove      --id SPIFFE_ID [--prune-targets]; refused while another\n"
    "                agent lists it in allowedTargets, unless --prune-targets\n"
    "                drops those entries too\n"
    "    rotate-key  --id SPIFFE_ID (--key FILE.pub | --public-key TEXT):\n"
    "                after the reload the old key no longer authenticates\n"
    "\n"
    "Exit status: 0 done, 2 refused (nothing written), 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl keygen --out keys/labs\n"
    "    mandatectl agent add --entities /etc/mandate/entities.json \\\n"
    "        --id spiffe://clinic.example/agent/labs --kind summarizer \\\n"
    "        --key keys/labs.pub --ceiling 'patient/Observation.rs' \\\n"
    "        --max-depth 1\n"
    "    kill -HUP \"$(pidof mandated)\"\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subs[] = {
	{"add", ctl_agent_add},
	{"list", ctl_agent_list},
	{"show", ctl_agent_show},
	{"remove", ctl_agent_remove},
	{"rotate-key", ctl_agent_rotate},
};

int
ctl_agent_main(int argc, char **argv)
{
	if (argc < 2 || ctl_wants_help(argc, argv)) {
		fputs(agent_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(argc - 1, argv + 1);
	ctl_error("agent: unknown subcommand '%s' (see `mandatectl agent "
	    "--help`)", argv[1]);
	return CTL_EXIT_USAGE;
}

/* "text" (the default) or "json"; anything else is a usage error. */
static int
format_json(const char *fmt, const char *cmd, int *json)
{
	*json = fmt != NULL && strcmp(fmt, "json") == 0;
	if (fmt != NULL && !*json && strcmp(fmt, "text") != 0) {
		ctl_error("%s: --format '%s': expected text or json", cmd, fmt);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

/* "svid" or the key id of the agent's key, into out. */
static void
auth_text(const json_t *attrs, char *out, size_t len)
{
	const char *key = json_string_value(json_object_get(attrs,
	    "publicKey"));
	char kid[MDT_KEY_ID_TEXT_BYTES];
	mdt_pubkey pk;

	if (key == NULL || key[0] == 0) {
		snprintf(out, len, "svid-only");
	} else if (ctl_agent_key_parse(key, &pk) != 0) {
		snprintf(out, len, "invalid-key");
	} else {
		mdt_key_id_text(&pk, kid);
		snprintf(out, len, "key:%s", kid);
	}
}

/* The ids or scopes of an array attribute, space-separated. */
static void
print_list(const char *label, const json_t *v)
{
	const json_t *it;
	size_t i;

	printf("%-16s", label);
	json_array_foreach(v, i, it) {
		const char *s = json_is_string(it) ? json_string_value(it) :
		    ctl_agent_ref(it);
		printf("%s%s", i > 0 ? " " : "", s != NULL ? s : "?");
	}
	if (json_is_string(v))
		printf("%s", json_string_value(v));
	putchar('\n');
}

static void
print_agent(const json_t *ent)
{
	const json_t *attrs = json_object_get(ent, "attrs");
	const char *key = json_string_value(json_object_get(attrs,
	    "publicKey"));
	const json_t *until = json_object_get(json_object_get(attrs,
	    "validUntil"), "__extn");
	char auth[64];

	auth_text(attrs, auth, sizeof(auth));
	printf("%-16s%s\n", "id", ctl_agent_uid(ent));
	printf("%-16s%s\n", "kind", json_string_value(json_object_get(attrs,
	    "kind")) ? json_string_value(json_object_get(attrs, "kind")) : "-");
	printf("%-16s%s%s%s\n", "auth", auth, key != NULL && key[0] ? " " : "",
	    key != NULL ? key : "");
	print_list("ceiling", json_object_get(attrs, "ceiling"));
	print_list("allowedTargets", json_object_get(attrs, "allowedTargets"));
	printf("%-16s%lld\n%-16s%lld\n", "maxDepth", (long long)
	    json_integer_value(json_object_get(attrs, "maxDepth")),
	    "maxFanout", (long long)json_integer_value(json_object_get(attrs,
	    "maxFanout")));
	print_list("tools", json_object_get(attrs, "tools"));
	if (until != NULL)
		printf("%-16s%s\n", "validUntil", json_string_value(
		    json_object_get(until, "arg")));
}

static int
read_args(int argc, char **argv, const char *cmd, int want_id,
    const char **file, const char **id, int *json)
{
	const char *fmt = NULL;
	const ctl_opt opts[] = {
		{"--entities", CTL_OPT_ARG, file, NULL, NULL},
		{"--format", CTL_OPT_ARG, &fmt, NULL, NULL},
		{"--id", CTL_OPT_ARG, id, NULL, NULL},
	};
	int rc = ctl_parse_opts(argc, argv, 1, opts, want_id ? 3 : 2, cmd);

	if (rc == 0 && *file == NULL)
		rc = ctl_missing("--entities", cmd);
	if (want_id && *id == NULL)
		rc = ctl_missing("--id", cmd);
	return rc != 0 ? rc : format_json(fmt, cmd, json);
}

int
ctl_agent_list(int argc, char **argv)
{
	const char *file = NULL, *id = NULL;
	json_t *ent, *out = json_array();
	ctl_registry r;
	size_t i;
	int json, rc = read_args(argc, argv, "agent list", 0, &file, &id,
	    &json);

	if (rc != 0 || (rc = ctl_registry_open(&r, file, 0)) != 0) {
		json_decref(out);
		return rc;
	}
	json_array_foreach(r.root, i, ent) {
		const json_t *attrs = json_object_get(ent, "attrs");
		char auth[64];
		if (!ctl_agent_is(ent))
			continue;
		json_array_append(out, ent);
		if (json)
			continue;
		auth_text(attrs, auth, sizeof(auth));
		printf("%-44s %-14s %-38s depth=%lld fanout=%lld\n",
		    ctl_agent_uid(ent) ? ctl_agent_uid(ent) : "?",
		    json_string_value(json_object_get(attrs, "kind")) ?
		    json_string_value(json_object_get(attrs, "kind")) : "-",
		    auth, (long long)json_integer_value(json_object_get(attrs,
		    "maxDepth")), (long long)json_integer_value(
		    json_object_get(attrs, "maxFanout")));
	}
	if (json)
		rc = json_dumpf(out, stdout, JSON_INDENT(2)) == 0 &&
		    putchar('\n') != EOF ? 0 : CTL_EXIT_INVALID;
	json_decref(out);
	ctl_registry_close(&r);
	return rc;
}

int
ctl_agent_show(int argc, char **argv)
{
	const char *file = NULL, *id = NULL;
	ctl_registry r;
	long at;
	int json, rc = read_args(argc, argv, "agent show", 1, &file, &id,
	    &json);

	if (rc != 0 || (rc = ctl_registry_open(&r, file, 0)) != 0)
		return rc;
	if ((at = ctl_registry_find(&r, id)) < 0) {
		ctl_error("agent show: %s is not registered in %s", id, r.path);
		rc = CTL_EXIT_INVALID;
	} else if (json) {
		rc = json_dumpf(json_array_get(r.root, (size_t)at), stdout,
		    JSON_INDENT(2)) == 0 && putchar('\n') != EOF ? 0 :
		    CTL_EXIT_INVALID;
	} else {
		print_agent(json_array_get(r.root, (size_t)at));
	}
	ctl_registry_close(&r);
	return rc;
}
