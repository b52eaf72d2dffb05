/* deadline: the clock readings every timeout is built on. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "wshub/deadline.h"

static int64_t
ms_of(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* deadline_now_ms is now, not now + 1 ms: it lies between two readings of
 * the clock taken around it (it was one past the second in most calls). */
Test(deadline, now_ms_is_the_clock_between_two_readings)
{
	for (int i = 0; i < 1000; i++) {
		int64_t before = ms_of(deadline_now());
		int64_t now = deadline_now_ms();
		int64_t after = ms_of(deadline_now());

		cr_assert(before <= now && now <= after,
		    "deadline_now_ms() = %lld, not in [%lld, %lld]",
		    (long long)now, (long long)before, (long long)after);
	}
}
