/*
 * deadline — absolute points in CLOCK_MONOTONIC time.
 *
 * Go's time.Now().Add(d) and time.Until(t).  Every timeout in wshub is an
 * absolute monotonic deadline, so waking up early (a signal, a spurious
 * condition-variable wake-up) never stretches it, and wall-clock jumps never
 * shorten it.
 */
#ifndef WSHUB_DEADLINE_H
#define WSHUB_DEADLINE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* The current CLOCK_MONOTONIC time. */
struct timespec deadline_now(void);

/* The CLOCK_MONOTONIC time `ms` milliseconds from now (ms >= 0). */
struct timespec deadline_after_ms(int64_t ms);

/* Milliseconds from now until `d`, rounded up; 0 if it has passed. */
int64_t deadline_remaining_ms(const struct timespec *d);

/* The current CLOCK_MONOTONIC time in whole milliseconds; never 0 (a clock
 * that reads 0 ms gives 1), so 0 can mean "not set". */
int64_t deadline_now_ms(void);

/* Milliseconds since `start` (may be 0). */
int64_t deadline_elapsed_ms(const struct timespec *start);

/*
 * Initialises a condition variable whose timed waits take these deadlines
 * (CLOCK_MONOTONIC).  Every condition variable waited on with a deadline
 * must be made here: the default clock is the wall clock, and a monotonic
 * deadline read as wall-clock time has passed long ago.
 */
void deadline_cond_init(pthread_cond_t *cond);

#endif
