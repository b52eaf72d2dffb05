/*
 * Concurrency stress scenarios shared by the Criterion suite and the
 * ThreadSanitizer drivers (Criterion cannot start under TSan, see
 * test/tsan/).  Each returns 0 when every check held, or -1 after printing
 * what went wrong on stderr.
 */
#ifndef WSHUB_TEST_STRESS_H
#define WSHUB_TEST_STRESS_H

/*
 * `producers` threads each send `per_producer` tagged items into one
 * channel of capacity `cap`; `consumers` threads receive until it is closed.
 * Checks that every item arrives exactly once and that each producer's items
 * arrive in the order sent (per consumer and overall).
 */
int stress_chan_mpmc(int producers, int consumers, int per_producer,
    int cap);

/*
 * One message, `threads` threads each holding `refs_each` references and
 * dropping them concurrently.  Checks that it is freed exactly once, after
 * the last unref (msg_live() counts allocations).
 */
int stress_msg_unref(int threads, int refs_each);

#endif
