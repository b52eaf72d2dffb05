/*
 * client — one WebSocket client connection, driven by its loop thread
 * (see client.h for the states, the reading scheme and TLS).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "client.h"
#include "tls.h"
#include "upgrade.h"
#include "wshub/xmalloc.h"

#define HANDSHAKE_BUF 2048     /* request, then the response (with a
                                  refusal's body) */
#define READS_PER_EVENT 4      /* full-buffer reads before yielding */

/* The opening handshake's state, freed once the client is OPEN. */
struct handshake {
	char accept[UPGRADE_ACCEPT_LEN + 1];
	size_t req_len;
	size_t done;                   /* request bytes sent, then read */
	char buf[HANDSHAKE_BUF];
};

/* io_read and io_send: would block, or failed (the cause in *err). */
#define IO_AGAIN (-1)
#define IO_FAIL (-2)

static void finish(struct client *);
static void write_request(struct client *);

/* Zeroes a client and ties it to its loop. */
void
client_init(struct client *c, struct client_env *env, uint32_t id)
{
	memset(c, 0, sizeof(*c));
	c->env = env;
	c->id = id;
	c->fd = -1;
	c->state = CL_IDLE;
}

/* Sets the epoll interest: always input, output when `out`. */
static int
watch(struct client *c, int op, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
	    .data.ptr = c };

	c->want_out = out;
	return epoll_ctl(c->env->epfd, op, c->fd, &ev);
}

/* Between connect(2) and the 101: counted in env->pending. */
static bool
opening(const struct client *c)
{
	return c->state == CL_CONNECTING || c->state == CL_SECURING ||
	    c->state == CL_UPGRADING;
}

/*
 * Counts the error `err` as `kind` if it is an errno (or 0); a GnuTLS code
 * (< 0) is LERR_TLS, with the reasons a certificate was refused for.
 */
static void
count_err(struct client *c, enum load_err kind, int err)
{
	struct conn_stats *cs = c->env->cs;

	if (err >= 0) {
		stats_err_add(cs, kind, err);
		return;
	}
	stats_err_add(cs, LERR_TLS, err);
	cs->tls_status = c->tls != NULL ? tls_conn_verify_status(c->tls) : 0;
}

/* A handshake failed: count it and drop the connection. */
static void
fail(struct client *c, enum load_err kind, int err)
{
	c->env->cs->failed++;
	count_err(c, kind, err);
	finish(c);
}

/*
 * A GnuTLS failure as io_* report it: the errno when the socket failed
 * under GnuTLS (a reset), else GnuTLS's code.
 */
static int
tls_err(const struct client *c, int code)
{
	if ((code == GNUTLS_E_PUSH_ERROR || code == GNUTLS_E_PULL_ERROR) &&
	    tls_conn_errno(c->tls) != 0)
		return tls_conn_errno(c->tls);
	return code;
}

/*
 * The transport, plain or TLS, read like read(2) on a non-blocking
 * socket: bytes (> 0), 0 at the end of the stream, IO_AGAIN, or IO_FAIL
 * with an errno or a GnuTLS code (< 0) in *err.
 */
static ssize_t
io_read(struct client *c, void *buf, size_t cap, int *err)
{
	ssize_t n;

	if (c->tls == NULL) {
		if ((n = read(c->fd, buf, cap)) >= 0)
			return n;
		if (errno == EAGAIN || errno == EINTR)
			return IO_AGAIN;
		*err = errno;
		return IO_FAIL;
	}
	if ((n = tls_conn_recv(c->tls, buf, cap)) >= 0)
		return n;
	if (n == TLS_AGAIN)
		return IO_AGAIN;
	*err = tls_err(c, (int)n);
	return IO_FAIL;
}

/* TLS: bytes that GnuTLS decrypted and nobody read, which wake no epoll. */
static bool
io_pending(const struct client *c)
{
	return c->tls != NULL && tls_conn_pending(c->tls);
}

/*
 * Sends the held header bytes (on_send), then `data`: over plain TCP with
 * one sendmsg(2), over TLS as one record, the header copied in front of
 * the payload (one record, one encryption).  Returns the bytes of both
 * that went out, IO_AGAIN or IO_FAIL (*err as for io_read).  After
 * IO_AGAIN over TLS the caller must offer the same bytes again (tls.h);
 * wslay does, and so does write_request.
 */
static ssize_t
io_send(struct client *c, const uint8_t *data, size_t len, int *err)
{
	struct iovec iov[2] = { { c->held, c->held_len },
	    { (void *)(uintptr_t)data, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	uint8_t *rec = c->env->record;
	ssize_t n;

	if (c->tls == NULL) {
		if ((n = sendmsg(c->fd, &mh, MSG_NOSIGNAL)) >= 0)
			return n;
		if (errno == EAGAIN || errno == EINTR)
			return IO_AGAIN;
		*err = errno;
		return IO_FAIL;
	}
	if (c->held_len > 0) {
		size_t room = CLIENT_RECORD_MAX - c->held_len;

		len = len < room ? len : room;
		memcpy(rec, c->held, c->held_len);
		memcpy(rec + c->held_len, data, len);
		data = rec;
		len += c->held_len;
	}
	if ((n = tls_conn_send(c->tls, data, len)) >= 0)
		return n;
	if (n == TLS_AGAIN)
		return IO_AGAIN;
	*err = tls_err(c, (int)n);
	return IO_FAIL;
}

/*
 * `n` bytes went out through io_send: the held ones first.  Returns how
 * many of them were the caller's data.
 */
static size_t
sent_past_held(struct client *c, size_t n)
{
	if (n < c->held_len) {
		memmove(c->held, c->held + n, c->held_len - n);
		c->held_len -= (uint8_t)n;
		return 0;
	}
	n -= c->held_len;
	c->held_len = 0;
	return n;
}

/*
 * The request target: /ws/ROOM when the flags name the rooms, else the
 * URL's path.  `buf` holds the former.
 */
static const char *
request_path(const struct client *c, char buf[PLAN_PATH_MAX])
{
	const struct load_config *cfg = c->env->cfg;

	if (!plan_names_rooms(&cfg->plan))
		return cfg->urls[plan_url(&cfg->plan, c->id)].path;
	plan_room_path(&cfg->plan, plan_room(&cfg->plan, c->id), buf);
	return buf;
}

/* IDLE -> CONNECTING: a non-blocking connect(2) to the client's URL. */
void
client_connect(struct client *c)
{
	const struct load_config *cfg = c->env->cfg;
	const struct load_target *t = &cfg->urls[plan_url(&cfg->plan, c->id)];
	char path[PLAN_PATH_MAX];
	int one = 1, rc;

	c->env->cs->attempted++;
	c->started_ns = mono_ns();
	c->state = CL_CONNECTING;
	c->env->pending++;
	c->fd = socket(t->addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fail(c, LERR_CONNECT, errno);
		return;
	}
	c->env->live++;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->hs = xmalloc(sizeof(*c->hs));
	c->hs->done = 0;
	c->hs->req_len = (size_t)upgrade_request(c->hs->buf, t->host,
	    request_path(c, path), c->hs->accept);
	if ((rc = source_bind(c->fd, &cfg->source, c->id)) < 0) {
		fail(c, LERR_CONNECT, -rc);
		return;
	}
	if (watch(c, EPOLL_CTL_ADD, true) < 0 ||
	    (connect(c->fd, (const struct sockaddr *)&t->addr,
	    t->addrlen) < 0 && errno != EINPROGRESS))
		fail(c, LERR_CONNECT, errno);
}

/*
 * SECURING: one more step of the TLS handshake, waiting for what GnuTLS
 * waits for (gnutls_record_get_direction); once done, the request.
 */
static void
secure(struct client *c)
{
	int rc = tls_conn_handshake(c->tls);
	bool out;

	if (rc == TLS_AGAIN) {
		out = tls_conn_wants_write(c->tls);
		if (out != c->want_out && watch(c, EPOLL_CTL_MOD, out) < 0)
			fail(c, LERR_CONNECT, errno);
		return;
	}
	if (rc < 0) {
		fail(c, LERR_HANDSHAKE, tls_err(c, rc));
		return;
	}
	c->state = CL_UPGRADING;
	write_request(c);
}

/*
 * CONNECTING and writable: the connect finished.  Over wss:// the TLS
 * handshake comes next, over ws:// the request.
 */
static void
connected(struct client *c)
{
	const struct load_config *cfg = c->env->cfg;
	const struct load_target *t = &cfg->urls[plan_url(&cfg->plan, c->id)];
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err != 0) {
		fail(c, LERR_CONNECT, err);
		return;
	}
	if (!t->tls) {
		c->state = CL_UPGRADING;
		write_request(c);
		return;
	}
	if ((c->tls = tls_conn_new(cfg->tls, c->fd, t->name, &err)) == NULL) {
		fail(c, LERR_TLS, err);
		return;
	}
	c->state = CL_SECURING;
	secure(c);
}

/* UPGRADING: sends (the rest of) the request, then waits for the 101. */
static void
write_request(struct client *c)
{
	struct handshake *hs = c->hs;
	int err = 0;
	ssize_t n = io_send(c, (const uint8_t *)hs->buf + hs->done,
	    hs->req_len - hs->done, &err);

	if (n == IO_FAIL) {
		fail(c, LERR_CONNECT, err);
		return;
	}
	hs->done += n > 0 ? (size_t)n : 0;
	if (hs->done == hs->req_len) {
		hs->done = 0;  /* now counts response bytes */
		if (c->want_out && watch(c, EPOLL_CTL_MOD, false) < 0)
			fail(c, LERR_CONNECT, errno);
	} else if (!c->want_out && watch(c, EPOLL_CTL_MOD, true) < 0)
		fail(c, LERR_CONNECT, errno);
}

/* Writes what wslay has queued; arms EPOLLOUT while some is left. */
static int
flush(struct client *c)
{
	bool out;

	c->env->send_err = 0;  /* set by on_send if it fails */
	if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) {
		count_err(c, LERR_IO, c->env->send_err);
		if (c->state == CL_OPEN)
			stats_close_add(c->env->cs, 1006);
		finish(c);
		return -1;
	}
	out = wslay_event_want_write(c->ws) != 0;
	if (out != c->want_out && watch(c, EPOLL_CTL_MOD, out) < 0) {
		finish(c);
		return -1;
	}
	return 0;
}

/*
 * lines_fn: one message arrived, a whole data message or with
 * --split-lines one line of a text message.  Decode its prefix and count
 * it, as a delivery of this round in its sender's room (on the sender's
 * URL or another), as stale, or as misrouted to this client's room.
 */
static void
delivered(void *arg, const uint8_t *prefix, size_t prefix_len, uint64_t len)
{
	struct client *c = arg;
	struct client_env *e = c->env;
	struct payload p;
	int kind = payload_decode(prefix, prefix_len, &p);
	enum plan_route route;

	if (kind < 0 || kind != c->msg_opcode || len != e->cfg->bytes ||
	    p.sender >= e->cfg->conns) {
		stats_err_add(e->cs, LERR_PAYLOAD, 0);
		if (kind == PAYLOAD_TEXT && kind == c->msg_opcode &&
		    len > e->cfg->bytes && !e->cfg->split_lines)
			e->cs->joined++;  /* ours, and more: --split-lines? */
		return;
	}
	if (p.round != e->rs->round) {
		e->rs->stale++;
		return;
	}
	route = plan_route(&e->cfg->plan, p.sender, c->id);
	if (route == PLAN_OTHER_ROOM) {
		e->rs->wrong_room++;
		return;
	}
	stats_round_delivered(e->rs, plan_size_of(&e->cfg->plan,
	    plan_room(&e->cfg->plan, p.sender)), route == PLAN_OTHER_URL,
	    e->now_ns > (int64_t)p.sent_ns ?
	    (uint64_t)(e->now_ns - (int64_t)p.sent_ns) : 0, e->now_ns);
}

/*
 * wslay: a frame header arrived.  A data message starts; with
 * --split-lines a text one is cut at '\n', a binary one is kept whole.
 */
static void
on_frame_start(wslay_event_context_ptr ws,
    const struct wslay_event_on_frame_recv_start_arg *a, void *arg)
{
	struct client *c = arg;

	(void)ws;
	c->in_control = (a->opcode & 0x8) != 0;
	if (c->in_control)
		return;
	if (a->opcode != WSLAY_CONTINUATION_FRAME) {
		c->msg_opcode = a->opcode;
		lines_begin(&c->msg, c->env->cfg->split_lines &&
		    a->opcode == WSLAY_TEXT_FRAME);
	}
	c->frame_fin = a->fin != 0;
}

/* wslay: payload bytes of the current frame; count the lines they end. */
static void
on_frame_chunk(wslay_event_context_ptr ws,
    const struct wslay_event_on_frame_recv_chunk_arg *a, void *arg)
{
	struct client *c = arg;

	(void)ws;
	if (!c->in_control)
		lines_feed(&c->msg, a->data, a->data_length, delivered, c);
}

/* wslay: the current frame is complete; so is the message if `fin`. */
static void
on_frame_end(wslay_event_context_ptr ws, void *arg)
{
	struct client *c = arg;

	(void)ws;
	if (c->in_control || !c->frame_fin)
		return;
	c->env->rs->frames++;
	lines_end(&c->msg, delivered, c);
}

/* wslay: a whole message; we only look at close frames here. */
static void
on_msg(wslay_event_context_ptr ws, const struct wslay_event_on_msg_recv_arg *a,
    void *arg)
{
	struct client *c = arg;

	(void)ws;
	if (a->opcode == WSLAY_CONNECTION_CLOSE)
		c->close_code = a->status_code ? a->status_code : 1005;
}

/* wslay: wants input; hand it the unread part of the shared buffer. */
static ssize_t
on_recv(wslay_event_context_ptr ws, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct client_env *e = ((struct client *)arg)->env;

	(void)flags;
	if (e->feed_len == 0) {
		wslay_event_set_error(ws, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > e->feed_len)
		len = e->feed_len;
	memcpy(buf, e->feed, len);
	e->feed += len;
	e->feed_len -= len;
	return (ssize_t)len;
}

/*
 * wslay: wants to write.  wslay hands over a frame's header and its payload
 * in two calls; the header (flagged WSLAY_MSG_MORE) is held back and goes
 * out with the payload in one sendmsg(2) (or one TLS record), so one
 * message costs one system call.  Held bytes always leave before any
 * later byte.  A send that would block is retried by wslay with the same
 * bytes, as TLS needs (io_send).
 */
static ssize_t
on_send(wslay_event_context_ptr ws, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct client *c = arg;
	ssize_t n;

	if ((flags & WSLAY_MSG_MORE) && c->held_len + len <= sizeof(c->held)) {
		memcpy(c->held + c->held_len, data, len);
		c->held_len += (uint8_t)len;
		return (ssize_t)len;
	}
	if ((n = io_send(c, data, len, &c->env->send_err)) == IO_FAIL) {
		wslay_event_set_error(ws, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	n = n == IO_AGAIN ? 0 : (ssize_t)sent_past_held(c, (size_t)n);
	if (n == 0 && len > 0) {
		wslay_event_set_error(ws, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

/* wslay: a client masks every frame with 4 fresh random bytes. */
static int
on_genmask(wslay_event_context_ptr ws, uint8_t *buf, size_t len, void *arg)
{
	struct client_env *e = ((struct client *)arg)->env;

	(void)ws;
	if (e->masks_used + len > sizeof(e->masks)) {
		arc4random_buf(e->masks, sizeof(e->masks));
		e->masks_used = 0;
	}
	memcpy(buf, e->masks + e->masks_used, len);
	e->masks_used += len;
	return 0;
}

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = on_recv,
	.send_callback = on_send,
	.genmask_callback = on_genmask,
	.on_frame_recv_start_callback = on_frame_start,
	.on_frame_recv_chunk_callback = on_frame_chunk,
	.on_frame_recv_end_callback = on_frame_end,
	.on_msg_recv_callback = on_msg,
};

/*
 * Gives `len` bytes that arrived at e->now_ns to wslay, then reacts to a
 * close frame or a protocol error.  Returns -1 if the client is now DONE.
 */
static int
feed(struct client *c, const uint8_t *buf, size_t len)
{
	struct client_env *e = c->env;
	int r;

	e->feed = buf;
	e->feed_len = len;
	r = wslay_event_recv(c->ws);
	if (r == 0 && wslay_event_get_read_enabled(c->ws))
		return 0;
	if (c->close_code == 0)  /* wslay rejected the stream */
		stats_err_add(e->cs, LERR_PROTOCOL, 0);
	else if (c->state == CL_OPEN)  /* the server closed first */
		stats_close_add(e->cs, c->close_code);
	if (wslay_event_want_write(c->ws))
		wslay_event_send(c->ws);  /* best effort: the close reply */
	finish(c);
	return -1;
}

/*
 * The server answered the upgrade with another status: keep the status
 * and its reason (the body's first line) for the report, and fail.
 */
static void
refused(struct client *c)
{
	struct handshake *hs = c->hs;
	char reason[UPGRADE_REASON_MAX + 1];

	upgrade_refusal_reason(hs->buf, hs->done, reason);
	stats_refusal_set(c->env->cs, upgrade_status_code(hs->buf, hs->done),
	    reason);
	fail(c, LERR_HANDSHAKE, 0);
}

/*
 * UPGRADING and readable: read the response; on a valid 101 go OPEN.  A
 * refusal is read to the end of the body its Content-Length announces
 * (or until the server closes, the buffer fills or the upgrade times
 * out), so that the report can give the server's reason.
 */
static void
read_response(struct client *c)
{
	struct handshake *hs = c->hs;
	int err = 0, r;
	ssize_t n = io_read(c, hs->buf + hs->done, HANDSHAKE_BUF - hs->done,
	    &err);

	if (n == IO_AGAIN)
		return;
	if (n <= 0) {
		if (upgrade_status_code(hs->buf, hs->done) != 0)
			refused(c);  /* answered, then closed */
		else
			fail(c, LERR_HANDSHAKE, n == 0 ? 0 : err);  /* 0: EOF */
		return;
	}
	hs->done += (size_t)n;
	r = upgrade_check(hs->buf, hs->done, hs->accept);
	if (r == UPGRADE_AGAIN && hs->done < HANDSHAKE_BUF)
		return;
	if (r == UPGRADE_ESTATUS) {
		if (hs->done < HANDSHAKE_BUF &&
		    hs->done < upgrade_refusal_len(hs->buf, hs->done))
			return;  /* more of the body to come */
		refused(c);
		return;
	}
	if (r < 0 || wslay_event_context_client_init(&c->ws, &callbacks, c)) {
		fail(c, LERR_HANDSHAKE, 0);
		return;
	}
	wslay_event_config_set_no_buffering(c->ws, 1);
	c->state = CL_OPEN;
	c->env->pending--;
	c->env->cs->ok++;
	c->env->now_ns = mono_ns();
	c->env->cs->last_open_ns = c->env->now_ns;
	hist_record(&c->env->cs->handshake, (uint64_t)(c->env->now_ns -
	    c->started_ns));
	plan_open_add(c->env->open, &c->env->cfg->plan, c->id, 1);
	c->hs = NULL;
	if (hs->done > (size_t)r)  /* frames right behind the 101 */
		feed(c, (const uint8_t *)hs->buf + r, hs->done - (size_t)r);
	free(hs);
}

/* The peer went away without a close frame (n == 0) or with an error. */
static void
lost(struct client *c, int err)
{
	if (err != 0)
		count_err(c, LERR_IO, err);
	if (c->state == CL_OPEN)
		stats_close_add(c->env->cs, 1006);
	finish(c);
}

/*
 * OPEN or CLOSING and readable: many frames per read(2) (over TLS, as many
 * records as fill the buffer).  Bytes GnuTLS holds are read before
 * yielding, since epoll would not report them.
 */
static void
read_frames(struct client *c)
{
	struct client_env *e = c->env;
	int err = 0;

	for (int i = 0; i < READS_PER_EVENT || io_pending(c); i++) {
		ssize_t n = io_read(c, e->rbuf, READ_BUF_BYTES, &err);

		if (n == IO_AGAIN)
			break;
		if (n <= 0) {
			lost(c, n == 0 ? 0 : err);
			return;
		}
		e->now_ns = mono_ns();
		if (feed(c, e->rbuf, (size_t)n) < 0)
			return;
		if ((size_t)n < READ_BUF_BYTES && !io_pending(c))
			break;
	}
	flush(c);  /* pongs wslay queued */
}

/* True while the client waits for input: the 101, or frames. */
static bool
reading(const struct client *c)
{
	return c->state == CL_OPEN || c->state == CL_CLOSING ||
	    (c->state == CL_UPGRADING && !c->want_out);
}

/* Handles one epoll event by state. */
static void
dispatch(struct client *c, uint32_t events)
{
	switch (c->state) {
	case CL_CONNECTING:
		connected(c);
		break;
	case CL_SECURING:
		secure(c);
		break;
	case CL_UPGRADING:
		if (c->want_out)  /* still writing the request */
			write_request(c);
		else
			read_response(c);
		break;
	case CL_OPEN:
	case CL_CLOSING:
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			read_frames(c);
		if (c->state != CL_DONE && (events & EPOLLOUT))
			flush(c);
		break;
	default:
		break;
	}
}

/*
 * Handles epoll `events`; then, over TLS, what GnuTLS decrypted beyond
 * what was read (a 101 and the frames behind it in one record), which
 * epoll cannot report.
 */
void
client_event(struct client *c, uint32_t events)
{
	dispatch(c, events);
	while (reading(c) && io_pending(c))
		dispatch(c, EPOLLIN);
}

/* Queues one data message in wslay and writes what it can. */
int
client_send(struct client *c, uint8_t opcode, const void *buf, size_t len)
{
	struct wslay_event_msg m = { opcode, buf, len };

	if (c->state != CL_OPEN ||
	    wslay_event_get_queued_msg_count(c->ws) >= SEND_BACKLOG_MAX ||
	    wslay_event_queue_msg(c->ws, &m) != 0)
		return -1;
	flush(c);
	return 0;
}

/* Fails a handshake that has run too long. */
bool
client_expire(struct client *c, int64_t started_before_ns)
{
	if (!opening(c) || c->started_ns >= started_before_ns)
		return false;
	fail(c, LERR_TIMEOUT, ETIMEDOUT);
	return true;
}

/* OPEN -> CLOSING: our close frame goes out. */
void
client_close(struct client *c)
{
	if (opening(c))
		fail(c, LERR_TIMEOUT, ETIMEDOUT);
	if (c->state != CL_OPEN)
		return;
	c->state = CL_CLOSING;
	wslay_event_queue_close(c->ws, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
	flush(c);
}

/* Drops the client now, whatever its state. */
void
client_abort(struct client *c)
{
	if (opening(c))
		fail(c, LERR_TIMEOUT, ETIMEDOUT);
	else if (c->state != CL_DONE && c->state != CL_IDLE)
		finish(c);
}

/*
 * Releases the TLS session (its close_notify goes out if the socket takes
 * it), the descriptor and the wslay context; the client is DONE.
 */
static void
finish(struct client *c)
{
	struct client_env *e = c->env;

	if (opening(c))
		e->pending--;
	if (c->state == CL_OPEN || c->state == CL_CLOSING)
		plan_open_add(e->open, &e->cfg->plan, c->id, -1);
	tls_conn_free(c->tls);
	c->tls = NULL;
	if (c->fd >= 0) {
		close(c->fd);  /* also leaves the epoll set */
		e->live--;
		c->fd = -1;
	}
	wslay_event_context_free(c->ws);
	c->ws = NULL;
	free(c->hs);
	c->hs = NULL;
	c->state = CL_DONE;
}
