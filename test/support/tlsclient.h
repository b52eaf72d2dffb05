/*
 * TLS for the tests, with GnuTLS: a throwaway certificate made at test
 * time, and a client whose TLS runs on a pump thread behind a plain
 * socket, so that every wsclient.h helper (ws_http, ws_send, ws_recv,
 * ws_recv_close, ws_wait_eof) speaks wss:// and https:// unchanged.
 *
 *   test ──plain bytes──▶ fd ══ socketpair ══ pump thread ──TLS──▶ server
 *
 * The pump is the only thread that touches its session.  It forwards in
 * both directions until both are closed: the test's EOF (close(fd) or
 * shutdown) becomes a close_notify and a FIN; the server's close_notify or
 * EOF becomes an EOF on fd.  Every wait is bounded: the handshake and each
 * blocking send or receive by TLSC_TIMEOUT_MS, the pump by
 * TLSC_IDLE_MS without traffic.
 */
#ifndef WSHUB_TEST_TLSCLIENT_H
#define WSHUB_TEST_TLSCLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#define TLSC_TIMEOUT_MS 5000
#define TLSC_IDLE_MS 30000

/* A certificate and its key in a fresh directory, and the certificate's
 * SHA-256 fingerprint as tls_context_describe prints it (AB:CD:...). */
struct tls_test_pair {
	char dir[64];
	char cert[96];
	char key[96];
	char fingerprint[3 * 32];
};

/*
 * Makes a self-signed ECDSA P-256 certificate for localhost and 127.0.0.1
 * with common name `cn`, valid from an hour ago for a day, and its key,
 * in a new directory under /tmp.  0, or -1.
 */
int tlst_make_pair(struct tls_test_pair *p, const char *cn);

/* Writes the key of `other` as p's key file: a pair whose key is not its
 * certificate's.  0, or -1. */
int tlst_swap_key(struct tls_test_pair *p, const struct tls_test_pair *other);

/* Removes the pair's files and directory. */
void tlst_remove_pair(struct tls_test_pair *p);

/* How a client connects; zero for the defaults. */
struct tlsc_opts {
	const char *priority;   /* GnuTLS priority; NULL: NORMAL */
	const char *ca;         /* verify the server against this file (and
	                           the name localhost); NULL: no check */
	bool no_close_notify;   /* the test's EOF is a bare FIN */
	/* The server's close_notify ends both directions, as in Python's
	 * asyncio and Node: whatever the test sends after it is lost. */
	bool close_notify_ends_all;
};

struct tlsc {
	int fd;                  /* the test's end: plain bytes */
	char fingerprint[3 * 32]; /* the server certificate's SHA-256 */
	char version[16];        /* "TLS1.3" */
	char alpn[16];           /* "http/1.1", or "" */
	atomic_int key_updates_sent;     /* KeyUpdates we sent */
	atomic_int key_updates_received; /* KeyUpdates the server sent */
	/* The pump's. */
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
	struct tlsc_opts opts;
	int tcp, app, ctl;
	pthread_t pump;
	atomic_int key_updates_asked;
	atomic_bool alert_asked;
};

/*
 * Connects to 127.0.0.1:port and completes the handshake, then starts the
 * pump.  Returns the client, or NULL if the connection or handshake
 * failed (the reason on stderr).  `opts` may be NULL.
 */
struct tlsc *tlsc_open(uint16_t port, const struct tlsc_opts *opts);

/* Asks the pump for a KeyUpdate with update_requested (the peer must
 * answer with its own) and waits until it is sent.  0, or -1. */
int tlsc_key_update(struct tlsc *c);

/* Asks the pump to send a fatal internal_error alert (encrypted, as TLS
 * 1.3 has it after the handshake); does not wait. */
void tlsc_send_alert(struct tlsc *c);

/* Waits until the server has sent `n` KeyUpdates; true if it had within
 * TLSC_TIMEOUT_MS. */
bool tlsc_wait_key_updates(struct tlsc *c, int n);

/* Closes fd if still open, waits for the pump to finish (the server's
 * close, or TLSC_IDLE_MS) and frees everything. */
void tlsc_close(struct tlsc *c);

/* Connects and upgrades at `path` (/ws, /ws/ROOM): the client, or NULL
 * (then *status, if not NULL, is the HTTP status, 0 if none). */
struct tlsc *tlsc_ws_open(uint16_t port, const char *path, int *status);

/* GETs `path` over https and returns the whole response, head and body,
 * read until the server closes (malloc'd; NULL on failure). */
char *tlsc_get(uint16_t port, const char *path);

#endif
