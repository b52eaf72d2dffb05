/*
 * wshub-load's report (src/load/report.h): the progress line's rates and
 * p99; rooms, URLs and the split by URL in the table and the JSON.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/load/report.h"
#include "../src/load/run.h"
#include "../src/load/verdict.h"

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
		stats_round_sent(&rr->rs, 0, 5, 5);
	for (int d = 0; d < 80; d++)
		stats_round_delivered(&rr->rs, 0, d % 2, 1000, 1);
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

Test(load_report, the_verdict_says_the_server_went_away, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;
	char *s;

	rooms_run(&cfg, &res, &rr);
	rr.closed_by_server = 40;
	rr.rs.skipped = 5;
	rr.failed = verdict_failed(&cfg, &rr);
	rr.pass = false;
	s = printed(report_text, &cfg, &res);
	cr_assert_not_null(strstr(s, "verdict        FAIL: 0.000 % of "
	    "deliveries lost"), "%s", s);
	cr_assert_not_null(strstr(s, ", 40 connections closed by the server "
	    "(none allowed without --allow-closed), 5 messages not sent (none "
	    "allowed without --allow-skipped)\n"), "%s", s);
	cr_assert_not_null(strstr(s, "failed rules   closed_by_server, "
	    "skipped\n"), "%s", s);
	free(s);
	s = printed(report_json, &cfg, &res);
	cr_assert_not_null(strstr(s, "\"closed_by_server\":40,\"failed_rules\":"
	    "[\"closed_by_server\",\"skipped\"],\"pass\":false}"), "%s", s);
	free(s);
	/* Allowed by the flags: said so, and no rule fails. */
	cfg.allow_closed = cfg.allow_skipped = true;
	rr.failed = verdict_failed(&cfg, &rr);
	rr.pass = rr.failed == 0;
	s = printed(report_text, &cfg, &res);
	cr_assert_not_null(strstr(s, "verdict        pass: "), "%s", s);
	cr_assert_not_null(strstr(s, "40 connections closed by the server "
	    "(allowed: --allow-closed), 5 messages not sent (allowed: "
	    "--allow-skipped)\n"), "%s", s);
	cr_assert_null(strstr(s, "failed rules"), "%s", s);
	free(s);
	s = printed(report_json, &cfg, &res);
	cr_assert_not_null(strstr(s, "\"failed_rules\":[],\"pass\":true}"), "%s",
	    s);
	free(s);
}

Test(load_report, a_sweep_step_names_the_rules_it_broke, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr[2];
	char *s;

	rooms_run(&cfg, &res, &rr[0]);
	cfg.mode = MODE_SWEEP;
	rr[1] = rr[0];
	rr[1].round = 2;
	rr[1].closed_by_server = 3;
	rr[1].failed = verdict_failed(&cfg, &rr[1]);
	rr[1].pass = false;
	res.rounds = rr;
	res.nrounds = 2;
	s = printed(report_text, &cfg, &res);
	cr_assert_not_null(strstr(s, "  pass\n"), "%s", s);
	cr_assert_not_null(strstr(s, "  FAIL: closed_by_server\n"), "%s", s);
	free(s);
}

/* A broadcast run sampled with --server-pid 4242, a server listening on
 * port 1: 2000 KiB just before the run, 3000 KiB with its 40 open. */
static void
server_run(struct load_config *cfg, struct run_result *res,
    struct round_result *rr)
{
	rooms_run(cfg, res, rr);
	cfg->plan.urls = 1;
	cfg->urls[0].port = 1;
	cfg->server_pid = 4242;
	res->cs.ok = 40;
	res->server_ok = true;
	res->srv_check = (struct server_check){ .socks = { .listening = 1,
	    .port = 1 } };
	strcpy(res->srv_check.comm, "wshub");
	res->srv_before = (struct procstat){ .rss_kib = 2000, .hwm_kib = 2000,
	    .threads = 4 };
	res->srv_open = (struct procstat){ .rss_kib = 3000, .hwm_kib = 3000,
	    .threads = 84 };
	res->srv_peak = res->srv_open;
}

/* Whether `fn` prints nothing with `unwanted` in it for the run. */
static bool
lacks(void (*fn)(FILE *, const struct load_config *,
    const struct run_result *), const struct load_config *cfg,
    const struct run_result *res, const char *unwanted)
{
	char *s = printed(fn, cfg, res);
	bool found = strstr(s, unwanted) != NULL;

	if (found)
		cr_log_error("\"%s\" in:\n%s", unwanted, s);
	free(s);
	return !found;
}

/* Whether `fn` prints `want` for the run. */
static bool
prints(void (*fn)(FILE *, const struct load_config *,
    const struct run_result *), const struct load_config *cfg,
    const struct run_result *res, const char *want)
{
	char *s = printed(fn, cfg, res);
	bool found = strstr(s, want) != NULL;

	if (!found)
		cr_log_error("no \"%s\" in:\n%s", want, s);
	free(s);
	return found;
}

Test(load_report, server_rss_counts_from_just_before_the_run, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;

	/* A fresh server: 1000 KiB over 40 connections. */
	server_run(&cfg, &res, &rr);
	cr_assert(prints(report_text, &cfg, &res, "server         PID 4242 "
	    "(wshub) listens on port 1\n               rss 2.0 MiB just "
	    "before this run's connections, 2.9 MiB with them open: 25.0 KiB "
	    "per connection\n"));
	cr_assert(prints(report_json, &cfg, &res, "\"server\":{\"pid\":4242,"
	    "\"comm\":\"wshub\",\"listening\":true,\"port\":1,"
	    "\"listening_child\":null,\"time_wait_before\":0,"
	    "\"rss_kib_before\":2000,\"rss_kib_peak_before\":2000,"
	    "\"rss_kib_open\":3000,"));
	cr_assert(prints(report_json, &cfg, &res, "\"rss_bytes_per_conn\":25600,"
	    "\"rss_per_conn_refused\":null},"));
}

Test(load_report, no_rss_per_connection_that_is_known_wrong, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;

	/* Run again within the minute: its connections' TIME_WAITs remain. */
	server_run(&cfg, &res, &rr);
	res.srv_check.socks.time_wait = 40;
	cr_assert(prints(report_text, &cfg, &res, "with them open\n"
	    "               no per-connection figure: 40 connections to port 1 "
	    "closed within the last minute (TIME_WAIT)"));
	cr_assert(prints(report_json, &cfg, &res, "\"time_wait_before\":40,"));
	cr_assert(prints(report_json, &cfg, &res, "\"rss_bytes_per_conn\":null,"
	    "\"rss_per_conn_refused\":\"recent_connections\"}"));
	/* One probe (a /stats fetch) before 100 connections: still a figure;
	 * two are more than one in 100, and refuse it. */
	res.cs.ok = 100;
	res.srv_check.socks.time_wait = 1;
	cr_assert(prints(report_json, &cfg, &res, "\"rss_bytes_per_conn\":10240,"
	    "\"rss_per_conn_refused\":null}"));
	res.srv_check.socks.time_wait = 2;
	cr_assert(prints(report_json, &cfg, &res, "\"rss_bytes_per_conn\":null,"
	    "\"rss_per_conn_refused\":\"recent_connections\"}"));
	/* Its RSS had been higher: it has given memory back since. */
	server_run(&cfg, &res, &rr);
	res.srv_before.hwm_kib = 2100;
	cr_assert(prints(report_text, &cfg, &res, "no per-connection figure: "
	    "the RSS had peaked at 2.1 MiB before this run, above the 2.0 MiB "
	    "just before it"));
	cr_assert(prints(report_json, &cfg, &res, "\"rss_per_conn_refused\":"
	    "\"peaked_before\"}"));
	res.srv_before.hwm_kib = 2000 + RSS_PEAK_SLACK_KIB;
	cr_assert(prints(report_json, &cfg, &res, "\"rss_per_conn_refused\":"
	    "null}"));
	/* It shrank while the connections opened: -1000 KiB is no figure. */
	server_run(&cfg, &res, &rr);
	res.srv_open.rss_kib = 1000;
	cr_assert(prints(report_text, &cfg, &res, "no per-connection figure: "
	    "the RSS did not grow (-1000 KiB) while 40 connections opened"));
	cr_assert(prints(report_json, &cfg, &res, "\"rss_bytes_per_conn\":null,"
	    "\"rss_per_conn_refused\":\"not_grown\"}"));
}

Test(load_report, a_server_pid_that_does_not_listen_says_so, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;

	server_run(&cfg, &res, &rr);
	cr_assert(lacks(report_server_warning, &cfg, &res, "w"),
	    "no warning for a server that listens");
	/* A wrapper: its child listens. */
	res.srv_check.socks = (struct procstat_socks){ .listening = 0 };
	strcpy(res.srv_check.comm, "timeout");
	res.srv_check.child = 77;
	strcpy(res.srv_check.child_comm, "wshub");
	cr_assert(prints(report_server_warning, &cfg, &res, "wshub-load: "
	    "--server-pid: PID 4242 (timeout) does not listen on port 1: its "
	    "figures are not the server's; its child 77 (wshub) listens "
	    "there: use --server-pid 77\n"));
	cr_assert(prints(report_text, &cfg, &res, "server         PID 4242 "
	    "(timeout) does not listen on port 1: its figures are not the "
	    "server's;"));
	cr_assert(prints(report_text, &cfg, &res, "no per-connection figure: "
	    "PID 4242 does not listen on port 1 (above)\n"));
	cr_assert(prints(report_json, &cfg, &res, "\"comm\":\"timeout\","
	    "\"listening\":false,\"port\":null,\"listening_child\":77,"));
	cr_assert(prints(report_json, &cfg, &res, "\"rss_per_conn_refused\":"
	    "\"not_listening\"}"));
	/* Its sockets could not be read: unchecked, and said so. */
	res.srv_check.socks.listening = -EACCES;
	cr_assert(prints(report_server_warning, &cfg, &res, "PID 4242 "
	    "(timeout) is unchecked: whether it listens on port 1 is unknown, "
	    "as its sockets could not be read (Permission denied)\n"));
	cr_assert(prints(report_json, &cfg, &res, "\"listening\":null,"));
	/* Two URLs, two ports. */
	res.srv_check.socks.listening = 0;
	cfg.plan.urls = 2;
	cfg.urls[1].port = 9000;
	cr_assert(prints(report_server_warning, &cfg, &res, "PID 4242 "
	    "(timeout) does not listen on ports 1, 9000: its figures"));
}

Test(load_report, client_cpu_warns_only_near_a_core, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;

	rooms_run(&cfg, &res, &rr);
	rr.rs.frames = 80;
	rr.client_cpu.user_ns = 10000000;  /* 10 ms in 1 s */
	rr.client_wall_ns = 1000000000;
	cr_assert(prints(report_text, &cfg, &res, "               0.01 of a "
	    "core busy\n"));
	cr_assert(lacks(report_text, &cfg, &res, "limit"));
	rr.client_cpu.user_ns = 900000000;
	cr_assert(prints(report_text, &cfg, &res, "0.90 of a core, near its "
	    "limit of 1 core per -t thread (-t 1): wshub-load limited this "
	    "run"));
}

Test(load_report, errors_give_the_reason_and_suggest_split_lines,
    .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;

	rooms_run(&cfg, &res, &rr);
	stats_err_add(&res.cs, LERR_HANDSHAKE, 0);
	stats_refusal_set(&res.cs, 400, "a room name may hold only A-Z");
	cr_assert(prints(report_text, &cfg, &res, "errors         handshake 1 "
	    "(last: HTTP 400: a room name may hold only A-Z)\n"));
	cr_assert(prints(report_json, &cfg, &res, "\"last_http_status\":400,"
	    "\"last_http_reason\":\"a room name may hold only A-Z\","
	    "\"frames_joined\":0,"));
	/* Text frames longer than -b that start with one of ours. */
	stats_err_add(&res.cs, LERR_PAYLOAD, 0);
	stats_err_add(&res.cs, LERR_PAYLOAD, 0);
	res.cs.joined = 2;
	cr_assert(prints(report_text, &cfg, &res, ", payload 2 (2 text frames "
	    "longer than -b, starting with one of our messages: the server "
	    "joins messages into one frame; try --split-lines)\n"));
	cr_assert(prints(report_json, &cfg, &res, "\"frames_joined\":2,"));
}

/* rooms_run, with --room-sizes 20x1,5x4: each size its own latency. */
static void
sizes_run(struct load_config *cfg, struct run_result *res,
    struct round_result *rr)
{
	rooms_run(cfg, res, rr);
	cfg->plan.urls = 1;
	cr_assert_eq(plan_sizes_parse(&cfg->plan, "5x4,20x1", 100), 0);
	stats_round_init(&rr->rs, 1);
	stats_round_sent(&rr->rs, 0, 20, 0);   /* room r0, of 20 */
	for (int m = 0; m < 4; m++)
		stats_round_sent(&rr->rs, 1, 5, 0);
	for (int d = 0; d < 20; d++)
		stats_round_delivered(&rr->rs, 0, false, 50 * 1000000, 1);
	for (int d = 0; d < 19; d++)
		stats_round_delivered(&rr->rs, 1, false, 2 * 1000000, 1);
}

Test(load_report, room_sizes_have_their_own_lines, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;
	char *s;

	sizes_run(&cfg, &res, &rr);
	s = printed(report_text, &cfg, &res);
	cr_assert_not_null(strstr(s, "rooms          5 (r0 .. r4), 1 of 20, "
	    "4 of 5 connections\n"), "%s", s);
	cr_assert_not_null(strstr(s, "rooms of 20    20 of 20 expected "
	    "(100.000 %) in 1 room\n  latency      min 50 ms"), "%s", s);
	cr_assert_not_null(strstr(s, "rooms of 5     19 of 20 expected "
	    "(95.000 %) in 4 rooms\n  latency      min 2 ms"), "%s", s);
	free(s);
	s = printed(report_json, &cfg, &res);
	cr_assert_not_null(strstr(s, "\"room_sizes\":[{\"size\":20,\"rooms\":1},"
	    "{\"size\":5,\"rooms\":4}],"), "%s", s);
	cr_assert_not_null(strstr(s, "\"by_room_size\":[{\"size\":20,\"rooms\":"
	    "1,\"expected\":20,\"received\":20,\"delivery_ratio\":1.000000,"
	    "\"latency_us\":{\"n\":20,\"min\":50000.000,"), "%s", s);
	cr_assert_not_null(strstr(s, "{\"size\":5,\"rooms\":4,\"expected\":20,"
	    "\"received\":19,\"delivery_ratio\":0.950000,\"latency_us\":{\"n\":"
	    "19,\"min\":2000.000,"), "%s", s);
	free(s);
}

Test(load_report, one_room_size_needs_no_split, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;
	char *s;

	rooms_run(&cfg, &res, &rr);
	s = printed(report_text, &cfg, &res);
	cr_assert_null(strstr(s, "rooms of"), "%s", s);
	free(s);
	s = printed(report_json, &cfg, &res);
	cr_assert_not_null(strstr(s, "\"room_sizes\":null,"), "%s", s);
	cr_assert_not_null(strstr(s, "\"by_room_size\":[{\"size\":10,\"rooms\":"
	    "4,\"expected\":80,\"received\":80,"), "%s", s);
	free(s);
}

Test(load_report, a_sweep_step_shows_each_room_size, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;
	char *s;

	sizes_run(&cfg, &res, &rr);
	cfg.mode = MODE_SWEEP;
	s = printed(report_text, &cfg, &res);
	cr_assert_not_null(strstr(s, "  rooms of 20"), "%s", s);
	cr_assert_not_null(strstr(s, "  rooms of 5 "), "%s", s);
	cr_assert_not_null(strstr(s, "50 ms     50 ms\n"), "%s", s);
	free(s);
}

Test(load_report, ports_running_out_is_said_once_with_the_fix,
    .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;

	rooms_run(&cfg, &res, &rr);
	cr_assert(prints(report_json, &cfg, &res, "\"no_port\":0,"));
	for (int i = 0; i < 3; i++)
		stats_err_add(&res.cs, LERR_CONNECT, EADDRNOTAVAIL);
	stats_err_add(&res.cs, LERR_CONNECT, ECONNREFUSED);
	cr_assert_eq(res.cs.no_port, 3);
	cr_assert(prints(report_text, &cfg, &res, "ports ran out  3 connects "
	    "found no free local port (EADDRNOTAVAIL): "
	    "net.ipv4.ip_local_port_range "));
	cr_assert(prints(report_text, &cfg, &res, "this run had 1 source "
	    "address (the kernel's choice); widen the range, or spread the "
	    "connections over more addresses with --source FIRST-LAST"));
	cr_assert(prints(report_json, &cfg, &res, "\"no_port\":3,"));
	cr_assert_eq(source_parse("127.0.0.1-127.0.0.2", &cfg.source),
	    SOURCE_OK);
	cfg.source_arg = "127.0.0.1-127.0.0.2";
	cr_assert(prints(report_text, &cfg, &res, "this run had 2 source "
	    "addresses (127.0.0.1-127.0.0.2);"));
}

Test(load_report, kernel_memory_per_connection, .timeout = 10)
{
	struct load_config cfg;
	struct run_result res;
	struct round_result rr;

	rooms_run(&cfg, &res, &rr);
	cr_assert(prints(report_json, &cfg, &res, "\"kernel\":null,"));
	cr_assert(lacks(report_text, &cfg, &res, "\nkernel "));
	res.cs.ok = 1024;
	res.kmem_ok = true;
	res.kmem_before = (struct kernmem){ .slab_kib = 100 * 1024,
	    .kernel_stack_kib = 10 * 1024 };
	res.kmem_open = (struct kernmem){ .slab_kib = 108 * 1024,
	    .kernel_stack_kib = 42 * 1024 };
	cr_assert(prints(report_text, &cfg, &res, "kernel         "
	    "machine-wide, both sides: slab 100.0 -> 108.0 MiB, kernel stacks "
	    "10.0 -> 42.0 MiB: 8.0 KiB slab and 32.0 KiB stack per "
	    "connection\n"));
	cr_assert(prints(report_json, &cfg, &res, "\"kernel\":{"
	    "\"slab_kib_before\":102400,\"slab_kib_open\":110592,"
	    "\"kernel_stack_kib_before\":10240,\"kernel_stack_kib_open\":43008,"
	    "\"slab_bytes_per_conn\":8192,\"kernel_stack_bytes_per_conn\":"
	    "32768},"));
}
