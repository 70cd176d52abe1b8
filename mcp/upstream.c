/*
 * Upstream MCP servers as child processes over stdio: spawning, the
 * initialize handshake, requests matched to their answers by the ids
 * this side chooses (a reader thread per child), and the child's own
 * requests and notifications.  Everything a child writes is untrusted
 * and parsed with the same bounds as the client's messages.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway.h"

extern char **environ;

#define SLOTS 64

struct slot {
	int64_t id;          /* 0: free */
	json_t *answer;      /* the whole response, when it came */
};

struct gw_upstream {
	struct gw *g;
	const struct gw_upstream_cfg *cfg;
	pid_t pid;
	int in, out;             /* its stdin (we write), its stdout */
	mcp_writer w;
	pthread_t reader;
	int reader_running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot slots[SLOTS];
	int64_t next_id;
	int closed;              /* its stdout ended */
	struct gw_hup *http;     /* an HTTP upstream: all of the above unused */
};

int64_t
gw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
spawn(struct gw_upstream *u, char *err, size_t errlen)
{
	char buf[GW_STR_MAX], *argv[GW_ARGV_MAX];
	int pin[2], pout[2], rc;
	posix_spawn_file_actions_t fa;

	if (gw_split_command(u->cfg->command, buf, sizeof(buf), argv,
	    GW_ARGV_MAX) < 0)
		return snprintf(err, errlen, "upstream %s: bad command",
		    u->cfg->name), -MDT_EINVAL;
	if (pipe2(pin, O_CLOEXEC) != 0)
		return -MDT_EIO;
	if (pipe2(pout, O_CLOEXEC) != 0) {
		close(pin[0]);
		close(pin[1]);
		return -MDT_EIO;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	rc = posix_spawnp(&u->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	if (rc != 0) {
		close(pin[1]);
		close(pout[0]);
		return snprintf(err, errlen, "upstream %s: %s: %s",
		    u->cfg->name, argv[0], strerror(rc)), -MDT_EIO;
	}
	u->in = pin[1];
	u->out = pout[0];
	return 0;
}

/* A response: hand it to the waiting slot (unknown ids are dropped), as
 * a copy of its own: jansson's reference counts do not order the freeing
 * thread after the others, so no value is shared between threads. */
static void
answered(struct gw_upstream *u, mcp_msg *m)
{
	if (!json_is_integer(m->id))
		return;
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < SLOTS; i++)
		if (u->slots[i].id == json_integer_value(m->id) &&
		    u->slots[i].answer == NULL) {
			u->slots[i].answer = json_deep_copy(m->root);
			pthread_cond_broadcast(&u->cond);
		}
	pthread_mutex_unlock(&u->lock);
}

json_t *
gw_upstream_answer(const mcp_msg *m)
{
	return strcmp(m->method, "ping") == 0 ?
	    mcp_result_msg(m->id, json_object()) :
	    mcp_error_msg(m->id, MCP_METHOD_NOT_FOUND, "not offered by the "
	    "Mandate gateway");
}

static void
child_request(struct gw_upstream *u, mcp_msg *m)
{
	json_t *a = gw_upstream_answer(m);

	if (a != NULL)
		(void)mcp_write(&u->w, a);
	json_decref(a);
}

static void *
reader_main(void *arg)
{
	struct gw_upstream *u = arg;
	mcp_reader r;
	const char *line;
	size_t len;
	int rc;

	if (mcp_reader_init(&r, u->out, u->g->cfg.max_message) != 0)
		goto out;
	while ((rc = mcp_reader_next(&r, &line, &len)) != 1 && rc != -MDT_EIO) {
		mcp_msg m;
		char err[128];
		if (rc != 0 || mcp_msg_parse(line, len, u->g->cfg.max_message,
		    &m, err, sizeof(err)) != 0) {
			if (rc == 0)
				mcp_msg_clear(&m);
			fprintf(stderr, "mandate-mcp: upstream %s: dropped a "
			    "malformed message\n", u->cfg->name);
			continue;
		}
		if (m.kind == MCP_RESULT || m.kind == MCP_ERROR)
			answered(u, &m);
		else if (m.kind == MCP_REQUEST)
			child_request(u, &m);
		else
			gw_upstream_notified(u->g, u, m.method, m.params);
		mcp_msg_clear(&m);
	}
	mcp_reader_free(&r);
out:
	pthread_mutex_lock(&u->lock);
	u->closed = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

static struct slot *
slot_take(struct gw_upstream *u)
{
	for (size_t i = 0; i < SLOTS; i++)
		if (u->slots[i].id == 0) {
			u->slots[i].id = ++u->next_id;
			return &u->slots[i];
		}
	return NULL;
}

static void
abs_after(struct timespec *abs, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, abs);
	abs->tv_sec += ms / 1000;
	abs->tv_nsec += (ms % 1000) * 1000000L;
	if (abs->tv_nsec >= 1000000000L) {
		abs->tv_sec++;
		abs->tv_nsec -= 1000000000L;
	}
}

/* Waits (u->lock held) for s's answer, waking every 100 ms to notice a
 * cancellation. */
static int
slot_wait(struct gw_upstream *u, struct slot *s, int64_t deadline,
    const atomic_int *cancelled)
{
	while (s->answer == NULL && !u->closed) {
		struct timespec abs;
		int64_t left = deadline - gw_now_ms();
		if (left <= 0)
			return -MDT_ETIMEDOUT;
		if (cancelled != NULL && *cancelled)
			return -MDT_ECLOSED;
		abs_after(&abs, left < 100 ? left : 100);
		pthread_cond_timedwait(&u->cond, &u->lock, &abs);
	}
	return s->answer != NULL ? 0 : -MDT_ECLOSED;
}

static void
cancel_upstream(struct gw_upstream *u, int64_t id)
{
	json_t *n = mcp_notification_msg("notifications/cancelled",
	    json_pack("{s:I,s:s}", "requestId", (json_int_t)id, "reason",
	    "cancelled by the client"));

	if (n != NULL)
		(void)mcp_write(&u->w, n);
	json_decref(n);
}

/* Splits an answer into result or error. */
static int
unpack(json_t *answer, json_t **result, int *is_error)
{
	json_t *e = json_object_get(answer, "error");

	*is_error = e != NULL;
	*result = json_incref(e != NULL ? e : json_object_get(answer,
	    "result"));
	return *result != NULL ? 0 : -MDT_EPROTO;
}

int
gw_upstream_request(struct gw_upstream *u, const char *method,
    json_t *params, uint32_t timeout_ms,
    const atomic_int *cancelled, json_t **result, int *is_error)
{
	return gw_upstream_request_h(u, method, params, NULL, timeout_ms,
	    cancelled, result, is_error);
}

int
gw_upstream_request_h(struct gw_upstream *u, const char *method,
    json_t *params, const char *headers, uint32_t timeout_ms,
    const atomic_int *cancelled, json_t **result, int *is_error)
{
	struct slot *s;
	json_t *msg, *jid, *answer = NULL;
	int64_t id;
	int rc;

	if (u->http != NULL) {
		rc = gw_hup_request(u->http, method, params, headers,
		    timeout_ms, cancelled, &answer);
		if (rc == 0)
			rc = unpack(answer, result, is_error);
		json_decref(answer);
		return rc;
	}
	pthread_mutex_lock(&u->lock);
	s = u->closed ? NULL : slot_take(u);
	id = s != NULL ? s->id : 0;
	pthread_mutex_unlock(&u->lock);
	if (s == NULL) {
		json_decref(params);
		return u->closed ? -MDT_ECLOSED : -MDT_EBUSY;
	}
	jid = json_integer(id);
	msg = jid != NULL ? mcp_request_msg(jid, method, params) : NULL;
	if (msg == NULL && jid == NULL)
		json_decref(params);
	rc = msg != NULL ? mcp_write(&u->w, msg) : -MDT_ENOMEM;
	json_decref(jid);
	json_decref(msg);
	pthread_mutex_lock(&u->lock);
	if (rc == 0)
		rc = slot_wait(u, s, gw_now_ms() + timeout_ms, cancelled);
	answer = s->answer;
	s->answer = NULL;
	s->id = 0;
	pthread_mutex_unlock(&u->lock);
	if (rc == -MDT_ECLOSED && cancelled != NULL && *cancelled)
		cancel_upstream(u, id);
	if (rc == 0)
		rc = unpack(answer, result, is_error);
	json_decref(answer);
	return rc;
}

static int
handshake(struct gw_upstream *u, char *err, size_t errlen)
{
	json_t *params = json_pack("{s:s,s:{},s:{s:s,s:s}}", "protocolVersion",
	    MCP_PROTOCOL_LATEST, "capabilities", "clientInfo", "name",
	    "mandate-mcp", "version", "1.0");
	json_t *res = NULL, *n;
	int is_err = 0, rc;

	rc = gw_upstream_request(u, "initialize", params,
	    u->g->cfg.call_timeout_ms, NULL, &res, &is_err);
	if (rc == 0 && (is_err || !json_is_object(json_object_get(res,
	    "capabilities"))))
		rc = -MDT_EPROTO;
	json_decref(res);
	if (rc != 0)
		return snprintf(err, errlen, "upstream %s: initialize failed: "
		    "%s", u->cfg->name, mdt_strerror(rc)), rc;
	n = mcp_notification_msg("notifications/initialized", NULL);
	rc = n != NULL ? mcp_write(&u->w, n) : -MDT_ENOMEM;
	json_decref(n);
	return rc;
}

int
gw_upstream_start(struct gw *g, const struct gw_upstream_cfg *cfg,
    struct gw_upstream **out, char *err, size_t errlen)
{
	struct gw_upstream *u = calloc(1, sizeof(*u));
	int rc;

	if (u == NULL)
		return -MDT_ENOMEM;
	u->g = g;
	u->cfg = cfg;
	u->in = u->out = -1;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	if (cfg->url[0] != 0) {
		if ((rc = gw_hup_open(g, u, cfg, &u->http, err, errlen)) != 0) {
			gw_upstream_close(u);
			return rc;
		}
		*out = u;
		return 0;
	}
	if ((rc = spawn(u, err, errlen)) != 0) {
		gw_upstream_close(u);
		return rc;
	}
	mcp_writer_init(&u->w, u->in);
	if (pthread_create(&u->reader, NULL, reader_main, u) != 0) {
		gw_upstream_close(u);
		return -MDT_ENOMEM;
	}
	u->reader_running = 1;
	if ((rc = handshake(u, err, errlen)) != 0) {
		gw_upstream_close(u);
		return rc;
	}
	*out = u;
	return 0;
}

/* Waits up to ms for the child to exit; 1 when it did. */
static int
reaped(pid_t pid, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 1;
		struct timespec ts = { 0, 10000000L };
		nanosleep(&ts, NULL);
	}
	return 0;
}

void
gw_upstream_close(struct gw_upstream *u)
{
	if (u == NULL)
		return;
	gw_hup_close(u->http);
	if (u->in >= 0)
		close(u->in);   /* stdio servers exit at end of input */
	if (u->pid > 0 && !reaped(u->pid, 2000)) {
		kill(u->pid, SIGTERM);
		if (!reaped(u->pid, 2000)) {
			kill(u->pid, SIGKILL);
			waitpid(u->pid, NULL, 0);
		}
	}
	if (u->reader_running)
		pthread_join(u->reader, NULL);
	if (u->out >= 0)
		close(u->out);
	if (u->in >= 0)
		mcp_writer_destroy(&u->w);
	for (size_t i = 0; i < SLOTS; i++)
		json_decref(u->slots[i].answer);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

const struct gw_upstream_cfg *
gw_upstream_cfg_of(const struct gw_upstream *u)
{
	return u->cfg;
}

int
gw_upstream_tools(struct gw_upstream *u, uint32_t timeout_ms,
    json_t **tools)
{
	json_t *all = json_array(), *cursor = NULL;
	int rc = 0;

	for (int page = 0; rc == 0 && page < 64; page++) {
		json_t *res = NULL, *p = json_object();
		int is_err = 0;
		if (cursor != NULL)
			json_object_set(p, "cursor", cursor);
		rc = gw_upstream_request(u, "tools/list", p, timeout_ms, NULL,
		    &res, &is_err);
		if (rc == 0 && (is_err || !json_is_array(json_object_get(res,
		    "tools"))))
			rc = -MDT_EPROTO;
		if (rc == 0)
			json_array_extend(all, json_object_get(res, "tools"));
		json_decref(cursor);
		cursor = rc == 0 ? json_incref(json_object_get(res,
		    "nextCursor")) : NULL;
		json_decref(res);
		if (!json_is_string(cursor))
			break;
	}
	json_decref(cursor);
	if (rc != 0 || json_array_size(all) > GW_TOOLS_MAX) {
		json_decref(all);
		return rc != 0 ? rc : -MDT_ETOOBIG;
	}
	*tools = all;
	return 0;
}
