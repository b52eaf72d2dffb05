/* verdict — the rules a round must keep to pass (see verdict.h). */
#include "run.h"
#include "verdict.h"

static const char *const rule_names[RULE_COUNT] = {
	[RULE_LOSS] = "loss",
	[RULE_P99] = "p99",
	[RULE_REACH] = "reach",
	[RULE_WRONG_ROOM] = "wrong_room",
	[RULE_CLOSED] = "closed_by_server",
	[RULE_SKIPPED] = "skipped",
};

/*
 * Broadcast and every sweep step: the server kept up, with at most
 * PASS_MAX_LOSS of the deliveries lost and a p99 within PASS_MAX_P99_NS.
 * Connect: the broadcast of each room reached every requested connection.
 * Every mode: no delivery outside its sender's room, no connection closed
 * by the server and no message left unsent, unless the flags allow them:
 * deliveries are only due at open connections from senders that could
 * send, so a server that went away mid-run would otherwise lose nothing.
 */
unsigned
verdict_failed(const struct load_config *cfg, const struct round_result *rr)
{
	const struct round_stats *rs = &rr->rs;
	unsigned failed = 0;

	if (cfg->mode == MODE_CONNECT) {
		if (rs->sent == 0 || rs->expected != cfg->conns ||
		    rs->received < rs->expected)
			failed |= 1u << RULE_REACH;
	} else {
		if (rs->expected == 0 || (double)rs->received <
		    (1.0 - PASS_MAX_LOSS) * (double)rs->expected)
			failed |= 1u << RULE_LOSS;
		if (hist_percentile(&rs->latency, 99) >
		    (uint64_t)PASS_MAX_P99_NS)
			failed |= 1u << RULE_P99;
	}
	if (rs->wrong_room > 0)
		failed |= 1u << RULE_WRONG_ROOM;
	if (rr->closed_by_server > 0 && !cfg->allow_closed)
		failed |= 1u << RULE_CLOSED;
	if (rs->skipped > 0 && !cfg->allow_skipped)
		failed |= 1u << RULE_SKIPPED;
	return failed;
}

/* Rule -> its name in the JSON, the table and the manual. */
const char *
verdict_rule_name(enum verdict_rule rule)
{
	return rule < RULE_COUNT ? rule_names[rule] : "?";
}
