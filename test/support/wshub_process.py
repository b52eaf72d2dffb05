"""A wshub server as a child process: the one place where the Python test
runners and scripts/bench.py start wshub and read its address.

wshub_path() names the binary under test: $WSHUB (scripts/run-tests.sh
sets build/wshub or build/asan/wshub), else build/wshub.  start() runs
`PREFIX... WSHUB --port PORT FLAGS` (PORT 0, a free one, unless given;
PREFIX an optional argv that execs the server, such as prlimit or
valgrind), keeps every stderr line (a thread drains it) and returns the
(host, port) of its "wshub: listening on HOST:PORT" line.  stop() sends
SIGTERM and returns the exit status; describe_status() words it.

The calls block: an asyncio runner makes them through asyncio.to_thread.
"""

import os
import re
import signal
import subprocess
import threading
import time

LISTENING = re.compile(r"wshub: listening on ([0-9.]+):([0-9]+)")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 20.0  # SIGTERM to exit, with LeakSanitizer's scan under ASan
POLL_S = 0.05          # how often wait_line looks at the lines
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wshub_path():
    """The wshub binary under test: $WSHUB, else build/wshub.  A relative
    path is taken from the repository root; the shell wrappers hand over an
    absolute one, resolved from their caller's directory
    (test/support/wshub.sh)."""
    return os.path.join(ROOT, os.environ.get("WSHUB") or "build/wshub")


def make_tls_pair(directory):
    """A throwaway TLS certificate for `wshub --tls-cert --tls-key`: a
    self-signed P-256 certificate for localhost and 127.0.0.1, valid a day,
    and its key, made by openssl in directory; returns (cert, key)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=START_TIMEOUT_S)
    return cert, key


def describe_status(code, timeout=STOP_TIMEOUT_S):
    """How a process ended: its exit status, None meaning it did not exit
    within timeout seconds of SIGTERM."""
    if code is None:
        return "did not exit within %gs of SIGTERM" % timeout
    if code < 0:
        return "was killed by signal %d (%s)" % (-code, signal.Signals(-code).name)
    return "exited with status %d" % code


class WshubProcess:
    def __init__(self, path, flags=(), prefix=(), port=0):
        """port: 0 for any free port; a fixed one to restart a server
        where its clients expect it."""
        self.path = path
        self.flags = list(flags)
        self.prefix = list(prefix)
        self.port = port
        self.proc = None
        self.lines = []
        self.addr = None
        self.terminated = False

    @property
    def pid(self):
        """The server's process id (a prefix such as prlimit or valgrind
        execs it, so the id stays the same)."""
        return self.proc.pid

    def start(self, timeout=START_TIMEOUT_S):
        """Starts the server; returns (host, port) or raises RuntimeError.
        timeout: seconds to wait for the 'listening' line."""
        argv = self.prefix + [self.path, "--port", str(self.port)] + self.flags
        self.lines, self.addr, self.terminated = [], None, False
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
        except OSError as e:
            raise RuntimeError("cannot start %s: %s" % (argv[0], e))
        ready = threading.Event()
        threading.Thread(target=self._drain, args=(self.proc, self.lines, ready),
                         daemon=True).start()
        if not ready.wait(timeout) or self.addr is None:
            self.kill()
            raise RuntimeError("%s printed no 'listening' line within %gs%s"
                               % (self.path, timeout, self.tail()))
        return self.addr

    def _drain(self, proc, lines, ready):
        """On its own thread for one process: keeps its stderr lines and
        sets ready at the 'listening' line or at EOF."""
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(line)
            m = LISTENING.search(line)
            if m and not ready.is_set():
                self.addr = (m.group(1), int(m.group(2)))
                ready.set()
        ready.set()  # EOF: the process is gone

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def dead(self, grace=0.0):
        """None while running, else how it ended.  grace: seconds to wait
        for an exit already under way."""
        if self.proc is None or self.wait(grace) is None:
            return None
        return describe_status(self.proc.returncode)

    def terminate(self):
        """Sends SIGTERM, once: a second one makes wshub exit at once,
        without the graceful shutdown."""
        if self.alive() and not self.terminated:
            self.terminated = True
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout):
        """The exit status, or None if it still runs after timeout seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM (unless sent already); the exit status, or None if it did
        not exit within timeout seconds (then it is killed)."""
        if self.proc is None:
            return None
        self.terminate()
        code = self.wait(timeout)
        if code is None:
            self.kill()
        return code

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def wait_line(self, pattern, timeout):
        """The first stderr line matching the regular expression pattern,
        waiting up to timeout seconds for it; None if none came."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            lines = self.lines[seen:]  # the drain thread only appends
            for line in lines:
                if rx.search(line):
                    return line
            seen += len(lines)
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_S)

    def tail(self, n=12):
        """The last n stderr lines, ready to append to a message."""
        if not self.lines:
            return ""
        return "\n    server: " + "\n    server: ".join(self.lines[-n:])
