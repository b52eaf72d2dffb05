/* stats — counters and their JSON form (see stats.h). */
#include <stdio.h>
#include <string.h>

#include "wshub/deadline.h"
#include "wshub/stats.h"

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

size_t
stats_format_json(struct stats *st, char *buf, size_t size)
{
	int n = snprintf(buf, size,
	    "{\"clients\":%ld,\"connections_total\":%ld,"
	    "\"messages_in\":%ld,\"deliveries\":%ld,"
	    "\"bytes_in\":%ld,\"bytes_out\":%ld,"
	    "\"slow_client_drops\":%ld,\"protocol_errors\":%ld,"
	    "\"handshake_rejects\":%ld,\"threads\":%ld,"
	    "\"uptime_seconds\":%.3f}\n",
	    stats_get(&st->clients), stats_get(&st->connections_total),
	    stats_get(&st->messages_in), stats_get(&st->deliveries),
	    stats_get(&st->bytes_in), stats_get(&st->bytes_out),
	    stats_get(&st->slow_client_drops), stats_get(&st->protocol_errors),
	    stats_get(&st->handshake_rejects), stats_thread_count(),
	    (double)deadline_elapsed_ms(&st->started) / 1000.0);

	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}
