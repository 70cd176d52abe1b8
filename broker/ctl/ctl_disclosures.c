/*
 * `mandatectl audit disclosures --patient ID [--since T] [--until T]`:
 * an accounting of disclosures of one patient's information over a time
 * range (HIPAA 45 CFR 164.528): for each allowed access (an authorize
 * decision) to a resource of the patient, when, who received or used it (the acting agent and the
 * chain that delegated to it), on whose behalf (the clinician), for
 * what purpose, and which resource, as a table or JSON Lines.  Refused
 * requests disclosed nothing and are left out.
 */
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>

#include "ctl.h"
#include "ctl_evidence.h"
#include "ctl_query.h"

static const char disclosures_usage[] =
    "usage: mandatectl audit disclosures --store URI --patient ID\n"
    "           [--since T] [--until T] [--format table|jsonl]\n"
    "\n"
    "Lists every disclosure of the patient's information in [since, until):\n"
    "each allowed access to a resource, with its date, the agent that\n"
    "received it and the chain that delegated to it, the clinician on whose\n"
    "behalf, the purpose of use, the action and the resource.  Times as for\n"
    "`mandatectl audit query` (ISO 8601 or 30m, 12h, 7d, 2w).  The other\n"
    "filters of `audit query` (--clinician, --agent, --purpose, ...) narrow\n"
    "it further.\n"
    "\n"
    "Exit status: 0 success (also when nothing was disclosed), 2 unreadable\n"
    "store, 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl audit disclosures --store audit.db --patient pat-001 \\\n"
    "        --since 2026-01-01 --until 2027-01-01\n";

#define NCOLS 7

typedef struct disc {
	int jsonl;
	json_t *rows; /* table: arrays of NCOLS strings */
	unsigned count;
} disc;

/* The action as a word: a FHIR interaction, else as recorded. */
static const char *
action_word(const mdt_store_decision *d)
{
	const char *w = ctl_fhir_interaction(d->action);

	if (w != NULL && strcmp(w, "search-type") == 0)
		return "search";
	return w != NULL ? w : d->action != NULL ? d->action : "-";
}

static const char *
or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static int
jsonl_row(const mdt_store_decision *d, json_t *chain, const char *when)
{
	json_t *j = json_pack("{s:s,s:s,s:O,s:s?,s:s?,s:s,s:s,s:s?,s:b,s:I}",
	    "date", when, "recipient", or_dash(ctl_acting_agent(d, chain)),
	    "agent_chain", chain, "on_behalf_of", d->clinician, "purpose",
	    d->purpose, "action", action_word(d), "resource", d->resource,
	    "task", d->task_id, "break_glass",
	    (d->flags & MDT_STORE_FLAG_BREAK_GLASS) != 0, "seq",
	    (json_int_t)d->seq);
	int rc;

	if (j == NULL)
		return -MDT_ENOMEM;
	rc = ctl_json_line(stdout, j);
	json_decref(j);
	return rc;
}

/* The chain as "orchestrator > ... > acting agent". */
static char *
chain_text(json_t *chain)
{
	size_t i, len = 1;
	json_t *hop;
	char *s;

	json_array_foreach(chain, i, hop)
		len += strlen(or_dash(json_string_value(hop))) + 3;
	if ((s = calloc(1, len)) == NULL)
		return NULL;
	json_array_foreach(chain, i, hop) {
		if (i > 0)
			strcat(s, " > ");
		strcat(s, or_dash(json_string_value(hop)));
	}
	return s;
}

static int
table_row(disc *t, const mdt_store_decision *d, json_t *chain,
    const char *when)
{
	char *path = chain_text(chain);
	json_t *row;

	if (path == NULL)
		return -MDT_ENOMEM;
	row = json_pack("[s,s,s,s,s,s,s]", when,
	    or_dash(ctl_acting_agent(d, chain)), or_dash(d->clinician),
	    or_dash(d->purpose), action_word(d), or_dash(d->resource),
	    path[0] ? path : "-");
	free(path);
	return row != NULL && json_array_append_new(t->rows, row) == 0 ? 0 :
	    -MDT_ENOMEM;
}

static int
on_decision(void *arg, const mdt_store_decision *d)
{
	disc *t = arg;
	json_t *chain;
	char when[40];
	int rc;

	if (d->resource == NULL || d->resource[0] == '\0')
		return 0; /* a task operation: no record was disclosed */
	chain = ctl_json_field(d->agent_chain, "[]");
	ctl_iso_time(d->time_ms, when, sizeof(when));
	rc = t->jsonl ? jsonl_row(d, chain, when) : table_row(t, d, chain,
	    when);
	json_decref(chain);
	t->count++;
	return rc;
}

static void
print_table(json_t *rows)
{
	static const char *const heads[NCOLS] = {"DATE", "RECIPIENT",
	    "ON BEHALF OF", "PURPOSE", "ACTION", "RESOURCE", "AGENT CHAIN"};
	size_t w[NCOLS], r;
	json_t *row;

	for (int i = 0; i < NCOLS; i++)
		w[i] = strlen(heads[i]);
	json_array_foreach(rows, r, row)
		for (int i = 0; i < NCOLS; i++) {
			size_t n = strlen(json_string_value(json_array_get(row,
			    (size_t)i)));
			w[i] = n > w[i] ? n : w[i];
		}
	for (int i = 0; i < NCOLS; i++)
		printf(i + 1 < NCOLS ? "%-*s  " : "%-*s\n", i + 1 < NCOLS ?
		    (int)w[i] : 0, heads[i]);
	json_array_foreach(rows, r, row)
		for (int i = 0; i < NCOLS; i++)
			printf(i + 1 < NCOLS ? "%-*s  " : "%-*s\n", i + 1 <
			    NCOLS ? (int)w[i] : 0, json_string_value(
			    json_array_get(row, (size_t)i)));
}

static int
usage(const char *msg)
{
	ctl_error("%s (see `mandatectl audit disclosures --help`)", msg);
	return CTL_EXIT_USAGE;
}

int
ctl_audit_disclosures_main(int argc, char **argv)
{
	disc t = {0};
	ctl_query_opts o;
	mdt_store *s;
	char msg[MDT_ERRMSG_MAX];
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(disclosures_usage, stdout);
		return CTL_EXIT_OK;
	}
	if ((rc = ctl_query_parse(argc, argv, &o)) != 0)
		return rc;
	if (o.q.patient == NULL)
		return usage("--patient ID is required");
	if (o.q.verdict != 0 && o.q.verdict != MDT_STORE_ALLOW)
		return usage("only allowed accesses disclose: no --verdict");
	if (o.format != NULL && strcmp(o.format, "table") != 0 &&
	    strcmp(o.format, "jsonl") != 0)
		return usage("--format table or jsonl");
	if (o.q.operation != NULL && strcmp(o.q.operation, "authorize") != 0)
		return usage("disclosures are authorized accesses: no "
		    "--operation");
	o.q.verdict = MDT_STORE_ALLOW;
	o.q.operation = "authorize";
	t.jsonl = o.format != NULL && strcmp(o.format, "jsonl") == 0;
	if ((t.rows = json_array()) == NULL || ctl_query_open(&o, &s) != 0) {
		json_decref(t.rows);
		return CTL_EXIT_INVALID;
	}
	rc = mdt_store_query_decisions(s, &o.q, on_decision, &t);
	if (rc == 0 && !t.jsonl)
		print_table(t.rows);
	if (rc == 0 && fflush(stdout) != 0)
		rc = -MDT_EIO;
	if (rc != 0)
		ctl_error("disclosures: %s%s%s", mdt_strerror(rc),
		    mdt_store_errmsg(s, msg, sizeof(msg))[0] ? ": " : "", msg);
	json_decref(t.rows);
	mdt_store_close(s);
	return rc == 0 ? CTL_EXIT_OK : CTL_EXIT_INVALID;
}
