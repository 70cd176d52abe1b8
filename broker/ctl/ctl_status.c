/*
 * `mandatectl status`: asks a running broker for its state (the admin
 * `status` operation) as an agent listed in its `admins` setting, and
 * prints it as name: value lines or as the broker's JSON.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <mandate/mandate.h>
#include <mandate/agent.h>
#include <mandate/key.h>

#include "ctl.h"

static const char status_usage[] =
    "usage: mandatectl status --url URL --id SPIFFE-ID --key FILE\n"
    "                         [--format text|json]\n"
    "\n"
    "Asks a running broker for its state: version, the hash of the policy\n"
    "set in force and its size, uptime, authenticated sessions, requests\n"
    "queued for a worker, answers waiting for their audit commit, requests\n"
    "in flight and parked (long polls, step-up waits), and the audit\n"
    "store's health: writable, last sequence number, last checkpoint.\n"
    "The command connects as an agent listed in the broker's `admins`\n"
    "setting; it is read-only.\n"
    "    --url URL        the broker's request/reply URL (ipc://, tcp://)\n"
    "    --id SPIFFE-ID   the admin agent's registered identity\n"
    "    --key FILE       its Ed25519 key (NAME.key, mode 0600)\n"
    "    --format F       text (default: name: value lines) or json\n"
    "\n"
    "Exit status: 0 the broker answered and its store is writable, 1 it\n"
    "answered with a store that is not writable, or refused (not an\n"
    "admin), 2 unreadable key or broker not reachable, 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl status --url ipc:///run/mandate/mandated.sock \\\n"
    "        --id spiffe://clinic.example/ops --key ops.key\n";

typedef struct status_opts {
	const char *url, *id, *key, *format;
} status_opts;

static int
usage_error(const char *msg, const char *arg)
{
	ctl_error("%s%s (see `mandatectl status --help`)", msg, arg);
	return CTL_EXIT_USAGE;
}

static int
parse_opts(int argc, char **argv, status_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char **dst = strcmp(argv[i], "--url") == 0 ? &o->url :
		    strcmp(argv[i], "--id") == 0 ? &o->id :
		    strcmp(argv[i], "--key") == 0 ? &o->key :
		    strcmp(argv[i], "--format") == 0 ? &o->format : NULL;
		if (dst == NULL || i + 1 >= argc)
			return usage_error("bad or incomplete option ", argv[i]);
		*dst = argv[++i];
	}
	if (o->url == NULL || o->id == NULL || o->key == NULL)
		return usage_error("status needs --url, --id and --key", "");
	if (o->format != NULL && strcmp(o->format, "text") != 0 &&
	    strcmp(o->format, "json") != 0)
		return usage_error("--format: text or json, not ", o->format);
	return 0;
}

/* Connects to o->url as the admin agent o->id with the key in o->key. */
static int
admin_connect(const status_opts *o, mdt_agent **a, char *err,
    size_t errlen)
{
	mdt_keypair *kp = NULL;
	mdt_agent_opts ao = {.url = o->url, .spiffe_id = o->id};
	int rc = mdt_keypair_load(o->key, &kp, err, errlen);

	if (rc != 0)
		return rc;
	ao.key = kp;
	rc = mdt_agent_connect(&ao, a, err, errlen);
	mdt_keypair_free(kp);
	return rc;
}

static void
print_field(const char *prefix, const char *k, json_t *v)
{
	if (json_is_object(v)) {
		const char *k2;
		json_t *v2;
		char p[64];
		snprintf(p, sizeof(p), "%s%s.", prefix, k);
		json_object_foreach(v, k2, v2)
			print_field(p, k2, v2);
	} else if (json_is_string(v)) {
		printf("%s%s: %s\n", prefix, k, json_string_value(v));
	} else if (json_is_boolean(v)) {
		printf("%s%s: %s\n", prefix, k, json_is_true(v) ? "yes" : "no");
	} else if (json_is_integer(v)) {
		printf("%s%s: %" JSON_INTEGER_FORMAT "\n", prefix, k,
		    json_integer_value(v));
	}
}

/* Prints the status; 1 when the store is not writable. */
static int
print_status(const char *text, const char *format)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je), *st, *v;
	const char *k;
	int writable;

	if (j == NULL) {
		ctl_error("status: the broker's answer is not JSON: %s", je.text);
		return -1;
	}
	st = json_object_get(j, "store");
	writable = json_is_true(json_object_get(st, "writable"));
	if (format != NULL && strcmp(format, "json") == 0) {
		printf("%s\n", text);
	} else {
		json_object_foreach(j, k, v)
			print_field("", k, v);
	}
	json_decref(j);
	return writable ? 0 : 1;
}

int
ctl_status_main(int argc, char **argv)
{
	status_opts o;
	char err[MDT_ERRMSG_MAX] = "";
	mdt_agent *a = NULL;
	char *json = NULL;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(status_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (parse_opts(argc, argv, &o) != 0)
		return CTL_EXIT_USAGE;
	rc = admin_connect(&o, &a, err, sizeof(err));
	if (rc == 0)
		rc = mdt_agent_broker_status(a, &json, err, sizeof(err));
	mdt_agent_close(a);
	if (rc != 0) {
		ctl_error("status: %s: %s", mdt_strerror(rc), err);
		return rc == -MDT_EAUTH ? CTL_EXIT_DENY : CTL_EXIT_INVALID;
	}
	rc = print_status(json, o.format);
	mdt_free(json);
	return rc < 0 ? CTL_EXIT_INVALID : rc ? CTL_EXIT_DENY : CTL_EXIT_OK;
}
