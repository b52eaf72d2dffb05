/* opts — wshub-load's command line (see opts.h). */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "tls.h"
#include "wshub/flagval.h"
#include "wshub/version.h"

#define MAX_CONNS 1000000
#define MAX_BYTES (1 << 20)    /* beyond any sane chat message */

enum {
	OPT_RAMP = 256, OPT_INFLIGHT, OPT_DRAIN, OPT_STEPS, OPT_TEXT,
	OPT_BINARY, OPT_SERVER_PID, OPT_TIMEOUT, OPT_JSON, OPT_ROOM, OPT_ROOMS,
	OPT_SPLIT_LINES, OPT_CA, OPT_INSECURE, OPT_ALLOW_CLOSED,
	OPT_ALLOW_SKIPPED,
	OPT_ROOM_SIZES,
};
/* Flags of their own block, apart from the list above. */
enum {
	OPT_SOURCE = 320,
};

static const struct option longopts[] = {
	{ "connections", required_argument, NULL, 'c' },
	{ "senders", required_argument, NULL, 's' },
	{ "rate", required_argument, NULL, 'r' },
	{ "bytes", required_argument, NULL, 'b' },
	{ "duration", required_argument, NULL, 'd' },
	{ "threads", required_argument, NULL, 't' },
	{ "ramp", required_argument, NULL, OPT_RAMP },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "steps", required_argument, NULL, OPT_STEPS },
	{ "room", required_argument, NULL, OPT_ROOM },
	{ "rooms", required_argument, NULL, OPT_ROOMS },
	{ "room-sizes", required_argument, NULL, OPT_ROOM_SIZES },
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "binary", no_argument, NULL, OPT_BINARY },
	{ "split-lines", no_argument, NULL, OPT_SPLIT_LINES },
	{ "server-pid", required_argument, NULL, OPT_SERVER_PID },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "allow-closed", no_argument, NULL, OPT_ALLOW_CLOSED },
	{ "allow-skipped", no_argument, NULL, OPT_ALLOW_SKIPPED },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* A flag taking an integer in [min, max], stored at `off` in the config. */
struct numopt {
	int opt;
	const char *name;
	long long min, max;
	const char *what;      /* what the value counts, for messages */
	size_t off;
};

#define CFG(field) offsetof(struct load_config, field)
static const struct numopt numopts[] = {
	{ 'c', "-c/--connections", 1, MAX_CONNS, "an integer", CFG(conns) },
	{ 's', "-s/--senders", 1, MAX_CONNS, "an integer", CFG(senders) },
	{ 'r', "-r/--rate", 1, 100000, "messages/s, an integer", CFG(rate) },
	{ 'b', "-b/--bytes", 1, MAX_BYTES, "bytes, an integer", CFG(bytes) },
	{ 'd', "-d/--duration", 1, 3600, "whole seconds", CFG(duration_s) },
	{ 't', "-t/--threads", 1, 64, "an integer", CFG(threads) },
	{ OPT_RAMP, "--ramp", 0, MAX_CONNS, "connections/s, an integer",
	    CFG(ramp) },
	{ OPT_INFLIGHT, "--inflight", 1, 65536, "an integer", CFG(inflight) },
	{ OPT_DRAIN, "--drain", 0, 600000, "whole milliseconds",
	    CFG(drain_ms) },
	{ OPT_STEPS, "--steps", 1, 20, "an integer", CFG(steps) },
	{ OPT_ROOMS, "--rooms", 1, MAX_CONNS, "an integer", CFG(plan.rooms) },
	{ OPT_TIMEOUT, "--timeout", 1, 86400, "whole seconds",
	    CFG(timeout_s) },
	{ OPT_SERVER_PID, "--server-pid", 1, 4194304, "a process id",
	    CFG(server_pid) },
};

static const char usage_text[] =
"usage: wshub-load MODE [options] ws[s]://HOST:PORT/PATH [URL ...]\n"
"\n"
"modes:\n"
"  broadcast  -c connections, -s of them send -r messages/s each for -d s;\n"
"             the server echoes each message to every connection of the\n"
"             sender's room; the run passes with at most 1 %% lost and a\n"
"             p99 <= 100 ms\n"
"  connect    open -c connections at --ramp, hold -d s, then check that\n"
"             one broadcast per room reaches every one of them (then it\n"
"             passes)\n"
"  sweep      broadcast at -r, 2 x -r, 4 x -r, ... until a step fails as\n"
"             broadcast would; report the highest passing rate\n"
"\n"
"options:\n"
"  -c, --connections N  connections (default %d)\n"
"  -s, --senders N      sending connections (0 .. N-1), <= -c (default %d,\n"
"                       or --rooms if larger)\n"
"  -r, --rate N         messages/s per sender (default %d)\n"
"  -b, --bytes N        message size; at least %d (text) or %d (binary)\n"
"                       for the payload header (default %d, a chat line)\n"
"  -d, --duration S     seconds of sending, or of holding in connect mode\n"
"                       (default %d)\n"
"      --ramp N         new connections/s; 0 = as fast as handshakes\n"
"                       complete (default 0)\n"
"      --inflight N     handshakes in flight at once (default %d: below\n"
"                       the kernel's accept backlog, so no SYN is dropped)\n"
"  -t, --threads N      event-loop threads (default %d: one thread drives\n"
"                       10,000 connections and leaves a core to the server)\n"
"      --drain MS       wait after the last send before counting (default\n"
"                       %d; connect mode %d); ends early once all arrived\n"
"      --steps N        sweep: at most N doubling steps (default %d)\n";

/* The --help text, its second half (one string literal must stay under
 * the 4,095 bytes ISO C requires compilers to take). */
static const char usage_text2[] =
"      --room NAME      every connection joins the room NAME (/ws/NAME);\n"
"                       the URL's path must then be /ws or empty (default:\n"
"                       the URL's path, as given)\n"
"      --rooms K        K rooms, r0 .. rK-1 (NAME-0 .. with --room):\n"
"                       connection i joins room i mod K, so -s >= K gives\n"
"                       each room a sender (default 1 room; -s then\n"
"                       defaults to at least K)\n"
"      --room-sizes SIZExCOUNT[,SIZExCOUNT...]\n"
"                       rooms of different sizes instead of --rooms: COUNT\n"
"                       rooms of SIZE connections each, e.g. 1000x5,10x500;\n"
"                       -c is their sum (give it or leave it out); rooms\n"
"                       are numbered largest first, connection k joins\n"
"                       room k for k below the number of rooms, so senders\n"
"                       are dealt one per room as with --rooms; latency is\n"
"                       also reported per size (at most %d sizes)\n"
"      --text, --binary message type (default text)\n"
"      --split-lines    count each line of a received text frame as one\n"
"                       message, for servers that join the messages queued\n"
"                       for a client with '\\n' or \"\\r\\n\" (Gorilla's chat\n"
"                       example); empty lines count for nothing; text only\n"
"                       (default: one frame, one message, as wshub sends\n"
"                       them)\n"
"      --server-pid PID sample the server's RSS, threads and CPU in /proc;\n"
"                       PID must exist, and should listen on the URL's port\n"
"                       (the report says if it does not).  Every run also\n"
"                       reads the kernel's Slab and KernelStack\n"
"                       (/proc/meminfo) before and with the connections\n"
"                       open: machine-wide, so wshub-load's own sockets\n"
"                       count too\n"
"      --allow-closed   connections the server closes do not fail the run\n"
"                       (default: any fails it; a server that went away\n"
"                       mid-run loses no delivery that was still due)\n"
"      --allow-skipped  messages that could not be sent (sender not open,\n"
"                       or %d queued) do not fail the run (default: any\n"
"                       fails it)\n"
"      --ca FILE        wss://: trust the PEM certificates in FILE (a test\n"
"                       CA, a self-signed certificate) instead of the\n"
"                       system's; the host name is still checked\n"
"      --insecure       wss://: do not check the server's certificate at\n"
"                       all (the report says so); for a self-signed test\n"
"                       certificate\n"
"      --timeout S      hard limit for the whole run (default: computed)\n"
"      --json           print one JSON summary line on stdout; its\n"
"                       result.pass is the verdict above, and\n"
"                       result.failed_rules the rules it broke\n"
"  -q, --quiet          no progress line, no table, no warnings\n"
"  -h, --help           this text\n"
"  -V, --version        print the version\n"
"\n"
"A wss:// URL is TLS 1.2 or 1.3 (port 443 by default), its certificate\n"
"checked against the system's trust store and the URL's host unless --ca\n"
"or --insecure says otherwise; the handshake figures then include TLS.\n"
"\n"
"Several URLs (at most %d) share the connections round-robin: hubs joined\n"
"through Redis.  A message is due at every connection of its room on all\n"
"of them; the report splits the deliveries into those on the sender's URL\n"
"and those on the others (same hub, cross hub).\n"
"\n"
"exit status: 0 run completed, whatever its verdict (gate on the JSON's\n"
"result.pass), 1 nothing could connect, 2 bad usage.\n";

/* The --help text of --source, between the two halves. */
static const char usage_source[] =
"      --source ADDR|FIRST-LAST\n"
"                       connect from these local addresses, round-robin\n"
"                       (at most %d; a range is IPv4: 127.0.0.1-127.0.0.8):\n"
"                       the kernel has net.ipv4.ip_local_port_range's ports\n"
"                       for each source address and URL, 28,232 by default\n"
"                       (default: the address the kernel picks)\n";

/* The --help text. */
static void
usage(FILE *f)
{
	fprintf(f, usage_text, DEF_CONNS, DEF_SENDERS, DEF_RATE,
	    PAYLOAD_TEXT_HEADER, PAYLOAD_BINARY_HEADER, DEF_BYTES,
	    DEF_DURATION_S, DEF_INFLIGHT, DEF_THREADS, DEF_DRAIN_MS,
	    DEF_CONNECT_DRAIN_MS, DEF_SWEEP_STEPS);
	fprintf(f, usage_source, SOURCE_MAX);
	fprintf(f, usage_text2, PLAN_SIZES_MAX, SEND_BACKLOG_MAX,
	    PLAN_URLS_MAX);
}

/* One line on stderr, then exit status 2. */
static void __attribute__((noreturn, format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("wshub-load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

/* Stores the integer flag `opt`; returns 0 if `opt` is not one. */
static int
set_number(struct load_config *cfg, int opt, const char *arg)
{
	long long v;
	int rc;

	for (size_t i = 0; i < sizeof(numopts) / sizeof(numopts[0]); i++) {
		const struct numopt *n = &numopts[i];

		if (n->opt != opt)
			continue;
		if ((rc = flagval_int(arg, n->min, n->max, &v)) != FLAGVAL_OK)
			bad_usage("invalid %s '%s': %s; expected %s from %lld "
			    "to %lld", n->name, arg, flagval_strerror(rc),
			    n->what, n->min, n->max);
		if (opt == OPT_SERVER_PID)
			cfg->server_pid = (pid_t)v;
		else
			*(uint32_t *)((char *)cfg + n->off) = (uint32_t)v;
		return 1;
	}
	return 0;
}

/*
 * Splits the authority [a, a + n) into host and port strings: HOST,
 * HOST:PORT, [IPv6] or [IPv6]:PORT (the port defaults to `defport`).
 */
static void
split_authority(const char *a, size_t n, char *host, size_t hcap,
    char *port, size_t pcap, const char *defport)
{
	const char *colon = NULL, *h = a, *end = a + n;
	size_t hl = n;

	if (n > 0 && a[0] == '[') {        /* [IPv6]:port */
		const char *rb = memchr(a, ']', n);

		if (rb == NULL)
			bad_usage("URL: no ']' after the '[' in '%.*s'",
			    (int)n, a);
		h = a + 1;
		hl = (size_t)(rb - h);
		if (rb + 1 < end && rb[1] != ':')
			bad_usage("URL: '%.*s' has text after the ']'; "
			    "expected [IPv6]:PORT", (int)n, a);
		colon = rb + 1 < end ? rb + 1 : NULL;
	} else if ((colon = memchr(a, ':', n)) != NULL) {
		if (memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL)
			bad_usage("URL: '%.*s': an IPv6 address goes in "
			    "brackets, as in ws://[::1]:8080/", (int)n, a);
		hl = (size_t)(colon - a);
	}
	if (hl == 0)
		bad_usage("URL: no host in '%.*s'", (int)n, a);
	if (hl >= hcap)
		bad_usage("URL: the host in '%.*s' is too long", (int)n, a);
	if (colon != NULL && colon + 1 == end)
		bad_usage("URL: no port after the ':' in '%.*s'", (int)n, a);
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, pcap, "%.*s", colon ? (int)(end - colon - 1) :
	    (int)strlen(defport), colon ? colon + 1 : defport);
}

/* Resolves ws[s]://HOST[:PORT][/PATH] to the one address we will use. */
static void
parse_url(struct load_target *t, const char *url)
{
	bool tls = strncmp(url, "wss://", 6) == 0;
	const char *auth = url + (tls ? 6 : 5), *path;
	char host[256], port[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV }, *res;
	size_t alen;
	long long port_n;
	int rc;

	if (!tls && strncmp(url, "ws://", 5) != 0)
		bad_usage("URL: '%s' must start with ws:// or wss://", url);
	path = strchr(auth, '/');
	alen = path ? (size_t)(path - auth) : strlen(auth);
	split_authority(auth, alen, host, sizeof(host), port, sizeof(port),
	    tls ? "443" : "80");
	if ((rc = flagval_int(port, 1, 65535, &port_n)) != FLAGVAL_OK)
		bad_usage("URL: port '%s': %s; expected an integer from 1 to "
		    "65535", port, flagval_strerror(rc));
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		bad_usage("URL: host '%s': %s (%s)", host, rc == EAI_NONAME ?
		    "not an IP address, nor a host name that resolves" :
		    "the host name could not be resolved", gai_strerror(rc));
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	t->addrlen = res->ai_addrlen;
	t->port = (uint16_t)port_n;
	freeaddrinfo(res);
	if (alen >= sizeof(t->host) ||
	    strlen(path ? path : "/") >= sizeof(t->path))
		bad_usage("URL: too long");
	snprintf(t->host, sizeof(t->host), "%.*s", (int)alen, auth);
	snprintf(t->path, sizeof(t->path), "%s", path ? path : "/");
	snprintf(t->name, sizeof(t->name), "%s", host);
	t->tls = tls;
	t->url = url;
}

static const char *const mode_names[] = {
	[MODE_BROADCAST] = "broadcast",
	[MODE_CONNECT] = "connect",
	[MODE_SWEEP] = "sweep",
};

/* Mode enum -> its name on the command line. */
const char *
opts_mode_name(enum load_mode mode)
{
	return mode_names[mode];
}

/* The first positional argument. */
static enum load_mode
parse_mode(const char *s)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (enum load_mode)i;
	bad_usage("MODE: '%s' must be broadcast, connect or sweep", s);
}

/* Every field at its documented default. */
static void
set_defaults(struct load_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->conns = DEF_CONNS;
	cfg->senders = DEF_SENDERS;
	cfg->rate = DEF_RATE;
	cfg->bytes = DEF_BYTES;
	cfg->duration_s = DEF_DURATION_S;
	cfg->threads = DEF_THREADS;
	cfg->inflight = DEF_INFLIGHT;
	cfg->drain_ms = UINT32_MAX;  /* by mode, below */
	cfg->steps = DEF_SWEEP_STEPS;
	cfg->kind = PAYLOAD_TEXT;
	cfg->plan.rooms = 1;
}

/*
 * Rooms and paths.  With --room or --rooms each connection asks for
 * /ws/NAME, so a URL must not name a room too: that is an error rather
 * than one silently winning.  Without them every URL's path is used as
 * given, and it must be the same on all URLs, since all connections are
 * then counted as one room.
 */
static void
check_rooms(const struct load_config *cfg)
{
	const struct plan *p = &cfg->plan;
	const char *flag = p->room != NULL ? "--room" : "--rooms";
	char last[PLAN_ROOM_NAME_MAX + 1];

	if (p->room != NULL && !plan_room_name_ok(p->room))
		bad_usage("invalid --room '%s': expected 1 to %d bytes of "
		    "A-Z a-z 0-9 . _ -", p->room, PLAN_ROOM_NAME_MAX);
	if (p->room != NULL && plan_room_name(p, p->rooms - 1, last) < 0)
		bad_usage("--room '%s' with --rooms %u: the room names "
		    "('%s-%u') would be longer than %d bytes", p->room,
		    p->rooms, p->room, p->rooms - 1, PLAN_ROOM_NAME_MAX);
	for (uint32_t u = 0; u < p->urls; u++) {
		const char *path = cfg->urls[u].path, *url = cfg->urls[u].url;

		if (!plan_names_rooms(p)) {
			if (strcmp(path, cfg->urls[0].path) != 0)
				bad_usage("URL: '%s' and '%s' have different "
				    "paths; all URLs must join the same room "
				    "(or give --room or --rooms)",
				    cfg->urls[0].url, url);
		} else if (strncmp(path, "/ws/", 4) == 0)
			bad_usage("URL: '%s' names the room '%s', and so does "
			    "%s; give the room in the URL or with %s, not "
			    "both", url, path + 4, flag, flag);
		else if (strcmp(path, "/ws") != 0 && strcmp(path, "/") != 0)
			bad_usage("URL: '%s': with %s the path must be /ws or "
			    "empty (connections join /ws/NAME), not '%s'", url,
			    flag, path);
	}
}

/*
 * --room-sizes: the layout it gives, which also sets -c and names the
 * rooms as --rooms does; with --rooms, or another -c, it is an error.
 */
static void
check_room_sizes(struct load_config *cfg, bool conns_given, bool rooms_given)
{
	const char *text = cfg->room_sizes;
	int rc;

	if (text == NULL)
		return;
	if (rooms_given)
		bad_usage("--rooms with --room-sizes '%s': both give the rooms; "
		    "give one", text);
	if ((rc = plan_sizes_parse(&cfg->plan, text, MAX_CONNS)) < 0)
		bad_usage("invalid --room-sizes '%s': %s; expected SIZExCOUNT"
		    "[,SIZExCOUNT...] (COUNT rooms of SIZE connections), SIZE "
		    "and COUNT from 1 to %d, at most %d sizes and %d "
		    "connections in all", text, plan_sizes_strerror(rc),
		    MAX_CONNS, PLAN_SIZES_MAX, MAX_CONNS);
	if (conns_given && cfg->conns != cfg->plan.conns)
		bad_usage("-c/--connections: %u, but --room-sizes '%s' holds %u "
		    "connections; give that number or leave -c out",
		    cfg->conns, text, cfg->plan.conns);
	cfg->conns = cfg->plan.conns;
	cfg->plan.numbered = true;
}

/* The flags that interact, checked once all are known. */
static void
check_combined(struct load_config *cfg, bool senders_given)
{
	cfg->plan.conns = cfg->conns;
	if (cfg->plan.rooms > cfg->conns)
		bad_usage("--rooms: %u must be from 1 to -c (%u): each room "
		    "needs a connection", cfg->plan.rooms, cfg->conns);
	if (cfg->plan.urls > cfg->conns)
		bad_usage("-c/--connections: %u is fewer than the %u URLs: "
		    "each URL needs a connection", cfg->conns, cfg->plan.urls);
	check_rooms(cfg);
	if (cfg->mode == MODE_CONNECT)
		cfg->senders = cfg->plan.rooms;  /* one message per room */
	else if (!senders_given) {
		if (cfg->senders < cfg->plan.rooms)
			cfg->senders = cfg->plan.rooms;
		if (cfg->senders > cfg->conns)
			cfg->senders = cfg->conns;
	}
	if (cfg->senders > cfg->conns)
		bad_usage("-s/--senders: %u must be from 1 to -c (%u)",
		    cfg->senders, cfg->conns);
	if (cfg->server_pid != 0 && kill(cfg->server_pid, 0) < 0 &&
	    errno == ESRCH)
		bad_usage("invalid --server-pid '%d': no such process; expected "
		    "the process id of the server under test",
		    (int)cfg->server_pid);
	if (cfg->split_lines && cfg->kind == PAYLOAD_BINARY)
		bad_usage("--split-lines with --binary: only text frames are "
		    "split, and a binary payload may hold a '\\n' byte; use "
		    "--text");
	if (cfg->bytes < payload_min_len(cfg->kind))
		bad_usage("-b/--bytes: %u must be from %zu to %d for %s "
		    "messages", cfg->bytes, payload_min_len(cfg->kind),
		    MAX_BYTES, cfg->kind == PAYLOAD_TEXT ? "text" : "binary");
	if (cfg->drain_ms == UINT32_MAX)
		cfg->drain_ms = cfg->mode == MODE_CONNECT ?
		    DEF_CONNECT_DRAIN_MS : DEF_DRAIN_MS;
	if (cfg->threads > cfg->conns)
		cfg->threads = cfg->conns;
	cfg->progress = !cfg->quiet && isatty(STDERR_FILENO);
	if (cfg->senders < cfg->plan.rooms && !cfg->quiet)
		warnx("-s %u is fewer than --rooms %u: %u room%s get%s no "
		    "sender, so no message", cfg->senders, cfg->plan.rooms,
		    cfg->plan.rooms - cfg->senders,
		    cfg->plan.rooms - cfg->senders == 1 ? "" : "s",
		    cfg->plan.rooms - cfg->senders == 1 ? "s" : "");
}

/* --source ADDR or FIRST-LAST, its syntax; check_source does the rest. */
static void
set_source(struct load_config *cfg, const char *arg)
{
	int rc = source_parse(arg, &cfg->source);

	if (rc != SOURCE_OK)
		bad_usage("invalid --source '%s': %s; expected an address of "
		    "this host, or a range of at most %d IPv4 addresses such "
		    "as 127.0.0.1-127.0.0.8", arg, source_strerror(rc),
		    SOURCE_MAX);
	cfg->source_arg = arg;
}

/* "IPv4" or "IPv6". */
static const char *
family_name(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? "IPv4" : "IPv6";
}

/*
 * --source against the URLs and the host: every URL of the same family,
 * every address one this host can bind (a typo would otherwise fail each
 * connection with the EADDRNOTAVAIL that means "out of ports").
 */
static void
check_source(const struct load_config *cfg)
{
	const struct source_range *r = &cfg->source;
	char addr[INET6_ADDRSTRLEN];
	int fd, rc;

	for (uint32_t u = 0; u < cfg->plan.urls && r->n > 0; u++)
		if (cfg->urls[u].addr.ss_family != r->first.ss_family)
			bad_usage("invalid --source '%s': the URL '%s' is %s, "
			    "the source addresses %s; expected addresses of "
			    "the URLs' family", cfg->source_arg,
			    cfg->urls[u].url, family_name(&cfg->urls[u].addr),
			    family_name(&r->first));
	for (uint32_t i = 0; i < r->n; i++) {
		if ((fd = socket(r->first.ss_family, SOCK_STREAM |
		    SOCK_CLOEXEC, 0)) < 0)
			err(1, "socket");
		rc = source_bind(fd, r, i);
		close(fd);
		if (rc < 0)
			bad_usage("invalid --source '%s': cannot bind to %s "
			    "(%s); expected addresses of this host",
			    cfg->source_arg, source_name(r, i, addr,
			    sizeof(addr)), strerror(-rc));
	}
}

/* Handles one flag that is not an integer. */
static void
set_flag(struct load_config *cfg, int opt, char **argv)
{
	switch (opt) {
	case OPT_TEXT:
		cfg->kind = PAYLOAD_TEXT;
		break;
	case OPT_BINARY:
		cfg->kind = PAYLOAD_BINARY;
		break;
	case OPT_SPLIT_LINES:
		cfg->split_lines = true;
		break;
	case OPT_JSON:
		cfg->json = true;
		break;
	case OPT_ALLOW_CLOSED:
		cfg->allow_closed = true;
		break;
	case OPT_ALLOW_SKIPPED:
		cfg->allow_skipped = true;
		break;
	case OPT_ROOM:
		cfg->plan.room = optarg;
		break;
	case OPT_ROOM_SIZES:
		cfg->room_sizes = optarg;
		break;
	case OPT_CA:
		cfg->ca_file = optarg;
		break;
	case OPT_INSECURE:
		cfg->insecure = true;
		break;
	case OPT_SOURCE:
		set_source(cfg, optarg);
		break;
	case 'q':
		cfg->quiet = true;
		break;
	case 'h':
		usage(stdout);
		exit(0);
	case 'V':
		printf("wshub-load %s\n", WSHUB_VERSION);
		exit(0);
	case ':':
		bad_usage("%s needs a value", argv[optind - 1]);
	default:
		if (optopt != 0)
			bad_usage("unknown flag '-%c'", optopt);
		bad_usage("unknown flag '%s'", argv[optind - 1]);
	}
}

/*
 * wss:// URLs: the credentials their handshakes share (tls.h), built now
 * so that a --ca file that cannot be used is a usage error, before any
 * connection.  A --ca without wss:// URLs is still checked.
 */
static void
setup_tls(struct load_config *cfg)
{
	bool any = cfg->ca_file != NULL;
	char err[256];

	if (cfg->insecure && cfg->ca_file != NULL)
		bad_usage("--insecure with --ca '%s': --ca checks the server's "
		    "certificate against FILE, --insecure does not check it; "
		    "give one", cfg->ca_file);
	for (uint32_t u = 0; u < cfg->plan.urls; u++)
		any |= cfg->urls[u].tls;
	if (any && tls_client_new(&cfg->tls, cfg->insecure ? TLS_VERIFY_NONE :
	    TLS_VERIFY_SYSTEM, cfg->ca_file, err, sizeof(err)) < 0) {
		if (cfg->ca_file != NULL)
			bad_usage("invalid --ca '%s': %s; expected a file of "
			    "PEM certificates", cfg->ca_file, err);
		bad_usage("wss://: %s", err);
	}
}

/* Flags, then MODE and the URLs, then the checks that combine them. */
void
opts_parse(int argc, char **argv, struct load_config *cfg)
{
	bool senders_given = false;
	bool conns_given = false, rooms_given = false;  /* --room-sizes */
	int opt, nurls;

	set_defaults(cfg);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:s:r:b:d:t:qhV", longopts,
	    NULL)) != -1) {
		senders_given |= opt == 's';
		conns_given |= opt == 'c';
		rooms_given |= opt == OPT_ROOMS;
		cfg->plan.numbered |= opt == OPT_ROOMS;
		if (!set_number(cfg, opt, optarg))
			set_flag(cfg, opt, argv);
	}
	if (argc - optind < 2)
		bad_usage("expected MODE and URL, got %d argument%s",
		    argc - optind, argc - optind == 1 ? "" : "s");
	if ((nurls = argc - optind - 1) > PLAN_URLS_MAX)
		bad_usage("URL: %d URLs given; at most %d", nurls,
		    PLAN_URLS_MAX);
	cfg->mode = parse_mode(argv[optind]);
	cfg->plan.urls = (uint32_t)nurls;
	for (int u = 0; u < nurls; u++)
		parse_url(&cfg->urls[u], argv[optind + 1 + u]);
	check_room_sizes(cfg, conns_given, rooms_given);
	check_combined(cfg, senders_given);
	check_source(cfg);
	setup_tls(cfg);
}

/* What opts_parse built besides the plain fields. */
void
opts_free(struct load_config *cfg)
{
	tls_client_free(cfg->tls);
	cfg->tls = NULL;
}
