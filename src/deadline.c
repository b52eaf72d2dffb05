/* deadline — absolute CLOCK_MONOTONIC deadlines (see deadline.h). */
#include <stdatomic.h>

#include "wshub/deadline.h"

#define NSEC_PER_MSEC 1000000LL
#define NSEC_PER_SEC 1000000000LL

struct timespec
deadline_real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static const struct deadline_clock monotonic = {
	.now = deadline_real_now,
	.cond_timedwait = pthread_cond_timedwait,
};

/* The clock in use: one relaxed load per reading (an indirect call). */
static _Atomic(const struct deadline_clock *) clock_in_use = &monotonic;

void
deadline_use_clock(const struct deadline_clock *clock)
{
	atomic_store_explicit(&clock_in_use, clock ? clock : &monotonic,
	    memory_order_relaxed);
}

struct timespec
deadline_now(void)
{
	return atomic_load_explicit(&clock_in_use,
	    memory_order_relaxed)->now();
}

int
deadline_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mu,
    const struct timespec *deadline)
{
	return atomic_load_explicit(&clock_in_use,
	    memory_order_relaxed)->cond_timedwait(cond, mu, deadline);
}

int64_t
deadline_now_ms(void)
{
	struct timespec now = deadline_now();
	int64_t ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / NSEC_PER_MSEC;

	return ms != 0 ? ms : 1;
}

struct timespec
deadline_after_ms(int64_t ms)
{
	struct timespec ts = deadline_now();
	int64_t nsec = ts.tv_nsec + (ms % 1000) * NSEC_PER_MSEC;

	ts.tv_sec += ms / 1000 + nsec / NSEC_PER_SEC;
	ts.tv_nsec = nsec % NSEC_PER_SEC;
	return ts;
}

/* Signed nanoseconds from a to b. */
static int64_t
diff_ns(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * NSEC_PER_SEC +
	    (b->tv_nsec - a->tv_nsec);
}

int64_t
deadline_remaining_ms(const struct timespec *d)
{
	struct timespec now = deadline_now();
	int64_t ns = diff_ns(&now, d);

	if (ns <= 0)
		return 0;
	return (ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
}

int64_t
deadline_elapsed_ms(const struct timespec *start)
{
	struct timespec now = deadline_now();

	return diff_ns(start, &now) / NSEC_PER_MSEC;
}

void
deadline_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}
