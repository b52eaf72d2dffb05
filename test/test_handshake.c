/* handshake: routes, rooms and the RFC 6455 §4.2.1 checks, without sockets.
 * (The front door that answers them over sockets: test_frontdoor.c.) */
#include <criterion/criterion.h>
#include <string.h>

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


Test(handshake, rejections_and_their_status, .timeout = 10)
{
	const char *pats[] = { "*.example.com" };
	struct origin_policy list = { false, pats, 1 }, any = { true, NULL, 0 };

	cr_assert_eq(check(WS_REQUEST(WS_KEY), NULL), 101);
	cr_assert_eq(check("GET /ws HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" WS_KEY "\r\n",
	    NULL), 400, "HTTP/1.0");
	cr_assert_eq(check("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" WS_KEY "\r\n",
	    NULL), 400, "no Host");
	cr_assert_eq(check("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" WS_KEY "\r\n",
	    NULL), 400, "wrong Upgrade");
	cr_assert_eq(check("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: keep-alive\r\nSec-WebSocket-Version: 13\r\n" WS_KEY "\r\n",
	    NULL), 400, "Connection without Upgrade");
	cr_assert_eq(check("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\n" WS_KEY "\r\n",
	    NULL), 426, "version 8");
	cr_assert_eq(check(WS_REQUEST(""), NULL), 400, "no key");
	cr_assert_eq(check(WS_REQUEST("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n"),
	    NULL), 400, "base64 of 15 bytes");
	cr_assert_eq(check(WS_REQUEST("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n"),
	    NULL), 400, "24 characters but 17 bytes");
	cr_assert_eq(check(WS_REQUEST("Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n"),
	    NULL), 400, "not base64");
	cr_assert_eq(check(WS_REQUEST(WS_KEY WS_KEY), NULL), 400, "two keys");
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://h:1\r\n"), NULL), 101);
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://H:1\r\n"), NULL), 101,
	    "hosts compare case-insensitively");
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://evil:1\r\n"), NULL), 403);
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: null\r\n"), NULL), 403);
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: https://a.example.com\r\n"), &list), 101);
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://h:1\r\n"), &list), 403,
	    "an allow-list replaces the same-origin rule");
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://evil:1\r\n"), &any), 101);
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
