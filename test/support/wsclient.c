/* A blocking test client over raw sockets (see wsclient.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/wsclient.h"

const char ws_upgrade_request[] =
    "GET /ws HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

int
ws_tcp_connect(uint16_t port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
ws_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes within timeout_ms; 0 or -1. */
static int
read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;

	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		n = read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ws_http(int fd, const char *request, char *resp, size_t size)
{
	char head[8192];
	size_t len = 0;
	int status = 0;

	if (request && ws_write_all(fd, request, strlen(request)) != 0)
		return 0;
	/* Byte by byte, so nothing after the head is consumed. */
	while (len < sizeof(head) - 1 && read_exact(fd, head + len, 1,
	    WS_TIMEOUT_MS) == 0) {
		len++;
		if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	head[len] = '\0';
	sscanf(head, "HTTP/1.1 %d", &status);
	if (resp)
		snprintf(resp, size, "%s", head);
	return status;
}

int
ws_open_rcvbuf(uint16_t port, int rcvbuf)
{
	int fd = ws_tcp_connect(port, rcvbuf);

	if (fd >= 0 && ws_http(fd, ws_upgrade_request, NULL, 0) != 101) {
		close(fd);
		return -1;
	}
	return fd;
}

int
ws_open(uint16_t port)
{
	return ws_open_rcvbuf(port, 0);
}

int
ws_upgrade_path(uint16_t port, const char *path, int *status, char *resp,
    size_t size)
{
	char req[sizeof(ws_upgrade_request) + 256];
	int fd = ws_tcp_connect(port, 0);

	snprintf(req, sizeof(req), "GET %s%s", path,
	    ws_upgrade_request + strlen("GET /ws"));
	*status = fd < 0 ? -1 : ws_http(fd, req, resp, size);
	if (*status != 101 && fd >= 0) {
		size_t len = resp ? strlen(resp) : 0;

		while (resp && len + 1 < size &&
		    read_exact(fd, resp + len, 1, WS_TIMEOUT_MS) == 0)
			resp[++len] = '\0'; /* the body too, up to the close */
		close(fd);
		fd = -1;
	}
	return fd;
}

int
ws_open_room(uint16_t port, const char *room)
{
	char path[128];
	int status;

	snprintf(path, sizeof(path), "/ws/%s", room);
	return ws_upgrade_path(port, path, &status, NULL, 0);
}

size_t
ws_encode(uint8_t *out, uint8_t b0, const void *payload, size_t len)
{
	uint8_t mask[4];
	size_t h = 0;

	arc4random_buf(mask, sizeof(mask));
	out[h++] = b0;
	if (len <= 125)
		out[h++] = 0x80 | (uint8_t)len;
	else if (len <= 0xffff) {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	memcpy(out + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		out[h + i] = ((const uint8_t *)payload)[i] ^ mask[i % 4];
	return h + len;
}

int
ws_send_raw(int fd, uint8_t b0, const void *payload, size_t len)
{
	uint8_t *buf = malloc(14 + len);
	int rc;

	rc = ws_write_all(fd, buf, ws_encode(buf, b0, payload, len));
	free(buf);
	return rc;
}

int
ws_send(int fd, uint8_t opcode, const void *payload, size_t len)
{
	return ws_send_raw(fd, 0x80 | opcode, payload, len);
}

int
ws_send_close(int fd, uint16_t code, const char *reason)
{
	uint8_t p[125];
	size_t rlen = reason ? strlen(reason) : 0;

	if (code == 0)
		return ws_send(fd, 0x8, NULL, 0);
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	if (rlen > 0)
		memcpy(p + 2, reason, rlen);
	return ws_send(fd, 0x8, p, 2 + rlen);
}

int
ws_recv(int fd, struct ws_frame *f, int timeout_ms)
{
	uint8_t h[8];
	uint64_t len;

	memset(f, 0, sizeof(*f));
	if (read_exact(fd, h, 2, timeout_ms) != 0)
		return -1;
	f->fin = h[0] >> 7;
	f->rsv = (h[0] >> 4) & 7;
	f->opcode = h[0] & 0xf;
	f->masked = h[1] >> 7;
	len = h[1] & 0x7f;
	if (len == 126) {
		if (read_exact(fd, h, 2, timeout_ms) != 0)
			return -1;
		len = (uint64_t)h[0] << 8 | h[1];
	} else if (len == 127) {
		if (read_exact(fd, h, 8, timeout_ms) != 0)
			return -1;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[i];
	}
	if (f->masked || len > (64u << 20))
		return -1; /* servers never mask; refuse absurd lengths */
	f->len = (size_t)len;
	f->payload = malloc(f->len + 1);
	f->payload[f->len] = 0;
	if (read_exact(fd, f->payload, f->len, timeout_ms) != 0) {
		ws_frame_free(f);
		return -1;
	}
	return 0;
}

void
ws_frame_free(struct ws_frame *f)
{
	free(f->payload);
	f->payload = NULL;
}

int
ws_recv_close(int fd, int *skipped)
{
	struct ws_frame f;
	int code;

	if (skipped)
		*skipped = 0;
	while (ws_recv(fd, &f, WS_TIMEOUT_MS) == 0) {
		if (f.opcode == 0x8) {
			code = f.len >= 2 ? f.payload[0] << 8 | f.payload[1] : 1005;
			ws_frame_free(&f);
			return code;
		}
		if (skipped)
			(*skipped)++;
		ws_frame_free(&f);
	}
	return -1;
}

bool
ws_wait_eof(int fd, int timeout_ms)
{
	char buf[4096];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return true;
	}
}

char *
ws_get(uint16_t port, const char *path)
{
	char req[512];
	size_t len = 0, cap = 16384;
	char *buf = malloc(cap);
	ssize_t n;
	int fd = ws_tcp_connect(port, 0);

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (fd < 0 || buf == NULL || ws_write_all(fd, req, strlen(req)) != 0) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			break;
	}
	close(fd);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}
