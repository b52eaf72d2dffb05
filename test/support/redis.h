/*
 * A real redis-server for the tests (Debian's redis-server package): on a
 * free loopback port, persistence off, as a child process; and a small
 * hiredis client to ask it things (PUBSUB NUMSUB, INFO).
 */
#ifndef WSHUB_TEST_REDIS_H
#define WSHUB_TEST_REDIS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct test_redis {
	pid_t pid;          /* 0 while not running */
	uint16_t port;
	char password[64];  /* "" for none */
	int idle_timeout_s; /* Redis's `timeout`: closes idle clients; 0 never */
	char url[128];      /* redis://[:PASSWORD@]127.0.0.1:PORT */
};

/* Starts redis-server (on r->port if set, else a free port) and waits
 * until it answers PING.  Returns 0 or -1. */
int test_redis_start(struct test_redis *r);

/* SIGKILL (hard) or SIGTERM, then waits for it. */
void test_redis_kill(struct test_redis *r, bool hard);

/* The number of subscribers of `channel` (PUBSUB NUMSUB), -1 on error. */
long test_redis_numsub(struct test_redis *r, const char *channel);

/* How many failed AUTHs Redis has logged (ACL LOG's "count" fields
 * summed), -1 on error. */
long test_redis_auth_failures(struct test_redis *r);

/* Clients connected now (INFO's connected_clients, this query's own
 * included), -1 on error. */
long test_redis_clients(struct test_redis *r);

/* Waits until `channel` has `n` subscribers; false after WS_TIMEOUT_MS. */
bool test_redis_wait_numsub(struct test_redis *r, const char *channel,
    long n);

#endif
