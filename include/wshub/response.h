/*
 * response — every HTTP response wshub sends, built in one place: the
 * 101 that switches to WebSocket, 200 with a body, and the errors with a
 * one-line reason.  Each writes a complete response into the caller's
 * buffer and returns its length; nothing here allocates, blocks or
 * touches a socket.
 */
#ifndef WSHUB_RESPONSE_H
#define WSHUB_RESPONSE_H

#include <stddef.h>

/* The reason phrase for the statuses wshub sends ("Error" for others). */
const char *response_status_text(int status);

/* 101 Switching Protocols with Sec-WebSocket-Accept: `accept` (RFC 6455
 * §4.2.2).  Returns its length (truncated to size-1, NUL-terminated). */
size_t response_format_101(char *buf, size_t size, const char *accept);

/*
 * The head of a 200 OK for a body of `body_len` bytes of `type`, with
 * "Cache-Control: no-store" and "Connection: close"; the caller appends
 * the body.  Returns the head's length (truncated to size-1).
 */
size_t response_format_ok_head(char *buf, size_t size, const char *type,
    size_t body_len);

/* Seconds a 503 asks the client to wait before it tries again. */
#define RESPONSE_RETRY_AFTER_S "5"

/*
 * A complete response with `status`, the text/plain body `reason` plus a
 * newline, and "Connection: close" (plus "Sec-WebSocket-Version: 13" for
 * 426, "Allow: GET, HEAD" for 405, "Retry-After: 5" for 503).  Returns its
 * length (truncated to size-1).
 */
size_t response_format_error(char *buf, size_t size, int status,
    const char *reason);

#endif
