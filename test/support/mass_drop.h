/*
 * The mass-drop scenario, shared by the Criterion suite (under ASan in
 * `make test-asan`) and a ThreadSanitizer driver (`make test-tsan`):
 * hundreds of clients are dropped as slow while broadcasts are in flight.
 */
#ifndef WSHUB_TEST_MASS_DROP_H
#define WSHUB_TEST_MASS_DROP_H

/*
 * Starts an in-process server (--send-queue 4, --write-timeout 0.4 s),
 * connects `stuck` clients that never read (4 KB receive buffers) and one
 * client that sends messages of 8 KB and reads each echo before sending
 * the next, until every stuck client has been dropped (slow_client_drops,
 * an observable counter, not a clock) or `max_messages` were sent.
 * Checks: the reading client gets every message in order; every stuck
 * client is counted once and sees its connection end; after the shutdown
 * every message has been freed.  Returns 0, or -1 after printing what went
 * wrong on stderr.
 */
int mass_drop_run(int stuck, int max_messages);

#endif
