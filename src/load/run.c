/*
 * run — the main thread of a load run (see run.h).
 *
 * The main thread never touches a socket.  It starts the loops, then only
 * sends them commands and waits: on the shared events channel for their
 * answers, and on its own clock for phase ends and the progress line.
 * What it knows of the loops' counters comes from their published
 * snapshots, merged on demand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "procstat.h"
#include "report.h"
#include "run.h"
#include "verdict.h"
#include "wshub/xmalloc.h"

#define ROUND_LEAD_MS 50       /* commands reach every loop before start */
#define POLL_MS 50             /* how often waits re-check snapshots */
#define PROGRESS_MS 1000
#define ACK_WAIT_MS 2000       /* a loop answers a command within this */
#define SETTLE_SLACK_S 5
#define SERVER_CHILDREN_MAX 16 /* a wrapper's children checked for the port */

struct run {
	const struct load_config *cfg;
	struct run_result *res;
	struct loop **loops;
	chan_t *events;
	struct plan_open open;         /* by room and URL, all loops */
	uint32_t acks[EV_CLOSED + 1];  /* answers received, by kind */
	int64_t hard_deadline_ns;
	int64_t next_progress_ns;
	uint32_t round;                /* the round being sent, 0 = none yet */
	int64_t round_start_ns;        /* when it begins sending */
	struct progress prog;          /* what the last progress line showed */
	struct conn_stats *cs;         /* merged snapshots (scratch) */
	struct round_stats *rs;
	struct conn_stats *cs_one;     /* one loop's snapshot (scratch) */
	struct round_stats *rs_one;
};

/* Predicate for run_wait: true when the awaited state is reached. */
typedef bool (*run_done_fn)(struct run *, uint32_t arg);

/*
 * Merges every loop's published snapshot into r->cs and r->rs.  Returns
 * true if every loop is in round `round` and done sending it.
 */
static bool
gather(struct run *r, uint32_t round)
{
	bool all_done = true;

	stats_conn_init(r->cs);
	stats_round_init(r->rs, round);
	for (uint32_t i = 0; i < r->cfg->threads; i++) {
		loop_snapshot(r->loops[i], r->cs_one, r->rs_one);
		stats_conn_merge(r->cs, r->cs_one);
		if (r->rs_one->round != round) {
			all_done = false;
			continue;
		}
		all_done &= r->rs_one->sending_done;
		stats_round_merge(r->rs, r->rs_one);
	}
	return all_done;
}

/*
 * Samples the server's /proc figures into `into` (may be NULL), keeping
 * the peaks.  Returns false without --server-pid or if /proc failed.
 */
static bool
sample_server(struct run *r, struct procstat *into)
{
	struct procstat ps;
	struct run_result *res = r->res;

	if (r->cfg->server_pid == 0 ||
	    procstat_read(r->cfg->server_pid, &ps) < 0)
		return false;
	res->server_ok = true;
	if (into != NULL)
		*into = ps;
	if (ps.rss_kib > res->srv_peak.rss_kib)
		res->srv_peak.rss_kib = ps.rss_kib;
	if (ps.threads > res->srv_peak.threads)
		res->srv_peak.threads = ps.threads;
	res->srv_peak.cpu_ns = ps.cpu_ns;
	return true;
}

/* Once a second: sample the server, print the live line if wanted. */
static void
progress(struct run *r)
{
	uint32_t round = r->round;
	struct progress p = { 0 };
	int64_t now = mono_ns();

	r->next_progress_ns = now + PROGRESS_MS * NSEC_PER_MSEC;
	sample_server(r, NULL);
	if (!r->cfg->progress)
		return;
	gather(r, round);
	p.now_ns = now;
	p.elapsed_ns = now - r->res->t0_ns;
	p.open = atomic_load(&r->open.total);
	p.round = round;
	p.round_start_ns = r->round_start_ns;
	p.sent = r->rs->sent;
	p.received = r->rs->received;
	p.latency_n = r->rs->latency.count;
	p.p99_ns = hist_percentile(&r->rs->latency, 99);
	p.srv_rss_kib = r->res->srv_peak.rss_kib;
	p.srv_threads = r->res->srv_peak.threads;
	report_progress(stderr, r->cfg, &r->prog, &p);
	r->prog = p;
}

/*
 * Waits until done(r, arg) holds (never, if done is NULL) or until
 * `until_ns`, counting loop answers and printing progress meanwhile.
 * Returns whether done held.  The hard deadline cuts every wait short.
 */
static bool
run_wait(struct run *r, int64_t until_ns, run_done_fn done, uint32_t arg)
{
	void *item;

	if (until_ns > r->hard_deadline_ns)
		until_ns = r->hard_deadline_ns;
	for (;;) {
		int64_t now = mono_ns(), next = now + POLL_MS * NSEC_PER_MSEC;
		struct timespec ts;

		if (done != NULL && done(r, arg))
			return true;
		if (now >= until_ns)
			break;
		if (now >= r->next_progress_ns)
			progress(r);
		next = next < until_ns ? next : until_ns;
		ts = (struct timespec){ next / NSEC_PER_SEC,
		    next % NSEC_PER_SEC };
		if (chan_recv_until(r->events, &item, &ts) == CHAN_OK) {
			r->acks[((struct loop_event *)item)->kind]++;
			free(item);
		}
	}
	if (mono_ns() >= r->hard_deadline_ns)
		r->res->timed_out = true;
	return false;
}

/* run_wait predicates. */
static bool
all_settled(struct run *r, uint32_t arg)
{
	(void)arg;
	return r->acks[EV_SETTLED] == r->cfg->threads;
}

/* Every loop answered CMD_SNAPSHOT. */
static bool
all_snapshots(struct run *r, uint32_t arg)
{
	(void)arg;
	return r->acks[EV_SNAPSHOT] == r->cfg->threads;
}

/* Every loop closed its clients. */
static bool
all_closed(struct run *r, uint32_t arg)
{
	(void)arg;
	return r->acks[EV_CLOSED] == r->cfg->threads;
}

/* Round `round` is over everywhere and every expected delivery arrived. */
static bool
drained(struct run *r, uint32_t round)
{
	return gather(r, round) && r->rs->received >= r->rs->expected;
}

/* Seconds the connect phase may take before the run goes on without it. */
static int64_t
settle_budget_s(const struct load_config *cfg)
{
	int64_t ramp_s = cfg->ramp ? (cfg->conns + cfg->ramp - 1) / cfg->ramp :
	    cfg->conns / 1000;

	return ramp_s + UPGRADE_TIMEOUT_MS / 1000 + SETTLE_SLACK_S;
}

/* Settle budget + rounds + slack, unless --timeout. */
int64_t
run_budget_s(const struct load_config *cfg)
{
	int64_t rounds = cfg->mode == MODE_SWEEP ? cfg->steps : 1;
	int64_t round_s = (cfg->mode == MODE_CONNECT ? 0 : cfg->duration_s) +
	    cfg->drain_ms / 1000 + 1 + ACK_WAIT_MS / 1000;

	if (cfg->timeout_s != 0)
		return cfg->timeout_s;
	return settle_budget_s(cfg) + rounds * round_s + SETTLE_SLACK_S +
	    (cfg->mode == MODE_CONNECT ? cfg->duration_s : 0);
}

/*
 * --server-pid: does the process listen on a URL's port, and if not, does
 * one of its children (a wrapper's PID was given)?  Also counts the
 * TIME_WAIT sockets on those ports, for the RSS figure (report.c).
 */
static void
check_server(struct run *r)
{
	const struct load_config *cfg = r->cfg;
	struct server_check *sc = &r->res->srv_check;
	struct sockaddr_storage targets[PLAN_URLS_MAX];
	pid_t kids[SERVER_CHILDREN_MAX];
	struct procstat_socks ks;
	size_t nkids;

	if (cfg->server_pid == 0)
		return;
	for (uint32_t u = 0; u < cfg->plan.urls; u++)
		targets[u] = cfg->urls[u].addr;
	procstat_comm(cfg->server_pid, sc->comm, sizeof(sc->comm));
	sc->rc = procstat_socks(cfg->server_pid, targets, cfg->plan.urls,
	    &sc->socks);
	if (sc->rc < 0 || sc->socks.listening != 0)
		return;
	nkids = procstat_children(cfg->server_pid, kids, SERVER_CHILDREN_MAX);
	for (size_t i = 0; i < nkids && sc->child == 0; i++)
		if (procstat_socks(kids[i], targets, cfg->plan.urls, &ks) == 0 &&
		    ks.listening == 1) {
			sc->child = kids[i];
			procstat_comm(kids[i], sc->child_comm,
			    sizeof(sc->child_comm));
		}
}

/* Creates and starts the loops; connecting begins at once. */
static void
run_start(struct run *r)
{
	uint32_t n = r->cfg->threads;
	int64_t t0;

	r->events = chan_new(4 * n + 16, 0);
	r->loops = xcalloc(n, sizeof(*r->loops));
	sample_server(r, &r->res->srv_before);
	r->res->kmem_ok = procstat_kernmem(&r->res->kmem_before) == 0;
	check_server(r);
	if (r->cfg->server_pid != 0 && !r->cfg->quiet)
		report_server_warning(stderr, r->cfg, r->res);
	t0 = r->res->t0_ns = mono_ns();
	r->hard_deadline_ns = t0 + run_budget_s(r->cfg) * NSEC_PER_SEC;
	r->next_progress_ns = t0 + PROGRESS_MS * NSEC_PER_MSEC;
	for (uint32_t i = 0; i < n; i++) {
		r->loops[i] = loop_new(i, r->cfg, t0, r->events, &r->open);
		loop_start(r->loops[i]);
	}
}

/* Waits until every client is open or failed, or the budget is spent. */
static void
run_settle(struct run *r)
{
	int64_t until = r->res->t0_ns + settle_budget_s(r->cfg) * NSEC_PER_SEC;

	if (run_wait(r, until, all_settled, 0))
		r->res->settled_ns = mono_ns();
	sample_server(r, &r->res->srv_open);
	r->res->kmem_ok &= procstat_kernmem(&r->res->kmem_open) == 0;
}

/*
 * Asks every loop to publish its counters now and waits for them, past
 * the hard deadline if need be, so a timed-out run still counts exactly.
 */
static void
run_snapshot(struct run *r)
{
	struct loop_cmd cmd = { .op = CMD_SNAPSHOT };
	int64_t hard = r->hard_deadline_ns;
	int64_t until = mono_ns() + ACK_WAIT_MS * NSEC_PER_MSEC;
	bool timed_out = r->res->timed_out;

	r->acks[EV_SNAPSHOT] = 0;
	for (uint32_t i = 0; i < r->cfg->threads; i++)
		loop_command(r->loops[i], &cmd);
	r->hard_deadline_ns = until > hard ? until : hard;
	run_wait(r, until, all_snapshots, 0);
	r->hard_deadline_ns = hard;
	r->res->timed_out = timed_out;
}

/*
 * One sending round: `senders` x `rate` messages/s for `dur_ns`, then the
 * drain, then the count.  rr->round must be set.
 */
static void
run_round(struct run *r, struct round_result *rr, uint32_t senders,
    uint32_t rate, int64_t dur_ns)
{
	struct loop_cmd cmd = { .op = CMD_SEND, .round = rr->round,
	    .senders = senders, .rate = rate };
	struct procstat s0, s1;
	struct cpu_time cpu0 = procstat_self_cpu(), cpu1;
	int64_t wall0 = mono_ns();
	bool srv = sample_server(r, &s0);

	cmd.start_ns = mono_ns() + ROUND_LEAD_MS * NSEC_PER_MSEC;
	cmd.end_ns = cmd.start_ns + dur_ns;
	r->round = rr->round;
	r->round_start_ns = cmd.start_ns;
	for (uint32_t i = 0; i < r->cfg->threads; i++)
		loop_command(r->loops[i], &cmd);
	run_wait(r, cmd.end_ns, NULL, 0);
	run_wait(r, cmd.end_ns + r->cfg->drain_ms * NSEC_PER_MSEC, drained,
	    rr->round);
	run_snapshot(r);
	gather(r, rr->round);
	rr->rs = *r->rs;
	rr->senders = senders;
	rr->rate = rate;
	rr->start_ns = cmd.start_ns;
	rr->end_ns = cmd.end_ns;
	cpu1 = procstat_self_cpu();
	rr->client_wall_ns = mono_ns() - wall0;
	rr->client_cpu.user_ns = cpu1.user_ns - cpu0.user_ns;
	rr->client_cpu.sys_ns = cpu1.sys_ns - cpu0.sys_ns;
	rr->server_cpu_ns = srv && sample_server(r, &s1) ?
	    s1.cpu_ns - s0.cpu_ns : -1;
	rr->closed_by_server = r->cs->closed_by_server;
	rr->failed = verdict_failed(r->cfg, rr);
	rr->pass = rr->failed == 0;
	r->res->nrounds++;
}

/* Closes every client, waits for the loops to exit, keeps the counts. */
static void
run_close(struct run *r)
{
	struct loop_cmd cmd = { .op = CMD_CLOSE };
	bool timed_out = r->res->timed_out;
	int64_t until;

	cmd.deadline_ns = mono_ns() + CLOSE_WAIT_MS * NSEC_PER_MSEC;
	until = cmd.deadline_ns + ACK_WAIT_MS * NSEC_PER_MSEC;
	r->hard_deadline_ns = until;  /* closing may overrun --timeout a bit */
	for (uint32_t i = 0; i < r->cfg->threads; i++)
		loop_command(r->loops[i], &cmd);
	run_wait(r, until, all_closed, 0);
	r->res->timed_out = timed_out;
	for (uint32_t i = 0; i < r->cfg->threads; i++)
		loop_join(r->loops[i]);
	gather(r, r->round);
	r->res->cs = *r->cs;
}

/*
 * Connect mode's sending window: senders 0 .. n-1 (one per room) at one
 * message a second each are due at m / n s, so a window ending just after
 * the last one's time sends each exactly once (for n = 1: 1 ns).
 */
static int64_t
connect_window_ns(uint32_t n)
{
	return (int64_t)((uint64_t)(n - 1) * NSEC_PER_SEC / n) + 1;
}

/* The phases after connecting, by mode. */
static void
run_mode(struct run *r)
{
	const struct load_config *cfg = r->cfg;
	int64_t dur_ns = (int64_t)cfg->duration_s * NSEC_PER_SEC;
	uint32_t rate = cfg->rate;

	switch (cfg->mode) {
	case MODE_BROADCAST:
		r->res->rounds[0].round = 1;
		run_round(r, &r->res->rounds[0], cfg->senders, cfg->rate,
		    dur_ns);
		break;
	case MODE_CONNECT:
		run_wait(r, mono_ns() + dur_ns, NULL, 0);  /* hold */
		r->res->rounds[0].round = 1;
		run_round(r, &r->res->rounds[0], cfg->senders, 1,
		    connect_window_ns(cfg->senders));  /* one per room */
		break;
	case MODE_SWEEP:
		for (uint32_t i = 0; i < cfg->steps && !r->res->timed_out;
		    i++, rate *= 2) {
			struct round_result *rr = &r->res->rounds[i];

			rr->round = i + 1;
			run_round(r, rr, cfg->senders, rate, dur_ns);
			if (!rr->pass || rate > UINT32_MAX / 2)
				break;
		}
		break;
	}
}

/* Frees the loops, the channel and the scratch space. */
static void
run_free(struct run *r)
{
	void *item;

	for (uint32_t i = 0; i < r->cfg->threads; i++)
		loop_free(r->loops[i]);
	free(r->loops);
	while (chan_try_recv(r->events, &item) == CHAN_OK)
		free(item);
	chan_free(r->events);
	plan_open_free(&r->open);
	free(r->cs);
	free(r->rs);
	free(r->cs_one);
	free(r->rs_one);
}

/* Start, settle, the mode's rounds, close. */
int
run_load(const struct load_config *cfg, struct run_result *res)
{
	struct run r = { .cfg = cfg, .res = res };

	memset(res, 0, sizeof(*res));
	res->rounds = xcalloc(cfg->mode == MODE_SWEEP ? cfg->steps : 1,
	    sizeof(*res->rounds));
	r.cs = xmalloc(sizeof(*r.cs));
	r.rs = xmalloc(sizeof(*r.rs));
	r.cs_one = xmalloc(sizeof(*r.cs_one));
	r.rs_one = xmalloc(sizeof(*r.rs_one));
	plan_open_init(&r.open, &cfg->plan);
	run_start(&r);
	run_settle(&r);
	if (atomic_load(&r.open.total) > 0 && !res->timed_out)
		run_mode(&r);
	run_close(&r);
	if (cfg->progress)
		report_progress_end(stderr);
	res->elapsed_ns = mono_ns() - res->t0_ns;
	run_free(&r);
	return res->cs.ok == 0 ? -1 : 0;
}

/* Frees the rounds array. */
void
run_result_free(struct run_result *res)
{
	free(res->rounds);
	res->rounds = NULL;
}

/* Broadcast and connect: the only round; sweep: the best passing. */
const struct round_result *
run_main_round(const struct load_config *cfg, const struct run_result *res)
{
	const struct round_result *best = NULL;

	if (cfg->mode != MODE_SWEEP)
		return res->nrounds > 0 ? &res->rounds[0] : NULL;
	for (uint32_t i = 0; i < res->nrounds; i++)
		if (res->rounds[i].pass)
			best = &res->rounds[i];
	return best;
}
