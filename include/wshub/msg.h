/*
 * msg — an immutable, reference-counted WebSocket frame.
 *
 * In Go a broadcast is one []byte that every client goroutine reads, and the
 * garbage collector frees it after the last one is done.  In C the same
 * sharing is a reference count: the hub hands one msg_t to N send channels
 * with msg_ref, each writer calls msg_unref after writing it, and the last
 * unref frees it.
 *
 * A msg_t holds the bytes exactly as they go on the wire: the frame header
 * followed by the payload, in one allocation.  Server-to-client frames are
 * never masked (RFC 6455 §5.1), so the encoded frame is identical for every
 * recipient and is built once per broadcast, not once per recipient.
 *
 * Thread safety: the bytes are never written after construction, so any
 * thread holding a reference may read them.  msg_ref / msg_unref are atomic.
 */
#ifndef WSHUB_MSG_H
#define WSHUB_MSG_H

#include <stddef.h>
#include <stdint.h>

typedef struct msg msg_t;

/* WebSocket opcodes (RFC 6455 §5.2), the values wslay uses too. */
enum msg_opcode {
	MSG_CONTINUATION = 0x0,
	MSG_TEXT = 0x1,
	MSG_BINARY = 0x2,
	MSG_CLOSE = 0x8,
	MSG_PING = 0x9,
	MSG_PONG = 0xa,
	MSG_RAW = 0xff, /* not a frame: bytes sent as they are (the 101) */
};

/* Largest frame header a server writes: 2 + 8 bytes for 64-bit lengths. */
#define MSG_MAX_HEADER 10

/*
 * Builds one unmasked, final frame with `opcode` and a copy of `payload`.
 * Returns a message with one reference, owned by the caller.  Aborts on
 * allocation failure.  Control opcodes require len <= 125.
 */
msg_t *msg_new_frame(uint8_t opcode, const void *payload, size_t len);

/*
 * Builds a close frame (RFC 6455 §5.5.1) carrying `code` and `reason`
 * (truncated to the 123 (CLOSE_REASON_MAX) bytes a control frame allows, at a UTF-8 character
 * boundary).  code 0 builds a close frame with an empty payload.  One
 * reference, caller owns it; aborts if memory runs out.
 */
msg_t *msg_new_close(uint16_t code, const char *reason);

/*
 * Copies bytes that are already one or more encoded frames (as produced by
 * wslay, or an HTTP response); the caller keeps its buffer.  `last_opcode`
 * is the opcode of the last frame in them, so the writer can tell a close
 * frame from a pong.  One reference, caller owns it; aborts if memory runs
 * out.
 */
msg_t *msg_new_encoded(uint8_t last_opcode, const void *bytes, size_t len);

/* Adds a reference and returns `m`.  Any thread holding a reference. */
msg_t *msg_ref(msg_t *m);

/* Drops a reference; the last one frees the message.  NULL is ignored. */
void msg_unref(msg_t *m);

/* The wire bytes: header and payload. */
const uint8_t *msg_wire(const msg_t *m);
size_t msg_wire_len(const msg_t *m);

/* A queued message's weight for a byte-bounded channel (chan_set_byte_cap):
 * msg_wire_len of `item`, a msg_t. */
size_t msg_weigh(const void *item);

/* The payload alone (for msg_new_encoded: the whole byte string). */
const uint8_t *msg_payload(const msg_t *m);
size_t msg_payload_len(const msg_t *m);

/* The opcode given at construction. */
uint8_t msg_opcode(const msg_t *m);

/*
 * Number of messages allocated and not yet freed, process-wide.  Lets tests
 * check that every message is freed exactly once.
 */
long msg_live(void);

/*
 * Writes the header of an unmasked final frame into `out` (at least
 * MSG_MAX_HEADER bytes) and returns its length: 2, 4 or 10 bytes.
 */
size_t msg_encode_header(uint8_t *out, uint8_t opcode, uint64_t payload_len);

#endif
