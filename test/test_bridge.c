/*
 * Two hubs as one, through a real redis-server: two servers in this
 * process, each with --redis, clients on both.  Cross-hub delivery in a
 * room (exactly once, in order, binary kept), rooms kept apart across
 * hubs, Redis killed and restarted under traffic, Redis down at start, a
 * wrong password.  Then the edges (issue 17): a subscriber Redis kills
 * while rooms churn, a hostile Redis (a scripted fake, support/redis.h),
 * messages from Redis that break the server's own rules, every publish
 * counted, a shutdown bounded with Redis stopped, the password kept out
 * of sight.  Every wait is on observable state: Redis's own subscriber
 * counts (PUBSUB NUMSUB, INFO), the servers' counters, a log line, a
 * message.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/redis.h"
#include "wshub/bridge.h"
#include "wshub/log.h"
#include "support/testserver.h"
#include "support/wsclient.h"

static struct test_redis redis;
static struct test_server hub_a, hub_b;

static void
start_hub(struct test_server *ts, const char *url)
{
	test_server_init(ts);
	ts->cfg.redis_url = url;
	test_server_start(ts);
}

static void
setup(void)
{
	cr_assert_eq(test_redis_start(&redis), 0, "redis-server did not start");
	start_hub(&hub_a, redis.url);
	start_hub(&hub_b, redis.url);
}

static void
teardown(void)
{
	test_server_stop(&hub_a);
	test_server_stop(&hub_b);
	test_redis_kill(&redis, false);
}

static void
say(int fd, const char *text)
{
	cr_assert_eq(ws_send(fd, 0x1, text, strlen(text)), 0);
}

static void
expect(int fd, const char *want, const char *who)
{
	struct ws_frame f;

	cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0, "%s got nothing, "
	    "waiting for '%s'", who, want);
	cr_assert(f.opcode == 0x1 && f.len == strlen(want) &&
	    memcmp(f.payload, want, f.len) == 0, "%s got '%.*s', not '%s'",
	    who, (int)f.len, f.payload, want);
	ws_frame_free(&f);
}

static bool
connected(struct test_server *ts)
{
	return test_wait_counter(&test_server_stats(ts)->redis.connected, 1,
	    WS_TIMEOUT_MS);
}

Test(bridge, a_room_spans_two_hubs_exactly_once_in_order, .init = setup,
    .fini = teardown, .timeout = 60)
{
	enum { N = 200 };
	uint8_t all_bytes[256];
	struct ws_frame f;
	char text[32];
	int a = ws_open_room(hub_a.port, "red");
	int b = ws_open_room(hub_b.port, "red");

	cr_assert(a >= 0 && b >= 0);
	cr_assert(test_redis_wait_numsub(&redis, "wshub:red", 2),
	    "both hubs subscribe to red");
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "a%d", i);
		say(a, text);
	}
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "a%d", i);
		expect(b, text, "the other hub's client");
		expect(a, text, "the sender, once: not again from Redis");
	}
	for (int i = 0; i < 256; i++)
		all_bytes[i] = (uint8_t)i;
	cr_assert_eq(ws_send(b, 0x2, all_bytes, sizeof(all_bytes)), 0);
	cr_assert_eq(ws_recv(a, &f, WS_TIMEOUT_MS), 0);
	cr_assert(f.opcode == 0x2 && f.len == 256 &&
	    memcmp(f.payload, all_bytes, 256) == 0, "binary, byte for byte");
	ws_frame_free(&f);
	cr_assert_eq(ws_recv(b, &f, WS_TIMEOUT_MS), 0);
	cr_assert_eq(f.opcode, 0x2);
	ws_frame_free(&f);
	say(a, "last"); /* nothing doubled before it */
	expect(b, "last", "the other hub's client");
	expect(a, "last", "the sender");
	/* Counted when Redis's reply to the PUBLISH is read, which may be
	 * after the other hub has delivered the message: wait for it. */
	cr_assert(test_wait_counter(&test_server_stats(&hub_a)->redis.published,
	    N + 1, WS_TIMEOUT_MS), "published: %ld",
	    stats_get(&test_server_stats(&hub_a)->redis.published));
	cr_assert(test_wait_counter(&test_server_stats(&hub_b)->redis.received,
	    N + 1, WS_TIMEOUT_MS), "received: %ld",
	    stats_get(&test_server_stats(&hub_b)->redis.received));
	close(a);
	close(b);
}

Test(bridge, rooms_stay_apart_across_hubs, .init = setup, .fini = teardown,
    .timeout = 60)
{
	int red_a = ws_open_room(hub_a.port, "red");
	int blue_b = ws_open_room(hub_b.port, "blue");
	int red_b = ws_open_room(hub_b.port, "red");

	cr_assert(test_redis_wait_numsub(&redis, "wshub:red", 2));
	cr_assert(test_redis_wait_numsub(&redis, "wshub:blue", 1));
	say(red_a, "for red");
	expect(red_b, "for red", "red on the other hub");
	say(blue_b, "for blue"); /* red1 was handled first on hub b: */
	expect(blue_b, "for blue", "blue, not red's message");
	close(red_b);
	cr_assert(test_redis_wait_numsub(&redis, "wshub:red", 1),
	    "hub b unsubscribes when its last red client leaves");
	close(red_a);
	close(blue_b);
	cr_assert(test_redis_wait_numsub(&redis, "wshub:red", 0));
	cr_assert(test_redis_wait_numsub(&redis, "wshub:blue", 0));
}

Test(bridge, redis_killed_and_restarted_under_traffic, .init = setup,
    .fini = teardown, .timeout = 60)
{
	int a = ws_open_room(hub_a.port, "r");
	int a2 = ws_open_room(hub_a.port, "r");
	int b = ws_open_room(hub_b.port, "r");

	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 2));
	say(a, "before");
	expect(b, "before", "the other hub");
	expect(a2, "before", "the same hub");
	expect(a, "before", "the sender");
	test_redis_kill(&redis, true);
	say(a, "during"); /* local delivery goes on without Redis */
	expect(a2, "during", "the same hub, Redis gone");
	expect(a, "during", "the sender, Redis gone");
	cr_assert_eq(test_redis_start(&redis), 0, "Redis again, same port");
	cr_assert(test_wait_counter(&test_server_stats(&hub_a)->redis.reconnects,
	    1, WS_TIMEOUT_MS * 2), "hub a reconnects");
	cr_assert(test_wait_counter(&test_server_stats(&hub_b)->redis.reconnects,
	    1, WS_TIMEOUT_MS * 2), "hub b reconnects");
	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 2),
	    "both hubs subscribe to r again");
	say(a, "after");
	expect(b, "after", "the other hub, after the restart");
	expect(a2, "after", "the same hub");
	expect(a, "after", "the sender");
	close(a);
	close(a2);
	close(b);
}

static void
kill_redis(void)
{
	test_redis_kill(&redis, true);
}

Test(bridge, redis_down_at_start_then_up, .fini = kill_redis, .timeout = 60)
{
	int a, b;

	redis.port = 0;
	redis.pid = 0;
	redis.password[0] = '\0';
	test_redis_start(&redis);  /* to learn a free port... */
	test_redis_kill(&redis, true); /* ...and leave it closed */
	start_hub(&hub_a, redis.url);
	start_hub(&hub_b, redis.url);
	a = ws_open_room(hub_a.port, "r");
	b = ws_open_room(hub_b.port, "r");
	say(a, "alone");
	expect(a, "alone", "the sender: local delivery without Redis");
	cr_assert(test_wait_counter(&test_server_stats(&hub_a)->redis.dropped,
	    1, WS_TIMEOUT_MS), "the publish was dropped and counted");
	cr_assert_eq(stats_get(&test_server_stats(&hub_a)->redis.connected), 0);
	cr_assert_eq(test_redis_start(&redis), 0);
	cr_assert(connected(&hub_a) && connected(&hub_b));
	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 2));
	say(a, "together");
	expect(b, "together", "the other hub, once Redis is up");
	close(a);
	close(b);
	test_server_stop(&hub_a);
	test_server_stop(&hub_b);
	test_redis_kill(&redis, false);
}

Test(bridge, a_wrong_password_is_refused_and_nothing_breaks,
    .fini = kill_redis, .timeout = 60)
{
	char url[160];
	long denied;
	int a;

	memset(&redis, 0, sizeof(redis));
	strlcpy(redis.password, "secret", sizeof(redis.password));
	cr_assert_eq(test_redis_start(&redis), 0);
	snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%u", redis.port);
	denied = test_redis_auth_failures(&redis);
	start_hub(&hub_a, url);
	start_hub(&hub_b, redis.url); /* the right one */
	for (int i = 0; i < WS_TIMEOUT_MS / 5 &&
	    test_redis_auth_failures(&redis) <= denied; i++)
		usleep(5000);
	cr_assert_gt(test_redis_auth_failures(&redis), denied,
	    "hub a tried, and Redis refused its password");
	cr_assert(connected(&hub_b), "the right password connects");
	cr_assert_eq(stats_get(&test_server_stats(&hub_a)->redis.connected), 0);
	a = ws_open(hub_a.port);
	say(a, "still here");
	expect(a, "still here", "local delivery on the refused hub");
	close(a);
	test_server_stop(&hub_a);
	test_server_stop(&hub_b);
	test_redis_kill(&redis, false);
}

/*
 * Redis closes idle clients after its `timeout` (1 s here; subscribers are
 * exempt): the publish connections go while nothing is sent.  The next
 * message still crosses hubs, on a fresh connection.
 */
Test(bridge, an_idle_publish_connection_redis_closed_is_replaced,
    .fini = kill_redis, .timeout = 60)
{
	enum { IDLE_LEFT = 2 + 1 }; /* two subscribers and the query */
	int a, b;

	memset(&redis, 0, sizeof(redis));
	redis.idle_timeout_s = 1;
	cr_assert_eq(test_redis_start(&redis), 0);
	start_hub(&hub_a, redis.url);
	start_hub(&hub_b, redis.url);
	a = ws_open_room(hub_a.port, "r");
	b = ws_open_room(hub_b.port, "r");
	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 2));
	/* Then: 2 hubs x (publish + subscribe), and the query itself.  The
	 * publish connections may already be gone by the first look (Redis
	 * does not wait for us), so wait for the count without them. */
	for (int i = 0; i < WS_TIMEOUT_MS / 5 &&
	    test_redis_clients(&redis) > IDLE_LEFT; i++)
		usleep(5000);
	cr_assert_eq(test_redis_clients(&redis), IDLE_LEFT,
	    "Redis closed both idle publish connections");
	say(a, "after idle");
	expect(b, "after idle", "the other hub, through a new connection");
	expect(a, "after idle", "the sender");
	cr_assert_eq(stats_get(&test_server_stats(&hub_a)->redis.dropped), 0);
	close(a);
	close(b);
	test_server_stop(&hub_a);
	test_server_stop(&hub_b);
}

/* ---- the edges (issue 17) ------------------------------------------------ */

/* What the hubs log, for the tests that wait on a log line: stderr goes
 * to a pipe that a thread drains (and echoes, for a failing test). */
static struct {
	int saved, pipe_rd;
	pthread_t thread;
	pthread_mutex_t mu;
	char text[1 << 16];
	size_t len;
} logs = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void *
drain_logs(void *arg)
{
	char buf[4096];
	ssize_t n;

	(void)arg;
	while ((n = read(logs.pipe_rd, buf, sizeof(buf))) > 0) {
		pthread_mutex_lock(&logs.mu);
		for (ssize_t i = 0; i < n && logs.len < sizeof(logs.text) - 1; i++)
			logs.text[logs.len++] = buf[i];
		logs.text[logs.len] = '\0';
		pthread_mutex_unlock(&logs.mu);
		if (write(logs.saved, buf, (size_t)n) < 0)
			break;
	}
	return NULL;
}

static void
capture_logs(void)
{
	int p[2];

	log_set_level(LOG_INFO);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	logs.saved = dup(STDERR_FILENO);
	logs.pipe_rd = p[0];
	logs.len = 0;
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	cr_assert_eq(pthread_create(&logs.thread, NULL, drain_logs, NULL), 0);
}

static void
release_logs(void)
{
	dup2(logs.saved, STDERR_FILENO); /* the pipe's last writer: EOF */
	pthread_join(logs.thread, NULL);
	close(logs.pipe_rd);
	close(logs.saved);
}

/* Waits until a logged line contains `needle`; false after timeout_ms. */
static bool
logged(const char *needle, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		bool found;

		pthread_mutex_lock(&logs.mu);
		found = strstr(logs.text, needle) != NULL;
		pthread_mutex_unlock(&logs.mu);
		if (found)
			return true;
		usleep(5000);
	}
	return false;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Stops a hub and returns how long that took, in ms. */
static long
timed_stop(struct test_server *ts)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	test_server_stop(ts);
	return ms_since(&t0);
}

/* Reads frames on `fd` until the text `want`, skipping `skip` ones. */
static void
expect_after(int fd, const char *want, const char *skip, const char *who)
{
	struct ws_frame f;

	for (;;) {
		cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0, "%s got nothing, "
		    "waiting for '%s'", who, want);
		if (f.opcode == 0x1 && f.len == strlen(skip) &&
		    memcmp(f.payload, skip, f.len) == 0) {
			ws_frame_free(&f);
			continue;
		}
		break;
	}
	cr_assert(f.opcode == 0x1 && f.len == strlen(want) &&
	    memcmp(f.payload, want, f.len) == 0, "%s got '%.*s', not '%s'",
	    who, (int)f.len, f.payload, want);
	ws_frame_free(&f);
}

/*
 * Issue 17.5: Redis kills the subscribers while hub a's publisher waits
 * on a PUBLISH reply (CLIENT PAUSE ... WRITE) and rooms open and close on
 * hub a.  Each of those asks the publisher for something; none may be
 * lost: hub a must subscribe again and hear hub b.
 */
Test(bridge, the_subscriber_comes_back_when_redis_kills_it_as_rooms_churn,
    .init = setup, .fini = teardown, .timeout = 60)
{
	enum { CHURN = 12 };
	int a = ws_open_room(hub_a.port, "r");
	int b = ws_open_room(hub_b.port, "r");
	int churn[CHURN];
	char room[16];

	cr_assert(a >= 0 && b >= 0);
	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 2));
	cr_assert_eq(test_redis_command(&redis, "CLIENT PAUSE 1500 WRITE"), 0);
	say(a, "held");
	expect(a, "held", "the sender");
	cr_assert(test_redis_wait_info(&redis, "blocked_clients", 1),
	    "hub a's PUBLISH waits for the pause");
	for (int i = 0; i < CHURN; i++) {
		snprintf(room, sizeof(room), "c%d", i);
		cr_assert_geq(churn[i] = ws_open_room(hub_a.port, room), 0);
	}
	cr_assert(test_wait_counter(&test_server_stats(&hub_a)->rooms,
	    1 + CHURN, WS_TIMEOUT_MS));
	for (int i = 0; i < CHURN; i++)
		close(churn[i]);
	cr_assert(test_wait_counter(&test_server_stats(&hub_a)->rooms, 1,
	    WS_TIMEOUT_MS));
	cr_assert_eq(test_redis_command(&redis, "CLIENT KILL TYPE pubsub"), 0);
	cr_assert_eq(stats_get(&test_server_stats(&hub_a)->redis.published), 0,
	    "the scenario: hub a still waited for its reply at the kill");
	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 2),
	    "both hubs subscribe again (numsub %ld)",
	    test_redis_numsub(&redis, "wshub:r"));
	say(b, "from b");
	expect_after(b, "from b", "held", "the sender on hub b");
	expect(a, "from b", "hub a, from hub b after the kill");
	say(a, "from a");
	expect(a, "from a", "the sender on hub a");
	expect(b, "from a", "hub b, from hub a after the kill");
	close(a);
	close(b);
}

/* ---- a hostile Redis ------------------------------------------------------ */

static struct fake_redis fake;

/* Hub a on the fake, a client in room r; the client's socket. */
static int
hub_on_fake(const char *script, size_t len, size_t filler)
{
	int a;

	capture_logs();
	fake.script = script;
	fake.script_len = len;
	fake.filler = filler;
	cr_assert_eq(fake_redis_start(&fake), 0);
	test_server_init(&hub_a);
	log_set_level(LOG_INFO);
	hub_a.cfg.redis_url = fake.url;
	hub_a.cfg.shutdown_timeout_ms = 500;
	test_server_start(&hub_a);
	cr_assert_geq(a = ws_open_room(hub_a.port, "r"), 0);
	return a;
}

/*
 * What every hostile reply must come to: the reason in a log line, a new
 * connection (after a backoff), local chat untouched, and a shutdown
 * within --shutdown-timeout (0.5 s) plus one second.
 */
static void
refused_and_retried(int a, const char *reason)
{
	long ms;

	cr_assert(logged(reason, WS_TIMEOUT_MS), "no log line says '%s'",
	    reason);
	cr_assert(fake_redis_wait_subscribes(&fake, 2, WS_TIMEOUT_MS),
	    "the hub connects and subscribes again");
	say(a, "local");
	expect(a, "local", "the sender: local chat goes on");
	close(a);
	ms = timed_stop(&hub_a);
	cr_assert_leq(ms, 500 + 1000, "shutdown took %ld ms", ms);
	fake_redis_stop(&fake);
	release_logs();
}

#define SCRIPT(s) (s), sizeof(s) - 1

/* Issue 17.6: hiredis 0.14 allocated 2^31 slots for this, then walked
 * them to free it. */
Test(bridge, a_huge_array_from_redis_is_refused_before_it_is_allocated,
    .timeout = 60)
{
	int a = hub_on_fake(SCRIPT("*2147483647\r\n"), 0);

	refused_and_retried(a, "an array of 2147483647 elements");
}

/* An element inside a message: no hub sends nested arrays. */
Test(bridge, nested_arrays_from_redis_are_refused, .timeout = 60)
{
	int a = hub_on_fake(SCRIPT("*3\r\n$7\r\nmessage\r\n*1\r\n*1\r\n*1\r\n"),
	    0);

	refused_and_retried(a, "an array inside an array");
}

/* A bulk string longer than any hub may publish (--max-message is at
 * most 64 MiB), still arriving: refused by its buffered size. */
Test(bridge, a_bulk_string_past_any_message_size_is_refused_as_it_comes,
    .timeout = 60)
{
	int a = hub_on_fake(SCRIPT("*3\r\n$7\r\nmessage\r\n$7\r\nwshub:r\r\n"
	    "$2147483647\r\n"), (size_t)80 << 20);

	refused_and_retried(a, "a string of 2147483647 bytes");
}

/* A status line that never ends. */
Test(bridge, an_endless_line_from_redis_is_refused, .timeout = 60)
{
	int a = hub_on_fake(SCRIPT("+"), (size_t)80 << 20);

	refused_and_retried(a, "a line longer than");
}

/*
 * Garbage after SUBSCRIBE: the hub reconnected ~45 times a second and
 * said nothing.  Now the reason is logged and the retries back off:
 * 0.1 s doubling, jittered to half of that at least, so the fourth
 * SUBSCRIBE comes 50 + 100 + 200 ms after the first, or later.
 */
Test(bridge, garbage_from_redis_is_logged_and_retried_with_backoff,
    .timeout = 60)
{
	int a = hub_on_fake(SCRIPT("?garbage\r\n"), 0);
	long gap;

	cr_assert(fake_redis_wait_subscribes(&fake, 4, WS_TIMEOUT_MS * 2));
	gap = (fake.subscribed_at[3].tv_sec - fake.subscribed_at[0].tv_sec) *
	    1000 + (fake.subscribed_at[3].tv_nsec -
	    fake.subscribed_at[0].tv_nsec) / 1000000;
	cr_assert_geq(gap, 350, "4 subscribes in %ld ms: no backoff", gap);
	refused_and_retried(a, "Protocol error");
}

/* One "message" push on channel `ch` (chlen bytes) with an envelope from
 * another hub: opcode, then the payload. */
static size_t
push(char *out, const char *ch, size_t chlen, uint8_t opcode,
    const char *payload)
{
	size_t n = (size_t)sprintf(out, "*3\r\n$7\r\nmessage\r\n$%zu\r\n", chlen);

	memcpy(out + n, ch, chlen);
	n += chlen;
	n += (size_t)sprintf(out + n, "\r\n$%zu\r\nOTHERHUB%c%s\r\n",
	    9 + strlen(payload), opcode, payload);
	return n;
}

/*
 * Issue 17.12: a NUL in a channel name truncated the room name: a message
 * on "wshub:r\0x" reached room r.  Refused and counted now, as are other
 * channels that cannot be a room's.
 */
Test(bridge, a_channel_that_is_not_a_room_s_is_refused_and_counted,
    .timeout = 60)
{
	static char script[1024];
	size_t n = 0;
	int a;

	n += push(script + n, "wshub:r\0x", 9, 1, "nul");
	n += push(script + n, "wshub:r x", 9, 1, "space");
	n += push(script + n, "wshub:", 6, 1, "empty");
	n += push(script + n, "wshub:r", 7, 1, "ok");
	a = hub_on_fake(script, n, 0);
	expect(a, "ok", "room r: only the message on its own channel");
	cr_assert_eq(stats_get(&test_server_stats(&hub_a)->redis.rejected), 3);
	cr_assert_eq(stats_get(&test_server_stats(&hub_a)->redis.received), 1);
	close(a);
	test_server_stop(&hub_a);
	fake_redis_stop(&fake);
	release_logs();
}

/* ---- messages from Redis keep the server's rules --------------------------- */

/* PUBLISH an envelope from another hub: opcode, then len bytes. */
static void
publish_envelope(const char *channel, uint8_t opcode, const void *payload,
    size_t len)
{
	char *env = malloc(9 + len);

	memcpy(env, "OTHERHUB", 8);
	env[8] = (char)opcode;
	memcpy(env + 9, payload, len);
	cr_assert_eq(test_redis_publish(&redis, channel, env, 9 + len), 1);
	free(env);
}

/*
 * Issue 17.7: a message from Redis went to clients without the checks a
 * client's message passes: invalid UTF-8 in a text frame (every
 * conforming client closes with 1007), a message past --max-message.
 * Refused and counted now (redis_rejected), in /stats and /metrics.
 */
Test(bridge, messages_from_redis_keep_the_server_s_rules, .timeout = 60)
{
	static const char *bad_text[] = {
		"\xff", "ab\xc0\xaf", /* not UTF-8; an overlong '/' */
		"\xed\xa0\x80", /* a surrogate */
		"\xf4\x90\x80\x80", /* past U+10FFFF */
		"\xe2\x82", /* cut short */
	};
	enum { BAD = sizeof(bad_text) / sizeof(bad_text[0]) + 3 };
	static uint8_t big[1025];
	struct ws_frame f;
	char *text;
	int a;

	cr_assert_eq(test_redis_start(&redis), 0);
	test_server_init(&hub_a);
	hub_a.cfg.redis_url = redis.url;
	hub_a.cfg.max_message = 1024;
	test_server_start(&hub_a);
	cr_assert_geq(a = ws_open_room(hub_a.port, "r"), 0);
	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 1));
	for (size_t i = 0; i < BAD - 3; i++)
		publish_envelope("wshub:r", 1, bad_text[i], strlen(bad_text[i]));
	publish_envelope("wshub:r", 2, big, sizeof(big)); /* 1 byte too big */
	publish_envelope("wshub:r", 9, "x", 1);           /* not an opcode */
	cr_assert_eq(test_redis_publish(&redis, "wshub:r", "short", 5), 1);
	publish_envelope("wshub:r", 2, big, 1024);        /* just fits */
	publish_envelope("wshub:r", 1, "\xe2\x82\xac ok", 6);
	cr_assert_eq(ws_recv(a, &f, WS_TIMEOUT_MS), 0);
	cr_assert(f.opcode == 0x2 && f.len == 1024, "the first frame is the "
	    "1024-byte message (opcode %d, %zu bytes)", f.opcode, f.len);
	ws_frame_free(&f);
	expect(a, "\xe2\x82\xac ok", "the client: valid UTF-8 only");
	cr_assert_eq(stats_get(&test_server_stats(&hub_a)->redis.rejected), BAD);
	cr_assert_eq(stats_get(&test_server_stats(&hub_a)->redis.received), 2);
	text = ws_get(hub_a.port, "/stats");
	cr_assert(text && strstr(text, "\"redis_rejected\":8"), "%s", text);
	free(text);
	text = ws_get(hub_a.port, "/metrics");
	cr_assert(text && strstr(text, "\nwshub_redis_rejected_total 8\n"),
	    "%s", text);
	free(text);
	close(a);
	test_server_stop(&hub_a);
	test_redis_kill(&redis, false);
}

/* ---- counting, and the shutdown bound ------------------------------------ */

static void
cont_and_kill_redis(void)
{
	if (redis.pid > 0)
		kill(redis.pid, SIGCONT);
	test_redis_kill(&redis, true);
}

static long
counted(struct test_server *ts)
{
	return stats_get(&test_server_stats(ts)->redis.published) +
	    stats_get(&test_server_stats(ts)->redis.dropped);
}

/*
 * Issue 17.8: Redis stops answering (SIGSTOP) with publishes on the way.
 * Each one is counted, published or dropped, once the reply wait gives
 * up: redis_dropped counts every loss.
 */
Test(bridge, every_publish_is_counted_when_redis_stops_answering,
    .fini = cont_and_kill_redis, .timeout = 60)
{
	enum { N = 5 };
	char text[16];
	int a;

	memset(&redis, 0, sizeof(redis));
	cr_assert_eq(test_redis_start(&redis), 0);
	test_server_init(&hub_a);
	hub_a.cfg.redis_url = redis.url;
	test_server_start(&hub_a);
	cr_assert_geq(a = ws_open_room(hub_a.port, "r"), 0);
	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 1));
	kill(redis.pid, SIGSTOP);
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		say(a, text);
		expect(a, text, "the sender");
	}
	for (int i = 0; i < 3 * WS_TIMEOUT_MS / 5 && counted(&hub_a) < N; i++)
		usleep(5000);
	cr_assert_eq(counted(&hub_a), N, "published %ld + dropped %ld",
	    stats_get(&test_server_stats(&hub_a)->redis.published),
	    stats_get(&test_server_stats(&hub_a)->redis.dropped));
	kill(redis.pid, SIGCONT);
	cr_assert(test_wait_counter(&test_server_stats(&hub_a)->redis.connected,
	    1, 3 * WS_TIMEOUT_MS), "the hub comes back when Redis does");
	close(a);
	test_server_stop(&hub_a);
}

/*
 * Issue 17.8: SIGTERM with Redis stopped just after a publish took 3.7 s
 * at --shutdown-timeout 0.5 (a reply wait, then a reconnect attempt).
 * The bound: the shutdown timeout plus one second.
 */
Test(bridge, shutdown_is_bounded_with_redis_stopped,
    .fini = cont_and_kill_redis, .timeout = 60)
{
	long ms;
	int a;

	memset(&redis, 0, sizeof(redis));
	cr_assert_eq(test_redis_start(&redis), 0);
	test_server_init(&hub_a);
	hub_a.cfg.redis_url = redis.url;
	hub_a.cfg.shutdown_timeout_ms = 500;
	test_server_start(&hub_a);
	cr_assert_geq(a = ws_open_room(hub_a.port, "r"), 0);
	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 1));
	kill(redis.pid, SIGSTOP);
	say(a, "into the void");
	expect(a, "into the void", "the sender");
	ms = timed_stop(&hub_a); /* a never answers the 1001: 0.5 s */
	cr_assert_leq(ms, 500 + 1000, "shutdown took %ld ms", ms);
	close(a);
}

/* ---- the password (its file and the URL shown: test_bridge_url.c) ------- */

/* A password given apart from the URL (the file's, the environment's:
 * main puts either in cfg.redis_password) authenticates. */
Test(bridge, a_password_apart_from_the_url_authenticates,
    .fini = kill_redis, .timeout = 60)
{
	char url[64];
	int a;

	memset(&redis, 0, sizeof(redis));
	strlcpy(redis.password, "from-a-file", sizeof(redis.password));
	cr_assert_eq(test_redis_start(&redis), 0);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u", redis.port);
	test_server_init(&hub_a);
	hub_a.cfg.redis_url = url;
	hub_a.cfg.redis_password = "from-a-file";
	test_server_start(&hub_a);
	cr_assert(connected(&hub_a), "the password authenticates");
	cr_assert_geq(a = ws_open_room(hub_a.port, "r"), 0);
	cr_assert(test_redis_wait_numsub(&redis, "wshub:r", 1));
	close(a);
	test_server_stop(&hub_a);
}
