/*
 * conn_private.h — a connection's state, shared by the three files that
 * make a connection and by no one else: conn.c (its life and references,
 * and what the hub may do to it), reader.c (the read thread) and writer.c
 * (the write thread).  Every field says which thread owns it.
 */
#ifndef WSHUB_CONN_PRIVATE_H
#define WSHUB_CONN_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wshub/conn.h"
#include "wshub/tls.h"

#define PEER_MAX 64
#define REASON_MAX 123        /* a close reason fits in a control frame */

struct conn {
	atomic_int refs;
	int fd;
	/* With TLS: the session on fd, from conn_adopt_tls (before the
	 * threads start); then the read thread receives on it and the write
	 * thread sends (tls.h); freed with the socket by the last conn_unref.
	 * NULL for plain TCP. */
	tls_session_t *tls;
	uint64_t id;
	char peer[PEER_MAX];
	struct conn_env env;
	chan_t *send;           /* msg_t *: data, and control on the priority lane */
	struct hub_client client; /* what the hub knows of it (hub.h) */

	struct conn_live_link live; /* the server's, under its lock */

	pthread_t reader, writer;
	bool reader_started, writer_started; /* set before the threads exist */
	atomic_bool cleanup_started;         /* conn_unregister_once */
	/* enum farewell: why the connection itself is ending (a pong
	 * timeout, a flood, no thread); the hub's say is client.verdict. */
	atomic_int farewell;
	/* The close frame the reader produced (the echo of the peer's close,
	 * or our verdict on bad input): set once by the reader before it
	 * starts cleanup, taken by the writer after the queue is drained. */
	_Atomic(msg_t *) final_close;

	pthread_mutex_t mu;     /* guards reader_done, reader_past_frames */
	pthread_cond_t reader_done_cond; /* signalled when either is set */
	bool reader_done;
	/* The reader reads no more frames (the peer's close came, or an
	 * error, EOF or timeout ended reading): what a TLS writer waits for
	 * before its close_notify (writer.c, writer_await_reader). */
	bool reader_past_frames;

	struct reader *rd;      /* the read thread's state (on its stack) */

	/* Read thread only, then read by the reaper after the joins. */
	uint8_t *early;
	size_t early_len, early_off;
	uint16_t code_received; /* 0: no close frame came */
	char reason[REASON_MAX + 1];
	uint16_t reader_code_sent; /* the close the reader asked for */
	const char *cause;      /* why reading stopped, for the log */
	/* Write thread only, then read by the reaper. */
	uint16_t writer_code_sent;
};

/* The close frames the writer sends of its own accord, code and reason. */
enum farewell {
	BYE_NORMAL,        /* the client left (unregister) */
	BYE_GOING_AWAY,    /* server shutdown */
	BYE_PONG_TIMEOUT,  /* nothing read for --pong-timeout */
	BYE_STALLED,       /* dropped by the hub: the stall rule */
	BYE_QUEUE_FULL,    /* dropped by the hub: the hard cap */
	BYE_FLOOD,         /* control frames faster than it reads the replies */
	BYE_INTERNAL,      /* no memory, no thread */
	BYE_NO_ROOM,       /* its room could not open: --max-rooms */
};

/* The close frame the writer sends for each farewell: code and reason. */
struct farewell_frame {
	uint16_t code;
	const char *reason;
};
extern const struct farewell_frame farewells[];

/*
 * The close frame the writer sends of its own accord: the hub's verdict
 * if it dropped the client as slow; else the connection's own reason (a
 * pong timeout, a flood, no thread), if any; else the hub's (shutdown, no
 * room); else 1000.  Any thread; the writer asks once its channel is
 * closed and drained.
 */
enum farewell conn_farewell(conn_t *c);

/*
 * Waits until `fd` is ready for `events` (POLLIN: readable or hung up;
 * POLLOUT: room to write), retrying after signals: 1, 0 once the deadline
 * has passed, -1 on an error.  The calling thread blocks in poll(2).
 */
int conn_wait_fd(int fd, short events, const struct timespec *deadline);

/*
 * Keeps the close frame the reader produced for the writer, which sends it
 * after everything the hub queued before the reader's unregister.  The
 * first one wins (the others are freed): one close frame per connection.
 * Read thread.
 */
void conn_set_final_close(conn_t *c, msg_t *m);

#endif
