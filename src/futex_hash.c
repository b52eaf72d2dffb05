/* futex_hash — the kernel's futex hash, sized for wshub (see futex_hash.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "wshub/futex_hash.h"
#include "wshub/log.h"

/* Descriptors besides one per client: stdin, stdout, stderr, the listener,
 * the front door's epoll and wake-ups, Redis, and requests not yet
 * upgraded (they hold one each). */
#define FIXED_FDS 32
/* Mappings besides a thread stack's two: the binary, the libraries, the
 * heap and malloc's arenas. */
#define FIXED_MAPS 1024

/* A number from a /proc/sys file, or -1. */
static long
read_sysctl(const char *path)
{
	FILE *f = fopen(path, "re");
	long n = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* A soft resource limit, or -1 for none. */
static long
soft_limit(int resource)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (rlim_t)LONG_MAX)
		return -1;
	return (long)rl.rlim_cur;
}

void
futex_hash_read_limits(struct process_limits *l)
{
	l->nofile = soft_limit(RLIMIT_NOFILE);
	/* The kernel does not hold root to RLIMIT_NPROC (copy_process). */
	l->nproc = geteuid() == 0 ? -1 : soft_limit(RLIMIT_NPROC);
	l->pid_max = read_sysctl("/proc/sys/kernel/pid_max");
	l->threads_max = read_sysctl("/proc/sys/kernel/threads-max");
	l->max_map_count = read_sysctl("/proc/sys/vm/max_map_count");
}

/* Clients a limit of `n` allows when each costs `per` and `fixed` go to
 * the server itself; -1 for no limit. */
static long
clients_under(long n, long fixed, long per)
{
	if (n < 0)
		return -1;
	return n > fixed ? (n - fixed) / per : 0;
}

long
futex_hash_client_ceiling(const struct process_limits *l, const char **limit)
{
	const struct {
		const char *name;
		long clients;
	} under[] = {
		{ "RLIMIT_NOFILE (ulimit -n)",
		    clients_under(l->nofile, FIXED_FDS, 1) },
		{ "RLIMIT_NPROC (ulimit -u)",
		    clients_under(l->nproc, FUTEX_HASH_FIXED_THREADS, 2) },
		{ "kernel.pid_max",
		    clients_under(l->pid_max, FUTEX_HASH_FIXED_THREADS, 2) },
		{ "kernel.threads-max",
		    clients_under(l->threads_max, FUTEX_HASH_FIXED_THREADS, 2) },
		{ "vm.max_map_count",
		    clients_under(l->max_map_count, FIXED_MAPS, 4) },
	};
	long best = -1;

	*limit = "none";
	for (size_t i = 0; i < sizeof(under) / sizeof(under[0]); i++) {
		if (under[i].clients >= 0 &&
		    (best < 0 || under[i].clients < best)) {
			best = under[i].clients;
			*limit = under[i].name;
		}
	}
	return best;
}

/* The smallest power of two >= n (n <= 2^62). */
static unsigned long
pow2_at_least(unsigned long n)
{
	unsigned long p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

unsigned long
futex_hash_slots_for(long clients, long cpus)
{
	unsigned long floor = pow2_at_least(cpus > 0 ? 4 * (unsigned long)cpus :
	    4), slots;

	if (clients < 0 || clients > FUTEX_HASH_CAP)
		clients = FUTEX_HASH_CAP; /* unknown or huge: the cap below */
	slots = pow2_at_least(2 * (unsigned long)clients +
	    FUTEX_HASH_FIXED_THREADS);
	if (floor < 16)
		floor = 16;
	if (slots < floor)
		slots = floor;
	return slots < FUTEX_HASH_CAP ? slots : FUTEX_HASH_CAP;
}

long
futex_hash_slots(void)
{
	int n = prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0);

	return n < 0 ? -1 : n;
}

/* What the start-up line says when the kernel has no private hash. */
static void
no_private_hash(long flag, int err)
{
	if (flag > 0)
		log_warn("--futex-hash-slots %ld: this kernel has no private "
		    "futex hash (prctl PR_FUTEX_HASH: %s; Linux 6.16 added it); "
		    "using the global one", flag, strerror(err));
	else
		log_debug("futex hash: the kernel's global one (this kernel "
		    "has no PR_FUTEX_HASH)");
}

/* The slots to ask for, and why in words: the flag's, or sized for
 * --max-clients (for the limits' ceiling when it is 0). */
static unsigned long
slots_wanted(long flag, int max_clients, char *why, size_t whylen)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long want;

	if (flag > 0) {
		want = (unsigned long)flag;
		snprintf(why, whylen, "--futex-hash-slots %ld", flag);
	} else if (max_clients > 0) {
		want = futex_hash_slots_for(max_clients, cpus);
		snprintf(why, whylen, "2 threads per client, --max-clients "
		    "%d%s", max_clients, want == FUTEX_HASH_CAP ?
		    ", capped" : "");
	} else {
		struct process_limits l;
		const char *limit;
		long ceiling;

		futex_hash_read_limits(&l);
		ceiling = futex_hash_client_ceiling(&l, &limit);
		want = futex_hash_slots_for(ceiling, cpus);
		snprintf(why, whylen, "2 threads per client, --max-clients "
		    "0: the %ld clients %s allows%s", ceiling, limit,
		    want == FUTEX_HASH_CAP ? ", capped" : "");
	}
	return want;
}

long
futex_hash_setup(long flag, int max_clients)
{
	char why[160];
	long now;
	unsigned long want;

	if (futex_hash_slots() < 0) { /* before 6.16: EINVAL */
		no_private_hash(flag, errno);
		return -1;
	}
	if (flag == 0) {
		log_debug("futex hash: left to the kernel (--futex-hash-slots "
		    "0): 4 slots per thread, counting no more threads than "
		    "CPUs, at least 16");
		return futex_hash_slots();
	}
	want = slots_wanted(flag, max_clients, why, sizeof(why));
	if (prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, want, 0, 0) != 0) {
		int err = errno;

		/* EINVAL for a valid size: no CONFIG_FUTEX_PRIVATE_HASH. */
		if (err == EINVAL && flag < 0) {
			no_private_hash(flag, err);
			return futex_hash_slots();
		}
		log_warn("cannot size the futex hash to %lu slots (%s): %s; "
		    "the kernel's default is used", want, why, strerror(err));
		return futex_hash_slots();
	}
	now = futex_hash_slots();
	log_debug("futex hash: %ld slots (%s)", now, why);
	return now;
}
