/*
 * futex_hash — sizes the kernel's futex hash for the threads wshub will
 * hold (issue 21, item 0).  Why a thread-per-connection server must: docs/
 * ARCHITECTURE.md, "Where a waiting thread parks".
 *
 * DESIGN
 * main calls futex_hash_setup once, before it starts any thread (then the
 * prctl is immediate; later it waits for every futex operation on the old
 * table).  The size: one slot per thread wshub may hold (two per client,
 * plus FUTEX_HASH_FIXED_THREADS), rounded up to a power of two; no fewer
 * than the kernel's own default could reach (4 per online CPU, at least
 * 16), because a size set by hand stops the kernel's automatic growth; at
 * most FUTEX_HASH_CAP.  A slot is one 64-byte cache line of kernel memory,
 * charged to the process's memory cgroup.  --max-clients 0 sizes for the
 * most clients the process's limits allow (futex_hash_client_ceiling).
 *
 * The kernel's rules (kernel/futex/core.c, futex_hash_allocate and
 * futex_hash_prctl, 6.16-6.18): the number must be 0 or a power of two
 * other than 1 (else EINVAL); 0 switches the process to the global table
 * for good (a later SET_SLOTS is EBUSY); the fourth argument must be 0 (the
 * FH_FLAG_IMMUTABLE of commit 760e6f7befba came and went); no upper bound
 * but the allocation.  GET_SLOTS is 0 for the global table, or before the
 * first pthread_create.  A kernel before 6.16 returns EINVAL for both:
 * wshub keeps the global table (256 buckets per CPU, shared by every
 * process) and says so only at -v.
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
/* The most slots wshub asks for by itself: 8 MiB of kernel memory, enough
 * for 50,000 clients; an uncapped table would be 128 MiB for
 * --max-clients 1000000. */
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
 * The most clients `l` allows, the smallest over the limits: a descriptor,
 * two tasks, two threads and four mappings (a stack and its guard page per
 * thread) per client.  In *limit the name of the limit that binds ("kernel.pid_max"); -1
 * and "none" if no limit is known.
 */
long futex_hash_client_ceiling(const struct process_limits *l,
    const char **limit);

/* The slots for `clients` clients on `cpus` online CPUs (the size of
 * DESIGN). */
unsigned long futex_hash_slots_for(long clients, long cpus);

/* The slots of the process's private futex hash now (GET_SLOTS): N, or 0
 * for the global hash (or none yet), or -1 where the kernel has no such
 * prctl. */
long futex_hash_slots(void);

/*
 * At start-up, before any thread: `flag` (--futex-hash-slots) is
 * FUTEX_HASH_AUTO to size the hash for `max_clients` (--max-clients; 0 =
 * what the limits allow), a power of two to ask for that many slots, or 0
 * to leave the kernel's default.  At -v one line says the slots in use and
 * why; a refusal is a warning, and so is a kernel without the prctl when
 * `flag` asked for a size by hand.  Returns futex_hash_slots() afterwards.
 */
long futex_hash_setup(long flag, int max_clients);

#endif
