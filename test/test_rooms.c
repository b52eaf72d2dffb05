/*
 * Rooms over real sockets: GET /ws/ROOM joins ROOM, /ws the default room;
 * a message reaches its room (the sender included) and no one else; bad
 * names get 400, a room past --max-rooms 503; /stats counts the rooms and
 * the largest one, and a room is gone with its last client.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "support/fixture.h"
#include "support/testserver.h"
#include "support/wsclient.h"

static void
wait_clients(long n)
{
	cr_assert(test_wait_counter(&test_server_stats(&ts)->clients, n,
	    WS_TIMEOUT_MS), "%ld clients never registered", n);
}

/* Sends `text`; asserts that the next data frame on `fd` is `want`. */
static void
expect_text(int fd, const char *want, const char *who)
{
	struct ws_frame f;

	cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0, "%s got nothing", who);
	cr_assert_eq(f.opcode, 0x1, "%s: opcode %d", who, f.opcode);
	cr_assert(f.len == strlen(want) && memcmp(f.payload, want, f.len) == 0,
	    "%s got '%.*s', not '%s'", who, (int)f.len, f.payload, want);
	ws_frame_free(&f);
}

static void
say(int fd, const char *text)
{
	cr_assert_eq(ws_send(fd, 0x1, text, strlen(text)), 0);
}

/*
 * red1 is handled by the hub before blue1 is sent (red's other member has
 * it), so if red1 had been queued for a blue or lobby client, it would come
 * before that client's own message.
 */
Test(rooms, a_message_reaches_its_room_and_no_one_else, .init = start,
    .fini = stop, .timeout = 30)
{
	int red_a = ws_open_room(ts.port, "red");
	int red_b = ws_open_room(ts.port, "red");
	int blue = ws_open_room(ts.port, "blue");
	int lobby = ws_open(ts.port);

	cr_assert(red_a >= 0 && red_b >= 0 && blue >= 0 && lobby >= 0);
	wait_clients(4);
	say(red_a, "red1");
	expect_text(red_a, "red1", "the sender");
	expect_text(red_b, "red1", "the sender's room");
	say(blue, "blue1");
	expect_text(blue, "blue1", "blue");
	say(lobby, "lobby1");
	expect_text(lobby, "lobby1", "the lobby");
	say(red_b, "red2");
	expect_text(red_a, "red2", "red, after the others spoke");
	close(red_a);
	close(red_b);
	close(blue);
	close(lobby);
}

Test(rooms, ws_and_ws_lobby_are_one_room, .init = start, .fini = stop,
    .timeout = 30)
{
	int plain = ws_open(ts.port);
	int named = ws_open_room(ts.port, DEFAULT_ROOM);

	cr_assert(plain >= 0 && named >= 0);
	wait_clients(2);
	say(plain, "hello");
	expect_text(named, "hello", "/ws/" DEFAULT_ROOM);
	cr_assert_eq(stats_get(&test_server_stats(&ts)->rooms), 1);
	close(plain);
	close(named);
}

Test(rooms, bad_room_names_get_400_with_a_reason, .init = start,
    .fini = stop, .timeout = 30)
{
	static const struct {
		const char *path, *reason;
	} bad[] = {
		{ "/ws/", "1 to 64 bytes" },
		{ "/ws/%41", "only A-Z a-z 0-9 . _ -" },
		{ "/ws/a/b", "only A-Z a-z 0-9 . _ -" },
		{ "/ws/caf\xc3\xa9", "only A-Z a-z 0-9 . _ -" },
		{ "/ws/0123456789012345678901234567890123456789012345678901234567890123X",
		    "1 to 64 bytes" },
	};
	char resp[4096];
	int status, fd;

	cr_assert_eq(strlen(bad[4].path), 4 + ROOM_NAME_MAX + 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = ws_upgrade_path(ts.port, bad[i].path, &status, resp,
		    sizeof(resp));
		cr_assert_lt(fd, 0);
		cr_assert_eq(status, 400, "%s: %d", bad[i].path, status);
		cr_assert_not_null(strstr(resp, bad[i].reason), "%s: %s",
		    bad[i].path, resp);
	}
	char longest[4 + ROOM_NAME_MAX + 1] = "/ws/Zz9._-";

	memset(longest + strlen(longest), 'a',
	    sizeof(longest) - 1 - strlen(longest));
	longest[sizeof(longest) - 1] = '\0';
	fd = ws_upgrade_path(ts.port, longest, &status, NULL, 0);
	cr_assert_eq(status, 101, "64 bytes of every allowed kind: %d", status);
	close(fd);
	fd = ws_upgrade_path(ts.port, "/ws/red?token=x", &status, NULL, 0);
	cr_assert_eq(status, 101, "the query string is not the name: %d", status);
	close(fd);
}

Test(rooms, a_room_past_max_rooms_gets_503, .timeout = 30)
{
	char resp[4096];
	int red, blue, red2, green, status;

	test_server_init(&ts);
	ts.cfg.max_rooms = 2;
	test_server_start(&ts);
	red = ws_open_room(ts.port, "red");
	blue = ws_open_room(ts.port, "blue");
	cr_assert(red >= 0 && blue >= 0);
	wait_clients(2);
	green = ws_upgrade_path(ts.port, "/ws/green", &status, resp,
	    sizeof(resp));
	cr_assert_eq(status, 503, "a third room: %d", status);
	cr_assert_not_null(strstr(resp, "too many rooms"), "%s", resp);
	red2 = ws_open_room(ts.port, "red");
	cr_assert_geq(red2, 0, "a room that exists can always be joined");
	close(blue);
	cr_assert(test_wait_counter(&test_server_stats(&ts)->rooms, 1,
	    WS_TIMEOUT_MS), "blue closes with its last client");
	green = ws_open_room(ts.port, "green");
	cr_assert_geq(green, 0, "room again once blue is gone");
	close(red);
	close(red2);
	close(green);
	test_server_stop(&ts);
}

Test(rooms, stats_count_rooms_and_the_largest, .init = start, .fini = stop,
    .timeout = 30)
{
	struct stats *st = test_server_stats(&ts);
	int red[3], blue;

	for (int i = 0; i < 3; i++)
		red[i] = ws_open_room(ts.port, "red");
	blue = ws_open_room(ts.port, "blue");
	wait_clients(4);
	cr_assert_eq(stats_get(&st->rooms), 2);
	cr_assert_eq(stats_get(&st->largest_room), 3);
	close(red[0]);
	wait_clients(3);
	cr_assert_eq(stats_get(&st->largest_room), 2);
	close(red[1]);
	close(red[2]);
	wait_clients(1);
	cr_assert_eq(stats_get(&st->rooms), 1);
	cr_assert_eq(stats_get(&st->largest_room), 1);
	close(blue);
	wait_clients(0);
	cr_assert_eq(stats_get(&st->rooms), 0);
	cr_assert_eq(stats_get(&st->largest_room), 0);
}
