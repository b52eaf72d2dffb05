/*
 * chan_pingpong — what one thread hand-off costs on this machine.
 *
 * Two threads pass a token back and forth N times: `ping` sends it and
 * waits for it to come back, `pong` waits for it and sends it back.  Every
 * send finds the other thread asleep, so each one-way hand-off is one
 * wake-up and one context switch: the price wshub pays when the hub wakes a
 * writer that sleeps on its send channel (BENCHMARKS.md, "thread switch").
 *
 * DESIGN
 * Two transports:
 *   chan — the project's own chan_t (src/chan.c), one per direction, cap 1
 *          (chan has no unbuffered mode; with one token in flight a cap-1
 *          channel behaves like Go's unbuffered one).  Go: ch <- v; <-ch.
 *   pipe — a pipe(2) per direction, one byte each way: the kernel's own
 *          blocking hand-off, for reference.
 * Three placements: both threads pinned to one CPU, pinned to two CPUs,
 * and left to the scheduler.  Each case runs REPEATS times; the median is
 * printed.  The token's round trip is timed by the ping thread, from a
 * barrier after both threads are placed to the last return.
 *
 * usage: chan_pingpong [ROUND_TRIPS]     (default ROUND_TRIPS_DEFAULT)
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wshub/chan.h"

#define ROUND_TRIPS_DEFAULT 50000 /* ~1 s per case at 10 us a hand-off */
#define ROUND_TRIPS_MAX 100000000
#define REPEATS 3                 /* runs per case; the median is shown */

/* One direction of the hand-off, and the two ways to make it. */
struct lane {
	chan_t *ch;
	int fd[2]; /* pipe: [0] read end, [1] write end */
};

struct transport {
	const char *name;
	void (*give)(struct lane *);
	void (*take)(struct lane *);
};

static int token; /* what travels; its address is the chan item */

/* Hands the token over a chan: wakes the other thread if it sleeps. */
static void
chan_give(struct lane *l)
{
	if (chan_send(l->ch, &token) != CHAN_OK)
		abort();
}

/* Waits for the token on a chan (a futex wait while it is away). */
static void
chan_take(struct lane *l)
{
	void *item;

	if (chan_recv(l->ch, &item) != CHAN_OK)
		abort();
}

/* Hands the token over a pipe: one byte. */
static void
pipe_give(struct lane *l)
{
	char b = 1;

	while (write(l->fd[1], &b, 1) != 1)
		if (errno != EINTR)
			abort();
}

/* Waits for the token's byte in read(2). */
static void
pipe_take(struct lane *l)
{
	char b;

	while (read(l->fd[0], &b, 1) != 1)
		if (errno != EINTR)
			abort();
}

static const struct transport transports[] = {
	{ "chan", chan_give, chan_take },
	{ "pipe", pipe_give, pipe_take },
};

/* One run: both threads' shared state. */
struct run {
	const struct transport *t;
	struct lane there, back;
	long round_trips;
	pthread_barrier_t start;
	double wall_ns;     /* ping's view of the whole exchange */
	struct rusage ru0;  /* the process's, at the barrier */
	double t0;
};

/* The time on `clock`, in nanoseconds. */
static double
now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Sends the token and waits for it back, round_trips times; times it. */
static void *
ping_main(void *arg)
{
	struct run *r = arg;

	pthread_barrier_wait(&r->start);
	r->t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < r->round_trips; i++) {
		r->t->give(&r->there);
		r->t->take(&r->back);
	}
	r->wall_ns = now_ns(CLOCK_MONOTONIC) - r->t0;
	return NULL;
}

/* Waits for the token and sends it back, round_trips times. */
static void *
pong_main(void *arg)
{
	struct run *r = arg;

	pthread_barrier_wait(&r->start);
	for (long i = 0; i < r->round_trips; i++) {
		r->t->take(&r->there);
		r->t->give(&r->back);
	}
	return NULL;
}

/* What one case measured, per one-way hand-off. */
struct result {
	double wall_ns;   /* elapsed */
	double cpu_ns;    /* CPU time of the process, both threads */
	double switches;  /* voluntary + involuntary context switches */
};

/* One direction's chan and pipe. */
static void
lane_open(struct lane *l)
{
	l->ch = chan_new(1, 0);
	if (pipe(l->fd) != 0) {
		perror("chan_pingpong: pipe");
		exit(1);
	}
}

/* Frees what lane_open made. */
static void
lane_close(struct lane *l)
{
	chan_free(l->ch);
	close(l->fd[0]);
	close(l->fd[1]);
}

/* Starts a thread on `cpus` (NULL: wherever the scheduler likes). */
static pthread_t
thread_start(void *(*fn)(void *), struct run *r, const cpu_set_t *cpus)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	pthread_attr_init(&attr);
	if (cpus != NULL)
		pthread_attr_setaffinity_np(&attr, sizeof(*cpus), cpus);
	if ((err = pthread_create(&t, &attr, fn, r)) != 0) {
		fprintf(stderr, "chan_pingpong: pthread_create: %s\n",
		    strerror(err));
		exit(1);
	}
	pthread_attr_destroy(&attr);
	return t;
}

/* Runs one exchange of `round_trips` with ping on `a` and pong on `b`. */
static struct result
run_once(const struct transport *t, long round_trips, const cpu_set_t *a,
    const cpu_set_t *b)
{
	struct run r = { .t = t, .round_trips = round_trips };
	struct rusage ru1;
	double cpu0, hand_offs = 2.0 * (double)round_trips;
	pthread_t ping, pong;
	struct result res;

	lane_open(&r.there);
	lane_open(&r.back);
	pthread_barrier_init(&r.start, NULL, 3);
	ping = thread_start(ping_main, &r, a);
	pong = thread_start(pong_main, &r, b);
	getrusage(RUSAGE_SELF, &r.ru0);
	cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	pthread_barrier_wait(&r.start);
	pthread_join(ping, NULL);
	pthread_join(pong, NULL);
	res.cpu_ns = (now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / hand_offs;
	getrusage(RUSAGE_SELF, &ru1);
	res.switches = (double)(ru1.ru_nvcsw - r.ru0.ru_nvcsw +
	    ru1.ru_nivcsw - r.ru0.ru_nivcsw) / hand_offs;
	res.wall_ns = r.wall_ns / hand_offs;
	pthread_barrier_destroy(&r.start);
	lane_close(&r.there);
	lane_close(&r.back);
	return res;
}

/* qsort order for doubles. */
static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* The median of v[0..n), sorting v. */
static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Runs a case REPEATS times and prints the medians. */
static void
run_case(const struct transport *t, const char *placement, long round_trips,
    const cpu_set_t *a, const cpu_set_t *b)
{
	double wall[REPEATS], cpu[REPEATS], sw[REPEATS];

	for (int i = 0; i < REPEATS; i++) {
		struct result res = run_once(t, round_trips, a, b);

		wall[i] = res.wall_ns;
		cpu[i] = res.cpu_ns;
		sw[i] = res.switches;
	}
	printf("%-5s %-10s %12.0f %12.0f %12.2f\n", t->name, placement,
	    median(wall, REPEATS), median(cpu, REPEATS),
	    median(sw, REPEATS));
	fflush(stdout);
}

/* The first two CPUs this process may use, as single-CPU sets. */
static int
two_cpus(cpu_set_t *first, cpu_set_t *second)
{
	cpu_set_t mine;
	int found = 0;

	CPU_ZERO(first);
	CPU_ZERO(second);
	if (sched_getaffinity(0, sizeof(mine), &mine) != 0)
		return 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
		if (CPU_ISSET(cpu, &mine))
			CPU_SET(cpu, found++ == 0 ? first : second);
	return found;
}

/* Runs every transport in every placement and prints a table. */
int
main(int argc, char **argv)
{
	long round_trips = ROUND_TRIPS_DEFAULT;
	cpu_set_t cpu_a, cpu_b;
	int ncpus = two_cpus(&cpu_a, &cpu_b);

	if (argc > 2 || (argc == 2 && ((round_trips = atol(argv[1])) < 1 ||
	    round_trips > ROUND_TRIPS_MAX))) {
		fprintf(stderr, "usage: chan_pingpong [ROUND_TRIPS]  "
		    "(1 to %d, default %d)\n", ROUND_TRIPS_MAX,
		    ROUND_TRIPS_DEFAULT);
		return 2;
	}
	printf("%ld round trips, median of %d runs; per one-way hand-off:\n",
	    round_trips, REPEATS);
	printf("%-5s %-10s %12s %12s %12s\n", "via", "threads", "wall ns",
	    "cpu ns", "switches");
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		const struct transport *t = &transports[i];

		run_case(t, "one CPU", round_trips, &cpu_a, &cpu_a);
		if (ncpus >= 2)
			run_case(t, "two CPUs", round_trips, &cpu_a, &cpu_b);
		else
			printf("%-5s %-10s %12s\n", t->name, "two CPUs",
			    "(one CPU only)");
		run_case(t, "unpinned", round_trips, NULL, NULL);
	}
	return 0;
}
