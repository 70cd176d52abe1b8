/*
 * mandate-mcp internals: its configuration, the upstream MCP servers it
 * runs as child processes, and the gateway state shared by the client
 * loop, the call workers and the event follower.
 */
#ifndef MANDATE_MCP_GATEWAY_H
#define MANDATE_MCP_GATEWAY_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <mandate/agent.h>

#include "mcp.h"

#define GW_UPSTREAMS_MAX 16
#define GW_ARGV_MAX 32
#define GW_PATIENT_ARGS_MAX 8
#define GW_TOOLS_MAX 512
#define GW_CALLS_MAX 32          /* tools/call in flight at once */
#define GW_STR_MAX 1024

enum gw_step_up { GW_STEP_UP_WAIT = 0, GW_STEP_UP_PENDING = 1 };

struct gw_upstream_cfg {
	char name[64];
	char command[GW_STR_MAX];          /* a child over stdio, or */
	char url[GW_STR_MAX];              /* an HTTP server (http://) */
	char audience[MDT_AGENT_ID_MAX];   /* "" = the broker's gateway */
};

struct gw_config {
	char broker[MDT_AGENT_URL_MAX];
	char events[MDT_AGENT_URL_MAX];
	uint32_t timeout_ms;
	char agent[MDT_AGENT_ID_MAX];
	char key[GW_STR_MAX];
	char svid_cert[GW_STR_MAX];
	char svid_key[GW_STR_MAX];
	uint32_t task_wait_ms;
	int complete_on_exit;
	int step_up;
	uint32_t step_up_wait_ms;
	char patient_args[GW_STR_MAX];
	uint32_t max_message;
	uint32_t call_timeout_ms;
	char http_listen[128];             /* "" = stdio; else [HOST:]PORT */
	char http_path[128];
	char http_origins[GW_STR_MAX];     /* allowed Origin values */
	struct gw_upstream_cfg up[GW_UPSTREAMS_MAX];
	size_t nup;
};

/* Reads the configuration file at path into *c (defaults first).  0, or
 * -1 with the file, line and reason in err. */
int gw_config_load(const char *path, struct gw_config *c, char *err,
    size_t errlen);
/* Splits a command line on blanks, with "..." quoting, into argv (NULL
 * terminated, pointing into buf).  The count, or -1. */
int gw_split_command(const char *cmd, char *buf, size_t buflen,
    char **argv, size_t max);

/* Monotonic milliseconds. */
int64_t gw_now_ms(void);

/* ---- upstream MCP servers (child processes over stdio) ---- */

struct gw_upstream;
struct gw;

/* Starts the child and runs the initialize handshake.  On success *out
 * owns it; caller frees with gw_upstream_close. */
int gw_upstream_start(struct gw *g, const struct gw_upstream_cfg *cfg,
    struct gw_upstream **out, char *err, size_t errlen);
/* Ends the child (closes its stdin, then SIGTERM, then SIGKILL) and frees. */
void gw_upstream_close(struct gw_upstream *u);
/*
 * Sends a request and waits up to timeout_ms for its answer.  params is
 * stolen.  0 with *result (caller decrefs) set to the result object, or
 * to the whole error object when *is_error is 1; -MDT_ETIMEDOUT,
 * -MDT_ECLOSED when the child went away.  cancelled, when not NULL, is
 * polled: once set the request is cancelled upstream (-MDT_ECLOSED).
 */
int gw_upstream_request(struct gw_upstream *u, const char *method,
    json_t *params, uint32_t timeout_ms, const atomic_int *cancelled,
    json_t **result, int *is_error);
/* The same with HTTP headers ("Name: value\r\n" lines, or NULL) that an
 * HTTP upstream's request carries (a stdio upstream has none). */
int gw_upstream_request_h(struct gw_upstream *u, const char *method,
    json_t *params, const char *headers, uint32_t timeout_ms,
    const atomic_int *cancelled, json_t **result, int *is_error);
const struct gw_upstream_cfg *gw_upstream_cfg_of(const struct gw_upstream *u);
/* The answer to an upstream's own request m: ping is answered;
 * sampling, elicitation and roots are not offered through the gateway.
 * A new reference (NULL on no memory). */
json_t *gw_upstream_answer(const mcp_msg *m);
/* The upstream's tools (every page of tools/list); caller decrefs. */
int gw_upstream_tools(struct gw_upstream *u, uint32_t timeout_ms,
    json_t **tools);

/* ---- where messages to the client go ---- */

/* One answer stream: stdout for stdio, or one HTTP request's response
 * (JSON, or an SSE stream once a notification precedes the answer).
 * send borrows msg; 0 or -MDT_EIO. */
struct gw_sink {
	int (*send)(struct gw_sink *s, const json_t *msg);
};

/* One client: stdio's only one, or one HTTP session. */
struct gw_peer {
	atomic_int initialized;       /* it sent notifications/initialized */
};

/* ---- upstream MCP servers over Streamable HTTP (upstream_http.c) ---- */

struct gw_hup;
/* Runs the initialize handshake with cfg->url; on success *out is the
 * connection state (sessions), freed with gw_hup_close. */
int gw_hup_open(struct gw *g, struct gw_upstream *u,
    const struct gw_upstream_cfg *cfg, struct gw_hup **out, char *err,
    size_t errlen);
void gw_hup_close(struct gw_hup *h);
/* One request (params stolen), POSTed with headers; *answer the whole
 * response message (caller decrefs).  Codes as gw_upstream_request. */
int gw_hup_request(struct gw_hup *h, const char *method, json_t *params,
    const char *headers, uint32_t timeout_ms, const atomic_int *cancelled,
    json_t **answer);

/* ---- the gateway ---- */

struct gw_tool {
	char name[65];
	struct gw_upstream *up;
	json_t *def;                  /* the upstream's tool object */
};

struct gw {
	struct gw_config cfg;
	mdt_agent *agent;
	mdt_task *task;
	mcp_writer out;               /* stdout (stdio transport) */
	/* Messages that answer no request (tools/list_changed, progress
	 * of no call in flight): to every initialized client that can
	 * take them. */
	void (*notify)(struct gw *g, const json_t *msg);
	void *transport;              /* the HTTP server (httpd.c) */
	pthread_mutex_t lock;         /* everything below */
	struct gw_upstream *up[GW_UPSTREAMS_MAX];
	size_t nup;
	struct gw_tool tools[GW_TOOLS_MAX];
	size_t ntools;
	int tools_stale;              /* an upstream said its list changed */
	atomic_int ended;             /* the task was completed or cancelled */
	atomic_int stopping;
	int timing;                   /* MANDATE_MCP_TIMING: per-call phases */
	void *pending;                /* step-ups answered "pending" (call.c) */
	struct gw_call *calls[GW_CALLS_MAX];
	pthread_cond_t work;          /* a call is waiting for a worker */
	pthread_t workers[GW_CALLS_MAX];
	int nworkers, idle_workers;
	const char *patient_names[GW_PATIENT_ARGS_MAX];
	size_t npatient_names;
	char patient_buf[GW_STR_MAX];
	mdt_event_sub *sub;
	pthread_t events;
	int events_running;
};

/* Refreshes the tool table from every upstream.  Takes g->lock. */
int gw_tools_refresh(struct gw *g);
/* Called from an upstream's reader for a notification it sent. */
void gw_upstream_notified(struct gw *g, struct gw_upstream *u,
    const char *method, json_t *params);
/* Handles one client message (a request or notification) of peer;
 * answers go to sink, which must outlive the answer (a tools/call is
 * answered later, from its worker). */
void gw_handle(struct gw *g, struct gw_peer *peer, struct gw_sink *sink,
    mcp_msg *m);
/* Starts a worker for a tools/call request (or answers it busy). */
void gw_call_start(struct gw *g, struct gw_sink *sink, mcp_msg *m);
/* Sends a progress notification to the sink of the call in flight whose
 * progressToken it names, else to g->notify. */
void gw_call_progress(struct gw *g, json_t *params);
/* Marks the call with this id cancelled (notifications/cancelled). */
void gw_call_cancel(struct gw *g, const json_t *id);
/* Frees the step-ups kept as pending. */
void gw_pending_free(struct gw *g);
/* Waits for the calls in flight (after g->stopping is set). */
void gw_calls_join(struct gw *g);
/* The task ended: no grant is used from now on. */
void gw_task_ended(struct gw *g, const char *why);
/* Subscribes to the broker's events (before the task is taken, so no
 * revocation is missed), then follows them on a thread. */
int gw_events_open(struct gw *g, char *err, size_t errlen);
int gw_events_start(struct gw *g, char *err, size_t errlen);
void gw_events_stop(struct gw *g);

/* ---- Streamable HTTP towards the client (httpd.c) ---- */

/* Binds cfg.http_listen and serves MCP's Streamable HTTP transport on
 * threads of its own; the address is reported on standard error. */
int gw_http_start(struct gw *g, char *err, size_t errlen);
/* Stops accepting, ends every stream and waits for the connections. */
void gw_http_stop(struct gw *g);

#endif
