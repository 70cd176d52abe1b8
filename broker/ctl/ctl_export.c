/*
 * `mandatectl audit export --format jsonl [FILTERS] [--follow]`: the
 * decisions matching the query filters as typed JSON Lines; with
 * --follow it keeps polling the store and streams each decision once it
 * has committed, for a SIEM.  (Without --format, or with --format
 * evidence, `audit export` writes the hashed evidence records instead:
 * ctl_audit.c.)
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mandate/mandate.h>

#include "ctl.h"
#include "ctl_query.h"

#define FOLLOW_POLL_MS 250
#define FOLLOW_BATCH 1000

typedef struct follow_state {
	uint64_t last;
} follow_state;

static int
emit(void *arg, const mdt_audit_decision *d)
{
	follow_state *f = arg;

	ctl_decision_jsonl(stdout, d);
	f->last = d->seq;
	return ferror(stdout) ? -MDT_EIO : 0;
}

static int
export_once(mdt_store *s, mdt_audit_query *q, follow_state *f)
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
follow(mdt_store *s, mdt_audit_query *q, follow_state *f)
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
		if (strcmp(argv[i], "--follow") == 0)
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
	int n = 0, want_follow = 0, rc;
	mdt_store *s;

	if (args == NULL)
		return CTL_EXIT_INVALID;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--follow") == 0)
			want_follow = 1;
		else
			args[n++] = argv[i];
	rc = ctl_query_parse(n, args, &o);
	free(args);
	if (rc != 0)
		return rc;
	if (o.format == NULL || strcmp(o.format, "jsonl") != 0) {
		ctl_error("--format %s: typed export supports jsonl (evidence: "
		    "no --format)", o.format ? o.format : "(none)");
		return CTL_EXIT_USAGE;
	}
	if (ctl_query_open(&o, &s) != 0)
		return CTL_EXIT_INVALID;
	signal(SIGPIPE, SIG_IGN);
	f.last = o.q.after_seq;
	rc = want_follow ? follow(s, &o.q, &f) : export_once(s, &o.q, &f);
	mdt_store_close(s);
	if (rc == -MDT_EIO && want_follow)
		return CTL_EXIT_OK; /* the consumer closed the stream */
	if (rc != 0) {
		ctl_error("export: %s", mdt_strerror(rc));
		return CTL_EXIT_INVALID;
	}
	return CTL_EXIT_OK;
}
