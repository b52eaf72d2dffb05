/* procstat — server and self resource figures (see procstat.h). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "load.h"
#include "procstat.h"

/* VmRSS, VmHWM and Threads from /proc/PID/status. */
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
		else if (sscanf(line, "VmHWM: %ld", &ps->hwm_kib) == 1)
			found++;
		else if (sscanf(line, "Threads: %ld", &ps->threads) == 1)
			found++;
	}
	fclose(f);
	return found == 3 ? 0 : -ENOENT;
}

/*
 * utime, stime and starttime (fields 14, 15 and 22, in clock ticks) from
 * /proc/PID/stat.
 */
static int
read_stat_ticks(pid_t pid, unsigned long long *utime,
    unsigned long long *stime, unsigned long long *start)
{
	char path[64], buf[1024], *p;
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
	    "%llu %llu %*d %*d %*d %*d %*d %*d %llu", utime, stime,
	    start) != 3)
		return -EINVAL;
	return 0;
}

/* utime + stime, in nanoseconds. */
static int
read_stat(pid_t pid, int64_t *cpu_ns)
{
	unsigned long long utime, stime, start;
	int rc;

	if ((rc = read_stat_ticks(pid, &utime, &stime, &start)) < 0)
		return rc;
	*cpu_ns = (int64_t)(utime + stime) * (NSEC_PER_SEC /
	    sysconf(_SC_CLK_TCK));
	return 0;
}

/* How long `pid` has run, in clock ticks; LONG_MAX if unknown. */
static long
age_ticks(pid_t pid)
{
	unsigned long long utime, stime, start;
	double up;
	FILE *f;
	int n = 0;

	if ((f = fopen("/proc/uptime", "r")) != NULL) {
		n = fscanf(f, "%lf", &up);
		fclose(f);
	}
	if (n != 1 || read_stat_ticks(pid, &utime, &stime, &start) < 0)
		return LONG_MAX;
	return (long)(up * (double)sysconf(_SC_CLK_TCK)) - (long)start;
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

/* Slab and KernelStack, both or nothing. */
int
procstat_kernmem(struct kernmem *k)
{
	struct kernmem tmp = { -1, -1 };
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "Slab: %ld kB", &tmp.slab_kib);
		sscanf(line, "KernelStack: %ld kB", &tmp.kernel_stack_kib);
	}
	fclose(f);
	if (tmp.slab_kib < 0 || tmp.kernel_stack_kib < 0)
		return -EINVAL;
	*k = tmp;
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

#define LISTEN_MAX 32          /* listening sockets on the ports we keep:
                                  one per address, a few in practice */
#define TCP_LISTEN_STATE 0x0A  /* the kernel's TCP_LISTEN, as net/tcp shows */
#define TCP_TIME_WAIT_STATE 0x06
#define TIME_WAIT_S 60         /* Linux's TCP_TIMEWAIT_LEN, fixed */

/* What the socket tables say, before /proc/PID/fd is read. */
struct sock_scan {
	const struct sockaddr_storage *targets;
	size_t ntargets;
	unsigned long inode[LISTEN_MAX];   /* listening on a target's port */
	uint16_t port[LISTEN_MAX];
	size_t n;
	long age_ticks;                    /* the process's */
	long time_wait;
};

/* A target's port, and its address bytes (4 or 16) in *addr. */
static uint16_t
target(const struct sockaddr_storage *t, const uint8_t **addr, size_t *len)
{
	const struct sockaddr_in6 *six = (const void *)t;
	const struct sockaddr_in *four = (const void *)t;

	if (t->ss_family == AF_INET6) {
		*addr = six->sin6_addr.s6_addr;
		*len = 16;
		return ntohs(six->sin6_port);
	}
	*addr = (const uint8_t *)&four->sin_addr.s_addr;
	*len = 4;
	return ntohs(four->sin_port);
}

/*
 * Whether the table's `port` is a target's; with `hex` (the table's
 * address: 32-bit words, each printed as the number it holds in memory)
 * whether the address is the same target's too.
 */
static bool
wanted(const struct sock_scan *sc, unsigned port, const char *hex)
{
	uint8_t addr[16];
	size_t n = hex ? strlen(hex) / 2 : 0;

	if (hex != NULL && n != 4 && n != 16)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		char word[9];
		uint32_t w;

		memcpy(word, hex + 2 * i, 8);
		word[8] = '\0';
		w = (uint32_t)strtoul(word, NULL, 16);
		memcpy(addr + i, &w, 4);
	}
	for (size_t i = 0; i < sc->ntargets; i++) {
		const uint8_t *ta;
		size_t tlen;

		if (target(&sc->targets[i], &ta, &tlen) == port &&
		    (hex == NULL || (tlen == n && memcmp(ta, addr, n) == 0)))
			return true;
	}
	return false;
}

/*
 * One table, "tcp" or "tcp6": lines of "sl: LOCAL:PORT REMOTE:PORT ST
 * TX:RX TR:WHEN RETR UID TIMEOUT INODE ...", addresses and ports in hex.
 * A TIME_WAIT counts whether the server closed first (the local port is
 * the target's) or the client did (the remote end is the target), if it
 * is younger than the process: one from a process that served the port
 * before it is not its own.  Its timer (TR 3) says how long it has left of
 * TIME_WAIT_S, in clock ticks.  A missing tcp6 (no IPv6) is no error.
 */
static int
scan_table(pid_t pid, const char *table, struct sock_scan *sc)
{
	char path[64], line[512], remote[33];
	unsigned lport, rport, state;
	unsigned long inode, left;
	long wait_ticks = TIME_WAIT_S * sysconf(_SC_CLK_TCK);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, table);
	if ((f = fopen(path, "r")) == NULL)
		return errno == ENOENT && strcmp(table, "tcp6") == 0 ? 0 :
		    -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %32[0-9A-Fa-f]:%x %x "
		    "%*x:%*x %*x:%lx %*x %*u %*u %lu", &lport, remote, &rport,
		    &state, &left, &inode) != 6)
			continue;
		if (state == TCP_TIME_WAIT_STATE &&
		    wait_ticks - (long)left < sc->age_ticks &&
		    (wanted(sc, lport, NULL) || wanted(sc, rport, remote)))
			sc->time_wait++;
		else if (state == TCP_LISTEN_STATE && sc->n < LISTEN_MAX &&
		    wanted(sc, lport, NULL)) {
			sc->inode[sc->n] = inode;
			sc->port[sc->n++] = (uint16_t)lport;
		}
	}
	fclose(f);
	return 0;
}

/*
 * The port of the first listening socket the process holds: its
 * /proc/PID/fd links read "socket:[INODE]".  0 if none; -errno if the
 * directory cannot be read.
 */
static int
held_port(pid_t pid, const struct sock_scan *sc)
{
	char path[64], link[64];
	struct dirent *de;
	unsigned long inode;
	int found = 0;
	DIR *d;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -errno;
	while (found == 0 && (de = readdir(d)) != NULL) {
		if ((n = readlinkat(dirfd(d), de->d_name, link,
		    sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		for (size_t i = 0; i < sc->n; i++)
			if (sc->inode[i] == inode)
				found = sc->port[i];
	}
	closedir(d);
	return found;
}

/* Both tables, then the process's descriptors. */
int
procstat_socks(pid_t pid, const struct sockaddr_storage *targets, size_t n,
    struct procstat_socks *s)
{
	struct sock_scan sc = { .targets = targets, .ntargets = n,
	    .age_ticks = age_ticks(pid) };
	int rc;

	if ((rc = scan_table(pid, "tcp", &sc)) < 0 ||
	    (rc = scan_table(pid, "tcp6", &sc)) < 0)
		return rc;
	s->time_wait = sc.time_wait;
	s->port = 0;
	if ((rc = held_port(pid, &sc)) < 0) {
		s->listening = rc;
		return 0;
	}
	s->listening = rc > 0;
	s->port = (uint16_t)rc;
	return 0;
}

/* /proc/PID/comm without its newline. */
void
procstat_comm(pid_t pid, char *buf, size_t cap)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	snprintf(buf, cap, "?");
	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fgets(buf, (int)cap, f) == NULL)
		snprintf(buf, cap, "?");
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* Space-separated PIDs in /proc/PID/task/PID/children. */
size_t
procstat_children(pid_t pid, pid_t *out, size_t cap)
{
	char path[80], buf[4096], *p, *end;
	size_t n = 0, len;
	long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	for (p = buf; n < cap; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		out[n++] = (pid_t)v;
	}
	return n;
}
