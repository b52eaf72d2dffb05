/*
 * client — one WebSocket client connection of wshub-load, driven by the
 * epoll loop of the thread that owns it.
 *
 * A client goes IDLE -> CONNECTING (non-blocking connect) -> [SECURING
 * (the TLS handshake, wss:// only)] -> UPGRADING (request written, reading
 * the 101) -> OPEN (wslay client context) -> CLOSING (our close frame
 * sent) -> DONE.  Any state may jump to DONE on an error.  Every function
 * runs on the owning loop thread and never blocks: all sockets are
 * non-blocking and every wait is an epoll registration.
 *
 * Reading: the loop lends all its clients one large buffer (client_env).
 * A client read(2)s into it as many frames as the kernel has, then hands
 * the bytes to wslay, whose receive callback copies from that buffer
 * instead of calling read(2) 4 KiB at a time.  Payload buffering is off in
 * wslay: the client keeps only the first PAYLOAD_PREFIX_MAX bytes of each
 * message, enough to decode the payload header; with --split-lines, of
 * each line of a text message (lines.h).
 *
 * Writing: wslay masks each frame (a client must, RFC 6455 §5.3) and hands
 * over its header and payload separately; the client sends both with one
 * sendmsg(2).  Nothing is written unless the loop's send schedule says so,
 * apart from wslay's automatic pong and close replies.
 *
 * TLS (wss://): a GnuTLS session per connection (tls.h), owned like the
 * socket by the loop thread.  The handshake is driven by epoll like the
 * connect, waiting for what GnuTLS waits for; then the request, the 101
 * and every frame go through the session instead of read(2) and
 * sendmsg(2): a read takes as many records as fill the shared buffer, and
 * a frame's header and payload go out as one record.  Decrypted bytes
 * GnuTLS still holds are read before the client waits again, since epoll
 * cannot see them.  The handshake time (connect(2) to 101) includes TLS.
 */
#ifndef WSHUB_LOAD_CLIENT_H
#define WSHUB_LOAD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wslay/wslay.h>

#include "lines.h"
#include "load.h"
#include "payload.h"
#include "plan.h"
#include "tally.h"

enum client_state {
	CL_IDLE,
	CL_CONNECTING,
	CL_SECURING,
	CL_UPGRADING,
	CL_OPEN,
	CL_CLOSING,
	CL_DONE,
};

/*
 * Masking keys are drawn from a pool refilled by one arc4random_buf call
 * per 1024 frames: libbsd's arc4random_buf makes a getpid(2) system call
 * (fork detection) every time it is called.
 */
#define CLIENT_MASK_POOL 4096

/* The most plaintext one TLS record carries (RFC 8446 §5.1): a frame's
 * header and the start of its payload are put together in one. */
#define CLIENT_RECORD_MAX 16384u

/*
 * What a loop lends its clients; owned by the loop thread.  `open` holds
 * the only counters shared by all threads: a sender reads its room's to
 * count the deliveries its message should produce (plan.h).
 */
struct client_env {
	const struct load_config *cfg;
	int epfd;
	uint8_t *rbuf;                 /* READ_BUF_BYTES, shared by clients */
	const uint8_t *feed;           /* read, not yet handed to wslay */
	size_t feed_len;
	int64_t now_ns;                /* when the bytes being fed arrived */
	struct conn_stats *cs;
	struct round_stats *rs;
	struct plan_open *open;        /* clients OPEN, all threads */
	uint8_t masks[CLIENT_MASK_POOL]; /* arc4random bytes for masking keys */
	size_t masks_used;
	uint8_t record[CLIENT_RECORD_MAX]; /* TLS: one record's plaintext */
	int send_err;                  /* why the last on_send failed */
	uint32_t pending;              /* clients CONNECTING to UPGRADING */
	uint32_t live;                 /* clients holding a descriptor */
};

struct handshake;
struct tls_conn;

struct client {
	struct client_env *env;
	wslay_event_context_ptr ws;    /* from OPEN on */
	struct handshake *hs;          /* until OPEN */
	struct tls_conn *tls;          /* wss://: from SECURING to DONE */
	int64_t started_ns;            /* connect(2) called */
	struct lines msg;              /* data message being received */
	uint32_t id;
	int fd;
	uint16_t close_code;           /* from the server's close frame */
	uint8_t state;                 /* enum client_state */
	uint8_t msg_opcode;
	bool frame_fin;
	bool in_control;               /* receiving a ping, pong or close */
	bool want_out;                 /* EPOLLOUT registered */
	uint8_t held_len;
	uint8_t held[14];              /* a frame header awaiting its payload */
};

/*
 * Prepares an IDLE client; no descriptor yet.  `id` is its connection
 * index, which fixes its room and URL (plan.h).
 */
void client_init(struct client *c, struct client_env *env, uint32_t id);

/*
 * Starts connecting.  A failure is counted (cs->failed, cs->err) and
 * leaves the client DONE.
 */
void client_connect(struct client *c);

/* Handles epoll `events` for the client. */
void client_event(struct client *c, uint32_t events);

/*
 * Queues one data message (`opcode` text or binary) and starts writing it.
 * Returns 0, or -1 when the client is not OPEN or already has
 * SEND_BACKLOG_MAX messages queued; then nothing was sent.
 */
int client_send(struct client *c, uint8_t opcode, const void *buf,
    size_t len);

/*
 * Fails a handshake that started before `deadline_ns` (LERR_TIMEOUT).
 * Returns true if the client timed out.
 */
bool client_expire(struct client *c, int64_t started_before_ns);

/*
 * Starts the closing handshake (close code 1000) on an OPEN client; an
 * unfinished handshake is abandoned as a timeout.
 */
void client_close(struct client *c);

/* Drops the connection now, whatever its state, and frees its resources. */
void client_abort(struct client *c);

#endif
