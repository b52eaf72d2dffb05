/*
 * http — a small, strict HTTP/1.x request-head parser.
 *
 * Stateless, over the caller's buffer, in the picohttpparser manner: call
 * http_parse_request with everything received so far; it returns the
 * number of bytes the request head used, or says it needs more, or that the
 * request is bad.  Nothing is allocated: the parsed request points into the
 * caller's buffer, which must outlive it.  Any thread.
 *
 * Strict means: a request line "METHOD SP target SP HTTP/d.d CRLF", header
 * fields "name: value CRLF" with token names, no obsolete line folding, no
 * control characters, an empty line at the end.  Header names compare
 * case-insensitively.  No body is parsed (wshub answers only GET).
 */
#ifndef WSHUB_HTTP_H
#define WSHUB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADERS 32

struct http_header {
	const char *name;
	size_t name_len;
	const char *value; /* without leading or trailing whitespace */
	size_t value_len;
};

struct http_request {
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len;
	int version_major;
	int version_minor;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
};

enum http_parse_status {
	HTTP_NEED_MORE = -1,   /* valid so far; read more and call again */
	HTTP_BAD_REQUEST = -2, /* malformed: answer 400 */
	HTTP_TOO_LARGE = -3,   /* head over max_head bytes or too many
				  header fields: answer 431 */
};

/*
 * Parses the request head in buf[0..len).  Returns the length of the head
 * (> 0, including the final empty line) when it is complete and valid;
 * bytes after it belong to whatever follows (for WebSocket: the first
 * frames).  Otherwise returns one of enum http_parse_status.  A head that
 * is not complete within `max_head` bytes is HTTP_TOO_LARGE.
 */
int http_parse_request(const char *buf, size_t len, size_t max_head,
    struct http_request *req);

/* The first header named `name` (case-insensitive), or NULL. */
const struct http_header *http_find_header(const struct http_request *req,
    const char *name);

/* How many header fields are named `name`. */
size_t http_count_headers(const struct http_request *req, const char *name);

/*
 * True if any header named `name` holds `token` in its comma-separated
 * list, case-insensitively ("Connection: keep-alive, Upgrade").
 */
bool http_header_has_token(const struct http_request *req, const char *name,
    const char *token);

/* True if the comma-separated list v[0..len) holds `token`, any case. */
bool http_list_has_token(const char *v, size_t len, const char *token);

/* True if the method is exactly `method` (methods are case-sensitive). */
bool http_method_is(const struct http_request *req, const char *method);

#endif
