/* log — one line per event on stderr (see log.h). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wshub/log.h"

#define LOG_LINE_MAX 1024
#define LOG_TIME_LEN 25 /* "2026-12-06T06:55:09.123Z " */

static atomic_int current_level = LOG_INFO;
static atomic_bool stamped = true;

void
log_set_level(enum log_level level)
{
	atomic_store(&current_level, level);
}

void
log_set_time(bool on)
{
	atomic_store(&stamped, on);
}

bool
log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	return fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* Writes "2026-12-06T06:55:09.123Z " (RFC 3339, UTC, milliseconds) at
 * `out`, which has room for LOG_TIME_LEN + 1 bytes; returns its length. */
static int
log_time(char *out)
{
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(out, LOG_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm);
	return (int)n + snprintf(out + n, LOG_TIME_LEN + 1 - n, ".%03ldZ ",
	    now.tv_nsec / 1000000);
}

/* True if messages of `level` are written now. */
static bool
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&current_level,
	    memory_order_relaxed);
}

/* Formats "[TIME ]wshub: <tag><message>\n" and writes it in one
 * write(2). */
static void
log_write(const char *tag, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n = atomic_load_explicit(&stamped, memory_order_relaxed) ?
	    log_time(line) : 0;
	int m;

	n += snprintf(line + n, sizeof(line) - (size_t)n, "wshub: %s", tag);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);

	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2; /* truncated: still one line */
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return; /* nowhere left to report it */
}

#define LOG_AT(level, tag)                   \
	do {                                 \
		va_list ap;                  \
		if (!log_enabled(level))     \
			return;              \
		va_start(ap, fmt);           \
		log_write(tag, fmt, ap);     \
		va_end(ap);                  \
	} while (0)

void
log_error(const char *fmt, ...)
{
	LOG_AT(LOG_ERROR, "error: ");
}

/* Warnings are kept under -q, with the errors. */
void
log_warn(const char *fmt, ...)
{
	LOG_AT(LOG_ERROR, "warning: ");
}

void
log_info(const char *fmt, ...)
{
	LOG_AT(LOG_INFO, "");
}

void
log_debug(const char *fmt, ...)
{
	LOG_AT(LOG_DEBUG, "debug: ");
}

/* What the program reports whatever the level: not an event. */
void
log_always(const char *fmt, ...)
{
	LOG_AT(LOG_ERROR, "");
}
