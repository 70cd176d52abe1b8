/*
 * `mandatectl audit export --format jsonl|ocsf|fhir [FILTERS] [--follow]`:
 * the decisions matching the query filters, one per line, as typed JSON
 * Lines, OCSF events (ctl_export_ocsf.c) or FHIR AuditEvent resources
 * (ctl_export_fhir.c; with --bundle, one Bundle of them); with --follow
 * it keeps polling the store and streams each decision once it has
 * committed, for a SIEM.  (Without --format, or with --format
 * evidence, `audit export` writes the hashed evidence records instead:
 * ctl_audit.c.)
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mandate/mandate.h>

#include "ctl.h"
#include "ctl_evidence.h"
#include "ctl_query.h"

#define FOLLOW_POLL_MS 250
#define FOLLOW_BATCH 1000

typedef json_t *(*render_fn)(const mdt_store_decision *d);

typedef struct follow_state {
	uint64_t last;
	render_fn render;   /* NULL: typed JSON Lines */
	json_t *bundle;     /* not NULL: collect resources for one Bundle */
} follow_state;

static int
emit_json(follow_state *f, const mdt_store_decision *d)
{
	json_t *j = f->render(d);
	int rc;

	if (j == NULL)
		return -MDT_ENOMEM;
	if (f->bundle != NULL)
		return json_array_append_new(f->bundle, j) == 0 ? 0 :
		    -MDT_ENOMEM;
	rc = ctl_json_line(stdout, j);
	json_decref(j);
	return rc;
}

static int
emit(void *arg, const mdt_store_decision *d)
{
	follow_state *f = arg;
	int rc = 0;

	if (f->render != NULL)
		rc = emit_json(f, d);
	else
		ctl_decision_jsonl(stdout, d);
	f->last = d->seq;
	return rc != 0 ? rc : ferror(stdout) ? -MDT_EIO : 0;
}

/* The Bundle of every collected resource, on one line. */
static int
print_bundle(follow_state *f)
{
	json_t *b = ctl_fhir_bundle(f->bundle);
	int rc;

	f->bundle = NULL;
	if (b == NULL)
		return -MDT_ENOMEM;
	rc = ctl_json_line(stdout, b);
	if (rc == 0 && fflush(stdout) != 0)
		rc = -MDT_EIO;
	json_decref(b);
	return rc;
}

/* --format: jsonl, ocsf or fhir; -1 for anything else. */
static int
pick_format(const char *format, follow_state *f)
{
	if (format == NULL)
		return -1;
	if (strcmp(format, "jsonl") == 0)
		f->render = NULL;
	else if (strcmp(format, "ocsf") == 0)
		f->render = ctl_ocsf_event;
	else if (strcmp(format, "fhir") == 0)
		f->render = ctl_fhir_audit_event;
	else
		return -1;
	return 0;
}

static int
export_once(mdt_store *s, mdt_store_query *q, follow_state *f)
{
	int rc;

	q->after_seq = f->last;
	rc = mdt_store_query_decisions(s, q, emit, f);
	if (rc == 0 && fflush(stdout) != 0)
		rc = -MDT_EIO;
	return rc;
}

/* Polls until writing fails (the reader went away) or a store error. */
static int
follow(mdt_store *s, mdt_store_query *q, follow_state *f)
{
	const struct timespec pause = {0, FOLLOW_POLL_MS * 1000000L};
	int rc;

	q->limit = FOLLOW_BATCH;
	while ((rc = export_once(s, q, f)) == 0)
		nanosleep(&pause, NULL);
	return rc;
}

/* True when argv asks for the typed export (a --format other than
 * evidence, --follow, or a filter). */
int
ctl_export_wants_typed(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0 ||
		    strcmp(argv[i], "--bundle") == 0)
			return 1;
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			return strcmp(argv[i + 1], "evidence") != 0;
	}
	return 0;
}

int
ctl_audit_export_main(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	ctl_query_opts o;
	follow_state f = {0};
	int n = 0, want_follow = 0, want_bundle = 0, rc;
	mdt_store *s;

	if (args == NULL)
		return CTL_EXIT_INVALID;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--follow") == 0)
			want_follow = 1;
		else if (strcmp(argv[i], "--bundle") == 0)
			want_bundle = 1;
		else
			args[n++] = argv[i];
	rc = ctl_query_parse(n, args, &o);
	free(args);
	if (rc != 0)
		return rc;
	if (pick_format(o.format, &f) != 0) {
		ctl_error("--format %s: typed export supports jsonl, ocsf and "
		    "fhir (evidence: no --format)", o.format ? o.format :
		    "(none)");
		return CTL_EXIT_USAGE;
	}
	if (want_bundle && (f.render != ctl_fhir_audit_event || want_follow)) {
		ctl_error("--bundle: only with --format fhir, without --follow");
		return CTL_EXIT_USAGE;
	}
	if (ctl_query_open(&o, &s) != 0)
		return CTL_EXIT_INVALID;
	signal(SIGPIPE, SIG_IGN);
	f.last = o.q.after_seq;
	if (want_bundle && (f.bundle = json_array()) == NULL)
		rc = -MDT_ENOMEM;
	else
		rc = want_follow ? follow(s, &o.q, &f) :
		    export_once(s, &o.q, &f);
	if (rc == 0 && want_bundle)
		rc = print_bundle(&f);
	json_decref(f.bundle);
	mdt_store_close(s);
	if (rc == -MDT_EIO && want_follow)
		return CTL_EXIT_OK; /* the consumer closed the stream */
	if (rc != 0) {
		ctl_error("export: %s", mdt_strerror(rc));
		return CTL_EXIT_INVALID;
	}
	return CTL_EXIT_OK;
}
