/* report — progress line, human table and JSON summary (see report.h). */
#include <inttypes.h>
#include <string.h>

#include "opts.h"
#include "report.h"
#include "run.h"
#include "tls.h"
#include "verdict.h"

/* Percentiles every latency line shows, and their JSON names. */
static const struct {
	double p;
	const char *text, *json;
} pcts[] = {
	{ 50, "p50", "p50" }, { 90, "p90", "p90" }, { 99, "p99", "p99" },
	{ 99.9, "p99.9", "p999" },
};

/* Formats nanoseconds with a unit that keeps 2-3 significant digits. */
static const char *
fmt_ns(char *buf, size_t cap, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, cap, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, cap, "%.3g us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, cap, "%.3g ms", (double)ns / 1e6);
	else
		snprintf(buf, cap, "%.3g s", (double)ns / 1e9);
	return buf;
}

/* Received per expected; 0 when nothing was expected. */
static double
share(uint64_t received, uint64_t expected)
{
	return expected ? (double)received / (double)expected : 0;
}

/* Deliveries received per expected one; 0 when nothing was expected. */
static double
ratio(const struct round_stats *rs)
{
	return share(rs->received, rs->expected);
}

/* Deliveries per second over the round, from its start to the last one. */
static double
per_second(const struct round_result *rr)
{
	int64_t end = rr->rs.last_recv_ns > rr->end_ns ? rr->rs.last_recv_ns :
	    rr->end_ns;

	return end > rr->start_ns ? (double)rr->rs.received * 1e9 /
	    (double)(end - rr->start_ns) : 0;
}

/* `n` events over `dt` seconds as a rate, or "-" over no time. */
static const char *
fmt_rate(char *buf, size_t cap, uint64_t n, double dt)
{
	if (dt <= 0)
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.0f", (double)n / dt);
	return buf;
}

/* One \r-rewritten status line (see report.h for the rates). */
void
report_progress(FILE *f, const struct load_config *cfg,
    const struct progress *prev, const struct progress *cur)
{
	bool same = prev->now_ns != 0 && prev->round == cur->round;
	int64_t since = same && prev->now_ns > cur->round_start_ns ?
	    prev->now_ns : cur->round_start_ns;
	double dt = (double)(cur->now_ns - since) / 1e9;
	char sent[32], recv[32], p99[32];

	fprintf(f, "\r\033[K[%3lld s] conns %ld/%u",
	    (long long)(cur->elapsed_ns / NSEC_PER_SEC), cur->open, cfg->conns);
	if (cur->round > 0)
		fprintf(f, "  sent/s %s  recv/s %s  p99 %s",
		    fmt_rate(sent, sizeof(sent), cur->sent -
		    (same ? prev->sent : 0), dt),
		    fmt_rate(recv, sizeof(recv), cur->received -
		    (same ? prev->received : 0), dt),
		    cur->latency_n > 0 ? fmt_ns(p99, sizeof(p99), cur->p99_ns) :
		    "-");
	if (cur->srv_threads > 0)
		fprintf(f, "  server %ld MiB %ld threads",
		    cur->srv_rss_kib / 1024, cur->srv_threads);
	fflush(f);
}

/* Clears the progress line. */
void
report_progress_end(FILE *f)
{
	fputs("\r\033[K", f);
	fflush(f);
}

/* One text line of latency figures from `h`. */
static void
text_hist(FILE *f, const char *label, const struct hist *h)
{
	char b[32];

	fprintf(f, "%-14s", label);
	if (h->count == 0) {
		fputs(" none\n", f);
		return;
	}
	fprintf(f, " min %s", fmt_ns(b, sizeof(b), h->min));
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		fprintf(f, "  %s %s", pcts[i].text,
		    fmt_ns(b, sizeof(b), hist_percentile(h, pcts[i].p)));
	fprintf(f, "  max %s\n", fmt_ns(b, sizeof(b), h->max));
}

/* The reason of the last tls error into `why`; false if there was none. */
static bool
tls_error(const struct conn_stats *cs, char *why, size_t cap)
{
	if (cs->err_errno[LERR_TLS] == 0)
		return false;
	tls_reason(cs->err_errno[LERR_TLS], cs->tls_status, why, cap);
	return true;
}

/*
 * Connects that found no local port (EADDRNOTAVAIL), on one line with what
 * gives more: a wider port range, or more source addresses (source.h).
 */
static void
text_no_port(FILE *f, const struct load_config *cfg,
    const struct conn_stats *cs)
{
	int lo, hi;

	if (cs->no_port == 0)
		return;
	fprintf(f, "%-14s %" PRIu64 " connects found no free local port "
	    "(EADDRNOTAVAIL): ", "ports ran out", cs->no_port);
	if (source_port_range(&lo, &hi) == 0)
		fprintf(f, "%s %d-%d gives %d ports ", SOURCE_PORT_SYSCTL, lo,
		    hi, hi - lo + 1);
	else
		fprintf(f, "%s gives the ports ", SOURCE_PORT_SYSCTL);
	fprintf(f, "per source address and URL, and this run had %u source "
	    "address%s (%s); widen the range, or spread the connections over "
	    "more addresses with --source FIRST-LAST (127.0.0.1-127.0.0.8)\n",
	    cfg->source.n > 0 ? cfg->source.n : 1,
	    cfg->source.n > 1 ? "es" : "", cfg->source_arg != NULL ?
	    cfg->source_arg : "the kernel's choice");
}

/* Connection outcomes: counts, close codes, errors. */
static void
text_conns(FILE *f, const struct load_config *cfg, const struct run_result *r)
{
	const struct conn_stats *cs = &r->cs;
	bool any = false;
	char why[256];

	fprintf(f, "%-14s %u requested, %" PRIu64 " ok, %" PRIu64 " failed, %"
	    PRIu64 " closed by the server\n", "connections", cfg->conns,
	    cs->ok, cs->failed, cs->closed_by_server);
	if (cs->ok > 0)
		fprintf(f, "%-14s %.2f s to open them all%s\n", "ramp",
		    (double)(cs->last_open_ns - r->t0_ns) / 1e9,
		    r->settled_ns ? "" : " (connect phase cut short)");
	text_hist(f, "handshake", &cs->handshake);
	for (int i = 0; i < CLOSE_CODES_MAX && cs->closes[i].n > 0; i++)
		fprintf(f, "%s%u x %" PRIu64, i ? ", " : "close codes    ",
		    cs->closes[i].code, cs->closes[i].n);
	if (cs->closed_by_server > 0)
		fprintf(f, cs->closes_other ? ", other x %" PRIu64 "\n" : "\n",
		    cs->closes_other);
	fprintf(f, "%-14s", "errors");
	for (int k = 0; k < LERR_COUNT; k++) {
		if (cs->err[k] == 0)
			continue;
		fprintf(f, "%s%s %" PRIu64, any ? ", " : " ",
		    stats_err_name((enum load_err)k), cs->err[k]);
		if (k == LERR_TLS && tls_error(cs, why, sizeof(why)))
			fprintf(f, " (last: %s)", why);
		else if (cs->err_errno[k] != 0)
			fprintf(f, " (%s)", strerror(cs->err_errno[k]));
		if (k == LERR_HANDSHAKE && cs->http_status != 0)
			fprintf(f, " (last: HTTP %d%s%s)", cs->http_status,
			    cs->http_reason[0] ? ": " : "", cs->http_reason);
		if (k == LERR_PAYLOAD && cs->joined > 0)
			fprintf(f, " (%" PRIu64 " text frame%s longer than -b, "
			    "starting with one of our messages: the server "
			    "joins messages into one frame; try --split-lines)",
			    cs->joined, cs->joined == 1 ? "" : "s");
		any = true;
	}
	fputs(any ? "\n" : " none\n", f);
	text_no_port(f, cfg, cs);
}

/* Why the server's RSS growth gives no per-connection figure, or none. */
enum rss_refusal {
	RSS_FIGURE,            /* it gives one */
	RSS_NO_CONNS,          /* no connection opened: nothing to divide by */
	RSS_NOT_SERVER,        /* --server-pid does not listen on the port */
	RSS_NOT_GROWN,         /* the RSS did not grow */
	RSS_RECENT_CONNS,      /* connections on the port closed within a
	                          minute (past RSS_RECENT_PER_100): the server
	                          kept their memory */
	RSS_PEAKED_BEFORE,     /* the RSS had been higher before the run */
};

/* The JSON's rss_per_conn_refused. */
static const char *const rss_refusal_names[] = {
	[RSS_FIGURE] = NULL,
	[RSS_NO_CONNS] = "no_connections",
	[RSS_NOT_SERVER] = "not_listening",
	[RSS_NOT_GROWN] = "not_grown",
	[RSS_RECENT_CONNS] = "recent_connections",
	[RSS_PEAKED_BEFORE] = "peaked_before",
};

/*
 * The RSS a connection costs is the growth from just before the run's
 * first connect to when they were all open, over the connections: unless
 * the server could open them in memory it already held, or the PID is not
 * the server's.  The former is known when the RSS did not grow, when
 * connections to the port closed within the last minute, more than
 * RSS_RECENT_PER_100 for every 100 the run opened (their TIME_WAIT
 * sockets remain), or when the RSS had peaked higher before; then there
 * is no figure.  A server that held connections longer ago may still
 * undercount: the manual says so.
 */
static enum rss_refusal
rss_refusal(const struct run_result *r)
{
	if (r->cs.ok == 0)
		return RSS_NO_CONNS;
	if (r->srv_check.rc == 0 && r->srv_check.socks.listening == 0)
		return RSS_NOT_SERVER;
	if (r->srv_open.rss_kib <= r->srv_before.rss_kib)
		return RSS_NOT_GROWN;
	if (r->srv_check.rc == 0 && (uint64_t)r->srv_check.socks.time_wait *
	    100 > r->cs.ok * RSS_RECENT_PER_100)
		return RSS_RECENT_CONNS;
	if (r->srv_before.hwm_kib > r->srv_before.rss_kib + RSS_PEAK_SLACK_KIB)
		return RSS_PEAKED_BEFORE;
	return RSS_FIGURE;
}

/* Bytes of RSS per connection (rss_refusal said RSS_FIGURE). */
static double
rss_per_conn(const struct run_result *r)
{
	return (double)(r->srv_open.rss_kib - r->srv_before.rss_kib) * 1024 /
	    (double)r->cs.ok;
}

/* "port 8080", or "ports 8080, 9000": the URLs' ports, each once. */
static void
text_ports(FILE *f, const struct load_config *cfg)
{
	uint32_t n = 0;
	char list[PLAN_URLS_MAX * 7];
	size_t len = 0;

	for (uint32_t u = 0; u < cfg->plan.urls; u++) {
		bool seen = false;

		for (uint32_t v = 0; v < u; v++)
			seen |= cfg->urls[v].port == cfg->urls[u].port;
		if (!seen)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s%u", n++ == 0 ? "" : ", ", cfg->urls[u].port);
	}
	fprintf(f, "port%s %s", n > 1 ? "s" : "", list);
}

/* "PID 123 (wshub) listens on port 8080", or what is wrong with it. */
static void
text_server_check(FILE *f, const struct load_config *cfg,
    const struct run_result *r)
{
	const struct server_check *sc = &r->srv_check;

	fprintf(f, "PID %d (%s) ", (int)cfg->server_pid, sc->comm);
	if (sc->rc < 0 || sc->socks.listening < 0) {
		fputs("is unchecked: whether it listens on ", f);
		text_ports(f, cfg);
		fprintf(f, " is unknown, as its sockets could not be read (%s)",
		    strerror(sc->rc < 0 ? -sc->rc : -sc->socks.listening));
	} else if (sc->socks.listening == 1)
		fprintf(f, "listens on port %u", sc->socks.port);
	else {
		fputs("does not listen on ", f);
		text_ports(f, cfg);
		fputs(": its figures are not the server's", f);
		if (sc->child != 0)
			fprintf(f, "; its child %d (%s) listens there: use "
			    "--server-pid %d", (int)sc->child, sc->child_comm,
			    (int)sc->child);
	}
}

/* At the start: --server-pid names a process that is not the server. */
void
report_server_warning(FILE *f, const struct load_config *cfg,
    const struct run_result *res)
{
	const struct server_check *sc = &res->srv_check;

	if (sc->rc == 0 && sc->socks.listening == 1)
		return;
	fputs("wshub-load: --server-pid: ", f);
	text_server_check(f, cfg, res);
	fputc('\n', f);
}

/* Why there is no per-connection RSS figure (rss_refusal), on one line. */
static void
text_rss_refusal(FILE *f, const struct load_config *cfg,
    const struct run_result *r, enum rss_refusal why)
{
	fprintf(f, "%-14s no per-connection figure: ", "");
	switch (why) {
	case RSS_NOT_SERVER:
		fprintf(f, "PID %d does not listen on ", (int)cfg->server_pid);
		text_ports(f, cfg);
		fputs(" (above)\n", f);
		return;
	case RSS_NOT_GROWN:
		fprintf(f, "the RSS did not grow (%+ld KiB) while %" PRIu64
		    " connections opened: the server reused or returned memory "
		    "it held before", r->srv_open.rss_kib -
		    r->srv_before.rss_kib, r->cs.ok);
		break;
	case RSS_RECENT_CONNS:
		fprintf(f, "%ld connections to ", r->srv_check.socks.time_wait);
		text_ports(f, cfg);
		fputs(" closed within the last minute (TIME_WAIT), and the "
		    "memory the server kept from them is reused without "
		    "growing its RSS", f);
		break;
	default:
		fprintf(f, "the RSS had peaked at %.1f MiB before this run, "
		    "above the %.1f MiB just before it: memory kept from "
		    "earlier connections is reused without growing the RSS",
		    (double)r->srv_before.hwm_kib / 1024,
		    (double)r->srv_before.rss_kib / 1024);
		break;
	}
	fputs("; measure a freshly started server\n", f);
}

/* The server's RSS, and its growth per connection or why there is none. */
static void
text_rss(FILE *f, const struct load_config *cfg, const struct run_result *r)
{
	enum rss_refusal why = rss_refusal(r);

	fprintf(f, "%-14s rss %.1f MiB just before this run's connections, "
	    "%.1f MiB with them open", "", (double)r->srv_before.rss_kib / 1024,
	    (double)r->srv_open.rss_kib / 1024);
	if (why == RSS_FIGURE)
		fprintf(f, ": %.1f KiB per connection\n", rss_per_conn(r) / 1024);
	else
		fputc('\n', f);
	if (why != RSS_FIGURE && why != RSS_NO_CONNS)
		text_rss_refusal(f, cfg, r, why);
}

/* Server figures from /proc, if --server-pid was given and readable. */
static void
text_server(FILE *f, const struct load_config *cfg,
    const struct run_result *r, const struct round_result *rr)
{
	if (!r->server_ok)
		return;
	fprintf(f, "%-14s ", "server");
	text_server_check(f, cfg, r);
	fputc('\n', f);
	text_rss(f, cfg, r);
	fprintf(f, "%-14s peak %ld threads", "", r->srv_peak.threads);
	if (rr != NULL && rr->server_cpu_ns > 0 && rr->rs.received > 0)
		fprintf(f, "; cpu %.2f us per delivery",
		    (double)rr->server_cpu_ns / 1e3 / (double)rr->rs.received);
	else if (rr != NULL && rr->server_cpu_ns == 0)
		fputs("; cpu under one clock tick over the round, too little "
		    "to divide", f);
	fputc('\n', f);
}

/* Growth of a kernel figure per open connection, in bytes. */
static double
kern_per_conn(long before_kib, long open_kib, uint64_t conns)
{
	return (double)(open_kib - before_kib) * 1024 / (double)conns;
}

/*
 * Kernel memory (machine-wide, procstat.h) before the first connect and
 * with the connections open, and its growth per connection: what threads
 * and sockets cost that no RSS shows.  Nothing if it could not be read or
 * nothing opened.
 */
static void
text_kernel(FILE *f, const struct run_result *r)
{
	const struct kernmem *b = &r->kmem_before, *o = &r->kmem_open;

	if (!r->kmem_ok || r->cs.ok == 0)
		return;
	fprintf(f, "%-14s machine-wide, both sides: slab %.1f -> %.1f MiB, "
	    "kernel stacks %.1f -> %.1f MiB: %.1f KiB slab and %.1f KiB "
	    "stack per connection\n", "kernel", (double)b->slab_kib / 1024,
	    (double)o->slab_kib / 1024, (double)b->kernel_stack_kib / 1024,
	    (double)o->kernel_stack_kib / 1024,
	    kern_per_conn(b->slab_kib, o->slab_kib, r->cs.ok) / 1024,
	    kern_per_conn(b->kernel_stack_kib, o->kernel_stack_kib,
	    r->cs.ok) / 1024);
}

/* Cores this process kept busy over the round (CPU time / wall time). */
static double
client_cores(const struct round_result *rr)
{
	return rr->client_wall_ns > 0 ? (double)(rr->client_cpu.user_ns +
	    rr->client_cpu.sys_ns) / (double)rr->client_wall_ns : 0;
}

/*
 * Client cost: our own CPU per data frame received, user and kernel, and
 * how busy that kept us.  A loop thread near a whole core is the
 * bottleneck, and then the run measured wshub-load as much as the server:
 * only then does the line warn.
 */
static void
text_cpu(FILE *f, const struct load_config *cfg,
    const struct round_result *rr)
{
	double n = (double)rr->rs.frames, cores = client_cores(rr);

	if (rr->rs.frames == 0)
		return;
	fprintf(f, "%-14s %.2f us per received frame (user %.2f, kernel "
	    "%.2f): wshub-load's own CPU\n", "client cpu",
	    (double)(rr->client_cpu.user_ns + rr->client_cpu.sys_ns) / 1e3 / n,
	    (double)rr->client_cpu.user_ns / 1e3 / n,
	    (double)rr->client_cpu.sys_ns / 1e3 / n);
	if (cores < CLIENT_BUSY_CORE * cfg->threads)
		fprintf(f, "%-14s %.2f of a core busy\n", "", cores);
	else
		fprintf(f, "%-14s %.2f of a core, near its limit of 1 core per "
		    "-t thread (-t %u): wshub-load limited this run, not only "
		    "the server\n", "", cores, cfg->threads);
}

/* The names of the rules in `failed`, comma-separated. */
static void
text_rules(FILE *f, unsigned failed)
{
	const char *sep = "";

	for (int k = 0; k < RULE_COUNT; k++)
		if (failed & (1u << k)) {
			fprintf(f, "%s%s", sep,
			    verdict_rule_name((enum verdict_rule)k));
			sep = ", ";
		}
}

/*
 * The round's verdict ("pass" in the JSON), and why: the figures each
 * rule looks at, then the rules it broke (verdict.h).
 */
static void
text_verdict(FILE *f, const struct load_config *cfg,
    const struct round_result *rr)
{
	const struct round_stats *rs = &rr->rs;
	char p99[32];

	fprintf(f, "%-14s %s: ", "verdict", rr->pass ? "pass" : "FAIL");
	if (cfg->mode == MODE_CONNECT)
		fprintf(f, "the broadcast reached %" PRIu64 " of %u requested "
		    "connections", rs->received, cfg->conns);
	else
		fprintf(f, "%.3f %% of deliveries lost (at most %g %%), p99 %s "
		    "(at most %lld ms)", 100 * (1 - ratio(rs)),
		    100 * PASS_MAX_LOSS, rs->latency.count ? fmt_ns(p99,
		    sizeof(p99), hist_percentile(&rs->latency, 99)) : "none",
		    PASS_MAX_P99_NS / NSEC_PER_MSEC);
	if (rs->wrong_room > 0)
		fprintf(f, ", %" PRIu64 " in the wrong room (none allowed)",
		    rs->wrong_room);
	if (rr->closed_by_server > 0)
		fprintf(f, ", %" PRIu64 " connection%s closed by the server "
		    "(%s)", rr->closed_by_server, rr->closed_by_server == 1 ?
		    "" : "s", cfg->allow_closed ? "allowed: --allow-closed" :
		    "none allowed without --allow-closed");
	if (rs->skipped > 0)
		fprintf(f, ", %" PRIu64 " message%s not sent (%s)", rs->skipped,
		    rs->skipped == 1 ? "" : "s", cfg->allow_skipped ?
		    "allowed: --allow-skipped" :
		    "none allowed without --allow-skipped");
	fputc('\n', f);
	if (rr->failed != 0) {
		fprintf(f, "%-14s ", "failed rules");
		text_rules(f, rr->failed);
		fputc('\n', f);
	}
}

/*
 * Several URLs: the deliveries on the sender's URL and on the others (one
 * hub per URL: same hub and cross hub), each with its latency.
 */
static void
text_urls_split(FILE *f, const struct round_stats *rs)
{
	uint64_t exp_same = rs->expected - rs->expected_other;
	uint64_t recv_same = rs->received - rs->received_other;

	fprintf(f, "%-14s %" PRIu64 " of %" PRIu64 " expected (%.3f %%)\n",
	    "same url", recv_same, exp_same, 100 * share(recv_same, exp_same));
	text_hist(f, "  latency", &rs->latency_same);
	fprintf(f, "%-14s %" PRIu64 " of %" PRIu64 " expected (%.3f %%)\n",
	    "other urls", rs->received_other, rs->expected_other,
	    100 * share(rs->received_other, rs->expected_other));
	text_hist(f, "  latency", &rs->latency_other);
}

/*
 * --room-sizes with several sizes: the deliveries in the rooms of each
 * size, each with its latency.
 */
static void
text_sizes_split(FILE *f, const struct load_config *cfg,
    const struct round_stats *rs)
{
	struct plan_size g[PLAN_SIZES_MAX];
	uint32_t n = plan_layout(&cfg->plan, g);
	char label[32];

	if (cfg->plan.nsizes < 2)
		return;
	for (uint32_t k = 0; k < n; k++) {
		const struct size_stats *ss = &rs->by_size[k];

		snprintf(label, sizeof(label), "rooms of %u", g[k].size);
		fprintf(f, "%-14s %" PRIu64 " of %" PRIu64 " expected (%.3f "
		    "%%) in %u room%s\n", label, ss->received, ss->expected,
		    100 * share(ss->received, ss->expected), g[k].rooms,
		    g[k].rooms == 1 ? "" : "s");
		text_hist(f, "  latency", &ss->latency);
	}
}

/* --split-lines: how many lines (deliveries) a frame carried. */
static void
text_frames(FILE *f, const struct load_config *cfg,
    const struct round_stats *rs)
{
	if (cfg->split_lines)
		fprintf(f, "%-14s %" PRIu64 " received, %.2f deliveries per "
		    "frame (--split-lines)\n", "frames", rs->frames,
		    rs->frames ? (double)rs->received / (double)rs->frames : 0);
}

/* Rooms: deliveries that reached a connection outside their room. */
static void
text_wrong_room(FILE *f, const struct load_config *cfg,
    const struct round_stats *rs)
{
	if (cfg->plan.rooms > 1)
		fprintf(f, "%-14s %" PRIu64 " deliveries outside the sender's "
		    "room\n", "wrong room", rs->wrong_room);
}

/* One broadcast round: sending, deliveries, latency, cost, verdict. */
static void
text_round(FILE *f, const struct load_config *cfg,
    const struct round_result *rr)
{
	const struct round_stats *rs = &rr->rs;

	fprintf(f, "%-14s %u sender%s x %u/s for %u s: %" PRIu64 " sent, %"
	    PRIu64 " skipped\n", "messages", rr->senders,
	    rr->senders == 1 ? "" : "s", rr->rate,
	    cfg->duration_s, rs->sent, rs->skipped);
	fprintf(f, "%-14s %" PRIu64 " of %" PRIu64 " expected (%.3f %%), "
	    "%.0f/s\n", "deliveries", rs->received, rs->expected,
	    100 * ratio(rs), per_second(rr));
	text_frames(f, cfg, rs);
	text_hist(f, "latency", &rs->latency);
	text_sizes_split(f, cfg, rs);
	if (cfg->plan.urls > 1)
		text_urls_split(f, rs);
	text_wrong_room(f, cfg, rs);
	text_cpu(f, cfg, rr);
	text_verdict(f, cfg, rr);
}

/* --room-sizes with several sizes: a sweep step's p50 and p99 by size. */
static void
text_sweep_sizes(FILE *f, const struct load_config *cfg,
    const struct round_stats *rs)
{
	struct plan_size g[PLAN_SIZES_MAX];
	uint32_t n = plan_layout(&cfg->plan, g);
	char label[32], p50[32], p99[32];

	if (cfg->plan.nsizes < 2)
		return;
	for (uint32_t k = 0; k < n; k++) {
		const struct hist *h = &rs->by_size[k].latency;

		snprintf(label, sizeof(label), "  rooms of %u", g[k].size);
		fprintf(f, "%-50s %9s %9s\n", label,
		    fmt_ns(p50, sizeof(p50), hist_percentile(h, 50)),
		    fmt_ns(p99, sizeof(p99), hist_percentile(h, 99)));
	}
}

/* The sweep's steps, one line each, and the verdict. */
static void
text_sweep(FILE *f, const struct load_config *cfg, const struct run_result *r)
{
	const struct round_result *best = NULL;
	char p50[32], p99[32];

	fprintf(f, "%-5s %10s %10s %12s %9s %9s %9s  %s\n", "step", "rate/snd",
	    "msgs/s", "deliv/s", "loss %", "p50", "p99", "result");
	for (uint32_t i = 0; i < r->nrounds; i++) {
		const struct round_result *rr = &r->rounds[i];

		fprintf(f, "%-5u %10u %10" PRIu64 " %12.0f %9.3f %9s %9s  %s",
		    i + 1, rr->rate, (uint64_t)rr->rate * rr->senders,
		    per_second(rr), 100 * (1 - ratio(&rr->rs)),
		    fmt_ns(p50, sizeof(p50), hist_percentile(&rr->rs.latency,
		    50)), fmt_ns(p99, sizeof(p99),
		    hist_percentile(&rr->rs.latency, 99)),
		    rr->pass ? "pass" : "FAIL: ");
		text_rules(f, rr->failed);
		fputc('\n', f);
		text_sweep_sizes(f, cfg, &rr->rs);
		if (rr->pass)
			best = rr;
	}
	if (r->nrounds > 0 && r->rounds[r->nrounds - 1].pass)
		fputs("every step passed: raise --steps or -r to find the "
		    "limit\n", f);
	if (best == NULL)
		fputs("highest passing: none\n", f);
	else
		fprintf(f, "highest passing: %u messages/s per sender (%" PRIu64
		    " messages/s, %.0f deliveries/s)\n", best->rate,
		    (uint64_t)best->rate * best->senders, per_second(best));
}

/* Connect mode: did one broadcast (per room) reach every connection? */
static void
text_connect(FILE *f, const struct load_config *cfg,
    const struct round_result *rr)
{
	char last[32], sent[64];

	if (cfg->plan.rooms == 1)
		snprintf(sent, sizeof(sent), "%s", rr->rs.sent ? "sent" :
		    "NOT sent (connection 0 not open)");
	else
		snprintf(sent, sizeof(sent), "%" PRIu64 " of %u sent, one per "
		    "room", rr->rs.sent, cfg->plan.rooms);
	fprintf(f, "%-14s %s; received by %" PRIu64 " of %" PRIu64
	    " open connections (%.3f %%), the last after %s\n", "broadcast",
	    sent, rr->rs.received, rr->rs.expected, 100 * ratio(&rr->rs),
	    fmt_ns(last, sizeof(last), rr->rs.latency.max));
	text_frames(f, cfg, &rr->rs);
	if (cfg->plan.urls > 1)
		text_urls_split(f, &rr->rs);
	text_wrong_room(f, cfg, &rr->rs);
}

/* "10 connections each" or "10 to 11 connections each"; n = 1: "40". */
static void
text_each(FILE *f, uint32_t n, uint32_t min, uint32_t max)
{
	if (n == 1)
		fprintf(f, "%u connection%s\n", min, min == 1 ? "" : "s");
	else if (min == max)
		fprintf(f, "%u connection%s each\n", min, min == 1 ? "" : "s");
	else
		fprintf(f, "%u to %u connections each\n", min, max);
}

/* "5 of 1000, 500 of 10 connections": --room-sizes, largest first. */
static void
text_sizes(FILE *f, const struct plan *p)
{
	for (uint32_t k = 0; k < p->nsizes; k++)
		fprintf(f, "%s%u of %u", k ? ", " : "", p->sizes[k].rooms,
		    p->sizes[k].size);
	fputs(" connections\n", f);
}

/* Rooms named by the flags, and several URLs: how the run spread. */
static void
text_spread(FILE *f, const struct load_config *cfg)
{
	const struct plan *p = &cfg->plan;
	struct plan_spread sp;
	char first[PLAN_ROOM_NAME_MAX + 1], last[PLAN_ROOM_NAME_MAX + 1];

	plan_spread(p, &sp);
	if (plan_names_rooms(p)) {
		plan_room_name(p, 0, first);
		plan_room_name(p, p->rooms - 1, last);
		fprintf(f, "%-14s %u (%s%s%s), ", "rooms", p->rooms, first,
		    p->rooms > 1 ? " .. " : "", p->rooms > 1 ? last : "");
		if (p->nsizes > 1)
			text_sizes(f, p);
		else
			text_each(f, p->rooms, sp.room_min, sp.room_max);
	}
	if (p->urls > 1) {
		fprintf(f, "%-14s %u, ", "urls", p->urls);
		text_each(f, p->urls, sp.url_min, sp.url_max);
	}
}

/* How many URLs are wss://. */
static uint32_t
tls_urls(const struct load_config *cfg)
{
	uint32_t n = 0;

	for (uint32_t u = 0; u < cfg->plan.urls; u++)
		n += cfg->urls[u].tls;
	return n;
}

/* wss://: what the certificates were checked against, if anything. */
static void
text_tls(FILE *f, const struct load_config *cfg)
{
	if (tls_urls(cfg) == 0)
		return;
	if (cfg->insecure)
		fprintf(f, "%-14s certificates NOT checked (--insecure)", "tls");
	else if (cfg->ca_file != NULL)
		fprintf(f, "%-14s certificates checked against --ca %s", "tls",
		    cfg->ca_file);
	else
		fprintf(f, "%-14s certificates checked against the system's "
		    "trust store", "tls");
	fputs("; handshake times include TLS\n", f);
}

/* The human table, mode by mode. */
void
report_text(FILE *f, const struct load_config *cfg,
    const struct run_result *res)
{
	const struct round_result *rr = run_main_round(cfg, res);

	fprintf(f, "wshub-load %s", opts_mode_name(cfg->mode));
	for (uint32_t u = 0; u < cfg->plan.urls; u++)
		fprintf(f, " %s", cfg->urls[u].url);
	fprintf(f, ": %u thread%s, %s messages of %u bytes%s\n", cfg->threads,
	    cfg->threads == 1 ? "" : "s",
	    cfg->kind == PAYLOAD_TEXT ? "text" : "binary", cfg->bytes,
	    cfg->split_lines ? ", one per line (--split-lines)" : "");
	text_spread(f, cfg);
	text_tls(f, cfg);
	text_conns(f, cfg, res);
	if (cfg->mode == MODE_SWEEP)
		text_sweep(f, cfg, res);
	else if (cfg->mode == MODE_CONNECT && rr != NULL) {
		text_connect(f, cfg, rr);
		text_verdict(f, cfg, rr);
	} else if (rr != NULL)
		text_round(f, cfg, rr);
	text_server(f, cfg, res, rr);
	text_kernel(f, res);
	if (res->timed_out)
		fputs("TIMED OUT: the run hit its hard time limit\n", f);
}

/* `s` as a JSON string literal. */
static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* "name":{"n":..,"min":..,"p50":..,...,"max":..} in microseconds. */
static void
json_hist(FILE *f, const char *name, const struct hist *h)
{
	fprintf(f, "\"%s\":{\"n\":%" PRIu64 ",\"min\":%.3f", name, h->count,
	    h->count ? (double)h->min / 1e3 : 0.0);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		fprintf(f, ",\"%s\":%.3f", pcts[i].json,
		    (double)hist_percentile(h, pcts[i].p) / 1e3);
	fprintf(f, ",\"mean\":%.3f,\"max\":%.3f}", (double)hist_mean(h) / 1e3,
	    (double)h->max / 1e3);
}

/* "connections":{...},"errors":{...},"handshake_us":{...} */
static void
json_conns(FILE *f, const struct load_config *cfg, const struct run_result *r)
{
	const struct conn_stats *cs = &r->cs;
	char why[256];

	fprintf(f, "\"connections\":{\"requested\":%u,\"attempted\":%" PRIu64
	    ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"closed_by_server\":%"
	    PRIu64 ",\"close_codes\":{", cfg->conns, cs->attempted, cs->ok,
	    cs->failed, cs->closed_by_server);
	for (int i = 0; i < CLOSE_CODES_MAX && cs->closes[i].n > 0; i++)
		fprintf(f, "%s\"%u\":%" PRIu64, i ? "," : "",
		    cs->closes[i].code, cs->closes[i].n);
	if (cs->closes_other > 0)
		fprintf(f, "%s\"other\":%" PRIu64, cs->closes[0].n ? "," : "",
		    cs->closes_other);
	fprintf(f, "},\"ramp_s\":%.3f,\"settled\":%s},",
	    cs->ok ? (double)(cs->last_open_ns - r->t0_ns) / 1e9 : 0.0,
	    r->settled_ns ? "true" : "false");
	json_hist(f, "handshake_us", &cs->handshake);
	fputs(",\"errors\":{", f);
	for (int k = 0; k < LERR_COUNT; k++)
		fprintf(f, "%s\"%s\":%" PRIu64, k ? "," : "",
		    stats_err_name((enum load_err)k), cs->err[k]);
	fprintf(f, "},\"no_port\":%" PRIu64, cs->no_port);
	fprintf(f, ",\"last_http_status\":%d,\"last_http_reason\":",
	    cs->http_status);
	if (cs->http_status != 0)
		json_string(f, cs->http_reason);
	else
		fputs("null", f);
	fprintf(f, ",\"frames_joined\":%" PRIu64 ",\"last_tls_error\":",
	    cs->joined);
	if (tls_error(cs, why, sizeof(why)))
		json_string(f, why);
	else
		fputs("null", f);
	fputc(',', f);
}

/* "tls":{"verify":"system"|"ca"|"none","ca":FILE|null}, or null. */
static void
json_tls(FILE *f, const struct load_config *cfg)
{
	if (tls_urls(cfg) == 0) {
		fputs("\"tls\":null,", f);
		return;
	}
	fprintf(f, "\"tls\":{\"verify\":\"%s\",\"ca\":", cfg->insecure ?
	    "none" : cfg->ca_file != NULL ? "ca" : "system");
	if (cfg->ca_file != NULL)
		json_string(f, cfg->ca_file);
	else
		fputs("null", f);
	fputs("},", f);
}

/*
 * "name":{"expected":..,"received":..,"delivery_ratio":..,"latency_us":..}
 * for one URL share of a round.
 */
static void
json_share(FILE *f, const char *name, uint64_t expected, uint64_t received,
    const struct hist *latency)
{
	fprintf(f, "\"%s\":{\"expected\":%" PRIu64 ",\"received\":%" PRIu64
	    ",\"delivery_ratio\":%.6f,", name, expected, received,
	    share(received, expected));
	json_hist(f, "latency_us", latency);
	fputs("},", f);
}

/* "same_url":{..},"other_url":{..}, or both null with one URL. */
static void
json_urls_split(FILE *f, const struct load_config *cfg,
    const struct round_stats *rs)
{
	if (cfg->plan.urls == 1) {
		fputs("\"same_url\":null,\"other_url\":null,", f);
		return;
	}
	json_share(f, "same_url", rs->expected - rs->expected_other,
	    rs->received - rs->received_other, &rs->latency_same);
	json_share(f, "other_url", rs->expected_other, rs->received_other,
	    &rs->latency_other);
}

/*
 * "by_room_size":[{"size":..,"rooms":..,"expected":..,"received":..,
 * "delivery_ratio":..,"latency_us":{..}},..]: the layout's sizes, largest
 * first.
 */
static void
json_sizes_split(FILE *f, const struct load_config *cfg,
    const struct round_stats *rs)
{
	struct plan_size g[PLAN_SIZES_MAX];
	uint32_t n = plan_layout(&cfg->plan, g);

	fputs("\"by_room_size\":[", f);
	for (uint32_t k = 0; k < n; k++) {
		const struct size_stats *ss = &rs->by_size[k];

		fprintf(f, "%s{\"size\":%u,\"rooms\":%u,\"expected\":%" PRIu64
		    ",\"received\":%" PRIu64 ",\"delivery_ratio\":%.6f,",
		    k ? "," : "", g[k].size, g[k].rooms, ss->expected,
		    ss->received, share(ss->received, ss->expected));
		json_hist(f, "latency_us", &ss->latency);
		fputc('}', f);
	}
	fputs("],", f);
}

/* One round as a JSON object. */
static void
json_round(FILE *f, const struct load_config *cfg,
    const struct round_result *rr)
{
	const struct round_stats *rs = &rr->rs;
	double n = (double)rs->frames;

	fprintf(f, "{\"round\":%u,\"senders\":%u,\"rate\":%u,\"duration_s\":"
	    "%.3f,\"sent\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"expected\":%"
	    PRIu64 ",\"received\":%" PRIu64 ",\"stale\":%" PRIu64
	    ",\"wrong_room\":%" PRIu64 ",\"frames\":%" PRIu64
	    ",\"delivery_ratio\":%.6f,\"deliveries_per_s\":%.1f,", rr->round,
	    rr->senders, rr->rate, (double)(rr->end_ns - rr->start_ns) / 1e9,
	    rs->sent, rs->skipped, rs->expected, rs->received, rs->stale,
	    rs->wrong_room, rs->frames, ratio(rs), per_second(rr));
	json_hist(f, "latency_us", &rs->latency);
	fputc(',', f);
	json_urls_split(f, cfg, rs);
	json_sizes_split(f, cfg, rs);
	fprintf(f, "\"client_cpu_ns_per_frame\":%.1f,"
	    "\"client_user_ns_per_frame\":%.1f,"
	    "\"client_sys_ns_per_frame\":%.1f,\"client_cpu_cores\":%.3f,"
	    "\"server_cpu_ns_per_delivery\":",
	    n ? (double)(rr->client_cpu.user_ns + rr->client_cpu.sys_ns) / n :
	    0.0,
	    n ? (double)rr->client_cpu.user_ns / n : 0.0,
	    n ? (double)rr->client_cpu.sys_ns / n : 0.0, client_cores(rr));
	if (rr->server_cpu_ns >= 0 && rs->received > 0)
		fprintf(f, "%.1f", (double)rr->server_cpu_ns /
		    (double)rs->received);
	else
		fputs("null", f);
	fprintf(f, ",\"closed_by_server\":%" PRIu64 ",\"failed_rules\":[",
	    rr->closed_by_server);
	for (int k = 0, n = 0; k < RULE_COUNT; k++)
		if (rr->failed & (1u << k))
			fprintf(f, "%s\"%s\"", n++ ? "," : "",
			    verdict_rule_name((enum verdict_rule)k));
	fprintf(f, "],\"pass\":%s}", rr->pass ? "true" : "false");
}

/* "server":{...} or "server":null */
static void
json_server(FILE *f, const struct load_config *cfg, const struct run_result *r)
{
	const struct server_check *sc = &r->srv_check;
	enum rss_refusal why = rss_refusal(r);

	if (!r->server_ok) {
		fputs("\"server\":null,", f);
		return;
	}
	fprintf(f, "\"server\":{\"pid\":%d,\"comm\":", (int)cfg->server_pid);
	json_string(f, sc->comm);
	fprintf(f, ",\"listening\":%s,\"port\":",
	    sc->rc < 0 || sc->socks.listening < 0 ? "null" :
	    sc->socks.listening ? "true" : "false");
	if (sc->rc == 0 && sc->socks.listening == 1)
		fprintf(f, "%u", sc->socks.port);
	else
		fputs("null", f);
	fprintf(f, ",\"listening_child\":");
	if (sc->child != 0)
		fprintf(f, "%d", (int)sc->child);
	else
		fputs("null", f);
	fprintf(f, ",\"time_wait_before\":%ld,\"rss_kib_before\":%ld,"
	    "\"rss_kib_peak_before\":%ld,\"rss_kib_open\":%ld,"
	    "\"rss_kib_peak\":%ld,\"threads_peak\":%ld,"
	    "\"rss_bytes_per_conn\":", sc->rc == 0 ? sc->socks.time_wait : 0,
	    r->srv_before.rss_kib, r->srv_before.hwm_kib, r->srv_open.rss_kib,
	    r->srv_peak.rss_kib, r->srv_peak.threads);
	if (why == RSS_FIGURE)
		fprintf(f, "%.0f,\"rss_per_conn_refused\":null},",
		    rss_per_conn(r));
	else
		fprintf(f, "null,\"rss_per_conn_refused\":\"%s\"},",
		    rss_refusal_names[why]);
}

/* "kernel":{...} (text_kernel's figures) or "kernel":null */
static void
json_kernel(FILE *f, const struct run_result *r)
{
	const struct kernmem *b = &r->kmem_before, *o = &r->kmem_open;

	if (!r->kmem_ok) {
		fputs("\"kernel\":null,", f);
		return;
	}
	fprintf(f, "\"kernel\":{\"slab_kib_before\":%ld,\"slab_kib_open\":%ld,"
	    "\"kernel_stack_kib_before\":%ld,\"kernel_stack_kib_open\":%ld,",
	    b->slab_kib, o->slab_kib, b->kernel_stack_kib,
	    o->kernel_stack_kib);
	if (r->cs.ok == 0) {
		fputs("\"slab_bytes_per_conn\":null,"
		    "\"kernel_stack_bytes_per_conn\":null},", f);
		return;
	}
	fprintf(f, "\"slab_bytes_per_conn\":%.0f,"
	    "\"kernel_stack_bytes_per_conn\":%.0f},",
	    kern_per_conn(b->slab_kib, o->slab_kib, r->cs.ok),
	    kern_per_conn(b->kernel_stack_kib, o->kernel_stack_kib, r->cs.ok));
}

/*
 * "urls":[..],"rooms":K,"room":"NAME"|null,
 * "connections_per_room":{"min":..,"max":..},"connections_per_url":{..},
 */
static void
json_spread(FILE *f, const struct load_config *cfg)
{
	const struct plan *p = &cfg->plan;
	struct plan_spread sp;

	plan_spread(p, &sp);
	fputs("\"urls\":[", f);
	for (uint32_t u = 0; u < p->urls; u++) {
		fputs(u ? "," : "", f);
		json_string(f, cfg->urls[u].url);
	}
	fprintf(f, "],\"rooms\":%u,\"room\":", p->rooms);
	if (p->room != NULL)
		json_string(f, p->room);
	else
		fputs("null", f);
	fprintf(f, ",\"connections_per_room\":{\"min\":%u,\"max\":%u},"
	    "\"connections_per_url\":{\"min\":%u,\"max\":%u},",
	    sp.room_min, sp.room_max, sp.url_min, sp.url_max);
	fputs("\"room_sizes\":", f);
	if (p->nsizes == 0)
		fputs("null,", f);
	for (uint32_t k = 0; k < p->nsizes; k++)
		fprintf(f, "%s{\"size\":%u,\"rooms\":%u}%s", k ? "," : "[",
		    p->sizes[k].size, p->sizes[k].rooms,
		    k + 1 == p->nsizes ? "]," : "");
}

/* The JSON summary: one object, one line. */
void
report_json(FILE *f, const struct load_config *cfg,
    const struct run_result *res)
{
	const struct round_result *main = run_main_round(cfg, res);

	fprintf(f, "{\"mode\":\"%s\",\"url\":", opts_mode_name(cfg->mode));
	json_string(f, cfg->urls[0].url);
	fprintf(f, ",\"threads\":%u,\"type\":\"%s\",\"bytes\":%u,"
	    "\"split_lines\":%s,", cfg->threads,
	    cfg->kind == PAYLOAD_TEXT ? "text" : "binary", cfg->bytes,
	    cfg->split_lines ? "true" : "false");
	json_spread(f, cfg);
	json_tls(f, cfg);
	json_conns(f, cfg, res);
	json_server(f, cfg, res);
	json_kernel(f, res);
	fputs("\"rounds\":[", f);
	for (uint32_t i = 0; i < res->nrounds; i++) {
		fputs(i ? "," : "", f);
		json_round(f, cfg, &res->rounds[i]);
	}
	fputs("],\"result\":", f);
	if (main != NULL)
		json_round(f, cfg, main);
	else
		fputs("null", f);
	fprintf(f, ",\"timed_out\":%s,\"elapsed_s\":%.3f}\n",
	    res->timed_out ? "true" : "false", (double)res->elapsed_ns / 1e9);
	fflush(f);
}
