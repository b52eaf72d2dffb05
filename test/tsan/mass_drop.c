/*
 * ThreadSanitizer driver: 200 clients dropped as slow while broadcasts are
 * in flight (test/support/mass_drop.c).  TSan fails the run (exit 66) on
 * any data race; the driver fails if the scenario's checks do.
 */
#include <stdio.h>

#include "support/mass_drop.h"

int
main(void)
{
	int rc = mass_drop_run(200, 20000);

	printf("tsan mass drop: %s\n", rc == 0 ? "ok" : "FAILED");
	return rc == 0 ? 0 : 1;
}
