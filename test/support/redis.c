/* A real redis-server for the tests (see redis.h). */
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
