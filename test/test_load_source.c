/*
 * wshub-load's source addresses (src/load/source.h): --source's syntax,
 * and over real loopback sockets that the server sees each connection
 * come from the address it was dealt, round-robin; /proc/meminfo's kernel
 * figures (src/load/procstat.h); the --source flag's checks (opts.h).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/load/client.h"
#include "../src/load/opts.h"
#include "../src/load/procstat.h"
#include "../src/load/source.h"

Test(load_source, one_address_or_an_ipv4_range, .timeout = 10)
{
	struct source_range r;
	char buf[INET6_ADDRSTRLEN];

	cr_assert_eq(source_parse("127.0.0.5", &r), SOURCE_OK);
	cr_assert_eq(r.n, 1);
	cr_assert_str_eq(source_name(&r, 0, buf, sizeof(buf)), "127.0.0.5");
	cr_assert_eq(source_parse("127.0.0.1-127.0.0.8", &r), SOURCE_OK);
	cr_assert_eq(r.n, 8);
	cr_assert_str_eq(source_name(&r, 7, buf, sizeof(buf)), "127.0.0.8");
	/* A range may cross an octet. */
	cr_assert_eq(source_parse("10.0.0.255-10.0.1.0", &r), SOURCE_OK);
	cr_assert_eq(r.n, 2);
	cr_assert_str_eq(source_name(&r, 1, buf, sizeof(buf)), "10.0.1.0");
	cr_assert_eq(source_parse("::1", &r), SOURCE_OK);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.first.ss_family, AF_INET6);
	cr_assert_str_eq(source_name(&r, 0, buf, sizeof(buf)), "::1");
	/* SOURCE_MAX addresses, and not one more. */
	cr_assert_eq(source_parse("127.0.0.0-127.0.0.255", &r), SOURCE_OK);
	cr_assert_eq(r.n, SOURCE_MAX);
}

Test(load_source, bad_values_say_why_and_change_nothing, .timeout = 10)
{
	struct source_range r = { .n = 42 };
	char longer[128];

	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	cr_assert_eq(source_parse("", &r), SOURCE_NOT_ADDRESS);
	cr_assert_eq(source_parse("localhost", &r), SOURCE_NOT_ADDRESS);
	cr_assert_eq(source_parse("127.0.0.1-", &r), SOURCE_NOT_ADDRESS);
	cr_assert_eq(source_parse("-127.0.0.1", &r), SOURCE_NOT_ADDRESS);
	cr_assert_eq(source_parse("127.0.0.1-127.0.0.2-3", &r),
	    SOURCE_NOT_ADDRESS);
	cr_assert_eq(source_parse(longer, &r), SOURCE_NOT_ADDRESS);
	cr_assert_eq(source_parse("127.0.0.8-127.0.0.1", &r),
	    SOURCE_BACKWARDS);
	cr_assert_eq(source_parse("127.0.0.0-127.0.1.0", &r), SOURCE_TOO_MANY);
	cr_assert_eq(source_parse("::1-::2", &r), SOURCE_V6_RANGE);
	cr_assert_eq(source_parse("127.0.0.1-::2", &r), SOURCE_V6_RANGE);
	cr_assert_eq(r.n, 42);
	cr_assert_str_eq(source_strerror(SOURCE_BACKWARDS),
	    "the last address comes before the first");
}

Test(load_source, an_address_not_of_this_host_is_eaddrnotavail,
    .timeout = 10)
{
	struct source_range r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(source_parse("192.0.2.1", &r), SOURCE_OK); /* TEST-NET */
	cr_assert_eq(source_bind(fd, &r, 0), -EADDRNOTAVAIL);
	close(fd);
	/* No --source: nothing to bind, the kernel picks. */
	r.n = 0;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(source_bind(fd, &r, 0), 0);
	close(fd);
}

#define NCONNS 6               /* two per source address */
#define NSOURCES 3

/* A listening socket on 0.0.0.0, port 0; its port in *port. */
static int
listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, NCONNS), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

Test(load_source, the_server_sees_each_connection_from_its_address,
    .timeout = 10)
{
	static struct load_config cfg;
	struct sockaddr_in *to = (struct sockaddr_in *)&cfg.urls[0].addr;
	struct conn_stats cs;
	struct client_env env = { .cfg = &cfg, .cs = &cs };
	struct client c[NCONNS];
	int seen[NSOURCES] = { 0 };
	uint16_t port;
	int lfd = listener(&port);

	stats_conn_init(&cs);
	cfg.plan = (struct plan){ .conns = NCONNS, .rooms = 1, .urls = 1 };
	to->sin_family = AF_INET;
	to->sin_port = htons(port);
	to->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg.urls[0].addrlen = sizeof(*to);
	snprintf(cfg.urls[0].path, sizeof(cfg.urls[0].path), "/ws");
	cr_assert_eq(source_parse("127.0.0.2-127.0.0.4", &cfg.source),
	    SOURCE_OK);
	cr_assert_geq(env.epfd = epoll_create1(EPOLL_CLOEXEC), 0);
	for (uint32_t i = 0; i < NCONNS; i++) {
		client_init(&c[i], &env, i);
		client_connect(&c[i]);
		cr_assert_eq(c[i].state, CL_CONNECTING, "client %u: %s", i,
		    strerror(cs.err_errno[LERR_CONNECT]));
	}
	for (int i = 0; i < NCONNS; i++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int fd = accept(lfd, (struct sockaddr *)&peer, &len);
		uint32_t host = ntohl(peer.sin_addr.s_addr);

		cr_assert_geq(fd, 0);
		cr_assert(host >= 0x7f000002 && host <= 0x7f000004,
		    "peer %s", inet_ntoa(peer.sin_addr));
		seen[host - 0x7f000002]++;
		close(fd);
	}
	for (int s = 0; s < NSOURCES; s++)
		cr_assert_eq(seen[s], NCONNS / NSOURCES, "127.0.0.%d: %d", s + 2,
		    seen[s]);
	/* Client i's socket is bound to address i mod 3. */
	for (uint32_t i = 0; i < NCONNS; i++) {
		struct sockaddr_in me;
		socklen_t len = sizeof(me);

		cr_assert_eq(getsockname(c[i].fd, (struct sockaddr *)&me,
		    &len), 0);
		cr_assert_eq(ntohl(me.sin_addr.s_addr), 0x7f000002 + i % 3);
		client_abort(&c[i]);
	}
	cr_assert_eq(cs.failed, NCONNS);  /* aborted before the upgrade */
	close(env.epfd);
	close(lfd);
}

Test(load_source, kernel_memory_is_read_from_meminfo, .timeout = 10)
{
	struct kernmem k = { -1, -1 };

	cr_assert_eq(procstat_kernmem(&k), 0);
	/* Every running machine has slab objects and this thread's stack. */
	cr_assert_gt(k.slab_kib, 0);
	cr_assert_geq(k.kernel_stack_kib, 16);
}

/* Set in parse_in_child's child, whose exit(2) from opts_parse would
 * otherwise add LeakSanitizer's notes about Criterion's threads to the
 * one line under test. */
static volatile int in_parse_child;

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer's hook (sanitizer/lsan_interface.h): no check at exit. */
int __lsan_is_turned_off(void);
int
__lsan_is_turned_off(void)
{
	return in_parse_child;
}
#endif

/*
 * Runs opts_parse on `argv` in a child whose stderr is a pipe; its exit
 * status, and what it wrote in `msg`.
 */
static int
parse_in_child(char **argv, char *msg, size_t cap)
{
	static struct load_config cfg;
	int p[2], status, argc = 0;
	ssize_t n, got = 0;
	pid_t pid;

	while (argv[argc] != NULL)
		argc++;
	cr_assert_eq(pipe(p), 0);
	cr_assert_geq(pid = fork(), 0);
	if (pid == 0) {
		in_parse_child = 1;
		dup2(p[1], STDERR_FILENO);
		opts_parse(argc, argv, &cfg);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], msg + got, cap - 1 - (size_t)got)) > 0)
		got += n;
	msg[got] = '\0';
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `value` for --source is refused: exit 2, one line naming the flag, the
 * value and `want`. */
static void
refused(const char *value, const char *url, const char *want)
{
	char arg[64], u[64], msg[1024];
	char *argv[] = { "wshub-load", "--source", arg, "connect", u, NULL };

	snprintf(arg, sizeof(arg), "%s", value);
	snprintf(u, sizeof(u), "%s", url);
	cr_assert_eq(parse_in_child(argv, msg, sizeof(msg)), 2, "%s", msg);
	cr_assert_eq(strchr(msg, '\n'), msg + strlen(msg) - 1, "%s", msg);
	cr_assert(strncmp(msg, "wshub-load: invalid --source '", 30) == 0,
	    "%s", msg);
	cr_assert_not_null(strstr(msg, value), "%s", msg);
	cr_assert_not_null(strstr(msg, want), "%s", msg);
}

Test(load_source, the_flag_refuses_bad_values_in_one_line, .timeout = 10)
{
	const char *v4 = "ws://127.0.0.1:9/ws";

	refused("127.0.0.9-127.0.0.1", v4, "the last address comes before "
	    "the first; expected an address of this host, or a range of at "
	    "most 256 IPv4 addresses");
	refused("127.0.0.0-127.0.1.0", v4, "too many addresses");
	refused("example.com", v4, "not a numeric IPv4 or IPv6 address");
	refused("::1", v4, "the URL 'ws://127.0.0.1:9/ws' is IPv4, the source "
	    "addresses IPv6");
	refused("192.0.2.1", v4, "cannot bind to 192.0.2.1 (Cannot assign "
	    "requested address); expected addresses of this host");
	refused("127.0.0.1-192.0.2.1", v4, "too many addresses");
}

Test(load_source, the_flag_takes_a_range_of_this_host, .timeout = 10)
{
	char msg[1024];
	char *argv[] = { "wshub-load", "--source", "127.0.0.1-127.0.0.8",
	    "connect", "ws://127.0.0.1:9/ws", NULL };

	cr_assert_eq(parse_in_child(argv, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_str_eq(msg, "");
}
