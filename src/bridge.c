/* bridge — the link to Redis pub/sub (see bridge.h for the design). */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
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
#define READ_BUF 16384
#define HUB_ID_LEN 8
#define ENVELOPE_HEAD (HUB_ID_LEN + 1)
#define PREFIX_MAX 63
#define CHANNEL_MAX (PREFIX_MAX + 1 + ROOM_NAME_MAX + 1)
#define PUB_HEAD_MAX (64 + CHANNEL_MAX + ENVELOPE_HEAD)
#define REASON_MAX 96            /* of Redis's own error text, in a log line */

/*
 * What a reply may be: what a hub can use.  A push is an array of three
 * ("message", the channel, the envelope), never nested; a string at most
 * the largest envelope any hub can publish (--max-message is at most
 * MAX_MESSAGE_LIMIT); a status or error line at most LINE_MAX_BYTES.  The
 * publish connection gets integers and status lines only.
 */
#define PUSH_ELEMENTS 3
#define LINE_MAX_BYTES 1024
#define ENVELOPE_MAX ((size_t)ENVELOPE_HEAD + MAX_MESSAGE_LIMIT)
#define PUSH_MAX (ENVELOPE_MAX + 2 * CHANNEL_MAX + 64) /* framing included */

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

/* The limits of one connection's replies, checked by hiredis's reader as
 * it builds them (the reader's privdata). */
struct bounds {
	redisReplyObjectFunctions *inner; /* hiredis's own */
	int max_elements;       /* an array's, 0: no arrays */
	size_t max_string;      /* a bulk string */
	size_t max_reply;       /* bytes of one reply, buffered or built */
	size_t built;           /* bytes of the reply being built */
	char why[REASON_MAX];   /* what was refused */
};

/* One connection to Redis: a non-blocking socket and a reader. */
struct link {
	int fd;                 /* -1: none */
	redisReader *rd;
	struct bounds bd;
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

/* ---- the URL ------------------------------------------------------------ */

/* Copies s[0..len) into out (size bytes); -1 if it does not fit. */
static int
copy_part(char *out, size_t size, const char *s, size_t len)
{
	if (len >= size)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* A decimal number s[0..len) in [lo, hi]; -1 if it is not one. */
static long
parse_number(const char *s, size_t len, long lo, long hi)
{
	long v = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v < lo || v > hi ? -1 : v;
}

/* "[[USER]:PASSWORD@]": fills user and password; returns what follows. */
static const char *
parse_credentials(const char *s, struct bridge_url *u, const char **why)
{
	const char *at = strrchr(s, '@'), *colon;

	if (at == NULL)
		return s;
	colon = memchr(s, ':', (size_t)(at - s));
	if (colon == NULL) {
		*why = "credentials must be ':PASSWORD@' or 'USER:PASSWORD@'";
		return NULL;
	}
	if (copy_part(u->user, sizeof(u->user), s, (size_t)(colon - s)) != 0 ||
	    copy_part(u->password, sizeof(u->password), colon + 1,
	    (size_t)(at - colon - 1)) != 0) {
		*why = "user or password too long";
		return NULL;
	}
	return at + 1;
}

int
bridge_parse_url(const char *url, struct bridge_url *u, char *err,
    size_t errlen)
{
	const char *why = NULL, *s, *end, *port, *db;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "must start with redis://");
		return -1;
	}
	if ((s = parse_credentials(url + 8, u, &why)) == NULL)
		goto bad;
	db = strchr(s, '/');
	end = db ? db : s + strlen(s);
	port = memchr(s, ':', (size_t)(end - s));
	if (copy_part(u->host, sizeof(u->host), s,
	    (size_t)((port ? port : end) - s)) != 0 || u->host[0] == '\0') {
		why = "no host (redis://HOST[:PORT][/DB])";
		goto bad;
	}
	if (port && (u->port = (int)parse_number(port + 1,
	    (size_t)(end - port - 1), 1, 65535)) < 0) {
		why = "the port is not a number from 1 to 65535";
		goto bad;
	}
	if (db && (u->db = (int)parse_number(db + 1, strlen(db + 1), 0,
	    1000000)) < 0) {
		why = "the database is not a number";
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s", why);
	return -1;
}

/* Length of a URL scheme followed by "://" at the start of s, else 0. */
static size_t
scheme_len(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while (s[i] != '\0' && strchr("abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-", s[i]) != NULL)
		i++;
	return strncmp(s + i, "://", 3) == 0 ? i + 3 : 0;
}

const char *
bridge_redact_url(const char *url, char *out, size_t size)
{
	const char *start = url + scheme_len(url), *at = strrchr(start, '@');
	const char *colon;

	if (at == NULL) {
		snprintf(out, size, "%s", url);
		return out;
	}
	colon = memchr(start, ':', (size_t)(at - start));
	snprintf(out, size, "%.*s***%s", (int)((colon ? colon + 1 : start) - url),
	    url, at);
	return out;
}

int
bridge_read_password_file(const char *path, char *out, size_t size,
    char *err, size_t errlen)
{
	/* The longest file taken: the password, then "\r\n". */
	char buf[BRIDGE_PASSWORD_MAX + 2];
	const char *why = NULL;
	size_t len = 0, plen;
	char *eol;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open it: %s", strerror(errno));
		return -1;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read it: %s", strerror(errno));
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	eol = memchr(buf, '\n', len);
	plen = eol ? (size_t)(eol - buf) : len;
	if (plen > 0 && buf[plen - 1] == '\r')
		plen--;
	if (eol && (size_t)(eol - buf) + 1 < len)
		why = "more than one line (the password is the only line)";
	else if (plen >= BRIDGE_PASSWORD_MAX || plen >= size ||
	    (!eol && len == sizeof(buf)))
		why = "longer than 255 bytes";
	else if (plen == 0)
		why = "empty";
	else if (memchr(buf, '\0', plen) != NULL)
		why = "a NUL byte in the password";
	if (why == NULL) {
		memcpy(out, buf, plen);
		out[plen] = '\0';
	} else
		snprintf(err, errlen, "%s", why);
	explicit_bzero(buf, sizeof(buf));
	return why ? -1 : 0;
}

/* ---- replies: bounded before hiredis allocates them -------------------- */

/*
 * Written for hiredis 0.14 (Debian 12's): its object functions and its
 * reader's stack of tasks (rstack).  hiredis 1.x changes both, and parses
 * RESP3 types these functions would have to refuse too.
 */
#if HIREDIS_MAJOR != 0
#error "the reply bounds below are written for hiredis 0.14"
#endif
#define LENGTH_LINE_MAX 24       /* "$N\r\n": N has at most 20 digits */

static void *
bounded_array(const redisReadTask *task, int elements)
{
	struct bounds *bd = task->privdata;

	if (task->parent != NULL) {
		snprintf(bd->why, sizeof(bd->why), "an array inside an array");
		return NULL;
	}
	if (elements > bd->max_elements) {
		snprintf(bd->why, sizeof(bd->why), "an array of %d elements "
		    "(at most %d)", elements, bd->max_elements);
		return NULL;
	}
	return bd->inner->createArray(task, elements);
}

static void *
bounded_string(const redisReadTask *task, char *str, size_t len)
{
	struct bounds *bd = task->privdata;
	size_t max = task->type == REDIS_REPLY_STRING ? bd->max_string :
	    LINE_MAX_BYTES;

	if (len > max || bd->built + len > bd->max_reply) {
		snprintf(bd->why, sizeof(bd->why), "a reply longer than %zu "
		    "bytes", len > max ? max : bd->max_reply);
		return NULL;
	}
	bd->built += len;
	return bd->inner->createString(task, str, len);
}

static void *
bounded_integer(const redisReadTask *task, long long value)
{
	return ((struct bounds *)task->privdata)->inner->createInteger(task,
	    value);
}

static void *
bounded_nil(const redisReadTask *task)
{
	return ((struct bounds *)task->privdata)->inner->createNil(task);
}

/* hiredis calls these for each object of a reply; NULL refuses it (the
 * reader then fails, and bd->why says why). */
static redisReplyObjectFunctions bounded_functions = {
	.createString = bounded_string,
	.createArray = bounded_array,
	.createInteger = bounded_integer,
	.createNil = bounded_nil,
	.freeObject = freeReplyObject,
};

/*
 * The bytes of the reply hiredis is waiting for, checked before it waits
 * for more: a bulk string's announced length at most max_string (refused
 * as soon as its length line is in, before anything of it is buffered),
 * a line (status, error, integer, an array's or a string's length) at
 * most LINE_MAX_BYTES, everything buffered at most max_reply.  hiredis
 * scans an unfinished line from its start at every read; so its length
 * bounds the work too.  True if it may go on; else the reason in bd->why.
 */
static bool
pending_ok(struct link *l)
{
	redisReader *rd = l->rd;
	const char *p = rd->buf + rd->pos, *eol;
	size_t pending = rd->len - rd->pos;
	int type = rd->ridx >= 0 ? rd->rstack[rd->ridx].type : -1;

	if (pending > l->bd.max_reply) {
		snprintf(l->bd.why, sizeof(l->bd.why), "a reply longer than %zu "
		    "bytes", l->bd.max_reply);
		return false;
	}
	if (type != REDIS_REPLY_STRING) {
		if (pending <= LINE_MAX_BYTES)
			return true;
		snprintf(l->bd.why, sizeof(l->bd.why), "a line longer than %d "
		    "bytes", LINE_MAX_BYTES);
		return false;
	}
	eol = memmem(p, pending < LENGTH_LINE_MAX ? pending : LENGTH_LINE_MAX,
	    "\r\n", 2);
	if (eol == NULL) {
		if (pending < LENGTH_LINE_MAX)
			return true;
		snprintf(l->bd.why, sizeof(l->bd.why), "a string length of "
		    "more than %d digits", LENGTH_LINE_MAX - 4);
		return false;
	}
	if (eol > p && p[0] != '-') {
		char digits[LENGTH_LINE_MAX];
		unsigned long long len;

		memcpy(digits, p, (size_t)(eol - p));
		digits[eol - p] = '\0';
		len = strtoull(digits, NULL, 10); /* hiredis checks the rest */
		if (len > l->bd.max_string) {
			snprintf(l->bd.why, sizeof(l->bd.why), "a string of %llu "
			    "bytes (at most %zu)", len, l->bd.max_string);
			return false;
		}
	}
	return true;
}

/* A new reader for `l`, within the limits of its connection. */
static void
link_reader(struct link *l, bool subscribe)
{
	redisReader *rd = redisReaderCreate();

	if (rd == NULL)
		abort(); /* out of memory, as xmalloc */
	l->bd = (struct bounds){ .inner = rd->fn,
	    .max_elements = subscribe ? PUSH_ELEMENTS : 0,
	    .max_string = subscribe ? ENVELOPE_MAX : LINE_MAX_BYTES,
	    .max_reply = subscribe ? PUSH_MAX : LINE_MAX_BYTES + 64 };
	rd->fn = &bounded_functions;
	rd->privdata = &l->bd;
	l->rd = rd;
}

static void
link_close(struct link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	redisReaderFree(l->rd);
	l->rd = NULL;
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

/*
 * The next reply on `l`, waiting until `deadline` (NULL: as long as it
 * takes) or the bridge stops.  0 with *reply, or -1 with the reason in
 * err: the connection failed, or Redis sent something a hub cannot use
 * (nothing of it is allocated past the bounds).  Bridge threads.
 */
static int
link_reply(bridge_t *b, struct link *l, redisReply **reply,
    const struct timespec *deadline, char *err, size_t errlen)
{
	char buf[READ_BUF], why[160];
	void *r;

	for (;;) {
		ssize_t n;

		l->bd.why[0] = '\0';
		if (redisReaderGetReply(l->rd, &r) != REDIS_OK) {
			snprintf(why, sizeof(why), "%s%s", l->bd.why[0] ?
			    "refused a reply: " : "", l->bd.why[0] ? l->bd.why :
			    l->rd->errstr);
			break;
		}
		if (r != NULL) {
			l->bd.built = 0;
			*reply = r;
			return 0;
		}
		if (!pending_ok(l)) {
			snprintf(why, sizeof(why), "refused a reply: %s",
			    l->bd.why);
			break;
		}
		n = recv(l->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			if (redisReaderFeed(l->rd, buf, (size_t)n) != REDIS_OK)
				abort(); /* out of memory: nothing else fails */
			continue;
		}
		if (n == 0) {
			snprintf(why, sizeof(why), "Redis closed the connection");
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			break;
		}
		if (wait_fd(b, l->fd, POLLIN, deadline, "no reply within 2 s",
		    why, sizeof(why)) != 0)
			break;
	}
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

static struct addrinfo *
resolve(bridge_t *b, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *res = NULL;
	struct lookup *q = xcalloc(1, sizeof(*q));
	struct gaicb *list[1] = { &q->cb };
	struct timespec step = { 0, LOOKUP_POLL_MS * 1000000L };
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
	threads_block(TS_COND, "a name lookup");
	while ((rc = gai_error(&q->cb)) == EAI_INPROGRESS &&
	    !atomic_load(&b->stopping))
		gai_suspend((const struct gaicb *const *)list, 1, &step);
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

/* A TCP connection to the URL's host, not blocking; -1 with err set.
 * Waits CONNECT_TIMEOUT_MS at most (after the name lookup). */
static int
tcp_connect(bridge_t *b, char *err, size_t errlen)
{
	struct addrinfo *res = resolve(b, err, errlen), *ai;
	struct timespec deadline = deadline_after_ms(CONNECT_TIMEOUT_MS);
	int fd = -1, one = 1;

	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		socklen_t len = sizeof(int);
		int soerr = 0;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
		    errno != EINPROGRESS)
			soerr = errno;
		else if (wait_fd(b, fd, POLLOUT, &deadline, "connect: no "
		    "answer within 1 s", err, errlen) != 0)
			soerr = -1;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
			soerr = errno;
		if (soerr != 0) {
			if (soerr > 0)
				snprintf(err, errlen, "connect: %s",
				    strerror(soerr));
			close(fd);
			fd = -1;
		}
	}
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
	redisReply *r;
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
	if (r->type == REDIS_REPLY_ERROR) {
		visible(why, sizeof(why), r->str, r->len);
		snprintf(err, errlen, "%s connection: %s refused: %s", l->name,
		    argv[0], why);
		/* AUTH or SELECT refused, or a password Redis wants */
		b->misconfigured = strcmp(argv[0], "PING") != 0 ||
		    strncmp(r->str, "NOAUTH", 6) == 0;
		rc = -1;
	} else if (r->type != REDIS_REPLY_STATUS) {
		snprintf(err, errlen, "%s connection: %s: an answer that is "
		    "not Redis's (is it a Redis server?)", l->name, argv[0]);
		rc = -1;
	}
	freeReplyObject(r);
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
	link_reader(l, l == &b->sub);
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
		snprintf(channels[i], CHANNEL_MAX, "%s:%s", b->prefix,
		    rooms[i]->room);
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

/*
 * Takes the rooms whose wish changed (all of them after a new connection,
 * `all`) and (un)subscribes them.  Rooms no longer wanted and not
 * subscribed leave the set.  Publisher thread; takes b->mu for the set.
 */
static int
apply_subscriptions(bridge_t *b, bool all, char *err, size_t errlen)
{
	struct want *add[SUBSCRIBE_BATCH], *drop[SUBSCRIBE_BATCH], *w, *next;
	size_t n_add, n_drop;
	int rc = 0;

	do {
		n_add = n_drop = 0;
		pthread_mutex_lock(&b->mu);
		if (all) {
			RB_FOREACH(w, want_tree, &b->wants) {
				w->subscribed = false; /* a new connection */
				if (w->wanted && !w->queued) {
					TAILQ_INSERT_TAIL(&b->changes, w, changed);
					w->queued = true;
				}
			}
			all = false;
		}
		TAILQ_FOREACH_SAFE(w, &b->changes, changed, next) {
			if (n_add == SUBSCRIBE_BATCH || n_drop == SUBSCRIBE_BATCH)
				break;
			TAILQ_REMOVE(&b->changes, w, changed);
			w->queued = false;
			if (w->wanted && !w->subscribed)
				add[n_add++] = w;
			else if (!w->wanted && w->subscribed)
				drop[n_drop++] = w;
			else if (!w->wanted) {
				RB_REMOVE(want_tree, &b->wants, w);
				free(w);
				continue;
			}
			w->subscribed = w->wanted;
		}
		/* The names are read below without the lock: a room the
		 * publisher marked (un)subscribed stays in the set until the
		 * publisher itself removes it. */
		pthread_mutex_unlock(&b->mu);
		if (n_add > 0 && send_subscriptions(b, "SUBSCRIBE", add, n_add,
		    err, errlen) != 0)
			rc = -1;
		if (rc == 0 && n_drop > 0 && send_subscriptions(b, "UNSUBSCRIBE",
		    drop, n_drop, err, errlen) != 0)
			rc = -1;
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

	for (size_t i = 0; i < n; i++) {
		const msg_t *m = pubs[i]->m;
		size_t plen = msg_payload_len(m);
		int len = snprintf(heads[i], PUB_HEAD_MAX - ENVELOPE_HEAD,
		    "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s:%s\r\n$%zu\r\n",
		    strlen(b->prefix) + 1 + strlen(pubs[i]->room), b->prefix,
		    pubs[i]->room, ENVELOPE_HEAD + plen);

		memcpy(heads[i] + len, b->hub_id, HUB_ID_LEN);
		heads[i][len + HUB_ID_LEN] = (char)msg_opcode(m);
		iov[3 * i] = (struct iovec){ heads[i],
		    (size_t)len + ENVELOPE_HEAD };
		iov[3 * i + 1] = (struct iovec){ (void *)msg_payload(m), plen };
		iov[3 * i + 2] = (struct iovec){ "\r\n", 2 };
	}
	rc = link_sendv(b, &b->pub, iov, (int)(3 * n), err, errlen);
	while (rc == 0 && done < n) {
		struct timespec deadline = deadline_after_ms(REPLY_TIMEOUT_MS);
		redisReply *r;

		if ((rc = link_reply(b, &b->pub, &r, &deadline, err, errlen))
		    != 0)
			break;
		if (r->type == REDIS_REPLY_INTEGER)
			atomic_fetch_add(&b->st->published, 1);
		else if (r->type == REDIS_REPLY_ERROR)
			atomic_fetch_add(&b->st->dropped, 1);
		else {
			snprintf(err, errlen, "publish connection: PUBLISH got "
			    "an answer that is not Redis's");
			rc = -1;
		}
		freeReplyObject(r);
		if (rc == 0)
			done++;
	}
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

static bool
room_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* The room of a channel named PREFIX:ROOM, ROOM a valid room name (as
 * the handshake takes them: 1 to ROOM_NAME_MAX of A-Z a-z 0-9 . _ -),
 * copied into room; false if the channel is not a room's. */
static bool
channel_room(bridge_t *b, const redisReply *ch, char room[ROOM_NAME_MAX + 1])
{
	size_t plen = strlen(b->prefix), rlen;

	if (ch->type != REDIS_REPLY_STRING || ch->len <= plen + 1 ||
	    ch->len > plen + 1 + ROOM_NAME_MAX ||
	    memcmp(ch->str, b->prefix, plen) != 0 || ch->str[plen] != ':')
		return false;
	rlen = ch->len - plen - 1;
	for (size_t i = 0; i < rlen; i++)
		if (!room_char(ch->str[plen + 1 + i]))
			return false;
	memcpy(room, ch->str + plen + 1, rlen);
	room[rlen] = '\0';
	return true;
}

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
on_push(bridge_t *b, const redisReply *r)
{
	char room[ROOM_NAME_MAX + 1];
	const redisReply *payload;
	size_t len;
	uint8_t opcode;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len != 7 ||
	    memcmp(r->element[0]->str, "message", 7) != 0)
		return; /* a (un)subscribe confirmation */
	payload = r->element[2];
	if (!channel_room(b, r->element[1], room)) {
		reject(b, "its channel is not PREFIX:ROOM");
		return;
	}
	if (payload->type != REDIS_REPLY_STRING ||
	    payload->len < ENVELOPE_HEAD ||
	    ((opcode = (uint8_t)payload->str[HUB_ID_LEN]) != MSG_TEXT &&
	    opcode != MSG_BINARY)) {
		reject(b, "not a wshub envelope");
		return;
	}
	if (memcmp(payload->str, b->hub_id, HUB_ID_LEN) == 0)
		return; /* ours: the hub delivered it already */
	len = payload->len - ENVELOPE_HEAD;
	if (len > b->max_message) {
		reject(b, "larger than --max-message");
		return;
	}
	if (opcode == MSG_TEXT && !utf8_valid(payload->str + ENVELOPE_HEAD,
	    len)) {
		reject(b, "a text message that is not UTF-8");
		return;
	}
	atomic_fetch_add(&b->st->received, 1);
	b->deliver(b->deliver_arg, room, msg_new_frame(opcode,
	    payload->str + ENVELOPE_HEAD, len));
}

/* Reads pushes from `fd` until it fails, is shut down or the bridge
 * stops; why it ended in err.  Subscriber thread; blocks in poll(2) (no
 * timeout: the publisher's shutdown(2) or the stop wakes it) and,
 * through deliver, while the hub's event channel is full. */
static void
read_pushes(bridge_t *b, int fd, char *err, size_t errlen)
{
	struct link l = { .fd = fd, .name = "subscribe" };
	redisReply *r;

	link_reader(&l, true);
	while (link_reply(b, &l, &r, NULL, err, errlen) == 0) {
		on_push(b, r);
		freeReplyObject(r);
	}
	redisReaderFree(l.rd); /* the socket is the publisher's */
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
		eventfd_write(b->stop_fd, 1);
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
			rc = pthread_cond_timedwait(&b->cv, &b->mu, &deadline);
		atomic_store(&b->stopping, true);
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
		eventfd_write(b->stop_fd, 1);
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
