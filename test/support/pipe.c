/* pipe — an in-memory connection (see pipe.h). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../src/conn_private.h" /* the send channel, white-box */
#include "support/pipe.h"
#include "wshub/deadline.h"
#include "wshub/xmalloc.h"

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct test_pipe {
	pthread_mutex_t mu;
	/* Two conditions, so that a server thread's wait never wakes the
	 * other server thread: */
	pthread_cond_t to_server; /* input, room or a shutdown: for the threads */
	pthread_cond_t to_client; /* anything the test may wait for */
	enum test_pipe_hub mode;
	hub_t *hub;
	struct buf in;           /* client -> reader */
	size_t in_off;
	bool client_eof;
	struct buf out;          /* writer -> client */
	size_t out_off;
	size_t room;             /* bytes the writer may still send */
	bool shut_wr, shut_rd;   /* the server's shutdowns */
	int writable_waiters, readable_waiters;
	int unregisters;
};

static void
buf_add(struct buf *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

struct test_pipe *
test_pipe_new(enum test_pipe_hub mode, hub_t *hub)
{
	struct test_pipe *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	deadline_cond_init(&p->to_server);
	deadline_cond_init(&p->to_client);
	p->mode = mode;
	p->hub = hub;
	return p;
}

void
test_pipe_free(struct test_pipe *p)
{
	pthread_cond_destroy(&p->to_server);
	pthread_cond_destroy(&p->to_client);
	pthread_mutex_destroy(&p->mu);
	free(p->in.p);
	free(p->out.p);
	free(p);
}

/* ---- the server's side: conn_io ---------------------------------------- */

static ssize_t
pipe_read(conn_t *c, void *buf, size_t len)
{
	struct test_pipe *p = conn_io_arg(c);
	ssize_t n = -1;

	pthread_mutex_lock(&p->mu);
	if (p->in_off < p->in.len) {
		n = (ssize_t)(p->in.len - p->in_off < len ?
		    p->in.len - p->in_off : len);
		memcpy(buf, p->in.p + p->in_off, (size_t)n);
		p->in_off += (size_t)n;
		pthread_cond_broadcast(&p->to_client);
	} else if (p->client_eof || p->shut_rd)
		n = 0;
	else
		errno = EAGAIN;
	pthread_mutex_unlock(&p->mu);
	return n;
}

/* Waits on the pipe until `ready` or the deadline (the clock in use). */
static int
pipe_wait(struct test_pipe *p, bool writable, const struct timespec *deadline)
{
	int *waiters = writable ? &p->writable_waiters : &p->readable_waiters;
	int ready = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		int rc;

		ready = p->shut_rd || (writable ? p->room > 0 || p->shut_wr :
		    p->in_off < p->in.len || p->client_eof);
		if (ready)
			break;
		(*waiters)++; /* counted only while asleep */
		pthread_cond_broadcast(&p->to_client);
		rc = deadline_cond_timedwait(&p->to_server, &p->mu, deadline);
		(*waiters)--;
		pthread_cond_broadcast(&p->to_client);
		if (rc == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&p->mu);
	return ready;
}

static int
pipe_wait_readable(conn_t *c, const struct timespec *deadline)
{
	return pipe_wait(conn_io_arg(c), false, deadline);
}

static int
pipe_wait_writable(conn_t *c, const struct timespec *deadline)
{
	return pipe_wait(conn_io_arg(c), true, deadline);
}

static ssize_t
pipe_send(conn_t *c, const struct iovec *iov, int cnt)
{
	struct test_pipe *p = conn_io_arg(c);
	size_t done = 0;
	ssize_t n;

	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < cnt && p->room > 0 && !p->shut_wr; i++) {
		size_t k = iov[i].iov_len < p->room ? iov[i].iov_len : p->room;

		buf_add(&p->out, iov[i].iov_base, k);
		if (p->room != SIZE_MAX)
			p->room -= k;
		done += k;
	}
	if (p->shut_wr) {
		errno = EPIPE;
		n = -1;
	} else if (done == 0) {
		errno = EAGAIN;
		n = -1;
	} else
		n = (ssize_t)done;
	pthread_cond_broadcast(&p->to_client);
	pthread_mutex_unlock(&p->mu);
	return n;
}

static void
pipe_shutdown(conn_t *c, int how, const struct timespec *deadline)
{
	struct test_pipe *p = conn_io_arg(c);

	(void)deadline;
	pthread_mutex_lock(&p->mu);
	p->shut_wr = true;
	if (how == SHUT_RDWR)
		p->shut_rd = true;
	pthread_cond_broadcast(&p->to_server);
	pthread_cond_broadcast(&p->to_client);
	pthread_mutex_unlock(&p->mu);
}

static int
pipe_broadcast(conn_t *c, msg_t *m)
{
	struct test_pipe *p = conn_io_arg(c);

	if (p->mode == PIPE_HUB)
		return hub_broadcast(p->hub, conn_client(c), m);
	if (chan_try_send(c->send, m) != CHAN_OK) /* the echo */
		msg_unref(m);
	return 0;
}

static void
pipe_unregister(conn_t *c)
{
	struct test_pipe *p = conn_io_arg(c);

	pthread_mutex_lock(&p->mu);
	p->unregisters++;
	pthread_mutex_unlock(&p->mu);
	if (p->mode == PIPE_HUB)
		hub_unregister(p->hub, conn_client(c));
	else
		chan_close(c->send); /* what the hub does on unregister */
}

const struct conn_io test_pipe_io = {
	.read = pipe_read,
	.wait_readable = pipe_wait_readable,
	.send = pipe_send,
	.wait_writable = pipe_wait_writable,
	.shutdown = pipe_shutdown,
	.broadcast = pipe_broadcast,
	.unregister = pipe_unregister,
};

/* ---- the client's side -------------------------------------------------- */

void
test_pipe_write(struct test_pipe *p, const void *buf, size_t len)
{
	pthread_mutex_lock(&p->mu);
	buf_add(&p->in, buf, len);
	pthread_cond_broadcast(&p->to_server);
	pthread_mutex_unlock(&p->mu);
}

void
test_pipe_write_frame(struct test_pipe *p, int opcode, const void *payload,
    size_t len)
{
	uint8_t f[2 + 4 + 125] = { (uint8_t)(0x80 | opcode),
	    (uint8_t)(0x80 | len) }; /* a zero mask key: the payload as is */

	if (len > 125)
		abort();
	memcpy(f + 6, payload, len);
	test_pipe_write(p, f, 6 + len);
}

void
test_pipe_eof(struct test_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->client_eof = true;
	pthread_cond_broadcast(&p->to_server);
	pthread_mutex_unlock(&p->mu);
}

void
test_pipe_set_room(struct test_pipe *p, size_t room)
{
	pthread_mutex_lock(&p->mu);
	p->room = room;
	pthread_cond_broadcast(&p->to_server);
	pthread_mutex_unlock(&p->mu);
}

/* mu held: waits in real time until `ok` (a pipe field test) or the
 * bound; false at the bound. */
static bool
client_wait_locked(struct test_pipe *p, bool (*ok)(struct test_pipe *, size_t),
    size_t arg)
{
	struct timespec bound = deadline_real_now();

	bound.tv_sec += TEST_PIPE_BOUND_MS / 1000;
	while (!ok(p, arg))
		if (pthread_cond_timedwait(&p->to_client, &p->mu, &bound) ==
		    ETIMEDOUT)
			return ok(p, arg);
	return true;
}

static bool
has_bytes(struct test_pipe *p, size_t n)
{
	return p->out.len - p->out_off >= n || p->shut_wr;
}

/* mu held: waits for n unread bytes; false if they do not come. */
static bool
await_bytes_locked(struct test_pipe *p, size_t n)
{
	return client_wait_locked(p, has_bytes, n) &&
	    p->out.len - p->out_off >= n;
}

int
test_pipe_read(struct test_pipe *p, void *buf, size_t len)
{
	int rc = -1;

	pthread_mutex_lock(&p->mu);
	if (await_bytes_locked(p, len)) {
		memcpy(buf, p->out.p + p->out_off, len);
		p->out_off += len;
		rc = 0;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int
test_pipe_read_frame(struct test_pipe *p, int *opcode, uint8_t *payload,
    size_t cap, size_t *len)
{
	uint8_t h[10];
	size_t hlen = 2;
	uint64_t plen;
	int rc = -1;

	pthread_mutex_lock(&p->mu);
	if (!await_bytes_locked(p, 2))
		goto out;
	memcpy(h, p->out.p + p->out_off, 2);
	plen = h[1] & 0x7f;
	hlen += plen == 126 ? 2 : plen == 127 ? 8 : 0;
	if (!await_bytes_locked(p, hlen))
		goto out;
	memcpy(h, p->out.p + p->out_off, hlen);
	if (hlen > 2) { /* the extended length */
		plen = 0;
		for (size_t i = 2; i < hlen; i++)
			plen = plen << 8 | h[i];
	}
	if (!await_bytes_locked(p, hlen + plen))
		goto out;
	*opcode = h[0] & 0x0f;
	*len = plen;
	memcpy(payload, p->out.p + p->out_off + hlen, plen < cap ? plen : cap);
	p->out_off += hlen + plen;
	rc = 0;
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

size_t
test_pipe_unread(struct test_pipe *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->out.len - p->out_off;
	pthread_mutex_unlock(&p->mu);
	return n;
}

static bool
has_writable_waiters(struct test_pipe *p, size_t n)
{
	return p->writable_waiters == (int)n;
}

static bool
has_readable_waiters(struct test_pipe *p, size_t n)
{
	return p->readable_waiters == (int)n;
}

bool
test_pipe_await_waiters(struct test_pipe *p, bool writable, int n)
{
	bool ok;

	pthread_mutex_lock(&p->mu);
	ok = client_wait_locked(p, writable ? has_writable_waiters :
	    has_readable_waiters, (size_t)n);
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static bool
is_consumed(struct test_pipe *p, size_t n)
{
	(void)n;
	return p->in_off == p->in.len && p->readable_waiters == 1;
}

bool
test_pipe_await_consumed(struct test_pipe *p)
{
	bool ok;

	pthread_mutex_lock(&p->mu);
	ok = client_wait_locked(p, is_consumed, 0);
	pthread_mutex_unlock(&p->mu);
	return ok;
}

bool
test_pipe_server_shut(struct test_pipe *p)
{
	bool shut;

	pthread_mutex_lock(&p->mu);
	shut = p->shut_wr;
	pthread_mutex_unlock(&p->mu);
	return shut;
}

int
test_pipe_unregisters(struct test_pipe *p)
{
	int n;

	pthread_mutex_lock(&p->mu);
	n = p->unregisters;
	pthread_mutex_unlock(&p->mu);
	return n;
}
