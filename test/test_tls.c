/*
 * wshub over TLS (--tls-cert, --tls-key), over real sockets with a GnuTLS
 * client (test/support/tlsclient.h): wss:// and https://, bad input on a
 * TLS port, a KeyUpdate from the client, the flags' errors and the SIGHUP
 * reload of the wshub binary.  Certificates are made at test time.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/child.h"
#include "support/expect.h"
#include "support/testserver.h"
#include "support/tlsclient.h"
#include "support/wsclient.h"
#include "wshub/tls.h"

static struct test_server ts;
static struct tls_test_pair pair, other, third;

/* Removes every pair a test made, even when an assertion ended it. */
static void
remove_pairs(void)
{
	struct tls_test_pair *all[] = { &pair, &other, &third };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->dir[0] != '\0')
			tlst_remove_pair(all[i]);
}

/* A server with TLS on, `handshake_ms` its --handshake-timeout. */
static void
start_tls_server(int64_t handshake_ms)
{
	char err[256];

	cr_assert_eq(tlst_make_pair(&pair, "wshub test"), 0);
	test_server_init(&ts);
	ts.cfg.handshake_timeout_ms = handshake_ms;
	ts.cfg.max_message = 1 << 20;
	cr_assert_eq(tls_context_new(&ts.cfg.tls, pair.cert, pair.key, NULL,
	    err, sizeof(err)), TLS_OK, "%s", err);
	test_server_start(&ts);
}

static void
start(void)
{
	start_tls_server(10000);
}

static void
stop(void)
{
	test_server_stop(&ts);
	tls_context_free(ts.cfg.tls);
	remove_pairs();
}

static struct stats *
st(void)
{
	return test_server_stats(&ts);
}

/* A wss:// client in `room` (/ws/ROOM). */
static struct tlsc *
wss_open(const char *room)
{
	char path[96];
	int status;
	struct tlsc *c;

	snprintf(path, sizeof(path), "/ws/%s", room);
	c = tlsc_ws_open(ts.port, path, &status);
	cr_assert_not_null(c, "no 101 over TLS: status %d", status);
	return c;
}

/* Sends `text` and reads it back: the server is alive and well. */
static void
expect_echo(int fd, const char *text)
{
	cr_assert_eq(ws_send(fd, 0x1, text, strlen(text)), 0);
	expect_frame(fd, 0x1, text, strlen(text));
}

/* A fresh wss client still chats: whatever came before, the server went on. */
static void
expect_server_goes_on(void)
{
	struct tlsc *c = wss_open("after");

	expect_echo(c->fd, "still here");
	tlsc_close(c);
}

/* ---- the routes over TLS --------------------------------------------------- */

Test(tls, echo_over_wss_with_tls13_and_alpn, .init = start, .fini = stop,
    .timeout = 30)
{
	struct tlsc *c = wss_open("lobby");
	size_t big_len = 300000; /* 19 records each way */
	char *big = malloc(big_len);

	cr_assert_str_eq(c->version, "TLS1.3");
	cr_assert_str_eq(c->alpn, "http/1.1");
	cr_assert_str_eq(c->fingerprint, pair.fingerprint);
	expect_echo(c->fd, "hello over TLS");
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	cr_assert_eq(ws_send(c->fd, 0x2, big, big_len), 0);
	expect_frame(c->fd, 0x2, big, big_len);
	free(big);
	ws_send_close(c->fd, 1000, "bye");
	cr_assert_eq(ws_recv_close(c->fd, NULL), 1000);
	cr_assert(ws_wait_eof(c->fd, WS_TIMEOUT_MS));
	tlsc_close(c);
	cr_assert(test_wait_counter(&st()->closes[0], 1, WS_TIMEOUT_MS),
	    "reaped with 1000");
	cr_assert_eq(stats_get(&st()->tls_errors), 0);
	cr_assert_eq(stats_get(&st()->tls_truncations), 0,
	    "both sides sent close_notify");
}

Test(tls, a_client_verifying_the_certificate_connects, .init = start,
    .fini = stop, .timeout = 30)
{
	struct tlsc_opts opts = { .ca = pair.cert };
	struct tlsc *c = tlsc_open(ts.port, &opts);

	cr_assert_not_null(c, "the chain and its name did not verify");
	tlsc_close(c);
}

Test(tls, tls12_works_too, .init = start, .fini = stop, .timeout = 30)
{
	struct tlsc_opts opts = { .priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2" };
	struct tlsc *c = tlsc_open(ts.port, &opts);

	cr_assert_not_null(c);
	cr_assert_str_eq(c->version, "TLS1.2");
	cr_assert_eq(ws_http(c->fd, ws_upgrade_request, NULL, 0), 101);
	expect_echo(c->fd, "hello over TLS 1.2");
	tlsc_close(c);
}

Test(tls, tls11_is_refused_and_counted, .init = start, .fini = stop,
    .timeout = 30)
{
	struct tlsc_opts opts = { .priority = "NORMAL:-VERS-ALL:+VERS-TLS1.1" };

	cr_assert_null(tlsc_open(ts.port, &opts));
	cr_assert(test_wait_counter(&st()->tls_handshake_failures, 1,
	    WS_TIMEOUT_MS));
	expect_server_goes_on();
}

Test(tls, two_clients_chat_in_a_room_and_others_do_not_hear,
    .init = start, .fini = stop, .timeout = 30)
{
	struct tlsc *a = wss_open("red"), *b = wss_open("red");
	struct tlsc *c = wss_open("blue");

	expect_clients(&ts, 3);
	cr_assert_eq(ws_send(a->fd, 0x1, "hi red", 6), 0);
	expect_frame(a->fd, 0x1, "hi red", 6);
	expect_frame(b->fd, 0x1, "hi red", 6);
	expect_echo(c->fd, "blue only"); /* the first frame c gets is its own */
	cr_assert_eq(ws_send(b->fd, 0x1, "hi back", 7), 0);
	expect_frame(a->fd, 0x1, "hi back", 7);
	expect_frame(b->fd, 0x1, "hi back", 7);
	tlsc_close(a);
	tlsc_close(b);
	tlsc_close(c);
}

/* The clients' TLS ends everything at the server's close_notify (as
 * Python's asyncio and Node do): the server sends it only once the reply
 * to its 1001 is in, else the replies would be lost (1006). */
Test(tls, stop_closes_tls_clients_with_1001, .fini = remove_pairs,
    .timeout = 30)
{
	struct tlsc_opts opts = { .close_notify_ends_all = true };
	struct tlsc *c[2];

	start();
	for (int i = 0; i < 2; i++) {
		c[i] = tlsc_open(ts.port, &opts);
		cr_assert_not_null(c[i]);
		cr_assert_eq(ws_http(c[i]->fd, ws_upgrade_request, NULL, 0), 101);
	}
	expect_clients(&ts, 2);
	server_stop(ts.server);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ws_recv_close(c[i]->fd, NULL), 1001);
		ws_send_close(c[i]->fd, 1001, NULL);
		cr_assert(ws_wait_eof(c[i]->fd, WS_TIMEOUT_MS));
		tlsc_close(c[i]);
	}
	pthread_join(ts.thread, NULL);
	cr_assert_eq(stats_get(&st()->closes[1]), 2, "the replies came in");
	server_free(ts.server);
	tls_context_free(ts.cfg.tls);
}

Test(tls, the_chat_page_over_https_picks_wss, .init = start, .fini = stop,
    .timeout = 30)
{
	char *page = tlsc_get(ts.port, "/");

	cr_assert_not_null(page);
	cr_assert_not_null(strstr(page, "HTTP/1.1 200 OK"), "%.200s", page);
	cr_assert_not_null(strstr(page,
	    "location.protocol === \"https:\" ? \"wss://\""),
	    "the page picks wss:// on https://");
	free(page);
}

Test(tls, stats_and_metrics_over_https, .init = start, .fini = stop,
    .timeout = 30)
{
	char *stats = tlsc_get(ts.port, "/stats");
	char *metrics;

	cr_assert_not_null(stats);
	cr_assert_not_null(strstr(stats, "\"tls_handshakes\":1,"), "%s", stats);
	cr_assert_not_null(strstr(stats, "\"tls_handshake_failures\":0,"));
	metrics = tlsc_get(ts.port, "/metrics");
	cr_assert_not_null(metrics);
	cr_assert_not_null(strstr(metrics, "\nwshub_tls_handshakes_total 2\n"),
	    "%s", metrics);
	cr_assert_not_null(strstr(metrics,
	    "\nwshub_closes_total{code=\"other\"} 0\n"), "not cut short");
	free(stats);
	free(metrics);
}

/* Lines of `text` with `word` in them. */
static int
count_lines(const char *text, const char *word)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, word)) != NULL; p++)
		n += p == text || p[-1] == '\n';
	return n;
}

Test(tls, a_tls_connection_still_has_two_threads, .init = start,
    .fini = stop, .timeout = 30)
{
	struct tlsc *c[3];
	char *dump = NULL;

	for (int i = 0; i < 3; i++)
		c[i] = wss_open("lobby");
	expect_clients(&ts, 3);
	/* The reaper and hub are up; each connection: a reader, a writer. */
	for (int i = 0; i < 1000; i++) {
		free(dump);
		dump = tlsc_get(ts.port, "/debug/threads");
		cr_assert_not_null(dump);
		if (count_lines(dump, "reader ") == 3 &&
		    count_lines(dump, "writer ") == 3 &&
		    count_lines(dump, "reaper ") == 1)
			break;
		usleep(5000);
	}
	cr_assert_eq(count_lines(dump, "reader "), 3, "%s", dump);
	cr_assert_eq(count_lines(dump, "writer "), 3, "%s", dump);
	cr_assert_eq(count_lines(dump, "frontdoor "), 1, "%s", dump);
	free(dump);
	for (int i = 0; i < 3; i++)
		tlsc_close(c[i]);
}

/* ---- bad input on a TLS port -------------------------------------------- */

/* Sends `len` bytes on a plain TCP connection to the TLS port, then
 * expects the server to close it, and the failure to be counted. */
static void
expect_refused_handshake(const void *bytes, size_t len, long failures)
{
	int fd = ws_tcp_connect(ts.port, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ws_write_all(fd, bytes, len), 0);
	cr_assert(ws_wait_eof(fd, WS_TIMEOUT_MS),
	    "the server kept it open after %zu bytes (%02x ...)", len,
	    ((const unsigned char *)bytes)[0]);
	close(fd);
	cr_assert(test_wait_counter(&st()->tls_handshake_failures, failures,
	    WS_TIMEOUT_MS), "failures %ld, want %ld",
	    stats_get(&st()->tls_handshake_failures), failures);
}

Test(tls, plain_http_gets_a_400_in_plain_text, .init = start, .fini = stop,
    .timeout = 30)
{
	char resp[1024] = "";
	int status, fd = ws_upgrade_path(ts.port, "/ws", &status, resp,
	    sizeof(resp));

	cr_assert_eq(fd, -1);
	cr_assert_eq(status, 400, "%s", resp);
	cr_assert_not_null(strstr(resp, "use https:// or wss://"), "%s", resp);
	cr_assert(test_wait_counter(&st()->tls_handshake_failures, 1,
	    WS_TIMEOUT_MS));
	expect_server_goes_on();
}

Test(tls, random_bytes_and_an_alert_are_closed_and_counted,
    .init = start, .fini = stop, .timeout = 30)
{
	static const char http[] = "GET /stats HTTP/1.1\r\nHost: t\r\n\r\n";
	/* A fatal handshake_failure alert, in a TLS 1.2 record. */
	static const unsigned char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02,
	    0x02, 0x28 };
	/* A handshake record longer than any record may be (2^14 + 256). */
	static const unsigned char oversize[] = { 0x16, 0x03, 0x01, 0x48, 0x01,
	    0x01 };
	unsigned char junk[4096];
	int fds = test_count_fds();

	arc4random_buf(junk, sizeof(junk));
	junk[0] = 0x16; /* a handshake record of the rest of the buffer ... */
	junk[1] = 0x03;
	junk[2] = 0x01;
	junk[3] = (sizeof(junk) - 5) >> 8;
	junk[4] = (sizeof(junk) - 5) & 0xff;
	junk[5] = 0x01; /* a ClientHello of the rest, random inside */
	junk[6] = 0;
	junk[7] = (sizeof(junk) - 9) >> 8;
	junk[8] = (sizeof(junk) - 9) & 0xff;
	expect_refused_handshake(http, strlen(http), 1);
	expect_refused_handshake(junk, sizeof(junk), 2);
	arc4random_buf(junk, sizeof(junk));
	junk[0] = 0xff; /* no record type at all */
	expect_refused_handshake(junk, sizeof(junk), 3);
	expect_refused_handshake(alert, sizeof(alert), 4);
	expect_refused_handshake(oversize, sizeof(oversize), 5);
	cr_assert_eq(stats_get(&st()->tls_handshakes), 0);
	cr_assert(test_wait_baseline(fds, 1 << 20, WS_TIMEOUT_MS),
	    "descriptors came back");
	expect_server_goes_on();
}

Test(tls, a_handshake_that_stops_is_closed_at_the_timeout_without_a_thread,
    .fini = stop, .timeout = 30)
{
	/* The first 10 bytes of a ClientHello record of 512. */
	static const unsigned char part[] = { 0x16, 0x03, 0x01, 0x02, 0x00,
	    0x01, 0x00, 0x01, 0xfc, 0x03 };
	int fd[20];
	long threads;

	start_tls_server(2000);
	expect_server_goes_on(); /* every server thread is up */
	cr_assert(test_wait_counter(&st()->clients, 0, WS_TIMEOUT_MS));
	cr_assert(test_wait_baseline(1 << 20, 4 + 1, WS_TIMEOUT_MS),
	    "the test, Criterion's, front door, hub and reaper");
	threads = test_count_threads();
	for (int i = 0; i < 20; i++) {
		fd[i] = ws_tcp_connect(ts.port, 0);
		cr_assert_eq(ws_write_all(fd[i], part, sizeof(part)), 0);
	}
	/* Meanwhile, the front door serves others, and the stalled
	 * handshakes hold no thread: only their descriptors. */
	expect_server_goes_on();
	cr_assert(test_wait_baseline(1 << 20, threads, WS_TIMEOUT_MS));
	cr_assert_eq(stats_get(&st()->tls_handshake_failures), 0,
	    "all 20 still wait for their timeout");
	for (int i = 0; i < 20; i++) {
		cr_assert(ws_wait_eof(fd[i], 10000), "not closed at the timeout");
		close(fd[i]);
	}
	cr_assert(test_wait_counter(&st()->tls_handshake_failures, 20,
	    WS_TIMEOUT_MS));
}

/* Sends raw bytes on the client's TCP socket, under its TLS session (the
 * pump is idle: it sends only what the test writes). */
static void
inject(struct tlsc *c, const void *bytes, size_t len)
{
	cr_assert_eq(send(c->tcp, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The server drops `c` (EOF on the client), counts it in `counter`, and
 * goes on. */
static void
expect_dropped(struct tlsc *c, atomic_long *counter)
{
	cr_assert(ws_wait_eof(c->fd, WS_TIMEOUT_MS), "the server kept it open");
	tlsc_close(c);
	cr_assert(test_wait_counter(counter, 1, WS_TIMEOUT_MS),
	    "tls_errors %ld, tls_truncations %ld",
	    stats_get(&st()->tls_errors), stats_get(&st()->tls_truncations));
	cr_assert(test_wait_counter(&st()->clients, 0, WS_TIMEOUT_MS));
	expect_server_goes_on();
}

Test(tls, an_oversize_record_after_the_upgrade_is_a_tls_error,
    .init = start, .fini = stop, .timeout = 30)
{
	/* Application data of 2^14 + 257 bytes: more than a record holds. */
	static const unsigned char header[] = { 0x17, 0x03, 0x03, 0x41, 0x01 };
	struct tlsc *c = wss_open("lobby");

	expect_echo(c->fd, "before");
	inject(c, header, sizeof(header));
	expect_dropped(c, &st()->tls_errors);
}

Test(tls, a_record_that_does_not_decrypt_is_a_tls_error, .init = start,
    .fini = stop, .timeout = 30)
{
	unsigned char rec[5 + 64] = { 0x17, 0x03, 0x03, 0x00, 64 };
	struct tlsc *c = wss_open("lobby");

	arc4random_buf(rec + 5, 64);
	expect_echo(c->fd, "before");
	inject(c, rec, sizeof(rec));
	expect_dropped(c, &st()->tls_errors);
}

Test(tls, a_fatal_alert_after_the_upgrade_is_a_tls_error, .init = start,
    .fini = stop, .timeout = 30)
{
	struct tlsc *c = wss_open("lobby");

	expect_echo(c->fd, "before");
	tlsc_send_alert(c);
	expect_dropped(c, &st()->tls_errors);
}

Test(tls, a_truncated_record_is_a_tls_error, .init = start, .fini = stop,
    .timeout = 30)
{
	/* A record of 100 bytes, of which 10 come before the FIN: GnuTLS
	 * 3.7.9 calls it an error ("Error decoding the received TLS
	 * packet"), not a missing close_notify. */
	unsigned char part[5 + 10] = { 0x17, 0x03, 0x03, 0x00, 100 };
	struct tlsc *c = wss_open("lobby");

	expect_echo(c->fd, "before");
	inject(c, part, sizeof(part));
	shutdown(c->tcp, SHUT_WR);
	expect_dropped(c, &st()->tls_errors);
}

Test(tls, a_close_without_close_notify_is_counted, .init = start,
    .fini = stop, .timeout = 30)
{
	struct tlsc_opts opts = { .no_close_notify = true };
	struct tlsc *c = tlsc_open(ts.port, &opts);

	cr_assert_not_null(c);
	cr_assert_eq(ws_http(c->fd, ws_upgrade_request, NULL, 0), 101);
	expect_echo(c->fd, "before");
	ws_send_close(c->fd, 1000, NULL);
	cr_assert_eq(ws_recv_close(c->fd, NULL), 1000);
	tlsc_close(c); /* a FIN, no close_notify */
	cr_assert(test_wait_counter(&st()->tls_truncations, 1, WS_TIMEOUT_MS));
	cr_assert_eq(stats_get(&st()->closes[0]), 1, "a clean 1000 still");
	cr_assert_eq(stats_get(&st()->tls_errors), 0);
	expect_server_goes_on();
}

/* ---- KeyUpdate ------------------------------------------------------------- */

/* The server's answer to a KeyUpdate with update_requested is its own
 * KeyUpdate, sent by the writer before its next record of data
 * (lib/record.c:gnutls_record_send2 in GnuTLS 3.7.9); the reader only
 * marks it due.  Five rounds: each asks for a key update in the middle of
 * 200 broadcasts flowing to the client, then checks that every message
 * arrived in order, that the server answered exactly once, and that the
 * server still reads the client (an echo) with the new keys.  A send from
 * the reader would be refused (tls.c:tls_push) and end the connection. */
Test(tls, key_update_from_the_client_keeps_the_connection_and_one_sender,
    .init = start, .fini = stop, .timeout = 60)
{
	struct tlsc *a = wss_open("ku"), *tb = wss_open("ku");
	int b = tb->fd;
	char text[64];

	expect_clients(&ts, 2);
	for (int round = 1; round <= 5; round++) {
		for (int i = 0; i < 200; i++) {
			int n = snprintf(text, sizeof(text), "r%d m%d", round, i);

			if (i == 100)
				cr_assert_eq(tlsc_key_update(a), 0);
			cr_assert_eq(ws_send(b, 0x1, text, (size_t)n), 0);
		}
		for (int i = 0; i < 200; i++) {
			int n = snprintf(text, sizeof(text), "r%d m%d", round, i);

			expect_frame(a->fd, 0x1, text, (size_t)n);
			expect_frame(b, 0x1, text, (size_t)n);
		}
		snprintf(text, sizeof(text), "a after round %d", round);
		cr_assert_eq(ws_send(a->fd, 0x1, text, strlen(text)), 0);
		expect_frame(a->fd, 0x1, text, strlen(text));
		expect_frame(b, 0x1, text, strlen(text));
		cr_assert_eq(atomic_load(&a->key_updates_received), round,
		    "round %d: the server answered %d times", round,
		    atomic_load(&a->key_updates_received));
	}
	cr_assert_eq(stats_get(&st()->tls_errors), 0);
	tlsc_close(tb);
	tlsc_close(a);
}

Test(tls, a_flood_of_key_updates_is_cut_off, .init = start, .fini = stop,
    .timeout = 30)
{
	struct tlsc *c = wss_open("lobby");

	expect_echo(c->fd, "before");
	/* GnuTLS 3.7.9 takes 8 per second (KEY_UPDATES_PER_WINDOW). */
	for (int i = 0; i < 20 && tlsc_key_update(c) == 0; i++)
		;
	expect_dropped(c, &st()->tls_errors);
}

/* ---- the wshub binary: flags and SIGHUP ------------------------------------- */

/* The wshub binary under test: $WSHUB, else build/wshub. */
/* Runs wshub with `flags` and returns its exit status; stderr in out. */
static int
run_wshub(const char *flags, char *out, size_t cap)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s --port 0 %s 2>&1", wshub_child_binary(), flags);
	return wshub_child_run(cmd, out, cap);
}

/* Exit 2, one line naming `flag`. */
static void
expect_bad_flag(const char *flags, const char *flag, const char *why)
{
	char out[1024];

	cr_assert_eq(run_wshub(flags, out, sizeof(out)), 2, "%s: %s", flags,
	    out);
	cr_assert_not_null(strstr(out, flag), "%s", out);
	cr_assert_not_null(strstr(out, why), "%s", out);
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s",
	    out);
}

Test(tls, bad_tls_flags_exit_2_before_listening, .fini = remove_pairs,
    .timeout = 60)
{
	char flags[512];

	cr_assert_eq(tlst_make_pair(&pair, "one"), 0);
	cr_assert_eq(tlst_make_pair(&other, "other"), 0);
	snprintf(flags, sizeof(flags), "--tls-cert %s", pair.cert);
	expect_bad_flag(flags, "--tls-cert", "given alone");
	snprintf(flags, sizeof(flags), "--tls-cert %s/none --tls-key %s",
	    pair.dir, pair.key);
	expect_bad_flag(flags, "--tls-cert", "No such file");
	snprintf(flags, sizeof(flags), "--tls-cert %s --tls-key %s", pair.cert,
	    other.key);
	expect_bad_flag(flags, "--tls-key", "not the private key");
	snprintf(flags, sizeof(flags), "--tls-cert %s --tls-key %s", pair.key,
	    pair.key);
	expect_bad_flag(flags, "--tls-cert", "no PEM certificate");
	snprintf(flags, sizeof(flags), "--tls-cert %s --tls-key %s "
	    "--tls-priority NORMAL:+NOPE", pair.cert, pair.key);
	expect_bad_flag(flags, "--tls-priority", "from '+NOPE'");
	snprintf(flags, sizeof(flags), "--tls-cert %s --tls-key %s "
	    "--tls-priority NORMAL", pair.cert, pair.key);
	expect_bad_flag(flags, "--tls-priority", "TLS1.1");
}

/* A wshub process and its stderr. */
struct proc {
	pid_t pid;
	int err;          /* its stderr, non-blocking */
	char log[16384];  /* what it wrote so far */
	size_t log_len;
	uint16_t port;
};

/* Reads the process's stderr until `what` is in it (after `from`), for up
 * to WS_TIMEOUT_MS; true if it came. */
static bool
wait_log(struct proc *p, size_t from, const char *what)
{
	struct timespec end, now;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += WS_TIMEOUT_MS / 1000;
	for (;;) {
		struct pollfd pfd = { .fd = p->err, .events = POLLIN };
		ssize_t n;

		p->log[p->log_len] = '\0';
		if (strstr(p->log + from, what) != NULL)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec &&
		    now.tv_nsec >= end.tv_nsec) ||
		    p->log_len + 1 >= sizeof(p->log))
			return false;
		if (poll(&pfd, 1, 50) < 0)
			return false;
		n = read(p->err, p->log + p->log_len,
		    sizeof(p->log) - 1 - p->log_len);
		if (n > 0)
			p->log_len += (size_t)n;
	}
}

/* Starts the wshub binary with this certificate and key. */
static void
spawn_tls(struct proc *p, const struct tls_test_pair *tp)
{
	const char *bin = wshub_child_binary();
	int pipefd[2];
	char *colon;

	cr_assert_eq(pipe(pipefd), 0);
	if ((p->pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pipefd[1], STDERR_FILENO);
		closefrom(STDERR_FILENO + 1);
		execl(bin, bin, "--port", "0", "--tls-cert", tp->cert,
		    "--tls-key", tp->key, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	p->err = pipefd[0];
	fcntl(p->err, F_SETFL, O_NONBLOCK);
	p->log_len = 0;
	cr_assert(wait_log(p, 0, "TLS (https://, wss://)"), "%s", p->log);
	colon = strchr(strstr(p->log, "listening on "), ':');
	p->port = (uint16_t)atoi(colon + 1);
}

/* Copies file `from` over `to` (a renewed certificate lands in place). */
static void
copy_file(const char *from, const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	cr_assert_eq(system(cmd), 0);
}

Test(tls, sighup_reloads_the_pair_and_keeps_it_when_the_new_one_is_broken,
    .fini = remove_pairs, .timeout = 60)
{
	struct tls_test_pair *renewed = &other, *stranger = &third;
	struct proc p;
	struct tlsc *old, *c;
	size_t mark;
	int status;

	cr_assert_eq(tlst_make_pair(&pair, "first"), 0);
	cr_assert_eq(tlst_make_pair(renewed, "renewed"), 0);
	cr_assert_eq(tlst_make_pair(stranger, "stranger"), 0);
	spawn_tls(&p, &pair);
	old = tlsc_ws_open(p.port, "/ws", NULL);
	cr_assert_not_null(old);
	cr_assert_str_eq(old->fingerprint, pair.fingerprint);

	/* Renewed in place, then SIGHUP: new handshakes get the new pair. */
	copy_file(renewed->cert, pair.cert);
	copy_file(renewed->key, pair.key);
	mark = p.log_len;
	kill(p.pid, SIGHUP);
	cr_assert(wait_log(&p, mark, "SIGHUP: reloaded the certificate"), "%s",
	    p.log + mark);
	cr_assert_not_null(c = tlsc_open(p.port, NULL));
	cr_assert_str_eq(c->fingerprint, renewed->fingerprint);
	tlsc_close(c);
	expect_echo(old->fd, "the old connection goes on");

	/* A broken pair (a key that is not the certificate's): logged, and
	 * the renewed pair stays. */
	copy_file(stranger->key, pair.key);
	mark = p.log_len;
	kill(p.pid, SIGHUP);
	cr_assert(wait_log(&p, mark, "SIGHUP: kept the old certificate"), "%s",
	    p.log + mark);
	cr_assert_not_null(c = tlsc_open(p.port, NULL));
	cr_assert_str_eq(c->fingerprint, renewed->fingerprint);
	tlsc_close(c);

	tlsc_close(old);
	kill(p.pid, SIGTERM);
	cr_assert_eq(waitpid(p.pid, &status, 0), p.pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", p.log);
	close(p.err);
}
