/*
 * hub — the manager thread that owns the set of live clients and rooms.
 *
 * DESIGN
 * Go's chat hub is a goroutine with a `select` over three channels
 * (register, unregister, broadcast).  C has no select over channels, so the
 * hub has one channel of tagged events instead; its thread is the only one
 * that changes the client set: rooms in a red-black tree by name, each
 * with a TAILQ of hub_client entries embedded in its connections, so a
 * membership costs no allocation.  A room is opened by its first client
 * and freed when its last one leaves; --max-rooms bounds how many exist.
 * The one thing other threads may ask is whether a room could be joined
 * (hub_room_admits, under a lock the hub takes only to add or remove a
 * room).  With a relay (the Redis bridge), the hub also tells it when a
 * room opens or closes and hands it each local message, without waiting,
 * and takes other hubs' messages for a room like a local broadcast
 * (hub_deliver_remote).
 *
 *   front door ──────register──┐
 *   reader ─────────broadcast──┤
 *   reader, writer ─unregister─┼──▶ events ──▶ hub thread ──try_send──▶ send channels
 *   bridge subscriber ─remote──┘      (hub_deliver_remote: other hubs' messages)
 *
 * - Events from one thread are handled in the order sent (FIFO): a
 *   connection's register is seen before its unregister, and a reader's
 *   last broadcast is queued for every client (the sender included) before
 *   its unregister closes its channel, so the sender's close frame follows
 *   its own echo.
 * - A broadcast reaches every client of its sender's room, the sender
 *   included, and no one else, through
 *   chan_try_send_many (a run of queued broadcasts at once, one wake-up):
 *   the hub never blocks on a client.  A client is slow when it has
 *   stopped taking data: more than --send-queue messages wait for it while
 *   its writer has been blocked on the full socket for half the write
 *   timeout (client_is_slow: the stall rule), or its queue reached its
 *   hard cap (SEND_QUEUE_LIMIT messages, or --send-queue-bytes).  A queue
 *   that is long only because its writer has not run yet is not slow.  The
 *   hub drops a slow client with a 1008 verdict naming the rule
 *   (client_drop_slow: its queued data is freed at once), removes it,
 *   counts and logs it.
 * - Only a registered client is heard: a broadcast from a client the hub
 *   dropped, removed or refused (its reader may run on until its close
 *   completes) reaches no room and no relay; it is counted
 *   (messages_unheard).
 * - Only the hub closes a client's send channel: when it removes the client
 *   (unregister, slow-client drop); on shutdown, for every client, without
 *   removing it: it stays until its own unregister; and in
 *   hub_on_register, for a client that comes too late: one whose new room
 *   would pass --max-rooms (1013, never linked) and one that registers
 *   after the shutdown (1001, linked until its unregister).
 * - Unregistering a client the hub no longer has is a no-op.
 * - Every event that names a connection holds a reference to it, so the
 *   connection outlives any event still queued for the hub.
 * - Shutdown: every client's send channel is closed with 1001 (going away);
 *   the hub keeps handling events until every client has unregistered,
 *   then the thread exits.  The server bounds that wait: at
 *   --shutdown-timeout it shuts every remaining socket down.
 */
#ifndef WSHUB_HUB_H
#define WSHUB_HUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "wshub/chan.h"

#include "wshub/config.h"
#include "wshub/msg.h"
#include "wshub/stats.h"

typedef struct hub hub_t;
struct hub_client;

/* How the hub keeps a client alive while an event or its client set
 * names it: the connection's reference count. */
struct hub_client_ops {
	void (*hold)(struct hub_client *cl);     /* takes a reference */
	void (*release)(struct hub_client *cl);  /* drops one */
};

/* How the hub wants a client's last close frame to read. */
enum hub_verdict {
	HUB_VERDICT_NONE,      /* no word from the hub: 1000 on unregister */
	HUB_VERDICT_SHUTDOWN,  /* 1001, the server is going away */
	HUB_VERDICT_STALLED,   /* 1008 "stopped reading": the stall rule */
	HUB_VERDICT_QUEUE_FULL, /* 1008 "send queue full": the hard cap */
	HUB_VERDICT_NO_ROOM,   /* 1013, its room could not open */
};

/*
 * All the hub knows of a client, embedded in the connection: its send
 * channel, its verdict, its stall clock, a name for logs and a reference
 * count.  The hub depends on nothing above chan, msg and stats; a test can
 * register a struct hub_client around a plain channel.
 */
struct hub_client {
	/* Set by the client before hub_register, then read-only. */
	chan_t *send;                /* msg_t *: what the hub queues for it */
	const struct hub_client_ops *ops;
	uint64_t id;                 /* for logs */
	const char *peer;            /* for logs */
	size_t send_queue;           /* --send-queue */
	int64_t stall_ms;            /* SLOW_STALL_MS(--write-timeout) */
	char room[ROOM_NAME_MAX + 1]; /* written by hub_register */
	/* Written by the hub (discard also by the client's writer, see
	 * hub_client_mark_slow), read by the writer when the channel is
	 * closed. */
	atomic_int verdict;          /* enum hub_verdict */
	atomic_bool discard;         /* dropped as slow: its queue is not sent */
	/* Written by the client's writer, read by the hub: since when
	 * (deadline_now_ms) the writer waits for room in a full socket; 0
	 * while it does not. */
	atomic_llong stalled_since_ms;
	/* Hub thread only. */
	TAILQ_ENTRY(hub_client) entry; /* in its room's client list */
	struct room *in;               /* its room while registered */
	bool registered;
};

/* Readies `cl` (zeroed, in the caller's storage) for hub_register. */
void hub_client_init(struct hub_client *cl, chan_t *send,
    const struct hub_client_ops *ops, uint64_t id, const char *peer,
    size_t send_queue, int64_t stall_ms);

/*
 * Marks the client as slow, once: true for the first caller, who counts
 * and logs it (the hub when the client stopped taking data, or its writer
 * when the socket took nothing for --write-timeout).  From then on its
 * queued data is discarded.  Any thread.
 */
bool hub_client_mark_slow(struct hub_client *cl);

/*
 * Creates a hub whose event channel holds `queue_len` events.  Counters go
 * to `st`, which must outlive the hub.  Aborts on allocation failure.
 */
hub_t *hub_new(struct stats *st, size_t queue_len, size_t max_rooms);

/* Starts the hub thread.  Returns 0 or an errno from pthread_create. */
int hub_start(hub_t *h);

/*
 * Adds `cl` to room `room` (a valid name: see handshake_room), opening the
 * room if it is the first; the hub holds the client while it has it.  If
 * the room is new and --max-rooms rooms already exist (other rooms opened
 * since hub_room_admits said yes), the hub closes the client's channel
 * with the verdict 1013 instead.  Blocks while the event channel is full.
 * Returns 0, or -1 if the hub has stopped (then nothing was taken).
 * Called by the front door, before the connection's threads start.
 */
int hub_register(hub_t *h, struct hub_client *cl, const char *room);

/*
 * True if a client could join `room` now: it exists, or fewer than
 * --max-rooms rooms do.  Any thread; takes the room lock briefly.  The
 * answer can be stale by the time the client registers (see above).
 */
bool hub_room_admits(hub_t *h, const char *room);

/*
 * Asks the hub to remove `c` and close its send channel.  Idempotent at
 * the hub; conn_unregister_once guarantees each connection sends it at most
 * once anyway.  Blocks while the event channel is full.  Any thread.
 */
void hub_unregister(hub_t *h, struct hub_client *cl);

/*
 * Queues `m`, sent by `from`, for every client in `from`'s room, if the
 * hub still has `from` when it takes the event (else it is counted in
 * messages_unheard and freed).  Takes over the caller's reference to `m`
 * in every case (and holds `from` while queued).  Blocks while the event
 * channel is full -- its event count, or 8 MiB (HUB_QUEUE_BYTES) of
 * messages waiting: backpressure on the reading thread.  Returns 0, or
 * -1 if the hub has stopped.  Read threads.
 */
int hub_broadcast(hub_t *h, struct hub_client *from, msg_t *m);

/*
 * A message from another hub (through the relay's broker) for the local
 * clients of `room`: queued for them like a local client's broadcast, and
 * not given back to the relay.  Takes over the caller's reference to `m`
 * in every case; copies `room`.  Blocks while the event channel is full.
 * Returns 0, or -1 if the hub has stopped.  Any thread (the relay's
 * reader).
 */
int hub_deliver_remote(hub_t *h, const char *room, msg_t *m);

/*
 * The hub's link to other hubs (a Redis bridge), called on the hub thread
 * and never allowed to block: room_opened when a room gets its first local
 * client (subscribe to it), room_closed when it loses its last one
 * (unsubscribe), publish for every message a local client broadcasts,
 * after the hub has taken it (the relay takes its own reference to keep
 * it).  Any of them may be NULL.
 */
struct hub_relay {
	void (*room_opened)(void *arg, const char *room);
	void (*room_closed)(void *arg, const char *room);
	void (*publish)(void *arg, const char *room, msg_t *m);
	void *arg;
};

/* Sets the relay; call before hub_start. */
void hub_set_relay(hub_t *h, const struct hub_relay *relay);

/*
 * Starts the shutdown described above and returns; hub_join waits for the
 * end.  Blocks only while the event channel is full; does nothing if the
 * hub has already stopped.  Call once, from the thread that runs the
 * server (server_run), after the front door has stopped registering.
 */
void hub_shutdown(hub_t *h);

/* Waits (pthread_join) for the hub thread to exit.  Call once, from the
 * thread that runs the server, after hub_shutdown. */
void hub_join(hub_t *h);

/* Frees a joined hub. */
void hub_free(hub_t *h);

#endif
