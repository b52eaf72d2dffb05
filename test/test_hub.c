/* The hub over real sockets: broadcast to everyone, bursts, slow clients
 * dropped, shutdown.  (Without sockets: test_hub_channels.c.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support/expect.h"
#include "support/fixture.h"
#include "support/testserver.h"
#include "support/wsclient.h"
#include "wshub/xmalloc.h"

Test(hub, every_message_reaches_every_client_with_its_type, .init = start,
    .fini = stop, .timeout = 30)
{
	int c[3];
	const uint8_t bin[] = { 0, 1, 2, 255 };

	for (int i = 0; i < 3; i++)
		cr_assert_geq(c[i] = ws_open(ts.port), 0);
	expect_clients(&ts, 3);
	ws_send(c[0], 0x1, "hello", 5);
	for (int i = 0; i < 3; i++)
		expect_frame(c[i], 0x1, "hello", 5);
	ws_send(c[1], 0x2, bin, sizeof(bin));
	for (int i = 0; i < 3; i++)
		expect_frame(c[i], 0x2, bin, sizeof(bin));
	/* One client leaves; the others go on. */
	ws_send_close(c[2], 1000, "bye");
	cr_assert_eq(ws_recv_close(c[2], NULL), 1000, "the close is echoed");
	cr_assert(ws_wait_eof(c[2], WS_TIMEOUT_MS), "then TCP is closed");
	close(c[2]);
	expect_clients(&ts, 2);
	ws_send(c[1], 0x1, "still here", 10);
	expect_frame(c[0], 0x1, "still here", 10);
	expect_frame(c[1], 0x1, "still here", 10);
	close(c[0]);
	close(c[1]);
}

Test(hub, a_burst_of_messages_in_one_write_all_arrive_in_order,
    .init = start, .fini = stop, .timeout = 30)
{
	enum { N = 200 }; /* under --send-queue: none can be a slow client */
	uint8_t burst[N * 10];
	size_t len = 0;
	int fd = ws_open(ts.port);

	for (int i = 0; i < N; i++) { /* masked 4-byte binary frames */
		burst[len++] = 0x82;
		burst[len++] = 0x84;
		memset(burst + len, 0, 4); /* a zero mask */
		len += 4;
		memcpy(burst + len, &i, 4);
		len += 4;
	}
	cr_assert_eq(ws_write_all(fd, burst, len), 0);
	for (int i = 0; i < N; i++)
		expect_frame(fd, 0x2, &i, 4);
	close(fd);
}

/*
 * The hub's rule over real sockets: a client that stops reading is
 * dropped by the hub (the stall rule, client_is_slow), which says 1008
 * once the socket takes it, while the fast client gets everything.  The
 * write timeout would drop it too, but silently (its writer gives up
 * mid-frame: no close frame), so the 1008 proves the hub's rule did it.
 * The write timeout is long (the stall rule fires at half of it), so the
 * slow client has seconds to start reading after the drop; each rule at
 * its boundary is proved without sockets in test_conn_rules.c.
 */
Test(hub, slow_client_is_dropped_fast_client_gets_everything,
    .timeout = 90)
{
	enum { SIZE = 16384 };
	char *msg = xmalloc(SIZE);
	int fast, slow, i;
	struct ws_frame f;

	test_server_init(&ts);
	ts.cfg.send_queue = 4;
	ts.cfg.write_timeout_ms = 16000; /* the stall rule: 8 s */
	test_server_start(&ts);
	fast = ws_open(ts.port);
	slow = ws_open_rcvbuf(ts.port, 4096); /* and it stops reading */
	expect_clients(&ts, 2);
	/* The hub looks at a client when it has something for it: send until
	 * the slow one is dropped (its writer stuck for 8 s; the socket's
	 * buffers fill within the first 32). */
	for (i = 0; test_server_stats(&ts)->slow_client_drops == 0; i++) {
		memset(msg, 'a' + i % 26, SIZE);
		memcpy(msg, &i, sizeof(i));
		cr_assert_eq(ws_send(fast, 0x2, msg, SIZE), 0);
		cr_assert_eq(ws_recv(fast, &f, WS_TIMEOUT_MS), 0, "message %d", i);
		cr_assert_eq(f.len, SIZE);
		cr_assert_eq(memcmp(f.payload, msg, SIZE), 0, "message %d in order", i);
		ws_frame_free(&f);
		/* Paced, so the queue stays far below its hard limits (4 MB:
		 * 256 of these, 25 s at this pace) and only the stall rule (or
		 * the write timeout) can drop the slow client. */
		if (i >= 32)
			usleep(100 * 1000);
	}
	expect_clients(&ts, 1);
	cr_assert_eq(ws_recv_close(slow, NULL), 1008,
	    "the hub's verdict, not the write timeout's silence");
	cr_assert_eq(test_server_stats(&ts)->slow_client_drops, 1);
	close(slow);
	close(fast);
	free(msg);
	test_server_stop(&ts);
}

Test(hub, shutdown_sends_1001_to_every_client, .timeout = 30)
{
	int c[3];

	test_server_init(&ts);
	/* Long enough for three replies in turn on a slow machine; the
	 * server ends as soon as the last is in. */
	ts.cfg.shutdown_timeout_ms = 20000;
	test_server_start(&ts);
	for (int i = 0; i < 3; i++)
		c[i] = ws_open(ts.port);
	expect_clients(&ts, 3);
	server_stop(ts.server);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(ws_recv_close(c[i], NULL), 1001);
		ws_send_close(c[i], 1001, NULL);
		cr_assert(ws_wait_eof(c[i], WS_TIMEOUT_MS));
		close(c[i]);
	}
	pthread_join(ts.thread, NULL);
	/* The server waited for each reply: ended with 1001, not 1006. */
	cr_assert_eq(stats_get(&test_server_stats(&ts)->closes[1]), 3,
	    "closes with code %d", stats_close_codes[1]);
	server_free(ts.server);
}
