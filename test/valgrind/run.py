#!/usr/bin/python3
"""One integration scenario against wshub under valgrind (memcheck).

Usage (scripts/valgrind.sh, which `make valgrind` runs, checks the tools
first):
    /usr/bin/python3 test/valgrind/run.py

The server ($WSHUB, default build/wshub: a -O2 -g build) runs as
`valgrind --error-exitcode=1 --leak-check=full
--errors-for-leak-kinds=definite,indirect --track-fds=no WSHUB --port 0
--send-queue 4 --write-timeout 1 --shutdown-timeout 5`, and Python 3
stdlib clients (the framing of test/conformance/wsframes.py) drive it:
  1. three clients chat: every message reaches all three;
  2. a slow client (4 KiB SO_RCVBUF, never reads) is dropped by the hub
     while another client sends 200 messages of 16 KiB that still reach
     every other client, each one;
  3. one client leaves with a TCP reset and one with a bare FIN, no close
     frame: the server logs both as 1006 and the rest chat on;
  4. SIGTERM: each remaining client gets a close frame with 1001 and
     answers it, and the server reads the answer (it logs code=1001: the
     closing handshake completed); the server exits 0, and valgrind
     reports no error and no definite or indirect leak (its exit status
     is then 0).
Every check prints "ok: ..." or "FAILED: ...", the last line is
"valgrind: N passed, M failed"; exit status 0 when nothing failed.  The
whole run is bounded (under 3 minutes; a few seconds when all goes well),
and the server is killed on every exit path.
"""

import os
import queue
import re
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from wsframes import (OP_BINARY, OP_CLOSE, OP_TEXT, Conn, Fail, Target,  # noqa: E402
                      build_request, check_upgrade, encode_frame, new_key,
                      upgrade_headers)
from wshub_process import WshubProcess, describe_status, wshub_path  # noqa: E402

START_TIMEOUT_S = 30.0     # valgrind starts slowly
SCENARIO_TIMEOUT_S = 100.0  # steps 1-4, from the "listening" line to SIGTERM
EXIT_TIMEOUT_S = 40.0      # from SIGTERM to exit, leak check included
STEP_S = 20.0              # a step's wait for frames or log lines, under valgrind
BIG, COUNT = 16 * 1024, 200
REPLY_DELAY_S = 0.2        # a client's think time before its close reply; well
                           # within --shutdown-timeout 5, which the server waits
                           # (the closes go out first, from a server that valgrind
                           # slows and a busy machine may slow more)
FLAGS = ["--send-queue", "4", "--write-timeout", "1", "--shutdown-timeout", "5"]
MEMCHECK = ["valgrind", "--error-exitcode=1", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--track-fds=no"]


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def report(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(("ok: " if ok else "FAILED: ") + what, flush=True)


class Client:
    """A connection whose thread collects every frame; it answers a close
    frame (after REPLY_DELAY_S) with a close of the same code and then waits
    for TCP to close."""

    def __init__(self, name, conn):
        self.name, self.conn = name, conn
        self.port = conn.sock.getsockname()[1]
        self.frames = queue.Queue()
        self.close = None
        self.error = None
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            while True:
                try:
                    frame = self.conn.recv_frame()
                except Fail as e:
                    if "timed out" in str(e):
                        continue  # idle: keep listening
                    raise
                if frame.opcode == OP_CLOSE:
                    self.close = frame
                    time.sleep(REPLY_DELAY_S)
                    self.conn.send(encode_frame(OP_CLOSE, frame.payload[:2]), may_fail=True)
                    self.conn.expect_eof(allow_reset=True)
                    return
                self.frames.put(frame)
        except (Fail, OSError) as e:
            self.error = str(e)
        finally:
            self.done.set()

    def send(self, opcode, payload):
        self.conn.send(encode_frame(opcode, payload))

    def take(self, n):
        """The payloads of the next n data frames, or Fail."""
        out = []
        deadline = time.monotonic() + STEP_S
        while len(out) < n:
            try:
                frame = self.frames.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise Fail("%s: %d of %d messages within %gs (%s)"
                           % (self.name, len(out), n, STEP_S, self.error or "no error"))
            out.append((frame.opcode, frame.payload))
        return out


class Scenario:
    """Steps 1-4 against one server; each step raises Fail or OSError."""

    def __init__(self, server, tally):
        self.server = server
        self.tally = tally
        self.host, self.port = server.addr
        self.target = Target(self.host, self.port, timeout=STEP_S)
        self.clients = {}

    def wait_log(self, pattern):
        """The first line of the server's log that matches pattern."""
        line = self.server.wait_line(pattern, STEP_S)
        if line is None:
            raise Fail("no log line matching %r within %gs" % (pattern, STEP_S))
        return line.strip()

    def registered(self, conn):
        """Waits until the server has registered the connection with the
        hub.  The 101 goes out before hub_register (as in Gorilla's chat
        example), so a broadcast sent before this could miss the new
        client."""
        self.wait_log(r"connect id=\d+ peer=127\.0\.0\.1:%d\b" % conn.sock.getsockname()[1])
        return conn

    def open_client(self, name):
        return Client(name, self.registered(self.target.open()))

    def step(self, what, fn):
        try:
            fn()
            self.tally.report(True, what)
            return True
        except (Fail, OSError) as e:
            self.tally.report(False, "%s: %s" % (what, e))
            return False

    def chat(self, senders, tag):
        """Each sender sends one text message; every client gets all of them."""
        sent = set()
        for name in senders:
            payload = ("%s from %s" % (tag, name)).encode()
            self.clients[name].send(OP_TEXT, payload)
            sent.add((OP_TEXT, payload))
        for c in self.clients.values():
            got = set(c.take(len(senders)))
            if got != sent:
                raise Fail("%s received %r, expected %r" % (c.name, sorted(got), sorted(sent)))

    def step_chat(self):
        for name in "ABC":
            self.clients[name] = self.open_client(name)
        self.chat("ABC", "hello")

    def open_slow(self):
        """A client with a tiny receive buffer that never reads."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(STEP_S)
        sock.connect((self.host, self.port))
        conn = Conn(sock, STEP_S)
        key = new_key()
        conn.send(build_request(upgrade_headers(self.target.hostport, key)))
        check_upgrade(conn.read_http_response(), key)
        return self.registered(conn)

    def step_slow(self):
        slow = self.open_slow()
        port = slow.sock.getsockname()[1]
        # A sends; each message must reach A, B and C before the next goes,
        # so only the slow client's queue can fill up.
        for i in range(COUNT):
            payload = struct.pack("!I", i) + bytes([i & 0xFF]) * (BIG - 4)
            self.clients["A"].send(OP_BINARY, payload)
            for c in self.clients.values():
                [(op, got)] = c.take(1)
                if op != OP_BINARY or got != payload:
                    raise Fail("%s: message %d came back as opcode %d, %d bytes, index %d"
                               % (c.name, i, op, len(got), struct.unpack("!I", got[:4])[0]))
        line = self.wait_log(r"slow client id=\d+ peer=127\.0\.0\.1:%d\b" % port)
        print("    server: " + line, flush=True)
        # The slow client is cut off: reading now drains what the kernel
        # held and then meets EOF or a reset, never a long silence.
        deadline = time.monotonic() + STEP_S
        try:
            while slow.sock.recv(65536):
                if time.monotonic() > deadline:
                    raise Fail("the slow client is still connected after %gs" % STEP_S)
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise Fail("the slow client's socket is silent but open after %gs" % STEP_S)
        slow.close()

    def step_abrupt(self):
        rst = self.target.open()
        fin = self.target.open()
        rst_port, fin_port = rst.sock.getsockname()[1], fin.sock.getsockname()[1]
        rst.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rst.close()      # RST, no close frame
        fin.close()      # FIN, no close frame
        for port in (rst_port, fin_port):
            line = self.wait_log(r"disconnect id=\d+ peer=127\.0\.0\.1:%d code=1006" % port)
            print("    server: " + line, flush=True)
        self.chat("B", "after the abrupt leave")

    def step_shutdown(self):
        self.server.terminate()
        for c in self.clients.values():
            if not c.done.wait(STEP_S):
                raise Fail("%s: no close frame and no TCP close within %gs of SIGTERM"
                           % (c.name, STEP_S))
            if c.close is None:
                raise Fail("%s: connection ended without a close frame (%s)" % (c.name, c.error))
            if c.close.close_code() != 1001:
                raise Fail("%s: got %s, expected close 1001" % (c.name, c.close.describe()))
            if c.error:
                raise Fail("%s: after the close frame: %s" % (c.name, c.error))

    def step_handshake(self):
        """Each client's close reply reached the server: the closing
        handshake completed (RFC 6455 §7.1.1), so the server logs the
        client's 1001."""
        self.wait_log(r"shut down cleanly")
        log = "\n".join(self.server.lines)
        for c in self.clients.values():
            m = re.search(r"disconnect id=\d+ peer=127\.0\.0\.1:%d code=(\d+).*" % c.port, log)
            if m is None:
                raise Fail("%s: no disconnect line" % c.name)
            if m.group(1) != "1001":
                raise Fail("%s: the server did not read the close reply: %s"
                           % (c.name, m.group(0)))

    def run(self):
        """Steps 1-4; SIGTERM is sent in step 4, or at once if 1 failed."""
        if not self.step("chat: 3 clients, every message reaches all 3", self.step_chat):
            self.server.terminate()
            return
        self.step("slow client dropped while A sends %d x 16 KiB, which reach A, B and C"
                  % COUNT, self.step_slow)
        self.step("clients leaving with RST and FIN are logged as 1006; the rest chat on",
                  self.step_abrupt)
        if self.step("SIGTERM: every client gets close 1001 and the TCP close",
                     self.step_shutdown):
            self.step("the server reads each client's close reply (logs code=1001)",
                      self.step_handshake)


def valgrind_summary(log):
    """valgrind's summary lines (errors, leaks, heap), joined by ';'."""
    keep = re.compile(r"ERROR SUMMARY|definitely lost|indirectly lost|All heap blocks"
                      r"|in use at exit|total heap usage")
    return ";".join(re.sub(r"^==\d+== *", "", line) for line in log.splitlines()
                    if keep.search(line))


def valgrind_errors(log, context=25, limit=80):
    """The first lines of each error or leak report (grep -A context)."""
    start = re.compile(r"Invalid|uninitialised|definitely lost in|indirectly lost in"
                       r"|Syscall param")
    lines, out, left = log.splitlines(), [], 0
    for line in lines:
        if start.search(line):
            left = context + 1
        if left > 0:
            out.append(line)
            left -= 1
    return "\n".join(out[:limit])


def read_log(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def check_exit(server, tally, log_path):
    """Waits for the server to exit after SIGTERM; checks valgrind's verdict."""
    status = server.wait(EXIT_TIMEOUT_S)
    if status is None:
        tally.report(False, "wshub under valgrind %s"
                     % describe_status(None, EXIT_TIMEOUT_S) + server.tail(20))
        return
    log = read_log(log_path)
    if status == 0:
        tally.report(True, "exit status 0: no memcheck error, no definite or indirect "
                     "leak (%s)" % valgrind_summary(log))
    else:
        tally.report(False, "%s under valgrind (%s)" % (describe_status(status),
                                                         valgrind_summary(log)))
        print(valgrind_errors(log) + server.tail(10), flush=True)


def run_steps(server, tally):
    """Scenario.run, with a bug in the scenario itself counted as a failure."""
    try:
        Scenario(server, tally).run()
    except Exception as e:
        traceback.print_exc()
        tally.report(False, "the scenario stopped: %s: %s" % (type(e).__name__, e))
        server.terminate()


def run(tally, work):
    log_path = os.path.join(work, "valgrind.log")
    server = WshubProcess(wshub_path(), FLAGS, MEMCHECK + ["--log-file=" + log_path])
    try:
        try:
            host, port = server.start(START_TIMEOUT_S)
        except RuntimeError as e:
            tally.report(False, "%s\n%s" % (e, "\n".join(read_log(log_path).splitlines()[-20:])))
            return
        tally.report(True, "wshub listening on %s:%d under valgrind" % (host, port))
        # The steps run on a thread of their own so that a hang is cut off.
        steps = threading.Thread(target=run_steps, args=(server, tally), daemon=True)
        steps.start()
        steps.join(SCENARIO_TIMEOUT_S)
        if steps.is_alive():
            tally.report(False, "the scenario did not finish within %gs" % SCENARIO_TIMEOUT_S)
            server.terminate()
        check_exit(server, tally, log_path)
    finally:
        server.kill()


def main():
    # SIGTERM (run-python.sh's timeout) unwinds like an error, so the
    # server is killed on the way out.
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="wshub-valgrind-") as work:
        run(tally, work)
    print("valgrind: %d passed, %d failed" % (tally.passed, tally.failed), flush=True)
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
