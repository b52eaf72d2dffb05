/*
 * tls — TLS on wshub's sockets, with GnuTLS: the server's certificate and
 * key (reloadable), and one session per connection.
 *
 * DESIGN (the connection's design card, with TLS in it)
 * A session is used by one thread at a time, in three steps:
 *
 *   front door ── handshake, HTTP request, response ──▶ (an upgrade)
 *        │ conn_adopt_tls: the session moves to the connection
 *        ▼
 *   read thread: tls_session_recv only     write thread: tls_session_send,
 *   (gnutls_record_recv)                   tls_session_bye (record_send, bye)
 *        │ both threads joined
 *        ▼
 *   the last conn_unref: tls_session_free (gnutls_deinit), then close(2)
 *
 * GnuTLS lets one thread send while another receives (its manual,
 * "Thread safety": Go's crypto/tls.Conn with one Read and one Write at a
 * time), but a TLS 1.3 key update rewrites state on both threads; why, in
 * GnuTLS's code: docs/ARCHITECTURE.md, "TLS: one receiver, one sender, one
 * lock".  Hence one mutex per session (`mu`), taken around each record
 * call: the calls never block (the socket is non-blocking; waiting happens
 * in poll(2) outside the lock), so it is held for the CPU work of a
 * record, never across a wait.
 *
 * The one-sender rule is checked, not assumed: the transport's push
 * function refuses to send from any thread but the session's sender (the
 * front door, then the writer), and the pull function to read from any
 * but its receiver; a refusal fails that connection, never the server.
 *
 * Credentials are reference-counted: every session holds the pair it was
 * made with, so a SIGHUP reload (tls_context_reload) swaps the pair for
 * new handshakes while older sessions keep theirs until they end.
 *
 * GnuTLS is opened with dlopen(3) by the first tls_context_new, not
 * linked, so a server without TLS never maps it (why: tls.c, "GnuTLS,
 * opened at run time").
 *
 * Deliberately not supported: renegotiation (a TLS 1.2 client that asks
 * is disconnected), session resumption (no tickets), client certificates,
 * TLS before 1.2, kernel TLS.
 */
#ifndef WSHUB_TLS_H
#define WSHUB_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* TLS 1.3 and 1.2 only, GnuTLS's NORMAL suites, our order of preference
 * rather than the client's. */
#define TLS_DEFAULT_PRIORITY \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"
/* The largest plaintext of one TLS record (RFC 8446 §5.1): the most a
 * single send passes to GnuTLS, and the writer's coalescing buffer. */
#define TLS_RECORD_MAX 16384
/* The largest certificate chain or key file read (a PEM chain is a few
 * KiB): a bigger file is refused rather than read into memory. */
#define TLS_FILE_MAX (1 << 20)

typedef struct tls_context tls_context_t;
typedef struct tls_session tls_session_t;

/* What tls_context_new refuses, so the caller can name the flag. */
enum tls_error {
	TLS_OK = 0,
	TLS_ERR_CERT = -1,     /* the certificate file */
	TLS_ERR_KEY = -2,      /* the key file */
	TLS_ERR_MISMATCH = -3, /* the key is not the certificate's */
	TLS_ERR_PRIORITY = -4, /* the priority string */
	TLS_ERR_LIBRARY = -5,  /* GnuTLS itself cannot be loaded */
};

/*
 * Loads the certificate chain (PEM, the server's certificate first) and
 * its private key (PEM, unencrypted) and parses `priority`
 * (TLS_DEFAULT_PRIORITY if NULL).  The paths are copied: reloads read the
 * same files.  Returns TLS_OK with *out set, or a tls_error with a reason
 * in `err` that does not repeat the path ("cannot read it: No such file or
 * directory", "not at '...' (...)").  A priority string that enables a TLS
 * version before 1.2, or neither 1.2 nor 1.3, is refused.
 *
 * The first call opens GnuTLS (libgnutls.so.30, DESIGN).  If that
 * fails, TLS_ERR_LIBRARY, with "cannot load GnuTLS (libgnutls.so.30): "
 * and dlerror(3)'s words in `err`, and every later call fails the same
 * way.  Does not print; main thread, before any other thread exists (the
 * library's constructors run then).
 */
int tls_context_new(tls_context_t **out, const char *cert_path,
    const char *key_path, const char *priority, char *err, size_t errlen);

/*
 * Loads the pair again from the same files (SIGHUP): on success new
 * sessions use it and 0 is returned; on failure the old pair stays, -1
 * is returned with the reason in `err` (which file, why).  Sessions
 * already made keep the pair they had.  Any thread; blocks only on the
 * file reads and a short lock that tls_session_new also takes.
 */
int tls_context_reload(tls_context_t *ctx, char *err, size_t errlen);

/*
 * One line on the pair in use: the certificate's subject, its SHA-256
 * fingerprint and when it expires, for the log.  Any thread.
 */
void tls_context_describe(tls_context_t *ctx, char *buf, size_t size);

/* Frees the context; every session made from it must be freed first.
 * NULL is ignored. */
void tls_context_free(tls_context_t *ctx);

/*
 * A server session on the non-blocking socket `fd` (not taken over: the
 * caller closes it, after tls_session_free), with the context's current
 * pair, its priority and ALPN "http/1.1".  Its sender and receiver are
 * the calling thread until tls_session_claim.  Aborts if memory runs out.
 * Front door thread.
 */
tls_session_t *tls_session_new(tls_context_t *ctx, int fd);

/* The one thread allowed to send (TLS_SENDER) or to receive
 * (TLS_RECEIVER) on the session from now on: the caller.  The writer and
 * the reader each claim their side when they start. */
enum tls_side { TLS_SENDER, TLS_RECEIVER };
void tls_session_claim(tls_session_t *s, enum tls_side side);

/*
 * One step of the handshake, never blocking.  Returns TLS_DONE, or
 * TLS_WANT_READ / TLS_WANT_WRITE (call again once the socket is readable
 * / writable), or TLS_FAILED (tls_session_error says why; a fatal alert
 * was sent if the socket took it: close the socket).  Front door thread.
 */
enum tls_step { TLS_DONE, TLS_WANT_READ, TLS_WANT_WRITE, TLS_FAILED };
enum tls_step tls_session_handshake(tls_session_t *s);

/*
 * Reads decrypted bytes, like read(2): the number read (at most len), 0
 * when the peer closed (its close_notify, or EOF without one:
 * tls_session_outcome tells), or -1 with errno EAGAIN (nothing whole yet:
 * wait for the socket), EINTR, or EPROTO (a TLS error: a bad or oversize
 * record, a fatal alert, a renegotiation request, too many key updates;
 * the session is finished).  The receiving thread only.
 */
ssize_t tls_session_recv(tls_session_t *s, void *buf, size_t len);

/*
 * Decrypted bytes already waiting inside GnuTLS (a record is decrypted
 * whole, the caller may have taken part of it): a reader must take these
 * before it waits for the socket.  The receiving thread only.
 */
size_t tls_session_pending(tls_session_t *s);

/*
 * Encrypts and sends up to min(len, TLS_RECORD_MAX) bytes as one record:
 * returns the number of bytes sent, or -1 with errno EAGAIN (the socket is
 * full: wait for POLLOUT, then call again with the SAME buf and len, which
 * GnuTLS holds encrypted), EINTR (the same), or another errno (the
 * connection is broken).  The sending thread only.
 */
ssize_t tls_session_send(tls_session_t *s, const void *buf, size_t len);

/*
 * Sends our close_notify (gnutls_bye with GNUTLS_SHUT_WR): 0 once sent,
 * -1 with errno EAGAIN (wait for POLLOUT and call again) or another errno.
 * The sending thread only.
 */
int tls_session_bye(tls_session_t *s);

/* How the peer's side of the session ended, as far as the receiving
 * thread saw it.  Read once the receiving thread is done. */
enum tls_outcome {
	TLS_OPEN,       /* nothing ended it yet (or a close_notify came) */
	TLS_TRUNCATED,  /* the peer closed TCP without a close_notify */
	TLS_BROKEN,     /* a TLS error (tls_session_error) */
};
enum tls_outcome tls_session_outcome(const tls_session_t *s);

/* GnuTLS's words for the last error of the session (a static string), or
 * "" if none. */
const char *tls_session_error(const tls_session_t *s);

/* The negotiated version, "TLS1.3" or "TLS1.2" (after the handshake). */
const char *tls_session_version(const tls_session_t *s);

/* Deinitialises the session and drops its pair; does not close the
 * socket.  NULL is ignored.  Whoever holds the last reference. */
void tls_session_free(tls_session_t *s);

#endif
