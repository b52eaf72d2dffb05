#!/usr/bin/python3
"""The wshub binary over TLS with clients nobody here wrote: Python's
ssl module and Debian's python3-websockets speak wss:// and https:// to
`wshub --tls-cert --tls-key`, with a certificate openssl makes for the
run.  Two users chat in a room and a third elsewhere does not hear them;
the chat page, /stats and /metrics come over https; plain HTTP on the TLS
port is closed and counted and the server goes on; SIGTERM gives every
client 1001 and the server exits 0.

Usage: WSHUB=build/wshub /usr/bin/python3 test/tls/run.py
Output: one ok/FAIL line per check, then "tls: N passed, M failed".
Every wait is bounded (WAIT_S).
"""
import asyncio
import json
import os
import socket
import ssl
import sys
import tempfile
import urllib.request

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from wshub_process import WshubProcess, describe_status, make_tls_pair  # noqa: E402

WAIT_S = 10.0


def https_get(port, path, ctx):
    url = "https://localhost:%d%s" % (port, path)
    with urllib.request.urlopen(url, context=ctx, timeout=WAIT_S) as r:
        return r.status, r.read().decode()


async def chat(port, ctx, check):
    """Two users in room red, one in blue: red's messages reach red."""
    url = "wss://localhost:%d/ws/" % port
    async with websockets.connect(url + "red", ssl=ctx) as a, \
            websockets.connect(url + "red", ssl=ctx) as b, \
            websockets.connect(url + "blue", ssl=ctx) as c:
        await a.send("hello from a")
        got = await asyncio.wait_for(asyncio.gather(a.recv(), b.recv()), WAIT_S)
        check("wss: a's message reaches a and b", got == ["hello from a"] * 2, repr(got))
        await c.send("blue only")
        got = await asyncio.wait_for(c.recv(), WAIT_S)
        check("wss: c hears its own room first, not red", got == "blue only", repr(got))
        big = bytes(range(256)) * 200  # 51 KB: four records
        await b.send(big)
        got = await asyncio.wait_for(asyncio.gather(a.recv(), b.recv()), WAIT_S)
        check("wss: a 51 KB binary message arrives whole", got == [big, big])


async def wait_1001(ws):
    try:
        await asyncio.wait_for(ws.recv(), WAIT_S)
    except websockets.ConnectionClosed:
        pass
    return ws.close_code


async def shutdown(server, port, ctx, check):
    """SIGTERM with two clients connected: both get 1001."""
    url = "wss://localhost:%d/ws" % port
    async with websockets.connect(url, ssl=ctx) as a, websockets.connect(url, ssl=ctx) as b:
        await a.send("ping")
        await asyncio.wait_for(asyncio.gather(a.recv(), b.recv()), WAIT_S)
        server.terminate()
        codes = await asyncio.gather(wait_1001(a), wait_1001(b))
        check("SIGTERM: both wss clients get 1001", codes == [1001, 1001], repr(codes))


def plain_http_refused(port):
    """Plain HTTP on the TLS port: a 400 in plain text, then the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as s:
        s.sendall(b"GET /stats HTTP/1.1\r\nHost: t\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data.startswith(b"HTTP/1.1 400 ") and b"https://" in data
            data += chunk


def main():
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail), flush=True)
        passed, failed = passed + ok, failed + (not ok)

    with tempfile.TemporaryDirectory(prefix="wshub-tls-") as d:
        cert, key = make_tls_pair(d)
        ctx = ssl.create_default_context(cafile=cert)
        server = WshubProcess(os.environ.get("WSHUB", "build/wshub"),
                              flags=["--tls-cert", cert, "--tls-key", key])
        try:
            port = server.start()[1]
            status, page = https_get(port, "/", ctx)
            check("https: the chat page", status == 200 and "<html" in page.lower(),
                  "status %d" % status)
            check("https: the page picks wss:// by itself",
                  'location.protocol === "https:" ? "wss://"' in page)
            asyncio.run(chat(port, ctx, check))
            check("plain HTTP on the TLS port gets a 400 that says https://",
                  plain_http_refused(port))
            status, body = https_get(port, "/stats", ctx)
            stats = json.loads(body)
            check("https: /stats counts the handshakes and the refused one",
                  stats["tls_handshakes"] >= 5 and stats["tls_handshake_failures"] == 1,
                  body)
            status, body = https_get(port, "/metrics", ctx)
            check("https: /metrics has wshub_tls_handshakes_total",
                  "\nwshub_tls_handshakes_total " in body, body[-300:])
            asyncio.run(shutdown(server, port, ctx, check))
        except (AssertionError, OSError, RuntimeError, ssl.SSLError,
                websockets.WebSocketException, asyncio.TimeoutError, KeyError,
                ValueError) as e:
            check("the scenario ran to the end", False, "%r%s" % (e, server.tail()))
        finally:
            code = server.stop()
            check("SIGTERM: exit 0", code == 0, describe_status(code) + server.tail())
    print("tls: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
