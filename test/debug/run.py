#!/usr/bin/python3
"""The thread dump of the wshub binary itself: GET /debug/threads lists
2N + 4 threads for N clients (the front door, the signal thread, the hub,
the reaper, and a reader and a writer per client) with their roles and
states, after a first line with the count and the futex hash's slots;
SIGQUIT prints the same dump on stderr and the server goes on.

Then the futex hash (issue 21, item 0): wshub sizes the kernel's futex hash
before it starts a thread, and -v and /debug/threads say the slots the
kernel took, for --max-clients N, for --max-clients 0 (the limits'
ceiling) and for --futex-hash-slots N and 0.  Where the kernel has no
PR_FUTEX_HASH (before Linux 6.16) those checks are skipped with a message.

Usage: WSHUB=build/wshub /usr/bin/python3 test/debug/run.py
Output: one ok/FAIL line per check, then "debug: N passed, M failed".
Every wait polls observable state (the dump, stderr) with a bound.
"""
import ctypes
import os
import re
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


def thread_lines(text):
    """The dump's lines that are threads (not its first line)."""
    return [l for l in text.splitlines() if " tid=" in l]


def idle(text):
    lines = thread_lines(text)
    readers = [l for l in lines if l.startswith("reader ") and " poll_read" in l]
    writers = [l for l in lines if l.startswith("writer ") and " chan_recv its send channel" in l]
    # Every thread registered (the signal thread and the reaper start
    # around the first client), and every connection idle.
    return len(lines) == 2 * N + 4 and len(readers) == N and len(writers) == N and text


# futex_hash.h: 2 threads per client plus 8, rounded up to a power of two,
# at least max(16, 4 per CPU), at most 131072.
FIXED_THREADS, CAP = 8, 131072
STARTUP = re.compile(r"wshub: debug: futex hash: ([0-9]+) slots \((.*)\)$")


def pow2_at_least(n):
    p = 1
    while p < n:
        p *= 2
    return p


def slots_for(clients):
    floor = max(16, pow2_at_least(4 * os.sysconf("SC_NPROCESSORS_ONLN")))
    return min(CAP, max(floor, pow2_at_least(2 * clients + FIXED_THREADS)))


def kernel_slots():
    """prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS) in this process: -1
    (and errno) where the kernel has no such prctl."""
    libc = ctypes.CDLL(None, use_errno=True)
    n = libc.prctl(78, 2, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    return n, ctypes.get_errno()


def futex_hash_checks(check):
    """wshub's futex hash: the start-up line at -v and /debug/threads (text
    and JSON) give the slots the kernel took (read back, not asked)."""
    n, err = kernel_slots()
    if n < 0:
        print("skip futex hash: this kernel (%s) has no PR_FUTEX_HASH "
              "(prctl GET_SLOTS: %s; Linux 6.16 added it): wshub uses the "
              "global hash and says nothing" % (os.uname().release, os.strerror(err)),
              flush=True)
        quiet = WshubProcess(os.environ.get("WSHUB", "build/wshub"))
        try:
            quiet.start()
            check("no PR_FUTEX_HASH: no warning at start", not any(
                "futex" in l for l in quiet.lines), quiet.tail())
        finally:
            quiet.stop()
        return
    cases = (
        (["--max-clients", "1000"], slots_for(1000), "2 threads per client, --max-clients 1000"),
        (["--max-clients", "15000"], slots_for(15000), "2 threads per client, --max-clients 15000"),
        (["--futex-hash-slots", "4096"], 4096, "--futex-hash-slots 4096"),
        (["--max-clients", "1000000"], CAP, "2 threads per client, --max-clients 1000000, capped"),
        ([], None, "2 threads per client, --max-clients 0: the "),
    )
    for flags, want, why in cases:
        server = WshubProcess(os.environ.get("WSHUB", "build/wshub"), ["-v"] + flags)
        name = "wshub -v %s" % " ".join(flags)
        try:
            addr = server.start()
            line = server.wait_line(STARTUP.pattern, WAIT_S) or ""
            m = STARTUP.search(line)
            got = int(m.group(1)) if m else None
            if want is None and m:  # the limits' ceiling: read what it says
                ceiling = re.search(r"the ([0-9]+) clients (.+) allows", m.group(2))
                want = slots_for(int(ceiling.group(1))) if ceiling else -1
            check("%s: the start-up line says %s slots (%s...)" % (name, want, why),
                  m is not None and got == want and m.group(2).startswith(why),
                  line + server.tail())
            text = dump(addr)
            check("%s: /debug/threads says futex_hash_slots=%s" % (name, want),
                  text.startswith("threads=") and
                  " futex_hash_slots=%s\n" % want in text.split("\n")[0] + "\n", text[:200])
            js = dump(addr, "?format=json")
            check("%s: ?format=json says \"futex_hash_slots\":%s" % (name, want),
                  '"futex_hash_slots":%s,' % want in js, js[:200])
        except (AssertionError, OSError, RuntimeError) as e:
            check("%s: ran to the end" % name, False, "%s%s" % (e, server.tail()))
        finally:
            server.stop()
    # --futex-hash-slots 0: no prctl; the kernel sizes its own table as
    # threads start (4 per thread up to 4 per CPU, at least 16).
    server = WshubProcess(os.environ.get("WSHUB", "build/wshub"), ["-v", "--futex-hash-slots", "0"])
    try:
        addr = server.start()
        line = server.wait_line(r"futex hash: left to the kernel", WAIT_S)
        check("--futex-hash-slots 0: the start-up line says the kernel sizes it",
              line is not None, server.tail())
        m = re.match(r"threads=[0-9]+ futex_hash_slots=([0-9]+)\n", dump(addr))
        got = int(m.group(1)) if m else 0
        check("--futex-hash-slots 0: /debug/threads shows the kernel's own size "
              "(%s: a power of two from 16)" % got, got >= 16 and got & (got - 1) == 0,
              str(m))
    except (AssertionError, OSError, RuntimeError) as e:
        check("--futex-hash-slots 0: ran to the end", False, "%s%s" % (e, server.tail()))
    finally:
        server.stop()
    # Without -v, nothing at start about the hash.
    server = WshubProcess(os.environ.get("WSHUB", "build/wshub"), ["--max-clients", "100"])
    try:
        server.start()
        check("without -v the start-up says nothing about the futex hash",
              not any("futex" in l for l in server.lines), server.tail())
    finally:
        server.stop()


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
        lines = thread_lines(text)
        check("GET /debug/threads lists 2N + 4 = %d threads" % (2 * N + 4),
              len(lines) == 2 * N + 4, text)
        check("its first line counts them and names the futex hash",
              re.match(r"threads=%d futex_hash_slots=([0-9]+|global)\n" % (2 * N + 4), text)
              is not None and len(text.splitlines()) == 2 * N + 5, text)
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
    futex_hash_checks(check)
    print("debug: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
