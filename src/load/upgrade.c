/* upgrade — client side of the WebSocket opening handshake (see upgrade.h). */
#include <resolv.h>
#include <stdbool.h>
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
