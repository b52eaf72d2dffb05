/*
 * bridge — many wshub processes as one chat, through Redis pub/sub.
 *
 * DESIGN (the connection's design card, for the link to Redis)
 * A message a local client sends is delivered locally at once by the hub,
 * and published on the channel PREFIX:ROOM; what other hubs publish on the
 * channel of a room with local clients comes back through the hub to them.
 * Two Redis connections, since a connection that subscribes cannot publish
 * (RESP2):
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
 *   is dropped and counted: pub/sub is at-most-once), and in poll(2) on a
 *   Redis socket: a connect (CONNECT_TIMEOUT_MS, 1 s), each reply or write
 *   (REPLY_TIMEOUT_MS, 2 s without progress).  Every such wait also
 *   watches the bridge's stop descriptor: bridge_free gives the publisher
 *   DRAIN_MS (0.25 s) to send what is queued, then stops both threads
 *   wherever they wait, so a shutdown never waits on Redis longer than
 *   that.  It owns connecting: both
 *   connections, AUTH and SELECT, then SUBSCRIBE to every room that has
 *   local clients.  After any failure (a refused connect, a reply that
 *   never came, a protocol error or an oversized reply on either
 *   connection) it logs the reason in one line (the first of an outage),
 *   drops both connections and retries with capped, jittered exponential
 *   backoff; publishes meanwhile are dropped and counted.
 * - The subscriber thread only reads the subscribe connection (its own
 *   reader) and hands each message from another hub to the hub; messages
 *   this hub published itself (same hub id in the envelope) are skipped,
 *   since the hub already delivered them.  When its socket fails it leaves
 *   the reason and the socket's generation for the publisher (a flag the
 *   publisher checks every round, never lost) and waits for a new socket.
 * - Waking the publisher (a room opened or closed, the subscriber's socket
 *   failed) is one token on the channel's priority lane at most: a flag
 *   says one is pending, so a wake-up is never refused and never lost.
 * - The rooms the hub wants are a set the hub thread updates under a small
 *   lock (a room opened or closed), with a list of changed rooms that the
 *   publisher turns into SUBSCRIBE / UNSUBSCRIBE: a change is never lost,
 *   however full the channel is.
 * - Nothing from Redis is trusted.  Replies are parsed by bridge_codec.h
 *   (which also has the envelope and the PUBLISH) within each
 *   connection's limits: an array is refused as soon as its count says
 *   more elements than a push (3) or it sits inside another, a string as
 *   soon as its length says more than the largest envelope any hub can
 *   publish, and the bytes buffered for one reply are bounded the same
 *   way.  A message is delivered only if its channel is PREFIX:ROOM with a
 *   valid room name, its envelope is whole, its payload at most
 *   --max-message bytes, and a text payload is valid UTF-8: the limits a
 *   client's message passes.  Anything else is dropped and counted
 *   (rejected).
 * - The sockets and their reading are the bridge's own; hiredis only
 *   formats the commands other than PUBLISH.
 */
#ifndef WSHUB_BRIDGE_H
#define WSHUB_BRIDGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "wshub/bridge_url.h"
#include "wshub/msg.h"
#include "wshub/stats.h"

typedef struct bridge bridge_t;

/* Its counters, struct bridge_stats, are in stats.h with the server's:
 * counters flow into stats, and stats knows no module. */

struct bridge_config {
	const char *url;       /* redis://... (see bridge_url.h) */
	const char *password;  /* NULL: the URL's (or none); else this one */
	const char *prefix;    /* channels are PREFIX:ROOM */
	size_t queue_len;      /* the publisher's channel */
	size_t max_message;    /* --max-message: larger messages are refused */
};

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

/* What bridge_probe found. */
enum bridge_probe {
	BRIDGE_PROBE_OK = 0,          /* Redis answered, AUTH and SELECT passed */
	BRIDGE_PROBE_UNREACHABLE = -1, /* no answer now (down, refused, a lookup
	                                  that may work later): worth retrying */
	BRIDGE_PROBE_REFUSED = -2,    /* a mistake retrying cannot mend: the
	                                  host does not exist, Redis refused the
	                                  password or the database number */
};

/*
 * Connects once to the URL of `cfg` (the publish connection's steps:
 * connect, AUTH, SELECT, PING) and closes again, to tell a mistake in the
 * flags from an outage before the server starts.  Returns an enum
 * bridge_probe, with the reason in err unless OK.  From main, before
 * any bridge starts; blocks for the lookup, CONNECT_TIMEOUT_MS and each
 * reply's REPLY_TIMEOUT_MS at most.
 */
int bridge_probe(const struct bridge_config *cfg, char *err, size_t errlen);

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

/*
 * Stops both threads (any thread) and waits for them; frees everything.
 * The publisher may first send what is queued, for DRAIN_MS (0.25 s) at
 * most; what
 * is still queued then is dropped and counted.  Bounded whatever Redis
 * does: then every wait of the bridge's threads ends (a name lookup of a
 * --redis host name in progress within LOOKUP_POLL_MS (50 ms) more).
 */
void bridge_free(bridge_t *b);

#endif
