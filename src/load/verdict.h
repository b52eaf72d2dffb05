/*
 * verdict — the rules a round of wshub-load must keep to pass, and their
 * names.
 *
 * A round (a broadcast run, a sweep step, connect's check) passes when it
 * breaks none of its mode's rules.  Each rule has one name, the same in
 * the JSON ("failed_rules"), the table ("failed rules") and wshub-load(1).
 * Plain functions of the counts: no I/O, any thread.
 */
#ifndef WSHUB_LOAD_VERDICT_H
#define WSHUB_LOAD_VERDICT_H

#include "load.h"

struct round_result;

enum verdict_rule {
	RULE_LOSS,        /* broadcast, sweep: over PASS_MAX_LOSS of the due
	                     deliveries lost (all of them if none was due) */
	RULE_P99,         /* broadcast, sweep: a p99 over PASS_MAX_P99_NS */
	RULE_REACH,       /* connect: the broadcast missed some of the -c
	                     requested connections */
	RULE_WRONG_ROOM,  /* a delivery outside its sender's room */
	RULE_CLOSED,      /* the server closed a connection before the round
	                     was counted (unless --allow-closed) */
	RULE_SKIPPED,     /* a message could not be sent: its sender was not
	                     open, or SEND_BACKLOG_MAX behind (unless
	                     --allow-skipped) */
	RULE_COUNT,
};

/* The rules `rr` breaks, bit (1 << rule) each; 0 when it passes. */
unsigned verdict_failed(const struct load_config *cfg,
    const struct round_result *rr);

/*
 * A rule's name: "loss", "p99", "reach", "wrong_room", "closed_by_server",
 * "skipped".
 */
const char *verdict_rule_name(enum verdict_rule rule);

#endif
