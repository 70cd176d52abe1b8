/*
 * Assertions shared by the attack suites (tests/integration/test_attack_*):
 * every refusal is checked three ways, on the wire (its reason), in the
 * audit store (a deny record under the request's audit id, with the
 * presenting agent and the patient named) and for leaks (no token in the
 * reply, no 200 from the resource server).  Also a real fhir-gateway
 * process with a minimal HTTP client, proofs of possession made by hand,
 * and launch assertions carrying the step-up and purpose claims.
 */
#ifndef ATTACK_H
#define ATTACK_H

#include <stddef.h>
#include <sys/types.h>

#include <mandate/store.h>
#include <mandate/token.h>

#include "brk_test.h"

#define AT_GW_AUD "spiffe://mandate.local/gateway"
#define AT_EXPORT_AUD "spiffe://clinic.example/payer-exchange"

/* The audit id ("AGENT#REQUEST-ID") of the last request sent on c. */
void at_audit_id(const struct bt_conn *c, char *out, size_t len);
/* The wire id of the last request sent on c. */
void at_last_id(const struct bt_conn *c, char *out, size_t len);

/* The decision recorded under audit id rid, read from b's store with a
 * read-only handle (works while the broker runs), or NULL.  Caller frees
 * with mdt_free. */
mdt_store_decision *at_record(const struct bt_broker *b, const char *rid);

/* The last decision whose audit id starts with prefix, or NULL.  Caller
 * frees with mdt_free. */
mdt_store_decision *at_record_prefix(const struct bt_broker *b,
    const char *prefix);

/* 1 when reason matches spec: alternatives separated by '|', an
 * alternative ending in '*' matching as a prefix. */
int at_reason_is(const char *reason, const char *spec);
/* The "failed" member of a record's reasons JSON (static buffer). */
const char *at_failed(const mdt_store_decision *d);

/*
 * The three checks of a refusal of the last request on c: m is a refusal
 * whose reason matches spec and carries no token; the store holds a deny
 * for op with c's agent, a reason matching spec and, when patient is not
 * NULL, that patient.  Frees m.
 */
void at_refused(const struct bt_broker *b, const struct bt_conn *c,
    mdt_wire_msg *m, const char *op, const char *spec, const char *patient);
/* The same for a request sent by agent under audit id rid; a refusal
 * recorded as a second decision of rid ("RID#...") is found too. */
void at_refused_rid(const struct bt_broker *b, const char *agent,
    const char *rid, mdt_wire_msg *m, const char *op, const char *spec,
    const char *patient);
/* m is an allow of the last request on c with a token, recorded as an
 * allow for op; the token into *tok / *tlen when not NULL (caller frees
 * with free()).  Frees m. */
void at_allowed(const struct bt_broker *b, const struct bt_conn *c,
    mdt_wire_msg *m, const char *op, uint8_t **tok, size_t *tlen);

/* ------------------------------------------------------ fhir-gateway */

struct at_gateway {
	pid_t pid;
	int port;
	char log[600];
};

/* Starts the build's fhir-gateway for b (its root key, its events) on a
 * free loopback port and waits until it answers /status. */
void at_gw_start(const struct bt_broker *b, struct at_gateway *g);
void at_gw_stop(struct at_gateway *g);
/* GET (or POST when post) path with the two Mandate headers (either may
 * be NULL); returns the HTTP status, -1 when no answer. */
int at_http(const struct at_gateway *g, const char *method, const char *path,
    const char *token, const char *proof);
/* The body of GET path (caller frees), NULL when no 200. */
char *at_http_body(const struct at_gateway *g, const char *path);

/* Presents the binary token to the gateway's FHIR API for (action,
 * resource) with a fresh proof signed by holder; returns the HTTP
 * status. */
int at_present(const struct at_gateway *g, const uint8_t *tok, size_t tlen,
    const mdt_keypair *holder, const char *action, const char *resource);
/* The same for an export of resource (POST /export/RESOURCE, the export
 * tool for AT_EXPORT_AUD). */
int at_present_export(const struct at_gateway *g, const uint8_t *tok,
    size_t tlen, const mdt_keypair *holder, const char *resource);

#endif
