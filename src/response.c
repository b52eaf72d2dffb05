/* response — the HTTP responses wshub sends (see response.h). */
#include <stdio.h>
#include <string.h>

#include "wshub/response.h"

/* snprintf's result as a length: what was written, at most size-1. */
static size_t
written(int n, size_t size)
{
	if (n < 0 || size == 0)
		return 0;
	return (size_t)n >= size ? size - 1 : (size_t)n;
}

const char *
response_status_text(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

size_t
response_format_101(char *buf, size_t size, const char *accept)
{
	return written(snprintf(buf, size,
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "\r\n", accept), size);
}

size_t
response_format_ok_head(char *buf, size_t size, const char *type,
    size_t body_len)
{
	return written(snprintf(buf, size,
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "\r\n", type, body_len), size);
}

size_t
response_format_error(char *buf, size_t size, int status, const char *reason)
{
	return written(snprintf(buf, size,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n"
	    "%s\n", status, response_status_text(status), strlen(reason) + 1,
	    status == 426 ? "Sec-WebSocket-Version: 13\r\n" :
	    status == 405 ? "Allow: GET, HEAD\r\n" :
	    status == 503 ? "Retry-After: " RESPONSE_RETRY_AFTER_S "\r\n" : "",
	    reason), size);
}
