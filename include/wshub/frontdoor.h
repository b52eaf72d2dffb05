/*
 * frontdoor — the listening socket and every connection that has not
 * finished its HTTP request yet, on one thread: the front door (main's
 * thread, from server_run on).
 *
 * DESIGN
 * One epoll loop watches the listener, a wake-up eventfd and every pending
 * request, so a client that sends its request one byte a second
 * (slowloris) costs a descriptor and 8 KiB (MAX_REQUEST_HEAD), never a
 * thread, and never
 * delays anyone else.  Each pending request moves through
 *   READING  the request head arrives (deadline: --handshake-timeout)
 *   WRITING  our response is written (same deadline)
 *   LINGER   after an error or a page: our side is shut for writing and
 *            we read and discard until the client closes (LINGER_MS), so
 *            closing never resets a response the client has not read.
 * Requests are answered here: the chat page, /stats, /metrics, errors, and
 * the WebSocket upgrade.  Every request's Host is checked first, whatever
 * its route (handshake_check_host: on a loopback listener a foreign Host
 * gets 403, against DNS rebinding).  Once an upgrade is checked, the
 * socket becomes a connection, registered with the hub before its threads start and its
 * writer sends the 101, so a client that has read its 101 misses no
 * broadcast.  The front door then forgets it; the server (env.started)
 * keeps count.  When descriptors run out, accepting pauses for
 * ACCEPT_BACKOFF_MS instead of spinning.
 *
 * Everything here belongs to the front door's thread, except
 * frontdoor_stop, which any thread (or a signal handler) may call.
 */
#ifndef WSHUB_FRONTDOOR_H
#define WSHUB_FRONTDOOR_H

#include <stddef.h>
#include <stdint.h>

#include "wshub/config.h"
#include "wshub/conn.h"
#include "wshub/handshake.h"
#include "wshub/hub.h"
#include "wshub/stats.h"

typedef struct frontdoor frontdoor_t;

/* What the front door needs from the server around it; all of it must
 * outlive the front door. */
struct frontdoor_env {
	const struct config *cfg;
	struct stats *stats;
	hub_t *hub;
	const struct conn_env *conn_env; /* for each new connection */
	/* Connection `c` is registered and about to start its threads: the
	 * server counts it live.  Front door thread. */
	void (*started)(void *arg, conn_t *c);
	/* Connections started and not yet reaped (for --max-clients). */
	long (*live)(void *arg);
	void *arg;
};

/*
 * Binds and listens on cfg->addr and cfg->port.  On failure returns NULL
 * with a one-line reason in err: the step that failed and why, in words a
 * user can act on (e.g. "bind: Address already in use (another process
 * listens on that port)"); the caller names the address and port.
 */
frontdoor_t *frontdoor_new(const struct frontdoor_env *env, char *err,
    size_t errlen);

/* The bound address as "host:port" ("[::1]:port" for IPv6), and port. */
const char *frontdoor_address(const frontdoor_t *f);
uint16_t frontdoor_port(const frontdoor_t *f);

/*
 * Runs the loop on the calling thread until frontdoor_stop; then closes
 * the listener and drops every unfinished request, and returns.  Blocks in
 * epoll_wait; also, on an upgrade, in hub_register while the hub's event
 * channel is full (4096 (HUB_QUEUE_LEN) events behind: the front door
 * then waits with
 * every other request, the hub's backpressure), and in conn_start's
 * error path.  Call once.
 */
void frontdoor_run(frontdoor_t *f);

/* Asks frontdoor_run to return.  Any thread; async-signal-safe. */
void frontdoor_stop(frontdoor_t *f);

/* Frees a front door whose frontdoor_run has returned (or never ran). */
void frontdoor_free(frontdoor_t *f);

#endif
