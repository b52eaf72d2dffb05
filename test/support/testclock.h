/*
 * testclock — a clock that moves only when the test says (deadline.h's
 * deadline_clock), so a rule about time is tested without waiting for it.
 *
 * test_clock_install makes it the clock of every deadline in the process
 * (Criterion runs each test in its own process).  A thread that waits
 * with a deadline on it (a channel's timed receive, the in-memory pipe's
 * waits, the writer's wait for its reader) looks at the test clock when
 * woken and, to see an advance, every millisecond of real time (it then
 * returns as if woken, and its caller looks at its own condition again):
 * no outcome depends on how long that takes.  test_clock_advance_ms
 * returns only once every thread asleep on the clock has looked at the
 * new time, so test_clock_timeouts then counts every deadline the advance
 * made pass.
 */
#ifndef TEST_SUPPORT_TESTCLOCK_H
#define TEST_SUPPORT_TESTCLOCK_H

#include <stdint.h>

/* Makes the test clock the process's clock, at an arbitrary start.  Call
 * before starting any thread that waits. */
void test_clock_install(void);

/* Moves the clock forward by `ms` and waits (at most 10 s of real time,
 * then aborts the test) until every thread asleep on it has seen the new
 * time.  Test thread. */
void test_clock_advance_ms(int64_t ms);

/* How many waits have ended so far because their deadline passed on the
 * test clock.  Any thread. */
int test_clock_timeouts(void);

#endif
