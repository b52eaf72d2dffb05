/*
 * hist — a latency histogram with log-linear buckets (HdrHistogram-style).
 *
 * Values are unsigned 64-bit integers (wshub-load records nanoseconds).
 * Values below HIST_SUB (128) get a bucket each, so they are exact.  Above
 * that, every power of two [2^k, 2^(k+1)) is split into HIST_SUB / 2 equal
 * buckets, so a bucket is never wider than 1/64 of its lower bound.  A
 * percentile is reported as the midpoint of its bucket, which is within
 * 1/128 (0.78 %) of the true sample value, over the whole 64-bit range, in
 * a fixed 30 KiB.  The exact minimum, maximum and sum are kept on the side.
 *
 * Recording is an index computation and one increment: no allocation, no
 * locking.  A struct hist is plain data owned by one thread; to share it,
 * copy it (struct assignment) and merge copies with hist_merge.
 */
#ifndef WSHUB_LOAD_HIST_H
#define WSHUB_LOAD_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)            /* 128 */
#define HIST_HALF (HIST_SUB / 2)                   /* 64 buckets per octave */
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_HALF + HIST_HALF)

struct hist {
	uint64_t count;
	uint64_t min;  /* UINT64_MAX while empty */
	uint64_t max;
	uint64_t sum;  /* saturates at UINT64_MAX */
	uint64_t bucket[HIST_BUCKETS];
};

/* Empties `h`. */
void hist_init(struct hist *h);

/* Counts one sample `v`. */
void hist_record(struct hist *h, uint64_t v);

/* Adds every sample of `src` to `dst`. */
void hist_merge(struct hist *dst, const struct hist *src);

/*
 * The value at percentile `p` (0 < p <= 100) by nearest rank: the smallest
 * sample such that at least p % of the samples are <= it, reported as its
 * bucket's midpoint clamped to [min, max].  p <= 0 gives min, p >= 100 max.
 * Returns 0 for an empty histogram.
 */
uint64_t hist_percentile(const struct hist *h, double p);

/* Mean of the samples, rounded down; 0 when empty. */
uint64_t hist_mean(const struct hist *h);

/* The bucket that counts `v` (0 <= index < HIST_BUCKETS). */
size_t hist_index(uint64_t v);

/* Smallest and largest value counted by bucket `i`. */
uint64_t hist_bucket_low(size_t i);
uint64_t hist_bucket_high(size_t i);

#endif
