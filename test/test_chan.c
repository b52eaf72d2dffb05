/* chan: Go's buffered channel (include/wshub/chan.h). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "support/stress.h"
#include "wshub/chan.h"

#define V(n) ((void *)(uintptr_t)(n))

/* A helper thread that does one blocking call and reports when it returns. */
struct blocker {
	chan_t *ch;
	void *item;
	int rc;
	atomic_bool done;
	pthread_t thread;
};

static void *
blocking_send(void *arg)
{
	struct blocker *b = arg;

	b->rc = chan_send(b->ch, b->item);
	atomic_store(&b->done, true);
	return NULL;
}

static void *
blocking_recv(void *arg)
{
	struct blocker *b = arg;

	b->rc = chan_recv(b->ch, &b->item);
	atomic_store(&b->done, true);
	return NULL;
}

static void *
timed_recv(void *arg)
{
	struct blocker *b = arg;

	b->rc = chan_recv_timeout(b->ch, &b->item, 10000);
	atomic_store(&b->done, true);
	return NULL;
}

/*
 * Starts `fn` and returns once it sleeps on the channel: one more sleeper
 * in the channel's own count, on the side `fn` blocks on (a sender into
 * the full lane, or a receiver).  Not the thread's /proc state, which says
 * 'S' for a thread asleep on anything.  Fails if the call returned
 * instead; bounded by the test's .timeout.
 */
static void
start_blocked(struct blocker *b, void *(*fn)(void *))
{
	bool sending = fn == blocking_send;
	size_t before = chan_sleepers(b->ch, sending);

	pthread_create(&b->thread, NULL, fn, b);
	while (chan_sleepers(b->ch, sending) == before &&
	    !atomic_load(&b->done))
		sched_yield();
	cr_assert(!atomic_load(&b->done), "the call returned instead of "
	    "blocking");
	cr_assert_eq(chan_sleepers(b->ch, sending), before + 1);
}

Test(chan, fifo_order, .timeout = 10)
{
	chan_t *ch = chan_new(8, 0);
	void *v;

	for (int i = 1; i <= 8; i++)
		cr_assert_eq(chan_send(ch, V(i)), CHAN_OK);
	cr_assert_eq(chan_len(ch), 8);
	cr_assert_eq(chan_cap(ch), 8);
	for (int i = 1; i <= 8; i++) {
		cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
		cr_assert_eq(v, V(i));
	}
	/* Wrap around the ring a few times. */
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 5; i++)
			chan_send(ch, V(100 * round + i));
		for (int i = 0; i < 5; i++) {
			chan_recv(ch, &v);
			cr_assert_eq(v, V(100 * round + i));
		}
	}
	cr_assert_eq(chan_len(ch), 0);
	chan_free(ch);
}

Test(chan, send_blocks_while_full, .timeout = 10)
{
	chan_t *ch = chan_new(1, 0);
	struct blocker b = { .ch = ch, .item = V(2) };
	void *v;

	cr_assert_eq(chan_send(ch, V(1)), CHAN_OK);
	start_blocked(&b, blocking_send);
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK); /* makes room */
	cr_assert_eq(v, V(1));
	pthread_join(b.thread, NULL);
	cr_assert_eq(b.rc, CHAN_OK);
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(2));
	chan_free(ch);
}

Test(chan, recv_blocks_while_empty, .timeout = 10)
{
	chan_t *ch = chan_new(4, 0);
	struct blocker b = { .ch = ch };

	start_blocked(&b, blocking_recv);
	cr_assert_eq(chan_send(ch, V(7)), CHAN_OK);
	pthread_join(b.thread, NULL);
	cr_assert_eq(b.rc, CHAN_OK);
	cr_assert_eq(b.item, V(7));
	chan_free(ch);
}

Test(chan, try_send_full_and_closed, .timeout = 10)
{
	chan_t *ch = chan_new(2, 0);
	void *v;

	cr_assert_eq(chan_try_send(ch, V(1)), CHAN_OK);
	cr_assert_eq(chan_try_send(ch, V(2)), CHAN_OK);
	cr_assert_eq(chan_try_send(ch, V(3)), CHAN_FULL);
	cr_assert_eq(chan_len(ch), 2);
	chan_close(ch);
	cr_assert_eq(chan_try_send(ch, V(4)), CHAN_CLOSED);
	cr_assert_eq(chan_send(ch, V(5)), CHAN_CLOSED);
	cr_assert_eq(chan_try_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(1));
	chan_free(ch);
}

Test(chan, close_wakes_blocked_receivers, .timeout = 10)
{
	chan_t *ch = chan_new(1, 0);
	struct blocker a = { .ch = ch }, b = { .ch = ch };

	start_blocked(&a, blocking_recv);
	start_blocked(&b, blocking_recv);
	chan_close(ch);
	chan_close(ch); /* twice is harmless */
	pthread_join(a.thread, NULL);
	pthread_join(b.thread, NULL);
	cr_assert_eq(a.rc, CHAN_CLOSED);
	cr_assert_eq(b.rc, CHAN_CLOSED);
	chan_free(ch);
}

Test(chan, close_wakes_blocked_senders, .timeout = 10)
{
	chan_t *ch = chan_new(1, 0);
	struct blocker a = { .ch = ch, .item = V(2) }, b = { .ch = ch, .item = V(3) };
	void *v;

	chan_send(ch, V(1));
	start_blocked(&a, blocking_send);
	start_blocked(&b, blocking_send);
	chan_close(ch);
	pthread_join(a.thread, NULL);
	pthread_join(b.thread, NULL);
	cr_assert_eq(a.rc, CHAN_CLOSED);
	cr_assert_eq(b.rc, CHAN_CLOSED);
	/* Only the item queued before close is there. */
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(1));
	cr_assert_eq(chan_recv(ch, &v), CHAN_CLOSED);
	chan_free(ch);
}

Test(chan, queued_items_survive_close, .timeout = 10)
{
	chan_t *ch = chan_new(4, 2);
	void *v;

	chan_send(ch, V(1));
	chan_send(ch, V(2));
	chan_send_priority(ch, V(9));
	chan_close(ch);
	cr_assert_eq(chan_send_priority(ch, V(10)), CHAN_CLOSED);
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(9));
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(1));
	cr_assert_eq(chan_recv_timeout(ch, &v, 1000), CHAN_OK);
	cr_assert_eq(v, V(2));
	cr_assert_eq(chan_recv(ch, &v), CHAN_CLOSED);
	cr_assert_eq(chan_recv_timeout(ch, &v, 1000), CHAN_CLOSED);
	cr_assert_eq(chan_try_recv(ch, &v), CHAN_CLOSED);
	chan_free(ch);
}

Test(chan, timed_recv_times_out, .timeout = 10)
{
	chan_t *ch = chan_new(1, 0);
	void *v = V(42);

	cr_assert_eq(chan_recv_timeout(ch, &v, 20), CHAN_TIMEOUT);
	cr_assert_eq(chan_recv_timeout(ch, &v, 0), CHAN_TIMEOUT);
	cr_assert_eq(chan_try_recv(ch, &v), CHAN_EMPTY);
	cr_assert_eq(v, V(42), "a timed-out receive must not touch *item");
	chan_free(ch);
}

Test(chan, timed_recv_gets_item_before_deadline, .timeout = 10)
{
	chan_t *ch = chan_new(1, 0);
	struct blocker b = { .ch = ch };

	start_blocked(&b, timed_recv);
	chan_send(ch, V(5));
	pthread_join(b.thread, NULL);
	cr_assert_eq(b.rc, CHAN_OK);
	cr_assert_eq(b.item, V(5));
	chan_free(ch);
}

Test(chan, priority_overtakes_data_and_is_bounded, .timeout = 10)
{
	chan_t *ch = chan_new(2, 2);
	void *items[8];
	size_t n;

	chan_send(ch, V(1));
	chan_send(ch, V(2));
	cr_assert_eq(chan_try_send(ch, V(3)), CHAN_FULL);
	/* A full data queue does not refuse control messages... */
	cr_assert_eq(chan_send_priority(ch, V(101)), CHAN_OK);
	cr_assert_eq(chan_send_priority(ch, V(102)), CHAN_OK);
	/* ...but the lane has its own bound. */
	cr_assert_eq(chan_send_priority(ch, V(103)), CHAN_FULL);
	cr_assert_eq(chan_len(ch), 4);
	cr_assert_eq(chan_recv_many(ch, items, 8, &n, NULL), CHAN_OK);
	cr_assert_eq(n, 4);
	cr_assert_eq(items[0], V(101));
	cr_assert_eq(items[1], V(102));
	cr_assert_eq(items[2], V(1));
	cr_assert_eq(items[3], V(2));
	chan_free(ch);
}

Test(chan, recv_many_respects_max_and_deadline, .timeout = 10)
{
	chan_t *ch = chan_new(8, 0);
	void *items[3];
	size_t n;
	struct timespec soon;

	for (int i = 1; i <= 5; i++)
		chan_send(ch, V(i));
	cr_assert_eq(chan_recv_many(ch, items, 3, &n, NULL), CHAN_OK);
	cr_assert_eq(n, 3);
	cr_assert_eq(items[2], V(3));
	cr_assert_eq(chan_recv_many(ch, items, 3, &n, NULL), CHAN_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(items[0], V(4));
	clock_gettime(CLOCK_MONOTONIC, &soon);
	cr_assert_eq(chan_recv_many(ch, items, 3, &n, &soon), CHAN_TIMEOUT);
	cr_assert_eq(n, 0);
	chan_free(ch);
}

Test(chan, mpmc_stress_exactly_once_in_order, .timeout = 120)
{
	cr_assert_eq(stress_chan_mpmc(4, 4, 250000, 64), 0);
}

/* An item's weight in the byte-bound tests: the item is its own weight. */
static size_t
weigh_self(const void *item)
{
	return (size_t)(uintptr_t)item;
}

Test(chan, byte_cap_bounds_the_data_lane_in_bytes, .timeout = 10)
{
	chan_t *ch = chan_new(100, 2);
	struct chan_depth d;
	void *items[] = { V(400), V(400), V(300) };
	size_t sent;
	void *v;

	chan_set_byte_cap(ch, 1000, weigh_self);
	cr_assert_eq(chan_try_send_many(ch, items, 3, &sent), CHAN_FULL);
	cr_assert_eq(sent, 2, "800 bytes fit, 1100 would not");
	cr_assert_eq(chan_try_send(ch, V(201)), CHAN_FULL);
	cr_assert_eq(chan_try_send(ch, V(200)), CHAN_OK, "exactly 1000 fits");
	cr_assert_eq(chan_send_priority(ch, V(5000)), CHAN_OK,
	    "the priority lane is not weighed");
	chan_depth(ch, &d);
	cr_assert_eq(d.bytes, 1000);
	cr_assert_eq(d.byte_cap, 1000);
	cr_assert_eq(d.data, 3);
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(5000));
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(400));
	cr_assert_eq(chan_try_send(ch, V(400)), CHAN_OK, "a receive frees bytes");
	chan_depth(ch, &d);
	cr_assert_eq(d.bytes, 1000);
	chan_free(ch);
}

Test(chan, byte_cap_lets_one_heavy_item_into_an_empty_lane, .timeout = 10)
{
	chan_t *ch = chan_new(100, 0);
	void *v;

	chan_set_byte_cap(ch, 1000, weigh_self);
	cr_assert_eq(chan_send(ch, V(5000)), CHAN_OK, "empty: it goes in");
	cr_assert_eq(chan_try_send(ch, V(1)), CHAN_FULL, "then nothing else");
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(5000));
	cr_assert_eq(chan_try_send(ch, V(1)), CHAN_OK);
	chan_free(ch);
}

Test(chan, a_sender_blocked_on_bytes_wakes_when_they_free, .timeout = 10)
{
	chan_t *ch = chan_new(100, 0);
	struct blocker b = { .ch = ch, .item = V(600) };
	void *v;

	chan_set_byte_cap(ch, 1000, weigh_self);
	cr_assert_eq(chan_send(ch, V(500)), CHAN_OK);
	start_blocked(&b, blocking_send); /* 500 + 600 > 1000 */
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	pthread_join(b.thread, NULL);
	cr_assert_eq(b.rc, CHAN_OK);
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(600));
	chan_free(ch);
}

static atomic_long released_weight;

static void
release_counted(void *item)
{
	atomic_fetch_add(&released_weight, (long)(uintptr_t)item);
}

Test(chan, discard_data_releases_the_data_lane_and_keeps_priority,
    .timeout = 10)
{
	chan_t *ch = chan_new(4, 2);
	struct blocker b = { .ch = ch, .item = V(16) };
	struct chan_depth d;
	void *v;

	chan_set_byte_cap(ch, 1000, weigh_self);
	for (int i = 1; i <= 4; i++) /* wraps nothing yet: 4 slots full */
		cr_assert_eq(chan_send(ch, V(i)), CHAN_OK);
	cr_assert_eq(chan_send_priority(ch, V(99)), CHAN_OK);
	start_blocked(&b, blocking_send); /* no slot left */
	cr_assert_eq(chan_discard_data(ch, release_counted), 4);
	cr_assert_eq(atomic_load(&released_weight), 1 + 2 + 3 + 4);
	pthread_join(b.thread, NULL); /* woken: the slots are free */
	cr_assert_eq(b.rc, CHAN_OK);
	chan_depth(ch, &d);
	cr_assert_eq(d.data, 1);
	cr_assert_eq(d.bytes, 16, "only the blocked sender's item weighs");
	cr_assert_eq(d.prio, 1);
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(99), "the priority lane kept its item");
	cr_assert_eq(chan_recv(ch, &v), CHAN_OK);
	cr_assert_eq(v, V(16));
	chan_free(ch);
}
