/*
 * server — the front door, the hub and the reaper, started and stopped
 * together (see server.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "wshub/bridge.h"
#include "wshub/conn.h"
#include "wshub/deadline.h"
#include "wshub/frontdoor.h"
#include "wshub/hub.h"
#include "wshub/log.h"
#include "wshub/server.h"
#include "wshub/threads.h"
#include "wshub/xmalloc.h"

#define HUB_QUEUE_LEN 4096
#define REAPER_QUEUE_LEN 1024

TAILQ_HEAD(live_list, conn_live_link);

struct server {
	const struct config *cfg;
	struct stats stats;
	hub_t *hub;
	bridge_t *bridge;       /* --redis: the link to other hubs, or NULL */
	frontdoor_t *door;
	struct conn_env env;    /* what every connection shares */

	/* The reaper: finished connections arrive on env.reaper. */
	pthread_t reaper;
	pthread_mutex_t mu;
	pthread_cond_t all_reaped;
	long live;      /* connections started and not yet reaped; mu */
	struct live_list live_conns; /* the same connections; mu */
};

/* A new connection, about to start its threads.  Front door thread. */
static void
conn_started(void *arg, conn_t *c)
{
	server_t *s = arg;

	pthread_mutex_lock(&s->mu);
	s->live++;
	TAILQ_INSERT_TAIL(&s->live_conns, conn_live_link(c), entry);
	pthread_mutex_unlock(&s->mu);
}

/* A message from another hub, for this hub's clients of `room`. */
static void
deliver_remote(void *arg, const char *room, msg_t *m)
{
	hub_deliver_remote(arg, room, m); /* -1 once the hub stopped: freed */
}

/* The hub's relay, when there is a bridge: the bridge's three calls. */
static void
relay_opened(void *arg, const char *room)
{
	bridge_subscribe(arg, room);
}

static void
relay_closed(void *arg, const char *room)
{
	bridge_unsubscribe(arg, room);
}

static void
relay_publish(void *arg, const char *room, msg_t *m)
{
	bridge_publish(arg, room, m);
}

/* --redis: a bridge to other hubs, the hub's relay. */
static void
attach_bridge(server_t *s)
{
	struct bridge_config bc = { .url = s->cfg->redis_url,
	    .password = s->cfg->redis_password,
	    .prefix = s->cfg->redis_prefix, .queue_len = REDIS_QUEUE_LEN,
	    .max_message = s->cfg->max_message };

	s->bridge = bridge_new(&bc, deliver_remote, s->hub, &s->stats.redis);
	hub_set_relay(s->hub, &(struct hub_relay){ .room_opened = relay_opened,
	    .room_closed = relay_closed, .publish = relay_publish,
	    .arg = s->bridge });
}

/* Connections started and not yet reaped.  Any thread. */
static long
live_connections(void *arg)
{
	server_t *s = arg;
	long n;

	pthread_mutex_lock(&s->mu);
	n = s->live;
	pthread_mutex_unlock(&s->mu);
	return n;
}

server_t *
server_new(const struct config *cfg, char *err, size_t errlen)
{
	server_t *s = xcalloc(1, sizeof(*s));
	struct frontdoor_env door;

	s->cfg = cfg;
	stats_init(&s->stats);
	pthread_mutex_init(&s->mu, NULL);
	deadline_cond_init(&s->all_reaped); /* timed waits: monotonic */
	TAILQ_INIT(&s->live_conns);
	s->hub = hub_new(&s->stats, HUB_QUEUE_LEN, (size_t)cfg->max_rooms);
	if (cfg->redis_url != NULL)
		attach_bridge(s);
	s->env = (struct conn_env){ .cfg = cfg, .hub = s->hub,
	    .stats = &s->stats, .reaper = chan_new(REAPER_QUEUE_LEN, 0) };
	chan_set_name(s->env.reaper, "reaper");
	door = (struct frontdoor_env){ .cfg = cfg, .stats = &s->stats,
	    .hub = s->hub, .conn_env = &s->env, .started = conn_started,
	    .live = live_connections, .arg = s };
	if ((s->door = frontdoor_new(&door, err, errlen)) == NULL) {
		server_free(s);
		return NULL;
	}
	return s;
}

const char *
server_address(const server_t *s)
{
	return frontdoor_address(s->door);
}

uint16_t
server_port(const server_t *s)
{
	return frontdoor_port(s->door);
}

const struct config *
server_config(const server_t *s)
{
	return s->cfg;
}

struct stats *
server_stats(server_t *s)
{
	return &s->stats;
}

void
server_stop(server_t *s)
{
	frontdoor_stop(s->door);
}

/* ---- the reaper ---------------------------------------------------------- */

/* Joins finished connections' threads and frees them (Go needs no such
 * thing: a goroutine's end is its own). */
static void *
reaper_main(void *arg)
{
	server_t *s = arg;
	struct thread_entry self;
	void *c;

	threads_enter(&self, ROLE_REAPER, 0, NULL, NULL, NULL);
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
	threads_leave();
	return NULL;
}

/* ---- running and stopping ------------------------------------------------ */

/*
 * Waits until every connection is reaped.  At the deadline it shuts the
 * remaining sockets down, so that every thread blocked on one (a read, a
 * poll, a write to a client that stopped reading) wakes up and finishes
 * at once, and waits for those.  Front door, on shutdown.
 */
static void
await_connections(server_t *s, struct timespec deadline)
{
	struct conn_live_link *link;
	int rc = 0;

	threads_block(TS_COND, "every connection reaped");
	pthread_mutex_lock(&s->mu);
	while (s->live > 0 && rc != ETIMEDOUT)
		rc = deadline_cond_timedwait(&s->all_reaped, &s->mu, &deadline);
	if (s->live > 0) {
		log_info("shutdown timeout: aborting %ld connection(s)", s->live);
		TAILQ_FOREACH(link, &s->live_conns, entry)
			conn_shutdown(link->conn);
	}
	while (s->live > 0)
		pthread_cond_wait(&s->all_reaped, &s->mu);
	pthread_mutex_unlock(&s->mu);
	threads_run();
}

int
server_run(server_t *s)
{
	struct thread_entry self;
	int err;

	threads_enter(&self, ROLE_FRONTDOOR, 0, NULL, NULL, NULL);
	if ((err = hub_start(s->hub)) != 0 ||
	    (err = pthread_create(&s->reaper, NULL, reaper_main, s)) != 0 ||
	    (s->bridge && (err = bridge_start(s->bridge)) != 0)) {
		log_error("cannot start the hub, the reaper or the bridge: %s",
		    strerror(err));
		abort(); /* no thread at start-up: nothing can run */
	}
	frontdoor_run(s->door);
	log_info("shutting down: closing %ld connection(s) with 1001",
	    stats_get(&s->stats.clients));
	hub_shutdown(s->hub);
	await_connections(s, deadline_after_ms(s->cfg->shutdown_timeout_ms));
	threads_block(TS_JOIN, NULL);
	hub_join(s->hub); /* every client has unregistered by now */
	bridge_free(s->bridge); /* after the hub: it was the hub's relay */
	s->bridge = NULL;
	chan_close(s->env.reaper);
	pthread_join(s->reaper, NULL);
	threads_leave();
	log_info("shut down cleanly");
	return 0;
}

void
server_free(server_t *s)
{
	if (s == NULL)
		return;
	frontdoor_free(s->door);
	bridge_free(s->bridge); /* never started if server_run never ran */
	hub_free(s->hub);
	chan_free(s->env.reaper);
	pthread_cond_destroy(&s->all_reaped);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
