#!/usr/bin/python3
"""Two wshub processes joined through a real redis-server, measured by the
bundled load client: wshub-load spreads its connections over both hubs,
and every message must reach every connection of its room on both, once.

Usage: WSHUB=build/wshub WSHUB_LOAD=build/wshub-load /usr/bin/python3 test/redis/run.py
Output: ok/FAIL lines, then "redis: N passed, M failed".  Every wait polls
observable state (Redis's PUBSUB NUMSUB, /stats) with a bound; nothing
sleeps to synchronise.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from wshub_process import WshubProcess, describe_status  # noqa: E402

WAIT_S = 10.0
ROOMS = ("r0", "r1")
TUNABLES = "glibc.rtld.nns=1:glibc.rtld.optional_static_tls=0"  # README
UPGRADE = (b"GET /ws/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp(port, *args):
    """One Redis command over a raw socket (RESP); the reply's raw bytes."""
    cmd = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args))
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as s:
        s.sendall(cmd)
        return s.recv(4096)


def numsub(port, channel):
    reply = resp(port, "PUBSUB", "NUMSUB", channel)  # *2 $n channel :N
    return int(reply.rsplit(b":", 1)[1].split(b"\r\n")[0])


def until(what, fn):
    deadline = time.monotonic() + WAIT_S
    while not fn():
        if time.monotonic() > deadline:
            raise AssertionError("never saw: " + what)
        time.sleep(0.02)


def stats(addr):
    with urllib.request.urlopen("http://%s:%d/stats" % addr, timeout=WAIT_S) as r:
        return json.load(r)


def main():
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)), flush=True)
        passed, failed = passed + bool(ok), failed + (not ok)

    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "redis://127.0.0.1:%d" % port
    # Hub 1 runs with README's "Memory per connection" setting: the whole
    # scenario must hold with glibc's spare static TLS turned off.
    hubs = [WshubProcess(os.environ.get("WSHUB", "build/wshub"), ["--redis", url],
                         prefix=[] if i == 0 else ["env", "GLIBC_TUNABLES=" + TUNABLES])
            for i in range(2)]
    probes = []
    try:
        until("redis-server answering", lambda: _pong(port))
        addrs = [h.start() for h in hubs]
        until("both hubs connected to Redis",
              lambda: all(stats(a)["redis_connected"] == 1 for a in addrs))
        check("both hubs connect to Redis", True)
        # One quiet client per room on each hub first, so that both hubs
        # are subscribed before wshub-load sends its first message.
        for a in addrs:
            for room in ROOMS:
                s = socket.create_connection(a, timeout=WAIT_S)
                s.sendall(UPGRADE % room.encode())
                if s.recv(12) != b"HTTP/1.1 101":
                    raise AssertionError("probe upgrade failed")
                probes.append(s)
        for room in ROOMS:
            until("both hubs subscribed to wshub:" + room,
                  lambda room=room: numsub(port, "wshub:" + room) == 2)
        check("both hubs subscribe to each room", True)
        load = subprocess.run(
            [os.environ.get("WSHUB_LOAD", "build/wshub-load"), "broadcast", "-c", "40",
             "-s", "4", "-r", "20", "-d", "2", "--rooms", "2", "--json"]
            + ["ws://%s:%d/ws" % a for a in addrs],
            capture_output=True, text=True, timeout=120)
        check("wshub-load exits 0", load.returncode == 0, load.stderr[-500:])
        j = json.loads(load.stdout)
        r = j["rounds"][-1] if "rounds" in j else j
        same, other = r["same_url"], r["other_url"]
        check("every message reached its room on the sender's hub",
              same["received"] == same["expected"] > 0, same)
        check("every message reached its room on the other hub, through Redis",
              other["received"] == other["expected"] > 0, other)
        check("no delivery to the wrong room", r["wrong_room"] == 0, r["wrong_room"])
        s0, s1 = stats(addrs[0]), stats(addrs[1])
        check("the hubs published and received through Redis",
              s0["redis_published"] > 0 and s1["redis_received"] > 0 and
              s0["redis_dropped"] == 0, (s0, s1))
    except (AssertionError, OSError, KeyError, ValueError, subprocess.TimeoutExpired) as e:
        check("the scenario ran to the end", False,
              "%s%s" % (e, "".join(h.tail() for h in hubs if h.proc)))
    finally:
        for s in probes:
            s.close()
        for i, h in enumerate(hubs):
            if h.proc:
                code = h.stop()
                check("hub %d: SIGTERM, exit 0" % i, code == 0, describe_status(code) + h.tail())
        redis.kill()
        redis.wait()
    print("redis: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


def _pong(port):
    try:
        return resp(port, "PING").startswith(b"+PONG")
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
