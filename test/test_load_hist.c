/* wshub-load's latency histogram (src/load/hist.h). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "../src/load/hist.h"
#include "wshub/xmalloc.h"

/* A histogram is 30 KiB: keep them off the test's stack. */
static struct hist *
new_hist(void)
{
	struct hist *h = xmalloc(sizeof(*h));

	hist_init(h);
	return h;
}

/* |got - want| <= want / 128: the documented bound. */
static void
assert_close(uint64_t got, uint64_t want, const char *what)
{
	uint64_t diff = got > want ? got - want : want - got;

	cr_assert_leq(diff, want / 128, "%s: got %llu, want %llu +- 1/128",
	    what, (unsigned long long)got, (unsigned long long)want);
}

Test(load_hist, empty, .timeout = 10)
{
	struct hist *h = new_hist();

	cr_assert_eq(h->count, 0);
	cr_assert_eq(hist_percentile(h, 50), 0);
	cr_assert_eq(hist_percentile(h, 100), 0);
	cr_assert_eq(hist_mean(h), 0);
	free(h);
}

Test(load_hist, buckets_tile_the_whole_range, .timeout = 10)
{
	cr_assert_eq(hist_bucket_low(0), 0);
	for (size_t i = 0; i + 1 < HIST_BUCKETS; i++) {
		cr_assert_leq(hist_bucket_low(i), hist_bucket_high(i));
		cr_assert_eq(hist_bucket_high(i) + 1, hist_bucket_low(i + 1),
		    "gap or overlap after bucket %zu", i);
	}
	cr_assert_eq(hist_bucket_high(HIST_BUCKETS - 1), UINT64_MAX);
	cr_assert_eq(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
}

Test(load_hist, index_finds_the_bucket_and_width_is_bounded, .timeout = 10)
{
	uint64_t v = 0;

	for (int i = 0; i < 200000; i++) {
		size_t b;

		/* Small values, then powers of two and their neighbours. */
		v = i < 1000 ? (uint64_t)i :
		    ((uint64_t)1 << (i % 64)) + (uint64_t)(i % 3) - 1;
		b = hist_index(v);
		cr_assert_lt(b, HIST_BUCKETS);
		cr_assert(hist_bucket_low(b) <= v && v <= hist_bucket_high(b),
		    "value %llu outside bucket %zu", (unsigned long long)v, b);
		if (v >= HIST_SUB)
			cr_assert_leq(hist_bucket_high(b) - hist_bucket_low(b),
			    hist_bucket_low(b) / HIST_HALF);
		else
			cr_assert_eq(hist_bucket_low(b), v, "exact below 128");
	}
}

Test(load_hist, small_values_are_exact, .timeout = 10)
{
	struct hist *h = new_hist();

	for (uint64_t v = 1; v <= 100; v++)
		hist_record(h, v);
	cr_assert_eq(h->count, 100);
	cr_assert_eq(h->min, 1);
	cr_assert_eq(h->max, 100);
	cr_assert_eq(hist_percentile(h, 50), 50);
	cr_assert_eq(hist_percentile(h, 90), 90);
	cr_assert_eq(hist_percentile(h, 99), 99);
	cr_assert_eq(hist_percentile(h, 100), 100);
	cr_assert_eq(hist_percentile(h, 0), 1);
	cr_assert_eq(hist_mean(h), 50);  /* 5050 / 100, rounded down */
	free(h);
}

Test(load_hist, uniform_distribution, .timeout = 10)
{
	struct hist *h = new_hist();

	/* 1 us .. 1 s in 1 us steps, as nanoseconds. */
	for (uint64_t us = 1; us <= 1000000; us++)
		hist_record(h, us * 1000);
	assert_close(hist_percentile(h, 50), 500000000ULL, "p50");
	assert_close(hist_percentile(h, 90), 900000000ULL, "p90");
	assert_close(hist_percentile(h, 99), 990000000ULL, "p99");
	assert_close(hist_percentile(h, 99.9), 999000000ULL, "p99.9");
	cr_assert_eq(hist_percentile(h, 100), 1000000000ULL);
	cr_assert_eq(hist_mean(h), 500000500ULL);
	free(h);
}

Test(load_hist, nearest_rank_on_a_bimodal_distribution, .timeout = 10)
{
	struct hist *h = new_hist();

	/* 9,900 fast (1 ms) and 100 slow (100 ms) deliveries. */
	for (int i = 0; i < 9900; i++)
		hist_record(h, 1000000);
	for (int i = 0; i < 100; i++)
		hist_record(h, 100000000);
	assert_close(hist_percentile(h, 50), 1000000, "p50");
	assert_close(hist_percentile(h, 99), 1000000, "p99: rank 9900 is fast");
	assert_close(hist_percentile(h, 99.01), 100000000, "p99.01");
	assert_close(hist_percentile(h, 99.9), 100000000, "p99.9");
	cr_assert_eq(h->max, 100000000);
	free(h);
}

Test(load_hist, single_value_reports_itself, .timeout = 10)
{
	struct hist *h = new_hist();

	hist_record(h, 123456789);
	/* The bucket midpoint is clamped to [min, max]. */
	cr_assert_eq(hist_percentile(h, 50), 123456789);
	cr_assert_eq(hist_percentile(h, 99.9), 123456789);
	free(h);
}

Test(load_hist, merge_equals_recording_everything, .timeout = 10)
{
	struct hist *a = new_hist(), *b = new_hist(), *all = new_hist();

	for (uint64_t i = 0; i < 50000; i++) {
		uint64_t v = (i * 2654435761u) % 100000000;

		hist_record(i % 2 ? a : b, v);
		hist_record(all, v);
	}
	hist_merge(a, b);
	cr_assert_eq(a->count, all->count);
	cr_assert_eq(a->min, all->min);
	cr_assert_eq(a->max, all->max);
	cr_assert_eq(a->sum, all->sum);
	cr_assert_arr_eq(a->bucket, all->bucket, sizeof(a->bucket));
	hist_init(b);
	hist_merge(a, b);  /* merging an empty histogram changes nothing */
	cr_assert_eq(a->min, all->min);
	free(a);
	free(b);
	free(all);
}

Test(load_hist, extreme_values, .timeout = 10)
{
	struct hist *h = new_hist();

	hist_record(h, 0);
	hist_record(h, UINT64_MAX);
	hist_record(h, UINT64_MAX);
	cr_assert_eq(h->sum, UINT64_MAX, "sum saturates");
	cr_assert_eq(hist_percentile(h, 1), 0);
	assert_close(hist_percentile(h, 99), UINT64_MAX, "p99");
	cr_assert_eq(hist_percentile(h, 100), UINT64_MAX);
	free(h);
}
