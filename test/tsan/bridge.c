/*
 * ThreadSanitizer driver for the Redis bridge: a real redis-server, two
 * servers in this process joined through it, client threads on both that
 * broadcast in two rooms and leave and come back (so rooms open and close
 * and the bridge subscribes and unsubscribes), a Redis SIGKILL and restart
 * in the middle, then a shutdown.  TSan fails the run (exit 66) on any
 * data race; the driver fails if a client could not connect or Redis did
 * not come back.  (How much crossed hubs depends on timing: printed, not
 * checked; test/test_bridge.c checks delivery.)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support/redis.h"
#include "support/testserver.h"
#include "support/wsclient.h"

#define CLIENTS 8
#define ROUNDS 4
#define MESSAGES 20

static struct test_redis redis;
static struct test_server hubs[2];
static atomic_int failures;

static void *
client_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct ws_frame f;
	char text[32];

	for (int round = 0; round < ROUNDS; round++) {
		int fd = ws_open_room(hubs[id % 2].port, id % 4 < 2 ? "a" : "b");

		if (fd < 0) {
			atomic_fetch_add(&failures, 1);
			return NULL;
		}
		for (int i = 0; i < MESSAGES; i++) {
			snprintf(text, sizeof(text), "c%d r%d m%d", id, round, i);
			ws_send(fd, 0x1, text, strlen(text));
		}
		/* Read what comes for a while; cross-hub traffic is counted by
		 * the servers. */
		for (int i = 0; i < MESSAGES && ws_recv(fd, &f, 200) == 0; i++)
			ws_frame_free(&f);
		close(fd);
	}
	return NULL;
}

int
main(void)
{
	pthread_t threads[CLIENTS];

	if (test_redis_start(&redis) != 0) {
		printf("tsan bridge: redis-server did not start\n");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		test_server_init(&hubs[i]);
		hubs[i].cfg.redis_url = redis.url;
		test_server_start(&hubs[i]);
	}
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&threads[i], NULL, client_main, (void *)(intptr_t)i);
	test_redis_kill(&redis, true); /* under traffic */
	if (test_redis_start(&redis) != 0)
		atomic_fetch_add(&failures, 1);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(threads[i], NULL);
	printf("tsan bridge: %d failures, published %ld + %ld, received %ld + "
	    "%ld\n", atomic_load(&failures),
	    stats_get(&test_server_stats(&hubs[0])->redis.published),
	    stats_get(&test_server_stats(&hubs[1])->redis.published),
	    stats_get(&test_server_stats(&hubs[0])->redis.received),
	    stats_get(&test_server_stats(&hubs[1])->redis.received));
	for (int i = 0; i < 2; i++)
		test_server_stop(&hubs[i]);
	test_redis_kill(&redis, false);
	return atomic_load(&failures) ? 1 : 0;
}
