/*
 * The wshub binary as a child process, for tests of what only the whole
 * program does: its flags, and what happens under a resource limit set
 * before it starts.  Every wait is bounded.
 */
#ifndef WSHUB_TEST_CHILD_H
#define WSHUB_TEST_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct wshub_child {
	pid_t pid;
	uint16_t port;      /* from its "listening on" line */
	int err_fd;         /* its stderr (non-blocking), -1 once closed */
	char log[16384];    /* what it printed so far, NUL-terminated */
	size_t log_len;
};

/* The wshub binary under test: $WSHUB (scripts/run-tests.sh sets it to
 * build/wshub or a sanitizer build), else build/wshub. */
const char *wshub_child_binary(void);

/*
 * Runs `wshub --port 0 ARGS...` (args NULL-terminated, --addr among them
 * if wanted) with only stdin, stdout and stderr open, and dies with the
 * test.  `as_limit` > 0 sets RLIMIT_AS (bytes) in the child before exec.
 * Returns 0 once it has printed its listening line (ch->port set), or -1
 * if it exits or prints none within timeout_ms (it is then killed and
 * reaped; ch->log holds what it said).
 */
int wshub_child_start(struct wshub_child *ch, const char *const *args,
    rlim_t as_limit, int timeout_ms);

/* Reads what the child has printed until `text` appears in its log or
 * timeout_ms passes; true if it did. */
bool wshub_child_wait_log(struct wshub_child *ch, const char *text,
    int timeout_ms);

/* Open descriptors of the child, from /proc (-1 if it cannot tell). */
int wshub_child_fds(const struct wshub_child *ch);

/* Its virtual memory size in bytes, VmSize in /proc (0 if unknown). */
size_t wshub_child_vm_bytes(const struct wshub_child *ch);

/*
 * Runs the shell command `cmd` to its end (a wshub that must refuse to
 * start, say) and returns its exit status, or -1 if it could not start
 * or did not exit normally; what it printed on stdout (with 2>&1 in cmd,
 * stderr too) is in out, NUL-terminated, at most cap - 1 bytes.
 */
int wshub_child_run(const char *cmd, char *out, size_t cap);

/* SIGTERM, then waits up to timeout_ms (SIGKILL after that).  Returns
 * the exit status, or -1 if it did not exit by itself (or died of a
 * signal). */
int wshub_child_stop(struct wshub_child *ch, int timeout_ms);

#endif
