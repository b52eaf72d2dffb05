/*
 * loop — one event-loop thread of wshub-load and the clients it owns.
 *
 * A loop owns every client whose index i has i % threads == loop id, one
 * epoll set, one eventfd and one command channel.  It opens its clients at
 * the configured ramp as soon as it starts, then obeys commands from the
 * main thread:
 *
 *   main -> loop   `cmds`, a chan_t of struct loop_cmd *, plus one write to
 *                  the loop's eventfd so that epoll_wait returns: a chan and
 *                  an eventfd together are Go's `select` over a channel and
 *                  a socket.  The loop frees each command.
 *   loop -> main   `events`, one chan_t shared by all loops, carrying
 *                  struct loop_event *; the main thread frees them.
 *
 * Counters are the loop's alone while it runs.  The main thread reads
 * copies that the loop publishes under its mutex every
 * LOOP_PUBLISH_MS, when a round stops sending, and on CMD_SNAPSHOT; after
 * loop_join it may read them directly through loop_snapshot too.
 */
#ifndef WSHUB_LOAD_LOOP_H
#define WSHUB_LOAD_LOOP_H

#include <stdint.h>

#include "load.h"
#include "plan.h"
#include "tally.h"
#include "wshub/chan.h"

#define LOOP_PUBLISH_MS 100    /* progress and drain checks see this lag */

enum loop_cmd_op {
	CMD_SEND,      /* start sending round `round` */
	CMD_SNAPSHOT,  /* publish counters now, answer EV_SNAPSHOT */
	CMD_CLOSE,     /* close every client, answer EV_CLOSED, exit */
};

struct loop_cmd {
	enum loop_cmd_op op;
	uint32_t round;        /* SEND: stamped in every payload, > 0 */
	uint32_t senders;      /* SEND: clients 0 .. senders-1 send */
	uint32_t rate;         /* SEND: messages per second per sender */
	int64_t start_ns;      /* SEND: the first message's time */
	int64_t end_ns;        /* SEND: no message at or after this time */
	int64_t deadline_ns;   /* CLOSE: stop waiting for close replies */
};

enum loop_event_kind {
	EV_SETTLED,    /* every client of the loop is open or failed */
	EV_SNAPSHOT,   /* counters published, as asked */
	EV_CLOSED,     /* every client closed; the thread is exiting */
};

struct loop_event {
	enum loop_event_kind kind;
	uint32_t loop_id;
};

struct loop;

/*
 * Creates loop `id` with its share of cfg->conns clients, opening from
 * time `t0_ns` on.  `open` counts OPEN clients across all loops, by room
 * and URL.  Exits with a message if the epoll set or eventfd cannot be
 * created.
 */
struct loop *loop_new(uint32_t id, const struct load_config *cfg,
    int64_t t0_ns, chan_t *events, struct plan_open *open);

/* Starts the loop's thread; exits the program (status 1) if it cannot be
 * created.  Main thread. */
void loop_start(struct loop *l);

/* Queues a copy of `cmd` for the loop and wakes it.  Main thread; blocks
 * while the loop's command channel is full (the loop takes commands
 * between its epoll rounds). */
void loop_command(struct loop *l, const struct loop_cmd *cmd);

/* Copies the latest published counters.  Any thread. */
void loop_snapshot(struct loop *l, struct conn_stats *cs,
    struct round_stats *rs);

/* Waits (pthread_join) for the thread to exit (it does after CMD_CLOSE).
 * Main thread. */
void loop_join(struct loop *l);

/* Frees a loop that was joined or never started. */
void loop_free(struct loop *l);

#endif
