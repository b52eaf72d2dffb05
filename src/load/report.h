/*
 * report — what wshub-load prints: the live progress line, the final human
 * table and the one-line JSON summary.  Program layer; main thread only.
 */
#ifndef WSHUB_LOAD_REPORT_H
#define WSHUB_LOAD_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "load.h"

struct run_result;

/* What one progress line shows; rates come from two consecutive lines. */
struct progress {
	int64_t now_ns;
	int64_t elapsed_ns;
	long open;
	uint32_t round;                /* 0: none sent yet */
	int64_t round_start_ns;        /* when `round` began sending */
	uint64_t sent;                 /* in `round`, so far */
	uint64_t received;
	uint64_t latency_n;            /* samples behind p99_ns */
	uint64_t p99_ns;
	long srv_rss_kib;              /* 0 without --server-pid */
	long srv_threads;
};

/*
 * Rewrites the progress line on `f` (stderr, a TTY).  The rates cover the
 * time since `prev` (all zeros for the first line), or since the round
 * began sending if that is later: the counts start at 0 with each round.
 * A rate over no time, or a p99 over no samples, shows as "-".
 */
void report_progress(FILE *f, const struct load_config *cfg,
    const struct progress *prev, const struct progress *cur);

/* Ends the progress line on `f` so that what follows starts afresh. */
void report_progress_end(FILE *f);

/*
 * One line on `f` when --server-pid names a process that does not listen
 * on a URL's port, or whose sockets could not be read; nothing when it
 * does.  For the start of the run, before the figures are gathered.
 */
void report_server_warning(FILE *f, const struct load_config *cfg,
    const struct run_result *res);

/* The human table. */
void report_text(FILE *f, const struct load_config *cfg,
    const struct run_result *res);

/* One JSON object on one line. */
void report_json(FILE *f, const struct load_config *cfg,
    const struct run_result *res);

#endif
