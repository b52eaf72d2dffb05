/*
 * ThreadSanitizer driver for the primitives.  Criterion's runner cannot
 * start under TSan ("Could not initialize inheritable arena", Criterion
 * issue #274), so the concurrent scenarios run here as a plain program.
 * TSan makes the process exit non-zero on any report.
 */
#include <stdio.h>

#include "support/stress.h"

int
main(void)
{
	int failed = 0;

	failed |= stress_chan_mpmc(4, 4, 50000, 64) != 0;
	failed |= stress_chan_mpmc(8, 2, 20000, 4) != 0;
	failed |= stress_msg_unref(16, 5000) != 0;
	printf("tsan primitives: %s\n", failed ? "FAILED" : "ok");
	return failed;
}
