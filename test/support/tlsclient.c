/* TLS for the tests: certificates and a pumped client (see tlsclient.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "support/tlsclient.h"
#include "support/wsclient.h"

#define PUMP_BUF 16384

/* ---- certificates ---------------------------------------------------------- */

/* Writes `d` to `path`; 0 or -1. */
static int
write_datum(const char *path, const gnutls_datum_t *d)
{
	FILE *f = fopen(path, "w");
	int ok = f != NULL && fwrite(d->data, 1, d->size, f) == d->size;

	if (f != NULL && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* "AB:CD:..." of the SHA-256 of `der`. */
static void
fingerprint_hex(const gnutls_datum_t *der, char *out, size_t size)
{
	unsigned char fp[32];
	size_t fp_len = sizeof(fp), off = 0;

	out[0] = '\0';
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, der, fp, &fp_len) < 0)
		return;
	for (size_t i = 0; i < fp_len && off + 4 <= size; i++)
		off += (size_t)snprintf(out + off, size - off, "%s%02X",
		    i ? ":" : "", fp[i]);
}

/* Fills in a self-signed certificate for `key`. */
static int
make_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn)
{
	unsigned char serial[8], lo[4] = { 127, 0, 0, 1 };
	time_t now = time(NULL);

	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	serial[0] &= 0x7f; /* a positive serial */
	return gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, now + 86400) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	    cn, (unsigned)strlen(cn)) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME,
	    "localhost", 9, GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
	    lo, sizeof(lo), GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0 ||
	    gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ?
	    -1 : 0;
}

int
tlst_make_pair(struct tls_test_pair *p, const char *cn)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t pem = { 0 }, der = { 0 };
	int rc = -1;

	snprintf(p->dir, sizeof(p->dir), "/tmp/wshub-tls-XXXXXX");
	if (mkdtemp(p->dir) == NULL)
		return -1;
	snprintf(p->cert, sizeof(p->cert), "%s/cert.pem", p->dir);
	snprintf(p->key, sizeof(p->key), "%s/key.pem", p->dir);
	if (gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0 || make_cert(crt, key, cn) != 0)
		goto out;
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem) < 0 ||
	    write_datum(p->cert, &pem) != 0)
		goto out;
	gnutls_free(pem.data);
	pem.data = NULL;
	if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &pem) < 0 ||
	    write_datum(p->key, &pem) != 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0)
		goto out;
	fingerprint_hex(&der, p->fingerprint, sizeof(p->fingerprint));
	rc = 0;
out:
	gnutls_free(pem.data);
	gnutls_free(der.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

int
tlst_swap_key(struct tls_test_pair *p, const struct tls_test_pair *other)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", other->key, p->key);
	return system(cmd) == 0 ? 0 : -1;
}

void
tlst_remove_pair(struct tls_test_pair *p)
{
	unlink(p->cert);
	unlink(p->key);
	rmdir(p->dir);
}

/* ---- the client -------------------------------------------------------------- */

/* Counts the KeyUpdates the server sends (GnuTLS's hook, on the pump). */
static int
on_key_update(gnutls_session_t s, unsigned htype, unsigned when,
    unsigned incoming, const gnutls_datum_t *msg)
{
	struct tlsc *c = gnutls_session_get_ptr(s);

	(void)htype;
	(void)when;
	(void)msg;
	if (incoming)
		atomic_fetch_add(&c->key_updates_received, 1);
	return 0;
}

/* A blocking TCP connection to the server, each call bounded. */
static int
tcp_connect(uint16_t port)
{
	struct timeval tv = { TLSC_TIMEOUT_MS / 1000, 0 };
	int fd = ws_tcp_connect(port, 0);

	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* Sets up the session for the server on c->tcp. */
static int
session_setup(struct tlsc *c)
{
	static const gnutls_datum_t alpn = {
		.data = (unsigned char *)"http/1.1", .size = 8 };

	if (gnutls_certificate_allocate_credentials(&c->cred) < 0 ||
	    (c->opts.ca != NULL && gnutls_certificate_set_x509_trust_file(
	    c->cred, c->opts.ca, GNUTLS_X509_FMT_PEM) < 0) ||
	    gnutls_init(&c->session, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL) < 0)
		return -1;
	gnutls_session_set_ptr(c->session, c);
	if (gnutls_priority_set_direct(c->session, c->opts.priority ?
	    c->opts.priority : "NORMAL", NULL) < 0 ||
	    gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE,
	    c->cred) < 0 ||
	    gnutls_alpn_set_protocols(c->session, &alpn, 1, 0) < 0)
		return -1;
	if (c->opts.ca != NULL)
		gnutls_session_set_verify_cert(c->session, "localhost", 0);
	gnutls_handshake_set_hook_function(c->session,
	    GNUTLS_HANDSHAKE_KEY_UPDATE, GNUTLS_HOOK_POST, on_key_update);
	gnutls_handshake_set_timeout(c->session, TLSC_TIMEOUT_MS);
	gnutls_transport_set_int(c->session, c->tcp);
	return 0;
}

/* What the handshake settled: fingerprint, version, ALPN. */
static void
note_session(struct tlsc *c)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(c->session,
	    &n);
	gnutls_datum_t proto;

	if (certs != NULL && n > 0)
		fingerprint_hex(&certs[0], c->fingerprint, sizeof(c->fingerprint));
	snprintf(c->version, sizeof(c->version), "%s",
	    gnutls_protocol_get_name(gnutls_protocol_get_version(c->session)));
	if (gnutls_alpn_get_selected_protocol(c->session, &proto) == 0)
		snprintf(c->alpn, sizeof(c->alpn), "%.*s", (int)proto.size,
		    (const char *)proto.data);
}

/* Sends all of buf over TLS (blocking, each push bounded); 0 or -1. */
static int
tls_send_all(struct tlsc *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = gnutls_record_send(c->session, buf, len);

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return -1; /* a send timed out: the server stopped */
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends KeyUpdates the test asked for (tlsc_key_update). */
static void
pump_control(struct tlsc *c)
{
	uint64_t v;

	if (read(c->ctl, &v, sizeof(v)) != sizeof(v))
		return;
	if (atomic_exchange(&c->alert_asked, false))
		gnutls_alert_send(c->session, GNUTLS_AL_FATAL,
		    GNUTLS_A_INTERNAL_ERROR);
	while (atomic_load(&c->key_updates_sent) <
	    atomic_load(&c->key_updates_asked)) {
		int rc;

		do
			rc = gnutls_session_key_update(c->session, GNUTLS_KU_PEER);
		while (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED);
		if (rc < 0) {
			fprintf(stderr, "tlsc: key update: %s\n",
			    gnutls_strerror(rc));
			return;
		}
		atomic_fetch_add(&c->key_updates_sent, 1);
	}
}

/* The server's bytes to the test; false once the server's side ended. */
static bool
pump_from_server(struct tlsc *c, char *buf)
{
	ssize_t n = gnutls_record_recv(c->session, buf, PUMP_BUF);

	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
		return true;
	if (n > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = send(c->app, buf + off, (size_t)(n - off),
			    MSG_NOSIGNAL);

			if (w <= 0)
				return true; /* the test stopped reading: drop */
			off += w;
		}
		return true;
	}
	shutdown(c->app, SHUT_WR); /* close_notify, EOF or an error */
	return false;
}

/* The test's bytes to the server; false once the test's side ended. */
static bool
pump_to_server(struct tlsc *c, char *buf)
{
	ssize_t n = read(c->app, buf, PUMP_BUF);

	if (n > 0 && tls_send_all(c, buf, (size_t)n) == 0)
		return true;
	if (n < 0 && errno == EINTR)
		return true;
	if (!c->opts.no_close_notify)
		gnutls_bye(c->session, GNUTLS_SHUT_WR);
	shutdown(c->tcp, SHUT_WR);
	return false;
}

/* The pump: forwards both ways until both are closed (see the top). */
static void *
pump_main(void *arg)
{
	struct tlsc *c = arg;
	bool from_server = true, to_server = true;
	char *buf = malloc(PUMP_BUF);

	while (buf != NULL && (from_server || to_server)) {
		struct pollfd pfd[3] = {
			{ .fd = from_server ? c->tcp : -1, .events = POLLIN },
			{ .fd = to_server ? c->app : -1, .events = POLLIN },
			{ .fd = c->ctl, .events = POLLIN },
		};
		bool pending = from_server &&
		    gnutls_record_check_pending(c->session) > 0;

		if (!pending && poll(pfd, 3, TLSC_IDLE_MS) <= 0)
			break;
		if (pfd[2].revents & POLLIN)
			pump_control(c);
		if (pending || pfd[0].revents) {
			from_server = pump_from_server(c, buf);
			if (!from_server && to_server &&
			    c->opts.close_notify_ends_all) {
				gnutls_bye(c->session, GNUTLS_SHUT_WR);
				shutdown(c->tcp, SHUT_WR);
				to_server = false;
			}
		}
		if (to_server && pfd[1].revents)
			to_server = pump_to_server(c, buf);
	}
	shutdown(c->app, SHUT_RDWR);
	free(buf);
	return NULL;
}

/* Frees what tlsc_open made, the pump not running. */
static void
tlsc_free(struct tlsc *c)
{
	int fds[] = { c->tcp, c->app, c->ctl, c->fd };

	if (c->session != NULL)
		gnutls_deinit(c->session);
	if (c->cred != NULL)
		gnutls_certificate_free_credentials(c->cred);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(c);
}

struct tlsc *
tlsc_open(uint16_t port, const struct tlsc_opts *opts)
{
	struct tlsc *c = calloc(1, sizeof(*c));
	int sv[2], rc;

	if (c == NULL)
		return NULL;
	c->fd = c->tcp = c->app = c->ctl = -1;
	if (opts != NULL)
		c->opts = *opts;
	if ((c->tcp = tcp_connect(port)) < 0 || session_setup(c) != 0) {
		fprintf(stderr, "tlsc: cannot connect to port %u\n", port);
		goto err;
	}
	do
		rc = gnutls_handshake(c->session);
	while (rc < 0 && !gnutls_error_is_fatal(rc) && rc != GNUTLS_E_AGAIN);
	if (rc < 0) {
		fprintf(stderr, "tlsc: handshake: %s\n", gnutls_strerror(rc));
		goto err;
	}
	note_session(c);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    (c->ctl = eventfd(0, EFD_CLOEXEC)) < 0)
		goto err;
	c->fd = sv[0];
	c->app = sv[1];
	/* A test that stops reading costs the pump at most this long per
	 * send, so no wait is unbounded (the bytes are then dropped). */
	setsockopt(c->app, SOL_SOCKET, SO_SNDTIMEO,
	    &(struct timeval){ TLSC_TIMEOUT_MS / 1000, 0 },
	    sizeof(struct timeval));
	if (pthread_create(&c->pump, NULL, pump_main, c) != 0)
		goto err;
	return c;
err:
	tlsc_free(c);
	return NULL;
}

/* Polls until *counter >= want, every 5 ms for up to TLSC_TIMEOUT_MS. */
static bool
wait_for(atomic_int *counter, int want)
{
	struct timespec step = { 0, 5 * 1000 * 1000 };

	for (int waited = 0; waited <= TLSC_TIMEOUT_MS; waited += 5) {
		if (atomic_load(counter) >= want)
			return true;
		nanosleep(&step, NULL);
	}
	return false;
}

int
tlsc_key_update(struct tlsc *c)
{
	uint64_t one = 1;
	int want = atomic_fetch_add(&c->key_updates_asked, 1) + 1;

	if (write(c->ctl, &one, sizeof(one)) != sizeof(one))
		return -1;
	return wait_for(&c->key_updates_sent, want) ? 0 : -1;
}

void
tlsc_send_alert(struct tlsc *c)
{
	uint64_t one = 1;

	atomic_store(&c->alert_asked, true);
	if (write(c->ctl, &one, sizeof(one)) != sizeof(one))
		return; /* the counter is full: a wake-up is pending anyway */
}

bool
tlsc_wait_key_updates(struct tlsc *c, int n)
{
	return wait_for(&c->key_updates_received, n);
}

void
tlsc_close(struct tlsc *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	pthread_join(c->pump, NULL);
	tlsc_free(c);
}

struct tlsc *
tlsc_ws_open(uint16_t port, const char *path, int *status)
{
	char req[512];
	struct tlsc *c = tlsc_open(port, NULL);
	int st;

	if (status != NULL)
		*status = 0;
	if (c == NULL)
		return NULL;
	snprintf(req, sizeof(req), "GET %s%s", path,
	    ws_upgrade_request + strlen("GET /ws"));
	st = ws_http(c->fd, req, NULL, 0);
	if (status != NULL)
		*status = st;
	if (st != 101) {
		tlsc_close(c);
		return NULL;
	}
	return c;
}

char *
tlsc_get(uint16_t port, const char *path)
{
	struct tlsc *c = tlsc_open(port, NULL);
	size_t len = 0, cap = 16384;
	char req[512], *buf;
	ssize_t n;

	if (c == NULL)
		return NULL;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	    path);
	buf = malloc(cap);
	if (buf == NULL || ws_write_all(c->fd, req, strlen(req)) != 0) {
		free(buf);
		tlsc_close(c);
		return NULL;
	}
	while ((n = read(c->fd, buf + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			break;
	}
	if (buf != NULL)
		buf[len] = '\0';
	tlsc_close(c);
	return buf;
}
