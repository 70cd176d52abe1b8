/*
 * Helpers shared by the clinic example's programs: narrative logging,
 * table-driven option parsing, key loading and a small HTTP client for
 * presenting single-action tokens to the FHIR gateway.
 */
#ifndef CLINIC_H
#define CLINIC_H

#include <stddef.h>

#include <mandate/agent.h>

/* Prints "[who] message" on stdout, flushed, for the demo narrative. */
void clinic_log(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One "--name VALUE" option stored as a const char * at off in a struct. */
typedef struct clinic_opt {
	const char *name;
	size_t off;
} clinic_opt;

/* Parses argv against the table into args.  0 on success; 1 after
 * printing usage for --help (exit 0); -1 after printing usage for a bad
 * command line (exit 2). */
int clinic_parse_opts(int argc, char **argv, const clinic_opt *opts,
    void *args, const char *usage);

/* Key files (key.h formats); logs and returns -1 on failure. */
int clinic_load_key(const char *path, mdt_keypair **out);

/* An HTTP answer: status and body (malloc'd, NUL-terminated). */
typedef struct clinic_http_res {
	int status;
	char *body;
} clinic_http_res;

/*
 * Sends METHOD url with the Mandate-Token / Mandate-Proof headers when
 * token and proof are not NULL.  0 when an answer came back (any
 * status), -1 on a transport failure.  Caller frees res->body.
 */
int clinic_http(const char *method, const char *url, const char *token,
    const char *proof, clinic_http_res *res);

/* Prints a task tree (JSON from mdt_agent_task_graph) as an indented
 * delegation graph (graph.c). */
struct json_t;
void clinic_print_node(struct json_t *v, int depth);

/* The action letter a spelled out ("read"); on tool/NAME the tool's
 * name.  A static string or a pointer into resource. */
const char *clinic_action_word(const char *a, const char *resource);

/* Reads a whole (small) text file; caller frees.  NULL on failure. */
char *clinic_read_file(const char *path);

#endif

/* ---- the demo's checked outcomes ---- */

/*
 * Prints "[who] CHECK name: ok|FAIL -- detail" and returns ok.  The demo
 * driver compares the CHECK lines with the expected outcomes.
 */
int clinic_check(const char *who, const char *name, int ok,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* One guarded access: ask the broker, then present the token over HTTP. */
typedef struct clinic_access_req {
	const char *action;   /* "r", "s", a tool letter */
	const char *resource; /* "Patient/pat-001", "tool/export" */
	const char *patient;  /* compartment; NULL: the task's patient */
	const char *boundary; /* NULL or "export" */
	const char *audience; /* NULL: the broker's gateway audience */
	uint32_t wait_ms;     /* wait for a step-up decision */
	const char *method;   /* "GET" or "POST" */
	const char *url;      /* NULL: authorize only, keep the answer */
} clinic_access_req;

typedef struct clinic_access_res {
	mdt_authz_decision decision;
	uint32_t flags;
	char reason[MDT_AGENT_REASON_MAX];
	int http_status;      /* 0 when not presented */
	mdt_authz *az;        /* the answer (caller frees with mdt_authz_free) */
} clinic_access_res;

/*
 * Authorizes r for task t, narrating the answer as `who`; when allowed
 * and r->url is set, presents the single-action token and its proof to
 * the gateway.  0 when a decision was obtained, -1 otherwise (logged).
 */
int clinic_access(const char *who, mdt_task *t, const clinic_access_req *r,
    clinic_access_res *out);

/* Presents an allowed answer to url (a fresh proof each time); returns
 * the HTTP status, or -1 on a transport failure. */
int clinic_present(const char *who, mdt_task *t, const mdt_authz *az,
    const char *method, const char *url);

/* ---- common command line of the clinic's broker clients ---- */

typedef struct clinic_args {
	const char *broker;   /* broker request/reply URL */
	const char *events;   /* broker PUB URL */
	const char *key;      /* the agent's .key file */
	const char *id;       /* the agent's SPIFFE id */
	const char *gateway;  /* http://127.0.0.1:PORT */
	const char *role;     /* clinic-agent: summarizer, coder, priorauth */
	const char *payer;    /* audience of the payer exchange (exports) */
	const char *assert1;  /* orchestrator: assertion file, pat-001 */
	const char *assert3;  /* orchestrator: assertion file, pat-003 */
	const char *emerg3;   /* orchestrator: dr-alice's emergency act (ETREAT) */
	const char *acts;     /* orchestrator: where dr-alice's UI answers */
	const char *timeout;  /* seconds the program may run */
} clinic_args;

extern const clinic_opt clinic_arg_table[];

/* Connects and authenticates as args->id with args->key; logs. */
int clinic_connect(const char *who, const clinic_args *args,
    mdt_agent **out);
