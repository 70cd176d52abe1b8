/*
 * fhir-gateway: a FHIR resource server for the clinic example.  It serves
 * synthetic FHIR JSON (Patient, Observation, Condition, Encounter,
 * Procedure) over nng's HTTP server on loopback, and serves nothing
 * without a sealed single-action token minted for it and a proof of
 * possession by the token's holder, both checked offline by the SDK's
 * resource-server verifier, whose revocation set follows the broker's
 * PUB socket.
 *
 *   GET  /fhir/Type/id              read    (action "r")
 *   GET  /fhir/Type?param=ID        search  (action "s"), param a
 *                                   compartment parameter naming the
 *                                   patient: Observation?subject=...,
 *                                   Condition?patient=..., Patient?_id=...
 *   POST /export/Type/id            send a resource to the payer: a
 *                                   boundary crossing, accepted only with
 *                                   an export-tool token (x on
 *                                   tool/export) for the export audience
 *   GET  /status                    revocations seen (no patient data)
 *   GET  /status/revoked/TASK       whether TASK's revocation arrived
 *
 * The patient a request touches comes from the FHIR compartment rules
 * (mdt_fhir_patient_of): a search must name it through a compartment
 * parameter; for a read it is the stored record's patient.  Either way the
 * token must be for that patient.
 *
 * Uses only the public Mandate headers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/util/platform.h>

#include <mandate/agent.h>
#include <mandate/token.h>

#include "clinic.h"
#include "fhir_store.h"

#define GW_BODY_MAX 4096 /* request bodies are not used; bound them */

typedef struct gateway {
	fhir_store *store;
	mdt_rs_verifier *fhir;   /* audience: the gateway itself */
	mdt_rs_verifier *export; /* audience: the payer exchange */
} gateway;

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
reply(nng_aio *aio, uint16_t status, const char *body)
{
	nng_http_res *res;

	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	(void)nng_http_res_set_status(res, status);
	(void)nng_http_res_set_header(res, "Content-Type",
	    "application/fhir+json");
	(void)nng_http_res_copy_data(res, body, strlen(body));
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

/* An OperationOutcome naming why the request was refused. */
static void
refuse(nng_aio *aio, uint16_t status, const char *what, const char *why)
{
	char *oo = fhir_outcome(what, why);

	reply(aio, status, oo != NULL ? oo : "{}");
	free(oo);
}

static uint16_t
status_of(int rv)
{
	return rv == -MDT_EAUTH || rv == -MDT_EDECODE ? 401 : 403;
}

/*
 * Verifies the presentation in the request headers for (action,
 * resource, patient); on refusal answers and returns non-zero.
 */
static int
check(nng_aio *aio, nng_http_req *req, mdt_rs_verifier *v,
    const char *action, const char *resource, const char *patient,
    const char *label)
{
	char err[MDT_ERRMSG_MAX];
	mdt_rs_request rq = {.action = action, .resource = resource,
	    .patient = patient};
	mdt_rs_grant g;
	int rv;

	rv = mdt_rs_verify(v, nng_http_req_get_header(req, MDT_HTTP_TOKEN_HEADER),
	    nng_http_req_get_header(req, MDT_HTTP_PROOF_HEADER), &rq, &g, err,
	    sizeof(err));
	if (rv != 0) {
		const char *what = rv == -MDT_EEXIST ? "replay" : mdt_strerror(rv);

		clinic_log("gateway", "REFUSED %s %s: %s (%s)", label, resource,
		    what, err);
		refuse(aio, status_of(rv), what, err);
		return rv;
	}
	clinic_log("gateway", "served %s %s to %s (task %.12s, purpose %s)",
	    label, resource, g.holder, g.task_id, g.purpose);
	return 0;
}

static gateway *
gw_of(nng_aio *aio)
{
	return nng_http_handler_get_data(nng_aio_get_input(aio, 1));
}

/*
 * The patient of the request by the compartment rules: a search names it
 * in a compartment parameter (no claim is made for it); a read's claim is
 * the stored record's patient, as read by fhir_store_read.  Sets
 * q->patient ("" outside the compartment); on refusal answers, non-zero.
 */
static int
patient_of(nng_aio *aio, fhir_query *q)
{
	char err[MDT_ERRMSG_MAX], id[MDT_FHIR_ID_BUF];
	mdt_fhir_patient_source src;
	int rv = mdt_fhir_patient_of(q->resource, q->search ? NULL :
	    q->patient, id, sizeof(id), &src, err, sizeof(err));

	if (rv != 0) {
		clinic_log("gateway", "REFUSED %s %s: %s (%s)", q->search ?
		    "search" : "read", q->resource, mdt_strerror(rv), err);
		refuse(aio, 403, mdt_strerror(rv), err);
		return rv;
	}
	memcpy(q->patient, id, sizeof(id));
	return 0;
}

static void
handle_fhir(nng_aio *aio)
{
	gateway *g = gw_of(aio);
	nng_http_req *req = nng_aio_get_input(aio, 0);
	fhir_query q;
	char *body = NULL;

	if (fhir_parse_uri(nng_http_req_get_uri(req), "/fhir/", &q) != 0) {
		refuse(aio, 400, "bad request", "unsupported FHIR request");
		return;
	}
	if (!q.search && fhir_store_read(g->store, &q, &body) != 0) {
		refuse(aio, 404, "not found", q.resource);
		return;
	}
	if (patient_of(aio, &q) != 0) {
		free(body);
		return;
	}
	if (q.search && fhir_store_search(g->store, &q, &body) != 0) {
		refuse(aio, 404, "not found", q.resource);
		return;
	}
	if (check(aio, req, g->fhir, q.search ? "s" : "r", q.resource,
	    q.patient[0] != '\0' ? q.patient : NULL, q.search ? "search" :
	    "read") == 0)
		reply(aio, 200, body);
	free(body);
}

/*
 * The payer exchange: sending a resource out of the organisation is the
 * export tool ("x" on tool/export) for the export audience, and only for
 * a resource of the token's own patient.
 */
static void
handle_export(nng_aio *aio)
{
	gateway *g = gw_of(aio);
	nng_http_req *req = nng_aio_get_input(aio, 0);
	char err[MDT_ERRMSG_MAX], receipt[1024];
	mdt_rs_request rq = {.action = "x", .resource = "tool/export"};
	mdt_rs_grant gr;
	fhir_query q;
	char *body = NULL;
	int rv;

	if (fhir_parse_uri(nng_http_req_get_uri(req), "/export/", &q) != 0 ||
	    q.search || fhir_store_read(g->store, &q, &body) != 0) {
		refuse(aio, 404, "not found", "no such resource to export");
		return;
	}
	rv = mdt_rs_verify(g->export, nng_http_req_get_header(req,
	    MDT_HTTP_TOKEN_HEADER), nng_http_req_get_header(req,
	    MDT_HTTP_PROOF_HEADER), &rq, &gr, err, sizeof(err));
	if (rv == 0 && strcmp(gr.patient, q.patient) != 0) {
		rv = -MDT_EPATIENT;
		snprintf(err, sizeof(err), "the token's patient does not own "
		    "%.120s", q.resource);
	}
	if (rv != 0) {
		clinic_log("gateway", "REFUSED export of %s: %s (%s)",
		    q.resource, mdt_strerror(rv), err);
		refuse(aio, status_of(rv), mdt_strerror(rv), err);
	} else {
		clinic_log("gateway", "exported %s to the payer for %s (task "
		    "%.12s)", q.resource, gr.holder, gr.task_id);
		snprintf(receipt, sizeof(receipt),
		    "{\"resourceType\":\"OperationOutcome\",\"issue\":[{"
		    "\"severity\":\"information\",\"code\":\"informational\","
		    "\"diagnostics\":\"%.200s sent to the payer (%zu bytes)\"}]}",
		    q.resource, strlen(body));
		reply(aio, 200, receipt);
	}
	free(body);
}

static void
handle_status(nng_aio *aio)
{
	gateway *g = gw_of(aio);
	const char *uri = nng_http_req_get_uri(nng_aio_get_input(aio, 0));
	const char *prefix = "/status/revoked/";
	char body[128];

	if (strncmp(uri, prefix, strlen(prefix)) == 0) {
		snprintf(body, sizeof(body), "{\"revoked\":%s}",
		    mdt_rs_verifier_is_revoked(g->fhir, uri + strlen(prefix)) ?
		    "true" : "false");
	} else {
		snprintf(body, sizeof(body), "{\"revocations\":%llu}",
		    (unsigned long long)(mdt_rs_verifier_revocations(g->fhir) +
		    mdt_rs_verifier_revocations(g->export)));
	}
	reply(aio, 200, body);
}

typedef struct route {
	const char *path;
	const char *method;
	void (*fn)(nng_aio *);
} route;

static const route routes[] = {
	{"/fhir", "GET", handle_fhir},
	{"/export", "POST", handle_export},
	{"/status", "GET", handle_status},
};

static int
add_routes(nng_http_server *srv, gateway *g)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
		nng_http_handler *h;
		int rv;

		if ((rv = nng_http_handler_alloc(&h, routes[i].path,
		    routes[i].fn)) != 0 ||
		    (rv = nng_http_handler_set_method(h, routes[i].method)) != 0 ||
		    (rv = nng_http_handler_set_tree(h)) != 0 ||
		    (rv = nng_http_handler_collect_body(h, true,
		    GW_BODY_MAX)) != 0 ||
		    (rv = nng_http_handler_set_data(h, g, NULL)) != 0 ||
		    (rv = nng_http_server_add_handler(srv, h)) != 0) {
			clinic_log("gateway", "route %s: %s", routes[i].path,
			    nng_strerror(rv));
			return -1;
		}
	}
	return 0;
}

typedef struct gw_args {
	const char *listen, *data, *key, *audience, *export_audience, *events;
} gw_args;

static const clinic_opt gw_opts[] = {
	{"--listen", offsetof(gw_args, listen)},
	{"--data", offsetof(gw_args, data)},
	{"--broker-key", offsetof(gw_args, key)},
	{"--audience", offsetof(gw_args, audience)},
	{"--export-audience", offsetof(gw_args, export_audience)},
	{"--events", offsetof(gw_args, events)},
	{NULL, 0},
};

/* A verifier accepting tokens under any key of roots (n keys: the
 * broker's root, or its root set during a rollover). */
static int
make_verifier(const mdt_pubkey *roots, size_t n, const char *aud,
    const char *events, mdt_rs_verifier **out)
{
	mdt_rs_verifier_opts o = MDT_RS_VERIFIER_OPTS_INIT;
	char err[MDT_ERRMSG_MAX];
	int rv;

	o.broker_key = &roots[0];
	o.audience = aud;
	o.events_url = events;
	rv = mdt_rs_verifier_new(&o, out, err, sizeof(err));

	if (rv == 0 && (rv = mdt_rs_verifier_set_roots(*out, roots, n)) != 0)
		snprintf(err, sizeof(err), "%s", mdt_strerror(rv));
	if (rv != 0)
		clinic_log("gateway", "verifier for %s: %s", aud, err);
	return rv;
}

static int
serve(const gw_args *a, gateway *g)
{
	nng_http_server *srv;
	nng_url *url;
	int rv;

	if ((rv = nng_url_parse(&url, a->listen)) != 0 ||
	    (rv = nng_http_server_hold(&srv, url)) != 0) {
		clinic_log("gateway", "%s: %s", a->listen, nng_strerror(rv));
		return 1;
	}
	if (add_routes(srv, g) != 0 || (rv = nng_http_server_start(srv)) != 0) {
		clinic_log("gateway", "cannot serve %s", a->listen);
		nng_http_server_release(srv);
		nng_url_free(url);
		return 1;
	}
	clinic_log("gateway", "serving FHIR on %s (audience %s)", a->listen,
	    a->audience);
	while (!stop_flag)
		nng_msleep(50);
	nng_http_server_stop(srv);
	nng_http_server_release(srv);
	nng_url_free(url);
	return 0;
}

int
main(int argc, char **argv)
{
	gw_args a = {"http://127.0.0.1:8780", "fhir/resources.json", NULL,
	    "spiffe://clinic.example/fhir-gateway",
	    "spiffe://clinic.example/payer-exchange", NULL};
	gateway g = {0};
	mdt_pubkey roots[MDT_TOKEN_ROOTS_MAX];
	char err[MDT_ERRMSG_MAX];
	size_t n = 0;
	int rc = 1;

	if ((rc = clinic_parse_opts(argc, argv, gw_opts, &a,
	    "usage: fhir-gateway --broker-key ROOT.pub|ROOT.pubs [--listen URL] "
	    "[--data FILE] [--audience ID] [--export-audience ID] "
	    "[--events URL]")) != 0)
		return rc > 0 ? 0 : 2;
	rc = 1;
	if (a.key == NULL || mdt_token_roots_load(a.key, roots,
	    MDT_TOKEN_ROOTS_MAX, &n, err, sizeof(err)) != 0) {
		clinic_log("gateway", "--broker-key: %s", a.key != NULL ? err :
		    "missing");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (fhir_store_load(a.data, &g.store) == 0 &&
	    make_verifier(roots, n, a.audience, a.events, &g.fhir) == 0 &&
	    make_verifier(roots, n, a.export_audience, a.events,
	    &g.export) == 0)
		rc = serve(&a, &g);
	mdt_rs_verifier_free(g.fhir);
	mdt_rs_verifier_free(g.export);
	fhir_store_free(g.store);
	return rc;
}
