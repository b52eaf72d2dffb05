/*
 * utf8 — is this UTF-8?  RFC 3629: no overlong forms, no surrogates
 * (U+D800-U+DFFF), nothing past U+10FFFF; RFC 6455 §8.1 asks exactly this
 * of a text message and of a close reason.
 *
 * Whole buffers (utf8_valid), or a stream in pieces (struct utf8_scan):
 * a sequence may be split anywhere between pieces.  Any thread; no state
 * but the caller's.
 */
#ifndef WSHUB_UTF8_H
#define WSHUB_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a stream stands: continuation bytes still expected and the range
 * the next one must be in (it narrows after E0, ED, F0 and F4). */
struct utf8_scan {
	uint8_t need;
	uint8_t lo, hi;
};

/* A stream at its start. */
void utf8_scan_init(struct utf8_scan *s);

/*
 * Takes the next `len` bytes of a stream.  False as soon as they cannot
 * be part of valid UTF-8, whatever follows (the scan is then done with:
 * start it again for another stream).  True does not mean complete: see
 * utf8_scan_done.
 */
bool utf8_scan(struct utf8_scan *s, const void *buf, size_t len);

/* True if the bytes so far end on a character boundary. */
bool utf8_scan_done(const struct utf8_scan *s);

/* True if buf[0..len) is valid UTF-8, whole. */
bool utf8_valid(const void *buf, size_t len);

#endif
