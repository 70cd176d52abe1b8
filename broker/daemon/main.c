/*
 * mandated: the Mandate broker daemon.  main parses flags, loads the
 * configuration, initialises (keys, store, registry, sockets), runs the
 * signal loop (SIGHUP reloads, SIGTERM/SIGINT drain and stop), then tears
 * down in reverse order.  Signal handlers only set flags.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "alloc_int.h"
#include "broker.h"

#ifndef MDT_DEFAULT_POLICY_DIR
#define MDT_DEFAULT_POLICY_DIR "policies"
#endif

static volatile sig_atomic_t got_hup;
static volatile sig_atomic_t got_term;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void
usage(FILE *f)
{
	size_t n;
	const struct brk_cfg_entry *t = brk_config_table(&n);

	fprintf(f,
"NAME\n"
"    mandated - Mandate delegation-chain broker for AI agents touching ePHI\n"
"\n"
"SYNOPSIS\n"
"    mandated [--config FILE] [--set NAME=VALUE]... [OPTIONS]\n"
"    mandated --check-config [--config FILE] [OPTIONS]\n"
"    mandated --print-config [--config FILE] [OPTIONS]\n"
"    mandated --help | --version\n"
"\n"
"DESCRIPTION\n"
"    Carries tasks between agents over nng request/reply, attaches a\n"
"    narrowing delegation token at each hop, checks every hop and action\n"
"    against the clinician's scope, the agent's registered scope and the\n"
"    Cedar policies in force, and records every decision durably in the\n"
"    audit store before answering.  Without a configuration file it runs on\n"
"    embedded defaults: an ipc:// socket under the run directory, the\n"
"    SQLite store and a root key (generated on first start, mode 0600) in\n"
"    the data directory, and the installed default policies (or those of\n"
"    the source tree).  As root the directories are /run/mandate and\n"
"    /var/lib/mandate.  With http_listen set, /healthz, /readyz and\n"
"    /metrics (Prometheus) are served there; see mandated(8) and\n"
"    docs/operations.md.\n"
"\n"
"OPTIONS\n"
"    --config FILE     read settings (name = value lines) from FILE\n"
"    --set NAME=VALUE  set any setting (after the file)\n"
"    --check-config    check all a start checks short of binding (settings,\n"
"                      policies, registry, keys, TLS files, directories, the\n"
"                      store read-only), print what was loaded, then exit\n"
"    --print-config    print the effective settings, then exit\n"
"    --help            this text\n"
"    --version         print the version\n");
	for (size_t i = 0; i < n; i++)
		if (t[i].flag != NULL)
			fprintf(f, "    %-12s %-6s same as --set %s=...\n",
			    t[i].flag, t[i].type == BRK_CFG_INT ? "N" : "VALUE",
			    t[i].name);
	fprintf(f,
"\n"
"SETTINGS (see broker/mandated.conf.example and docs/broker.md)\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "    %-18s %s%s\n", t[i].name, t[i].help,
		    t[i].reloadable ? " [reloadable]" : "");
	fprintf(f,
"\n"
"SIGNALS\n"
"    SIGHUP            reload the reloadable settings, the policies and the\n"
"                      agent registry atomically; a failed reload keeps the\n"
"                      running set and logs why; changed settings that need\n"
"                      a restart are named (reload.restart_needed)\n"
"    SIGTERM, SIGINT   stop accepting requests, answer the ones in flight\n"
"                      (up to drain_ms), close the store and exit 0\n"
"\n"
"FILES\n"
"    RUN_DIR/mandated.sock, RUN_DIR/mandated-events.sock   ipc sockets\n"
"    DATA_DIR/audit.db      audit and task store (SQLite, WAL)\n"
"    DATA_DIR/root.key      root signing key (mode 0600); root.pub beside it\n"
"\n"
"EXIT STATUS\n"
"    0 after a clean stop (or a good --check-config), 1 on a configuration\n"
"    or start-up error, 2 on bad usage.\n"
"\n"
"EXAMPLE\n"
"    mandated --data-dir /var/lib/mandate --run-dir /run/mandate \\\n"
"        --idp-key /etc/mandate/idp.pem --set log_level=debug\n");
}

static const struct brk_cfg_entry *
by_flag(const char *flag)
{
	size_t n;
	const struct brk_cfg_entry *t = brk_config_table(&n);

	for (size_t i = 0; i < n; i++)
		if (t[i].flag != NULL && strcmp(t[i].flag, flag) == 0)
			return &t[i];
	return NULL;
}

enum mode { RUN, CHECK, PRINT };

/* Two passes: --config first (the file comes before the flags). */
static int
parse_args(brk_broker *b, int argc, char **argv, enum mode *mode)
{
	char err[MDT_ERRMSG_MAX];

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			snprintf(b->config_path, sizeof(b->config_path), "%s",
			    argv[++i]);
			if (brk_config_load_file(&b->cfg, b->config_path, 0, err,
			    sizeof(err)) != 0) {
				fprintf(stderr, "mandated: %s\n", err);
				return 1;
			}
		}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct brk_cfg_entry *e = by_flag(a);
		int rc = 0;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("mandated %s\n", mdt_version());
			exit(0);
		} else if (strcmp(a, "--check-config") == 0) {
			*mode = CHECK;
		} else if (strcmp(a, "--print-config") == 0) {
			*mode = PRINT;
		} else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
			i++;
		} else if (strcmp(a, "--set") == 0 && i + 1 < argc) {
			char kv[BRK_STR_MAX * 2], *eq;
			snprintf(kv, sizeof(kv), "%s", argv[++i]);
			eq = strchr(kv, '=');
			if (eq == NULL) {
				fprintf(stderr, "mandated: --set needs NAME=VALUE\n");
				return 2;
			}
			*eq = 0;
			rc = brk_config_set(&b->cfg, kv, eq + 1, err, sizeof(err));
		} else if (e != NULL && i + 1 < argc) {
			rc = brk_config_set(&b->cfg, e->name, argv[++i], err,
			    sizeof(err));
		} else {
			fprintf(stderr, "mandated: unknown or incomplete option "
			    "'%s' (see --help)\n", a);
			return 2;
		}
		if (rc != 0) {
			fprintf(stderr, "mandated: %s\n", err);
			return 1;
		}
	}
	return 0;
}

static void
print_config(const struct brk_config *cfg)
{
	size_t n;
	const struct brk_cfg_entry *t = brk_config_table(&n);
	char v[BRK_STR_MAX];

	for (size_t i = 0; i < n; i++) {
		brk_config_get(cfg, &t[i], v, sizeof(v));
		printf("%s = %s\n", t[i].name, v);
	}
}

/* Signs a commit batch's receipt head with the root key: the store
 * never holds it. */
static int
sign_head(void *arg, mdt_receipt_head *h, uint8_t sig[MDT_STORE_SIG_BYTES])
{
	const brk_broker *b = arg;

	return mdt_receipt_head_sign(h, b->root, sig);
}

static int
init_state(brk_broker *b, char *err, size_t errlen)
{
	mdt_store_opts so = { 0 };
	uint8_t seed[MDT_KEY_SEED_BYTES];
	int rc;

	if ((rc = brk_private_dir(b->cfg.run_dir, err, errlen)) != 0 ||
	    (rc = brk_private_dir(b->cfg.data_dir, err, errlen)) != 0)
		return rc;
	rc = brk_root_key(b, err, errlen);
	if (rc != 0)
		return rc;
	mdt_keypair_seed(b->root, seed);
	so.seal_seed = seed;
	so.checkpoint_every = (uint32_t)b->cfg.checkpoint_every;
	so.max_batch = (uint32_t)b->cfg.store_batch;
	so.head_sign = sign_head;
	so.head_sign_arg = b;
	/* Before any listener: a second broker on this store (EBUSY, err
	 * naming the holder's pid) must not take the first one's sockets. */
	rc = mdt_store_open(b->cfg.store, &so, &b->store, err, errlen);
	sodium_memzero(seed, sizeof(seed));
	if (rc != 0)
		return rc;
	/* the rules every decision will name, kept before the first one */
	if ((rc = brk_sources_record(b, b->snap, err, errlen)) != 0)
		return rc;
	if (brk_sessions_new(&b->sessions) || brk_idem_new(
	    (size_t)b->cfg.idem_max, b->cfg.idem_ttl, &b->idem) || brk_queues_new(&b->queues) ||
	    brk_stepups_new(&b->stepups) || brk_clinicians_new(&b->clinicians) ||
	    mdt_token_cache_new(4096, &b->tcache)) {
		snprintf(err, errlen, "out of memory");
		return -MDT_ENOMEM;
	}
	return 0;
}

static void
teardown(brk_broker *b)
{
	brk_http_stop(b);
	brk_server_stop(b);
	mdt_store_close(b->store);
	brk_sessions_free(b->sessions);
	brk_idem_free(b->idem);
	brk_queues_free(b->queues);
	brk_stepups_free(b->stepups);
	brk_clinicians_free(b->clinicians);
	mdt_token_cache_free(b->tcache);
	brk_snapshot_release(b->snap);
	mdt_keypair_free(b->root);
	mdt_keypair_free(b->root_prev);
	pthread_mutex_destroy(&b->snap_lock);
	pthread_mutex_destroy(&b->jobs_lock);
	pthread_mutex_destroy(&b->sending_lock);
	pthread_mutex_destroy(&b->pub_lock);
	pthread_mutex_destroy(&b->end_lock);
	pthread_cond_destroy(&b->jobs_cond);
}

static void
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* The default policies: installed beside the program
 * (BINDIR/../share/mandate/policies, wherever the tree was installed),
 * else those of the source tree it was built from. */
static void
default_policy_dir(char *out, size_t len)
{
	char exe[BRK_PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;

	if (n > 0) {
		exe[n] = 0;
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = 0;
			if (snprintf(out, len, "%s/../share/mandate/policies",
			    exe) < (int)len && stat(out, &st) == 0 &&
			    S_ISDIR(st.st_mode))
				return;
		}
	}
	snprintf(out, len, "%s", MDT_DEFAULT_POLICY_DIR);
}

static int
configure(brk_broker *b, int argc, char **argv, enum mode *mode)
{
	int rc;

	brk_config_defaults(&b->cfg);
	default_policy_dir(b->cfg.policy_dir, sizeof(b->cfg.policy_dir));
	rc = parse_args(b, argc, argv, mode);
	if (rc != 0)
		return rc;
	if (brk_config_finish(&b->cfg) != 0) {
		fprintf(stderr, "mandated: a derived path (run_dir, data_dir or "
		    "policy_dir plus a file name) is too long\n");
		return 1;
	}
	if (brk_log_level_parse(b->cfg.log_level) < 0) {
		fprintf(stderr, "mandated: log_level: unknown level '%s'\n",
		    b->cfg.log_level);
		return 1;
	}
	atomic_init(&b->log.level, brk_log_level_parse(b->cfg.log_level));
	atomic_init(&b->log.json, brk_log_format_parse(b->cfg.log_format) == 1);
	return 0;
}

/* Defaults plus the configuration file, as the file alone sets them. */
static int
file_settings(const brk_broker *b, struct brk_config *out, char *err,
    size_t errlen)
{
	brk_config_defaults(out);
	return b->config_path[0] == 0 ? 0 :
	    brk_config_load_file(out, b->config_path, 0, err, errlen);
}

/* On SIGHUP: names each setting changed in the file that only a restart
 * applies (the reload keeps its running value). */
static void
restart_notice(brk_broker *b, struct brk_config *started)
{
	static struct brk_config now;
	char err[MDT_ERRMSG_MAX], was[BRK_STR_MAX], is[BRK_STR_MAX];
	const struct brk_cfg_entry *t;
	size_t n;

	if (b->config_path[0] == 0 || file_settings(b, &now, err,
	    sizeof(err)) != 0)
		return; /* the reload itself reports a bad file */
	t = brk_config_table(&n);
	for (size_t i = 0; i < n; i++) {
		if (t[i].reloadable)
			continue;
		brk_config_get(started, &t[i], was, sizeof(was));
		brk_config_get(&now, &t[i], is, sizeof(is));
		if (strcmp(was, is) != 0)
			BLOG(b, BRK_WARN, "reload.restart_needed", "setting=%s "
			    "changed in %s; it takes effect on the next start "
			    "(running value kept)", t[i].name, b->config_path);
	}
}

static void
loop(brk_broker *b, struct brk_config *started)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	while (!got_term) {
		if (got_hup) {
			got_hup = 0;
			BLOG(b, BRK_INFO, "reload.start", "signal=SIGHUP");
			(void)brk_notify_reloading();
			restart_notice(b, started);
			brk_reload(b);
			(void)brk_notify("READY=1");
		}
		nanosleep(&ts, NULL);
	}
	(void)brk_notify("STOPPING=1");
	BLOG(b, BRK_INFO, "stop", "signal received, draining");
}

/* Dozens of workers each get a malloc arena; with glibc's default trim
 * threshold every request's frees hand pages back (madvise) and the next
 * request faults them in again, which cost more CPU than the request's
 * own work.  Keep freed memory in the process instead. */
static void
tune_malloc(void)
{
#if defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
	(void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
	(void)mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
}

int
main(int argc, char **argv)
{
	static brk_broker b;
	static struct brk_config started; /* the file's settings at start */
	enum mode mode = RUN;
	char err[MDT_ERRMSG_MAX] = "", store_shown[512];
	int rc;

	tune_malloc();
	pthread_mutex_init(&b.snap_lock, NULL);
	pthread_mutex_init(&b.jobs_lock, NULL);
	pthread_mutex_init(&b.pool_lock, NULL);
	pthread_mutex_init(&b.sending_lock, NULL);
	pthread_mutex_init(&b.pub_lock, NULL);
	pthread_mutex_init(&b.end_lock, NULL);
	pthread_cond_init(&b.jobs_cond, NULL);
	rc = configure(&b, argc, argv, &mode);
	if (rc != 0)
		return rc;
	if (mode == PRINT) {
		print_config(&b.cfg);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "mandated: libsodium failed to initialise\n");
		return 1;
	}
	rc = brk_snapshot_load(&b.cfg, &b.snap, err, sizeof(err));
	if (rc == 0 && mode == CHECK)
		rc = brk_check_config(&b.cfg, b.snap, stdout, err, sizeof(err));
	if (rc != 0 || mode == CHECK) {
		if (rc != 0)
			BLOG(&b, BRK_ERROR, "config.invalid", "%s", err);
		else
			printf("configuration, policies and registry are valid\n");
		brk_snapshot_release(b.snap);
		return rc != 0 ? 1 : 0;
	}
	if (mdt_policy_set_count(b.snap->policies) == 0)
		BLOG(&b, BRK_WARN, "policies.none", "policy_dir %s holds no "
		    "policies: every request will be denied", b.cfg.policy_dir);
	signals();
	(void)file_settings(&b, &started, err, sizeof(err));
	atomic_store(&b.epoch, brk_now_ms() / 1000);
	b.metrics.start_ms = brk_now_ms();
	rc = init_state(&b, err, sizeof(err));
	if (rc == 0)
		rc = brk_server_start(&b, err, sizeof(err));
	if (rc == 0)
		rc = brk_http_start(&b, err, sizeof(err));
	if (rc != 0) {
		BLOG(&b, BRK_ERROR, "start.failed", "%s", err);
		teardown(&b);
		return 1;
	}
	if (b.cfg.idp_key[0] == 0 && b.cfg.idp_jwks[0] == 0)
		BLOG(&b, BRK_WARN, "idp.none", "no identity provider (idp_key): "
		    "open, approve and reject will be refused");
	else if (b.cfg.idp_dev)
		BLOG(&b, BRK_WARN, "idp.development", "trusting the development "
		    "identity provider key %s: not for production", b.cfg.idp_key);
	BLOG(&b, BRK_INFO, "ready", "pid=%ld listen=%s pub=%s store=%s "
	    "http=%s policies=%zu agents=%zu", (long)getpid(), b.cfg.listen,
	    b.cfg.pub_listen, mdt_store_uri_redact(b.cfg.store, store_shown,
	    sizeof(store_shown)), b.cfg.http_listen[0] ?
	    b.cfg.http_listen : "-", mdt_policy_set_count(b.snap->policies),
	    b.snap->nagents);
	if (brk_notify("READY=1\nSTATUS=serving") != 0)
		BLOG(&b, BRK_WARN, "notify.failed", "NOTIFY_SOCKET=%s: the service "
		    "manager was not told that the broker is ready",
		    getenv("NOTIFY_SOCKET"));
	loop(&b, &started);
	brk_server_drain(&b);
	teardown(&b);
	BLOG(&b, BRK_INFO, "stopped", "clean shutdown; refusals answered "
	    "without a record (store failures): %ld", atomic_load(&b.unrecorded));
	return 0;
}
