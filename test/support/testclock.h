/*
 * testclock — a clock that moves only when the test says (deadline.h's
 * deadline_clock), so a rule about time is tested without waiting for it.
 *
 * test_clock_install makes it the clock of every deadline in the process
 * (Criterion runs each test in its own process).  A thread that waits
 * with a deadline on it (a channel's timed receive, the in-memory pipe's
 * waits, the writer's wait for its reader) looks at the test clock when
 * woken and, to see an advance, every millisecond of real time: no
 * outcome depends on how long that takes.  test_clock_advance_ms returns
 * only once every such thread has looked at the new time: those whose
 * deadline passed have left their wait, the others still sleep, so
 * test_clock_sleepers then says exactly how many threads a deadline has
 * not yet woken.
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

/* How many threads sleep on the test clock now (exact right after an
 * advance, while nothing else wakes them).  Any thread. */
int test_clock_sleepers(void);

#endif
