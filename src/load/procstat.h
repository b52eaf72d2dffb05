/*
 * procstat — CPU and memory figures for the report: the server's, read
 * from /proc/PID, and this process's own, from getrusage(2).
 */
#ifndef WSHUB_LOAD_PROCSTAT_H
#define WSHUB_LOAD_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct procstat {
	long rss_kib;      /* VmRSS */
	long hwm_kib;      /* VmHWM: the highest VmRSS the process has had */
	long threads;      /* Threads */
	int64_t cpu_ns;    /* utime + stime */
};

/*
 * Reads /proc/PID/status and /proc/PID/stat.  Returns 0, or -errno (the
 * process is gone, or /proc is not readable); *ps is then unchanged.
 */
int procstat_read(pid_t pid, struct procstat *ps);

/*
 * What /proc says of a process's TCP sockets and some targets (the run's
 * URLs, resolved), from /proc/PID/net/tcp and tcp6 (the sockets of its
 * network namespace: addresses, state, inode) and /proc/PID/fd (which of
 * those inodes it holds).
 */
struct procstat_socks {
	int listening;     /* 1: it holds a socket listening on `port`; 0: on
	                      none of the targets' ports; -errno: cannot tell
	                      (EACCES: its /proc/PID/fd is not ours to read) */
	uint16_t port;     /* the port it listens on, when listening == 1 */
	long time_wait;    /* sockets in TIME_WAIT on a target's port, or
	                      from a client to a target, younger than the
	                      process: connections there that closed within
	                      the last minute (Linux keeps them 60 s) while it
	                      ran, whoever held them */
};

/*
 * Fills *s for process `pid` and the `n` targets.  Returns 0, or -errno if
 * the socket tables cannot be read (the process is gone: -ENOENT).
 */
int procstat_socks(pid_t pid, const struct sockaddr_storage *targets,
    size_t n, struct procstat_socks *s);

/* The command name of `pid` (/proc/PID/comm) in `buf`; "?" if unknown. */
void procstat_comm(pid_t pid, char *buf, size_t cap);

/*
 * The children of `pid`'s main thread (/proc/PID/task/PID/children), at
 * most `cap` of them, in `out`.  Returns how many; 0 if unknown.
 */
size_t procstat_children(pid_t pid, pid_t *out, size_t cap);

/*
 * Kernel memory, machine-wide, from /proc/meminfo: what a connection costs
 * the kernel beyond a process's RSS.  A thread's kernel stack (16 KiB on
 * x86-64) is in KernelStack; sockets, their buffers' bookkeeping, task
 * structs and the like are in Slab.  Machine-wide, so a run's growth
 * includes wshub-load's own sockets and whatever else the machine did.
 */
struct kernmem {
	long slab_kib;          /* Slab */
	long kernel_stack_kib;  /* KernelStack */
};

/* Reads /proc/meminfo.  Returns 0, or -errno (-EINVAL if a field is
 * missing); *k is then unchanged. */
int procstat_kernmem(struct kernmem *k);

/* CPU time in nanoseconds, split by where it was spent. */
struct cpu_time {
	int64_t user_ns;
	int64_t sys_ns;    /* the kernel; on loopback it includes TCP work for
	                    * the peer's socket (ACKs, wake-ups) */
};

/* This process's CPU time so far, all threads. */
struct cpu_time procstat_self_cpu(void);

#endif
