/*
 * stats — the server's counters, served as JSON at GET /stats.
 *
 * Plain atomics, written by whichever thread sees the event (relaxed
 * increments: they are statistics, not synchronisation) and read by the
 * thread that answers /stats.
 */
#ifndef WSHUB_STATS_H
#define WSHUB_STATS_H

#include <stdatomic.h>

#include <stddef.h>
#include <time.h>

/* The Redis bridge's counters (bridge.h), for /stats and /metrics;
 * relaxed atomics, any thread.  Here, not in bridge.h: stats knows no
 * module, and the hub, which includes stats.h, knows no bridge. */
struct bridge_stats {
	atomic_long connected;   /* 1 while both connections are up */
	atomic_long published;   /* messages published to Redis */
	atomic_long received;    /* messages from other hubs, delivered */
	atomic_long dropped;     /* publishes lost: queue full, Redis down or
	                          * not answering, the bridge stopping */
	atomic_long reconnects;  /* connections made after the first */
	atomic_long rejected;    /* messages from Redis refused: a channel not
	                          * a room's, no envelope, past --max-message,
	                          * invalid UTF-8 in a text message */
	/* When the bridge last connected (CLOCK_REALTIME, ms since the
	 * epoch), and since when the current outage lasts (CLOCK_MONOTONIC,
	 * ms); 0: never, none. */
	atomic_llong last_connected_ms;
	atomic_llong outage_since_ms;
};

/* The close codes counted one by one (RFC 6455 §7.4.1); others share a
 * counter. */
#define STATS_CLOSE_CODES 10
extern const int stats_close_codes[STATS_CLOSE_CODES];

struct stats {
	atomic_long clients;            /* registered with the hub now */
	atomic_long rooms;              /* rooms with at least one client */
	atomic_long largest_room;       /* clients in the largest room */
	atomic_long connections_total;  /* upgrades since start */
	atomic_long messages_in;        /* data messages received */
	atomic_long deliveries;         /* data frames written to clients */
	atomic_long bytes_in;           /* payload bytes received */
	atomic_long bytes_out;          /* wire bytes written */
	/* Clients dropped as slow, by the rule that dropped them, and their
	 * sum (stats_count_slow keeps it): */
	atomic_long slow_client_drops;  /* the three below together */
	atomic_long slow_drops_stalled; /* the stall rule: more than
	                                   --send-queue waiting while its
	                                   writer is blocked on the full
	                                   socket for SLOW_STALL_MS */
	atomic_long slow_drops_queue_full; /* the hard cap: SEND_QUEUE_LIMIT
	                                   messages, or --send-queue-bytes */
	atomic_long slow_drops_write_timeout; /* its socket took nothing
	                                   for --write-timeout (the writer) */
	atomic_long messages_unheard;   /* sent by a client the hub no longer
	                                   has (or never had): not delivered */
	atomic_long protocol_errors;    /* closes with 1002, 1007 or 1009 */
	atomic_long handshake_rejects;  /* upgrade requests refused */
	atomic_long frame_parsers;      /* wslay contexts held now: readers
	                                   with a frame or message half-read */
	/* Messages the hub fanned out to a room, and the time it spent doing
	 * so (CLOCK_MONOTONIC, ns): the hub's time per broadcast. */
	atomic_long hub_broadcasts;
	atomic_long hub_broadcast_ns;
	/* With --tls-cert: TLS handshakes completed and failed (bad input, an
	 * alert, a timeout, a peer gone mid-handshake); connections and
	 * requests that ended on a TLS error (a bad or oversize record, a
	 * fatal alert) or without the peer's close_notify. */
	atomic_long tls_handshakes;
	atomic_long tls_handshake_failures;
	atomic_long tls_errors;
	atomic_long tls_truncations;
	/* Connections ended, by the close code the peer sent (1006: none). */
	atomic_long closes[STATS_CLOSE_CODES + 1]; /* last: any other code */
	struct bridge_stats redis;      /* zero without --redis */
	struct timespec started;        /* CLOCK_MONOTONIC, set once */
};

/* Zeroes the counters and records the start time. */
void stats_init(struct stats *st);

/* Adds `n` to a counter (relaxed). */
static inline void
stats_add(atomic_long *counter, long n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* Reads a counter (relaxed). */
static inline long
stats_get(atomic_long *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

/* Counts a client dropped as slow under `rule`, one of the slow_drops_
 * counters of `st`, and in their sum, slow_client_drops. */
static inline void
stats_count_slow(struct stats *st, atomic_long *rule)
{
	stats_add(rule, 1);
	stats_add(&st->slow_client_drops, 1);
}

/* Counts a connection that ended with close code `code`. */
void stats_count_close(struct stats *st, int code);

/* The process's thread count from /proc/self/status, or -1. */
long stats_thread_count(void);

/* Writes the counters as one JSON object; returns its length. */
size_t stats_format_json(struct stats *st, char *buf, size_t size);

/*
 * Writes the counters in the Prometheus text exposition format (version
 * 0.0.4, with HELP and TYPE lines); returns its length.  `size` of 8 KiB
 * (METRICS_MAX) is enough.
 */
size_t stats_format_prometheus(struct stats *st, char *buf, size_t size);

#endif
