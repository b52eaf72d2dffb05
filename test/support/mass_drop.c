/* The mass-drop scenario (see mass_drop.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/mass_drop.h"
#include "support/testserver.h"
#include "support/wsclient.h"
#include "wshub/msg.h"
#include "wshub/stats.h"
#include "wshub/xmalloc.h"

#define MESSAGE_BYTES 8192

static int
fail(const char *what, int n)
{
	fprintf(stderr, "mass drop: %s (%d)\n", what, n);
	return -1;
}

/* Sends message i and reads it back; 0, or -1 if it did not come in order. */
static int
round_trip(int fd, uint8_t *msg, int i)
{
	struct ws_frame f;
	int got = -1;

	memcpy(msg, &i, sizeof(i));
	if (ws_send(fd, 0x2, msg, MESSAGE_BYTES) != 0 ||
	    ws_recv(fd, &f, WS_TIMEOUT_MS * 4) != 0)
		return -1;
	if (f.opcode == 0x2 && f.len == MESSAGE_BYTES)
		memcpy(&got, f.payload, sizeof(got));
	ws_frame_free(&f);
	return got == i ? 0 : -1;
}

/* Broadcasts until every stuck client was dropped; the count sent, or -1. */
static int
broadcast_until_dropped(struct test_server *ts, int fd, int stuck, int max)
{
	uint8_t *msg = xcalloc(1, MESSAGE_BYTES);
	atomic_long *drops = &test_server_stats(ts)->slow_client_drops;
	int i;

	for (i = 0; i < max && stats_get(drops) < stuck; i++)
		if (round_trip(fd, msg, i) != 0) {
			free(msg);
			return fail("the reading client lost message", i);
		}
	free(msg);
	return i;
}

int
mass_drop_run(int stuck, int max_messages)
{
	struct test_server ts;
	int *fds = xcalloc((size_t)stuck, sizeof(*fds));
	long live = msg_live();
	int reader, rc = 0;

	test_server_init(&ts);
	ts.cfg.send_queue = 4;
	ts.cfg.write_timeout_ms = 400;
	test_server_start(&ts);
	for (int i = 0; i < stuck; i++)
		if ((fds[i] = ws_open_rcvbuf(ts.port, 4096)) < 0)
			rc = fail("cannot connect stuck client", i);
	if ((reader = ws_open(ts.port)) < 0)
		rc = fail("cannot connect the reader", 0);
	if (rc == 0 && !test_wait_counter(&test_server_stats(&ts)->clients,
	    stuck + 1, WS_TIMEOUT_MS * 4))
		rc = fail("clients never all registered", stuck + 1);
	if (rc == 0 && broadcast_until_dropped(&ts, reader, stuck,
	    max_messages) < 0)
		rc = -1;
	if (stats_get(&test_server_stats(&ts)->slow_client_drops) != stuck)
		rc = fail("stuck clients dropped",
		    (int)stats_get(&test_server_stats(&ts)->slow_client_drops));
	for (int i = 0; i < stuck; i++) {
		if (fds[i] >= 0 && !ws_wait_eof(fds[i], WS_TIMEOUT_MS * 4))
			rc = fail("a dropped client's connection stayed open", i);
		close(fds[i]);
	}
	close(reader);
	test_server_stop(&ts);
	if (msg_live() != live)
		rc = fail("messages never freed", (int)(msg_live() - live));
	free(fds);
	return rc;
}
