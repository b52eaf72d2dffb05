/* GET /metrics (Prometheus text format) and /stats move with the hub. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/testserver.h"
#include "wshub/stats.h"
#include "support/wsclient.h"

static struct test_server ts;

/* GETs `path` and returns the whole response (malloc'd). */
static char *
get(const char *path)
{
	char *text = ws_get(ts.port, path);

	cr_assert_not_null(text, "GET %s failed", path);
	return text;
}

/* The value of the sample line starting with `name ` in /metrics. */
static double
metric(const char *name)
{
	char *text = get("/metrics"), *line, key[128];
	double v = -1;

	snprintf(key, sizeof(key), "\n%s ", name);
	if ((line = strstr(text, key)) != NULL)
		v = strtod(line + strlen(key), NULL);
	free(text);
	return v;
}

/* Polls /metrics until `name` equals `want` (the reaper is asynchronous). */
static bool
metric_becomes(const char *name, double want)
{
	for (int i = 0; i < 500; i++) {
		if (metric(name) == want)
			return true;
		usleep(10000);
	}
	return false;
}

Test(metrics, values_move_as_clients_connect_chat_and_leave, .timeout = 60)
{
	char *text;
	int a, b;
	struct ws_frame f;

	test_server_init(&ts);
	test_server_start(&ts);
	text = get("/metrics");
	cr_assert_not_null(strstr(text, "Content-Type: text/plain; version=0.0.4"));
	cr_assert_not_null(strstr(text, "# TYPE wshub_clients gauge\n"));
	cr_assert_not_null(strstr(text, "# TYPE wshub_deliveries_total counter\n"));
	free(text);
	cr_assert_eq(metric("wshub_clients"), 0);
	a = ws_open(ts.port);
	b = ws_open(ts.port);
	cr_assert(metric_becomes("wshub_clients", 2));
	cr_assert_eq(metric("wshub_connections_total"), 2);
	ws_send(a, 0x1, "hi", 2);
	cr_assert_eq(ws_recv(a, &f, WS_TIMEOUT_MS), 0);
	ws_frame_free(&f);
	cr_assert_eq(ws_recv(b, &f, WS_TIMEOUT_MS), 0);
	ws_frame_free(&f);
	cr_assert(metric_becomes("wshub_messages_in_total", 1));
	cr_assert(metric_becomes("wshub_bytes_in_total", 2));
	cr_assert(metric_becomes("wshub_deliveries_total", 2)); /* counted after writev returns */
	cr_assert_eq(metric("wshub_hub_broadcasts_total"), 1,
	    "one message fanned out by the hub");
	cr_assert_gt(metric("wshub_hub_broadcast_seconds_total"), 0,
	    "the hub's time for it is counted");
	cr_assert(metric_becomes("wshub_frame_parsers", 0),
	    "two idle readers hold no frame parser");
	ws_send_close(a, 1000, "bye");
	ws_recv_close(a, NULL);
	close(a);
	close(b); /* no close frame: counted as 1006 */
	cr_assert(metric_becomes("wshub_closes_total{code=\"1000\"}", 1));
	cr_assert(metric_becomes("wshub_closes_total{code=\"1006\"}", 1));
	cr_assert(metric_becomes("wshub_clients", 0));
	text = get("/stats");
	cr_assert_not_null(strstr(text, "\"messages_in\":1,"), "%s", text);
	cr_assert_not_null(strstr(text, "\"hub_broadcasts\":1,"), "%s", text);
	free(text);
	test_server_stop(&ts);
}

/* True if s[0, n) is digits only, n > 0. */
static bool
all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

Test(metrics, samples_are_plain_numbers_uptime_has_three_decimals,
    .timeout = 60)
{
	char *text, *body, *line, *save = NULL;
	int samples = 0;

	test_server_init(&ts);
	test_server_start(&ts);
	usleep(10 * 1000); /* an uptime that is not 0 */
	text = get("/metrics");
	cr_assert_not_null(body = strstr(text, "\r\n\r\n"), "%s", text);
	for (line = strtok_r(body + 4, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *value = strrchr(line, ' ');
		size_t n;

		if (line[0] == '#')
			continue;
		cr_assert_not_null(value, "%s", line);
		n = strlen(++value);
		samples++;
		if (strstr(line, "_seconds ") != NULL ||
		    strstr(line, "_seconds_total ") != NULL) {
			/* uptime, Redis's in ms; the hub's time in ns */
			const char *dot = strchr(value, '.');
			size_t want = strstr(line, "_total ") ? 9 : 3;

			cr_assert(dot != NULL && all_digits(value,
			    (size_t)(dot - value)) && all_digits(dot + 1,
			    strlen(dot + 1)) && strlen(dot + 1) == want,
			    "seconds with %zu decimals: %s", want, line);
		} else
			cr_assert(all_digits(value, n), "an integer: %s", line);
	}
	cr_assert_geq(samples, 12);
	free(text);
	test_server_stop(&ts);
}

/* The three slow rules are counted apart, and slow_client_drops stays
 * their sum, in /stats and /metrics alike. */
Test(metrics, slow_drops_are_counted_by_rule_and_in_their_sum)
{
	struct stats st;
	char json[4096], prom[8192];

	stats_init(&st);
	stats_count_slow(&st, &st.slow_drops_stalled);
	stats_count_slow(&st, &st.slow_drops_queue_full);
	stats_count_slow(&st, &st.slow_drops_queue_full);
	stats_count_slow(&st, &st.slow_drops_write_timeout);
	stats_format_json(&st, json, sizeof(json));
	stats_format_prometheus(&st, prom, sizeof(prom));
	cr_assert_not_null(strstr(json, "\"slow_client_drops\":4,"
	    "\"slow_drops_stalled\":1,\"slow_drops_queue_full\":2,"
	    "\"slow_drops_write_timeout\":1,"), "%s", json);
	cr_assert_not_null(strstr(prom, "\nwshub_slow_client_drops_total 4\n"));
	cr_assert_not_null(strstr(prom, "\nwshub_slow_drops_stalled_total 1\n"));
	cr_assert_not_null(strstr(prom,
	    "\nwshub_slow_drops_queue_full_total 2\n"));
	cr_assert_not_null(strstr(prom,
	    "\nwshub_slow_drops_write_timeout_total 1\n"));
}
