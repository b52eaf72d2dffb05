/* bridge — the link to Redis pub/sub (see bridge.h for the design). */
#include <errno.h>
#include <hiredis/hiredis.h> /* redisFormatCommandArgv only */
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <sys/uio.h>
#include <unistd.h>
#define LIBBSD_OPENBSD_VIS /* strvisx only; the historical API */
#include <vis.h>

#include "wshub/bridge.h"
#include "wshub/bridge_codec.h"
#include "wshub/chan.h"
#include "wshub/config.h"
#include "wshub/deadline.h"
#include "wshub/log.h"
#include "wshub/threads.h"
#include "wshub/utf8.h"
#include "wshub/xmalloc.h"

#define BRIDGE_BATCH 64          /* publishes per round trip to Redis */
#define BRIDGE_CONTROL_LEN 16    /* the priority lane; one wake-up uses it */
#define CONNECT_TIMEOUT_MS 1000
#define REPLY_TIMEOUT_MS 2000    /* a Redis that stops answering is down */
#define LOOKUP_POLL_MS 50        /* how often a name lookup checks for stop */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define HEALTHY_MS BACKOFF_MAX_MS /* up this long: the backoff starts afresh */
#define IDLE_CLOSE_MIN_MS 1000   /* Redis's `timeout` is whole seconds */
#define DRAIN_MS 250             /* at the stop, for what is queued to go */
#define SUBSCRIBE_BATCH 256      /* channels per SUBSCRIBE command */
#define READ_BUF 16384           /* bytes per recv(2) from Redis */
#define REASON_MAX 96            /* of Redis's own error text, in a log line */

/* A room the hub has, or had, local clients in. */
struct want {
	RB_ENTRY(want) node;       /* b->mu */
	TAILQ_ENTRY(want) changed; /* b->mu, while on b->changes */
	bool wanted;               /* b->mu: the hub's last word */
	bool queued;               /* b->mu: on b->changes */
	bool subscribed;           /* publisher, under b->mu: sent SUBSCRIBE */
	char room[ROOM_NAME_MAX + 1];
};

RB_HEAD(want_tree, want);
TAILQ_HEAD(want_list, want);

static int
want_cmp(const struct want *a, const struct want *b)
{
	return strcmp(a->room, b->room);
}

/* Not RB_GENERATE_STATIC: it needs __unused, which libbsd leaves out. */
RB_GENERATE(want_tree, want, node, want_cmp)

/* A message for other hubs, on the publisher's channel. */
struct pub {
	msg_t *m;
	char room[ROOM_NAME_MAX + 1];
};

/* The only control item on the priority lane (its address is the item):
 * the publisher has something to look at besides publishes. */
static char wake_token;

/* One connection to Redis: a non-blocking socket, and the bytes read from
 * it that no reply has taken yet, buf[start..end). */
struct link {
	int fd;                 /* -1: none */
	const struct bridge_reply_limits *lim; /* its replies' */
	char *buf;              /* cap bytes, at most lim->max_reply + READ_BUF */
	size_t cap, start, end;
	size_t taken;           /* bytes of the reply link_reply last returned */
	const char *name;       /* "publish" or "subscribe", for the log */
};

struct bridge {
	struct bridge_url url;
	char prefix[PREFIX_MAX + 1];
	size_t max_message;
	uint8_t hub_id[HUB_ID_LEN];
	bridge_deliver_fn deliver;
	void *deliver_arg;
	struct bridge_stats *st;
	chan_t *cmds;               /* struct pub *, and the wake token */
	pthread_t publisher, subscriber;
	bool started;
	int stop_fd;                /* eventfd, readable once stopping */
	atomic_bool stopping;       /* set under mu, read anywhere */
	atomic_bool wake_pending;   /* the wake token is queued or being taken */
	atomic_ullong failed_gen;   /* the subscriber's socket that failed */

	pthread_mutex_t mu;
	pthread_cond_t cv;          /* sub_fd, gen, sub_busy, stopping,
	                             * publisher_done; CLOCK_MONOTONIC */
	struct want_tree wants;
	struct want_list changes;
	int sub_fd;                 /* -1 while not connected */
	uint64_t gen;               /* counts the subscribe sockets handed out */
	bool sub_busy;              /* the subscriber reads sub_fd */
	bool publisher_done;        /* publisher_main has finished */
	char sub_why[256];          /* why the subscriber's socket failed */

	/* Publisher thread only. */
	struct link pub, sub;
	bool up;                    /* both connections made */
	struct timespec up_since;
	bool ever_connected;
	bool outage_logged;
	struct timespec down_since; /* the outage's start, if outage_logged */
	long dropped_at_outage;     /* st->dropped then */
	bool misconfigured;         /* the last dial failed for good: no such
	                               host, AUTH or SELECT refused */
	int64_t backoff_ms;
};

static void
pub_free(struct pub *p)
{
	msg_unref(p->m);
	free(p);
}

/* Publishes lost: counted (redis_dropped counts every loss) and freed. */
static void
drop_pubs(bridge_t *b, struct pub **pubs, size_t n)
{
	if (n > 0)
		atomic_fetch_add(&b->st->dropped, (long)n);
	for (size_t i = 0; i < n; i++)
		pub_free(pubs[i]);
}

/* Wakes the publisher: one token on the priority lane at most, so the
 * lane is never full and no wake-up is lost.  Any thread; never blocks. */
static void
wake_publisher(bridge_t *b)
{
	if (!atomic_exchange(&b->wake_pending, true))
		chan_send_priority(b->cmds, &wake_token);
}

/* Takes the wake token out of items[0..n) and the publishes, in order,
 * into pubs; their number.  The next wake-up needs a new token. */
static size_t
take_wake_token(bridge_t *b, void *const *items, size_t n,
    struct pub **pubs)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (items[i] == &wake_token)
			atomic_store(&b->wake_pending, false);
		else
			pubs[k++] = items[i];
	return k;
}

/* ---- a connection's bytes ---------------------------------------------- */

/* `l`, its socket just connected, ready for replies within `lim`. */
static void
link_reset(struct link *l, const struct bridge_reply_limits *lim)
{
	l->lim = lim;
	l->buf = xreallocarray(l->buf, READ_BUF, 1);
	l->cap = READ_BUF;
	l->start = l->end = l->taken = 0;
}

static void
link_close(struct link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->buf);
	l->buf = NULL;
	l->cap = l->start = l->end = l->taken = 0;
}

/* Lets go of the reply link_reply last returned; a buffer a large reply
 * grew shrinks back once nothing is left in it. */
static void
link_drop_taken(struct link *l)
{
	l->start += l->taken;
	l->taken = 0;
	if (l->start == l->end && l->cap > READ_BUF) {
		l->buf = xreallocarray(l->buf, READ_BUF, 1);
		l->cap = READ_BUF;
		l->start = l->end = 0;
	}
}

/* Room for READ_BUF more bytes, what is buffered moved to the front.  At
 * most lim->max_reply + READ_BUF in all: the codec refuses a reply still
 * coming past max_reply, so no more is ever buffered before a read. */
static void
link_make_room(struct link *l)
{
	size_t cap;

	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	if (l->cap - l->end >= READ_BUF)
		return;
	cap = l->cap * 2 > l->end + READ_BUF ? l->cap * 2 : l->end + READ_BUF;
	if (cap > l->lim->max_reply + READ_BUF)
		cap = l->lim->max_reply + READ_BUF;
	l->buf = xreallocarray(l->buf, cap, 1);
	l->cap = cap;
}

/* ---- waiting on a socket, and on the stop -------------------------------- */

/*
 * Waits until `fd` is ready for `events`, the deadline passes (NULL:
 * never; then `late` is the reason) or the bridge stops.  0 once ready,
 * else -1 with the reason in err.  Bridge threads.
 */
static int
wait_fd(bridge_t *b, int fd, short events, const struct timespec *deadline,
    const char *late, char *err, size_t errlen)
{
	struct pollfd p[2] = { { .fd = fd, .events = events },
	    { .fd = b->stop_fd, .events = POLLIN } };

	for (;;) {
		int timeout = -1, n;

		if (deadline != NULL) {
			int64_t left = deadline_remaining_ms(deadline);

			if (left == 0) {
				snprintf(err, errlen, "%s", late);
				return -1;
			}
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		threads_block(events & POLLOUT ? TS_POLL_WRITE : TS_POLL_READ,
		    NULL);
		n = poll(p, 2, timeout);
		threads_run();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (p[1].revents != 0) {
			snprintf(err, errlen, "the bridge stops");
			return -1;
		}
		if (p[0].revents != 0)
			return 0;
	}
}

/* Writes iov[0..n) to `l` (changing iov).  Waits REPLY_TIMEOUT_MS at most
 * for Redis to read more.  0, or -1 with the reason in err. */
static int
link_sendv(bridge_t *b, struct link *l, struct iovec *iov, int n, char *err,
    size_t errlen)
{
	struct timespec deadline = deadline_after_ms(REPLY_TIMEOUT_MS);
	char why[128];

	while (n > 0) {
		struct msghdr mh = { .msg_iov = iov,
		    .msg_iovlen = (size_t)(n > IOV_MAX ? IOV_MAX : n) };
		ssize_t sent = sendmsg(l->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		size_t left;

		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(b, l->fd, POLLOUT, &deadline, "Redis read "
			    "nothing for 2 s", why, sizeof(why)) != 0)
				goto fail;
			continue;
		}
		if (sent < 0) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			goto fail;
		}
		deadline = deadline_after_ms(REPLY_TIMEOUT_MS); /* progress */
		for (left = (size_t)sent; n > 0 && left >= iov->iov_len; n--)
			left -= iov++->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "%s connection: %s", l->name, why);
	return -1;
}

/* Reads what `l` has (at least a byte), waiting until `deadline` (NULL:
 * as long as it takes) or the bridge stops.  0, or -1 with the reason in
 * why. */
static int
link_fill(bridge_t *b, struct link *l, const struct timespec *deadline,
    char *why, size_t size)
{
	link_make_room(l);
	for (;;) {
		ssize_t n = recv(l->fd, l->buf + l->end, l->cap - l->end,
		    MSG_DONTWAIT);

		if (n > 0) {
			l->end += (size_t)n;
			return 0;
		}
		if (n == 0) {
			snprintf(why, size, "Redis closed the connection");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(why, size, "%s", strerror(errno));
			return -1;
		}
		if (wait_fd(b, l->fd, POLLIN, deadline, "no reply within 2 s",
		    why, size) != 0)
			return -1;
	}
}

/*
 * The next reply on `l`, waiting until `deadline` (NULL: as long as it
 * takes) or the bridge stops.  0 with *r (pointing into l's buffer, until
 * the next call), or -1 with the reason in err: the connection failed, or
 * Redis sent something a hub cannot use (refused before more of it than
 * the connection's limits is buffered).  Bridge threads.
 */
static int
link_reply(bridge_t *b, struct link *l, struct bridge_reply *r,
    const struct timespec *deadline, char *err, size_t errlen)
{
	char why[160], reason[128];
	ssize_t n;

	link_drop_taken(l);
	while ((n = bridge_codec_parse(l->buf + l->start, l->end - l->start,
	    l->lim, r)) == BRIDGE_CODEC_INCOMPLETE)
		if (link_fill(b, l, deadline, why, sizeof(why)) != 0)
			goto fail;
	if (n < 0) {
		snprintf(why, sizeof(why), "refused a reply: %s",
		    bridge_codec_reason(n, r, l->lim, reason, sizeof(reason)));
		goto fail;
	}
	l->taken = (size_t)n;
	return 0;
fail:
	snprintf(err, errlen, "%s connection: %s", l->name, why);
	return -1;
}

/* ---- connecting (publisher thread) ------------------------------------- */

/* The addresses of the URL's host; NULL with the reason in err.  A name
 * is looked up with getaddrinfo_a, so that the bridge's stop ends the
 * wait (within LOOKUP_POLL_MS); a lookup glibc cannot cancel then is left
 * to finish on its own, its few hundred bytes with it. */
struct lookup {
	struct gaicb cb;
	struct addrinfo hints;
	char host[BRIDGE_HOST_MAX];
	char port[8];
};

/* Waits for the lookup q started, looking at the stop every
 * LOOKUP_POLL_MS; its addresses, or NULL with err set.  Frees q, unless
 * glibc may still write to it. */
static struct addrinfo *
lookup_finish(bridge_t *b, struct lookup *q, char *err, size_t errlen)
{
	const struct gaicb *const list[1] = { &q->cb };
	struct timespec step = { 0, LOOKUP_POLL_MS * 1000000L };
	struct addrinfo *res;
	int rc;

	threads_block(TS_COND, "a name lookup");
	while ((rc = gai_error(&q->cb)) == EAI_INPROGRESS &&
	    !atomic_load(&b->stopping))
		gai_suspend(list, 1, &step);
	threads_run();
	if (rc == EAI_INPROGRESS) {
		snprintf(err, errlen, "the bridge stops");
		rc = gai_cancel(&q->cb);
		if (rc == EAI_NOTCANCELED)
			return NULL; /* glibc still writes to q: leave it */
		if (rc == EAI_ALLDONE && gai_error(&q->cb) == 0)
			freeaddrinfo(q->cb.ar_result);
		free(q);
		return NULL;
	}
	if (rc != 0)
		snprintf(err, errlen, "name lookup: %s", gai_strerror(rc));
	b->misconfigured = rc == EAI_NONAME; /* EAI_AGAIN may pass later */
	res = rc == 0 ? q->cb.ar_result : NULL;
	free(q);
	return res;
}

static struct addrinfo *
resolve(bridge_t *b, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *res = NULL;
	struct lookup *q = xcalloc(1, sizeof(*q));
	struct gaicb *list[1] = { &q->cb };
	int rc;

	snprintf(q->port, sizeof(q->port), "%d", b->url.port);
	if (getaddrinfo(b->url.host, q->port, &hints, &res) == 0) {
		free(q); /* an address: nothing to look up */
		return res;
	}
	strlcpy(q->host, b->url.host, sizeof(q->host));
	q->hints = (struct addrinfo){ .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
	q->cb = (struct gaicb){ .ar_name = q->host, .ar_service = q->port,
	    .ar_request = &q->hints };
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		snprintf(err, errlen, "name lookup: %s", gai_strerror(rc));
		free(q);
		return NULL;
	}
	return lookup_finish(b, q, err, errlen);
}

/* A TCP connection to `ai`, not blocking, made by `deadline`; -1 with
 * err set. */
static int
connect_one(bridge_t *b, const struct addrinfo *ai,
    const struct timespec *deadline, char *err, size_t errlen)
{
	socklen_t len = sizeof(int);
	int soerr = 0, fd = socket(ai->ai_family, ai->ai_socktype |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    errno != EINPROGRESS)
		soerr = errno;
	else if (wait_fd(b, fd, POLLOUT, deadline, "connect: no answer within "
	    "1 s", err, errlen) != 0)
		soerr = -1;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		soerr = errno;
	if (soerr == 0)
		return fd;
	if (soerr > 0)
		snprintf(err, errlen, "connect: %s", strerror(soerr));
	close(fd);
	return -1;
}

/* A TCP connection to the URL's host, not blocking; -1 with err set.
 * Waits CONNECT_TIMEOUT_MS at most (after the name lookup). */
static int
tcp_connect(bridge_t *b, char *err, size_t errlen)
{
	struct addrinfo *res = resolve(b, err, errlen), *ai;
	struct timespec deadline = deadline_after_ms(CONNECT_TIMEOUT_MS);
	int fd = -1, one = 1;

	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_one(b, ai, &deadline, err, errlen);
	if (res != NULL)
		freeaddrinfo(res);
	/* Without TCP_NODELAY a publish waits for Nagle's timer: slower,
	 * not wrong, so a refusal is only worth a line. */
	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) != 0)
		log_warn("redis: setsockopt(TCP_NODELAY): %s", strerror(errno));
	return fd;
}

/* Redis's own text (an error reply), safe for a log line. */
static void
visible(char *out, size_t size, const char *s, size_t len)
{
	char vis[REASON_MAX * 4 + 1];

	strvisx(vis, s, len > REASON_MAX ? REASON_MAX : len,
	    VIS_CSTYLE | VIS_DQ);
	snprintf(out, size, "%s%s", vis, len > REASON_MAX ? "..." : "");
}

/* Sends a command on `l` and checks that its reply is a status; -1 with
 * a reason in err.  Waits REPLY_TIMEOUT_MS at most for the reply. */
static int
command_ok(bridge_t *b, struct link *l, int argc, const char **argv,
    char *err, size_t errlen)
{
	struct timespec deadline;
	struct iovec iov;
	struct bridge_reply r;
	char *cmd, why[REASON_MAX * 4 + 4];
	int len, rc;

	if ((len = redisFormatCommandArgv(&cmd, argc, argv, NULL)) < 0)
		abort(); /* out of memory */
	iov = (struct iovec){ cmd, (size_t)len };
	rc = link_sendv(b, l, &iov, 1, err, errlen);
	explicit_bzero(cmd, (size_t)len); /* AUTH's password */
	free(cmd);
	deadline = deadline_after_ms(REPLY_TIMEOUT_MS);
	if (rc != 0 || link_reply(b, l, &r, &deadline, err, errlen) != 0)
		return -1;
	if (r.top.type == '-') {
		visible(why, sizeof(why), r.top.str, r.top.len);
		snprintf(err, errlen, "%s connection: %s refused: %s", l->name,
		    argv[0], why);
		/* AUTH or SELECT refused, or a password Redis wants */
		b->misconfigured = strcmp(argv[0], "PING") != 0 ||
		    (r.top.len >= 6 && memcmp(r.top.str, "NOAUTH", 6) == 0);
		rc = -1;
	} else if (r.top.type != '+') {
		snprintf(err, errlen, "%s connection: %s: an answer that is "
		    "not Redis's (is it a Redis server?)", l->name, argv[0]);
		rc = -1;
	}
	return rc;
}

/* One connection: connect, AUTH, SELECT, PING.  -1 with err set.
 * Publisher thread. */
static int
dial(bridge_t *b, struct link *l, char *err, size_t errlen)
{
	const struct bridge_url *u = &b->url;
	const char *auth[] = { "AUTH", u->user, u->password };
	const char *auth_alone[] = { "AUTH", u->password };
	const char *select[] = { "SELECT", NULL };
	const char *ping[] = { "PING" };
	char db[16], why[256];

	b->misconfigured = false;
	if ((l->fd = tcp_connect(b, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s connection: %s", l->name, why);
		return -1;
	}
	link_reset(l, l == &b->sub ? &bridge_subscribe_limits :
	    &bridge_publish_limits);
	snprintf(db, sizeof(db), "%d", u->db);
	select[1] = db;
	if ((u->password[0] && (u->user[0] ?
	    command_ok(b, l, 3, auth, err, errlen) :
	    command_ok(b, l, 2, auth_alone, err, errlen)) != 0) ||
	    (u->db && command_ok(b, l, 2, select, err, errlen) != 0) ||
	    command_ok(b, l, 1, ping, err, errlen) != 0) {
		link_close(l);
		return -1;
	}
	return 0;
}

/* SUBSCRIBE or UNSUBSCRIBE `n` rooms' channels in one command, on the
 * subscribe connection (the publisher is its only writer). */
static int
send_subscriptions(bridge_t *b, const char *verb, struct want **rooms,
    size_t n, char *err, size_t errlen)
{
	const char *argv[SUBSCRIBE_BATCH + 1];
	char channels[SUBSCRIBE_BATCH][CHANNEL_MAX];
	struct iovec iov;
	char *cmd;
	int len, rc;

	argv[0] = verb;
	for (size_t i = 0; i < n; i++) {
		bridge_codec_channel(channels[i], b->prefix, rooms[i]->room);
		argv[i + 1] = channels[i];
	}
	if ((len = redisFormatCommandArgv(&cmd, (int)n + 1, argv, NULL)) < 0)
		abort(); /* out of memory */
	iov = (struct iovec){ cmd, (size_t)len };
	rc = link_sendv(b, &b->sub, &iov, 1, err, errlen);
	free(cmd);
	return rc;
}

/* Frees the rooms just unsubscribed that nobody wants again meanwhile. */
static void
forget_dropped(bridge_t *b, struct want **drop, size_t n)
{
	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < n; i++)
		if (!drop[i]->wanted && !drop[i]->queued &&
		    !drop[i]->subscribed) {
			RB_REMOVE(want_tree, &b->wants, drop[i]);
			free(drop[i]);
		}
	pthread_mutex_unlock(&b->mu);
}

/* After a new connection: nothing is subscribed, every wanted room is to
 * be.  Under b->mu. */
static void
requeue_all(bridge_t *b)
{
	struct want *w;

	RB_FOREACH(w, want_tree, &b->wants) {
		w->subscribed = false;
		if (w->wanted && !w->queued) {
			TAILQ_INSERT_TAIL(&b->changes, w, changed);
			w->queued = true;
		}
	}
}

/* Takes up to SUBSCRIBE_BATCH changed rooms to (un)subscribe into add
 * and drop, marked as they will be; a room neither wanted nor subscribed
 * leaves the set.  Under b->mu. */
static void
take_changes(bridge_t *b, struct want **add, size_t *n_add,
    struct want **drop, size_t *n_drop)
{
	struct want *w, *next;

	*n_add = *n_drop = 0;
	TAILQ_FOREACH_SAFE(w, &b->changes, changed, next) {
		if (*n_add == SUBSCRIBE_BATCH || *n_drop == SUBSCRIBE_BATCH)
			break;
		TAILQ_REMOVE(&b->changes, w, changed);
		w->queued = false;
		if (w->wanted && !w->subscribed)
			add[(*n_add)++] = w;
		else if (!w->wanted && w->subscribed)
			drop[(*n_drop)++] = w;
		else if (!w->wanted) {
			RB_REMOVE(want_tree, &b->wants, w);
			free(w);
			continue;
		}
		w->subscribed = w->wanted;
	}
}

/*
 * Takes the rooms whose wish changed (all of them after a new connection,
 * `all`) and (un)subscribes them.  Rooms no longer wanted and not
 * subscribed leave the set.  Publisher thread; takes b->mu for the set.
 */
static int
apply_subscriptions(bridge_t *b, bool all, char *err, size_t errlen)
{
	struct want *add[SUBSCRIBE_BATCH], *drop[SUBSCRIBE_BATCH];
	size_t n_add, n_drop;
	int rc = 0;

	do {
		pthread_mutex_lock(&b->mu);
		if (all)
			requeue_all(b);
		all = false;
		take_changes(b, add, &n_add, drop, &n_drop);
		/* The names are read below without the lock: a room the
		 * publisher marked (un)subscribed stays in the set until the
		 * publisher itself removes it. */
		pthread_mutex_unlock(&b->mu);
		if (n_add > 0)
			rc = send_subscriptions(b, "SUBSCRIBE", add, n_add, err,
			    errlen);
		if (rc == 0 && n_drop > 0)
			rc = send_subscriptions(b, "UNSUBSCRIBE", drop, n_drop,
			    err, errlen);
		forget_dropped(b, drop, n_drop);
	} while (rc == 0 && (n_add == SUBSCRIBE_BATCH ||
	    n_drop == SUBSCRIBE_BATCH));
	return rc;
}

/* Gives the subscribe socket to the subscriber thread. */
static void
hand_over(bridge_t *b)
{
	pthread_mutex_lock(&b->mu);
	b->sub_fd = b->sub.fd;
	b->gen++;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Now on the wall clock, in ms since the epoch: for /stats. */
static long long
wall_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Both connections, subscribed to every wanted room; -1 with err set. */
static int
connect_all(bridge_t *b, char *err, size_t errlen)
{
	if (dial(b, &b->pub, err, errlen) != 0 ||
	    dial(b, &b->sub, err, errlen) != 0 ||
	    apply_subscriptions(b, true, err, errlen) != 0) {
		link_close(&b->pub);
		link_close(&b->sub);
		return -1;
	}
	hand_over(b);
	if (b->ever_connected)
		atomic_fetch_add(&b->st->reconnects, 1);
	if (b->outage_logged) /* the other end of recover's line */
		log_info("redis %s:%d: connected%s after %.1f s down; %ld "
		    "messages for other hubs dropped meanwhile", b->url.host,
		    b->url.port, b->ever_connected ? " again" : "",
		    (double)deadline_elapsed_ms(&b->down_since) /
		    1000, atomic_load(&b->st->dropped) - b->dropped_at_outage);
	else
		log_info("redis %s:%d: connected%s", b->url.host, b->url.port,
		    b->ever_connected ? " again" : "");
	atomic_store(&b->st->last_connected_ms, wall_ms());
	atomic_store(&b->st->outage_since_ms, 0);
	b->ever_connected = true;
	b->outage_logged = false;
	b->up = true;
	b->up_since = deadline_now();
	atomic_store(&b->st->connected, 1);
	return 0;
}

/* Drops both connections; waits until the subscriber let go of its
 * socket before closing it. */
static void
disconnect_all(bridge_t *b)
{
	if (!b->up)
		return;
	atomic_store(&b->st->connected, 0);
	pthread_mutex_lock(&b->mu);
	if (b->sub_fd >= 0)
		shutdown(b->sub_fd, SHUT_RDWR); /* wakes the subscriber */
	b->sub_fd = -1;
	threads_block(TS_COND, "the subscriber to let go of its socket");
	while (b->sub_busy)
		pthread_cond_wait(&b->cv, &b->mu);
	threads_run();
	pthread_mutex_unlock(&b->mu);
	link_close(&b->pub);
	link_close(&b->sub);
	b->up = false;
}

/* ---- the publisher thread ------------------------------------------------ */

/*
 * While Redis is down: publishes are dropped and counted until the
 * deadline.  False once the bridge stops.
 */
static bool
wait_out_backoff(bridge_t *b, int64_t ms)
{
	struct timespec deadline = deadline_after_ms(ms);
	void *items[BRIDGE_BATCH];
	struct pub *pubs[BRIDGE_BATCH];
	size_t n;

	for (;;) {
		int rc = chan_recv_many(b->cmds, items, BRIDGE_BATCH, &n,
		    &deadline);

		if (rc == CHAN_CLOSED)
			return false;
		if (rc == CHAN_TIMEOUT)
			return !atomic_load(&b->stopping);
		n = take_wake_token(b, items, n, pubs);
		drop_pubs(b, pubs, n);
	}
}

/*
 * After a failure: drops both connections, logs why (the first failure
 * of an outage: one line), then waits out the backoff, jittered so that
 * many hubs do not all come back at once.  The backoff doubles from
 * BACKOFF_MIN_MS to BACKOFF_MAX_MS, and starts afresh only after a
 * connection lasted HEALTHY_MS: a Redis that accepts and then fails
 * (garbage, a refused reply) is retried no faster than one that refuses.
 * False once the bridge stops.
 */
static bool
recover(bridge_t *b, const char *why)
{
	int64_t ms;

	if (atomic_load(&b->stopping))
		return false;
	if (b->up && deadline_elapsed_ms(&b->up_since) >= HEALTHY_MS)
		b->backoff_ms = BACKOFF_MIN_MS;
	disconnect_all(b);
	ms = b->backoff_ms / 2 + arc4random_uniform((uint32_t)b->backoff_ms / 2
	    + 1);
	b->backoff_ms = b->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    b->backoff_ms * 2;
	if (!b->outage_logged) {
		log_warn("redis %s:%d: %s; local delivery goes on, retrying in "
		    "%.1f s", b->url.host, b->url.port, why, (double)ms / 1000);
		b->down_since = deadline_now();
		b->dropped_at_outage = atomic_load(&b->st->dropped);
		atomic_store(&b->st->outage_since_ms, deadline_now_ms());
	}
	b->outage_logged = true;
	return wait_out_backoff(b, ms);
}

/*
 * The publish connection between rounds: 0 while it is quiet, 1 if Redis
 * closed it (its `timeout`, for an idle client), -1 if it sent bytes
 * nobody asked for.
 */
static int
publish_conn_state(bridge_t *b)
{
	struct pollfd p = { .fd = b->pub.fd, .events = POLLIN };
	char c;
	ssize_t n;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	n = recv(b->pub.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return n > 0 ? -1 : 1;
}

/* The PUBLISH commands of pubs[0..n): three iovecs each, the head in
 * heads[i], the payload, "\r\n". */
static void
publish_iov(bridge_t *b, struct pub **pubs, size_t n,
    char (*heads)[PUB_HEAD_MAX], struct iovec *iov)
{
	for (size_t i = 0; i < n; i++) {
		const msg_t *m = pubs[i]->m;
		size_t plen = msg_payload_len(m);

		iov[3 * i] = (struct iovec){ heads[i],
		    bridge_codec_publish_head(heads[i], b->prefix, pubs[i]->room,
		    b->hub_id, msg_opcode(m), plen) };
		iov[3 * i + 1] = (struct iovec){ (void *)msg_payload(m), plen };
		iov[3 * i + 2] = (struct iovec){ "\r\n", 2 };
	}
}

/* Reads the replies to n PUBLISHes, counting each published or dropped
 * (an error reply); *done of them.  0, or -1 with err set. */
static int
publish_replies(bridge_t *b, size_t n, size_t *done, char *err,
    size_t errlen)
{
	struct bridge_reply r;

	for (*done = 0; *done < n; (*done)++) {
		struct timespec deadline = deadline_after_ms(REPLY_TIMEOUT_MS);

		if (link_reply(b, &b->pub, &r, &deadline, err, errlen) != 0)
			return -1;
		if (r.top.type == ':')
			atomic_fetch_add(&b->st->published, 1);
		else if (r.top.type == '-')
			atomic_fetch_add(&b->st->dropped, 1);
		else {
			snprintf(err, errlen, "publish connection: PUBLISH got "
			    "an answer that is not Redis's");
			return -1;
		}
	}
	return 0;
}

/*
 * PUBLISHes pubs[0..n) in one write, then reads their replies: each is
 * counted, published or dropped (an error reply, or lost when the
 * connection fails partway), and freed.  0, or -1 with err set.
 */
static int
publish_batch(bridge_t *b, struct pub **pubs, size_t n, char *err,
    size_t errlen)
{
	char heads[BRIDGE_BATCH][PUB_HEAD_MAX];
	struct iovec iov[BRIDGE_BATCH * 3];
	size_t done = 0;
	int rc;

	publish_iov(b, pubs, n, heads, iov);
	rc = link_sendv(b, &b->pub, iov, (int)(3 * n), err, errlen);
	if (rc == 0)
		rc = publish_replies(b, n, &done, err, errlen);
	if (n > done)
		atomic_fetch_add(&b->st->dropped, (long)(n - done));
	for (size_t i = 0; i < n; i++)
		pub_free(pubs[i]);
	return rc;
}

/*
 * One round while connected: publishes what came (one round trip for the
 * batch), (un)subscribes the rooms that changed, and looks at the
 * subscriber's flag.  -1 with err set if a connection failed (the batch is
 * then counted as dropped, what was not published of it).
 */
static int
publish_round(bridge_t *b, struct pub **pubs, size_t n, char *err,
    size_t errlen)
{
	int state = n > 0 ? publish_conn_state(b) : 0;

	if (state != 0) {
		/* Idle, Redis closed it: a new one, at once. */
		if (state > 0 && deadline_elapsed_ms(&b->up_since) >=
		    IDLE_CLOSE_MIN_MS) {
			disconnect_all(b);
			if (connect_all(b, err, errlen) != 0) {
				drop_pubs(b, pubs, n);
				return -1;
			}
		} else {
			snprintf(err, errlen, "publish connection: %s", state > 0 ?
			    "Redis closed it" : "Redis sent what nobody asked for");
			drop_pubs(b, pubs, n);
			return -1;
		}
	}
	if (n > 0 && publish_batch(b, pubs, n, err, errlen) != 0)
		return -1;
	if (atomic_load(&b->failed_gen) == b->gen) {
		pthread_mutex_lock(&b->mu);
		snprintf(err, errlen, "%s", b->sub_why);
		pthread_mutex_unlock(&b->mu);
		return -1;
	}
	return apply_subscriptions(b, false, err, errlen);
}

/* Go: for { select { case m := <-pub: ... } }, with reconnection. */
static void *
publisher_main(void *arg)
{
	bridge_t *b = arg;
	struct thread_entry self;
	void *items[BRIDGE_BATCH];
	struct pub *pubs[BRIDGE_BATCH];
	char err[512];
	size_t n;

	threads_enter(&self, ROLE_REDIS_PUB, 0, NULL, NULL, NULL);
	b->backoff_ms = BACKOFF_MIN_MS;
	while (!atomic_load(&b->stopping)) {
		if (!b->up && connect_all(b, err, sizeof(err)) != 0) {
			if (!recover(b, err))
				break;
			continue;
		}
		if (chan_recv_many(b->cmds, items, BRIDGE_BATCH, &n, NULL) ==
		    CHAN_CLOSED)
			break;
		n = take_wake_token(b, items, n, pubs);
		if (atomic_load(&b->stopping)) {
			drop_pubs(b, pubs, n);
			break;
		}
		if (publish_round(b, pubs, n, err, sizeof(err)) != 0 &&
		    !recover(b, err))
			break;
	}
	disconnect_all(b);
	pthread_mutex_lock(&b->mu);
	b->publisher_done = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	threads_leave();
	return NULL;
}

/* ---- the subscriber thread ----------------------------------------------- */

/* A message from Redis that breaks a rule: dropped and counted. */
static void
reject(bridge_t *b, const char *why)
{
	atomic_fetch_add(&b->st->rejected, 1);
	log_debug("redis: a message refused: %s", why);
}

/* One push from Redis: a message from another hub goes to the hub if it
 * keeps the rules a client's message keeps. */
static void
on_push(bridge_t *b, const struct bridge_reply *r)
{
	struct bridge_message m;
	char why[64];
	int rc = bridge_codec_message(r, b->prefix, &m);

	if (rc == BRIDGE_CODEC_NOT_MESSAGE)
		return; /* a (un)subscribe confirmation */
	if (rc != 0) {
		reject(b, bridge_codec_reason(rc, r, &bridge_subscribe_limits,
		    why, sizeof(why)));
		return;
	}
	if (memcmp(m.hub_id, b->hub_id, HUB_ID_LEN) == 0)
		return; /* ours: the hub delivered it already */
	if (m.len > b->max_message) {
		reject(b, "larger than --max-message");
		return;
	}
	if (m.opcode == MSG_TEXT && !utf8_valid(m.payload, m.len)) {
		reject(b, "a text message that is not UTF-8");
		return;
	}
	atomic_fetch_add(&b->st->received, 1);
	b->deliver(b->deliver_arg, m.room, msg_new_frame(m.opcode, m.payload,
	    m.len));
}

/* Reads pushes from `fd` until it fails, is shut down or the bridge
 * stops; why it ended in err.  Subscriber thread; blocks in poll(2) (no
 * timeout: the publisher's shutdown(2) or the stop wakes it) and,
 * through deliver, while the hub's event channel is full. */
static void
read_pushes(bridge_t *b, int fd, char *err, size_t errlen)
{
	struct link l = { .fd = fd, .name = "subscribe" };
	struct bridge_reply r;

	link_reset(&l, &bridge_subscribe_limits);
	while (link_reply(b, &l, &r, NULL, err, errlen) == 0)
		on_push(b, &r);
	free(l.buf); /* the socket is the publisher's */
}

/* Go: for { m := <-redis; hub.broadcast <- m }, one socket after another. */
static void *
subscriber_main(void *arg)
{
	bridge_t *b = arg;
	struct thread_entry self;
	uint64_t seen = 0;
	char why[sizeof(b->sub_why)];
	int fd;

	threads_enter(&self, ROLE_REDIS_SUB, 0, NULL, NULL, NULL);
	for (;;) {
		pthread_mutex_lock(&b->mu);
		threads_block(TS_COND, "a Redis connection");
		while (!atomic_load(&b->stopping) && (b->sub_fd < 0 ||
		    b->gen == seen))
			pthread_cond_wait(&b->cv, &b->mu);
		threads_run();
		if (atomic_load(&b->stopping)) {
			pthread_mutex_unlock(&b->mu);
			break;
		}
		fd = b->sub_fd;
		seen = b->gen;
		b->sub_busy = true;
		pthread_mutex_unlock(&b->mu);
		read_pushes(b, fd, why, sizeof(why));
		pthread_mutex_lock(&b->mu);
		b->sub_busy = false;
		memcpy(b->sub_why, why, sizeof(why));
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
		/* For the publisher, who looks every round: this socket
		 * failed (if it did not shut it itself). */
		atomic_store(&b->failed_gen, seen);
		wake_publisher(b);
	}
	threads_leave();
	return NULL;
}

/* ---- the hub's side, and the bridge's life ------------------------------- */

bridge_t *
bridge_new(const struct bridge_config *cfg, bridge_deliver_fn deliver,
    void *arg, struct bridge_stats *st)
{
	bridge_t *b = xcalloc(1, sizeof(*b));
	char err[256], shown[512];
	int rc = bridge_parse_url(cfg->url, &b->url, err, sizeof(err));

	if (rc != 0 || (cfg->password != NULL && strlcpy(b->url.password,
	    cfg->password, sizeof(b->url.password)) >= sizeof(b->url.password))
	    || strlen(cfg->prefix) > PREFIX_MAX) {
		/* The caller checked the flags: a bug. */
		log_error("redis URL %s: %s", bridge_redact_url(cfg->url, shown,
		    sizeof(shown)), rc != 0 ? err : "password or prefix too long");
		abort();
	}
	strlcpy(b->prefix, cfg->prefix, sizeof(b->prefix));
	b->max_message = cfg->max_message;
	arc4random_buf(b->hub_id, sizeof(b->hub_id));
	b->deliver = deliver;
	b->deliver_arg = arg;
	b->st = st;
	if ((b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		abort(); /* no descriptor left at start-up */
	b->cmds = chan_new(cfg->queue_len, BRIDGE_CONTROL_LEN);
	chan_set_name(b->cmds, "redis publishes");
	pthread_mutex_init(&b->mu, NULL);
	deadline_cond_init(&b->cv);
	RB_INIT(&b->wants);
	TAILQ_INIT(&b->changes);
	b->sub_fd = -1;
	b->pub.fd = b->sub.fd = -1;
	b->pub.name = "publish";
	b->sub.name = "subscribe";
	return b;
}

int
bridge_probe(const struct bridge_config *cfg, char *err, size_t errlen)
{
	struct bridge_stats st = { 0 };
	bridge_t *b = bridge_new(cfg, NULL, NULL, &st);
	int rc = BRIDGE_PROBE_OK;

	if (dial(b, &b->pub, err, errlen) != 0)
		rc = b->misconfigured ? BRIDGE_PROBE_REFUSED :
		    BRIDGE_PROBE_UNREACHABLE;
	link_close(&b->pub);
	bridge_free(b); /* never started */
	return rc;
}

/* Ends every wait of the bridge's threads on Redis: the stop descriptor
 * turns readable for good.  Any thread. */
static void
signal_stop(bridge_t *b)
{
	/* Fails only if the counter would overflow: it is written twice at
	 * most, so a failure is a bug, and a lost stop a hang. */
	if (eventfd_write(b->stop_fd, 1) != 0)
		abort();
}

int
bridge_start(bridge_t *b)
{
	int err;

	if ((err = pthread_create(&b->publisher, NULL, publisher_main, b)) != 0)
		return err;
	if ((err = pthread_create(&b->subscriber, NULL, subscriber_main, b))
	    != 0) {
		atomic_store(&b->stopping, true);
		chan_close(b->cmds);
		signal_stop(b);
		pthread_join(b->publisher, NULL);
		return err;
	}
	b->started = true;
	return 0;
}

void
bridge_publish(bridge_t *b, const char *room, msg_t *m)
{
	struct pub *p = xmalloc(sizeof(*p));

	p->m = msg_ref(m);
	strlcpy(p->room, room, sizeof(p->room));
	if (chan_try_send(b->cmds, p) != CHAN_OK) { /* full: at-most-once */
		atomic_fetch_add(&b->st->dropped, 1);
		pub_free(p);
	}
}

/* The hub's wish for `room`; the publisher acts on it. */
static void
want_room(bridge_t *b, const char *room, bool wanted)
{
	struct want key, *w;

	strlcpy(key.room, room, sizeof(key.room));
	pthread_mutex_lock(&b->mu);
	if ((w = RB_FIND(want_tree, &b->wants, &key)) == NULL) {
		w = xcalloc(1, sizeof(*w));
		strlcpy(w->room, room, sizeof(w->room));
		RB_INSERT(want_tree, &b->wants, w);
	}
	w->wanted = wanted;
	if (!w->queued) {
		TAILQ_INSERT_TAIL(&b->changes, w, changed);
		w->queued = true;
	}
	pthread_mutex_unlock(&b->mu);
	wake_publisher(b);
}

void
bridge_subscribe(bridge_t *b, const char *room)
{
	want_room(b, room, true);
}

void
bridge_unsubscribe(bridge_t *b, const char *room)
{
	want_room(b, room, false);
}

void
bridge_free(bridge_t *b)
{
	struct want *w;
	struct pub *p;
	void *item;

	if (b == NULL)
		return;
	if (b->started) {
		struct timespec deadline = deadline_after_ms(DRAIN_MS);
		int rc = 0;

		/* The publisher sends what is queued and ends; or, past
		 * DRAIN_MS (Redis does not answer), is stopped: the stop ends
		 * every wait of both threads on Redis. */
		chan_close(b->cmds);
		pthread_mutex_lock(&b->mu);
		while (!b->publisher_done && rc != ETIMEDOUT)
			rc = deadline_cond_timedwait(&b->cv, &b->mu, &deadline);
		atomic_store(&b->stopping, true);
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
		signal_stop(b);
		pthread_join(b->publisher, NULL); /* it shuts the socket... */
		pthread_join(b->subscriber, NULL);
	}
	while (chan_try_recv(b->cmds, &item) == CHAN_OK)
		if (take_wake_token(b, &item, 1, &p) == 1)
			drop_pubs(b, &p, 1);
	while ((w = RB_MIN(want_tree, &b->wants)) != NULL) {
		RB_REMOVE(want_tree, &b->wants, w);
		free(w);
	}
	chan_free(b->cmds);
	close(b->stop_fd);
	explicit_bzero(&b->url, sizeof(b->url));
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}
