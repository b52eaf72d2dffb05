/*
 * handshake — routing an HTTP request and checking a WebSocket upgrade.
 *
 * Pure functions over a parsed request (see http.h): no sockets, no
 * allocation, no logging.  The server reads the request, asks this module
 * what to answer, and writes the answer.
 */
#ifndef WSHUB_HANDSHAKE_H
#define WSHUB_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "wshub/config.h"
#include "wshub/http.h"

/* base64 of a 20-byte SHA-1 is 28 characters. */
#define HANDSHAKE_ACCEPT_LEN 28

/* The fixed GUID of RFC 6455 §1.3. */
#define HANDSHAKE_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum handshake_route {
	ROUTE_PAGE,       /* GET /       the chat page */
	ROUTE_STATS,      /* GET /stats  JSON counters */
	ROUTE_METRICS,    /* GET /metrics  Prometheus text format */
	ROUTE_WEBSOCKET,  /* GET /ws, GET /ws/ROOM  the upgrade */
	ROUTE_DEBUG_THREADS, /* GET /debug/threads[?format=json]  the dump */
	ROUTE_NOT_FOUND,  /* 404 */
	ROUTE_BAD_METHOD, /* 405: a known path with a method other than GET
	                     or HEAD */
};

/* Which Origins may open a WebSocket (RFC 6455 §10.2). */
struct origin_policy {
	bool any;               /* --any-origin */
	const char **patterns;  /* --origin: fnmatch patterns on host[:port] */
	size_t n_patterns;      /* 0: the Origin's host must equal Host */
};

/*
 * Which Host names the server answers: the defence against DNS rebinding,
 * where a web page re-points its own name at 127.0.0.1 and the browser
 * then lets it read the server and open WebSockets to it (wshub(1), HOST
 * NAMES).  A Host is one of
 *   own      localhost and names under .localhost (RFC 6761: they never
 *            leave the machine), a loopback address (127.0.0.0/8, [::1]),
 *            the --addr value, and, off the loopback, any IP address
 *            (an address is not looked up, so it cannot be rebound);
 *   allowed  matched by an --allow-host pattern;
 *   foreign  anything else.
 * On a loopback listener, or anywhere once --allow-host is given, every
 * request needs an own or allowed Host; otherwise any Host is served.
 * /debug/ (the thread dump) is served to own names only, everywhere.
 * Names compare without regard to case and without a trailing dot; the
 * port in Host is not compared (an ssh tunnel or a port mapping reaches
 * the server under another port; rebinding is told by the name).
 */
struct host_policy {
	bool loopback;          /* the listener is on a loopback address */
	const char *addr;       /* --addr as given (NULL: none) */
	const char **patterns;  /* --allow-host: fnmatch patterns on the name */
	size_t n_patterns;
};

/* Host names longer than this are refused as malformed (a DNS name is at
 * most 253 bytes). */
#define HOST_NAME_MAX_LEN 253

/* Room for a reason from handshake_check_host. */
#define HOST_WHY_MAX 320

/*
 * Checks the request's Host header against RFC 9112 §3.2 and the policy,
 * for any route; `debug` says the request is for /debug/.  Returns 0 if
 * the request may go on; otherwise the status to answer with a one-line
 * reason written into why[0..HOST_WHY_MAX):
 *   400  more than one Host header, none in an HTTP/1.1 request, or one
 *        that is not host[:port] (RFC 3986: a name of unreserved,
 *        sub-delims and %XX, an IPv4 address, or an IPv6 one in brackets;
 *        a port of at most 5 digits, up to 65535)
 *   403  a Host the policy does not answer; the reason names the Host and
 *        the --allow-host flag that would allow it (never for /debug/)
 * An HTTP/1.0 request without Host is allowed (no browser sends one).
 */
int handshake_check_host(const struct http_request *req,
    const struct host_policy *policy, bool debug, char why[HOST_WHY_MAX]);

/* Maps method and path (the query string is ignored) to a route: GET
 * and HEAD (the same answer without its body) route; any other method
 * on a known path is ROUTE_BAD_METHOD. */
enum handshake_route handshake_route(const struct http_request *req);

/*
 * The format a /debug/threads request asks for: *json true for
 * ?format=json, false for ?format=text or none.  Returns NULL, or a
 * one-line reason for a 400 when format= has another value (a format
 * silently ignored would answer text to a client that expects JSON).
 */
const char *handshake_format(const struct http_request *req, bool *json);

/* Bytes of an Origin or a Host that a 403's reason shows, at most. */
#define ORIGIN_SHOWN_MAX 96

/*
 * The reason of a 403 for an upgrade whose Origin the policy refuses
 * (handshake_check_upgrade's 403): it names the Origin, the Host it was
 * compared with (each at most ORIGIN_SHOWN_MAX bytes, made visible) and
 * the flags that would allow it.  Writes at most `size` bytes into out
 * (HOST_WHY_MAX is enough).
 */
void handshake_origin_refusal(const struct http_request *req, char *out,
    size_t size);

/*
 * The room a ROUTE_WEBSOCKET request asks for: /ws is DEFAULT_ROOM, and
 * /ws/NAME is NAME, 1 to ROOM_NAME_MAX bytes of A-Z a-z 0-9 . _ - (no
 * percent-decoding: '%' is not allowed).  Copies it into `room` and
 * returns 0, or returns -1 with a one-line reason in *why, for a 400.
 */
int handshake_room(const struct http_request *req,
    char room[ROOM_NAME_MAX + 1], const char **why);

/*
 * Checks a WebSocket upgrade request against RFC 6455 §4.2.1 and the origin
 * policy.  Returns 101 with `accept` filled (NUL-terminated) if it may
 * proceed; otherwise the HTTP status to answer, with *why set to a short
 * static explanation:
 *   400  not HTTP/1.1 or later, no Host, more than one Host,
 *        Sec-WebSocket-Key, Sec-WebSocket-Version or Origin header (each
 *        must be single: RFC 6455 §11.3.1, §11.3.5, RFC 6454 §7.3, RFC
 *        9112 §3.2), missing or wrong Upgrade or Connection, a missing key
 *        or one that is not base64 of exactly 16 bytes
 *   426  Sec-WebSocket-Version is not 13 (answer with
 *        "Sec-WebSocket-Version: 13")
 *   403  an Origin header that the policy does not allow
 * Requests without an Origin header (non-browser clients) are allowed.
 */
int handshake_check_upgrade(const struct http_request *req,
    const struct origin_policy *policy, char accept[HANDSHAKE_ACCEPT_LEN + 1],
    const char **why);

/*
 * Computes Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) into `out`
 * (NUL-terminated).  Returns 0, or -1 if the key is longer than 64
 * (KEY_MAX) bytes.
 */
int handshake_accept_key(const char *key, size_t key_len,
    char out[HANDSHAKE_ACCEPT_LEN + 1]);

#endif
