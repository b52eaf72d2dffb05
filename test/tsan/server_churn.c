/*
 * ThreadSanitizer driver for the server: the real server in this process,
 * 50 client threads that connect, broadcast, read, leave (politely or
 * abruptly) and come back, a slow client that never reads, then a
 * shutdown while clients are connected, and a thread reading
 * /debug/threads all along.  TSan fails the run (exit 66) on
 * any data race; the driver fails if a client lost one of its own
 * messages or the shutdown did not say 1001.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/testserver.h"
#include "support/wsclient.h"

#define CLIENTS 50
#define ROUNDS 3
#define MESSAGES 20
#define STAYERS 10

static struct test_server ts;
static atomic_int failures;

/* Reads until all of this client's own messages came back. */
static int
read_own_echoes(int fd, int id, int round)
{
	char prefix[32];
	int own = 0;
	struct ws_frame f;

	snprintf(prefix, sizeof(prefix), "c%d r%d ", id, round);
	while (own < MESSAGES && ws_recv(fd, &f, WS_TIMEOUT_MS) == 0) {
		own += f.opcode == 0x1 &&
		    strncmp((char *)f.payload, prefix, strlen(prefix)) == 0;
		ws_frame_free(&f);
	}
	return own == MESSAGES ? 0 : -1;
}

static void *
client_main(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int round = 0; round < ROUNDS; round++) {
		int fd = ws_open(ts.port);
		char text[64];

		if (fd < 0) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		for (int i = 0; i < MESSAGES; i++) {
			int n = snprintf(text, sizeof(text), "c%d r%d m%d", id,
			    round, i);
			ws_send(fd, 0x1, text, (size_t)n);
		}
		if (read_own_echoes(fd, id, round) != 0)
			atomic_fetch_add(&failures, 1);
		if (round % 2 == 0) {
			ws_send_close(fd, 1000, "bye");
			ws_recv_close(fd, NULL);
		}
		close(fd);
	}
	return NULL;
}

static atomic_bool churn_done;
static atomic_int dumps;

/* Reads /debug/threads (text and JSON) over and over while clients come
 * and go: the dump must be safe against threads starting and ending. */
static void *
dumper_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&churn_done)) {
		char *t = ws_get(ts.port, atomic_load(&dumps) % 2 ?
		    "/debug/threads?format=json" : "/debug/threads");

		if (t == NULL || strstr(t, "hub") == NULL)
			atomic_fetch_add(&failures, 1);
		free(t);
		atomic_fetch_add(&dumps, 1);
	}
	return NULL;
}

int
main(void)
{
	pthread_t threads[CLIENTS], dumper;
	int stay[STAYERS], slow;

	test_server_init(&ts);
	ts.cfg.send_queue = 4096; /* nobody here is slow but `slow` */
	ts.cfg.write_timeout_ms = 500;
	test_server_start(&ts);
	slow = ws_open_rcvbuf(ts.port, 4096);
	for (int i = 0; i < STAYERS; i++)
		stay[i] = ws_open(ts.port);
	pthread_create(&dumper, NULL, dumper_main, NULL);
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&threads[i], NULL, client_main, (void *)(intptr_t)i);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(threads[i], NULL);
	atomic_store(&churn_done, true);
	pthread_join(dumper, NULL);
	if (atomic_load(&dumps) == 0)
		atomic_fetch_add(&failures, 1);
	server_stop(ts.server);
	for (int i = 0; i < STAYERS; i++) {
		if (ws_recv_close(stay[i], NULL) != 1001)
			atomic_fetch_add(&failures, 1);
		close(stay[i]);
	}
	pthread_join(ts.thread, NULL);
	server_free(ts.server);
	close(slow);
	printf("tsan server churn: %d client failures, %d thread dumps\n",
	    atomic_load(&failures), atomic_load(&dumps));
	return atomic_load(&failures) ? 1 : 0;
}
