/*
 * The configuration table of mandated and the code that fills a
 * struct brk_config from defaults, a file and flags.  Adding a setting
 * is one row here (and one line in broker/mandated.conf.example, which a
 * test compares with this table).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mandate/spiffe.h>

#include "broker.h"

#define S(field) BRK_CFG_STR, offsetof(struct brk_config, field), \
    sizeof(((struct brk_config *)0)->field), 0, 0
#define I(field, lo, hi) BRK_CFG_INT, offsetof(struct brk_config, field), \
    0, lo, hi
/* strings that must be one SPIFFE id, or space-separated agent ids */
#define ID(field) BRK_CFG_SPIFFE, offsetof(struct brk_config, field), \
    sizeof(((struct brk_config *)0)->field), 0, 0
#define IDS(field) BRK_CFG_SPIFFE_LIST, offsetof(struct brk_config, field), \
    sizeof(((struct brk_config *)0)->field), 0, 0
#define B(field) BRK_CFG_BOOL, offsetof(struct brk_config, field), 0, 0, 1

static const struct brk_cfg_entry table[] = {
	{ "run_dir", S(run_dir), "", 0, "--run-dir",
	  "directory of the ipc sockets (default $RUNTIME_DIRECTORY under systemd; as root /run/mandate; else $XDG_RUNTIME_DIR/mandate or /tmp/mandate-UID)", NULL },
	{ "data_dir", S(data_dir), "", 0, "--data-dir",
	  "directory of the audit store and root key (default $STATE_DIRECTORY under systemd; as root /var/lib/mandate; else $XDG_STATE_HOME/mandate or ~/.local/state/mandate)", NULL },
	{ "listen", S(listen), "", 0, "--listen",
	  "space-separated request/reply URLs: ipc://, tcp://, tls+tcp:// (default ipc://RUN_DIR/mandated.sock)", NULL },
	{ "pub_listen", S(pub_listen), "", 0, "--pub",
	  "space-separated event (PUB) URLs (default ipc://RUN_DIR/mandated-events.sock)", NULL },
	{ "tls_ca", S(tls_ca), "", 0, NULL,
	  "PEM CA bundle that client certificates must chain to (tls+tcp://; enables mutual TLS)", NULL },
	{ "tls_cert", S(tls_cert), "", 0, NULL,
	  "PEM certificate of the broker for tls+tcp:// listeners", NULL },
	{ "tls_key", S(tls_key), "", 0, NULL,
	  "PEM private key of tls_cert", NULL },
	{ "svid_bundle", S(svid_bundle), "", 1, NULL,
	  "PEM trust bundle (CA certificates) of X.509-SVIDs accepted by auth; empty: SVID authentication off", NULL },
	{ "svid_trust_domain", S(svid_trust_domain), "", 1, NULL,
	  "trust domain of svid_bundle; SVIDs of other trust domains are refused (default: the trust domain of broker_id)", NULL },
	{ "policy_dir", S(policy_dir), "", 1, "--policy-dir",
	  "directory of *.cedar policies (default: PREFIX/share/mandate/policies when installed, else the source tree's policies/)", NULL },
	{ "entities", S(entities), "", 1, "--entities",
	  "Cedar entities JSON: agents registry, clinicians, care teams (default POLICY_DIR/entities.json)", NULL },
	{ "care_data", S(care_data), "", 1, "--care-data",
	  "space-separated files and directories (their *.json, in name order) of Cedar entities: care teams, clinicians and patients, loaded beside the entities file (default: none)", NULL },
	{ "store", S(store), "", 0, "--store",
	  "audit and task store URI: sqlite:PATH or a plain PATH (default DATA_DIR/audit.db), or postgresql://... shared by several brokers", NULL },
	{ "root_key", S(root_key), "", 0, "--root-key",
	  "broker root signing key, generated on first start, mode 0600 (default DATA_DIR/root.key)", NULL },
	{ "root_key_next", S(root_key_next), "", 0, NULL,
	  "root rollover, step 1: the next root public key (.pub), published beside the current one in ROOT.pubs before the broker signs with it", NULL },
	{ "root_key_previous", S(root_key_previous), "", 0, NULL,
	  "root rollover, step 2: the retired root key (.key); tokens minted under it still verify and are extended with it until they expire", NULL },
	{ "broker_id", ID(broker_id), "spiffe://mandate.local/broker", 0, "--broker-id",
	  "SPIFFE id of this broker (audience of launch assertions, auth challenges)", NULL },
	{ "idp_issuer", S(idp_issuer), "mandate-dev-idp", 1, "--idp-issuer",
	  "issuer (iss) launch assertions must carry", NULL },
	{ "idp_key", S(idp_key), "", 1, "--idp-key",
	  "public key (PEM) of the identity provider signing launch assertions", NULL },
	{ "idp_jwks", S(idp_jwks), "", 1, "--idp-jwks",
	  "instead of idp_key: the identity provider's key set (JWKS, keys named by kid), so it can rotate; assertions must carry a kid of the set", NULL },
	{ "idp_alg", S(idp_alg), "", 1, NULL,
	  "JWT algorithm of idp_key: ES256, RS256 or EdDSA (default: from the key type)", NULL },
	{ "idp_dev", B(idp_dev), "0", 1, NULL,
	  "1: idp_key is a development identity provider (a warning is logged)", NULL },
	{ "gateway_audience", S(gateway_audience), "spiffe://mandate.local/gateway", 1, NULL,
	  "default audience of single-action tokens", NULL },
	{ "audiences", S(audiences), "", 1, NULL,
	  "space-separated AUDIENCE=BOUNDARY pairs: the resource servers single-action tokens may be made for besides gateway_audience (whose boundary is none), and the boundary (none, export, writeback) that sending data to each crosses", NULL },
	{ "emergency_purposes", S(emergency_purposes), "ETREAT BTG", 1, NULL,
	  "space-separated purposes of use that declare an emergency (break-the-glass): a task opens under one only with a launch assertion whose purpose_of_use claim names it", NULL },
	{ "admins", IDS(admins), "", 1, NULL,
	  "space-separated agent SPIFFE ids allowed the admin tree query and abort", NULL },
	{ "evaluators", IDS(evaluators), "", 1, NULL,
	  "space-separated agent SPIFFE ids allowed the evaluate operation (policy decisions for an AuthZEN front, mandate-authzen); nothing else", NULL },
	{ "log_level", S(log_level), "info", 1, "--log-level",
	  "debug, info, warn or error", brk_log_apply },
	{ "log_format", S(log_format), "text", 1, NULL,
	  "text (one line of key=value pairs per event) or json (one JSON object per line)", brk_log_apply },
	{ "http_listen", S(http_listen), "", 0, NULL,
	  "HOST:PORT of the local health and metrics listener (/healthz, /readyz, /metrics); empty: none. Bind it to a loopback or management address only", NULL },
	{ "workers", I(workers, 2, 1024), "8", 0, "--workers",
	  "request worker threads (authorize holds none while its audit record commits)", NULL },
	{ "contexts", I(contexts, 8, 65536), "4096", 0, "--contexts",
	  "concurrent requests (nng contexts), long polls included", NULL },
	{ "token_ttl", I(token_ttl, 10, 86400), "900", 1, NULL,
	  "lifetime of task tokens, seconds", NULL },
	{ "action_ttl", I(action_ttl, 1, 300), "60", 1, NULL,
	  "lifetime of single-action tokens, seconds", NULL },
	{ "next_max_wait_ms", I(next_max_wait_ms, 0, 600000), "30000", 1, NULL,
	  "longest long poll of next, milliseconds", NULL },
	{ "stepup_timeout_ms", I(stepup_timeout_ms, 100, 3600000), "60000", 1, NULL,
	  "a step-up nobody decides within this time is denied, milliseconds", NULL },
	{ "approval_ttl_ms", I(approval_ttl_ms, 100, 600000), "10000", 1, NULL,
	  "how long an approval may be used after the decision, milliseconds", NULL },
	{ "max_fanout", I(max_fanout, 1, 100000), "16", 1, NULL,
	  "children per task unless the agent's registry entry sets maxFanout", NULL },
	{ "queue_max", I(queue_max, 1, 1000000), "1000", 1, NULL,
	  "work items waiting per agent (taken or not) until acknowledged", NULL },
	{ "work_lease_ms", I(work_lease_ms, 100, 86400000), "60000", 1, NULL,
	  "a work item taken by next and not acknowledged within this time is delivered again, milliseconds", NULL },
	{ "idem_ttl", I(idem_ttl, 1, 86400), "300", 0, NULL,
	  "seconds a reply is kept to answer a resent request", NULL },
	{ "idem_max", I(idem_max, 16, 10000000), "100000", 0, NULL,
	  "replies kept for resent requests", NULL },
	{ "auth_window", I(auth_window, 1, 600), "30", 1, NULL,
	  "validity of an authentication challenge, seconds", NULL },
	{ "drain_ms", I(drain_ms, 0, 600000), "5000", 1, NULL,
	  "on SIGTERM, longest wait for in-flight requests, milliseconds", NULL },
	{ "store_batch", I(store_batch, 1, 100000), "512", 0, NULL,
	  "most audit records committed in one transaction (group commit)", NULL },
	{ "checkpoint_every", I(checkpoint_every, 1, 1000000), "1000", 0, NULL,
	  "audit records between signed checkpoints (a store with "
	  "receipts, as the broker's are, is covered by its receipt heads "
	  "instead)", NULL },
};

const struct brk_cfg_entry *
brk_config_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

static const struct brk_cfg_entry *
find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strlen(table[i].name) == len &&
		    memcmp(table[i].name, name, len) == 0)
			return &table[i];
	return NULL;
}

int
brk_cfg_is_str(enum brk_cfg_type t)
{
	return t == BRK_CFG_STR || t == BRK_CFG_SPIFFE ||
	    t == BRK_CFG_SPIFFE_LIST;
}

/* The SPIFFE settings go through the validator every entry uses. */
static int
check_ids(const struct brk_cfg_entry *e, const char *value, char *err,
    size_t errlen)
{
	char why[MDT_ERRMSG_MAX], one[BRK_STR_MAX], shown[112];
	const char *p = value;

	if (e->type == BRK_CFG_SPIFFE) {
		if (mdt_spiffe_validate(value, strlen(value), why,
		    sizeof(why)) == 0)
			return 0;
		snprintf(err, errlen, "%s: not a valid SPIFFE id: %s", e->name,
		    why);
		return -MDT_ECONFIG;
	}
	while (*p != 0) {
		size_t n = strcspn(p, " ");
		if (n > 0) {
			snprintf(one, sizeof(one), "%.*s", (int)n, p);
			if (brk_agent_id_check(one, why, sizeof(why)) != 0) {
				brk_id_display(one, shown, sizeof(shown));
				snprintf(err, errlen, "%s: \"%s\" is not a valid "
				    "SPIFFE id: %s", e->name, shown, why);
				return -MDT_ECONFIG;
			}
		}
		p += n + (p[n] == ' ');
	}
	return 0;
}

static int
set_str(struct brk_config *cfg, const struct brk_cfg_entry *e,
    const char *value, char *err, size_t errlen)
{
	char *p = (char *)cfg + e->offset;

	if (strlen(value) >= e->size) {
		snprintf(err, errlen, "%s: value longer than %zu bytes",
		    e->name, e->size - 1);
		return -MDT_ECONFIG;
	}
	if (e->type != BRK_CFG_STR && check_ids(e, value, err, errlen) != 0)
		return -MDT_ECONFIG;
	if ((strcmp(e->name, "log_format") == 0 &&
	    brk_log_format_parse(value) < 0) ||
	    (strcmp(e->name, "log_level") == 0 &&
	    brk_log_level_parse(value) < 0)) {
		snprintf(err, errlen, "%s: expected %s, got '%s'", e->name,
		    e->name[4] == 'f' ? "text or json" :
		    "debug, info, warn or error", value);
		return -MDT_ECONFIG;
	}
	memcpy(p, value, strlen(value) + 1);
	return 0;
}

static int
set_entry(struct brk_config *cfg, const struct brk_cfg_entry *e,
    const char *value, char *err, size_t errlen)
{
	char *p = (char *)cfg + e->offset;
	char *end;
	long long v;

	if (brk_cfg_is_str(e->type))
		return set_str(cfg, e, value, err, errlen);
	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != 0 || v < e->min ||
	    v > e->max) {
		snprintf(err, errlen, "%s: expected an integer in %" PRId64
		    "..%" PRId64 ", got '%s'", e->name, e->min, e->max, value);
		return -MDT_ECONFIG;
	}
	memcpy(p, &(int64_t){ v }, sizeof(int64_t));
	return 0;
}

/* Edit distance of a and b (short names only), for suggestions. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

void
brk_config_unknown(const char *name, char *err, size_t errlen)
{
	const char *best = NULL;
	size_t bd = SIZE_MAX, n = sizeof(table) / sizeof(table[0]);
	char shown[80];

	for (size_t i = 0; i < n; i++) {
		size_t d = distance(name, table[i].name);
		if (d < bd) {
			bd = d;
			best = table[i].name;
		}
	}
	brk_id_display(name, shown, sizeof(shown));
	if (best != NULL && bd <= 1 + strlen(name) / 4)
		snprintf(err, errlen, "unknown setting '%s' (did you mean "
		    "'%s'?)", shown, best);
	else
		snprintf(err, errlen, "unknown setting '%s' (mandated --help "
		    "lists them)", shown);
}

int
brk_config_set(struct brk_config *cfg, const char *name, const char *value,
    char *err, size_t errlen)
{
	const struct brk_cfg_entry *e = find(name, strlen(name));

	if (e == NULL) {
		brk_config_unknown(name, err, errlen);
		return -MDT_ECONFIG;
	}
	return set_entry(cfg, e, value, err, errlen);
}

void
brk_config_defaults(struct brk_config *cfg)
{
	char err[64];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (set_entry(cfg, &table[i], table[i].def, err,
		    sizeof(err)) != 0)
			abort(); /* the table itself is wrong */
}

void
brk_config_get(const struct brk_config *cfg, const struct brk_cfg_entry *e,
    char *buf, size_t len)
{
	const char *p = (const char *)cfg + e->offset;
	int64_t v;

	if (brk_cfg_is_str(e->type)) {
		snprintf(buf, len, "%s", p);
		return;
	}
	memcpy(&v, p, sizeof(v));
	snprintf(buf, len, "%" PRId64, v);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = 0;
	return s;
}

/* A value in double or single quotes loses them (and keeps the spaces
 * and '#' inside); NULL for an opening quote that is not closed. */
static char *
unquote(char *v)
{
	size_t n = strlen(v);

	if (v[0] != '"' && v[0] != '\'')
		return v;
	if (n < 2 || v[n - 1] != v[0])
		return NULL;
	v[n - 1] = 0;
	return v + 1;
}

static int
load_line(struct brk_config *cfg, char *line, int reloadable_only,
    unsigned char *seen, char *msg, size_t msglen)
{
	char *s = trim(line), *eq, *name, *value;
	const struct brk_cfg_entry *e;
	struct brk_config scratch;

	if (*s == 0 || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (eq == NULL) {
		snprintf(msg, msglen, "expected 'name = value'");
		return -MDT_ECONFIG;
	}
	*eq = 0;
	name = trim(s);
	e = find(name, strlen(name));
	if (e == NULL) {
		brk_config_unknown(name, msg, msglen);
		return -MDT_ECONFIG;
	}
	if (seen[e - table]) {
		snprintf(msg, msglen, "%s is set twice (the file may set each "
		    "setting once)", e->name);
		return -MDT_ECONFIG;
	}
	seen[e - table] = 1;
	if ((value = unquote(trim(eq + 1))) == NULL) {
		snprintf(msg, msglen, "%s: the value's quote is not closed",
		    e->name);
		return -MDT_ECONFIG;
	}
	if (reloadable_only && !e->reloadable)
		return set_entry(&scratch, e, value, msg, msglen);
	return set_entry(cfg, e, value, msg, msglen);
}

int
brk_config_load_file(struct brk_config *cfg, const char *path,
    int reloadable_only, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[2 * BRK_STR_MAX], msg[MDT_ERRMSG_MAX];
	unsigned char seen[sizeof(table) / sizeof(table[0])] = { 0 };
	int lineno = 0, rc = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -MDT_ECONFIG;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(msg, sizeof(msg), "line too long");
			rc = -MDT_ECONFIG;
			break;
		}
		rc = load_line(cfg, line, reloadable_only, seen, msg,
		    sizeof(msg));
	}
	fclose(f);
	if (rc != 0)
		snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
	return rc;
}

/* Fills an empty path from a directory; a path too long is an error. */
static int
derive(char *dst, size_t len, const char *dir, const char *prefix,
    const char *file)
{
	int n;

	if (dst[0] != 0)
		return 0;
	n = snprintf(dst, len, "%s%s/%s", prefix, dir, file);
	return n < 0 || (size_t)n >= len ? -MDT_ECONFIG : 0;
}

static int
home_path(char *dst, size_t len, const char *base, const char *rest)
{
	int n = snprintf(dst, len, "%s%s", base, rest);

	return n < 0 || (size_t)n >= len ? -MDT_ECONFIG : 0;
}

/* The first directory systemd made for the service (RuntimeDirectory=,
 * StateDirectory=: a colon-separated list in var), into dst. */
static int
service_dir(char *dst, size_t len, const char *var)
{
	const char *v = getenv(var);
	size_t n;

	if (dst[0] != 0 || v == NULL || v[0] != '/')
		return 0;
	n = strcspn(v, ":");
	if (n >= len)
		return -MDT_ECONFIG;
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

/* Directories left empty: the service manager's, then root's system
 * directories, then the user's (XDG, home, /tmp). */
int
brk_config_finish(struct brk_config *cfg)
{
	const char *xr = getenv("XDG_RUNTIME_DIR");
	const char *xs = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char uid[32];
	int rc = service_dir(cfg->run_dir, sizeof(cfg->run_dir),
	    "RUNTIME_DIRECTORY") || service_dir(cfg->data_dir,
	    sizeof(cfg->data_dir), "STATE_DIRECTORY") ? -MDT_ECONFIG : 0;

	if (getuid() == 0) {
		if (cfg->run_dir[0] == 0)
			snprintf(cfg->run_dir, sizeof(cfg->run_dir),
			    "/run/mandate");
		if (cfg->data_dir[0] == 0)
			snprintf(cfg->data_dir, sizeof(cfg->data_dir),
			    "/var/lib/mandate");
	}
	snprintf(uid, sizeof(uid), "/tmp/mandate-%u", (unsigned)getuid());
	if (rc == 0 && cfg->run_dir[0] == 0)
		rc = xr != NULL && xr[0] != 0 ?
		    home_path(cfg->run_dir, sizeof(cfg->run_dir), xr, "/mandate") :
		    home_path(cfg->run_dir, sizeof(cfg->run_dir), uid, "");
	if (rc == 0 && cfg->data_dir[0] == 0)
		rc = xs != NULL && xs[0] != 0 ?
		    home_path(cfg->data_dir, sizeof(cfg->data_dir), xs,
		    "/mandate") : home_path(cfg->data_dir,
		    sizeof(cfg->data_dir), home != NULL ? home : ".",
		    "/.local/state/mandate");
	return rc || derive(cfg->listen, sizeof(cfg->listen), cfg->run_dir,
	    "ipc://", "mandated.sock") ||
	    derive(cfg->pub_listen, sizeof(cfg->pub_listen), cfg->run_dir,
	    "ipc://", "mandated-events.sock") ||
	    derive(cfg->store, sizeof(cfg->store), cfg->data_dir, "",
	    "audit.db") ||
	    derive(cfg->root_key, sizeof(cfg->root_key), cfg->data_dir, "",
	    "root.key") ||
	    derive(cfg->entities, sizeof(cfg->entities), cfg->policy_dir, "",
	    "entities.json") ? -MDT_ECONFIG : 0;
}
