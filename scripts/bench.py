#!/usr/bin/python3
"""The standard wshub benchmarks (BENCHMARKS.md), run with wshub-load.

Each scenario runs RUNS times against a fresh server; the table shows the
median and [min-max] of each figure.  Numbers depend on the machine: report
them with the machine, as medians of repeated runs.

usage: scripts/bench.py WSHUB WSHUB_LOAD [RUNS] [SCENARIO...]
"""
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from wshub_process import WshubProcess  # noqa: E402

STOP_TIMEOUT_S = 30  # SIGTERM to exit after 15,000 connections

SCENARIOS = {
    "S1": ("broadcast: 100 connections, 10 senders x 100 msg/s, 128 B, 10 s",
           ["broadcast", "-c", "100", "-s", "10", "-r", "100", "-b", "128",
            "-d", "10"]),
    "S2": ("fan-out: 1,000 connections, 5 senders x 20 msg/s, 128 B, 10 s",
           ["broadcast", "-c", "1000", "-s", "5", "-r", "20", "-b", "128",
            "-d", "10"]),
    "S3": ("saturation: 1,000 connections, 5 senders, rate doubling from 20/s",
           ["sweep", "-c", "1000", "-s", "5", "-r", "20", "-b", "128",
            "-d", "5", "--steps", "7"]),
    "S4": ("capacity: 10,000 idle connections held 10 s, then one broadcast",
           ["connect", "-c", "10000", "-d", "10"]),
    "S4b": ("capacity: 15,000 idle connections held 10 s, then one broadcast",
            ["connect", "-c", "15000", "-d", "10", "--inflight", "128"]),
}


def run_once(wshub, load, args):
    """One run of wshub-load against a fresh server, which it samples
    (--server-pid); the JSON summary."""
    server = WshubProcess(wshub, ["-q"])
    try:
        host, port = server.start()
    except RuntimeError as e:
        raise SystemExit("bench: %s" % e)
    try:
        time.sleep(0.2)
        out = subprocess.run(
            [load] + args + ["-q", "--json", "--server-pid", str(server.pid),
                             f"ws://{host}:{port}/ws"],
            capture_output=True, text=True, timeout=600)
        return json.loads(out.stdout)
    finally:
        server.stop(STOP_TIMEOUT_S)


def figures(mode, r):
    """The figures worth reporting for one run, by name."""
    res = r["result"] or {}
    lat = res.get("latency_us", {})
    srv = r.get("server", {})
    f = {"connections ok": r["connections"]["ok"]}
    if mode in ("broadcast", "sweep"):
        f["delivery %"] = 100.0 * res.get("delivery_ratio", 0)
        f["deliveries/s"] = res.get("deliveries_per_s", 0)
        f["p50 ms"] = lat.get("p50", 0) / 1000
        f["p99 ms"] = lat.get("p99", 0) / 1000
        f["max ms"] = lat.get("max", 0) / 1000
        f["server us/delivery"] = res.get("server_cpu_ns_per_delivery", 0) / 1000
        f["client us/frame"] = res.get("client_cpu_ns_per_frame", 0) / 1000
    if mode == "sweep":
        f["best rate/sender"] = res.get("rate", 0)
    if mode == "connect":
        f["ramp s"] = r["connections"]["ramp_s"]
        f["received broadcast"] = res.get("received", 0)
        f["last receiver ms"] = lat.get("max", 0) / 1000
        f["server KiB/conn"] = srv.get("rss_bytes_per_conn", 0) / 1024
        f["server threads"] = srv.get("threads_peak", 0)
    return f


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    wshub, load = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    names = sys.argv[4:] or ["S1", "S2", "S3", "S4"]
    print(f"machine: {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') >> 30} GiB, "
          f"{os.uname().release}; {runs} runs per scenario, median [min-max]")
    for name in names:
        title, args = SCENARIOS[name]
        print(f"\n{name} {title}\n  wshub-load {' '.join(args)}")
        samples = {}
        for _ in range(runs):
            for k, v in figures(args[0], run_once(wshub, load, args)).items():
                samples.setdefault(k, []).append(v)
        for k, vs in samples.items():
            print(f"  {k:22} {statistics.median(vs):>12.2f}  "
                  f"[{min(vs):.2f}-{max(vs):.2f}]")


if __name__ == "__main__":
    main()
