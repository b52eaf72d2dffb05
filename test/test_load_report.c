/* wshub-load's progress line (src/load/report.h): rates and p99. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/load/report.h"

#define S(x) ((int64_t)((x) * 1e9))  /* seconds -> ns */

/* The progress line for `cur` after `prev`, malloc'd. */
static char *
line(const struct progress *prev, const struct progress *cur)
{
	struct load_config cfg = { .conns = 100 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	report_progress(f, &cfg, prev, cur);
	fclose(f);
	return buf;
}

Test(load_report, first_tick_of_a_round_counts_from_its_start, .timeout = 10)
{
	/* Connecting until 1 s; round 1 starts sending at 1.5 s; the tick at
	 * 2 s has 500 sent and 5000 received: half a second's worth. */
	struct progress prev = { .now_ns = S(1), .elapsed_ns = S(1),
	    .open = 100 };
	struct progress cur = { .now_ns = S(2), .elapsed_ns = S(2),
	    .open = 100, .round = 1, .round_start_ns = S(1.5), .sent = 500,
	    .received = 5000, .latency_n = 5000, .p99_ns = 2000000 };
	char *s = line(&prev, &cur);

	cr_assert_not_null(strstr(s, "conns 100/100"), "%s", s);
	cr_assert_not_null(strstr(s, "sent/s 1000  recv/s 10000  p99 2 ms"),
	    "%s", s);
	free(s);
}

Test(load_report, later_ticks_count_since_the_previous_one, .timeout = 10)
{
	struct progress prev = { .now_ns = S(2), .round = 1,
	    .round_start_ns = S(1.5), .sent = 500, .received = 5000,
	    .latency_n = 5000, .p99_ns = 2000000 };
	struct progress cur = prev;
	char *s;

	cur.now_ns = S(4);
	cur.sent = 2500;
	cur.received = 25000;
	s = line(&prev, &cur);
	cr_assert_not_null(strstr(s, "sent/s 1000  recv/s 10000"), "%s", s);
	free(s);
}

Test(load_report, no_samples_no_p99_no_time_no_rate, .timeout = 10)
{
	/* A tick in the round's lead-in, before it sends: nothing to show. */
	struct progress prev = { .now_ns = S(1) };
	struct progress cur = { .now_ns = S(1.49), .round = 1,
	    .round_start_ns = S(1.5) };
	char *s = line(&prev, &cur);

	cr_assert_not_null(strstr(s, "sent/s -  recv/s -  p99 -"), "%s", s);
	free(s);
	/* Sending, but no delivery back yet: rates, and still no p99. */
	cur.now_ns = S(2);
	cur.sent = 10;
	s = line(&prev, &cur);
	cr_assert_not_null(strstr(s, "sent/s 20  recv/s 0  p99 -"), "%s", s);
	free(s);
}

Test(load_report, a_new_sweep_step_starts_its_rates_afresh, .timeout = 10)
{
	struct progress prev = { .now_ns = S(10), .round = 1,
	    .round_start_ns = S(1), .sent = 90000, .received = 900000,
	    .latency_n = 900000, .p99_ns = 1000000 };
	struct progress cur = { .now_ns = S(11), .round = 2,
	    .round_start_ns = S(10.5), .sent = 100, .received = 1000,
	    .latency_n = 1000, .p99_ns = 3000000 };
	char *s = line(&prev, &cur);

	cr_assert_not_null(strstr(s, "sent/s 200  recv/s 2000  p99 3 ms"),
	    "%s", s);
	free(s);
}
