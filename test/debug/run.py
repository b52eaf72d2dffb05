#!/usr/bin/python3
"""The thread dump of the wshub binary itself: GET /debug/threads lists
2N + 4 threads for N clients (the front door, the signal thread, the hub,
the reaper, and a reader and a writer per client) with their roles and
states; SIGQUIT prints the same dump on stderr and the server goes on.

Usage: WSHUB=build/wshub /usr/bin/python3 test/debug/run.py
Output: one ok/FAIL line per check, then "debug: N passed, M failed".
Every wait polls observable state (the dump, stderr) with a bound.
"""
import os
import signal
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from wshub_process import WshubProcess, describe_status  # noqa: E402

N = 4
WAIT_S = 10.0
UPGRADE = (b"GET /ws/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


def dump(addr, query=""):
    url = "http://%s:%d/debug/threads%s" % (addr[0], addr[1], query)
    with urllib.request.urlopen(url, timeout=WAIT_S) as r:
        return r.read().decode()


def until(what, fn):
    """Polls fn() every 20 ms until it returns a true value (bounded)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("never saw: " + what)
        time.sleep(0.02)


def idle(text):
    lines = text.splitlines()
    readers = [l for l in lines if l.startswith("reader ") and " poll_read" in l]
    writers = [l for l in lines if l.startswith("writer ") and " chan_recv its send channel" in l]
    # Every thread registered (the signal thread and the reaper start
    # around the first client), and every connection idle.
    return len(lines) == 2 * N + 4 and len(readers) == N and len(writers) == N and text


def main():
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail), flush=True)
        passed, failed = passed + ok, failed + (not ok)

    server = WshubProcess(os.environ.get("WSHUB", "build/wshub"))
    addr = server.start()
    socks = []
    try:
        for i in range(N):
            s = socket.create_connection(addr, timeout=WAIT_S)
            s.sendall(UPGRADE % (b"blue" if i % 2 else b"lobby"))
            check("client %d upgraded" % i, s.recv(12) == b"HTTP/1.1 101")
            socks.append(s)
        text = until("every reader and writer idle", lambda: idle(dump(addr)))
        lines = text.splitlines()
        check("GET /debug/threads lists 2N + 4 = %d threads" % (2 * N + 4),
              len(lines) == 2 * N + 4, text)
        for role, state in (("frontdoor", "running"), ("signal", "sigwait"),
                            ("hub", "chan_recv hub events"), ("reaper", "chan_recv reaper")):
            n = sum(1 for l in lines if l.startswith(role + " ") and state in l)
            check("one %s thread, %s" % (role, state), n == 1, text)
        check("readers and writers name their room",
              sum(" room=blue " in l for l in lines) == N, text)
        js = dump(addr, "?format=json")
        check("?format=json says how many threads", '"threads":%d,' % (2 * N + 4) in js, js)
        before = len(server.lines)
        server.proc.send_signal(signal.SIGQUIT)
        def dumped():
            return sum(1 for l in server.lines[before:] if " tid=" in l)
        until("the dump on stderr after SIGQUIT", lambda: dumped() >= 2 * N + 4)
        check("SIGQUIT prints every thread on stderr", dumped() == 2 * N + 4,
              server.tail(20))
        check("the server goes on after SIGQUIT", server.alive() and
              "threads" in dump(addr, "?format=json"), server.tail())
    except (AssertionError, OSError) as e:
        check("the scenario ran to the end", False, "%s%s" % (e, server.tail()))
    finally:
        for s in socks:
            s.close()
        code = server.stop()
        check("SIGTERM: exit 0", code == 0, describe_status(code) + server.tail())
    print("debug: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
