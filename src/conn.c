/*
 * conn — one connection: its life, its references, and what the hub may
 * do to it (see conn.h for the design).  Its two threads are in reader.c
 * (Go's readPump) and writer.c (Go's writePump); the state the three files
 * share is in conn_private.h.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_private.h"
#include "wshub/deadline.h"
#include "wshub/log.h"
#include "wshub/reader.h"
#include "wshub/response.h"
#include "wshub/threads.h"
#include "wshub/writer.h"
#include "wshub/xmalloc.h"

static atomic_uint_least64_t next_conn_id = 1;

/* The hub holds a connection by its reference count. */
static void
conn_client_hold(struct hub_client *cl)
{
	conn_ref((conn_t *)((char *)cl - offsetof(conn_t, client)));
}

static void
conn_client_release(struct hub_client *cl)
{
	conn_unref((conn_t *)((char *)cl - offsetof(conn_t, client)));
}

static const struct hub_client_ops conn_client_ops = {
	.hold = conn_client_hold,
	.release = conn_client_release,
};

/* ---- the read thread's edges in the server: the socket and the hub ---- */

/* read(2), or the TLS session's decrypted bytes (the same contract). */
static ssize_t
socket_read(conn_t *c, void *buf, size_t len)
{
	if (c->tls != NULL)
		return tls_session_recv(c->tls, buf, len);
	return read(c->fd, buf, len);
}

/* With TLS, bytes GnuTLS already decrypted count as input: the socket
 * may have nothing more to say about them. */
static int
socket_wait_readable(conn_t *c, const struct timespec *deadline)
{
	if (c->tls != NULL && tls_session_pending(c->tls) > 0)
		return 1;
	return conn_wait_fd(c->fd, POLLIN, deadline);
}

/* sendmsg(2), which unlike writev(2) cannot raise SIGPIPE: a peer that
 * vanished is an EPIPE here, whatever the process does with signals. */
static ssize_t
socket_send_plain(conn_t *c, const struct iovec *iov, int cnt)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov,
	    .msg_iovlen = (size_t)cnt };

	return sendmsg(c->fd, &mh, MSG_NOSIGNAL);
}

/*
 * The same over TLS.  Each record costs a header, a tag and a system
 * call, so runs of small frames are copied into one record (at most
 * TLS_RECORD_MAX bytes, allocated per call so an idle connection holds
 * none); a frame that does not fit goes out on its own, from where it is.
 * The runs depend only on iov[], so a call after EAGAIN offers GnuTLS the
 * same record again, as it requires.  Each recipient's writer encrypts its
 * own copy of a broadcast: the cost of TLS per delivery, paid here.
 */
static ssize_t
socket_send_tls(conn_t *c, const struct iovec *iov, int cnt)
{
	uint8_t *run = NULL;
	size_t done = 0;
	ssize_t n = 0;
	int i = 0, err;

	while (i < cnt) {
		const uint8_t *buf = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		int next = i + 1;

		if (next < cnt && len + iov[next].iov_len <= TLS_RECORD_MAX) {
			if (run == NULL)
				run = xmalloc(TLS_RECORD_MAX);
			for (len = 0, next = i; next < cnt &&
			    len + iov[next].iov_len <= TLS_RECORD_MAX; next++) {
				memcpy(run + len, iov[next].iov_base,
				    iov[next].iov_len);
				len += iov[next].iov_len;
			}
			buf = run;
		}
		if ((n = tls_session_send(c->tls, buf, len)) < 0)
			break;
		done += (size_t)n;
		if ((size_t)n < len)
			break; /* the caller comes back for the rest */
		i = next;
	}
	err = errno;
	free(run);
	errno = err;
	return done > 0 || n >= 0 ? (ssize_t)done : -1;
}

static ssize_t
socket_send(conn_t *c, const struct iovec *iov, int cnt)
{
	if (c->tls != NULL)
		return socket_send_tls(c, iov, cnt);
	return socket_send_plain(c, iov, cnt);
}

static int
socket_wait_writable(conn_t *c, const struct timespec *deadline)
{
	return conn_wait_fd(c->fd, POLLOUT, deadline);
}

/* With TLS, our close_notify goes before the FIN (GnuTLS: the sender ends
 * with gnutls_bye(GNUTLS_SHUT_WR) while the receiver reads on until the
 * peer's); best effort, until the deadline. */
static void
socket_shutdown(conn_t *c, int how, const struct timespec *deadline)
{
	if (how == SHUT_WR && c->tls != NULL)
		while (tls_session_bye(c->tls) != 0 && (errno == EINTR ||
		    (errno == EAGAIN &&
		    conn_wait_fd(c->fd, POLLOUT, deadline) > 0)))
			;
	shutdown(c->fd, how);
}

static int
conn_to_hub(conn_t *c, msg_t *m)
{
	return hub_broadcast(c->env.hub, &c->client, m);
}

static void
conn_leave_hub(conn_t *c)
{
	hub_unregister(c->env.hub, &c->client);
}

static const struct conn_io socket_io = {
	.read = socket_read,
	.wait_readable = socket_wait_readable,
	.send = socket_send,
	.wait_writable = socket_wait_writable,
	.shutdown = socket_shutdown,
	.broadcast = conn_to_hub,
	.unregister = conn_leave_hub,
};

const struct farewell_frame farewells[] = {
	[BYE_NORMAL] = { CLOSE_NORMAL, "" },
	[BYE_GOING_AWAY] = { CLOSE_GOING_AWAY, "server shutting down" },
	/* 1001: the server gives up on a peer it considers gone.  Not 1000
	 * (nothing was completed) and not 1011 (no server error). */
	[BYE_PONG_TIMEOUT] = { CLOSE_GOING_AWAY, "pong timeout" },
	[BYE_STALLED] = { CLOSE_POLICY_VIOLATION, "stopped reading" },
	[BYE_QUEUE_FULL] = { CLOSE_POLICY_VIOLATION, "send queue full" },
	[BYE_FLOOD] = { CLOSE_POLICY_VIOLATION, "control frame flood" },
	[BYE_INTERNAL] = { CLOSE_INTERNAL_ERROR, "internal error" },
	[BYE_NO_ROOM] = { CLOSE_TRY_AGAIN, "too many rooms, try again later" },
};

conn_t *
conn_new(int fd, const char *peer, const void *early, size_t early_len,
    msg_t *greeting, const struct conn_env *env)
{
	conn_t *c = xcalloc(1, sizeof(*c));
	int rc;

	atomic_init(&c->refs, 1);
	c->fd = fd;
	c->id = atomic_fetch_add(&next_conn_id, 1);
	strlcpy(c->peer, peer, sizeof(c->peer));
	c->env = *env;
	if (c->env.io == NULL)
		c->env.io = &socket_io;
	c->send = chan_new(SEND_QUEUE_LIMIT(env->cfg->send_queue),
	    CONTROL_QUEUE_LEN);
	chan_set_name(c->send, "its send channel");
	chan_set_byte_cap(c->send, env->cfg->send_queue_bytes, msg_weigh);
	/* First in the priority lane of an open, empty channel: it goes out
	 * before anything else, even if the hub closes the channel at once. */
	rc = chan_send_priority(c->send, greeting);
	assert(rc == CHAN_OK);
	(void)rc;
	hub_client_init(&c->client, c->send, &conn_client_ops, c->id, c->peer,
	    env->cfg->send_queue, SLOW_STALL_MS(env->cfg->write_timeout_ms));
	c->live.conn = c;
	atomic_init(&c->farewell, BYE_NORMAL);
	atomic_init(&c->final_close, NULL);
	pthread_mutex_init(&c->mu, NULL);
	deadline_cond_init(&c->reader_done_cond); /* timed waits: monotonic */
	if (early_len > 0) {
		c->early = xmalloc(early_len);
		memcpy(c->early, early, early_len);
		c->early_len = early_len;
	}
	c->cause = "connection closed";
	return c;
}

conn_t *
conn_ref(conn_t *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void
conn_unref(conn_t *c)
{
	void *m;

	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	while (chan_try_recv(c->send, &m) == CHAN_OK)
		msg_unref(m); /* queued after the writer stopped */
	msg_unref(atomic_load(&c->final_close)); /* if the writer never took it */
	chan_free(c->send);
	tls_session_free(c->tls); /* both threads are done with it */
	close(c->fd); /* the one close(2) of this socket */
	pthread_cond_destroy(&c->reader_done_cond);
	pthread_mutex_destroy(&c->mu);
	free(c->early);
	free(c);
}

void
conn_adopt_tls(conn_t *c, tls_session_t *tls)
{
	c->tls = tls;
}

uint64_t
conn_id(const conn_t *c)
{
	return c->id;
}

const char *
conn_peer(const conn_t *c)
{
	return c->peer;
}

struct hub_client *
conn_client(conn_t *c)
{
	return &c->client;
}

struct conn_live_link *
conn_live_link(conn_t *c)
{
	return &c->live;
}

enum farewell
conn_farewell(conn_t *c)
{
	int own = atomic_load(&c->farewell);

	switch (atomic_load(&c->client.verdict)) {
	case HUB_VERDICT_STALLED:
		return BYE_STALLED;
	case HUB_VERDICT_QUEUE_FULL:
		return BYE_QUEUE_FULL;
	case HUB_VERDICT_SHUTDOWN:
		return own != BYE_NORMAL ? own : BYE_GOING_AWAY;
	case HUB_VERDICT_NO_ROOM:
		return own != BYE_NORMAL ? own : BYE_NO_ROOM;
	default:
		return own;
	}
}

void
conn_set_final_close(conn_t *c, msg_t *m)
{
	msg_t *none = NULL;

	if (!atomic_compare_exchange_strong(&c->final_close, &none, m))
		msg_unref(m);
}

void
conn_shutdown(conn_t *c)
{
	c->env.io->shutdown(c, SHUT_RDWR, NULL);
}

void *
conn_io_arg(const conn_t *c)
{
	return c->env.io_arg;
}

void
conn_unregister_once(conn_t *c)
{
	/* Go: defer hub.unregister <- c, in both pumps; here only once. */
	if (!atomic_exchange(&c->cleanup_started, true))
		c->env.io->unregister(c);
}

int
conn_wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	threads_block(events & POLLIN ? TS_POLL_READ : TS_POLL_WRITE, NULL);
	do {
		int64_t ms = deadline_remaining_ms(deadline);

		n = poll(&p, 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
	} while (n < 0 && errno == EINTR);
	threads_run();
	return n;
}

/* ---- starting and reaping ----------------------------------------------- */

/*
 * Hands a connection whose threads could not all start to the reaper.  The
 * write thread never ran, so its 101 never went out (it is freed with the
 * connection) and nobody else writes to the socket: the front door answers
 * 503 itself, with one send that a fresh socket's buffer takes whole, then
 * shuts the socket down (FIN after the 503; the read thread, if it runs,
 * wakes up and ends).
 */
static int
conn_start_failed(conn_t *c, int err)
{
	char refusal[512];
	size_t len = response_format_error(refusal, sizeof(refusal), 503,
	    "cannot start a thread for this connection, try again later");
	bool answered = send(c->fd, refusal, len, MSG_NOSIGNAL) == (ssize_t)len;

	log_error("cannot start a thread for %s: %s; %s", c->peer,
	    strerror(err), answered ? "answered 503" : "closed");
	atomic_store(&c->farewell, BYE_INTERNAL);
	conn_shutdown(c);
	if (c->reader_started)
		pthread_join(c->reader, NULL); /* it ends: the socket is shut */
	else {
		c->cause = "no thread";
		conn_unregister_once(c);
	}
	chan_send(c->env.reaper, c);
	return err;
}

int
conn_start(conn_t *c)
{
	pthread_attr_t attr;
	int err;

	pthread_attr_init(&attr);
	/* --thread-stack is 16 KiB at least (main.c), PTHREAD_STACK_MIN on
	 * Linux: EINVAL here would be a bug, and a thread that cannot get
	 * the size asked for is refused like one that cannot start. */
	if ((err = pthread_attr_setstacksize(&attr,
	    c->env.cfg->thread_stack_kib * 1024)) != 0) {
		pthread_attr_destroy(&attr);
		return conn_start_failed(c, err);
	}
	c->reader_started = true;
	if ((err = pthread_create(&c->reader, &attr, reader_main, c)) != 0) {
		c->reader_started = false;
		pthread_attr_destroy(&attr);
		return conn_start_failed(c, err);
	}
	c->writer_started = true;
	if ((err = pthread_create(&c->writer, &attr, writer_main, c)) != 0) {
		c->writer_started = false;
		pthread_attr_destroy(&attr);
		return conn_start_failed(c, err);
	}
	pthread_attr_destroy(&attr);
	return 0;
}

/* With TLS: counts how the peer's side ended (a TLS error, or no
 * close_notify); returns GnuTLS's words for an error, or NULL. */
static const char *
conn_count_tls(conn_t *c)
{
	if (c->tls == NULL)
		return NULL;
	switch (tls_session_outcome(c->tls)) {
	case TLS_BROKEN:
		stats_add(&c->env.stats->tls_errors, 1);
		return tls_session_error(c->tls);
	case TLS_TRUNCATED:
		stats_add(&c->env.stats->tls_truncations, 1);
		return NULL;
	default:
		return NULL;
	}
}

void
conn_reap(conn_t *c)
{
	uint16_t sent = c->writer_code_sent; /* 0: no close frame went out */
	const char *tls_why;

	if (c->writer_started) {
		threads_block(TS_JOIN, NULL);
		pthread_join(c->writer, NULL);
		threads_run();
	}
	stats_count_close(c->env.stats,
	    c->code_received ? c->code_received : CLOSE_ABNORMAL);
	tls_why = conn_count_tls(c);
	if (c->code_received)
		log_info("disconnect id=%llu peer=%s code=%u reason=\"%s\" "
		    "sent=%u", (unsigned long long)c->id, c->peer,
		    c->code_received, c->reason, sent);
	else
		log_info("disconnect id=%llu peer=%s code=%u (%s%s%s) sent=%u",
		    (unsigned long long)c->id, c->peer, CLOSE_ABNORMAL, c->cause,
		    tls_why ? ": " : "", tls_why ? tls_why : "", sent);
	conn_unref(c);
}
