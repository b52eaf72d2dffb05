/*
 * lines — cutting one received data message into the messages it carries.
 *
 * wshub sends one message per frame.  Some servers join several: Gorilla's
 * chat example (client.go, writePump) writes every message queued for a
 * client into one text frame, separated by '\n'.  With --split-lines,
 * wshub-load undoes that join: each '\n' (or "\r\n") ends a line and each
 * non-empty line counts as one message.  An empty line (a trailing '\n',
 * or two in a row) is no message and no error.  Without it, the whole
 * data message is one message, '\n' bytes included.  wshub-load's text
 * payloads contain no '\n' (payload.h), so a line is exactly one of its
 * messages.
 *
 * The bytes come in chunks, as wslay hands them over with its buffering
 * off: a line may span chunks and the frames of a fragmented message.  Of
 * each line only its length and its first PAYLOAD_PREFIX_MAX bytes, enough
 * for payload_decode, are kept.
 *
 * Plain data, no allocation, no I/O: the caller owns the struct (one per
 * connection, used by its loop thread only) and the chunks.
 */
#ifndef WSHUB_LOAD_LINES_H
#define WSHUB_LOAD_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "payload.h"

struct lines {
	uint64_t len;                  /* bytes of the current line so far */
	bool split;                    /* this message is cut at '\n' */
	bool last_cr;                  /* the line so far ends in '\r' */
	uint8_t prefix_len;            /* <= PAYLOAD_PREFIX_MAX */
	uint8_t prefix[PAYLOAD_PREFIX_MAX];
};

/*
 * Called once per message found: its first `prefix_len` bytes (all of it
 * when shorter than PAYLOAD_PREFIX_MAX) and its whole length, the '\n'
 * (or "\r\n") not included.  The prefix is only valid during the call.
 */
typedef void lines_fn(void *arg, const uint8_t *prefix, size_t prefix_len,
    uint64_t len);

/*
 * A data message begins: forget any unfinished line.  `split` cuts this
 * message at '\n'; false keeps it whole.
 */
void lines_begin(struct lines *l, bool split);

/*
 * Takes the next `n` bytes of the message; calls `fn` for each non-empty
 * line that a '\n' among them ends (none when not splitting).
 */
void lines_feed(struct lines *l, const void *data, size_t n, lines_fn *fn,
    void *arg);

/*
 * The message is complete: calls `fn` for its last line unless that is
 * empty, or, when not splitting, for the whole message, even an empty
 * one.
 */
void lines_end(struct lines *l, lines_fn *fn, void *arg);

#endif
