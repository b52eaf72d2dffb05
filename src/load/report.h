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
	uint32_t round;
	uint64_t sent;
	uint64_t received;
	uint64_t p99_ns;
	long srv_rss_kib;              /* 0 without --server-pid */
	long srv_threads;
};

/* Rewrites the progress line on stderr (a TTY): `prev` gives the rates. */
void report_progress(const struct load_config *cfg,
    const struct progress *prev, const struct progress *cur);

/* Ends the progress line so that what follows starts on a fresh line. */
void report_progress_end(void);

/* The human table. */
void report_text(FILE *f, const struct load_config *cfg,
    const struct run_result *res);

/* One JSON object on one line. */
void report_json(FILE *f, const struct load_config *cfg,
    const struct run_result *res);

#endif
