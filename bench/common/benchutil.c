/* Clock, Ed25519 baseline and percentiles for the benchmarks. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "benchutil.h"

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
bench_percentile(double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0.0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)((p / 100.0) * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double
bench_ed25519_verify_ns(int rounds, int per_round)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char msg[64] = {0}, sig[crypto_sign_BYTES];
	double *samples = calloc((size_t)rounds, sizeof(double));
	volatile int sink = 0;
	double med;

	if (samples == NULL || sodium_init() < 0)
		abort();
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < per_round; i++)
			sink += crypto_sign_verify_detached(sig, msg, sizeof(msg), pk);
		samples[r] = (double)(bench_now_ns() - t0) / per_round;
	}
	(void)sink;
	med = bench_percentile(samples, (size_t)rounds, 50);
	free(samples);
	return med;
}

void
bench_ratio(const char *name, double value)
{
	printf("ratio %s: %.4f\n", name, value);
	fflush(stdout);
}

void
bench_env(void)
{
	char exe[1024], *d;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

#ifdef MDT_SOURCE_DIR
	setenv("MDT_SOURCE_DIR", MDT_SOURCE_DIR, 0);
#endif
	if (n > 0) {
		exe[n] = 0;
		d = dirname(dirname(exe)); /* BUILD/bench/x -> BUILD */
		setenv("MDT_BINARY_DIR", d, 0);
	}
}
