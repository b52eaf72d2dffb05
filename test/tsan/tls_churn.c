/*
 * ThreadSanitizer driver for TLS: the real server with --tls-cert in this
 * process, 20 client threads that connect over TLS, ask for key updates
 * while broadcasts flow to them (the server's reader and writer then both
 * touch the session's key state: tls.h), leave with or without a
 * close_notify and come back; a thread that reloads the certificate
 * (SIGHUP's tls_context_reload) all along, so sessions drop their pair on
 * every thread; a thread that sends garbage to the TLS port; then a
 * shutdown while clients are connected.  TSan fails the run (exit 66) on
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
#include "support/tlsclient.h"
#include "support/wsclient.h"
#include "wshub/tls.h"

#define CLIENTS 20
#define ROUNDS 3
#define MESSAGES 20
#define STAYERS 4

static struct test_server ts;
static struct tls_test_pair pair;
static atomic_int failures, reloads, garbage;
static atomic_bool churn_done;

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
		struct tlsc_opts opts = { .no_close_notify = round == 1 };
		struct tlsc *c = tlsc_open(ts.port, &opts);
		char text[64];

		if (c == NULL || ws_http(c->fd, ws_upgrade_request, NULL, 0) != 101) {
			atomic_fetch_add(&failures, 1);
			tlsc_close(c);
			continue;
		}
		for (int i = 0; i < MESSAGES; i++) {
			int n = snprintf(text, sizeof(text), "c%d r%d m%d", id,
			    round, i);

			if (i == MESSAGES / 2 && tlsc_key_update(c) != 0)
				atomic_fetch_add(&failures, 1);
			ws_send(c->fd, 0x1, text, (size_t)n);
		}
		if (read_own_echoes(c->fd, id, round) != 0)
			atomic_fetch_add(&failures, 1);
		if (round != 1) {
			ws_send_close(c->fd, 1000, "bye");
			ws_recv_close(c->fd, NULL);
		}
		tlsc_close(c);
	}
	return NULL;
}

/* SIGHUP's work, over and over: sessions made before a reload drop the
 * old pair on whatever thread frees them. */
static void *
reloader_main(void *arg)
{
	char err[256];

	(void)arg;
	while (!atomic_load(&churn_done)) {
		if (tls_context_reload(ts.cfg.tls, err, sizeof(err)) != 0) {
			fprintf(stderr, "reload: %s\n", err);
			atomic_fetch_add(&failures, 1);
		}
		atomic_fetch_add(&reloads, 1);
		usleep(2000);
	}
	return NULL;
}

/* Bad input on the TLS port, each connection closed by the server. */
static void *
garbage_main(void *arg)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
	unsigned char junk[512];

	(void)arg;
	while (!atomic_load(&churn_done)) {
		int fd = ws_tcp_connect(ts.port, 0);
		bool plain = atomic_load(&garbage) % 2;

		arc4random_buf(junk, sizeof(junk));
		junk[0] = 0xff;
		if (fd < 0 || ws_write_all(fd, plain ? (const void *)http : junk,
		    plain ? strlen(http) : sizeof(junk)) != 0 ||
		    !ws_wait_eof(fd, WS_TIMEOUT_MS))
			atomic_fetch_add(&failures, 1);
		if (fd >= 0)
			close(fd);
		atomic_fetch_add(&garbage, 1);
	}
	return NULL;
}

int
main(void)
{
	pthread_t threads[CLIENTS], reloader, junk;
	struct tlsc *stay[STAYERS];
	char err[256];

	if (tlst_make_pair(&pair, "tsan") != 0)
		return 1;
	test_server_init(&ts);
	if (tls_context_new(&ts.cfg.tls, pair.cert, pair.key, NULL, err,
	    sizeof(err)) != TLS_OK) {
		fprintf(stderr, "tls: %s\n", err);
		return 1;
	}
	test_server_start(&ts);
	for (int i = 0; i < STAYERS; i++)
		if ((stay[i] = tlsc_ws_open(ts.port, "/ws", NULL)) == NULL)
			return 1;
	pthread_create(&reloader, NULL, reloader_main, NULL);
	pthread_create(&junk, NULL, garbage_main, NULL);
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&threads[i], NULL, client_main, (void *)(intptr_t)i);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(threads[i], NULL);
	atomic_store(&churn_done, true);
	pthread_join(reloader, NULL);
	pthread_join(junk, NULL);
	server_stop(ts.server);
	for (int i = 0; i < STAYERS; i++) {
		if (ws_recv_close(stay[i]->fd, NULL) != 1001)
			atomic_fetch_add(&failures, 1);
		tlsc_close(stay[i]);
	}
	pthread_join(ts.thread, NULL);
	server_free(ts.server);
	tls_context_free(ts.cfg.tls);
	tlst_remove_pair(&pair);
	printf("tsan tls churn: %d failures, %d reloads, %d garbage "
	    "connections\n", atomic_load(&failures), atomic_load(&reloads),
	    atomic_load(&garbage));
	return atomic_load(&failures) ? 1 : 0;
}
