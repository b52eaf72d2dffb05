/* bridge — the link to Redis pub/sub (see bridge.h for the design). */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <unistd.h>

#include "wshub/bridge.h"
#include "wshub/chan.h"
#include "wshub/config.h"
#include "wshub/deadline.h"
#include "wshub/log.h"
#include "wshub/threads.h"
#include "wshub/xmalloc.h"

#define BRIDGE_BATCH 64          /* publishes per round trip to Redis */
#define BRIDGE_CONTROL_LEN 16    /* wake-ups and reconnects, pending */
#define CONNECT_TIMEOUT_MS 1000
#define REPLY_TIMEOUT_MS 2000    /* a Redis that stops answering is down */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SUBSCRIBE_BATCH 256      /* channels per SUBSCRIBE command */
#define READ_BUF 16384
#define HUB_ID_LEN 8
#define ENVELOPE_HEAD (HUB_ID_LEN + 1)
#define CHANNEL_MAX (64 + 1 + ROOM_NAME_MAX + 1)

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

/* Control items on the priority lane (their addresses are the items). */
static char wake_token;      /* the wanted rooms changed */
static char reconnect_token; /* the subscriber's socket failed */

struct bridge {
	struct bridge_url url;
	char prefix[64];
	uint8_t hub_id[HUB_ID_LEN];
	bridge_deliver_fn deliver;
	void *deliver_arg;
	struct bridge_stats *st;
	chan_t *cmds;               /* struct pub *, and the tokens */
	pthread_t publisher, subscriber;
	bool started;

	pthread_mutex_t mu;
	pthread_cond_t cv;          /* sub_fd, gen, sub_busy, stopping */
	struct want_tree wants;
	struct want_list changes;
	int sub_fd;                 /* -1 while not connected */
	uint64_t gen;               /* counts the subscribe sockets handed out */
	bool sub_busy;              /* the subscriber reads sub_fd */
	bool stopping;
	atomic_ullong failed_gen;   /* the subscriber's socket that failed */

	/* Publisher thread only. */
	redisContext *pub_ctx, *sub_ctx;
	bool ever_connected;
	bool outage_logged;
	char *envelope;             /* reused for each PUBLISH */
	size_t envelope_cap;
};

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

/* ---- connecting (publisher thread) ------------------------------------- */

static struct timeval
ms_to_timeval(int ms)
{
	return (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
}

/* Sends a command and checks its reply; -1 with a reason in err.
 * Publisher thread; blocks up to REPLY_TIMEOUT_MS for the reply. */
static int
command_ok(redisContext *c, const char *what, int argc, const char **argv,
    char *err, size_t errlen)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	int rc = 0;

	if (r == NULL) {
		snprintf(err, errlen, "%s: %s%s", what, c->errstr,
		    c->err == REDIS_ERR_PROTOCOL ? " (is it a Redis server?)" : "");
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s refused: %s", what, r->str);
		rc = -1;
	}
	freeReplyObject(r);
	return rc;
}

/* One connection: connect, AUTH, SELECT, PING.  NULL with err set.
 * Publisher thread; blocks up to CONNECT_TIMEOUT_MS (plus the name
 * lookup) to connect, then up to REPLY_TIMEOUT_MS per command. */
static redisContext *
dial(bridge_t *b, char *err, size_t errlen)
{
	const struct bridge_url *u = &b->url;
	redisContext *c = redisConnectWithTimeout(u->host, u->port,
	    ms_to_timeval(CONNECT_TIMEOUT_MS));
	char db[16];
	const char *auth[] = { "AUTH", u->user, u->password };
	const char *select[] = { "SELECT", db };
	const char *ping[] = { "PING" };

	if (c == NULL || c->err) {
		snprintf(err, errlen, "connect to %s:%d: %s", u->host, u->port,
		    c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, ms_to_timeval(REPLY_TIMEOUT_MS));
	snprintf(db, sizeof(db), "%d", u->db);
	if ((u->password[0] && (u->user[0] ?
	    command_ok(c, "AUTH", 3, auth, err, errlen) :
	    command_ok(c, "AUTH", 2, (const char *[]){ "AUTH", u->password },
	    err, errlen)) != 0) ||
	    (u->db && command_ok(c, "SELECT", 2, select, err, errlen) != 0) ||
	    command_ok(c, "PING", 1, ping, err, errlen) != 0) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Writes all of buf to the subscribe socket (publisher: its only writer).
 * Blocks while Redis does not read, up to REPLY_TIMEOUT_MS (hiredis set
 * it as the socket's send timeout). */
static int
sub_write(bridge_t *b, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(b->sub_ctx->fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* SUBSCRIBE or UNSUBSCRIBE `n` rooms' channels in one command. */
static int
send_subscriptions(bridge_t *b, const char *verb, struct want **rooms,
    size_t n)
{
	const char *argv[SUBSCRIBE_BATCH + 1];
	char channels[SUBSCRIBE_BATCH][CHANNEL_MAX];
	char *cmd;
	int len, rc;

	argv[0] = verb;
	for (size_t i = 0; i < n; i++) {
		snprintf(channels[i], CHANNEL_MAX, "%s:%s", b->prefix,
		    rooms[i]->room);
		argv[i + 1] = channels[i];
	}
	if ((len = redisFormatCommandArgv(&cmd, (int)n + 1, argv, NULL)) < 0)
		return -1;
	rc = sub_write(b, cmd, (size_t)len);
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
apply_subscriptions(bridge_t *b, bool all)
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
		if (n_add > 0 && send_subscriptions(b, "SUBSCRIBE", add, n_add))
			rc = -1;
		if (n_drop > 0 && send_subscriptions(b, "UNSUBSCRIBE", drop,
		    n_drop))
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
	struct timeval none = { 0, 0 };

	/* The subscriber waits for messages as long as it takes. */
	setsockopt(b->sub_ctx->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	pthread_mutex_lock(&b->mu);
	b->sub_fd = b->sub_ctx->fd;
	b->gen++;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Both connections, subscribed to every wanted room; -1 on a failure. */
static int
connect_all(bridge_t *b)
{
	char err[512];

	if ((b->pub_ctx = dial(b, err, sizeof(err))) == NULL ||
	    (b->sub_ctx = dial(b, err, sizeof(err))) == NULL) {
		if (!b->outage_logged)
			log_warn("redis %s:%d: %s; local delivery goes on, "
			    "retrying", b->url.host, b->url.port, err);
		b->outage_logged = true;
		redisFree(b->pub_ctx);
		b->pub_ctx = NULL;
		return -1;
	}
	if (apply_subscriptions(b, true) != 0) {
		redisFree(b->pub_ctx);
		redisFree(b->sub_ctx);
		b->pub_ctx = b->sub_ctx = NULL;
		return -1;
	}
	hand_over(b);
	if (b->ever_connected)
		atomic_fetch_add(&b->st->reconnects, 1);
	log_info("redis %s:%d: connected%s", b->url.host, b->url.port,
	    b->ever_connected ? " again" : "");
	b->ever_connected = true;
	b->outage_logged = false;
	atomic_store(&b->st->connected, 1);
	return 0;
}

/* Drops both connections; waits until the subscriber let go of its
 * socket before closing it. */
static void
disconnect_all(bridge_t *b)
{
	if (b->pub_ctx == NULL)
		return;
	atomic_store(&b->st->connected, 0);
	pthread_mutex_lock(&b->mu);
	shutdown(b->sub_fd, SHUT_RDWR); /* wakes the subscriber's read */
	b->sub_fd = -1;
	while (b->sub_busy)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	redisFree(b->pub_ctx);
	redisFree(b->sub_ctx);
	b->pub_ctx = b->sub_ctx = NULL;
}

/* ---- the publisher thread ------------------------------------------------ */

/* The envelope of `m` from this hub in b->envelope; its length. */
static size_t
envelope(bridge_t *b, const msg_t *m)
{
	size_t len = ENVELOPE_HEAD + msg_payload_len(m);

	if (len > b->envelope_cap) {
		b->envelope_cap = len * 2;
		b->envelope = xreallocarray(b->envelope, b->envelope_cap, 1);
	}
	memcpy(b->envelope, b->hub_id, HUB_ID_LEN);
	b->envelope[HUB_ID_LEN] = (char)msg_opcode(m);
	memcpy(b->envelope + ENVELOPE_HEAD, msg_payload(m), msg_payload_len(m));
	return len;
}

/* Queues one PUBLISH on the publish connection (sent by the next read). */
static void
append_publish(bridge_t *b, const struct pub *p)
{
	char channel[CHANNEL_MAX];
	const char *argv[3] = { "PUBLISH", channel, NULL };
	size_t lens[3];

	lens[1] = (size_t)snprintf(channel, sizeof(channel), "%s:%s", b->prefix,
	    p->room);
	lens[0] = 7;
	lens[2] = envelope(b, p->m);
	argv[2] = b->envelope;
	redisAppendCommandArgv(b->pub_ctx, 3, argv, lens);
}

/* Reads the replies to `n` queued PUBLISH commands; -1 on a failure.
 * Publisher thread; blocks up to REPLY_TIMEOUT_MS for each. */
static int
read_publish_replies(bridge_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		redisReply *r;

		if (redisGetReply(b->pub_ctx, (void **)&r) != REDIS_OK) {
			log_warn("redis %s:%d: %s", b->url.host, b->url.port,
			    b->pub_ctx->errstr);
			return -1;
		}
		if (r->type == REDIS_REPLY_ERROR)
			atomic_fetch_add(&b->st->dropped, 1);
		else
			atomic_fetch_add(&b->st->published, 1);
		freeReplyObject(r);
	}
	return 0;
}

static void
pub_free(struct pub *p)
{
	msg_unref(p->m);
	free(p);
}

/*
 * True if Redis closed the idle publish connection (its `timeout`
 * setting): it is readable while no reply is due.  Checked before a batch,
 * so the batch goes on a fresh connection instead of being lost.
 */
static bool
publish_conn_closed(bridge_t *b)
{
	struct pollfd p = { .fd = b->pub_ctx->fd, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

/*
 * One round while connected: publishes what came (one round trip for the
 * batch), (un)subscribes the rooms that changed.  -1 if a connection
 * failed (or the subscriber's did).
 */
static int
publish_round(bridge_t *b, void **items, size_t n)
{
	size_t queued = 0;
	bool failed = false;

	if (publish_conn_closed(b)) {
		disconnect_all(b);
		if (connect_all(b) != 0) {
			for (size_t i = 0; i < n; i++)
				if (items[i] != &wake_token &&
				    items[i] != &reconnect_token) {
					atomic_fetch_add(&b->st->dropped, 1);
					pub_free(items[i]);
				}
			return 0; /* the loop retries with backoff */
		}
	}

	for (size_t i = 0; i < n; i++) {
		if (items[i] == &reconnect_token)
			failed |= atomic_load(&b->failed_gen) == b->gen;
		else if (items[i] != &wake_token) {
			append_publish(b, items[i]);
			pub_free(items[i]);
			queued++;
		}
	}
	if (queued > 0 && read_publish_replies(b, queued) != 0)
		failed = true;
	if (!failed && apply_subscriptions(b, false) != 0)
		failed = true;
	return failed ? -1 : 0;
}

/* While Redis is down: publishes are dropped and counted until the
 * deadline.  False once the channel is closed (the bridge stops). */
static bool
wait_out_backoff(bridge_t *b, int64_t ms)
{
	struct timespec deadline = deadline_after_ms(ms);
	void *items[BRIDGE_BATCH];
	size_t n;

	for (;;) {
		int rc = chan_recv_many(b->cmds, items, BRIDGE_BATCH, &n,
		    &deadline);

		if (rc == CHAN_CLOSED)
			return false;
		if (rc == CHAN_TIMEOUT)
			return true;
		for (size_t i = 0; i < n; i++)
			if (items[i] != &wake_token && items[i] != &reconnect_token) {
				atomic_fetch_add(&b->st->dropped, 1);
				pub_free(items[i]);
			}
	}
}

/* Go: for { select { case m := <-pub: ... } }, with reconnection. */
static void *
publisher_main(void *arg)
{
	bridge_t *b = arg;
	struct thread_entry self;
	void *items[BRIDGE_BATCH];
	int64_t backoff = BACKOFF_MIN_MS;
	size_t n;

	threads_enter(&self, ROLE_REDIS_PUB, 0, NULL, NULL, NULL);
	for (;;) {
		if (b->pub_ctx == NULL && connect_all(b) != 0) {
			/* Jittered, so many hubs do not all come back at once. */
			int64_t ms = backoff / 2 + arc4random_uniform(
			    (uint32_t)backoff / 2 + 1);

			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			    backoff * 2;
			if (!wait_out_backoff(b, ms))
				break;
			continue;
		}
		backoff = BACKOFF_MIN_MS;
		if (chan_recv_many(b->cmds, items, BRIDGE_BATCH, &n, NULL) ==
		    CHAN_CLOSED)
			break;
		if (publish_round(b, items, n) != 0)
			disconnect_all(b);
	}
	disconnect_all(b);
	threads_leave();
	return NULL;
}

/* ---- the subscriber thread ----------------------------------------------- */

/* The room of a channel named PREFIX:ROOM, or NULL. */
static const char *
channel_room(bridge_t *b, const redisReply *ch)
{
	size_t plen = strlen(b->prefix);

	if (ch->type != REDIS_REPLY_STRING || ch->len <= plen + 1 ||
	    ch->len > plen + 1 + ROOM_NAME_MAX ||
	    memcmp(ch->str, b->prefix, plen) != 0 || ch->str[plen] != ':')
		return NULL;
	return ch->str + plen + 1;
}

/* One push from Redis: a message from another hub goes to the hub. */
static void
on_push(bridge_t *b, const redisReply *r)
{
	const redisReply *payload;
	const char *room;
	uint8_t opcode;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0)
		return; /* a (un)subscribe confirmation */
	payload = r->element[2];
	if ((room = channel_room(b, r->element[1])) == NULL ||
	    payload->type != REDIS_REPLY_STRING ||
	    payload->len < ENVELOPE_HEAD)
		return;
	opcode = (uint8_t)payload->str[HUB_ID_LEN];
	if (opcode != MSG_TEXT && opcode != MSG_BINARY) {
		log_debug("redis: a message on %s is not a wshub envelope",
		    r->element[1]->str);
		return;
	}
	if (memcmp(payload->str, b->hub_id, HUB_ID_LEN) == 0)
		return; /* ours: the hub delivered it already */
	atomic_fetch_add(&b->st->received, 1);
	b->deliver(b->deliver_arg, room, msg_new_frame(opcode,
	    payload->str + ENVELOPE_HEAD, payload->len - ENVELOPE_HEAD));
}

/* Reads pushes from `fd` until it fails or is shut down.  Subscriber
 * thread; blocks in read(2) (no timeout: the publisher's shutdown(2)
 * wakes it) and, through deliver, while the hub's event channel is full. */
static void
read_pushes(bridge_t *b, int fd)
{
	redisReader *reader = redisReaderCreate();
	char buf[READ_BUF];
	void *reply;

	for (;;) {
		ssize_t n;

		threads_block(TS_POLL_READ, NULL);
		n = read(fd, buf, sizeof(buf));
		threads_run();
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || redisReaderFeed(reader, buf, (size_t)n) != REDIS_OK)
			break;
		while (redisReaderGetReply(reader, &reply) == REDIS_OK &&
		    reply != NULL) {
			on_push(b, reply);
			freeReplyObject(reply);
		}
		if (reader->err)
			break;
	}
	redisReaderFree(reader);
}

/* Go: for { m := <-redis; hub.broadcast <- m }, one socket after another. */
static void *
subscriber_main(void *arg)
{
	bridge_t *b = arg;
	struct thread_entry self;
	uint64_t seen = 0;
	int fd;

	threads_enter(&self, ROLE_REDIS_SUB, 0, NULL, NULL, NULL);
	for (;;) {
		pthread_mutex_lock(&b->mu);
		threads_block(TS_COND, "a Redis connection");
		while (!b->stopping && (b->sub_fd < 0 || b->gen == seen))
			pthread_cond_wait(&b->cv, &b->mu);
		threads_run();
		if (b->stopping) {
			pthread_mutex_unlock(&b->mu);
			break;
		}
		fd = b->sub_fd;
		seen = b->gen;
		b->sub_busy = true;
		pthread_mutex_unlock(&b->mu);
		read_pushes(b, fd);
		pthread_mutex_lock(&b->mu);
		b->sub_busy = false;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
		atomic_store(&b->failed_gen, seen);
		chan_send_priority(b->cmds, &reconnect_token); /* FULL: pending */
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
	char err[256];
	int rc = bridge_parse_url(cfg->url, &b->url, err, sizeof(err));

	if (rc != 0) { /* the caller checked the flag: a bug */
		log_error("redis URL %s: %s", cfg->url, err);
		abort();
	}
	snprintf(b->prefix, sizeof(b->prefix), "%s", cfg->prefix);
	arc4random_buf(b->hub_id, sizeof(b->hub_id));
	b->deliver = deliver;
	b->deliver_arg = arg;
	b->st = st;
	b->cmds = chan_new(cfg->queue_len, BRIDGE_CONTROL_LEN);
	chan_set_name(b->cmds, "redis publishes");
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	RB_INIT(&b->wants);
	TAILQ_INIT(&b->changes);
	b->sub_fd = -1;
	return b;
}

int
bridge_start(bridge_t *b)
{
	int err;

	if ((err = pthread_create(&b->publisher, NULL, publisher_main, b)) != 0)
		return err;
	if ((err = pthread_create(&b->subscriber, NULL, subscriber_main, b))
	    != 0) {
		chan_close(b->cmds);
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
	chan_send_priority(b->cmds, &wake_token); /* FULL: a wake is pending */
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
	void *item;

	if (b == NULL)
		return;
	if (b->started) {
		pthread_mutex_lock(&b->mu);
		b->stopping = true;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
		chan_close(b->cmds);           /* the publisher ends... */
		pthread_join(b->publisher, NULL); /* ...and shuts the socket */
		pthread_join(b->subscriber, NULL);
	}
	while (chan_try_recv(b->cmds, &item) == CHAN_OK)
		if (item != &wake_token && item != &reconnect_token)
			pub_free(item);
	while ((w = RB_MIN(want_tree, &b->wants)) != NULL) {
		RB_REMOVE(want_tree, &b->wants, w);
		free(w);
	}
	chan_free(b->cmds);
	free(b->envelope);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}
