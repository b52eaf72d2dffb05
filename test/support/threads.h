/*
 * Test helpers for proving that a thread is blocked, and on what, without
 * sleeping and hoping.  Not from /proc: the kernel shows any sleeping
 * thread as 'S', whatever it sleeps on (a malloc lock, a page fault, the
 * wrong channel).  A channel counts its own sleepers (chan_sleepers); any
 * other wait is read from the thread registry (threads.h), where a
 * registered thread says what it waits on.
 */
#ifndef WSHUB_TEST_THREADS_H
#define WSHUB_TEST_THREADS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

/* The calling thread's kernel id (gettid). */
pid_t thread_id(void);

/*
 * Waits until the registered thread `tid` is, by the thread registry's
 * text dump, `doing` (a state and what it waits on, e.g. "chan_send hub
 * events"), or `*done` becomes true.  Returns true if it was seen so
 * while `*done` was still false.  Bounded by the test's .timeout.
 */
bool thread_wait_doing(pid_t tid, const char *doing, atomic_bool *done);

#endif
