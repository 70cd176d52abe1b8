/* Integration-test harness: a temporary mandated process and raw wire
 * clients (see brk_test.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, strdup, kill */
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>

#include "brk_test.h"

/* Not testutil's helpers: the benchmark reuses this file without Check. */
static const char *
src_dir(void)
{
	const char *d = getenv("MDT_SOURCE_DIR");
	return d != NULL ? d : ".";
}

static const char *
bin_dir(void)
{
	const char *d = getenv("MDT_BINARY_DIR");
	return d != NULL ? d : ".";
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int
add_key(struct bt_broker *b, json_t *ent)
{
	json_t *attrs = json_object_get(ent, "attrs");
	const char *id = json_string_value(json_object_get(
	    json_object_get(ent, "uid"), "id"));
	struct bt_agent *a;
	mdt_pubkey pk;
	char b64[64];

	if (b->nagents >= BT_NAGENTS || id == NULL)
		return -1;
	a = &b->agents[b->nagents++];
	snprintf(a->id, sizeof(a->id), "%s", id);
	if (mdt_keypair_generate(&a->kp) != 0)
		return -1;
	mdt_keypair_public(a->kp, &pk);
	sodium_bin2base64(b64, sizeof(b64), pk.bytes, sizeof(pk.bytes),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return json_object_set_new(attrs, "publicKey", json_string(b64));
}

static int
is_agent(json_t *ent)
{
	const char *t = json_string_value(json_object_get(
	    json_object_get(ent, "uid"), "type"));
	return t != NULL && strcmp(t, "Mandate::Agent") == 0;
}

/* Adds ent, or replaces the entity with the same uid. */
static int
merge(json_t *root, json_t *ent)
{
	json_t *uid = json_object_get(ent, "uid"), *e;
	size_t i;

	json_array_foreach(root, i, e)
		if (json_equal(json_object_get(e, "uid"), uid))
			return json_array_set(root, i, ent);
	return json_array_append(root, ent);
}

static int
write_entities(struct bt_broker *b, const char *extra)
{
	char path[512];
	json_error_t je;
	json_t *root, *ent, *more = NULL;
	size_t i;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/policies/entities.json",
	    src_dir());
	root = json_load_file(path, 0, &je);
	if (root == NULL)
		return -1;
	if (extra != NULL) {
		more = json_loads(extra, 0, &je);
		if (more == NULL)
			rc = -1;
		json_array_foreach(more, i, ent)
			if (rc == 0)
				rc = merge(root, ent);
		json_decref(more);
	}
	json_array_foreach(root, i, ent) {
		const char *id = json_string_value(json_object_get(
		    json_object_get(ent, "uid"), "id"));
		if (rc == 0 && is_agent(ent) && strstr(id, "retired") == NULL)
			rc = add_key(b, ent);
	}
	if (rc == 0)
		rc = json_dump_file(root, b->entities, JSON_INDENT(1));
	json_decref(root);
	return rc;
}

int bt_idp_setup(struct bt_broker *b); /* brk_test_idp.c */
void bt_idp_free(struct bt_broker *b);
/* Broker arguments naming the identity provider, NULL-terminated. */
size_t bt_idp_args(struct bt_broker *b, const char **argv, size_t max);

int
bt_setup(struct bt_broker *b, const char *extra)
{
	memset(b, 0, sizeof(*b));
	if (sodium_init() < 0)
		return -1;
	snprintf(b->dir, sizeof(b->dir), "/tmp/mdt-brk-XXXXXX");
	if (mkdtemp(b->dir) == NULL)
		return -1;
	snprintf(b->url, sizeof(b->url), "ipc://%s/run/api.sock", b->dir);
	snprintf(b->pub, sizeof(b->pub), "ipc://%s/run/events.sock", b->dir);
	snprintf(b->entities, sizeof(b->entities), "%s/entities.json", b->dir);
	snprintf(b->store, sizeof(b->store), "%s/data/audit.db", b->dir);
	snprintf(b->root_pub, sizeof(b->root_pub), "%s/data/root.pub", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/broker.log", b->dir);
	if (write_entities(b, extra) != 0)
		return -1;
	return bt_idp_setup(b);
}

const mdt_keypair *
bt_key(const struct bt_broker *b, const char *agent)
{
	for (size_t i = 0; i < b->nagents; i++)
		if (strcmp(b->agents[i].id, agent) == 0)
			return b->agents[i].kp;
	return NULL;
}

static void
child(struct bt_broker *b, const char *const *args)
{
	const char *argv[64];
	char bin[512], run[512], data[512], pol[512];
	size_t n = 0;
	FILE *f = fopen(b->log, "a");

	if (f != NULL) {
		dup2(fileno(f), 2);
		fclose(f);
	}
	snprintf(bin, sizeof(bin), "%s/broker/mandated", bin_dir());
	snprintf(run, sizeof(run), "%s/run", b->dir);
	snprintf(data, sizeof(data), "%s/data", b->dir);
	snprintf(pol, sizeof(pol), "%s/policies", src_dir());
	argv[n++] = bin;
	argv[n++] = "--run-dir";
	argv[n++] = run;
	argv[n++] = "--data-dir";
	argv[n++] = data;
	argv[n++] = "--policy-dir";
	argv[n++] = pol;
	argv[n++] = "--entities";
	argv[n++] = b->entities;
	argv[n++] = "--listen";
	argv[n++] = b->url;
	argv[n++] = "--pub";
	argv[n++] = b->pub;
	argv[n++] = "--set";
	argv[n++] = "workers=4";
	argv[n++] = "--set";
	argv[n++] = "contexts=256";
	n += bt_idp_args(b, argv + n, 8);
	for (size_t i = 0; args != NULL && args[i] != NULL && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	/* MDT_BROKER_WRAP="valgrind --tool=callgrind" and the like run the
	 * broker under a profiler: words split on spaces, found on PATH */
	if (getenv("MDT_BROKER_WRAP") != NULL) {
		static char wrap[512];
		const char *wv[80];
		size_t k = 0;
		char *save = NULL;
		snprintf(wrap, sizeof(wrap), "%s", getenv("MDT_BROKER_WRAP"));
		for (char *t = strtok_r(wrap, " ", &save); t != NULL && k < 16;
		    t = strtok_r(NULL, " ", &save))
			wv[k++] = t;
		for (size_t i = 0; i <= n; i++)
			wv[k + i] = argv[i];
		execvp(wv[0], (char *const *)(uintptr_t)wv);
		_exit(127);
	}
	execv(bin, (char *const *)(uintptr_t)argv);
	_exit(127);
}

int
bt_start(struct bt_broker *b, const char *const *args)
{
	struct bt_conn c;
	int status;

	b->pid = fork();
	if (b->pid < 0)
		return -1;
	if (b->pid == 0)
		child(b, args);
	for (int i = 0; i < 200; i++) {
		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			b->exit_status = status;
			b->pid = 0;
			return -1;
		}
		if (bt_dial(&c, b->url) == 0) {
			mdt_wire_writer *w = bt_req(&c, MDT_OP_HELLO);
			mdt_wire_msg *m = NULL;
			int rc = mdt_wire_put_cstr(w, "agent", BT_ORCH) ? -1 :
			    bt_call(&c, w, &m);
			mdt_wire_msg_free(m);
			bt_close(&c);
			if (rc == 0)
				return 0;
		}
		sleep_ms(50);
	}
	return -1;
}

/*
 * A sanitizer report in the broker's log ends the broker (exit 66 under
 * ThreadSanitizer) but is read by nobody once the test directory is
 * gone: copy the log from the report's first line to the test's output.
 */
static void
bt_show_sanitizer_report(const struct bt_broker *b)
{
	static const char *marks[] = { "WARNING: ThreadSanitizer",
	    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
	    "runtime error:" };
	char line[1024];
	int on = 0;
	FILE *f = fopen(b->log, "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		for (size_t i = 0; !on && i < sizeof(marks) / sizeof(marks[0]);
		    i++)
			if (strstr(line, marks[i]) != NULL) {
				on = 1;
				fprintf(stderr, "---- broker log %s, from its "
				    "sanitizer report:\n", b->log);
			}
		if (on)
			fputs(line, stderr);
	}
	fclose(f);
}

int
bt_stop(struct bt_broker *b, int sig)
{
	int status = 0;

	if (b->pid <= 0)
		return -1;
	kill(b->pid, sig);
	while (waitpid(b->pid, &status, 0) < 0 && errno == EINTR)
		;
	b->pid = 0;
	bt_show_sanitizer_report(b);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

void
bt_cleanup(struct bt_broker *b)
{
	char cmd[600];

	if (b->pid > 0)
		(void)bt_stop(b, SIGKILL);
	for (size_t i = 0; i < b->nagents; i++)
		mdt_keypair_free(b->agents[i].kp);
	bt_idp_free(b);
	if (getenv("MDT_KEEP_TEST_DIR") == NULL && b->dir[0] == '/') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", b->dir);
	}
}

/* ------------------------------------------------------------- clients */

int
bt_dial(struct bt_conn *c, const char *url)
{
	memset(c, 0, sizeof(*c));
	randombytes_buf(&c->seq, sizeof(c->seq));
	snprintf(c->prefix, sizeof(c->prefix), "%08x", c->seq);
	c->seq = 0;
	if (nng_req0_open(&c->s) != 0)
		return -1;
	nng_socket_set_ms(c->s, NNG_OPT_RECVTIMEO, 30000);
	nng_socket_set_ms(c->s, NNG_OPT_SENDTIMEO, 5000);
	nng_socket_set_ms(c->s, NNG_OPT_REQ_RESENDTIME, 600000);
	if (nng_dial(c->s, url, NULL, 0) != 0) {
		nng_close(c->s);
		return -1;
	}
	return 0;
}

void
bt_close(struct bt_conn *c)
{
	nng_close(c->s);
}

mdt_wire_writer *
bt_req(struct bt_conn *c, mdt_wire_op op)
{
	char id[40];
	mdt_wire_writer *w = NULL;

	snprintf(id, sizeof(id), "%s-%u", c->prefix, ++c->seq);
	if (mdt_wire_writer_new(&w, op, id, 0, 0) != 0)
		return NULL;
	return w;
}

int
bt_raw(struct bt_conn *c, const void *buf, size_t len, void **out,
    size_t *olen)
{
	int rv = nng_send(c->s, (void *)(uintptr_t)buf, len, 0);

	if (rv == 0)
		rv = nng_recv(c->s, out, olen, NNG_FLAG_ALLOC);
	return rv == 0 ? 0 : -1;
}

int
bt_call(struct bt_conn *c, mdt_wire_writer *w, mdt_wire_msg **out)
{
	const uint8_t *b;
	size_t n, rn;
	void *r = NULL;
	char err[256];
	int rc;

	*out = NULL;
	if (w == NULL || mdt_wire_writer_finish(w, &b, &n) != 0) {
		mdt_wire_writer_free(w);
		return -1;
	}
	rc = bt_raw(c, b, n, &r, &rn);
	mdt_wire_writer_free(w);
	if (rc != 0)
		return -1;
	rc = mdt_wire_decode(r, rn, out, err, sizeof(err));
	nng_free(r, rn);
	if (rc != 0)
		fprintf(stderr, "reply does not decode: %s\n", err);
	return rc;
}

int
bt_auth(struct bt_conn *c, const char *agent, const mdt_keypair *kp)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_HELLO);
	mdt_wire_msg *m = NULL;
	const uint8_t *ch;
	size_t n;
	uint8_t sig[MDT_KEY_SIG_BYTES];
	int rc;

	if (mdt_wire_put_cstr(w, "agent", agent) || bt_call(c, w, &m) != 0)
		return -1;
	ch = bt_bin(m, "challenge", &n);
	rc = ch != NULL ? mdt_key_sign(kp, MDT_WIRE_AUTH_DOMAIN, ch, n, sig) : -1;
	mdt_wire_msg_free(m);
	if (rc != 0)
		return -1;
	w = bt_req(c, MDT_OP_AUTH);
	if (mdt_wire_put_cstr(w, "agent", agent) ||
	    mdt_wire_put_bin(w, "sig", sig, sizeof(sig)) ||
	    bt_call(c, w, &m) != 0)
		return -1;
	rc = mdt_wire_msg_ok(m) == 1 ? 0 : mdt_wire_msg_error(m, NULL, NULL);
	mdt_wire_msg_free(m);
	if (rc == 0)
		snprintf(c->agent, sizeof(c->agent), "%s", agent);
	return rc;
}

const char *
bt_reason(const mdt_wire_msg *m)
{
	const char *r = NULL;

	if (m == NULL)
		return "(no reply)";
	if (mdt_wire_msg_ok(m) == 1)
		return "";
	(void)mdt_wire_msg_error(m, &r, NULL);
	return r != NULL ? r : "?";
}

const char *
bt_str(const mdt_wire_msg *m, const char *key)
{
	const char *s = NULL;
	size_t n;

	if (m != NULL && mdt_wire_val_str(mdt_wire_map_get(
	    mdt_wire_msg_root(m), key), &s, &n) == 0)
		return s;
	return "";
}

const uint8_t *
bt_bin(const mdt_wire_msg *m, const char *key, size_t *len)
{
	const uint8_t *p = NULL;

	if (m != NULL && mdt_wire_val_bin(mdt_wire_map_get(
	    mdt_wire_msg_root(m), key), &p, len) == 0)
		return p;
	return NULL;
}

int
bt_task_from(struct bt_task *t, const mdt_wire_msg *m, int item)
{
	const mdt_wire_val *r = mdt_wire_msg_root(m);
	const char *s;
	const uint8_t *p;
	size_t n, tl;

	if (item)
		r = mdt_wire_map_get(r, "item");
	if (mdt_wire_val_str(mdt_wire_map_get(r, "task"), &s, &n) != 0 ||
	    mdt_wire_val_bin(mdt_wire_map_get(r, "token"), &p, &tl) != 0 ||
	    tl > sizeof(t->tok))
		return -1;
	snprintf(t->id, sizeof(t->id), "%s", s);
	memcpy(t->tok, p, tl);
	t->tlen = tl;
	return 0;
}

static mdt_wire_msg *
call(struct bt_conn *c, mdt_wire_writer *w, int bad)
{
	mdt_wire_msg *m = NULL;

	if (bad) {
		mdt_wire_writer_free(w);
		return NULL;
	}
	(void)bt_call(c, w, &m);
	return m;
}

mdt_wire_msg *
bt_open(struct bt_conn *c, const char *assertion, const char *patient,
    const char *purpose, const char *scopes)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_OPEN);

	return call(c, w, mdt_wire_put_cstr(w, "assertion", assertion) ||
	    mdt_wire_put_cstr(w, "patient", patient) ||
	    mdt_wire_put_cstr(w, "purpose", purpose) ||
	    mdt_wire_put_cstr(w, "scopes", scopes));
}

mdt_wire_msg *
bt_delegate(struct bt_conn *c, mdt_wire_op op, const char *task,
    const uint8_t *tok, size_t tlen, const char *to, const char *scopes)
{
	mdt_wire_writer *w = bt_req(c, op);

	return call(c, w, mdt_wire_put_cstr(w, "task", task) ||
	    mdt_wire_put_bin(w, "token", tok, tlen) ||
	    mdt_wire_put_cstr(w, "to", to) ||
	    mdt_wire_put_cstr(w, "scopes", scopes) ||
	    mdt_wire_put_bin(w, "payload", "work", 4));
}

mdt_wire_msg *
bt_next(struct bt_conn *c, int64_t wait_ms)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_NEXT);

	return call(c, w, mdt_wire_put_int(w, "wait_ms", wait_ms));
}

mdt_wire_msg *
bt_authorize(struct bt_conn *c, const char *task, const uint8_t *tok,
    size_t tlen, const char *action, const char *resource,
    const char *patient, const char *boundary, const char *stepup,
    int64_t wait_ms)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_AUTHORIZE);

	return call(c, w, mdt_wire_put_cstr(w, "task", task) ||
	    mdt_wire_put_bin(w, "token", tok, tlen) ||
	    mdt_wire_put_cstr(w, "action", action) ||
	    mdt_wire_put_cstr(w, "resource", resource) ||
	    (patient != NULL && mdt_wire_put_cstr(w, "patient", patient)) ||
	    (boundary != NULL && mdt_wire_put_cstr(w, "boundary", boundary)) ||
	    (stepup != NULL && mdt_wire_put_cstr(w, "stepup", stepup)) ||
	    (wait_ms > 0 && mdt_wire_put_int(w, "wait_ms", wait_ms)));
}

mdt_wire_msg *
bt_end(struct bt_conn *c, mdt_wire_op op, const char *task,
    const uint8_t *tok, size_t tlen)
{
	mdt_wire_writer *w = bt_req(c, op);

	return call(c, w, mdt_wire_put_cstr(w, "task", task) ||
	    mdt_wire_put_bin(w, "token", tok, tlen));
}
