/*
 * The hub on its own, with no socket and no connection: each client is a
 * struct hub_client around a plain channel, as hub.h allows.  The tests
 * read what the hub queued straight from those channels.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "support/testserver.h"
#include "support/threads.h"
#include "wshub/threads.h"
#include "wshub/deadline.h"
#include "wshub/hub.h"
#include "wshub/log.h"
#include "wshub/xmalloc.h"

#define WAIT_MS 5000

struct fake {
	struct hub_client cl; /* first: the ops cast back */
	atomic_int holds;
};

static void
fake_hold(struct hub_client *cl)
{
	atomic_fetch_add(&((struct fake *)cl)->holds, 1);
}

static void
fake_release(struct hub_client *cl)
{
	atomic_fetch_sub(&((struct fake *)cl)->holds, 1);
}

static const struct hub_client_ops fake_ops = { fake_hold, fake_release };

static struct stats stats;
static hub_t *hub;

static void
setup(void)
{
	log_set_level(LOG_ERROR); /* the slow-client drops are expected */
	stats_init(&stats);
	hub = hub_new(&stats, 256, 4);
	cr_assert_eq(hub_start(hub), 0);
}

static void
fake_init(struct fake *f, uint64_t id, size_t queue)
{
	memset(f, 0, sizeof(*f));
	hub_client_init(&f->cl, chan_new(SEND_QUEUE_LIMIT(queue), 4), &fake_ops,
	    id, "fake", queue, 100);
}

static void
join(struct fake *f, const char *room, long clients)
{
	cr_assert_eq(hub_register(hub, &f->cl, room), 0);
	cr_assert(test_wait_counter(&stats.clients, clients, WAIT_MS));
}

/* The next message queued for `f`, which must be `text`. */
static void
expect(struct fake *f, const char *text)
{
	void *item;
	msg_t *m;

	cr_assert_eq(chan_recv_timeout(f->cl.send, &item, WAIT_MS), CHAN_OK,
	    "client %llu got nothing", (unsigned long long)f->cl.id);
	m = item;
	cr_assert(msg_payload_len(m) == strlen(text) &&
	    memcmp(msg_payload(m), text, strlen(text)) == 0,
	    "client %llu got '%.*s', not '%s'", (unsigned long long)f->cl.id,
	    (int)msg_payload_len(m), msg_payload(m), text);
	msg_unref(m);
}

static void
say(struct fake *from, const char *text)
{
	cr_assert_eq(hub_broadcast(hub, &from->cl,
	    msg_new_frame(MSG_TEXT, text, strlen(text))), 0);
}

/* Waits for the channel to be closed and drained; true if it was. */
static bool
closed(struct fake *f)
{
	void *item;
	int rc;

	while ((rc = chan_recv_timeout(f->cl.send, &item, WAIT_MS)) == CHAN_OK)
		msg_unref(item);
	return rc == CHAN_CLOSED;
}

static void
fake_free(struct fake *f)
{
	cr_assert_eq(atomic_load(&f->holds), 0,
	    "client %llu still held %d times", (unsigned long long)f->cl.id,
	    atomic_load(&f->holds));
	chan_free(f->cl.send);
}

static void
stop(struct fake *const *all, size_t n)
{
	hub_shutdown(hub);
	for (size_t i = 0; i < n; i++) {
		cr_assert(closed(all[i]));
		hub_unregister(hub, &all[i]->cl); /* a no-op if already gone */
	}
	hub_join(hub);
	for (size_t i = 0; i < n; i++)
		fake_free(all[i]);
	hub_free(hub);
}

Test(hub_channels, a_broadcast_reaches_its_room_in_order, .init = setup,
    .timeout = 30)
{
	struct fake a, b, c;
	struct fake *all[] = { &a, &b, &c };

	fake_init(&a, 1, 16);
	fake_init(&b, 2, 16);
	fake_init(&c, 3, 16);
	join(&a, "red", 1);
	join(&b, "red", 2);
	join(&c, "blue", 3);
	say(&a, "one");
	say(&b, "two");
	say(&c, "blue");
	expect(&a, "one");
	expect(&a, "two");
	expect(&b, "one");
	expect(&b, "two");
	expect(&c, "blue"); /* and not "one" or "two", which came first */
	cr_assert_eq(stats_get(&stats.rooms), 2);
	cr_assert_eq(stats_get(&stats.largest_room), 2);
	stop(all, 3);
}

Test(hub_channels, unregister_closes_the_channel_with_no_verdict,
    .init = setup, .timeout = 30)
{
	struct fake a;
	struct fake *all[] = { &a };

	fake_init(&a, 1, 16);
	join(&a, DEFAULT_ROOM, 1);
	hub_unregister(hub, &a.cl);
	cr_assert(closed(&a));
	cr_assert(test_wait_counter(&stats.clients, 0, WAIT_MS));
	cr_assert_eq(atomic_load(&a.cl.verdict), HUB_VERDICT_NONE);
	cr_assert_eq(stats_get(&stats.rooms), 0, "the room went with its client");
	hub_unregister(hub, &a.cl); /* a no-op for a client the hub forgot */
	stop(all, 1);
}

Test(hub_channels, a_client_stuck_with_a_long_queue_is_dropped_as_slow,
    .init = setup, .timeout = 30)
{
	struct fake reader, stuck;
	struct fake *all[] = { &reader, &stuck };

	fake_init(&reader, 1, 64);
	fake_init(&stuck, 2, 2); /* --send-queue 2 */
	join(&reader, "r", 1);
	join(&stuck, "r", 2);
	/* Its writer waits on a full socket since long before stall_ms. */
	atomic_store(&stuck.cl.stalled_since_ms, deadline_now_ms() - 1000);
	for (int i = 0; i < 4; i++)
		say(&reader, "m");
	cr_assert(test_wait_counter(&stats.slow_client_drops, 1, WAIT_MS));
	cr_assert(atomic_load(&stuck.cl.discard));
	/* The hub counts the drop, then stores the verdict and closes the
	 * channel: once it is closed, the verdict is there. */
	cr_assert(closed(&stuck));
	cr_assert_eq(atomic_load(&stuck.cl.verdict), HUB_VERDICT_STALLED);
	for (int i = 0; i < 4; i++)
		expect(&reader, "m"); /* the others keep every message */
	cr_assert(!hub_client_mark_slow(&stuck.cl), "marked once only");
	stop(all, 2);
}

Test(hub_channels, a_long_queue_whose_writer_is_not_stuck_is_kept,
    .init = setup, .timeout = 30)
{
	struct fake a;
	struct fake *all[] = { &a };

	fake_init(&a, 1, 2);
	join(&a, "r", 1);
	for (int i = 0; i < 8; i++) /* 8 > --send-queue 2, under the limit */
		say(&a, "m");
	for (int i = 0; i < 8; i++)
		expect(&a, "m");
	cr_assert_eq(stats_get(&stats.slow_client_drops), 0);
	stop(all, 1);
}

Test(hub_channels, shutdown_says_1001_to_everyone_and_waits_for_them,
    .init = setup, .timeout = 30)
{
	struct fake a, b;

	fake_init(&a, 1, 16);
	fake_init(&b, 2, 16);
	join(&a, "x", 1);
	join(&b, "y", 2);
	hub_shutdown(hub);
	cr_assert(closed(&a));
	cr_assert(closed(&b));
	cr_assert_eq(atomic_load(&a.cl.verdict), HUB_VERDICT_SHUTDOWN);
	cr_assert_eq(atomic_load(&b.cl.verdict), HUB_VERDICT_SHUTDOWN);
	cr_assert_eq(stats_get(&stats.clients), 2, "they stay until they leave");
	hub_unregister(hub, &a.cl);
	hub_unregister(hub, &b.cl);
	hub_join(hub);
	cr_assert_eq(stats_get(&stats.clients), 0);
	fake_free(&a);
	fake_free(&b);
	hub_free(hub);
}

/* The hub's part of the rule: the verdict.  The writer's close frame for
 * it (1013, "too many rooms, try again later") comes from conn.c's
 * farewells table, which this socket-free test does not reach. */
Test(hub_channels, a_register_past_max_rooms_gets_the_no_room_verdict,
    .init = setup, .timeout = 30)
{
	struct fake f[5];
	struct fake *all[] = { &f[0], &f[1], &f[2], &f[3], &f[4] };
	const char *rooms[] = { "a", "b", "c", "d" };

	for (int i = 0; i < 4; i++) { /* hub_new(..., 4): four rooms */
		fake_init(&f[i], (uint64_t)i + 1, 4);
		join(&f[i], rooms[i], i + 1);
	}
	cr_assert(hub_room_admits(hub, "a"), "a room that exists");
	cr_assert(!hub_room_admits(hub, "e"), "a fifth room");
	fake_init(&f[4], 5, 4);
	cr_assert_eq(hub_register(hub, &f[4].cl, "e"), 0);
	cr_assert(closed(&f[4]), "registered past the limit: closed at once");
	cr_assert_eq(atomic_load(&f[4].cl.verdict), HUB_VERDICT_NO_ROOM);
	cr_assert_eq(stats_get(&stats.rooms), 4);
	stop(all, 5);
}

/* A relay that writes down what the hub tells it (hub thread only; the
 * test reads it after waiting on counters the hub moves later). */
struct record {
	char log[1024];
	atomic_int published;
};

static void
rec_opened(void *arg, const char *room)
{
	struct record *r = arg;

	strlcat(r->log, "+", sizeof(r->log));
	strlcat(r->log, room, sizeof(r->log));
}

static void
rec_closed(void *arg, const char *room)
{
	struct record *r = arg;

	strlcat(r->log, "-", sizeof(r->log));
	strlcat(r->log, room, sizeof(r->log));
}

static void
rec_publish(void *arg, const char *room, msg_t *m)
{
	struct record *r = arg;

	strlcat(r->log, " pub:", sizeof(r->log));
	strlcat(r->log, room, sizeof(r->log));
	strlcat(r->log, ":", sizeof(r->log));
	strncat(r->log, (const char *)msg_payload(m), msg_payload_len(m));
	atomic_fetch_add(&r->published, 1);
}

Test(hub_channels, the_relay_hears_rooms_open_and_close_and_local_messages,
    .timeout = 30)
{
	static struct record rec;
	struct hub_relay relay = { rec_opened, rec_closed, rec_publish, &rec };
	struct fake a, b;
	struct fake *all[] = { &a, &b };

	stats_init(&stats);
	hub = hub_new(&stats, 256, 8);
	hub_set_relay(hub, &relay);
	cr_assert_eq(hub_start(hub), 0);
	fake_init(&a, 1, 16);
	fake_init(&b, 2, 16);
	join(&a, "red", 1);
	join(&b, "blue", 2);
	say(&a, "hi");
	expect(&a, "hi");
	/* From another hub: to blue's local client only, and not relayed. */
	cr_assert_eq(hub_deliver_remote(hub, "blue",
	    msg_new_frame(MSG_TEXT, "far", 3)), 0);
	expect(&b, "far");
	cr_assert_eq(hub_deliver_remote(hub, "green",
	    msg_new_frame(MSG_TEXT, "lost", 4)), 0); /* no local client */
	say(&b, "back");
	expect(&b, "back");
	hub_unregister(hub, &a.cl);
	cr_assert(test_wait_counter(&stats.clients, 1, WAIT_MS));
	cr_assert_eq(atomic_load(&rec.published), 2);
	stop(all, 2);
	cr_assert_str_eq(rec.log, "+red+blue pub:red:hi pub:blue:back-red-blue",
	    "%s", rec.log);
	cr_assert_eq(msg_live(), 0, "every message freed");
}

/*
 * A client whose queue would pass its byte bound is dropped at once, like
 * one at its message limit, and what waited for it is freed when the hub
 * drops it -- not when its writer (here: none) comes back.
 */
Test(hub_channels, a_queue_past_its_byte_bound_is_dropped_and_freed_at_once,
    .init = setup, .timeout = 30)
{
	enum { SIZE = 16 * 1024 };
	struct fake reader, stuck;
	struct fake *all[] = { &reader, &stuck };
	char *big = xcalloc(1, SIZE);

	fake_init(&reader, 1, 64);
	fake_init(&stuck, 2, 64);
	/* 4 messages of 16 KiB (and their headers) pass 64 KiB. */
	chan_set_byte_cap(stuck.cl.send, 64 * 1024, msg_weigh);
	join(&reader, "r", 1);
	join(&stuck, "r", 2);
	for (int i = 0; i < 4; i++) {
		void *item;

		cr_assert_eq(hub_broadcast(hub, &reader.cl,
		    msg_new_frame(MSG_BINARY, big, SIZE)), 0);
		cr_assert_eq(chan_recv_timeout(reader.cl.send, &item, WAIT_MS),
		    CHAN_OK, "the reader gets every one");
		msg_unref(item);
	}
	cr_assert(test_wait_counter(&stats.slow_client_drops, 1, WAIT_MS));
	cr_assert(test_wait_counter(&stats.clients, 1, WAIT_MS));
	cr_assert_eq(atomic_load(&stuck.cl.verdict), HUB_VERDICT_QUEUE_FULL);
	cr_assert_eq(chan_len(stuck.cl.send), 0,
	    "its queue was freed when the hub dropped it");
	cr_assert(closed(&stuck));
	stop(all, 2);
	cr_assert_eq(msg_live(), 0, "every message freed");
	free(big);
}

/*
 * A client the hub no longer has is not heard: one it removed (its reader
 * lives on until its close completes) and one it refused with 1013.
 * Events from one thread keep their order, so once the marker from a
 * registered client arrives, anything the others sent before it would
 * have arrived first.
 */
Test(hub_channels, a_sender_the_hub_does_not_have_is_not_heard,
    .timeout = 30)
{
	static struct record rec;
	struct hub_relay relay = { NULL, NULL, rec_publish, &rec };
	struct fake f[6];
	struct fake *all[] = { &f[0], &f[1], &f[2], &f[3], &f[4], &f[5] };
	const char *rooms[] = { "a", "a", "b", "c", "d" };

	log_set_level(LOG_ERROR); /* the 1013 is expected */
	stats_init(&stats);
	hub = hub_new(&stats, 256, 4);
	hub_set_relay(hub, &relay);
	cr_assert_eq(hub_start(hub), 0);
	for (int i = 0; i < 5; i++) {
		fake_init(&f[i], (uint64_t)i + 1, 16);
		join(&f[i], rooms[i], i + 1);
	}
	hub_unregister(hub, &f[1].cl); /* removed; it can still send */
	cr_assert(closed(&f[1]));
	fake_init(&f[5], 6, 16);
	cr_assert_eq(hub_register(hub, &f[5].cl, "e"), 0); /* room 5 of 4 */
	cr_assert(closed(&f[5]));
	say(&f[1], "from the removed one");
	say(&f[5], "from the refused one");
	say(&f[0], "marker");
	expect(&f[0], "marker");
	cr_assert_eq(stats_get(&stats.messages_unheard), 2);
	cr_assert_eq(atomic_load(&rec.published), 1, "only the marker: %s",
	    rec.log);
	stop(all, 6);
	cr_assert_eq(msg_live(), 0, "every message freed");
}

/*
 * The largest-room gauge follows joins and leaves in any order, rooms
 * opening and closing (the hub keeps a count of rooms per size).
 */
Test(hub_channels, the_largest_room_gauge_follows_joins_and_leaves,
    .timeout = 30)
{
	enum { N = 12 };
	struct fake f[N];
	struct fake *all[N];
	/* Room of each client, and the gauge after it joins. */
	const char *room[N] = { "a", "b", "b", "c", "c", "c",
	    "a", "a", "a", "d", "d", "d" };
	const long after_join[N] = { 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4 };
	/* Who leaves, in this order, and the gauge after each. */
	const int leaver[N] = { 6, 9, 3, 10, 0, 7, 4, 11, 8, 1, 5, 2 };
	const long after_leave[N] = { 3, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 0 };

	stats_init(&stats);
	hub = hub_new(&stats, 256, 8);
	cr_assert_eq(hub_start(hub), 0);
	for (int i = 0; i < N; i++) {
		all[i] = &f[i];
		fake_init(&f[i], (uint64_t)i + 1, 16);
		join(&f[i], room[i], i + 1);
		cr_assert_eq(stats_get(&stats.largest_room), after_join[i],
		    "after client %d joined %s", i, room[i]);
	}
	for (int i = 0; i < N; i++) {
		hub_unregister(hub, &f[leaver[i]].cl);
		cr_assert(test_wait_counter(&stats.clients, N - 1 - i, WAIT_MS));
		cr_assert_eq(stats_get(&stats.largest_room), after_leave[i],
		    "after client %d left", leaver[i]);
	}
	cr_assert_eq(stats_get(&stats.rooms), 0);
	stop(all, N);
}

/* A thread that broadcasts `n` messages of `size` bytes from `from`. */
struct bulk_sender {
	struct fake *from;
	int n;
	size_t size;
	atomic_int tid;
	atomic_bool done;
};

static void *
send_bulk(void *arg)
{
	struct bulk_sender *b = arg;
	char *payload = xcalloc(1, b->size);
	struct thread_entry self;

	threads_enter(&self, ROLE_OTHER, 0, NULL, NULL, NULL);
	atomic_store(&b->tid, thread_id());
	for (int i = 0; i < b->n; i++)
		hub_broadcast(hub, &b->from->cl,
		    msg_new_frame(MSG_BINARY, payload, b->size));
	free(payload);
	atomic_store(&b->done, true);
	threads_leave();
	return NULL;
}

/*
 * The hub's own queue is bounded in bytes too: a reader that hands it big
 * messages faster than it takes them waits (backpressure) once 8 MiB
 * wait, long before the event count (256 here) is reached.
 */
Test(hub_channels, the_event_queue_is_bounded_in_bytes, .timeout = 30)
{
	struct fake a;
	struct bulk_sender b = { .from = &a, .n = 4, .size = 3 << 20 };
	pthread_t t;

	log_set_level(LOG_ERROR);
	stats_init(&stats);
	hub = hub_new(&stats, 256, 4); /* not started: it takes nothing */
	fake_init(&a, 1, 16);
	pthread_create(&t, NULL, send_bulk, &b);
	while (atomic_load(&b.tid) == 0)
		sched_yield();
	cr_assert(thread_wait_doing(atomic_load(&b.tid), "chan_send hub events",
	    &b.done), "4 messages of 3 MiB went into the hub's queue");
	cr_assert_eq(hub_start(hub), 0);
	pthread_join(t, NULL);
	cr_assert(test_wait_counter(&stats.messages_unheard, 4, WAIT_MS),
	    "a does not belong to the hub: its messages are not heard");
	hub_shutdown(hub);
	hub_join(hub);
	fake_free(&a);
	hub_free(hub);
	cr_assert_eq(msg_live(), 0, "every message freed");
}
