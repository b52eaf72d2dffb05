/*
 * conn — one WebSocket connection: a read thread and a write thread.
 *
 * DESIGN (Go: readPump and writePump, one goroutine each)
 *
 *   socket ──▶ read thread ──broadcast──▶ hub ──try_send──▶ send channel
 *                 │  pongs (priority lane) ─────────────────▶ send channel
 *                 │  close frame (final_close, after the queue) ──▶ writer
 *                 ▼                                            │
 *           wslay context                         write thread ◀┘──▶ socket
 *
 * Ownership
 * - The read thread alone owns the wslay event context (wslay contexts are
 *   not thread-safe).  It reads frames, sends data messages to the hub,
 *   hands the pongs wslay produces to the write thread through the send
 *   channel's priority lane, and leaves a close frame (the echo, or a
 *   protocol-error close) for the writer to send once the queue is drained:
 *   a close never overtakes a message queued before it.
 * - The write thread is the only thread that writes to the socket.  It
 *   blocks on the send channel, writes up to 15 queued frames (and a due
 *   ping) with one sendmsg(2) (a writev(2) that cannot raise SIGPIPE), pings every ping
 *   interval (even when the queue never empties), and once the channel is
 *   closed it still performs the close handshake (sends a close frame,
 *   waits briefly for the reply).
 * - The socket is closed exactly once, when the last reference goes
 *   (conn_unref), after both threads have been joined.  Threads wake each
 *   other with shutdown(2) or chan_close, never signals or cancellation.
 *
 * Lifetime and cleanup
 * - Whichever thread fails first calls conn_unregister_once, which sends the
 *   hub one unregister; later calls do nothing (idempotent, both threads
 *   may try).  The hub then closes the send channel.
 * - The write thread ends last: it shuts the socket down, joins the read
 *   thread, and hands the connection to the reaper channel, whose thread
 *   joins the writer (conn_reap) and drops the threads' reference.
 * - References: the creator's (handed to the threads by conn_start), the
 *   hub's while registered, and one per hub event naming the connection.
 */
#ifndef WSHUB_CONN_H
#define WSHUB_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "wshub/chan.h"
#include "wshub/close_code.h"
#include "wshub/config.h"
#include "wshub/hub.h"
#include "wshub/msg.h"
#include "wshub/stats.h"
#include "wshub/tls.h"

typedef struct conn conn_t;

/*
 * A connection's edges: all of its I/O, and where what it reads goes.
 * The server's are the socket (plain, or through its TLS session) and the
 * hub (conn_env.io == NULL); a test plays them with an in-memory pipe
 * (test/support/pipe.c), the fuzz target to drive the real reader on its
 * own thread.  Deadlines are on the clock in use (deadline.h).  Each
 * function may be called only by the thread named.
 */
struct conn_io {
	/* read(2) on the connection: bytes, 0 at EOF, -1 with errno set
	 * (EAGAIN: nothing yet).  Never blocks.  Read thread. */
	ssize_t (*read)(conn_t *c, void *buf, size_t len);
	/* Blocks until input (or a hang-up) is there or the deadline passes:
	 * 1, 0 at the deadline, -1 on an error.  Read thread. */
	int (*wait_readable)(conn_t *c, const struct timespec *deadline);
	/* sendmsg(2) of iov[0..cnt) (cnt >= 1): how many bytes were taken,
	 * from the front, perhaps fewer than all; -1 with errno set (EAGAIN:
	 * no room, wait_writable; EPIPE, ECONNRESET: the peer is gone).
	 * Never blocks, never raises SIGPIPE.  With EAGAIN, the next call
	 * must offer the same bytes again (GnuTLS holds the record).  Write
	 * thread. */
	ssize_t (*send)(conn_t *c, const struct iovec *iov, int cnt);
	/* Blocks until send may take bytes (or the connection failed) or the
	 * deadline passes: 1, 0 at the deadline, -1 on an error.  Write
	 * thread. */
	int (*wait_writable)(conn_t *c, const struct timespec *deadline);
	/* shutdown(2).  SHUT_WR ends sending: with TLS a close_notify first,
	 * waiting for room at most until `deadline`, then FIN; write thread.
	 * SHUT_RDWR wakes both threads from their waits (`deadline` unused);
	 * any thread.  Never fails in a way the caller can act on. */
	void (*shutdown)(conn_t *c, int how, const struct timespec *deadline);
	/* Hands a data message from `c` to the hub, which takes the
	 * reference; blocks while the hub's channel is full.  Read thread. */
	int (*broadcast)(conn_t *c, msg_t *m);
	/* Asks the hub to remove `c`; called once (conn_unregister_once).
	 * Either connection thread. */
	void (*unregister)(conn_t *c);
};

/* What every connection shares; outlives all connections. */
struct conn_env {
	const struct config *cfg;
	hub_t *hub;
	struct stats *stats;
	chan_t *reaper; /* finished connections go here (conn_reap) */
	const struct conn_io *io; /* NULL: the socket and the hub */
	void *io_arg; /* the io's own state (conn_io_arg); NULL for the socket */
};

/* The env's io_arg, for a conn_io's functions.  Any thread. */
void *conn_io_arg(const conn_t *c);

/*
 * Wraps an upgraded socket.  Takes ownership of `fd` (non-blocking).
 * `early` holds bytes read after the HTTP request head: the start of the
 * first frames; they are copied (the caller keeps its buffer).
 * `greeting` (the 101 response, taken over) is queued at once, ahead of
 * everything, so whatever the hub does to the connection later, the 101
 * is the first thing its writer sends.  Returns a connection with one
 * reference (the caller's); aborts if memory runs out.  Front door
 * thread; does not block.
 */
conn_t *conn_new(int fd, const char *peer, const void *early,
    size_t early_len, msg_t *greeting, const struct conn_env *env);

/*
 * Takes over `tls`, the TLS session on the connection's socket (its
 * handshake done): the read thread will receive through it and the write
 * thread send through it, and the last conn_unref frees it, just before
 * it closes the socket.  Call between conn_new and conn_start.  Front door
 * thread.
 */
void conn_adopt_tls(conn_t *c, tls_session_t *tls);

/*
 * Starts the read and write threads with the configured stack size; from
 * then on the caller's reference belongs to them.  Call after
 * hub_register, so the client is in the hub before it learns it is
 * connected.  Returns 0, or an errno; on error the client has been
 * answered 503 instead of its 101 (which never went out), the connection
 * is already unregistered and handed to the reaper, and the caller must
 * not use it.
 * Front door thread.  Blocks only on that error path: joining a read
 * thread that did start, and while the hub's event channel or the reaper
 * channel is full.
 */
int conn_start(conn_t *c);

conn_t *conn_ref(conn_t *c);

/* Drops a reference; the last one closes the socket and frees. */
void conn_unref(conn_t *c);

/* A process-unique id and the peer's "address:port", for logs. */
uint64_t conn_id(const conn_t *c);
const char *conn_peer(const conn_t *c);

/* What the hub knows of the connection: hub_register and the hub's other
 * calls take this.  Valid while the caller holds a reference. */
struct hub_client *conn_client(conn_t *c);

/* The server's list of started connections, embedded in each connection.
 * Only the server touches it, under its own lock. */
struct conn_live_link {
	TAILQ_ENTRY(conn_live_link) entry;
	conn_t *conn;
};
struct conn_live_link *conn_live_link(conn_t *c);

/* Shuts the connection down (conn_io's SHUT_RDWR) so both threads wake up
 * and finish.  Any thread. */
void conn_shutdown(conn_t *c);

/*
 * Starts cleanup once: the first call sends the hub an unregister, later
 * calls do nothing.  Either connection thread (or the front door, when
 * conn_start fails).  Blocks while the hub's event channel is full.
 */
void conn_unregister_once(conn_t *c);

/*
 * Reaper thread only: joins the write thread (which has joined the read
 * thread), logs the disconnect and drops the threads' reference.
 */
void conn_reap(conn_t *c);

#endif
