/*
 * chan — Go's buffered channel in C (see chan.h for the API).
 *
 * DESIGN
 * Two ring buffers share one mutex: `data` (capacity cap) and `prio`
 * (capacity priority_cap).  Receivers always empty `prio` first.  Two
 * condition variables, both on CLOCK_MONOTONIC:
 *   not_empty — signalled when an item arrives; receivers wait on it.
 *   not_full  — signalled when a data slot frees; blocked senders wait on it.
 * chan_close sets `closed` and broadcasts both, so every waiter re-checks
 * its condition and sees the channel closed.  Every field that changes is
 * guarded by mu; the capacities, the byte bound and the name are set before
 * the channel is shared (chan_new, chan_set_byte_cap, chan_set_name) and
 * read without it (chan_cap, chan_name).
 *
 * The data lane may be bounded in bytes too (chan_set_byte_cap): `bytes`
 * is the sum of the weights of its items, kept under mu by every push and
 * pop, and "room" means a free slot and room under the byte bound.
 *
 * Waking is the expensive part (a futex system call and a context switch),
 * so it is done sparingly: each side counts its sleepers and the wake-ups
 * already sent to them, a sender signals only when a sleeping receiver has
 * no wake-up coming yet, and every signal is sent after the mutex is
 * released, so the woken thread does not wake up only to block on it.  The
 * exception is chan_close, which broadcasts under the mutex: it happens
 * once per channel.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "wshub/chan.h"
#include "wshub/deadline.h"
#include "wshub/xmalloc.h"

/*
 * A ring of at most `cap` items whose storage grows on demand (doubling,
 * from RING_MIN_ALLOC slots): thousands of idle connections should not
 * each hold a full-size send queue.
 */
#define RING_MIN_ALLOC 8

struct ring {
	void **slot;
	size_t alloc; /* slots allocated */
	size_t cap;   /* slots allowed */
	size_t head;  /* index of the oldest item */
	size_t len;
};

/* Threads asleep on one condition variable, and wake-ups sent to them. */
struct sleepers {
	unsigned waiting;
	unsigned woken;
};

struct chan {
	pthread_mutex_t mu;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	struct sleepers receivers; /* on not_empty */
	struct sleepers senders;   /* on not_full */
	struct ring data;
	struct ring prio;
	/* The data lane's weight: bytes = sum of weigh(item) over its items,
	 * bounded by byte_cap (0: no bound, weigh NULL). */
	size_t (*weigh)(const void *item);
	size_t bytes, byte_cap;
	bool closed;
	const char *name;          /* for dumps; set before sharing */
};

static void
ring_init(struct ring *r, size_t cap)
{
	r->alloc = cap < RING_MIN_ALLOC ? cap : RING_MIN_ALLOC;
	r->slot = r->alloc ? xcalloc(r->alloc, sizeof(*r->slot)) : NULL;
	r->cap = cap;
	r->head = 0;
	r->len = 0;
}

/* Doubles the storage (up to cap), moving the items to the front. */
static void
ring_grow(struct ring *r)
{
	size_t alloc = r->alloc * 2 < r->cap ? r->alloc * 2 : r->cap;
	void **slot = xcalloc(alloc, sizeof(*slot));

	for (size_t i = 0; i < r->len; i++)
		slot[i] = r->slot[(r->head + i) % r->alloc];
	free(r->slot);
	r->slot = slot;
	r->alloc = alloc;
	r->head = 0;
}

/* Appends an item; the caller has checked len < cap. */
static void
ring_push(struct ring *r, void *item)
{
	if (r->len == r->alloc)
		ring_grow(r);
	r->slot[(r->head + r->len) % r->alloc] = item;
	r->len++;
}

static void *
ring_pop(struct ring *r)
{
	void *item = r->slot[r->head];

	r->head = (r->head + 1) % r->alloc;
	r->len--;
	return item;
}

chan_t *
chan_new(size_t cap, size_t priority_cap)
{
	chan_t *ch = xcalloc(1, sizeof(*ch));

	pthread_mutex_init(&ch->mu, NULL);
	deadline_cond_init(&ch->not_empty);
	deadline_cond_init(&ch->not_full);
	assert(cap >= 1); /* Go's unbuffered channel has no equivalent here */
	ring_init(&ch->data, cap);
	ring_init(&ch->prio, priority_cap);
	ch->name = "channel";
	return ch;
}

void
chan_free(chan_t *ch)
{
	if (ch == NULL)
		return;
	pthread_cond_destroy(&ch->not_empty);
	pthread_cond_destroy(&ch->not_full);
	pthread_mutex_destroy(&ch->mu);
	free(ch->data.slot);
	free(ch->prio.slot);
	free(ch);
}

/* mu held: true if one more sleeper should be woken (then it counts it). */
static bool
sleepers_claim_locked(struct sleepers *sl)
{
	if (sl->waiting <= sl->woken)
		return false;
	sl->woken++;
	return true;
}

/* Who hears of a thread's sleep on a channel (chan_set_sleep_hook). */
static _Atomic(const struct chan_sleep_hook *) sleep_hook;

void
chan_set_sleep_hook(const struct chan_sleep_hook *hook)
{
	atomic_store_explicit(&sleep_hook, hook, memory_order_relaxed);
}

/* Sleeps on `cond` (until `deadline` if not NULL); mu held. */
static int
sleepers_wait_locked(chan_t *ch, struct sleepers *sl, pthread_cond_t *cond,
    const struct timespec *deadline)
{
	const struct chan_sleep_hook *hook =
	    atomic_load_explicit(&sleep_hook, memory_order_relaxed);
	int rc;

	sl->waiting++;
	if (hook != NULL)
		hook->block(sl == &ch->senders, ch->name);
	rc = deadline ? deadline_cond_timedwait(cond, &ch->mu, deadline) :
	    pthread_cond_wait(cond, &ch->mu);
	if (hook != NULL)
		hook->run();
	sl->waiting--;
	if (sl->woken > 0)
		sl->woken--;
	return rc;
}

/* mu held: the weight of a data item (0 without a byte bound). */
static size_t
weight_locked(const chan_t *ch, const void *item)
{
	return ch->weigh ? ch->weigh(item) : 0;
}

/*
 * mu held: true if the data lane can take an item of weight `w`: a free
 * slot, and room under the byte bound -- or an empty lane, so that one
 * item heavier than the whole bound still goes through.
 */
static bool
data_fits_locked(const chan_t *ch, size_t w)
{
	if (ch->data.len == ch->data.cap)
		return false;
	return ch->byte_cap == 0 || ch->data.len == 0 ||
	    (ch->bytes <= ch->byte_cap && w <= ch->byte_cap - ch->bytes);
}

/* Queues a data item; mu held, room checked.  True: wake a receiver. */
static bool
push_data_locked(chan_t *ch, void *item, size_t w)
{
	ring_push(&ch->data, item);
	ch->bytes += w;
	return sleepers_claim_locked(&ch->receivers);
}

/* Unlocks, then wakes `n` sleepers on `cond`. */
static void
unlock_and_wake(chan_t *ch, pthread_cond_t *cond, unsigned n)
{
	pthread_mutex_unlock(&ch->mu);
	while (n-- > 0)
		pthread_cond_signal(cond);
}

int
chan_send(chan_t *ch, void *item)
{
	bool wake = false;
	int rc = CHAN_OK;

	size_t w;

	pthread_mutex_lock(&ch->mu);
	w = weight_locked(ch, item);
	while (!ch->closed && !data_fits_locked(ch, w))
		sleepers_wait_locked(ch, &ch->senders, &ch->not_full, NULL);
	if (ch->closed)
		rc = CHAN_CLOSED;
	else
		wake = push_data_locked(ch, item, w);
	unlock_and_wake(ch, &ch->not_empty, wake);
	return rc;
}

int
chan_try_send(chan_t *ch, void *item)
{
	bool wake = false;
	int rc = CHAN_OK;

	size_t w;

	pthread_mutex_lock(&ch->mu);
	w = weight_locked(ch, item);
	if (ch->closed)
		rc = CHAN_CLOSED;
	else if (!data_fits_locked(ch, w))
		rc = CHAN_FULL;
	else
		wake = push_data_locked(ch, item, w);
	unlock_and_wake(ch, &ch->not_empty, wake);
	return rc;
}

int
chan_try_send_many(chan_t *ch, void *const *items, size_t n, size_t *sent)
{
	bool wake = false;
	int rc = CHAN_OK;

	*sent = 0;
	pthread_mutex_lock(&ch->mu);
	if (ch->closed)
		rc = CHAN_CLOSED;
	else {
		for (size_t w; *sent < n &&
		    data_fits_locked(ch, w = weight_locked(ch, items[*sent]));
		    (*sent)++) {
			ring_push(&ch->data, items[*sent]);
			ch->bytes += w;
		}
		if (*sent < n)
			rc = CHAN_FULL;
		if (*sent > 0)
			wake = sleepers_claim_locked(&ch->receivers);
	}
	unlock_and_wake(ch, &ch->not_empty, wake);
	return rc;
}

int
chan_send_priority(chan_t *ch, void *item)
{
	bool wake = false;
	int rc = CHAN_OK;

	pthread_mutex_lock(&ch->mu);
	if (ch->closed)
		rc = CHAN_CLOSED;
	else if (ch->prio.len == ch->prio.cap)
		rc = CHAN_FULL;
	else {
		ring_push(&ch->prio, item);
		wake = sleepers_claim_locked(&ch->receivers);
	}
	unlock_and_wake(ch, &ch->not_empty, wake);
	return rc;
}

/*
 * Takes up to `max` items, priority first; mu held.  Returns how many, and
 * in *wake how many blocked senders to wake for the data slots freed.
 */
static size_t
pop_locked(chan_t *ch, void **items, size_t max, unsigned *wake)
{
	size_t n = 0;

	while (n < max && ch->prio.len > 0)
		items[n++] = ring_pop(&ch->prio);
	while (n < max && ch->data.len > 0) {
		items[n] = ring_pop(&ch->data);
		ch->bytes -= weight_locked(ch, items[n++]);
		*wake += sleepers_claim_locked(&ch->senders);
	}
	return n;
}

/*
 * Waits until an item is queued, the channel is closed or the deadline
 * (NULL: none) passes.  mu held.  Returns CHAN_OK if an item is ready.
 */
static int
wait_nonempty_locked(chan_t *ch, const struct timespec *deadline)
{
	while (ch->prio.len == 0 && ch->data.len == 0) {
		if (ch->closed)
			return CHAN_CLOSED;
		if (sleepers_wait_locked(ch, &ch->receivers, &ch->not_empty,
		    deadline) == ETIMEDOUT &&
		    ch->prio.len == 0 && ch->data.len == 0)
			return ch->closed ? CHAN_CLOSED : CHAN_TIMEOUT;
	}
	return CHAN_OK;
}

int
chan_recv_many(chan_t *ch, void **items, size_t max, size_t *n,
    const struct timespec *deadline)
{
	unsigned wake = 0;
	int rc;

	*n = 0;
	pthread_mutex_lock(&ch->mu);
	rc = wait_nonempty_locked(ch, deadline);
	if (rc == CHAN_OK)
		*n = pop_locked(ch, items, max, &wake);
	unlock_and_wake(ch, &ch->not_full, wake);
	return rc;
}

int
chan_recv_until(chan_t *ch, void **item, const struct timespec *deadline)
{
	size_t n;

	return chan_recv_many(ch, item, 1, &n, deadline);
}

int
chan_recv(chan_t *ch, void **item)
{
	return chan_recv_until(ch, item, NULL);
}

int
chan_recv_timeout(chan_t *ch, void **item, long timeout_ms)
{
	struct timespec deadline = deadline_after_ms(timeout_ms);

	return chan_recv_until(ch, item, &deadline);
}

int
chan_try_recv(chan_t *ch, void **item)
{
	unsigned wake = 0;
	int rc;

	pthread_mutex_lock(&ch->mu);
	if (pop_locked(ch, item, 1, &wake) == 1)
		rc = CHAN_OK;
	else
		rc = ch->closed ? CHAN_CLOSED : CHAN_EMPTY;
	unlock_and_wake(ch, &ch->not_full, wake);
	return rc;
}

size_t
chan_discard_data(chan_t *ch, void (*release)(void *item))
{
	struct ring old, fresh;
	unsigned wake;

	ring_init(&fresh, ch->data.cap); /* cap never changes: no lock */
	pthread_mutex_lock(&ch->mu);
	old = ch->data;
	ch->data = fresh;
	ch->bytes = 0;
	wake = ch->senders.waiting > ch->senders.woken ? /* all room is free */
	    ch->senders.waiting - ch->senders.woken : 0;
	ch->senders.woken += wake;
	unlock_and_wake(ch, &ch->not_full, wake);
	for (size_t i = 0; i < old.len; i++) /* outside the lock */
		release(old.slot[(old.head + i) % old.alloc]);
	free(old.slot);
	return old.len;
}

void
chan_set_byte_cap(chan_t *ch, size_t byte_cap, size_t (*weigh)(const void *))
{
	ch->byte_cap = byte_cap;
	ch->weigh = byte_cap ? weigh : NULL;
}

void
chan_close(chan_t *ch)
{
	pthread_mutex_lock(&ch->mu);
	if (!ch->closed) {
		ch->closed = true;
		pthread_cond_broadcast(&ch->not_empty);
		pthread_cond_broadcast(&ch->not_full);
	}
	pthread_mutex_unlock(&ch->mu);
}

size_t
chan_len(chan_t *ch)
{
	size_t len;

	pthread_mutex_lock(&ch->mu);
	len = ch->data.len + ch->prio.len;
	pthread_mutex_unlock(&ch->mu);
	return len;
}

size_t
chan_cap(chan_t *ch)
{
	return ch->data.cap;
}

void
chan_depth(chan_t *ch, struct chan_depth *d)
{
	pthread_mutex_lock(&ch->mu);
	d->data = ch->data.len;
	d->data_cap = ch->data.cap;
	d->prio = ch->prio.len;
	d->prio_cap = ch->prio.cap;
	d->bytes = ch->bytes;
	d->byte_cap = ch->byte_cap;
	pthread_mutex_unlock(&ch->mu);
}

void
chan_set_name(chan_t *ch, const char *name)
{
	ch->name = name;
}

const char *
chan_name(const chan_t *ch)
{
	return ch->name;
}

size_t
chan_sleepers(chan_t *ch, bool sending)
{
	size_t n;

	pthread_mutex_lock(&ch->mu);
	n = sending ? ch->senders.waiting : ch->receivers.waiting;
	pthread_mutex_unlock(&ch->mu);
	return n;
}
