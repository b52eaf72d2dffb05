/*
 * xmalloc — allocation that never returns NULL.
 *
 * On failure these print one line on stderr and abort(): a server that
 * cannot allocate a few hundred bytes has no sensible way to go on, and
 * callers stay free of error paths that would never be tested.
 */
#ifndef WSHUB_XMALLOC_H
#define WSHUB_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);

/* The same end for an allocation a library made and reported failed
 * (`what`: "a wslay context"): one line on stderr, then abort(). */
void xalloc_failed(const char *what) __attribute__((noreturn));

#endif
