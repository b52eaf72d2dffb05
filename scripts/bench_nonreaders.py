#!/usr/bin/python3
"""What clients that never read cost the server (BENCHMARKS.md, "Memory a
non-reader pins").

    scripts/bench_nonreaders.py WSHUB CLIENTS [SECONDS [WSHUB FLAG...]]

Starts WSHUB on a free loopback port, opens CLIENTS connections, each alone
in its own room (/ws/nr-N) with a 4 KiB receive buffer, and has each send
64 KiB binary messages as fast as the server takes them, never reading,
for SECONDS (default 10) or until the server closes it.  The server's
VmRSS is sampled every 20 ms from /proc; prints the RSS before, the peak,
the RSS at the end of SECONDS, how many messages were sent and how many clients the
server dropped as slow (/stats).  Bounded: every client stops at the end
of SECONDS, and the server is stopped with SIGTERM.  Last, the clients close and the RSS is read
again once the server is back to its own four threads (at most 10 s).
"""
import base64
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "support"))
from wshub_process import WshubProcess  # noqa: E402

SIZE = 65536
SAMPLE_S = 0.02


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def frame(payload):
    """One masked binary frame (zero mask: the payload goes as it is)."""
    return struct.pack("!BBQ", 0x82, 0x80 | 127, len(payload)) + b"\0\0\0\0" + payload


def open_client(addr, i):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(addr)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws/nr-%d HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (i, addr[0], addr[1], key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)  # one byte at a time: leave the frames unread
        if not chunk:
            raise RuntimeError("client %d: no 101" % i)
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("client %d: %r" % (i, head.split(b"\r\n")[0]))
    return s


def send_until(s, data, end, sent, i):
    s.settimeout(0.2)
    while time.monotonic() < end:
        try:
            s.sendall(data)
            sent[i] += 1
        except socket.timeout:
            continue  # the server stopped taking: try until the end
        except OSError:
            return  # dropped


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: bench_nonreaders.py WSHUB CLIENTS [SECONDS [FLAG...]]")
    clients, seconds = int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    server = WshubProcess(sys.argv[1], ["-q"] + sys.argv[4:])
    addr = server.start()
    try:
        socks = [open_client(addr, i) for i in range(clients)]
        time.sleep(0.5)  # let the registrations land before the baseline
        before = rss_kib(server.pid)
        peak, data, sent = before, frame(bytes(SIZE)), [0] * clients
        end = time.monotonic() + seconds
        threads = [threading.Thread(target=send_until, args=(s, data, end, sent, i))
                   for i, s in enumerate(socks)]
        for t in threads:
            t.start()
        while time.monotonic() < end:
            peak = max(peak, rss_kib(server.pid))
            time.sleep(SAMPLE_S)
        for t in threads:
            t.join()
        after = rss_kib(server.pid)
        with urllib.request.urlopen("http://%s:%d/stats" % addr, timeout=5) as r:
            st = json.load(r)
        for s in socks:
            s.close()
        gone = time.monotonic() + 10  # every connection reaped, bounded
        while time.monotonic() < gone and threads_of(server.pid) > 4:
            time.sleep(SAMPLE_S)
        left = rss_kib(server.pid)
    finally:
        server.stop()
    print("non-readers %d, %gs, 64 KiB messages, flags %s" % (clients, seconds, " ".join(sys.argv[4:]) or "(defaults)"))
    print("  RSS before %.1f MiB, peak %.1f MiB, at the end %.1f MiB, after the clients left %.1f MiB"
          % (before / 1024, peak / 1024, after / 1024, left / 1024))
    print("  messages sent %d (%.0f MiB); dropped as slow %d of %d"
          % (sum(sent), sum(sent) * SIZE / 2**20, st["slow_client_drops"], clients))


if __name__ == "__main__":
    main()
