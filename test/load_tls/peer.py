#!/usr/bin/python3
"""A broadcast hub over TLS (wss://), for testing wshub-load's wss://
client against something other than wshub.

usage: /usr/bin/python3 test/load_tls/peer.py --cert PEM --key PEM
                                              [--slow-ms MS] [--lifetime S]

Listens on 127.0.0.1, on a free port, with Debian's python3-websockets over
Python's ssl (TLS 1.2 and 1.3, ALPN http/1.1), and prints `peer: listening
on 127.0.0.1:PORT` on stdout once it accepts.  The request path is the
room: every message, text or binary, goes to every connection of its
sender's room, the sender included, one frame per message, as wshub sends
them.  With --slow-ms it waits MS milliseconds before it handles each
message and reads ahead by one message only, so a fast sender's socket
fills and its sends block (back-pressure, as from a busy server).

On SIGTERM or SIGINT it prints `peer: N messages in, D deliveries out, H
TLS handshakes, A ALPN http/1.1, S SNI NAME` on stderr (S: how many
handshakes named the last server name NAME seen in SNI, or 0 SNI -) and
exits 0.  It also exits by
itself after --lifetime seconds, so a test that dies cannot leave it behind.
"""

import argparse
import asyncio
import signal
import ssl
import sys

import websockets


class Peer:
    def __init__(self, slow_s):
        self.slow_s = slow_s
        self.rooms = {}  # path -> set of connections
        self.messages_in = 0
        self.deliveries_out = 0
        self.handshakes = 0
        self.alpn = 0
        self.sni = 0
        self.sni_name = "-"

    def saw_sni(self, ssl_object, name, ctx):
        """ssl's SNI callback: counts the handshakes that named a host."""
        if name is not None:
            self.sni += 1
            self.sni_name = name

    async def handler(self, ws, path):
        """One connection: joins its room, and every message it sends
        goes to the whole room."""
        self.handshakes += 1
        ssl_object = ws.transport.get_extra_info("ssl_object")
        if ssl_object is not None and \
                ssl_object.selected_alpn_protocol() == "http/1.1":
            self.alpn += 1
        room = self.rooms.setdefault(path, set())
        room.add(ws)
        try:
            async for msg in ws:
                if self.slow_s > 0:
                    await asyncio.sleep(self.slow_s)
                self.messages_in += 1
                websockets.broadcast(room, msg)
                self.deliveries_out += len(room)
        except websockets.ConnectionClosed:
            pass
        finally:
            room.discard(ws)
            if not room:
                del self.rooms[path]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--slow-ms", type=float, default=0)
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    peer = Peer(args.slow_ms / 1000)
    ctx.sni_callback = peer.saw_sni
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(
            sig, lambda: stop.done() or stop.set_result(None))
    async with websockets.serve(peer.handler, "127.0.0.1", 0, ssl=ctx,
                                max_size=2 ** 20 + 1024,
                                max_queue=1 if args.slow_ms else 32) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"peer: listening on 127.0.0.1:{port}", flush=True)
        try:
            await asyncio.wait_for(stop, args.lifetime)
        except asyncio.TimeoutError:
            print("peer: lifetime over", file=sys.stderr)
    print(f"peer: {peer.messages_in} messages in, {peer.deliveries_out} "
          f"deliveries out, {peer.handshakes} TLS handshakes, {peer.alpn} "
          f"ALPN http/1.1, {peer.sni} SNI {peer.sni_name}", file=sys.stderr)


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    asyncio.run(main())
