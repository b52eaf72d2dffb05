/*
 * opts — wshub-load's command line: flags, the mode and the URL.
 *
 * Program layer: on a bad flag it prints one line naming the flag and the
 * accepted range to stderr and exits with status 2; --help and --version
 * exit 0.
 */
#ifndef WSHUB_LOAD_OPTS_H
#define WSHUB_LOAD_OPTS_H

#include "load.h"

/* Fills `cfg` from argv, or exits (status 2 on bad usage, 0 for --help
 * and --version). */
void opts_parse(int argc, char **argv, struct load_config *cfg);

/* Frees what opts_parse built for wss:// (the TLS credentials).  Main
 * thread, after every loop is joined. */
void opts_free(struct load_config *cfg);

/* Short name of a mode: "broadcast", "connect", "sweep". */
const char *opts_mode_name(enum load_mode mode);

#endif
