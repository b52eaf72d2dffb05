"""A wshub server as a child process, for the Python test runners.

start() runs `WSHUB --port PORT FLAGS` (PORT 0, a free one, unless given;
behind an optional argv prefix such as prlimit), keeps every stderr line (a
thread drains it) and returns the (host, port) of its "wshub: listening on
HOST:PORT" line.  stop() sends
SIGTERM and returns the exit status; describe_status() words it.
"""

import re
import signal
import subprocess
import threading

LISTENING = re.compile(r"wshub: listening on ([0-9.]+):([0-9]+)")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 20.0  # SIGTERM to exit, with LeakSanitizer's scan under ASan


def describe_status(code):
    """How a process ended: its exit status, None meaning it hung."""
    if code is None:
        return "did not exit within %gs of SIGTERM" % STOP_TIMEOUT_S
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

    def start(self):
        """Starts the server; returns (host, port) or raises RuntimeError."""
        argv = self.prefix + [self.path, "--port", str(self.port)] + self.flags
        self.lines, self.addr = [], None
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
        except OSError as e:
            raise RuntimeError("cannot start %s: %s" % (argv[0], e))
        ready = threading.Event()
        threading.Thread(target=self._drain, args=(self.proc, self.lines, ready),
                         daemon=True).start()
        if not ready.wait(START_TIMEOUT_S) or self.addr is None:
            self.kill()
            raise RuntimeError("%s printed no 'listening' line within %gs%s"
                               % (self.path, START_TIMEOUT_S, self.tail()))
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
        if self.proc is None:
            return None
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            return None
        return describe_status(self.proc.returncode)

    def stop(self):
        """SIGTERM; the exit status, or None if it did not exit in time."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def tail(self, n=12):
        """The last n stderr lines, ready to append to a message."""
        if not self.lines:
            return ""
        return "\n    server: " + "\n    server: ".join(self.lines[-n:])
