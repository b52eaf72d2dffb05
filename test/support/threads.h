/*
 * Test helpers for proving that a thread is blocked, without sleeping and
 * hoping: the kernel reports a thread waiting on a futex (a mutex or a
 * condition variable) or in poll(2) as state 'S' in /proc/self/task/TID/stat.
 */
#ifndef WSHUB_TEST_THREADS_H
#define WSHUB_TEST_THREADS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

/* The calling thread's kernel id (gettid). */
pid_t thread_id(void);

/*
 * Waits until thread `tid` is asleep in the kernel or `*done` becomes true.
 * Returns true if the thread blocked while `*done` was still false.
 */
bool thread_wait_blocked(pid_t tid, atomic_bool *done);

#endif
