/*
 * `mandatectl audit` end to end: a store written with a real broker key
 * pair (key.h files), verified by the CLI; tampered with in SQLite and
 * verified again (exit 1, the seq named); exported as JSON lines; an
 * unreadable store and a wrong key give exit 2.  --store URI
 * (sqlite:PATH, PATH) and --db FILE name the same store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include <mandate/store.h>
#include <mandate/key.h>

static char dir[] = "/tmp/mdt-auditctl-XXXXXX";
static char db[128], base[128], ctl[512];
static char out[1 << 16];

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "test_audit_ctl:%d: ", __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n--- output ---\n%s\n", out); \
		exit(1); \
	} \
} while (0)

/* Runs mandatectl with args; output in `out`; returns the exit status. */
static int
run(const char *args)
{
	char cmd[1024];
	size_t n = 0, got;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", ctl, args);
	p = popen(cmd, "r");
	CHECK(p != NULL, "popen %s", cmd);
	while ((got = fread(out + n, 1, sizeof(out) - 1 - n, p)) > 0)
		n += got;
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
write_store(void)
{
	char err[MDT_ERRMSG_MAX];
	uint8_t seed[MDT_KEY_SEED_BYTES];
	mdt_keypair *kp;
	mdt_store *s;
	mdt_store_opts o = {.seal_seed = seed, .checkpoint_every = 4};
	mdt_store_task t = {.task_id = "t1", .operation = "open",
	    .patient = "pat-001", .clinician = "dr-who", .purpose = "TREAT",
	    .holder = "spiffe://clinic.example/orchestrator",
	    .expires_ms = 1};

	CHECK(mdt_keypair_generate(&kp) == 0, "keygen");
	CHECK(mdt_keypair_save(kp, base, err, sizeof(err)) == 0, "save %s",
	    err);
	mdt_keypair_seed(kp, seed);
	mdt_keypair_free(kp);
	CHECK(mdt_store_open(db, &o, &s, err, sizeof(err)) == 0, "open %s",
	    err);
	sodium_memzero(seed, sizeof(seed));
	CHECK(mdt_store_add_task(s, &t, 0, NULL) == 0, "task");
	for (int i = 0; i < 10; i++) {
		char req[16];
		mdt_store_decision d = {.request_id = req,
		    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
		    .task_id = "t1", .action = "read",
		    .resource = "Observation/obs-1"};
		uint8_t h[MDT_STORE_HASH_BYTES];
		memset(h, 0xab, sizeof(h));
		if (i == 9)
			d.request_hash = h;
		snprintf(req, sizeof(req), "r%d", i);
		CHECK(mdt_store_append_decision(s, &d, NULL) == 0, "append");
	}
	mdt_store_close(s);
}

static void
tamper(const char *sql)
{
	sqlite3 *h;

	CHECK(sqlite3_open(db, &h) == SQLITE_OK, "sqlite open");
	CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sql);
	sqlite3_close(h);
}

/* Runs `audit CMD --db FILE REST` and `audit CMD --store URI REST` for
 * URI sqlite:FILE and FILE: all three must exit `want` with the same
 * output. */
static void
same_as_db(const char *cmd, const char *rest, int want)
{
	static char first[sizeof(out)];
	const char *forms[] = {"--store sqlite:", "--store "};
	char args[512];

	snprintf(args, sizeof(args), "audit %s --db %s %s", cmd, db, rest);
	CHECK(run(args) == want, "%s", args);
	memcpy(first, out, sizeof(out));
	for (size_t i = 0; i < 2; i++) {
		snprintf(args, sizeof(args), "audit %s %s%s %s", cmd,
		    forms[i], db, rest);
		CHECK(run(args) == want, "%s", args);
		CHECK(strcmp(out, first) == 0, "%s differs from --db", args);
	}
}

static void
cleanup(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int
main(void)
{
	const char *bin = getenv("MDT_BINARY_DIR");
	char args[512];
	FILE *f;

	CHECK(sodium_init() >= 0 && mkdtemp(dir) != NULL, "setup");
	snprintf(ctl, sizeof(ctl), "%s/broker/mandatectl", bin ? bin : ".");
	snprintf(db, sizeof(db), "%s/audit.db", dir);
	snprintf(base, sizeof(base), "%s/broker", dir);
	write_store();

	snprintf(args, sizeof(args), "audit verify --db %s --pub %s.pub", db,
	    base);
	CHECK(run(args) == 0, "intact store must verify");
	CHECK(strstr(out, "intact: 11 records") != NULL, "summary");

	CHECK(run("audit --help") == 0 && strstr(out, "Exit status") != NULL,
	    "help");
	CHECK(strstr(out, "--store URI") != NULL && strstr(out, "--db FILE")
	    != NULL, "help names --store URI and --db FILE");

	snprintf(args, sizeof(args), "--pub %s.pub", base);
	same_as_db("verify", args, 0);
	CHECK(strstr(out, "intact: 11 records") != NULL, "summary by URI");
	same_as_db("export", "", 0);
	same_as_db("list", "--after 3", 0);
	same_as_db("tree", "--task t1", 0);
	snprintf(args, sizeof(args), "audit verify --store "
	    "mysql://db.example/audit --pub %s.pub", base);
	CHECK(run(args) == 2 && strstr(out, "mysql") != NULL &&
	    strstr(out, "sqlite") != NULL && strstr(out, "postgresql") !=
	    NULL, "unsupported scheme named");
	snprintf(args, sizeof(args), "audit list --store mysql://h/a");
	CHECK(run(args) == 2 && strstr(out, "sqlite") != NULL,
	    "unsupported scheme on open");
	/* a PostgreSQL store that cannot be reached: a store error */
	snprintf(args, sizeof(args), "audit list --store "
	    "'postgresql:///audit?host=/nonexistent-mdt'");
	CHECK(run(args) == 2 && strstr(out, "PostgreSQL") != NULL,
	    "unreachable PostgreSQL store");
	CHECK(run("audit list --store sqlite:") == 2, "empty sqlite: path");
	CHECK(run("audit verify") == 64, "usage error");

	snprintf(args, sizeof(args), "audit export --db %s", db);
	CHECK(run(args) == 0, "export");
	CHECK(strncmp(out, "{\"kind\":\"store\"", 15) == 0, "header line");
	CHECK(strstr(out, "\"kind\":\"checkpoint\"") != NULL, "checkpoints");
	CHECK(strstr(out, "\"request_id\":\"r9\"") != NULL, "decision r9");
	CHECK(strstr(out, "\"request_hash\":\"abababab") != NULL,
	    "request_hash as hex");

	snprintf(args, sizeof(args), "audit list --db %s --after 9", db);
	CHECK(run(args) == 0, "list");
	CHECK(strncmp(out, "10 ", 3) == 0 && strstr(out, "\n11 ") != NULL,
	    "list after 9");
	CHECK(strstr(out, " request_hash=- ") != NULL &&
	    strstr(out, " request_hash=abababab") != NULL, "list request_hash");

	snprintf(args, sizeof(args), "audit tree --db %s --task t1", db);
	CHECK(run(args) == 0 && strstr(out, "\"decisions\"") != NULL, "tree");
	snprintf(args, sizeof(args), "audit tree --db %s --task nope", db);
	CHECK(run(args) == 2, "unknown task");

	tamper("UPDATE decisions SET resource = 'Patient/other' WHERE seq = 6");
	snprintf(args, sizeof(args), "audit verify --db %s --pub %s.pub", db,
	    base);
	CHECK(run(args) == 1, "tampered store must fail");
	CHECK(strstr(out, "ISSUE changed 6:") != NULL, "names seq 6");
	CHECK(strstr(out, "TAMPERED") != NULL, "summary");
	snprintf(args, sizeof(args), "--pub %s.pub", base);
	same_as_db("verify", args, 1);
	CHECK(strstr(out, "ISSUE changed 6:") != NULL, "names seq 6 by URI");

	/* A key that did not sign it: every checkpoint is bad. */
	snprintf(args, sizeof(args), "audit verify --db %s --pub "
	    "mdtpk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", db);
	CHECK(run(args) == 1 && strstr(out, "bad_checkpoint") != NULL,
	    "wrong key");
	snprintf(args, sizeof(args), "audit verify --db %s --pub %s/none.pub",
	    db, dir);
	CHECK(run(args) == 2, "missing key file");

	snprintf(args, sizeof(args), "%s/junk.db", dir);
	f = fopen(args, "w");
	CHECK(f != NULL, "junk");
	fputs("not an sqlite database at all, just some text.........\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "audit verify --db %s/junk.db --pub "
	    "%s.pub", dir, base);
	CHECK(run(args) == 2, "unreadable store");
	cleanup();
	printf("ok\n");
	return 0;
}
