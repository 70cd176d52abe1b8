/*
 * The writer's monitoring counters: updated by the writer thread after
 * each batch, read by any thread (mdt_store_stats_get) without a lock.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "alloc_int.h"
#include "backend.h"

#define NB MDT_STORE_STATS_BUCKETS

static const uint64_t size_bounds[NB] = { 1, 2, 4, 8, 16, 32, 64, 128,
    256, 512, 1024, UINT64_MAX };
static const uint64_t us_bounds[NB] = { 100, 250, 500, 1000, 2500, 5000,
    10000, 25000, 50000, 100000, 250000, UINT64_MAX };

struct mdt__wstats {
	atomic_ullong batches, failed_batches, records, commit_us_sum;
	atomic_ullong size[NB], us[NB];
	atomic_ullong head_seq, checkpoint_seq;
	atomic_llong checkpoint_ms;
	atomic_int failed;
};

uint64_t
mdt__stats_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int
mdt__stats_new(mdt_store *s)
{
	s->w.stats = mdt__calloc(1, sizeof(*s->w.stats));
	if (s->w.stats == NULL)
		return -MDT_ENOMEM;
	atomic_store(&s->w.stats->head_seq, s->w.head_seq);
	atomic_store(&s->w.stats->checkpoint_seq, s->w.last_cp);
	return 0;
}

void
mdt__stats_free(mdt_store *s)
{
	mdt__free(s->w.stats);
	s->w.stats = NULL;
}

static size_t
bucket(const uint64_t *bounds, uint64_t v)
{
	size_t i = 0;

	while (i < NB - 1 && v > bounds[i])
		i++;
	return i;
}

void
mdt__stats_batch(mdt_store *s, uint64_t nops, uint64_t us, int ok,
    uint64_t cp_before)
{
	struct mdt__wstats *st = s->w.stats;

	if (st == NULL)
		return;
	atomic_store(&st->failed, s->w.failed);
	if (!ok) {
		atomic_fetch_add(&st->failed_batches, 1);
		return;
	}
	atomic_fetch_add(&st->batches, 1);
	atomic_fetch_add(&st->records, nops);
	atomic_fetch_add(&st->commit_us_sum, us);
	atomic_fetch_add(&st->size[bucket(size_bounds, nops)], 1);
	atomic_fetch_add(&st->us[bucket(us_bounds, us)], 1);
	atomic_store(&st->head_seq, s->w.head_seq);
	/* a signed receipt head is the checkpoint of a store with them */
	if (s->w.last_cp != cp_before || s->w.rcover >
	    atomic_load(&st->checkpoint_seq)) {
		atomic_store(&st->checkpoint_seq, s->w.last_cp > s->w.rcover ?
		    s->w.last_cp : s->w.rcover);
		atomic_store(&st->checkpoint_ms, mdt_store_now_ms());
	}
}

int
mdt_store_stats_get(mdt_store *store, mdt_store_stats *out)
{
	struct mdt__wstats *st;

	if (store == NULL || out == NULL)
		return -MDT_EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out->batch_size_bound, size_bounds, sizeof(size_bounds));
	memcpy(out->commit_us_bound, us_bounds, sizeof(us_bounds));
	st = store->w.stats;
	if (st == NULL)
		return 0; /* read-only: no writer */
	out->batches = atomic_load(&st->batches);
	out->failed_batches = atomic_load(&st->failed_batches);
	out->records = atomic_load(&st->records);
	out->commit_us_sum = atomic_load(&st->commit_us_sum);
	for (size_t i = 0; i < NB; i++) {
		out->batch_size[i] = atomic_load(&st->size[i]);
		out->commit_us[i] = atomic_load(&st->us[i]);
	}
	out->head_seq = atomic_load(&st->head_seq);
	out->checkpoint_seq = atomic_load(&st->checkpoint_seq);
	out->checkpoint_ms = atomic_load(&st->checkpoint_ms);
	out->writable = !atomic_load(&st->failed);
	return 0;
}
