/* testclock — a clock the test advances (see testclock.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "support/testclock.h"
#include "wshub/deadline.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define LOOK_NS NS_PER_MS       /* a sleeper looks at the clock this often */
#define SETTLE_BOUND_S 10       /* real seconds an advance may take */

/* A thread asleep on the test clock, and the epoch of the time it saw. */
struct sleeper {
	LIST_ENTRY(sleeper) link;
	uint64_t seen;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t settled;          /* a sleeper left its wait */
static int64_t now_ns;                  /* mu */
static uint64_t epoch;                  /* mu: advances so far */
static int timeouts;                    /* mu: waits ended at a deadline */
static LIST_HEAD(, sleeper) sleepers = LIST_HEAD_INITIALIZER(sleepers);

static int64_t
ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * NS_PER_S + t->tv_nsec;
}

static struct timespec
ts_of(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / NS_PER_S,
	    .tv_nsec = ns % NS_PER_S };
}

static struct timespec
test_now(void)
{
	int64_t ns;

	pthread_mutex_lock(&mu);
	ns = now_ns;
	pthread_mutex_unlock(&mu);
	return ts_of(ns);
}

/*
 * Sleeps on `cond` for at most a millisecond of real time, then returns 0
 * (a spurious wake-up: the caller looks at its condition again), or
 * ETIMEDOUT once `deadline` has passed on the test clock.  It never sleeps
 * twice in one call: pthread_cond_timedwait may return ETIMEDOUT for a
 * wait that a broadcast also ended (the time ran out while the broadcaster
 * held the mutex), so only the caller, re-checking, can tell.  While it
 * sleeps the thread is on the list of sleepers, so that an advance waits
 * until every thread asleep before it has looked at the clock again.
 */
static int
test_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *cmu,
    const struct timespec *deadline)
{
	struct sleeper s;
	struct timespec real = deadline_real_now();
	int rc = 0;

	pthread_mutex_lock(&mu);
	if (now_ns >= ns_of(deadline)) {
		timeouts++;
		pthread_mutex_unlock(&mu);
		return ETIMEDOUT;
	}
	s.seen = epoch;
	LIST_INSERT_HEAD(&sleepers, &s, link);
	pthread_mutex_unlock(&mu);
	real = ts_of(ns_of(&real) + LOOK_NS);
	(void)pthread_cond_timedwait(cond, cmu, &real); /* monotonic */
	pthread_mutex_lock(&mu);
	if (now_ns >= ns_of(deadline)) {
		timeouts++;
		rc = ETIMEDOUT;
	}
	LIST_REMOVE(&s, link);
	pthread_cond_broadcast(&settled);
	pthread_mutex_unlock(&mu);
	return rc;
}

int
test_clock_timeouts(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = timeouts;
	pthread_mutex_unlock(&mu);
	return n;
}

static const struct deadline_clock test_clock = {
	.now = test_now,
	.cond_timedwait = test_cond_timedwait,
};

void
test_clock_install(void)
{
	deadline_cond_init(&settled);
	now_ns = 1000 * NS_PER_S;
	deadline_use_clock(&test_clock);
}

/* mu held: true while a sleeper has not looked since the last advance. */
static bool
unsettled_locked(void)
{
	struct sleeper *s;

	LIST_FOREACH(s, &sleepers, link)
		if (s->seen != epoch)
			return true;
	return false;
}

void
test_clock_advance_ms(int64_t ms)
{
	struct timespec bound = deadline_real_now();

	bound.tv_sec += SETTLE_BOUND_S;
	pthread_mutex_lock(&mu);
	now_ns += ms * NS_PER_MS;
	epoch++;
	while (unsettled_locked())
		if (pthread_cond_timedwait(&settled, &mu, &bound) == ETIMEDOUT) {
			fprintf(stderr, "test clock: a sleeper never looked\n");
			abort();
		}
	pthread_mutex_unlock(&mu);
}
