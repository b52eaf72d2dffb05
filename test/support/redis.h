/*
 * A real redis-server for the tests (Debian's redis-server package): on a
 * free loopback port, persistence off, as a child process; and a small
 * hiredis client to ask it things (PUBSUB NUMSUB, INFO).
 *
 * And a fake one for the hostile cases (struct fake_redis): a thread of
 * the test on a loopback port, speaking just enough RESP for a hub to
 * connect and subscribe, then sending whatever the test scripted.
 */
#ifndef WSHUB_TEST_REDIS_H
#define WSHUB_TEST_REDIS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

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

/* Runs one command (printf-style, as redisCommand); 0 unless it failed
 * or Redis answered an error. */
int test_redis_command(struct test_redis *r, const char *fmt, ...);

/* PUBLISH `len` bytes of `data` on `channel`; the number of subscribers
 * that got it, -1 on error. */
long test_redis_publish(struct test_redis *r, const char *channel,
    const void *data, size_t len);

/* A number from INFO (e.g. "blocked_clients"), -1 on error. */
long test_redis_info(struct test_redis *r, const char *field);

/* Polls until INFO's `field` is at least `n`; false after WS_TIMEOUT_MS. */
bool test_redis_wait_info(struct test_redis *r, const char *field, long n);

/* ---- a scripted, hostile Redis ----------------------------------------- */

#define FAKE_REDIS_EVENTS 64

/*
 * Answers AUTH and SELECT with +OK, PING with +PONG, PUBLISH with :1,
 * SUBSCRIBE and UNSUBSCRIBE with their confirmations; after each
 * SUBSCRIBE's confirmations it sends `script` (script_len bytes), then
 * `filler` bytes of 'x' as fast as the hub reads them: a reply that never
 * ends.  Set those before fake_redis_start; the rest is the fake's.
 */
struct fake_redis {
	const char *script;
	size_t script_len;
	size_t filler;
	uint16_t port;                /* out */
	char url[64];                 /* out: redis://127.0.0.1:PORT */
	atomic_int connections;       /* accepted so far */
	atomic_int subscribes;        /* SUBSCRIBE commands received */
	/* When each SUBSCRIBE came (CLOCK_MONOTONIC): the first
	 * FAKE_REDIS_EVENTS, written before `subscribes` counts them. */
	struct timespec subscribed_at[FAKE_REDIS_EVENTS];
	int listen_fd, wake[2];
	pthread_t thread;
};

/* Listens on 127.0.0.1, port 0, and starts the fake's thread; 0 or -1. */
int fake_redis_start(struct fake_redis *f);

/* Stops the thread and closes every connection. */
void fake_redis_stop(struct fake_redis *f);

/* Waits until `n` SUBSCRIBEs came; false after timeout_ms. */
bool fake_redis_wait_subscribes(struct fake_redis *f, int n, int timeout_ms);

#endif
