/*
 * The front door over real sockets: every rejection with its status, the
 * accept header and a request split across writes, bytes after the head,
 * an unfinished request held until the handshake timeout, and 503 past
 * --max-clients.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/testserver.h"
#include "support/wsclient.h"
#include "wshub/handshake.h"

static struct test_server ts;

static void
start(void)
{
	test_server_init(&ts);
	ts.cfg.handshake_timeout_ms = 500;
	test_server_start(&ts);
}

static void
stop(void)
{
	test_server_stop(&ts);
}

/* Sends `request` on a fresh connection; returns the status, expects the
 * server to close afterwards. */
static int
status_of(const char *request, size_t len)
{
	int fd = ws_tcp_connect(ts.port, 0), status;

	cr_assert_geq(fd, 0);
	ws_write_all(fd, request, len);
	status = ws_http(fd, NULL, NULL, 0);
	cr_assert(ws_wait_eof(fd, WS_TIMEOUT_MS), "the server must close");
	close(fd);
	return status;
}

#define STATUS_OF(s) status_of(s, strlen(s))

Test(frontdoor, every_rejection_over_a_socket, .init = start, .fini = stop,
    .timeout = 30)
{
	char huge[64 * 1024];
	int fd;
	char resp[4096];

	cr_assert_eq(STATUS_OF(WS_REQUEST("")), 400);
	cr_assert_eq(STATUS_OF("GET /ws HTTP/1.0\r\nHost: h\r\n\r\n"), 400);
	cr_assert_eq(STATUS_OF(WS_REQUEST(WS_KEY "Origin: http://elsewhere\r\n")), 403);
	cr_assert_eq(STATUS_OF("garbage\x01\x02\r\n\r\n"), 400);
	cr_assert_eq(STATUS_OF("GET /nope HTTP/1.1\r\nHost: h\r\n\r\n"), 404);
	cr_assert_eq(STATUS_OF("PUT / HTTP/1.1\r\nHost: h\r\n\r\n"), 405);
	cr_assert_eq(STATUS_OF("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
	cr_assert_eq(STATUS_OF("GET /stats HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
	memset(huge, 'a', sizeof(huge));
	memcpy(huge, "GET /ws HTTP/1.1\r\nX: ", 21);
	cr_assert_eq(status_of(huge, sizeof(huge)), 431);

	fd = ws_tcp_connect(ts.port, 0);
	cr_assert_eq(ws_http(fd, "GET /ws HTTP/1.1\r\nHost: h\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 12\r\n" WS_KEY "\r\n", resp, sizeof(resp)), 426);
	cr_assert_not_null(strstr(resp, "\r\nSec-WebSocket-Version: 13\r\n"));
	close(fd);
	cr_assert_eq(stats_get(&test_server_stats(&ts)->handshake_rejects), 6);
}

Test(frontdoor, accept_header_and_split_request, .init = start,
    .fini = stop, .timeout = 30)
{
	int fd = ws_tcp_connect(ts.port, 0);
	char resp[1024];
	struct ws_frame f;

	/* One byte per write: the front door reassembles the request. */
	for (const char *p = ws_upgrade_request; *p; p++)
		cr_assert_eq(ws_write_all(fd, p, 1), 0);
	cr_assert_eq(ws_http(fd, NULL, resp, sizeof(resp)), 101);
	cr_assert_not_null(strstr(resp,
	    "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	ws_send(fd, 0x1, "split", 5);
	cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0);
	cr_assert_str_eq((char *)f.payload, "split");
	ws_frame_free(&f);
	close(fd);
}

Test(frontdoor, bytes_after_the_head_are_the_first_frame, .init = start,
    .fini = stop, .timeout = 30)
{
	static const uint8_t frame[] = { 0x81, 0x83, 1, 2, 3, 4,
	    'h' ^ 1, 'e' ^ 2, 'y' ^ 3 };
	char both[1024];
	size_t n = strlen(ws_upgrade_request);
	int fd = ws_tcp_connect(ts.port, 0);
	struct ws_frame f;

	memcpy(both, ws_upgrade_request, n);
	memcpy(both + n, frame, sizeof(frame));
	cr_assert_eq(ws_write_all(fd, both, n + sizeof(frame)), 0); /* one write */
	cr_assert_eq(ws_http(fd, NULL, NULL, 0), 101);
	cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0);
	cr_assert_eq(f.opcode, 0x1);
	cr_assert_str_eq((char *)f.payload, "hey");
	ws_frame_free(&f);
	close(fd);
}

/*
 * The rule: an unfinished request is held until --handshake-timeout, then
 * closed.  Held, not closed at once: once the server has read the partial
 * head, a whole request on a second connection is answered.  The front
 * door is one thread that handles each socket's event to its end before
 * the next, and it read the second request after the partial head, so
 * whatever it does with a partial head is done by the time the answer
 * arrives.  The server's end of the first connection must then still be
 * open (test_wait_server_read finds its descriptor) and the client must
 * see no EOF.  Nothing is timed: the 2 s timeout is only room for those
 * steps on a loaded machine.
 */
Test(frontdoor, unfinished_request_is_closed_at_the_timeout, .timeout = 30)
{
	enum { TIMEOUT_MS = 2000 };
	int fd, other;
	char byte;

	test_server_init(&ts);
	ts.cfg.handshake_timeout_ms = TIMEOUT_MS;
	test_server_start(&ts);
	fd = ws_tcp_connect(ts.port, 0);
	cr_assert_eq(ws_write_all(fd, "GET /ws HTTP/1.1\r\nHo", 20), 0);
	cr_assert(test_wait_server_read(fd, WS_TIMEOUT_MS),
	    "the server did not read the partial request, or closed it");
	other = ws_tcp_connect(ts.port, 0);
	cr_assert_eq(ws_http(other, "GET /stats HTTP/1.1\r\nHost: h\r\n\r\n",
	    NULL, 0), 200);
	close(other);
	cr_assert(test_wait_server_read(fd, 0), /* one look, no waiting */
	    "the server closed the unfinished request before its timeout");
	cr_assert_eq(recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT), -1,
	    "EOF before --handshake-timeout");
	cr_assert(ws_wait_eof(fd, TIMEOUT_MS + WS_TIMEOUT_MS),
	    "a slowloris request must be closed after --handshake-timeout");
	close(fd);
	test_server_stop(&ts);
}

Test(frontdoor, max_clients_answers_503, .timeout = 30)
{
	int a, b, c;

	test_server_init(&ts);
	ts.cfg.max_clients = 2;
	test_server_start(&ts);
	a = ws_open(ts.port);
	b = ws_open(ts.port);
	cr_assert(a >= 0 && b >= 0);
	c = ws_tcp_connect(ts.port, 0);
	cr_assert_eq(ws_http(c, ws_upgrade_request, NULL, 0), 503);
	close(c);
	close(a); /* a leaves: room again once it is reaped */
	for (int tries = 0; tries < 500; tries++) {
		c = ws_tcp_connect(ts.port, 0);
		if (ws_http(c, ws_upgrade_request, NULL, 0) == 101)
			break;
		close(c);
		c = -1;
		usleep(10000);
	}
	cr_assert_geq(c, 0, "a freed slot must be usable again");
	close(b);
	close(c);
	test_server_stop(&ts);
}
