#!/usr/bin/python3
"""A broadcast server that joins messages with '\\n', as Gorilla's chat
example does, for testing wshub-load --split-lines against something that
is not wshub.

usage: /usr/bin/python3 test/split_lines/peer.py [--flush-ms MS]
                                                 [--lifetime S]

Listens on 127.0.0.1, on a free port, with Debian's python3-websockets,
and prints `peer: listening on 127.0.0.1:PORT` on stdout once it accepts.
Every text message from any client is queued for every client, the sender
included, as Gorilla's hub does.  Each client has one writer, like
Gorilla's writePump: it waits for a queued message, waits --flush-ms more
so that others pile up behind it, then sends everything queued as one
text frame, the messages joined with '\\n' (writePump joins whatever is
queued when it writes; the wait makes sure that is several).

The path picks the framing: /ws joins as Gorilla does ("a\\nb\\nc");
/nl ends every message with '\\n' ("a\\nb\\nc\\n"), as a server that
writes lines would.

On SIGTERM or SIGINT it prints `peer: N messages in, F frames out, L
lines out` on stderr and exits 0.  It also exits by itself after
--lifetime seconds, so a test that dies cannot leave it behind.
"""

import argparse
import asyncio
import signal
import sys

import websockets


class Peer:
    def __init__(self, flush_s):
        self.flush_s = flush_s
        self.clients = {}  # websocket -> its outgoing queue (a list)
        self.wakeups = {}  # websocket -> asyncio.Event set on queueing
        self.messages_in = 0
        self.frames_out = 0
        self.lines_out = 0

    async def writer(self, ws, trailing):
        """Gorilla's writePump: one frame per wake-up, every queued
        message in it."""
        queue, wake = self.clients[ws], self.wakeups[ws]
        while True:
            await wake.wait()
            await asyncio.sleep(self.flush_s)
            wake.clear()
            batch = queue[:]
            del queue[:]
            frame = "\n".join(batch) + ("\n" if trailing else "")
            await ws.send(frame)
            self.frames_out += 1
            self.lines_out += len(batch)

    async def handler(self, ws, path):
        """Gorilla's readPump and hub: every message to every client."""
        self.clients[ws], self.wakeups[ws] = [], asyncio.Event()
        task = asyncio.ensure_future(self.writer(ws, path == "/nl"))
        try:
            async for msg in ws:
                if not isinstance(msg, str):
                    continue
                self.messages_in += 1
                for other, queue in self.clients.items():
                    queue.append(msg)
                    self.wakeups[other].set()
        except websockets.ConnectionClosed:
            pass
        finally:
            task.cancel()
            del self.clients[ws], self.wakeups[ws]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flush-ms", type=float, default=10)
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()
    peer = Peer(args.flush_ms / 1000)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(
            sig, lambda: stop.done() or stop.set_result(None))
    async with websockets.serve(peer.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"peer: listening on 127.0.0.1:{port}", flush=True)
        try:
            await asyncio.wait_for(stop, args.lifetime)
        except asyncio.TimeoutError:
            print("peer: lifetime over", file=sys.stderr)
    print(f"peer: {peer.messages_in} messages in, {peer.frames_out} frames "
          f"out, {peer.lines_out} lines out", file=sys.stderr)


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    asyncio.run(main())
