/* tls — GnuTLS credentials and sessions (see tls.h for the design). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wshub/tls.h"
#include "wshub/xmalloc.h"

/* ---- GnuTLS, opened at run time ------------------------------------------
 *
 * wshub does not link GnuTLS: it opens it with dlopen(3) the first time
 * tls_context_new runs, so a server without --tls-cert never maps it.
 * Linked, libgnutls and libp11-kit would put 529 bytes of thread-local
 * storage into the static TLS block of every thread, TLS or not, and an
 * idle connection's two threads would each touch a second stack page.
 * Opened with dlopen, their thread-local variables are allocated per
 * thread, only in threads that touch them (neither library is marked
 * STATIC_TLS).  The library is never closed: credentials and sessions
 * live until the process ends.
 *
 * Every GnuTLS function this file calls is listed once, in GNUTLS_FUNCS.
 * `gt` holds a pointer to each, typed by GnuTLS's own declaration; the
 * #defines below send each call through it, so a call still reads
 * gnutls_record_send(...).  A function called but not listed is a
 * reference to the real symbol: the link of build/wshub, which has no
 * -lgnutls, fails on it.  `gt` is written once (pthread_once), by the
 * first tls_context_new (main, before any other thread), and only read
 * after that.
 */
#define GNUTLS_SONAME "libgnutls.so.30"

#define GNUTLS_FUNCS(X) \
	X(gnutls_alert_send_appropriate) \
	X(gnutls_alpn_set_protocols) \
	X(gnutls_bye) \
	X(gnutls_certificate_allocate_credentials) \
	X(gnutls_certificate_free_credentials) \
	X(gnutls_certificate_get_crt_raw) \
	X(gnutls_certificate_set_x509_key) \
	X(gnutls_credentials_set) \
	X(gnutls_deinit) \
	X(gnutls_error_is_fatal) \
	X(gnutls_fingerprint) \
	X(gnutls_handshake) \
	X(gnutls_handshake_set_timeout) \
	X(gnutls_init) \
	X(gnutls_priority_deinit) \
	X(gnutls_priority_init) \
	X(gnutls_priority_protocol_list) \
	X(gnutls_priority_set) \
	X(gnutls_protocol_get_name) \
	X(gnutls_protocol_get_version) \
	X(gnutls_record_check_pending) \
	X(gnutls_record_get_direction) \
	X(gnutls_record_recv) \
	X(gnutls_record_send) \
	X(gnutls_strerror) \
	X(gnutls_transport_set_ptr) \
	X(gnutls_transport_set_pull_function) \
	X(gnutls_transport_set_vec_push_function) \
	X(gnutls_x509_crt_deinit) \
	X(gnutls_x509_crt_get_dn3) \
	X(gnutls_x509_crt_get_expiration_time) \
	X(gnutls_x509_crt_import) \
	X(gnutls_x509_crt_init) \
	X(gnutls_x509_crt_list_import2) \
	X(gnutls_x509_privkey_deinit) \
	X(gnutls_x509_privkey_import2) \
	X(gnutls_x509_privkey_init)

static struct {
#define X(f) __typeof__(f) *f;
	GNUTLS_FUNCS(X)
#undef X
	/* gnutls_free is a variable holding GnuTLS's free: dlsym gives its
	 * address. */
	gnutls_free_function *free_fn;
} gt;

/* POSIX lets a dlsym result be stored in a function pointer. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
    "dlsym's void * cannot hold a function pointer here");

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static char library_error[512];         /* "" once loaded; library_once */

/* Stores the address of `name` into the pointer at `slot`: 0, or -1. */
static int
library_sym(void *lib, const char *name, void *slot)
{
	void *p = dlsym(lib, name);

	if (p == NULL)
		return -1;
	memcpy(slot, &p, sizeof(p));
	return 0;
}

/* Opens GnuTLS and fills gt; on failure, says why in library_error. */
static void
library_open(void)
{
	void *lib = dlopen(GNUTLS_SONAME, RTLD_NOW | RTLD_LOCAL);
	int missing = lib == NULL;

#define X(f) missing = missing || library_sym(lib, #f, &gt.f) != 0;
	GNUTLS_FUNCS(X)
#undef X
	missing = missing || library_sym(lib, "gnutls_free", &gt.free_fn) != 0;
	if (missing)
		snprintf(library_error, sizeof(library_error),
		    "cannot load GnuTLS (" GNUTLS_SONAME "): %s", dlerror());
}

/* Opens GnuTLS once per process: 0, or -1 with the reason in err. */
static int
library_load(char *err, size_t errlen)
{
	pthread_once(&library_once, library_open);
	if (library_error[0] == '\0')
		return 0;
	snprintf(err, errlen, "%s", library_error);
	return -1;
}

/* From here on, each GnuTLS call goes through gt. */
#define gnutls_alert_send_appropriate gt.gnutls_alert_send_appropriate
#define gnutls_alpn_set_protocols gt.gnutls_alpn_set_protocols
#define gnutls_bye gt.gnutls_bye
#define gnutls_certificate_allocate_credentials gt.gnutls_certificate_allocate_credentials
#define gnutls_certificate_free_credentials gt.gnutls_certificate_free_credentials
#define gnutls_certificate_get_crt_raw gt.gnutls_certificate_get_crt_raw
#define gnutls_certificate_set_x509_key gt.gnutls_certificate_set_x509_key
#define gnutls_credentials_set gt.gnutls_credentials_set
#define gnutls_deinit gt.gnutls_deinit
#define gnutls_error_is_fatal gt.gnutls_error_is_fatal
#define gnutls_fingerprint gt.gnutls_fingerprint
#define gnutls_handshake gt.gnutls_handshake
#define gnutls_handshake_set_timeout gt.gnutls_handshake_set_timeout
#define gnutls_init gt.gnutls_init
#define gnutls_priority_deinit gt.gnutls_priority_deinit
#define gnutls_priority_init gt.gnutls_priority_init
#define gnutls_priority_protocol_list gt.gnutls_priority_protocol_list
#define gnutls_priority_set gt.gnutls_priority_set
#define gnutls_protocol_get_name gt.gnutls_protocol_get_name
#define gnutls_protocol_get_version gt.gnutls_protocol_get_version
#define gnutls_record_check_pending gt.gnutls_record_check_pending
#define gnutls_record_get_direction gt.gnutls_record_get_direction
#define gnutls_record_recv gt.gnutls_record_recv
#define gnutls_record_send gt.gnutls_record_send
#define gnutls_strerror gt.gnutls_strerror
#define gnutls_transport_set_ptr gt.gnutls_transport_set_ptr
#define gnutls_transport_set_pull_function gt.gnutls_transport_set_pull_function
#define gnutls_transport_set_vec_push_function gt.gnutls_transport_set_vec_push_function
#define gnutls_x509_crt_deinit gt.gnutls_x509_crt_deinit
#define gnutls_x509_crt_get_dn3 gt.gnutls_x509_crt_get_dn3
#define gnutls_x509_crt_get_expiration_time gt.gnutls_x509_crt_get_expiration_time
#define gnutls_x509_crt_import gt.gnutls_x509_crt_import
#define gnutls_x509_crt_init gt.gnutls_x509_crt_init
#define gnutls_x509_crt_list_import2 gt.gnutls_x509_crt_list_import2
#define gnutls_x509_privkey_deinit gt.gnutls_x509_privkey_deinit
#define gnutls_x509_privkey_import2 gt.gnutls_x509_privkey_import2
#define gnutls_x509_privkey_init gt.gnutls_x509_privkey_init
#undef gnutls_free
#define gnutls_free(a) ((*gt.free_fn)((void *)(a)), (a) = NULL)

/* Each listed function has its #define (else the call would reach for the
 * symbol itself): the name must expand to something longer than itself. */
#define STR_(x) #x
#define STR(x) STR_(x)
#define X(f) _Static_assert(sizeof(STR(f)) > sizeof(#f), #f " has no #define");
GNUTLS_FUNCS(X)
#undef X

/* A certificate chain and its key, shared by every session made while it
 * was current (GnuTLS credentials are read-only once set up, so sessions
 * on any thread may use them at once). */
struct tls_creds {
	atomic_int refs;
	gnutls_certificate_credentials_t cred;
};

struct tls_context {
	char *cert_path, *key_path;
	gnutls_priority_t priority;     /* read-only after tls_context_new */
	pthread_mutex_t mu;             /* guards creds */
	struct tls_creds *creds;        /* what new sessions get */
};

struct tls_session {
	gnutls_session_t gs;
	struct tls_creds *creds;        /* held until tls_session_free */
	int fd;
	/* Taken around every GnuTLS call once two threads share the session:
	 * a key update rewrites both directions' state (tls.h). */
	pthread_mutex_t mu;
	/* The threads allowed to push and to pull (tls_session_claim). */
	pthread_t sender, receiver;
	/* Written by the receiving side, under mu; read once it is done. */
	enum tls_outcome outcome;
	const char *why;                /* the last error, static text */
	bool wrong_thread;              /* a push or pull was refused; mu */
};

/* "http/1.1" is the only protocol spoken: WebSocket over HTTP/1.1
 * (RFC 6455); an h2-only client fails at the HTTP request, not here. */
static const gnutls_datum_t alpn_http11 = {
	.data = (unsigned char *)"http/1.1", .size = 8,
};

/* ---- credentials --------------------------------------------------------- */

static struct tls_creds *
creds_ref(struct tls_creds *cr)
{
	atomic_fetch_add_explicit(&cr->refs, 1, memory_order_relaxed);
	return cr;
}

static void
creds_unref(struct tls_creds *cr)
{
	if (cr == NULL ||
	    atomic_fetch_sub_explicit(&cr->refs, 1, memory_order_acq_rel) != 1)
		return;
	gnutls_certificate_free_credentials(cr->cred);
	free(cr);
}

/* Why a file cannot be a PEM file of ours ("" if it can be). */
static const char *
file_refused(int fd, struct stat *st)
{
	if (fstat(fd, st) != 0)
		return strerror(errno);
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_size > TLS_FILE_MAX)
		return "larger than 1 MiB: not a PEM file";
	return "";
}

/* Reads a whole PEM file of at most TLS_FILE_MAX bytes into `out`
 * (xmalloc'd); 0, or -1 with the reason in err. */
static int
read_file(const char *path, gnutls_datum_t *out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const char *why = fd < 0 ? strerror(errno) : "";
	struct stat st;
	size_t got = 0;

	if (fd >= 0)
		why = file_refused(fd, &st);
	while (why[0] == '\0' && got < (size_t)st.st_size) {
		ssize_t n;

		if (out->data == NULL)
			out->data = xmalloc((size_t)st.st_size);
		n = read(fd, out->data + got, (size_t)st.st_size - got);
		if (n <= 0)
			why = n == 0 ? "it got shorter" : strerror(errno);
		else
			got += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (why[0] != '\0') {
		snprintf(err, errlen, "cannot read it: %s", why);
		free(out->data);
		out->data = NULL;
		return -1;
	}
	out->size = (unsigned)got;
	return 0;
}

/* Frees a file's bytes, wiping them first (a private key). */
static void
wipe_file(gnutls_datum_t *d)
{
	if (d->data != NULL)
		explicit_bzero(d->data, d->size);
	free(d->data);
	d->data = NULL;
}

/* The chain and the key as one credential (GnuTLS checks that the key is
 * the certificate's): TLS_OK with *out, else TLS_ERR_MISMATCH or
 * TLS_ERR_CERT with the reason. */
static int
creds_pair(gnutls_x509_crt_t *crts, unsigned n_crts,
    gnutls_x509_privkey_t pkey, struct tls_creds **out, char *err,
    size_t errlen)
{
	struct tls_creds *cr = xcalloc(1, sizeof(*cr));
	int rc;

	atomic_init(&cr->refs, 1);
	if (gnutls_certificate_allocate_credentials(&cr->cred) < 0)
		xalloc_failed("GnuTLS credentials");
	if ((rc = gnutls_certificate_set_x509_key(cr->cred, crts, n_crts,
	    pkey)) >= 0) {
		*out = cr;
		return TLS_OK;
	}
	creds_unref(cr);
	if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
		snprintf(err, errlen, "it is not the private key of the "
		    "certificate");
		return TLS_ERR_MISMATCH;
	}
	snprintf(err, errlen, "GnuTLS cannot use the certificate with that "
	    "key (%s)", gnutls_strerror(rc));
	return TLS_ERR_CERT;
}

/*
 * Parses the chain and the key and puts them together: TLS_OK with *out,
 * or TLS_ERR_CERT, TLS_ERR_KEY or TLS_ERR_MISMATCH with the reason.
 */
static int
creds_from(const gnutls_datum_t *cert, const gnutls_datum_t *key,
    struct tls_creds **out, char *err, size_t errlen)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t pkey = NULL;
	unsigned n_crts = 0;
	int rc, ret = TLS_OK;

	rc = gnutls_x509_crt_list_import2(&crts, &n_crts, cert,
	    GNUTLS_X509_FMT_PEM, GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (rc < 0) {
		snprintf(err, errlen, "no PEM certificate chain, the server's "
		    "first, in it (%s)", gnutls_strerror(rc));
		return TLS_ERR_CERT;
	}
	if (gnutls_x509_privkey_init(&pkey) < 0)
		xalloc_failed("a GnuTLS private key");
	if ((rc = gnutls_x509_privkey_import2(pkey, key, GNUTLS_X509_FMT_PEM,
	    NULL, 0)) < 0) {
		snprintf(err, errlen, "no unencrypted PEM private key in it (%s)",
		    gnutls_strerror(rc));
		ret = TLS_ERR_KEY;
		goto out;
	}
	ret = creds_pair(crts, n_crts, pkey, out, err, errlen);
out:
	for (unsigned i = 0; i < n_crts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	gnutls_x509_privkey_deinit(pkey);
	return ret;
}

/* Loads the pair from the files: TLS_OK with *out, or which one failed
 * and why. */
static int
creds_load(const char *cert_path, const char *key_path,
    struct tls_creds **out, char *err, size_t errlen)
{
	gnutls_datum_t cert = { 0 }, key = { 0 };
	int ret;

	if (read_file(cert_path, &cert, err, errlen) != 0)
		return TLS_ERR_CERT;
	if (read_file(key_path, &key, err, errlen) != 0) {
		wipe_file(&cert);
		return TLS_ERR_KEY;
	}
	ret = creds_from(&cert, &key, out, err, errlen);
	wipe_file(&cert);
	wipe_file(&key);
	return ret;
}

/* ---- the context ------------------------------------------------------------ */

/* Parses the priority string and checks its versions: 0, or -1 with the
 * reason (GnuTLS's, pointing at the offending part). */
static int
priority_load(const char *priority, gnutls_priority_t *out, char *err,
    size_t errlen)
{
	const char *err_pos = NULL;
	const unsigned int *list;
	char old[64] = "", drop[96] = "";
	bool modern = false;
	int rc, n;

	if ((rc = gnutls_priority_init(out, priority, &err_pos)) < 0) {
		snprintf(err, errlen, "GnuTLS cannot parse it from '%s' (%s)",
		    err_pos != NULL ? err_pos : priority, gnutls_strerror(rc));
		*out = NULL;
		return -1;
	}
	n = gnutls_priority_protocol_list(*out, &list);
	for (int i = 0; i < n; i++) {
		if (list[i] == GNUTLS_SSL3 || list[i] == GNUTLS_TLS1_0 ||
		    list[i] == GNUTLS_TLS1_1) {
			const char *name = gnutls_protocol_get_name(list[i]);

			strlcat(old, old[0] ? ", " : "", sizeof(old));
			strlcat(old, name, sizeof(old));
			strlcat(drop, ":-VERS-", sizeof(drop));
			strlcat(drop, name, sizeof(drop));
		}
		modern |= list[i] == GNUTLS_TLS1_2 || list[i] == GNUTLS_TLS1_3;
	}
	if (old[0] == '\0' && modern)
		return 0;
	if (old[0] != '\0')
		snprintf(err, errlen, "it enables %s, and wshub serves TLS 1.2 "
		    "and 1.3 only (append %s)", old, drop);
	else
		snprintf(err, errlen, "it enables neither TLS 1.2 nor TLS 1.3");
	gnutls_priority_deinit(*out);
	*out = NULL;
	return -1;
}

int
tls_context_new(tls_context_t **out, const char *cert_path,
    const char *key_path, const char *priority, char *err, size_t errlen)
{
	tls_context_t *ctx;
	int ret;

	if (library_load(err, errlen) != 0)
		return TLS_ERR_LIBRARY;
	ctx = xcalloc(1, sizeof(*ctx));
	pthread_mutex_init(&ctx->mu, NULL);
	ctx->cert_path = strdup(cert_path);
	ctx->key_path = strdup(key_path);
	if (ctx->cert_path == NULL || ctx->key_path == NULL)
		xalloc_failed("a path");
	if (priority_load(priority != NULL ? priority : TLS_DEFAULT_PRIORITY,
	    &ctx->priority, err, errlen) != 0) {
		ret = TLS_ERR_PRIORITY;
		goto err;
	}
	if ((ret = creds_load(cert_path, key_path, &ctx->creds, err,
	    errlen)) != TLS_OK)
		goto err;
	*out = ctx;
	return TLS_OK;
err:
	tls_context_free(ctx);
	return ret;
}

int
tls_context_reload(tls_context_t *ctx, char *err, size_t errlen)
{
	struct tls_creds *fresh, *old;
	char why[256];
	int rc;

	if ((rc = creds_load(ctx->cert_path, ctx->key_path, &fresh, why,
	    sizeof(why))) != TLS_OK) {
		snprintf(err, errlen, "%s '%s': %s", rc == TLS_ERR_CERT ?
		    "certificate" : "key", rc == TLS_ERR_CERT ? ctx->cert_path :
		    ctx->key_path, why);
		return -1;
	}
	pthread_mutex_lock(&ctx->mu);
	old = ctx->creds;
	ctx->creds = fresh;
	pthread_mutex_unlock(&ctx->mu);
	creds_unref(old); /* freed when its last session ends */
	return 0;
}

/* "AB:CD:..." of the SHA-256 of `der`. */
static void
fingerprint(const gnutls_datum_t *der, char *out, size_t size)
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

void
tls_context_describe(tls_context_t *ctx, char *buf, size_t size)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t der, dn = { 0 };
	struct tls_creds *cr;
	char fp[3 * 32], when[32] = "?";
	time_t expires = 0;
	struct tm tm;

	pthread_mutex_lock(&ctx->mu);
	cr = creds_ref(ctx->creds);
	pthread_mutex_unlock(&ctx->mu);
	if (gnutls_certificate_get_crt_raw(cr->cred, 0, 0, &der) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) < 0) {
		snprintf(buf, size, "a certificate GnuTLS cannot describe");
		goto out;
	}
	gnutls_x509_crt_get_dn3(crt, &dn, 0);
	fingerprint(&der, fp, sizeof(fp));
	expires = gnutls_x509_crt_get_expiration_time(crt);
	if (gmtime_r(&expires, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	snprintf(buf, size, "%s, SHA-256 %s, expires %s%s",
	    dn.data != NULL ? (const char *)dn.data : "?", fp, when,
	    expires < time(NULL) ? " (EXPIRED)" : "");
	gnutls_free(dn.data);
out:
	gnutls_x509_crt_deinit(crt);
	creds_unref(cr);
}

void
tls_context_free(tls_context_t *ctx)
{
	if (ctx == NULL)
		return;
	creds_unref(ctx->creds);
	if (ctx->priority != NULL)
		gnutls_priority_deinit(ctx->priority);
	pthread_mutex_destroy(&ctx->mu);
	free(ctx->cert_path);
	free(ctx->key_path);
	free(ctx);
}

/* ---- the transport: the socket, one thread per direction ------------------ */

/* GnuTLS's writes: one sendmsg(2), which cannot raise SIGPIPE; refused
 * from any thread but the sender (the one-sender rule, tls.h). */
static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int cnt)
{
	tls_session_t *s = ptr;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov,
	    .msg_iovlen = (size_t)cnt };

	if (!pthread_equal(pthread_self(), s->sender)) {
		s->wrong_thread = true;
		errno = EPERM;
		return -1;
	}
	return sendmsg(s->fd, &mh, MSG_NOSIGNAL);
}

/* GnuTLS's reads: refused from any thread but the receiver. */
static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	tls_session_t *s = ptr;

	if (!pthread_equal(pthread_self(), s->receiver)) {
		s->wrong_thread = true;
		errno = EPERM;
		return -1;
	}
	return recv(s->fd, buf, len, 0);
}

/* ---- sessions ------------------------------------------------------------- */

tls_session_t *
tls_session_new(tls_context_t *ctx, int fd)
{
	tls_session_t *s = xcalloc(1, sizeof(*s));

	s->fd = fd;
	s->sender = s->receiver = pthread_self();
	s->outcome = TLS_OPEN;
	s->why = "";
	pthread_mutex_init(&s->mu, NULL);
	/* No tickets: nothing is sent after the handshake but what the
	 * writer sends (and resumption is not offered). */
	if (gnutls_init(&s->gs, GNUTLS_SERVER | GNUTLS_NO_SIGNAL |
	    GNUTLS_NO_TICKETS) < 0)
		xalloc_failed("a GnuTLS session");
	pthread_mutex_lock(&ctx->mu);
	s->creds = creds_ref(ctx->creds);
	pthread_mutex_unlock(&ctx->mu);
	if (gnutls_priority_set(s->gs, ctx->priority) < 0 ||
	    gnutls_credentials_set(s->gs, GNUTLS_CRD_CERTIFICATE,
	    s->creds->cred) < 0 ||
	    gnutls_alpn_set_protocols(s->gs, &alpn_http11, 1, 0) < 0)
		xalloc_failed("a GnuTLS session's settings");
	/* --handshake-timeout bounds the handshake (the front door's sweep),
	 * not a clock of GnuTLS's own. */
	gnutls_handshake_set_timeout(s->gs, GNUTLS_INDEFINITE_TIMEOUT);
	gnutls_transport_set_ptr(s->gs, s);
	gnutls_transport_set_vec_push_function(s->gs, tls_push);
	gnutls_transport_set_pull_function(s->gs, tls_pull);
	return s;
}

void
tls_session_claim(tls_session_t *s, enum tls_side side)
{
	pthread_mutex_lock(&s->mu); /* push and pull read them under it */
	if (side == TLS_SENDER)
		s->sender = pthread_self();
	else
		s->receiver = pthread_self();
	pthread_mutex_unlock(&s->mu);
}

/* Records why the session failed. */
static void
session_broken(tls_session_t *s, int rc)
{
	s->outcome = TLS_BROKEN;
	s->why = s->wrong_thread ? "refused: a send or receive from the wrong "
	    "thread" : gnutls_strerror(rc);
}

enum tls_step
tls_session_handshake(tls_session_t *s)
{
	int rc = gnutls_handshake(s->gs);

	if (rc == GNUTLS_E_SUCCESS)
		return TLS_DONE;
	if (!gnutls_error_is_fatal(rc)) /* AGAIN, INTERRUPTED, a warning */
		return gnutls_record_get_direction(s->gs) ? TLS_WANT_WRITE :
		    TLS_WANT_READ;
	session_broken(s, rc);
	gnutls_alert_send_appropriate(s->gs, rc); /* best effort: no wait */
	return TLS_FAILED;
}

ssize_t
tls_session_recv(tls_session_t *s, void *buf, size_t len)
{
	ssize_t n;

	pthread_mutex_lock(&s->mu);
	n = gnutls_record_recv(s->gs, buf, len);
	switch (n) {
	case GNUTLS_E_AGAIN:
	case GNUTLS_E_WARNING_ALERT_RECEIVED: /* user_canceled: read on */
		errno = EAGAIN;
		n = -1;
		break;
	case GNUTLS_E_INTERRUPTED:
		errno = EINTR;
		n = -1;
		break;
	case GNUTLS_E_PREMATURE_TERMINATION: /* EOF without close_notify */
		s->outcome = TLS_TRUNCATED;
		n = 0;
		break;
	case GNUTLS_E_PULL_ERROR: /* the socket's own error (a reset) */
		if (s->wrong_thread)
			session_broken(s, (int)n);
		errno = s->wrong_thread ? EPROTO : ECONNRESET;
		n = -1;
		break;
	default:
		if (n < 0) {
			session_broken(s, (int)n);
			errno = EPROTO;
			n = -1;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

size_t
tls_session_pending(tls_session_t *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = gnutls_record_check_pending(s->gs);
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* errno for a failed GnuTLS send. */
static int
send_errno(int rc)
{
	return rc == GNUTLS_E_AGAIN ? EAGAIN : rc == GNUTLS_E_INTERRUPTED ?
	    EINTR : EPIPE;
}

ssize_t
tls_session_send(tls_session_t *s, const void *buf, size_t len)
{
	ssize_t n;

	pthread_mutex_lock(&s->mu);
	n = gnutls_record_send(s->gs, buf,
	    len > TLS_RECORD_MAX ? TLS_RECORD_MAX : len);
	pthread_mutex_unlock(&s->mu);
	if (n < 0) {
		errno = send_errno((int)n);
		return -1;
	}
	return n;
}

int
tls_session_bye(tls_session_t *s)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = gnutls_bye(s->gs, GNUTLS_SHUT_WR);
	pthread_mutex_unlock(&s->mu);
	if (rc < 0) {
		errno = send_errno(rc);
		return -1;
	}
	return 0;
}

enum tls_outcome
tls_session_outcome(const tls_session_t *s)
{
	return s->outcome;
}

const char *
tls_session_error(const tls_session_t *s)
{
	return s->why;
}

const char *
tls_session_version(const tls_session_t *s)
{
	const char *name = gnutls_protocol_get_name(
	    gnutls_protocol_get_version(s->gs));

	return name != NULL ? name : "?";
}

void
tls_session_free(tls_session_t *s)
{
	if (s == NULL)
		return;
	gnutls_deinit(s->gs);
	creds_unref(s->creds);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
