/*
 * A connection's two threads over real sockets: the reader's deadline
 * (pongs keep a client, silence drops it), its close codes for protocol
 * errors, pongs overtaking queued data, a ping flood, and a reset
 * mid-frame.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/expect.h"
#include "support/fixture.h"
#include "support/testserver.h"
#include "support/wsclient.h"
#include "wshub/xmalloc.h"

Test(conn, abrupt_reset_mid_frame_leaves_others_working, .init = start,
    .fini = stop, .timeout = 30)
{
	int a = ws_open(ts.port), b = ws_open(ts.port);
	struct linger hard = { 1, 0 };
	static const uint8_t partial[] = { 0x81, 0x85, 1, 2, 3, 4, 'x' };

	expect_clients(&ts, 2);
	ws_write_all(b, partial, sizeof(partial));
	setsockopt(b, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
	close(b); /* RST in the middle of a frame */
	expect_clients(&ts, 1);
	ws_send(a, 0x1, "ok", 2);
	expect_frame(a, 0x1, "ok", 2);
	close(a);
}

Test(conn, silent_client_is_removed_within_the_pong_timeout, .timeout = 30)
{
	int quiet;
	struct ws_frame f;
	int pings = 0, closes = 0, code = 0;

	test_server_init(&ts);
	ts.cfg.pong_timeout_ms = 400;
	ts.cfg.ping_interval_ms = 150;
	test_server_start(&ts);
	quiet = ws_open(ts.port); /* reads pings, never answers them */
	expect_clients(&ts, 1);
	while (ws_recv(quiet, &f, WS_TIMEOUT_MS) == 0) {
		pings += f.opcode == 0x9;
		if (f.opcode == 0x8) {
			closes++;
			code = f.len >= 2 ? f.payload[0] << 8 | f.payload[1] : 0;
			cr_assert_str_eq((char *)f.payload + 2, "pong timeout");
		}
		ws_frame_free(&f);
	}
	cr_assert_geq(pings, 1, "the writer pings every --ping-interval");
	/* Removed at the pong timeout (2 pings in), not much later: counted
	 * in pings, with room for a busy machine. */
	cr_assert_leq(pings, 20, "still there after %d ping intervals", pings);
	cr_assert_eq(closes, 1, "a best-effort close frame, then TCP close");
	cr_assert_eq(code, 1001, "a pong timeout is 1001 (going away)");
	expect_clients(&ts, 0);
	close(quiet);
	test_server_stop(&ts);
}

Test(conn, pongs_keep_a_client_alive, .timeout = 30)
{
	int c;
	struct ws_frame f;

	test_server_init(&ts);
	ts.cfg.pong_timeout_ms = 300;
	ts.cfg.ping_interval_ms = 100;
	test_server_start(&ts);
	c = ws_open(ts.port);
	for (int i = 0; i < 10; i++) { /* well past several pong timeouts */
		cr_assert_eq(ws_recv(c, &f, WS_TIMEOUT_MS), 0);
		cr_assert_eq(f.opcode, 0x9, "only pings arrive");
		ws_send(c, 0xa, f.payload, f.len);
		ws_frame_free(&f);
	}
	cr_assert_eq(stats_get(&test_server_stats(&ts)->clients), 1);
	close(c);
	test_server_stop(&ts);
}

/* Sends a frame and expects the server's close code, then TCP close. */
static void
expect_close_after(const void *frame, size_t len, int code)
{
	int fd = ws_open(ts.port), skipped;

	cr_assert_eq(ws_write_all(fd, frame, len), 0);
	cr_assert_eq(ws_recv_close(fd, &skipped), code);
	cr_assert_eq(skipped, 0, "nothing is echoed before the close");
	ws_send_close(fd, code, NULL);
	cr_assert(ws_wait_eof(fd, WS_TIMEOUT_MS));
	close(fd);
}

Test(conn, protocol_errors_get_their_close_codes, .timeout = 30)
{
	static const uint8_t unmasked[] = { 0x81, 0x02, 'h', 'i' };
	static const uint8_t bad_utf8[] = { 0x81, 0x82, 0, 0, 0, 0, 0xc0, 0xaf };
	static const uint8_t rsv1[] = { 0xc1, 0x80, 0, 0, 0, 0 };
	static const uint8_t long_ping[] = { 0x89, 0xfe, 0x00, 0x7e, 0, 0, 0, 0 };
	static const uint8_t opcode3[] = { 0x83, 0x80, 0, 0, 0, 0 };
	static const uint8_t close1[] = { 0x88, 0x81, 0, 0, 0, 0, 0x03 };
	/* Declares 65,537 bytes and starts sending them. */
	uint8_t big[18] = { 0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0,
	    'a', 'b', 'c', 'd' };

	test_server_init(&ts);
	ts.cfg.max_message = 1024;
	test_server_start(&ts);
	expect_close_after(unmasked, sizeof(unmasked), 1002);
	expect_close_after(bad_utf8, sizeof(bad_utf8), 1007);
	expect_close_after(rsv1, sizeof(rsv1), 1002);
	expect_close_after(long_ping, sizeof(long_ping), 1002);
	expect_close_after(opcode3, sizeof(opcode3), 1002);
	expect_close_after(close1, sizeof(close1), 1002); /* half a code */
	expect_close_after(big, sizeof(big), 1009);
	/* Counted by each reader as it finishes, maybe after our EOF. */
	cr_assert(test_wait_counter(&test_server_stats(&ts)->protocol_errors, 7,
	    WS_TIMEOUT_MS), "protocol errors counted: %ld",
	    stats_get(&test_server_stats(&ts)->protocol_errors));
	test_server_stop(&ts);
}

/* The most a TCP send buffer grows to here (net.ipv4.tcp_wmem's third
 * field): the server sets no SO_SNDBUF, so autotuning stops there. */
static long
tcp_wmem_max(void)
{
	long lo, def, max = 4L << 20; /* Linux's default */
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld %ld", &lo, &def, &max) != 3)
			max = 4L << 20;
		fclose(f);
	}
	return max;
}

/* Reads frames up to the first pong; returns how many data frames of
 * `size` bytes came before it, checking they came in order. */
static int
data_before_pong(int fd, size_t size)
{
	struct ws_frame f;
	int data = 0;

	for (;;) {
		cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0,
		    "no pong after %d data frames", data);
		if (f.opcode == 0xa) {
			cr_assert_str_eq((char *)f.payload, "probe");
			ws_frame_free(&f);
			return data;
		}
		if (f.opcode == 0x2) {
			cr_assert_eq(f.len, size);
			cr_assert_eq(memcmp(f.payload, &data, sizeof(data)), 0,
			    "data frame %d out of order", data);
			data++;
		}
		ws_frame_free(&f);
	}
}

/*
 * The rule: a pong overtakes data already queued for its client (the
 * priority lane).  `reader` does not read, so its writer blocks in writev.
 * By then it has taken at most what the socket buffers hold (the server's
 * send buffer grows up to tcp_wmem's maximum; the client's is 4 KiB) and
 * one batch (WRITE_BATCH_MAX - 1 = 15 frames; 64 allowed for here), so of
 * the N messages queued for it, the last ones are still in the channel.
 * The sender's own copy of each message shows the hub has queued it.
 * Then reader sends a ping and a text: a connection hands its pongs to
 * the writer before it hands the messages of the same read to the hub
 * ("Replies first" in docs/ARCHITECTURE.md), so once the sender has the
 * text, the pong is queued.  Only then does reader read: the pong must
 * come before the last data frames.  Served after data, it would come
 * after all N.  Nothing here depends on timing.
 */
Test(conn, ping_is_answered_even_behind_queued_data, .timeout = 60)
{
	enum { SIZE = 256 * 1024, BATCH = 64, SPARE = 8 };
	int n = (int)((tcp_wmem_max() + (1L << 20)) / SIZE) + BATCH + SPARE;
	char *msg = xcalloc(1, SIZE);
	int sender, reader, before;

	test_server_init(&ts);
	ts.cfg.max_message = SIZE;
	ts.cfg.send_queue = (size_t)n + SPARE; /* reader is not slow */
	ts.cfg.send_queue_bytes = (size_t)(n + SPARE) * (SIZE + 16); /* ditto */
	ts.cfg.write_timeout_ms = 60000;       /* nor is its writer stuck */
	test_server_start(&ts);
	sender = ws_open(ts.port);
	reader = ws_open_rcvbuf(ts.port, 4096); /* not reading yet */
	expect_clients(&ts, 2);
	for (int i = 0; i < n; i++) {
		memcpy(msg, &i, sizeof(i));
		cr_assert_eq(ws_send(sender, 0x2, msg, SIZE), 0);
		expect_frame(sender, 0x2, msg, SIZE);
	}
	cr_assert_eq(ws_send(reader, 0x9, "probe", 5), 0);
	cr_assert_eq(ws_send(reader, 0x1, "after the ping", 14), 0);
	expect_frame(sender, 0x1, "after the ping", 14); /* the pong is queued */
	before = data_before_pong(reader, SIZE);
	cr_assert_lt(before, n, "the pong came after all %d queued data "
	    "frames: it did not overtake them", n);
	for (int i = before; i < n; i++) {
		memcpy(msg, &i, sizeof(i));
		expect_frame(reader, 0x2, msg, SIZE);
	}
	expect_frame(reader, 0x1, "after the ping", 14);
	close(reader);
	close(sender);
	free(msg);
	test_server_stop(&ts);
}

/*
 * Sends ping frames on `fd` (non-blocking) until the hub no longer counts
 * a client: that is, until the server stopped reading it.  Returns how
 * many whole pings went out.  While the socket takes nothing it waits for
 * room, looking at the count every 10 ms; a server that never gave up
 * fails at `max` pings.
 */
static long
ping_until_unregistered(int fd, long max)
{
	uint8_t frame[14 + 125], payload[125];
	size_t len, off = 0;
	long pings = 0;

	memset(payload, 'p', sizeof(payload));
	len = ws_encode(frame, 0x89, payload, sizeof(payload));
	cr_assert_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	while (stats_get(&test_server_stats(&ts)->clients) > 0) {
		ssize_t n = send(fd, frame + off, len - off, MSG_NOSIGNAL);

		if (n < 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			cr_assert(errno == EAGAIN || errno == EINTR,
			    "send: %s", strerror(errno));
			poll(&pfd, 1, 10);
			continue;
		}
		off += (size_t)n;
		if (off == len) {
			off = 0;
			cr_assert_lt(++pings, max, "%ld pings and still read", max);
		}
	}
	cr_assert_eq(fcntl(fd, F_SETFL, 0), 0);
	return pings;
}

/*
 * The rule: the priority lane is bounded; a client that sends control
 * frames faster than it reads the replies is closed with 1008.  The client
 * pings without reading, so its writer blocks on the full socket and the
 * pongs pile up in the lane until a 17th does not fit.  Then the reader
 * stops and unregisters (the hub's count drops: nothing else here ends a
 * connection, with 60 s write and pong timeouts).  Only then does the
 * client read: every pong queued before, then the close.
 */
Test(conn, a_ping_flood_is_closed_with_1008, .timeout = 60)
{
	struct ws_frame f;
	long pings, pongs = 0;
	int fd;

	test_server_init(&ts);
	ts.cfg.write_timeout_ms = 60000;
	ts.cfg.pong_timeout_ms = 60000;
	ts.cfg.ping_interval_ms = 54000;
	test_server_start(&ts);
	fd = ws_open_rcvbuf(ts.port, 4096);
	expect_clients(&ts, 1);
	pings = ping_until_unregistered(fd, 1000000);
	for (;;) {
		cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0,
		    "no close after %ld pongs", pongs);
		if (f.opcode != 0xa)
			break;
		pongs++;
		ws_frame_free(&f);
	}
	cr_assert_eq(f.opcode, 0x8);
	cr_assert_geq(f.len, 2);
	cr_assert_eq(f.payload[0] << 8 | f.payload[1], 1008);
	cr_assert_str_eq((char *)f.payload + 2, "control frame flood");
	ws_frame_free(&f);
	cr_assert_lt(pongs, pings, "the %ld pings were all answered", pings);
	cr_assert(ws_wait_eof(fd, WS_TIMEOUT_MS), "TCP close after the close");
	close(fd);
	test_server_stop(&ts);
}
