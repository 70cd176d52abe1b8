/*
 * Cross-broker change notices of the PostgreSQL backend.  Triggers on
 * `ended`, `work`, `approval_decisions` and `clinician_now` call
 * pg_notify in the transaction that writes the row, so a notice is
 * delivered only when that transaction commits, in commit order, and
 * never for a rolled-back batch.  The watch (mdt_store_watch) is a
 * thread with a connection of its own that LISTENs and turns each
 * notice into an event; notices of this handle's own writer (known by
 * its backend pid) are skipped.  When the connection drops it reports
 * LOST, reconnects, and before BACK reports the ends committed
 * meanwhile, read from `ended` by revocation seq, so no end is missed
 * across an outage.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc_int.h"
#include "pg_int.h"

#define CHANNEL "mandate"
#define KEEPALIVE_MS 2000      /* an idle watch checks its connection */
#define RETRY_MS 200           /* between reconnection attempts */

/* Idempotent, so every writer open runs it; the advisory lock ("MDTN")
 * keeps two brokers starting together from racing on the catalog. */
static const char triggers_sql[] =
    "BEGIN; SELECT pg_advisory_xact_lock(1296323662);"
    "CREATE OR REPLACE FUNCTION mdt_notify_ended() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('" CHANNEL "',"
    " 'end ' || NEW.state || ' ' || NEW.rev_seq || ' ' || NEW.task_id);"
    " RETURN NULL; END $$;"
    "CREATE OR REPLACE FUNCTION mdt_notify_work() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('" CHANNEL "',"
    " 'work 0 0 ' || NEW.agent); RETURN NULL; END $$;"
    "CREATE OR REPLACE FUNCTION mdt_notify_approval() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('" CHANNEL "',"
    " 'appr 0 0 ' || NEW.approval_id); RETURN NULL; END $$;"
    "CREATE OR REPLACE FUNCTION mdt_notify_clinician() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('" CHANNEL "',"
    " 'clin 0 0 ' || NEW.clinician); RETURN NULL; END $$;"
    "DO $$ BEGIN"
    " IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname ="
    " 'mdt_ended_notify') THEN CREATE TRIGGER mdt_ended_notify AFTER"
    " INSERT ON ended FOR EACH ROW EXECUTE FUNCTION mdt_notify_ended();"
    " END IF;"
    " IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname ="
    " 'mdt_work_notify') THEN CREATE TRIGGER mdt_work_notify AFTER"
    " INSERT ON work FOR EACH ROW EXECUTE FUNCTION mdt_notify_work();"
    " END IF;"
    " IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname ="
    " 'mdt_approval_notify') THEN CREATE TRIGGER mdt_approval_notify"
    " AFTER INSERT ON approval_decisions FOR EACH ROW EXECUTE FUNCTION"
    " mdt_notify_approval(); END IF;"
    " IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname ="
    " 'mdt_clinician_notify') THEN CREATE TRIGGER mdt_clinician_notify"
    " AFTER INSERT OR UPDATE ON clinician_now FOR EACH ROW EXECUTE"
    " FUNCTION mdt_notify_clinician(); END IF; END $$;"
    "COMMIT";

struct mdt__pgwatch {
	mdt_store *s;
	mdt_store_event_fn fn;
	void *arg;
	pthread_t thr;
	int stop_fd[2];       /* a byte on [1] ends the thread */
	PGconn *c;
	uint64_t last_rev;    /* highest revocation seq reported or seen */
	/* set once the first attach listens or LOST was reported: the
	 * caller of mdt_store_watch waits for it (under mu) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started;
};

static int
install(mdt_store *s, char *err, size_t errlen)
{
	PGresult *r = PQexec(s->bs->w.c, triggers_sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	if (ok)
		return 0;
	snprintf(err, errlen, "PostgreSQL change notices: %s",
	    PQerrorMessage(s->bs->w.c));
	PQclear(PQexec(s->bs->w.c, "ROLLBACK"));
	return -MDT_ESTORE;
}

int
mdt__pg_notify_writer_open(mdt_store *s, char *err, size_t errlen)
{
	int rc = mdt__pg_writer_open(s, err, errlen);

	return rc != 0 ? rc : install(s, err, errlen);
}

/* Each batch: the writer connection may have been reset since the last
 * one, and the watch must know which notices are this handle's own. */
int
mdt__pg_notify_begin(mdt_store *s)
{
	int rc = mdt__pg_begin(s);

	if (s->bs->w.c != NULL)
		atomic_store(&s->bs->wpid, PQbackendPID(s->bs->w.c));
	return rc;
}

static void
emit(struct mdt__pgwatch *w, mdt_store_event_kind kind, const char *id,
    int state, uint64_t seq)
{
	mdt_store_event ev = { kind, id, state, seq };

	w->fn(&ev, w->arg);
}

/* "KIND STATE SEQ ID" */
static void
notice(struct mdt__pgwatch *w, const PGnotify *n)
{
	char kind[8];
	long long state, seq;
	int off = 0;

	if (sscanf(n->extra, "%7s %lld %lld %n", kind, &state, &seq,
	    &off) != 3 || off == 0 || n->extra[off] == '\0')
		return;
	if (strcmp(kind, "end") == 0 && (uint64_t)seq > w->last_rev)
		w->last_rev = (uint64_t)seq;
	if (n->be_pid == atomic_load(&w->s->bs->wpid))
		return;
	if (strcmp(kind, "end") == 0)
		emit(w, MDT_STORE_EV_ENDED, n->extra + off, (int)state,
		    (uint64_t)seq);
	else if (strcmp(kind, "work") == 0)
		emit(w, MDT_STORE_EV_WORK, n->extra + off, 0, 0);
	else if (strcmp(kind, "appr") == 0)
		emit(w, MDT_STORE_EV_APPROVAL, n->extra + off, 0, 0);
	else if (strcmp(kind, "clin") == 0)
		emit(w, MDT_STORE_EV_CLINICIAN, n->extra + off, 0, 0);
}

/* Reports the ends committed after last_rev (all of them when report is
 * 0: then it only learns where the chain of ends stands). */
static int
catch_up(struct mdt__pgwatch *w, int report)
{
	char sql[160];
	PGresult *r;
	int ok;

	if (report)
		snprintf(sql, sizeof(sql), "SELECT state, rev_seq, task_id"
		    " FROM ended WHERE rev_seq > %llu ORDER BY rev_seq",
		    (unsigned long long)w->last_rev);
	else
		snprintf(sql, sizeof(sql), "SELECT 0, coalesce(max(rev_seq), 0),"
		    " '' FROM ended");
	r = PQexec(w->c, sql);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	for (int i = 0; ok && i < PQntuples(r); i++) {
		uint64_t seq = strtoull(PQgetvalue(r, i, 1), NULL, 10);
		if (report)
			emit(w, MDT_STORE_EV_ENDED, PQgetvalue(r, i, 2),
			    atoi(PQgetvalue(r, i, 0)), seq);
		if (seq > w->last_rev)
			w->last_rev = seq;
	}
	PQclear(r);
	return ok ? 0 : -MDT_ESTORE;
}

/* Connects and LISTENs; after an outage (lost), reports what it missed
 * and BACK.  0, or -MDT_ESTORE with no connection left. */
static int
attach(struct mdt__pgwatch *w, int lost)
{
	char err[256];
	PGresult *r;
	int ok;

	if (mdt__pg_connect(w->s->path, &w->c, err, sizeof(err)) != 0)
		return -MDT_ESTORE;
	/* named, so an operator can tell it in pg_stat_activity */
	r = PQexec(w->c, "SET application_name = 'mandate-watch'; LISTEN "
	    CHANNEL);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	/* LISTEN first: an end committed from here on is either in the
	 * catch-up read or a notice, and one reported twice is harmless. */
	if (ok && catch_up(w, lost) == 0) {
		if (lost)
			emit(w, MDT_STORE_EV_BACK, NULL, 0, 0);
		return 0;
	}
	PQfinish(w->c);
	w->c = NULL;
	return -MDT_ESTORE;
}

/* Waits for input on the connection or the stop pipe: 1 input (or idle
 * time to check the connection), 0 stop. */
static int
wait_input(struct mdt__pgwatch *w, int *idle)
{
	struct pollfd p[2] = {
		{ .fd = w->stop_fd[0], .events = POLLIN },
		{ .fd = w->c != NULL ? PQsocket(w->c) : -1, .events = POLLIN },
	};
	int n = poll(p, 2, w->c != NULL ? KEEPALIVE_MS : RETRY_MS);

	if (n < 0 && errno != EINTR)
		return 0;
	if (p[0].revents != 0)
		return 0;
	*idle = n == 0;
	return 1;
}

/* Reads what arrived; 0 while the connection is sound. */
static int
drain(struct mdt__pgwatch *w, int idle)
{
	PGnotify *n;

	if (idle) {
		/* a server that vanished without closing the socket */
		PGresult *r = PQexec(w->c, "SELECT 1");
		int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
		if (!ok)
			return -MDT_ESTORE;
	}
	if (PQconsumeInput(w->c) == 0)
		return -MDT_ESTORE;
	while ((n = PQnotifies(w->c)) != NULL) {
		notice(w, n);
		PQfreemem(n);
	}
	return PQstatus(w->c) == CONNECTION_OK ? 0 : -MDT_ESTORE;
}

static void
started(struct mdt__pgwatch *w)
{
	pthread_mutex_lock(&w->mu);
	w->started = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void *
watch_main(void *arg)
{
	struct mdt__pgwatch *w = arg;
	int lost = 0, idle = 0;

	if (attach(w, 0) != 0) {
		lost = 1;
		emit(w, MDT_STORE_EV_LOST, NULL, 0, 0);
	}
	started(w);
	while (wait_input(w, &idle)) {
		if (w->c == NULL) {
			if (attach(w, lost) == 0)
				lost = 0;
			continue;
		}
		if (drain(w, idle) != 0) {
			PQfinish(w->c);
			w->c = NULL;
			lost = 1;
			emit(w, MDT_STORE_EV_LOST, NULL, 0, 0);
		}
	}
	PQfinish(w->c);
	w->c = NULL;
	return NULL;
}

int
mdt__pg_watch(mdt_store *s, mdt_store_event_fn fn, void *arg)
{
	struct mdt__pgwatch *w;

	if (s->bs->watch != NULL)
		return -MDT_EBUSY;
	if ((w = mdt__calloc(1, sizeof(*w))) == NULL)
		return -MDT_ENOMEM;
	w->s = s;
	w->fn = fn;
	w->arg = arg;
	if (pipe(w->stop_fd) != 0) {
		mdt__free(w);
		return -MDT_ENOMEM;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thr, NULL, watch_main, w) != 0) {
		close(w->stop_fd[0]);
		close(w->stop_fd[1]);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		mdt__free(w);
		return -MDT_ENOMEM;
	}
	s->bs->watch = w;
	/* from here on every change is reported (or LOST was): a caller
	 * that keeps copies may start filling them */
	pthread_mutex_lock(&w->mu);
	while (!w->started)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void
mdt__pg_unwatch(mdt_store *s)
{
	struct mdt__pgwatch *w = s->bs != NULL ? s->bs->watch : NULL;

	if (w == NULL)
		return;
	(void)!write(w->stop_fd[1], "x", 1);
	pthread_join(w->thr, NULL);
	close(w->stop_fd[0]);
	close(w->stop_fd[1]);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	s->bs->watch = NULL;
	mdt__free(w);
}
