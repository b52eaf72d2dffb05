/* lines — cutting a received message into its lines (see lines.h). */
#include <string.h>

#include "lines.h"

/* Starts an empty line. */
static void
restart(struct lines *l)
{
	l->len = 0;
	l->prefix_len = 0;
	l->last_cr = false;
}

/* A new message, split at '\n' or not. */
void
lines_begin(struct lines *l, bool split)
{
	l->split = split;
	restart(l);
}

/* Appends `n` bytes to the current line: its length, and its prefix. */
static void
append(struct lines *l, const uint8_t *p, size_t n)
{
	size_t room = PAYLOAD_PREFIX_MAX - l->prefix_len;
	size_t keep = n < room ? n : room;

	memcpy(l->prefix + l->prefix_len, p, keep);
	l->prefix_len += (uint8_t)keep;
	l->len += n;
	if (n > 0)
		l->last_cr = p[n - 1] == '\r';
}

/* Hands a non-empty line to `fn` and starts the next. */
static void
flush_line(struct lines *l, lines_fn *fn, void *arg)
{
	if (l->len > 0)
		fn(arg, l->prefix, l->prefix_len, l->len);
	restart(l);
}

/* A '\r' that ends the line belongs to its "\r\n": drops it. */
static void
drop_cr(struct lines *l)
{
	if (!l->last_cr)
		return;
	if (l->prefix_len == l->len) /* the '\r' is in the prefix too */
		l->prefix_len--;
	l->len--;
}

/* Up to each '\n': the line so far ends there. */
void
lines_feed(struct lines *l, const void *data, size_t n, lines_fn *fn,
    void *arg)
{
	const uint8_t *p = data, *end = p + n, *nl;

	while (l->split && p < end &&
	    (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		append(l, p, (size_t)(nl - p));
		drop_cr(l);
		flush_line(l, fn, arg);
		p = nl + 1;
	}
	append(l, p, (size_t)(end - p));
}

/* The last line, or the whole message when not splitting. */
void
lines_end(struct lines *l, lines_fn *fn, void *arg)
{
	if (l->len > 0 || !l->split)
		fn(arg, l->prefix, l->prefix_len, l->len);
	restart(l);
}
