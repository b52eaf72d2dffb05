/* stats — counters and their JSON form (see stats.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "wshub/close_code.h"
#include "wshub/deadline.h"
#include "wshub/stats.h"

const int stats_close_codes[STATS_CLOSE_CODES] = {
	CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL_ERROR,
	CLOSE_UNSUPPORTED_DATA, CLOSE_NO_STATUS, CLOSE_ABNORMAL,
	CLOSE_INVALID_DATA, CLOSE_POLICY_VIOLATION, CLOSE_TOO_BIG,
	CLOSE_INTERNAL_ERROR,
};

void
stats_count_close(struct stats *st, int code)
{
	int i = 0;

	while (i < STATS_CLOSE_CODES && stats_close_codes[i] != code)
		i++;
	stats_add(&st->closes[i], 1); /* i == STATS_CLOSE_CODES: "other" */
}

void
stats_init(struct stats *st)
{
	memset(st, 0, sizeof(*st));
	st->started = deadline_now();
}

long
stats_thread_count(void)
{
	char line[256];
	long n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Threads: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* The bridge's last connection as "\"2026-12-06T06:55:09.123Z\"" (RFC
 * 3339, UTC), or null; and the current outage in seconds, 0 for none. */
static void
redis_times(struct stats *st, char *last, size_t size, double *outage_s)
{
	long long ms = atomic_load(&st->redis.last_connected_ms);
	long long down = atomic_load(&st->redis.outage_since_ms);
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	*outage_s = down ? (double)(deadline_now_ms() - down) / 1000.0 : 0;
	if (ms == 0 || gmtime_r(&sec, &tm) == NULL) {
		snprintf(last, size, "null");
		return;
	}
	snprintf(last, size, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ\"",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ms % 1000);
}

/* Appends printf output to buf at *len, never past size. */
static void __attribute__((format(printf, 4, 5)))
append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

/*
 * The counters and gauges /stats and /metrics show from struct stats, in
 * order: the JSON key, the metric's name (after "wshub_"), its type, HELP
 * text and where the value is.  One row a counter, so adding one is one
 * line here.
 */
static const struct {
	const char *key, *name, *type, *help;
	size_t offset;          /* of an atomic_long in struct stats */
} stat_metrics[] = {
	{ "clients", "clients", "gauge", "Clients registered with the hub now.",
	    offsetof(struct stats, clients) },
	{ "rooms", "rooms", "gauge", "Rooms with at least one client.",
	    offsetof(struct stats, rooms) },
	{ "largest_room", "largest_room", "gauge", "Clients in the largest room.",
	    offsetof(struct stats, largest_room) },
	{ "connections_total", "connections_total", "counter", "WebSocket connections accepted.",
	    offsetof(struct stats, connections_total) },
	{ "messages_in", "messages_in_total", "counter", "Data messages received from clients.",
	    offsetof(struct stats, messages_in) },
	{ "deliveries", "deliveries_total", "counter", "Data frames written to clients.",
	    offsetof(struct stats, deliveries) },
	{ "bytes_in", "bytes_in_total", "counter", "Payload bytes received.",
	    offsetof(struct stats, bytes_in) },
	{ "bytes_out", "bytes_out_total", "counter", "Bytes written to clients, frame headers included.",
	    offsetof(struct stats, bytes_out) },
	{ "slow_client_drops", "slow_client_drops_total", "counter", "Clients dropped for not reading: the three slow_drops_ counters together.",
	    offsetof(struct stats, slow_client_drops) },
	{ "slow_drops_stalled", "slow_drops_stalled_total", "counter", "Clients dropped by the stall rule: more than --send-queue waiting, the writer blocked on the socket.",
	    offsetof(struct stats, slow_drops_stalled) },
	{ "slow_drops_queue_full", "slow_drops_queue_full_total", "counter", "Clients dropped at the hard cap: a queue full in messages or in --send-queue-bytes.",
	    offsetof(struct stats, slow_drops_queue_full) },
	{ "slow_drops_write_timeout", "slow_drops_write_timeout_total", "counter", "Clients whose socket took nothing for --write-timeout.",
	    offsetof(struct stats, slow_drops_write_timeout) },
	{ "messages_unheard", "messages_unheard_total", "counter", "Messages from clients the hub no longer has (dropped or refused), not delivered.",
	    offsetof(struct stats, messages_unheard) },
	{ "protocol_errors", "protocol_errors_total", "counter", "Connections closed with 1002, 1007 or 1009.",
	    offsetof(struct stats, protocol_errors) },
	{ "handshake_rejects", "handshake_rejects_total", "counter", "Upgrade requests refused.",
	    offsetof(struct stats, handshake_rejects) },
	{ "frame_parsers", "frame_parsers", "gauge", "Readers holding a frame parser now: a frame or message half-read.",
	    offsetof(struct stats, frame_parsers) },
	{ "hub_broadcasts", "hub_broadcasts_total", "counter", "Messages the hub fanned out to a room.",
	    offsetof(struct stats, hub_broadcasts) },
	{ "tls_handshakes", "tls_handshakes_total", "counter", "TLS handshakes completed (--tls-cert).",
	    offsetof(struct stats, tls_handshakes) },
	{ "tls_handshake_failures", "tls_handshake_failures_total", "counter", "TLS handshakes failed: bad input, an alert, a timeout, a peer gone.",
	    offsetof(struct stats, tls_handshake_failures) },
	{ "tls_errors", "tls_errors_total", "counter", "TLS connections ended by a TLS error: a bad or oversize record, a fatal alert.",
	    offsetof(struct stats, tls_errors) },
	{ "tls_truncations", "tls_truncations_total", "counter", "TLS connections the peer closed without a close_notify.",
	    offsetof(struct stats, tls_truncations) },
	{ "redis_connected", "redis_connected", "gauge", "1 while the Redis bridge is connected (--redis).",
	    offsetof(struct stats, redis.connected) },
	{ "redis_published", "redis_published_total", "counter", "Messages published to Redis for other hubs.",
	    offsetof(struct stats, redis.published) },
	{ "redis_received", "redis_received_total", "counter", "Messages from other hubs, delivered here.",
	    offsetof(struct stats, redis.received) },
	{ "redis_dropped", "redis_dropped_total", "counter", "Messages for other hubs lost: queue full, Redis down, not answering or refusing a PUBLISH, the bridge stopping.",
	    offsetof(struct stats, redis.dropped) },
	{ "redis_reconnects", "redis_reconnects_total", "counter", "Connections to Redis made again after a failure.",
	    offsetof(struct stats, redis.reconnects) },
	{ "redis_rejected", "redis_rejected_total", "counter", "Messages from Redis refused: not a room's channel, not an envelope, past --max-message, or text that is not UTF-8.",
	    offsetof(struct stats, redis.rejected) },
};
#define N_STAT_METRICS (sizeof(stat_metrics) / sizeof(stat_metrics[0]))

/* A counter of stat_metrics by its row. */
static long
stat_value(struct stats *st, size_t i)
{
	return stats_get((atomic_long *)(void *)((char *)st +
	    stat_metrics[i].offset));
}

/* Seconds the hub spent fanning out broadcasts (hub_broadcast_ns). */
static double
hub_broadcast_seconds(struct stats *st)
{
	return (double)stats_get(&st->hub_broadcast_ns) / 1e9;
}

size_t
stats_format_json(struct stats *st, char *buf, size_t size)
{
	char last[64];
	double outage_s;
	size_t len = 0;

	redis_times(st, last, sizeof(last), &outage_s);
	append(buf, size, &len, "{");
	for (size_t i = 0; i < N_STAT_METRICS; i++)
		append(buf, size, &len, "\"%s\":%ld,", stat_metrics[i].key,
		    stat_value(st, i));
	append(buf, size, &len, "\"hub_broadcast_seconds\":%.9f,"
	    "\"threads\":%ld,\"redis_last_connected\":%s,"
	    "\"redis_outage_seconds\":%.3f,\"uptime_seconds\":%.3f}\n",
	    hub_broadcast_seconds(st), stats_thread_count(), last, outage_s,
	    (double)deadline_elapsed_ms(&st->started) / 1000.0);
	return len;
}

/* One metric with its HELP and TYPE lines; `value` printed with `fmt`. */
#define METRIC(buf, size, len, name, type, help, fmt, value)              \
	append(buf, size, len, "# HELP wshub_%s %s\n# TYPE wshub_%s %s\n"  \
	    "wshub_%s " fmt "\n", name, help, name, type, name, value)

size_t
stats_format_prometheus(struct stats *st, char *buf, size_t size)
{
	long long down = atomic_load(&st->redis.outage_since_ms);
	size_t len = 0;

	for (size_t i = 0; i < N_STAT_METRICS; i++)
		METRIC(buf, size, &len, stat_metrics[i].name,
		    stat_metrics[i].type, stat_metrics[i].help, "%ld",
		    stat_value(st, i));
	METRIC(buf, size, &len, "hub_broadcast_seconds_total", "counter",
	    "Seconds the hub spent fanning broadcasts out to their rooms.",
	    "%.9f", hub_broadcast_seconds(st));
	METRIC(buf, size, &len, "threads", "gauge",
	    "Threads of the server process.", "%ld", stats_thread_count());
	/* Milliseconds as seconds: 9.133, as /stats has it, not the
	 * nearest double's 17 digits (9.1329999999999991). */
	METRIC(buf, size, &len, "uptime_seconds", "gauge",
	    "Seconds since the server started.", "%.3f",
	    (double)deadline_elapsed_ms(&st->started) / 1000.0);
	METRIC(buf, size, &len, "redis_outage_seconds", "gauge",
	    "Seconds the current Redis outage has lasted (0: connected, or no "
	    "--redis).", "%.3f",
	    down ? (double)(deadline_now_ms() - down) / 1000.0 : 0.0);
	METRIC(buf, size, &len, "redis_last_connected_seconds", "gauge",
	    "When the Redis bridge last connected, in seconds since the epoch "
	    "(0: never).", "%.3f",
	    (double)atomic_load(&st->redis.last_connected_ms) / 1000.0);
	append(buf, size, &len, "# HELP wshub_closes_total Connections ended, "
	    "by the close code the client sent (1006: none).\n"
	    "# TYPE wshub_closes_total counter\n");
	for (int i = 0; i < STATS_CLOSE_CODES; i++)
		append(buf, size, &len, "wshub_closes_total{code=\"%d\"} %ld\n",
		    stats_close_codes[i], stats_get(&st->closes[i]));
	append(buf, size, &len, "wshub_closes_total{code=\"other\"} %ld\n",
	    stats_get(&st->closes[STATS_CLOSE_CODES]));
	return len;
}
