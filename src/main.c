/*
 * wshub — the command line: flags, logging level, signals, then the server.
 *
 * Signals are handled in one place: main blocks SIGINT, SIGTERM, SIGQUIT
 * and SIGUSR1 before any thread exists (new threads inherit the mask), and
 * one signal thread takes them with sigwait(3).  The first SIGINT/SIGTERM
 * asks the server to shut down gracefully; a second one exits at once.
 * SIGQUIT prints every thread on stderr and the server goes on.  SIGHUP
 * is a reload, what a service manager sends for one: the certificate and
 * key with TLS, nothing (a log line) without; it never ends the server,
 * so a wshub run in a terminal that closes goes on, as under nohup(1)
 * (stop it with SIGINT or SIGTERM).  SIGUSR1 is
 * how main tells the signal thread to finish (after setting signals_done,
 * so a SIGUSR1 from outside is ignored).  SIGPIPE is ignored, process-wide:
 * every write of wshub's uses MSG_NOSIGNAL (to clients, GnuTLS's push, to
 * Redis), and a kill -PIPE, or a library that one day writes with
 * write(2), must be an EPIPE at most, not the end of the server.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wshub/bridge.h"
#include "wshub/config.h"
#include "wshub/flagval.h"
#include "wshub/listenfds.h"
#include "wshub/futex_hash.h"
#include "wshub/log.h"
#include "wshub/server.h"
#include "wshub/threads.h"
#include "wshub/tls.h"
#include "wshub/version.h"
#include "wshub/xmalloc.h"

#define EXIT_USAGE 2
#define MS_PER_DAY (86400LL * 1000)

static bool addr_or_port_given; /* parse_flags: --addr or --port */
static bool redis_retry;        /* parse_flags: --redis-retry */

enum long_only_flag {
	OPT_ADDR = 256, OPT_PORT, OPT_ORIGIN, OPT_ANY_ORIGIN, OPT_MAX_CLIENTS,
	OPT_MAX_MESSAGE, OPT_SEND_QUEUE, OPT_PING_INTERVAL, OPT_PONG_TIMEOUT,
	OPT_WRITE_TIMEOUT, OPT_HANDSHAKE_TIMEOUT, OPT_SHUTDOWN_TIMEOUT,
	OPT_THREAD_STACK, OPT_MAX_ROOMS, OPT_DEBUG_ENDPOINTS, OPT_REDIS,
	OPT_REDIS_PREFIX, OPT_SEND_QUEUE_BYTES, OPT_LOG_TIME,
	OPT_REDIS_PASSWORD_FILE, OPT_REDIS_RETRY, OPT_ALLOW_HOST,
	OPT_FUTEX_HASH_SLOTS,
	OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_PRIORITY,
};

/* How --help shows a flag's default: not at all, a string, an integer, or
 * milliseconds in seconds. */
enum flag_default { NO_DEFAULT, DEFAULT_TEXT, DEFAULT_INT, DEFAULT_SECONDS };

#define STR(x) STR_(x)
#define STR_(x) #x

/*
 * Every flag, once: getopt_long's table and --help are made from it, and
 * scripts/doc-facts.py reads it (the names, and each default's define).
 * help is --help's text, lines apart by '\n', with "%s" for the default
 * (a printf format: no other '%'); min and max bound an integer flag, or a
 * seconds flag (DEFAULT_SECONDS) in ms.
 */
static const struct flag {
	const char *name;
	int id;                /* what getopt_long returns: the short flag or OPT_ */
	const char *arg;       /* the value's name; NULL: the flag takes none */
	const char *help;
	enum flag_default def;
	const char *text;      /* DEFAULT_TEXT's default */
	long long num;         /* DEFAULT_INT's, DEFAULT_SECONDS's (ms) */
	long long min, max;
} flags[] = {
	{ "addr", OPT_ADDR, "HOST",
	  .help = "listen address: a host name, or an IPv4 or IPv6\n"
	          "address, brackets optional ([::1]); no port\n"
	          "(default %s: loopback, so nothing is\n"
	          "exposed by accident)",
	  .def = DEFAULT_TEXT, .text = DEFAULT_ADDR },
	{ "port", OPT_PORT, "N",
	  .help = "TCP port, 0 picks a free one (default %s)",
	  .def = DEFAULT_INT, .num = DEFAULT_PORT, .min = 0, .max = 65535 },
	{ "origin", OPT_ORIGIN, "PATTERN",
	  .help = "allow browser Origins whose host[:port] matches\n"
	          "this glob; repeatable (default: same host as Host)" },
	{ "any-origin", OPT_ANY_ORIGIN, NULL,
	  .help = "allow every Origin (trusted networks only)" },
	{ "allow-host", OPT_ALLOW_HOST, "NAME",
	  .help = "also answer a Host of NAME (a glob, any port);\n"
	          "repeatable.  On the loopback, only localhost and\n"
	          "loopback addresses are answered otherwise (403:\n"
	          "DNS rebinding); off it, any Host until this is\n"
	          "given.  /debug/ is never served to these names" },
	{ "redis", OPT_REDIS, "URL",
	  .help = "join other wshub processes through Redis pub/sub:\n"
	          "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]; each\n"
	          "message also goes to the room's clients on every\n"
	          "hub, at most once (none: this hub alone)" },
	{ "redis-password-file", OPT_REDIS_PASSWORD_FILE, "FILE",
	  .help = "the Redis password is FILE's one line,\n"
	          "out of sight of ps, unlike a password in the\n"
	          "URL; without either, $REDISCLI_AUTH if set" },
	{ "redis-retry", OPT_REDIS_RETRY, NULL,
	  .help = "start even if --redis names a host that does not\n"
	          "exist or Redis refuses its password or database,\n"
	          "and keep trying (default: exit 2 at start; a\n"
	          "Redis that is merely down is retried either way)" },
	{ "redis-prefix", OPT_REDIS_PREFIX, "P",
	  .help = "channels are P:ROOM (default \"%s\")",
	  .def = DEFAULT_TEXT, .text = REDIS_PREFIX },
	{ "tls-cert", OPT_TLS_CERT, "FILE",
	  .help = "serve every route over TLS (https://, wss://):\n"
	          "the certificate chain, PEM, the server's first;\n"
	          "needs --tls-key.  SIGHUP reloads both files\n"
	          "(default: none, plain TCP)" },
	{ "tls-key", OPT_TLS_KEY, "FILE",
	  .help = "the certificate's private key, PEM, unencrypted" },
	{ "tls-priority", OPT_TLS_PRIORITY, "STRING",
	  .help = "GnuTLS priority string: versions and ciphers,\n"
	          "TLS 1.2 and 1.3 only (default\n"
	          "%s)",
	  .def = DEFAULT_TEXT, .text = TLS_DEFAULT_PRIORITY },
	{ "debug-endpoints", OPT_DEBUG_ENDPOINTS, NULL,
	  .help = "serve GET /debug/threads (a dump of every thread)\n"
	          "off the loopback too; on 127.0.0.1 or ::1 it is\n"
	          "always on; only for a Host of localhost or an\n"
	          "address.  SIGQUIT prints the dump on stderr" },
	{ "max-clients", OPT_MAX_CLIENTS, "N",
	  .help = "refuse upgrades beyond N live clients with 503\n"
	          "(default %s: no limit but the machine's)",
	  .def = DEFAULT_INT, .num = MAX_CLIENTS, .min = 0, .max = 1000000 },
	{ "max-rooms", OPT_MAX_ROOMS, "N",
	  .help = "refuse a join that would open room N+1 with 503\n"
	          "(default %s)",
	  .def = DEFAULT_INT, .num = MAX_ROOMS, .min = 1, .max = 1000000 },
	{ "max-message", OPT_MAX_MESSAGE, "BYTES",
	  .help = "largest message; bigger closes with 1009\n"
	          "(default %s)",
	  .def = DEFAULT_INT, .num = MAX_MESSAGE_BYTES,
	  .min = 1, .max = MAX_MESSAGE_LIMIT },
	{ "send-queue", OPT_SEND_QUEUE, "N",
	  .help = "messages that may wait for a client that stopped\n"
	          "reading: more than N while its writer is blocked\n"
	          "for half the write timeout and it is dropped with\n"
	          "1008; at " STR(SEND_QUEUE_FACTOR) " N (at least "
	          STR(SEND_QUEUE_MIN) ") it is dropped at once\n"
	          "(default %s)",
	  .def = DEFAULT_INT, .num = SEND_QUEUE_SOFT, .min = 1, .max = 65536 },
	{ "send-queue-bytes", OPT_SEND_QUEUE_BYTES, "BYTES",
	  .help = "the most a client's queue may hold: one whose\n"
	          "waiting messages would pass it is dropped with\n"
	          "1008 at once (default %s: what a client that\n"
	          "stops reading may pin)",
	  .def = DEFAULT_INT, .num = SEND_QUEUE_BYTES,
	  .min = 1024, .max = 1LL << 32 },
	{ "ping-interval", OPT_PING_INTERVAL, "SEC",
	  .help = "ping every client this often (default %s:\n"
	          "9/10 of the pong timeout, so pongs arrive in time)",
	  .def = DEFAULT_SECONDS, .num = PING_INTERVAL_MS,
	  .min = 10, .max = MS_PER_DAY },
	{ "pong-timeout", OPT_PONG_TIMEOUT, "SEC",
	  .help = "drop a client silent this long (default %s)",
	  .def = DEFAULT_SECONDS, .num = PONG_TIMEOUT_MS,
	  .min = 10, .max = MS_PER_DAY },
	{ "write-timeout", OPT_WRITE_TIMEOUT, "SEC",
	  .help = "drop a client that takes longer to accept a\n"
	          "write (default %s)",
	  .def = DEFAULT_SECONDS, .num = WRITE_TIMEOUT_MS,
	  .min = 10, .max = MS_PER_DAY },
	{ "handshake-timeout", OPT_HANDSHAKE_TIMEOUT, "SEC",
	  .help = "close requests unfinished by then (default %s;\n"
	          "stops slowloris)",
	  .def = DEFAULT_SECONDS, .num = HANDSHAKE_TIMEOUT_MS,
	  .min = 10, .max = MS_PER_DAY },
	{ "shutdown-timeout", OPT_SHUTDOWN_TIMEOUT, "SEC",
	  .help = "wait this long for close replies on SIGINT or\n"
	          "SIGTERM, then shut every socket (default %s)",
	  .def = DEFAULT_SECONDS, .num = SHUTDOWN_TIMEOUT_MS,
	  .min = 0, .max = 600000 },
	{ "thread-stack", OPT_THREAD_STACK, "KIB",
	  .help = "stack per connection thread (default %s: two per\n"
	          "client, thousands of clients)",
	  .def = DEFAULT_INT, .num = THREAD_STACK_KIB,
	  .min = 16, .max = 65536 },
	{ "futex-hash-slots", OPT_FUTEX_HASH_SLOTS, "N",
	  .help = "size of the kernel's futex hash, where waiting\n"
	          "threads park (Linux 6.16 and later): auto sizes\n"
	          "it for --max-clients (0: the limits' ceiling),\n"
	          "0 leaves the kernel's default, N a power of two\n"
	          "(default auto; -v prints the slots)" },
	{ "verbose", 'v', NULL,
	  .help = "also log each data message received (type, size)" },
	{ "quiet", 'q', NULL, .help = "log warnings and errors only" },
	{ "log-time", OPT_LOG_TIME, "on|off",
	  .help = "start each log line with its time, RFC 3339 in\n"
	          "UTC with milliseconds (default on; off when\n"
	          "stderr is the journal, which stamps its own)" },
	{ "help", 'h', NULL, .help = "this text" },
	{ "version", 'V', NULL, .help = "print the version" },
};
#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

/* getopt_long's tables, made from flags[]: opts (N_FLAGS + 1 entries) and
 * the short flags, after a ':' that asks for ':' on a missing value. */
static void
getopt_tables(struct option *opts, char *shorts)
{
	*shorts++ = ':';
	for (size_t i = 0; i < N_FLAGS; i++) {
		opts[i] = (struct option){ flags[i].name, flags[i].arg != NULL ?
		    required_argument : no_argument, NULL, flags[i].id };
		if (flags[i].id < OPT_ADDR)
			*shorts++ = (char)flags[i].id;
	}
	opts[N_FLAGS] = (struct option){ 0 };
	*shorts = '\0';
}

/* What a number's row accepts, "from MIN to MAX" (in seconds for a
 * DEFAULT_SECONDS row), or "" for a row without a range: --help and the
 * message for a bad value say the same. */
static void
flag_range(const struct flag *f, char *buf, size_t len)
{
	if (f->max <= f->min)
		buf[0] = '\0';
	else if (f->def == DEFAULT_SECONDS)
		snprintf(buf, len, "from %g to %g", f->min / 1000.0,
		    f->max / 1000.0);
	else
		snprintf(buf, len, "from %lld to %lld", f->min, f->max);
}

/* One flag's lines of --help: its name and value in the first 25
 * columns, the help beside it, then the values it takes. */
static void
flag_help(FILE *out, const struct flag *f)
{
	char name[64], dflt[64], text[1024], range[64];
	const char *line, *nl;
	int n, width;

	if (f->id < OPT_ADDR) /* a short flag too */
		n = snprintf(name, sizeof(name), "  -%c, --%s", f->id, f->name);
	else
		n = snprintf(name, sizeof(name), "  --%s", f->name);
	if (f->arg != NULL)
		snprintf(name + n, sizeof(name) - (size_t)n, " %s", f->arg);
	if (f->def == DEFAULT_TEXT)
		snprintf(dflt, sizeof(dflt), "%s", f->text);
	else if (f->def == DEFAULT_SECONDS)
		snprintf(dflt, sizeof(dflt), "%g", f->num / 1000.0);
	else
		snprintf(dflt, sizeof(dflt), "%lld", f->num);
	snprintf(text, sizeof(text), f->help, dflt);
	width = strlen(name) <= 23 ? 25 : (int)strlen(name) + 2;
	for (line = text; line != NULL; line = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		fprintf(out, "%-*s%.*s\n", width, line == text ? name : "",
		    nl != NULL ? (int)(nl - line) : (int)strlen(line), line);
		width = 25;
	}
	flag_range(f, range, sizeof(range));
	if (range[0] != '\0')
		fprintf(out, "%-25s%s %s\n", "", f->arg, range);
}

/* --help: what wshub is, every flag of flags[], what the values mean. */
static void
usage(FILE *out)
{
	fprintf(out,
"usage: wshub [options]\n"
"A WebSocket chat hub: every message a client sends goes to every client\n"
"in its room.  Chat page at http://ADDR:PORT/, WebSocket at /ws (room %s)\n"
"or /ws/ROOM, counters at /stats (JSON) and /metrics (Prometheus text);\n"
"https:// and wss:// with --tls-cert and --tls-key.\n"
"\n", DEFAULT_ROOM);
	for (size_t i = 0; i < N_FLAGS; i++)
		flag_help(out, &flags[i]);
	fputs("\n"
"SEC is seconds with at most 3 decimals (10, 0.25; no exponent, no unit).\n"
"Exit status: 0 after a clean shutdown, 1 if the server cannot start,\n"
"2 for a bad flag (one line on stderr says what is wrong).\n", out);
}

/* One line naming the flag, the value, what is wrong with it and what the
 * flag accepts; then exit status 2. */
static void __attribute__((noreturn))
bad_flag(const char *flag, const char *value, const char *why,
    const char *accepts)
{
	fprintf(stderr, "wshub: invalid %s '%s': %s; expected %s\n", flag,
	    value, why, accepts);
	exit(EXIT_USAGE);
}

/* --redis: a URL the bridge can use.  The value is shown with its
 * password redacted. */
static const char *
redis_flag(const char *value)
{
	struct bridge_url url;
	char why[256], shown[512];

	if (bridge_parse_url(value, &url, why, sizeof(why)) != 0)
		bad_flag("--redis", bridge_redact_url(value, shown, sizeof(shown)),
		    why, "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
	explicit_bzero(&url, sizeof(url));
	return value;
}

/* The Redis password when it is not in the URL (main's lifetime). */
static char password_buf[BRIDGE_PASSWORD_MAX];

/*
 * The Redis password from --redis-password-file (`file`, or NULL) or,
 * failing that, from REDISCLI_AUTH (as redis-cli reads it), unless the
 * URL has one.  A password in the URL and a file is one too many.
 */
static void
redis_password(struct config *cfg, const char *file)
{
	const char *env = getenv("REDISCLI_AUTH");
	struct bridge_url url;
	char why[256];

	if (cfg->redis_url == NULL) {
		if (file != NULL)
			bad_flag("--redis-password-file", file, "there is no "
			    "--redis", "it with --redis URL");
		return;
	}
	bridge_parse_url(cfg->redis_url, &url, why, sizeof(why)); /* checked */
	if (file != NULL && url.password[0] != '\0')
		bad_flag("--redis-password-file", file, "--redis has a password "
		    "too", "one password: in the file, or in the URL");
	if (file != NULL && bridge_read_password_file(file, password_buf,
	    sizeof(password_buf), why, sizeof(why)) != 0)
		bad_flag("--redis-password-file", file, why, "a file whose one "
		    "line is the password (1 to 255 bytes)");
	if (file != NULL)
		cfg->redis_password = password_buf;
	else if (url.password[0] == '\0' && env != NULL && env[0] != '\0') {
		if (strlcpy(password_buf, env, sizeof(password_buf)) >=
		    sizeof(password_buf)) {
			fprintf(stderr, "wshub: invalid REDISCLI_AUTH: longer than "
			    "255 bytes\n");
			exit(EXIT_USAGE);
		}
		cfg->redis_password = password_buf;
	}
	explicit_bzero(&url, sizeof(url));
}

/* --redis-prefix: the start of every channel name, PREFIX:ROOM. */
static const char *
prefix_flag(const char *value)
{
	size_t len = strlen(value);

	if (len == 0 || len > 63 || strpbrk(value, " \t\r\n*?[]") != NULL)
		bad_flag("--redis-prefix", value, len == 0 ? "empty" :
		    len > 63 ? "too long" : "a space or a glob character",
		    "1 to 63 characters without spaces or * ? [ ]");
	return value;
}

/* --allow-host: a host name or address (a glob), without port or scheme. */
static const char *
allow_host_flag(const char *value)
{
	const char *accepts = "a host name, an IP address or a glob such as "
	    "'*.example.org', without a port", *colon = strchr(value, ':');

	if (value[0] == '\0')
		bad_flag("--allow-host", value, "empty", accepts);
	if (strstr(value, "://") != NULL || strchr(value, '/') != NULL)
		bad_flag("--allow-host", value, "a URL, not a host name", accepts);
	if (strpbrk(value, " \t\r\n") != NULL)
		bad_flag("--allow-host", value, "a space", accepts);
	if (strlen(value) > 253)
		bad_flag("--allow-host", value, "too long", accepts);
	if ((value[0] != '[' && colon != NULL && strchr(colon + 1, ':') == NULL)
	    || (value[0] == '[' && strstr(value, "]:") != NULL))
		bad_flag("--allow-host", value, "every port is allowed; give "
		    "the name alone", accepts);
	return value;
}

/* --addr's value once its brackets are gone (main's lifetime). */
static char addr_buf[256];

/*
 * --addr: a host name or an IP address; an IPv6 one may be bracketed, as
 * wshub itself prints it ("[::1]:8080").  The port is --port's business.
 * A value that cannot be an address exits here; one that does not resolve
 * or cannot be bound is reported when the server starts.
 */
static const char *
addr_flag(const char *value)
{
	const char *accepts = "an IP address (IPv6 with or without brackets) "
	    "or a host name, without a port", *rb = strchr(value, ']');
	const char *colon = strchr(value, ':');
	size_t len = strlen(value);

	if (len == 0)
		bad_flag("--addr", value, "empty", accepts);
	if (value[0] != '[') {
		if (rb != NULL)
			bad_flag("--addr", value, "a ']' without a '['", accepts);
		if (colon != NULL && strchr(colon + 1, ':') == NULL)
			bad_flag("--addr", value, "the port goes in --port",
			    accepts);
		return value;
	}
	if (rb == NULL)
		bad_flag("--addr", value, "no ']' after the '['", accepts);
	if (rb[1] == ':')
		bad_flag("--addr", value, "the port goes in --port", accepts);
	if (rb[1] != '\0' || rb == value + 1 || len - 2 >= sizeof(addr_buf))
		bad_flag("--addr", value, rb[1] != '\0' ? "text after the ']'" :
		    rb == value + 1 ? "nothing between the brackets" :
		    "too long", accepts);
	memcpy(addr_buf, value + 1, len - 2);
	addr_buf[len - 2] = '\0';
	return addr_buf;
}

/*
 * The listener systemd handed over (wshub.socket), if any, into cfg: then
 * --addr and --port would do nothing, and are refused.
 */
static void
take_systemd_listener(struct config *cfg)
{
	char why[256];

	cfg->listen_fd = listenfds_take(why, sizeof(why));
	if (cfg->listen_fd == -2) {
		fprintf(stderr, "wshub: socket activation: %s\n", why);
		exit(EXIT_USAGE);
	}
	if (cfg->listen_fd >= 0 && addr_or_port_given) {
		fprintf(stderr, "wshub: --addr and --port do nothing under "
		    "socket activation: the .socket unit's ListenStream= says "
		    "where wshub listens\n");
		exit(EXIT_USAGE);
	}
}

/*
 * --redis, before the server starts: a host that does not exist, or a
 * password or database Redis refuses, is a mistake in the flags that
 * retrying will not mend -- exit 2, unless --redis-retry.  A Redis that
 * is down is an outage: the bridge retries it, and local chat goes on.
 */
static void
check_redis(const struct config *cfg)
{
	struct bridge_config bc = { .url = cfg->redis_url, .prefix =
	    cfg->redis_prefix, .password = cfg->redis_password, .queue_len = 1,
	    .max_message = cfg->max_message };
	char why[512], shown[512];

	if (cfg->redis_url == NULL || redis_retry)
		return;
	if (bridge_probe(&bc, why, sizeof(why)) != BRIDGE_PROBE_REFUSED)
		return;
	fprintf(stderr, "wshub: --redis %s: %s (--redis-retry starts anyway "
	    "and keeps trying)\n", bridge_redact_url(cfg->redis_url, shown,
	    sizeof(shown)), why);
	exit(EXIT_USAGE);
}

/*
 * What the process's limits allow, said once at start: each client is a
 * descriptor, two threads and four mappings, so the smallest of the
 * limits (futex_hash_client_ceiling) caps the clients long before memory
 * does.  A --max-clients above it is a warning that names the limit to
 * raise: past it, upgrades fail (a 503, or no descriptor to accept).
 */
static void
say_ceiling(const struct config *cfg)
{
	struct process_limits l;
	const char *limit;
	long ceiling;

	futex_hash_read_limits(&l);
	if ((ceiling = futex_hash_client_ceiling(&l, &limit)) < 0)
		return;
	if (cfg->max_clients > ceiling)
		log_warn("--max-clients %d is more than this process's limits "
		    "allow, about %ld clients: raise %s (each client costs a "
		    "descriptor, two threads and four mappings)",
		    cfg->max_clients, ceiling, limit);
	else
		log_info("the limits allow about %ld clients (%s binds first)",
		    ceiling, limit);
}

/* A flag that is on or off. */
static bool
on_off_flag(const char *flag, const char *value)
{
	if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
		bad_flag(flag, value, "neither on nor off", "on or off");
	return strcmp(value, "on") == 0;
}

/* Flags that contradict each other, or that would do nothing: one line
 * saying which and why, exit status 2. */
static void
refuse_contradictions(const struct config *cfg, bool prefix_set)
{
	const char *why = NULL;

	if (cfg->any_origin && cfg->n_origins > 0)
		why = "--any-origin --origin: the --origin patterns do nothing "
		    "when every Origin is allowed; give one or the other";
	else if (prefix_set && cfg->redis_url == NULL)
		why = "--redis-prefix does nothing without --redis";
	else if (redis_retry && cfg->redis_url == NULL)
		why = "--redis-retry does nothing without --redis";
	if (why == NULL)
		return;
	fprintf(stderr, "wshub: %s\n", why);
	exit(EXIT_USAGE);
}

/* --futex-hash-slots: auto, 0 (the kernel's default) or a power of two
 * (futex_hash.h). */
static long futex_slots = FUTEX_HASH_AUTO;

static long
futex_slots_flag(const char *value)
{
	const char *accepts = "auto, 0 (the kernel's default) or a power of "
	    "two from 2 to " STR(FUTEX_HASH_FLAG_MAX);
	long long n;
	int rc;

	if (strcmp(value, "auto") == 0)
		return FUTEX_HASH_AUTO;
	if ((rc = flagval_int(value, 0, FUTEX_HASH_FLAG_MAX, &n)) != FLAGVAL_OK)
		bad_flag("--futex-hash-slots", value, flagval_strerror(rc),
		    accepts);
	if (n == 1 || (n & (n - 1)) != 0)
		bad_flag("--futex-hash-slots", value, n == 1 ? "the kernel "
		    "takes 2 or more" : "not a power of two",
		    accepts);
	return (long)n;
}

/* --tls-cert and --tls-key: both, or neither (and then no --tls-priority);
 * true for both. */
static bool
tls_pair_given(const struct config *cfg)
{
	if (cfg->tls_cert == NULL && cfg->tls_key == NULL) {
		if (cfg->tls_priority != NULL)
			bad_flag("--tls-priority", cfg->tls_priority,
			    "TLS is off", "it with --tls-cert and --tls-key");
		return false;
	}
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL)
		bad_flag(cfg->tls_cert ? "--tls-cert" : "--tls-key",
		    cfg->tls_cert ? cfg->tls_cert : cfg->tls_key,
		    "given alone", cfg->tls_cert ? "--tls-key FILE too" :
		    "--tls-cert FILE too");
	return true;
}

/*
 * --tls-cert, --tls-key, --tls-priority: loads the pair and the priority
 * string into cfg->tls, or exits 2 naming the flag at fault, before
 * anything listens.
 */
static void
tls_flags(struct config *cfg)
{
	char why[512];
	const char *flag, *value, *accepts;

	if (!tls_pair_given(cfg))
		return;
	switch (tls_context_new(&cfg->tls, cfg->tls_cert, cfg->tls_key,
	    cfg->tls_priority, why, sizeof(why))) {
	case TLS_OK:
		return;
	case TLS_ERR_LIBRARY: /* no value of the flag's is wrong */
		fprintf(stderr, "wshub: --tls-cert: %s\n", why);
		exit(EXIT_USAGE);
	case TLS_ERR_CERT:
		flag = "--tls-cert", value = cfg->tls_cert;
		accepts = "a readable PEM certificate chain, the server's first";
		break;
	case TLS_ERR_KEY:
		flag = "--tls-key", value = cfg->tls_key;
		accepts = "a readable, unencrypted PEM private key";
		break;
	case TLS_ERR_MISMATCH:
		flag = "--tls-key", value = cfg->tls_key;
		accepts = "the private key of --tls-cert's certificate";
		break;
	default:
		flag = "--tls-priority", value = cfg->tls_priority;
		accepts = "a GnuTLS priority string with TLS 1.2 or 1.3 only, "
		    "such as the default " TLS_DEFAULT_PRIORITY;
		break;
	}
	bad_flag(flag, value != NULL ? value : TLS_DEFAULT_PRIORITY, why,
	    accepts);
}

/* What parse_flags learns beside cfg, for the checks after the loop. */
struct flags_seen {
	const char *password_file; /* --redis-password-file, or NULL */
	bool ping_set, prefix_set;
};

/* The row of flags[] for what getopt_long returned. */
static const struct flag *
flag_by_id(int id)
{
	for (size_t i = 0; i < N_FLAGS; i++)
		if (flags[i].id == id)
			return &flags[i];
	abort(); /* every id getopt_long returns is a row's */
}

/* An integer flag, or a seconds flag (DEFAULT_SECONDS: up to three
 * decimals, "10", "0.25", in ms), in its row's [min, max]. */
static long long
number_flag(int id, const char *value)
{
	const struct flag *f = flag_by_id(id);
	char flag[40], range[64], accepts[128];
	long long n;
	int64_t ms;
	int rc;

	flag_range(f, range, sizeof(range));
	if (f->def != DEFAULT_SECONDS) {
		if ((rc = flagval_int(value, f->min, f->max, &n)) == FLAGVAL_OK)
			return n;
		snprintf(accepts, sizeof(accepts), "an integer %s", range);
	} else {
		if ((rc = flagval_seconds(value, f->min, f->max, &ms)) ==
		    FLAGVAL_OK)
			return ms;
		snprintf(accepts, sizeof(accepts), "seconds %s, at most %d "
		    "decimals", range, FLAGVAL_MS_DECIMALS);
	}
	snprintf(flag, sizeof(flag), "--%s", f->name);
	bad_flag(flag, value, flagval_strerror(rc), accepts);
}

/* A repeatable flag's value, appended to its list. */
static void
append(const char ***list, size_t *n, const char *value)
{
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = value;
}

/* The limits and timeouts: true if `id` is one of them, now in cfg. */
static bool
set_limit_flag(int id, const char *v, struct config *cfg)
{
	switch (id) {
	case OPT_MAX_CLIENTS: cfg->max_clients = (int)number_flag(id, v); break;
	case OPT_MAX_ROOMS: cfg->max_rooms = (int)number_flag(id, v); break;
	case OPT_MAX_MESSAGE: cfg->max_message = (size_t)number_flag(id, v); break;
	case OPT_SEND_QUEUE: cfg->send_queue = (size_t)number_flag(id, v); break;
	case OPT_SEND_QUEUE_BYTES: cfg->send_queue_bytes = (size_t)number_flag(id, v); break;
	case OPT_THREAD_STACK: cfg->thread_stack_kib = (size_t)number_flag(id, v); break;
	case OPT_PING_INTERVAL: cfg->ping_interval_ms = number_flag(id, v); break;
	case OPT_PONG_TIMEOUT: cfg->pong_timeout_ms = number_flag(id, v); break;
	case OPT_WRITE_TIMEOUT: cfg->write_timeout_ms = number_flag(id, v); break;
	case OPT_HANDSHAKE_TIMEOUT: cfg->handshake_timeout_ms = number_flag(id, v); break;
	case OPT_SHUTDOWN_TIMEOUT: cfg->shutdown_timeout_ms = number_flag(id, v); break;
	default: return false;
	}
	return true;
}

/* Every other flag into cfg (or seen, or the globals); exits on --help,
 * --version, and an unknown flag or a missing value (id ':' or '?'). */
static void
set_flag(int id, const char *v, struct config *cfg, struct flags_seen *seen,
    const char *arg)
{
	switch (id) {
	case OPT_ADDR: cfg->addr = addr_flag(v); addr_or_port_given = true; break;
	case OPT_PORT: cfg->port = (uint16_t)number_flag(id, v); addr_or_port_given = true; break;
	case OPT_ORIGIN: append(&cfg->origins, &cfg->n_origins, v); break;
	case OPT_ANY_ORIGIN: cfg->any_origin = true; break;
	case OPT_ALLOW_HOST: append(&cfg->allow_hosts, &cfg->n_allow_hosts, allow_host_flag(v)); break;
	case OPT_DEBUG_ENDPOINTS: cfg->debug_endpoints = true; break;
	case OPT_REDIS: cfg->redis_url = redis_flag(v); break;
	case OPT_REDIS_PREFIX: cfg->redis_prefix = prefix_flag(v); seen->prefix_set = true; break;
	case OPT_REDIS_PASSWORD_FILE: seen->password_file = v; break;
	case OPT_REDIS_RETRY: redis_retry = true; break;
	case OPT_TLS_CERT: cfg->tls_cert = v; break;
	case OPT_TLS_KEY: cfg->tls_key = v; break;
	case OPT_TLS_PRIORITY: cfg->tls_priority = v; break;
	case OPT_LOG_TIME: log_set_time(on_off_flag("--log-time", v)); break;
	case OPT_FUTEX_HASH_SLOTS: futex_slots = futex_slots_flag(v); break;
	case 'v': log_set_level(LOG_DEBUG); break;
	case 'q': log_set_level(LOG_ERROR); break;
	case 'h': usage(stdout); exit(0);
	case 'V': printf("wshub %s\n", WSHUB_VERSION); exit(0);
	default: /* ':' missing value, '?' unknown flag */
		fprintf(stderr, "wshub: %s flag '%s' (see wshub --help)\n",
		    id == ':' ? "missing value for" : "unknown", arg);
		exit(EXIT_USAGE);
	}
}

/* Parses argv into cfg; exits on --help, --version and bad flags. */
static void
parse_flags(int argc, char **argv, struct config *cfg)
{
	struct option opts[N_FLAGS + 1];
	char shorts[2 * N_FLAGS + 2];
	struct flags_seen seen = { 0 };
	int id;

	getopt_tables(opts, shorts);
	opterr = 0; /* we print our own one-line message */
	while ((id = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if (!set_limit_flag(id, optarg, cfg))
			set_flag(id, optarg, cfg, &seen, argv[optind - 1]);
		else if (id == OPT_PING_INTERVAL)
			seen.ping_set = true;
	}
	refuse_contradictions(cfg, seen.prefix_set);
	if (optind < argc) {
		fprintf(stderr, "wshub: unexpected argument '%s'\n", argv[optind]);
		exit(EXIT_USAGE);
	}
	redis_password(cfg, seen.password_file);
	if (!seen.ping_set) /* keep Gorilla's ratio when only the pong wait moved */
		cfg->ping_interval_ms = cfg->pong_timeout_ms * 9 / 10;
	if (cfg->ping_interval_ms >= cfg->pong_timeout_ms) {
		fprintf(stderr, "wshub: invalid --ping-interval: must be shorter "
		    "than --pong-timeout (%.3f s)\n", cfg->pong_timeout_ms / 1000.0);
		exit(EXIT_USAGE);
	}
	tls_flags(cfg);
}

static atomic_bool signals_done; /* main: the signal thread may finish */

/* The signals the signal thread takes: blocked everywhere else. */
static void
handled_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGQUIT); /* the thread dump */
	sigaddset(set, SIGUSR1); /* main's "you may finish" */
	sigaddset(set, SIGHUP);  /* reload: the certificate and key */
}

/*
 * SIGHUP, what a service manager's reload sends: the certificate and key
 * again, from the same files, for new handshakes; connections keep the
 * pair they have.  A pair that does not load is logged and the old one
 * kept.  Nothing else is reloaded: wshub reads no configuration file, and
 * its log is stderr, which it never reopens.  Without TLS it says so and
 * goes on (the default action would end the server).
 */
static void
reload_tls(server_t *s)
{
	struct tls_context *tls = server_config(s)->tls;
	char err[512], what[512];

	if (tls == NULL) {
		log_info("SIGHUP: nothing to reload (no --tls-cert; no "
		    "configuration file, and the log is stderr)");
		return;
	}
	if (tls_context_reload(tls, err, sizeof(err)) != 0) {
		log_error("SIGHUP: kept the old certificate: %s", err);
		return;
	}
	tls_context_describe(tls, what, sizeof(what));
	log_info("SIGHUP: reloaded the certificate: %s", what);
}

/*
 * SIGQUIT: every thread, what it does, and each writer's queue, on stderr.
 * Like Go's goroutine dump, except that the process keeps running.
 */
static void
print_threads(server_t *s)
{
	size_t len;
	char *dump = threads_dump(THREADS_TEXT, server_config(s)->send_queue, &len);

	log_info("SIGQUIT: %zu threads (the server goes on)", threads_count());
	if (write(STDERR_FILENO, dump, len) < 0)
		log_warn("cannot write the thread dump: %s", strerror(errno));
	free(dump);
}

/* The signal thread: the only place signals are taken (see the top). */
static void *
signal_main(void *arg)
{
	server_t *s = arg;
	struct thread_entry self;
	sigset_t set;
	int sig, stops = 0;

	handled_signals(&set);
	threads_enter(&self, ROLE_SIGNAL, 0, NULL, NULL, NULL);
	for (;;) {
		threads_block(TS_SIGWAIT, NULL);
		if (sigwait(&set, &sig) != 0)
			break;
		threads_run();
		if (sig == SIGQUIT) {
			print_threads(s);
			continue;
		}
		if (sig == SIGHUP) {
			reload_tls(s);
			continue;
		}
		if (sig == SIGUSR1) {
			if (atomic_load(&signals_done))
				break;
			continue; /* not from main: ignore it */
		}
		if (stops++ > 0) {
			log_warn("second %s: exiting without waiting",
			    strsignal(sig));
			_exit(1);
		}
		log_info("%s: shutting down", strsignal(sig));
		server_stop(s);
	}
	threads_leave();
	return NULL;
}

/* The server, listening, or exit 1: what it listens on, and with what, in
 * the log. */
static server_t *
listen_or_exit(struct config *cfg)
{
	char err[256], tls[512];
	server_t *s;

	if ((s = server_new(cfg, err, sizeof(err))) == NULL) {
		log_error("cannot listen on --addr '%s' --port %u: %s", cfg->addr,
		    cfg->port, err);
		tls_context_free(cfg->tls);
		exit(1);
	}
	log_always("listening on %s", server_address(s));
	say_ceiling(cfg);
	if (cfg->tls != NULL) {
		tls_context_describe(cfg->tls, tls, sizeof(tls));
		log_info("TLS (https://, wss://): %s", tls);
	}
	return s;
}

/* main's "you may finish" to the signal thread, and its join. */
static void
signal_thread_stop(pthread_t t)
{
	atomic_store(&signals_done, true);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
}

int
main(int argc, char **argv)
{
	struct config cfg;
	pthread_t signal_thread;
	sigset_t set;
	server_t *s;
	int err_no;

	config_defaults(&cfg);
	log_set_time(!log_stderr_is_journal()); /* --log-time overrides it */
	parse_flags(argc, argv, &cfg);
	take_systemd_listener(&cfg);
	futex_hash_setup(futex_slots, cfg.max_clients); /* before any thread:
	                                                  * check_redis's lookup starts one */
	check_redis(&cfg);
	signal(SIGPIPE, SIG_IGN); /* an EPIPE instead (see the top) */
	handled_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread */
	s = listen_or_exit(&cfg);
	if ((err_no = pthread_create(&signal_thread, NULL, signal_main, s)) != 0) {
		log_error("cannot start the signal thread: %s", strerror(err_no));
		server_free(s);
		tls_context_free(cfg.tls);
		return 1;
	}
	server_run(s);
	signal_thread_stop(signal_thread);
	server_free(s);
	tls_context_free(cfg.tls); /* after every session */
	free(cfg.origins);
	explicit_bzero(password_buf, sizeof(password_buf));
	free(cfg.allow_hosts);
	return 0;
}
