/* frontdoor — the listener and unfinished requests (see frontdoor.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wshub/deadline.h"
#include "wshub/frontdoor.h"
#include "wshub/http.h"
#include "wshub/log.h"
#include "wshub/response.h"
#include "wshub/threads.h"
#include "wshub/tls.h"
#include "wshub/xmalloc.h"

#define LISTEN_BACKLOG 4096
#define EPOLL_BATCH 64
#define SWEEP_MS 100          /* how often expired requests are closed */
#define LINGER_MS 2000        /* reading leftovers before close(2) */
#define ACCEPT_BACKOFF_MS 100 /* pause after EMFILE / ENFILE */
#define RESPONSE_MAX 1024 /* an error response: head and one-line reason */
#define ADDR_MAX 80
#define METRICS_MAX 8192     /* /metrics is under 4 KiB: room to grow */

/* The chat page, embedded by the build (xxd -i src/chat.html). */
extern unsigned char chat_html[];
extern unsigned int chat_html_len;

enum pending_state { TLS_HANDSHAKE, READING, WRITING, LINGER };

struct pending {
	TAILQ_ENTRY(pending) entry;
	int fd;
	tls_session_t *tls; /* with --tls-cert: every byte goes through it */
	bool tls_begun;     /* the handshake has read from the socket */
	enum pending_state state;
	struct timespec deadline;
	char peer[ADDR_MAX];
	size_t head_len;   /* bytes of in[] that were the request head */
	bool head;         /* a HEAD request: the response without its body */
	char *out;         /* response being written (owned) */
	size_t out_len, out_off;
	size_t in_len;
	char in[MAX_REQUEST_HEAD];
};

TAILQ_HEAD(pending_list, pending);

struct frontdoor {
	struct frontdoor_env env;
	struct origin_policy origins;
	struct host_policy hosts; /* which Host names are answered */
	int listen_fd;
	int wake_fd;    /* eventfd: frontdoor_stop writes, the loop wakes */
	int epoll_fd;
	char address[ADDR_MAX];
	uint16_t port;
	bool debug_ok;  /* /debug/threads: on the loopback or when asked */
	/* Front door thread only. */
	struct pending_list pending;
	struct timespec accept_resume; /* accepting paused until then */
	bool accept_paused;  /* the listener is out of epoll for now */
	bool accept_starved; /* from the first EMFILE to the next accept */
	struct timespec next_sweep;
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

/* addr and port as getaddrinfo(3) gives them, to bind; NULL and why in err
 * if addr does not resolve. */
static struct addrinfo *
resolve(const char *addr, uint16_t port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	char service[8];
	int rc;

	snprintf(service, sizeof(service), "%u", port);
	if ((rc = getaddrinfo(addr, service, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s (%s)", rc == EAI_NONAME ?
		    "not an IP address, nor a host name that resolves" :
		    "the host name could not be resolved", gai_strerror(rc));
		return NULL;
	}
	return res;
}

/*
 * Creates, binds and listens.  On failure reports, in err, the step that
 * failed and why, without repeating addr and port (the caller names them).
 */
static int
listen_on(const char *addr, uint16_t port, char *err, size_t errlen)
{
	struct addrinfo *res;
	int fd = -1, one = 1;

	if ((res = resolve(addr, port, err, errlen)) == NULL)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto err;
	}
	/* A restart must bind while the last run's connections linger in
	 * TIME_WAIT: without SO_REUSEADDR it would fail for a minute. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
		snprintf(err, errlen, "setsockopt(SO_REUSEADDR): %s",
		    strerror(errno));
		goto err;
	}
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
watch(frontdoor_t *f, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(f->epoll_fd, op, fd, &ev) != 0 && op != EPOLL_CTL_DEL)
		log_warn("epoll_ctl: %s", strerror(errno));
}

/* True for 127.0.0.0/8 and ::1 (and ::ffff:127.x). */
static bool
is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)ss)->
		    sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) &&
		    a->s6_addr[12] == 127);
	}
	return false;
}

/* The bound address of the listener, for frontdoor_address. */
static int
note_address(frontdoor_t *f, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(f->listen_fd, (struct sockaddr *)&ss, &len) != 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		return -1;
	}
	format_addr(&ss, f->address, sizeof(f->address));
	f->hosts.loopback = is_loopback(&ss);
	f->debug_ok = f->env.cfg->debug_endpoints || f->hosts.loopback;
	f->port = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

frontdoor_t *
frontdoor_new(const struct frontdoor_env *env, char *err, size_t errlen)
{
	frontdoor_t *f = xcalloc(1, sizeof(*f));
	const struct config *cfg = env->cfg;

	f->env = *env;
	f->origins = (struct origin_policy){ cfg->any_origin, cfg->origins,
	    cfg->n_origins };
	f->hosts = (struct host_policy){ .addr = cfg->addr,
	    .patterns = cfg->allow_hosts, .n_patterns = cfg->n_allow_hosts };
	f->wake_fd = f->epoll_fd = -1;
	TAILQ_INIT(&f->pending);
	f->listen_fd = cfg->listen_fd >= 0 ? cfg->listen_fd : /* systemd's */
	    listen_on(cfg->addr, cfg->port, err, errlen);
	if (f->listen_fd < 0)
		goto err;
	if (note_address(f, err, errlen) != 0)
		goto err;
	if ((f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto err;
	}
	if ((f->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
		goto err;
	}
	return f;
err:
	frontdoor_free(f);
	return NULL;
}

const char *
frontdoor_address(const frontdoor_t *f)
{
	return f->address;
}

uint16_t
frontdoor_port(const frontdoor_t *f)
{
	return f->port;
}

void
frontdoor_stop(frontdoor_t *f)
{
	uint64_t one = 1;

	if (write(f->wake_fd, &one, sizeof(one)) < 0)
		return; /* the counter is already non-zero: a stop is pending */
}

/* ---- pending requests ---------------------------------------------------- */

static void
pending_free(frontdoor_t *f, struct pending *p)
{
	TAILQ_REMOVE(&f->pending, p, entry);
	tls_session_free(p->tls); /* NULL once a connection took it */
	if (p->fd >= 0)
		close(p->fd); /* closing also removes it from epoll */
	free(p->out);
	free(p);
}

/* Reads request bytes: read(2), or with TLS the decrypted bytes (the
 * same contract: n, 0 at the end, -1 with errno). */
static ssize_t
pending_recv(struct pending *p, void *buf, size_t len)
{
	if (p->tls != NULL)
		return tls_session_recv(p->tls, buf, len);
	return read(p->fd, buf, len);
}

/* Sends response bytes: send(2), or a TLS record.  After EAGAIN the next
 * call must pass the same bytes (GnuTLS holds them encrypted), which
 * pending_write does: it moves on only by what was sent. */
static ssize_t
pending_send(struct pending *p, const void *buf, size_t len)
{
	if (p->tls != NULL)
		return tls_session_send(p->tls, buf, len);
	return send(p->fd, buf, len, MSG_NOSIGNAL);
}

/* Counts how a TLS request ended before its response, if TLS ended it. */
static void
pending_tls_ended(frontdoor_t *f, struct pending *p)
{
	if (p->tls == NULL)
		return;
	if (tls_session_outcome(p->tls) == TLS_BROKEN) {
		log_info("TLS error %s: %s", p->peer, tls_session_error(p->tls));
		stats_add(&f->env.stats->tls_errors, 1);
	} else if (tls_session_outcome(p->tls) == TLS_TRUNCATED)
		stats_add(&f->env.stats->tls_truncations, 1);
}

/* Writes what is left of the response; 1 done, 0 later, -1 failed. */
static int
pending_write(struct pending *p)
{
	while (p->out_off < p->out_len) {
		ssize_t n = pending_send(p, p->out + p->out_off,
		    p->out_len - p->out_off);

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
pending_upgrade(frontdoor_t *f, struct pending *p, const char *room,
    msg_t *response)
{
	int one = 1;
	conn_t *c;

	/* Without TCP_NODELAY frames wait for Nagle's timer: slower, not
	 * wrong, so a refusal is only worth a line. */
	if (setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		log_warn("%s: setsockopt(TCP_NODELAY): %s", p->peer,
		    strerror(errno));
	epoll_ctl(f->epoll_fd, EPOLL_CTL_DEL, p->fd, NULL);
	c = conn_new(p->fd, p->peer, p->in + p->head_len,
	    p->in_len - p->head_len, response, f->env.conn_env);
	conn_adopt_tls(c, p->tls); /* NULL: plain TCP */
	p->tls = NULL;
	p->fd = -1; /* the connection owns it now */
	pending_free(f, p);
	if (hub_register(f->env.hub, conn_client(c), room) != 0) {
		conn_unref(c); /* frees the queued 101 too */
		return;
	}
	f->env.started(f->env.arg, c);
	stats_add(&f->env.stats->connections_total, 1);
	log_info("connect id=%llu peer=%s room=%s",
	    (unsigned long long)conn_id(c), conn_peer(c), room);
	conn_start(c); /* on failure it handed c to the reaper */
}

/* The response is written: shut our side and linger. */
static void
pending_written(frontdoor_t *f, struct pending *p)
{
	if (p->tls != NULL) /* close_notify, if the socket takes it now */
		tls_session_bye(p->tls);
	shutdown(p->fd, SHUT_WR);
	p->state = LINGER;
	p->deadline = deadline_after_ms(LINGER_MS);
	watch(f, EPOLL_CTL_MOD, p->fd, EPOLLIN, p);
}

/* Sends `out` (owned) as the response, then pending_written. */
static void
pending_respond(frontdoor_t *f, struct pending *p, char *out, size_t len)
{
	const char *end;
	int rc;

	if (p->head && (end = memmem(out, len, "\r\n\r\n", 4)) != NULL)
		len = (size_t)(end + 4 - out); /* HEAD: the head, as GET's */
	p->out = out;
	p->out_len = len;
	p->state = WRITING;
	if ((rc = pending_write(p)) < 0)
		pending_free(f, p);
	else if (rc == 0) /* the rest when the socket is writable */
		watch(f, EPOLL_CTL_MOD, p->fd, EPOLLOUT, p);
	else
		pending_written(f, p);
}

/* Answers with an HTTP error status and a one-line text body. */
static void
respond_error(frontdoor_t *f, struct pending *p, int status,
    const char *why)
{
	char *out = xmalloc(RESPONSE_MAX);
	size_t len = response_format_error(out, RESPONSE_MAX, status, why);

	log_info("rejected %s: %d %s (%s)", p->peer, status,
	    response_status_text(status), why);
	if (status != 404 && status != 405)
		stats_add(&f->env.stats->handshake_rejects, 1);
	pending_respond(f, p, out, len);
}

/* The 404's reason: every page there is (the dump where it is served). */
static const char *
not_found(const frontdoor_t *f)
{
	return f->debug_ok ? "no such page; there are / (the chat page), /ws "
	    "and /ws/ROOM (WebSocket), /stats, /metrics and /debug/threads" :
	    "no such page; there are / (the chat page), /ws and /ws/ROOM "
	    "(WebSocket), /stats and /metrics";
}

/* Answers 200 with `body` of `type`. */
static void
respond_ok(frontdoor_t *f, struct pending *p, const char *type,
    const void *body, size_t body_len)
{
	char *out = xmalloc(RESPONSE_MAX + body_len);
	size_t n = response_format_ok_head(out, RESPONSE_MAX, type, body_len);

	memcpy(out + n, body, body_len);
	pending_respond(f, p, out, n + body_len);
}

/* Answers with the dump of every thread (threads.h), text or JSON. */
static void
respond_threads(frontdoor_t *f, struct pending *p, bool json)
{
	size_t len;
	char *dump = threads_dump(json ? THREADS_JSON : THREADS_TEXT,
	    f->env.cfg->send_queue, &len);

	respond_ok(f, p, json ? "application/json" :
	    "text/plain; charset=utf-8", dump, len);
	free(dump);
}

/* A route other than the WebSocket upgrade: answer it at once. */
static void
respond_route(frontdoor_t *f, struct pending *p,
    const struct http_request *req, enum handshake_route route)
{
	char text[METRICS_MAX];
	const char *why;
	bool json;

	switch (route) {
	case ROUTE_PAGE:
		respond_ok(f, p, "text/html; charset=utf-8", chat_html,
		    chat_html_len);
		return;
	case ROUTE_STATS:
		respond_ok(f, p, "application/json", text,
		    stats_format_json(f->env.stats, text, sizeof(text)));
		return;
	case ROUTE_METRICS:
		respond_ok(f, p, "text/plain; version=0.0.4; charset=utf-8", text,
		    stats_format_prometheus(f->env.stats, text, sizeof(text)));
		return;
	case ROUTE_DEBUG_THREADS: /* off the loopback: --debug-endpoints */
		if (!f->debug_ok)
			respond_error(f, p, 404, not_found(f));
		else if ((why = handshake_format(req, &json)) != NULL)
			respond_error(f, p, 400, why);
		else
			respond_threads(f, p, json);
		return;
	case ROUTE_NOT_FOUND:
		respond_error(f, p, 404, not_found(f));
		return;
	case ROUTE_BAD_METHOD:
		respond_error(f, p, 405, "only GET and HEAD are supported");
		return;
	case ROUTE_WEBSOCKET: /* pending_websocket's */
		return;
	}
}

/* Why a valid upgrade to room must wait (a 503), or NULL: the limits. */
static const char *
over_limits(frontdoor_t *f, const char *room)
{
	if (f->env.cfg->max_clients > 0 &&
	    f->env.live(f->env.arg) >= f->env.cfg->max_clients)
		return "too many clients, try again later";
	if (!hub_room_admits(f->env.hub, room))
		return "too many rooms, try again later";
	return NULL;
}

/* GET /ws or /ws/ROOM: check the upgrade, then hand the client over. */
static void
pending_websocket(frontdoor_t *f, struct pending *p,
    const struct http_request *req)
{
	char accept[HANDSHAKE_ACCEPT_LEN + 1], out[RESPONSE_MAX];
	char room[ROOM_NAME_MAX + 1], origin_why[HOST_WHY_MAX];
	const char *why;
	int status;

	if (p->head) {
		respond_error(f, p, 405, "a WebSocket upgrade is a GET");
		return;
	}
	if (handshake_room(req, room, &why) != 0) {
		respond_error(f, p, 400, why);
		return;
	}
	status = handshake_check_upgrade(req, &f->origins, accept, &why);
	if (status == 403) { /* name the Origin, the Host and the flag */
		handshake_origin_refusal(req, origin_why, sizeof(origin_why));
		why = origin_why;
	}
	if (status == 101 && (why = over_limits(f, room)) != NULL)
		status = 503;
	if (status != 101) {
		respond_error(f, p, status, why);
		return;
	}
	pending_upgrade(f, p, room, msg_new_encoded(MSG_RAW, out,
	    response_format_101(out, sizeof(out), accept)));
}

/* A complete request head: route it and answer. */
static void
pending_route(frontdoor_t *f, struct pending *p,
    const struct http_request *req)
{
	enum handshake_route route = handshake_route(req);
	char host_why[HOST_WHY_MAX];
	int status;

	p->head = http_method_is(req, "HEAD");
	/* Every route, before anything is served: DNS rebinding. */
	if ((status = handshake_check_host(req, &f->hosts,
	    route == ROUTE_DEBUG_THREADS && f->debug_ok, host_why)) != 0) {
		respond_error(f, p, status, host_why);
		return;
	}
	if (route == ROUTE_WEBSOCKET)
		pending_websocket(f, p, req);
	else
		respond_route(f, p, req, route);
}

/* Reads what arrived of the request and answers once it is complete. */
static void
pending_read(frontdoor_t *f, struct pending *p)
{
	struct http_request req;
	int rc;

	while (p->in_len < sizeof(p->in)) {
		ssize_t n = pending_recv(p, p->in + p->in_len,
		    sizeof(p->in) - p->in_len);

		if (n > 0) {
			p->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		pending_tls_ended(f, p);
		pending_free(f, p); /* gone before finishing its request */
		return;
	}
	rc = http_parse_request(p->in, p->in_len, MAX_REQUEST_HEAD, &req);
	if (rc == HTTP_NEED_MORE)
		return;
	if (rc == HTTP_TOO_LARGE)
		respond_error(f, p, 431, "request head over 8 KiB");
	else if (rc == HTTP_BAD_REQUEST)
		respond_error(f, p, 400, "malformed HTTP request");
	else {
		p->head_len = (size_t)rc;
		pending_route(f, p, &req);
	}
}

/*
 * Plain HTTP on the TLS port (someone typed http://): a TLS record starts
 * with a byte from 20 to 23, an HTTP request with a capital letter.  It
 * gets a 400 in plain text a browser can show, not a TLS alert.  Looks at
 * the first byte only, before the handshake reads anything.
 */
static bool
pending_plain_http(frontdoor_t *f, struct pending *p)
{
	unsigned char b;

	if (recv(p->fd, &b, 1, MSG_PEEK) != 1 || b < 'A' || b > 'Z')
		return false;
	log_info("TLS handshake failed %s: plain HTTP", p->peer);
	stats_add(&f->env.stats->tls_handshake_failures, 1);
	tls_session_free(p->tls);
	p->tls = NULL;
	respond_error(f, p, 400, "this port speaks TLS: use https:// or wss://");
	return true;
}

/* One step of the TLS handshake, in the loop like any other wait; once it
 * is done the request is read through the session. */
static void
pending_handshake(frontdoor_t *f, struct pending *p)
{
	if (!p->tls_begun && pending_plain_http(f, p))
		return;
	p->tls_begun = true;
	switch (tls_session_handshake(p->tls)) {
	case TLS_WANT_READ:
		watch(f, EPOLL_CTL_MOD, p->fd, EPOLLIN, p);
		return;
	case TLS_WANT_WRITE:
		watch(f, EPOLL_CTL_MOD, p->fd, EPOLLOUT, p);
		return;
	case TLS_FAILED: /* its alert is sent: linger, so it is not reset */
		log_info("TLS handshake failed %s: %s", p->peer,
		    tls_session_error(p->tls));
		stats_add(&f->env.stats->tls_handshake_failures, 1);
		tls_session_free(p->tls);
		p->tls = NULL;
		pending_written(f, p);
		return;
	case TLS_DONE:
		stats_add(&f->env.stats->tls_handshakes, 1);
		p->state = READING;
		watch(f, EPOLL_CTL_MOD, p->fd, EPOLLIN, p);
		pending_read(f, p); /* it may have come with the handshake */
		return;
	}
}

/* Discards what the client still sends after our response; EOF ends it. */
static void
pending_linger(frontdoor_t *f, struct pending *p)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(p->fd, buf, sizeof(buf))) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		pending_free(f, p);
}

static void
pending_event(frontdoor_t *f, struct pending *p)
{
	int rc;

	switch (p->state) {
	case TLS_HANDSHAKE:
		pending_handshake(f, p);
		break;
	case READING:
		pending_read(f, p);
		break;
	case LINGER:
		pending_linger(f, p);
		break;
	case WRITING:
		if ((rc = pending_write(p)) < 0)
			pending_free(f, p);
		else if (rc > 0)
			pending_written(f, p);
		break;
	}
}

/* Closes requests past their deadline (slowloris, stuck writes). */
static void
sweep_expired(frontdoor_t *f)
{
	struct pending *p, *next;

	if (deadline_remaining_ms(&f->next_sweep) > 0)
		return;
	f->next_sweep = deadline_after_ms(SWEEP_MS);
	TAILQ_FOREACH_SAFE(p, &f->pending, entry, next) {
		if (deadline_remaining_ms(&p->deadline) > 0)
			continue;
		if (p->state == READING)
			log_info("handshake timeout %s", p->peer);
		if (p->state == TLS_HANDSHAKE) {
			log_info("TLS handshake timeout %s", p->peer);
			stats_add(&f->env.stats->tls_handshake_failures, 1);
		}
		pending_free(f, p);
	}
}

/* ---- accepting ----------------------------------------------------------- */

/* Out of descriptors: stop watching the listener for a while. */
static void
accept_pause(frontdoor_t *f)
{
	if (!f->accept_starved) /* once per episode, not every retry */
		log_warn("accept: %s; pausing new connections", strerror(errno));
	f->accept_starved = true;
	f->accept_paused = true;
	f->accept_resume = deadline_after_ms(ACCEPT_BACKOFF_MS);
	epoll_ctl(f->epoll_fd, EPOLL_CTL_DEL, f->listen_fd, NULL);
}

static void
accept_resume_if_due(frontdoor_t *f)
{
	if (!f->accept_paused || deadline_remaining_ms(&f->accept_resume) > 0)
		return;
	f->accept_paused = false;
	watch(f, EPOLL_CTL_ADD, f->listen_fd, EPOLLIN, &f->listen_fd);
}

/* Accepts every waiting connection into the READING state. */
static void
accept_all(frontdoor_t *f)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct pending *p;
		int fd = accept4(f->listen_fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				accept_pause(f);
			else if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (f->accept_starved)
			log_info("accepting connections again");
		f->accept_starved = false;
		p = xcalloc(1, sizeof(*p));
		p->fd = fd;
		p->state = READING;
		if (f->env.cfg->tls != NULL) { /* the request comes through TLS */
			p->tls = tls_session_new(f->env.cfg->tls, fd);
			p->state = TLS_HANDSHAKE;
		}
		p->deadline = deadline_after_ms(f->env.cfg->handshake_timeout_ms);
		format_addr(&ss, p->peer, sizeof(p->peer));
		TAILQ_INSERT_TAIL(&f->pending, p, entry);
		watch(f, EPOLL_CTL_ADD, fd, EPOLLIN, p);
	}
}

/* Stops listening and drops every unfinished request. */
static void
frontdoor_close(frontdoor_t *f)
{
	struct pending *p;

	if (f->listen_fd >= 0)
		close(f->listen_fd);
	f->listen_fd = -1;
	while ((p = TAILQ_FIRST(&f->pending)) != NULL)
		pending_free(f, p);
}

void
frontdoor_run(frontdoor_t *f)
{
	struct epoll_event events[EPOLL_BATCH];

	watch(f, EPOLL_CTL_ADD, f->listen_fd, EPOLLIN, &f->listen_fd);
	watch(f, EPOLL_CTL_ADD, f->wake_fd, EPOLLIN, &f->wake_fd);
	for (;;) {
		int timeout = TAILQ_EMPTY(&f->pending) && !f->accept_paused ?
		    -1 : SWEEP_MS;
		int n;

		threads_block(TS_EPOLL, NULL);
		n = epoll_wait(f->epoll_fd, events, EPOLL_BATCH, timeout);
		threads_run();

		for (int i = 0; i < n; i++) {
			void *ptr = events[i].data.ptr;

			if (ptr == &f->wake_fd) {
				frontdoor_close(f);
				return;
			}
			if (ptr == &f->listen_fd)
				accept_all(f);
			else
				pending_event(f, ptr);
		}
		sweep_expired(f);
		accept_resume_if_due(f);
	}
}

void
frontdoor_free(frontdoor_t *f)
{
	if (f == NULL)
		return;
	frontdoor_close(f);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	if (f->epoll_fd >= 0)
		close(f->epoll_fd);
	free(f);
}
