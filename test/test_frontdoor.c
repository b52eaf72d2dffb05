/*
 * The front door over real sockets: every rejection with its status, the
 * accept header and a request split across writes, bytes after the head,
 * an unfinished request held until the handshake timeout, 503 past
 * --max-clients and when a connection's threads cannot start, and the
 * Host names a server answers (DNS rebinding).
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/child.h"
#include "support/testserver.h"
#include "support/wsclient.h"
#include "wshub/handshake.h"

static struct test_server ts;

static void
start(void)
{
	test_server_init(&ts);
	ts.cfg.handshake_timeout_ms = 500;
	test_server_start(&ts);
}

static void
stop(void)
{
	test_server_stop(&ts);
}

/* Sends `request` on a fresh connection; returns the status, expects the
 * server to close afterwards. */
static int
status_of(const char *request, size_t len)
{
	int fd = ws_tcp_connect(ts.port, 0), status;

	cr_assert_geq(fd, 0);
	ws_write_all(fd, request, len);
	status = ws_http(fd, NULL, NULL, 0);
	cr_assert(ws_wait_eof(fd, WS_TIMEOUT_MS), "the server must close");
	close(fd);
	return status;
}

#define STATUS_OF(s) status_of(s, strlen(s))

Test(frontdoor, every_rejection_over_a_socket, .init = start, .fini = stop,
    .timeout = 30)
{
	char huge[64 * 1024];
	int fd;
	char resp[4096];

	cr_assert_eq(STATUS_OF(WS_REQUEST("")), 400);
	cr_assert_eq(STATUS_OF("GET /ws HTTP/1.0\r\nHost: localhost\r\n\r\n"), 400);
	cr_assert_eq(STATUS_OF(WS_REQUEST(WS_KEY "Origin: http://elsewhere\r\n")), 403);
	cr_assert_eq(STATUS_OF("garbage\x01\x02\r\n\r\n"), 400);
	cr_assert_eq(STATUS_OF("GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n"), 404);
	cr_assert_eq(STATUS_OF("PUT / HTTP/1.1\r\nHost: localhost\r\n\r\n"), 405);
	cr_assert_eq(STATUS_OF("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), 200);
	cr_assert_eq(STATUS_OF("GET /stats HTTP/1.1\r\nHost: localhost\r\n\r\n"), 200);
	memset(huge, 'a', sizeof(huge));
	memcpy(huge, "GET /ws HTTP/1.1\r\nX: ", 21);
	cr_assert_eq(status_of(huge, sizeof(huge)), 431);

	fd = ws_tcp_connect(ts.port, 0);
	cr_assert_eq(ws_http(fd, "GET /ws HTTP/1.1\r\nHost: localhost\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 12\r\n" WS_KEY "\r\n", resp, sizeof(resp)), 426);
	cr_assert_not_null(strstr(resp, "\r\nSec-WebSocket-Version: 13\r\n"));
	close(fd);
	cr_assert_eq(stats_get(&test_server_stats(&ts)->handshake_rejects), 6);
}

Test(frontdoor, accept_header_and_split_request, .init = start,
    .fini = stop, .timeout = 30)
{
	int fd = ws_tcp_connect(ts.port, 0);
	char resp[1024];
	struct ws_frame f;

	/* One byte per write: the front door reassembles the request. */
	for (const char *p = ws_upgrade_request; *p; p++)
		cr_assert_eq(ws_write_all(fd, p, 1), 0);
	cr_assert_eq(ws_http(fd, NULL, resp, sizeof(resp)), 101);
	cr_assert_not_null(strstr(resp,
	    "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	ws_send(fd, 0x1, "split", 5);
	cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0);
	cr_assert_str_eq((char *)f.payload, "split");
	ws_frame_free(&f);
	close(fd);
}

Test(frontdoor, bytes_after_the_head_are_the_first_frame, .init = start,
    .fini = stop, .timeout = 30)
{
	static const uint8_t frame[] = { 0x81, 0x83, 1, 2, 3, 4,
	    'h' ^ 1, 'e' ^ 2, 'y' ^ 3 };
	char both[1024];
	size_t n = strlen(ws_upgrade_request);
	int fd = ws_tcp_connect(ts.port, 0);
	struct ws_frame f;

	memcpy(both, ws_upgrade_request, n);
	memcpy(both + n, frame, sizeof(frame));
	cr_assert_eq(ws_write_all(fd, both, n + sizeof(frame)), 0); /* one write */
	cr_assert_eq(ws_http(fd, NULL, NULL, 0), 101);
	cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0);
	cr_assert_eq(f.opcode, 0x1);
	cr_assert_str_eq((char *)f.payload, "hey");
	ws_frame_free(&f);
	close(fd);
}

/*
 * The rule: an unfinished request is held until --handshake-timeout, then
 * closed.  Held, not closed at once: once the server has read the partial
 * head, a whole request on a second connection is answered.  The front
 * door is one thread that handles each socket's event to its end before
 * the next, and it read the second request after the partial head, so
 * whatever it does with a partial head is done by the time the answer
 * arrives.  The server's end of the first connection must then still be
 * open (test_wait_server_read finds its descriptor) and the client must
 * see no EOF.  Nothing is timed: the 2 s timeout is only room for those
 * steps on a loaded machine.
 */
Test(frontdoor, unfinished_request_is_closed_at_the_timeout, .timeout = 30)
{
	enum { TIMEOUT_MS = 2000 };
	int fd, other;
	char byte;

	test_server_init(&ts);
	ts.cfg.handshake_timeout_ms = TIMEOUT_MS;
	test_server_start(&ts);
	fd = ws_tcp_connect(ts.port, 0);
	cr_assert_eq(ws_write_all(fd, "GET /ws HTTP/1.1\r\nHo", 20), 0);
	cr_assert(test_wait_server_read(fd, WS_TIMEOUT_MS),
	    "the server did not read the partial request, or closed it");
	other = ws_tcp_connect(ts.port, 0);
	cr_assert_eq(ws_http(other, "GET /stats HTTP/1.1\r\nHost: localhost\r\n\r\n",
	    NULL, 0), 200);
	close(other);
	cr_assert(test_wait_server_read(fd, 0), /* one look, no waiting */
	    "the server closed the unfinished request before its timeout");
	cr_assert_eq(recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT), -1,
	    "EOF before --handshake-timeout");
	cr_assert(ws_wait_eof(fd, TIMEOUT_MS + WS_TIMEOUT_MS),
	    "a slowloris request must be closed after --handshake-timeout");
	close(fd);
	test_server_stop(&ts);
}

Test(frontdoor, max_clients_answers_503, .timeout = 30)
{
	int a, b, c;

	test_server_init(&ts);
	ts.cfg.max_clients = 2;
	test_server_start(&ts);
	a = ws_open(ts.port);
	b = ws_open(ts.port);
	cr_assert(a >= 0 && b >= 0);
	c = ws_tcp_connect(ts.port, 0);
	cr_assert_eq(ws_http(c, ws_upgrade_request, NULL, 0), 503);
	close(c);
	close(a); /* a leaves: room again once it is reaped */
	for (int tries = 0; tries < 500; tries++) {
		c = ws_tcp_connect(ts.port, 0);
		if (ws_http(c, ws_upgrade_request, NULL, 0) == 101)
			break;
		close(c);
		c = -1;
		usleep(10000);
	}
	cr_assert_geq(c, 0, "a freed slot must be usable again");
	close(b);
	close(c);
	test_server_stop(&ts);
}

/* ---- Host names (DNS rebinding) -------------------------------------- */

/*
 * Sends `request` on a new connection to `port` and reads the response:
 * for a 101 its head, else everything until the server closes (bounded).
 * Returns the status (0 if none came); `resp` gets the text.
 */
static int
exchange(uint16_t port, const char *request, char *resp, size_t size)
{
	int fd = ws_tcp_connect(port, 0), status = 0;
	size_t len = 0;

	cr_assert_geq(fd, 0);
	cr_assert_eq(ws_write_all(fd, request, strlen(request)), 0);
	while (len < size - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, WS_TIMEOUT_MS) <= 0 ||
		    (n = read(fd, resp + len, size - 1 - len)) <= 0)
			break;
		len += (size_t)n;
		resp[len] = '\0';
		if (strncmp(resp, "HTTP/1.1 101 ", 13) == 0 &&
		    strstr(resp, "\r\n\r\n") != NULL)
			break;
	}
	resp[len] = '\0';
	close(fd);
	sscanf(resp, "HTTP/1.1 %d", &status);
	return status;
}

/* An upgrade request for /ws with this Host and, unless NULL, Origin. */
static const char *
upgrade_for(const char *host, const char *origin)
{
	static char req[1024];

	snprintf(req, sizeof(req), "GET /ws HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n" WS_KEY "%s%s%s\r\n", host,
	    origin ? "Origin: " : "", origin ? origin : "",
	    origin ? "\r\n" : "");
	return req;
}

/* A GET of `path` (or another method) with this Host. */
static const char *
get_for(const char *method, const char *path, const char *host)
{
	static char req[1024];

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s\r\n\r\n",
	    method, path, host);
	return req;
}

/* The body of a response (after the head), or "". */
static const char *
body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	return b != NULL ? b + 4 : "";
}

/*
 * Issue 17 item 9.  A page that rebinds its name to 127.0.0.1 reaches a
 * loopback hub with Host: evil.example:PORT, and its Origin matches that
 * Host.  Before: /debug/threads answered 200 (every client's address and
 * room), the chat page and /stats 200, and the upgrade 101.  Now every
 * route answers 403, with a one-line reason naming the Host and the flag
 * that would allow it, and the hub never sees a client.
 */
Test(frontdoor, foreign_host_gets_403_on_every_route, .init = start,
    .fini = stop, .timeout = 30)
{
	static const char *const routes[][2] = {
		{ "GET", "/debug/threads" }, { "GET", "/debug/threads?format=json" },
		{ "GET", "/" }, { "GET", "/index.html" }, { "GET", "/stats" },
		{ "GET", "/metrics" }, { "GET", "/nope" },
		{ "POST", "/" }, { "GET", "/ws/room" },
	};
	char host[64], origin[80], resp[4096], want[96];
	int watcher = ws_open(ts.port); /* a client the dump would show */

	cr_assert_geq(watcher, 0);
	snprintf(host, sizeof(host), "evil.example:%u", ts.port);
	snprintf(origin, sizeof(origin), "http://%s", host);
	snprintf(want, sizeof(want), "Host '%s'", host);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		cr_assert_eq(exchange(ts.port, get_for(routes[i][0],
		    routes[i][1], host), resp, sizeof(resp)), 403,
		    "%s %s with a foreign Host: %.300s", routes[i][0], routes[i][1],
		    resp);
		cr_assert_null(strstr(resp, "127.0.0.1:"),
		    "a client's address leaked: %.300s", resp);
	}
	cr_assert_eq(exchange(ts.port, upgrade_for(host, origin), resp,
	    sizeof(resp)), 403, "upgrade with Host and Origin evil: %.300s", resp);
	cr_assert_not_null(strstr(body_of(resp), want), "%.300s", resp);
	cr_assert_not_null(strstr(body_of(resp), "--allow-host evil.example"),
	    "%.300s", resp);
	cr_assert_eq(strchr(body_of(resp), '\n'), body_of(resp) +
	    strlen(body_of(resp)) - 1, "a one-line reason: %.300s", resp);
	/* Without a port, any case, a trailing dot: the same name. */
	cr_assert_eq(exchange(ts.port, get_for("GET", "/stats", "Evil.Example."),
	    resp, sizeof(resp)), 403, "%.300s", resp);
	cr_assert_eq(exchange(ts.port, upgrade_for("evil.example",
	    "http://evil.example"), resp, sizeof(resp)), 403, "%.300s", resp);
	cr_assert_eq(stats_get(&test_server_stats(&ts)->connections_total), 1,
	    "only the watcher connected");
	close(watcher);
}

/*
 * The server's own names get everything, whatever the port in Host (an
 * ssh tunnel reaches it under another one): localhost (any case, a
 * trailing dot), names under .localhost, loopback addresses, [::1].  The
 * same-origin rule for upgrades is unchanged.
 */
Test(frontdoor, own_host_names_are_answered, .init = start, .fini = stop,
    .timeout = 30)
{
	char hosts[8][64], origin[128], resp[4096];
	int n = 0;

	snprintf(hosts[n++], 64, "localhost:%u", ts.port);
	snprintf(hosts[n++], 64, "127.0.0.1:%u", ts.port);
	snprintf(hosts[n++], 64, "[::1]:%u", ts.port);
	snprintf(hosts[n++], 64, "LocalHost.:%u", ts.port);
	snprintf(hosts[n++], 64, "chat.localhost:%u", ts.port);
	snprintf(hosts[n++], 64, "127.0.0.1");
	snprintf(hosts[n++], 64, "localhost:9"); /* a tunnel's port */
	snprintf(hosts[n++], 64, "127.1.2.3:%u", ts.port);
	for (int i = 0; i < n; i++) {
		int fd;

		cr_assert_eq(exchange(ts.port, get_for("GET", "/stats",
		    hosts[i]), resp, sizeof(resp)), 200, "%s: %.300s", hosts[i], resp);
		cr_assert_eq(exchange(ts.port, get_for("GET", "/debug/threads",
		    hosts[i]), resp, sizeof(resp)), 200, "%s: %.300s", hosts[i], resp);
		snprintf(origin, sizeof(origin), "http://%.64s", hosts[i]);
		fd = ws_tcp_connect(ts.port, 0);
		cr_assert_eq(ws_http(fd, upgrade_for(hosts[i], origin), resp,
		    sizeof(resp)), 101, "%s: %.300s", hosts[i], resp);
		close(fd);
		cr_assert_eq(exchange(ts.port, upgrade_for(hosts[i],
		    "http://evil.example"), resp, sizeof(resp)), 403,
		    "another Origin is still refused: %.300s", resp);
	}
}

/*
 * Off the loopback (here 0.0.0.0, reached through 127.0.0.1) a server is
 * reached by names it cannot know: any Host is answered, and an upgrade's
 * Origin must match its Host as before.  /debug/ (--debug-endpoints) is
 * served only to localhost and addresses: before, to any Host.
 */
Test(frontdoor, off_the_loopback_any_host_but_debug_needs_its_own,
    .timeout = 30)
{
	char resp[8192];
	int fd;

	test_server_init(&ts);
	ts.cfg.addr = "0.0.0.0";
	ts.cfg.debug_endpoints = true;
	test_server_start(&ts);
	cr_assert_eq(exchange(ts.port, get_for("GET", "/debug/threads",
	    "evil.example"), resp, sizeof(resp)), 403, "%.300s", resp);
	cr_assert_eq(exchange(ts.port, get_for("GET", "/debug/threads",
	    "10.1.2.3:8080"), resp, sizeof(resp)), 200, "an address: %.300s", resp);
	cr_assert_eq(exchange(ts.port, get_for("GET", "/debug/threads",
	    "localhost"), resp, sizeof(resp)), 200, "%.300s", resp);
	cr_assert_eq(exchange(ts.port, get_for("GET", "/stats",
	    "chat.example.org"), resp, sizeof(resp)), 200, "%.300s", resp);
	cr_assert_eq(exchange(ts.port, get_for("GET", "/", "chat.example.org"),
	    resp, sizeof(resp)), 200);
	fd = ws_tcp_connect(ts.port, 0);
	cr_assert_eq(ws_http(fd, upgrade_for("chat.example.org",
	    "https://chat.example.org"), resp, sizeof(resp)), 101, "%.300s", resp);
	close(fd);
	cr_assert_eq(exchange(ts.port, upgrade_for("chat.example.org",
	    "https://evil.example"), resp, sizeof(resp)), 403, "%.300s", resp);
	cr_assert_eq(exchange(ts.port, get_for("GET", "/stats", "bad host"),
	    resp, sizeof(resp)), 400, "a malformed Host, anywhere: %.300s", resp);
	test_server_stop(&ts);
}

/*
 * Issue 17 item 12a.  A header that must be single, repeated, is a 400,
 * not decided by its first copy.  Before: "13" then "8" got 101, and so
 * did an allowed Origin followed by a foreign one.  A repeated Host is a
 * 400 on every route (RFC 9112 §3.2): before, GET /stats answered it.
 */
Test(frontdoor, repeated_single_headers_get_400, .init = start,
    .fini = stop, .timeout = 30)
{
	static const char *const repeated[][2] = {
		{ "Sec-WebSocket-Version: 8\r\n", "Sec-WebSocket-Version" },
		{ "Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version" },
		{ "Origin: http://localhost:1\r\nOrigin: http://evil.example\r\n",
		    "Origin" },
		{ WS_KEY, "Sec-WebSocket-Key" },
		{ "Host: localhost:1\r\n", "Host" },
	};
	char resp[4096], req[1024], want[64];

	for (size_t i = 0; i < sizeof(repeated) / sizeof(repeated[0]); i++) {
		snprintf(req, sizeof(req), WS_REQUEST(WS_KEY "%s"),
		    repeated[i][0]);
		snprintf(want, sizeof(want), "more than one %s header\n",
		    repeated[i][1]);
		cr_assert_eq(exchange(ts.port, req, resp, sizeof(resp)), 400,
		    "two %s: %.300s", repeated[i][1], resp);
		cr_assert_str_eq(body_of(resp), want);
	}
	cr_assert_eq(exchange(ts.port, "GET /stats HTTP/1.1\r\nHost: localhost"
	    "\r\nHost: localhost\r\n\r\n", resp, sizeof(resp)), 400, "%.300s", resp);
	cr_assert_eq(exchange(ts.port, "GET /stats HTTP/1.1\r\n\r\n", resp,
	    sizeof(resp)), 400, "HTTP/1.1 without Host: %.300s", resp);
	cr_assert_eq(exchange(ts.port, "GET /stats HTTP/1.0\r\n\r\n", resp,
	    sizeof(resp)), 200, "HTTP/1.0 without Host: %.300s", resp);
	cr_assert_eq(stats_get(&test_server_stats(&ts)->connections_total), 0);
}

/* ---- the whole program ------------------------------------------------- */

/*
 * --allow-host adds names (globs, any case, any port) to what a loopback
 * server answers, for the chat and the counters, never for /debug/; a
 * value it cannot use is refused with one line and status 2.
 */
Test(frontdoor, allow_host_adds_names_but_not_debug, .timeout = 60)
{
	static const char *const args[] = { "--addr", "127.0.0.1",
		"--allow-host", "chat.example.org", "--allow-host", "*.Dev.Test",
		NULL };
	static const char *const bad[] = { "chat.example.org:443",
		"[fd00::1]:443", "http://chat.example.org", "", "a b" };
	struct wshub_child ch;
	char resp[4096], cmd[512];
	int fd;

	cr_assert_eq(wshub_child_start(&ch, args, 0, 10000), 0, "%s", ch.log);
	cr_assert_eq(exchange(ch.port, get_for("GET", "/stats",
	    "chat.example.org:443"), resp, sizeof(resp)), 200, "%.300s", resp);
	cr_assert_eq(exchange(ch.port, get_for("GET", "/",
	    "api.dev.test"), resp, sizeof(resp)), 200);
	fd = ws_tcp_connect(ch.port, 0);
	cr_assert_eq(ws_http(fd, upgrade_for("CHAT.example.org",
	    "https://chat.example.org"), resp, sizeof(resp)), 101, "%.300s", resp);
	close(fd);
	cr_assert_eq(exchange(ch.port, get_for("GET", "/debug/threads",
	    "chat.example.org"), resp, sizeof(resp)), 403, "%.300s", resp);
	cr_assert_eq(exchange(ch.port, get_for("GET", "/stats", "dev.test"),
	    resp, sizeof(resp)), 403, "%.300s", resp);
	cr_assert_eq(exchange(ch.port, get_for("GET", "/stats",
	    "evil.example"), resp, sizeof(resp)), 403, "%.300s", resp);
	cr_assert_eq(exchange(ch.port, get_for("GET", "/debug/threads",
	    "localhost"), resp, sizeof(resp)), 200, "%.300s", resp);
	cr_assert_eq(wshub_child_stop(&ch, 10000), 0, "%s", ch.log);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s --port 0 --allow-host '%s' 2>&1",
		    wshub_child_binary(), bad[i]);
		cr_assert_eq(wshub_child_run(cmd, resp, sizeof(resp)), 2,
		    "%s: %.300s", cmd, resp);
		cr_assert_not_null(strstr(resp, "invalid --allow-host"), "%.300s",
		    resp);
		cr_assert_eq(strchr(resp, '\n'), resp + strlen(resp) - 1,
		    "one line: %.300s", resp);
	}
}

/* GET /stats on `port`: the value of "clients", or -1. */
static long
clients_of(uint16_t port)
{
	char resp[4096];
	const char *c;

	if (exchange(port, get_for("GET", "/stats", "127.0.0.1"), resp,
	    sizeof(resp)) != 200 || (c = strstr(resp, "\"clients\":")) == NULL)
		return -1;
	return strtol(c + 10, NULL, 10);
}

/*
 * Asks for an upgrade that cannot get its threads: a 503 with Retry-After
 * and a one-line reason must come back instead of the 101, then EOF; the
 * hub forgets the client and the server's descriptors come back to `fds`,
 * its count while idle.  (Not a count taken here: the reaper closes the
 * previous 503's socket after its client saw EOF, so a count taken now
 * may still hold it.)
 */
static void
expect_503_without_leaks(struct wshub_child *ch, const char *which, int fds)
{
	char resp[4096];
	int status, now = -1;
	long clients = -1;

	cr_assert_gt(fds, 0);
	status = exchange(ch->port, ws_upgrade_request, resp, sizeof(resp));
	cr_assert_eq(status, 503, "%s: the client got %d, not 503:\n%s\n"
	    "server log:\n%s", which, status, resp, ch->log);
	cr_assert_not_null(strstr(resp, "\r\nRetry-After: "), "%.300s", resp);
	cr_assert_str_eq(body_of(resp),
	    "cannot start a thread for this connection, try again later\n");
	for (int i = 0; i < 500 && (now = wshub_child_fds(ch)) != fds; i++)
		usleep(10000);
	cr_assert_eq(now, fds, "%s: %d descriptors after, %d before", which,
	    now, fds);
	for (int i = 0; i < 500 && (clients = clients_of(ch->port)) != 0; i++)
		usleep(10000);
	cr_assert_eq(clients, 0, "%s: the hub still counts %ld client(s)",
	    which, clients);
}

/*
 * The same in process, where the sanitizers watch (the test below cannot
 * run under them): a thread stack of 1 PiB, more than any address space,
 * cannot be mapped, so no read thread ever starts.  The client gets 503,
 * and the hub, the descriptors and (under ASan) the memory come back.
 */
Test(frontdoor, no_read_thread_answers_503_in_process, .timeout = 30)
{
	char resp[4096];
	int fds, now = -1;

	test_server_init(&ts);
	ts.cfg.thread_stack_kib = (size_t)1 << 40; /* KiB: 1 PiB */
	test_server_start(&ts);
	fds = test_count_fds();
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(exchange(ts.port, ws_upgrade_request, resp,
		    sizeof(resp)), 503, "%.300s", resp);
		cr_assert_not_null(strstr(resp, "\r\nRetry-After: "), "%.300s",
		    resp);
		cr_assert_str_eq(body_of(resp), "cannot start a thread for this "
		    "connection, try again later\n");
	}
	cr_assert(test_wait_counter(&test_server_stats(&ts)->clients, 0,
	    WS_TIMEOUT_MS), "the hub still counts a client");
	for (int i = 0; i < 500 && (now = test_count_fds()) > fds; i++)
		usleep(10000);
	cr_assert_leq(now, fds, "%d descriptors after, %d before", now, fds);
	cr_assert_eq(exchange(ts.port, get_for("GET", "/stats", "localhost"),
	    resp, sizeof(resp)), 200, "the server goes on: %.300s", resp);
	test_server_stop(&ts);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

/*
 * Issue 17 item 12b.  A connection's threads cannot be created: wshub runs
 * with --thread-stack 65536 (64 MiB a thread) under an RLIMIT_AS of what
 * it uses once started plus 16 MiB, so no connection thread's stack can
 * be mapped (the read thread fails); then plus 80 MiB, so the read thread
 * starts and the write thread cannot.  Before: the client got a bare close
 * (no status at all).  Now: 503 with Retry-After, since no writer ever
 * sent the 101, and nothing leaks: the hub forgets the client, the
 * descriptor is closed (once: the server goes on serving).
 */
Test(frontdoor, thread_failure_answers_503, .timeout = 60)
{
	static const char *const args[] = { "--addr", "127.0.0.1",
		"--thread-stack", "65536", NULL };
	const size_t MiB = 1024 * 1024;
	struct wshub_child ch;
	size_t used;
	int idle;

#ifdef UNDER_SANITIZER
	cr_skip_test("a sanitizer's shadow memory does not fit an RLIMIT_AS");
#endif
	/* What it uses once every thread of its own runs (/stats answers). */
	cr_assert_eq(wshub_child_start(&ch, args, 0, 10000), 0, "%s", ch.log);
	cr_assert_eq(clients_of(ch.port), 0);
	used = wshub_child_vm_bytes(&ch);
	cr_assert_gt(used, 0);
	cr_assert_eq(wshub_child_stop(&ch, 10000), 0, "%s", ch.log);

	cr_assert_eq(wshub_child_start(&ch, args, used + 16 * MiB, 10000), 0,
	    "%s", ch.log);
	idle = wshub_child_fds(&ch); /* started: only /stats was asked */
	for (int i = 0; i < 3; i++)
		expect_503_without_leaks(&ch, "no read thread", idle);
	cr_assert(wshub_child_wait_log(&ch, "(no thread)", 5000), "%s",
	    ch.log);
	cr_assert_eq(wshub_child_stop(&ch, 10000), 0, "%s", ch.log);

	cr_assert_eq(wshub_child_start(&ch, args, used + 80 * MiB, 10000), 0,
	    "%s", ch.log);
	expect_503_without_leaks(&ch, "no write thread",
	    wshub_child_fds(&ch));
	cr_assert(wshub_child_wait_log(&ch, "disconnect", 5000), "%s", ch.log);
	cr_assert_null(strstr(ch.log, "(no thread)"),
	    "the read thread should have started:\n%s", ch.log);
	cr_assert_eq(wshub_child_stop(&ch, 10000), 0, "%s", ch.log);
}

/* The value of header `name` in a response head ("" if absent). */
static const char *
header_of(const char *resp, const char *name)
{
	static char value[256];
	char key[64];
	const char *at, *end;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	value[0] = '\0';
	if ((at = strstr(resp, key)) != NULL && (end = strstr(at + 2,
	    "\r\n")) != NULL)
		snprintf(value, sizeof(value), "%.*s", (int)(end - at -
		    strlen(key)), at + strlen(key));
	return value;
}

/*
 * HTTP a person meets (issue 20): HEAD on every GET route answers GET's
 * head without a body; a 404 lists the pages; an unknown ?format= is a
 * 400, not text served to a client that asked for something else; a 403
 * for a foreign Origin names the Origin, the Host and the flags.
 */
Test(frontdoor, head_404_format_and_origin_answers_say_what_to_do,
    .init = start, .fini = stop, .timeout = 30)
{
	const char *paths[] = { "/", "/stats", "/metrics", "/debug/threads" };
	char resp[65536];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		cr_assert_eq(exchange(ts.port, get_for("HEAD", paths[i],
		    "localhost"), resp, sizeof(resp)), 200, "HEAD %s: %.200s",
		    paths[i], resp);
		cr_assert_gt(atoi(header_of(resp, "Content-Length")), 0,
		    "HEAD %s says GET's length: %.300s", paths[i], resp);
		cr_assert_str_eq(body_of(resp), "", "HEAD %s sent a body",
		    paths[i]);
	}
	cr_assert_eq(exchange(ts.port, get_for("HEAD", "/nope", "localhost"),
	    resp, sizeof(resp)), 404);
	cr_assert_str_eq(body_of(resp), "");
	cr_assert_eq(exchange(ts.port, get_for("HEAD", "/ws", "localhost"),
	    resp, sizeof(resp)), 405, "%.200s", resp);
	cr_assert_eq(exchange(ts.port, get_for("POST", "/stats", "localhost"),
	    resp, sizeof(resp)), 405);
	cr_assert_str_eq(header_of(resp, "Allow"), "GET, HEAD");

	cr_assert_eq(exchange(ts.port, get_for("GET", "/nope", "localhost"),
	    resp, sizeof(resp)), 404);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		cr_assert_not_null(strstr(body_of(resp), i == 0 ? "/ws/ROOM" :
		    paths[i]), "the 404 names %s: %s", paths[i], body_of(resp));

	cr_assert_eq(exchange(ts.port, get_for("GET",
	    "/debug/threads?format=xml", "localhost"), resp, sizeof(resp)),
	    400);
	cr_assert_str_eq(body_of(resp), "format= takes json or text\n");
	cr_assert_eq(exchange(ts.port, get_for("GET",
	    "/debug/threads?x=1&format=json", "localhost"), resp,
	    sizeof(resp)), 200);
	cr_assert_eq(body_of(resp)[0], '{', "JSON: %.80s", body_of(resp));
	cr_assert_eq(exchange(ts.port, get_for("GET",
	    "/debug/threads?format=text", "localhost"), resp, sizeof(resp)),
	    200);
	cr_assert_neq(body_of(resp)[0], '{', "text: %.80s", body_of(resp));

	cr_assert_eq(exchange(ts.port, WS_REQUEST(WS_KEY
	    "Origin: http://evil.example\r\n"), resp, sizeof(resp)), 403);
	cr_assert_str_eq(body_of(resp), "Origin 'http://evil.example' is not "
	    "allowed: it must match Host 'localhost:1' or an --origin pattern "
	    "(--any-origin allows every Origin)\n");
}
