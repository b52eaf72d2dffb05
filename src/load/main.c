/*
 * wshub-load — the load-test client bundled with wshub.
 *
 * DESIGN
 * The server spends two threads per connection, a reader and a writer
 * (Go's goroutines per client, spelled with pthreads).  A load client
 * built the same way would add a thread per simulated user, and the two
 * together would hit the machine's thread limit (pid_max, 32,768 here) at
 * about 10,000 connections, before the server ran out of anything else.
 * So the load client is built the other way: event-driven.
 *
 *   main thread   parses flags, starts the loops, sends them commands
 *                 (connect, send a round, report, close) and waits for
 *                 their answers on one channel; prints progress and the
 *                 report.  Never touches a socket.  (run.c)
 *   loop threads  -t of them (default 1).  Each owns an epoll set and
 *                 every client i with i % threads == its id: non-blocking
 *                 sockets, its own HTTP upgrade, one wslay client context
 *                 (and over wss:// one GnuTLS session) per connection,
 *                 one shared 256 KiB read buffer, the send schedule and
 *                 the counters.  (loop.c, client.c, tls.c)
 *
 * Data shared between threads: the read-only configuration (with the TLS
 * credentials, read-only too: tls.h); the atomic
 * counters of open connections by room and URL (senders read their room's
 * to know how many deliveries each message should make: plan.h); the
 * command and event channels;
 * each loop's published counter snapshot, under that loop's mutex.
 * Nothing else.
 *
 * Every run ends by itself: each phase has a deadline, the whole run has
 * a hard one (--timeout or computed), and an alarm(2) kills the process if
 * even closing hangs.
 */
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "opts.h"
#include "report.h"
#include "run.h"

#define ALARM_SLACK_S 30       /* after the hard limit, alarm(2) ends us */

/* Raises the descriptor limit to the hard limit; warns if still short. */
static void
raise_nofile(const struct load_config *cfg)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)cfg->conns + FD_RESERVE + 2 * cfg->threads;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		warn("setrlimit(RLIMIT_NOFILE)");
	if (need > rl.rlim_cur && !cfg->quiet)
		warnx("-c %u needs about %llu descriptors but the hard limit "
		    "(ulimit -Hn) is %llu: connections past it will fail",
		    cfg->conns, (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
}

/* Flags, descriptor limit, the run, the report. */
int
main(int argc, char **argv)
{
	struct load_config cfg;
	struct run_result res;
	int rc;

	opts_parse(argc, argv, &cfg);
	raise_nofile(&cfg);
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)(run_budget_s(&cfg) + ALARM_SLACK_S));
	rc = run_load(&cfg, &res);
	if (!cfg.quiet)
		report_text(cfg.json ? stderr : stdout, &cfg, &res);
	if (cfg.json)
		report_json(stdout, &cfg, &res);
	if (rc < 0 && !cfg.quiet && cfg.plan.urls == 1)
		warnx("no connection could be opened to %s", cfg.urls[0].url);
	else if (rc < 0 && !cfg.quiet)
		warnx("no connection could be opened to any of the %u URLs",
		    cfg.plan.urls);
	run_result_free(&res);
	opts_free(&cfg);
	return rc < 0 ? 1 : 0;
}
