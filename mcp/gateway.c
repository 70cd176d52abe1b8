/*
 * The client side of mandate-mcp: the MCP lifecycle (initialize, ping),
 * tools/list filtered to the task's tool scopes, and the dispatch of
 * every other message.  tools/call runs on workers (call.c).
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"


/* Sends msg (taken) to sink. */
static void
send_msg(struct gw_sink *sink, json_t *msg)
{
	if (msg != NULL)
		(void)sink->send(sink, msg);
	json_decref(msg);
}

/* Sends msg (taken) to every client that can take it. */
static void
notify(struct gw *g, json_t *msg)
{
	if (msg != NULL)
		g->notify(g, msg);
	json_decref(msg);
}

/*
 * 1 when the task's scopes grant tool `name` (tool/NAME.x or the wildcard,
 * restricted or not: a restriction is checked per call).  The scopes are
 * the token's canonical text, so a plain scan reads them.
 */
static int
scope_grants(const char *scopes, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = scopes; *p != 0;) {
		size_t l = strcspn(p, " ");
		if (l > 5 && strncmp(p, "tool/", 5) == 0) {
			const char *t = p + 5, *dot = memchr(t, '.', l - 5);
			const char *q = dot != NULL ? dot + 1 : NULL;
			size_t tl = dot != NULL ? (size_t)(dot - t) : 0;
			size_t ll = q != NULL ? strcspn(q, " ?") : 0;
			if (dot != NULL && ((tl == 1 && *t == '*') || (tl == nl &&
			    memcmp(t, name, nl) == 0)) && memchr(q, 'x', ll))
				return 1;
		}
		p += l;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* Adds u's tools, dropping names that are no Mandate tool name or that
 * another upstream offers too (which one a call meant would be a guess). */
static void
add_tools(struct gw *g, struct gw_upstream *u, json_t *tools)
{
	size_t i;
	json_t *t;

	json_array_foreach(tools, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		int dup = 0;
		if (name == NULL || !mcp_tool_name_ok(name)) {
			fprintf(stderr, "mandate-mcp: upstream %s: tool %s: not a "
			    "Mandate tool name ([a-z][a-z0-9_-]*); not offered\n",
			    gw_upstream_cfg_of(u)->name, name ? name : "?");
			continue;
		}
		for (size_t k = 0; k < g->ntools; k++)
			if (strcmp(g->tools[k].name, name) == 0) {
				g->tools[k].up = NULL; /* ambiguous: nobody's */
				dup = 1;
			}
		if (dup || g->ntools == GW_TOOLS_MAX)
			continue;
		snprintf(g->tools[g->ntools].name, sizeof(g->tools[0].name),
		    "%s", name);
		g->tools[g->ntools].up = u;
		g->tools[g->ntools++].def = json_incref(t);
	}
}

static void
tools_clear(struct gw *g)
{
	for (size_t i = 0; i < g->ntools; i++)
		json_decref(g->tools[i].def);
	g->ntools = 0;
}

int
gw_tools_refresh(struct gw *g)
{
	json_t *lists[GW_UPSTREAMS_MAX] = { 0 };
	int rc = 0;

	/* ask outside the lock: an upstream may take its time */
	for (size_t i = 0; rc == 0 && i < g->nup; i++)
		rc = gw_upstream_tools(g->up[i], g->cfg.call_timeout_ms,
		    &lists[i]);
	pthread_mutex_lock(&g->lock);
	if (rc == 0) {
		tools_clear(g);
		for (size_t i = 0; i < g->nup; i++)
			add_tools(g, g->up[i], lists[i]);
		g->tools_stale = 0;
	}
	pthread_mutex_unlock(&g->lock);
	for (size_t i = 0; i < g->nup; i++)
		json_decref(lists[i]);
	return rc;
}

void
gw_upstream_notified(struct gw *g, struct gw_upstream *u,
    const char *method, json_t *params)
{
	(void)u;
	if (strcmp(method, "notifications/tools/list_changed") == 0) {
		pthread_mutex_lock(&g->lock);
		g->tools_stale = 1;
		pthread_mutex_unlock(&g->lock);
		notify(g, mcp_notification_msg(method, NULL));
	} else if (strcmp(method, "notifications/progress") == 0 &&
	    params != NULL) {
		/* the client's own progress token was passed on with the call */
		gw_call_progress(g, params);
	}
}

void
gw_task_ended(struct gw *g, const char *why)
{
	int tell;

	pthread_mutex_lock(&g->lock);
	tell = !g->ended;
	g->ended = 1;
	pthread_mutex_unlock(&g->lock);
	fprintf(stderr, "mandate-mcp: task %s %s: every call is refused from "
	    "now on\n", mdt_task_id(g->task), why);
	if (tell)
		notify(g, mcp_notification_msg(
		    "notifications/tools/list_changed", NULL));
}

static const char *
negotiate(const json_t *params)
{
	const char *asked = json_string_value(json_object_get(params,
	    "protocolVersion"));

	for (size_t i = 0; asked != NULL && mcp_protocol_versions[i]; i++)
		if (strcmp(asked, mcp_protocol_versions[i]) == 0)
			return mcp_protocol_versions[i];
	return MCP_PROTOCOL_LATEST;
}

static void
on_initialize(struct gw *g, struct gw_sink *sink, mcp_msg *m)
{
	char text[512];

	if (!json_is_string(json_object_get(m->params, "protocolVersion"))) {
		send_msg(sink, mcp_error_msg(m->id, MCP_INVALID_PARAMS,
		    "initialize: protocolVersion is required"));
		return;
	}
	snprintf(text, sizeof(text), "Tools run under Mandate for task %s "
	    "(patient %s, purpose %s): each call is authorized on its own, "
	    "and a refusal names its reason.", mdt_task_id(g->task),
	    mdt_task_patient(g->task), mdt_task_purpose(g->task));
	send_msg(sink, mcp_result_msg(m->id, json_pack("{s:s,s:{s:{s:b}},"
	    "s:{s:s,s:s},s:s}", "protocolVersion", negotiate(m->params),
	    "capabilities", "tools", "listChanged", 1, "serverInfo", "name",
	    "mandate-mcp", "version", "1.0", "instructions", text)));
}

static void
on_tools_list(struct gw *g, struct gw_sink *sink, mcp_msg *m)
{
	json_t *list = json_array();
	const char *scopes = mdt_task_scopes(g->task);
	int stale;

	pthread_mutex_lock(&g->lock);
	stale = g->tools_stale;
	pthread_mutex_unlock(&g->lock);
	if (stale && gw_tools_refresh(g) != 0)
		fprintf(stderr, "mandate-mcp: tools/list: an upstream did not "
		    "answer; the previous list stands\n");
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; !g->ended && i < g->ntools; i++)
		if (g->tools[i].up != NULL && scope_grants(scopes,
		    g->tools[i].name))
			json_array_append(list, g->tools[i].def);
	pthread_mutex_unlock(&g->lock);
	send_msg(sink, mcp_result_msg(m->id, json_pack("{s:o}", "tools", list)));
}

static void
on_request(struct gw *g, struct gw_peer *peer, struct gw_sink *sink,
    mcp_msg *m)
{
	int ready = atomic_load(&peer->initialized);

	if (strcmp(m->method, "initialize") == 0) {
		on_initialize(g, sink, m);
		return;
	}
	if (strcmp(m->method, "ping") == 0) {
		send_msg(sink, mcp_result_msg(m->id, json_object()));
		return;
	}
	if (strcmp(m->method, "tools/list") == 0 && ready)
		on_tools_list(g, sink, m);
	else if (strcmp(m->method, "tools/call") == 0 && ready)
		gw_call_start(g, sink, m);
	else
		send_msg(sink, mcp_error_msg(m->id, ready ? MCP_METHOD_NOT_FOUND :
		    MCP_INVALID_REQUEST, ready ? "method not offered by this "
		    "server" : "not initialized"));
}

void
gw_handle(struct gw *g, struct gw_peer *peer, struct gw_sink *sink,
    mcp_msg *m)
{
	if (m->kind == MCP_REQUEST) {
		on_request(g, peer, sink, m);
	} else if (m->kind == MCP_NOTIFICATION) {
		if (strcmp(m->method, "notifications/initialized") == 0) {
			atomic_store(&peer->initialized, 1);
		} else if (strcmp(m->method, "notifications/cancelled") == 0) {
			gw_call_cancel(g, json_object_get(m->params,
			    "requestId"));
		}
	}
	/* responses: this server sends the client no requests */
}
