/*
 * `mandatectl review`: the decisions a security team looks at after the
 * fact (break-the-glass, step-ups, refused widenings, flagged ones,
 * repeated denials of one agent), and the marking of one as reviewed,
 * itself a chained audit record.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <mandate/mandate.h>
#include <mandate/agent.h>
#include <mandate/key.h>

#include "ctl.h"
#include "ctl_query.h"

static const char review_usage[] =
    "usage: mandatectl review list --store URI [--threshold N] [--window DUR]\n"
    "           [--since TIME] [--all] [--format table|jsonl]\n"
    "       mandatectl review mark SEQ --note TEXT [--by NAME]\n"
    "           (--url URL --id ADMIN --key FILE | --store URI [--key BROKER.key])\n"
    "\n"
    "list\n"
    "    The review queue, oldest first: decisions that are\n"
    "    break-the-glass (purpose ETREAT), step-ups (asked, or allowed\n"
    "    through a clinician's approval), refused widenings of scopes\n"
    "    (reason scope.widen), flagged for review by the broker, or one\n"
    "    of --threshold (default 3) or more denials of the same agent\n"
    "    within --window (default 1h).  A marked decision leaves the\n"
    "    queue; --all shows it with its mark.\n"
    "    --since TIME     only decisions since TIME (ISO 8601 or 7d, 12h)\n"
    "\n"
    "mark\n"
    "    Records that decision SEQ was reviewed, by NAME with the note, as\n"
    "    a chained record (`audit verify` covers it).  With --url the\n"
    "    running broker writes it (ADMIN must be listed in its `admins`;\n"
    "    NAME defaults to ADMIN).  With --store the store is written\n"
    "    directly (NAME defaults to $USER): a SQLite store is written by\n"
    "    one process at a time, so only while its broker is stopped;\n"
    "    --key BROKER.key then signs a checkpoint over the mark (else the\n"
    "    broker signs it at its next checkpoint).\n"
    "\n"
    "Exit status: 0 success, 2 unknown decision, already marked or\n"
    "unreadable store, 64 usage error.\n";

typedef struct review_opts {
	const char *store, *note, *by, *key, *since, *window, *threshold;
	const char *format, *url, *id;
	int all;
	uint64_t seq;
} review_opts;

static int
usage_error(const char *msg)
{
	ctl_error("%s (see `mandatectl review --help`)", msg);
	return CTL_EXIT_USAGE;
}

static const char **
flag(review_opts *o, const char *a)
{
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
		{"--store", offsetof(review_opts, store)},
		{"--db", offsetof(review_opts, store)},
		{"--note", offsetof(review_opts, note)},
		{"--by", offsetof(review_opts, by)},
		{"--key", offsetof(review_opts, key)},
		{"--since", offsetof(review_opts, since)},
		{"--window", offsetof(review_opts, window)},
		{"--threshold", offsetof(review_opts, threshold)},
		{"--format", offsetof(review_opts, format)},
		{"--url", offsetof(review_opts, url)},
		{"--id", offsetof(review_opts, id)},
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(a, flags[i].name) == 0)
			return (const char **)(void *)((char *)o + flags[i].off);
	return NULL;
}

static int
parse(int argc, char **argv, review_opts *o)
{
	const char **dst;
	char *end;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0) {
			o->all = 1;
		} else if ((dst = flag(o, argv[i])) != NULL && i + 1 < argc) {
			*dst = argv[++i];
		} else if (o->seq == 0 && argv[i][0] >= '1' &&
		    argv[i][0] <= '9') {
			o->seq = strtoull(argv[i], &end, 10);
			if (*end != 0)
				return usage_error("SEQ: a decimal number");
		} else {
			ctl_error("bad or incomplete option '%s'", argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if (o->store == NULL && o->url == NULL)
		return usage_error("--store URI (or --url for mark) is required");
	return 0;
}

/* Names of the why bits, comma-separated, into buf. */
static void
why_text(uint32_t why, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{MDT_REVIEW_BREAK_GLASS, "break_glass"},
		{MDT_REVIEW_STEP_UP, "step_up"},
		{MDT_REVIEW_WIDENING, "widening"},
		{MDT_REVIEW_REPEATED, "repeated_denials"},
		{MDT_REVIEW_FLAGGED, "flagged"},
	};
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((why & names[i].bit) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
			    o ? "," : "", names[i].name);
}

static const char *
dash(const char *s)
{
	return s != NULL && s[0] ? s : "-";
}

static int
print_row(void *arg, const mdt_review_item *it)
{
	const mdt_store_decision *d = it->decision;
	int jsonl = *(const int *)arg;
	char t[40], why[96];

	ctl_iso_time(d->time_ms, t, sizeof(t));
	why_text(it->why, why, sizeof(why));
	if (!jsonl) {
		printf("%-6" PRIu64 " %-24s %-26s %-7s %-10s %-40s %-12s %-3s "
		    "%-28s %s\n", d->seq, t, why,
		    mdt_store_verdict_name(d->verdict), d->operation,
		    dash(d->agent), dash(d->patient), dash(d->action),
		    dash(d->resource), it->review ? it->review->reviewer : "-");
		return 0;
	}
	printf("{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"why\":\"%s\","
	    "\"verdict\":\"%s\",\"operation\":", d->seq, t, why,
	    mdt_store_verdict_name(d->verdict));
	ctl_json_str(stdout, d->operation);
	printf(",\"agent\":");
	ctl_json_str(stdout, d->agent);
	printf(",\"patient\":");
	ctl_json_str(stdout, d->patient);
	printf(",\"action\":");
	ctl_json_str(stdout, d->action);
	printf(",\"resource\":");
	ctl_json_str(stdout, d->resource);
	printf(",\"reviewed_by\":");
	ctl_json_str(stdout, it->review ? it->review->reviewer : NULL);
	printf(",\"note\":");
	ctl_json_str(stdout, it->review ? it->review->note : NULL);
	printf("}\n");
	return 0;
}

static int
list_opts(const review_opts *o, mdt_review_opts *ro)
{
	int64_t now = mdt_store_now_ms(), t;
	char *end;

	memset(ro, 0, sizeof(*ro));
	ro->include_reviewed = o->all;
	if (o->threshold != NULL) {
		unsigned long v = strtoul(o->threshold, &end, 10);
		if (*end != 0 || v == 0 || v > 1000000)
			return usage_error("--threshold: a number from 1");
		ro->deny_threshold = (uint32_t)v;
	}
	if (o->window != NULL) {
		if (ctl_parse_time(o->window, now, &t) != 0 || t >= now)
			return usage_error("--window: a duration (30m, 1h, 2d)");
		ro->deny_window_ms = now - t;
	}
	if (o->since != NULL && ctl_parse_time(o->since, now,
	    &ro->since_ms) != 0)
		return usage_error("--since: ISO 8601 or relative (7d)");
	if (o->format != NULL && strcmp(o->format, "table") != 0 &&
	    strcmp(o->format, "jsonl") != 0)
		return usage_error("--format: table or jsonl");
	return 0;
}

static int
review_list(const review_opts *o)
{
	ctl_query_opts qo = {.store = o->store};
	mdt_review_opts ro;
	mdt_store *s;
	int jsonl = o->format != NULL && strcmp(o->format, "jsonl") == 0, rc;

	if (o->store == NULL)
		return usage_error("list needs --store URI");
	if ((rc = list_opts(o, &ro)) != 0)
		return rc;
	if (ctl_query_open(&qo, &s) != 0)
		return CTL_EXIT_INVALID;
	if (!jsonl)
		printf("%-6s %-24s %-26s %-7s %-10s %-40s %-12s %-3s %-28s %s\n",
		    "SEQ", "TIME", "WHY", "VERDICT", "OP", "AGENT", "PATIENT",
		    "ACT", "RESOURCE", "REVIEWED");
	rc = mdt_store_review_queue(s, &ro, print_row, &jsonl);
	mdt_store_close(s);
	if (rc != 0) {
		ctl_error("review list: %s", mdt_strerror(rc));
		return CTL_EXIT_INVALID;
	}
	return CTL_EXIT_OK;
}

/* Opens the store writable, signing with the broker key when given. */
static int
open_rw(const review_opts *o, mdt_store **s)
{
	unsigned char seed[32];
	mdt_store_opts so = {.readers = 1};
	mdt_keypair *kp = NULL;
	char err[MDT_ERRMSG_MAX] = "";
	int rc = 0;

	if (o->key != NULL && (rc = mdt_keypair_load(o->key, &kp, err,
	    sizeof(err))) == 0) {
		mdt_keypair_seed(kp, seed);
		so.seal_seed = seed;
	}
	if (rc == 0)
		rc = mdt_store_open(o->store, &so, s, err, sizeof(err));
	sodium_memzero(seed, sizeof(seed));
	mdt_keypair_free(kp);
	if (rc != 0)
		ctl_error("%s: %s: %s", o->key && kp == NULL ? o->key :
		    o->store, mdt_strerror(rc), err);
	return rc;
}

/* The mark through the running broker (an admin operation). */
static int
mark_by_broker(const review_opts *o, uint64_t *seq, char *err, size_t len)
{
	mdt_agent_opts ao = {.url = o->url, .spiffe_id = o->id};
	mdt_keypair *kp = NULL;
	mdt_agent *a = NULL;
	int rc;

	if (o->id == NULL || o->key == NULL)
		return -MDT_EINVAL;
	rc = mdt_keypair_load(o->key, &kp, err, len);
	if (rc == 0) {
		ao.key = kp;
		rc = mdt_agent_connect(&ao, &a, err, len);
	}
	if (rc == 0)
		rc = mdt_agent_review_mark(a, o->seq, o->by, o->note, seq, err,
		    len);
	mdt_agent_close(a);
	mdt_keypair_free(kp);
	return rc;
}

static int
review_mark(const review_opts *o)
{
	const char *by = o->by ? o->by : getenv("USER");
	mdt_store_review r = {.decision_seq = o->seq,
	    .reviewer = by && by[0] ? by : "unknown", .note = o->note};
	uint64_t seq = 0;
	mdt_store *s;
	int rc;

	if (o->seq == 0 || o->note == NULL)
		return usage_error("mark needs SEQ and --note TEXT");
	if (o->url != NULL) {
		char err[MDT_ERRMSG_MAX] = "";
		if (o->id == NULL || o->key == NULL)
			return usage_error("--url needs --id and --key");
		if ((rc = mark_by_broker(o, &seq, err, sizeof(err))) != 0) {
			ctl_error("review mark %" PRIu64 ": %s: %s", o->seq,
			    mdt_strerror(rc), err);
			return CTL_EXIT_INVALID;
		}
		printf("decision %" PRIu64 " marked reviewed by %s (record %"
		    PRIu64 ")\n", o->seq, o->by ? o->by : o->id, seq);
		return CTL_EXIT_OK;
	}
	if (open_rw(o, &s) != 0)
		return CTL_EXIT_INVALID;
	rc = mdt_store_add_review(s, &r, &seq);
	if (rc == 0 && o->key != NULL)
		rc = mdt_store_checkpoint(s, NULL);
	mdt_store_close(s);
	if (rc != 0) {
		ctl_error("review mark %" PRIu64 ": %s", o->seq, rc ==
		    -MDT_EEXIST ? "already marked reviewed" : rc ==
		    -MDT_ENOTFOUND ? "no such decision" : mdt_strerror(rc));
		return CTL_EXIT_INVALID;
	}
	printf("decision %" PRIu64 " marked reviewed by %s (record %" PRIu64
	    ")\n", o->seq, r.reviewer, seq);
	return CTL_EXIT_OK;
}

int
ctl_review_main(int argc, char **argv)
{
	review_opts o;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(review_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (argc < 2)
		return usage_error("missing subcommand (list or mark)");
	if ((rc = parse(argc - 1, argv + 1, &o)) != 0)
		return rc;
	if (strcmp(argv[1], "list") == 0)
		return review_list(&o);
	if (strcmp(argv[1], "mark") == 0)
		return review_mark(&o);
	return usage_error("unknown subcommand");
}
