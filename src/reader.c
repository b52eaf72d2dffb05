/*
 * reader — a connection's read thread (see reader.h): Go's readPump.
 *
 * owns: the wslay event context while a frame or message is half-read
 * (reader_park), the early bytes, the read deadline, and a close frame held
 * back until it is whole (reader_recv_whole).
 * blocks on: poll(POLLIN) until the read deadline; chan_send into the hub's
 * event channel (backpressure).
 * ends when: the peer's close frame arrives, a protocol error is found, a
 * read fails or returns EOF, the read deadline passes (no frame for
 * --pong-timeout: Go's SetReadDeadline), or the control-reply lane is full
 * (a ping flood).  Then it starts cleanup (conn_unregister_once), reads and
 * discards until the peer closes TCP (so close(2) never sends a reset over
 * unread data), and tells the writer it is done.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define LIBBSD_OPENBSD_VIS /* we use strvisx only; pick the historical API */
#include <vis.h>
#include <wslay/wslay.h>

#include "conn_private.h"
#include "wshub/deadline.h"
#include "wshub/log.h"
#include "wshub/reader.h"
#include "wshub/threads.h"
#include "wshub/utf8.h"
#include "wshub/xmalloc.h"

#define CONTROL_BATCH_MAX 64  /* replies wslay may queue before we flush */
#define OUTBOX_MAX 16         /* messages parsed before they go to the hub */
#define DRAIN_BUF 2048
/* A client's close frame on the wire: 2 header bytes, the mask key, at
 * most 125 payload bytes (RFC 6455 §5.5). */
#define CLOSE_WIRE_MAX (2 + 4 + 125)
#define FRAME_HEADER_MAX 14   /* 2, a 64-bit length, the mask key */

struct reader {
	conn_t *c;
	wslay_event_context_ptr ctx;
	struct timespec deadline; /* read deadline: extended by every frame */
	bool io_failed;           /* the socket failed or hit EOF */
	bool violation;           /* we refused a frame wslay accepts */
	bool closing;             /* a close frame is ready: stop reading */
	bool in_message;          /* a fragmented data message is open */
	bool drained;             /* the last read found no more bytes */
	uint8_t *out;             /* bytes wslay produced, not yet handed over */
	size_t out_len, out_cap;
	msg_t *outbox[OUTBOX_MAX]; /* messages for the hub, after the replies */
	size_t outbox_len;
	/* The byte stream as wslay sees it (reader_recv_whole): the header
	 * of the current frame as far as it has gone to wslay, the payload
	 * bytes of that frame still to go, and a close frame held back. */
	uint8_t head[FRAME_HEADER_MAX];
	size_t head_len;
	uint64_t payload_left;
	uint8_t held[CLOSE_WIRE_MAX];
	size_t held_len;
};

/* Bytes for wslay (via reader_recv_whole): early bytes first, then the
 * (non-blocking) socket. */
static ssize_t
reader_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *user)
{
	struct reader *r = ((conn_t *)user)->rd;
	conn_t *c = r->c;
	ssize_t n;

	(void)flags;
	if (c->early_off < c->early_len) {
		n = (ssize_t)(c->early_len - c->early_off < len ?
		    c->early_len - c->early_off : len);
		memcpy(buf, c->early + c->early_off, (size_t)n);
		c->early_off += (size_t)n;
		return n;
	}
	/* Return so replies and messages get handed on (a flood, a burst). */
	if (wslay_event_get_queued_msg_count(ctx) >= CONTROL_BATCH_MAX ||
	    r->outbox_len == OUTBOX_MAX) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	n = c->env.io->read(c, buf, len);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		r->drained = errno != EINTR;
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	r->io_failed = true;
	c->cause = n == 0 ? "connection closed without a close frame" :
	    errno == ECONNRESET ? "connection reset" :
	    errno == EPROTO ? "TLS error" : "read error";
	wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

/* Header length of a client frame, from its first two bytes (RFC 6455
 * §5.2): a 16- or 64-bit length when the 7-bit one is 126 or 127, then
 * the mask key if the mask bit is set. */
static size_t
frame_header_len(const uint8_t *h)
{
	size_t len7 = h[1] & 0x7f;

	return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) +
	    (h[1] & 0x80 ? 4 : 0);
}

/* Payload length of a frame, from its whole header. */
static uint64_t
frame_payload_len(const uint8_t *h)
{
	uint64_t len = h[1] & 0x7f;
	size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;

	if (ext > 0)
		len = 0;
	for (size_t i = 0; i < ext; i++)
		len = len << 8 | h[2 + i];
	return len;
}

/*
 * False if a close reason is already invalid UTF-8 (RFC 3629: no
 * overlongs, no surrogates, nothing past U+10FFFF), whatever follows.
 * `payload` is the first `len` bytes (at most 125) of a close payload,
 * masked with `key` as it came; the reason starts after the 2-byte code.
 * The bytes are unmasked into a copy and left as they are.
 */
static bool
utf8_prefix_ok(const uint8_t *payload, size_t len, const uint8_t key[4])
{
	uint8_t reason[125];
	struct utf8_scan scan;
	size_t n = 0;

	for (size_t i = 2; i < len && n < sizeof(reason); i++)
		reason[n++] = payload[i] ^ key[i % 4];
	utf8_scan_init(&scan);
	return utf8_scan(&scan, reason, n);
}

/*
 * True if p[0..avail) is the start of a close frame that is not whole yet
 * and must wait for the rest: a final, masked close with at most 125
 * bytes whose reason so far may still be valid.  Any other close frame
 * goes on, so wslay refuses it as soon as it would have.
 */
static bool
close_frame_partial(const uint8_t *p, size_t avail)
{
	size_t len7;

	if (p[0] != (0x80 | WSLAY_CONNECTION_CLOSE)) /* FIN, no RSV bits */
		return false;
	if (avail < 2)
		return true;
	len7 = p[1] & 0x7f;
	if (!(p[1] & 0x80) || len7 > 125 || avail >= 6 + len7)
		return false; /* refused by wslay, or whole */
	return avail <= 6 || utf8_prefix_ok(p + 6, avail - 6, p + 2);
}

/*
 * Follows the frames in buf[0..n), the next bytes for wslay, and returns
 * how many may go to wslay now: all of them, or those before a close
 * frame that is not whole yet.  Payloads are skipped, never copied; a
 * header split across reads is kept in r->head until its length is known.
 */
static size_t
reader_scan(struct reader *r, const uint8_t *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		if (r->payload_left > 0) {
			size_t step = r->payload_left < n - off ?
			    (size_t)r->payload_left : n - off;

			off += step;
			r->payload_left -= step;
		} else if (r->head_len == 0 &&
		    close_frame_partial(buf + off, n - off))
			return off;
		else {
			r->head[r->head_len++] = buf[off++];
			if (r->head_len >= 2 &&
			    r->head_len == frame_header_len(r->head)) {
				r->payload_left = frame_payload_len(r->head);
				r->head_len = 0;
			}
		}
	}
	return n;
}

/*
 * wslay's receive callback: reader_recv's bytes, except that a close
 * frame reaches wslay in one piece.  wslay 1.1.1 checks a close reason's
 * UTF-8 from the third byte of every piece it is handed, not of the
 * payload: split across reads, a valid reason was refused with 1007 and
 * an invalid one echoed.  So a close frame that is not whole yet is held
 * back (r->held, at most CLOSE_WIRE_MAX bytes) and goes first in a later
 * call, whole; or at once if its reason is already invalid, so that wslay
 * refuses it without waiting for the rest.  wslay calls this only when
 * its 4 KiB input buffer is all but empty, so a whole close frame lands
 * in it in one piece.  Everything else passes through unchanged, in place.
 */
static ssize_t
reader_recv_whole(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    int flags, void *user)
{
	struct reader *r = ((conn_t *)user)->rd;
	size_t held = r->held_len, ready;
	ssize_t n;

	assert(held < len);
	memcpy(buf, r->held, held);
	n = reader_recv(ctx, buf + held, len - held, flags, user);
	if (n < 0)
		return n; /* r->held keeps the partial close frame */
	ready = reader_scan(r, buf, held + (size_t)n);
	r->held_len = held + (size_t)n - ready;
	assert(r->held_len <= sizeof(r->held));
	memcpy(r->held, buf + ready, r->held_len);
	if (ready == 0) { /* only part of a close frame so far */
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return (ssize_t)ready;
}

/* wslay wants to send (a pong, a close): collect it for the writer. */
static ssize_t
reader_collect(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *user)
{
	struct reader *r = ((conn_t *)user)->rd;

	(void)ctx;
	(void)flags;
	if (r->out_len + len > r->out_cap) {
		r->out_cap = (r->out_len + len) * 2;
		r->out = xreallocarray(r->out, r->out_cap, 1);
	}
	memcpy(r->out + r->out_len, data, len);
	r->out_len += len;
	return (ssize_t)len;
}

/*
 * Every frame extends the read deadline (Go: the pong handler's
 * SetReadDeadline; here any frame proves the peer is alive).  A data
 * frame without FIN opens a fragmented message, one with FIN ends it.
 *
 * When a close frame starts, the pongs wslay has queued for pings earlier
 * in this read are collected first: once a close is queued, wslay 1.1.1
 * frees every other control frame still queued
 * (wslay_event_send_ctrl_queue_pop), and RFC 6455 §5.5.2 says a ping MUST
 * be answered.  wslay_event_send only calls reader_collect, which appends to
 * r->out; the writer still does the writing, pongs before the close.
 *
 * Also refuses the one malformed close wslay lets through: a 1-byte
 * payload, which holds half a status code (RFC 6455 §5.5.1); queuing our
 * close first makes wslay's own empty echo a no-op.
 */
static void
reader_frame_start(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct reader *r = ((conn_t *)user)->rd;

	r->deadline = deadline_after_ms(r->c->env.cfg->pong_timeout_ms);
	if (!(arg->opcode & 0x8)) /* text, binary or continuation */
		r->in_message = !arg->fin;
	if (arg->opcode == WSLAY_CONNECTION_CLOSE && wslay_event_want_write(ctx))
		wslay_event_send(ctx); /* reader_collect never fails */
	if (arg->opcode == WSLAY_CONNECTION_CLOSE && arg->payload_length == 1 &&
	    wslay_event_queue_close(ctx, CLOSE_PROTOCOL_ERROR, NULL, 0) == 0) {
		r->violation = true;
		r->c->cause = "protocol error";
	}
}

/* Keeps the close code and reason the peer sent, printable, for the log. */
static void
reader_record_close(conn_t *c, const struct wslay_event_on_msg_recv_arg *arg)
{
	size_t len = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
	char visible[REASON_MAX * 4 + 1];

	c->code_received = arg->status_code ? arg->status_code : CLOSE_NO_STATUS;
	if (len > REASON_MAX)
		len = REASON_MAX;
	if (len > 0) /* an empty close comes with msg == NULL */
		strvisx(visible, (const char *)arg->msg + 2, len, VIS_CSTYLE | VIS_DQ);
	else
		visible[0] = '\0';
	strlcpy(c->reason, visible, sizeof(c->reason));
	c->cause = "peer sent close";
}

/* Hands the parsed messages to the hub, in order. */
static void
reader_broadcast(struct reader *r)
{
	for (size_t i = 0; i < r->outbox_len; i++)
		r->c->env.io->broadcast(r->c, r->outbox[i]); /* takes the ref */
	r->outbox_len = 0;
}

/* A whole message arrived: data goes to the hub, one frame per message. */
static void
reader_message(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	struct reader *r = ((conn_t *)user)->rd;
	conn_t *c = r->c;

	(void)ctx;
	if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		if (!r->violation)
			reader_record_close(c, arg);
		return;
	}
	if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
		return; /* ping (wslay queued the pong) or pong */
	log_debug("id=%llu received %s message, %zu bytes",
	    (unsigned long long)c->id,
	    arg->opcode == WSLAY_TEXT_FRAME ? "text" : "binary", arg->msg_length);
	stats_add(&c->env.stats->messages_in, 1);
	stats_add(&c->env.stats->bytes_in, (long)arg->msg_length);
	/* Framed once here, shared by every recipient; sent on after the
	 * replies to the pings that came with it (reader_broadcast).  wslay
	 * parses all the bytes it has buffered in one call, so the outbox can
	 * fill up: then the earlier messages go on at once. */
	if (r->outbox_len == OUTBOX_MAX)
		reader_broadcast(r);
	r->outbox[r->outbox_len++] =
	    msg_new_frame(arg->opcode, arg->msg, arg->msg_length);
}


static const struct wslay_event_callbacks reader_callbacks = {
	.recv_callback = reader_recv_whole,
	.send_callback = reader_collect,
	.on_frame_recv_start_callback = reader_frame_start,
	.on_msg_recv_callback = reader_message,
};

/* Makes the wslay context when bytes are to be read (reader_park). */
static void
reader_unpark(struct reader *r)
{
	if (r->ctx != NULL)
		return;
	/* wslay's callbacks get the connection; c->rd leads to the rest. */
	if (wslay_event_context_server_init(&r->ctx, &reader_callbacks, r->c) != 0)
		xalloc_failed("a wslay context"); /* its only error */
	wslay_event_config_set_max_recv_msg_length(r->ctx,
	    r->c->env.cfg->max_message);
	stats_add(&r->c->env.stats->frame_parsers, 1);
}

/*
 * Frees the wslay context (8.6 KiB: its 4 KiB input buffer, its unused
 * 4 KiB output buffer) before the reader waits, if it holds nothing the
 * next byte depends on: the socket was read dry, every byte given to wslay
 * ended a frame (reader_scan), no fragmented message is open, no reply is
 * queued.  A fresh context is then the same as the old one, so an idle
 * connection holds none (reader_unpark makes it again).
 */
static void
reader_park(struct reader *r)
{
	if (r->ctx == NULL || !r->drained || r->in_message ||
	    r->head_len > 0 || r->payload_left > 0 || r->held_len > 0 ||
	    wslay_event_get_queued_msg_count(r->ctx) > 0)
		return;
	wslay_event_context_free(r->ctx);
	r->ctx = NULL;
	free(r->out);
	r->out = NULL;
	r->out_cap = 0;
	stats_add(&r->c->env.stats->frame_parsers, -1);
}

/* Hands a close frame of our own to the writer (wslay could not). */
static void
reader_send_close(struct reader *r, uint16_t code, const char *reason)
{
	conn_set_final_close(r->c, msg_new_close(code, reason));
	r->c->reader_code_sent = code;
	r->closing = true;
}

/* Records the close wslay produced: an echo, or its verdict on bad input. */
static void
reader_note_close_sent(struct reader *r)
{
	conn_t *c = r->c;

	c->reader_code_sent = wslay_event_get_status_code_sent(r->ctx);
	if (wslay_event_get_close_received(r->ctx) && !r->violation)
		return; /* the echo of the peer's close */
	c->cause = c->reader_code_sent == CLOSE_INVALID_DATA ? "invalid UTF-8" :
	    c->reader_code_sent == CLOSE_TOO_BIG ? "message too big" :
	    "protocol error";
}

/*
 * Offset of the last frame in `buf`, a run of whole unmasked frames as
 * wslay encodes them (RFC 6455 §5.2: 2 header bytes, then a 16- or 64-bit
 * length when the 7-bit one is 126 or 127).
 */
static size_t
last_frame_offset(const uint8_t *buf, size_t len)
{
	size_t off = 0, last = 0;

	while (off + 2 <= len) {
		uint64_t plen = buf[off + 1] & 0x7f;
		size_t hlen = plen == 126 ? 4 : plen == 127 ? 10 : 2;

		if (off + hlen > len)
			break;
		if (plen >= 126) {
			plen = 0;
			for (size_t i = 2; i < hlen; i++)
				plen = plen << 8 | buf[off + i];
		}
		last = off;
		off += hlen + plen;
	}
	return last;
}

/*
 * Hands what wslay produced to the writer.  Pongs go on the priority lane
 * (they may overtake data); a close frame, always the last thing wslay
 * sends, is kept for the writer to send after every message already
 * queued (conn_set_final_close).  Returns -1 if the priority lane is full:
 * the peer sends control frames faster than it reads the replies.
 */
static int
reader_flush(struct reader *r)
{
	conn_t *c = r->c;
	size_t pong_len;
	int rc = CHAN_OK;

	if (wslay_event_want_write(r->ctx))
		wslay_event_send(r->ctx); /* reader_collect never fails */
	if (r->out_len == 0)
		return 0;
	pong_len = r->out_len;
	if (wslay_event_get_close_sent(r->ctx)) {
		pong_len = last_frame_offset(r->out, r->out_len);
		conn_set_final_close(c, msg_new_encoded(MSG_CLOSE,
		    r->out + pong_len, r->out_len - pong_len));
		reader_note_close_sent(r);
		r->closing = true;
	}
	if (pong_len > 0) {
		msg_t *m = msg_new_encoded(MSG_PONG, r->out, pong_len);

		if ((rc = chan_send_priority(c->send, m)) != CHAN_OK)
			msg_unref(m); /* CHAN_CLOSED: the writer is closing */
	}
	r->out_len = 0;
	if (rc == CHAN_FULL) {
		c->cause = "control frame flood";
		atomic_store(&c->farewell, BYE_FLOOD);
		return -1;
	}
	return 0;
}

/* Reads frames until the connection is done reading (see the top). */
static void
reader_loop(struct reader *r)
{
	conn_t *c = r->c;
	bool flooded;
	int rv;

	for (;;) {
		if (c->early_off == c->early_len) {
			int ready;

			reader_park(r);
			ready = c->env.io->wait_readable(c, &r->deadline);

			if (ready <= 0) {
				c->cause = ready == 0 ? "read timeout" : "poll error";
				if (ready == 0)
					atomic_store(&c->farewell,
					    BYE_PONG_TIMEOUT);
				r->io_failed = true;
				return;
			}
		}
		reader_unpark(r);
		r->drained = false;
		rv = wslay_event_recv(r->ctx);
		if (rv == 0)
			flooded = reader_flush(r) != 0; /* pongs before the outbox */
		reader_broadcast(r);
		if (rv != 0) {
			if (!r->io_failed) { /* a frame wslay's parser refused */
				c->cause = "protocol error";
				reader_send_close(r, CLOSE_PROTOCOL_ERROR,
				    "protocol error");
			}
			return;
		}
		if (flooded || r->closing)
			return; /* cleanup sends the close after the queue */
		if (!wslay_event_want_read(r->ctx))
			return;
	}
}

/* Reads and discards until EOF, so close(2) never resets unread data.
 * Not inlined: its buffer would sit in reader_main's frame, under every
 * idle reader's poll, and cost each connection a stack page. */
static __attribute__((noinline)) void
reader_drain(conn_t *c)
{
	struct timespec deadline =
	    deadline_after_ms(c->env.cfg->shutdown_timeout_ms);
	char buf[DRAIN_BUF];

	while (c->env.io->wait_readable(c, &deadline) > 0) {
		ssize_t n = c->env.io->read(c, buf, sizeof(buf));

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return;
	}
}

/* Counts protocol-error closes for /stats. */
static void
reader_count_errors(conn_t *c)
{
	switch (c->reader_code_sent) {
	case CLOSE_PROTOCOL_ERROR:
	case CLOSE_INVALID_DATA:
	case CLOSE_TOO_BIG:
		if (c->code_received == 0) /* not merely echoing the peer */
			stats_add(&c->env.stats->protocol_errors, 1);
		break;
	default:
		break;
	}
}

/* Tells the writer, which may wait for it, that `flag` is now true:
 * reader_past_frames or reader_done. */
static void
reader_tell_writer(conn_t *c, bool *flag)
{
	pthread_mutex_lock(&c->mu);
	*flag = true;
	pthread_cond_signal(&c->reader_done_cond);
	pthread_mutex_unlock(&c->mu);
}

void *
reader_main(void *arg)
{
	conn_t *c = arg;
	struct reader r = { .c = c };
	struct thread_entry self;

	threads_enter(&self, ROLE_READER, c->id, c->peer, c->client.room,
	    NULL);
	c->rd = &r;
	if (c->tls != NULL) /* from now on only this thread receives */
		tls_session_claim(c->tls, TLS_RECEIVER);
	r.deadline = deadline_after_ms(c->env.cfg->pong_timeout_ms);
	reader_loop(&r);
	if (r.ctx != NULL) { /* nothing reads it from here on */
		wslay_event_context_free(r.ctx);
		stats_add(&c->env.stats->frame_parsers, -1);
	}
	reader_tell_writer(c, &c->reader_past_frames);
	reader_count_errors(c);
	conn_unregister_once(c);
	if (!r.io_failed)
		reader_drain(c);
	c->rd = NULL;
	free(r.out);
	reader_tell_writer(c, &c->reader_done);
	threads_leave();
	return NULL;
}
