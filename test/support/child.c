/* The wshub binary as a child process (see child.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/child.h"

#define MAX_ARGS 32

const char *
wshub_child_binary(void)
{
	const char *bin = getenv("WSHUB");

	return bin != NULL ? bin : "build/wshub";
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends what the child printed, waiting up to ms for some; false once
 * its stderr is closed. */
static bool
read_some(struct wshub_child *ch, int ms)
{
	struct pollfd p = { .fd = ch->err_fd, .events = POLLIN };
	size_t room = sizeof(ch->log) - 1 - ch->log_len;
	char scratch[4096];
	ssize_t n;

	if (ch->err_fd < 0)
		return false;
	if (poll(&p, 1, ms < 0 ? 0 : ms) <= 0)
		return true;
	if (room == 0) /* the log is full: the rest is read and dropped */
		n = read(ch->err_fd, scratch, sizeof(scratch));
	else if ((n = read(ch->err_fd, ch->log + ch->log_len, room)) > 0) {
		ch->log_len += (size_t)n;
		ch->log[ch->log_len] = '\0';
	}
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return true;
	close(ch->err_fd); /* EOF */
	ch->err_fd = -1;
	return false;
}

bool
wshub_child_wait_log(struct wshub_child *ch, const char *text,
    int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	while (strstr(ch->log, text) == NULL) {
		int64_t left = end - now_ms();

		if (left <= 0 || !read_some(ch, (int)left))
			return strstr(ch->log, text) != NULL;
	}
	return true;
}

int
wshub_child_start(struct wshub_child *ch, const char *const *args,
    rlim_t as_limit, int timeout_ms)
{
	const char *argv[MAX_ARGS + 4], *bin = wshub_child_binary(), *line;
	int pipefd[2], n = 0;

	memset(ch, 0, sizeof(*ch));
	argv[n++] = bin;
	argv[n++] = "--port";
	argv[n++] = "0";
	for (int i = 0; args[i] != NULL && n < MAX_ARGS + 3; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return -1;
	if ((ch->pid = fork()) == 0) {
		struct rlimit rl = { as_limit, as_limit }, none = { 0, 0 };

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the test */
		setrlimit(RLIMIT_CORE, &none);
		if (as_limit > 0)
			setrlimit(RLIMIT_AS, &rl);
		dup2(pipefd[1], STDERR_FILENO);
		closefrom(STDERR_FILENO + 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	ch->err_fd = pipefd[0];
	fcntl(ch->err_fd, F_SETFL, O_NONBLOCK);
	if (ch->pid < 0 ||
	    !wshub_child_wait_log(ch, "listening on ", timeout_ms) ||
	    strchr(line = strstr(ch->log, "listening on "), '\n') == NULL) {
		if (ch->pid > 0)
			wshub_child_stop(ch, 0);
		return -1;
	}
	ch->port = (uint16_t)atoi(strrchr(strndupa(line,
	    (size_t)(strchr(line, '\n') - line)), ':') + 1);
	return 0;
}

int
wshub_child_fds(const struct wshub_child *ch)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)ch->pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

size_t
wshub_child_vm_bytes(const struct wshub_child *ch)
{
	char path[64], line[256];
	size_t kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)ch->pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

int
wshub_child_stop(struct wshub_child *ch, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	int status = 0;
	pid_t r;

	kill(ch->pid, SIGTERM);
	while ((r = waitpid(ch->pid, &status, WNOHANG)) == 0 &&
	    now_ms() < end)
		if (!read_some(ch, 10)) /* keeps its stderr flowing */
			usleep(10000);
	if (r == 0) {
		kill(ch->pid, SIGKILL);
		waitpid(ch->pid, &status, 0);
	}
	end = now_ms() + 1000; /* the rest of its log: EOF now it is gone */
	while (read_some(ch, 10) && now_ms() < end)
		;
	if (ch->err_fd >= 0)
		close(ch->err_fd);
	ch->err_fd = -1;
	return r > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int
wshub_child_run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int status;

	out[0] = '\0';
	if (p == NULL)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
