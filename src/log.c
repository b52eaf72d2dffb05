/* log — one line per event on stderr (see log.h). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "wshub/log.h"

#define LOG_LINE_MAX 1024

static atomic_int current_level = LOG_INFO;

void
log_set_level(enum log_level level)
{
	atomic_store(&current_level, level);
}

/* True if messages of `level` are written now. */
static bool
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&current_level,
	    memory_order_relaxed);
}

/* Formats "wshub: <tag><message>\n" and writes it in one write(2). */
static void
log_write(const char *tag, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n = snprintf(line, sizeof(line), "wshub: %s", tag);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);

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
