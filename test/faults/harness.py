"""The server under test for the fault scenarios: start, observe, check its
health, stop.

A Server is one wshub child process.  Its stderr is drained by a thread
(every line is kept: scenarios look for log lines such as "handshake
timeout"), and /proc/PID gives its thread count, descriptor count and
resident memory.  The health check after every scenario asks four things:
the process is alive, /stats counts no clients, a fresh pair of clients
exchanges a message, and the thread and descriptor counts are back to what
they were before the scenario (polled for up to BASELINE_WAIT_S).
"""

import json
import os
import re
import sys
import threading
import time

from client import Client, ClientError, connect

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "support"))
from wshub_process import WshubProcess, describe_status  # noqa: E402,F401

BASELINE_WAIT_S = 10.0
HTTP_TIMEOUT_S = 5.0
LOG_WAIT_S = 10.0      # bound on waiting for the drain thread to read a line


class Failure(Exception):
    """A scenario or a health check failed; str() says what happened."""


class Server(WshubProcess):
    def __init__(self, path, flags=(), nofile=None):
        # util-linux's prlimit execs the server: same pid for /proc.
        prefix = ["prlimit", "--nofile=%d:%d" % (nofile, nofile), "--"] if nofile else []
        super().__init__(path, flags, prefix)
        self.base_threads = None
        self.base_fds = None

    # -- life

    def start(self):
        try:
            super().start()
        except RuntimeError as e:
            raise Failure("the server did not start: %s" % e)
        self.stats()  # the front door answers: the hub and reaper run too
        self.base_threads, self.base_fds = self._settled()

    def _settled(self, stable_s=0.3, limit_s=3.0):
        """Thread and descriptor counts once they have not changed for
        stable_s (the /stats socket lingers a moment on the server)."""
        deadline = time.monotonic() + limit_s
        last, since = None, time.monotonic()
        while True:
            now = (self.threads(), self.fds())
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= stable_s or time.monotonic() > deadline:
                return last
            time.sleep(0.02)

    def count_lines(self, pattern, at_least=0, timeout=LOG_WAIT_S):
        """How many stderr lines match pattern, waiting up to timeout for
        at_least of them.  The server writes a line before the act it
        reports (the close a client sees), but the drain thread may not
        have read it yet when the client notices: wait, never assume."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            n = sum(1 for line in list(self.lines) if rx.search(line))
            if n >= at_least or time.monotonic() >= deadline:
                return n
            time.sleep(0.02)

    # -- /proc

    def _status(self, field):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def threads(self):
        return self._status("Threads")

    def rss_kib(self):
        return self._status("VmRSS")

    def fd_free_below(self, limit):
        """True if the server has a descriptor number below `limit` free,
        one that accept(2) could take under RLIMIT_NOFILE `limit`."""
        return any(not os.path.lexists("/proc/%d/fd/%d" % (self.proc.pid, k))
                   for k in range(limit))

    def sanitized(self):
        """True if the server runs with AddressSanitizer (libasan mapped)."""
        try:
            with open("/proc/%d/maps" % self.proc.pid) as f:
                return "libasan" in f.read()
        except OSError:
            return False

    def fds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.proc.pid))
        except OSError:
            return None

    # -- HTTP

    def stats(self):
        """GET /stats (over TLS with run.py --tls); the JSON as a dict."""
        try:
            sock = connect(self.addr, timeout=HTTP_TIMEOUT_S)
            sock.sendall(b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            sock.close()
            return json.loads(data.split(b"\r\n\r\n", 1)[1])
        except (OSError, ValueError, IndexError, ClientError) as e:
            raise Failure("GET /stats failed: %s%s" % (e, "" if self.alive() else
                          "; the server %s" % describe_status(self.proc.returncode)))

    def wait_stats(self, pred, timeout, what):
        """Polls /stats until pred(stats) holds; returns the stats."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.stats()
            if pred(st):
                return st
            if time.monotonic() > deadline:
                raise Failure("%s: not within %gs (stats: %s)" % (what, timeout, st))
            time.sleep(0.05)

    # -- health

    def wait_baseline(self, timeout=BASELINE_WAIT_S):
        """Threads and descriptors back to the counts measured at start."""
        deadline = time.monotonic() + timeout
        while True:
            t, f = self.threads(), self.fds()
            if t is not None and t <= self.base_threads and f <= self.base_fds:
                return
            if not self.alive():
                raise Failure("the server %s%s" % (describe_status(self.proc.returncode),
                                                   self.tail()))
            if time.monotonic() > deadline:
                raise Failure("threads %s and descriptors %s, not back to %d and %d "
                              "within %gs" % (t, f, self.base_threads, self.base_fds, timeout))
            time.sleep(0.05)

    def health_check(self, tag):
        """Alive, no clients, a fresh pair chats, back to baseline."""
        if not self.alive():
            raise Failure("the server %s%s" % (describe_status(self.proc.returncode),
                                               self.tail()))
        self.wait_stats(lambda s: s["clients"] == 0, BASELINE_WAIT_S,
                        "clients back to 0")
        self.wait_baseline()
        try:
            a = Client(self.addr, label="health-a")
            b = Client(self.addr, label="health-b")
        except ClientError as e:
            raise Failure("a fresh client cannot connect: %s" % e)
        text = "health check after %s" % tag
        a.send_text(text)
        for c in (a, b):
            if not c.wait_messages(1, 5.0) or c.texts() != [text]:
                raise Failure("fresh pair: %s received %r" % (c.label, c.texts()))
        for c in (a, b):
            if c.close(1000) != 1000:
                raise Failure("fresh pair: close echo was %s" % c.close_code)
        self.wait_stats(lambda s: s["clients"] == 0, BASELINE_WAIT_S,
                        "clients back to 0 after the fresh pair")
        self.wait_baseline()


class RssSampler:
    """Samples the server's VmRSS every `period` seconds on a thread."""

    def __init__(self, server, period=0.02):
        self.server = server
        self.period = period
        self.base = server.rss_kib()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.wait(self.period):
            rss = self.server.rss_kib()
            if rss is not None and rss > self.peak:
                self.peak = rss

    @property
    def growth_mib(self):
        return (self.peak - self.base) / 1024.0
