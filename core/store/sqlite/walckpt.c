/*
 * WAL checkpoints off the commit path.  SQLite's automatic checkpoint runs
 * inside the COMMIT that pushes the WAL past its threshold: that commit
 * then also copies the WAL into the database file and syncs it, and every
 * answer waiting on the batch waits for that too.  Here a thread with its
 * own connection does the copying with PASSIVE checkpoints, which never
 * take the write lock, while batches keep committing.  A checkpoint that
 * runs beside commits cannot copy the frames committed meanwhile, and the
 * WAL only starts over from its beginning once every frame is copied; so
 * when the thread's pass is done, the writer itself copies the few frames
 * left, between two batches, and its next transaction restarts the WAL.
 * Without that last step the WAL would grow for as long as the load
 * lasts.
 */
#include <stdio.h>

#include "alloc_int.h"
#include "sqlite_int.h"

#define WAL_FRAMES 1000 /* SQLite's own default threshold */

struct mdt__walckpt {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *db;
	pthread_t thread;
	int frames;    /* WAL frames after the writer's last commit */
	int due;       /* the thread should make a pass */
	int running;   /* a pass is under way */
	int passed;    /* a pass ended since the WAL last started over */
	int closing;
	uint64_t runs;
};

/* The writer connection's commit hook (writer thread). */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	mdt__walckpt *c = arg;

	(void)db;
	(void)name;
	pthread_mutex_lock(&c->mu);
	c->frames = frames;
	if (frames < WAL_FRAMES)
		c->passed = 0;
	else if (!c->running && !c->passed && !c->due) {
		c->due = 1;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

static void *
ckpt_main(void *arg)
{
	mdt__walckpt *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->due && !c->closing)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->closing)
			break;
		c->due = 0;
		c->running = 1;
		pthread_mutex_unlock(&c->mu);
		/* busy (a reader at the WAL's start, say) is fine: the
		 * writer's catch-up or the next pass copies the rest */
		(void)sqlite3_wal_checkpoint_v2(c->db, "main",
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
		c->running = 0;
		c->passed = 1;
		c->runs++;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

void
mdt__walckpt_between(mdt_store *s, sqlite3 *writer)
{
	mdt__walckpt *c = s->bs->walckpt;
	int go;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	go = c->frames >= WAL_FRAMES && c->passed && !c->running;
	if (go)
		c->passed = 0; /* the next crossing asks the thread again */
	pthread_mutex_unlock(&c->mu);
	if (go)
		(void)sqlite3_wal_checkpoint_v2(writer, "main",
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

int
mdt__walckpt_start(mdt_store *s, sqlite3 *writer, char *err, size_t errlen)
{
	uint8_t id[MDT__STORE_ID_BYTES];
	mdt__walckpt *c = mdt__calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return -MDT_ENOMEM;
	if ((rc = mdt__schema_open(s->path, 0, 0, &c->db, id, err,
	    errlen)) != 0) {
		mdt__free(c);
		return rc;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		snprintf(err, errlen, "cannot start the checkpoint thread");
		sqlite3_close(c->db);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		mdt__free(c);
		return -MDT_ESTORE;
	}
	/* replaces the automatic checkpoint on the writer connection */
	sqlite3_wal_hook(writer, wal_hook, c);
	s->bs->walckpt = c;
	return 0;
}

void
mdt__walckpt_stop(mdt_store *s, sqlite3 *writer)
{
	mdt__walckpt *c = s->bs->walckpt;

	if (c == NULL)
		return;
	sqlite3_wal_hook(writer, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->closing = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	mdt__free(c);
	s->bs->walckpt = NULL;
}

uint64_t
mdt__walckpt_runs(mdt_store *s)
{
	mdt__walckpt *c = s->bs->walckpt;
	uint64_t n;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	n = c->runs;
	pthread_mutex_unlock(&c->mu);
	return n;
}
