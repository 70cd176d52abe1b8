/*
 * tools/call: each call is one authorize of "x" on tool/NAME?ARGS for the
 * task, then, on allow, the call forwarded to its upstream with the
 * single-action token and its proof in params._meta; a deny answered as a
 * tool error naming the reason and the failed condition; a step-up
 * waited for (with progress to the client) or answered as pending.
 * Each call runs on a worker of its own so a step-up wait blocks nothing
 * else; the workers stay for the next calls (a thread started per call
 * cost tens of microseconds, and far more on a busy machine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"

#define PENDING_MAX 32
#define SLICE_MS 1000

/* Where a call's time goes (MANDATE_MCP_TIMING=1, docs/mcp.md). */
enum { T_START, T_WORKER, T_DECIDED, T_PRESENTED, T_UPSTREAM, T_ANSWERED,
	T_N };

struct gw_call {
	struct gw *g;
	int64_t t[T_N];           /* monotonic ns */
	struct gw_sink *sink;     /* where its progress and answer go */
	json_t *id;
	json_t *params;
	json_t *progress_token;   /* a copy, compared under g->lock */
	atomic_int cancelled;
	int answering;            /* under g->lock: the sink is no longer lent */
	atomic_int done;
	int started;              /* under g->lock: a worker took it */
};

/* Step-ups answered "pending", so a later call of the same tool with the
 * same arguments picks up the clinician's decision. */
struct pending {
	char key[MDT_SCOPE_REF_MAX + MDT_AGENT_ID_MAX + 2];
	mdt_authz *az;
};

struct call_ctx {
	struct gw_call *c;
	const char *name;
	json_t *args;
	json_t *progress_token;
	char ref[MDT_SCOPE_REF_MAX + 1];
	char patient[MDT_AGENT_ID_MAX];
	int has_patient;
	char key[MDT_SCOPE_REF_MAX + MDT_AGENT_ID_MAX + 2];
	unsigned progress;
};

/* The pending table lives with the gateway; kept here as a JSON-free
 * array behind g->lock, allocated on first use. */
static struct pending *
pending_table(struct gw *g)
{
	if (g->pending == NULL)
		g->pending = calloc(PENDING_MAX, sizeof(struct pending));
	return g->pending;
}

static mdt_authz *
pending_take(struct gw *g, const char *key)
{
	struct pending *p;
	mdt_authz *az = NULL;

	pthread_mutex_lock(&g->lock);
	if ((p = pending_table(g)) != NULL)
		for (size_t i = 0; i < PENDING_MAX && az == NULL; i++)
			if (p[i].az != NULL && strcmp(p[i].key, key) == 0) {
				az = p[i].az;
				p[i].az = NULL;
			}
	pthread_mutex_unlock(&g->lock);
	return az;
}

/* Keeps az (taken) under key; the oldest entry goes when full. */
static void
pending_put(struct gw *g, const char *key, mdt_authz *az)
{
	struct pending *p;

	pthread_mutex_lock(&g->lock);
	if ((p = pending_table(g)) == NULL) {
		mdt_authz_free(az);
	} else {
		mdt_authz_free(p[PENDING_MAX - 1].az);
		memmove(p + 1, p, (PENDING_MAX - 1) * sizeof(*p));
		snprintf(p[0].key, sizeof(p[0].key), "%s", key);
		p[0].az = az;
	}
	pthread_mutex_unlock(&g->lock);
}

void
gw_pending_free(struct gw *g)
{
	struct pending *p = g->pending;

	for (size_t i = 0; p != NULL && i < PENDING_MAX; i++)
		mdt_authz_free(p[i].az);
	free(p);
	g->pending = NULL;
}

/* A tool error the model can act on: reason code, the failed condition,
 * and the same as data in _meta. */
static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One line per call on standard error: microseconds in each phase. */
static void
report_times(const struct gw_call *c)
{
	const int64_t *t = c->t;

	if (t[T_PRESENTED] == 0 || t[T_UPSTREAM] == 0)
		return;  /* refused: no upstream leg */
	fprintf(stderr, "mandate-mcp: timing us: dispatch %lld authorize %lld "
	    "present+forward %lld upstream %lld answer %lld\n",
	    (long long)(t[T_WORKER] - t[T_START]) / 1000,
	    (long long)(t[T_DECIDED] - t[T_WORKER]) / 1000,
	    (long long)(t[T_PRESENTED] - t[T_DECIDED]) / 1000,
	    (long long)(t[T_UPSTREAM] - t[T_PRESENTED]) / 1000,
	    (long long)(t[T_ANSWERED] - t[T_UPSTREAM]) / 1000);
}

static json_t *
refusal(const char *decision, const char *reason, const char *detail,
    const char *policies, const char *stepup)
{
	char text[2048];
	json_t *r, *meta;

	snprintf(text, sizeof(text), "Mandate %s this call: %s: %s%s%s%s%s",
	    strcmp(decision, "deny") == 0 ? "refused" : "holds",
	    reason, detail, policies[0] ? " (policies: " : "", policies,
	    policies[0] ? ")" : "", stepup[0] ? "; the clinician is asked to "
	    "approve it: call the tool again with the same arguments once "
	    "approved" : "");
	r = mcp_text_result(text, 1);
	meta = json_pack("{s:{s:s,s:s,s:s,s:s,s:s}}", MCP_META_DECISION,
	    "decision", decision, "reason", reason, "detail", detail,
	    "policies", policies, "stepup", stepup);
	if (r != NULL && meta != NULL)
		json_object_set_new(r, "_meta", meta);
	else
		json_decref(meta);
	return r;
}

static json_t *
refusal_of(const mdt_authz *az)
{
	int step = mdt_authz_decision_of(az) == MDT_AUTHZ_STEP_UP;

	return refusal(step ? "pending" : "deny", mdt_authz_reason(az),
	    mdt_authz_detail(az), mdt_authz_policies(az),
	    mdt_authz_request_id(az));
}

static void
progress(struct call_ctx *x, const mdt_authz *az)
{
	char text[256];
	json_t *n;

	if (x->progress_token == NULL)
		return;
	snprintf(text, sizeof(text), "waiting for the clinician to approve "
	    "(step-up %s)", mdt_authz_request_id(az));
	n = mcp_notification_msg("notifications/progress", json_pack(
	    "{s:O,s:I,s:s}", "progressToken", x->progress_token, "progress",
	    (json_int_t)++x->progress, "message", text));
	if (n != NULL)
		(void)x->c->sink->send(x->c->sink, n);
	json_decref(n);
}

/*
 * Waits for the clinician's decision on step-up *az (replaced by the
 * final answer), in slices, telling the client; 0, or -MDT_ETIMEDOUT
 * with *az still the step-up.
 */
static int
wait_decision(struct call_ctx *x, mdt_authz **az, uint32_t total_ms)
{
	struct gw *g = x->c->g;
	uint32_t waited = 0;
	char err[MDT_ERRMSG_MAX];

	for (;;) {
		mdt_authz *fin = NULL;
		uint32_t slice = total_ms - waited < SLICE_MS ?
		    total_ms - waited : SLICE_MS;
		int rc;
		if (slice == 0 || x->c->cancelled || g->ended || g->stopping)
			return -MDT_ETIMEDOUT;
		progress(x, *az);
		rc = mdt_task_wait_step_up(g->task, *az, slice, &fin, err,
		    sizeof(err));
		if (rc == 0) {
			mdt_authz_free(*az);
			*az = fin;
			return 0;
		}
		if (rc != -MDT_ETIMEDOUT)
			return rc;
		waited += slice;
	}
}

/* The decision for the call: 0 with *out an answer, else the SDK's
 * error (no decision: a refusal too). */
static int
decide(struct call_ctx *x, const char *audience, mdt_authz **out,
    char *err, size_t errlen)
{
	struct gw *g = x->c->g;
	mdt_authz_request req = { .size = sizeof(req), .action = "x",
	    .resource = x->ref, .patient = x->has_patient ? x->patient : NULL,
	    .audience = audience[0] ? audience : NULL };
	mdt_authz *az = pending_take(g, x->key);
	int rc = 0;

	if (az == NULL)
		rc = mdt_task_authorize_req(g->task, &req, &az, err, errlen);
	if (rc != 0)
		return rc;
	if (mdt_authz_decision_of(az) == MDT_AUTHZ_STEP_UP) {
		uint32_t budget = g->cfg.step_up == GW_STEP_UP_PENDING ?
		    200 : g->cfg.step_up_wait_ms;
		rc = wait_decision(x, &az, budget);
		if (rc == -MDT_ETIMEDOUT) {
			*out = az;
			return 0;
		}
		if (rc != 0) {
			mdt_authz_free(az);
			return rc;
		}
	}
	*out = az;
	return 0;
}

/* The params sent upstream: the client's, with the presentation added
 * to _meta. */
static json_t *
forward_params(struct call_ctx *x, const char *tok, const char *proof)
{
	json_t *p = json_deep_copy(x->c->params), *meta;

	if (p == NULL)
		return NULL;
	meta = json_object_get(p, "_meta");
	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(p, "_meta", meta);
	}
	if (meta == NULL || json_object_set_new(meta, MCP_META_TOKEN,
	    json_string(tok)) || json_object_set_new(meta, MCP_META_PROOF,
	    json_string(proof)) || json_object_set_new(meta,
	    MCP_META_RESOURCE, json_string(x->ref))) {
		json_decref(p);
		return NULL;
	}
	return p;
}

/* Forwards an allowed call; the upstream's answer, as the client's. */
static json_t *
forward(struct call_ctx *x, struct gw_upstream *u, const mdt_authz *az)
{
	struct gw *g = x->c->g;
	char *tok = malloc(MDT_AGENT_HEADER_MAX), *proof =
	    malloc(MDT_AGENT_HEADER_MAX);
	char *hdrs = malloc(2 * MDT_AGENT_HEADER_MAX + 64);
	json_t *res = NULL, *p = NULL;
	int is_err = 0, rc = tok && proof && hdrs ? 0 : -MDT_ENOMEM;

	if (rc == 0)
		rc = mdt_task_present(g->task, az, 0, tok, proof);
	if (rc == 0 && (p = forward_params(x, tok, proof)) == NULL)
		rc = -MDT_ENOMEM;
	/* an HTTP upstream also gets them where an HTTP verifier looks */
	if (rc == 0)
		snprintf(hdrs, 2 * MDT_AGENT_HEADER_MAX + 64, "%s: %s\r\n%s: "
		    "%s\r\n", MDT_HTTP_TOKEN_HEADER, tok, MDT_HTTP_PROOF_HEADER,
		    proof);
	free(tok);
	free(proof);
	x->c->t[T_PRESENTED] = mono_ns();
	if (rc == 0)
		rc = gw_upstream_request_h(u, "tools/call", p, hdrs,
		    g->cfg.call_timeout_ms, &x->c->cancelled, &res, &is_err);
	else
		json_decref(p);
	x->c->t[T_UPSTREAM] = mono_ns();
	free(hdrs);
	if (rc != 0)
		return mcp_error_msg(x->c->id, MCP_INTERNAL_ERROR, rc ==
		    -MDT_ETIMEDOUT ? "the upstream did not answer in time" :
		    "the upstream is unavailable");
	if (is_err) {
		json_t *e = mcp_error_msg(x->c->id, (int)json_integer_value(
		    json_object_get(res, "code")), json_string_value(
		    json_object_get(res, "message")));
		json_decref(res);
		return e;
	}
	return mcp_result_msg(x->c->id, res);
}

static struct gw_upstream *
upstream_of(struct gw *g, const char *name)
{
	struct gw_upstream *u = NULL;

	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->ntools; i++)
		if (strcmp(g->tools[i].name, name) == 0)
			u = g->tools[i].up;
	pthread_mutex_unlock(&g->lock);
	return u;
}

/* The answer to the call (a whole JSON-RPC message). */
static json_t *
run(struct call_ctx *x)
{
	struct gw *g = x->c->g;
	struct gw_upstream *u = upstream_of(g, x->name);
	const char *aud = u != NULL ? gw_upstream_cfg_of(u)->audience : "";
	char err[MDT_ERRMSG_MAX] = "";
	mdt_authz *az = NULL;
	json_t *ans;
	int rc = decide(x, aud, &az, err, sizeof(err));

	x->c->t[T_DECIDED] = mono_ns();
	if (rc != 0) {
		if (rc == -MDT_EREVOKED)
			gw_task_ended(g, "ended");
		return mcp_result_msg(x->c->id, refusal("deny", rc ==
		    -MDT_EREVOKED ? "task.ended" : "error", err[0] ? err :
		    mdt_strerror(rc), "", ""));
	}
	if (mdt_authz_decision_of(az) != MDT_AUTHZ_ALLOW) {
		ans = mcp_result_msg(x->c->id, refusal_of(az));
		if (mdt_authz_decision_of(az) == MDT_AUTHZ_STEP_UP)
			pending_put(g, x->key, az);
		else
			mdt_authz_free(az);
		return ans;
	}
	if (g->ended)
		ans = mcp_result_msg(x->c->id, refusal("deny", "task.ended",
		    "the task was completed or cancelled", "", ""));
	else if (u == NULL)
		ans = mcp_error_msg(x->c->id, MCP_INVALID_PARAMS, "unknown tool");
	else
		ans = forward(x, u, az);
	mdt_authz_free(az);
	return ans;
}

static json_t *
prepare(struct call_ctx *x)
{
	struct gw *g = x->c->g;
	json_t *p = x->c->params;

	x->name = json_string_value(json_object_get(p, "name"));
	x->args = json_object_get(p, "arguments");
	x->progress_token = json_object_get(json_object_get(p, "_meta"),
	    "progressToken");
	if (x->name == NULL || (x->args != NULL && !json_is_object(x->args)))
		return mcp_error_msg(x->c->id, MCP_INVALID_PARAMS, "tools/call: "
		    "name (a string) and arguments (an object) expected");
	if (mcp_tool_ref(x->name, x->args, x->ref, sizeof(x->ref)) != 0)
		return mcp_error_msg(x->c->id, MCP_INVALID_PARAMS, "unknown tool");
	x->has_patient = mcp_patient_arg(x->args, g->patient_names,
	    g->npatient_names, x->patient, sizeof(x->patient));
	snprintf(x->key, sizeof(x->key), "%s\n%s", x->ref, x->has_patient ?
	    x->patient : "");
	return NULL;
}

static void
call_run(struct gw_call *c)
{
	struct call_ctx x;
	json_t *ans;

	memset(&x, 0, sizeof(x));
	x.c = c;
	c->t[T_WORKER] = mono_ns();
	if ((ans = prepare(&x)) == NULL)
		ans = run(&x);
	if (ans == NULL)
		ans = mcp_error_msg(c->id, MCP_INTERNAL_ERROR, "out of memory");
	/* after the answer the sink may be gone: no progress goes to it */
	pthread_mutex_lock(&c->g->lock);
	c->answering = 1;
	pthread_mutex_unlock(&c->g->lock);
	if (ans != NULL)
		(void)c->sink->send(c->sink, ans);
	json_decref(ans);
	c->t[T_ANSWERED] = mono_ns();
	if (c->g->timing)
		report_times(c);
	c->done = 1;  /* the last touch: the slot may be reaped from now */
}

/* A call no worker took yet, or NULL; g->lock held. */
static struct gw_call *
take_call(struct gw *g)
{
	for (int i = 0; i < GW_CALLS_MAX; i++)
		if (g->calls[i] != NULL && !g->calls[i]->started) {
			g->calls[i]->started = 1;
			return g->calls[i];
		}
	return NULL;
}

/* A worker: runs calls until the gateway stops and none is waiting. */
static void *
worker_main(void *arg)
{
	struct gw *g = arg;

	pthread_mutex_lock(&g->lock);
	for (;;) {
		struct gw_call *c = take_call(g);
		if (c != NULL) {
			pthread_mutex_unlock(&g->lock);
			call_run(c);
			pthread_mutex_lock(&g->lock);
			continue;
		}
		if (atomic_load(&g->stopping))
			break;
		g->idle_workers++;
		pthread_cond_wait(&g->work, &g->lock);
		g->idle_workers--;
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* Wakes a worker for a new call, starting one when none is idle;
 * g->lock held.  0, or -1 when there is none to run it. */
static int
wake_worker(struct gw *g)
{
	if (g->idle_workers == 0 && g->nworkers < GW_CALLS_MAX &&
	    pthread_create(&g->workers[g->nworkers], NULL, worker_main,
	    g) == 0)
		g->nworkers++;
	if (g->idle_workers == 0 && g->nworkers == 0)
		return -1;
	pthread_cond_signal(&g->work);
	return 0;
}

static void
call_free(struct gw_call *c)
{
	json_decref(c->id);
	json_decref(c->params);
	json_decref(c->progress_token);
	free(c);
}

/* A free slot (reaping a finished call), or -1; g->lock held. */
static int
free_slot(struct gw *g)
{
	for (int i = 0; i < GW_CALLS_MAX; i++) {
		if (g->calls[i] != NULL && g->calls[i]->done) {
			call_free(g->calls[i]);
			g->calls[i] = NULL;
		}
		if (g->calls[i] == NULL)
			return i;
	}
	return -1;
}

void
gw_call_start(struct gw *g, struct gw_sink *sink, mcp_msg *m)
{
	struct gw_call *c = calloc(1, sizeof(*c));
	int slot;

	pthread_mutex_lock(&g->lock);
	slot = c != NULL ? free_slot(g) : -1;
	if (slot >= 0) {
		c->t[T_START] = mono_ns();
		c->g = g;
		c->sink = sink;
		c->progress_token = json_deep_copy(json_object_get(
		    json_object_get(m->params, "_meta"), "progressToken"));
		/* the worker's own copies: no JSON value is shared between
		 * threads (see upstream.c) */
		c->id = json_deep_copy(m->id);
		c->params = m->params != NULL ? json_deep_copy(m->params) :
		    json_object();
		g->calls[slot] = c;
		if (wake_worker(g) != 0) {
			g->calls[slot] = NULL;
			slot = -1;
		}
	}
	pthread_mutex_unlock(&g->lock);
	if (slot < 0) {
		json_t *e = mcp_error_msg(m->id, MCP_INTERNAL_ERROR, "too many "
		    "calls in flight");
		if (c != NULL) {
			json_decref(c->id);
			json_decref(c->params);
			json_decref(c->progress_token);
			free(c);
		}
		if (e != NULL)
			(void)sink->send(sink, e);
		json_decref(e);
	}
}

void
gw_call_progress(struct gw *g, json_t *params)
{
	json_t *tok = json_object_get(params, "progressToken");
	json_t *n = mcp_notification_msg("notifications/progress",
	    json_deep_copy(params));
	int sent = 0;

	if (n == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	for (int i = 0; tok != NULL && !sent && i < GW_CALLS_MAX; i++) {
		struct gw_call *c = g->calls[i];
		if (c != NULL && !c->answering && c->progress_token != NULL &&
		    json_equal(c->progress_token, tok)) {
			(void)c->sink->send(c->sink, n);
			sent = 1;
		}
	}
	pthread_mutex_unlock(&g->lock);
	if (!sent)
		g->notify(g, n);
	json_decref(n);
}

void
gw_call_cancel(struct gw *g, const json_t *id)
{
	pthread_mutex_lock(&g->lock);
	for (int i = 0; id != NULL && i < GW_CALLS_MAX; i++)
		if (g->calls[i] != NULL && json_equal(g->calls[i]->id, id))
			g->calls[i]->cancelled = 1;
	pthread_mutex_unlock(&g->lock);
}

/* Every call answers (cancelled), every worker ends (g->stopping is
 * set), then the calls are freed. */
void
gw_calls_join(struct gw *g)
{
	pthread_t w[GW_CALLS_MAX];
	int n;

	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < GW_CALLS_MAX; i++)
		if (g->calls[i] != NULL)
			g->calls[i]->cancelled = 1;
	pthread_cond_broadcast(&g->work);
	n = g->nworkers;
	memcpy(w, g->workers, sizeof(w));
	g->nworkers = 0;
	pthread_mutex_unlock(&g->lock);
	for (int i = 0; i < n; i++)
		pthread_join(w[i], NULL);
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < GW_CALLS_MAX; i++) {
		if (g->calls[i] != NULL && g->calls[i]->done) {
			call_free(g->calls[i]);
			g->calls[i] = NULL;
		}
	}
	pthread_mutex_unlock(&g->lock);
}
