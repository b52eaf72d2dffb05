/*
 * writer — a connection's write thread (Go: the client's writePump).
 *
 * DESIGN
 * The write thread is the only thread that writes to the connection's
 * socket.  It blocks on the send channel, writes up to 15 queued frames
 * (and a ping when one is due) with one sendmsg(2) (a gathered write,
 * like writev(2), that cannot raise SIGPIPE), and pings every --ping-interval even when the queue
 * never empties.  Once the hub closes the channel, it sends what is still
 * queued (unless the client was dropped as slow), then one close frame
 * (the reader's, or its own), half-closes, waits briefly for the peer's
 * close, joins the read thread and hands the connection to the reaper.
 * While it waits for room in a full socket it says so (stalled_since_ms),
 * which is how the hub tells a client that stopped reading from one whose
 * writer has not run yet.
 */
#ifndef WSHUB_WRITER_H
#define WSHUB_WRITER_H

/*
 * The write thread's body, for `conn` (a conn_t *): as described above.
 * Started by conn_start; returns NULL after handing the connection to the
 * reaper channel, whose thread joins it.
 */
void *writer_main(void *conn);

#endif
