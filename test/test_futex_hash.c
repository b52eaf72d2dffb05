/*
 * futex_hash: the slots wshub asks the kernel for (issue 21, item 0), from
 * --max-clients or from the ceiling the process limits allow.  The
 * arithmetic is checked here; that the kernel takes the size, and that -v
 * and /debug/threads show what it took, is checked against the wshub
 * binary in test/debug/run.py (where the kernel has PR_FUTEX_HASH).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "wshub/futex_hash.h"

Test(futex_hash, two_threads_per_client_rounded_up_to_a_power_of_two)
{
	/* 2 x clients + 8 fixed threads, rounded up. */
	cr_assert_eq(futex_hash_slots_for(1000, 2), 2048);
	cr_assert_eq(futex_hash_slots_for(1020, 2), 2048);  /* 2048 exactly */
	cr_assert_eq(futex_hash_slots_for(1021, 2), 4096);
	cr_assert_eq(futex_hash_slots_for(10000, 2), 32768);
	cr_assert_eq(futex_hash_slots_for(15000, 2), 32768);
	cr_assert_eq(futex_hash_slots_for(50000, 2), 131072);
}

Test(futex_hash, never_below_what_the_kernel_would_pick_itself)
{
	/* A size set by hand stops the kernel's own growth (4 per thread,
	 * counting at most one thread per CPU, at least 16). */
	cr_assert_eq(futex_hash_slots_for(1, 2), 16);
	cr_assert_eq(futex_hash_slots_for(0, 1), 16);
	cr_assert_eq(futex_hash_slots_for(1, 64), 256);
	cr_assert_eq(futex_hash_slots_for(100, 64), 256);
	cr_assert_eq(futex_hash_slots_for(1, 0), 16); /* sysconf failed */
}

Test(futex_hash, capped_at_8_mib_of_buckets)
{
	cr_assert_eq(FUTEX_HASH_CAP, 131072);
	cr_assert_eq(futex_hash_slots_for(65532, 2), 131072);
	cr_assert_eq(futex_hash_slots_for(1000000, 2), FUTEX_HASH_CAP);
	cr_assert_eq(futex_hash_slots_for(-1, 2), FUTEX_HASH_CAP,
	    "no known ceiling: the cap");
}

Test(futex_hash, the_ceiling_is_the_smallest_limit_and_names_it)
{
	struct process_limits l = { .nofile = 20000, .nproc = 96367,
	    .pid_max = 32768, .threads_max = 192735, .max_map_count = 65530 };
	const char *limit;

	/* This machine's limits: 65530 maps, 4 a client, 1024 kept back. */
	cr_assert_eq(futex_hash_client_ceiling(&l, &limit), (65530 - 1024) / 4);
	cr_assert_str_eq(limit, "vm.max_map_count");
	l.max_map_count = 1 << 20;
	cr_assert_eq(futex_hash_client_ceiling(&l, &limit), (32768 - 8) / 2);
	cr_assert_str_eq(limit, "kernel.pid_max");
	l.pid_max = 4194304;
	cr_assert_eq(futex_hash_client_ceiling(&l, &limit), 20000 - 32);
	cr_assert_str_eq(limit, "RLIMIT_NOFILE (ulimit -n)");
	l.nofile = -1; /* unlimited */
	cr_assert_eq(futex_hash_client_ceiling(&l, &limit), (96367 - 8) / 2);
	cr_assert_str_eq(limit, "RLIMIT_NPROC (ulimit -u)");
	l.nproc = -1; /* root */
	cr_assert_eq(futex_hash_client_ceiling(&l, &limit), (192735 - 8) / 2);
	cr_assert_str_eq(limit, "kernel.threads-max");
	l = (struct process_limits){ -1, -1, -1, -1, -1 };
	cr_assert_eq(futex_hash_client_ceiling(&l, &limit), -1);
	cr_assert_str_eq(limit, "none");
	l.nofile = 10; /* fewer descriptors than the server needs itself */
	cr_assert_eq(futex_hash_client_ceiling(&l, &limit), 0);
}

Test(futex_hash, the_limits_of_this_process_can_be_read)
{
	struct process_limits l;
	const char *limit;

	futex_hash_read_limits(&l);
	cr_assert_gt(l.pid_max, 0, "/proc/sys/kernel/pid_max");
	cr_assert_gt(l.threads_max, 0, "/proc/sys/kernel/threads-max");
	cr_assert_gt(l.max_map_count, 0, "/proc/sys/vm/max_map_count");
	cr_assert_gt(futex_hash_client_ceiling(&l, &limit), 0);
	cr_assert_neq(strcmp(limit, "none"), 0);
}
