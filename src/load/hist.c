/* hist — log-linear latency histogram (see hist.h). */
#include <string.h>

#include "hist.h"

/* Empties the histogram. */
void
hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* Index of the highest set bit of v (v != 0). */
static unsigned
msb(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

/* Bucket of v: exact below HIST_SUB, then HIST_HALF per octave. */
size_t
hist_index(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return (size_t)v;
	e = msb(v) - (HIST_SUB_BITS - 1);  /* >= 1: the bucket width is 2^e */
	return (size_t)e * HIST_HALF + (size_t)(v >> e);
}

/* Inverse of hist_index: the smallest value of bucket i. */
uint64_t
hist_bucket_low(size_t i)
{
	unsigned e;

	if (i < HIST_SUB)
		return i;
	e = (unsigned)(i / HIST_HALF) - 1;
	return (uint64_t)(i % HIST_HALF + HIST_HALF) << e;
}

/* The largest value of bucket i. */
uint64_t
hist_bucket_high(size_t i)
{
	if (i < HIST_SUB)
		return i;
	return hist_bucket_low(i) + ((uint64_t)1 << (i / HIST_HALF - 1)) - 1;
}

/* Counts one sample. */
void
hist_record(struct hist *h, uint64_t v)
{
	h->bucket[hist_index(v)]++;
	h->count++;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	if (__builtin_add_overflow(h->sum, v, &h->sum))
		h->sum = UINT64_MAX;
}

/* Adds src into dst, bucket by bucket. */
void
hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	for (size_t i = 0; i < HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	if (__builtin_add_overflow(dst->sum, src->sum, &dst->sum))
		dst->sum = UINT64_MAX;
}

/* Nearest rank for percentile p of n samples: ceil(p / 100 * n), >= 1. */
static uint64_t
rank_of(double p, uint64_t n)
{
	double want = p / 100.0 * (double)n;
	uint64_t rank = (uint64_t)want;

	if ((double)rank < want)
		rank++;
	return rank < 1 ? 1 : rank > n ? n : rank;
}

/* Nearest-rank percentile, as its bucket's midpoint. */
uint64_t
hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0, mid;
	size_t i;

	if (h->count == 0)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	rank = rank_of(p, h->count);
	for (i = 0; i < HIST_BUCKETS - 1; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			break;
	}
	mid = hist_bucket_low(i) +
	    (hist_bucket_high(i) - hist_bucket_low(i)) / 2;
	return mid < h->min ? h->min : mid > h->max ? h->max : mid;
}

/* Mean sample, rounded down. */
uint64_t
hist_mean(const struct hist *h)
{
	return h->count == 0 ? 0 : h->sum / h->count;
}
