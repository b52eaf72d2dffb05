/*
 * threads — every thread of the server, what it is for and what it is
 * doing now: wshub's goroutine dump (Go: SIGQUIT, or
 * /debug/pprof/goroutine?debug=2).
 *
 * DESIGN
 * Each long-lived thread registers itself when it starts (threads_enter)
 * and leaves when it ends (threads_leave), in a list guarded by one mutex
 * that only thread start, thread end and a dump take.  A dump holds that
 * lock, so every listed thread (and a writer's send channel, whose depth
 * the dump reads) stays alive until the dump is done: a thread cannot
 * leave while the lock is held.
 *
 * What a thread is doing is one atomic word in its own entry, which only
 * the thread itself writes: its state in the top byte, and in the other
 * 56 (THREADS_STATE_SHIFT) bits what it waits on, in words: a pointer to a
 * static string (a TS_COND text, or a channel's name: every chan_set_name
 * in wshub gives a literal) or NULL.  A channel hands its name over when a
 * thread sleeps on it (chan_set_sleep_hook, which threads_enter installs:
 * chan knows nothing of the registry).  threads_block stores state and
 * name with one relaxed store, a dump reads them with one relaxed load: a
 * dump always sees a state with its own object and never follows a
 * pointer a thread has moved on from (two loads once read a string
 * literal as a channel: issue 17, item 4; test/support/dump_flip.c).  No
 * ordering is needed: the strings are constants of the program.
 * threads_block and threads_run, on every channel wait, are a thread-local
 * load and one plain store on x86-64: no lock, nothing shared.  A dump is
 * a snapshot: a thread may move on while it is written.
 *
 * Why one word and not a seqlock: a seqlock is as cheap for the thread,
 * but a dump that catches a thread preempted between its two stores must
 * wait for it to get a CPU again, holding the list's lock (over 300 ms now
 * and then on a 2-vCPU machine under test load), or give up.  One word
 * needs user-space addresses to fit in 56 bits, as every Linux address
 * space does (x86-64 with 5-level paging 2^56 bytes, arm64 at most 2^52,
 * RISC-V sv57 2^56); a pointer that did not would be stored as NULL: the
 * state alone, never a wrong pair.
 *
 * The entries live in the threads' own storage (their stacks or their
 * connection): registering allocates nothing.
 */
#ifndef WSHUB_THREADS_H
#define WSHUB_THREADS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "wshub/chan.h"

enum thread_role {
	ROLE_FRONTDOOR, /* main's thread once it runs the server: listener
	                 * and unfinished requests */
	ROLE_SIGNAL,    /* sigwait for SIGINT, SIGTERM, SIGQUIT */
	ROLE_HUB,       /* owns the clients and rooms */
	ROLE_REAPER,    /* joins finished connections */
	ROLE_READER,    /* one per connection: reads frames */
	ROLE_WRITER,    /* one per connection: the only socket writer */
	ROLE_REDIS_PUB, /* the bridge's publisher: writes to Redis */
	ROLE_REDIS_SUB, /* the bridge's subscriber: reads from Redis */
	ROLE_OTHER,
};

/* What a thread is doing: running, or blocked in one of these calls. */
enum thread_state {
	TS_RUNNING,
	TS_CHAN_RECV,   /* receiving from a channel (`on`) */
	TS_CHAN_SEND,   /* sending into a full channel (`on`) */
	TS_POLL_READ,   /* poll(2) for input on its socket */
	TS_POLL_WRITE,  /* poll(2) for room in its socket's send buffer */
	TS_EPOLL,       /* epoll_wait(2) over the listener and requests */
	TS_SIGWAIT,     /* sigwait(3) */
	TS_COND,        /* a condition variable (`on` names what for) */
	TS_JOIN,        /* pthread_join(3) */
};

#define THREADS_STATE_SHIFT 56

/* One thread's entry, in the thread's own storage. */
struct thread_entry {
	TAILQ_ENTRY(thread_entry) link; /* the list's lock */
	/* Set by threads_enter, then read-only. */
	enum thread_role role;
	pid_t tid;
	uint64_t conn_id;              /* readers and writers; else 0 */
	const char *peer;              /* readers and writers; else "" */
	const char *room;              /* readers and writers; else NULL */
	chan_t *queue;                 /* a writer's send channel, or NULL */
	/* Written by the thread itself, read by dumps (see DESIGN): the
	 * enum thread_state << THREADS_STATE_SHIFT, | what it waits on, in
	 * words (a channel's name, a TS_COND text; static), or NULL. */
	_Atomic uint64_t doing;
};

/*
 * Registers the calling thread: `role`, and for a connection's threads
 * its id, peer and room (strings that outlive the thread) and (writers)
 * send channel.  Call first thing in the thread; `t` must stay valid
 * until threads_leave.  The entry lives on the thread's stack, so it is
 * kept small: an idle connection thread's whole stack fits in a page or
 * two (BENCHMARKS.md, S4).  Blocks while a dump is being written.
 */
void threads_enter(struct thread_entry *t, enum thread_role role,
    uint64_t conn_id, const char *peer, const char *room, chan_t *queue);

/* Unregisters the calling thread; call last thing before it returns.
 * Blocks while a dump is being written. */
void threads_leave(void);

/*
 * The calling thread is about to block in `state` on `on` (what it waits
 * for, in words, a static string: a channel's name for TS_CHAN_*, which
 * the channels report through chan_set_sleep_hook; a text for TS_COND;
 * else NULL), or is running again.  Cheap: a thread-local load and one
 * relaxed store; nothing for a thread that never registered.
 */
void threads_block(enum thread_state state, const char *on);
void threads_run(void);

/* How many threads are registered now.  Any thread; blocks while a dump
 * is being written. */
size_t threads_count(void);

/*
 * A dump of every registered thread, one line each (text) or one JSON
 * array: role, kernel thread id, connection id and peer, state and what it
 * waits on, and for each writer its send queue's depth against --send-queue
 * and its hard limit, and its priority lane.  First, how many threads and
 * the slots of the kernel's futex hash the threads park in (futex_hash.h,
 * read back from the kernel): text "threads=N futex_hash_slots=S" (S
 * "global" for the kernel's shared table), JSON "threads" and
 * "futex_hash_slots" (0 for the shared table).  Returns a malloc'd,
 * NUL-terminated string (the caller frees it) and its length in *len.
 * Any thread; holds the list's lock while it writes.
 */
enum threads_format { THREADS_TEXT, THREADS_JSON };
char *threads_dump(enum threads_format format, size_t send_queue,
    size_t *len);

#endif
