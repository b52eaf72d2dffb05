/*
 * run — the main thread's side of a load run: start the loop threads, walk
 * through the mode's phases (connect, send rounds, drain, close), and
 * gather the counts into a run_result for the report.
 */
#ifndef WSHUB_LOAD_RUN_H
#define WSHUB_LOAD_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "load.h"
#include "procstat.h"
#include "tally.h"

/* One sending round: one broadcast run, one sweep step, connect's check. */
struct round_result {
	uint32_t round;
	uint32_t senders;
	uint32_t rate;                 /* per sender */
	int64_t start_ns;              /* sending window [start, end) */
	int64_t end_ns;
	struct round_stats rs;         /* all loops together */
	struct cpu_time client_cpu;    /* this process, over the round */
	int64_t client_wall_ns;        /* the time client_cpu was taken over */
	int64_t server_cpu_ns;         /* -1 without --server-pid */
	uint64_t closed_by_server;     /* connections the server had closed
	                                  when the round was counted, since
	                                  the run began */
	unsigned failed;               /* rules broken (verdict.h) */
	bool pass;                     /* the mode's verdict: failed == 0 */
};

/*
 * --server-pid, checked just before the first connect: does that process
 * listen on a URL's port?  (A wrapper's PID, or another server's, gives
 * figures that are not the server's.)
 */
struct server_check {
	struct procstat_socks socks;   /* valid if rc == 0 */
	int rc;                        /* procstat_socks: 0 or -errno */
	char comm[32];                 /* its command name */
	pid_t child;                   /* if it does not: a child that does */
	char child_comm[32];
};

struct run_result {
	struct conn_stats cs;          /* all loops, at the end */
	int64_t t0_ns;                 /* the first connect */
	int64_t settled_ns;            /* all open or failed; 0 = cut short */
	int64_t elapsed_ns;
	uint32_t nrounds;
	struct round_result *rounds;   /* nrounds, xcalloc'd */
	bool timed_out;                /* the hard --timeout ended the run */
	bool server_ok;                /* --server-pid given and readable */
	struct server_check srv_check;
	struct procstat srv_before;    /* just before the first connect */
	struct procstat srv_open;      /* once connections settled */
	struct procstat srv_peak;      /* largest RSS and thread count seen */
	bool kmem_ok;                  /* both kernel samples were read */
	struct kernmem kmem_before;    /* machine-wide, like srv_before */
	struct kernmem kmem_open;      /* ... and like srv_open */
};

/*
 * Runs cfg->mode to the end (or to the hard timeout) and fills `res`.
 * Prints the progress line on stderr if cfg->progress.  Returns 0, or -1
 * if not one connection opened.
 */
int run_load(const struct load_config *cfg, struct run_result *res);

/*
 * The hard limit on a whole run, in seconds: --timeout, or the sum of its
 * phases' budgets.  Closing may take CLOSE_WAIT_MS + 2 s more.
 */
int64_t run_budget_s(const struct load_config *cfg);

/* Frees what run_load allocated in `res`. */
void run_result_free(struct run_result *res);

/* The round the report leads with (sweep: the highest passing; or NULL). */
const struct round_result *run_main_round(const struct load_config *cfg,
    const struct run_result *res);

#endif
