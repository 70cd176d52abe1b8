/* Assertions and processes shared by the attack suites (attack.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup, kill, nanosleep */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "attack.h"
#include "testutil.h"

void
at_last_id(const struct bt_conn *c, char *out, size_t len)
{
	snprintf(out, len, "%s-%u", c->prefix, c->seq);
}

void
at_audit_id(const struct bt_conn *c, char *out, size_t len)
{
	char id[64];

	at_last_id(c, id, sizeof(id));
	snprintf(out, len, "%s#%s", c->agent, id);
}

mdt_store_decision *
at_record(const struct bt_broker *b, const char *rid)
{
	mdt_store_opts o = { .read_only = 1 };
	mdt_store *s = NULL;
	mdt_store_decision *d = NULL;
	char err[256];

	ck_assert_msg(mdt_store_open(b->store, &o, &s, err, sizeof(err)) == 0,
	    "store %s: %s", b->store, err);
	if (mdt_store_find_decision(s, rid, &d) != 0)
		d = NULL;
	mdt_store_close(s);
	return d;
}

int
at_reason_is(const char *reason, const char *spec)
{
	const char *p = spec;

	if (reason == NULL)
		return 0;
	while (*p != 0) {
		const char *bar = strchr(p, '|');
		size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (n > 0 && p[n - 1] == '*') {
			if (strncmp(reason, p, n - 1) == 0)
				return 1;
		} else if (strlen(reason) == n && strncmp(reason, p, n) == 0) {
			return 1;
		}
		p += n + (bar != NULL);
	}
	return 0;
}

const char *
at_failed(const mdt_store_decision *d)
{
	static char out[128];
	json_t *j = d->reasons != NULL ? json_loads(d->reasons, 0, NULL) :
	    NULL;
	const char *f = json_string_value(json_object_get(j, "failed"));

	snprintf(out, sizeof(out), "%s", f != NULL ? f : "");
	json_decref(j);
	return out;
}

static int
has_token(const mdt_wire_msg *m)
{
	size_t n = 0;

	return mdt_wire_map_get(mdt_wire_msg_root(m), "token") != NULL ||
	    bt_bin(m, "token", &n) != NULL;
}

struct prefix_walk {
	const char *prefix;
	uint64_t seq;
};

static int
prefix_cb(void *arg, const mdt_store_decision *d)
{
	struct prefix_walk *w = arg;

	if (d->request_id != NULL && strncmp(d->request_id, w->prefix,
	    strlen(w->prefix)) == 0)
		w->seq = d->seq;
	return 0;
}

mdt_store_decision *
at_record_prefix(const struct bt_broker *b, const char *prefix)
{
	mdt_store_opts o = { .read_only = 1 };
	mdt_store *s = NULL;
	mdt_store_decision *d = NULL;
	struct prefix_walk w = { prefix, 0 };
	char err[256];

	ck_assert_msg(mdt_store_open(b->store, &o, &s, err, sizeof(err)) == 0,
	    "store %s: %s", b->store, err);
	ck_assert_int_eq(mdt_store_list_decisions(s, 0, 0, prefix_cb, &w), 0);
	if (w.seq == 0 || mdt_store_get_decision(s, w.seq, &d) != 0)
		d = NULL;
	mdt_store_close(s);
	return d;
}

void
at_refused_rid(const struct bt_broker *b, const char *agent, const char *rid,
    mdt_wire_msg *m, const char *op, const char *spec, const char *patient)
{
	char sub[400];
	mdt_store_decision *d;

	ck_assert_msg(m != NULL, "%s: no reply", rid);
	ck_assert_msg(mdt_wire_msg_ok(m) != 1, "%s: %s was not refused", rid,
	    op);
	ck_assert_msg(at_reason_is(bt_reason(m), spec),
	    "%s: reason '%s', expected '%s'", rid, bt_reason(m), spec);
	ck_assert_msg(!has_token(m), "%s: a refusal carries a token", rid);
	mdt_wire_msg_free(m);
	d = at_record(b, rid);
	if (d == NULL || d->verdict == MDT_STORE_ALLOW ||
	    !at_reason_is(at_failed(d), spec)) {
		/* a second decision of the same id is recorded under it */
		mdt_free(d);
		snprintf(sub, sizeof(sub), "%s#", rid);
		d = at_record_prefix(b, sub);
	}
	ck_assert_msg(d != NULL, "%s: no audit record of the refusal", rid);
	ck_assert_msg(d->verdict == MDT_STORE_DENY || d->verdict ==
	    MDT_STORE_ERROR, "%s: recorded as %s", rid,
	    mdt_store_verdict_name(d->verdict));
	ck_assert_msg(strcmp(d->operation, op) == 0, "%s: recorded op %s",
	    rid, d->operation);
	ck_assert_msg(d->agent != NULL && strcmp(d->agent, agent) == 0,
	    "%s: recorded agent %s", rid, d->agent ? d->agent : "(null)");
	ck_assert_msg(at_reason_is(at_failed(d), spec),
	    "%s: recorded reason '%s' (%s), expected '%s'", rid, at_failed(d),
	    d->reasons ? d->reasons : "", spec);
	if (patient != NULL)
		ck_assert_msg(d->patient != NULL && strcmp(d->patient,
		    patient) == 0, "%s: recorded patient %s, expected %s "
		    "(resource %s, reasons %s)", rid, d->patient ? d->patient :
		    "(null)", patient, d->resource ? d->resource : "(null)",
		    d->reasons ? d->reasons : "");
	mdt_free(d);
}

void
at_refused(const struct bt_broker *b, const struct bt_conn *c,
    mdt_wire_msg *m, const char *op, const char *spec, const char *patient)
{
	char rid[300];

	at_audit_id(c, rid, sizeof(rid));
	at_refused_rid(b, c->agent, rid, m, op, spec, patient);
}

void
at_allowed(const struct bt_broker *b, const struct bt_conn *c,
    mdt_wire_msg *m, const char *op, uint8_t **tok, size_t *tlen)
{
	char rid[300];
	const uint8_t *t;
	size_t n = 0;
	mdt_store_decision *d;

	at_audit_id(c, rid, sizeof(rid));
	ck_assert_msg(m != NULL, "%s: no reply", rid);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s: %s refused: %s", rid, op,
	    bt_reason(m));
	t = bt_bin(m, "token", &n);
	ck_assert_msg(t != NULL && n > 0, "%s: an allow without a token", rid);
	if (tok != NULL) {
		*tok = malloc(n);
		ck_assert_ptr_nonnull(*tok);
		memcpy(*tok, t, n);
		*tlen = n;
	}
	mdt_wire_msg_free(m);
	d = at_record(b, rid);
	ck_assert_msg(d != NULL, "%s: no audit record of the allow", rid);
	ck_assert_msg(d->verdict == MDT_STORE_ALLOW, "%s: recorded as %s",
	    rid, mdt_store_verdict_name(d->verdict));
	ck_assert_str_eq(d->operation, op);
	mdt_free(d);
}

/* ------------------------------------------------------ fhir-gateway */

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &n) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void
gw_exec(const struct bt_broker *b, const struct at_gateway *g)
{
	char bin[600], data[600], listen_url[64], events[600];
	FILE *f = fopen(g->log, "a");

	if (f != NULL) {
		dup2(fileno(f), 1);
		dup2(fileno(f), 2);
		fclose(f);
	}
	snprintf(bin, sizeof(bin), "%s/examples/clinic/fhir-gateway",
	    mdt_test_binary_dir());
	snprintf(data, sizeof(data), "%s/examples/clinic/fhir/resources.json",
	    mdt_test_source_dir());
	snprintf(listen_url, sizeof(listen_url), "http://127.0.0.1:%d",
	    g->port);
	snprintf(events, sizeof(events), "%s", b->pub);
	execl(bin, bin, "--listen", listen_url, "--data", data,
	    "--broker-key", b->root_pub, "--events", events, "--audience",
	    AT_GW_AUD, "--export-audience", AT_EXPORT_AUD, (char *)NULL);
	_exit(127);
}

void
at_gw_start(const struct bt_broker *b, struct at_gateway *g)
{
	int status;

	memset(g, 0, sizeof(*g));
	snprintf(g->log, sizeof(g->log), "%s/gateway.log", b->dir);
	for (int tries = 0; tries < 5; tries++) {
		g->port = free_port();
		ck_assert_int_gt(g->port, 0);
		g->pid = fork();
		ck_assert_int_ge(g->pid, 0);
		if (g->pid == 0)
			gw_exec(b, g);
		for (int i = 0; i < 300; i++) {
			if (waitpid(g->pid, &status, WNOHANG) == g->pid) {
				g->pid = 0;
				break; /* port taken meanwhile: another one */
			}
			if (at_http(g, "GET", "/status", NULL, NULL) == 200)
				return;
			nap_ms(50);
		}
		if (g->pid > 0)
			at_gw_stop(g);
	}
	ck_abort_msg("fhir-gateway did not start (log %s)", g->log);
}

void
at_gw_stop(struct at_gateway *g)
{
	int status;

	if (g->pid <= 0)
		return;
	kill(g->pid, SIGTERM);
	while (waitpid(g->pid, &status, 0) < 0 && errno == EINTR)
		;
	g->pid = 0;
}

static int
http_exchange(const struct at_gateway *g, const char *method,
    const char *path, const char *token, const char *proof, char **body)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { 20, 0 };
	size_t cap = 65536, len = 0, hl;
	char *req, *buf;
	int fd, code = -1;
	ssize_t n;

	a.sin_port = htons((uint16_t)g->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	hl = strlen(path) + (token ? strlen(token) : 0) +
	    (proof ? strlen(proof) : 0) + 256;
	req = malloc(hl);
	buf = malloc(cap + 1);
	ck_assert(req != NULL && buf != NULL);
	snprintf(req, hl, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s%s%s"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n", method, path,
	    token ? "Mandate-Token: " : "", token ? token : "",
	    token ? "\r\n" : "", proof ? "Mandate-Proof: " : "",
	    proof ? proof : "", proof ? "\r\n" : "");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == 0 && connect(fd, (struct sockaddr *)&a,
	    sizeof(a)) == 0 && write(fd, req, strlen(req)) ==
	    (ssize_t)strlen(req)) {
		while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
			len += (size_t)n;
		buf[len] = 0;
		if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
			code = -1;
	}
	if (fd >= 0)
		close(fd);
	free(req);
	if (body != NULL && code == 200 && strstr(buf, "\r\n\r\n") != NULL)
		*body = strdup(strstr(buf, "\r\n\r\n") + 4);
	free(buf);
	return code;
}

int
at_http(const struct at_gateway *g, const char *method, const char *path,
    const char *token, const char *proof)
{
	return http_exchange(g, method, path, token, proof, NULL);
}

char *
at_http_body(const struct at_gateway *g, const char *path)
{
	char *body = NULL;

	(void)http_exchange(g, "GET", path, NULL, NULL, &body);
	return body;
}

/* Token text and proof for (audience, action, resource), by holder. */
static int
present(const struct at_gateway *g, const char *method, const char *path,
    const uint8_t *tb, size_t tlen, const mdt_keypair *holder,
    const char *aud, const char *action, const char *resource)
{
	mdt_token *tok = NULL;
	char *text = NULL, nonce[33], sig[96], proof[256];
	uint8_t r[16];
	mdt_token_pop pop = { aud, action, resource, nonce, 0, { 0 } };
	int code;

	ck_assert_int_eq(mdt_token_decode(tb, tlen, &tok, NULL), 0);
	ck_assert_int_eq(mdt_token_to_text(tok, &text), 0);
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(nonce, sizeof(nonce), r, sizeof(r));
	pop.time = (int64_t)time(NULL);
	/* a holder that is not the token's still signs: the server must
	 * refuse its proof, so the test sends it anyway */
	if (mdt_token_pop_sign(tok, holder, &pop) != 0)
		memset(pop.sig, 0, sizeof(pop.sig));
	sodium_bin2base64(sig, sizeof(sig), pop.sig, sizeof(pop.sig),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(proof, sizeof(proof), "mdtpop1.%lld.%s.%s",
	    (long long)pop.time, nonce, sig);
	code = at_http(g, method, path, text, proof);
	mdt_token_text_free(text);
	mdt_token_free(tok);
	return code;
}

int
at_present(const struct at_gateway *g, const uint8_t *tok, size_t tlen,
    const mdt_keypair *holder, const char *action, const char *resource)
{
	char path[1200];

	snprintf(path, sizeof(path), "/fhir/%s", resource);
	return present(g, "GET", path, tok, tlen, holder, AT_GW_AUD, action,
	    resource);
}

int
at_present_export(const struct at_gateway *g, const uint8_t *tok,
    size_t tlen, const mdt_keypair *holder, const char *resource)
{
	char path[1200];

	snprintf(path, sizeof(path), "/export/%s", resource);
	return present(g, "POST", path, tok, tlen, holder, AT_EXPORT_AUD, "x",
	    "tool/export");
}
