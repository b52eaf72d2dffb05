/*
 * hub_rooms — what joins and leaves cost the hub thread, by number of rooms.
 *
 * N clients join, then all leave, in two shapes: every client alone in its
 * own room (N rooms of one), and every client in one room.  The clients
 * are struct hub_client around plain channels (as hub.h allows: no socket,
 * no connection thread), so the figure is the hub's own work: the time
 * from the first event posted to the hub's client count reaching its
 * target, divided by N.  A join or a leave should cost the same whatever
 * the number of rooms (BENCHMARKS.md, "Joins and leaves"); before the
 * count of rooms per size, a leave from rooms of one rescanned every room.
 *
 * usage: hub_rooms [N...]     (default: 1000 10000 20000 30000)
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wshub/hub.h"
#include "wshub/log.h"
#include "wshub/xmalloc.h"

#define BENCH_MAX_CLIENTS 1000000

static void
hold(struct hub_client *cl)
{
	(void)cl;
}

static const struct hub_client_ops ops = { hold, hold };

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Spins until the hub counts `want` clients. */
static void
wait_clients(struct stats *st, long want)
{
	while (stats_get(&st->clients) != want)
		;
}

/* Milliseconds for n joins and for n leaves, rooms of one or one room. */
static void
run(size_t n, int one_room, double *join_ms, double *leave_ms)
{
	struct hub_client *cl = xcalloc(n, sizeof(*cl));
	struct stats st;
	hub_t *hub;
	char room[32];
	double t0;

	stats_init(&st);
	hub = hub_new(&st, 4096, n);
	if (hub_start(hub) != 0)
		abort();
	t0 = now_ms();
	for (size_t i = 0; i < n; i++) {
		hub_client_init(&cl[i], chan_new(4, 1), &ops, i + 1, "bench", 4,
		    1000);
		snprintf(room, sizeof(room), "r%zu", one_room ? 0 : i);
		hub_register(hub, &cl[i], room);
	}
	wait_clients(&st, (long)n);
	*join_ms = now_ms() - t0;
	t0 = now_ms();
	for (size_t i = 0; i < n; i++)
		hub_unregister(hub, &cl[i]);
	wait_clients(&st, 0);
	*leave_ms = now_ms() - t0;
	hub_shutdown(hub);
	hub_join(hub);
	hub_free(hub);
	for (size_t i = 0; i < n; i++)
		chan_free(cl[i].send);
	free(cl);
}

int
main(int argc, char **argv)
{
	static const size_t defaults[] = { 1000, 10000, 20000, 30000 };
	size_t count = argc > 1 ? (size_t)argc - 1 : 4;

	log_set_level(LOG_ERROR);
	printf("%8s  %-14s %10s %10s %12s\n", "clients", "rooms", "join ms",
	    "leave ms", "us per leave");
	for (size_t k = 0; k < count; k++) {
		size_t n = argc > 1 ? strtoul(argv[k + 1], NULL, 10) : defaults[k];

		if (n == 0 || n > BENCH_MAX_CLIENTS) {
			fprintf(stderr, "hub_rooms: N must be 1 to %d\n",
			    BENCH_MAX_CLIENTS);
			return 2;
		}
		for (int one_room = 0; one_room <= 1; one_room++) {
			double join_ms, leave_ms;

			run(n, one_room, &join_ms, &leave_ms);
			printf("%8zu  %-14s %10.1f %10.1f %12.2f\n", n,
			    one_room ? "1" : "1 per client", join_ms, leave_ms,
			    leave_ms * 1e3 / (double)n);
		}
	}
	return 0;
}
