/*
 * wshub-load's plan (src/load/plan.h) and round counting (stats.h): which
 * room and URL each connection gets, and that the deliveries a model hub
 * makes are exactly the ones expected.  No sockets.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../src/load/plan.h"
#include "../src/load/tally.h"

Test(load_plan, one_room_deals_the_urls_round_robin, .timeout = 10)
{
	struct plan p = { .conns = 9, .rooms = 1, .urls = 3 };

	for (uint32_t i = 0; i < p.conns; i++) {
		cr_assert_eq(plan_room(&p, i), 0);
		cr_assert_eq(plan_url(&p, i), i % 3, "connection %u", i);
	}
}

Test(load_plan, one_url_deals_the_rooms_round_robin, .timeout = 10)
{
	struct plan p = { .conns = 10, .rooms = 4, .urls = 1 };

	for (uint32_t i = 0; i < p.conns; i++) {
		cr_assert_eq(plan_room(&p, i), i % 4);
		cr_assert_eq(plan_url(&p, i), 0);
	}
}

Test(load_plan, every_room_is_on_every_url, .timeout = 10)
{
	/* R and U share a factor: i mod U would keep each room on one URL. */
	struct plan p = { .conns = 8, .rooms = 4, .urls = 2 };
	int seen[4][2] = { { 0 } };

	for (uint32_t i = 0; i < p.rooms; i++)  /* the first pass alternates */
		cr_assert_eq(plan_url(&p, i), i % 2, "connection %u", i);
	for (uint32_t i = 0; i < p.conns; i++)
		seen[plan_room(&p, i)][plan_url(&p, i)]++;
	for (int r = 0; r < 4; r++)
		for (int u = 0; u < 2; u++)
			cr_assert_eq(seen[r][u], 1, "room %d url %d", r, u);
}

Test(load_plan, spread_counts_connections_per_room_and_url, .timeout = 10)
{
	struct plan p = { .conns = 40, .rooms = 4, .urls = 2 };
	struct plan_spread s;

	plan_spread(&p, &s);
	cr_assert(s.room_min == 10 && s.room_max == 10);
	cr_assert(s.url_min == 20 && s.url_max == 20);
	p.conns = 41;
	plan_spread(&p, &s);
	cr_assert(s.room_min == 10 && s.room_max == 11);
	cr_assert(s.url_min == 20 && s.url_max == 21);
}

Test(load_plan, room_names, .timeout = 10)
{
	struct plan p = { .conns = 10, .rooms = 1, .urls = 1, .room = "chat" };
	char name[PLAN_ROOM_NAME_MAX + 1], path[PLAN_PATH_MAX];
	char long_name[PLAN_ROOM_NAME_MAX + 1];

	cr_assert(plan_names_rooms(&p));
	cr_assert_eq(plan_room_name(&p, 0, name), 4);
	cr_assert_str_eq(name, "chat");
	p.numbered = true;
	p.rooms = 10;
	plan_room_name(&p, 9, name);
	cr_assert_str_eq(name, "chat-9");
	p.room = NULL;
	plan_room_path(&p, 3, path);
	cr_assert_str_eq(path, "/ws/r3");
	p.numbered = false;
	cr_assert_not(plan_names_rooms(&p));
	/* A name that fits alone may not fit with its number. */
	memset(long_name, 'a', PLAN_ROOM_NAME_MAX);
	long_name[PLAN_ROOM_NAME_MAX] = '\0';
	p.room = long_name;
	cr_assert_eq(plan_room_name(&p, 0, name), PLAN_ROOM_NAME_MAX);
	p.numbered = true;
	cr_assert_eq(plan_room_name(&p, 0, name), -1);
}

Test(load_plan, room_name_rule_is_the_servers, .timeout = 10)
{
	char long_name[PLAN_ROOM_NAME_MAX + 2];

	cr_assert(plan_room_name_ok("lobby"));
	cr_assert(plan_room_name_ok("A-z_0.9"));
	cr_assert_not(plan_room_name_ok(""));
	cr_assert_not(plan_room_name_ok("a b"));
	cr_assert_not(plan_room_name_ok("a/b"));
	cr_assert_not(plan_room_name_ok("caf\xc3\xa9"));
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	cr_assert_not(plan_room_name_ok(long_name));
	long_name[PLAN_ROOM_NAME_MAX] = '\0';
	cr_assert(plan_room_name_ok(long_name));
}

/* Opens connections [0, n) of `p` in `o`. */
static void
open_all(struct plan_open *o, const struct plan *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		plan_open_add(o, p, i, 1);
}

/*
 * One message from `sender`, delivered the way wshub routes it: to every
 * open connection whose request path is the sender's (its room), on any
 * URL, as hubs joined through Redis would.  `all` delivers to every
 * connection instead, as a hub without rooms would.  The receiver counts
 * it as client.c does.
 */
static void
deliver(const struct plan *p, const bool *open, uint32_t sender, bool all,
    struct round_stats *rs)
{
	char from[PLAN_PATH_MAX], to[PLAN_PATH_MAX];

	plan_room_path(p, plan_room(p, sender), from);
	for (uint32_t j = 0; j < p->conns; j++) {
		enum plan_route route = plan_route(p, sender, j);

		plan_room_path(p, plan_room(p, j), to);
		if (!open[j] || (!all && strcmp(from, to) != 0))
			continue;
		if (route == PLAN_OTHER_ROOM)
			rs->wrong_room++;
		else
			stats_round_delivered(rs, plan_size_of(p,
			    plan_room(p, sender)), route == PLAN_OTHER_URL,
			    1000 + j, 1);
	}
}

Test(load_plan, a_room_hub_delivers_exactly_what_is_expected, .timeout = 10)
{
	/* load.sh's run: -c 40 -s 4 --rooms 4, two URLs, 5 messages each. */
	struct plan p = { .conns = 40, .rooms = 4, .urls = 2,
	    .numbered = true };
	struct plan_open o;
	struct round_stats rs;
	bool open[40];

	plan_open_init(&o, &p);
	open_all(&o, &p, p.conns);
	memset(open, 1, sizeof(open));
	stats_round_init(&rs, 1);
	for (int m = 0; m < 20; m++) {
		uint32_t sender = (uint32_t)m % 4;
		struct plan_expect e = plan_expected(&o, &p, sender);

		cr_assert_eq(e.same_url + e.other_url, 10, "room of 10");
		cr_assert_eq(e.same_url, 5);
		stats_round_sent(&rs, 0, e.same_url, e.other_url);
		deliver(&p, open, sender, false, &rs);
	}
	cr_assert_eq(rs.sent, 20);
	cr_assert_eq(rs.expected, 20 * 10, "not c x messages (%d)", 40 * 20);
	cr_assert_eq(rs.received, rs.expected);
	cr_assert_eq(rs.expected_other, 20 * 5);
	cr_assert_eq(rs.received_other, rs.expected_other);
	cr_assert_eq(rs.wrong_room, 0);
	cr_assert_eq(rs.latency.count, rs.received);
	cr_assert_eq(rs.latency_same.count + rs.latency_other.count,
	    rs.received);
	cr_assert_eq(atomic_load(&o.total), 40);
	plan_open_free(&o);
}

Test(load_plan, a_closed_connection_is_not_expected, .timeout = 10)
{
	struct plan p = { .conns = 40, .rooms = 4, .urls = 2,
	    .numbered = true };
	struct plan_open o;
	struct round_stats rs;
	bool open[40];
	struct plan_expect e;

	plan_open_init(&o, &p);
	open_all(&o, &p, p.conns);
	memset(open, 1, sizeof(open));
	plan_open_add(&o, &p, 5, -1);  /* room 1 */
	open[5] = false;
	stats_round_init(&rs, 1);
	e = plan_expected(&o, &p, 1);
	cr_assert_eq(e.same_url + e.other_url, 9);
	stats_round_sent(&rs, 0, e.same_url, e.other_url);
	deliver(&p, open, 1, false, &rs);
	cr_assert_eq(rs.received, 9);
	cr_assert_eq(rs.received, rs.expected);
	cr_assert_eq(rs.received_other, rs.expected_other);
	e = plan_expected(&o, &p, 2);  /* room 2 keeps its 10 */
	cr_assert_eq(e.same_url + e.other_url, 10);
	plan_open_free(&o);
}

Test(load_plan, a_hub_that_ignores_rooms_is_caught, .timeout = 10)
{
	struct plan p = { .conns = 40, .rooms = 4, .urls = 1,
	    .numbered = true };
	struct plan_open o;
	struct round_stats rs;
	bool open[40];
	struct plan_expect e;

	plan_open_init(&o, &p);
	open_all(&o, &p, p.conns);
	memset(open, 1, sizeof(open));
	stats_round_init(&rs, 1);
	e = plan_expected(&o, &p, 0);
	stats_round_sent(&rs, 0, e.same_url, e.other_url);
	deliver(&p, open, 0, true, &rs);
	cr_assert_eq(rs.received, 10, "its own room counts as received");
	cr_assert_eq(rs.wrong_room, 30, "the other rooms as misrouted");
	cr_assert_eq(rs.expected_other, 0, "one URL: nothing crosses");
	plan_open_free(&o);
}

Test(load_plan, independent_hubs_lose_only_the_cross_url_share,
    .timeout = 10)
{
	/* Two hubs not joined: a message reaches its own hub's room only. */
	struct plan p = { .conns = 20, .rooms = 1, .urls = 2 };
	struct plan_open o;
	struct round_stats rs;
	bool open[20];
	struct plan_expect e;

	plan_open_init(&o, &p);
	open_all(&o, &p, p.conns);
	stats_round_init(&rs, 1);
	for (uint32_t sender = 0; sender < 4; sender++) {
		e = plan_expected(&o, &p, sender);
		stats_round_sent(&rs, 0, e.same_url, e.other_url);
		for (uint32_t j = 0; j < p.conns; j++)
			open[j] = plan_url(&p, j) == plan_url(&p, sender);
		deliver(&p, open, sender, false, &rs);
	}
	cr_assert_eq(rs.expected, 4 * 20);
	cr_assert_eq(rs.expected_other, 4 * 10);
	cr_assert_eq(rs.received, rs.expected - rs.expected_other);
	cr_assert_eq(rs.received_other, 0);
	plan_open_free(&o);
}

Test(load_stats, merge_adds_the_url_and_size_splits, .timeout = 10)
{
	struct round_stats a, b;

	stats_round_init(&a, 1);
	stats_round_init(&b, 1);
	stats_round_sent(&a, 0, 3, 2);
	stats_round_delivered(&a, 0, true, 500, 7);
	stats_round_sent(&b, 1, 1, 4);
	stats_round_delivered(&b, 1, false, 900, 9);
	b.wrong_room = 2;
	stats_round_merge(&a, &b);
	cr_assert_eq(a.sent, 2);
	cr_assert_eq(a.expected, 10);
	cr_assert_eq(a.expected_other, 6);
	cr_assert_eq(a.received, 2);
	cr_assert_eq(a.received_other, 1);
	cr_assert_eq(a.wrong_room, 2);
	cr_assert_eq(a.last_recv_ns, 9);
	cr_assert_eq(a.latency_other.max, 500);
	cr_assert_eq(a.latency_same.max, 900);
	cr_assert_eq(a.latency.count, 2);
	cr_assert_eq(a.by_size[0].expected, 5, "a's message, room size 0");
	cr_assert_eq(a.by_size[1].expected, 5, "b's message, room size 1");
	cr_assert_eq(a.by_size[0].received, 1);
	cr_assert_eq(a.by_size[1].received, 1);
	cr_assert_eq(a.by_size[0].latency.max, 500);
	cr_assert_eq(a.by_size[1].latency.max, 900);
}

/* The S6-mixed shape, small: 2 rooms of 5 and 3 of 2, on 2 URLs. */
static struct plan
mixed_plan(void)
{
	struct plan p = { .urls = 2, .numbered = true };

	cr_assert_eq(plan_sizes_parse(&p, "2x3,5x2", 1000), PLAN_SIZES_OK);
	return p;
}

Test(load_plan, room_sizes_parse_sorts_largest_first, .timeout = 10)
{
	struct plan p = mixed_plan();

	cr_assert_eq(p.nsizes, 2);
	cr_assert(p.sizes[0].size == 5 && p.sizes[0].rooms == 2);
	cr_assert(p.sizes[1].size == 2 && p.sizes[1].rooms == 3);
	cr_assert_eq(p.conns, 16);
	cr_assert_eq(p.rooms, 5);
	cr_assert_eq(plan_sizes_parse(&p, "10x1000", 1000000), PLAN_SIZES_OK);
	cr_assert(p.nsizes == 1 && p.conns == 10000 && p.rooms == 1000);
}

Test(load_plan, room_sizes_parse_names_each_error, .timeout = 10)
{
	static const struct {
		const char *text;
		int err;
	} bad[] = {
		{ "", PLAN_SIZES_SYNTAX }, { "10", PLAN_SIZES_SYNTAX },
		{ "x5", PLAN_SIZES_SYNTAX }, { "5x", PLAN_SIZES_SYNTAX },
		{ "5x2,", PLAN_SIZES_SYNTAX }, { "5x2x3", PLAN_SIZES_SYNTAX },
		{ "5 x2", PLAN_SIZES_SYNTAX }, { "0x5", PLAN_SIZES_RANGE },
		{ "5x0", PLAN_SIZES_RANGE }, { "1001x1", PLAN_SIZES_RANGE },
		{ "1x1,2x1,3x1,4x1,5x1", PLAN_SIZES_TOO_MANY },
		{ "5x2,3x1,5x1", PLAN_SIZES_REPEATED },
		{ "500x2,1x1", PLAN_SIZES_TOTAL },
	};
	struct plan p = { .urls = 1 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(plan_sizes_parse(&p, bad[i].text, 1000), bad[i].err,
		    "'%s'", bad[i].text);
	cr_assert_str_eq(plan_sizes_strerror(PLAN_SIZES_REPEATED),
	    "a SIZE given twice");
	cr_assert_eq(plan_sizes_parse(&p, "500x2", 1000), PLAN_SIZES_OK,
	    "exactly the limit");
}

Test(load_plan, the_even_layout_is_round_robin, .timeout = 10)
{
	struct plan p = { .conns = 43, .rooms = 4, .urls = 3 };
	struct plan_size g[PLAN_SIZES_MAX];

	cr_assert_eq(plan_layout(&p, g), 2);
	cr_assert(g[0].size == 11 && g[0].rooms == 3, "43 = 3 x 11 + 10");
	cr_assert(g[1].size == 10 && g[1].rooms == 1);
	for (uint32_t i = 0; i < p.conns; i++) {
		cr_assert_eq(plan_room(&p, i), i % 4, "connection %u", i);
		cr_assert_eq(plan_url(&p, i), (i % 4 + i / 4) % 3);
	}
	cr_assert_eq(plan_size_of(&p, 2), 0);
	cr_assert_eq(plan_size_of(&p, 3), 1);
	p.conns = 44;
	cr_assert_eq(plan_layout(&p, g), 1, "no empty size");
	cr_assert(g[0].size == 11 && g[0].rooms == 4);
}

Test(load_plan, room_sizes_fill_each_room_to_its_size, .timeout = 10)
{
	struct plan p = mixed_plan();
	uint32_t n[5] = { 0 }, seen[5][2] = { { 0 } };
	struct plan_spread sp;

	for (uint32_t k = 0; k < p.rooms; k++)  /* senders: one per room */
		cr_assert_eq(plan_room(&p, k), k);
	for (uint32_t i = 0; i < p.conns; i++) {
		uint32_t r = plan_room(&p, i);

		cr_assert_lt(r, 5, "connection %u", i);
		/* Pass n[r] of room r: URL (room + pass) mod U. */
		cr_assert_eq(plan_url(&p, i), (r + n[r]) % 2, "connection %u", i);
		n[r]++;
		seen[r][plan_url(&p, i)]++;
	}
	for (uint32_t r = 0; r < 5; r++) {
		cr_assert_eq(n[r], r < 2 ? 5 : 2, "room %u", r);
		cr_assert_eq(plan_size_of(&p, r), r < 2 ? 0 : 1, "room %u", r);
		cr_assert(seen[r][0] > 0 && seen[r][1] > 0, "room %u on both",
		    r);
	}
	plan_spread(&p, &sp);
	cr_assert(sp.room_min == 2 && sp.room_max == 5);
	cr_assert(sp.url_min == 8 && sp.url_max == 8);
}

Test(load_plan, room_sizes_are_accounted_apart, .timeout = 10)
{
	struct plan p = mixed_plan();
	struct plan_open o;
	struct round_stats rs;
	bool open[16];

	plan_open_init(&o, &p);
	open_all(&o, &p, p.conns);
	memset(open, 1, sizeof(open));
	stats_round_init(&rs, 1);
	for (uint32_t sender = 0; sender < p.rooms; sender++) {
		struct plan_expect e = plan_expected(&o, &p, sender);
		uint32_t size = plan_size_of(&p, plan_room(&p, sender));

		cr_assert_eq(e.same_url + e.other_url, p.sizes[size].size);
		stats_round_sent(&rs, size, e.same_url, e.other_url);
		deliver(&p, open, sender, false, &rs);
	}
	cr_assert_eq(rs.by_size[0].expected, 2 * 5, "2 rooms of 5");
	cr_assert_eq(rs.by_size[1].expected, 3 * 2, "3 rooms of 2");
	cr_assert_eq(rs.by_size[0].received, rs.by_size[0].expected);
	cr_assert_eq(rs.by_size[1].received, rs.by_size[1].expected);
	cr_assert_eq(rs.by_size[0].latency.count + rs.by_size[1].latency.count,
	    rs.latency.count);
	cr_assert_eq(rs.expected, 16);
	cr_assert_eq(rs.wrong_room, 0);
	plan_open_free(&o);
}
