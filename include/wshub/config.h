/*
 * config — every tunable of the server, with its default and the reason.
 *
 * The constants mirror Gorilla WebSocket's chat example (writeWait,
 * pongWait, pingPeriod, maxMessageSize, the send channel's buffer) and are
 * each exposed as a command-line flag (see main.c, --help).  Durations are
 * milliseconds so that tests can use sub-second values.
 */
#ifndef WSHUB_CONFIG_H
#define WSHUB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where to listen: loopback unless asked, so `make run` exposes nothing. */
#define DEFAULT_ADDR "127.0.0.1"
#define DEFAULT_PORT 8080

/* Time allowed to write one batch of frames to a peer (Go: writeWait). */
#define WRITE_TIMEOUT_MS 10000
/* How long a writer may wait on a full socket, with more than --send-queue
 * messages queued, before the hub drops its client as slow (1008): half the
 * write timeout, so the hub decides before the writer itself gives up. */
#define SLOW_STALL_MS(write_timeout_ms) ((write_timeout_ms) / 2)
/* Time allowed to read the next frame from a peer (Go: pongWait). */
#define PONG_TIMEOUT_MS 60000
/* Ping period: 9/10 of the pong wait, so a pong can arrive in time. */
#define PING_INTERVAL_MS (PONG_TIMEOUT_MS * 9 / 10)
/* Largest message accepted; bigger ones are closed with 1009.  The flag
 * takes up to MAX_MESSAGE_LIMIT (which also bounds what the Redis bridge
 * reads: no hub can publish more). */
#define MAX_MESSAGE_BYTES 65536
#define MAX_MESSAGE_LIMIT (64 << 20)
/*
 * --send-queue's default, the soft threshold (not the queue's length) --
 * messages queued for one client before it may count as slow (Go's send
 * channel holds 256).  The stall rule: a client is slow when more than
 * --send-queue messages wait for it AND its writer has been blocked on the
 * socket for SLOW_STALL_MS (the client stopped reading).  A queue that is
 * merely long because its writer has not been scheduled yet is not slow:
 * it may grow to SEND_QUEUE_LIMIT(--send-queue) while the writer catches up.
 */
#define SEND_QUEUE_SOFT 256
/* The hard cap on one client's queue, its real length: SEND_QUEUE_FACTOR
 * times --send-queue, at least SEND_QUEUE_MIN messages (8 bytes a slot:
 * messages are shared by every recipient).  A client whose queue reaches
 * it is dropped whatever its writer does. */
#define SEND_QUEUE_FACTOR 16
#define SEND_QUEUE_MIN 4096
#define SEND_QUEUE_LIMIT(n) ((n) * SEND_QUEUE_FACTOR > SEND_QUEUE_MIN ? \
	(n) * SEND_QUEUE_FACTOR : (size_t)SEND_QUEUE_MIN)
/*
 * The hard cap on one client's queue in bytes (wire bytes of the
 * messages waiting for it): a client whose queue would pass it is dropped
 * like one at SEND_QUEUE_LIMIT.  The count alone lets a client that stops
 * reading pin SEND_QUEUE_MIN messages of up to --max-message each: 256 MiB
 * (SEND_QUEUE_MIN * MAX_MESSAGE_BYTES) at the default.  With this bound it
 * pins at most this much queue (plus its socket's kernel buffers, which RSS
 * does not show) -- Redis's client-output-buffer-limit, per client: 64
 * (SEND_QUEUE_BYTES / MAX_MESSAGE_BYTES) messages of the default
 * --max-message, or a burst of 4,000 1-KB messages waiting for a writer
 * that has not run yet.  A single message bigger than the bound still goes
 * to an empty queue.
 */
#define SEND_QUEUE_BYTES (4 << 20)
/* Items on a send channel's priority lane, ahead of data, at most: the
 * 101, and batches of pongs (a batch: the pongs for one read's pings, in
 * one frame list).  A close is not one of them: it goes after the data
 * (conn_set_final_close). */
#define CONTROL_QUEUE_LEN 16
/* A client that has not finished its HTTP request by then is dropped. */
#define HANDSHAKE_TIMEOUT_MS 10000
/* On SIGINT/SIGTERM, how long to wait for clients' close replies. */
#define SHUTDOWN_TIMEOUT_MS 5000
/* Stack per connection thread: the two threads need little; 20,000 of
 * them must fit.  Sanitizers need room for their redzones. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define THREAD_STACK_KIB 512
#else
#define THREAD_STACK_KIB 64
#endif
/* Upgrades beyond this many live clients get 503 (0: no limit). */
#define MAX_CLIENTS 0
/* Rooms: GET /ws/ROOM joins ROOM, 1 to ROOM_NAME_MAX bytes of
 * [A-Za-z0-9._-]; GET /ws joins DEFAULT_ROOM.  A join that would create a
 * room past MAX_ROOMS gets 503: each room costs the hub a tree node and,
 * with Redis, a subscription. */
#define ROOM_NAME_MAX 64
#define DEFAULT_ROOM "lobby"
#define MAX_ROOMS 10000
/* Redis: channel names are REDIS_PREFIX:ROOM; REDIS_QUEUE_LEN messages may
 * wait for the publisher before more are dropped. */
#define REDIS_PREFIX "wshub"
#define REDIS_QUEUE_LEN 4096
/* Largest HTTP request head; bigger ones get 431. */
#define MAX_REQUEST_HEAD 8192

struct tls_context;

struct config {
	const char *addr;
	uint16_t port;
	int listen_fd;             /* a listener systemd handed over, or -1 */
	const char **origins;      /* --origin patterns (fnmatch on host[:port]) */
	size_t n_origins;
	bool any_origin;
	const char **allow_hosts;  /* --allow-host patterns (fnmatch on Host) */
	size_t n_allow_hosts;
	bool debug_endpoints;      /* /debug/threads off the loopback too */
	const char *redis_url;     /* --redis: NULL for one hub alone */
	const char *redis_password; /* --redis-password-file or REDISCLI_AUTH;
	                             * NULL: the URL's, if any */
	const char *redis_prefix;  /* --redis-prefix: channels PREFIX:ROOM */
	int max_clients;
	int max_rooms;
	size_t max_message;
	size_t send_queue;
	size_t send_queue_bytes;   /* --send-queue-bytes */
	int64_t ping_interval_ms;
	int64_t pong_timeout_ms;
	int64_t write_timeout_ms;
	int64_t handshake_timeout_ms;
	int64_t shutdown_timeout_ms;
	size_t thread_stack_kib;
	const char *tls_cert;      /* --tls-cert: NULL for plain TCP */
	const char *tls_key;       /* --tls-key */
	const char *tls_priority;  /* --tls-priority: NULL for the default */
	/* The pair and priority above, loaded by main (tls_context_new):
	 * every route over TLS; NULL for plain TCP.  The context has its own
	 * lock (a SIGHUP reload); the pointer is read-only. */
	struct tls_context *tls;
};

/* Fills `cfg` with the defaults above. */
void config_defaults(struct config *cfg);

#endif
