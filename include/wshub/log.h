/*
 * log — one line per event on stderr, tmux style.
 *
 * Every line starts with its time (RFC 3339, UTC, milliseconds:
 * "2026-12-06T06:55:09.123Z "), unless log_set_time(false) (journald
 * stamps its own), then "wshub: " so scripts can grep it; warnings and
 * errors say so after the prefix.  Safe from any thread: each line is
 * formatted into a buffer and written with one write(2), so lines from
 * different threads never interleave.  That write blocks the calling
 * thread while stderr is a full pipe nobody reads.  The program layer logs (main,
 * server, frontdoor, hub, conn, reader, writer, bridge); the protocol and
 * primitive modules (http, handshake, chan, msg) return error codes
 * instead.
 */
#ifndef WSHUB_LOG_H
#define WSHUB_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERROR = 0, /* -q: errors and warnings (log_warn logs at it) */
	LOG_INFO = 1,  /* default: connects, disconnects, drops */
	LOG_DEBUG = 2, /* -v: one line per data message received */
};

/* Sets the level; call before starting threads. */
void log_set_level(enum log_level level);

/* Stamps each line with its time (the default), or not; call before
 * starting threads. */
void log_set_time(bool on);

/*
 * True if stderr is the journal: systemd sets JOURNAL_STREAM to the
 * "DEVICE:INODE" of the stream it connects a service's stderr to, and
 * the journal stamps each line itself.  A JOURNAL_STREAM that names
 * another file (inherited by a child whose stderr was redirected) is not.
 */
bool log_stderr_is_journal(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Written at every level, even -q: what the program reports as a result
 * (the address it listens on), not an event. */
void log_always(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
