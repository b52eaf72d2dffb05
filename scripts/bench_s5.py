#!/usr/bin/python3
"""S5: two wshub processes joined through Redis on this machine, measured
with wshub-load over both (see BENCHMARKS.md).

    scripts/bench_s5.py WSHUB WSHUB_LOAD [RUNS]

Per run: a fresh redis-server and two fresh hubs; 2 x 500 connections in
one room, 5 senders x 20 messages/s of 128 bytes for 10 s; then a sweep for
the highest rate at <= 1 % loss and p99 <= 100 ms.  Prints each run's
figures and the medians: delivered %, p50/p99 for deliveries on the
sender's hub and on the other hub, deliveries/s at saturation, and Redis's
own CPU per message published.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "support"))
from wshub_process import WshubProcess  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def redis_ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait(what, fn, limit=10.0):
    deadline = time.monotonic() + limit
    while not fn():
        if time.monotonic() > deadline:
            raise RuntimeError("never saw: " + what)
        time.sleep(0.05)


def load(wshub_load, urls, *args):
    out = subprocess.run([wshub_load] + list(args) + ["--json"] + urls,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("wshub-load: " + out.stderr[-400:])
    return json.loads(out.stdout)


def one_run(wshub, wshub_load):
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hubs = [WshubProcess(wshub, ["-q", "--redis", "redis://127.0.0.1:%d" % port])
            for _ in range(2)]
    try:
        wait("redis", lambda: redis_ping(port))
        addrs = [h.start() for h in hubs]

        def connected(a):
            with urllib.request.urlopen("http://%s:%d/stats" % a) as r:
                return json.load(r)["redis_connected"] == 1
        wait("both hubs on Redis", lambda: all(connected(a) for a in addrs))
        urls = ["ws://%s:%d/ws" % a for a in addrs]
        cpu0 = cpu_s(redis.pid)
        j = load(wshub_load, urls, "broadcast", "-c", "1000", "-s", "5", "-r", "20",
                 "-b", "128", "-d", "10")
        cpu1 = cpu_s(redis.pid)
        r = j["rounds"][-1]
        published = r["sent"]
        sweep = load(wshub_load, urls, "sweep", "-c", "1000", "-s", "5", "-r", "20",
                     "-b", "128", "-d", "5", "--steps", "7")
        return {
            "delivered_pct": 100.0 * r["received"] / r["expected"],
            "same_p50_ms": r["same_url"]["latency_us"]["p50"] / 1000,
            "same_p99_ms": r["same_url"]["latency_us"]["p99"] / 1000,
            "other_p50_ms": r["other_url"]["latency_us"]["p50"] / 1000,
            "other_p99_ms": r["other_url"]["latency_us"]["p99"] / 1000,
            "redis_us_per_msg": 1e6 * (cpu1 - cpu0) / max(published, 1),
            "saturation_per_s": sweep.get("result", {}).get("deliveries_per_s", 0),
        }
    finally:
        for h in hubs:
            if h.proc:
                h.stop()
        redis.kill()
        redis.wait()


def main(argv):
    wshub, wshub_load = argv[1], argv[2]
    runs = int(argv[3]) if len(argv) > 3 else 3
    results = []
    for i in range(runs):
        res = one_run(wshub, wshub_load)
        print("run %d: %s" % (i + 1, json.dumps(res)), flush=True)
        results.append(res)
    print("S5 medians of %d runs:" % runs)
    for k in results[0]:
        vals = [r[k] for r in results]
        print("  %-18s %10.2f  [%.2f-%.2f]" % (k, statistics.median(vals), min(vals), max(vals)))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
