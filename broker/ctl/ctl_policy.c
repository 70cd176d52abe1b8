/*
 * `mandatectl policy`: check a policy directory, evaluate one request the
 * way Cedar's CLI `authorize` does, and run Cedar's conformance corpus.
 * Uses only the public policy API (<mandate/policy.h>).
 */
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>

#include "ctl.h"

#define CTL_EXIT_STEP_UP 3

static const char policy_usage[] =
    "usage: mandatectl policy check DIR\n"
    "       mandatectl policy eval --policies DIR --entities FILE\n"
    "                              --principal UID --action UID --resource UID\n"
    "                              [--context JSON | --context @FILE]\n"
    "       mandatectl policy conformance FILE.jsonl\n"
    "\n"
    "Validates, evaluates and tests Cedar policies.\n"
    "\n"
    "check DIR\n"
    "    Parses every *.cedar file of DIR (in name order) as one policy set.\n"
    "    Prints the number of policies, their ids and the SHA-256 of the set;\n"
    "    on error prints FILE:LINE:COL and what was expected.\n"
    "\n"
    "eval\n"
    "    Evaluates one request and prints the decision (ALLOW, DENY or\n"
    "    STEP-UP), the determining policies and the policies whose\n"
    "    evaluation errored, like Cedar's `cedar authorize`.\n"
    "    --policies DIR      policy directory (*.cedar)\n"
    "    --entities FILE     Cedar entities JSON\n"
    "    --principal UID     e.g. 'Mandate::Agent::\"scribe\"'\n"
    "    --action UID        e.g. 'Mandate::Action::\"read\"'\n"
    "    --resource UID      e.g. 'Mandate::Patient::\"p-001\"'\n"
    "    --context JSON      context record as JSON text, or @FILE\n"
    "\n"
    "conformance FILE.jsonl\n"
    "    Runs the Cedar conformance corpus (one case per line: name,\n"
    "    policies, entities, requests with the expected decision, reasons\n"
    "    and errors).  Prints every failing request (case, request,\n"
    "    expected, got), each skipped case with its reason (only cases\n"
    "    using policy templates, which are not supported yet), and ends with\n"
    "    `N passed, N failed, N skipped`, counted in requests.\n"
    "\n"
    "Exit status: 0 success, allow, or a conformance run without failures;\n"
    "1 deny, or conformance failures; 2 invalid input (unreadable or\n"
    "malformed files); 3 step-up required; 64 usage error.\n"
    "\n"
    "Example (from the repository's top directory, with the shipped\n"
    "policies; the context is the one the broker builds when the\n"
    "orchestrator opens a task for dr-alice, who is on pat-001's care\n"
    "team: ALLOW by open-task; open-pat-003.json, outside her care\n"
    "teams, is a DENY by care-team-required):\n"
    "    mandatectl policy eval --policies policies \\\n"
    "        --entities policies/entities.json \\\n"
    "        --principal 'Mandate::Agent::\"spiffe://clinic.example/orchestrator\"' \\\n"
    "        --action 'Mandate::Action::\"open\"' \\\n"
    "        --resource 'Mandate::Patient::\"pat-001\"' \\\n"
    "        --context @examples/policy-eval/open-pat-001.json\n";

static int
usage_error(const char *msg)
{
	ctl_error("%s (see `mandatectl policy --help`)", msg);
	return CTL_EXIT_USAGE;
}

static int
policy_check(int argc, char **argv)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_policy_set *set;
	int rc;

	if (argc != 2)
		return usage_error("check takes one directory");
	if ((rc = mdt_policy_set_load_dir(&set, argv[1], err, sizeof(err))) != 0) {
		fprintf(stderr, "%s\n", err[0] != '\0' ? err : mdt_strerror(rc));
		return CTL_EXIT_INVALID;
	}
	printf("%zu policies, sha256 %s\n", mdt_policy_set_count(set),
	    mdt_policy_set_hash(set));
	for (size_t i = 0; i < mdt_policy_set_count(set); i++)
		printf("  %s\n", mdt_policy_set_id(set, i));
	mdt_policy_set_free(set);
	return CTL_EXIT_OK;
}

/* ---- eval ---- */

typedef struct eval_opts {
	const char *policies, *entities, *principal, *action, *resource, *context;
} eval_opts;

static int
parse_eval_opts(int argc, char **argv, eval_opts *o)
{
	static const struct {
		const char *flag;
		size_t off;
	} flags[] = {
		{"--policies", offsetof(eval_opts, policies)},
		{"--entities", offsetof(eval_opts, entities)},
		{"--principal", offsetof(eval_opts, principal)},
		{"--action", offsetof(eval_opts, action)},
		{"--resource", offsetof(eval_opts, resource)},
		{"--context", offsetof(eval_opts, context)},
	};

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i += 2) {
		size_t k = 0;
		while (k < sizeof(flags) / sizeof(flags[0]) &&
		    strcmp(argv[i], flags[k].flag) != 0)
			k++;
		if (k == sizeof(flags) / sizeof(flags[0]) || i + 1 >= argc) {
			ctl_error("bad or incomplete option '%s'", argv[i]);
			return -1;
		}
		*(const char **)(void *)((char *)o + flags[k].off) = argv[i + 1];
	}
	if (o->policies == NULL || o->entities == NULL || o->principal == NULL ||
	    o->action == NULL || o->resource == NULL) {
		ctl_error("eval needs --policies, --entities, --principal, "
		    "--action and --resource");
		return -1;
	}
	return 0;
}

static int
parse_uid(const char *what, const char *text, mdt_entity_uid *u, char **st)
{
	if (mdt_entity_uid_parse(text, strlen(text), u, st) != 0) {
		ctl_error("%s: not an entity uid (Type::\"id\"): %s", what, text);
		return -1;
	}
	return 0;
}

static int
load_context(const char *arg, mdt_policy_record *ctx)
{
	char err[MDT_ERRMSG_MAX] = "";
	char *text = NULL;
	size_t len;
	int rc;

	if (arg == NULL)
		return 0;
	if (arg[0] == '@') {
		if (ctl_read_file(arg + 1, (size_t)16 << 20, &text, &len) != 0)
			return -1;
		rc = mdt_policy_record_load_json(ctx, text, len, arg + 1, err,
		    sizeof(err));
		free(text);
	} else {
		rc = mdt_policy_record_load_json(ctx, arg, strlen(arg), "--context",
		    err, sizeof(err));
	}
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	return rc == 0 ? 0 : -1;
}

static int
print_answer(const mdt_policy_answer *ans)
{
	mdt_decision d = mdt_policy_answer_decision(ans);
	size_t nr = mdt_policy_answer_reason_count(ans);
	size_t ne = mdt_policy_answer_error_count(ans);

	printf("%s\n", d == MDT_DECISION_ALLOW ? "ALLOW" :
	    d == MDT_DECISION_STEP_UP ? "STEP-UP" : "DENY");
	if (nr > 0) {
		printf("\nnote: this decision was due to the following policies:\n");
		for (size_t i = 0; i < nr; i++)
			printf("  %s\n", mdt_policy_answer_reason(ans, i));
	}
	if (d == MDT_DECISION_STEP_UP && mdt_policy_answer_approver(ans) != NULL)
		printf("\nnote: approval required from role: %s\n",
		    mdt_policy_answer_approver(ans));
	if (ne > 0) {
		printf("\nnote: this decision was computed with the following errors:\n");
		for (size_t i = 0; i < ne; i++)
			printf("  %s\n", mdt_policy_answer_error_message(ans, i));
	}
	return d == MDT_DECISION_ALLOW ? CTL_EXIT_OK :
	    d == MDT_DECISION_STEP_UP ? CTL_EXIT_STEP_UP : CTL_EXIT_DENY;
}

typedef struct eval_state {
	mdt_policy_set *set;
	mdt_entity_store *store;
	mdt_policy_record *ctx;
	mdt_policy_answer *ans;
	char *st[3];
} eval_state;

static int
eval_prepare(const eval_opts *o, eval_state *s, mdt_policy_request *req)
{
	char err[MDT_ERRMSG_MAX] = "";

	if (parse_uid("--principal", o->principal, &req->principal, &s->st[0]) ||
	    parse_uid("--action", o->action, &req->action, &s->st[1]) ||
	    parse_uid("--resource", o->resource, &req->resource, &s->st[2]))
		return CTL_EXIT_USAGE;
	if (mdt_policy_set_load_dir(&s->set, o->policies, err, sizeof(err)) != 0 ||
	    mdt_entity_store_new(&s->store) != 0 ||
	    mdt_entity_store_load_file(s->store, o->entities, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err[0] != '\0' ? err : "out of memory");
		return CTL_EXIT_INVALID;
	}
	if (mdt_policy_record_new(&s->ctx) != 0 || mdt_policy_answer_new(&s->ans) != 0 ||
	    load_context(o->context, s->ctx) != 0)
		return CTL_EXIT_INVALID;
	req->context = s->ctx;
	return CTL_EXIT_OK;
}

static int
policy_eval(int argc, char **argv)
{
	eval_opts o;
	eval_state s;
	mdt_policy_request req;
	int rc;

	if (parse_eval_opts(argc, argv, &o) != 0)
		return CTL_EXIT_USAGE;
	memset(&s, 0, sizeof(s));
	memset(&req, 0, sizeof(req));
	if ((rc = eval_prepare(&o, &s, &req)) == CTL_EXIT_OK) {
		int erc = mdt_policy_evaluate(s.set, s.store, &req, s.ans);
		if (erc != 0) {
			ctl_error("evaluation failed: %s (denied)", mdt_strerror(erc));
			rc = CTL_EXIT_DENY;
		} else {
			rc = print_answer(s.ans);
		}
	}
	mdt_policy_answer_free(s.ans);
	mdt_policy_record_free(s.ctx);
	mdt_entity_store_free(s.store);
	mdt_policy_set_free(s.set);
	for (int i = 0; i < 3; i++)
		mdt_free(s.st[i]);
	return rc;
}

int ctl_policy_conformance(int argc, char **argv);

int
ctl_policy_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(policy_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	if (ctl_wants_help(argc, argv)) {
		fputs(policy_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return policy_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "eval") == 0)
		return policy_eval(argc - 1, argv + 1);
	if (strcmp(argv[1], "conformance") == 0)
		return ctl_policy_conformance(argc - 1, argv + 1);
	return usage_error("unknown policy subcommand");
}
