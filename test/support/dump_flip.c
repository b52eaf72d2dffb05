/* The dump while threads flip between states (see dump_flip.h). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/dump_flip.h"
#include "wshub/chan.h"
#include "wshub/threads.h"

#define FLIP_CONN 424200 /* flipper i is connection FLIP_CONN + i */
#define MAX_FLIPPERS 16

struct flip {
	chan_t *ch;
	atomic_bool stop;
	atomic_int entered;
	atomic_long flips;
};

struct flipper {
	struct flip *f;
	int i;
};

static void *
flipper_main(void *arg)
{
	struct flipper *me = arg;
	struct flip *f = me->f;
	struct thread_entry self;
	long n = 0;

	threads_enter(&self, ROLE_WRITER, FLIP_CONN + (uint64_t)me->i,
	    "flipper", "flips", NULL);
	atomic_fetch_add(&f->entered, 1);
	while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
		threads_block(TS_CHAN_RECV, chan_name(f->ch));
		threads_block(TS_COND, FLIP_COND_TEXT);
		threads_run();
		n++;
	}
	atomic_fetch_add(&f->flips, n);
	threads_leave();
	return NULL;
}

/* True if the flipper's line (text) or object (JSON) shows one of the
 * three states it takes, each with what it waits on, and nothing else. */
static bool
line_ok(const char *line, size_t len, bool json)
{
	static const char *const text_ok[] = {
		"running", "chan_recv " FLIP_CHAN_NAME,
		"cond_wait " FLIP_COND_TEXT,
	};
	static const char *const json_ok[] = {
		"\"state\":\"running\",\"on\":\"\"",
		"\"state\":\"chan_recv\",\"on\":\"" FLIP_CHAN_NAME "\"",
		"\"state\":\"cond_wait\",\"on\":\"" FLIP_COND_TEXT "\"",
	};
	const char *key = json ? "\"room\":\"flips\"," : " room=flips ";
	const char *tail = memmem(line, len, key, strlen(key));

	if (tail == NULL)
		return false;
	tail += strlen(key);
	for (int i = 0; i < 3; i++) {
		const char *want = json ? json_ok[i] : text_ok[i];

		if ((size_t)(line + len - tail) == strlen(want) &&
		    memcmp(tail, want, strlen(want)) == 0)
			return true;
	}
	return false;
}

/* Checks every flipper's line in one dump; 0 or -1 (said on stderr). */
static int
check_dump(const char *dump, bool json, int flippers, int nth)
{
	char key[32];

	for (int i = 0; i < flippers; i++) {
		const char *at, *start, *end;

		snprintf(key, sizeof(key), json ? "\"conn\":%d," : " conn=%d ",
		    FLIP_CONN + i);
		if ((at = strstr(dump, key)) == NULL ||
		    (end = strchr(at, json ? '}' : '\n')) == NULL) {
			fprintf(stderr, "dump_flip: dump %d lost flipper %d:"
			    "\n%s\n", nth, i, dump);
			return -1;
		}
		start = at;
		while (start > dump && start[-1] != (json ? '{' : '\n'))
			start--;
		if (!line_ok(start, (size_t)(end - start), json)) {
			fprintf(stderr, "dump_flip: dump %d shows flipper %d "
			    "as: %.*s\n", nth, i, (int)(end - start), start);
			return -1;
		}
	}
	return 0;
}

int
stress_dump_while_flipping(int flippers, int dumps)
{
	struct flip f = { .ch = chan_new(4, 0) };
	struct flipper who[MAX_FLIPPERS];
	pthread_t th[MAX_FLIPPERS];
	int rc = 0, started = 0, taken = 0;

	if (flippers > MAX_FLIPPERS)
		flippers = MAX_FLIPPERS;
	chan_set_name(f.ch, FLIP_CHAN_NAME);
	for (; started < flippers; started++) {
		who[started] = (struct flipper){ .f = &f, .i = started };
		if (pthread_create(&th[started], NULL, flipper_main,
		    &who[started]) != 0) {
			fprintf(stderr, "dump_flip: cannot start flipper %d\n",
			    started);
			rc = -1;
			break;
		}
	}
	while (rc == 0 && atomic_load(&f.entered) < flippers)
		sched_yield();
	for (; taken < dumps && rc == 0; taken++) {
		bool json = taken % 2;
		size_t len;
		char *dump = threads_dump(json ? THREADS_JSON : THREADS_TEXT, 256,
		    &len);

		rc = check_dump(dump, json, flippers, taken);
		free(dump);
	}
	atomic_store(&f.stop, true);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	chan_free(f.ch);
	if (rc == 0 && atomic_load(&f.flips) == 0) {
		fprintf(stderr, "dump_flip: no flipper ever flipped\n");
		rc = -1;
	}
	if (rc == 0)
		printf("dump_flip: %d dumps while %d threads flipped %ld times: "
		    "each consistent\n", taken, flippers, atomic_load(&f.flips));
	return rc;
}
