/*
 * http — a strict HTTP/1.x request-head parser (see http.h).
 *
 * The parser walks the buffer once with a cursor.  Running out of bytes at
 * any point means HTTP_NEED_MORE (or HTTP_TOO_LARGE past max_head), so a
 * request that arrives one byte at a time parses the same as one that
 * arrives whole, and garbage is refused as soon as it is seen.
 */
#include <string.h>
#include <strings.h>

#include "wshub/http.h"

struct cursor {
	const char *p;
	const char *end;
};

enum step { STEP_OK = 0, STEP_MORE = -1, STEP_BAD = -2 };

/* RFC 9110 §5.6.2 tchar. */
static bool
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* Visible characters and obs-text, as allowed in a field value. */
static bool
is_vchar(unsigned char c)
{
	return (c > 0x20 && c != 0x7f);
}

/* Reads a run of token characters ending at `stop`, then skips `stop`. */
static int
take_token(struct cursor *c, char stop, const char **tok, size_t *len)
{
	const char *start = c->p;

	while (c->p < c->end && is_tchar((unsigned char)*c->p))
		c->p++;
	if (c->p == c->end)
		return STEP_MORE;
	if (*c->p != stop || c->p == start)
		return STEP_BAD;
	*tok = start;
	*len = (size_t)(c->p - start);
	c->p++;
	return STEP_OK;
}

/* Expects CRLF at the cursor. */
static int
take_crlf(struct cursor *c)
{
	if (c->p == c->end)
		return STEP_MORE;
	if (*c->p != '\r')
		return STEP_BAD;
	if (c->p + 1 == c->end)
		return STEP_MORE;
	if (c->p[1] != '\n')
		return STEP_BAD;
	c->p += 2;
	return STEP_OK;
}

/* "METHOD SP request-target SP HTTP/d.d CRLF" */
static int
take_request_line(struct cursor *c, struct http_request *req)
{
	int rc = take_token(c, ' ', &req->method, &req->method_len);
	const char *start;

	if (rc != STEP_OK)
		return rc;
	for (start = c->p; c->p < c->end && is_vchar((unsigned char)*c->p);)
		c->p++;
	if (c->p == c->end)
		return STEP_MORE;
	if (*c->p != ' ' || c->p == start)
		return STEP_BAD;
	req->target = start;
	req->target_len = (size_t)(c->p++ - start);
	for (int i = 0; i < 8; i++) { /* "HTTP/D.D", D a digit */
		char want = "HTTP/D.D"[i];

		if (c->p + i == c->end)
			return STEP_MORE;
		if (want == 'D' ? c->p[i] < '0' || c->p[i] > '9' : c->p[i] != want)
			return STEP_BAD;
	}
	req->version_major = c->p[5] - '0';
	req->version_minor = c->p[7] - '0';
	c->p += 8;
	return take_crlf(c);
}

/* "name: OWS value OWS CRLF"; the value is trimmed. */
static int
take_header(struct cursor *c, struct http_header *h)
{
	int rc = take_token(c, ':', &h->name, &h->name_len);
	const char *start, *last;

	if (rc != STEP_OK)
		return rc;
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
	start = last = c->p;
	while (c->p < c->end && (is_vchar((unsigned char)*c->p) ||
	    *c->p == ' ' || *c->p == '\t')) {
		if (*c->p != ' ' && *c->p != '\t')
			last = c->p + 1;
		c->p++;
	}
	if (c->p == c->end)
		return STEP_MORE;
	h->value = start;
	h->value_len = (size_t)(last - start);
	return take_crlf(c);
}

/* Maps a step result to the parser's answer for a buffer of `len` bytes. */
static int
incomplete(int step, size_t len, size_t max_head)
{
	if (step == STEP_BAD)
		return HTTP_BAD_REQUEST;
	return len >= max_head ? HTTP_TOO_LARGE : HTTP_NEED_MORE;
}

int
http_parse_request(const char *buf, size_t len, size_t max_head,
    struct http_request *req)
{
	struct cursor c = { buf, buf + (len < max_head ? len : max_head) };
	int rc;

	memset(req, 0, sizeof(*req));
	if ((rc = take_request_line(&c, req)) != STEP_OK)
		return incomplete(rc, len, max_head);
	for (;;) {
		if (c.p == c.end)
			return incomplete(STEP_MORE, len, max_head);
		if (*c.p == '\r') { /* the empty line ends the head */
			if ((rc = take_crlf(&c)) != STEP_OK)
				return incomplete(rc, len, max_head);
			return (int)(c.p - buf);
		}
		if (req->n_headers == HTTP_MAX_HEADERS)
			return HTTP_TOO_LARGE;
		rc = take_header(&c, &req->headers[req->n_headers]);
		if (rc != STEP_OK)
			return incomplete(rc, len, max_head);
		req->n_headers++;
	}
}

/* Case-insensitive comparison of a counted string with a C string. */
static bool
span_eq(const char *s, size_t len, const char *cstr)
{
	return strlen(cstr) == len && strncasecmp(s, cstr, len) == 0;
}

const struct http_header *
http_find_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (span_eq(req->headers[i].name, req->headers[i].name_len, name))
			return &req->headers[i];
	return NULL;
}

size_t
http_count_headers(const struct http_request *req, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < req->n_headers; i++)
		n += span_eq(req->headers[i].name, req->headers[i].name_len, name);
	return n;
}

bool
http_list_has_token(const char *v, size_t len, const char *token)
{
	const char *end = v + len;

	while (v < end) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		const char *item_end = comma ? comma : end;
		const char *a = v, *b = item_end;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (span_eq(a, (size_t)(b - a), token))
			return true;
		v = comma ? comma + 1 : end;
	}
	return false;
}

bool
http_header_has_token(const struct http_request *req, const char *name,
    const char *token)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];

		if (span_eq(h->name, h->name_len, name) &&
		    http_list_has_token(h->value, h->value_len, token))
			return true;
	}
	return false;
}

bool
http_method_is(const struct http_request *req, const char *method)
{
	return strlen(method) == req->method_len &&
	    memcmp(req->method, method, req->method_len) == 0;
}
