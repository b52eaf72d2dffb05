/* Proving that a thread is blocked, from /proc (see threads.h). */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "support/threads.h"

pid_t
thread_id(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The one-letter scheduler state of `tid`, or 0 if it cannot be read. */
static char
thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	return p && p[1] == ' ' ? p[2] : 0;
}

bool
thread_wait_blocked(pid_t tid, atomic_bool *done)
{
	for (;;) {
		if (atomic_load(done))
			return false;
		if (thread_state(tid) == 'S')
			return !atomic_load(done);
		sched_yield();
	}
}
