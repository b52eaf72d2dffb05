/*
 * bridge_url — where the Redis bridge connects, and its password: the
 * redis:// URL, --redis-password-file, and the URL shown without its
 * password.  No threads, no logging: each function returns 0 or -1 with a
 * one-line reason for the caller (main) to print.  The password never
 * appears in a reason.
 */
#ifndef WSHUB_BRIDGE_URL_H
#define WSHUB_BRIDGE_URL_H

#include <stddef.h>

#define BRIDGE_HOST_MAX 256
#define BRIDGE_PASSWORD_MAX 256  /* a password is at most 255 bytes */

/* A parsed redis://[[USER]:PASSWORD@ | USER@]HOST[:PORT][/DB] address. */
struct bridge_url {
	char host[BRIDGE_HOST_MAX];
	int port;                          /* default 6379 */
	char user[BRIDGE_PASSWORD_MAX];    /* "" for a password alone */
	char password[BRIDGE_PASSWORD_MAX]; /* "" for none */
	int db;                            /* default 0 */
};

/*
 * Parses `url`.  Returns 0, or -1 with a one-line reason in err (what is
 * wrong with this value; never the password).  Any thread; no I/O.
 */
int bridge_parse_url(const char *url, struct bridge_url *out, char *err,
    size_t errlen);

/*
 * `url` for messages, its password (anything between "//" and the last
 * '@' after a ':', or all of it without one) replaced by "***", whether or
 * not bridge_parse_url takes it.  Returns out (size bytes, truncated).
 */
const char *bridge_redact_url(const char *url, char *out, size_t size);

/*
 * Reads a password from `path` (--redis-password-file): its first line,
 * without the line end, 1 to BRIDGE_PASSWORD_MAX - 1 bytes, no NUL, and
 * nothing after that line.  Reads at most BRIDGE_PASSWORD_MAX + 2 bytes.
 * Returns 0 with the password in out (size >= BRIDGE_PASSWORD_MAX), or -1
 * with a one-line reason in err that never shows the file's content.
 */
int bridge_read_password_file(const char *path, char *out, size_t size,
    char *err, size_t errlen);

#endif
