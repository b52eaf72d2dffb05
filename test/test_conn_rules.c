/*
 * The rules of a connection's two threads, each proved over an in-memory
 * pipe (support/pipe.c) with a clock the test advances
 * (support/testclock.c): no socket, no real wait, no duration asserted.
 * The socket tests (test_conn.c, test_hub.c, test_message_path.c) prove
 * the whole over real sockets.
 *
 * The reader and the writer are started one by one where the test needs
 * to say what is queued before the writer first looks.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "../src/conn_private.h" /* the send channel, white-box */
#include "support/pipe.h"
#include "support/testclock.h"
#include "wshub/deadline.h"
#include "wshub/log.h"
#include "wshub/reader.h"
#include "wshub/writer.h"

static const char response_101[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";

struct rig {
	struct config cfg;
	struct stats stats;
	chan_t *reaper;
	hub_t *hub; /* PIPE_HUB only */
	struct test_pipe *pipe;
	struct conn_env env;
	conn_t *c;
	long live;  /* messages alive before the test */
};

static struct rig r;

/* A connection over a pipe, not started yet; its writer may send nothing. */
static void
rig_init(enum test_pipe_hub mode)
{
	log_set_level(LOG_ERROR);
	test_clock_install();
	r.live = msg_live();
	config_defaults(&r.cfg);
	stats_init(&r.stats);
	r.reaper = chan_new(4, 0);
	if (mode == PIPE_HUB) {
		r.hub = hub_new(&r.stats, 64, MAX_ROOMS);
		cr_assert_eq(hub_start(r.hub), 0);
	}
	r.pipe = test_pipe_new(mode, r.hub);
	r.env = (struct conn_env){ .cfg = &r.cfg, .hub = r.hub,
	    .stats = &r.stats, .reaper = r.reaper, .io = &test_pipe_io,
	    .io_arg = r.pipe };
}

static void
rig_conn(void)
{
	r.c = conn_new(-1, "pipe", NULL, 0, msg_new_encoded(MSG_RAW,
	    response_101, strlen(response_101)), &r.env);
	if (r.hub != NULL)
		cr_assert_eq(hub_register(r.hub, conn_client(r.c), DEFAULT_ROOM),
		    0);
}

static void
start_reader(void)
{
	r.c->reader_started = true;
	cr_assert_eq(pthread_create(&r.c->reader, NULL, reader_main, r.c), 0);
}

static void
start_writer(void)
{
	r.c->writer_started = true;
	cr_assert_eq(pthread_create(&r.c->writer, NULL, writer_main, r.c), 0);
}

/* The client leaves (room, then EOF) and the connection is reaped.  The
 * reaper's receive is bounded by the test's .timeout. */
static void
rig_reap(void)
{
	void *done;

	test_pipe_set_room(r.pipe, SIZE_MAX);
	test_pipe_eof(r.pipe);
	cr_assert_eq(chan_recv(r.reaper, &done), CHAN_OK);
	cr_assert_eq(done, r.c);
	conn_reap(r.c);
}

/* Everything is freed, and no message leaked. */
static void
rig_free(void)
{
	if (r.hub != NULL) {
		hub_shutdown(r.hub);
		hub_join(r.hub);
		hub_free(r.hub);
	}
	chan_free(r.reaper);
	test_pipe_free(r.pipe);
	cr_assert_eq(msg_live(), r.live, "%ld messages leaked",
	    msg_live() - r.live);
}

static void
rig_finish(void)
{
	rig_reap();
	rig_free();
}

static void
expect_101(void)
{
	char head[sizeof(response_101)] = "";

	cr_assert_eq(test_pipe_read(r.pipe, head, strlen(response_101)), 0);
	cr_assert_str_eq(head, response_101, "the first bytes are the 101");
}

/* The next frame the writer sent: its opcode, and payload in `p`. */
static int
next_frame(uint8_t *p, size_t cap, size_t *len)
{
	int op = -1;

	cr_assert_eq(test_pipe_read_frame(r.pipe, &op, p, cap, len), 0,
	    "a frame came");
	return op;
}

static void
expect_text(const char *text)
{
	uint8_t p[128];
	size_t len;

	cr_assert_eq(next_frame(p, sizeof(p), &len), MSG_TEXT);
	cr_assert_eq(len, strlen(text));
	cr_assert_eq(memcmp(p, text, len), 0, "expected \"%s\"", text);
}

/* The next frame is a close with `code`; its reason in `reason` (up to
 * 123 bytes and a NUL). */
static void
expect_close_reason(uint16_t code, char reason[124])
{
	uint8_t p[128];
	size_t len;

	cr_assert_eq(next_frame(p, sizeof(p), &len), MSG_CLOSE);
	cr_assert_geq(len, 2);
	cr_assert_leq(len, 125);
	cr_assert_eq(p[0] << 8 | p[1], code);
	memcpy(reason, p + 2, len - 2);
	reason[len - 2] = '\0';
}

static void
expect_close(uint16_t code)
{
	char reason[124];

	expect_close_reason(code, reason);
}

/* The next frame is a close with `code` and `reason`. */
static void
expect_close_saying(uint16_t code, const char *reason)
{
	char got[124];

	expect_close_reason(code, got);
	cr_assert_str_eq(got, reason);
}

/* Waits (bounded in real time) until the hub has queued `n` items for
 * the client; the hub thread sleeps on no clock, so the test looks. */
static void
await_queued(size_t n)
{
	struct timespec bound = deadline_real_now();

	bound.tv_sec += TEST_PIPE_BOUND_MS / 1000;
	while (chan_len(r.c->send) != n) {
		struct timespec now = deadline_real_now();

		cr_assert(n == 0 || atomic_load(&r.c->client.verdict) ==
		    HUB_VERDICT_NONE, "dropped early, with %zu queued",
		    chan_len(r.c->send));
		cr_assert(now.tv_sec < bound.tv_sec ||
		    (now.tv_sec == bound.tv_sec && now.tv_nsec < bound.tv_nsec),
		    "%zu queued, not %zu", chan_len(r.c->send), n);
		sched_yield();
	}
}

/* The 101 is first in the priority lane of the new channel: whatever is
 * queued before the writer first runs (a pong, data), the 101 goes first. */
Test(conn_rules, the_101_goes_out_before_any_frame, .timeout = 30)
{
	rig_init(PIPE_ECHO);
	rig_conn();
	cr_assert_eq(chan_send_priority(r.c->send,
	    msg_new_frame(MSG_PONG, "p", 1)), CHAN_OK);
	cr_assert_eq(chan_send(r.c->send, msg_new_frame(MSG_TEXT, "d", 1)),
	    CHAN_OK);
	test_pipe_set_room(r.pipe, SIZE_MAX);
	start_reader();
	start_writer();
	expect_101();
	cr_assert_eq(next_frame((uint8_t[8]){ 0 }, 8, &(size_t){ 0 }),
	    MSG_PONG);
	expect_text("d");
	test_pipe_eof(r.pipe); /* the reader ends: the writer says 1000 */
	expect_close(CLOSE_NORMAL);
	rig_finish();
}

/* The peer's close is echoed after every message queued before it: the
 * reader leaves it for the writer, which sends it once the queue is
 * drained, never on the priority lane. */
Test(conn_rules, a_close_never_overtakes_queued_data, .timeout = 30)
{
	rig_init(PIPE_ECHO);
	rig_conn();
	test_pipe_write_frame(r.pipe, MSG_TEXT, "a", 1);
	test_pipe_write_frame(r.pipe, MSG_TEXT, "b", 1);
	test_pipe_write_frame(r.pipe, MSG_CLOSE, "\x03\xe8", 2);
	start_reader();
	/* It read all three and now drains: the echoes and the close are
	 * where it left them, before the writer has looked. */
	cr_assert(test_pipe_await_consumed(r.pipe));
	cr_assert_eq(test_pipe_unregisters(r.pipe), 1);
	test_pipe_set_room(r.pipe, SIZE_MAX);
	start_writer();
	expect_101();
	expect_text("a");
	expect_text("b");
	expect_close(CLOSE_NORMAL);
	rig_finish();
}

/* Under a queue that never empties, a ping that is due goes out with the
 * next batch, not once the queue is empty; and not before it is due. */
Test(conn_rules, pings_keep_their_schedule_while_the_queue_never_empties,
    .timeout = 30)
{
	enum { N = 40 };
	uint8_t p[16];
	size_t len;
	int data_before_ping = -1, data = 0;

	rig_init(PIPE_ECHO);
	r.cfg.ping_interval_ms = 1000;
	r.cfg.pong_timeout_ms = 1000000;
	r.cfg.write_timeout_ms = 1000000;
	rig_conn();
	for (int i = 0; i < N; i++) {
		char t[8];

		snprintf(t, sizeof(t), "%d", i);
		cr_assert_eq(chan_send(r.c->send, msg_new_frame(MSG_TEXT, t,
		    strlen(t))), CHAN_OK);
	}
	start_reader();
	start_writer();
	/* Its first batch is out of the queue, stuck on the full socket. */
	cr_assert(test_pipe_await_waiters(r.pipe, true, 1));
	test_clock_advance_ms(r.cfg.ping_interval_ms); /* a ping is due */
	test_pipe_set_room(r.pipe, SIZE_MAX);
	expect_101();
	while (data < N) {
		int op = next_frame(p, sizeof(p), &len);

		if (op == MSG_PING) {
			cr_assert_eq(data_before_ping, -1, "one ping");
			data_before_ping = data;
			continue;
		}
		cr_assert_eq(op, MSG_TEXT);
		cr_assert_eq(atoi((char[8]){ p[0], len > 1 ? p[1] : 0 }), data,
		    "data in order");
		data++;
	}
	cr_assert_geq(data_before_ping, 1, "no ping before it was due");
	cr_assert_lt(data_before_ping, N - 1, "the ping waited for the queue "
	    "to empty (%d messages before it)", data_before_ping);
	test_pipe_eof(r.pipe);
	expect_close(CLOSE_NORMAL);
	rig_finish();
}

/* A socket that takes nothing for --write-timeout: the writer gives up at
 * the deadline, not before, counts a slow client and closes without a
 * close frame (the socket takes none). */
Test(conn_rules, the_write_timeout_drops_a_client_whose_socket_takes_nothing,
    .timeout = 30)
{
	rig_init(PIPE_ECHO);
	r.cfg.write_timeout_ms = 4000;
	r.cfg.ping_interval_ms = 1000000;
	r.cfg.pong_timeout_ms = 1000000;
	rig_conn();
	start_reader();
	start_writer();
	cr_assert(test_pipe_await_waiters(r.pipe, true, 1), "the writer waits");
	cr_assert(test_pipe_await_waiters(r.pipe, false, 1), "the reader waits");
	cr_assert_neq(atomic_load(&r.c->client.stalled_since_ms), 0,
	    "the writer says it is stuck on the peer");
	test_clock_advance_ms(r.cfg.write_timeout_ms - 1);
	cr_assert_eq(test_clock_timeouts(), 0, "no deadline passed yet");
	cr_assert_eq(r.stats.slow_client_drops, 0);
	test_clock_advance_ms(1);
	cr_assert(test_pipe_await_waiters(r.pipe, true, 0));
	rig_reap(); /* the writer ends by itself; then the client goes */
	cr_assert_eq(r.stats.slow_client_drops, 1, "counted once");
	cr_assert_eq(test_pipe_unread(r.pipe), 0, "nothing was sent");
	rig_free();
}

/* Nothing read for --pong-timeout: the reader gives up at the deadline,
 * not before, and the writer says 1001 "pong timeout"; every frame read
 * (here a pong) moves the deadline. */
Test(conn_rules, the_pong_timeout_closes_a_silent_client, .timeout = 30)
{
	uint8_t p[64];
	size_t len;

	rig_init(PIPE_ECHO);
	r.cfg.pong_timeout_ms = 6000;
	r.cfg.ping_interval_ms = 1000000;
	rig_conn();
	test_pipe_set_room(r.pipe, SIZE_MAX);
	start_reader();
	start_writer();
	expect_101();
	cr_assert(test_pipe_await_waiters(r.pipe, false, 1));
	test_clock_advance_ms(r.cfg.pong_timeout_ms - 1);
	cr_assert_eq(test_clock_timeouts(), 0, "no deadline passed yet");
	test_pipe_write_frame(r.pipe, MSG_PONG, "", 0);
	cr_assert(test_pipe_await_consumed(r.pipe));
	test_clock_advance_ms(r.cfg.pong_timeout_ms - 1);
	cr_assert_eq(test_clock_timeouts(), 0, "the pong kept it alive");
	cr_assert_eq(test_pipe_unread(r.pipe), 0, "nothing sent yet");
	test_clock_advance_ms(1);
	cr_assert_eq(next_frame(p, sizeof(p), &len), MSG_CLOSE);
	cr_assert_eq(p[0] << 8 | p[1], CLOSE_GOING_AWAY);
	cr_assert_eq(len, 2 + strlen("pong timeout"));
	cr_assert_eq(memcmp(p + 2, "pong timeout", len - 2), 0);
	rig_finish();
}

/* The hub's rule (client_is_slow): more than --send-queue messages wait
 * AND the writer has been stuck on the socket for half the write timeout:
 * then the hub drops the client, discarding its queue, and the writer
 * says 1008 once the socket takes it.  Not a moment before the stall
 * clock says so, and long before the write timeout could. */
Test(conn_rules, the_hub_drops_a_client_stalled_past_the_stall_clock,
    .timeout = 30)
{
	int64_t stall;

	rig_init(PIPE_HUB);
	r.cfg.send_queue = 2;
	r.cfg.write_timeout_ms = 10000;
	r.cfg.ping_interval_ms = 1000000;
	r.cfg.pong_timeout_ms = 1000000;
	stall = SLOW_STALL_MS(r.cfg.write_timeout_ms);
	rig_conn();
	start_reader();
	start_writer();
	/* The writer has the 101 and is stuck: the stall clock runs. */
	cr_assert(test_pipe_await_waiters(r.pipe, true, 1));
	for (int i = 0; i < 3; i++)
		test_pipe_write_frame(r.pipe, MSG_TEXT, "x", 1);
	await_queued(3); /* the echoes: past --send-queue */
	test_clock_advance_ms(stall - 1);
	test_pipe_write_frame(r.pipe, MSG_TEXT, "y", 1);
	await_queued(4);
	cr_assert_eq(r.stats.slow_client_drops, 0, "not slow before the stall "
	    "clock says so");
	cr_assert_eq(atomic_load(&r.c->client.verdict), HUB_VERDICT_NONE);
	test_clock_advance_ms(1);
	test_pipe_write_frame(r.pipe, MSG_TEXT, "z", 1);
	await_queued(0); /* dropped: its queue discarded */
	cr_assert_eq(r.stats.slow_client_drops, 1);
	cr_assert_eq(atomic_load(&r.c->client.verdict), HUB_VERDICT_STALLED);
	cr_assert_eq(test_pipe_unread(r.pipe), 0, "the writer is still stuck");
	test_pipe_set_room(r.pipe, SIZE_MAX);
	expect_101();
	expect_close_saying(CLOSE_POLICY_VIOLATION, "stopped reading");
	/* and no data before it */
	rig_finish();
}

/* The hard cap: a queue that would pass --send-queue-bytes is dropped at
 * once, whatever the stall clock says (here it never moves), and the close
 * names the rule. */
Test(conn_rules, the_hub_drops_a_client_at_its_hard_cap_in_bytes,
    .timeout = 30)
{
	char payload[100];

	memset(payload, 'q', sizeof(payload));
	rig_init(PIPE_HUB);
	r.cfg.send_queue_bytes = 1000; /* ten echoes of 102 wire bytes */
	rig_conn();
	start_reader();
	start_writer();
	cr_assert(test_pipe_await_waiters(r.pipe, true, 1)); /* stuck */
	for (int i = 0; i < 9; i++)
		test_pipe_write_frame(r.pipe, MSG_TEXT, payload, sizeof(payload));
	await_queued(9);
	cr_assert_eq(r.stats.slow_client_drops, 0, "918 bytes fit");
	test_pipe_write_frame(r.pipe, MSG_TEXT, payload, sizeof(payload));
	await_queued(0); /* the tenth would pass 1000 bytes: dropped */
	cr_assert_eq(r.stats.slow_drops_queue_full, 1);
	cr_assert_eq(r.stats.slow_drops_stalled, 0);
	cr_assert_eq(atomic_load(&r.c->client.verdict), HUB_VERDICT_QUEUE_FULL);
	test_pipe_set_room(r.pipe, SIZE_MAX);
	expect_101();
	expect_close_saying(CLOSE_POLICY_VIOLATION, "send queue full");
	rig_finish();
}

/* Readers holding a frame parser (wslay's context) now. */
static long
parsers(void)
{
	return stats_get(&r.stats.frame_parsers);
}

/* A reader holds a frame parser only while a frame or a fragmented
 * message is half-read: an idle connection holds none (reader_park). */
Test(conn_rules, an_idle_reader_holds_no_frame_parser, .timeout = 30)
{
	/* Masked with a zero key: the payloads as they are. */
	static const uint8_t half[] = { 0x81, 0x85, 0, 0, 0, 0, 'h', 'e' };
	static const uint8_t first[] = { 0x01, 0x83, 0, 0, 0, 0, 'a', 'b', 'c' };
	static const uint8_t last[] = { 0x80, 0x83, 0, 0, 0, 0, 'd', 'e', 'f' };

	rig_init(PIPE_ECHO);
	rig_conn();
	test_pipe_set_room(r.pipe, SIZE_MAX);
	start_reader();
	start_writer();
	expect_101();
	cr_assert(test_pipe_await_waiters(r.pipe, false, 1));
	cr_assert_eq(parsers(), 0, "a reader that read nothing holds none");
	test_pipe_write(r.pipe, half, sizeof(half));
	cr_assert(test_pipe_await_consumed(r.pipe));
	cr_assert_eq(parsers(), 1, "half a frame keeps its parser");
	test_pipe_write(r.pipe, "llo", 3);
	expect_text("hello");
	cr_assert(test_pipe_await_consumed(r.pipe));
	cr_assert_eq(parsers(), 0, "a whole frame read: the parser is freed");
	test_pipe_write(r.pipe, first, sizeof(first));
	test_pipe_write_frame(r.pipe, MSG_PING, "p", 1);
	cr_assert_eq(next_frame((uint8_t[8]){ 0 }, 8, &(size_t){ 0 }),
	    MSG_PONG, "a ping inside a fragmented message is answered");
	cr_assert(test_pipe_await_consumed(r.pipe));
	cr_assert_eq(parsers(), 1, "an open fragmented message keeps it");
	test_pipe_write(r.pipe, last, sizeof(last));
	expect_text("abcdef");
	cr_assert(test_pipe_await_consumed(r.pipe));
	cr_assert_eq(parsers(), 0, "the message ended: the parser is freed");
	test_pipe_write(r.pipe, half, sizeof(half));
	cr_assert(test_pipe_await_consumed(r.pipe));
	rig_finish(); /* EOF in the middle of a frame */
	cr_assert_eq(parsers(), 0, "reading ended: the parser is freed");
}
