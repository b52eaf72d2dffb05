/*
 * pipe — an in-memory connection for the reader and the writer: the
 * server's side is a conn_io (test_pipe_io, with the pipe as io_arg), the
 * client's side is these functions, called by the test.
 *
 * Bytes the client writes wait for the reader; bytes the writer sends
 * wait for the client, and the writer may send only as many as the test
 * allows (test_pipe_set_room: a full socket is room 0).  Every wait of the
 * server's side is on the clock in use (deadline.h, the test clock), and
 * every wait of the client's side is bounded in real time
 * (TEST_PIPE_BOUND_MS), failing the test rather than hanging.
 *
 * Where what the reader reads goes: PIPE_ECHO plays a hub of one client
 * at once, on the read thread (a data message goes straight back on the
 * client's own send channel; the unregister closes it), so that nothing
 * happens behind the test's back; PIPE_HUB hands both to a real hub.
 */
#ifndef TEST_SUPPORT_PIPE_H
#define TEST_SUPPORT_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wshub/conn.h"
#include "wshub/hub.h"

#define TEST_PIPE_BOUND_MS 10000

enum test_pipe_hub { PIPE_ECHO, PIPE_HUB };

struct test_pipe;

extern const struct conn_io test_pipe_io;

/* A pipe whose writer may send nothing yet (room 0); `hub` for PIPE_HUB. */
struct test_pipe *test_pipe_new(enum test_pipe_hub mode, hub_t *hub);
void test_pipe_free(struct test_pipe *p);

/* ---- the client's side: the test thread -------------------------------- */

/* Bytes for the reader; a masked client frame (payload < 126 bytes). */
void test_pipe_write(struct test_pipe *p, const void *buf, size_t len);
void test_pipe_write_frame(struct test_pipe *p, int opcode,
    const void *payload, size_t len);
/* The client closes its side: the reader reads EOF once the bytes are
 * read. */
void test_pipe_eof(struct test_pipe *p);

/* How many more bytes the writer may send (SIZE_MAX: any number). */
void test_pipe_set_room(struct test_pipe *p, size_t room);

/* Reads exactly `len` bytes the writer sent: 0, or -1 if they did not
 * come (the server shut its side, or TEST_PIPE_BOUND_MS passed). */
int test_pipe_read(struct test_pipe *p, void *buf, size_t len);

/* One whole frame the writer sent: 0 with its opcode and payload (up to
 * `cap` bytes kept, *len the whole length), or -1 as test_pipe_read. */
int test_pipe_read_frame(struct test_pipe *p, int *opcode, uint8_t *payload,
    size_t cap, size_t *len);

/* Bytes the writer sent that the client has not read. */
size_t test_pipe_unread(struct test_pipe *p);

/* Waits (bounded) until `n` threads sleep in wait_writable (`writable`)
 * or in wait_readable: true if they did. */
bool test_pipe_await_waiters(struct test_pipe *p, bool writable, int n);

/* Waits (bounded) until the reader has read every byte the client wrote
 * and sleeps again, waiting for more: true if it did. */
bool test_pipe_await_consumed(struct test_pipe *p);

/* Whether the server shut its sending side (SHUT_WR or SHUT_RDWR). */
bool test_pipe_server_shut(struct test_pipe *p);

/* How many times the connection unregistered. */
int test_pipe_unregisters(struct test_pipe *p);

#endif
