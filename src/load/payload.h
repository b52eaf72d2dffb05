/*
 * payload — what wshub-load puts in each message it sends.
 *
 * Every message carries four numbers: the round (one per sending phase, so
 * a late echo from an earlier phase is not counted in the next), the
 * sender's id, the sender's sequence number and the CLOCK_MONOTONIC time of
 * sending in nanoseconds.  The receiver reads them back to compute the
 * fan-out latency.  Both sides are the same process, so the clock is shared.
 *
 * Two encodings, matching the two WebSocket data opcodes:
 *
 *   binary (28-byte header, then filler bytes up to the message length):
 *     f7 'W' 'L' '1' | round u32 | sender u32 | seq u64 | sent_ns u64
 *     all little-endian.  0xf7 can never start valid UTF-8, so a binary
 *     payload is never mistaken for text.
 *
 *   text (56-byte header, then '.' up to the message length):
 *     "WSL1 rrrrrrrr ssssssss qqqqqqqqqqqqqqqq tttttttttttttttt"
 *     fixed-width lowercase hex, readable in the chat page.  No '\n'
 *     anywhere, so a server that joins messages with '\n' (lines.h) can
 *     be measured; a binary payload may hold 0x0a bytes.
 *
 * Stateless, no allocation; the caller owns every buffer.
 */
#ifndef WSHUB_LOAD_PAYLOAD_H
#define WSHUB_LOAD_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The two kinds, numbered like the WebSocket opcodes that carry them. */
enum payload_kind {
	PAYLOAD_TEXT = 0x1,
	PAYLOAD_BINARY = 0x2,
};

enum payload_error {
	PAYLOAD_ESHORT = -1,   /* buffer shorter than the kind's header */
	PAYLOAD_EFORMAT = -2,  /* not a wshub-load payload */
};

#define PAYLOAD_BINARY_HEADER 28
#define PAYLOAD_TEXT_HEADER 56
/* A decoder never looks past this many leading bytes. */
#define PAYLOAD_PREFIX_MAX PAYLOAD_TEXT_HEADER

struct payload {
	uint32_t round;
	uint32_t sender;
	uint64_t seq;
	uint64_t sent_ns;
};

/* The shortest message of `kind` (its header length). */
size_t payload_min_len(enum payload_kind kind);

/*
 * Fills all `len` bytes of `buf` with `p` encoded as `kind`, then filler.
 * Returns 0, or PAYLOAD_ESHORT when len < payload_min_len(kind) (buf is
 * then untouched).
 */
int payload_encode(void *buf, size_t len, enum payload_kind kind,
    const struct payload *p);

/*
 * Decodes the header at the start of `buf`; `len` may be just a prefix of
 * the message (PAYLOAD_PREFIX_MAX bytes always suffice).  Filler is not
 * checked.  Returns the kind found (> 0) with *p set, PAYLOAD_ESHORT when
 * `len` is shorter than the header the first bytes announce, or
 * PAYLOAD_EFORMAT.  *p is unspecified on error.
 */
int payload_decode(const void *buf, size_t len, struct payload *p);

#endif
