/* Audit store files: fail closed when the database or its WAL is removed
 * or replaced under an open store, one writer per store (the lock and
 * its EBUSY naming the holder), read-only opens beside the writer, 0600
 * modes, the request content hash of decisions (round trip, chained,
 * idempotency by id), single-use acts and the migration from schema 1. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include <mandate/mandate.h>

#include "store/store_int.h"
#include "store_fixture.h"
#include "testutil.h"

static fx F;

static void
setup(void)
{
	fx_init(&F);
	fx_open(&F);
}

static void
teardown(void)
{
	fx_cleanup(&F);
}

static void
sidecar(char *out, size_t len, const char *sfx)
{
	snprintf(out, len, "%s%s", F.path, sfx);
}

static void
unlink_store(void)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char p[200];

	for (size_t i = 0; i < 3; i++) {
		sidecar(p, sizeof(p), sfx[i]);
		unlink(p);
	}
}

static int
append(const char *req, const uint8_t *hash)
{
	mdt_store_decision d = {.request_id = req, .operation = "authorize",
	    .verdict = MDT_STORE_ALLOW, .action = "read",
	    .resource = "Observation/obs-1", .request_hash = hash};

	return mdt_store_append_decision(F.s, &d, NULL);
}

static void
assert_errmsg(const char *want)
{
	char msg[MDT_ERRMSG_MAX];

	mdt_store_errmsg(F.s, msg, sizeof(msg));
	ck_assert_msg(strstr(msg, want) != NULL, "errmsg \"%s\" lacks \"%s\"",
	    msg, want);
}

struct async_rc {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, rc;
};

static void
on_done(void *arg, int rc, uint64_t seq)
{
	struct async_rc *a = arg;

	(void)seq;
	pthread_mutex_lock(&a->mu);
	a->rc = rc;
	a->done = 1;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* The hash is copied at the call: h is overwritten before the commit. */
static int
append_async_hash(const char *req, uint8_t *h)
{
	struct async_rc a = {PTHREAD_MUTEX_INITIALIZER,
	    PTHREAD_COND_INITIALIZER, 0, 0};
	mdt_store_decision d = {.request_id = req, .operation = "authorize",
	    .verdict = MDT_STORE_ALLOW, .request_hash = h};

	ck_assert_int_eq(mdt_store_append_decision_async(F.s, &d, on_done,
	    &a), 0);
	if (h != NULL)
		memset(h, 0xee, 32);
	pthread_mutex_lock(&a.mu);
	while (!a.done)
		pthread_cond_wait(&a.cv, &a.mu);
	pthread_mutex_unlock(&a.mu);
	return a.rc;
}

static int
append_async(const char *req)
{
	return append_async_hash(req, NULL);
}

/* Every kind of write fails with ESTORE, again and again. */
static void
assert_failed_for_good(void)
{
	uint8_t h[32] = {7};

	for (int i = 0; i < 3; i++) {
		char req[32];
		snprintf(req, sizeof(req), "after-%d", i);
		ck_assert_int_eq(append(req, NULL), -MDT_ESTORE);
	}
	ck_assert_int_eq(append_async("after-async"), -MDT_ESTORE);
	ck_assert_int_eq(mdt_store_use_act(F.s, h, "assertion", "dr-who",
	    mdt_store_now_ms() + 60000), -MDT_ESTORE);
	ck_assert_int_eq(mdt_store_checkpoint(F.s, NULL), -MDT_ESTORE);
	assert_errmsg("removed or replaced");
}

START_TEST(removed_store_fails_closed)
{
	ck_assert_int_eq(append("r1", NULL), 0);
	unlink_store();
	ck_assert_int_eq(append("r2", NULL), -MDT_ESTORE);
	assert_errmsg(F.path);
	assert_failed_for_good();
	/* Reopening starts a store at the path again. */
	fx_close(&F);
	fx_open(&F);
	ck_assert_int_eq(append("r3", NULL), 0);
}
END_TEST

/* Copies src to dst byte for byte. */
static void
copy_file(const char *src, const char *dst)
{
	char buf[8192];
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	size_t n;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

START_TEST(replaced_store_fails_closed)
{
	char copy[200];

	ck_assert_int_eq(append("r1", NULL), 0);
	ck_assert_int_eq(mdt_store_checkpoint(F.s, NULL), 0);
	sidecar(copy, sizeof(copy), ".copy");
	copy_file(F.path, copy);
	ck_assert_int_eq(rename(copy, F.path), 0);
	ck_assert_int_eq(append("r2", NULL), -MDT_ESTORE);
	assert_failed_for_good();
}
END_TEST

START_TEST(removed_wal_fails_closed)
{
	char wal[200];

	ck_assert_int_eq(append("r1", NULL), 0);
	sidecar(wal, sizeof(wal), "-wal");
	ck_assert_int_eq(unlink(wal), 0);
	ck_assert_int_eq(append("r2", NULL), -MDT_ESTORE);
	assert_failed_for_good();
}
END_TEST

START_TEST(second_writer_is_busy)
{
	char err[MDT_ERRMSG_MAX], want[64];
	mdt_store *s2 = NULL;

	ck_assert_int_eq(mdt_store_open(F.path, NULL, &s2, err, sizeof(err)),
	    -MDT_EBUSY);
	ck_assert_ptr_null(s2);
	snprintf(want, sizeof(want), "locked by process %ld", (long)getpid());
	ck_assert_msg(strstr(err, want) != NULL, "err: %s", err);
	ck_assert_ptr_nonnull(strstr(err, F.path));
	ck_assert_ptr_nonnull(strstr(err, "(another mandated?)"));
	/* The first writer is unharmed, and the lock goes with it. */
	ck_assert_int_eq(append("r1", NULL), 0);
	fx_close(&F);
	ck_assert_int_eq(mdt_store_open(F.path, NULL, &s2, err, sizeof(err)),
	    0);
	mdt_store_close(s2);
}
END_TEST

START_TEST(read_only_beside_the_writer)
{
	mdt_store_opts o = {.read_only = 1, .readers = 1};
	char err[MDT_ERRMSG_MAX];
	mdt_store_decision *d = NULL;
	mdt_store *ro = NULL;

	ck_assert_int_eq(append("r1", NULL), 0);
	ck_assert_int_eq(mdt_store_open(F.path, &o, &ro, err, sizeof(err)),
	    0);
	ck_assert_int_eq(mdt_store_find_decision(ro, "r1", &d), 0);
	ck_assert_str_eq(d->resource, "Observation/obs-1");
	mdt_free(d);
	/* The writer goes on writing while the reader is open. */
	ck_assert_int_eq(append("r2", NULL), 0);
	ck_assert_int_eq(mdt_store_find_decision(ro, "r2", &d), 0);
	mdt_free(d);
	mdt_store_close(ro);
}
END_TEST

static unsigned
mode_of(const char *sfx)
{
	char p[200];
	struct stat st;

	sidecar(p, sizeof(p), sfx);
	ck_assert_msg(stat(p, &st) == 0, "stat %s", p);
	return (unsigned)(st.st_mode & 0777);
}

static void
assert_private(void)
{
	static const char *const sfx[] = {"", "-wal", "-shm", ".lock"};

	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(mode_of(sfx[i]) == 0600, "%s%s: mode %o", F.path,
		    sfx[i], mode_of(sfx[i]));
}

START_TEST(created_private)
{
	mode_t old;

	/* Even with a umask that would allow everything. */
	char lock[200];

	fx_close(&F);
	unlink_store();
	sidecar(lock, sizeof(lock), ".lock");
	ck_assert_int_eq(unlink(lock), 0);
	old = umask(0);
	fx_open(&F);
	umask(old);
	ck_assert_int_eq(append("r1", NULL), 0);
	assert_private();
}
END_TEST

START_TEST(existing_store_tightened)
{
	static const char *const sfx[] = {"", "-wal", "-shm", ".lock"};
	mdt_store_opts o = {.read_only = 1, .readers = 1};
	mdt_store *ro = NULL;
	char p[200];

	ck_assert_int_eq(append("r1", NULL), 0);
	/* A reader keeps -wal and -shm in place across the writer's close. */
	ck_assert_int_eq(mdt_store_open(F.path, &o, &ro, NULL, 0), 0);
	fx_close(&F);
	for (size_t i = 0; i < 4; i++) {
		sidecar(p, sizeof(p), sfx[i]);
		ck_assert_int_eq(chmod(p, 0644), 0);
	}
	fx_open(&F);
	assert_private();
	ck_assert_int_eq(append("r2", NULL), 0);
	mdt_store_close(ro);
}
END_TEST

START_TEST(request_hash_round_trip)
{
	uint8_t h[32];
	mdt_store_decision *d = NULL, *d2 = NULL;
	fx_issues is;

	randombytes_buf(h, sizeof(h));
	ck_assert_int_eq(append("with", h), 0);
	ck_assert_int_eq(append("without", NULL), 0);
	ck_assert_int_eq(mdt_store_find_decision(F.s, "with", &d), 0);
	ck_assert_ptr_nonnull(d->request_hash);
	ck_assert_mem_eq(d->request_hash, h, 32);
	/* It lives in the record's one allocation. */
	ck_assert((const unsigned char *)d->request_hash >
	    (const unsigned char *)d);
	ck_assert_ptr_nonnull(d->resource);
	ck_assert_str_eq(d->resource, "Observation/obs-1");
	ck_assert_int_eq(mdt_store_get_decision(F.s, d->seq, &d2), 0);
	ck_assert_mem_eq(d2->request_hash, h, 32);
	mdt_free(d2);
	mdt_free(d);
	ck_assert_int_eq(mdt_store_find_decision(F.s, "without", &d), 0);
	ck_assert_ptr_null(d->request_hash);
	mdt_free(d);
	ck_assert_int_eq(fx_verify(&F, &is, NULL), 0);
}
END_TEST

static int
collect_line(void *arg, const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, 0, NULL);

	ck_assert_ptr_nonnull(j);
	json_array_append_new(arg, j);
	return 0;
}

/* The export line of seq (a new reference; caller decrefs). */
static json_t *
export_line(uint64_t seq)
{
	json_t *all = json_array(), *v, *found = NULL;
	size_t i;

	ck_assert_int_eq(mdt_store_export_jsonl(F.s, NULL, collect_line, all),
	    0);
	json_array_foreach(all, i, v)
		if (json_integer_value(json_object_get(v, "seq")) ==
		    (json_int_t)seq && json_object_get(v, "hash") != NULL)
			found = json_incref(v);
	json_decref(all);
	ck_assert_ptr_nonnull(found);
	return found;
}

START_TEST(request_hash_async)
{
	uint8_t h[32], want[32];
	mdt_store_decision *d = NULL;

	randombytes_buf(want, sizeof(want));
	memcpy(h, want, sizeof(h));
	ck_assert_int_eq(append_async_hash("r1", h), 0);
	ck_assert_int_eq(mdt_store_find_decision(F.s, "r1", &d), 0);
	ck_assert_mem_eq(d->request_hash, want, 32);
	mdt_free(d);
}
END_TEST

START_TEST(request_hash_exported)
{
	uint8_t h[32];
	char hex[65];
	uint64_t seq;
	mdt_store_decision d = {.request_id = "r1", .operation = "authorize",
	    .verdict = MDT_STORE_ALLOW, .request_hash = h};
	json_t *line;

	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(0xa0 + i);
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &seq), 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	line = export_line(seq);
	ck_assert_str_eq(json_string_value(json_object_get(line,
	    "request_hash")), hex);
	json_decref(line);
	d.request_id = "r2";
	d.request_hash = NULL;
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &seq), 0);
	line = export_line(seq);
	ck_assert(json_is_null(json_object_get(line, "request_hash")));
	json_decref(line);
}
END_TEST

START_TEST(changed_request_hash_detected)
{
	uint8_t h[32] = {1, 2, 3};
	uint64_t a, b;
	fx_issues is;
	mdt_store_decision d = {.request_id = "r1", .operation = "authorize",
	    .verdict = MDT_STORE_ALLOW, .request_hash = h};
	char sql[160];

	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &a), 0);
	d.request_id = "r2";
	d.request_hash = NULL;
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &b), 0);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, NULL), 0);
	/* A changed hash, a removed one, and one added where none was. */
	snprintf(sql, sizeof(sql), "UPDATE decisions SET request_hash ="
	    " zeroblob(32) WHERE seq = %" PRIu64 ";", a);
	fx_sql(&F, sql);
	snprintf(sql, sizeof(sql), "UPDATE decisions SET request_hash ="
	    " zeroblob(32) WHERE seq = %" PRIu64 ";", b);
	fx_sql(&F, sql);
	ck_assert_int_eq(fx_verify(&F, &is, NULL), -MDT_EAUDIT);
	ck_assert(fx_has(&is, MDT_STORE_CHANGED, a));
	ck_assert(fx_has(&is, MDT_STORE_CHANGED, b));
	fx_sql(&F, "UPDATE decisions SET request_hash = NULL;");
	ck_assert_int_eq(fx_verify(&F, &is, NULL), -MDT_EAUDIT);
	ck_assert(fx_has(&is, MDT_STORE_CHANGED, a));
	ck_assert(!fx_has(&is, MDT_STORE_CHANGED, b));
}
END_TEST

START_TEST(reused_request_id_keeps_the_first)
{
	uint8_t h1[32] = {1}, h2[32] = {2};
	mdt_store_decision *d = NULL;
	mdt_store_decision other = {.request_id = "r1",
	    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
	    .resource = "Observation/obs-2", .request_hash = h2};

	ck_assert_int_eq(append("r1", h1), 0);
	fx_close(&F);
	fx_open(&F); /* a restart in between */
	ck_assert_int_eq(mdt_store_append_decision(F.s, &other, NULL),
	    -MDT_EEXIST);
	ck_assert_int_eq(mdt_store_find_decision(F.s, "r1", &d), 0);
	ck_assert_mem_eq(d->request_hash, h1, 32);
	ck_assert_str_eq(d->resource, "Observation/obs-1");
	mdt_free(d);
}
END_TEST

START_TEST(act_used_once)
{
	uint8_t h[32], h2[32];
	int64_t exp = mdt_store_now_ms() + 300000;
	mdt_store_report rep;
	fx_issues is;

	randombytes_buf(h, sizeof(h));
	randombytes_buf(h2, sizeof(h2));
	ck_assert_int_eq(mdt_store_use_act(F.s, h, "assertion", "dr-who",
	    exp), 0);
	ck_assert_int_eq(mdt_store_use_act(F.s, h, "assertion", "dr-who",
	    exp), -MDT_EEXIST);
	fx_close(&F);
	fx_open(&F);
	ck_assert_int_eq(mdt_store_use_act(F.s, h, "assertion", "dr-who",
	    exp), -MDT_EEXIST);
	ck_assert_int_eq(mdt_store_use_act(F.s, h2, "assertion", "dr-who",
	    exp), 0);
	ck_assert_int_eq(mdt_store_use_act(F.s, NULL, "assertion", "dr-who",
	    exp), -MDT_EINVAL);
	/* Chained: both records verify, a changed one does not. */
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(rep.records, 2);
	fx_sql(&F, "UPDATE act_uses SET clinician = 'dr-mallory' WHERE"
	    " seq = 1;");
	ck_assert_int_eq(fx_verify(&F, &is, NULL), -MDT_EAUDIT);
	ck_assert(fx_has(&is, MDT_STORE_CHANGED, 1));
}
END_TEST

START_TEST(act_use_exported)
{
	uint8_t h[32];
	char hex[65];
	json_t *line;

	memset(h, 0x5a, sizeof(h));
	fx_root(&F, "t1");
	ck_assert_int_eq(mdt_store_use_act(F.s, h, "assertion", "dr-who",
	    123), 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	line = export_line(2);
	ck_assert_str_eq(json_string_value(json_object_get(line, "kind")),
	    "act_use");
	ck_assert_str_eq(json_string_value(json_object_get(line,
	    "act_hash")), hex);
	ck_assert_str_eq(json_string_value(json_object_get(line,
	    "clinician")), "dr-who");
	ck_assert_str_eq(json_string_value(json_object_get(line,
	    "act_kind")), "assertion");
	json_decref(line);
}
END_TEST

/* A store as schema 1 wrote it: no request_hash, no act_uses, no work,
 * no query indexes. */
static void
make_v1(void)
{
	fx_sql(&F, FX_SQLITE_UNDO_5 "DROP TABLE act_uses; DROP TABLE work;"
	    "DROP TABLE decision_agents; DROP INDEX decisions_patient;"
	    "DROP INDEX decisions_clinician; DROP INDEX decisions_time;"
	    "ALTER TABLE decisions DROP COLUMN request_hash;"
	    "PRAGMA user_version = 1;");
}

START_TEST(schema_1_migrates)
{
	mdt_store_opts o = {.read_only = 1};
	char err[MDT_ERRMSG_MAX];
	uint8_t h[32] = {9};
	mdt_store *ro = NULL;
	fx_issues is;

	fx_root(&F, "t1");
	fx_decision(&F, "r1", "t1", MDT_STORE_ALLOW);
	fx_close(&F);
	make_v1();
	ck_assert_int_eq(mdt_store_open(F.path, &o, &ro, err, sizeof(err)),
	    -MDT_EVERSION);
	ck_assert_msg(strstr(err, "older") != NULL, "err: %s", err);
	ck_assert_int_eq(mdt_store_verify(F.path, F.pk, NULL, NULL, NULL, err,
	    sizeof(err)), -MDT_EVERSION);
	fx_open(&F);
	ck_assert_int_eq(append("r2", h), 0);
	ck_assert_int_eq(mdt_store_use_act(F.s, h, "assertion", "dr-who", 1),
	    0);
	fx_close(&F);
	/* Records of schema 1 verify unchanged beside the new ones. */
	ck_assert_int_eq(fx_verify(&F, &is, NULL), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_files");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, removed_store_fails_closed);
	tcase_add_test(tc, replaced_store_fails_closed);
	tcase_add_test(tc, removed_wal_fails_closed);
	tcase_add_test(tc, second_writer_is_busy);
	tcase_add_test(tc, read_only_beside_the_writer);
	tcase_add_test(tc, created_private);
	tcase_add_test(tc, existing_store_tightened);
	tcase_add_test(tc, request_hash_round_trip);
	tcase_add_test(tc, request_hash_async);
	tcase_add_test(tc, request_hash_exported);
	tcase_add_test(tc, changed_request_hash_detected);
	tcase_add_test(tc, reused_request_id_keeps_the_first);
	tcase_add_test(tc, act_used_once);
	tcase_add_test(tc, act_use_exported);
	tcase_add_test(tc, schema_1_migrates);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
