/* A real redis-server for the tests (see redis.h). */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/redis.h"
#include "support/wsclient.h"

#define START_TRIES 5

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A port the kernel says is free now (a later bind may still lose it:
 * test_redis_start retries with another). */
static uint16_t
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static redisContext *
connect_to(struct test_redis *r)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
	redisReply *reply;

	if (c == NULL || c->err) {
		redisFree(c);
		return NULL;
	}
	if (r->password[0]) {
		reply = redisCommand(c, "AUTH %s", r->password);
		freeReplyObject(reply);
	}
	return c;
}

/* Polls PING until the server answers (or it died). */
static bool
answers(struct test_redis *r)
{
	for (int i = 0; i < WS_TIMEOUT_MS / 10; i++) {
		redisContext *c = connect_to(r);
		redisReply *reply = c ? redisCommand(c, "PING") : NULL;
		bool ok = reply && reply->type == REDIS_REPLY_STATUS;

		freeReplyObject(reply);
		redisFree(c);
		if (ok)
			return true;
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			r->pid = 0;
			return false; /* it exited: the port was taken */
		}
		pause_ms(10);
	}
	return false;
}

static pid_t
spawn(struct test_redis *r)
{
	char port[16];
	pid_t pid;

	snprintf(port, sizeof(port), "%u", r->port);
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		/* A test that fails half-way must not leave Redis behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, STDOUT_FILENO); /* its banner */
		/* Nothing of the test runner's (its sandbox descriptors). */
		closefrom(STDERR_FILENO + 1);
		char idle[16];

		snprintf(idle, sizeof(idle), "%d", r->idle_timeout_s);
		if (r->password[0])
			execlp("redis-server", "redis-server", "--port", port,
			    "--bind", "127.0.0.1", "--save", "", "--appendonly",
			    "no", "--timeout", idle, "--requirepass", r->password,
			    (char *)NULL);
		else
			execlp("redis-server", "redis-server", "--port", port,
			    "--bind", "127.0.0.1", "--save", "", "--appendonly",
			    "no", "--timeout", idle, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int
test_redis_start(struct test_redis *r)
{
	bool fixed = r->port != 0;

	for (int i = 0; i < START_TRIES; i++) {
		if (!fixed)
			r->port = free_port();
		if ((r->pid = spawn(r)) < 0)
			return -1;
		if (answers(r)) {
			snprintf(r->url, sizeof(r->url), "redis://%s%s%s127.0.0.1:%u",
			    r->password[0] ? ":" : "", r->password,
			    r->password[0] ? "@" : "", r->port);
			return 0;
		}
		test_redis_kill(r, true);
		if (fixed) /* the old one's port may take a moment to free */
			pause_ms(50);
	}
	return -1;
}

void
test_redis_kill(struct test_redis *r, bool hard)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, hard ? SIGKILL : SIGTERM);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

long
test_redis_numsub(struct test_redis *r, const char *channel)
{
	redisContext *c = connect_to(r);
	redisReply *reply = c ? redisCommand(c, "PUBSUB NUMSUB %s", channel) :
	    NULL;
	long n = -1;

	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[1]->type == REDIS_REPLY_INTEGER)
		n = (long)reply->element[1]->integer;
	freeReplyObject(reply);
	redisFree(c);
	return n;
}

long
test_redis_clients(struct test_redis *r)
{
	redisContext *c = connect_to(r);
	redisReply *reply = c ? redisCommand(c, "INFO clients") : NULL;
	const char *at;
	long n = -1;

	if (reply && reply->type == REDIS_REPLY_STRING &&
	    (at = strstr(reply->str, "connected_clients:")) != NULL)
		n = strtol(at + strlen("connected_clients:"), NULL, 10);
	freeReplyObject(reply);
	redisFree(c);
	return n;
}

long
test_redis_auth_failures(struct test_redis *r)
{
	redisContext *c = connect_to(r);
	redisReply *reply = c ? redisCommand(c, "ACL LOG") : NULL;
	long n = -1;

	if (reply && reply->type == REDIS_REPLY_ARRAY) {
		n = 0;
		for (size_t i = 0; i < reply->elements; i++) {
			redisReply *e = reply->element[i];

			/* An entry: count N reason "auth" ...; a flat map. */
			for (size_t j = 0; j + 1 < e->elements; j += 2)
				if (strcmp(e->element[j]->str, "count") == 0)
					n += (long)e->element[j + 1]->integer;
		}
	}
	freeReplyObject(reply);
	redisFree(c);
	return n;
}

bool
test_redis_wait_numsub(struct test_redis *r, const char *channel, long n)
{
	for (int i = 0; i < WS_TIMEOUT_MS / 5; i++) {
		if (test_redis_numsub(r, channel) == n)
			return true;
		pause_ms(5);
	}
	return false;
}

int
test_redis_command(struct test_redis *r, const char *fmt, ...)
{
	redisContext *c = connect_to(r);
	redisReply *reply = NULL;
	va_list ap;
	int rc;

	if (c != NULL) {
		va_start(ap, fmt);
		reply = redisvCommand(c, fmt, ap);
		va_end(ap);
	}
	rc = reply != NULL && reply->type != REDIS_REPLY_ERROR ? 0 : -1;
	freeReplyObject(reply);
	redisFree(c);
	return rc;
}

long
test_redis_publish(struct test_redis *r, const char *channel,
    const void *data, size_t len)
{
	redisContext *c = connect_to(r);
	redisReply *reply = c ? redisCommand(c, "PUBLISH %s %b", channel, data,
	    len) : NULL;
	long n = reply && reply->type == REDIS_REPLY_INTEGER ?
	    (long)reply->integer : -1;

	freeReplyObject(reply);
	redisFree(c);
	return n;
}

long
test_redis_info(struct test_redis *r, const char *field)
{
	redisContext *c = connect_to(r);
	redisReply *reply = c ? redisCommand(c, "INFO") : NULL;
	char key[128];
	const char *at;
	long n = -1;

	snprintf(key, sizeof(key), "\n%s:", field);
	if (reply && reply->type == REDIS_REPLY_STRING &&
	    (at = strstr(reply->str, key)) != NULL)
		n = strtol(at + strlen(key), NULL, 10);
	freeReplyObject(reply);
	redisFree(c);
	return n;
}

bool
test_redis_wait_info(struct test_redis *r, const char *field, long n)
{
	for (int i = 0; i < WS_TIMEOUT_MS / 5; i++) {
		if (test_redis_info(r, field) >= n)
			return true;
		pause_ms(5);
	}
	return false;
}

/* ---- the fake ------------------------------------------------------------ */

#define FAKE_CONNS 16
#define FAKE_READ 16384

struct fake_conn {
	int fd;                 /* -1: a free slot */
	redisReader *rd;        /* the hub's commands */
	char *out;              /* replies not sent yet */
	size_t out_len, out_off, out_cap;
	size_t filler_left;     /* 'x' bytes still to send after out */
};

static void
out_append(struct fake_conn *c, const void *data, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		c->out_cap = (c->out_len + len) * 2;
		c->out = realloc(c->out, c->out_cap);
		if (c->out == NULL)
			abort();
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

static void
out_printf(struct fake_conn *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_append(c, buf, (size_t)n);
}

/* A confirmation push: *3 verb channel count. */
static void
confirm(struct fake_conn *c, const char *verb, const redisReply *ch, long n)
{
	out_printf(c, "*3\r\n$%zu\r\n%s\r\n$%zu\r\n", strlen(verb), verb,
	    ch->len);
	out_append(c, ch->str, ch->len);
	out_printf(c, "\r\n:%ld\r\n", n);
}

/* One command from the hub: its reply, and the script after SUBSCRIBE. */
static void
fake_command(struct fake_redis *f, struct fake_conn *c, const redisReply *cmd)
{
	const char *verb;

	if (cmd->type != REDIS_REPLY_ARRAY || cmd->elements == 0 ||
	    cmd->element[0]->type != REDIS_REPLY_STRING) {
		out_printf(c, "-ERR not a command\r\n");
		return;
	}
	verb = cmd->element[0]->str;
	if (strcasecmp(verb, "SUBSCRIBE") == 0) {
		int n = atomic_load(&f->subscribes);

		for (size_t i = 1; i < cmd->elements; i++)
			confirm(c, "subscribe", cmd->element[i], (long)i);
		if (n < FAKE_REDIS_EVENTS)
			clock_gettime(CLOCK_MONOTONIC, &f->subscribed_at[n]);
		atomic_fetch_add(&f->subscribes, 1);
		if (f->script_len > 0)
			out_append(c, f->script, f->script_len);
		c->filler_left += f->filler;
	} else if (strcasecmp(verb, "UNSUBSCRIBE") == 0) {
		for (size_t i = 1; i < cmd->elements; i++)
			confirm(c, "unsubscribe", cmd->element[i], 0);
	} else if (strcasecmp(verb, "PING") == 0)
		out_printf(c, "+PONG\r\n");
	else if (strcasecmp(verb, "PUBLISH") == 0)
		out_printf(c, ":1\r\n");
	else
		out_printf(c, "+OK\r\n");
}

static void
fake_close(struct fake_conn *c)
{
	close(c->fd);
	redisReaderFree(c->rd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Reads what the hub sent and answers it; false once the hub is gone. */
static bool
fake_read(struct fake_redis *f, struct fake_conn *c)
{
	char buf[FAKE_READ];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	void *cmd;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0 || redisReaderFeed(c->rd, buf, (size_t)n) != REDIS_OK)
		return false;
	while (redisReaderGetReply(c->rd, &cmd) == REDIS_OK && cmd != NULL) {
		fake_command(f, c, cmd);
		freeReplyObject(cmd);
	}
	return c->rd->err == 0;
}

/* Sends what is pending; false once the hub is gone. */
static bool
fake_write(struct fake_conn *c, const char filler[FAKE_READ])
{
	while (c->out_off < c->out_len || c->filler_left > 0) {
		const char *p = c->out_off < c->out_len ? c->out + c->out_off :
		    filler;
		size_t len = c->out_off < c->out_len ? c->out_len - c->out_off :
		    c->filler_left < FAKE_READ ? c->filler_left : FAKE_READ;
		ssize_t n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (c->out_off < c->out_len)
			c->out_off += (size_t)n;
		else
			c->filler_left -= (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return true;
}

static void *
fake_main(void *arg)
{
	struct fake_redis *f = arg;
	struct fake_conn conns[FAKE_CONNS];
	struct pollfd p[2 + FAKE_CONNS];
	char filler[FAKE_READ];

	memset(filler, 'x', sizeof(filler));
	for (int i = 0; i < FAKE_CONNS; i++)
		conns[i] = (struct fake_conn){ .fd = -1 };
	for (;;) {
		p[0] = (struct pollfd){ .fd = f->wake[0], .events = POLLIN };
		p[1] = (struct pollfd){ .fd = f->listen_fd, .events = POLLIN };
		for (int i = 0; i < FAKE_CONNS; i++)
			p[2 + i] = (struct pollfd){ .fd = conns[i].fd,
			    .events = (short)(POLLIN | (conns[i].out_len >
			    conns[i].out_off || conns[i].filler_left ? POLLOUT :
			    0)) };
		if (poll(p, 2 + FAKE_CONNS, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			int i = 0;

			while (i < FAKE_CONNS && conns[i].fd >= 0)
				i++;
			if (fd >= 0 && i < FAKE_CONNS) {
				conns[i].fd = fd;
				conns[i].rd = redisReaderCreate();
				atomic_fetch_add(&f->connections, 1);
			} else if (fd >= 0)
				close(fd);
		}
		for (int i = 0; i < FAKE_CONNS; i++) {
			struct fake_conn *c = &conns[i];

			if (c->fd < 0 || p[2 + i].revents == 0)
				continue;
			if (((p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    !fake_read(f, c)) || !fake_write(c, filler))
				fake_close(c);
		}
	}
	for (int i = 0; i < FAKE_CONNS; i++)
		if (conns[i].fd >= 0)
			fake_close(&conns[i]);
	return NULL;
}

int
fake_redis_start(struct fake_redis *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	atomic_store(&f->connections, 0);
	atomic_store(&f->subscribes, 0);
	if ((f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(f->listen_fd, 16) != 0 ||
	    getsockname(f->listen_fd, (struct sockaddr *)&a, &len) != 0 ||
	    pipe2(f->wake, O_CLOEXEC) != 0) {
		close(f->listen_fd);
		return -1;
	}
	f->port = ntohs(a.sin_port);
	snprintf(f->url, sizeof(f->url), "redis://127.0.0.1:%u", f->port);
	if (pthread_create(&f->thread, NULL, fake_main, f) != 0) {
		close(f->listen_fd);
		close(f->wake[0]);
		close(f->wake[1]);
		return -1;
	}
	return 0;
}

void
fake_redis_stop(struct fake_redis *f)
{
	if (write(f->wake[1], "", 1) != 1)
		abort();
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	close(f->wake[0]);
	close(f->wake[1]);
}

bool
fake_redis_wait_subscribes(struct fake_redis *f, int n, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		if (atomic_load(&f->subscribes) >= n)
			return true;
		pause_ms(5);
	}
	return false;
}
