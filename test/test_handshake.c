/* handshake: routes, rooms and the RFC 6455 §4.2.1 checks, without sockets.
 * (The front door that answers them over sockets: test_frontdoor.c.) */
#include <criterion/criterion.h>
#include <stdio.h>
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
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://localhost:1\r\n"), NULL), 101);
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://LOCALHOST:1\r\n"), NULL), 101,
	    "hosts compare case-insensitively");
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://evil:1\r\n"), NULL), 403);
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: null\r\n"), NULL), 403);
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: https://a.example.com\r\n"), &list), 101);
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://localhost:1\r\n"), &list), 403,
	    "an allow-list replaces the same-origin rule");
	cr_assert_eq(check(WS_REQUEST(WS_KEY "Origin: http://evil:1\r\n"), &any), 101);
}

/*
 * Headers that must be single (RFC 6455 §11.3.1 and §11.3.5, RFC 6454
 * §7.3, RFC 9112 §3.2): a second copy is a 400, whatever either says.
 * Before: a repeated Sec-WebSocket-Version or Origin was decided by its
 * first copy (101 for "13" then "8", and for an allowed Origin then a
 * foreign one).
 */
Test(handshake, repeated_single_headers_get_400, .timeout = 10)
{
	static const struct origin_policy same_origin = { 0 };
	static const struct {
		const char *extra, *why;
	} cases[] = {
		{ WS_KEY "Sec-WebSocket-Version: 8\r\n",
		    "more than one Sec-WebSocket-Version header" },
		{ WS_KEY "Sec-WebSocket-Version: 13\r\n",
		    "more than one Sec-WebSocket-Version header" },
		{ WS_KEY "Origin: http://localhost:1\r\nOrigin: http://evil\r\n",
		    "more than one Origin header" },
		{ WS_KEY "Origin: http://evil\r\nOrigin: http://localhost:1\r\n",
		    "more than one Origin header" },
		{ WS_KEY WS_KEY, "more than one Sec-WebSocket-Key header" },
		{ WS_KEY "Host: localhost:1\r\n", "more than one Host header" },
	};
	char head[1024], accept[HANDSHAKE_ACCEPT_LEN + 1];
	struct http_request req;
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(head, sizeof(head), WS_REQUEST("%s"), cases[i].extra);
		cr_assert_gt(http_parse_request(head, strlen(head), 8192, &req),
		    0);
		cr_assert_eq(handshake_check_upgrade(&req, &same_origin, accept,
		    &why), 400, "case %zu: %s", i, cases[i].extra);
		cr_assert_str_eq(why, cases[i].why);
	}
}

/* The Host check of `value` (NULL: no Host header) in an HTTP/1.1 GET. */
static int
host_status(const char *value, const struct host_policy *policy, bool debug,
    char why[HOST_WHY_MAX])
{
	char head[1024];
	struct http_request req;

	if (value != NULL)
		snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n",
		    value);
	else
		snprintf(head, sizeof(head), "GET / HTTP/1.1\r\n\r\n");
	cr_assert_gt(http_parse_request(head, strlen(head), 8192, &req), 0,
	    "unparsable test request: %s", head);
	why[0] = '\0';
	return handshake_check_host(&req, policy, debug, why);
}

/*
 * Which Host names are answered (struct host_policy, wshub(1) HOST
 * NAMES): on the loopback only its own; off it any, until --allow-host;
 * /debug/ only for its own; every syntax error a 400.
 */
Test(handshake, host_names, .timeout = 10)
{
	static const char *pats[] = { "chat.example.org", "*.dev.test",
		"[fd00::7]", "trailing.example." };
	const struct host_policy loop = { .loopback = true, .addr = "127.0.0.1" };
	const struct host_policy loop_named = { .loopback = true,
	    .addr = "MyBox.lan" };
	const struct host_policy loop_allow = { .loopback = true,
	    .addr = "127.0.0.1", .patterns = pats, .n_patterns = 4 };
	const struct host_policy any = { .addr = "0.0.0.0" };
	const struct host_policy any_allow = { .addr = "0.0.0.0",
	    .patterns = pats, .n_patterns = 4 };
	static const struct {
		const char *host;
		int loop, loop_allow, any, any_allow, debug_loop, debug_any;
	} cases[] = {
		/* host             loop allow  any  anyal dbgl dbga */
		{ "localhost",        0,   0,   0,   0,   0,   0 },
		{ "localhost:8080",   0,   0,   0,   0,   0,   0 },
		{ "localhost:",       0,   0,   0,   0,   0,   0 },
		{ "LocalHost:1",      0,   0,   0,   0,   0,   0 },
		{ "localhost.",       0,   0,   0,   0,   0,   0 },
		{ "localhost.:80",    0,   0,   0,   0,   0,   0 },
		{ "app.localhost",    0,   0,   0,   0,   0,   0 },
		{ "127.0.0.1",        0,   0,   0,   0,   0,   0 },
		{ "127.0.0.1:9",      0,   0,   0,   0,   0,   0 },
		{ "127.0.0.1.",       0,   0,   0,   0,   0,   0 },
		{ "127.8.9.10:80",    0,   0,   0,   0,   0,   0 },
		{ "[::1]",            0,   0,   0,   0,   0,   0 },
		{ "[::1]:8080",       0,   0,   0,   0,   0,   0 },
		{ "[0:0::1]",         0,   0,   0,   0,   0,   0 },
		{ "[::ffff:127.0.0.1]", 0, 0,   0,   0,   0,   0 },
		{ "evil.example",   403, 403,   0, 403, 403, 403 },
		{ "evil.example:8080", 403, 403, 0, 403, 403, 403 },
		{ "localhost.evil.example", 403, 403, 0, 403, 403, 403 },
		{ "evillocalhost",  403, 403,   0, 403, 403, 403 },
		{ ".localhost",     403, 403,   0, 403, 403, 403 },
		{ "10.0.0.5:8080",  403, 403,   0,   0, 403,   0 },
		{ "0.0.0.0",        403, 403,   0,   0, 403,   0 },
		{ "[fd00::7]",      403,   0,   0,   0, 403,   0 },
		{ "127.1",          403, 403,   0, 403, 403, 403 },
		{ "2130706433",     403, 403,   0, 403, 403, 403 },
		{ "chat.example.org", 403, 0,   0,   0, 403, 403 },
		{ "CHAT.example.ORG.:443", 403, 0, 0, 0, 403, 403 },
		{ "a.b.dev.test",   403,   0,   0,   0, 403, 403 },
		{ "dev.test",       403, 403,   0, 403, 403, 403 },
		{ "trailing.example", 403, 0,   0,   0, 403, 403 },
		/* malformed: 400 everywhere */
		{ "",               400, 400, 400, 400, 400, 400 },
		{ "::1",            400, 400, 400, 400, 400, 400 },
		{ "[::1",           400, 400, 400, 400, 400, 400 },
		{ "[::1]x",         400, 400, 400, 400, 400, 400 },
		{ "[]",             400, 400, 400, 400, 400, 400 },
		{ "[evil.example]", 400, 400, 400, 400, 400, 400 },
		{ "localhost:65536", 400, 400, 400, 400, 400, 400 },
		{ "localhost:123456", 400, 400, 400, 400, 400, 400 },
		{ "localhost:8o",   400, 400, 400, 400, 400, 400 },
		{ "local host",     400, 400, 400, 400, 400, 400 },
		{ "user@localhost", 400, 400, 400, 400, 400, 400 },
		{ "localhost/x",    400, 400, 400, 400, 400, 400 },
		{ "a%zz",           400, 400, 400, 400, 400, 400 },
		{ "caf\xc3\xa9.example", 400, 400, 400, 400, 400, 400 },
	};
	char why[HOST_WHY_MAX], longname[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *h = cases[i].host;

		cr_expect_eq(host_status(h, &loop, false, why), cases[i].loop,
		    "'%s' on the loopback: %s", h, why);
		cr_expect_eq(host_status(h, &loop_allow, false, why),
		    cases[i].loop_allow, "'%s' on the loopback, --allow-host: %s",
		    h, why);
		cr_expect_eq(host_status(h, &any, false, why), cases[i].any,
		    "'%s' on 0.0.0.0: %s", h, why);
		cr_expect_eq(host_status(h, &any_allow, false, why),
		    cases[i].any_allow, "'%s' on 0.0.0.0, --allow-host: %s", h,
		    why);
		cr_expect_eq(host_status(h, &loop_allow, true, why),
		    cases[i].debug_loop, "/debug/ for '%s' on the loopback: %s",
		    h, why);
		cr_expect_eq(host_status(h, &any_allow, true, why),
		    cases[i].debug_any, "/debug/ for '%s' on 0.0.0.0: %s", h, why);
	}

	/* The --addr name is the server's own, /debug/ included. */
	cr_assert_eq(host_status("mybox.lan:8080", &loop_named, true, why), 0);
	cr_assert_eq(host_status("MYBOX.LAN.", &loop_named, false, why), 0);
	cr_assert_eq(host_status("otherbox.lan", &loop_named, false, why), 403);

	/* One Host, and HTTP/1.1 must send it. */
	cr_assert_eq(host_status(NULL, &loop, false, why), 400);
	cr_assert_str_eq(why, "no Host header (HTTP/1.1 requires one)");
	cr_assert_eq(host_status("localhost\r\nHost: localhost", &loop, false,
	    why), 400);
	cr_assert_str_eq(why, "more than one Host header");
	cr_assert_eq(host_status("localhost\r\nHost: evil.example", &any,
	    false, why), 400, "unchecked names, but still one Host");
	{
		struct http_request req;
		const char *v10 = "GET / HTTP/1.0\r\n\r\n";

		cr_assert_gt(http_parse_request(v10, strlen(v10), 8192, &req), 0);
		cr_assert_eq(handshake_check_host(&req, &loop, true, why), 0,
		    "HTTP/1.0 may omit Host: no browser does");
	}

	/* A DNS name is at most 253 bytes. */
	memset(longname, 'a', 253);
	longname[253] = '\0';
	cr_assert_eq(host_status(longname, &any, false, why), 0);
	strcat(longname, "a");
	cr_assert_eq(host_status(longname, &any, false, why), 400);

	/* The 403 names the Host and the flag that would allow it. */
	cr_assert_eq(host_status("Evil.Example.:41234", &loop, false, why), 403);
	cr_assert_not_null(strstr(why, "'Evil.Example.:41234'"), "%s", why);
	cr_assert_not_null(strstr(why, "--allow-host evil.example"), "%s", why);
	cr_assert_null(strchr(why, '\n'), "one line: %s", why);
	cr_assert_eq(host_status("[fd00::1]:80", &loop, false, why), 403);
	cr_assert_not_null(strstr(why, "--allow-host [fd00::1]"), "%s", why);
	memset(longname, 'b', 200);
	longname[200] = '\0';
	cr_assert_eq(host_status(longname, &loop, false, why), 403);
	cr_assert_lt(strlen(why), HOST_WHY_MAX - 1, "a long Host is cut: %s",
	    why);
	cr_assert_not_null(strstr(why, "...'"), "%s", why);
	cr_assert_eq(host_status("chat.example.org", &loop_allow, true, why),
	    403);
	cr_assert_not_null(strstr(why, "'chat.example.org'"), "%s", why);
	cr_assert_not_null(strstr(why, "/debug/"), "%s", why);
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
