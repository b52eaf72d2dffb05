/*
 * An in-process wshub for tests: the real server (server_new/server_run)
 * on 127.0.0.1, port 0, its front door on a thread of the test.
 */
#ifndef WSHUB_TEST_TESTSERVER_H
#define WSHUB_TEST_TESTSERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wshub/config.h"
#include "wshub/server.h"

struct test_server {
	struct config cfg;
	server_t *server;
	pthread_t thread;
	uint16_t port;
};

/* Defaults suited to tests (quiet, port 0); adjust ts->cfg, then start. */
void test_server_init(struct test_server *ts);

/* Starts the server; returns its port. */
uint16_t test_server_start(struct test_server *ts);

/* Stops it (a 1001 to every client), joins everything, frees it. */
void test_server_stop(struct test_server *ts);

/* The server's counters. */
struct stats *test_server_stats(struct test_server *ts);

/* Open descriptors and threads of this process, from /proc. */
int test_count_fds(void);
/*
 * Lines of /proc/self/maps: each thread that exited unjoined keeps its
 * stack (and guard page) mapped, which no count of threads or
 * descriptors sees; a joined one's stack is cached by libc and reused.
 */
int test_count_maps(void);

long test_count_threads(void);

/* Polls until *counter == want or timeout_ms passes; true if it held. */
bool test_wait_counter(atomic_long *counter, long want, int timeout_ms);

/*
 * Polls until the server has read everything the client on `client_fd`
 * sent: the server's kernel has acknowledged every byte, and the server's
 * end of the connection (found among this process's descriptors) has
 * nothing unread.  True if that happened within timeout_ms.  A test that
 * writes again afterwards knows the server reads the new bytes separately.
 */
bool test_wait_server_read(int client_fd, int timeout_ms);

/* Polls until this process has at most `fds` descriptors and `threads`
 * threads, or timeout_ms passes; true if it got there. */
bool test_wait_baseline(int fds, long threads, int timeout_ms);

#endif
