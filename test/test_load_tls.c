/*
 * wshub-load's TLS sessions (src/load/tls.h) against a GnuTLS server in the
 * same thread, over a non-blocking socketpair: the certificate check, the
 * retry contract of a send that would block, reads that gather records
 * and say what GnuTLS still holds.  The certificate is made here, by
 * GnuTLS, at test time.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../src/load/tls.h"

#define PUMP_STEPS 1000        /* handshake steps before giving up */
#define SMALL_BUF 4096         /* socket buffers, so that sends block */

/* One client session, one server session, over a socketpair. */
struct pair {
	int fd[2];                     /* [0] the client's, [1] the server's */
	struct tls_client *tc;
	struct tls_conn *client;
	gnutls_session_t server;
	gnutls_certificate_credentials_t server_cred;
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	char ca_path[64];
};

/* A self-signed P-256 certificate for `name`, valid for a day. */
static void
make_cert(struct pair *p, const char *name)
{
	time_t now = time(NULL);
	char dn[128];

	cr_assert_eq(gnutls_x509_privkey_init(&p->key), 0);
	cr_assert_eq(gnutls_x509_privkey_generate(p->key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0), 0);
	cr_assert_eq(gnutls_x509_crt_init(&p->crt), 0);
	snprintf(dn, sizeof(dn), "CN=%s", name);
	cr_assert_eq(gnutls_x509_crt_set_dn(p->crt, dn, NULL), 0);
	cr_assert_eq(gnutls_x509_crt_set_subject_alt_name(p->crt,
	    GNUTLS_SAN_DNSNAME, name, (unsigned)strlen(name),
	    GNUTLS_FSAN_SET), 0);
	cr_assert_eq(gnutls_x509_crt_set_version(p->crt, 3), 0);
	cr_assert_eq(gnutls_x509_crt_set_serial(p->crt, "\x01", 1), 0);
	cr_assert_eq(gnutls_x509_crt_set_activation_time(p->crt, now - 60), 0);
	cr_assert_eq(gnutls_x509_crt_set_expiration_time(p->crt, now + 86400),
	    0);
	cr_assert_eq(gnutls_x509_crt_set_basic_constraints(p->crt, 1, -1), 0);
	cr_assert_eq(gnutls_x509_crt_set_key(p->crt, p->key), 0);
	cr_assert_eq(gnutls_x509_crt_sign2(p->crt, p->crt, p->key,
	    GNUTLS_DIG_SHA256, 0), 0);
}

/* The certificate as a PEM file, for --ca. */
static void
write_ca(struct pair *p)
{
	gnutls_datum_t pem;
	int fd;

	snprintf(p->ca_path, sizeof(p->ca_path), "/tmp/wshub-tls-XXXXXX");
	cr_assert_geq(fd = mkstemp(p->ca_path), 0);
	cr_assert_eq(gnutls_x509_crt_export2(p->crt, GNUTLS_X509_FMT_PEM,
	    &pem), 0);
	cr_assert_eq(write(fd, pem.data, pem.size), (ssize_t)pem.size);
	close(fd);
	gnutls_free(pem.data);
}

/* A certificate for `cert_name`, trusted as `verify` says (TLS_VERIFY_CA:
 * the certificate itself), and sessions for the client to `host`. */
static void
pair_open(struct pair *p, const char *cert_name, enum tls_verify verify,
    const char *host)
{
	char err[256];
	int code = 0;

	memset(p, 0, sizeof(*p));
	make_cert(p, cert_name);
	write_ca(p);
	cr_assert_eq(tls_client_new(&p->tc, verify, verify == TLS_VERIFY_CA ?
	    p->ca_path : NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    p->fd), 0);
	p->client = tls_conn_new(p->tc, p->fd[0], host, &code);
	cr_assert_not_null(p->client, "%s", gnutls_strerror(code));
	cr_assert_eq(gnutls_certificate_allocate_credentials(&p->server_cred),
	    0);
	cr_assert_eq(gnutls_certificate_set_x509_key(p->server_cred, &p->crt,
	    1, p->key), 0);
	/* No session tickets: every record the client reads is data. */
	cr_assert_eq(gnutls_init(&p->server, GNUTLS_SERVER | GNUTLS_NONBLOCK |
	    GNUTLS_NO_TICKETS), 0);
	cr_assert_eq(gnutls_set_default_priority(p->server), 0);
	cr_assert_eq(gnutls_credentials_set(p->server, GNUTLS_CRD_CERTIFICATE,
	    p->server_cred), 0);
	gnutls_transport_set_int(p->server, p->fd[1]);
}

/* Frees both sessions and everything behind them. */
static void
pair_close(struct pair *p)
{
	tls_conn_free(p->client);
	gnutls_deinit(p->server);
	gnutls_certificate_free_credentials(p->server_cred);
	tls_client_free(p->tc);
	gnutls_x509_crt_deinit(p->crt);
	gnutls_x509_privkey_deinit(p->key);
	close(p->fd[0]);
	close(p->fd[1]);
	unlink(p->ca_path);
}

/* Steps both handshakes in turn; returns the client's result. */
static int
pair_handshake(struct pair *p)
{
	int c = TLS_AGAIN, s = GNUTLS_E_AGAIN;

	for (int i = 0; i < PUMP_STEPS; i++) {
		if (c == TLS_AGAIN)
			c = tls_conn_handshake(p->client);
		if (s == GNUTLS_E_AGAIN || s == GNUTLS_E_INTERRUPTED)
			s = gnutls_handshake(p->server);
		if (c != TLS_AGAIN && (c < 0 || s != GNUTLS_E_AGAIN))
			return c;
	}
	cr_assert_fail("the handshakes did not finish in %d steps",
	    PUMP_STEPS);
	return -1;
}

/* Sends `len` bytes from the server, whole. */
static void
server_send(struct pair *p, const void *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = gnutls_record_send(p->server, buf, len);
		if (n == GNUTLS_E_AGAIN)
			n = gnutls_record_send(p->server, NULL, 0);
		cr_assert_gt(n, 0, "%s", gnutls_strerror((int)n));
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
}

Test(load_tls, the_certificate_must_name_the_host, .timeout = 20)
{
	struct pair p;
	char why[256];
	int rc;

	pair_open(&p, "localhost", TLS_VERIFY_CA, "localhost");
	cr_assert_eq(pair_handshake(&p), 0, "trusted and named: it passes");
	pair_close(&p);

	pair_open(&p, "localhost", TLS_VERIFY_CA, "other.example");
	rc = pair_handshake(&p);
	cr_assert_eq(rc, GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR, "%s",
	    gnutls_strerror(rc));
	cr_assert(tls_conn_verify_status(p.client) &
	    GNUTLS_CERT_UNEXPECTED_OWNER);
	tls_reason(rc, tls_conn_verify_status(p.client), why, sizeof(why));
	cr_assert(strstr(why, "does not match") != NULL, "%s", why);
	pair_close(&p);
}

Test(load_tls, an_unknown_issuer_is_refused_unless_insecure, .timeout = 20)
{
	struct pair p;
	char why[256];
	int rc;

	pair_open(&p, "localhost", TLS_VERIFY_SYSTEM, "localhost");
	rc = pair_handshake(&p);
	cr_assert_eq(rc, GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR);
	tls_reason(rc, tls_conn_verify_status(p.client), why, sizeof(why));
	cr_assert(strstr(why, "issuer is unknown") != NULL, "%s", why);
	pair_close(&p);

	pair_open(&p, "localhost", TLS_VERIFY_NONE, "other.example");
	cr_assert_eq(pair_handshake(&p), 0, "--insecure checks nothing");
	cr_assert_eq(tls_conn_verify_status(p.client), 0);
	pair_close(&p);
}

/*
 * The retry contract (tls.h): a send that returns TLS_AGAIN is offered the
 * same bytes again until it succeeds.  With small socket buffers many
 * sends block; the server must still read the stream exactly.
 */
Test(load_tls, a_blocked_send_is_retried_with_the_same_bytes, .timeout = 30)
{
	enum { CHUNK = 4110, TOTAL = 2 << 20 };
	static uint8_t out[TOTAL], in[TOTAL];
	struct pair p;
	size_t sent = 0, got = 0;
	int small = SMALL_BUF, agains = 0;

	for (size_t i = 0; i < TOTAL; i++)
		out[i] = (uint8_t)(i * 7 + i / 251);
	pair_open(&p, "localhost", TLS_VERIFY_NONE, "localhost");
	cr_assert_eq(pair_handshake(&p), 0);
	setsockopt(p.fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(p.fd[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	while (got < TOTAL) {
		/* the client sends until the socket is full ... */
		while (sent < TOTAL) {
			size_t len = TOTAL - sent < CHUNK ? TOTAL - sent :
			    CHUNK;
			ssize_t n = tls_conn_send(p.client, out + sent, len);

			if (n == TLS_AGAIN) {
				agains++;
				cr_assert(tls_conn_wants_write(p.client));
				break;  /* then the same bytes, below */
			}
			cr_assert_gt(n, 0, "%s", gnutls_strerror((int)n));
			sent += (size_t)n;
		}
		/* ... then the server reads all there is */
		while (got < TOTAL) {
			ssize_t r = gnutls_record_recv(p.server, in + got,
			    TOTAL - got);

			if (r == GNUTLS_E_AGAIN)
				break;
			cr_assert_gt(r, 0, "%s", gnutls_strerror((int)r));
			got += (size_t)r;
		}
	}
	cr_assert_gt(agains, 0, "the sends never blocked: nothing tested");
	cr_assert_eq(memcmp(in, out, TOTAL), 0, "the stream arrived changed");
	pair_close(&p);
}

/*
 * A read gathers every record that has arrived; what does not fit stays
 * in GnuTLS, and tls_conn_pending says so; the end behind data comes on
 * the next read.
 */
Test(load_tls, reads_gather_records_and_tell_what_is_pending,
    .timeout = 20)
{
	static char big[10000], buf[20000];
	struct pair p;

	memset(big, 'x', sizeof(big));
	pair_open(&p, "localhost", TLS_VERIFY_NONE, "localhost");
	cr_assert_eq(pair_handshake(&p), 0);
	cr_assert_eq(tls_conn_recv(p.client, buf, sizeof(buf)), TLS_AGAIN);
	for (int i = 0; i < 3; i++)
		server_send(&p, big, 1000);
	cr_assert_eq(tls_conn_recv(p.client, buf, sizeof(buf)), 3000,
	    "three records in one read");
	cr_assert_not(tls_conn_pending(p.client));

	server_send(&p, big, sizeof(big));
	cr_assert_eq(tls_conn_recv(p.client, buf, 4000), 4000);
	cr_assert(tls_conn_pending(p.client), "6000 bytes wait in GnuTLS");
	cr_assert_eq(tls_conn_recv(p.client, buf, 4000), 4000);
	cr_assert_eq(tls_conn_recv(p.client, buf, 4000), 2000);
	cr_assert_not(tls_conn_pending(p.client));

	server_send(&p, big, 500);
	cr_assert_eq(gnutls_bye(p.server, GNUTLS_SHUT_WR), 0);
	cr_assert_eq(tls_conn_recv(p.client, buf, sizeof(buf)), 500);
	cr_assert(tls_conn_pending(p.client), "the end is held back");
	cr_assert_eq(tls_conn_recv(p.client, buf, sizeof(buf)), 0);
	pair_close(&p);
}

Test(load_tls, a_ca_file_without_a_certificate_is_refused, .timeout = 10)
{
	struct tls_client *tc = NULL;
	char err[256], path[] = "/tmp/wshub-tls-XXXXXX";
	int fd;

	cr_assert_eq(tls_client_new(&tc, TLS_VERIFY_CA, "/nonexistent/ca.pem",
	    err, sizeof(err)), -1);
	cr_assert(strstr(err, "cannot read it: No such file") != NULL, "%s",
	    err);
	cr_assert_geq(fd = mkstemp(path), 0);
	cr_assert_eq(write(fd, "garbage\n", 8), 8);
	close(fd);
	cr_assert_eq(tls_client_new(&tc, TLS_VERIFY_CA, path, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "no PEM certificate") != NULL, "%s", err);
	unlink(path);
	cr_assert_null(tc);
}
