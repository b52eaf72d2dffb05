/* upgrade — client side of the WebSocket opening handshake (see upgrade.h). */
#include <resolv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upgrade.h"
#include "wshub/handshake.h"
#include "wshub/http.h"

/* The GET request, with a fresh 16-byte random key. */
int
upgrade_request(char *out, const char *host, const char *path,
    char accept[UPGRADE_ACCEPT_LEN + 1])
{
	uint8_t nonce[16];
	char key[UPGRADE_KEY_LEN + 1];
	int n;

	arc4random_buf(nonce, sizeof(nonce));
	b64_ntop(nonce, sizeof(nonce), key, sizeof(key));
	handshake_accept_key(key, UPGRADE_KEY_LEN, accept);
	n = snprintf(out, UPGRADE_REQ_MAX,
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n", path, host, key);
	return n < 0 || n >= UPGRADE_REQ_MAX ? -1 : n;
}

/* Header facts upgrade_check needs. */
struct seen {
	bool upgrade, connection, accept_ok, accept_seen;
};

/* Looks at one "Name: value" line [line, line + n). */
static void
check_line(const char *line, size_t n, const char *accept, struct seen *s)
{
	const char *colon = memchr(line, ':', n);
	size_t name_len, vlen;
	const char *v;

	if (colon == NULL)
		return;
	name_len = (size_t)(colon - line);
	v = colon + 1;
	vlen = n - name_len - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
#define IS(name) (name_len == sizeof(name) - 1 && \
	    strncasecmp(line, name, name_len) == 0)
	if (IS("Upgrade"))
		s->upgrade = http_list_has_token(v, vlen, "websocket");
	else if (IS("Connection"))
		s->connection = http_list_has_token(v, vlen, "upgrade");
	else if (IS("Sec-WebSocket-Accept")) {
		s->accept_seen = true;
		s->accept_ok = vlen == UPGRADE_ACCEPT_LEN &&
		    memcmp(v, accept, UPGRADE_ACCEPT_LEN) == 0;
	}
#undef IS
}

/* Status line, Upgrade, Connection, Sec-WebSocket-Accept. */
int
upgrade_check(const char *buf, size_t len, const char *accept)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *p, *eol;
	struct seen s = { false, false, false, false };

	if (end == NULL)
		return UPGRADE_AGAIN;
	if (end - buf < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0 ||
	    (end - buf > 12 && buf[12] != ' ' && buf[12] != '\r'))
		return UPGRADE_ESTATUS;
	p = (const char *)memchr(buf, '\n', (size_t)(end + 2 - buf)) + 1;
	while (p < end + 2 &&
	    (eol = memchr(p, '\r', (size_t)(end + 2 - p))) != NULL) {
		check_line(p, (size_t)(eol - p), accept, &s);
		p = eol + 2;
	}
	if (!s.upgrade || !s.connection)
		return UPGRADE_EHEADER;
	if (!s.accept_ok)
		return UPGRADE_EACCEPT;
	return (int)(end - buf) + 4;
}

/* Three digits after "HTTP/1.x ". */
int
upgrade_status_code(const char *buf, size_t len)
{
	int code = 0;

	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
		return 0;
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return 0;
		code = code * 10 + (buf[i] - '0');
	}
	return code;
}

/*
 * The value of header `name` in the header block [buf, end), trimmed, in
 * *v and *vlen; false if absent.
 */
static bool
header_value(const char *buf, const char *end, const char *name,
    const char **v, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *p = memchr(buf, '\n', (size_t)(end - buf)), *eol;

	for (p = p ? p + 1 : end; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((size_t)(eol - p) <= nlen || p[nlen] != ':' ||
		    strncasecmp(p, name, nlen) != 0)
			continue;
		*v = p + nlen + 1;
		while (*v < eol && (**v == ' ' || **v == '\t'))
			(*v)++;
		*vlen = (size_t)(eol - *v);
		while (*vlen > 0 && strchr(" \t\r", (*v)[*vlen - 1]) != NULL)
			(*vlen)--;
		return true;
	}
	return false;
}

/*
 * The Content-Length of the header block [buf, end): true with *n set, or
 * false without one.  An absurd length reads as SIZE_MAX.
 */
static bool
content_length(const char *buf, const char *end, size_t *n)
{
	const char *v;
	size_t vlen;

	if (!header_value(buf, end, "Content-Length", &v, &vlen))
		return false;
	*n = 0;
	for (size_t i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++) {
		if (*n > 100000000) {
			*n = SIZE_MAX;  /* the caller's buffer caps it */
			break;
		}
		*n = *n * 10 + (size_t)(v[i] - '0');
	}
	return true;
}

/* Header block plus Content-Length, or the header block alone. */
size_t
upgrade_refusal_len(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	size_t head, body;

	if (end == NULL)
		return len;
	head = (size_t)(end - buf) + 4;
	if (!content_length(buf, end, &body))
		return head;
	return body > SIZE_MAX - head ? SIZE_MAX : head + body;
}

/* Copies [s, s + n) into out, trimmed and cut, non-printables as '?'. */
static void
copy_reason(const char *s, size_t n, char out[UPGRADE_REASON_MAX + 1])
{
	size_t k = 0;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (; k < n && k < UPGRADE_REASON_MAX; k++)
		out[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
	out[k] = '\0';
}

/* The body's first line, else the status line's reason phrase. */
void
upgrade_refusal_reason(const char *buf, size_t len,
    char out[UPGRADE_REASON_MAX + 1])
{
	const char *eol = memchr(buf, '\r', len), *end, *body, *stop;

	out[0] = '\0';
	if (upgrade_status_code(buf, len) == 0 || eol == NULL)
		return;
	if ((end = memmem(buf, len, "\r\n\r\n", 4)) != NULL) {
		size_t n;

		body = end + 4;
		stop = buf + len;  /* without a Content-Length: what came */
		if (content_length(buf, end, &n) &&
		    n < (size_t)(stop - body))
			stop = body + n;
		while (body < stop && strchr(" \t\r\n", *body) != NULL)
			body++;
		for (end = body; end < stop && *end != '\r' && *end != '\n';)
			end++;
		copy_reason(body, (size_t)(end - body), out);
	}
	if (out[0] == '\0' && eol - buf > 12)  /* "HTTP/1.1 503 Reason" */
		copy_reason(buf + 12, (size_t)(eol - buf - 12), out);
}
