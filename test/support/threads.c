/* Proving that a thread is blocked, and on what (see threads.h). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "support/threads.h"
#include "wshub/threads.h"

pid_t
thread_id(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* True if the registry's dump shows `tid` doing `doing`. */
static bool
registry_shows(pid_t tid, const char *doing)
{
	char want[160];
	size_t len;
	char *dump = threads_dump(THREADS_TEXT, 0, &len);
	bool seen;

	snprintf(want, sizeof(want), " tid=%d %s", (int)tid, doing);
	seen = strstr(dump, want) != NULL;
	free(dump);
	return seen;
}

bool
thread_wait_doing(pid_t tid, const char *doing, atomic_bool *done)
{
	for (;;) {
		if (atomic_load(done))
			return false;
		if (registry_shows(tid, doing))
			return !atomic_load(done);
		sched_yield();
	}
}
