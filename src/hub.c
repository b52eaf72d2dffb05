/*
 * hub — the manager thread (see hub.h for the design).
 *
 * The hub thread blocks on its event channel and nothing else (but the
 * write(2) of a log line, see log.h): every send to a client is a
 * non-blocking chan_try_send_many (client_try_send), so the hub never
 * waits for a client and holds no lock while anyone writes to a socket.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/tree.h>

#include "wshub/chan.h"
#include "wshub/deadline.h"
#include "wshub/hub.h"
#include "wshub/log.h"
#include "wshub/threads.h"
#include "wshub/xmalloc.h"

#define HUB_BATCH_MAX 64 /* events handled per lock of the event channel */
/* The most the messages waiting for the hub may weigh: past it, readers
 * wait to hand theirs over (backpressure), as they do past the channel's
 * event count.  Without it, 4096 events of --max-message each: 256 MiB
 * at 64 KiB, queued by clients that send big messages faster than the hub
 * takes them. */
#define HUB_QUEUE_BYTES (8 << 20)

enum hub_event_type { HUB_REGISTER, HUB_UNREGISTER, HUB_BROADCAST, HUB_SHUTDOWN };

struct hub_event {
	enum hub_event_type type;
	struct hub_client *client; /* REGISTER, UNREGISTER, BROADCAST from a
	                              local client: held; else NULL */
	msg_t *msg;         /* BROADCAST: a reference */
	char *room;         /* BROADCAST from another hub: its room (owned) */
};

TAILQ_HEAD(client_list, hub_client);

/*
 * A room and its clients.  The rooms are a red-black tree keyed by name
 * (libbsd's <sys/tree.h>): a join, a leave or a broadcast finds its room
 * in O(log rooms) with no hashing and no resize pause in the hub thread;
 * the node lives in the room, so a room is one allocation; and the tree
 * walks in name order.  A room exists while it has a client.
 */
struct room {
	RB_ENTRY(room) node;
	struct client_list clients;
	size_t size;
	char name[ROOM_NAME_MAX + 1];
};

RB_HEAD(room_tree, room);

static int
room_cmp(const struct room *a, const struct room *b)
{
	return strcmp(a->name, b->name);
}

/* Not RB_GENERATE_STATIC: it needs __unused, which libbsd leaves out. */
RB_GENERATE(room_tree, room, node, room_cmp)

struct hub {
	chan_t *events;
	pthread_t thread;
	struct stats *stats;
	size_t max_rooms;
	/* The hub thread writes the room tree holding rooms_mu and reads it
	 * without; other threads read it holding rooms_mu (hub_room_admits).
	 * The hub takes it only to add or remove a room, never per message. */
	pthread_mutex_t rooms_mu;
	struct room_tree rooms;
	size_t n_rooms;
	struct hub_relay relay;  /* set before hub_start; none: all NULL */
	/* Hub thread only. */
	size_t n_clients;
	size_t largest;     /* clients in the largest room */
	size_t *rooms_of_size; /* [n]: rooms with n clients (n >= 1) */
	size_t sizes_alloc;
	bool stopping;
};

/* An event's weight in the event channel: its message's bytes. */
static size_t
event_weigh(const void *item)
{
	const struct hub_event *e = item;

	return e->msg ? msg_wire_len(e->msg) : 0;
}

hub_t *
hub_new(struct stats *st, size_t queue_len, size_t max_rooms)
{
	hub_t *h = xcalloc(1, sizeof(*h));

	h->events = chan_new(queue_len, 0);
	chan_set_name(h->events, "hub events");
	chan_set_byte_cap(h->events, HUB_QUEUE_BYTES, event_weigh);
	h->stats = st;
	h->max_rooms = max_rooms;
	pthread_mutex_init(&h->rooms_mu, NULL);
	RB_INIT(&h->rooms);
	return h;
}

void
hub_client_init(struct hub_client *cl, chan_t *send,
    const struct hub_client_ops *ops, uint64_t id, const char *peer,
    size_t send_queue, int64_t stall_ms)
{
	cl->send = send;
	cl->ops = ops;
	cl->id = id;
	cl->peer = peer;
	cl->send_queue = send_queue;
	cl->stall_ms = stall_ms;
	atomic_init(&cl->verdict, HUB_VERDICT_NONE);
	atomic_init(&cl->discard, false);
	atomic_init(&cl->stalled_since_ms, 0);
}

bool
hub_client_mark_slow(struct hub_client *cl)
{
	return !atomic_exchange(&cl->discard, true);
}

static struct hub_client *
client_hold(struct hub_client *cl)
{
	cl->ops->hold(cl);
	return cl;
}

/* Frees an event and what it holds (any thread). */
static void
event_free(struct hub_event *e)
{
	if (e->client)
		e->client->ops->release(e->client);
	msg_unref(e->msg);
	free(e->room);
	free(e);
}

/* Queues an event; on failure (hub stopped) frees it and returns -1. */
static int
hub_post(hub_t *h, struct hub_event ev)
{
	struct hub_event *e = xmalloc(sizeof(*e));

	*e = ev;
	if (chan_send(h->events, e) == CHAN_OK)
		return 0;
	event_free(e);
	return -1;
}

int
hub_register(hub_t *h, struct hub_client *cl, const char *room)
{
	strlcpy(cl->room, room, sizeof(cl->room));
	return hub_post(h, (struct hub_event){ .type = HUB_REGISTER,
	    .client = client_hold(cl) });
}

void
hub_unregister(hub_t *h, struct hub_client *cl)
{
	hub_post(h, (struct hub_event){ .type = HUB_UNREGISTER,
	    .client = client_hold(cl) });
}

int
hub_broadcast(hub_t *h, struct hub_client *from, msg_t *m)
{
	return hub_post(h, (struct hub_event){ .type = HUB_BROADCAST,
	    .client = client_hold(from), .msg = m });
}

int
hub_deliver_remote(hub_t *h, const char *room, msg_t *m)
{
	char *copy = xmalloc(strlen(room) + 1);

	memcpy(copy, room, strlen(room) + 1);
	return hub_post(h, (struct hub_event){ .type = HUB_BROADCAST, .msg = m,
	    .room = copy });
}

void
hub_set_relay(hub_t *h, const struct hub_relay *relay)
{
	h->relay = *relay;
}

/* ---- what the hub does to a client ---------------------------------------- */

/*
 * Queues msgs[0..n) on the client's send channel, in order, as far as they
 * fit under its hard limit, without blocking; each queued message gets its
 * own reference (the caller keeps its own).  Wakes the writer at most
 * once.  CHAN_OK (all queued), CHAN_FULL (the hard limit: a slow client)
 * or CHAN_CLOSED.
 */
static int
client_try_send(struct hub_client *cl, msg_t *const *msgs, size_t n)
{
	size_t sent;
	int rc;

	for (size_t i = 0; i < n; i++)
		msg_ref(msgs[i]); /* before the writer can see (and drop) it */
	rc = chan_try_send_many(cl->send, (void *const *)msgs, n, &sent);
	for (size_t i = sent; i < n; i++)
		msg_unref(msgs[i]);
	return rc;
}

/*
 * True if the client has stopped taking data: more than --send-queue
 * messages wait for it and its writer has been blocked on the full socket
 * for stall_ms.  A long queue alone is not enough: a writer that has not
 * been scheduled yet is not blocked on the socket.
 */
static bool
client_is_slow(struct hub_client *cl)
{
	int64_t since = atomic_load_explicit(&cl->stalled_since_ms,
	    memory_order_relaxed);

	if (since == 0 || deadline_now_ms() - since < cl->stall_ms)
		return false; /* the writer is not stuck on the socket */
	return chan_len(cl->send) > cl->send_queue;
}

/* Closes the client's send channel (Go: close(client.send)): its writer
 * sends what is queued, then a close frame that says `verdict`. */
static void
client_close(struct hub_client *cl, enum hub_verdict verdict)
{
	if (verdict != HUB_VERDICT_NONE)
		atomic_store(&cl->verdict, verdict);
	chan_close(cl->send);
}

static void
release_msg(void *m)
{
	msg_unref(m);
}

/* Closes a slow client's channel: its queued data is discarded (the queue
 * is the problem) and freed now, not when its writer comes back from the
 * write it is blocked in; it hears 1008 with `verdict`'s reason once its
 * socket takes it. */
static void
client_drop_slow(struct hub_client *cl, enum hub_verdict verdict)
{
	atomic_store(&cl->discard, true);
	client_close(cl, verdict);
	chan_discard_data(cl->send, release_msg);
}

bool
hub_room_admits(hub_t *h, const char *room)
{
	struct room key;
	bool ok;

	strlcpy(key.name, room, sizeof(key.name));
	pthread_mutex_lock(&h->rooms_mu);
	ok = h->n_rooms < h->max_rooms ||
	    RB_FIND(room_tree, &h->rooms, &key) != NULL;
	pthread_mutex_unlock(&h->rooms_mu);
	return ok;
}

/* The room called `name`, or NULL.  Hub thread only. */
static struct room *
room_find(hub_t *h, const char *name)
{
	struct room key;

	strlcpy(key.name, name, sizeof(key.name));
	return RB_FIND(room_tree, &h->rooms, &key);
}

/* A new, empty room, or NULL past --max-rooms.  Hub thread only. */
static struct room *
room_open(hub_t *h, const char *name)
{
	struct room *r;

	if (h->n_rooms >= h->max_rooms)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	strlcpy(r->name, name, sizeof(r->name));
	TAILQ_INIT(&r->clients);
	pthread_mutex_lock(&h->rooms_mu);
	RB_INSERT(room_tree, &h->rooms, r);
	h->n_rooms++;
	pthread_mutex_unlock(&h->rooms_mu);
	stats_add(&h->stats->rooms, 1);
	if (h->relay.room_opened) /* other hubs' messages for it, from now */
		h->relay.room_opened(h->relay.arg, r->name);
	return r;
}

/* Frees a room its last client has left.  Hub thread only. */
static void
room_close(hub_t *h, struct room *r)
{
	if (h->relay.room_closed)
		h->relay.room_closed(h->relay.arg, r->name);
	pthread_mutex_lock(&h->rooms_mu);
	RB_REMOVE(room_tree, &h->rooms, r);
	h->n_rooms--;
	pthread_mutex_unlock(&h->rooms_mu);
	stats_add(&h->stats->rooms, -1);
	free(r);
}

/*
 * Keeps h->largest and its gauge true after a room grew or shrank by one
 * to `size` clients (a room that shrank to 0 is already closed), in O(1)
 * whatever the number of rooms: rooms_of_size[n] counts the rooms of n
 * clients, so after a room of the largest size shrinks, the largest size
 * is still that if another room has it, and else one less.
 */
static void
room_resized(hub_t *h, size_t size, bool grew)
{
	size_t was = grew ? size - 1 : size + 1, largest = h->largest;

	if (size >= h->sizes_alloc) {
		size_t alloc = size * 2;

		h->rooms_of_size = xreallocarray(h->rooms_of_size, alloc,
		    sizeof(*h->rooms_of_size));
		memset(h->rooms_of_size + h->sizes_alloc, 0,
		    (alloc - h->sizes_alloc) * sizeof(*h->rooms_of_size));
		h->sizes_alloc = alloc;
	}
	h->rooms_of_size[was]--; /* [0] counts nothing: its wraps are unread */
	h->rooms_of_size[size]++;
	if (size > largest || (was == largest && h->rooms_of_size[was] == 0))
		largest = size;
	if (largest == h->largest)
		return;
	stats_add(&h->stats->largest_room, (long)largest - (long)h->largest);
	h->largest = largest;
}

void
hub_shutdown(hub_t *h)
{
	hub_post(h, (struct hub_event){ .type = HUB_SHUTDOWN });
}

/* Removes a client and drops the hub's reference; the caller has closed
 * its send channel. */
static void
hub_remove(hub_t *h, struct hub_client *cl)
{
	struct room *r = cl->in;
	size_t size;

	TAILQ_REMOVE(&r->clients, cl, entry);
	r->size--;
	cl->registered = false;
	cl->in = NULL;
	h->n_clients--;
	size = r->size;
	if (size == 0)
		room_close(h, r);
	room_resized(h, size, false);
	stats_add(&h->stats->clients, -1);
	cl->ops->release(cl);
}

/* Adds a client to its room, opening the room if it is the first. */
static void
hub_on_register(hub_t *h, struct hub_client *cl)
{
	struct room *r = room_find(h, cl->room);

	if (r == NULL && (r = room_open(h, cl->room)) == NULL) {
		/* The front door saw room for it (hub_room_admits), but other
		 * rooms opened in between: the 101 is out, so say it here. */
		client_close(cl, HUB_VERDICT_NO_ROOM);
		return;
	}
	cl->registered = true;
	cl->in = r;
	TAILQ_INSERT_TAIL(&r->clients, cl, entry);
	r->size++;
	h->n_clients++;
	room_resized(h, r->size, true);
	client_hold(cl); /* the hub's own while registered */
	if (h->stopping) /* too late to join: say goodbye at once */
		client_close(cl, HUB_VERDICT_SHUTDOWN);
	stats_add(&h->stats->clients, 1); /* last: tests wait for it */
}

/*
 * Go: for client := range h.clients { select { case client.send <- m:
 * default: close(client.send); delete(h.clients, client) } }
 * for a run of consecutive broadcasts at once: each client gets all of
 * them with one lock and at most one wake-up of its writer, so when the
 * hub falls behind, the work per message shrinks instead of growing.
 *
 * Unlike Go's `default:`, a queue past --send-queue is not enough to drop
 * a client: its writer must also be stuck on the socket (client_is_slow),
 * or the queue must reach its hard limit.  A reader whose writer merely
 * has not been scheduled yet keeps every message.
 */
static void
hub_on_broadcasts(hub_t *h, struct room *r, msg_t *const *msgs, size_t n)
{
	struct hub_client *cl, *next;

	/* hub_remove may free the room with its last client: then `next` is
	 * NULL and the loop ends without touching the room again. */
	TAILQ_FOREACH_SAFE(cl, &r->clients, entry, next) {
		int rc = client_try_send(cl, msgs, n);

		if (rc == CHAN_OK && !client_is_slow(cl))
			continue;
		if (hub_client_mark_slow(cl)) {
			struct chan_depth d;

			chan_depth(cl->send, &d);
			log_info("slow client id=%llu peer=%s: %s (%zu messages, "
			    "%zu bytes queued), dropped", (unsigned long long)cl->id,
			    cl->peer, rc == CHAN_OK ? "stalled: it stopped reading" :
			    "queue full: at its hard cap", d.data, d.bytes);
			stats_count_slow(h->stats, rc == CHAN_OK ?
			    &h->stats->slow_drops_stalled :
			    &h->stats->slow_drops_queue_full);
		}
		client_drop_slow(cl, rc == CHAN_OK ? HUB_VERDICT_STALLED :
		    HUB_VERDICT_QUEUE_FULL);
		hub_remove(h, cl);
	}
	for (size_t i = 0; i < n; i++)
		msg_unref(msgs[i]);
}

/* hub_on_broadcasts, its time counted for /stats (the real clock: a
 * figure, not a rule). */
static void
hub_timed_broadcasts(hub_t *h, struct room *r, msg_t *const *msgs, size_t n)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	hub_on_broadcasts(h, r, msgs, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stats_add(&h->stats->hub_broadcasts, (long)n);
	stats_add(&h->stats->hub_broadcast_ns,
	    (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
}

/* Says goodbye (1001) to every client; they unregister as they finish. */
static void
hub_on_shutdown(hub_t *h)
{
	struct hub_client *cl;
	struct room *r;

	h->stopping = true;
	RB_FOREACH(r, room_tree, &h->rooms)
		TAILQ_FOREACH(cl, &r->clients, entry)
			client_close(cl, HUB_VERDICT_SHUTDOWN);
}

static void
hub_handle(hub_t *h, struct hub_event *e)
{
	switch (e->type) {
	case HUB_REGISTER:
		hub_on_register(h, e->client);
		break;
	case HUB_UNREGISTER:
		if (e->client->registered) {
			client_close(e->client, HUB_VERDICT_NONE);
			hub_remove(h, e->client);
		}
		break;
	case HUB_BROADCAST: /* runs of them are handled in hub_handle_batch */
		break;
	case HUB_SHUTDOWN:
		hub_on_shutdown(h);
		break;
	}
	event_free(e);
}

/* The room a broadcast event is for: its sender's, or the one another
 * hub named. */
static const char *
event_room(const struct hub_event *e)
{
	return e->client ? e->client->room : e->room;
}

/*
 * True if a broadcast may be heard: it comes from another hub, or from a
 * client the hub has.  A client it dropped as slow or removed keeps its
 * read thread until its close completes, and one refused with 1013 never
 * joined: what they send reaches no one, here or through the relay.
 */
static bool
event_heard(hub_t *h, const struct hub_event *e)
{
	if (e->client == NULL || e->client->registered)
		return true;
	stats_add(&h->stats->messages_unheard, 1);
	return false;
}

/*
 * Takes the run of broadcasts for one room that starts at items[0]: the
 * messages that may be heard go to run[] (*nrun of them), those from
 * local clients also to the relay (other hubs), and the events are freed.
 * Returns how many events it took.
 */
static size_t
take_run(hub_t *h, void *const *items, size_t n, msg_t **run, size_t *nrun)
{
	char room[ROOM_NAME_MAX + 1]; /* a copy: the events are freed here */
	size_t k = 0;

	*nrun = 0;
	strlcpy(room, event_room(items[0]), sizeof(room));
	for (; k < n; k++) {
		struct hub_event *e = items[k];

		if (e->type != HUB_BROADCAST || strcmp(event_room(e), room) != 0)
			break;
		if (event_heard(h, e)) {
			if (e->client != NULL && h->relay.publish) /* to others */
				h->relay.publish(h->relay.arg, room, e->msg);
			run[(*nrun)++] = e->msg; /* the event's reference */
			e->msg = NULL;
		}
		event_free(e);
	}
	return k;
}

/* Handles events in order, each run of broadcasts to one room in one
 * pass.  A room that is gone (its last client left) takes nothing. */
static void
hub_handle_batch(hub_t *h, void *const *items, size_t n)
{
	msg_t *run[HUB_BATCH_MAX];
	size_t i = 0;

	while (i < n) {
		struct hub_event *e = items[i];
		struct room *r;
		size_t nrun;

		if (e->type != HUB_BROADCAST || h->stopping) {
			hub_handle(h, items[i++]);
			continue;
		}
		r = room_find(h, event_room(e));
		i += take_run(h, items + i, n - i, run, &nrun);
		if (r != NULL && nrun > 0)
			hub_timed_broadcasts(h, r, run, nrun);
		else
			for (size_t j = 0; j < nrun; j++)
				msg_unref(run[j]);
	}
}

/* The hub thread: Go's `for { select { ... } }`, taking every queued
 * event at once (up to a batch) to lock its channel less often. */
static void *
hub_main(void *arg)
{
	hub_t *h = arg;
	void *batch[HUB_BATCH_MAX], *item;
	struct thread_entry self;
	size_t n;

	threads_enter(&self, ROLE_HUB, 0, NULL, NULL, NULL);
	while (!h->stopping || h->n_clients > 0) {
		chan_recv_many(h->events, batch, HUB_BATCH_MAX, &n, NULL);
		hub_handle_batch(h, batch, n);
	}
	/* Late events (a broadcast racing the end) are dropped, refs freed. */
	chan_close(h->events);
	while (chan_try_recv(h->events, &item) == CHAN_OK)
		event_free(item);
	threads_leave();
	return NULL;
}

int
hub_start(hub_t *h)
{
	return pthread_create(&h->thread, NULL, hub_main, h);
}

void
hub_join(hub_t *h)
{
	pthread_join(h->thread, NULL);
}

void
hub_free(hub_t *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->rooms_mu);
	chan_free(h->events);
	free(h->rooms_of_size);
	free(h);
}
