/*
 * `mandatectl tasks`: the open tasks of a store with their pending work
 * items and the ones nobody will finish (list, read-only, safe while a
 * broker runs), and ending such a task through the running broker as an
 * admin agent (cancel), so the store is never written behind the
 * broker's back.  Uses only the public audit, key and agent APIs.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>
#include <mandate/agent.h>
#include <mandate/key.h>

#include "ctl.h"

static const char tasks_usage[] =
    "usage: mandatectl tasks list --store URI [--idle-ms N]\n"
    "       mandatectl tasks cancel TASK --url URL --id SPIFFE-ID --key FILE\n"
    "                               [--reason TEXT]\n"
    "\n"
    "Finds tasks that stay open with nobody to finish them, and ends them.\n"
    "\n"
    "list\n"
    "    Prints one line per open task (neither completed, cancelled nor\n"
    "    revoked), oldest first:\n"
    "        TASK ID holder=AGENT parent=ID|- age_s=N idle_s=N items=N\n"
    "             deliveries=N [orphan=REASON]\n"
    "    items counts the work items waiting in the store for the holder\n"
    "    about this task (the task itself, not yet acknowledged, and\n"
    "    results of its children); deliveries is how often the task's own\n"
    "    item was handed out; idle_s is the time since the last activity\n"
    "    in the task's subtree (a decision, or a subtask created).  A task\n"
    "    is flagged as an orphan when\n"
    "        parent-ended  its parent is no longer open;\n"
    "        expired       its token expired, so no agent can act on it;\n"
    "        idle          no item is waiting for its holder and nothing\n"
    "                      happened in its subtree for --idle-ms.\n"
    "    A summary line follows: `N open, M orphans`.  The store is opened\n"
    "    read-only; a running broker may keep writing.\n"
    "    --store URI      the store: sqlite:PATH or a plain PATH (an\n"
    "                     SQLite file); --db FILE is the same\n"
    "    --idle-ms N      inactivity that makes an orphan (default 3600000)\n"
    "\n"
    "cancel\n"
    "    Ends TASK as cancelled, revoking its subtree, the way its holder's\n"
    "    cancel would: the running broker records the decision (operation\n"
    "    `abort`, the admin as the agent), revokes and publishes the\n"
    "    revocation, drops the undelivered work of every ended task and\n"
    "    sends the parent's holder a `cancelled` result.  The command\n"
    "    connects as an agent listed in the broker's `admins` setting;\n"
    "    it never writes the store itself.\n"
    "    --url URL        the broker's request/reply URL (ipc://, tcp://)\n"
    "    --id SPIFFE-ID   the admin agent's registered identity\n"
    "    --key FILE       its Ed25519 key (NAME.key, mode 0600)\n"
    "    --reason TEXT    recorded in the audit (default: aborted by an\n"
    "                     operator)\n"
    "    Prints `cancelled TASK (N tasks revoked)`.\n"
    "\n"
    "Exit status: 0 success, 1 the broker refused (not an admin, task\n"
    "already ended), 2 unreadable store or key, unknown task, broker not\n"
    "reachable, 64 usage error.\n"
    "\n"
    "Examples:\n"
    "    mandatectl tasks list --db /var/lib/mandate/audit.db --idle-ms 600000\n"
    "    mandatectl tasks cancel t-9f2c --url ipc:///run/mandate/mandated.sock \\\n"
    "        --id spiffe://clinic.example/ops --key ops.key --reason 'agent gone'\n";

typedef struct tasks_opts {
	const char *db, *idle, *url, *id, *key, *reason, *task;
} tasks_opts;

/* One open task, as list needs it. */
typedef struct open_task {
	char *id, *holder, *parent;
	int64_t time_ms, expires_ms, last_ms;
	int parent_open;
	uint32_t items, deliveries;
} open_task;

typedef struct task_list {
	open_task *v;
	size_t n, cap;
} task_list;

static int
usage_error(const char *msg, const char *arg)
{
	ctl_error("%s%s (see `mandatectl tasks --help`)", msg, arg);
	return CTL_EXIT_USAGE;
}

static int
parse_opts(int argc, char **argv, tasks_opts *o)
{
	static const struct {
		const char *flag;
		size_t off;
	} flags[] = {
		{"--db", offsetof(tasks_opts, db)},
		{"--store", offsetof(tasks_opts, db)},
		{"--idle-ms", offsetof(tasks_opts, idle)},
		{"--url", offsetof(tasks_opts, url)},
		{"--id", offsetof(tasks_opts, id)},
		{"--key", offsetof(tasks_opts, key)},
		{"--reason", offsetof(tasks_opts, reason)},
	};
	const size_t nflags = sizeof(flags) / sizeof(flags[0]);

	memset(o, 0, sizeof(*o));
	for (int i = 2; i < argc; i++) {
		size_t k = 0;
		if (argv[i][0] != '-' && o->task == NULL) {
			o->task = argv[i];
			continue;
		}
		while (k < nflags && strcmp(argv[i], flags[k].flag) != 0)
			k++;
		if (k == nflags || i + 1 >= argc)
			return usage_error("bad or incomplete option ", argv[i]);
		*(const char **)(void *)((char *)o + flags[k].off) = argv[++i];
	}
	return 0;
}

/* ------------------------------------------------------------- list */

static void
list_free(task_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].id);
		free(l->v[i].holder);
		free(l->v[i].parent);
	}
	free(l->v);
}

static int
collect_task(void *arg, const mdt_store_task *t)
{
	task_list *l = arg;
	open_task *o;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		open_task *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -MDT_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	o = &l->v[l->n];
	memset(o, 0, sizeof(*o));
	o->id = strdup(t->task_id);
	o->holder = strdup(t->holder ? t->holder : "");
	o->parent = t->parent_id ? strdup(t->parent_id) : NULL;
	if (o->id == NULL || o->holder == NULL ||
	    (t->parent_id != NULL && o->parent == NULL)) {
		free(o->id);
		free(o->holder);
		free(o->parent);
		return -MDT_ENOMEM;
	}
	o->time_ms = t->time_ms;
	o->expires_ms = t->expires_ms;
	o->last_ms = t->time_ms;
	l->n++;
	return 0;
}

static open_task *
find(task_list *l, const char *id)
{
	for (size_t i = 0; id != NULL && i < l->n; i++)
		if (strcmp(l->v[i].id, id) == 0)
			return &l->v[i];
	return NULL;
}

/* A waiting item counts for the task it delivers (its holder's work) or
 * for the parent whose holder gets the result. */
static int
count_item(void *arg, const mdt_work_item *it)
{
	task_list *l = arg;
	open_task *o = it->kind == MDT_WORK_TASK ? find(l, it->task) :
	    find(l, it->parent);

	if (o != NULL) {
		o->items++;
		if (it->kind == MDT_WORK_TASK)
			o->deliveries = it->deliveries;
	}
	return 0;
}

static int
note_task(void *arg, const mdt_store_task *t)
{
	int64_t *last = arg;

	if (t->time_ms > *last)
		*last = t->time_ms;
	return 0;
}

static int
note_decision(void *arg, const mdt_store_decision *d)
{
	int64_t *last = arg;

	if (d->time_ms > *last)
		*last = d->time_ms;
	return 0;
}

/* Fills last activity and whether the parent is open. */
static int
activity(mdt_store *s, task_list *l, open_task *o)
{
	const mdt_store_tree_visitor v = {note_task, note_decision};
	int rc = mdt_store_task_tree(s, o->id, &v, &o->last_ms);

	o->parent_open = o->parent == NULL || find(l, o->parent) != NULL;
	return rc;
}

static const char *
orphan_reason(const open_task *o, int64_t now, int64_t idle_ms)
{
	if (!o->parent_open)
		return "parent-ended";
	if (o->expires_ms != 0 && o->expires_ms <= now)
		return "expired";
	if (o->items == 0 && now - o->last_ms >= idle_ms)
		return "idle";
	return NULL;
}

static void
print_task(const open_task *o, int64_t now, const char *why)
{
	printf("TASK %s holder=%s parent=%s age_s=%" PRId64 " idle_s=%" PRId64
	    " items=%" PRIu32 " deliveries=%" PRIu32 "%s%s\n", o->id,
	    o->holder[0] ? o->holder : "-", o->parent ? o->parent : "-",
	    (now - o->time_ms) / 1000, (now - o->last_ms) / 1000, o->items,
	    o->deliveries, why ? " orphan=" : "", why ? why : "");
}

static int
store_failed(mdt_store *s, const char *what, int rc)
{
	char msg[MDT_ERRMSG_MAX];

	ctl_error("%s: %s %s", what, mdt_strerror(rc),
	    mdt_store_errmsg(s, msg, sizeof(msg)));
	return CTL_EXIT_INVALID;
}

static int
parse_idle(const char *text, int64_t *out)
{
	char *end;
	long long v;

	*out = 3600000;
	if (text == NULL)
		return 0;
	v = strtoll(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || v < 0) {
		ctl_error("--idle-ms: not a number of milliseconds: %s", text);
		return -1;
	}
	*out = v;
	return 0;
}

static int
tasks_list(const tasks_opts *o)
{
	mdt_store_opts so = {.read_only = 1};
	mdt_store *s = NULL;
	task_list l = {0};
	char err[MDT_ERRMSG_MAX];
	int64_t idle, now = mdt_store_now_ms();
	size_t orphans = 0;
	int rc;

	if (o->db == NULL)
		return usage_error("--store URI (or --db FILE) is required", "");
	if (parse_idle(o->idle, &idle) != 0)
		return CTL_EXIT_USAGE;
	if ((rc = mdt_store_open(o->db, &so, &s, err, sizeof(err))) != 0) {
		ctl_error("%s: %s", o->db, err);
		return CTL_EXIT_INVALID;
	}
	rc = mdt_store_open_tasks(s, collect_task, &l);
	if (rc == 0)
		rc = mdt_store_work_list(s, NULL, count_item, &l);
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = activity(s, &l, &l.v[i]);
	if (rc != 0) {
		rc = store_failed(s, o->db, rc);
	} else {
		for (size_t i = 0; i < l.n; i++) {
			const char *why = orphan_reason(&l.v[i], now, idle);
			orphans += why != NULL;
			print_task(&l.v[i], now, why);
		}
		printf("%zu open, %zu orphan%s\n", l.n, orphans,
		    orphans == 1 ? "" : "s");
	}
	list_free(&l);
	mdt_store_close(s);
	return rc;
}

/* ----------------------------------------------------------- cancel */

static int
tasks_cancel(const tasks_opts *o)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_keypair *kp = NULL;
	mdt_agent *a = NULL;
	size_t revoked = 0;
	int rc;

	if (o->task == NULL || o->url == NULL || o->id == NULL ||
	    o->key == NULL)
		return usage_error("cancel needs TASK, --url, --id and --key",
		    "");
	if ((rc = mdt_keypair_load(o->key, &kp, err, sizeof(err))) != 0) {
		ctl_error("%s: %s", o->key, err);
		return CTL_EXIT_INVALID;
	}
	{
		mdt_agent_opts ao = {.url = o->url, .spiffe_id = o->id,
		    .key = kp};
		rc = mdt_agent_connect(&ao, &a, err, sizeof(err));
	}
	mdt_keypair_free(kp);
	if (rc == 0)
		rc = mdt_agent_abort_task(a, o->task, o->reason, &revoked, err,
		    sizeof(err));
	mdt_agent_close(a);
	if (rc == 0) {
		printf("cancelled %s (%zu task%s revoked)\n", o->task, revoked,
		    revoked == 1 ? "" : "s");
		return CTL_EXIT_OK;
	}
	ctl_error("cancel %s: %s: %s", o->task, mdt_strerror(rc), err);
	return rc == -MDT_EAUTH || rc == -MDT_EREVOKED ? CTL_EXIT_DENY :
	    CTL_EXIT_INVALID;
}

int
ctl_tasks_main(int argc, char **argv)
{
	tasks_opts o;

	if (argc < 2 || ctl_wants_help(argc, argv)) {
		fputs(tasks_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	if (parse_opts(argc, argv, &o) != 0)
		return CTL_EXIT_USAGE;
	if (strcmp(argv[1], "list") == 0)
		return o.task != NULL ? usage_error("unexpected argument ",
		    o.task) : tasks_list(&o);
	if (strcmp(argv[1], "cancel") == 0)
		return tasks_cancel(&o);
	return usage_error("unknown tasks command ", argv[1]);
}
