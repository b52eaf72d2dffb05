/*
 * wshub-load's verdict (src/load/verdict.h): the rules of each mode, and
 * that a server which went away mid-run fails the run unless the flags
 * say it was expected.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../src/load/run.h"
#include "../src/load/verdict.h"

#define BIT(rule) (1u << (rule))

/* A broadcast round of 10 messages due at 10 connections each, all
 * delivered within 1 ms. */
static void
round_ok(struct load_config *cfg, struct round_result *rr)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = MODE_BROADCAST;
	cfg->conns = 10;
	memset(rr, 0, sizeof(*rr));
	stats_round_init(&rr->rs, 1);
	for (int m = 0; m < 10; m++)
		stats_round_sent(&rr->rs, 0, 10, 0);
	for (int d = 0; d < 100; d++)
		stats_round_delivered(&rr->rs, 0, false, 1000000, 1);
}

Test(load_verdict, a_round_that_kept_up_passes, .timeout = 10)
{
	struct load_config cfg;
	struct round_result rr;

	round_ok(&cfg, &rr);
	cr_assert_eq(verdict_failed(&cfg, &rr), 0);
}

Test(load_verdict, a_server_that_went_away_fails_the_run, .timeout = 10)
{
	struct load_config cfg;
	struct round_result rr;

	/* SIGTERM mid-run: every connection closed (1001), the rest of the
	 * sends skipped, and nothing that was still due lost. */
	round_ok(&cfg, &rr);
	rr.closed_by_server = 10;
	rr.rs.skipped = 12;
	cr_assert_eq(verdict_failed(&cfg, &rr), BIT(RULE_CLOSED) |
	    BIT(RULE_SKIPPED));
	cfg.allow_closed = true;
	cr_assert_eq(verdict_failed(&cfg, &rr), BIT(RULE_SKIPPED));
	cfg.allow_skipped = true;
	cr_assert_eq(verdict_failed(&cfg, &rr), 0);
	/* Every mode keeps these rules. */
	cfg = (struct load_config){ .mode = MODE_CONNECT, .conns = 100 };
	rr.rs.expected = rr.rs.received = 100;
	rr.rs.sent = 1;
	cr_assert_eq(verdict_failed(&cfg, &rr), BIT(RULE_CLOSED) |
	    BIT(RULE_SKIPPED));
}

Test(load_verdict, loss_and_p99_in_broadcast_reach_in_connect, .timeout = 10)
{
	struct load_config cfg;
	struct round_result rr;

	round_ok(&cfg, &rr);
	rr.rs.expected = 102;  /* 100 of 102: 1.96 % lost */
	cr_assert_eq(verdict_failed(&cfg, &rr), BIT(RULE_LOSS));
	rr.rs.expected = 101;  /* 0.99 % */
	cr_assert_eq(verdict_failed(&cfg, &rr), 0);
	hist_record(&rr.rs.latency, 200 * 1000000ULL);
	hist_record(&rr.rs.latency, 200 * 1000000ULL);
	cr_assert_eq(verdict_failed(&cfg, &rr), BIT(RULE_P99));
	round_ok(&cfg, &rr);
	rr.rs.wrong_room = 1;
	cr_assert_eq(verdict_failed(&cfg, &rr), BIT(RULE_WRONG_ROOM));
	/* Nothing due is no pass: all of it was lost. */
	round_ok(&cfg, &rr);
	stats_round_init(&rr.rs, 1);
	cr_assert_eq(verdict_failed(&cfg, &rr), BIT(RULE_LOSS));
	/* Connect: 99 of the 100 requested connections got the message. */
	cfg.mode = MODE_CONNECT;
	cfg.conns = 100;
	rr.rs.sent = 1;
	rr.rs.expected = rr.rs.received = 99;
	cr_assert_eq(verdict_failed(&cfg, &rr), BIT(RULE_REACH));
}

Test(load_verdict, each_rule_has_one_name, .timeout = 10)
{
	static const char *const want[RULE_COUNT] = { "loss", "p99", "reach",
	    "wrong_room", "closed_by_server", "skipped" };

	for (int k = 0; k < RULE_COUNT; k++)
		cr_assert_str_eq(verdict_rule_name((enum verdict_rule)k),
		    want[k]);
	cr_assert_str_eq(verdict_rule_name(RULE_COUNT), "?");
}
