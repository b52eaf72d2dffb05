/*
 * Two hubs as one, through a real redis-server: two servers in this
 * process, each with --redis, clients on both.  Cross-hub delivery in a
 * room (exactly once, in order, binary kept), rooms kept apart across
 * hubs, Redis killed and restarted under traffic, Redis down at start, a
 * wrong password.  Every wait is on observable state: Redis's own
 * subscriber counts (PUBSUB NUMSUB), the servers' counters, a message.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support/redis.h"
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
