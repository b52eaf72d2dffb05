/*
 * ThreadSanitizer driver for the thread dump (issue 17, item 4): one
 * thread flips between a channel wait, a condition wait and running while
 * this one dumps.  The snapshot of a thread's state and what it waits on
 * is a seqlock of relaxed atomics (threads.h): TSan fails the run (exit
 * 66) if any of it is a data race; the driver fails if a dump pairs a
 * state with another state's object.
 */
#include <stdio.h>

#include "support/dump_flip.h"

int
main(void)
{
	int failed = stress_dump_while_flipping(4, 20000) != 0;

	printf("tsan threads_dump: %s\n", failed ? "FAILED" : "ok");
	return failed;
}
