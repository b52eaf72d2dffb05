/*
 * chan — Go's buffered channel, in C: a bounded FIFO of `void *` items
 * that any number of threads send to and receive from at once (how it
 * works: src/chan.c).  Each function says which Go operation it stands
 * for; the project's one Go -> C table is docs/ARCHITECTURE.md, section 6.
 *
 * Where it differs from Go, on purpose (each at its declaration below):
 * sending on a closed channel returns CHAN_CLOSED and closing twice is
 * harmless, since "the other side already shut this down" is a normal
 * event in a server; a priority lane for control messages
 * (chan_send_priority); a bound in bytes (chan_set_byte_cap); a receive
 * of many items under one lock (chan_recv_many).
 *
 * The channel never frees items: whoever receives an item owns it.  After
 * chan_close, receivers still get every queued item, then CHAN_CLOSED.
 */
#ifndef WSHUB_CHAN_H
#define WSHUB_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct chan chan_t;

enum chan_status {
	CHAN_OK = 0,
	CHAN_FULL = -1,    /* try-send: no room (data or priority lane) */
	CHAN_EMPTY = -2,   /* try-recv: nothing queued, channel still open */
	CHAN_CLOSED = -3,  /* send: channel closed; recv: closed and drained */
	CHAN_TIMEOUT = -4, /* timed recv: deadline passed, nothing arrived */
};

/*
 * Creates a channel holding up to `cap` data items (cap >= 1) plus up to
 * `priority_cap` priority items (0: no priority lane).  The priority lane
 * does not count against `cap`, so a full data queue never refuses a
 * pong, and has its own small bound so a flood of control messages
 * cannot grow memory without end.  Aborts on allocation failure.  Any
 * thread.  Go: make(chan T, cap).
 */
chan_t *chan_new(size_t cap, size_t priority_cap);

/*
 * Frees the channel.  No thread may be blocked on it or use it afterwards.
 * Items still queued are not freed: drain them first with chan_try_recv if
 * they own memory.
 */
void chan_free(chan_t *ch);

/*
 * Bounds the data lane in bytes as well as in items (Go counts only
 * items, but a queue of messages is paid for in bytes): each data item
 * weighs weigh(item) bytes, and a send that would take the lane past
 * `byte_cap` bytes finds it full (CHAN_FULL, or a blocking send waits) --
 * unless the lane is empty, so that one item heavier than the whole bound
 * still goes through.  `byte_cap` 0 removes the bound.  The priority lane
 * is bounded by its item count alone.  Call before other threads use the
 * channel.
 */
void chan_set_byte_cap(chan_t *ch, size_t byte_cap,
    size_t (*weigh)(const void *item));

/*
 * Queues `item`, blocking the calling thread while the data queue is full.
 * Returns CHAN_OK, or CHAN_CLOSED if the channel is (or becomes, while
 * waiting) closed; then the item was not queued and the caller still owns it.
 * Go: ch <- v (without the panic on a closed channel).
 */
int chan_send(chan_t *ch, void *item);

/*
 * Queues `item` if there is room; never blocks.  Returns CHAN_OK, CHAN_FULL
 * or CHAN_CLOSED.  On anything but CHAN_OK the caller still owns the item.
 * Go: select { case ch <- v: default: }.
 */
int chan_try_send(chan_t *ch, void *item);

/*
 * Queues items[0..n) in order as far as they fit; never blocks, locks
 * once and wakes the receiver at most once (a burst costs one wake-up).
 * Sets *sent to how many were queued (they now belong to the channel).
 * Returns CHAN_OK if all were, CHAN_FULL if some were not, CHAN_CLOSED
 * (nothing queued).
 */
int chan_try_send_many(chan_t *ch, void *const *items, size_t n,
    size_t *sent);

/*
 * Queues `item` on the priority lane; never blocks.  It will be received
 * before every data item already queued, and after the priority items
 * queued before it.  Returns CHAN_OK, CHAN_FULL (the priority lane holds
 * priority_cap items) or CHAN_CLOSED.
 */
int chan_send_priority(chan_t *ch, void *item);

/*
 * Receives one item (priority lane first), blocking while the channel is
 * empty and open.  Returns CHAN_OK with *item set, or CHAN_CLOSED once the
 * channel is closed and drained.  Go: v, ok := <-ch.
 */
int chan_recv(chan_t *ch, void **item);

/* Like chan_recv but never blocks: CHAN_OK, CHAN_EMPTY or CHAN_CLOSED. */
int chan_try_recv(chan_t *ch, void **item);

/*
 * Like chan_recv, waiting at most `timeout_ms` milliseconds (0 = just
 * look).  Returns CHAN_OK, CHAN_CLOSED or CHAN_TIMEOUT.
 */
int chan_recv_timeout(chan_t *ch, void **item, long timeout_ms);

/*
 * Like chan_recv, waiting until the absolute CLOCK_MONOTONIC time
 * `deadline` (NULL: forever).  Wall-clock jumps do not affect it.
 * Returns CHAN_OK, CHAN_CLOSED or CHAN_TIMEOUT.  Go: select { case v :=
 * <-ch: case <-timer.C: }.
 */
int chan_recv_until(chan_t *ch, void **item, const struct timespec *deadline);

/*
 * Receives between 1 and `max` items at once, under one lock (so that a
 * writer sends a burst with one system call), priority items first,
 * waiting like chan_recv_until for the first one.  Sets *n to the number
 * received.  Returns CHAN_OK (*n >= 1), CHAN_CLOSED or CHAN_TIMEOUT
 * (*n == 0).
 */
int chan_recv_many(chan_t *ch, void **items, size_t max, size_t *n,
    const struct timespec *deadline);

/*
 * Closes the channel and wakes every blocked sender and receiver.  Queued
 * items stay receivable.  Closing an already closed channel does nothing.
 * Any thread; never blocks except on the channel's mutex.  Go: close(ch),
 * except that closing twice is harmless.
 */
void chan_close(chan_t *ch);

/*
 * Takes every item off the data lane and hands each to `release` (after
 * the channel's lock is let go); the priority lane keeps its items, and
 * blocked senders are woken.  Returns how many were taken.  For a queue
 * whose receiver will never want them (Go has no such thing: the garbage
 * collector frees a channel's items with the channel).  Any thread; never
 * blocks except on the channel's mutex.
 */
size_t chan_discard_data(chan_t *ch, void (*release)(void *item));

/* Number of queued items, data and priority.  A snapshot.  Go: len(ch). */
size_t chan_len(chan_t *ch);

/* Data capacity given to chan_new.  Go: cap(ch). */
size_t chan_cap(chan_t *ch);

/* Both lanes at once, under one lock: what is queued and what fits (the
 * items, and the data lane's bytes). */
struct chan_depth {
	size_t data, data_cap;
	size_t prio, prio_cap;
	size_t bytes, byte_cap; /* the data lane's weight; byte_cap 0: none */
};
void chan_depth(chan_t *ch, struct chan_depth *d);

/* A name for dumps (/debug/threads); `name` must outlive the channel.
 * Set it before other threads use the channel.  Default "channel". */
void chan_set_name(chan_t *ch, const char *name);
const char *chan_name(const chan_t *ch);

/*
 * Who wants to know when a thread sleeps on a channel: the thread registry
 * (threads.c) installs this, so that a dump says which channel each
 * thread waits on, while chan itself depends on nothing above it.  `block`
 * is called by the thread about to sleep, with the channel's lock held
 * (so keep it cheap: no locks, no channel calls): `sending` false for a
 * receive, and the channel's name; `run` when it wakes.  The hook must
 * outlive every channel.  NULL (the default) removes it.  Any thread.
 */
struct chan_sleep_hook {
	void (*block)(bool sending, const char *name);
	void (*run)(void);
};
void chan_set_sleep_hook(const struct chan_sleep_hook *hook);

/*
 * How many threads sleep on the channel now, in a receive (`sending`
 * false) or in a send into the full data lane.  A snapshot under the
 * lock: a test's way to know a thread is blocked on this channel and not
 * on something else.  Any thread.
 */
size_t chan_sleepers(chan_t *ch, bool sending);

#endif
