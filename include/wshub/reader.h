/*
 * reader — a connection's read thread (Go: the client's readPump).
 *
 * DESIGN
 * The read thread alone owns the connection's wslay event context (wslay
 * contexts are not thread-safe), and holds one only while a frame or a
 * fragmented message is half-read: it makes one when bytes arrive and
 * frees it before it waits again with nothing half-read, so an idle
 * connection holds no parser (8.6 KiB).  It reads frames through the
 * connection's conn_io (the socket, or a simulation), sends each data
 * message to the hub as one frame shared by every recipient, hands the
 * pongs wslay produces to the write thread on the send channel's priority
 * lane, and leaves a close frame (the echo of the peer's, or its verdict
 * on bad input) for the writer to send once the queue is drained: a close
 * never overtakes a message queued before it.  It never writes to the
 * socket.
 *
 * Every frame extends the read deadline by --pong-timeout; when it passes,
 * the reader gives up on the peer (1001, "pong timeout").  When it stops,
 * it starts cleanup (conn_unregister_once), reads and discards until the peer
 * closes TCP or --shutdown-timeout passes, and tells the writer it is done.
 */
#ifndef WSHUB_READER_H
#define WSHUB_READER_H

#include "wshub/conn.h"

/*
 * The read thread's body: reads `conn` (a conn_t *, whose reference the
 * thread shares with the writer) until it is done, as described above.
 * Started by conn_start; returns NULL.  The fuzz target calls it on its
 * own thread with a simulated conn_io.
 */
void *reader_main(void *conn);

#endif
