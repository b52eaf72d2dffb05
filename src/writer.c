/*
 * writer — a connection's write thread (see writer.h): Go's writePump.
 *
 * owns: every write to the socket, the ping timer, the write deadline.
 * blocks on: chan_recv_many until the next ping is due (Go's select on the
 * send channel and a time.Ticker); the connection's wait_writable (poll
 * POLLOUT on the socket) until the write deadline;
 * at the end, the reader's done condition (up to --shutdown-timeout),
 * pthread_join of the reader, and chan_send of the unregister (hub
 * events) and of the connection (reaper) while those channels are full.
 * ends when: a write fails or times out, or the send channel is closed and
 * drained (then it writes the reader's close frame, or its own).  After a
 * close frame it half-closes (FIN; with TLS a close_notify first, once the
 * peer's close frame is in), waits for the reader up to
 * --shutdown-timeout, shuts the socket down, joins the reader and hands
 * the connection to the reaper.  With TLS it is the only thread that
 * sends on the session (tls.h).
 * scheduled as: SCHED_BATCH (writer_yield_to_waker), so that waking it
 * does not preempt the hub in the middle of a broadcast.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "conn_private.h"
#include "wshub/deadline.h"
#include "wshub/log.h"
#include "wshub/threads.h"
#include "wshub/writer.h"

/* Frames per sendmsg(2).  16 rather than more: the batch and its iovecs
 * (24 bytes a frame) are on the writer's stack, and an idle writer's stack
 * must stay within its pages (BENCHMARKS.md, "S4's memory"); a full batch
 * costs one system call per 16 frames instead of per 32. */
#define WRITE_BATCH_MAX 16

struct writer {
	conn_t *c;
	struct timespec next_ping;
	bool failed;      /* a write failed or timed out */
	bool timed_out;   /* the socket took nothing for --write-timeout */
	bool close_sent;  /* a close frame is on the wire: nothing may follow */
};

/*
 * Waits for room in the socket's send buffer, telling the hub meanwhile
 * that the writer is stuck on the peer (client_is_slow in hub.c).  1, 0 on deadline,
 * -1 on error.
 */
static int
writer_wait_writable(conn_t *c, const struct timespec *deadline)
{
	int ready;

	atomic_store_explicit(&c->client.stalled_since_ms, deadline_now_ms(),
	    memory_order_relaxed);
	ready = c->env.io->wait_writable(c, deadline);
	atomic_store_explicit(&c->client.stalled_since_ms, 0, memory_order_relaxed);
	return ready;
}

/* write_all's verdict when the write deadline passed. */
#define WRITE_TIMED_OUT 1

/* Writes all of iov[0..cnt) before the write deadline, through the
 * connection's send (the socket, or its TLS session): 0, -1 on an error,
 * WRITE_TIMED_OUT if the deadline passed. */
static int
write_all(conn_t *c, struct iovec *iov, int cnt,
    const struct timespec *deadline)
{
	while (cnt > 0) {
		ssize_t n = c->env.io->send(c, iov, cnt);
		int ready;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			if ((ready = writer_wait_writable(c, deadline)) <= 0)
				return ready == 0 ? WRITE_TIMED_OUT : -1;
			continue;
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static bool
is_data(const msg_t *m)
{
	return msg_opcode(m) == MSG_TEXT || msg_opcode(m) == MSG_BINARY;
}

/*
 * Writes one batch with one sendmsg; nothing after a close frame, and no
 * data once the client has been dropped as slow.
 */
static void
writer_write_batch(struct writer *w, void **batch, size_t n)
{
	struct iovec iov[WRITE_BATCH_MAX];
	struct timespec deadline;
	size_t cnt = 0, bytes = 0;
	long data_frames = 0;
	bool discard = atomic_load(&w->c->client.discard);
	int rc;

	for (size_t i = 0; i < n && !w->close_sent; i++) {
		const msg_t *m = batch[i];

		if (discard && is_data(m))
			continue;
		iov[cnt].iov_base = (void *)msg_wire(m);
		iov[cnt++].iov_len = msg_wire_len(m);
		bytes += msg_wire_len(m);
		data_frames += is_data(m);
		w->close_sent = msg_opcode(m) == MSG_CLOSE;
	}
	deadline = deadline_after_ms(w->c->env.cfg->write_timeout_ms);
	if ((rc = write_all(w->c, iov, (int)cnt, &deadline)) != 0) {
		w->failed = true;
		w->timed_out = rc == WRITE_TIMED_OUT;
	}
	else {
		stats_add(&w->c->env.stats->deliveries, data_frames);
		stats_add(&w->c->env.stats->bytes_out, (long)bytes);
	}
	for (size_t i = 0; i < n; i++)
		msg_unref(batch[i]);
}

/* Writes one small frame built on the spot (a ping, our close). */
static void
writer_write_frame(struct writer *w, msg_t *m)
{
	void *batch[1] = { m };

	writer_write_batch(w, batch, 1);
}

/*
 * Sends queued frames and pings until the channel closes or a write fails.
 * Go: for { select { case m, ok := <-c.send: ...; case <-ticker.C: ... } },
 * except that a ping that is due goes out with the next batch even when
 * the queue never empties: Go's select picks a ready case at random, so
 * its ticker is not starved either.
 */
static void
writer_loop(struct writer *w)
{
	conn_t *c = w->c;
	int64_t interval = c->env.cfg->ping_interval_ms;
	void *batch[WRITE_BATCH_MAX];
	size_t n;

	while (!w->failed && !w->close_sent) {
		int rc = chan_recv_many(c->send, batch, WRITE_BATCH_MAX - 1, &n,
		    &w->next_ping);

		if (rc == CHAN_CLOSED)
			return; /* Go: the send channel was closed */
		if (deadline_remaining_ms(&w->next_ping) == 0) {
			batch[n++] = msg_new_frame(MSG_PING, NULL, 0);
			w->next_ping = deadline_after_ms(interval);
		}
		writer_write_batch(w, batch, n);
	}
}

/* The code of a close frame the writer sends (1005 for an empty one).  A
 * close frame is unmasked and short: a 2-byte header, then the code. */
static uint16_t
close_frame_code(const msg_t *m)
{
	const uint8_t *w = msg_wire(m);

	return (w[1] & 0x7f) >= 2 ? (uint16_t)(w[2] << 8 | w[3]) :
	    CLOSE_NO_STATUS;
}

/*
 * The channel is closed and drained: the server stops sending, but still
 * closes politely.  The reader's close frame (an echo, or our verdict on
 * bad input) if it made one, else the writer's own.
 */
static void
writer_say_goodbye(struct writer *w)
{
	conn_t *c = w->c;
	msg_t *m = atomic_exchange(&c->final_close, NULL);
	uint16_t code;

	if (m == NULL) {
		enum farewell bye = conn_farewell(c);

		m = msg_new_close(farewells[bye].code, farewells[bye].reason);
	}
	code = close_frame_code(m);
	writer_write_frame(w, m);
	if (w->close_sent && !w->failed)
		c->writer_code_sent = code;
}

/* Waits until the reader sets `flag` (c->mu) or the deadline passes. */
static void
writer_wait_reader(conn_t *c, bool *flag, const struct timespec *deadline,
    const char *what)
{
	threads_block(TS_COND, what);
	pthread_mutex_lock(&c->mu);
	while (!*flag && deadline_cond_timedwait(&c->reader_done_cond, &c->mu,
	    deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&c->mu);
	threads_run();
}

/*
 * After our close frame: FIN, then wait a while for the reader to finish.
 * With TLS the FIN goes after a close_notify, which many clients take as
 * the end of the whole connection (Python's asyncio, Node): sent at once,
 * it would cut off the close frame they are about to send back.  So a TLS
 * writer first waits for the reader to have the peer's close frame (or to
 * stop reading for any reason), within the same deadline.
 */
static void
writer_await_reader(conn_t *c)
{
	struct timespec deadline =
	    deadline_after_ms(c->env.cfg->shutdown_timeout_ms);

	struct timespec bye_deadline;

	if (c->tls != NULL)
		writer_wait_reader(c, &c->reader_past_frames, &deadline,
		    "the peer's close");
	/* With TLS, a close_notify first, within --write-timeout. */
	bye_deadline = deadline_after_ms(c->env.cfg->write_timeout_ms);
	c->env.io->shutdown(c, SHUT_WR, &bye_deadline);
	writer_wait_reader(c, &c->reader_done, &deadline, "the reader's end");
}

/*
 * Asks the kernel not to let this thread preempt the thread that wakes it.
 * A broadcast wakes every writer of the room, one after another; a woken
 * writer that preempts the hub costs two context switches per delivery
 * (hub -> writer -> hub) instead of one, and leaves the rest of the room
 * waiting.  SCHED_BATCH (same priority, same share of the CPU) only turns
 * off that wake-up preemption.  Go: a goroutine readied by a channel send
 * waits in the run queue while its sender runs on.  A kernel that refuses
 * costs only speed, so a failure is ignored.
 */
static void
writer_yield_to_waker(void)
{
	struct sched_param sp = { .sched_priority = 0 };

	(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
}

void *
writer_main(void *arg)
{
	conn_t *c = arg;
	struct writer w = { .c = c };
	struct thread_entry self;

	threads_enter(&self, ROLE_WRITER, c->id, c->peer, c->client.room,
	    c->send);
	writer_yield_to_waker();
	if (c->tls != NULL) /* from now on only this thread sends */
		tls_session_claim(c->tls, TLS_SENDER);
	w.next_ping = deadline_after_ms(c->env.cfg->ping_interval_ms);
	writer_loop(&w);
	if (!w.failed && !w.close_sent)
		writer_say_goodbye(&w);
	if (w.timed_out && hub_client_mark_slow(&c->client)) { /* first */
		log_info("slow client id=%llu peer=%s: write timeout: no write "
		    "accepted for --write-timeout, dropped",
		    (unsigned long long)c->id, c->peer);
		stats_count_slow(c->env.stats,
		    &c->env.stats->slow_drops_write_timeout);
	}
	conn_unregister_once(c);
	if (w.close_sent && !w.failed)
		writer_await_reader(c);
	/* wakes the reader if it still waits */
	c->env.io->shutdown(c, SHUT_RDWR, NULL);
	threads_block(TS_JOIN, NULL);
	pthread_join(c->reader, NULL);
	threads_run();
	chan_send(c->env.reaper, c); /* the reaper joins this thread */
	threads_leave();
	return NULL;
}
