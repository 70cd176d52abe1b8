/* mandated's configuration table: defaults within bounds, the example
 * file documents every setting with its default, and loading checks
 * types, bounds and unknown names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "testutil.h"

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

START_TEST(example_matches_table)
{
	char path[1024], line[BRK_STR_MAX + 80], v[BRK_STR_MAX];
	size_t n;
	const struct brk_cfg_entry *t = brk_config_table(&n);
	struct brk_config cfg;
	char *text;

	snprintf(path, sizeof(path), "%s/broker/mandated.conf.example",
	    mdt_test_source_dir());
	text = slurp(path);
	brk_config_defaults(&cfg);
	for (size_t i = 0; i < n; i++) {
		brk_config_get(&cfg, &t[i], v, sizeof(v));
		snprintf(line, sizeof(line), "\n# %s =%s%s\n", t[i].name,
		    v[0] ? " " : "", v);
		ck_assert_msg(strstr(text, line) != NULL,
		    "example lacks the line '# %s =%s%s'", t[i].name,
		    v[0] ? " " : "", v);
		if (t[i].reloadable) {
			/* the [reloadable] mark sits in the comment above */
			const char *at = strstr(text, line);
			const char *para = at;
			while (para > text && !(para[0] == '\n' && para[1] == '\n'))
				para--;
			char *copy = strndup(para, (size_t)(at - para));
			ck_assert_msg(strstr(copy, "[reloadable]") != NULL,
			    "%s is reloadable but not marked so", t[i].name);
			free(copy);
		}
	}
	/* and every setting named in the example exists */
	for (char *p = text; (p = strstr(p, "\n# ")) != NULL; p++) {
		char name[64];
		if (sscanf(p + 3, "%63[a-z_] =", name) == 1 &&
		    strstr(p, " =") == p + 3 + strlen(name)) {
			char err[256];
			ck_assert_msg(brk_config_set(&cfg, name, v, err,
			    sizeof(err)) != -MDT_ECONFIG ||
			    strstr(err, "unknown") == NULL,
			    "example names unknown setting %s", name);
		}
	}
	free(text);
}
END_TEST

START_TEST(bounds_and_types)
{
	struct brk_config cfg;
	char err[256];

	brk_config_defaults(&cfg);
	ck_assert_int_eq(cfg.workers, 8);
	ck_assert_int_eq(brk_config_set(&cfg, "workers", "0", err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "workers"));
	ck_assert_int_eq(brk_config_set(&cfg, "workers", "12x", err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_int_eq(brk_config_set(&cfg, "workers", "12", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(cfg.workers, 12);
	ck_assert_int_eq(brk_config_set(&cfg, "nope", "1", err, sizeof(err)),
	    -MDT_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "unknown setting 'nope'"));
	/* the lease of work items: a minute by default, never under 100 ms */
	ck_assert_int_eq(cfg.work_lease_ms, 60000);
	ck_assert_int_eq(brk_config_set(&cfg, "work_lease_ms", "99", err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_int_eq(brk_config_set(&cfg, "work_lease_ms", "1500", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(cfg.work_lease_ms, 1500);
}
END_TEST

START_TEST(file_errors_name_the_line)
{
	char path[] = "/tmp/mdt-cfg-XXXXXX";
	int fd = mkstemp(path);
	struct brk_config cfg;
	char err[512];
	FILE *f = fdopen(fd, "w");

	fputs("# comment\n\nlog_level = debug\ntoken_ttl = 5\n", f);
	fclose(f);
	brk_config_defaults(&cfg);
	ck_assert_int_eq(brk_config_load_file(&cfg, path, 0, err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_msg(strstr(err, ":4: token_ttl") != NULL, "%s", err);
	ck_assert_str_eq(cfg.log_level, "debug");
	f = fopen(path, "w");
	fputs("workers = 4\nmax_fanout = 3\n", f);
	fclose(f);
	brk_config_defaults(&cfg);
	/* a reload applies only reloadable settings */
	ck_assert_int_eq(brk_config_load_file(&cfg, path, 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(cfg.workers, 8);
	ck_assert_int_eq(cfg.max_fanout, 3);
	unlink(path);
}
END_TEST

/* Loads text as a configuration file; its status, err filled. */
static int
load_text(struct brk_config *cfg, const char *text, char *err, size_t len)
{
	char path[] = "/tmp/mdt-cfg-XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	brk_config_defaults(cfg);
	rc = brk_config_load_file(cfg, path, 0, err, len);
	unlink(path);
	return rc;
}

START_TEST(duplicates_quotes_suggestions)
{
	struct brk_config cfg;
	char err[512];

	ck_assert_int_eq(load_text(&cfg, "log_level = debug\nworkers = 4\n"
	    "log_level = info\n", err, sizeof(err)), -MDT_ECONFIG);
	ck_assert_msg(strstr(err, ":3: log_level is set twice") != NULL, "%s",
	    err);
	ck_assert_int_eq(load_text(&cfg, "idp_issuer = \"my idp # 1\"\n"
	    "log_level = 'warn'\nhttp_listen = \"127.0.0.1:9464\"\n", err,
	    sizeof(err)), 0);
	ck_assert_str_eq(cfg.idp_issuer, "my idp # 1");
	ck_assert_str_eq(cfg.log_level, "warn");
	ck_assert_str_eq(cfg.http_listen, "127.0.0.1:9464");
	ck_assert_int_eq(load_text(&cfg, "idp_issuer = \"open\n", err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_msg(strstr(err, "quote is not closed") != NULL, "%s", err);
	ck_assert_int_eq(load_text(&cfg, "stepup_timeout = 5\n", err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_msg(strstr(err, "did you mean 'stepup_timeout_ms'") != NULL,
	    "%s", err);
	ck_assert_int_eq(brk_config_set(&cfg, "log_levle", "x", err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_msg(strstr(err, "did you mean 'log_level'") != NULL, "%s",
	    err);
	ck_assert_int_eq(brk_config_set(&cfg, "zzzzzzzz", "x", err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_ptr_null(strstr(err, "did you mean"));
	ck_assert_int_eq(brk_config_set(&cfg, "log_format", "xml", err,
	    sizeof(err)), -MDT_ECONFIG);
	ck_assert_int_eq(brk_config_set(&cfg, "log_format", "json", err,
	    sizeof(err)), 0);
}
END_TEST

START_TEST(derived_paths)
{
	struct brk_config cfg;

	brk_config_defaults(&cfg);
	snprintf(cfg.run_dir, sizeof(cfg.run_dir), "/r");
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "/d");
	snprintf(cfg.policy_dir, sizeof(cfg.policy_dir), "/p");
	ck_assert_int_eq(brk_config_finish(&cfg), 0);
	ck_assert_str_eq(cfg.listen, "ipc:///r/mandated.sock");
	ck_assert_str_eq(cfg.pub_listen, "ipc:///r/mandated-events.sock");
	ck_assert_str_eq(cfg.store, "/d/audit.db");
	ck_assert_str_eq(cfg.root_key, "/d/root.key");
	ck_assert_str_eq(cfg.entities, "/p/entities.json");
}
END_TEST

/* Empty directories: the service manager's first, then root's system
 * directories, then the user's. */
START_TEST(default_dirs)
{
	struct brk_config cfg;

	setenv("STATE_DIRECTORY", "/var/lib/mandate-svc:/other", 1);
	setenv("RUNTIME_DIRECTORY", "/run/mandate-svc", 1);
	brk_config_defaults(&cfg);
	ck_assert_int_eq(brk_config_finish(&cfg), 0);
	ck_assert_str_eq(cfg.data_dir, "/var/lib/mandate-svc");
	ck_assert_str_eq(cfg.run_dir, "/run/mandate-svc");
	ck_assert_str_eq(cfg.store, "/var/lib/mandate-svc/audit.db");
	unsetenv("STATE_DIRECTORY");
	unsetenv("RUNTIME_DIRECTORY");
	setenv("XDG_STATE_HOME", "/home/u/.state", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	brk_config_defaults(&cfg);
	ck_assert_int_eq(brk_config_finish(&cfg), 0);
	if (getuid() == 0) {
		ck_assert_str_eq(cfg.data_dir, "/var/lib/mandate");
		ck_assert_str_eq(cfg.run_dir, "/run/mandate");
	} else {
		ck_assert_str_eq(cfg.data_dir, "/home/u/.state/mandate");
		ck_assert_str_eq(cfg.run_dir, "/run/user/1000/mandate");
	}
}
END_TEST

/* The store is a URI kept as written; the store itself resolves it. */
START_TEST(store_uri_kept)
{
	static const char *const uris[] = {
		"sqlite:/d/audit.db", "/d/audit.db", "postgresql://db/audit",
	};
	struct brk_config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		brk_config_defaults(&cfg);
		ck_assert_int_eq(brk_config_set(&cfg, "store", uris[i], err,
		    sizeof(err)), 0);
		snprintf(cfg.data_dir, sizeof(cfg.data_dir), "/other");
		ck_assert_int_eq(brk_config_finish(&cfg), 0);
		ck_assert_str_eq(cfg.store, uris[i]);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_config");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, example_matches_table);
	tcase_add_test(tc, bounds_and_types);
	tcase_add_test(tc, file_errors_name_the_line);
	tcase_add_test(tc, derived_paths);
	tcase_add_test(tc, duplicates_quotes_suggestions);
	tcase_add_test(tc, default_dirs);
	tcase_add_test(tc, store_uri_kept);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}
