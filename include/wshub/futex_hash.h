/*
 * futex_hash — sizes the kernel's futex hash for the threads wshub will
 * hold (issue 21, item 0).
 *
 * DESIGN
 * A goroutine that waits parks in the Go scheduler's own queues, which grow
 * with the goroutines.  A thread that waits (pthread_cond_wait, a contended
 * mutex) parks in the kernel: futex(2) hashes the address it waits on into
 * a table of buckets, each a spinlock and a list of waiters, and every wake
 * (pthread_cond_signal, an unlock with waiters) walks the whole list of its
 * bucket to find the waiters of its address.  The table must be sized for
 * the waiters, or a wake costs O(waiters / buckets).
 *
 * Linux 6.16 gave each multi-threaded process a private table (before, one
 * global table for the machine: 256 buckets per CPU).  Its default size is
 * 4 buckets per thread, but counting at most one thread per online CPU, and
 * at least 16: on a 2-vCPU machine 16 buckets, whatever the number of
 * threads.  With 15,000 writers asleep on their condition variables each
 * bucket chains ~900 of them, so a broadcast (one wake per writer) costs
 * N^2: 2.1-3.6 s to reach 15,000 clients, 49 % of the server's CPU inside
 * futex_wake.  prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, 16384, 0) took
 * it to 0.37 s (issue 21's table).
 *
 * So wshub sizes the table itself, in main, before it starts any thread:
 * one slot per thread it may hold (two per client, plus
 * FUTEX_HASH_FIXED_THREADS), rounded up to a power of two; no fewer than
 * the kernel's own default could reach (4 per online CPU, at least 16),
 * because a size set by hand stops the kernel's automatic growth; at most
 * FUTEX_HASH_CAP.  A bucket is one cache line (struct futex_hash_bucket: a
 * waiter count, a spinlock, a plist head, a pointer; ____cacheline_aligned,
 * 64 bytes on x86-64), allocated with kvzalloc and charged to the process's
 * memory cgroup, so N slots cost N x 64 bytes of kernel memory: 2,048 slots
 * for 1,000 clients are 128 KiB, 32,768 for 15,000 are 2 MiB.
 *
 * The cap, 131,072 slots = 8 MiB: enough for issue 21's goal of 50,000
 * clients (100,008 threads, under one thread per slot; only the writers,
 * one per client, wait on condition variables, so under one waiter per two
 * slots).  Past it the chains grow again, but slowly: 200,000 clients would
 * average 1.5 sleeping writers a bucket, against 900 today.  8 MiB is
 * what 512 threads' kernel stacks cost (16 KiB each), 0.5 % of what 50,000
 * clients' 100,000 threads hold in kernel stacks alone: the table is never
 * what limits a thread-per-connection server; an uncapped one would be
 * (--max-clients 1000000 would ask for 128 MiB).
 *
 * --max-clients 0 ("no limit but the machine's") sizes for the most
 * clients the process's limits allow, the smallest of: RLIMIT_NOFILE (a
 * descriptor per client), RLIMIT_NPROC (two tasks per client; not for
 * root, whom the kernel does not hold to it), kernel.pid_max and
 * kernel.threads-max (two threads per client) and vm.max_map_count (a
 * thread's stack is two mappings, the stack and its guard page: four per
 * client).  On this machine (ulimit -n 20000, pid_max 32768,
 * max_map_count 65530) that is ~16,000 clients: 32,768 slots, 2 MiB.
 *
 * The kernel's rules (kernel/futex/core.c, futex_hash_allocate and
 * futex_hash_prctl, 6.16-6.18; tools/testing/selftests/futex): the number
 * must be 0 or a power of two other than 1 (else EINVAL); 0 switches the
 * process to the global table for good (any later SET_SLOTS is EBUSY); the
 * fourth argument must be 0 (an "immutable" flag, FH_FLAG_IMMUTABLE, came
 * and went with the series, commit 760e6f7befba: 0 is right for every
 * version); there is no upper bound but the allocation (2^31 fails with
 * ENOMEM; 2^24, 1 GiB, succeeds); it may be changed while threads run, but
 * the call then waits until no futex operation holds the old table (~30 ms
 * here), while before the first thread it is immediate (0.3 ms for
 * 16,384).  GET_SLOTS returns the slots of the private table, 0 when the
 * process uses the global one (or has no table yet: a single-threaded
 * process, before its first pthread_create).  A kernel without the prctl
 * (before 6.16, such as Debian 12's 6.1) returns EINVAL for both: wshub
 * then says nothing (a line at -v) and goes on with the global table, which
 * is 256 buckets per CPU and shared with every process.
 *
 * --futex-hash-slots chooses by hand, for an A/B benchmark: 0 leaves the
 * table to the kernel (no prctl at all), N asks for N slots.
 */
#ifndef WSHUB_FUTEX_HASH_H
#define WSHUB_FUTEX_HASH_H

/* linux/prctl.h since 6.16; Debian 12's headers do not have them. */
#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78
#define PR_FUTEX_HASH_SET_SLOTS 1
#define PR_FUTEX_HASH_GET_SLOTS 2
#endif

/* --futex-hash-slots auto (the default): sized from --max-clients. */
#define FUTEX_HASH_AUTO (-1L)
/* The most slots wshub asks for by itself: 8 MiB of kernel memory. */
#define FUTEX_HASH_CAP 131072
/* The most --futex-hash-slots accepts: 64 MiB. */
#define FUTEX_HASH_FLAG_MAX 1048576
/* Threads besides the two per client: the front door, the signal thread,
 * the hub, the reaper, the Redis bridge's two, and two to spare. */
#define FUTEX_HASH_FIXED_THREADS 8

/* What the process's limits allow, read by futex_hash_read_limits; -1
 * where there is no limit (or it could not be read). */
struct process_limits {
	long nofile;        /* RLIMIT_NOFILE (soft) */
	long nproc;         /* RLIMIT_NPROC (soft); -1 for root */
	long pid_max;       /* /proc/sys/kernel/pid_max */
	long threads_max;   /* /proc/sys/kernel/threads-max */
	long max_map_count; /* /proc/sys/vm/max_map_count */
};

void futex_hash_read_limits(struct process_limits *l);

/*
 * The most clients `l` allows (the smallest over the limits, see DESIGN),
 * and in *limit the name of the limit that binds ("kernel.pid_max"); -1
 * and "none" if no limit is known.
 */
long futex_hash_client_ceiling(const struct process_limits *l,
    const char **limit);

/* The slots for `clients` clients on `cpus` online CPUs (DESIGN): a power
 * of two from max(16, 4 cpus) to FUTEX_HASH_CAP. */
unsigned long futex_hash_slots_for(long clients, long cpus);

/* The slots of the process's private futex hash now (GET_SLOTS): N, or 0
 * for the global hash (or none yet), or -1 where the kernel has no such
 * prctl. */
long futex_hash_slots(void);

/*
 * At start-up, before any thread: sizes the hash for `max_clients`
 * (--max-clients; 0 = what the limits allow) when `flag` (--futex-hash-
 * slots) is FUTEX_HASH_AUTO, asks for `flag` slots when it is a power of
 * two, and does nothing when it is 0.  At -v one line says the slots in use
 * (read back with GET_SLOTS) and why; a refusal is a warning; a kernel
 * without the prctl is not (unless `flag` asked for a size by hand).
 * Returns futex_hash_slots() afterwards.
 */
long futex_hash_setup(long flag, int max_clients);

#endif
