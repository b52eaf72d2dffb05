/*
 * server — starts and stops the front door, the hub, the reaper and the
 * Redis bridge.
 *
 * DESIGN
 * The thread that calls server_run (main's) becomes the front door: one
 * epoll loop over the listener and every unfinished request, which
 * answers requests and hands each checked upgrade to the hub and its two
 * threads (frontdoor.h tells how, and why a slow request costs no thread).
 *
 * Threads: the front door, the hub, the reaper (joins finished connection
 * threads: a goroutine just ends, a pthread must be joined), two per
 * connection, and with --redis the bridge's two (bridge.h).  Signals are
 * not handled here: main blocks them and calls server_stop from its signal
 * thread.
 *
 * Shutdown (server_stop): stop accepting, drop unfinished requests, let
 * the hub say 1001 to every client and wait --shutdown-timeout for their
 * close replies, then shut every socket still open; wait until the reaper
 * has joined every connection thread, stop the bridge, and return from
 * server_run (the bound: docs/ARCHITECTURE.md, "Shutdown is bounded").
 */
#ifndef WSHUB_SERVER_H
#define WSHUB_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "wshub/config.h"
#include "wshub/stats.h"

typedef struct server server_t;

/*
 * Binds and listens as `cfg` says (which must outlive the server); the
 * threads start in server_run.  On failure returns NULL with a
 * one-line reason in err that does not repeat cfg->addr and cfg->port,
 * which the caller names (e.g. "bind: Permission denied (ports below 1024
 * need privileges)", or "not an IP address, nor a host name that resolves
 * (Name or service not known)").
 */
server_t *server_new(const struct config *cfg, char *err, size_t errlen);

/* The bound address as "host:port" ("[::1]:port" for IPv6) and port. */
const char *server_address(const server_t *s);
uint16_t server_port(const server_t *s);

/* The configuration the server runs with. */
const struct config *server_config(const server_t *s);

/* The server's counters (live for the server's lifetime). */
struct stats *server_stats(server_t *s);

/*
 * Runs the front door on the calling thread until server_stop, then shuts
 * everything down as described above.  Returns 0.  Aborts the process if
 * the hub, reaper or bridge thread cannot be created (at start-up nothing
 * could run without them).  Blocks for the server's whole life.  Call
 * once.
 */
int server_run(server_t *s);

/* Asks server_run to stop.  Any thread; async-signal-safe (one write). */
void server_stop(server_t *s);

/* Frees a server whose server_run has returned (or never ran). */
void server_free(server_t *s);

#endif
