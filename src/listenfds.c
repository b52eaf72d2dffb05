/* listenfds — systemd socket activation (see listenfds.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wshub/listenfds.h"

/* The value of environment variable `name` as a number in [lo, hi], or
 * -1 if it is unset or not such a number. */
static long long
env_number(const char *name, long long lo, long long hi)
{
	const char *v = getenv(name), *why = NULL;
	long long n;

	if (v == NULL)
		return -1;
	n = strtonum(v, lo, hi, &why);
	return why ? -1 : n;
}

/* 0 if fd is a listening stream socket, else -1 with the reason in err. */
static int
check_listener(int fd, char *err, size_t errlen)
{
	int type = 0, listening = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
		snprintf(err, errlen, "descriptor %d is not a socket (%s)", fd,
		    strerror(errno));
		return -1;
	}
	len = sizeof(listening);
	if (type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
	    &listening, &len) != 0 || !listening) {
		snprintf(err, errlen, "descriptor %d is not a listening TCP "
		    "socket (ListenStream= in the .socket unit)", fd);
		return -1;
	}
	return 0;
}

int
listenfds_take(char *err, size_t errlen)
{
	long long pid = env_number("LISTEN_PID", 1, 0x7fffffff);
	long long n = env_number("LISTEN_FDS", 0, 4096);
	int fd = LISTENFDS_START;

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (pid != (long long)getpid())
		return -1; /* none, or meant for another process */
	if (n != 1) {
		snprintf(err, errlen, "LISTEN_FDS=%lld: wshub serves one "
		    "listening socket (one ListenStream= in the .socket unit)",
		    n);
		return -2;
	}
	if (check_listener(fd, err, errlen) != 0)
		return -2;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		snprintf(err, errlen, "descriptor %d: fcntl: %s", fd,
		    strerror(errno));
		return -2;
	}
	return fd;
}
