/* tls — wss:// for wshub-load, with GnuTLS (see tls.h for the design). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tls.h"
#include "wshub/xmalloc.h"

/* Shared by every session; read-only once built (tls.h). */
struct tls_client {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	enum tls_verify verify;
};

/* One session; its loop thread's alone. */
struct tls_conn {
	gnutls_session_t s;
	int fd;
	int sys_errno;         /* errno of the last failed send or recv */
	int held;              /* end (1) or error (< 0) met after data */
	bool established;      /* handshake complete */
	bool broken;           /* a fatal error: no close_notify */
};

/* gnutls_strerror without its final period, to go inside a sentence. */
static int
strerror_len(int code)
{
	size_t n = strlen(gnutls_strerror(code));

	return (int)(n > 0 && gnutls_strerror(code)[n - 1] == '.' ? n - 1 : n);
}

/* Puts "what: GnuTLS's reason" in err. */
static int
client_err(char *err, size_t cap, const char *what, int code)
{
	snprintf(err, cap, "%s: %.*s", what, strerror_len(code),
	    gnutls_strerror(code));
	return -1;
}

/* The trust: a CA file that must hold a certificate, or the system's. */
static int
load_trust(struct tls_client *tc, const char *ca_file, char *err, size_t cap)
{
	FILE *f;
	int n;

	if (ca_file != NULL) {
		if ((f = fopen(ca_file, "r")) == NULL) {
			snprintf(err, cap, "cannot read it: %s",
			    strerror(errno));
			return -1;
		}
		fclose(f);
		n = gnutls_certificate_set_x509_trust_file(tc->cred, ca_file,
		    GNUTLS_X509_FMT_PEM);
		if (n < 0)
			return client_err(err, cap, "cannot be used", n);
		if (n == 0) {
			snprintf(err, cap, "no PEM certificate in it");
			return -1;
		}
		return 0;
	}
	n = gnutls_certificate_set_x509_system_trust(tc->cred);
	if (n < 0)
		return client_err(err, cap, "the system trust store", n);
	if (n == 0) {
		snprintf(err, cap, "the system trust store is empty (install "
		    "ca-certificates, or give --ca FILE or --insecure)");
		return -1;
	}
	return 0;
}

/* Credentials and priorities, built once on the main thread. */
int
tls_client_new(struct tls_client **out, enum tls_verify verify,
    const char *ca_file, char *err, size_t errcap)
{
	struct tls_client *tc = xcalloc(1, sizeof(*tc));
	int rc;

	tc->verify = ca_file != NULL ? TLS_VERIFY_CA : verify;
	if ((rc = gnutls_certificate_allocate_credentials(&tc->cred)) < 0) {
		client_err(err, errcap, "credentials", rc);
		goto err;
	}
	if (tc->verify != TLS_VERIFY_NONE &&
	    load_trust(tc, ca_file, err, errcap) < 0)
		goto err;
	if ((rc = gnutls_priority_init(&tc->prio, TLS_PRIORITIES, NULL)) < 0) {
		client_err(err, errcap, "priorities " TLS_PRIORITIES, rc);
		goto err;
	}
	*out = tc;
	return 0;
err:
	tls_client_free(tc);
	return -1;
}

/* Frees credentials and priorities. */
void
tls_client_free(struct tls_client *tc)
{
	if (tc == NULL)
		return;
	if (tc->cred != NULL)
		gnutls_certificate_free_credentials(tc->cred);
	if (tc->prio != NULL)
		gnutls_priority_deinit(tc->prio);
	free(tc);
}

/* GnuTLS's pull function: recv(2), keeping the errno of a failure. */
static ssize_t
conn_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	struct tls_conn *t = p;
	ssize_t n = recv(t->fd, buf, len, 0);

	if (n < 0)
		t->sys_errno = errno;
	return n;
}

/* GnuTLS's push function: one sendmsg(2) for all the records it has. */
static ssize_t
conn_push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
	struct tls_conn *t = p;
	struct msghdr mh = { .msg_iov = (struct iovec *)(uintptr_t)iov,
	    .msg_iovlen = (size_t)iovcnt };
	ssize_t n = sendmsg(t->fd, &mh, MSG_NOSIGNAL);

	if (n < 0)
		t->sys_errno = errno;
	return n;
}

/* True if `host` is an IPv4 or IPv6 address rather than a name. */
static bool
is_address(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* A client session with SNI, ALPN and the check of the certificate. */
struct tls_conn *
tls_conn_new(const struct tls_client *tc, int fd, const char *host, int *code)
{
	struct tls_conn *t = xcalloc(1, sizeof(*t));
	gnutls_datum_t alpn = { (unsigned char *)TLS_ALPN,
	    sizeof(TLS_ALPN) - 1 };
	int rc;

	t->fd = fd;
	if ((rc = gnutls_init(&t->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
	    GNUTLS_NO_SIGNAL)) < 0)
		goto err;
	if ((rc = gnutls_priority_set(t->s, tc->prio)) < 0 ||
	    (rc = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE,
	    tc->cred)) < 0 ||
	    (rc = gnutls_alpn_set_protocols(t->s, &alpn, 1, 0)) < 0)
		goto err;
	if (!is_address(host) && (rc = gnutls_server_name_set(t->s,
	    GNUTLS_NAME_DNS, host, strlen(host))) < 0)
		goto err;
	if (tc->verify != TLS_VERIFY_NONE)
		gnutls_session_set_verify_cert(t->s, host, 0);
	gnutls_transport_set_ptr(t->s, t);
	gnutls_transport_set_pull_function(t->s, conn_pull);
	gnutls_transport_set_vec_push_function(t->s, conn_push);
	return t;
err:
	*code = rc;
	if (t->s != NULL)
		gnutls_deinit(t->s);
	free(t);
	return NULL;
}

/* One step of the handshake; warnings (a non-fatal alert) are skipped. */
int
tls_conn_handshake(struct tls_conn *t)
{
	int rc;

	do
		rc = gnutls_handshake(t->s);
	while (rc < 0 && rc != TLS_AGAIN && !gnutls_error_is_fatal(rc));
	if (rc == 0)
		t->established = true;
	else if (rc != TLS_AGAIN)
		t->broken = true;
	return rc;
}

/* What the last TLS_AGAIN waits for. */
bool
tls_conn_wants_write(const struct tls_conn *t)
{
	return gnutls_record_get_direction(t->s) == 1;
}

/*
 * One gnutls_record_recv, with what a client may pass over: interruptions,
 * warning alerts, a TLS 1.2 HelloRequest (no renegotiation: tls.h).
 * TLS 1.3's tickets and key updates GnuTLS handles inside; they end in
 * GNUTLS_E_AGAIN when no data came with them.
 */
static ssize_t
recv_record(struct tls_conn *t, void *buf, size_t cap)
{
	ssize_t n;

	do
		n = gnutls_record_recv(t->s, buf, cap);
	while (n == GNUTLS_E_INTERRUPTED ||
	    n == GNUTLS_E_WARNING_ALERT_RECEIVED || n == GNUTLS_E_REHANDSHAKE);
	if (n == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;  /* TCP closed without close_notify: an end too */
	if (n < 0 && n != TLS_AGAIN)
		t->broken = true;
	return n;
}

/* Records until `buf` is full or none is left; see tls.h. */
ssize_t
tls_conn_recv(struct tls_conn *t, void *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	if (t->held != 0) {
		n = t->held > 0 ? 0 : t->held;
		t->held = 0;
		return n;
	}
	while (got < cap) {
		n = recv_record(t, (char *)buf + got, cap - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (got > 0 && n != TLS_AGAIN)
			t->held = n == 0 ? 1 : (int)n;
		if (got == 0)
			return n;
		break;
	}
	return (ssize_t)got;
}

/* Decrypted bytes in GnuTLS, or an end or error held back. */
bool
tls_conn_pending(const struct tls_conn *t)
{
	return t->held != 0 || gnutls_record_check_pending(t->s) > 0;
}

/* One record; a retry after TLS_AGAIN flushes the record already made. */
ssize_t
tls_conn_send(struct tls_conn *t, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = gnutls_record_send(t->s, buf, len);
	while (n == GNUTLS_E_INTERRUPTED);
	if (n < 0 && n != TLS_AGAIN)
		t->broken = true;
	return n;
}

/* The errno behind a push or pull error. */
int
tls_conn_errno(const struct tls_conn *t)
{
	return t->sys_errno;
}

/* Why the certificate was refused, as GnuTLS's status bits. */
unsigned
tls_conn_verify_status(const struct tls_conn *t)
{
	unsigned status = gnutls_session_get_verify_cert_status(t->s);

	return status == UINT_MAX ? 0 : status;  /* UINT_MAX: not checked */
}

/* close_notify if it goes out at once, then the session is gone. */
void
tls_conn_free(struct tls_conn *t)
{
	if (t == NULL)
		return;
	if (t->established && !t->broken)
		gnutls_bye(t->s, GNUTLS_SHUT_WR);  /* best effort, no wait */
	gnutls_deinit(t->s);
	free(t);
}

/*
 * gnutls_strerror, or the certificate's faults, in one line.  Bytes that
 * are no TLS record mean a server that does not speak TLS there.
 */
void
tls_reason(int code, unsigned status, char *buf, size_t cap)
{
	gnutls_datum_t out = { NULL, 0 };
	size_t len;

	if (code == GNUTLS_E_UNEXPECTED_PACKET ||
	    code == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
	    code == GNUTLS_E_UNSUPPORTED_VERSION_PACKET) {
		snprintf(buf, cap, "%.*s: does the server speak TLS on this "
		    "port?", strerror_len(code), gnutls_strerror(code));
		return;
	}
	if (code != GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR || status == 0 ||
	    gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) < 0) {
		snprintf(buf, cap, "%s", gnutls_strerror(code));
		return;
	}
	len = strlen((const char *)out.data);
	while (len > 0 && out.data[len - 1] == ' ')
		len--;
	snprintf(buf, cap, "certificate refused: %.*s", (int)len,
	    (const char *)out.data);
	gnutls_free(out.data);
}
