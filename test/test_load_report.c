/*
 * wshub-load's report (src/load/report.h): the progress line's rates and
 * p99; rooms, URLs and the split by URL in the table and the JSON.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/load/report.h"
#include "../src/load/run.h"

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

/* A finished broadcast run over -c 40, --rooms 4 and two URLs. */
static void
rooms_run(struct load_config *cfg, struct run_result *res,
    struct round_result *rr)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = MODE_BROADCAST;
	cfg->conns = 40;
	cfg->senders = 4;
	cfg->threads = 1;
	cfg->bytes = 64;
	cfg->kind = PAYLOAD_TEXT;
	cfg->duration_s = 1;
	cfg->urls[0].url = "ws://127.0.0.1:1/ws";
	cfg->urls[1].url = "ws://127.0.0.1:1";
	cfg->plan = (struct plan){ .conns = 40, .rooms = 4, .urls = 2,
	    .numbered = true };
	memset(res, 0, sizeof(*res));
	stats_conn_init(&res->cs);
	memset(rr, 0, sizeof(*rr));
	stats_round_init(&rr->rs, 1);
	for (int m = 0; m < 8; m++)
		stats_round_sent(&rr->rs, 5, 5);
	for (int d = 0; d < 80; d++)
		stats_round_delivered(&rr->rs, d % 2, 1000, 1);
	rr->round = 1;
	rr->senders = 4;
	rr->rate = 8;
	rr->server_cpu_ns = -1;
	rr->pass = true;
	res->rounds = rr;
	res->nrounds = 1;
}

/* What `fn` prints for the run, malloc'd. */
static char *
printed(void (*fn)(FILE *, const struct load_config *,
    const struct run_result *), const struct load_config *cfg,
    const struct run_result *res)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, cfg, res);
	fclose(f);
	return buf;
}

Test(load_report, the_table_shows_rooms_urls_and_the_url_split,
    .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;
	char *s;

	rooms_run(&cfg, &res, &rr);
	s = printed(report_text, &cfg, &res);
	cr_assert_not_null(strstr(s, "rooms          4 (r0 .. r3), 10 "
	    "connections each\n"), "%s", s);
	cr_assert_not_null(strstr(s, "urls           2, 20 connections "
	    "each\n"), "%s", s);
	cr_assert_not_null(strstr(s, "deliveries     80 of 80 expected"),
	    "%s", s);
	cr_assert_not_null(strstr(s, "same url       40 of 40 expected"),
	    "%s", s);
	cr_assert_not_null(strstr(s, "other urls     40 of 40 expected"),
	    "%s", s);
	cr_assert_not_null(strstr(s, "wrong room     0 deliveries"), "%s", s);
	free(s);
}

Test(load_report, the_json_has_rooms_urls_and_the_url_split, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;
	char *s;

	rooms_run(&cfg, &res, &rr);
	s = printed(report_json, &cfg, &res);
	cr_assert_not_null(strstr(s, "\"url\":\"ws://127.0.0.1:1/ws\","),
	    "%s", s);
	cr_assert_not_null(strstr(s, "\"urls\":[\"ws://127.0.0.1:1/ws\","
	    "\"ws://127.0.0.1:1\"],\"rooms\":4,\"room\":null,"
	    "\"connections_per_room\":{\"min\":10,\"max\":10},"
	    "\"connections_per_url\":{\"min\":20,\"max\":20},"), "%s", s);
	cr_assert_not_null(strstr(s, "\"expected\":80,\"received\":80,"
	    "\"stale\":0,\"wrong_room\":0,"), "%s", s);
	cr_assert_not_null(strstr(s, "\"same_url\":{\"expected\":40,"
	    "\"received\":40,\"delivery_ratio\":1.000000,\"latency_us\":"
	    "{\"n\":40,"), "%s", s);
	cr_assert_not_null(strstr(s, "\"other_url\":{\"expected\":40,"
	    "\"received\":40,"), "%s", s);
	free(s);
	/* One URL: the split is null, the URL list has one entry. */
	cfg.plan.urls = 1;
	cfg.plan.room = "chat";
	s = printed(report_json, &cfg, &res);
	cr_assert_not_null(strstr(s, "\"urls\":[\"ws://127.0.0.1:1/ws\"],"
	    "\"rooms\":4,\"room\":\"chat\","), "%s", s);
	cr_assert_not_null(strstr(s, "\"same_url\":null,\"other_url\":null,"),
	    "%s", s);
	free(s);
}

Test(load_report, the_verdict_names_deliveries_in_the_wrong_room,
    .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;
	char *s;

	rooms_run(&cfg, &res, &rr);
	rr.rs.wrong_room = 3;
	rr.pass = false;
	s = printed(report_text, &cfg, &res);
	cr_assert_not_null(strstr(s, "verdict        FAIL: 0.000 % of "
	    "deliveries lost"), "%s", s);
	cr_assert_not_null(strstr(s, ", 3 in the wrong room (none allowed)\n"),
	    "%s", s);
	free(s);
	cfg.mode = MODE_CONNECT;
	s = printed(report_text, &cfg, &res);
	cr_assert_not_null(strstr(s, "verdict        FAIL: the broadcast "
	    "reached 80 of 40 requested connections, 3 in the wrong room"),
	    "%s", s);
	free(s);
}

Test(load_report, split_lines_counts_lines_and_frames_apart, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;
	char *s;

	rooms_run(&cfg, &res, &rr);
	s = printed(report_json, &cfg, &res);
	cr_assert_not_null(strstr(s, "\"bytes\":64,\"split_lines\":false,"),
	    "%s", s);
	free(s);
	/* 80 deliveries arrived as lines of 20 frames, in 2 ms of CPU. */
	cfg.split_lines = true;
	rr.rs.frames = 20;
	rr.client_cpu.user_ns = 2000000;
	rr.client_wall_ns = 1000000000;
	s = printed(report_json, &cfg, &res);
	cr_assert_not_null(strstr(s, "\"bytes\":64,\"split_lines\":true,"),
	    "%s", s);
	cr_assert_not_null(strstr(s, "\"received\":80,\"stale\":0,"
	    "\"wrong_room\":0,\"frames\":20,"), "%s", s);
	cr_assert_not_null(strstr(s, "\"client_cpu_ns_per_frame\":100000.0,"),
	    "CPU per frame, not per line: %s", s);
	free(s);
	s = printed(report_text, &cfg, &res);
	cr_assert_not_null(strstr(s, "text messages of 64 bytes, one per line "
	    "(--split-lines)\n"), "%s", s);
	cr_assert_not_null(strstr(s, "frames         20 received, 4.00 "
	    "deliveries per frame (--split-lines)\n"), "%s", s);
	cr_assert_not_null(strstr(s, "client cpu     100.00 us per received "
	    "frame"), "%s", s);
	free(s);
}
