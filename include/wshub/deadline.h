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

/*
 * The clock every module reads (Go would pass a clock; wshub has one, set
 * once): `now`, and a condition-variable wait that ends at a deadline of
 * this clock.  The default is the real one, CLOCK_MONOTONIC and
 * pthread_cond_timedwait.  A test clock (test/support/testclock.c) moves
 * only when the test advances it, so a rule about time (a stall, a
 * timeout, a ping schedule) is tested without waiting; it is for tests
 * over in-memory I/O (conn_io), since poll(2) on a real socket waits in
 * real time.
 */
struct deadline_clock {
	/* The time now on this clock. */
	struct timespec (*now)(void);
	/* Waits on `cond` (made by deadline_cond_init; `mu` held, as
	 * pthread_cond_timedwait): 0 when woken (perhaps spuriously: the
	 * caller re-checks), ETIMEDOUT once `deadline` has passed. */
	int (*cond_timedwait)(pthread_cond_t *cond, pthread_mutex_t *mu,
	    const struct timespec *deadline);
};

/* Makes `clock` (NULL: the real one) the clock of every deadline below.
 * Call before any thread that waits starts: tests only. */
void deadline_use_clock(const struct deadline_clock *clock);

/* The real clock's time, whatever clock is in use (CLOCK_MONOTONIC). */
struct timespec deadline_real_now(void);

/* The current time on the clock in use. */
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

/*
 * pthread_cond_timedwait on the clock in use, `deadline` a time from
 * deadline_after_ms: 0 when woken (perhaps spuriously), ETIMEDOUT once the
 * deadline has passed.  Blocks the calling thread on `cond`, `mu` held.
 */
int deadline_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mu,
    const struct timespec *deadline);

#endif
