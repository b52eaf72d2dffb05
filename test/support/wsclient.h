/*
 * A deliberately simple blocking WebSocket client for tests: raw sockets,
 * masked frames built by hand, so a test can send anything (broken frames
 * included) and see exactly what the server sends back.  Every receive has
 * a timeout so a server bug fails a test instead of hanging it.
 */
#ifndef WSHUB_TEST_WSCLIENT_H
#define WSHUB_TEST_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_TIMEOUT_MS 5000

struct ws_frame {
	bool fin;
	uint8_t rsv;      /* the three RSV bits, RSV1 highest */
	uint8_t opcode;
	bool masked;
	size_t len;
	uint8_t *payload; /* malloc'd, NUL-terminated; free with ws_frame_free */
};

/* TCP connection to 127.0.0.1:port, or -1.  `rcvbuf` > 0 shrinks the
 * receive buffer (a client that reads slowly). */
int ws_tcp_connect(uint16_t port, int rcvbuf);

/* Writes all bytes; 0 or -1. */
int ws_write_all(int fd, const void *buf, size_t len);

/* Sends an HTTP request and reads the response head; returns the status
 * code (0 if none came).  `resp` (may be NULL) receives the head. */
int ws_http(int fd, const char *request, char *resp, size_t size);

/* An upgrade request for /ws missing its key, with `extra` header lines
 * in its place (WS_KEY makes it valid), and the RFC's sample key line.
 * Its Host is one a server on the loopback answers (wshub(1), HOST
 * NAMES), on a port that is not the server's: the port is not compared. */
#define WS_REQUEST(extra) "GET /ws HTTP/1.1\r\nHost: localhost:1\r\n" \
	"Upgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Version: 13\r\n" extra "\r\n"
#define WS_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

/* A valid upgrade request for /ws with the RFC's sample key. */
extern const char ws_upgrade_request[];

/* Connects and upgrades; returns the socket or -1. */
int ws_open(uint16_t port);
int ws_open_rcvbuf(uint16_t port, int rcvbuf);

/*
 * Asks to upgrade at `path` (e.g. "/ws/red"); *status is the HTTP status
 * (-1 if it could not connect) and `resp`, if not NULL, gets the response
 * head (and, for a refusal, its body).  Returns the socket after a 101,
 * else -1 (the socket is closed).
 */
int ws_upgrade_path(uint16_t port, const char *path, int *status, char *resp,
    size_t size);

/* GETs `path` over a new connection and returns the whole response, head
 * and body, read until the server closes (malloc'd; NULL on failure). */
char *ws_get(uint16_t port, const char *path);

/* Connects and joins room `room` (/ws/ROOM); the socket or -1. */
int ws_open_room(uint16_t port, const char *room);

/*
 * Encodes one masked frame (a fresh random mask) into `out`, which must
 * have room for 14 + len bytes: first byte `b0` (FIN|RSV|opcode), then the
 * payload.  Returns the frame's length on the wire.  For tests that send
 * several frames in one write, or one frame in several.
 */
size_t ws_encode(uint8_t *out, uint8_t b0, const void *payload, size_t len);

/* Sends one masked frame: first byte `b0` (FIN|RSV|opcode), then payload. */
int ws_send_raw(int fd, uint8_t b0, const void *payload, size_t len);

/* Sends a whole masked message (FIN set). */
int ws_send(int fd, uint8_t opcode, const void *payload, size_t len);

/* Sends a masked close frame with `code` (0: empty payload) and reason. */
int ws_send_close(int fd, uint16_t code, const char *reason);

/* Reads one frame within timeout_ms; 0, or -1 on EOF, error or timeout. */
int ws_recv(int fd, struct ws_frame *f, int timeout_ms);
void ws_frame_free(struct ws_frame *f);

/*
 * Reads frames until a close frame; returns its code (1005 for an empty
 * one), or -1 if the connection ended without one.  Data frames seen on
 * the way are counted in *skipped (may be NULL).
 */
int ws_recv_close(int fd, int *skipped);

/* True if the peer closes TCP (EOF or reset) within timeout_ms. */
bool ws_wait_eof(int fd, int timeout_ms);

#endif
