/*
 * `mandatectl audit`: verify an audit store against the broker's public
 * key, export evidence as JSON lines, list decisions and print a task
 * tree, all from the store (read-only; safe while a broker runs).
 * Uses only the public audit and key APIs.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>
#include <mandate/key.h>

#include "ctl.h"
#include "ctl_query.h"

static const char audit_usage[] =
    "usage: mandatectl audit verify --store URI --pub BROKER.pub [--quiet]\n"
    "       mandatectl audit export --store URI [--task ID] [--format evidence]\n"
    "       mandatectl audit export --store URI --format jsonl|ocsf|fhir [FILTERS]\n"
    "                [--follow] [--bundle]\n"
    "       mandatectl audit list --store URI [--after SEQ] [--limit N]\n"
    "       mandatectl audit tree --store URI --task ID\n"
    "       mandatectl audit prove TOKEN --receipt RECEIPT --store URI\n"
    "         (is a token's decision in the store, and where: see\n"
    "         `mandatectl audit prove --help`)\n"
    "       mandatectl audit query --store URI [FILTERS] [--format table|jsonl]\n"
    "         (filters: see `mandatectl audit query --help`)\n"
    "       mandatectl audit disclosures --store URI --patient ID [--since T]\n"
    "                [--until T] [--format table|jsonl]\n"
    "       mandatectl audit explain SEQ --store URI [--policies DIR]\n"
    "\n"
    "Inspects the broker's tamper-evident audit store.  Every command\n"
    "takes the store as --store URI: sqlite:PATH or a plain PATH (an\n"
    "SQLite file), or postgresql://USER@HOST/DB (libpq; the password\n"
    "from ~/.pgpass or PGPASSWORD); --db FILE is the same.  The store\n"
    "is opened read-only; running brokers may keep writing.\n"
    "\n"
    "verify\n"
    "    Recomputes the hash chain over every record (tasks, decisions,\n"
    "    approvals, revocations), checks each signed checkpoint against\n"
    "    the broker's Ed25519 public key and the index of ended tasks.\n"
    "    Prints one line per finding, `ISSUE KIND SEQ[..SEQ]: message`\n"
    "    (changed, deleted, inserted, reordered, broken_link,\n"
    "    bad_checkpoint, missing_checkpoint, truncated, index_mismatch,\n"
    "    bad_head: a receipt head's signature, chain or root)\n"
    "    or `note unsigned_tail ...` for records written after the last\n"
    "    checkpoint (normal after a crash; they are signed at the next\n"
    "    checkpoint), then a summary line starting `intact` or `TAMPERED`.\n"
    "    --store URI      the store (sqlite:PATH, PATH or\n"
    "                     postgresql://...; --db FILE is the same)\n"
    "    --pub KEY        the broker's public key: a .pub file\n"
    "                     (mdtpk1.<base64url>) or that text itself\n"
    "    --quiet          print only the summary line\n"
    "\n"
    "export\n"
    "    Writes evidence as JSON lines to standard output: a `store`\n"
    "    header (store id, genesis hash), then every record in sequence\n"
    "    order with its fields exactly as hashed, `prev` and `hash`, and\n"
    "    each `receipt_head` or `checkpoint` after the last record it\n"
    "    covers (docs/audit.md).\n"
    "    --task ID        only the task tree containing task ID\n"
    "    --format evidence  these records (the default)\n"
    "    --format jsonl   instead, the decisions matching the filters of\n"
    "                     `audit query` as typed JSON Lines (verdicts as\n"
    "                     words, reasons as JSON, ISO times)\n"
    "    --format ocsf    the same decisions as OCSF 1.3.0 API Activity\n"
    "                     [6003] events, one per line\n"
    "    --format fhir    as FHIR R4 AuditEvent resources (IHE BALP), one\n"
    "                     per line; --bundle: one Bundle holding them all\n"
    "    --follow         with jsonl, ocsf or fhir: keep running and stream\n"
    "                     each new decision as it commits (for a SIEM)\n"
    "\n"
    "disclosures\n"
    "    An accounting of disclosures of one patient's information\n"
    "    (HIPAA 164.528): date, the agent that received it and its chain,\n"
    "    on whose behalf, purpose, action, resource.  See\n"
    "    `mandatectl audit disclosures --help`.\n"
    "\n"
    "list\n"
    "    One line per decision: seq, time (Unix ms), verdict, operation,\n"
    "    task, agent, action, resource, request_hash (hex, - when none)\n"
    "    and reasons.\n"
    "    --after SEQ      start after this sequence number (default 0)\n"
    "    --limit N        at most N decisions (default all)\n"
    "\n"
    "tree\n"
    "    Prints the task tree containing task ID, with delegation edges\n"
    "    and every decision, as one JSON document.\n"
    "\n"
    "Exit status: 0 success (verify: intact), 1 verify found tampering,\n"
    "2 unreadable store or key, unknown task, 64 usage error.\n"
    "\n"
    "Examples:\n"
    "    mandatectl audit verify --store sqlite:/var/lib/mandate/audit.db \\\n"
    "        --pub /var/lib/mandate/broker.pub\n"
    "    mandatectl audit export --db audit.db --task t-42 > evidence.jsonl\n";

typedef struct audit_opts {
	const char *db, *pub, *task, *format, *after, *limit;
	int quiet;
} audit_opts;

static int
usage_error(const char *msg)
{
	ctl_error("%s (see `mandatectl audit --help`)", msg);
	return CTL_EXIT_USAGE;
}

static int
parse_opts(int argc, char **argv, audit_opts *o)
{
	static const struct {
		const char *flag;
		size_t off;
	} flags[] = {
		{"--store", offsetof(audit_opts, db)},
		{"--db", offsetof(audit_opts, db)},
		{"--pub", offsetof(audit_opts, pub)},
		{"--task", offsetof(audit_opts, task)},
		{"--format", offsetof(audit_opts, format)},
		{"--after", offsetof(audit_opts, after)},
		{"--limit", offsetof(audit_opts, limit)},
	};
	const size_t nflags = sizeof(flags) / sizeof(flags[0]);

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		size_t k = 0;
		if (strcmp(argv[i], "--quiet") == 0) {
			o->quiet = 1;
			continue;
		}
		while (k < nflags && strcmp(argv[i], flags[k].flag) != 0)
			k++;
		if (k == nflags || i + 1 >= argc) {
			ctl_error("bad or incomplete option '%s'", argv[i]);
			return -1;
		}
		*(const char **)(void *)((char *)o + flags[k].off) = argv[++i];
	}
	if (o->db == NULL) {
		ctl_error("--store URI (or --db FILE) is required");
		return -1;
	}
	return 0;
}

/* A decimal number within [0, max]; -1 after an error message. */
static int
parse_u64(const char *what, const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (text == NULL) {
		*out = 0;
		return 0;
	}
	v = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || v > max) {
		ctl_error("%s: not a number up to %" PRIu64 ": %s", what, max,
		    text);
		return -1;
	}
	*out = v;
	return 0;
}

/* --pub: the text form itself or a .pub file holding it. */
static int
load_pub(const char *arg, mdt_pubkey *pk)
{
	char err[MDT_ERRMSG_MAX] = "";
	size_t plen = strlen(MDT_KEY_PUBLIC_PREFIX);

	if (strncmp(arg, MDT_KEY_PUBLIC_PREFIX, plen) == 0) {
		if (mdt_pubkey_from_text(arg, strlen(arg), pk) == 0)
			return 0;
		ctl_error("--pub: malformed public key text");
		return -1;
	}
	if (mdt_pubkey_load(arg, pk, err, sizeof(err)) != 0) {
		ctl_error("--pub %s: %s", arg, err);
		return -1;
	}
	return 0;
}

static void
print_issue(void *arg, const mdt_store_issue *is)
{
	const int *quiet = arg;

	if (*quiet)
		return;
	if (is->seq_end != is->seq)
		printf("%s %s %" PRIu64 "..%" PRIu64 ": %s\n",
		    is->fatal ? "ISSUE" : "note", mdt_store_issue_name(is->kind),
		    is->seq, is->seq_end, is->message);
	else
		printf("%s %s %" PRIu64 ": %s\n", is->fatal ? "ISSUE" : "note",
		    mdt_store_issue_name(is->kind), is->seq, is->message);
}

static int
audit_verify(const audit_opts *o)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_store_report rep;
	mdt_pubkey pk;
	int rc, quiet = o->quiet;

	if (o->pub == NULL)
		return usage_error("verify needs --pub");
	if (load_pub(o->pub, &pk) != 0)
		return CTL_EXIT_INVALID;
	rc = mdt_store_verify(o->db, pk.bytes, print_issue, &quiet, &rep,
	    err, sizeof(err));
	if (rc != 0 && rc != -MDT_EAUDIT) {
		ctl_error("%s: %s: %s", o->db, mdt_strerror(rc), err);
		return CTL_EXIT_INVALID;
	}
	printf("%s: %" PRIu64 " records (last seq %" PRIu64 "), %" PRIu64
	    " valid checkpoints (last at seq %" PRIu64 "), %" PRIu64
	    " unsigned, %" PRIu64 " issues; %" PRIu64 " receipt heads (last"
	    " at seq %" PRIu64 ")\n",
	    rc == 0 ? "intact" : "TAMPERED", rep.records, rep.last_seq,
	    rep.checkpoints, rep.last_checkpoint_seq, rep.unsigned_records,
	    rep.issues, rep.heads, rep.last_head_seq);
	return rc == 0 ? CTL_EXIT_OK : CTL_EXIT_DENY;
}

static int
open_ro(const audit_opts *o, mdt_store **s)
{
	mdt_store_opts so = {.read_only = 1, .readers = 1};
	char err[MDT_ERRMSG_MAX] = "";
	int rc = mdt_store_open(o->db, &so, s, err, sizeof(err));

	if (rc != 0)
		ctl_error("%s: %s: %s", o->db, mdt_strerror(rc), err);
	return rc;
}

/* Reports a failed store call with the handle's message. */
static int
store_failed(mdt_store *s, const char *what, int rc)
{
	char msg[MDT_ERRMSG_MAX];

	ctl_error("%s: %s%s%s", what, mdt_strerror(rc),
	    mdt_store_errmsg(s, msg, sizeof(msg))[0] ? ": " : "", msg);
	return CTL_EXIT_INVALID;
}

static int
emit_line(void *arg, const char *line, size_t len)
{
	(void)arg;
	if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF)
		return -MDT_EIO;
	return 0;
}

static int
audit_export(const audit_opts *o)
{
	mdt_store *s;
	int rc;

	if (o->format != NULL && strcmp(o->format, "evidence") != 0)
		return usage_error("--format: evidence, or jsonl for decisions");
	if (open_ro(o, &s) != 0)
		return CTL_EXIT_INVALID;
	rc = mdt_store_export_jsonl(s, o->task, emit_line, NULL);
	if (rc == 0 && fflush(stdout) != 0)
		rc = -MDT_EIO;
	rc = rc == 0 ? CTL_EXIT_OK : store_failed(s, "export", rc);
	mdt_store_close(s);
	return rc;
}

static int
print_decision(void *arg, const mdt_store_decision *d)
{
	char hash[2 * MDT_STORE_HASH_BYTES + 1] = "-";

	(void)arg;
	if (d->request_hash != NULL)
		for (size_t i = 0; i < MDT_STORE_HASH_BYTES; i++)
			snprintf(hash + 2 * i, 3, "%02x", d->request_hash[i]);
#define S(x) ((x) != NULL ? (x) : "-")
	printf("%" PRIu64 " %" PRId64 " %s %s task=%s agent=%s %s %s "
	    "request_hash=%s %s\n", d->seq, d->time_ms,
	    mdt_store_verdict_name(d->verdict), d->operation, S(d->task_id),
	    S(d->agent), S(d->action), S(d->resource), hash, S(d->reasons));
#undef S
	return 0;
}

static int
audit_list(const audit_opts *o)
{
	uint64_t after, limit;
	mdt_store *s;
	int rc;

	if (parse_u64("--after", o->after, INT64_MAX, &after) != 0 ||
	    parse_u64("--limit", o->limit, UINT32_MAX, &limit) != 0)
		return CTL_EXIT_USAGE;
	if (open_ro(o, &s) != 0)
		return CTL_EXIT_INVALID;
	rc = mdt_store_list_decisions(s, after, (uint32_t)limit,
	    print_decision, NULL);
	rc = rc == 0 ? CTL_EXIT_OK : store_failed(s, "list", rc);
	mdt_store_close(s);
	return rc;
}

static int
audit_tree(const audit_opts *o)
{
	char *json = NULL;
	mdt_store *s;
	int rc;

	if (o->task == NULL)
		return usage_error("tree needs --task ID");
	if (open_ro(o, &s) != 0)
		return CTL_EXIT_INVALID;
	rc = mdt_store_task_tree_json(s, o->task, &json);
	if (rc == 0)
		printf("%s\n", json);
	rc = rc == 0 ? CTL_EXIT_OK : store_failed(s, o->task, rc);
	mdt_free(json);
	mdt_store_close(s);
	return rc;
}

static const struct {
	const char *name;
	int (*run)(const audit_opts *o);
} subcommands[] = {
	{"verify", audit_verify},
	{"export", audit_export},
	{"list", audit_list},
	{"tree", audit_tree},
};

int
ctl_audit_main(int argc, char **argv)
{
	audit_opts o;

	/* subcommands with a --help of their own */
	if (argc >= 2 && strcmp(argv[1], "query") == 0)
		return ctl_audit_query_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "disclosures") == 0)
		return ctl_audit_disclosures_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "explain") == 0)
		return ctl_audit_explain_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "prove") == 0)
		return ctl_audit_prove_main(argc - 1, argv + 1);
	if (ctl_wants_help(argc, argv)) {
		fputs(audit_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (argc < 2)
		return usage_error("missing subcommand");
	if (strcmp(argv[1], "export") == 0 &&
	    ctl_export_wants_typed(argc - 1, argv + 1))
		return ctl_audit_export_main(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]);
	    i++) {
		if (strcmp(argv[1], subcommands[i].name) != 0)
			continue;
		if (parse_opts(argc - 1, argv + 1, &o) != 0)
			return CTL_EXIT_USAGE;
		return subcommands[i].run(&o);
	}
	return usage_error("unknown subcommand");
}
