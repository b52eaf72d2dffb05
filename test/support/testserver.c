/* An in-process wshub for tests (see testserver.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "support/testserver.h"
#include "wshub/log.h"
#include "wshub/stats.h"

#define POLL_STEP_NS (5 * 1000 * 1000)

void
test_server_init(struct test_server *ts)
{
	config_defaults(&ts->cfg);
	ts->cfg.port = 0;
	ts->cfg.shutdown_timeout_ms = 1000;
	log_set_level(LOG_ERROR);
}

static void *
run_server(void *arg)
{
	server_run(arg);
	return NULL;
}

uint16_t
test_server_start(struct test_server *ts)
{
	char err[256];

	if ((ts->server = server_new(&ts->cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "test server: %s\n", err);
		abort();
	}
	ts->port = server_port(ts->server);
	if (pthread_create(&ts->thread, NULL, run_server, ts->server) != 0)
		abort();
	return ts->port;
}

void
test_server_stop(struct test_server *ts)
{
	server_stop(ts->server);
	pthread_join(ts->thread, NULL);
	server_free(ts->server);
	ts->server = NULL;
}

struct stats *
test_server_stats(struct test_server *ts)
{
	return server_stats(ts->server);
}

int
test_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own descriptor */
}

long
test_count_threads(void)
{
	return stats_thread_count();
}

static void
pause_briefly(void)
{
	struct timespec ts = { 0, POLL_STEP_NS };

	nanosleep(&ts, NULL);
}

bool
test_wait_counter(atomic_long *counter, long want, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		if (atomic_load(counter) == want)
			return true;
		pause_briefly();
	}
	return false;
}

bool
test_wait_baseline(int fds, long threads, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		if (test_count_fds() <= fds && test_count_threads() <= threads)
			return true;
		pause_briefly();
	}
	return false;
}
