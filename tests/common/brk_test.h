/*
 * Integration-test harness for mandated: a temporary broker (its own run
 * and data directories, the source tree's policies with a generated agent
 * registry, a development identity provider), started as a real process,
 * and raw nng clients speaking docs/wire-protocol.md.
 */
#ifndef BRK_TEST_H
#define BRK_TEST_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>
#include <nng/nng.h>

#include <mandate/key.h>
#include <mandate/wire.h>

#define BT_ORCH "spiffe://clinic.example/orchestrator"
#define BT_SUMM "spiffe://clinic.example/agent/summarizer"
#define BT_CODER "spiffe://clinic.example/agent/coder"
#define BT_PRIOR "spiffe://clinic.example/agent/priorauth"
#define BT_NAGENTS 6

struct bt_agent {
	char id[128];
	mdt_keypair *kp;
};

struct bt_broker {
	char dir[256];
	char url[512];
	char pub[512];
	char entities[512];
	char store[512];
	char root_pub[512];
	char log[512];
	pid_t pid;
	struct bt_agent agents[BT_NAGENTS];
	size_t nagents;
	void *idp;              /* development identity provider */
	char idp_pub[600];      /* its public key file */
	int exit_status;        /* waitpid status when bt_start saw the
	                           broker exit before it answered */
};

/* Prepares a temp broker: keys for the default agents (and any in
 * extra, a JSON array of entities appended to the registry). */
int bt_setup(struct bt_broker *b, const char *extra_entities_json);
/* Starts mandated with extra "--set" style arguments (NULL-terminated);
 * returns when the socket answers. */
int bt_start(struct bt_broker *b, const char *const *args);
/* Sends sig and waits for the process; returns its exit status or
 * 128+signal. */
int bt_stop(struct bt_broker *b, int sig);
/* Stops (if running), frees keys and removes the directory. */
void bt_cleanup(struct bt_broker *b);
/* A second broker beside a (brk_twin.c): its own directory, listener
 * and PUB socket, the same agents, keys, registry, identity provider and
 * root key (once a has started), for several brokers on one shared store
 * (pass "--set store=..." to both).  Start it with bt_start; clean it up
 * with bt_twin_cleanup before bt_cleanup(a). */
int bt_twin(const struct bt_broker *a, struct bt_broker *twin);
void bt_twin_cleanup(struct bt_broker *twin);
/* Sets up and starts a, then its twin b, both on the store URI with the
 * extra arguments (NULL-terminated, may be NULL).  0 or -1. */
int bt_start_pair(struct bt_broker *a, struct bt_broker *b,
    const char *store, const char *const *extra);
const mdt_keypair *bt_key(const struct bt_broker *b, const char *agent);

/* A launch assertion from the development identity provider.
 * Caller frees with free(). */
char *bt_assertion(struct bt_broker *b, const char *clinician,
    const char *patient, const char *scopes, long iat_offset);
/* An assertion that is also a clinician's act: the decision of step-up
 * stepup (mandate_stepup), or the declaration of an emergency purpose
 * (purpose_of_use); either may be NULL.  Caller frees. */
char *bt_assertion_act(struct bt_broker *b, const char *clinician,
    const char *patient, const char *scopes, long iat_offset,
    const char *stepup, const char *purpose_of_use);

struct bt_conn {
	nng_socket s;
	char agent[128];
	unsigned seq;
	char prefix[16];
};

int bt_dial(struct bt_conn *c, const char *url);
void bt_close(struct bt_conn *c);
/* hello + auth with the agent's key; 0 or the refusal status. */
int bt_auth(struct bt_conn *c, const char *agent, const mdt_keypair *kp);
/* A request writer with a fresh id. */
mdt_wire_writer *bt_req(struct bt_conn *c, mdt_wire_op op);
/* Sends w (freed) and decodes the reply into *out (caller frees). */
int bt_call(struct bt_conn *c, mdt_wire_writer *w, mdt_wire_msg **out);
/* Sends raw bytes; the reply's raw bytes into *out (caller frees with
 * nng_free(*out, *len)). */
int bt_raw(struct bt_conn *c, const void *buf, size_t len, void **out,
    size_t *olen);
/* The reply's error reason ("" when ok). */
const char *bt_reason(const mdt_wire_msg *m);
/* A string or binary field of a reply's top level ("" / NULL). */
const char *bt_str(const mdt_wire_msg *m, const char *key);
const uint8_t *bt_bin(const mdt_wire_msg *m, const char *key, size_t *len);

/* Convenience operations (reply returned; caller frees). */
mdt_wire_msg *bt_open(struct bt_conn *c, const char *assertion,
    const char *patient, const char *purpose, const char *scopes);
mdt_wire_msg *bt_delegate(struct bt_conn *c, mdt_wire_op op,
    const char *task, const uint8_t *tok, size_t tlen, const char *to,
    const char *scopes);
mdt_wire_msg *bt_next(struct bt_conn *c, int64_t wait_ms);
mdt_wire_msg *bt_authorize(struct bt_conn *c, const char *task,
    const uint8_t *tok, size_t tlen, const char *action,
    const char *resource, const char *patient, const char *boundary,
    const char *stepup, int64_t wait_ms);
mdt_wire_msg *bt_end(struct bt_conn *c, mdt_wire_op op, const char *task,
    const uint8_t *tok, size_t tlen);

/* The held token of a task, kept from a reply. */
struct bt_task {
	char id[128];
	uint8_t tok[16384];
	size_t tlen;
};
/* Copies task (field "task" or item.task) and token from a reply. */
int bt_task_from(struct bt_task *t, const mdt_wire_msg *m, int item);

#endif
