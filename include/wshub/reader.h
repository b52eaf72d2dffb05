/*
 * reader — a connection's read thread (Go: the client's readPump).
 *
 * DESIGN
 * The read thread alone owns the connection's wslay event context (wslay
 * contexts are not thread-safe) from the moment it starts; conn_new made
 * it (reader_prepare).  It reads frames through the
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
 * Makes the wslay server context reader_main will read `conn` with (its
 * limit: --max-message).  conn_new calls it, on the front door's thread,
 * so that a read thread whose peer sends no message allocates nothing:
 * glibc gives each thread that allocates a cache of its own (0.6 KiB,
 * kept while the thread lives).  Aborts if out of memory.
 */
void reader_prepare(conn_t *conn);

/*
 * The read thread's body: reads `conn` (a conn_t *, whose reference the
 * thread shares with the writer) until it is done, as described above.
 * Started by conn_start; returns NULL.  The fuzz target calls it on its
 * own thread with a simulated conn_io.
 */
void *reader_main(void *conn);

#endif
