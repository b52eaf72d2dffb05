/*
 * procstat — CPU and memory figures for the report: the server's, read
 * from /proc/PID, and this process's own, from getrusage(2).
 */
#ifndef WSHUB_LOAD_PROCSTAT_H
#define WSHUB_LOAD_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

struct procstat {
	long rss_kib;      /* VmRSS */
	long threads;      /* Threads */
	int64_t cpu_ns;    /* utime + stime */
};

/*
 * Reads /proc/PID/status and /proc/PID/stat.  Returns 0, or -errno (the
 * process is gone, or /proc is not readable); *ps is then unchanged.
 */
int procstat_read(pid_t pid, struct procstat *ps);

/* CPU time in nanoseconds, split by where it was spent. */
struct cpu_time {
	int64_t user_ns;
	int64_t sys_ns;    /* the kernel; on loopback it includes TCP work for
	                    * the peer's socket (ACKs, wake-ups) */
};

/* This process's CPU time so far, all threads. */
struct cpu_time procstat_self_cpu(void);

#endif
