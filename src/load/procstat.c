/* procstat — server and self resource figures (see procstat.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "load.h"
#include "procstat.h"

/* VmRSS and Threads from /proc/PID/status. */
static int
read_status(pid_t pid, struct procstat *ps)
{
	char path[64], line[256];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld", &ps->rss_kib) == 1)
			found++;
		else if (sscanf(line, "Threads: %ld", &ps->threads) == 1)
			found++;
	}
	fclose(f);
	return found == 2 ? 0 : -ENOENT;
}

/* utime + stime (fields 14 and 15) from /proc/PID/stat. */
static int
read_stat(pid_t pid, int64_t *cpu_ns)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces: skip past its ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &utime, &stime) != 2)
		return -EINVAL;
	*cpu_ns = (int64_t)(utime + stime) * (NSEC_PER_SEC /
	    sysconf(_SC_CLK_TCK));
	return 0;
}

/* Both /proc files, or nothing. */
int
procstat_read(pid_t pid, struct procstat *ps)
{
	struct procstat tmp;
	int rc;

	if ((rc = read_status(pid, &tmp)) < 0 ||
	    (rc = read_stat(pid, &tmp.cpu_ns)) < 0)
		return rc;
	*ps = tmp;
	return 0;
}

/* A struct timeval as nanoseconds. */
static int64_t
tv_ns(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * NSEC_PER_SEC + (int64_t)tv->tv_usec * 1000;
}

/* getrusage(2) for the whole process. */
struct cpu_time
procstat_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (struct cpu_time){ tv_ns(&ru.ru_utime), tv_ns(&ru.ru_stime) };
}
