/* xmalloc — allocation that aborts instead of returning NULL. */
#include <stdio.h>
#include <stdlib.h>

#include "wshub/xmalloc.h"

static void
out_of_memory(size_t nmemb, size_t size)
{
	fprintf(stderr, "wshub: out of memory allocating %zu x %zu bytes\n",
	    nmemb, size);
	abort();
}

void
xalloc_failed(const char *what)
{
	fprintf(stderr, "wshub: out of memory allocating %s\n", what);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
		out_of_memory(1, size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

	if (p == NULL)
		out_of_memory(nmemb, size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p = reallocarray(ptr, nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

	if (p == NULL)
		out_of_memory(nmemb, size);
	return p;
}

