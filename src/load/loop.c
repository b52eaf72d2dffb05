/*
 * loop — one event-loop thread and the clients it owns (see loop.h).
 *
 * DESIGN
 * One thread, one epoll set, many non-blocking sockets: where the server
 * spends a thread (and its stack) per connection, the load client spends
 * about 9 KiB of heap (a struct client and a wslay context; over wss://
 * a GnuTLS session adds about 12 KiB), so one process can hold more
 * connections than the machine has threads.
 *
 * Everything in struct loop except `mu`/`snap_*` and the two channels is
 * touched only by the loop thread.  Each turn of the loop:
 *   1. epoll_wait, at most until the next timed thing (a client to open,
 *      a message to send, a handshake to expire, a publication, the close
 *      deadline); the eventfd wakes it for a command.
 *   2. Handle socket events (client_event) and commands.
 *   3. tick(): open due clients, send due messages, expire handshakes,
 *      publish counters, report "settled" once.
 *
 * Sending is open-loop: message m of a round is due at
 * start + m / (senders * rate) seconds and goes to sender m % senders, so
 * each sender sends every 1/rate seconds, the senders evenly staggered.  A
 * loop that falls behind sends the overdue messages at once; it never
 * waits for replies before sending.  The timestamp in each payload is the
 * moment it was encoded.
 */
#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "client.h"
#include "loop.h"
#include "payload.h"
#include "wshub/xmalloc.h"

#define EVENTS_PER_WAIT 512
#define EXPIRE_SCAN_MS 250     /* handshake timeouts are checked this often */
#define LOOP_CMD_CAP 16

struct loop {
	uint32_t id;
	uint32_t nloops;
	const struct load_config *cfg;
	pthread_t thread;
	int epfd;
	int wakefd;
	chan_t *cmds;
	chan_t *events;
	struct client_env env;
	struct client *clients;        /* local j is global id + j * nloops */
	uint32_t nclients;
	uint32_t next_open;            /* local index of the next to connect */
	uint32_t inflight;             /* this loop's share of --inflight */
	int64_t t0_ns;                 /* the ramp's start */
	bool settled;                  /* EV_SETTLED sent */
	bool sending;                  /* a round is in progress */
	uint64_t slot;                 /* next message number of the round */
	struct loop_cmd send;          /* the round's CMD_SEND */
	uint8_t *msgbuf;               /* one payload, cfg->bytes */
	bool closing;
	int64_t close_deadline_ns;
	bool stop;
	int64_t next_expire_ns;
	int64_t next_publish_ns;
	struct conn_stats cs;
	struct round_stats rs;
	pthread_mutex_t mu;            /* guards snap_cs and snap_rs */
	struct conn_stats snap_cs;
	struct round_stats snap_rs;
};

/* Builds a loop and its clients; the thread starts in loop_start. */
struct loop *
loop_new(uint32_t id, const struct load_config *cfg, int64_t t0_ns,
    chan_t *events, struct plan_open *open)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	l->id = id;
	l->nloops = cfg->threads;
	l->cfg = cfg;
	l->t0_ns = t0_ns;
	l->events = events;
	l->cmds = chan_new(LOOP_CMD_CAP, 0);
	l->nclients = cfg->conns / l->nloops + (id < cfg->conns % l->nloops);
	l->clients = xcalloc(l->nclients, sizeof(*l->clients));
	l->inflight = cfg->inflight / l->nloops ? cfg->inflight / l->nloops : 1;
	l->msgbuf = xmalloc(cfg->bytes);
	l->env = (struct client_env){ .cfg = cfg, .cs = &l->cs, .rs = &l->rs,
	    .open = open, .rbuf = xmalloc(READ_BUF_BYTES),
	    .masks_used = CLIENT_MASK_POOL };
	for (uint32_t j = 0; j < l->nclients; j++)
		client_init(&l->clients[j], &l->env, id + j * l->nloops);
	stats_conn_init(&l->cs);
	stats_round_init(&l->rs, 0);
	pthread_mutex_init(&l->mu, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->epfd < 0 || l->wakefd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0)
		err(1, "loop %u: epoll/eventfd", id);
	l->env.epfd = l->epfd;
	return l;
}

/* Copies the counters for the main thread. */
static void
publish(struct loop *l, int64_t now)
{
	pthread_mutex_lock(&l->mu);
	l->snap_cs = l->cs;
	l->snap_rs = l->rs;
	pthread_mutex_unlock(&l->mu);
	l->next_publish_ns = now + LOOP_PUBLISH_MS * NSEC_PER_MSEC;
}

/* Tells the main thread something; it frees the event. */
static void
tell(struct loop *l, enum loop_event_kind kind)
{
	struct loop_event *ev = xmalloc(sizeof(*ev));

	ev->kind = kind;
	ev->loop_id = l->id;
	chan_send(l->events, ev);
}

/* When client `j` (local) may connect: t0 + global index / ramp. */
static int64_t
open_time(const struct loop *l, uint32_t j)
{
	uint64_t g = l->id + (uint64_t)j * l->nloops;

	if (l->cfg->ramp == 0)
		return l->t0_ns;
	return l->t0_ns + (int64_t)(g * NSEC_PER_SEC / l->cfg->ramp);
}

/* Connects the clients that are due, keeping `inflight` handshakes. */
static void
open_due(struct loop *l, int64_t now)
{
	while (!l->closing && l->next_open < l->nclients &&
	    l->env.pending < l->inflight &&
	    open_time(l, l->next_open) <= now)
		client_connect(&l->clients[l->next_open++]);
}

/* When message `m` of the round is due. */
static int64_t
slot_time(const struct loop *l, uint64_t m)
{
	uint64_t per_s = (uint64_t)l->send.senders * l->send.rate;

	return l->send.start_ns + (int64_t)(m * NSEC_PER_SEC / per_s);
}

/*
 * Sends message `m` if its sender is ours; counts it, due at every
 * connection open in the sender's room at this moment.
 */
static void
send_slot(struct loop *l, uint64_t m)
{
	uint32_t k = (uint32_t)(m % l->send.senders);
	struct client *c;
	struct payload p;
	struct plan_expect due;

	if (k % l->nloops != l->id)
		return;
	c = &l->clients[k / l->nloops];
	p = (struct payload){ .round = l->send.round, .sender = k,
	    .seq = m / l->send.senders, .sent_ns = (uint64_t)mono_ns() };
	payload_encode(l->msgbuf, l->cfg->bytes, l->cfg->kind, &p);
	if (client_send(c, (uint8_t)l->cfg->kind, l->msgbuf,
	    l->cfg->bytes) < 0) {
		l->rs.skipped++;
		return;
	}
	due = plan_expected(l->env.open, &l->cfg->plan, k);
	stats_round_sent(&l->rs, plan_size_of(&l->cfg->plan,
	    plan_room(&l->cfg->plan, k)), due.same_url, due.other_url);
}

/* Sends every message that is due; ends the round's sending at end_ns. */
static void
send_due(struct loop *l, int64_t now)
{
	int64_t t;

	while (l->sending && (t = slot_time(l, l->slot)) <= now) {
		if (t >= l->send.end_ns) {
			l->sending = false;
			l->rs.sending_done = true;
			publish(l, now);
			break;
		}
		send_slot(l, l->slot++);
	}
}

/* Fails handshakes older than UPGRADE_TIMEOUT_MS. */
static void
expire(struct loop *l, int64_t now)
{
	int64_t before = now - UPGRADE_TIMEOUT_MS * NSEC_PER_MSEC;

	if (now < l->next_expire_ns || l->env.pending == 0)
		return;
	l->next_expire_ns = now + EXPIRE_SCAN_MS * NSEC_PER_MSEC;
	for (uint32_t j = 0; j < l->next_open; j++)
		client_expire(&l->clients[j], before);
}

/* Closes the clients: gracefully first, by force at the deadline. */
static void
close_progress(struct loop *l, int64_t now)
{
	if (l->env.live > 0 && now < l->close_deadline_ns)
		return;
	for (uint32_t j = 0; j < l->nclients; j++)
		client_abort(&l->clients[j]);
	publish(l, now);
	tell(l, EV_CLOSED);
	l->stop = true;
}

/* Everything timed, after the socket events of one epoll_wait. */
static void
tick(struct loop *l)
{
	int64_t now = mono_ns();

	open_due(l, now);
	send_due(l, now);
	expire(l, now);
	if (l->closing)
		close_progress(l, now);
	if (!l->settled && l->next_open == l->nclients && l->env.pending == 0) {
		l->settled = true;
		publish(l, now);
		tell(l, EV_SETTLED);
	}
	if (now >= l->next_publish_ns)
		publish(l, now);
}

/* Milliseconds epoll_wait may sleep: until the earliest timed thing. */
static int
timeout_ms(const struct loop *l)
{
	int64_t now = mono_ns(), next = l->next_publish_ns;

	if (!l->closing && l->next_open < l->nclients &&
	    l->env.pending < l->inflight)
		next = next < open_time(l, l->next_open) ? next :
		    open_time(l, l->next_open);
	if (l->sending && slot_time(l, l->slot) < next)
		next = slot_time(l, l->slot);
	if (l->env.pending > 0 && l->next_expire_ns < next)
		next = l->next_expire_ns;
	if (l->closing && l->close_deadline_ns < next)
		next = l->close_deadline_ns;
	if (next <= now)
		return 0;
	return (int)((next - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
}

/* Carries out one command from the main thread. */
static void
obey(struct loop *l, const struct loop_cmd *cmd)
{
	switch (cmd->op) {
	case CMD_SEND:
		l->send = *cmd;
		l->slot = 0;
		l->sending = true;
		stats_round_init(&l->rs, cmd->round);
		break;
	case CMD_SNAPSHOT:
		publish(l, mono_ns());
		tell(l, EV_SNAPSHOT);
		break;
	case CMD_CLOSE:
		l->closing = true;
		l->sending = false;
		l->close_deadline_ns = cmd->deadline_ns;
		for (uint32_t j = 0; j < l->nclients; j++)
			client_close(&l->clients[j]);
		break;
	}
}

/* The eventfd fired: run every queued command. */
static void
commands(struct loop *l)
{
	uint64_t n;
	void *item;

	while (read(l->wakefd, &n, sizeof(n)) > 0)
		continue;
	while (chan_try_recv(l->cmds, &item) == CHAN_OK) {
		obey(l, item);
		free(item);
	}
}

/* The loop thread: runs until CMD_CLOSE has closed every client. */
static void *
loop_main(void *arg)
{
	struct loop *l = arg;
	struct epoll_event *evs = xcalloc(EVENTS_PER_WAIT, sizeof(*evs));

	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, EVENTS_PER_WAIT,
		    timeout_ms(l));

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				commands(l);
			else
				client_event(evs[i].data.ptr, evs[i].events);
		}
		tick(l);
	}
	free(evs);
	return NULL;
}

/* Starts the loop thread (Go: `go loop()`). */
void
loop_start(struct loop *l)
{
	int rc = pthread_create(&l->thread, NULL, loop_main, l);

	if (rc != 0)
		errc(1, rc, "loop %u: pthread_create", l->id);
}

/* Main thread -> loop: queue the command, then poke the eventfd. */
void
loop_command(struct loop *l, const struct loop_cmd *cmd)
{
	struct loop_cmd *copy = xmalloc(sizeof(*copy));
	uint64_t one = 1;

	*copy = *cmd;
	chan_send(l->cmds, copy);
	while (write(l->wakefd, &one, sizeof(one)) < 0 && errno == EINTR)
		continue;
}

/* Copies the loop's last publication, under its mutex. */
void
loop_snapshot(struct loop *l, struct conn_stats *cs, struct round_stats *rs)
{
	pthread_mutex_lock(&l->mu);
	if (cs != NULL)
		*cs = l->snap_cs;
	if (rs != NULL)
		*rs = l->snap_rs;
	pthread_mutex_unlock(&l->mu);
}

/* Waits for the loop thread to return. */
void
loop_join(struct loop *l)
{
	pthread_join(l->thread, NULL);
}

/* Releases everything the loop owns. */
void
loop_free(struct loop *l)
{
	void *item;

	if (l == NULL)
		return;
	for (uint32_t j = 0; j < l->nclients; j++)
		client_abort(&l->clients[j]);
	while (chan_try_recv(l->cmds, &item) == CHAN_OK)
		free(item);
	chan_free(l->cmds);
	close(l->epfd);
	close(l->wakefd);
	pthread_mutex_destroy(&l->mu);
	free(l->env.rbuf);
	free(l->msgbuf);
	free(l->clients);
	free(l);
}
