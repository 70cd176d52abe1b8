/*
 * Shared benchmark helpers: a monotonic clock, the raw Ed25519 verify
 * baseline every ratio is taken against, and percentile helpers.
 */
#ifndef MDT_BENCHUTIL_H
#define MDT_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic time in nanoseconds. */
uint64_t bench_now_ns(void);

/*
 * Median nanoseconds of one crypto_sign_verify_detached over a 64-byte
 * message, taken over `rounds` batches of `per_round` verifications.
 */
double bench_ed25519_verify_ns(int rounds, int per_round);

/* Sorts v (n values) in place and returns the p-th percentile (0..100). */
double bench_percentile(double *v, size_t n, double p);

/* Sets MDT_SOURCE_DIR and MDT_BINARY_DIR (unless set) for the test
 * harness a benchmark drives: the source tree it was built from, and the
 * build tree above this executable's folder. */
void bench_env(void);

/* Prints "ratio NAME: VALUE" on a line of its own, flushed. */
void bench_ratio(const char *name, double value);

#endif
