/* handshake: routes and the RFC 6455 §4.2.1 checks, then over sockets. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/testserver.h"
#include "support/wsclient.h"
#include "wshub/handshake.h"

Test(handshake, rfc_sample_accept_key, .timeout = 10)
{
	char out[HANDSHAKE_ACCEPT_LEN + 1];
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";

	/* RFC 6455 §1.3. */
	cr_assert_eq(handshake_accept_key(key, strlen(key), out), 0);
	cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* Parses `head` and runs the upgrade check with `policy`. */
static int
check(const char *head, const struct origin_policy *policy)
{
	static const struct origin_policy same_origin = { 0 };
	struct http_request req;
	char accept[HANDSHAKE_ACCEPT_LEN + 1];
	const char *why;

	cr_assert_gt(http_parse_request(head, strlen(head), 8192, &req), 0,
	    "unparsable test request: %s", head);
	return handshake_check_upgrade(&req, policy ? policy : &same_origin,
	    accept, &why);
}

#define REQ(extra) "GET /ws HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\n" \
	"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" extra "\r\n"
#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

Test(handshake, rejections_and_their_status, .timeout = 10)
{
	const char *pats[] = { "*.example.com" };
	struct origin_policy list = { false, pats, 1 }, any = { true, NULL, 0 };

	cr_assert_eq(check(REQ(KEY), NULL), 101);
	cr_assert_eq(check("GET /ws HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" KEY "\r\n",
	    NULL), 400, "HTTP/1.0");
	cr_assert_eq(check("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" KEY "\r\n",
	    NULL), 400, "no Host");
	cr_assert_eq(check("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" KEY "\r\n",
	    NULL), 400, "wrong Upgrade");
	cr_assert_eq(check("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: keep-alive\r\nSec-WebSocket-Version: 13\r\n" KEY "\r\n",
	    NULL), 400, "Connection without Upgrade");
	cr_assert_eq(check("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\n" KEY "\r\n",
	    NULL), 426, "version 8");
	cr_assert_eq(check(REQ(""), NULL), 400, "no key");
	cr_assert_eq(check(REQ("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n"),
	    NULL), 400, "base64 of 15 bytes");
	cr_assert_eq(check(REQ("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n"),
	    NULL), 400, "24 characters but 17 bytes");
	cr_assert_eq(check(REQ("Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n"),
	    NULL), 400, "not base64");
	cr_assert_eq(check(REQ(KEY KEY), NULL), 400, "two keys");
	cr_assert_eq(check(REQ(KEY "Origin: http://h:1\r\n"), NULL), 101);
	cr_assert_eq(check(REQ(KEY "Origin: http://H:1\r\n"), NULL), 101,
	    "hosts compare case-insensitively");
	cr_assert_eq(check(REQ(KEY "Origin: http://evil:1\r\n"), NULL), 403);
	cr_assert_eq(check(REQ(KEY "Origin: null\r\n"), NULL), 403);
	cr_assert_eq(check(REQ(KEY "Origin: https://a.example.com\r\n"), &list), 101);
	cr_assert_eq(check(REQ(KEY "Origin: http://h:1\r\n"), &list), 403,
	    "an allow-list replaces the same-origin rule");
	cr_assert_eq(check(REQ(KEY "Origin: http://evil:1\r\n"), &any), 101);
}

Test(handshake, routes, .timeout = 10)
{
	struct http_request req;
	const char *cases[][2] = {
		{ "GET / HTTP/1.1\r\n\r\n", "page" },
		{ "GET /stats HTTP/1.1\r\n\r\n", "stats" },
		{ "GET /ws?x=1 HTTP/1.1\r\n\r\n", "ws" },
		{ "GET /nope HTTP/1.1\r\n\r\n", "404" },
		{ "POST /ws HTTP/1.1\r\n\r\n", "405" },
	};
	enum handshake_route want[] = { ROUTE_PAGE, ROUTE_STATS, ROUTE_WEBSOCKET,
	    ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		http_parse_request(cases[i][0], strlen(cases[i][0]), 8192, &req);
		cr_assert_eq(handshake_route(&req), want[i], "%s", cases[i][1]);
	}
}

/* ---- over real sockets ---------------------------------------------------- */

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

Test(handshake_net, every_rejection_over_a_socket, .init = start, .fini = stop,
    .timeout = 30)
{
	char huge[64 * 1024];
	int fd;
	char resp[4096];

	cr_assert_eq(STATUS_OF(REQ("")), 400);
	cr_assert_eq(STATUS_OF("GET /ws HTTP/1.0\r\nHost: h\r\n\r\n"), 400);
	cr_assert_eq(STATUS_OF(REQ(KEY "Origin: http://elsewhere\r\n")), 403);
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
	    "Sec-WebSocket-Version: 12\r\n" KEY "\r\n", resp, sizeof(resp)), 426);
	cr_assert_not_null(strstr(resp, "\r\nSec-WebSocket-Version: 13\r\n"));
	close(fd);
	cr_assert_eq(stats_get(&test_server_stats(&ts)->handshake_rejects), 6);
}

Test(handshake_net, accept_header_and_split_request, .init = start,
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

Test(handshake_net, bytes_after_the_head_are_the_first_frame, .init = start,
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
Test(handshake_net, unfinished_request_is_closed_at_the_timeout, .timeout = 30)
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

Test(handshake_net, max_clients_answers_503, .timeout = 30)
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
