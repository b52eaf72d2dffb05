#!/usr/bin/python3
"""Interoperability of wshub with two real client libraries nobody here
wrote: Debian's python3-websockets (asyncio) and Node's `ws` (node-ws).

Usage:
    /usr/bin/python3 test/interop/run.py [--tls] [-v]

Starts one `$WSHUB --port 0 --max-message 2097152` (WSHUB defaults to
build/wshub; test/support/wshub_process.py starts it), connects several
clients of each library at once (the Node ones live in
test/interop/peer.js, driven over a pipe), and checks:

- text and binary messages from 0 bytes to 1 MiB, Python to everyone and
  Node to everyone, arrive whole, with their type, exactly once;
- fragmented messages from both libraries (Node's text fragments are cut at
  arbitrary bytes, so some split a UTF-8 character) arrive as one message;
- a burst from every client at once reaches every client in one and the
  same order, each sender's messages in the order sent;
- the close handshake with 1000 and with a 4xxx application code: the code
  each library reports, and the code and reason the server logged;
- SIGTERM: every remaining client of both libraries sees 1001, and the
  server exits 0.

With --tls the server gets a throwaway certificate (--tls-cert, --tls-key)
and everything above runs over wss://, both libraries verifying it.

Prints a line per check and last `interop: N passed, M failed`; exit
status 0 when nothing failed.  Every wait has a timeout and the whole run
is bounded (RUN_TIMEOUT_S), so a hang fails instead of blocking the suite.
"""

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import ssl
import sys
import tempfile
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from wshub_process import WshubProcess, make_tls_pair, wshub_path  # noqa: E402

MAX_MESSAGE = 2 * 1024 * 1024
SIZES = [0, 1, 125, 126, 65535, 65536, 1024 * 1024]
CLIENTS_PER_LIBRARY = 4
BURST = 50               # messages per client in the burst check
WAIT_S = 20.0            # any one wait (the ASan build is slow)
STOP_TIMEOUT_S = 15.0
RUN_TIMEOUT_S = 240.0
NODE = "/usr/bin/node"               # Debian's nodejs, whatever else is on PATH
WS_MODULE = "/usr/share/nodejs/ws"   # Debian's node-ws, handed to peer.js
SHORT_TEXT = 64


class CheckFailed(Exception):
    """A check's expectation did not hold; str() says what happened."""


# ------------------------------------------------------------- messages

def describe(data, binary):
    """What peer.js reports for a message: type, length, SHA-256."""
    raw = data if binary else data.encode("utf-8")
    m = {"b": binary, "n": len(raw), "h": hashlib.sha256(raw).hexdigest()}
    if not binary and len(raw) <= SHORT_TEXT:
        m["t"] = data
    return m


def show(m):
    kind = "binary" if m["b"] else "text"
    extra = " %r" % m["t"] if "t" in m else " sha256 %s.." % m["h"][:12]
    return "%s %d bytes%s" % (kind, m["n"], extra)


def make_text(rng, size):
    """A str whose UTF-8 form is exactly size bytes, with 2-, 3- and 4-byte
    characters mixed into ASCII."""
    tokens = [chr(c) for c in range(0x21, 0x7F)] + ["é", "€", "😀"]
    weights = [1] * 94 + [12, 8, 4]
    raw = "".join(rng.choices(tokens, weights, k=size)).encode("utf-8")
    text = raw[:size].decode("utf-8", "ignore")
    return text + "x" * (size - len(text.encode("utf-8")))


def split_text(text, parts, rng):
    """text in `parts` str fragments cut at random character positions
    (websockets encodes each fragment on its own, so a str cannot split a
    character; peer.js does that on the Node side)."""
    cuts = sorted(rng.randrange(len(text) + 1) for _ in range(parts - 1))
    return [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]


# -------------------------------------------------------------- the server

# --tls: the certificate the clients trust, and Python's context for it.
TLS = {"ca": None, "ctx": None}


class Server(WshubProcess):
    """wshub as a child process (wshub_process: its stderr lines are kept
    for the log checks and for the report when something fails), with
    the waits this asyncio runner needs; the blocking ones run on a worker
    thread so the clients' tasks keep running."""

    def __init__(self, path, flags=()):
        super().__init__(path, ["--max-message", str(MAX_MESSAGE)] + list(flags))

    def tail(self, n=15):
        """The last n stderr lines, after how the server ended if it has."""
        ended = self.dead()
        return ("\n    the server %s" % ended if ended else "") + super().tail(n)

    async def stats(self):
        """GET /stats (over TLS with --tls); the JSON as a dict."""
        reader, writer = await asyncio.open_connection(
            *self.addr, ssl=TLS["ctx"], server_hostname="localhost" if TLS["ctx"] else None)
        writer.write(b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), WAIT_S)
        writer.close()
        return json.loads(data.split(b"\r\n\r\n", 1)[1])

    async def wait_clients(self, want):
        """The /stats JSON once it counts `want` clients (the hub counts a
        client when it handles the registration, which may be just after
        the client read its 101); CheckFailed after WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while True:
            stats = await self.stats()
            if stats["clients"] == want:
                return stats
            if time.monotonic() > deadline:
                raise CheckFailed("/stats says %d clients, expected %d"
                                  % (stats["clients"], want))
            await asyncio.sleep(0.01)

    async def wait_exit(self, timeout):
        """The exit status, or None if it still runs after timeout."""
        return await asyncio.to_thread(self.wait, timeout)

    async def log_line(self, pattern, timeout=WAIT_S):
        """The first stderr line matching pattern, waiting for it."""
        return await asyncio.to_thread(self.wait_line, pattern, timeout)


# ----------------------------------------------------- the Python clients

class PyClient:
    """A websockets client whose messages are collected by a task."""

    def __init__(self, label, ws):
        self.label = label
        self.ws = ws
        self.msgs = []
        self.changed = asyncio.Event()
        self.ended = None        # the ConnectionClosed that ended recv
        self.port = ws.local_address[1]
        self.task = asyncio.ensure_future(self._recv())

    @classmethod
    async def connect(cls, url, label):
        ws = await asyncio.wait_for(
            websockets.connect(url, max_size=4 * MAX_MESSAGE, ping_interval=None,
                               close_timeout=WAIT_S, ssl=TLS["ctx"]), WAIT_S)
        return cls(label, ws)

    async def _recv(self):
        try:
            async for data in self.ws:
                binary = not isinstance(data, str)
                self.msgs.append(describe(data, binary))
                self.changed.set()
        except websockets.ConnectionClosed as e:
            self.ended = e
        self.ended = self.ended or "closed"
        self.changed.set()

    async def take(self, count, timeout=WAIT_S):
        """The next count messages (fewer if the time runs out)."""
        deadline = time.monotonic() + timeout
        while len(self.msgs) < count and self.ended is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                break
        taken, self.msgs = self.msgs[:count], self.msgs[count:]
        return taken


# ------------------------------------------------------- the Node clients

class NodePeer:
    """peer.js as a child process, one JSON command and reply per line."""

    def __init__(self, proc):
        self.proc = proc
        self.next_id = 0
        self.lock = asyncio.Lock()   # one command at a time on the pipe

    @classmethod
    async def start(cls, url):
        if not os.access(NODE, os.X_OK):
            raise RuntimeError("%s is missing: install Debian's nodejs "
                               "(scripts/install-deps.sh)" % NODE)
        # Only Debian's node-ws, by its full path: no module search path.
        env = {k: v for k, v in os.environ.items() if k != "NODE_PATH"}
        probe = await asyncio.create_subprocess_exec(
            NODE, "-e", "require(%s)" % json.dumps(WS_MODULE), env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        if await probe.wait() != 0:
            raise RuntimeError("%s cannot load %s: install Debian's node-ws "
                               "(scripts/install-deps.sh)" % (NODE, WS_MODULE))
        proc = await asyncio.create_subprocess_exec(
            NODE, os.path.join(HERE, "peer.js"), url, WS_MODULE,
            *([TLS["ca"]] if TLS["ca"] else []), env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=16 * 1024 * 1024)
        return cls(proc)

    async def cmd(self, name, timeout=WAIT_S + 5, **args):
        async with self.lock:
            return await self._cmd(name, timeout, args)

    async def _cmd(self, name, timeout, args):
        self.next_id += 1
        args.update(cmd=name, id=self.next_id)
        self.proc.stdin.write((json.dumps(args) + "\n").encode())
        await self.proc.stdin.drain()
        deadline = time.monotonic() + timeout
        while True:  # skip the late replies of commands that timed out
            try:
                line = await asyncio.wait_for(self.proc.stdout.readline(),
                                              max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise CheckFailed("the Node peer did not answer %r within %gs"
                                  % (name, timeout))
            if not line:
                err = await self.proc.stderr.read()
                raise CheckFailed("the Node peer exited: %s"
                                  % err.decode(errors="replace")[-2000:])
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                break
        if not reply.get("ok"):
            raise CheckFailed("Node peer: %s failed: %s" % (name, reply.get("error")))
        return reply

    async def quit(self):
        if self.proc.returncode is not None:
            return
        try:
            await self.cmd("quit", timeout=5)
        except (CheckFailed, BrokenPipeError, ConnectionResetError):
            pass
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except asyncio.TimeoutError:
            self.proc.kill()


# ------------------------------------------------------------------ checks

async def both(*aws):
    """Like gather, but every awaitable runs to its end before the first
    error is raised, so nothing is left running behind a failed check."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


class Run:
    """State shared by the checks: the server, both sides' clients."""

    def __init__(self, server, node, verbose):
        self.server = server
        self.node = node
        self.verbose = verbose
        self.py = []            # PyClient, index = position
        self.node_ports = []    # local port of each Node client
        self.node_open = []     # indexes of Node clients still open
        self.passed = 0
        self.failed = 0
        self.at_sigterm = []    # local ports of the clients open at SIGTERM
        self.rng = random.Random(6455)

    async def check(self, name, coro):
        t0 = time.monotonic()
        try:
            note = await coro
        except CheckFailed as e:
            self.failed += 1
            print("FAILED %s: %s" % (name, e), flush=True)
            return False
        except (OSError, websockets.WebSocketException, asyncio.TimeoutError) as e:
            self.failed += 1
            print("FAILED %s: %s: %s%s" % (name, type(e).__name__, e,
                                           self.server.tail()), flush=True)
            return False
        self.passed += 1
        ms = 1000 * (time.monotonic() - t0)
        print("ok   %s%s (%.0f ms)" % (name, " - " + note if note else "", ms), flush=True)
        return True

    def py_open(self):
        return [c for c in self.py if c.ended is None]

    async def receive_all(self, count):
        """count messages from every open client of both sides:
        {label: [msg, ...]}."""
        py_open = self.py_open()
        py_res = await asyncio.gather(*(c.take(count) for c in py_open))
        reply = await self.node.cmd("take", clients=self.node_open, count=count,
                                    timeout_ms=int(WAIT_S * 1000))
        got = {c.label: m for c, m in zip(py_open, py_res)}
        for i, m in zip(self.node_open, reply["msgs"]):
            got["node%d" % i] = m
        return got

    async def expect_everyone(self, want, what):
        """Every open client receives exactly the messages in want, in order."""
        got = await self.receive_all(len(want))
        for label, msgs in sorted(got.items()):
            if len(msgs) < len(want):
                raise CheckFailed("%s: %s: got %d of %d messages (%s)"
                                  % (what, label, len(msgs), len(want),
                                     ", ".join(show(m) for m in msgs[-3:]) or "none"))
            for i, (g, w) in enumerate(zip(msgs, want)):
                if g != w:
                    raise CheckFailed("%s: %s: message %d is %s, expected %s"
                                      % (what, label, i, show(g), show(w)))
        return len(got)

    # -- the checks themselves

    async def connect_all(self, url):
        labels = ["py%d" % i for i in range(CLIENTS_PER_LIBRARY)]
        self.py, reply = await both(
            asyncio.gather(*(PyClient.connect(url, l) for l in labels)),
            self.node.cmd("open", n=CLIENTS_PER_LIBRARY))
        self.node_ports = reply["ports"]
        self.node_open = list(range(CLIENTS_PER_LIBRARY))
        await self.server.wait_clients(2 * CLIENTS_PER_LIBRARY)
        return "websockets %s, ws %s" % (websockets.__version__, reply["version"])

    async def py_sends(self, binary, sizes, fragments=1):
        sender = self.py[0]
        for size in sizes:
            if binary:
                data = self.rng.randbytes(size)
                parts = [data[i * size // fragments:(i + 1) * size // fragments]
                         for i in range(fragments)]
            else:
                data = make_text(self.rng, size)
                parts = split_text(data, fragments, self.rng)
            if self.verbose:
                print("  py0 sends %s" % show(describe(data, binary)), flush=True)
            await sender.ws.send(parts if fragments > 1 else data)
            await self.expect_everyone([describe(data, binary)],
                                       "%d bytes from py0" % size)
        return "%d sizes to %d clients" % (len(sizes), len(self.py_open()) + len(self.node_open))

    async def node_sends(self, binary, sizes, fragments=1):
        for size in sizes:
            reply = await self.node.cmd("send", client=0, binary=binary,
                                        size=size, fragments=fragments)
            await self.expect_everyone([reply["sent"]], "%d bytes from node0 in "
                                       "fragments of %s" % (size, reply["sizes"]))
        return "%d sizes to %d clients" % (len(sizes), len(self.py_open()) + len(self.node_open))

    async def burst(self):
        """Everyone sends BURST texts at once; every client must see the
        same sequence, and each sender's texts in the order sent."""
        async def py_send(c):
            for k in range(BURST):
                await c.ws.send("%s:%d" % (c.label, k))
        await both(asyncio.gather(*(py_send(c) for c in self.py_open())),
                   self.node.cmd("burst", count=BURST))
        senders = [c.label for c in self.py_open()] + ["node%d" % i for i in self.node_open]
        total = BURST * len(senders)
        got = await self.receive_all(total)
        reference_label, reference = sorted(got.items())[0]
        for label, msgs in got.items():
            texts = [m.get("t") for m in msgs]
            if len(texts) != total:
                raise CheckFailed("%s got %d of %d burst messages" % (label, len(texts), total))
            for s in senders:
                mine = [t for t in texts if t and t.startswith(s + ":")]
                if mine != ["%s:%d" % (s, k) for k in range(BURST)]:
                    raise CheckFailed("%s: %s's messages arrived as %s" % (label, s, mine[:8]))
            if msgs != reference:
                raise CheckFailed("%s and %s saw the burst in different orders"
                                  % (label, reference_label))
        return "%d messages, one order at all %d clients" % (total, len(got))

    async def server_logged(self, port, code, reason):
        pattern = r"disconnect id=\d+ peer=127\.0\.0\.1:%d code=(\d+) reason=\"([^\"]*)\"" % port
        line = await self.server.log_line(pattern)
        if line is None:
            raise CheckFailed("the server logged no close from port %d%s"
                              % (port, self.server.tail(5)))
        m = re.search(pattern, line)
        if int(m.group(1)) != code or m.group(2) != reason:
            raise CheckFailed("the server logged code=%s reason=%r, expected %d %r"
                              % (m.group(1), m.group(2), code, reason))
        if "sent=%d" % code not in line:
            raise CheckFailed("the server did not echo %d: %s" % (code, line))

    async def py_close(self, index, code, reason):
        c = self.py[index]
        await asyncio.wait_for(c.ws.close(code, reason), WAIT_S)
        await asyncio.wait_for(c.task, WAIT_S)
        if c.ws.close_code != code:
            raise CheckFailed("websockets reports close code %s (%r), expected %d"
                              % (c.ws.close_code, c.ws.close_reason, code))
        await self.server_logged(c.port, code, reason)
        return "both sides report %d" % code

    async def node_close(self, index, code, reason):
        reply = await self.node.cmd("close", client=index, code=code, reason=reason,
                                    timeout_ms=int(WAIT_S * 1000))
        self.node_open.remove(index)
        closed = reply["closed"]
        if not reply["done"] or closed is None:
            raise CheckFailed("ws saw no close event (%s)" % reply.get("error"))
        if closed["code"] != code:
            raise CheckFailed("ws reports close code %s (%r), expected %d"
                              % (closed["code"], closed["reason"], code))
        await self.server_logged(self.node_ports[index], code, reason)
        return "both sides report %d" % code

    async def survivors_chat(self):
        await self.server.wait_clients(len(self.py_open()) + len(self.node_open))
        text = "still here after the closes"
        await self.py_open()[0].ws.send(text)
        n = await self.expect_everyone([describe(text, False)], "after the closes")
        return "%d clients" % n

    async def sigterm(self):
        self.server.terminate()
        py_open = self.py_open()
        self.at_sigterm = [c.port for c in py_open] + [self.node_ports[i] for i in self.node_open]
        reply = await self.node.cmd("wait_closed", clients=self.node_open,
                                    timeout_ms=int(WAIT_S * 1000))
        await asyncio.wait_for(asyncio.gather(*(c.task for c in py_open)), WAIT_S)
        seen = ["%s=%s" % (c.label, c.ws.close_code) for c in py_open]
        seen += ["node%d=%s" % (i, (cl or {}).get("code"))
                 for i, cl in zip(self.node_open, reply["closed"])]
        bad = [s for s in seen if not s.endswith("=1001")]
        status = await self.server.wait_exit(STOP_TIMEOUT_S)
        if bad:
            raise CheckFailed("expected 1001 everywhere, got %s" % ", ".join(seen))
        if status != 0:
            raise CheckFailed("the server %s after SIGTERM%s" % (
                "did not exit" if status is None else "exited %d" % status,
                self.server.tail()))
        return "%s; server exited 0" % ", ".join(seen)

    async def sigterm_replies(self):
        """Both libraries answer the server's 1001 with a close of their
        own, which the server should wait for (--shutdown-timeout) and log
        as code=1001 instead of 1006 (no close frame)."""
        bad = []
        for port in self.at_sigterm:
            line = await self.server.log_line(r"disconnect id=\d+ peer=127\.0\.0\.1:%d " % port, 1.0)
            if line is None or not re.search(r" code=1001 .*sent=1001", line):
                bad.append(line or "port %d: no disconnect line" % port)
        if bad:
            raise CheckFailed("the server did not record the clients' close replies:\n    "
                              + "\n    ".join(bad))
        return "%d replies logged" % len(self.at_sigterm)


async def run_checks(run, url):
    ok = await run.check("connect %d websockets and %d ws clients at once"
                         % (CLIENTS_PER_LIBRARY, CLIENTS_PER_LIBRARY),
                         run.connect_all(url))
    if not ok:
        return
    sizes = ",".join(str(s) for s in SIZES)
    await run.check("python -> all: text of %s bytes" % sizes, run.py_sends(False, SIZES))
    await run.check("python -> all: binary of %s bytes" % sizes, run.py_sends(True, SIZES))
    await run.check("node -> all: text of %s bytes" % sizes, run.node_sends(False, SIZES))
    await run.check("node -> all: binary of %s bytes" % sizes, run.node_sends(True, SIZES))
    await run.check("python -> all: fragmented text (3 frames)",
                    run.py_sends(False, [3000, 200000, 1024 * 1024], fragments=3))
    await run.check("python -> all: fragmented binary (5 frames)",
                    run.py_sends(True, [10, 70000, 1024 * 1024], fragments=5))
    await run.check("node -> all: fragmented text split inside characters (4 frames)",
                    run.node_sends(False, [10, 5000, 300000, 1024 * 1024], fragments=4))
    await run.check("node -> all: fragmented binary (3 frames)",
                    run.node_sends(True, [0, 9, 70000, 1024 * 1024], fragments=3))
    await run.check("burst: every client sends %d at once" % BURST, run.burst())
    await run.check("python closes with 1000", run.py_close(0, 1000, "py done"))
    await run.check("python closes with 4001", run.py_close(1, 4001, "py app"))
    await run.check("node closes with 1000", run.node_close(0, 1000, "node done"))
    await run.check("node closes with 4002", run.node_close(1, 4002, "node app"))
    await run.check("the others keep chatting", run.survivors_chat())
    if await run.check("SIGTERM: every client sees 1001", run.sigterm()):
        await run.check("SIGTERM: the server receives every client's close reply",
                        run.sigterm_replies())


async def main_async(args, flags):
    server = Server(wshub_path(), flags)
    node = None
    run = None
    try:
        host, port = await asyncio.to_thread(server.start)
        url = "%s://%s:%d/ws" % ("wss" if flags else "ws", host, port)
        node = await NodePeer.start(url)
        run = Run(server, node, args.verbose)
        await asyncio.wait_for(run_checks(run, url), RUN_TIMEOUT_S)
    except (RuntimeError, asyncio.TimeoutError) as e:
        print("FAILED interop: %s" % (e or "the run took over %ds" % RUN_TIMEOUT_S), flush=True)
        if run is None:
            run = Run(server, node, args.verbose)
        run.failed += 1
    finally:
        if node is not None:
            await node.quit()
        if run is not None:
            for c in run.py:
                c.task.cancel()
        server.kill()
    return run.passed, run.failed


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tls", action="store_true",
                   help="serve with a throwaway certificate; clients use wss://")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    flags = []
    tmp = tempfile.TemporaryDirectory(prefix="wshub-interop-") if args.tls else None
    if tmp:
        cert, key = make_tls_pair(tmp.name)
        TLS.update(ca=cert, ctx=ssl.create_default_context(cafile=cert))
        flags = ["--tls-cert", cert, "--tls-key", key]
    passed, failed = asyncio.run(main_async(args, flags))
    print("interop: %d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
