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
static pthread_cond_t settled;          /* a sleeper looked again */
static int64_t now_ns;                  /* mu */
static uint64_t epoch;                  /* mu: advances so far */
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
 * Sleeps on `cond` until woken (0), or until `deadline` has passed on the
 * test clock (ETIMEDOUT).  To see an advance, it looks at the clock every
 * millisecond of real time, staying on the list of sleepers meanwhile, so
 * that after an advance the list holds exactly the threads still asleep.
 */
static int
test_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *cmu,
    const struct timespec *deadline)
{
	struct sleeper s;
	int rc;

	pthread_mutex_lock(&mu);
	if (now_ns >= ns_of(deadline)) {
		pthread_mutex_unlock(&mu);
		return ETIMEDOUT;
	}
	s.seen = epoch;
	LIST_INSERT_HEAD(&sleepers, &s, link);
	for (;;) {
		struct timespec real = deadline_real_now();

		pthread_mutex_unlock(&mu);
		real = ts_of(ns_of(&real) + LOOK_NS);
		rc = pthread_cond_timedwait(cond, cmu, &real); /* monotonic */
		pthread_mutex_lock(&mu);
		if (now_ns >= ns_of(deadline)) {
			rc = ETIMEDOUT;
			break;
		}
		if (rc != ETIMEDOUT) { /* woken: the caller looks why */
			rc = 0;
			break;
		}
		s.seen = epoch; /* still asleep, having seen the time */
		pthread_cond_broadcast(&settled);
	}
	LIST_REMOVE(&s, link);
	pthread_cond_broadcast(&settled);
	pthread_mutex_unlock(&mu);
	return rc;
}

int
test_clock_sleepers(void)
{
	struct sleeper *s;
	int n = 0;

	pthread_mutex_lock(&mu);
	LIST_FOREACH(s, &sleepers, link)
		n++;
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
