/* threads — the list of threads and its dump (see threads.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wshub/futex_hash.h"
#include "wshub/threads.h"
#include "wshub/xmalloc.h"

TAILQ_HEAD(thread_list, thread_entry);

static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static struct thread_list list = TAILQ_HEAD_INITIALIZER(list);
static size_t list_len; /* list_mu */

/* The calling thread's entry, if it registered (Go needs no such thing:
 * the runtime knows its goroutines). */
static _Thread_local struct thread_entry *self;

static const char *const role_names[] = {
	[ROLE_FRONTDOOR] = "frontdoor", [ROLE_SIGNAL] = "signal",
	[ROLE_HUB] = "hub", [ROLE_REAPER] = "reaper",
	[ROLE_READER] = "reader", [ROLE_WRITER] = "writer",
	[ROLE_REDIS_PUB] = "redis-pub", [ROLE_REDIS_SUB] = "redis-sub",
	[ROLE_OTHER] = "other",
};

static const char *const state_names[] = {
	[TS_RUNNING] = "running", [TS_CHAN_RECV] = "chan_recv",
	[TS_CHAN_SEND] = "chan_send", [TS_POLL_READ] = "poll_read",
	[TS_POLL_WRITE] = "poll_write", [TS_EPOLL] = "epoll_wait",
	[TS_SIGWAIT] = "sigwait", [TS_COND] = "cond_wait",
	[TS_JOIN] = "join",
};

/* A thread's state and what it waits on, as one word (threads.h): a
 * pointer that does not fit in the low 56 bits (none does on Linux) is
 * dropped rather than mixed up with the state. */
static uint64_t
doing_word(enum thread_state state, const char *on)
{
	uint64_t p = (uint64_t)(uintptr_t)on;

	if (p >> THREADS_STATE_SHIFT != 0)
		p = 0;
	return (uint64_t)state << THREADS_STATE_SHIFT | p;
}

/* How the channels tell the registry that a thread sleeps on one
 * (chan_set_sleep_hook): chan knows nothing of this module. */
static void
chan_block(bool sending, const char *name)
{
	threads_block(sending ? TS_CHAN_SEND : TS_CHAN_RECV, name);
}

static const struct chan_sleep_hook chan_hook = {
	.block = chan_block,
	.run = threads_run,
};

void
threads_enter(struct thread_entry *t, enum thread_role role,
    uint64_t conn_id, const char *peer, const char *room, chan_t *queue)
{
	t->role = role;
	t->tid = gettid();
	t->conn_id = conn_id;
	t->peer = peer ? peer : "";
	t->room = room;
	t->queue = queue;
	atomic_init(&t->doing, doing_word(TS_RUNNING, NULL));
	chan_set_sleep_hook(&chan_hook); /* the same hook, every time */
	pthread_mutex_lock(&list_mu);
	TAILQ_INSERT_TAIL(&list, t, link);
	list_len++;
	pthread_mutex_unlock(&list_mu);
	self = t;
}

void
threads_leave(void)
{
	if (self == NULL)
		return;
	pthread_mutex_lock(&list_mu);
	TAILQ_REMOVE(&list, self, link);
	list_len--;
	pthread_mutex_unlock(&list_mu);
	self = NULL;
}

void
threads_block(enum thread_state state, const char *on)
{
	struct thread_entry *t = self;

	if (t == NULL)
		return;
	atomic_store_explicit(&t->doing, doing_word(state, on),
	    memory_order_relaxed);
}

void
threads_run(void)
{
	struct thread_entry *t = self;

	if (t != NULL)
		atomic_store_explicit(&t->doing, doing_word(TS_RUNNING, NULL),
		    memory_order_relaxed);
}

size_t
threads_count(void)
{
	size_t n;

	pthread_mutex_lock(&list_mu);
	n = list_len;
	pthread_mutex_unlock(&list_mu);
	return n;
}

/* A growing string: the dump of 30,000 threads is a few megabytes. */
struct text {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + (n > 0 ? (size_t)n : 0);
		t->p = xreallocarray(t->p, t->cap, 1);
	}
	t->len += (size_t)n;
}

/* What `t` is doing, from one load of its word (threads.h). */
static void
snapshot(const struct thread_entry *t, int *state, const char **on)
{
	uint64_t w = atomic_load_explicit(&t->doing, memory_order_relaxed);

	*state = (int)(w >> THREADS_STATE_SHIFT);
	*on = (const char *)(uintptr_t)(w &
	    (((uint64_t)1 << THREADS_STATE_SHIFT) - 1));
	if (*state < TS_RUNNING || *state > TS_JOIN)
		*state = TS_RUNNING; /* cannot happen: enum thread_state */
	if (*state == TS_RUNNING || *on == NULL)
		*on = "";
}

/* One thread, as a text line or a JSON object; list_mu held. */
static void
dump_one_locked(struct text *out, const struct thread_entry *t,
    enum threads_format format, size_t send_queue, bool first)
{
	int state;
	const char *on;
	struct chan_depth d = { 0 };

	snapshot(t, &state, &on);
	if (t->queue != NULL)
		chan_depth(t->queue, &d); /* the channel's lock, briefly */
	if (format == THREADS_TEXT) {
		text_add(out, "%-9s tid=%d", role_names[t->role], (int)t->tid);
		if (t->conn_id)
			text_add(out, " conn=%llu peer=%s room=%s",
			    (unsigned long long)t->conn_id, t->peer,
			    t->room ? t->room : "");
		text_add(out, " %s%s%s", state_names[state], *on ? " " : "",
		    on);
		if (t->queue != NULL)
			text_add(out, " queue=%zu/%zu (limit %zu) prio=%zu/%zu",
			    d.data, send_queue, d.data_cap, d.prio, d.prio_cap);
		text_add(out, "\n");
		return;
	}
	text_add(out, "%s{\"role\":\"%s\",\"tid\":%d", first ? "" : ",\n",
	    role_names[t->role], (int)t->tid);
	if (t->conn_id) /* peers and room names need no JSON escapes */
		text_add(out, ",\"conn\":%llu,\"peer\":\"%s\",\"room\":\"%s\"",
		    (unsigned long long)t->conn_id, t->peer,
		    t->room ? t->room : "");
	text_add(out, ",\"state\":\"%s\",\"on\":\"%s\"", state_names[state], on);
	if (t->queue != NULL)
		text_add(out, ",\"queue\":%zu,\"send_queue\":%zu,"
		    "\"queue_limit\":%zu,\"prio\":%zu,\"prio_cap\":%zu",
		    d.data, send_queue, d.data_cap, d.prio, d.prio_cap);
	text_add(out, "}");
}

char *
threads_dump(enum threads_format format, size_t send_queue, size_t *len)
{
	struct text out = { .p = xmalloc(4096), .cap = 4096 };
	const struct thread_entry *t;
	long slots = futex_hash_slots(); /* the kernel's, read back */
	bool first = true;

	out.p[0] = '\0';
	pthread_mutex_lock(&list_mu);
	if (format == THREADS_JSON)
		text_add(&out, "{\"threads\":%zu,\"futex_hash_slots\":%ld,"
		    "\"list\":[\n", list_len, slots > 0 ? slots : 0);
	else if (slots > 0)
		text_add(&out, "threads=%zu futex_hash_slots=%ld\n", list_len,
		    slots);
	else
		text_add(&out, "threads=%zu futex_hash_slots=global\n",
		    list_len);
	TAILQ_FOREACH(t, &list, link) {
		dump_one_locked(&out, t, format, send_queue, first);
		first = false;
	}
	pthread_mutex_unlock(&list_mu);
	if (format == THREADS_JSON)
		text_add(&out, "\n]}\n");
	*len = out.len;
	return out.p;
}
