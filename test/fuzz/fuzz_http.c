/*
 * fuzz_http — libFuzzer target for the HTTP front door: http.c and
 * handshake.c, the code every unauthenticated byte reaches first.
 *
 * The input is the bytes a client sent, as the acceptor would hand them to
 * http_parse_request (max_head MAX_REQUEST_HEAD, as the server uses).  A
 * complete head then goes through handshake_route, handshake_check_host
 * under four host policies, handshake_check_upgrade under four origin
 * policies, and response_format_101 / _format_error.
 *
 * Besides the sanitizers (ASan, UBSan, LeakSanitizer), it checks what the
 * headers promise; a broken promise prints one line and aborts:
 * - a complete head is at most the input and at most max_head long, ends
 *   with CRLF CRLF, and every pointer (method, target, header names and
 *   values) lies inside it; names are tokens, values are trimmed and hold
 *   no CR, LF or other control character but HTAB;
 * - the same head parses the same on its own (bytes after it are not
 *   looked at), and with max_head one byte short it is HTTP_TOO_LARGE;
 * - a prefix of a complete head is HTTP_NEED_MORE ("valid so far"), never
 *   an error and never a different complete length.  Prefixes are parsed
 *   from exact-size copies, so a read past their end is an ASan report;
 * - the upgrade check answers 101, 400, 403 or 426, with a reason unless
 *   101, a 28-character base64 accept on 101, never 403 under --any-origin;
 * - the Host check answers 0, 400 or 403, with a one-line reason unless 0,
 *   never 403 off the loopback without --allow-host unless for /debug/,
 *   and /debug/ is refused whatever another route is refused;
 * - the formatted responses are NUL-terminated, fit their buffer, and say
 *   what was asked (status line, Content-Length of the body).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wshub/config.h"
#include "wshub/handshake.h"
#include "wshub/http.h"
#include "wshub/response.h"

#define MAX_HEAD MAX_REQUEST_HEAD
#define PREFIX_ALL 64 /* every prefix of a head shorter than this is tried */

static void check_format_error(int status, const char *why);

/* Reports a broken invariant and aborts: libFuzzer saves the input. */
static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_http: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* Parses buf[0..len) from an exact-size copy, so overreads are caught. */
static int
parse_copy(const char *buf, size_t len, size_t max_head,
    struct http_request *req)
{
	char *copy = malloc(len == 0 ? 1 : len);
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, buf, len);
	rc = http_parse_request(copy, len, max_head, req);
	free(copy);
	return rc; /* req now points into freed memory: counts only */
}

static bool
is_token_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* p[0..n) lies inside head[0..head_len). */
static void
check_inside(const char *head, size_t head_len, const char *p, size_t n,
    const char *what)
{
	if (p == NULL || p < head || n > head_len ||
	    (size_t)(p - head) > head_len - n)
		fail("%s (offset %td, %zu bytes) is outside the %zu-byte head",
		    what, p ? p - head : -1, n, head_len);
}

static void
check_token(const char *p, size_t n, const char *what)
{
	if (n == 0)
		fail("empty %s", what);
	for (size_t i = 0; i < n; i++)
		if (!is_token_char((unsigned char)p[i]))
			fail("%s holds 0x%02x, not a token character", what,
			    (unsigned char)p[i]);
}

static void
check_value(const char *p, size_t n, size_t index)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			fail("header %zu value holds control byte 0x%02x", index, c);
	}
	if (n > 0 && (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' ||
	    p[n - 1] == '\t'))
		fail("header %zu value is not trimmed", index);
}

/* The parsed request matches what http.h promises for a complete head. */
static void
check_request(const char *buf, size_t head_len, const struct http_request *req)
{
	if (head_len < 4 || memcmp(buf + head_len - 4, "\r\n\r\n", 4) != 0)
		fail("a %zu-byte head does not end with CRLF CRLF", head_len);
	check_inside(buf, head_len, req->method, req->method_len, "method");
	check_token(req->method, req->method_len, "method");
	check_inside(buf, head_len, req->target, req->target_len, "target");
	if (req->target_len == 0)
		fail("empty request target");
	for (size_t i = 0; i < req->target_len; i++)
		if ((unsigned char)req->target[i] <= 0x20 ||
		    req->target[i] == 0x7f)
			fail("target holds byte 0x%02x",
			    (unsigned char)req->target[i]);
	if (req->version_major < 0 || req->version_major > 9 ||
	    req->version_minor < 0 || req->version_minor > 9)
		fail("version %d.%d", req->version_major, req->version_minor);
	if (req->n_headers > HTTP_MAX_HEADERS)
		fail("%zu headers", req->n_headers);
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];

		check_inside(buf, head_len, h->name, h->name_len, "header name");
		check_token(h->name, h->name_len, "header name");
		if (h->value_len > 0 || h->value != NULL)
			check_inside(buf, head_len, h->value, h->value_len,
			    "header value");
		check_value(h->value, h->value_len, i);
	}
}

/* Adds `at` to the prefix lengths to try, if it is a proper prefix. */
static void
add_cut(size_t *cuts, size_t *n, size_t max, size_t at, size_t head_len)
{
	if (at < head_len && *n < max)
		cuts[(*n)++] = at;
}

/*
 * Every prefix of a complete head is HTTP_NEED_MORE.  Tries all short
 * prefixes, then cuts at each field's edges, where a parser would most
 * likely confuse "out of bytes" with "done" or "bad".
 */
static void
check_prefixes(const char *buf, size_t head_len, const struct http_request *req)
{
	size_t cuts[PREFIX_ALL + 16 + 6 * HTTP_MAX_HEADERS], n = 0;
	const size_t max = sizeof(cuts) / sizeof(cuts[0]);
	struct http_request sub;

	for (size_t k = 0; k < PREFIX_ALL; k++)
		add_cut(cuts, &n, max, k, head_len);
	for (size_t k = 1; k <= 4 && k <= head_len; k++)
		add_cut(cuts, &n, max, head_len - k, head_len);
	add_cut(cuts, &n, max, (size_t)(req->target - buf), head_len);
	add_cut(cuts, &n, max, (size_t)(req->target - buf) + req->target_len,
	    head_len);
	add_cut(cuts, &n, max, head_len / 2, head_len);
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		size_t name = (size_t)(h->name - buf);
		size_t value = (size_t)(h->value - buf);

		add_cut(cuts, &n, max, name, head_len);
		add_cut(cuts, &n, max, name + h->name_len, head_len);
		add_cut(cuts, &n, max, name + h->name_len + 1, head_len);
		add_cut(cuts, &n, max, value, head_len);
		add_cut(cuts, &n, max, value + h->value_len, head_len);
		add_cut(cuts, &n, max, value + h->value_len + 1, head_len);
	}
	for (size_t i = 0; i < n; i++) {
		int rc = parse_copy(buf, cuts[i], MAX_HEAD, &sub);

		if (rc != HTTP_NEED_MORE)
			fail("the %zu-byte prefix of a complete %zu-byte head "
			    "parses as %d, not HTTP_NEED_MORE", cuts[i], head_len,
			    rc);
	}
}

/* The head parses the same alone, and is too large for one byte less. */
static void
check_head_alone(const char *buf, size_t head_len,
    const struct http_request *req)
{
	struct http_request again;
	int rc = parse_copy(buf, head_len, MAX_HEAD, &again);

	if (rc != (int)head_len || again.n_headers != req->n_headers)
		fail("the %zu-byte head alone parses as %d with %zu headers, "
		    "not %zu headers", head_len, rc, again.n_headers,
		    req->n_headers);
	if ((rc = parse_copy(buf, head_len, head_len, &again)) != (int)head_len)
		fail("max_head == head length (%zu) gives %d", head_len, rc);
	if ((rc = parse_copy(buf, head_len, head_len - 1, &again)) !=
	    HTTP_TOO_LARGE)
		fail("max_head one short of the %zu-byte head gives %d, not "
		    "HTTP_TOO_LARGE", head_len, rc);
}

/* An incomplete or refused input: the status is one of the documented. */
static void
check_refused(const uint8_t *data, size_t len, int rc,
    const struct http_request *req)
{
	struct http_request longer;
	char *copy;

	switch (rc) {
	case HTTP_NEED_MORE:
		check_format_error(408, "request timeout");
		if (len >= MAX_HEAD)
			fail("HTTP_NEED_MORE for %zu bytes, max_head %d", len,
			    MAX_HEAD);
		break;
	case HTTP_TOO_LARGE:
		check_format_error(431, "request head too large");
		if (len < MAX_HEAD && req->n_headers != HTTP_MAX_HEADERS)
			fail("HTTP_TOO_LARGE for %zu bytes and %zu headers", len,
			    req->n_headers);
		break;
	case HTTP_BAD_REQUEST:
		check_format_error(400, "bad request");
		/* Garbage is refused as soon as it is seen: more bytes
		 * cannot make it valid. */
		if ((copy = malloc(len + 1)) == NULL)
			abort();
		memcpy(copy, data, len);
		copy[len] = '\n';
		rc = http_parse_request(copy, len + 1, MAX_HEAD, &longer);
		free(copy);
		if (rc != HTTP_BAD_REQUEST && rc != HTTP_TOO_LARGE)
			fail("a bad request becomes %d with one more byte", rc);
		break;
	default:
		fail("http_parse_request returned %d", rc);
	}
}

static void
check_accept(const char *accept)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	if (strlen(accept) != HANDSHAKE_ACCEPT_LEN || accept[27] != '=' ||
	    strspn(accept, b64) != HANDSHAKE_ACCEPT_LEN - 1)
		fail("accept key \"%s\" is not base64 of 20 bytes", accept);
}

/* The 101 response holds the accept key and fits any buffer it is given. */
static void
check_format_101(const char *accept)
{
	char buf[256], tiny[16], want[64];
	size_t n = response_format_101(buf, sizeof(buf), accept);

	snprintf(want, sizeof(want), "Sec-WebSocket-Accept: %s\r\n", accept);
	if (n != strlen(buf) || strncmp(buf, "HTTP/1.1 101 ", 13) != 0 ||
	    strstr(buf, want) == NULL || n < 4 ||
	    memcmp(buf + n - 4, "\r\n\r\n", 4) != 0)
		fail("bad 101 response: %.*s", (int)n, buf);
	n = response_format_101(tiny, sizeof(tiny), accept);
	if (n != sizeof(tiny) - 1 || strlen(tiny) != n)
		fail("101 in a 16-byte buffer: length %zu", n);
}

/* An error response: the status line, and a Content-Length that is true. */
static void
check_format_error(int status, const char *why)
{
	char buf[1024], line[32];
	const char *cl, *body;
	size_t n = response_format_error(buf, sizeof(buf), status, why);

	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	cl = strstr(buf, "Content-Length: ");
	body = strstr(buf, "\r\n\r\n");
	if (n != strlen(buf) || strncmp(buf, line, strlen(line)) != 0 ||
	    cl == NULL || body == NULL ||
	    strtoul(cl + 16, NULL, 10) != strlen(body + 4))
		fail("bad %d response: %s", status, buf);
}

/* What the server answers for a route other than the upgrade. */
static int
route_status(enum handshake_route route)
{
	switch (route) {
	case ROUTE_NOT_FOUND: return 404;
	case ROUTE_BAD_METHOD: return 405;
	default: return 200;
	}
}

/* Every Sec-WebSocket-Key gets an accept key, unless it is over 64 bytes. */
static void
check_accept_keys(const struct http_request *req)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		char accept[HANDSHAKE_ACCEPT_LEN + 1];
		int rc;

		if (h->name_len != 17 ||
		    strncasecmp(h->name, "Sec-WebSocket-Key", 17) != 0)
			continue;
		rc = handshake_accept_key(h->value, h->value_len, accept);
		if (rc != (h->value_len > 64 ? -1 : 0))
			fail("accept key of a %zu-byte key: %d", h->value_len, rc);
		if (rc == 0)
			check_accept(accept);
	}
}

/* The upgrade check under several origin policies. */
static void
check_handshake(const struct http_request *req)
{
	static const char *patterns[] = { "*.example.com", "localhost:*",
		"127.0.0.1:[0-9]*", "[" };
	const struct origin_policy policies[] = {
		{ .any = false },                      /* same origin as Host */
		{ .any = true },                       /* --any-origin */
		{ .patterns = patterns, .n_patterns = 4 },
		{ .patterns = patterns + 3, .n_patterns = 1 }, /* a bad glob */
	};
	enum handshake_route route = handshake_route(req);

	if (route < ROUTE_PAGE || route > ROUTE_BAD_METHOD)
		fail("route %d", (int)route);
	check_format_error(route_status(route), "a body");
	check_accept_keys(req);
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		char accept[HANDSHAKE_ACCEPT_LEN + 1];
		const char *why = "unset";
		int status;

		memset(accept, 'X', sizeof(accept));
		status = handshake_check_upgrade(req, &policies[i], accept, &why);
		if (status == 101) {
			if (why != NULL)
				fail("101 with a reason: %s", why);
			check_accept(accept);
			check_format_101(accept);
			check_format_error(503, "too many clients"); /* --max-clients */
			continue;
		}
		if ((status != 400 && status != 403 && status != 426) ||
		    why == NULL)
			fail("upgrade check: %d (%s)", status, why ? why : "no reason");
		if (status == 403 && policies[i].any)
			fail("403 under --any-origin");
		check_format_error(status, why);
	}
}

/* The Host check under several host policies, for /debug/ and not. */
static void
check_host(const struct http_request *req)
{
	static const char *patterns[] = { "*.example.com", "localhost",
		"[::1]", "[" };
	const struct host_policy policies[] = {
		{ .loopback = true, .addr = "127.0.0.1" },
		{ .loopback = true, .addr = "dev.box", .patterns = patterns,
		    .n_patterns = 4 },
		{ .loopback = false, .addr = "0.0.0.0" },  /* no check */
		{ .loopback = false, .addr = "::", .patterns = patterns + 3,
		    .n_patterns = 1 },                     /* a bad glob */
	};

	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		char why[2][HOST_WHY_MAX];
		int status[2];

		for (int debug = 0; debug < 2; debug++) {
			memset(why[debug], 'X', HOST_WHY_MAX);
			status[debug] = handshake_check_host(req, &policies[i],
			    debug, why[debug]);
			if (status[debug] == 0)
				continue;
			if ((status[debug] != 400 && status[debug] != 403) ||
			    memchr(why[debug], '\0', HOST_WHY_MAX) == NULL ||
			    why[debug][0] == '\0' || strchr(why[debug], '\n'))
				fail("host check %d under policy %zu: %.*s",
				    status[debug], i, HOST_WHY_MAX, why[debug]);
			check_format_error(status[debug], why[debug]);
		}
		if (status[0] == 403 && !policies[i].loopback &&
		    policies[i].n_patterns == 0)
			fail("403 off the loopback without --allow-host: %s",
			    why[0]);
		if (status[0] != 0 && status[1] != status[0])
			fail("/debug/ gets %d where another route gets %d",
			    status[1], status[0]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char *buf = (const char *)data;
	struct http_request req;
	int rc = http_parse_request(buf, len, MAX_HEAD, &req);

	if (rc <= 0) {
		check_refused(data, len, rc, &req);
		return 0;
	}
	if ((size_t)rc > len || rc > MAX_HEAD)
		fail("head length %d for %zu input bytes (max_head %d)", rc, len,
		    MAX_HEAD);
	check_request(buf, (size_t)rc, &req);
	check_prefixes(buf, (size_t)rc, &req);
	check_head_alone(buf, (size_t)rc, &req);
	check_host(&req);
	check_handshake(&req);
	return 0;
}
