/*
 * Assertions the Criterion tests over sockets share (header only: the
 * TSan drivers, which cannot run Criterion, do not include it).
 */
#ifndef WSHUB_TEST_EXPECT_H
#define WSHUB_TEST_EXPECT_H

#include <criterion/criterion.h>
#include <string.h>

#include "support/testserver.h"
#include "support/wsclient.h"

/* Reads one frame and checks that it is whole, with this opcode and
 * payload. */
static inline void
expect_frame(int fd, uint8_t opcode, const void *payload, size_t len)
{
	struct ws_frame f;

	cr_assert_eq(ws_recv(fd, &f, WS_TIMEOUT_MS), 0, "no frame arrived");
	cr_assert(f.fin);
	cr_assert_eq(f.opcode, opcode, "opcode %d, want %d", f.opcode, opcode);
	cr_assert_eq(f.len, len);
	cr_assert(len == 0 || memcmp(f.payload, payload, len) == 0);
	ws_frame_free(&f);
}

/* Waits until the server's hub has `n` clients registered. */
static inline void
expect_clients(struct test_server *ts, long n)
{
	cr_assert(test_wait_counter(&test_server_stats(ts)->clients, n,
	    WS_TIMEOUT_MS), "the hub never had %ld clients", n);
}

#endif
