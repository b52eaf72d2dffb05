/*
 * hub — the manager thread (see hub.h for the design).
 *
 * The hub thread blocks on its event channel and nothing else: every send
 * to a client is a non-blocking chan_try_send_many (through conn_try_send),
 * so the hub never waits for a client and holds no lock while anyone
 * writes to a socket.
 */
#include <pthread.h>
#include <stdlib.h>

#include "wshub/chan.h"
#include "wshub/conn.h"
#include "wshub/hub.h"
#include "wshub/log.h"
#include "wshub/xmalloc.h"

#define HUB_BATCH_MAX 64 /* events handled per lock of the event channel */

enum hub_event_type { HUB_REGISTER, HUB_UNREGISTER, HUB_BROADCAST, HUB_SHUTDOWN };

struct hub_event {
	enum hub_event_type type;
	conn_t *conn;       /* REGISTER, UNREGISTER: a reference */
	msg_t *msg;         /* BROADCAST: a reference */
};

TAILQ_HEAD(client_list, hub_link);

struct hub {
	chan_t *events;
	pthread_t thread;
	struct stats *stats;
	/* Hub thread only. */
	struct client_list clients;
	bool stopping;
};

hub_t *
hub_new(struct stats *st, size_t queue_len)
{
	hub_t *h = xcalloc(1, sizeof(*h));

	h->events = chan_new(queue_len, 0);
	h->stats = st;
	TAILQ_INIT(&h->clients);
	return h;
}

/* Queues an event; on failure (hub stopped) frees it and returns -1. */
static int
hub_post(hub_t *h, struct hub_event ev)
{
	struct hub_event *e = xmalloc(sizeof(*e));

	*e = ev;
	if (chan_send(h->events, e) == CHAN_OK)
		return 0;
	if (e->conn)
		conn_unref(e->conn);
	msg_unref(e->msg);
	free(e);
	return -1;
}

int
hub_register(hub_t *h, conn_t *c)
{
	return hub_post(h, (struct hub_event){ HUB_REGISTER, conn_ref(c), NULL });
}

void
hub_unregister(hub_t *h, conn_t *c)
{
	hub_post(h, (struct hub_event){ HUB_UNREGISTER, conn_ref(c), NULL });
}

int
hub_broadcast(hub_t *h, msg_t *m)
{
	return hub_post(h, (struct hub_event){ HUB_BROADCAST, NULL, m });
}

void
hub_shutdown(hub_t *h)
{
	hub_post(h, (struct hub_event){ HUB_SHUTDOWN, NULL, NULL });
}

/* Removes a client and drops the hub's reference; the caller has closed
 * its send channel. */
static void
hub_remove(hub_t *h, struct hub_link *link)
{
	TAILQ_REMOVE(&h->clients, link, entry);
	link->registered = false;
	stats_add(&h->stats->clients, -1);
	conn_unref(link->conn);
}

static void
hub_on_register(hub_t *h, conn_t *c)
{
	struct hub_link *link = conn_hub_link(c);

	link->registered = true;
	TAILQ_INSERT_TAIL(&h->clients, link, entry);
	conn_ref(c); /* the hub's own reference while registered */
	if (h->stopping) /* too late to join: say goodbye at once */
		conn_close_send(c, CLOSE_GOING_AWAY);
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
 * a client: its writer must also be stuck on the socket (conn_is_slow),
 * or the queue must reach its hard limit.  A reader whose writer merely
 * has not been scheduled yet keeps every message.
 */
static void
hub_on_broadcasts(hub_t *h, msg_t *const *msgs, size_t n)
{
	struct hub_link *link, *next;

	TAILQ_FOREACH_SAFE(link, &h->clients, entry, next) {
		int rc = conn_try_send(link->conn, msgs, n);

		if (rc == CHAN_OK && !conn_is_slow(link->conn))
			continue;
		if (conn_mark_slow(link->conn)) {
			log_info("slow client id=%llu peer=%s: %s, dropped",
			    (unsigned long long)conn_id(link->conn),
			    conn_peer(link->conn), rc == CHAN_OK ?
			    "it stopped reading" : "send queue at its limit");
			stats_add(&h->stats->slow_client_drops, 1);
		}
		conn_drop_slow(link->conn);
		hub_remove(h, link);
	}
	for (size_t i = 0; i < n; i++)
		msg_unref(msgs[i]);
}

/* Says goodbye (1001) to every client; they unregister as they finish. */
static void
hub_on_shutdown(hub_t *h)
{
	struct hub_link *link;

	h->stopping = true;
	TAILQ_FOREACH(link, &h->clients, entry)
		conn_close_send(link->conn, CLOSE_GOING_AWAY);
}

static void
hub_handle(hub_t *h, struct hub_event *e)
{
	switch (e->type) {
	case HUB_REGISTER:
		hub_on_register(h, e->conn);
		break;
	case HUB_UNREGISTER:
		if (conn_hub_link(e->conn)->registered) {
			conn_close_send(e->conn, 0);
			hub_remove(h, conn_hub_link(e->conn));
		}
		break;
	case HUB_BROADCAST: /* runs of them are handled in hub_handle_batch */
		msg_unref(e->msg);
		break;
	case HUB_SHUTDOWN:
		hub_on_shutdown(h);
		break;
	}
	if (e->conn)
		conn_unref(e->conn);
	free(e);
}

/* Handles events in order, each run of broadcasts in one pass. */
static void
hub_handle_batch(hub_t *h, void *const *items, size_t n)
{
	msg_t *run[HUB_BATCH_MAX];
	size_t i = 0;

	while (i < n) {
		struct hub_event *e;
		size_t k = 0;

		while (i < n && (e = items[i])->type == HUB_BROADCAST &&
		    !h->stopping) {
			run[k++] = e->msg; /* the event's reference */
			free(e);
			i++;
		}
		if (k > 0)
			hub_on_broadcasts(h, run, k);
		else
			hub_handle(h, items[i++]);
	}
}

/* The hub thread: Go's `for { select { ... } }`, taking every queued
 * event at once (up to a batch) to lock its channel less often. */
static void *
hub_main(void *arg)
{
	hub_t *h = arg;
	void *batch[HUB_BATCH_MAX], *item;
	size_t n;

	while (!h->stopping || !TAILQ_EMPTY(&h->clients)) {
		chan_recv_many(h->events, batch, HUB_BATCH_MAX, &n, NULL);
		hub_handle_batch(h, batch, n);
	}
	/* Late events (a broadcast racing the end) are dropped, refs freed. */
	chan_close(h->events);
	while (chan_try_recv(h->events, &item) == CHAN_OK) {
		struct hub_event *e = item;

		if (e->conn)
			conn_unref(e->conn);
		msg_unref(e->msg);
		free(e);
	}
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
	chan_free(h->events);
	free(h);
}
