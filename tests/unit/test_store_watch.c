/* Change notices of a shared store (mdt_store_watch): on PostgreSQL a
 * watch reports the ends and work another handle (another broker)
 * commits, never its own handle's, and after its connection is cut
 * reports the loss, the ends it missed and its return; a store that
 * cannot be shared has nothing to watch. */
#include <pthread.h>
#include <time.h>

#include <mandate/mandate.h>

#include "store_fixture.h"
#include "testutil.h"

static fx F;

#define EV_MAX 64

typedef struct seen {
	pthread_mutex_t mu;
	size_t n;
	mdt_store_event_kind kind[EV_MAX];
	int state[EV_MAX];
	char id[EV_MAX][64];
} seen;

static void
note(const mdt_store_event *ev, void *arg)
{
	seen *s = arg;

	pthread_mutex_lock(&s->mu);
	if (s->n < EV_MAX) {
		s->kind[s->n] = ev->kind;
		s->state[s->n] = ev->state;
		snprintf(s->id[s->n], sizeof(s->id[0]), "%s",
		    ev->id != NULL ? ev->id : "");
		s->n++;
	}
	pthread_mutex_unlock(&s->mu);
}

/* Index of the first event of kind naming id (NULL: any), or -1. */
static int
find(seen *s, mdt_store_event_kind kind, const char *id)
{
	int at = -1;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; at < 0 && i < s->n; i++)
		if (s->kind[i] == kind && (id == NULL ||
		    strcmp(s->id[i], id) == 0))
			at = (int)i;
	pthread_mutex_unlock(&s->mu);
	return at;
}

/* find, polled for up to ms. */
static int
wait_ms(seen *s, mdt_store_event_kind kind, const char *id, int ms)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	int at = -1;

	for (int i = 0; i <= ms / 10 && (at = find(s, kind, id)) < 0; i++)
		nanosleep(&ts, NULL);
	return at;
}

static int
wait_for(seen *s, mdt_store_event_kind kind, const char *id)
{
	return wait_ms(s, kind, id, 30000);
}

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

static mdt_store *
second_handle(void)
{
	mdt_store_opts o = {.seal_seed = F.seed};
	char err[MDT_ERRMSG_MAX];
	mdt_store *b = NULL;

	ck_assert_msg(mdt_store_open(F.uri, &o, &b, err, sizeof(err)) == 0,
	    "%s", err);
	return b;
}

static void
end(mdt_store *s, const char *task)
{
	mdt_store_revocation *rv = NULL;

	ck_assert_int_eq(mdt_store_end_task(s, task, MDT_TASK_CANCELLED, "ops",
	    "test", 0, &rv), 0);
	mdt_free(rv);
}

/* A watch reports what commits once it listens: ends tasks through b
 * until one is reported. */
static void
listening(seen *ev, mdt_store *b)
{
	for (int i = 0, ok = 0; !ok; i++) {
		char id[16];
		ck_assert_int_lt(i, 100);
		snprintf(id, sizeof(id), "w%d", i);
		fx_root(&F, id);
		end(b, id);
		ok = wait_ms(ev, MDT_STORE_EV_ENDED, id, 1000) >= 0;
	}
}

START_TEST(others_changes)
{
	static seen ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
	static const unsigned char tok[] = {1, 2, 3, 4};
	mdt_work_item it = {.id = "c2", .agent = "spiffe://clinic.example/labs",
	    .kind = MDT_WORK_TASK, .task = "c2", .parent = "t2",
	    .from = "spiffe://clinic.example/orchestrator", .op = "dispatch",
	    .scopes = "patient/Observation.rs", .patient = "pat-001",
	    .purpose = "TREAT", .clinician = "dr-who", .depth = 1,
	    .expires = 1234, .token = tok, .token_len = sizeof(tok)};
	mdt_store *b;
	int at;

	if (fx_backend_sqlite()) {
		ck_assert_int_eq(mdt_store_watch(F.s, note, &ev),
		    -MDT_EUNSUPPORTED);
		return;
	}
	b = second_handle();
	ck_assert_int_eq(mdt_store_watch(F.s, note, &ev), 0);
	ck_assert_int_eq(mdt_store_watch(F.s, note, &ev), -MDT_EBUSY);
	listening(&ev, b);
	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), 0);
	fx_root(&F, "t2");
	ck_assert_int_eq(fx_child(&F, "c2", "t2", 1, 0), 0);
	/* its own end first, then the other handle's: notices come in
	 * commit order, so by the other's the own one would have come */
	end(F.s, "t2");
	end(b, "t1");
	ck_assert_int_ge(at = wait_for(&ev, MDT_STORE_EV_ENDED, "t1"), 0);
	ck_assert_int_eq(ev.state[at], MDT_TASK_CANCELLED);
	ck_assert_int_ge(wait_for(&ev, MDT_STORE_EV_ENDED, "c1"), 0);
	ck_assert_int_lt(find(&ev, MDT_STORE_EV_ENDED, "t2"), 0);
	ck_assert_int_lt(find(&ev, MDT_STORE_EV_ENDED, "c2"), 0);
	/* work queued by the other handle names its agent */
	ck_assert_int_eq(fx_child(&F, "c3", "t1", 1, 0), -MDT_EREVOKED);
	fx_root(&F, "t3");
	it.parent = "t3";
	it.id = it.task = "c4";
	ck_assert_int_eq(fx_child(&F, "c4", "t3", 1, 0), 0);
	ck_assert_int_eq(mdt_store_work_push(b, &it, 0, NULL), 0);
	ck_assert_int_ge(wait_for(&ev, MDT_STORE_EV_WORK,
	    "spiffe://clinic.example/labs"), 0);
	/* a clinician-now grant changed by the other handle names the
	 * clinician; one that changes nothing (older) is not announced */
	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "dr-own", 10,
	    "patient/*.rs"), 0);
	ck_assert_int_eq(mdt_store_put_clinician_now(b, "dr-who", 10,
	    "patient/*.rs"), 0);
	ck_assert_int_ge(wait_for(&ev, MDT_STORE_EV_CLINICIAN, "dr-who"), 0);
	ck_assert_int_lt(find(&ev, MDT_STORE_EV_CLINICIAN, "dr-own"), 0);
	mdt_store_unwatch(F.s);
	mdt_store_unwatch(F.s); /* twice is a no-op */
	mdt_store_close(b);
}
END_TEST

/* The watch's connection cut under it: LOST, then the end committed
 * meanwhile (from the catch-up read or a notice), then BACK. */
START_TEST(connection_cut)
{
	static seen ev = {.mu = PTHREAD_MUTEX_INITIALIZER};
	char err[512];
	mdt_store *b;
	int lost, back;

	if (fx_backend_sqlite())
		return;
	b = second_handle();
	ck_assert_int_eq(mdt_store_watch(F.s, note, &ev), 0);
	listening(&ev, b);
	fx_root(&F, "t2");
	ck_assert_msg(mdt_test_pg_exec(F.uri, "SELECT pg_terminate_backend(pid)"
	    " FROM pg_stat_activity WHERE application_name = 'mandate-watch'"
	    " AND datname = current_database()", err, sizeof(err)) == 0, "%s",
	    err);
	end(b, "t2");
	ck_assert_int_ge(lost = wait_for(&ev, MDT_STORE_EV_LOST, NULL), 0);
	ck_assert_int_ge(back = wait_for(&ev, MDT_STORE_EV_BACK, NULL), 0);
	ck_assert_int_lt(lost, back);
	ck_assert_int_ge(wait_for(&ev, MDT_STORE_EV_ENDED, "t2"), 0);
	mdt_store_close(b);
}
END_TEST

/* A read-only handle writes nothing and is not a broker: no watch. */
START_TEST(read_only_handle)
{
	mdt_store_opts o = {.read_only = 1};
	mdt_store *r = NULL;
	char err[MDT_ERRMSG_MAX];
	seen ev;

	fx_root(&F, "t1");
	ck_assert_msg(mdt_store_open(F.uri, &o, &r, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(mdt_store_watch(r, note, &ev), -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_watch(NULL, note, &ev), -MDT_EINVAL);
	mdt_store_unwatch(NULL);
	mdt_store_close(r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_watch");
	TCase *tc = tcase_create("watch");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, others_changes);
	tcase_add_test(tc, connection_cut);
	tcase_add_test(tc, read_only_handle);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}
