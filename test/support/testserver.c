/* An in-process wshub for tests (see testserver.h). */
#include <dirent.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	/* The test clients write with write(2): a server that closed first
	 * must be an EPIPE for them, not the end of the test process. */
	signal(SIGPIPE, SIG_IGN);
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

int
test_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, ch;

	if (f == NULL)
		return -1;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
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

static bool
same_address(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
	    a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* The server's end of the loopback connection `client_fd`, or -1: the
 * socket of this process whose addresses are the client's, swapped. */
static int
server_side_fd(int client_fd)
{
	struct sockaddr_in local, peer, a, b;
	socklen_t len = sizeof(local), plen = sizeof(peer);
	struct dirent *e;
	int found = -1;
	DIR *d;

	if (getsockname(client_fd, (struct sockaddr *)&local, &len) != 0 ||
	    getpeername(client_fd, (struct sockaddr *)&peer, &plen) != 0)
		return -1;
	d = opendir("/proc/self/fd");
	while (found < 0 && (e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		struct stat st;

		if (e->d_name[0] == '.' || fd == client_fd || fd == dirfd(d) ||
		    fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		len = sizeof(a);
		plen = sizeof(b);
		if (getsockname(fd, (struct sockaddr *)&a, &len) == 0 &&
		    getpeername(fd, (struct sockaddr *)&b, &plen) == 0 &&
		    same_address(&a, &peer) && same_address(&b, &local))
			found = fd;
	}
	closedir(d);
	return found;
}

bool
test_wait_server_read(int client_fd, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		int server_fd = server_side_fd(client_fd), unacked, unread;

		if (server_fd >= 0 &&
		    ioctl(client_fd, SIOCOUTQ, &unacked) == 0 && unacked == 0 &&
		    ioctl(server_fd, SIOCINQ, &unread) == 0 && unread == 0)
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
