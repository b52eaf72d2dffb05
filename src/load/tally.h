/*
 * tally — what a loop thread counts, and how the main thread adds up the
 * counts of all loop threads.
 *
 * Each loop thread owns one conn_stats (cumulative over the run) and one
 * round_stats (reset at the start of every sending round) and updates them
 * without locking.  The main thread only ever sees copies: published
 * snapshots while the thread runs, the thread's own structs after it has
 * been joined.  Plain data; struct assignment copies.
 */
#ifndef WSHUB_LOAD_TALLY_H
#define WSHUB_LOAD_TALLY_H

#include <stdbool.h>
#include <stdint.h>

#include "hist.h"
#include "plan.h"
#include "upgrade.h"

/* Why a connection failed or an error was counted. */
enum load_err {
	LERR_CONNECT,    /* socket(2) or connect(2) failed */
	LERR_TLS,        /* TLS failed: a refused certificate, an alert, ... */
	LERR_HANDSHAKE,  /* the upgrade response was not a valid 101 */
	LERR_TIMEOUT,    /* the upgrade took over UPGRADE_TIMEOUT_MS */
	LERR_IO,         /* read/write error on an open connection */
	LERR_PROTOCOL,   /* wslay rejected the server's frames */
	LERR_PAYLOAD,    /* a data message not ours, or wrong size or type */
	LERR_COUNT,
};

#define CLOSE_CODES_MAX 8  /* distinct close codes kept; others pooled */

struct close_count {
	uint16_t code;
	uint64_t n;
};

/* Connection outcomes, cumulative over the run. */
struct conn_stats {
	uint64_t attempted;
	uint64_t ok;                 /* completed the upgrade */
	uint64_t failed;             /* never got to open */
	uint64_t closed_by_server;   /* open, then closed by the server */
	struct close_count closes[CLOSE_CODES_MAX];
	uint64_t closes_other;       /* codes beyond CLOSE_CODES_MAX */
	uint64_t err[LERR_COUNT];
	uint64_t no_port;            /* of err[LERR_CONNECT]: EADDRNOTAVAIL,
	                                no local port left for the pair of
	                                source address and URL (source.h) */
	int err_errno[LERR_COUNT];   /* last errno seen per kind, or 0; for
	                                LERR_TLS a GnuTLS code (tls_reason) */
	unsigned tls_status;         /* with it: why the certificate was
	                                refused (gnutls_certificate_status_t) */
	int http_status;             /* last refusal's HTTP status, or 0 */
	char http_reason[UPGRADE_REASON_MAX + 1]; /* ... and its reason text
	                                (upgrade_refusal_reason), or "" */
	uint64_t joined;             /* payload errors that were text frames
	                                longer than -b starting with one of
	                                our messages: several joined in one */
	int64_t last_open_ns;        /* when the latest upgrade completed */
	struct hist handshake;       /* connect(2) to validated 101, ns
	                                (over wss:// TLS's handshake too) */
};

/* A round's deliveries in the rooms of one size (plan_layout's index). */
struct size_stats {
	uint64_t expected;
	uint64_t received;
	struct hist latency;         /* send to receive, ns */
};

/*
 * One sending round: messages sent and their deliveries.  "Other URL"
 * counts are the part of a total whose receiver used another URL than the
 * sender (see plan.h); the same-URL part is the total minus them.
 */
struct round_stats {
	uint32_t round;
	bool sending_done;           /* past the round's end time */
	uint64_t sent;               /* messages handed to the server */
	uint64_t expected;           /* sum, per message, of connections open
	                                in the sender's room */
	uint64_t expected_other;     /* ... of them on another URL */
	uint64_t received;           /* deliveries of this round's messages
	                                in the sender's room */
	uint64_t received_other;     /* ... of them on another URL */
	uint64_t wrong_room;         /* deliveries outside the sender's room */
	uint64_t stale;              /* deliveries of earlier rounds */
	uint64_t frames;             /* data messages received, whole: with
	                                --split-lines one may carry many
	                                deliveries (lines.h) */
	uint64_t skipped;            /* not sent: sender closed or backlogged */
	int64_t last_recv_ns;        /* latest delivery, 0 = none */
	struct hist latency;         /* send to receive, ns */
	struct hist latency_same;    /* ... on the sender's URL */
	struct hist latency_other;   /* ... on another URL */
	struct size_stats by_size[PLAN_SIZES_MAX]; /* ... by the size of the
	                                sender's room (plan_size_of) */
};

void stats_conn_init(struct conn_stats *s);
void stats_round_init(struct round_stats *s, uint32_t round);

/*
 * Counts one message sent from a room of size index `size`
 * (plan_size_of), due at `same_url` + `other_url` connections
 * (plan_expected).
 */
void stats_round_sent(struct round_stats *s, uint32_t size,
    uint64_t same_url, uint64_t other_url);

/*
 * Counts one delivery of this round's message in its sender's room, of
 * size index `size`, `latency_ns` after the sending, arrived at `now_ns`
 * on the sender's URL or (`other_url`) another.
 */
void stats_round_delivered(struct round_stats *s, uint32_t size,
    bool other_url, uint64_t latency_ns, int64_t now_ns);

/* Counts a close by the server with `code` (1006: no close frame). */
void stats_close_add(struct conn_stats *s, uint16_t code);

/* Counts one error of `kind`, remembering errno `err` if non-zero (and
 * a connect's EADDRNOTAVAIL in no_port too). */
void stats_err_add(struct conn_stats *s, enum load_err kind, int err);

/*
 * Remembers a refused upgrade: its HTTP `status` and the server's
 * `reason` (NUL-terminated, cut to UPGRADE_REASON_MAX bytes).  The
 * failure itself is counted with stats_err_add.
 */
void stats_refusal_set(struct conn_stats *s, int status, const char *reason);

/* Adds `src` into `dst`. */
void stats_conn_merge(struct conn_stats *dst, const struct conn_stats *src);
void stats_round_merge(struct round_stats *dst, const struct round_stats *src);

/* Short name of an error kind, for reports: "connect", "handshake", ... */
const char *stats_err_name(enum load_err kind);

#endif
