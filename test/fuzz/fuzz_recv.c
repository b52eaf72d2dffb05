/*
 * fuzz_recv — libFuzzer target for the receive path: the bytes a client
 * sends after the handshake, through the read thread's own code.
 *
 The code under test is the real reader, linked from the project's
 * objects: reader_main (src/reader.c) with its wslay server context (max
 * message MAX_MESSAGE_BYTES), reader_recv_whole (which holds a close frame
 * back until it is whole) over reader_recv, reader_frame_start,
 * reader_message, reader_record_close, reader_flush, reader_broadcast,
 * reader_send_close and reader_drain.  Only its edges are replaced, through
 * the connection's conn_io (conn_env.io):
 * - sim_read and sim_wait_readable play the socket: each wait is one
 *   wake-up that finds the next chunk of input; read hands it out, then
 *   says EAGAIN; after the last chunk has been read, the next wake-up finds
 *   EOF (or, if the input says so, the read deadline passes: the wait
 *   returns 0);
 * - sim_broadcast and sim_unregister play the hub: broadcasts are checked
 *   and collected instead of fanned out;
 * - the writer thread is the harness: it takes what the reader put on the
 *   send channel's priority lane (pongs) at every wake-up, or only at the
 *   end when the input asks for a stalled writer; at the end it appends
 *   the close frame the reader left for after the queue (final_close).
 * Everything runs on the fuzzer's thread; no thread is started.
 *
 * Input layout
 *   byte 0        bits 0-2: k, how many chunk-size bytes follow (0: the
 *                 whole stream arrives in one chunk); bit 3: the first
 *                 chunk (at most EARLY_MAX bytes) comes as early bytes, as
 *                 if it had arrived with the HTTP request; bit 4: the
 *                 writer is stalled (the priority lane may fill up);
 *                 bit 5: after the last chunk the peer goes silent (the
 *                 read deadline passes) instead of closing TCP
 *   bytes 1..k    chunk sizes, used in turn: b in 1..127 is b bytes,
 *                 b >= 128 is (b - 127) * 256 bytes, 0 is "all the rest"
 *   the rest      the client's byte stream (masked frames, or anything)
 *
 * Checks, beyond the sanitizers:
 * - the reader unregisters exactly once and never spins (polls again and
 *   again without reading);
 * - everything the server would write is well formed: the priority lane
 *   and the reader's close after it, and every broadcast
 *   parse as final, unmasked server frames with the shortest length
 *   encoding, no RSV bits and control payloads <= 125 bytes; a close has
 *   no body, or a code a server may send and a UTF-8 reason; pongs answer
 *   pings in order; the writer's own close code is one a server may send;
 * - against a small reference model of RFC 6455 (ref_run): the messages
 *   broadcast are exactly those the stream holds, in order; a valid stream
 *   is never failed, each of its pings gets a pong (§5.5.2) and the
 *   peer's close is echoed with its code and reason; an invalid stream is
 *   failed with the model's code (1002 protocol error, 1007 invalid UTF-8,
 *   1009 too big) after exactly the messages that came before the error.
 *   With a stalled writer the reader may stop early on a "control frame
 *   flood" (1008): then the messages need only be a prefix.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/conn_private.h" /* the connection's state, white-box */
#include "wshub/log.h"
#include "wshub/reader.h"

#define MAX_MESSAGE MAX_MESSAGE_BYTES
#define CONTROL_MAX 125
#define EARLY_MAX MAX_REQUEST_HEAD /* server.c reads the head into this much */
#define SPIN_LIMIT 16              /* wake-ups in a row without a read */

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_recv: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ---- small helpers ------------------------------------------------------ */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void
bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 64;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

/* Messages or pings: opcode and payload, the payloads in one buffer. */
struct item {
	uint8_t opcode;
	size_t off, len;
};

struct items {
	struct item *v;
	size_t n, cap;
	struct bytes data;
};

static void
items_add(struct items *l, uint8_t opcode, const void *p, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap * 2 + 16;
		if ((l->v = reallocarray(l->v, l->cap, sizeof(*l->v))) == NULL)
			abort();
	}
	l->v[l->n++] = (struct item){ opcode, l->data.len, len };
	bytes_add(&l->data, p, len);
}

static const uint8_t *
items_payload(const struct items *l, size_t i)
{
	return l->data.p ? l->data.p + l->v[i].off : (const uint8_t *)"";
}

/* Equal byte strings; either pointer may be NULL when its length is 0. */
static bool
same_bytes(const void *a, size_t a_len, const void *b, size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static bool
items_equal(const struct items *a, size_t i, const struct items *b, size_t j)
{
	return a->v[i].opcode == b->v[j].opcode &&
	    same_bytes(items_payload(a, i), a->v[i].len, items_payload(b, j),
	    b->v[j].len);
}

static void
items_free(struct items *l)
{
	free(l->v);
	free(l->data.p);
}

/* UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF. */
struct utf8 {
	int need;        /* continuation bytes still expected */
	uint8_t lo, hi;  /* the range allowed for the next one */
};

static bool
utf8_step(struct utf8 *u, uint8_t b)
{
	if (u->need > 0) {
		if (b < u->lo || b > u->hi)
			return false;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return true;
	}
	u->lo = 0x80;
	u->hi = 0xbf;
	if (b < 0x80)
		return true;
	if (b >= 0xc2 && b <= 0xdf)
		u->need = 1;
	else if (b >= 0xe0 && b <= 0xef) {
		u->need = 2;
		if (b == 0xe0)
			u->lo = 0xa0; /* no overlongs */
		if (b == 0xed)
			u->hi = 0x9f; /* no surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		u->need = 3;
		if (b == 0xf0)
			u->lo = 0x90;
		if (b == 0xf4)
			u->hi = 0x8f; /* nothing past U+10FFFF */
	} else
		return false;
	return true;
}

static bool
utf8_valid(const uint8_t *p, size_t len)
{
	struct utf8 u = { 0 };

	for (size_t i = 0; i < len; i++)
		if (!utf8_step(&u, p[i]))
			return false;
	return u.need == 0;
}

static bool
is_control(uint8_t opcode)
{
	return (opcode & 0x8) != 0;
}

/* A close code a peer may send (RFC 6455 §7.4, as wslay accepts them). */
static bool
code_receivable(uint16_t code)
{
	return (code >= 1000 && code <= 1011 && code != 1004 && code != 1005 &&
	    code != 1006) || (code >= 3000 && code <= 4999);
}

/* A close code a server may put on the wire (§7.4.1, IANA registry). */
static bool
code_sendable(uint16_t code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999);
}

/* ---- the reference model ------------------------------------------------ */

/*
 * What a correct server does with the stream.  ref_run walks the client's
 * frames with the checks in the order wslay makes them and stops at the
 * end of the input, at the peer's close, or at the first error.  Like
 * wslay, it judges a frame once its header and (unless it is empty) at
 * least one payload byte have arrived.
 */
struct ref {
	uint16_t fail_code;   /* 0: the stream is valid (as far as it goes) */
	const char *why;      /* the model's reason for fail_code */
	bool closed;          /* a valid close frame came */
	struct bytes close;   /* its payload: the echo must carry it */
	struct items messages;
	struct items pings;
};

struct ref_state {
	const uint8_t *in, *end;
	bool in_message;      /* a fragmented data message is open */
	uint8_t msg_opcode;
	struct bytes msg;     /* its payload so far */
	struct utf8 msg_utf8;
};

/* The 2..14 header bytes: 1, or 0 when the input ends first, -1 if bad. */
static int
ref_header(struct ref_state *s, struct ref *r, uint8_t *b0, bool *masked,
    uint64_t *len, uint8_t key[4])
{
	size_t avail = (size_t)(s->end - s->in), hlen = 2;
	uint8_t len7;

	if (avail < 2)
		return 0;
	*b0 = s->in[0];
	*masked = (s->in[1] & 0x80) != 0;
	len7 = s->in[1] & 0x7f;
	if (is_control(*b0 & 0xf) && (len7 > CONTROL_MAX || !(*b0 & 0x80))) {
		r->why = "control frame fragmented or over 125 bytes";
		return -1;
	}
	*len = len7;
	if (len7 >= 126) {
		size_t ext = len7 == 126 ? 2 : 8;

		if (avail < 2 + ext)
			return 0;
		*len = 0;
		for (size_t i = 0; i < ext; i++)
			*len = *len << 8 | s->in[2 + i];
		hlen += ext;
		if ((ext == 2 && *len < 126) ||
		    (ext == 8 && (*len < 65536 || *len >> 63))) {
			r->why = "length not in its shortest form, or over 2^63";
			return -1;
		}
	}
	if (*masked) {
		if (avail < hlen + 4)
			return 0;
		memcpy(key, s->in + hlen, 4);
		hlen += 4;
	}
	s->in += hlen;
	return 1;
}

/* Frame-start checks (wslay_event_recv, then reader_frame_start). */
static bool
ref_frame_start(struct ref_state *s, struct ref *r, uint8_t b0, bool masked,
    uint64_t len)
{
	uint8_t op = b0 & 0xf;

	r->fail_code = CLOSE_PROTOCOL_ERROR;
	if ((b0 & 0x70) || !masked)
		r->why = "RSV bits, or an unmasked client frame";
	else if (op != MSG_CONTINUATION && op != MSG_TEXT && op != MSG_BINARY &&
	    op != MSG_CLOSE && op != MSG_PING && op != MSG_PONG)
		r->why = "reserved opcode";
	else if (s->in_message && (op == MSG_TEXT || op == MSG_BINARY))
		r->why = "a new message inside a fragmented one";
	else if (!s->in_message && op == MSG_CONTINUATION)
		r->why = "continuation without a message";
	else if (!is_control(op) && s->msg.len + len > MAX_MESSAGE) {
		r->fail_code = CLOSE_TOO_BIG;
		r->why = "message too big";
	} else if (op == MSG_CLOSE && len == 1)
		r->why = "a close frame with a 1-byte body";
	else {
		r->fail_code = 0;
		return true;
	}
	return false;
}

/* A complete ping, pong or close; false when the stream stops here. */
static bool
ref_control_done(struct ref *r, uint8_t op, const uint8_t *ctl, size_t len)
{
	if (op == MSG_PING)
		items_add(&r->pings, op, ctl, len);
	if (op != MSG_CLOSE)
		return true;
	if (len >= 2 && !code_receivable((uint16_t)(ctl[0] << 8 | ctl[1]))) {
		r->fail_code = CLOSE_PROTOCOL_ERROR;
		r->why = "close code not allowed on the wire";
		return false;
	}
	r->closed = true;
	bytes_add(&r->close, ctl, len);
	return false;
}

/*
 * One frame whose header is read.  Returns true to go on with the next
 * frame, false when the stream stops (error, close, or end of input).
 */
static bool
ref_frame(struct ref_state *s, struct ref *r, uint8_t b0, bool masked,
    uint64_t len, const uint8_t key[4])
{
	uint8_t op = b0 & 0xf, ctl[CONTROL_MAX];
	size_t avail = (size_t)(s->end - s->in), have;
	struct utf8 ctl_utf8 = { 0 };
	struct utf8 *u = is_control(op) ? &ctl_utf8 : &s->msg_utf8;
	bool text;

	if (len > 0 && avail == 0)
		return false; /* wslay looks at a frame once payload arrives */
	if (!ref_frame_start(s, r, b0, masked, len))
		return false;
	if (op == MSG_TEXT || op == MSG_BINARY) {
		s->in_message = true;
		s->msg_opcode = op;
		s->msg_utf8 = (struct utf8){ 0 };
	}
	text = !is_control(op) && s->msg_opcode == MSG_TEXT;
	have = avail < len ? avail : (size_t)len;
	for (size_t i = 0; i < have; i++) {
		uint8_t c = s->in[i] ^ key[i % 4];

		if (is_control(op))
			ctl[i] = c;
		else
			bytes_add(&s->msg, &c, 1);
		if ((text || (op == MSG_CLOSE && i >= 2)) && !utf8_step(u, c)) {
			r->fail_code = CLOSE_INVALID_DATA;
			r->why = "invalid UTF-8";
			return false;
		}
	}
	s->in += have;
	if (have < len)
		return false; /* the input ends inside this frame */
	if (!(b0 & 0x80))
		return true;
	if ((text || op == MSG_CLOSE) && u->need != 0) {
		r->fail_code = CLOSE_INVALID_DATA;
		r->why = "UTF-8 cut short at the end of the message";
		return false;
	}
	if (is_control(op))
		return ref_control_done(r, op, ctl, have);
	items_add(&r->messages, s->msg_opcode, s->msg.p, s->msg.len);
	s->in_message = false;
	s->msg.len = 0;
	return true;
}

static void
ref_run(const uint8_t *in, size_t len, struct ref *r)
{
	struct ref_state s = { .in = in, .end = in + len };

	for (;;) {
		uint8_t b0 = 0, key[4] = { 0 };
		bool masked = false;
		uint64_t flen = 0;
		int rc = ref_header(&s, r, &b0, &masked, &flen, key);

		if (rc < 0)
			r->fail_code = CLOSE_PROTOCOL_ERROR;
		if (rc <= 0 || !ref_frame(&s, r, b0, masked, flen, key))
			break;
	}
	free(s.msg.p);
}

/* ---- server frames -------------------------------------------------------- */

struct frame {
	uint8_t opcode;
	const uint8_t *payload;
	size_t len, wire_len;
};

/* Parses one server frame at p[0..n) strictly; fails on anything else. */
static void
parse_server_frame(const uint8_t *p, size_t n, struct frame *f,
    const char *where)
{
	size_t hlen = 2;
	uint64_t len;

	if (n < 2)
		fail("%s: %zu stray bytes", where, n);
	if ((p[0] & 0xf0) != 0x80)
		fail("%s: frame byte 0 is 0x%02x: not final, or RSV bits set",
		    where, p[0]);
	if (p[1] & 0x80)
		fail("%s: masked server frame", where);
	f->opcode = p[0] & 0xf;
	len = p[1] & 0x7f;
	if (len >= 126) {
		size_t ext = len == 126 ? 2 : 8;

		if (n < 2 + ext)
			fail("%s: frame header cut short", where);
		len = 0;
		for (size_t i = 0; i < ext; i++)
			len = len << 8 | p[2 + i];
		hlen += ext;
		if ((ext == 2 && len < 126) || (ext == 8 && len < 65536))
			fail("%s: %llu-byte payload with a %zu-byte length", where,
			    (unsigned long long)len, ext);
	}
	if (len > n - hlen)
		fail("%s: frame of %llu bytes, %zu present", where,
		    (unsigned long long)len, n - hlen);
	if (f->opcode != MSG_TEXT && f->opcode != MSG_BINARY &&
	    f->opcode != MSG_CLOSE && f->opcode != MSG_PING &&
	    f->opcode != MSG_PONG)
		fail("%s: opcode %u", where, f->opcode);
	if (is_control(f->opcode) && len > CONTROL_MAX)
		fail("%s: %llu-byte control frame", where, (unsigned long long)len);
	f->payload = p + hlen;
	f->len = (size_t)len;
	f->wire_len = hlen + (size_t)len;
}

/* A close body: empty, or a code a server may send and a UTF-8 reason. */
static void
check_close_body(const struct frame *f)
{
	uint16_t code;

	if (f->len == 0)
		return;
	if (f->len == 1)
		fail("server close with a 1-byte body");
	code = (uint16_t)(f->payload[0] << 8 | f->payload[1]);
	if (!code_sendable(code))
		fail("server close with code %u", code);
	if (!utf8_valid(f->payload + 2, f->len - 2))
		fail("server close %u with a reason that is not UTF-8", code);
}

/* ---- the simulated socket, hub and writer -------------------------------- */

struct sim {
	const uint8_t *sizes;   /* chunk sizes, used in turn */
	size_t n_sizes, next_size;
	const uint8_t *in;      /* the client's stream after the early bytes */
	size_t in_len, in_off, chunk_end;
	bool eof;               /* the peer has closed: read returns 0 */
	bool stalled;           /* the writer takes nothing until the end */
	bool silent;            /* at the end, poll times out instead of EOF */
	int idle_polls;         /* wake-ups in a row without a read */
	conn_t *c;
	/* What the server did. */
	struct bytes lane;      /* the priority lane, in order */
	struct items published; /* messages handed to hub_broadcast */
	int unregisters;
};

static struct sim *sim;

/* The writer: takes every frame the reader queued for it. */
static void
sim_take_lane(void)
{
	void *m;

	while (chan_try_recv(sim->c->send, &m) == CHAN_OK) {
		bytes_add(&sim->lane, msg_wire(m), msg_wire_len(m));
		msg_unref(m);
	}
}

/* The writer, once the queue is drained: the reader's close, if any. */
static void
sim_take_final_close(void)
{
	msg_t *m = atomic_exchange(&sim->c->final_close, NULL);

	if (m != NULL) {
		bytes_add(&sim->lane, msg_wire(m), msg_wire_len(m));
		msg_unref(m);
	}
}

/* Waiting for input: a wake-up that finds the next chunk, or EOF. */
static int
sim_wait_readable(conn_t *c, const struct timespec *deadline)
{
	size_t size;
	uint8_t b;

	(void)deadline;
	if (c != sim->c)
		fail("a wait on another connection");
	if (++sim->idle_polls > SPIN_LIMIT)
		fail("the reader spins: %d wake-ups without reading, at byte "
		    "%zu of %zu", sim->idle_polls, sim->in_off, sim->in_len);
	if (!sim->stalled)
		sim_take_lane();
	if (sim->in_off < sim->chunk_end)
		return 1; /* still readable */
	if (sim->in_off == sim->in_len) {
		if (sim->silent) {
			sim->idle_polls = 0;
			return 0; /* the deadline passed */
		}
		sim->eof = true;
		return 1;
	}
	b = sim->n_sizes ? sim->sizes[sim->next_size++ % sim->n_sizes] : 0;
	size = b == 0 ? sim->in_len : b < 128 ? b : (size_t)(b - 127) * 256;
	sim->chunk_end = sim->in_len - sim->in_off < size ? sim->in_len :
	    sim->in_off + size;
	return 1;
}

/* read(2) on the non-blocking socket. */
static ssize_t
sim_read(conn_t *c, void *buf, size_t len)
{
	size_t n;

	if (c != sim->c)
		fail("a read from another connection");
	if (sim->in_off == sim->chunk_end) {
		if (sim->eof) {
			sim->idle_polls = 0;
			return 0;
		}
		errno = EAGAIN;
		return -1;
	}
	n = sim->chunk_end - sim->in_off < len ? sim->chunk_end - sim->in_off :
	    len;
	memcpy(buf, sim->in + sim->in_off, n);
	sim->in_off += n;
	sim->idle_polls = 0;
	return (ssize_t)n;
}

/* The hub takes the reader's reference; here each message is checked. */
static int
sim_broadcast(conn_t *from, msg_t *m)
{
	struct frame f;

	if (from != sim->c)
		fail("broadcast from another connection");
	parse_server_frame(msg_wire(m), msg_wire_len(m), &f, "broadcast");
	if (f.wire_len != msg_wire_len(m))
		fail("broadcast frame has %zu trailing bytes",
		    msg_wire_len(m) - f.wire_len);
	if (f.opcode != MSG_TEXT && f.opcode != MSG_BINARY)
		fail("broadcast of opcode %u", f.opcode);
	if (f.len > MAX_MESSAGE)
		fail("broadcast of %zu bytes, over --max-message", f.len);
	if (f.opcode == MSG_TEXT && !utf8_valid(f.payload, f.len))
		fail("broadcast text message is not UTF-8");
	items_add(&sim->published, f.opcode, f.payload, f.len);
	msg_unref(m);
	return 0;
}

static void
sim_unregister(conn_t *c)
{
	if (c != sim->c)
		fail("unregister of another connection");
	sim->unregisters++;
}

/* ---- the verdict ---------------------------------------------------------- */

/*
 * The priority lane as the writer sends it: frames up to the first close
 * (writer_write_batch stops there).  Pongs must answer pings, in order.
 * Returns true and the close frame if there is one.
 */
static bool
check_lane(const struct ref *r, struct frame *close, size_t *pongs)
{
	const struct items *pings = &r->pings;
	size_t off = 0, ping = 0;

	*pongs = 0;
	while (off < sim->lane.len) {
		struct frame f;

		parse_server_frame(sim->lane.p + off, sim->lane.len - off, &f,
		    "priority lane");
		off += f.wire_len;
		if (f.opcode == MSG_CLOSE) {
			check_close_body(&f);
			*close = f;
			return true;
		}
		if (f.opcode != MSG_PONG)
			fail("priority lane holds opcode %u", f.opcode);
		while (ping < pings->n && (pings->v[ping].len != f.len ||
		    memcmp(items_payload(pings, ping), f.payload, f.len) != 0))
			ping++;
		if (ping++ == pings->n)
			fail("pong %zu answers no ping", *pongs);
		(*pongs)++;
	}
	return false;
}

/* The broadcasts are the stream's messages: all of them, or a prefix. */
static void
check_messages(const struct ref *r, bool prefix_only)
{
	const struct items *got = &sim->published;

	for (size_t i = 0; i < got->n && i < r->messages.n; i++)
		if (!items_equal(got, i, &r->messages, i))
			fail("message %zu: broadcast opcode %u, %zu bytes; the "
			    "stream holds opcode %u, %zu bytes", i, got->v[i].opcode,
			    got->v[i].len, r->messages.v[i].opcode,
			    r->messages.v[i].len);
	if (got->n > r->messages.n || (!prefix_only && got->n < r->messages.n))
		fail("%zu messages broadcast, the stream holds %zu (%s)", got->n,
		    r->messages.n, r->fail_code ? r->why : "a valid stream");
}

/*
 * Compares what the server did with what the model says it must do.  The
 * server's close is the reader's (after the pongs), or else the one the
 * writer sends when the send channel closes (c->farewell: 1000, or 1001
 * after a pong timeout, unless the reader chose another).
 */
static void
check_verdict(const struct ref *r)
{
	enum farewell bye = conn_farewell(sim->c);
	uint16_t writer_code = farewells[bye].code;
	uint16_t quiet_code = sim->silent ? CLOSE_GOING_AWAY : CLOSE_NORMAL;
	bool flooded = bye == BYE_FLOOD;
	struct frame close = { 0 };
	size_t pongs;
	bool on_lane = check_lane(r, &close, &pongs);
	uint16_t code = !on_lane ? writer_code : close.len >= 2 ?
	    (uint16_t)(close.payload[0] << 8 | close.payload[1]) : 0;

	if (sim->unregisters != 1)
		fail("the reader unregistered %d times", sim->unregisters);
	if (!on_lane && !code_sendable(writer_code))
		fail("the writer would close with %u", writer_code);
	if (flooded && !sim->stalled)
		fail("a control frame flood with a writer that keeps up");
	check_messages(r, flooded);
	if (flooded)
		return; /* the reader stopped early, rightly */
	if (r->fail_code != 0) {
		if (code != r->fail_code)
			fail("the stream is invalid (%s): expected close %u, the "
			    "%s closes with %u", r->why, r->fail_code,
			    on_lane ? "reader" : "writer", code);
		return;
	}
	if (!r->closed && (on_lane || code != quiet_code))
		fail("a valid stream was failed: the %s closes with %u",
		    on_lane ? "reader" : "writer", code);
	if (r->closed && (!on_lane ||
	    !same_bytes(close.payload, close.len, r->close.p, r->close.len)))
		fail("the peer's close (%zu bytes) was not echoed: the %s closes "
		    "with %u (%zu bytes)", r->close.len,
		    on_lane ? "reader" : "writer", code, close.len);
	if (pongs != r->pings.n)
		fail("%zu pings in a valid stream, %zu pongs (RFC 6455 §5.5.2)",
		    r->pings.n, pongs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct conn_io sim_io = {
		.read = sim_read,
		.wait_readable = sim_wait_readable,
		.broadcast = sim_broadcast,
		.unregister = sim_unregister,
	};
	static struct config cfg;
	static struct stats stats;
	struct conn_env env = { .cfg = &cfg, .stats = &stats, .io = &sim_io };
	struct sim s = { 0 };
	struct ref r = { 0 };
	size_t k, early = 0;
	int fd;

	if (len == 0 || len < 1 + (size_t)(data[0] & 7))
		return 0;
	config_defaults(&cfg);
	log_set_level(LOG_ERROR);
	k = data[0] & 7;
	s.sizes = data + 1;
	s.n_sizes = k;
	s.stalled = (data[0] & 0x10) != 0;
	s.silent = (data[0] & 0x20) != 0;
	s.in = data + 1 + k;
	s.in_len = len - 1 - k;
	ref_run(s.in, s.in_len, &r);
	if (data[0] & 0x08) { /* the first chunk came with the request */
		uint8_t b = k ? data[1] : 0;

		early = b == 0 ? s.in_len : b < 128 ? b : (size_t)(b - 127) * 256;
		early = early > EARLY_MAX ? EARLY_MAX : early;
		early = early > s.in_len ? s.in_len : early;
		s.next_size = k ? 1 : 0;
	}
	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		abort();
	sim = &s;
	s.c = conn_new(fd, "fuzz", s.in, early, msg_new_encoded(MSG_RAW, NULL, 0),
	    &env); /* owns fd; an empty 101 */
	s.in += early;
	s.in_len -= early;
	reader_main(s.c);
	sim_take_lane();
	sim_take_final_close();
	check_verdict(&r);
	conn_unref(s.c);
	sim = NULL;
	free(s.lane.p);
	items_free(&s.published);
	items_free(&r.messages);
	items_free(&r.pings);
	free(r.close.p);
	if (msg_live() != 0)
		fail("%ld messages never freed", msg_live());
	return 0;
}
