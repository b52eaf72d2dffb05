/*
 * bridge — many wshub processes as one chat, through Redis pub/sub.
 *
 * DESIGN (the connection's design card, for the link to Redis)
 * A message a local client sends is delivered locally at once by the hub,
 * and published on the channel PREFIX:ROOM; what other hubs publish on the
 * channel of a room with local clients comes back through the hub to them.
 * Two Redis connections, since a connection that subscribes cannot publish
 * (RESP2, hiredis 0.14):
 *
 *   hub ──publish, (un)subscribe (never blocks)──▶ bridge channel
 *                                                      │
 *   Redis ◀── PUBLISH, SUBSCRIBE, UNSUBSCRIBE ── publisher thread
 *     │                                          (Go: a writer goroutine)
 *     └── "message" pushes ──▶ subscriber thread ──hub_deliver_remote──▶ hub
 *                               (Go: a reader goroutine)
 *
 * - The publisher thread is the only thread that writes to either Redis
 *   socket, and the only one that reads the publish connection's replies.
 *   It blocks on its own bounded channel (a publish the channel cannot take
 *   is dropped and counted: pub/sub is at-most-once), and in hiredis's
 *   blocking I/O: a connect (CONNECT_TIMEOUT_MS, 1 s, plus the name
 *   lookup), each reply (REPLY_TIMEOUT_MS, 2 s), a write to the subscribe
 *   socket (the same 2 s).  It owns connecting:
 *   both connections, AUTH and SELECT, then SUBSCRIBE to every room that has
 *   local clients.  After a failure it retries with capped, jittered
 *   exponential backoff, logging one line per outage, and publishes meanwhile
 *   are dropped and counted.
 * - The subscriber thread only reads the subscribe connection (its own
 *   hiredis reader, no shared context) and hands each message from another
 *   hub to the hub; messages this hub published itself (same hub id in the
 *   envelope) are skipped, since the hub already delivered them.  When its
 *   socket fails it asks the publisher to reconnect and waits for the new
 *   socket.
 * - The rooms the hub wants are a set the hub thread updates under a small
 *   lock (a room opened or closed), with a list of changed rooms that the
 *   publisher turns into SUBSCRIBE / UNSUBSCRIBE: a change is never lost,
 *   however full the channel is.
 * - Envelope: 8 bytes of hub id (random per process), 1 byte of opcode (1
 *   text, 2 binary), then the message's payload, byte for byte.
 */
#ifndef WSHUB_BRIDGE_H
#define WSHUB_BRIDGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "wshub/msg.h"

typedef struct bridge bridge_t;

#define BRIDGE_HOST_MAX 256
#define BRIDGE_PASSWORD_MAX 256

/* A parsed redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] address. */
struct bridge_url {
	char host[BRIDGE_HOST_MAX];
	int port;                          /* default 6379 */
	char user[BRIDGE_PASSWORD_MAX];    /* "" for a password alone */
	char password[BRIDGE_PASSWORD_MAX]; /* "" for none */
	int db;                            /* default 0 */
};

/* Counters for /stats and /metrics; relaxed atomics, any thread. */
struct bridge_stats {
	atomic_long connected;   /* 1 while both connections are up */
	atomic_long published;   /* messages published to Redis */
	atomic_long received;    /* messages from other hubs, delivered */
	atomic_long dropped;     /* publishes lost: queue full or Redis down */
	atomic_long reconnects;  /* connections made after the first */
};

struct bridge_config {
	const char *url;       /* redis://... (see bridge_parse_url) */
	const char *prefix;    /* channels are PREFIX:ROOM */
	size_t queue_len;      /* the publisher's channel */
};

/*
 * Parses `url`.  Returns 0, or -1 with a one-line reason in err (what is
 * wrong with this value).  Any thread; no I/O.
 */
int bridge_parse_url(const char *url, struct bridge_url *out, char *err,
    size_t errlen);

/*
 * Called on the subscriber thread for each message another hub published
 * on a room's channel: `m` (one reference, taken over) for the local
 * clients of `room`.  May block (the hub's channel applies backpressure).
 */
typedef void (*bridge_deliver_fn)(void *arg, const char *room, msg_t *m);

/*
 * A bridge, not started.  `cfg` (copied; its strings must outlive the
 * bridge) must hold a URL bridge_parse_url accepts.  Counters go to `st`.
 * Aborts on allocation failure.
 */
bridge_t *bridge_new(const struct bridge_config *cfg, bridge_deliver_fn deliver,
    void *arg, struct bridge_stats *st);

/* Starts the two threads; connecting happens on the publisher thread, so
 * an unreachable Redis does not fail this.  0, or an errno. */
int bridge_start(bridge_t *b);

/*
 * The hub's side, on the hub thread; none of them blocks.  publish takes
 * its own reference to `m` if it keeps it; a full queue drops it (counted).
 * subscribe / unsubscribe: `room` has local clients now / no longer.
 */
void bridge_publish(bridge_t *b, const char *room, msg_t *m);
void bridge_subscribe(bridge_t *b, const char *room);
void bridge_unsubscribe(bridge_t *b, const char *room);

/* Stops both threads (any thread) and waits for them; frees everything. */
void bridge_free(bridge_t *b);

#endif
