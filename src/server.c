/*
 * server — listening, the HTTP front door, the reaper (see server.h).
 *
 * The front door keeps every not-yet-upgraded socket in a `pending` entry:
 *   READING  the request head arrives (deadline: --handshake-timeout)
 *   WRITING  our response is written (same deadline)
 *   LINGER   after an error or a page: our side is shut for writing and
 *            we read and discard until the client closes (LINGER_MS), so
 *            closing never resets a response the client has not read.
 * An upgrade leaves the front door as soon as it is checked: the socket is
 * registered with the hub first and its write thread sends the 101, so a
 * client that has its 101 is already in the hub and misses no broadcast.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wshub/conn.h"
#include "wshub/deadline.h"
#include "wshub/handshake.h"
#include "wshub/http.h"
#include "wshub/hub.h"
#include "wshub/log.h"
#include "wshub/server.h"
#include "wshub/xmalloc.h"

#define LISTEN_BACKLOG 4096
#define EPOLL_BATCH 64
#define SWEEP_MS 100          /* how often expired requests are closed */
#define LINGER_MS 2000        /* reading leftovers before close(2) */
#define ACCEPT_BACKOFF_MS 100 /* pause after EMFILE / ENFILE */
#define HUB_QUEUE_LEN 4096
#define REAPER_QUEUE_LEN 1024
#define RESPONSE_MAX 512
#define ADDR_MAX 80
#define METRICS_MAX 4096

/* The chat page, embedded by the build (xxd -i src/chat.html). */
extern unsigned char chat_html[];
extern unsigned int chat_html_len;

enum pending_state { READING, WRITING, LINGER };

struct pending {
	TAILQ_ENTRY(pending) entry;
	int fd;
	enum pending_state state;
	struct timespec deadline;
	char peer[ADDR_MAX];
	size_t head_len;   /* bytes of in[] that were the request head */
	char *out;         /* response being written (owned) */
	size_t out_len, out_off;
	size_t in_len;
	char in[MAX_REQUEST_HEAD];
};

TAILQ_HEAD(pending_list, pending);
TAILQ_HEAD(live_list, conn_live_link);

struct server {
	const struct config *cfg;
	struct origin_policy origins;
	int listen_fd;
	int wake_fd;    /* eventfd: server_stop writes, the front door wakes */
	int epoll_fd;
	char address[ADDR_MAX];
	uint16_t port;
	struct stats stats;
	hub_t *hub;
	struct conn_env env;

	/* Front door thread only. */
	struct pending_list pending;
	struct timespec accept_resume; /* accepting paused until then */
	bool accept_paused;  /* the listener is out of epoll for now */
	bool accept_starved; /* from the first EMFILE to the next accept */
	struct timespec next_sweep;

	/* The reaper: finished connections arrive on env.reaper. */
	pthread_t reaper;
	pthread_mutex_t mu;
	pthread_cond_t all_reaped;
	long live;      /* connections started and not yet reaped; mu */
	struct live_list live_conns; /* the same connections; mu */
};

/* Formats a socket address as "host:port" or "[v6]:port". */
static void
format_addr(const struct sockaddr_storage *ss, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		snprintf(out, size, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
		snprintf(out, size, "[%s]:%u", host, port);
	} else
		snprintf(out, size, "?");
}

/* Why bind(2) failed, in words a user can act on ("" if errno says it). */
static const char *
bind_hint(int errnum)
{
	switch (errnum) {
	case EADDRINUSE: return " (another process listens on that port)";
	case EADDRNOTAVAIL: return " (no interface of this machine has that "
	    "address)";
	case EACCES: return " (ports below 1024 need privileges)";
	default: return "";
	}
}

/*
 * Creates, binds and listens.  On failure reports, in err, the step that
 * failed and why, without repeating addr and port (the caller names them).
 */
static int
listen_on(const char *addr, uint16_t port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	char service[8];
	int fd = -1, one = 1, rc;

	snprintf(service, sizeof(service), "%u", port);
	if ((rc = getaddrinfo(addr, service, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s (%s)", rc == EAI_NONAME ?
		    "not an IP address, nor a host name that resolves" :
		    "the host name could not be resolved", gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "bind: %s%s", strerror(errno),
		    bind_hint(errno));
		goto err;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		goto err;
	}
	freeaddrinfo(res);
	return fd;
err:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

/* Registers fd with epoll for `events`, remembering `ptr`. */
static void
watch(server_t *s, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	epoll_ctl(s->epoll_fd, op, fd, &ev);
}

server_t *
server_new(const struct config *cfg, char *err, size_t errlen)
{
	server_t *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	/* A vanished peer must be an EPIPE from write(2), not a dead process. */
	signal(SIGPIPE, SIG_IGN);
	s->cfg = cfg;
	s->origins = (struct origin_policy){ cfg->any_origin, cfg->origins,
	    cfg->n_origins };
	s->wake_fd = s->epoll_fd = -1;
	if ((s->listen_fd = listen_on(cfg->addr, cfg->port, err, errlen)) < 0) {
		free(s);
		return NULL;
	}
	getsockname(s->listen_fd, (struct sockaddr *)&ss, &len);
	format_addr(&ss, s->address, sizeof(s->address));
	s->port = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	stats_init(&s->stats);
	TAILQ_INIT(&s->pending);
	pthread_mutex_init(&s->mu, NULL);
	deadline_cond_init(&s->all_reaped); /* timed waits: monotonic */
	TAILQ_INIT(&s->live_conns);
	return s;
}

const char *
server_address(const server_t *s)
{
	return s->address;
}

uint16_t
server_port(const server_t *s)
{
	return s->port;
}

struct stats *
server_stats(server_t *s)
{
	return &s->stats;
}

void
server_stop(server_t *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		return; /* the counter is already non-zero: a stop is pending */
}

/* ---- the reaper ---------------------------------------------------------- */

/* Joins finished connections' threads and frees them (Go needs no such
 * thing: a goroutine's end is its own). */
static void *
reaper_main(void *arg)
{
	server_t *s = arg;
	void *c;

	while (chan_recv(s->env.reaper, &c) == CHAN_OK) {
		pthread_mutex_lock(&s->mu); /* before conn_reap may free it */
		TAILQ_REMOVE(&s->live_conns, conn_live_link(c), entry);
		pthread_mutex_unlock(&s->mu);
		conn_reap(c);
		pthread_mutex_lock(&s->mu);
		if (--s->live == 0)
			pthread_cond_broadcast(&s->all_reaped);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static long
live_connections(server_t *s)
{
	long n;

	pthread_mutex_lock(&s->mu);
	n = s->live;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- pending requests ---------------------------------------------------- */

static void
pending_free(server_t *s, struct pending *p)
{
	TAILQ_REMOVE(&s->pending, p, entry);
	if (p->fd >= 0)
		close(p->fd); /* closing also removes it from epoll */
	free(p->out);
	free(p);
}

/* Writes what is left of the response; 1 done, 0 later, -1 failed. */
static int
pending_write(struct pending *p)
{
	while (p->out_off < p->out_len) {
		ssize_t n = send(p->fd, p->out + p->out_off,
		    p->out_len - p->out_off, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		p->out_off += (size_t)n;
	}
	return 1;
}

/*
 * A valid upgrade: the socket becomes a connection with two threads,
 * registered with the hub before its writer sends `response` (the 101).
 */
static void
pending_upgrade(server_t *s, struct pending *p, msg_t *response)
{
	int one = 1;
	conn_t *c;

	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, p->fd, NULL);
	c = conn_new(p->fd, p->peer, p->in + p->head_len,
	    p->in_len - p->head_len, response, &s->env);
	p->fd = -1; /* the connection owns it now */
	pending_free(s, p);
	if (hub_register(s->hub, c) != 0) {
		conn_unref(c); /* frees the queued 101 too */
		return;
	}
	pthread_mutex_lock(&s->mu);
	s->live++;
	TAILQ_INSERT_TAIL(&s->live_conns, conn_live_link(c), entry);
	pthread_mutex_unlock(&s->mu);
	stats_add(&s->stats.connections_total, 1);
	log_info("connect id=%llu peer=%s", (unsigned long long)conn_id(c),
	    conn_peer(c));
	conn_start(c); /* on failure it handed c to the reaper */
}

/* The response is written: shut our side and linger. */
static void
pending_written(server_t *s, struct pending *p)
{
	shutdown(p->fd, SHUT_WR);
	p->state = LINGER;
	p->deadline = deadline_after_ms(LINGER_MS);
	watch(s, EPOLL_CTL_MOD, p->fd, EPOLLIN, p);
}

/* Sends `out` (owned) as the response, then pending_written. */
static void
pending_respond(server_t *s, struct pending *p, char *out, size_t len)
{
	int rc;

	p->out = out;
	p->out_len = len;
	p->state = WRITING;
	if ((rc = pending_write(p)) < 0)
		pending_free(s, p);
	else if (rc == 0) /* the rest when the socket is writable */
		watch(s, EPOLL_CTL_MOD, p->fd, EPOLLOUT, p);
	else
		pending_written(s, p);
}

/* Answers with an HTTP error status and a one-line text body. */
static void
respond_error(server_t *s, struct pending *p, int status, const char *why)
{
	char *out = xmalloc(RESPONSE_MAX);
	size_t len = handshake_format_error(out, RESPONSE_MAX, status, why);

	log_info("rejected %s: %d %s (%s)", p->peer, status,
	    handshake_status_text(status), why);
	if (status != 404 && status != 405)
		stats_add(&s->stats.handshake_rejects, 1);
	pending_respond(s, p, out, len);
}

/* Answers 200 with `body` of `type`. */
static void
respond_ok(server_t *s, struct pending *p, const char *type, const void *body,
    size_t body_len)
{
	char *out = xmalloc(RESPONSE_MAX + body_len);
	int n = snprintf(out, RESPONSE_MAX, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
	    type, body_len);

	memcpy(out + n, body, body_len);
	pending_respond(s, p, out, (size_t)n + body_len);
}

/* A complete request head: route it and answer. */
static void
pending_route(server_t *s, struct pending *p, const struct http_request *req)
{
	char accept[HANDSHAKE_ACCEPT_LEN + 1], text[METRICS_MAX], out[RESPONSE_MAX];
	const char *why;
	int status;

	switch (handshake_route(req)) {
	case ROUTE_PAGE:
		respond_ok(s, p, "text/html; charset=utf-8", chat_html,
		    chat_html_len);
		return;
	case ROUTE_STATS:
		respond_ok(s, p, "application/json", text,
		    stats_format_json(&s->stats, text, sizeof(text)));
		return;
	case ROUTE_METRICS:
		respond_ok(s, p, "text/plain; version=0.0.4; charset=utf-8", text,
		    stats_format_prometheus(&s->stats, text, sizeof(text)));
		return;
	case ROUTE_NOT_FOUND:
		respond_error(s, p, 404, "no such page; the hub is at /ws");
		return;
	case ROUTE_BAD_METHOD:
		respond_error(s, p, 405, "only GET is supported");
		return;
	case ROUTE_WEBSOCKET:
		break;
	}
	status = handshake_check_upgrade(req, &s->origins, accept, &why);
	if (status != 101) {
		respond_error(s, p, status, why);
		return;
	}
	if (s->cfg->max_clients > 0 &&
	    live_connections(s) >= s->cfg->max_clients) {
		respond_error(s, p, 503, "too many clients, try again later");
		return;
	}
	pending_upgrade(s, p, msg_new_encoded(MSG_RAW, out,
	    handshake_format_101(out, sizeof(out), accept)));
}

/* Reads what arrived of the request and answers once it is complete. */
static void
pending_read(server_t *s, struct pending *p)
{
	struct http_request req;
	int rc;

	while (p->in_len < sizeof(p->in)) {
		ssize_t n = read(p->fd, p->in + p->in_len, sizeof(p->in) - p->in_len);

		if (n > 0) {
			p->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		pending_free(s, p); /* gone before finishing its request */
		return;
	}
	rc = http_parse_request(p->in, p->in_len, MAX_REQUEST_HEAD, &req);
	if (rc == HTTP_NEED_MORE)
		return;
	if (rc == HTTP_TOO_LARGE)
		respond_error(s, p, 431, "request head over 8 KiB");
	else if (rc == HTTP_BAD_REQUEST)
		respond_error(s, p, 400, "malformed HTTP request");
	else {
		p->head_len = (size_t)rc;
		pending_route(s, p, &req);
	}
}

/* Discards what the client still sends after our response; EOF ends it. */
static void
pending_linger(server_t *s, struct pending *p)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(p->fd, buf, sizeof(buf))) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		pending_free(s, p);
}

static void
pending_event(server_t *s, struct pending *p)
{
	int rc;

	switch (p->state) {
	case READING:
		pending_read(s, p);
		break;
	case LINGER:
		pending_linger(s, p);
		break;
	case WRITING:
		if ((rc = pending_write(p)) < 0)
			pending_free(s, p);
		else if (rc > 0)
			pending_written(s, p);
		break;
	}
}

/* Closes requests past their deadline (slowloris, stuck writes). */
static void
sweep_expired(server_t *s)
{
	struct pending *p, *next;

	if (deadline_remaining_ms(&s->next_sweep) > 0)
		return;
	s->next_sweep = deadline_after_ms(SWEEP_MS);
	TAILQ_FOREACH_SAFE(p, &s->pending, entry, next) {
		if (deadline_remaining_ms(&p->deadline) > 0)
			continue;
		if (p->state == READING)
			log_info("handshake timeout %s", p->peer);
		pending_free(s, p);
	}
}

/* ---- accepting ----------------------------------------------------------- */

/* Out of descriptors: stop watching the listener for a while. */
static void
accept_pause(server_t *s)
{
	if (!s->accept_starved) /* once per episode, not every retry */
		log_warn("accept: %s; pausing new connections", strerror(errno));
	s->accept_starved = true;
	s->accept_paused = true;
	s->accept_resume = deadline_after_ms(ACCEPT_BACKOFF_MS);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->listen_fd, NULL);
}

static void
accept_resume_if_due(server_t *s)
{
	if (!s->accept_paused || deadline_remaining_ms(&s->accept_resume) > 0)
		return;
	s->accept_paused = false;
	watch(s, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN, &s->listen_fd);
}

/* Accepts every waiting connection into the READING state. */
static void
accept_all(server_t *s)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct pending *p;
		int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				accept_pause(s);
			else if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (s->accept_starved)
			log_info("accepting connections again");
		s->accept_starved = false;
		p = xcalloc(1, sizeof(*p));
		p->fd = fd;
		p->state = READING;
		p->deadline = deadline_after_ms(s->cfg->handshake_timeout_ms);
		format_addr(&ss, p->peer, sizeof(p->peer));
		TAILQ_INSERT_TAIL(&s->pending, p, entry);
		watch(s, EPOLL_CTL_ADD, fd, EPOLLIN, p);
	}
}

/* The front door's loop; returns when server_stop was called. */
static void
front_door(server_t *s)
{
	struct epoll_event events[EPOLL_BATCH];

	watch(s, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN, &s->listen_fd);
	watch(s, EPOLL_CTL_ADD, s->wake_fd, EPOLLIN, &s->wake_fd);
	for (;;) {
		int timeout = TAILQ_EMPTY(&s->pending) && !s->accept_paused ?
		    -1 : SWEEP_MS;
		int n = epoll_wait(s->epoll_fd, events, EPOLL_BATCH, timeout);

		for (int i = 0; i < n; i++) {
			void *ptr = events[i].data.ptr;

			if (ptr == &s->wake_fd)
				return;
			if (ptr == &s->listen_fd)
				accept_all(s);
			else
				pending_event(s, ptr);
		}
		sweep_expired(s);
		accept_resume_if_due(s);
	}
}

/* ---- running and stopping ------------------------------------------------ */

/* Starts the hub and reaper threads. */
static int
start_workers(server_t *s)
{
	int err;

	s->hub = hub_new(&s->stats, HUB_QUEUE_LEN);
	s->env = (struct conn_env){ s->cfg, s->hub, &s->stats,
	    chan_new(REAPER_QUEUE_LEN, 0) };
	if ((err = hub_start(s->hub)) != 0)
		return err;
	return pthread_create(&s->reaper, NULL, reaper_main, s);
}

/*
 * Waits until every connection is reaped.  At the deadline it shuts the
 * remaining sockets down, so that every thread blocked on one (a read, a
 * poll, a write to a client that stopped reading) wakes up and finishes
 * at once, and waits for those.  Server thread, on shutdown.
 */
static void
await_connections(server_t *s, struct timespec deadline)
{
	struct conn_live_link *link;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	while (s->live > 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->all_reaped, &s->mu, &deadline);
	if (s->live > 0) {
		log_info("shutdown timeout: aborting %ld connection(s)", s->live);
		TAILQ_FOREACH(link, &s->live_conns, entry)
			conn_abort(link->conn);
	}
	while (s->live > 0)
		pthread_cond_wait(&s->all_reaped, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

int
server_run(server_t *s)
{
	struct pending *p;
	int err;

	if ((err = start_workers(s)) != 0) {
		log_error("cannot start the hub: %s", strerror(err));
		abort(); /* no thread for the hub at start-up: nothing to run */
	}
	front_door(s);
	log_info("shutting down: closing %ld connection(s) with 1001",
	    stats_get(&s->stats.clients));
	close(s->listen_fd);
	s->listen_fd = -1;
	while ((p = TAILQ_FIRST(&s->pending)) != NULL)
		pending_free(s, p);
	hub_shutdown(s->hub);
	await_connections(s, deadline_after_ms(s->cfg->shutdown_timeout_ms));
	hub_join(s->hub); /* every client has unregistered by now */
	chan_close(s->env.reaper);
	pthread_join(s->reaper, NULL);
	log_info("shut down cleanly");
	return 0;
}

void
server_free(server_t *s)
{
	if (s == NULL)
		return;
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	close(s->wake_fd);
	close(s->epoll_fd);
	hub_free(s->hub);
	if (s->env.reaper)
		chan_free(s->env.reaper);
	pthread_cond_destroy(&s->all_reaped);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
