/*
 * wshub — the command line: flags, logging level, signals, then the server.
 *
 * Signals are handled in one place: main blocks SIGINT, SIGTERM, SIGQUIT
 * and SIGUSR1 before any thread exists (new threads inherit the mask), and
 * one signal thread takes them with sigwait(3).  The first SIGINT/SIGTERM
 * asks the server to shut down gracefully; a second one exits at once.
 * SIGQUIT prints every thread on stderr and the server goes on.  With TLS,
 * SIGHUP reloads the certificate and key (without TLS it keeps its default
 * action, so closing the terminal still ends a server run from it).  SIGUSR1 is
 * how main tells the signal thread to finish (after setting signals_done,
 * so a SIGUSR1 from outside is ignored).  SIGPIPE is ignored, process-wide:
 * wshub's own writes use MSG_NOSIGNAL, but hiredis writes to Redis with
 * write(2), and a Redis that resets at the wrong moment (or a kill -PIPE)
 * must be an EPIPE, not the end of the server.
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
#include "wshub/log.h"
#include "wshub/server.h"
#include "wshub/threads.h"
#include "wshub/tls.h"
#include "wshub/version.h"
#include "wshub/xmalloc.h"

#define EXIT_USAGE 2
#define MS_PER_DAY (86400LL * 1000)

enum long_only_flag {
	OPT_ADDR = 256, OPT_PORT, OPT_ORIGIN, OPT_ANY_ORIGIN, OPT_MAX_CLIENTS,
	OPT_MAX_MESSAGE, OPT_SEND_QUEUE, OPT_PING_INTERVAL, OPT_PONG_TIMEOUT,
	OPT_WRITE_TIMEOUT, OPT_HANDSHAKE_TIMEOUT, OPT_SHUTDOWN_TIMEOUT,
	OPT_THREAD_STACK, OPT_MAX_ROOMS, OPT_DEBUG_ENDPOINTS, OPT_REDIS,
	OPT_REDIS_PREFIX, OPT_SEND_QUEUE_BYTES, OPT_TLS_CERT, OPT_TLS_KEY,
	OPT_TLS_PRIORITY,
};

static const struct option long_options[] = {
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "origin", required_argument, NULL, OPT_ORIGIN },
	{ "any-origin", no_argument, NULL, OPT_ANY_ORIGIN },
	{ "debug-endpoints", no_argument, NULL, OPT_DEBUG_ENDPOINTS },
	{ "redis", required_argument, NULL, OPT_REDIS },
	{ "redis-prefix", required_argument, NULL, OPT_REDIS_PREFIX },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "tls-priority", required_argument, NULL, OPT_TLS_PRIORITY },
	{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "max-rooms", required_argument, NULL, OPT_MAX_ROOMS },
	{ "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
	{ "send-queue", required_argument, NULL, OPT_SEND_QUEUE },
	{ "send-queue-bytes", required_argument, NULL, OPT_SEND_QUEUE_BYTES },
	{ "ping-interval", required_argument, NULL, OPT_PING_INTERVAL },
	{ "pong-timeout", required_argument, NULL, OPT_PONG_TIMEOUT },
	{ "write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT },
	{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "thread-stack", required_argument, NULL, OPT_THREAD_STACK },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *out)
{
	fprintf(out,
"usage: wshub [options]\n"
"A WebSocket chat hub: every message a client sends goes to every client\n"
"in its room.  Chat page at http://ADDR:PORT/, WebSocket at /ws (room %s)\n"
"or /ws/ROOM, counters at /stats (JSON) and /metrics (Prometheus text);\n"
"https:// and wss:// with --tls-cert and --tls-key.\n"
"\n"
"  --addr HOST            listen address: a host name, or an IPv4 or IPv6\n"
"                         address, brackets optional ([::1]); no port\n"
"                         (default %s: loopback, so nothing is\n"
"                         exposed by accident)\n"
"  --port N               TCP port, 0 picks a free one (default %d)\n"
"  --origin PATTERN       allow browser Origins whose host[:port] matches\n"
"                         this glob; repeatable (default: same host as Host)\n"
"  --any-origin           allow every Origin (trusted networks only)\n"
"  --redis URL            join other wshub processes through Redis pub/sub:\n"
"                         redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]; each\n"
"                         message also goes to the room's clients on every\n"
"                         hub, at most once (none: this hub alone)\n"
"  --redis-prefix P       channels are P:ROOM (default \"%s\")\n"
"  --tls-cert FILE        serve every route over TLS (https://, wss://):\n"
"                         the certificate chain, PEM, the server's first;\n"
"                         needs --tls-key.  SIGHUP reloads both files\n"
"                         (default: none, plain TCP)\n"
"  --tls-key FILE         the certificate's private key, PEM, unencrypted\n"
"  --tls-priority STRING  GnuTLS priority string: versions and ciphers,\n"
"                         TLS 1.2 and 1.3 only (default\n"
"                         %s)\n"
"  --debug-endpoints      serve GET /debug/threads (a dump of every thread)\n"
"                         off the loopback too; on 127.0.0.1 or ::1 it is\n"
"                         always on.  SIGQUIT prints the dump on stderr\n"
"  --max-clients N        refuse upgrades beyond N live clients with 503\n"
"                         (default 0: no limit but the machine's)\n"
"  --max-rooms N          refuse a join that would open room N+1 with 503\n"
"                         (default %d)\n"
"  --max-message BYTES    largest message; bigger closes with 1009\n"
"                         (default %d)\n"
"  --send-queue N         messages that may wait for a client that stopped\n"
"                         reading: more than N while its writer is blocked\n"
"                         for half the write timeout (or 16 N) and it is\n"
"                         dropped with 1008 (default %d)\n"
"  --send-queue-bytes BYTES  the most a client's queue may hold: one whose\n"
"                         waiting messages would pass it is dropped with\n"
"                         1008 at once (default %d: what a client that\n"
"                         stops reading may pin)\n"
"  --ping-interval SEC    ping every client this often (default %.0f:\n"
"                         9/10 of the pong timeout, so pongs arrive in time)\n"
"  --pong-timeout SEC     drop a client silent this long (default %.0f)\n"
"  --write-timeout SEC    drop a client that takes longer to accept a\n"
"                         write (default %.0f)\n"
"  --handshake-timeout SEC  close requests unfinished by then (default %.0f;\n"
"                         stops slowloris)\n"
"  --shutdown-timeout SEC wait this long for close replies on SIGINT or\n"
"                         SIGTERM, then shut every socket (default %.0f)\n"
"  --thread-stack KIB     stack per connection thread (default %d: two per\n"
"                         client, thousands of clients)\n"
"  -v, --verbose          also log each data message received (type, size)\n"
"  -q, --quiet            log warnings and errors only\n"
"  -h, --help             this text\n"
"  -V, --version          print the version\n"
"\n"
"SEC is seconds with at most 3 decimals (10, 0.25; no exponent, no unit).\n"
"Exit status: 0 after a clean shutdown, 1 if the server cannot start,\n"
"2 for a bad flag (one line on stderr says what is wrong).\n",
	    DEFAULT_ROOM, DEFAULT_ADDR, DEFAULT_PORT, REDIS_PREFIX,
	    TLS_DEFAULT_PRIORITY, MAX_ROOMS,
	    MAX_MESSAGE_BYTES, SEND_QUEUE_LEN, SEND_QUEUE_BYTES,
	    PING_INTERVAL_MS / 1000.0, PONG_TIMEOUT_MS / 1000.0,
	    WRITE_TIMEOUT_MS / 1000.0, HANDSHAKE_TIMEOUT_MS / 1000.0,
	    SHUTDOWN_TIMEOUT_MS / 1000.0, THREAD_STACK_KIB);
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

/* --redis: a URL the bridge can use. */
static const char *
redis_flag(const char *value)
{
	struct bridge_url url;
	char why[256];

	if (bridge_parse_url(value, &url, why, sizeof(why)) != 0)
		bad_flag("--redis", value, why,
		    "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
	return value;
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

/* An integer flag in [min, max]. */
static long long
int_flag(const char *flag, const char *value, long long min, long long max)
{
	char accepts[96];
	long long n;
	int rc;

	if ((rc = flagval_int(value, min, max, &n)) != FLAGVAL_OK) {
		snprintf(accepts, sizeof(accepts), "an integer from %lld to %lld",
		    min, max);
		bad_flag(flag, value, flagval_strerror(rc), accepts);
	}
	return n;
}

/* Seconds with up to three decimals ("10", "0.25"), in [min, max] ms. */
static int64_t
seconds_flag(const char *flag, const char *value, int64_t min_ms,
    int64_t max_ms)
{
	char accepts[96];
	int64_t ms;
	int rc;

	if ((rc = flagval_seconds(value, min_ms, max_ms, &ms)) != FLAGVAL_OK) {
		snprintf(accepts, sizeof(accepts), "seconds from %g to %g, at "
		    "most %d decimals", min_ms / 1000.0, max_ms / 1000.0,
		    FLAGVAL_MS_DECIMALS);
		bad_flag(flag, value, flagval_strerror(rc), accepts);
	}
	return ms;
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
 * --tls-cert, --tls-key, --tls-priority: loads the pair and the priority
 * string into cfg->tls, or exits 2 naming the flag at fault, before
 * anything listens.
 */
static void
tls_flags(struct config *cfg)
{
	char why[512];
	const char *flag, *value, *accepts;

	if (cfg->tls_cert == NULL && cfg->tls_key == NULL) {
		if (cfg->tls_priority != NULL)
			bad_flag("--tls-priority", cfg->tls_priority,
			    "TLS is off", "it with --tls-cert and --tls-key");
		return;
	}
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL)
		bad_flag(cfg->tls_cert ? "--tls-cert" : "--tls-key",
		    cfg->tls_cert ? cfg->tls_cert : cfg->tls_key,
		    "given alone", cfg->tls_cert ? "--tls-key FILE too" :
		    "--tls-cert FILE too");
	switch (tls_context_new(&cfg->tls, cfg->tls_cert, cfg->tls_key,
	    cfg->tls_priority, why, sizeof(why))) {
	case TLS_OK:
		return;
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

/* Parses argv into cfg; exits on --help, --version and bad flags. */
static void
parse_flags(int argc, char **argv, struct config *cfg)
{
	bool ping_set = false;
	int ch;

	opterr = 0; /* we print our own one-line message */
	while ((ch = getopt_long(argc, argv, ":vqhV", long_options, NULL)) != -1) {
		switch (ch) {
		case OPT_ADDR: cfg->addr = addr_flag(optarg); break;
		case OPT_PORT: cfg->port = (uint16_t)int_flag("--port", optarg, 0, 65535); break;
		case OPT_ORIGIN:
			cfg->origins = xreallocarray(cfg->origins, cfg->n_origins + 1,
			    sizeof(*cfg->origins));
			cfg->origins[cfg->n_origins++] = optarg;
			break;
		case OPT_ANY_ORIGIN: cfg->any_origin = true; break;
		case OPT_DEBUG_ENDPOINTS: cfg->debug_endpoints = true; break;
		case OPT_REDIS: cfg->redis_url = redis_flag(optarg); break;
		case OPT_REDIS_PREFIX: cfg->redis_prefix = prefix_flag(optarg); break;
		case OPT_TLS_CERT: cfg->tls_cert = optarg; break;
		case OPT_TLS_KEY: cfg->tls_key = optarg; break;
		case OPT_TLS_PRIORITY: cfg->tls_priority = optarg; break;
		case OPT_MAX_CLIENTS: cfg->max_clients = (int)int_flag("--max-clients", optarg, 0, 1000000); break;
		case OPT_MAX_ROOMS: cfg->max_rooms = (int)int_flag("--max-rooms", optarg, 1, 1000000); break;
		case OPT_MAX_MESSAGE: cfg->max_message = (size_t)int_flag("--max-message", optarg, 1, 64LL << 20); break;
		case OPT_SEND_QUEUE: cfg->send_queue = (size_t)int_flag("--send-queue", optarg, 1, 65536); break;
		case OPT_SEND_QUEUE_BYTES: cfg->send_queue_bytes = (size_t)int_flag("--send-queue-bytes", optarg, 1024, 1LL << 32); break;
		case OPT_PING_INTERVAL: cfg->ping_interval_ms = seconds_flag("--ping-interval", optarg, 10, MS_PER_DAY); ping_set = true; break;
		case OPT_PONG_TIMEOUT: cfg->pong_timeout_ms = seconds_flag("--pong-timeout", optarg, 10, MS_PER_DAY); break;
		case OPT_WRITE_TIMEOUT: cfg->write_timeout_ms = seconds_flag("--write-timeout", optarg, 10, MS_PER_DAY); break;
		case OPT_HANDSHAKE_TIMEOUT: cfg->handshake_timeout_ms = seconds_flag("--handshake-timeout", optarg, 10, MS_PER_DAY); break;
		case OPT_SHUTDOWN_TIMEOUT: cfg->shutdown_timeout_ms = seconds_flag("--shutdown-timeout", optarg, 0, 600000); break;
		case OPT_THREAD_STACK: cfg->thread_stack_kib = (size_t)int_flag("--thread-stack", optarg, 16, 65536); break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'q': log_set_level(LOG_ERROR); break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("wshub %s\n", WSHUB_VERSION); exit(0);
		default: /* ':' missing value, '?' unknown flag */
			fprintf(stderr, "wshub: %s flag '%s' (see wshub --help)\n",
			    ch == ':' ? "missing value for" : "unknown",
			    argv[optind - 1]);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wshub: unexpected argument '%s'\n", argv[optind]);
		exit(EXIT_USAGE);
	}
	if (!ping_set) /* keep Gorilla's ratio when only the pong wait moved */
		cfg->ping_interval_ms = cfg->pong_timeout_ms * 9 / 10;
	if (cfg->ping_interval_ms >= cfg->pong_timeout_ms) {
		fprintf(stderr, "wshub: invalid --ping-interval: must be shorter "
		    "than --pong-timeout (%.3f s)\n", cfg->pong_timeout_ms / 1000.0);
		exit(EXIT_USAGE);
	}
	tls_flags(cfg);
}

static atomic_bool signals_done; /* main: the signal thread may finish */

/* The signals the signal thread takes: blocked everywhere else.  SIGHUP
 * only with TLS (a reload); without, it keeps its default action. */
static void
handled_signals(sigset_t *set, bool tls)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGQUIT); /* the thread dump */
	sigaddset(set, SIGUSR1); /* main's "you may finish" */
	if (tls)
		sigaddset(set, SIGHUP); /* reload the certificate and key */
}

/*
 * SIGHUP: the certificate and key again, from the same files, for new
 * handshakes; connections keep the pair they have.  A pair that does not
 * load is logged and the old one kept.
 */
static void
reload_tls(server_t *s)
{
	struct tls_context *tls = server_config(s)->tls;
	char err[512], what[512];

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

	handled_signals(&set, server_config(s)->tls != NULL);
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

int
main(int argc, char **argv)
{
	struct config cfg;
	char err[256], err_tls[512];
	pthread_t signal_thread;
	sigset_t set;
	server_t *s;
	int err_no;

	config_defaults(&cfg);
	parse_flags(argc, argv, &cfg);
	signal(SIGPIPE, SIG_IGN); /* an EPIPE instead (see the top) */
	handled_signals(&set, cfg.tls != NULL);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread */
	if ((s = server_new(&cfg, err, sizeof(err))) == NULL) {
		log_error("cannot listen on --addr '%s' --port %u: %s", cfg.addr,
		    cfg.port, err);
		tls_context_free(cfg.tls);
		return 1;
	}
	fprintf(stderr, "wshub: listening on %s\n", server_address(s));
	if (cfg.tls != NULL) {
		tls_context_describe(cfg.tls, err_tls, sizeof(err_tls));
		log_info("TLS (https://, wss://): %s", err_tls);
	}
	if ((err_no = pthread_create(&signal_thread, NULL, signal_main, s)) != 0) {
		log_error("cannot start the signal thread: %s", strerror(err_no));
		server_free(s);
		tls_context_free(cfg.tls);
		return 1;
	}
	server_run(s);
	atomic_store(&signals_done, true);
	pthread_kill(signal_thread, SIGUSR1);
	pthread_join(signal_thread, NULL);
	server_free(s);
	tls_context_free(cfg.tls); /* after every session */
	free(cfg.origins);
	return 0;
}
