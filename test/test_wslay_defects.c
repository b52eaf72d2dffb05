/*
 * Two defects of wslay 1.1.1 that the reader works around (src/conn.c),
 * over real loopback sockets:
 * - a pong wslay queued just before a close in the same read is not
 *   dropped (reader_frame_start flushes the pongs first);
 * - a close frame whose reason arrives in two reads is judged as one
 *   payload (reader_recv_whole holds the first part back until it is
 *   whole): a valid reason is echoed, an invalid one refused with 1007.
 * The close frames go out masked with a random key, as a browser's do.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/testserver.h"
#include "support/wsclient.h"

#define CLOSE_WIRE_MAX (2 + 4 + 125)

static struct test_server ts;

static int
open_client(void)
{
	int fd, one = 1;

	test_server_init(&ts);
	test_server_start(&ts);
	fd = ws_open(ts.port);
	cr_assert_geq(fd, 0, "no upgrade");
	/* Each write goes out as it is made, not merged with the next. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* After the server's close frame: it ends TCP, then so do we. */
static void
close_client(int fd)
{
	cr_assert(ws_wait_eof(fd, WS_TIMEOUT_MS), "the server kept TCP open");
	close(fd);
	test_server_stop(&ts);
}

/* Reads one frame, which must be `opcode` with exactly `payload`. */
static void
expect_frame(int fd, uint8_t opcode, const void *payload, size_t len,
    const char *what)
{
	struct ws_frame f;
	int code;

	cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0, "%s never came", what);
	code = f.opcode == 0x8 && f.len >= 2 ? f.payload[0] << 8 | f.payload[1] :
	    0;
	cr_assert_eq(f.opcode, opcode,
	    "%s: a frame with opcode %d (close code %d) came instead", what,
	    f.opcode, code);
	cr_assert_eq(f.len, len, "%s: %zu payload bytes (close code %d), not "
	    "%zu", what, f.len, code, len);
	cr_assert_arr_eq(f.payload, payload, len, "%s: another payload", what);
	ws_frame_free(&f);
}

/*
 * Sends one close frame with `payload` in two writes, the first `at`
 * bytes of the wire, then the rest once the server has read the first
 * part: the server's reader sees the frame in two reads.
 */
static void
send_close_in_two(int fd, const void *payload, size_t len, size_t at)
{
	uint8_t wire[CLOSE_WIRE_MAX];
	size_t n = ws_encode(wire, 0x88, payload, len);

	cr_assert_lt(at, n);
	cr_assert_eq(ws_write_all(fd, wire, at), 0);
	cr_assert(test_wait_server_read(fd, WS_TIMEOUT_MS),
	    "the server never read the first part");
	cr_assert_eq(ws_write_all(fd, wire + at, n - at), 0);
}

Test(wslay_defects, a_pong_queued_before_a_close_goes_out_before_the_echo,
    .timeout = 30)
{
	static const uint8_t code_1000[] = { 0x03, 0xe8 };
	uint8_t wire[2 * CLOSE_WIRE_MAX];
	size_t len;
	int fd = open_client();

	len = ws_encode(wire, 0x89, "probe", 5); /* a ping, then a close */
	len += ws_encode(wire + len, 0x88, code_1000, sizeof(code_1000));
	cr_assert_eq(ws_write_all(fd, wire, len), 0);
	expect_frame(fd, 0xa, "probe", 5, "the pong to \"probe\"");
	expect_frame(fd, 0x8, code_1000, sizeof(code_1000), "the close echo");
	close_client(fd);
}

/* 3001 and "éxyz", cut between the two bytes of the é. */
Test(wslay_defects, a_valid_reason_split_across_reads_is_echoed,
    .timeout = 30)
{
	static const uint8_t close[] = { 0x0b, 0xb9, 0xc3, 0xa9, 'x', 'y', 'z' };
	int fd = open_client();

	send_close_in_two(fd, close, sizeof(close), 6 + 3);
	expect_frame(fd, 0x8, close, sizeof(close), "the close echo");
	close_client(fd);
}

/* 1000 and c3 ff 'x' a9 'y', cut after the c3: "ff" can follow nothing,
 * though a9 after c3 (what wslay 1.1.1 checked) is an é. */
Test(wslay_defects, an_invalid_reason_split_across_reads_is_refused,
    .timeout = 30)
{
	static const uint8_t close[] = { 0x03, 0xe8, 0xc3, 0xff, 'x', 0xa9, 'y' };
	int fd = open_client(), code;

	send_close_in_two(fd, close, sizeof(close), 6 + 3);
	code = ws_recv_close(fd, NULL);
	cr_assert_eq(code, 1007, "close %d, not 1007", code);
	close_client(fd);
}
