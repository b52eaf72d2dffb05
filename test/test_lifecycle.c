/* Process-level behaviour: threads and descriptors come back, signals. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/child.h"
#include "support/testserver.h"
#include "support/wsclient.h"

#define LOG_WAIT_S 30 /* the longest wait for a line in a server's log */

Test(lifecycle, threads_and_descriptors_return_to_baseline, .timeout = 120)
{
	struct test_server ts;
	int fds, maps;
	long threads;

	test_server_init(&ts);
	test_server_start(&ts);
	/* Warm up once so lazily created state (e.g. the libc's) is counted. */
	close(ws_open(ts.port));
	cr_assert(test_wait_counter(&test_server_stats(&ts)->clients, 0, 5000));
	cr_assert(test_wait_baseline(1 << 20, 4 + 1, 5000),
	    "test thread + front door + hub + reaper once the warm-up is reaped");
	fds = test_count_fds();
	threads = test_count_threads();
	maps = test_count_maps();
	for (int i = 0; i < 200; i++) {
		int fd = ws_open(ts.port);

		cr_assert_geq(fd, 0, "cycle %d", i);
		if (i % 2) { /* half leave politely, half just vanish */
			ws_send_close(fd, 1000, NULL);
			cr_assert_eq(ws_recv_close(fd, NULL), 1000);
		}
		close(fd);
	}
	cr_assert(test_wait_baseline(fds, threads, 10000),
	    "after 200 cycles: %d fds (baseline %d), %ld threads (baseline %ld)",
	    test_count_fds(), fds, test_count_threads(), threads);
	cr_assert_eq(stats_get(&test_server_stats(&ts)->connections_total), 201);
	/* Exited is not joined: 400 threads left unjoined keep 400 stacks
	 * mapped; joined, their stacks are reused (a few more at most, for
	 * connections that overlapped, and the allocator's arenas). */
	cr_assert_lt(test_count_maps() - maps, 100, "%d more mappings after 200 "
	    "cycles: threads exited without being joined",
	    test_count_maps() - maps);
	test_server_stop(&ts);
}

/* How to start build/wshub for a test. */
struct spawn {
	const char *addr;      /* --addr */
	const char *flag;      /* one more flag (-q, -v), or NULL */
	rlim_t max_fds;        /* 0: as inherited */
	const char *journal;   /* JOURNAL_STREAM: "stderr" for its own, or
	                          a value to set as it is; NULL: unset */
	char line[256];        /* out: its whole "listening on" line */
	char listening[128];   /* out: the address it printed */
	FILE *log;             /* out, if keep_log: the rest of its stderr */
	bool keep_log;
};

/* The wshub binary under test: $WSHUB (scripts/run-tests.sh sets it to
 * build/wshub or a sanitizer build), else build/wshub. */
/* Starts build/wshub --addr ADDR --port 0 as `sp` says; returns its pid
 * and the port it listens on. */
static pid_t
spawn_wshub_with(struct spawn *sp, uint16_t *port)
{
	const char *bin = wshub_child_binary();
	int pipefd[2];
	char line[256];
	FILE *err;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	if ((pid = fork()) == 0) {
		struct rlimit rl = { sp->max_fds, sp->max_fds };

		/* A test that dies (a failed assert, its alarm) takes its
		 * server with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (sp->max_fds > 0)
			setrlimit(RLIMIT_NOFILE, &rl);
		dup2(pipefd[1], STDERR_FILENO);
		unsetenv("JOURNAL_STREAM");
		if (sp->journal != NULL && strcmp(sp->journal, "stderr") == 0) {
			struct stat st; /* as systemd sets it for the journal */
			char v[64];

			fstat(STDERR_FILENO, &st);
			snprintf(v, sizeof(v), "%llu:%llu",
			    (unsigned long long)st.st_dev,
			    (unsigned long long)st.st_ino);
			setenv("JOURNAL_STREAM", v, 1);
		} else if (sp->journal != NULL)
			setenv("JOURNAL_STREAM", sp->journal, 1);
		/* Only stdin, stdout and stderr: nothing of the test runner's
		 * (its descriptors above a --max-fds limit would still count). */
		closefrom(STDERR_FILENO + 1);
		execl(bin, bin, "--addr", sp->addr, "--port", "0",
		    "--shutdown-timeout", "2", sp->flag, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	err = fdopen(pipefd[0], "r");
	*port = 0;
	while (*port == 0 && fgets(line, sizeof(line), err) != NULL) {
		char *p = strstr(line, "listening on ");

		if (p == NULL)
			continue;
		strlcpy(sp->line, line, sizeof(sp->line));
		*port = (uint16_t)atoi(strrchr(p, ':') + 1);
		snprintf(sp->listening, sizeof(sp->listening), "%.*s",
		    (int)strcspn(p + 13, "\n"), p + 13);
	}
	cr_assert_neq(*port, 0, "%s printed no listening line", bin);
	if (sp->keep_log)
		sp->log = err;
	else  /* the rest we do not read */
		fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	return pid;
}

/* Starts build/wshub on 127.0.0.1 (see spawn_wshub_with). */
static pid_t
spawn_wshub(uint16_t *port)
{
	struct spawn sp = { .addr = "127.0.0.1" };

	return spawn_wshub_with(&sp, port);
}

/* True if this machine can bind the IPv6 loopback address. */
static bool
have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
	    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

Test(lifecycle, addr_takes_ipv6_in_brackets_as_printed, .timeout = 30)
{
	struct spawn sp = { .addr = "[::1]" };
	uint16_t port;
	pid_t pid;
	int status;

	if (!have_ipv6_loopback())
		cr_skip_test("no IPv6 loopback here");
	pid = spawn_wshub_with(&sp, &port);
	cr_assert_eq(strncmp(sp.listening, "[::1]:", 6), 0, "listening on %s",
	    sp.listening);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(lifecycle, addr_it_cannot_use_is_named_with_the_reason, .timeout = 30)
{
	const char *bin = wshub_child_binary();
	char cmd[512], out[512];

	/* TEST-NET-1 (RFC 5737): a valid address no interface has. */
	snprintf(cmd, sizeof(cmd), "%s --addr 192.0.2.1 --port 0 2>&1",
	    bin);
	cr_assert_eq(wshub_child_run(cmd, out, sizeof(out)), 1, "%s: %s", cmd, out);
	cr_assert_not_null(strstr(out, "--addr '192.0.2.1'"), "%s", out);
	cr_assert_not_null(strstr(out, "bind: "), "%s", out);
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s",
	    out);
}

Test(lifecycle, sigterm_closes_clients_with_1001_and_exits_0, .timeout = 60)
{
	uint16_t port;
	pid_t pid = spawn_wshub(&port);
	int c[3], status;

	for (int i = 0; i < 3; i++)
		cr_assert_geq(c[i] = ws_open(port), 0);
	ws_send(c[0], 0x1, "before", 6);
	cr_assert_eq(kill(pid, SIGUSR1), 0); /* from outside: ignored */
	cr_assert_eq(kill(pid, SIGTERM), 0);
	for (int i = 0; i < 3; i++) {
		int skipped;

		cr_assert_eq(ws_recv_close(c[i], &skipped), 1001, "client %d", i);
		ws_send_close(c[i], 1001, NULL);
		cr_assert(ws_wait_eof(c[i], WS_TIMEOUT_MS));
		close(c[i]);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "wshub died of a signal");
	cr_assert_eq(WEXITSTATUS(status), 0);
}

/* hiredis writes to Redis with write(2): a SIGPIPE (a Redis that resets
 * mid-write, or kill -PIPE) must not end the server; nor a SIGHUP, a
 * service manager's reload, without TLS (nothing to reload). */
Test(lifecycle, sigpipe_and_sighup_do_not_end_the_server, .timeout = 30)
{
	uint16_t port;
	pid_t pid = spawn_wshub(&port);
	int fd, status;
	char *stats;

	cr_assert_eq(kill(pid, SIGPIPE), 0);
	cr_assert_eq(kill(pid, SIGHUP), 0); /* a reload: nothing, without TLS */
	cr_assert_geq(fd = ws_open(port), 0, "no upgrade after SIGPIPE");
	cr_assert_eq(ws_send(fd, 0x1, "still here", 10), 0);
	cr_assert_not_null(stats = ws_get(port, "/stats"));
	free(stats);
	close(fd);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "wshub ended with status %#x", status);
}

/* Everything wshub logs after its listening line, until it exits. */
static char *
read_log(FILE *log)
{
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, log);

	buf[n] = '\0';
	fclose(log);
	return buf;
}

/* True if `line` starts with an RFC 3339 UTC time with milliseconds and
 * then "wshub: ". */
static bool
stamped(const char *line)
{
	regex_t re;
	bool ok;

	cr_assert_eq(regcomp(&re, "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:"
	    "[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z wshub: ", REG_EXTENDED | REG_NOSUB),
	    0);
	ok = regexec(&re, line, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* Every log line carries its time, unless --log-time=off or stderr is
 * the journal (JOURNAL_STREAM names stderr's device and inode). */
Test(lifecycle, log_lines_carry_their_time_except_for_the_journal,
    .timeout = 30)
{
	struct {
		const char *flag, *journal;
		bool stamped;
	} runs[] = {
		{ NULL, NULL, true },
		{ "--log-time=off", NULL, false },
		{ NULL, "stderr", false },          /* the journal: it stamps */
		{ NULL, "12345:67890", true },      /* another file's */
		{ "--log-time=on", "stderr", true },
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct spawn sp = { .addr = "127.0.0.1", .flag = runs[i].flag,
		    .journal = runs[i].journal, .keep_log = true };
		uint16_t port;
		pid_t pid = spawn_wshub_with(&sp, &port);
		int status;
		char *log;

		cr_assert_eq(stamped(sp.line), runs[i].stamped, "run %zu: %s",
		    i, sp.line);
		if (!runs[i].stamped)
			cr_assert_eq(strncmp(sp.line, "wshub: ", 7), 0, "%s",
			    sp.line);
		kill(pid, SIGTERM);
		log = read_log(sp.log);
		cr_assert_eq(stamped(log), runs[i].stamped, "run %zu: %s", i,
		    log);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
	}
}

/* At start wshub says how many clients the limits allow and which binds;
 * a --max-clients above it is a warning naming the limit to raise. */
Test(lifecycle, start_up_says_the_ceiling_the_limits_allow, .timeout = 30)
{
	const char *flags[] = { NULL, "--max-clients=1000" };

	for (size_t i = 0; i < 2; i++) {
		struct spawn sp = { .addr = "127.0.0.1", .flag = flags[i],
		    .max_fds = 500, .keep_log = true };
		uint16_t port;
		pid_t pid = spawn_wshub_with(&sp, &port);
		const char *at;
		char *log;
		long n;

		kill(pid, SIGTERM);
		log = read_log(sp.log);
		waitpid(pid, NULL, 0);
		if (i == 0) {
			at = strstr(log, "the limits allow about ");
			cr_assert_not_null(at, "%s", log);
			n = strtol(at + 23, NULL, 10);
			cr_assert(n > 400 && n < 500, "ulimit -n 500: %ld "
			    "clients: %s", n, log);
			cr_assert_not_null(strstr(at, "clients (RLIMIT_NOFILE "
			    "(ulimit -n) binds first)"), "%s", log);
		} else
			cr_assert_not_null(strstr(log, "warning: --max-clients "
			    "1000 is more than this process's limits allow, "
			    "about "), "%s", log);
		if (i == 1)
			cr_assert_not_null(strstr(log, "raise RLIMIT_NOFILE "
			    "(ulimit -n)"), "%s", log);
	}
}

Test(lifecycle, verbose_logs_each_data_message, .timeout = 30)
{
	struct spawn sp = { .addr = "127.0.0.1", .flag = "-v",
	    .keep_log = true };
	struct ws_frame f;
	uint16_t port;
	pid_t pid = spawn_wshub_with(&sp, &port);
	int c = ws_open(port), status;
	char *log;

	ws_send(c, 0x9, "p", 1);    /* a ping: not a data message */
	ws_send(c, 0x1, "hello", 5);
	ws_send(c, 0x2, "\x01\x02\x03", 3);
	for (int got = 0; got < 2;) {
		cr_assert_eq(ws_recv(c, &f, WS_TIMEOUT_MS), 0);
		got += f.opcode == 0x1 || f.opcode == 0x2;
		ws_frame_free(&f);
	}
	ws_send_close(c, 1000, NULL);
	cr_assert_eq(ws_recv_close(c, NULL), 1000);
	close(c);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	log = read_log(sp.log);
	cr_assert_not_null(strstr(log, "received text message, 5 bytes"), "%s", log);
	cr_assert_not_null(strstr(log, "received binary message, 3 bytes"), "%s", log);
	cr_assert_null(strstr(log, "1 bytes"), "a ping is not logged: %s", log);
}

Test(lifecycle, quiet_keeps_warnings_and_errors, .timeout = 30)
{
	struct spawn sp = { .addr = "127.0.0.1", .flag = "-q",
	    .keep_log = true };
	uint16_t port;
	pid_t pid = spawn_wshub_with(&sp, &port);
	int c = ws_open(port), status;
	char *log;

	ws_send(c, 0x1, "hello", 5);
	/* The client never answers the 1001, so the shutdown waits for it
	 * (--shutdown-timeout 2) and the second SIGTERM comes during it.
	 * The 1001 shows the first was taken: two SIGTERMs pending at once
	 * would be one. */
	kill(pid, SIGTERM);
	cr_assert_eq(ws_recv_close(c, NULL), 1001);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	log = read_log(sp.log);
	cr_assert_not_null(strstr(log, "wshub: warning: second"), "%s", log);
	cr_assert_null(strstr(log, "connect id="), "no info lines: %s", log);
	cr_assert_null(strstr(log, "shutting down"), "no info lines: %s", log);
	close(c);
}

Test(lifecycle, bad_flags_exit_2_with_one_line_saying_why, .timeout = 30)
{
	const char *bin = wshub_child_binary();
	/* flag, value, what the one line must say */
	const char *bad[][3] = {
		{ "--port", "70000", "too large; expected an integer from 0 to 65535" },
		{ "--port", "80.5", "not a whole number" },
		{ "--send-queue", "0", "too small" },
		{ "--log-time", "maybe", "neither on nor off; expected on or off" },
		{ "--any-origin --origin", "x", "do nothing when every Origin "
		    "is allowed" },
		{ "--redis-prefix", "x", "--redis-prefix does nothing without "
		    "--redis" },
		{ "--redis-retry", NULL, "--redis-retry does nothing without "
		    "--redis" },
		{ "--send-queue-bytes", "1000", "too small; expected an integer "
		    "from 1024 to 4294967296" },
		{ "--pong-timeout", "10.0001", "'10.0001': too many decimals; "
		    "expected seconds from 0.01 to 86400, at most 3 decimals" },
		{ "--pong-timeout", "abc", "not a number" },
		{ "--ping-interval", "1e3", "exponent notation" },
		{ "--write-timeout", "10s", "unit suffix" },
		{ "--handshake-timeout", "-0.5", "negative" },
		{ "--shutdown-timeout", "601", "too large; expected seconds from 0 to 600" },
		{ "--addr", "[::1]:9000", "the port goes in --port" },
		{ "--addr", "127.0.0.1:8080", "the port goes in --port" },
		{ "--addr", "[::1", "no ']' after the '['" },
		{ "--futex-hash-slots", "3", "not a power of two; expected auto, "
		    "0 (the kernel's default) or a power of two from 2 to 1048576" },
		{ "--bogus", NULL, "unknown flag" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char cmd[512], out[512];

		/* The extra argument stops a wrongly accepted value from
		 * starting a server: it is refused after every flag. */
		snprintf(cmd, sizeof(cmd), "%s %s '%s' stop 2>&1 </dev/null",
		    bin, bad[i][0], bad[i][1] ? bad[i][1] : "");
		cr_assert_eq(wshub_child_run(cmd, out, sizeof(out)), 2, "%s: %s", cmd,
		    out);
		cr_assert_not_null(strstr(out, bad[i][0]), "names the flag: %s", out);
		cr_assert_not_null(strstr(out, bad[i][2]), "says '%s': %s",
		    bad[i][2], out);
		cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1,
		    "one line: %s", out);
	}
}

/* --help says under each number flag the values it takes, in the words
 * of the one line a bad value gets (see the test above). */
Test(lifecycle, help_names_the_values_each_number_flag_takes, .timeout = 30)
{
	static char out[16384];
	/* flag, the line under its help */
	const char *want[][2] = {
		{ "--port N", "N from 0 to 65535" },
		{ "--send-queue N", "N from 1 to 65536" },
		{ "--send-queue-bytes BYTES", "BYTES from 1024 to 4294967296" },
		{ "--pong-timeout SEC", "SEC from 0.01 to 86400" },
		{ "--shutdown-timeout SEC", "SEC from 0 to 600" },
	};
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s --help 2>&1 </dev/null",
	    wshub_child_binary());
	cr_assert_eq(wshub_child_run(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_lt(strlen(out), sizeof(out) - 1, "all of --help was read");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *flag = strstr(out, want[i][0]);
		const char *next, *range;

		cr_assert_not_null(flag, "--help lists %s", want[i][0]);
		next = strstr(flag + 1, "\n  -"); /* the next flag's line */
		range = strstr(flag, want[i][1]);
		cr_assert(range != NULL && (next == NULL || range < next),
		    "%s: --help says '%s' under it", want[i][0], want[i][1]);
	}
}

/* True if process `pid` has a descriptor number below `limit` free (one
 * that accept(2) could take under RLIMIT_NOFILE `limit`). */
static bool
descriptor_free_below(pid_t pid, int limit)
{
	char path[64];
	struct stat st;

	for (int fd = 0; fd < limit; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		if (lstat(path, &st) != 0)
			return true;
	}
	return false;
}

/*
 * Reads the server's stderr until a line containing `what`.  Bounded on
 * its own (not by Criterion's timeout): if the line never comes, SIGALRM
 * ends the test as a crash instead of a hang.
 */
static void
wait_log_line(FILE *log, const char *what)
{
	char line[512];

	alarm(LOG_WAIT_S);
	while (fgets(line, sizeof(line), log) != NULL)
		if (strstr(line, what) != NULL) {
			alarm(0);
			return;
		}
	alarm(0);
	cr_assert_fail("the log ended without '%s'", what);
}

/*
 * Under RLIMIT_NOFILE, clients join while the server has a descriptor
 * left (each gets its 101); once 0 .. LIMIT-1 are all in use, accept(2)
 * fails, the server says it pauses, and a new connection waits in the
 * listen backlog, unanswered, while the others chat.  Two leave: it is
 * served.  Every step waits on the server's state (its descriptor table,
 * its log).
 */
Test(lifecycle, descriptor_limit_pauses_accepting_then_recovers, .timeout = 60)
{
	enum { LIMIT = 16, MAX_TRY = LIMIT };
	struct spawn sp = { .addr = "127.0.0.1", .max_fds = LIMIT,
	    .keep_log = true };
	uint16_t port;
	pid_t pid = spawn_wshub_with(&sp, &port);
	int open_fds[MAX_TRY], n = 0, waiting, status;
	struct pollfd unanswered;
	struct ws_frame f;

	while (descriptor_free_below(pid, LIMIT)) {
		cr_assert_lt(n, MAX_TRY, "%d clients and descriptors left", n);
		open_fds[n] = ws_open(port);
		cr_assert_geq(open_fds[n], 0, "client %d: no 101 although the "
		    "server had a descriptor left", n);
		n++;
	}
	cr_assert_geq(n, 2, "only %d clients fit under %d descriptors", n,
	    LIMIT);
	waiting = ws_tcp_connect(port, 0);
	cr_assert_eq(ws_write_all(waiting, ws_upgrade_request,
	    strlen(ws_upgrade_request)), 0);
	wait_log_line(sp.log, "pausing new connections");
	/* The server is out of descriptors, but existing clients still chat. */
	ws_send(open_fds[0], 0x1, "still", 5);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(ws_recv(open_fds[i], &f, WS_TIMEOUT_MS), 0);
		cr_assert_str_eq((char *)f.payload, "still");
		ws_frame_free(&f);
	}
	unanswered = (struct pollfd){ .fd = waiting, .events = POLLIN };
	cr_assert_eq(poll(&unanswered, 1, 0), 0,
	    "an answer while the server had no descriptor for it");
	/* Two leave: the waiting client is accepted and upgraded. */
	close(open_fds[--n]);
	close(open_fds[--n]);
	cr_assert_eq(ws_http(waiting, NULL, NULL, 0), 101,
	    "accepting must resume once descriptors are free");
	wait_log_line(sp.log, "accepting connections again");
	ws_send(waiting, 0x1, "back", 4);
	cr_assert_eq(ws_recv(waiting, &f, WS_TIMEOUT_MS), 0);
	cr_assert_str_eq((char *)f.payload, "back");
	ws_frame_free(&f);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fclose(sp.log);
	close(waiting);
	while (n > 0)
		close(open_fds[--n]);
}
