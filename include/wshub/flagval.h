/*
 * flagval — numbers given on a command line, and what is wrong with a bad
 * one.
 *
 * Both programs (wshub, wshub-load) read integers and durations from their
 * flags.  A message such as "expected seconds from 0.01 to 86400" for the
 * value 10.0001 leaves the user to guess the rule; so these parsers return
 * the reason a value was refused, and flagval_strerror names it ("too many
 * decimals", "not a whole number", ...).  The caller, the command-line
 * layer, prints that reason with the flag, the value and the range, and
 * exits.  Nothing here prints, allocates or exits; no value is ever
 * negative.
 *
 * The accepted forms: digits, optionally after a '+'; durations may add
 * a '.' and at most FLAGVAL_MS_DECIMALS digits, with a digit on each side.
 * No exponent, no unit, no blank.
 */
#ifndef WSHUB_FLAGVAL_H
#define WSHUB_FLAGVAL_H

#include <stdint.h>

/* Decimals a duration in seconds may have: its unit is the millisecond. */
#define FLAGVAL_MS_DECIMALS 3

/* Why a value was refused.  Syntax first, then the range. */
enum flagval_err {
	FLAGVAL_OK = 0,
	FLAGVAL_EMPTY = -1,       /* "" */
	FLAGVAL_NOT_NUMBER = -2,  /* "abc", "0x10", "1 2" */
	FLAGVAL_EXPONENT = -3,    /* "1e3" */
	FLAGVAL_UNIT = -4,        /* "10s", "64k" */
	FLAGVAL_POINT = -5,       /* ".5", "5." */
	FLAGVAL_DECIMALS = -6,    /* "10.0001": more than 3 decimals */
	FLAGVAL_FRACTION = -7,    /* "1.5" where a whole number is due */
	FLAGVAL_NEGATIVE = -8,    /* "-1" */
	FLAGVAL_TOO_SMALL = -9,   /* below the caller's minimum */
	FLAGVAL_TOO_LARGE = -10,  /* above the caller's maximum */
};

/*
 * Parses a whole number in [min, max] (0 <= min <= max) into *out.
 * Returns FLAGVAL_OK, or a negative enum flagval_err and leaves *out
 * alone; FLAGVAL_FRACTION for any '.', FLAGVAL_DECIMALS never.
 */
int flagval_int(const char *s, long long min, long long max, long long *out);

/*
 * Parses seconds with at most FLAGVAL_MS_DECIMALS decimals ("10", "0.25")
 * into milliseconds in [min_ms, max_ms] (0 <= min_ms <= max_ms), stored in
 * *out_ms.  Returns FLAGVAL_OK, or a negative enum flagval_err and leaves
 * *out_ms alone; FLAGVAL_FRACTION never.
 */
int flagval_seconds(const char *s, int64_t min_ms, int64_t max_ms,
    int64_t *out_ms);

/* What is wrong, in a few words ("too many decimals"); a static string,
 * for any `err` (an unknown one gives "invalid"). */
const char *flagval_strerror(int err);

#endif
