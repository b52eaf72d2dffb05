/*
 * load.h — the configuration every part of wshub-load reads, its defaults
 * and limits, and the one clock.
 *
 * The configuration is filled once by opts_parse on the main thread before
 * any loop thread starts and is read-only afterwards, so every thread may
 * read it without locking.
 */
#ifndef WSHUB_LOAD_LOAD_H
#define WSHUB_LOAD_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "payload.h"
#include "plan.h"
#include "source.h"

/* Defaults, mirrored as flags (see opts.c for the --help text). */
#define DEF_CONNS 100          /* -c */
#define DEF_SENDERS 10         /* -s */
#define DEF_RATE 10            /* -r, messages per second per sender */
#define DEF_BYTES 64           /* -b, a chat line */
#define DEF_DURATION_S 5       /* -d */
#define DEF_THREADS 1          /* -t: one loop thread is enough for 10k */
#define DEF_INFLIGHT 256       /* handshakes in flight, below somaxconn */
#define DEF_DRAIN_MS 1000      /* after the last send, before counting */
#define DEF_CONNECT_DRAIN_MS 10000 /* connect mode: one broadcast to all */
#define DEF_SWEEP_STEPS 8      /* sweep: rate doubles up to 2^7 x -r */

/* Fixed limits, each with its reason. */
#define UPGRADE_TIMEOUT_MS 10000 /* SYN retries take 1 s, 3 s, ... */
#define CLOSE_WAIT_MS 2000     /* wait for the server's close reply */
#define SEND_BACKLOG_MAX 1024  /* queued messages per sender before skipping */
#define READ_BUF_BYTES (256 * 1024) /* one read(2) takes many frames */
/* A broadcast round (and each sweep step) passes, in the report's "pass",
 * when the server kept up: at most 1 % of the deliveries lost ... */
#define PASS_MAX_LOSS 0.01
#define PASS_MAX_P99_NS (100 * 1000000LL) /* ... and a p99 of 100 ms */
/* Above this share of a core per loop thread, wshub-load's own CPU is
 * what limits the run, and the report says so. */
#define CLIENT_BUSY_CORE 0.8
/* A server whose RSS had peaked more than this above its RSS just before
 * the run has held memory it may reuse for the run's connections, so its
 * growth is no per-connection figure (a fresh process has them equal). */
#define RSS_PEAK_SLACK_KIB 64
/* Connections to the server closed within the minute (TIME_WAIT) that a
 * run tolerates, per 100 of its own: a probe of the server before the run
 * (a /stats fetch, a health check) left no memory worth refusing the
 * figure for; more may have, and the figure is refused. */
#define RSS_RECENT_PER_100 1
#define FD_RESERVE 32          /* descriptors besides the connections */

enum load_mode {
	MODE_BROADCAST,
	MODE_CONNECT,
	MODE_SWEEP,
};

/* One URL of the command line, resolved. */
struct load_target {
	const char *url;               /* as given */
	struct sockaddr_storage addr;  /* the one address we connect to */
	socklen_t addrlen;
	uint16_t port;                 /* its port, as given or 80 */
	char host[300];                /* Host header: "host:port" */
	char path[256];                /* request target, "/ws" */
	char name[256];                /* the host alone: SNI, certificate */
	bool tls;                      /* wss:// */
};

struct tls_client;

struct load_config {
	enum load_mode mode;
	struct load_target urls[PLAN_URLS_MAX]; /* plan.urls of them */
	struct plan plan;              /* rooms and URLs by connection */
	const char *room_sizes;        /* --room-sizes, or NULL (plan.sizes) */
	uint32_t conns;                /* -c */
	uint32_t senders;              /* -s */
	uint32_t rate;                 /* -r, per sender */
	uint32_t bytes;                /* -b */
	uint32_t duration_s;           /* -d */
	uint32_t ramp;                 /* --ramp, connections/s, 0 = max */
	uint32_t threads;              /* -t */
	uint32_t inflight;             /* --inflight, over all threads */
	uint32_t drain_ms;             /* --drain */
	uint32_t steps;                /* --steps (sweep) */
	uint32_t timeout_s;            /* --timeout, 0 = computed */
	enum payload_kind kind;        /* --text / --binary */
	bool split_lines;              /* --split-lines: a line, a message */
	pid_t server_pid;              /* --server-pid, 0 = none */
	struct source_range source;    /* --source, n == 0 = the kernel's */
	const char *source_arg;        /* --source as given, or NULL */
	const char *ca_file;           /* --ca, NULL = the system's trust */
	bool insecure;                 /* --insecure: certificates unchecked */
	struct tls_client *tls;        /* for wss:// URLs (tls.h), or NULL */
	bool allow_closed;             /* --allow-closed */
	bool allow_skipped;            /* --allow-skipped */
	bool json;                     /* --json */
	bool quiet;                    /* -q */
	bool progress;                 /* stderr is a TTY and not -q */
};

#define NSEC_PER_SEC 1000000000LL
#define NSEC_PER_MSEC 1000000LL

/* CLOCK_MONOTONIC in nanoseconds: every timestamp in wshub-load. */
static inline int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

#endif
