/*
 * tls — the client side of TLS for wshub-load's wss:// URLs (GnuTLS).
 *
 * DESIGN
 * Two objects.  A tls_client holds what every connection shares: the
 * trust (the system store, a --ca file, or none with --insecure) and the
 * priorities (TLS 1.2 and 1.3).  The main thread builds it before any
 * loop thread starts and frees it after they are joined; in between it is
 * read-only, and GnuTLS lets sessions in any number of threads share
 * credentials and priorities that nobody changes.  A tls_conn is one
 * session over one non-blocking socket.  It belongs to the loop thread
 * that owns the connection, the only thread that ever calls into it, so
 * it needs no lock.  Nothing here blocks: where a socket call would wait,
 * the function returns TLS_AGAIN and tls_conn_wants_write says for which
 * readiness to wait (epoll's EPOLLOUT or EPOLLIN).
 *
 * GnuTLS keeps two buffers a caller of an event loop must know about:
 *   decrypted bytes  a record is decrypted whole, so after a read that
 *                    filled the caller's buffer the rest of the record
 *                    waits inside GnuTLS, where epoll cannot see it.
 *                    tls_conn_pending says so: read again before waiting.
 *   encrypted bytes  a send that returns TLS_AGAIN has already encrypted
 *                    its record and written part of it; the next send
 *                    must offer the same bytes again, and GnuTLS then
 *                    finishes writing that record and returns its length.
 *                    That is send(2)'s contract as a caller sees it (retry
 *                    the unsent bytes), and the one wslay keeps.
 *
 * Not supported: renegotiation (a TLS 1.2 server's HelloRequest is
 * ignored), session resumption (each connection pays a full handshake,
 * which is what a load test should measure), client certificates.
 *
 * Errors are GnuTLS's own negative codes (gnutls_strerror names them);
 * tls_reason turns one into the sentence a report prints.
 */
#ifndef WSHUB_LOAD_TLS_H
#define WSHUB_LOAD_TLS_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Would block: wait for the socket (tls_conn_wants_write), then retry. */
#define TLS_AGAIN GNUTLS_E_AGAIN

/* Protocols offered, strongest first; nothing older than TLS 1.2. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define TLS_ALPN "http/1.1"    /* a WebSocket upgrade is an HTTP/1.1 GET */

/* How a server's certificate is checked. */
enum tls_verify {
	TLS_VERIFY_SYSTEM,     /* the system trust store, and the host name */
	TLS_VERIFY_CA,         /* the --ca file, and the host name */
	TLS_VERIFY_NONE,       /* --insecure: not at all */
};

struct tls_client;
struct tls_conn;

/*
 * Builds the shared credentials: trust in `ca_file` if not NULL, none if
 * `verify` is TLS_VERIFY_NONE, else the system store.  Returns 0, or -1
 * with one line in `err` (no newline) naming what failed: the file cannot
 * be read, holds no certificate, the system store is empty.  Main thread.
 */
int tls_client_new(struct tls_client **out, enum tls_verify verify,
    const char *ca_file, char *err, size_t errcap);

/* Frees what tls_client_new built; NULL is ignored.  Main thread, after
 * every tls_conn is freed. */
void tls_client_free(struct tls_client *tc);

/*
 * Starts a client session on the connected non-blocking socket `fd` for
 * the server `host` (as in the URL, without brackets or port): SNI names
 * it unless it is an IP address (RFC 6066 allows no addresses there), and
 * unless --insecure the certificate must be valid for it.  Returns the
 * session, or NULL with a GnuTLS code in *code (out of memory, bad
 * priorities).  The socket stays the caller's: tls_conn_free does not
 * close it.  Loop thread.
 */
struct tls_conn *tls_conn_new(const struct tls_client *tc, int fd,
    const char *host, int *code);

/*
 * Advances the handshake.  Returns 0 once it is complete (the certificate
 * checked), TLS_AGAIN to be called again when the socket is ready, or a
 * fatal GnuTLS code; GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR means the
 * certificate was refused, and tls_conn_verify_status says why.
 */
int tls_conn_handshake(struct tls_conn *t);

/* After TLS_AGAIN: true to wait for writability, false for input. */
bool tls_conn_wants_write(const struct tls_conn *t);

/*
 * Reads decrypted bytes into `buf`, as many records as fit and have
 * arrived, like read(2) on a socket.  Returns the count (> 0); 0 at the
 * end of the stream, with or without the server's close_notify (servers
 * often just close); TLS_AGAIN when nothing has arrived; or a fatal
 * GnuTLS code.  An end or an error met after some bytes is returned by
 * the next call, and tls_conn_pending is true meanwhile.
 */
ssize_t tls_conn_recv(struct tls_conn *t, void *buf, size_t cap);

/*
 * True when tls_conn_recv has something to return without the socket
 * becoming readable: decrypted bytes held by GnuTLS, or an end or error
 * held back.  Check it before waiting for EPOLLIN.
 */
bool tls_conn_pending(const struct tls_conn *t);

/*
 * Encrypts and writes at most one record of `buf`.  Returns the bytes
 * sent (> 0, maybe fewer than `len`), TLS_AGAIN (then the next call must
 * offer the same bytes: see the DESIGN above), or a fatal GnuTLS code.
 */
ssize_t tls_conn_send(struct tls_conn *t, const void *buf, size_t len);

/* The errno behind GNUTLS_E_PUSH_ERROR or GNUTLS_E_PULL_ERROR (a reset,
 * a refused connection), or 0. */
int tls_conn_errno(const struct tls_conn *t);

/* GnuTLS's gnutls_certificate_status_t bits from the last handshake: why
 * the certificate was refused.  0 if it was not. */
unsigned tls_conn_verify_status(const struct tls_conn *t);

/*
 * Sends close_notify if the session is established and the socket takes
 * it now; never waits.  Then frees the session.  NULL is ignored.
 */
void tls_conn_free(struct tls_conn *t);

/*
 * One line for a report, into `buf`: what GnuTLS code `code` means, and
 * for a refused certificate the reasons in `status`
 * (gnutls_certificate_verification_status_print).  Any thread.
 */
void tls_reason(int code, unsigned status, char *buf, size_t cap);

#endif
