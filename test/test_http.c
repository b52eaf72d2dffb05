/* http: the strict request-head parser (include/wshub/http.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "wshub/http.h"

static const char sample[] =
    "GET /ws?room=1 HTTP/1.1\r\n"
    "Host: example.com:8080\r\n"
    "connection: keep-alive,  Upgrade\r\n"
    "Upgrade: WebSocket\r\n"
    "X-Empty:\r\n"
    "\r\n"
    "\x81\x85"; /* the first bytes of a frame, not part of the head */

Test(http, parses_a_complete_head, .timeout = 10)
{
	struct http_request req;
	int n = http_parse_request(sample, sizeof(sample) - 1, 8192, &req);
	const struct http_header *h;

	cr_assert_eq(n, (int)(sizeof(sample) - 1 - 2), "head ends before the frame");
	cr_assert(http_method_is(&req, "GET"));
	cr_assert(!http_method_is(&req, "get"), "methods are case-sensitive");
	cr_assert_eq(req.target_len, 10);
	cr_assert_arr_eq(req.target, "/ws?room=1", 10);
	cr_assert_eq(req.version_major, 1);
	cr_assert_eq(req.version_minor, 1);
	cr_assert_eq(req.n_headers, 4);
	h = http_find_header(&req, "HOST");
	cr_assert_not_null(h);
	cr_assert_eq(h->value_len, 16);
	cr_assert_arr_eq(h->value, "example.com:8080", 16);
	cr_assert(http_header_has_token(&req, "Connection", "upgrade"));
	cr_assert(http_header_has_token(&req, "Connection", "KEEP-ALIVE"));
	cr_assert(!http_header_has_token(&req, "Connection", "close"));
	cr_assert(http_header_has_token(&req, "upgrade", "websocket"));
	cr_assert_eq(http_find_header(&req, "x-empty")->value_len, 0);
	cr_assert_null(http_find_header(&req, "Origin"));
}

Test(http, every_prefix_needs_more, .timeout = 10)
{
	struct http_request req;
	size_t head = sizeof(sample) - 1 - 2;

	/* A request arriving one byte at a time is never refused early. */
	for (size_t len = 0; len < head; len++)
		cr_assert_eq(http_parse_request(sample, len, 8192, &req),
		    HTTP_NEED_MORE, "prefix of %zu bytes", len);
	cr_assert_eq(http_parse_request(sample, head, 8192, &req), (int)head);
}

static int
parse(const char *s)
{
	struct http_request req;

	return http_parse_request(s, strlen(s), 8192, &req);
}

Test(http, refuses_malformed_heads, .timeout = 10)
{
	cr_assert_eq(parse("\x16\x03\x01\x02\x00"), HTTP_BAD_REQUEST, "TLS hello");
	cr_assert_eq(parse("GET  / HTTP/1.1\r\n\r\n"), HTTP_BAD_REQUEST);
	cr_assert_eq(parse("GET / HTTP/1.1 \r\n\r\n"), HTTP_BAD_REQUEST);
	cr_assert_eq(parse("GET / HTTQ/1.1\r\n\r\n"), HTTP_BAD_REQUEST);
	cr_assert_eq(parse("GET / HTTP/x.1\r\n\r\n"), HTTP_BAD_REQUEST);
	cr_assert_eq(parse("GET / HTTP/1.1\n\n"), HTTP_BAD_REQUEST, "bare LF");
	cr_assert_eq(parse("GET / HTTP/1.1\r\nNo colon\r\n\r\n"), HTTP_BAD_REQUEST);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nBad name: x\r\n\r\n"), HTTP_BAD_REQUEST);
	cr_assert_eq(parse("GET / HTTP/1.1\r\n: empty\r\n\r\n"), HTTP_BAD_REQUEST);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"),
	    HTTP_BAD_REQUEST, "obsolete line folding");
	cr_assert_eq(parse("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n"), HTTP_BAD_REQUEST);
	cr_assert_eq(parse("GET / HTTP/1.0\r\n\r\n"), 18, "1.0 parses; the "
	    "handshake refuses it");
}

Test(http, limits_size_and_header_count, .timeout = 10)
{
	char big[9000], many[4096];
	size_t n = 0;

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	cr_assert_eq(http_parse_request(big, sizeof(big), 8192,
	    &(struct http_request){ 0 }), HTTP_TOO_LARGE);
	cr_assert_eq(http_parse_request(big, 8191, 8192,
	    &(struct http_request){ 0 }), HTTP_NEED_MORE);
	n += (size_t)sprintf(many, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
		n += (size_t)sprintf(many + n, "H%d: v\r\n", i);
	sprintf(many + n, "\r\n");
	cr_assert_eq(parse(many), HTTP_TOO_LARGE);
}
