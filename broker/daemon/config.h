/*
 * mandated configuration: one table of settings (name, type, bounds,
 * default, reloadable, apply function), filled from embedded defaults,
 * then a `name = value` file, then command-line flags.
 */
#ifndef BRK_CONFIG_H
#define BRK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define BRK_PATH_MAX 1024
#define BRK_STR_MAX 1024

struct brk_config {
	char run_dir[BRK_PATH_MAX];
	char data_dir[BRK_PATH_MAX];
	char listen[BRK_STR_MAX];        /* space-separated URLs */
	char pub_listen[BRK_STR_MAX];
	char tls_ca[BRK_PATH_MAX];
	char tls_cert[BRK_PATH_MAX];
	char tls_key[BRK_PATH_MAX];
	char svid_bundle[BRK_PATH_MAX];  /* "": X.509-SVID auth off */
	char svid_trust_domain[256];     /* "": broker_id's trust domain */
	char policy_dir[BRK_PATH_MAX];
	char entities[BRK_PATH_MAX];
	char care_data[BRK_STR_MAX];     /* space-separated files and dirs */
	char store[BRK_PATH_MAX];
	char root_key[BRK_PATH_MAX];
	char root_key_next[BRK_PATH_MAX];     /* .pub announced, or "" */
	char root_key_previous[BRK_PATH_MAX]; /* .key retired, or "" */
	char broker_id[BRK_STR_MAX];
	char idp_issuer[BRK_STR_MAX];
	char idp_key[BRK_PATH_MAX];
	char idp_jwks[BRK_PATH_MAX];     /* "": idp_key, one key */
	char idp_alg[16];
	int64_t idp_dev;
	char gateway_audience[BRK_STR_MAX];
	char audiences[BRK_STR_MAX];
	char emergency_purposes[BRK_STR_MAX];
	char admins[BRK_STR_MAX];
	char evaluators[BRK_STR_MAX];
	char log_level[16];
	char log_format[16];             /* text or json */
	char http_listen[BRK_STR_MAX];   /* HOST:PORT, "": no listener */
	int64_t workers;
	int64_t contexts;
	int64_t token_ttl;
	int64_t action_ttl;
	int64_t next_max_wait_ms;
	int64_t stepup_timeout_ms;
	int64_t approval_ttl_ms;
	int64_t max_fanout;
	int64_t queue_max;
	int64_t work_lease_ms;
	int64_t idem_ttl;
	int64_t idem_max;
	int64_t auth_window;
	int64_t drain_ms;
	int64_t store_batch;
	int64_t checkpoint_every;
};

/* SPIFFE: one SPIFFE id; SPIFFE_LIST: space-separated agent ids; both
 * are strings checked by the validator of every id the broker reads. */
enum brk_cfg_type { BRK_CFG_STR, BRK_CFG_INT, BRK_CFG_BOOL, BRK_CFG_SPIFFE,
    BRK_CFG_SPIFFE_LIST };

struct brk_broker;

struct brk_cfg_entry {
	const char *name;
	enum brk_cfg_type type;
	size_t offset;
	size_t size;          /* buffer size for strings */
	int64_t min, max;     /* bounds for integers */
	const char *def;      /* embedded default, as text */
	int reloadable;       /* applied again on SIGHUP */
	const char *flag;     /* command-line flag, or NULL */
	const char *help;     /* one line for --help and the example file */
	/* called after a reload changed the value; NULL when nothing to do */
	void (*apply)(struct brk_broker *b);
};

/* 1 for the types held as text (STR, SPIFFE, SPIFFE_LIST). */
int brk_cfg_is_str(enum brk_cfg_type t);

/* The table, and its length. */
const struct brk_cfg_entry *brk_config_table(size_t *n);

/* Fills cfg with the embedded defaults (then derived paths). */
void brk_config_defaults(struct brk_config *cfg);

/* Sets one setting from text, checking type and bounds; err says why. */
int brk_config_set(struct brk_config *cfg, const char *name,
    const char *value, char *err, size_t errlen);

/*
 * Reads a `name = value` file (# comments, blank lines).  When
 * reloadable_only, settings that are not reloadable are checked but
 * ignored.  err names file:line.
 */
int brk_config_load_file(struct brk_config *cfg, const char *path,
    int reloadable_only, char *err, size_t errlen);

/* Derives the paths left empty (listen, store, ...) from run/data dirs;
 * -MDT_ECONFIG when a derived path would be too long. */
int brk_config_finish(struct brk_config *cfg);

/* "unknown setting 'name'" into err, with the nearest known name when
 * one is close. */
void brk_config_unknown(const char *name, char *err, size_t errlen);

/* The value of a setting as text into buf. */
void brk_config_get(const struct brk_config *cfg,
    const struct brk_cfg_entry *e, char *buf, size_t len);

#endif
