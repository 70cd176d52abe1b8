/*
 * The health and metrics listener of a real broker: /healthz, /readyz and
 * /metrics answer; after some authorizes (allowed and refused) the
 * counters moved by exactly what was sent; every line of the exposition
 * parses as the Prometheus text format; malformed and oversized requests
 * get an error status and the listener keeps serving.  Denials are in the
 * log with their reason and audit sequence number (a refusal before
 * authentication with its reason, unrecorded), as JSON when asked.
 * `mandatectl status` reports the same broker's state to an admin only.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include <mandate/key.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;
static int port;

/* A port free now (the broker binds it right after). */
static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	return ntohs(a.sin_port);
}

/* Sends raw bytes to the listener; the whole answer into a malloc'd
 * string (caller frees). */
static char *
http_raw(const char *req, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	ssize_t r;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(send(s, req, len, MSG_NOSIGNAL), (ssize_t)len);
	while ((r = recv(s, out + n, cap - n - 1, 0)) > 0) {
		n += (size_t)r;
		if (n + 1 == cap)
			out = realloc(out, cap *= 2);
	}
	out[n] = 0;
	close(s);
	return out;
}

static char *
get(const char *path, int *status)
{
	char req[256];
	char *r;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	r = http_raw(req, strlen(req));
	ck_assert_int_eq(sscanf(r, "HTTP/1.1 %d", status), 1);
	return r;
}

static const char *
body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	ck_assert_ptr_nonnull(b);
	return b + 4;
}

/* Checks one sample line: name{label="v",...} value. */
static void
check_sample(const char *l)
{
	const char *p = l;
	char *end;

	ck_assert_msg(isalpha((unsigned char)*p) || *p == '_', "name: %s", l);
	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	if (*p == '{') {
		for (p++; *p != '}';) {
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			ck_assert_msg(p[0] == '=' && p[1] == '"', "label: %s", l);
			for (p += 2; *p != '"'; p++) {
				ck_assert_msg(*p != 0 && *p != '\n', "value: %s", l);
				if (*p == '\\')
					p++;
			}
			p++;
			if (*p == ',')
				p++;
			else
				ck_assert_msg(*p == '}', "labels: %s", l);
		}
		p++;
	}
	ck_assert_msg(*p == ' ', "no value: %s", l);
	strtod(p + 1, &end);
	ck_assert_msg(end != p + 1 && (*end == '\n' || *end == 0),
	    "value: %s", l);
}

/* Every line is a # HELP/# TYPE comment or a sample; each TYPE names a
 * known type and comes before its samples. */
static void
check_format(const char *text)
{
	char *copy = strdup(text), *save = NULL;
	int samples = 0;

	ck_assert_msg(text[0] != 0 && text[strlen(text) - 1] == '\n',
	    "ends with a newline");
	for (char *l = strtok_r(copy, "\n", &save); l != NULL;
	    l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "# TYPE ", 7) == 0) {
			const char *t = strrchr(l, ' ') + 1;
			ck_assert_msg(strcmp(t, "counter") == 0 ||
			    strcmp(t, "gauge") == 0 ||
			    strcmp(t, "histogram") == 0, "type: %s", l);
		} else if (strncmp(l, "# HELP ", 7) != 0) {
			check_sample(l);
			samples++;
		}
	}
	free(copy);
	ck_assert_int_gt(samples, 50);
}

/* The value of the sample whose line starts with key (name{labels}). */
static double
sample(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p != NULL && *p != 0;) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return strtod(p + kl + 1, NULL);
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return -1;
}

static char *
metrics(void)
{
	int st;
	char *r = get("/metrics", &st);

	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(strstr(r, "Content-Type: text/plain; "
	    "version=0.0.4"));
	return r;
}

static void
start(void)
{
	static char listen[64];
	static const char *args[] = { "--set", listen, "--set",
	    "log_format=json", "--set", "admins=" BT_PRIOR, NULL };

	port = free_port();
	snprintf(listen, sizeof(listen), "http_listen=127.0.0.1:%d", port);
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
}

#define ALLOW_R "mandate_decisions_total{op=\"authorize\",verdict=\"allow\"," \
    "reason=\"\"}"
#define DENY_SCOPE "mandate_decisions_total{op=\"authorize\",verdict=" \
    "\"deny\",reason=\"scope.token\"}"
#define AUTHZ_N "mandate_requests_total{op=\"authorize\"}"

static void
authorize(struct bt_conn *c, const struct bt_task *t, const char *res,
    int ok)
{
	mdt_wire_msg *m = bt_authorize(c, t->id, t->tok, t->tlen, "r", res,
	    "pat-001", NULL, NULL, 0);

	ck_assert_msg(mdt_wire_msg_ok(m) == ok, "%s: %s", res, bt_reason(m));
	mdt_wire_msg_free(m);
}

/* An authorize on a pipe that never authenticated. */
static void
unauthenticated(void)
{
	struct bt_conn c;
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_call(&c, bt_req(&c, MDT_OP_AUTHORIZE), &m), 0);
	ck_assert_str_eq(bt_reason(m), "auth.required");
	mdt_wire_msg_free(m);
	bt_close(&c);
}

static void
scrape_after_authorizes(void)
{
	struct bt_conn o, s;
	struct bt_task root, sub;
	char *before, *after, *r;
	double a0, d0, n0;
	int st;

	r = get("/healthz", &st);
	ck_assert_int_eq(st, 200);
	free(r);
	r = get("/readyz", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(body_of(r), "ready\n");
	free(r);
	bf_as(&B, &o, BT_ORCH);
	bf_as(&B, &s, BT_SUMM);
	bf_open_root(&B, &o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	bf_hand_on(&o, &s, MDT_OP_DISPATCH, &root, "patient/Observation.rs",
	    &sub);
	before = metrics();
	check_format(body_of(before));
	a0 = sample(before, ALLOW_R);
	d0 = sample(before, DENY_SCOPE);
	n0 = sample(before, AUTHZ_N);
	ck_assert(n0 >= 0);
	for (int i = 0; i < 5; i++)
		authorize(&s, &sub, "Observation/obs-001-1", 1);
	for (int i = 0; i < 3; i++)
		authorize(&s, &sub, "Condition/c-1", 0);
	after = metrics();
	check_format(body_of(after));
	ck_assert_double_eq(sample(after, ALLOW_R), (a0 < 0 ? 0 : a0) + 5);
	ck_assert_double_eq(sample(after, DENY_SCOPE), (d0 < 0 ? 0 : d0) + 3);
	ck_assert_double_eq(sample(after, AUTHZ_N), n0 + 8);
	ck_assert_double_eq(sample(after, "mandate_request_duration_seconds_"
	    "count{op=\"authorize\"}"), n0 + 8);
	ck_assert_double_eq(sample(after, "mandate_request_duration_seconds_"
	    "bucket{op=\"authorize\",le=\"+Inf\"}"), n0 + 8);
	ck_assert(sample(after, "mandate_store_batch_size_count") > 0);
	ck_assert(sample(after, "mandate_store_batch_size_sum") >=
	    sample(after, "mandate_store_batch_size_count"));
	ck_assert(sample(after, "mandate_store_commit_seconds_count") > 0);
	ck_assert_double_eq(sample(after, "mandate_sessions"), 2);
	ck_assert_double_eq(sample(after, "mandate_store_writable"), 1);
	ck_assert(sample(after, "mandate_policies_loaded") > 0);
	ck_assert(sample(after, "mandate_audit_head_seq") >= 10);
	ck_assert(sample(after, "mandate_jobs_queued") >= 0);
	ck_assert(sample(after, "mandate_parked_waits") >= 0);
	ck_assert_double_eq(sample(after, "mandate_revocations_published_"
	    "total"), 0);
	free(before);
	free(after);
	bt_close(&o);
	bt_close(&s);
}

/* The denials are in the log, as JSON, with reason and sequence number,
 * and without the patient. */
static void
denials_logged(void)
{
	char line[4096];
	int found = 0, early = 0;
	FILE *f;

	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	f = fopen(B.log, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		ck_assert_msg(j != NULL, "not JSON: %s", line);
		if (strcmp(json_string_value(json_object_get(j, "event")),
		    "decision.refused") == 0 && strcmp(json_string_value(
		    json_object_get(j, "reason")), "scope.token") == 0) {
			ck_assert_int_gt(atoi(json_string_value(
			    json_object_get(j, "seq"))), 0);
			ck_assert_ptr_null(strstr(line, "pat-001"));
			ck_assert_ptr_null(strstr(line, "Condition"));
			found++;
		}
		if (strcmp(json_string_value(json_object_get(j, "event")),
		    "request.refused") == 0 && strcmp(json_string_value(
		    json_object_get(j, "reason")), "auth.required") == 0)
			early++;
		json_decref(j);
	}
	fclose(f);
	ck_assert_int_eq(found, 3);
	ck_assert_int_eq(early, 1);
}

static void
bad_requests(void)
{
	static char big[20000];
	const char *bad[] = { "GARBAGE\r\n\r\n", "GET nopath HTTP/1.1\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1\r\n folded\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n" };
	char *r;
	int st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = http_raw(bad[i], strlen(bad[i]));
		ck_assert_int_eq(sscanf(r, "HTTP/1.1 %d", &st), 1);
		ck_assert_msg(st == 400 || st == 505, "%s -> %d", bad[i], st);
		free(r);
	}
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	r = http_raw(big, sizeof(big));
	ck_assert_int_eq(sscanf(r, "HTTP/1.1 %d", &st), 1);
	ck_assert_int_eq(st, 414);
	free(r);
	r = http_raw("POST /metrics HTTP/1.1\r\n\r\n", 26);
	ck_assert_ptr_nonnull(strstr(r, "405"));
	free(r);
	r = get("/nothing", &st);
	ck_assert_int_eq(st, 404);
	free(r);
	r = get("/healthz", &st); /* still serving */
	ck_assert_int_eq(st, 200);
	free(r);
}

/* The key of agent saved as DIR/status-NAME.key; its path into path. */
static void
save_key(const char *agent, char *path, size_t len)
{
	char base[600], err[256];

	snprintf(base, sizeof(base), "%s/status-%s", B.dir,
	    strrchr(agent, '/') + 1);
	ck_assert_int_eq(mdt_keypair_save(bt_key(&B, agent), base, err,
	    sizeof(err)), 0);
	snprintf(path, len, "%s.key", base);
}

/* Runs mandatectl status as agent with its key file; its output into
 * out; returns the exit status. */
static int
status_as(const char *agent, const char *key, const char *format,
    char *out, size_t len)
{
	char cmd[3072];
	size_t n = 0, got;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s/broker/mandatectl status --url %s "
	    "--id %s --key %s --format %s 2>&1", getenv("MDT_BINARY_DIR"),
	    B.url, agent, key, format);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while ((got = fread(out + n, 1, len - 1 - n, p)) > 0)
		n += got;
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
status_command(void)
{
	static char out[8192];
	char admin[700], summ[700];
	json_error_t je;
	json_t *j;
	const char *hash;

	save_key(BT_PRIOR, admin, sizeof(admin));
	save_key(BT_SUMM, summ, sizeof(summ));
	ck_assert_int_eq(status_as(BT_SUMM, summ, "text", out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "admin.required"));
	ck_assert_msg(status_as(BT_PRIOR, admin, "text", out, sizeof(out)) == 0,
	    "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "store.writable: yes\n"));
	ck_assert_ptr_nonnull(strstr(out, "uptime_s: "));
	ck_assert_ptr_nonnull(strstr(out, "store.checkpoint_seq: "));
	ck_assert_int_eq(status_as(BT_PRIOR, admin, "json", out, sizeof(out)), 0);
	j = json_loads(out, 0, &je);
	ck_assert_msg(j != NULL, "%s", out);
	hash = json_string_value(json_object_get(j, "policy_hash"));
	ck_assert_ptr_nonnull(hash);
	ck_assert_uint_eq(strlen(hash), 64);
	ck_assert_int_gt(json_integer_value(json_object_get(j, "policies")), 0);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "sessions")), 1);
	ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(j,
	    "store"), "head_seq")), 10);
	json_decref(j);
}

/* One broker for the three parts (each test runs in its own process). */
START_TEST(metrics_listener)
{
	start();
	scrape_after_authorizes();
	bad_requests();
	unauthenticated();
	status_command();
	denials_logged();
	bt_cleanup(&B);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_metrics");
	TCase *tc = tcase_create("metrics");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, metrics_listener);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
