/*
 * upgrade — the client side of the WebSocket opening handshake
 * (RFC 6455 §4.1): build the GET request, check the 101 response.
 *
 * Stateless over the caller's buffers, no allocation, no I/O.
 */
#ifndef WSHUB_LOAD_UPGRADE_H
#define WSHUB_LOAD_UPGRADE_H

#include <stddef.h>

#define UPGRADE_KEY_LEN 24     /* base64 of 16 random bytes */
#define UPGRADE_ACCEPT_LEN 28  /* = HANDSHAKE_ACCEPT_LEN: base64 of SHA-1 */
#define UPGRADE_REQ_MAX 768    /* request buffer that always suffices */
#define UPGRADE_REASON_MAX 120 /* a refusal's reason, as the report shows it */

enum upgrade_status {
	UPGRADE_AGAIN = -1,    /* no blank line yet: read more */
	UPGRADE_ESTATUS = -2,  /* status line is not "HTTP/1.1 101" */
	UPGRADE_EHEADER = -3,  /* Upgrade or Connection header missing/wrong */
	UPGRADE_EACCEPT = -4,  /* Sec-WebSocket-Accept missing or wrong */
};

/*
 * Writes the upgrade request for `host` (the Host header value) and `path`
 * into `out` (UPGRADE_REQ_MAX bytes) with a fresh random key, and the
 * accept value the server must answer with into `accept`.  Returns the
 * request length, or -1 if host and path are too long for the buffer.
 */
int upgrade_request(char *out, const char *host, const char *path,
    char accept[UPGRADE_ACCEPT_LEN + 1]);

/*
 * Checks the response bytes received so far (`len` of them; need not be
 * NUL-terminated).  Returns the length of the header block including the
 * blank line when it is a valid 101 answering `accept` (the bytes after it
 * are WebSocket frames), UPGRADE_AGAIN when the block is incomplete, or
 * one of the negative errors above; then the connection must be dropped.
 */
int upgrade_check(const char *buf, size_t len, const char *accept);

/*
 * The status code of the response's status line ("HTTP/1.1 503 ..." ->
 * 503), or 0 if `buf` does not start with one.  For error reports.
 */
int upgrade_status_code(const char *buf, size_t len);

/*
 * A refusal (upgrade_check said UPGRADE_ESTATUS): how many bytes the whole
 * response takes, its header block and the body its Content-Length
 * announces.  Without a Content-Length, the header block alone: the body
 * is then whatever has arrived.  The caller reads on until it has that
 * many bytes (or its buffer is full, or the peer closes) before it takes
 * the reason.
 */
size_t upgrade_refusal_len(const char *buf, size_t len);

/*
 * The server's reason for a refusal, for the report: the first line of
 * the body in `buf` (`len` bytes), or without one the status line's reason
 * phrase ("Service Unavailable").  Cut to UPGRADE_REASON_MAX bytes, each
 * byte that is not printable ASCII replaced by '?': the text came from the
 * network and goes to a terminal and into JSON.  "" when `buf` has no
 * complete status line.
 */
void upgrade_refusal_reason(const char *buf, size_t len,
    char out[UPGRADE_REASON_MAX + 1]);

#endif
