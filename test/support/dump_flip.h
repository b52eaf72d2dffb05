/*
 * The thread dump against a thread that changes state as fast as it can
 * (issue 17, item 4), shared by the Criterion suite (plain and under ASan)
 * and the ThreadSanitizer driver test/tsan/threads_dump.c.
 */
#ifndef WSHUB_TEST_DUMP_FLIP_H
#define WSHUB_TEST_DUMP_FLIP_H

/*
 * `flippers` registered threads flip between a channel wait (TS_CHAN_RECV on a
 * channel named FLIP_CHAN_NAME), a condition wait (TS_COND, FLIP_COND_TEXT)
 * and running, in a tight loop, while the calling thread takes `dumps`
 * dumps, text and JSON in turn.  Every dump must show each flipper in one
 * of those three states with what it waits on, and nothing else: no state
 * paired with another state's object.  Returns 0, or -1 after printing
 * the offending line on stderr.  (Before the fix this crashed: chan_name()
 * on FLIP_COND_TEXT.)
 */
int stress_dump_while_flipping(int flippers, int dumps);

#define FLIP_CHAN_NAME "the flipper's channel"
#define FLIP_COND_TEXT "the flipper's condition"

#endif
