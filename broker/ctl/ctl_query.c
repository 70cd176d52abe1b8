/*
 * `mandatectl audit query`: decisions matching combinable filters, as
 * an aligned table with ISO 8601 times or as typed JSON Lines.  The
 * filters go to mdt_store_query_decisions (no SQL here), so the command
 * works on every store backend, read-only beside a running broker.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mandate/mandate.h>

#include "ctl.h"
#include "ctl_query.h"

static const char query_usage[] =
    "usage: mandatectl audit query --store URI [FILTERS] [--format table|jsonl]\n"
    "\n"
    "Prints the decisions matching every filter given, oldest first.\n"
    "    --patient ID       the patient\n"
    "    --clinician ID     the clinician on whose behalf\n"
    "    --agent SPIFFE-ID  the agent at any hop of the chain\n"
    "    --task ID          any task of the tree containing ID\n"
    "    --operation OP     open, dispatch, delegate, authorize, ...\n"
    "    --verdict V        allow, deny, step_up, error\n"
    "    --reason CODE      the deny code (scope.widen, policy.deny, ...)\n"
    "    --flag F           break-glass, step-up, widening, review,\n"
    "                       approved, replay (repeatable)\n"
    "    --purpose P        TREAT, ETREAT, ...\n"
    "    --policy-hash H    the hash of the policy set in force\n"
    "    --since T, --until T   ISO 8601 (2026-12-04, 2026-12-04T13:05:00Z,\n"
    "                       ...+01:00) or relative to now (30m, 12h, 7d,\n"
    "                       2w); the range is [since, until)\n"
    "    --after SEQ        only decisions after this sequence number\n"
    "    --limit N          at most N decisions\n"
    "    --format table     aligned columns (default); jsonl: one typed\n"
    "                       JSON object per decision\n"
    "\n"
    "Exit status: 0 success (also when nothing matches), 2 unreadable\n"
    "store, 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl audit query --store audit.db --patient Patient/p-7 \\\n"
    "        --agent spiffe://clinic/agent/labs --since 7d\n";

static int
usage(const char *msg, const char *arg)
{
	ctl_error("%s%s (see `mandatectl audit query --help`)", msg, arg);
	return CTL_EXIT_USAGE;
}

/* Unix ms of Y-M-D h:m:s UTC, without the process's time zone. */
static int64_t
utc_ms(int y, int mo, int d, int h, int mi, int s)
{
	static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243,
	    273, 304, 334};
	int64_t yy = y - 1970, days;

	days = yy * 365 + (y - 1969) / 4 - (y - 1901) / 100 + (y - 1601) / 400;
	days += before[mo - 1] + d - 1;
	if (mo > 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		days++;
	return ((days * 24 + h) * 60 + mi) * 60000LL + s * 1000LL;
}

/* "Z", "+hh:mm", "-hhmm" or "" (UTC): the offset in ms; -1 if bad. */
static int
zone_ms(const char *z, int64_t *off)
{
	int hh = 0, mm = 0, sign;

	*off = 0;
	if (*z == '\0' || strcmp(z, "Z") == 0)
		return 0;
	if (*z != '+' && *z != '-')
		return -1;
	sign = *z == '-' ? -1 : 1;
	if (sscanf(z + 1, "%2d:%2d", &hh, &mm) != 2 &&
	    sscanf(z + 1, "%2d%2d", &hh, &mm) != 2)
		return -1;
	if (hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 60 + mm) * 60000LL;
	return 0;
}

static int
parse_iso(const char *t, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, s = 0, n = 0;
	int64_t off;

	if (sscanf(t, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	t += n;
	if (*t == 'T' || *t == ' ') {
		if (sscanf(t + 1, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5)
			return -1;
		t += 1 + n;
		if (*t == ':' && (sscanf(t + 1, "%2d%n", &s, &n) != 1 || n != 2))
			return -1;
		if (*t == ':')
			t += 3;
		while (*t == '.' || isdigit((unsigned char)*t))
			t++; /* fractions of a second: dropped */
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || s > 60 || zone_ms(t, &off) != 0)
		return -1;
	*out = utc_ms(y, mo, d, h, mi, s) - off;
	return 0;
}

int
ctl_parse_time(const char *t, int64_t now_ms, int64_t *out)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000},
	    {'d', 86400000}, {'w', 604800000}};
	char *end;
	long long n;

	if (strcmp(t, "now") == 0) {
		*out = now_ms;
		return 0;
	}
	if (isdigit((unsigned char)t[0]) && strlen(t) < 10) {
		n = strtoll(t, &end, 10);
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (end[0] == units[i].unit && end[1] == '\0' &&
			    n <= INT64_MAX / units[i].ms) {
				*out = now_ms - n * units[i].ms;
				return 0;
			}
		return -1;
	}
	return parse_iso(t, out);
}

void
ctl_iso_time(int64_t ms, char *buf, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, len, "%" PRId64, ms);
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int
parse_verdict(const char *v, mdt_store_verdict *out)
{
	for (int i = MDT_STORE_ALLOW; i <= MDT_STORE_ERROR; i++)
		if (strcmp(v, mdt_store_verdict_name((mdt_store_verdict)i)) ==
		    0) {
			*out = (mdt_store_verdict)i;
			return 0;
		}
	return -1;
}

/* --flag: a flag bit, or the verdict / reason it stands for. */
static int
parse_flag(const char *f, mdt_store_query *q)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} bits[] = {{"break-glass", MDT_STORE_FLAG_BREAK_GLASS},
	    {"review", MDT_STORE_FLAG_REVIEW},
	    {"approved", MDT_STORE_FLAG_APPROVED},
	    {"replay", MDT_STORE_FLAG_REPLAY}};

	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (strcmp(f, bits[i].name) == 0) {
			q->flags_all |= bits[i].bit;
			return 0;
		}
	if (strcmp(f, "step-up") == 0 && (q->verdict == 0 ||
	    q->verdict == MDT_STORE_STEP_UP)) {
		q->verdict = MDT_STORE_STEP_UP;
		return 0;
	}
	if (strcmp(f, "widening") == 0 && (q->reason == NULL ||
	    strcmp(q->reason, "scope.widen") == 0)) {
		q->reason = "scope.widen";
		return 0;
	}
	return -1;
}

static int
parse_num(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	n = strtoull(v, &end, 10);
	if (*end != '\0' || n > max)
		return -1;
	*out = n;
	return 0;
}

/* One option with its value; -1 after a usage message. */
static int
set_opt(ctl_query_opts *o, const char *flag, const char *v)
{
	static const struct {
		const char *flag;
		size_t off;
	} strs[] = {
		{"--store", offsetof(ctl_query_opts, store)},
		{"--db", offsetof(ctl_query_opts, store)},
		{"--format", offsetof(ctl_query_opts, format)},
		{"--patient", offsetof(ctl_query_opts, q.patient)},
		{"--clinician", offsetof(ctl_query_opts, q.clinician)},
		{"--agent", offsetof(ctl_query_opts, q.agent)},
		{"--task", offsetof(ctl_query_opts, q.task)},
		{"--operation", offsetof(ctl_query_opts, q.operation)},
		{"--reason", offsetof(ctl_query_opts, q.reason)},
		{"--purpose", offsetof(ctl_query_opts, q.purpose)},
		{"--policy-hash", offsetof(ctl_query_opts, q.policy_hash)},
	};
	int64_t now = mdt_store_now_ms();
	uint64_t n;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strcmp(flag, strs[i].flag) == 0) {
			*(const char **)(void *)((char *)o + strs[i].off) = v;
			return 0;
		}
	if (strcmp(flag, "--verdict") == 0) {
		mdt_store_verdict was = o->q.verdict;
		if (parse_verdict(v, &o->q.verdict) != 0)
			return -1;
		return was == 0 || was == o->q.verdict ? 0 : -1;
	}
	if (strcmp(flag, "--flag") == 0)
		return parse_flag(v, &o->q);
	if (strcmp(flag, "--since") == 0)
		return ctl_parse_time(v, now, &o->q.since_ms);
	if (strcmp(flag, "--until") == 0)
		return ctl_parse_time(v, now, &o->q.until_ms);
	if (strcmp(flag, "--after") == 0)
		return parse_num(v, INT64_MAX, &o->q.after_seq);
	if (strcmp(flag, "--limit") == 0 && parse_num(v, UINT32_MAX, &n) == 0) {
		o->q.limit = (uint32_t)n;
		return 0;
	}
	return -1;
}

int
ctl_query_parse(int argc, char **argv, ctl_query_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			return usage("this option needs a value: ", argv[i]);
		if (set_opt(o, argv[i], argv[i + 1]) != 0) {
			ctl_error("bad option or value: %s %s (see `mandatectl "
			    "audit query --help`)", argv[i], argv[i + 1]);
			return CTL_EXIT_USAGE;
		}
	}
	if (o->store == NULL)
		return usage("--store URI (or --db FILE) is required", "");
	return 0;
}

int
ctl_query_open(const ctl_query_opts *o, mdt_store **s)
{
	mdt_store_opts so = {.read_only = 1, .readers = 1};
	char err[MDT_ERRMSG_MAX] = "";
	int rc = mdt_store_open(o->store, &so, s, err, sizeof(err));

	if (rc != 0)
		ctl_error("%s: %s: %s", o->store, mdt_strerror(rc), err);
	return rc;
}

int
ctl_audit_query_main(int argc, char **argv)
{
	ctl_query_opts o;
	mdt_store *s;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(query_usage, stdout);
		return CTL_EXIT_OK;
	}
	if ((rc = ctl_query_parse(argc, argv, &o)) != 0)
		return rc;
	if (o.format != NULL && strcmp(o.format, "table") != 0 &&
	    strcmp(o.format, "jsonl") != 0)
		return usage("--format table or jsonl, not ", o.format);
	if (ctl_query_open(&o, &s) != 0)
		return CTL_EXIT_INVALID;
	if (o.format != NULL && strcmp(o.format, "jsonl") == 0)
		rc = ctl_query_jsonl(s, &o.q);
	else
		rc = ctl_query_table(s, &o.q);
	mdt_store_close(s);
	return rc;
}
