#!/usr/bin/python3
"""The standard wshub benchmarks (BENCHMARKS.md), run with wshub-load.

Each scenario runs RUNS times against a fresh server; the table shows the
median and [min-max] of each figure.  Numbers depend on the machine: report
them with the machine, as medians of repeated runs.

Every run's `wshub-load --json` summary is kept as OUT/SCENARIO-RUN.json
(OUT is the directory of WSHUB, build/bench for scripts/bench.sh), with a
"bench" object added: the scenario, the 1-minute load average before the
run, and the whole machine's context switches per second during it.
scripts/bench-plot.py draws the pictures from these files.

The scenario `switch` runs the thread hand-off microbenchmark
(test/bench/chan_pingpong.c, built next to WSHUB) instead of wshub-load, and
keeps its table as OUT/switch.txt.

On a shared machine, set BENCH_MAX_LOAD (e.g. 0.5): before each run the
script waits until the 1-minute load average is below it, polling every
30 s for up to 20 minutes, then runs anyway and says so.

usage: scripts/bench.py WSHUB WSHUB_LOAD [RUNS] [SCENARIO...]
"""
import glob
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
    # Smaller points of S4's curve (memory per connection against
    # connections, drawn by scripts/bench-plot.py).
    "S4-1k": ("capacity: 1,000 idle connections held 5 s, then one broadcast",
              ["connect", "-c", "1000", "-d", "5"]),
    "S4-5k": ("capacity: 5,000 idle connections held 5 s, then one broadcast",
              ["connect", "-c", "5000", "-d", "5"]),
}
DEFAULT = ["switch", "S1", "S2", "S3", "S4-1k", "S4-5k", "S4"]

LOAD_POLL_S = 30          # how often to look at the load average
LOAD_WAIT_MAX_S = 20 * 60  # then run anyway, and say so


def loadavg_1min():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_quiet():
    """Waits until the load average is below BENCH_MAX_LOAD (if set);
    returns the 1-minute load average the run starts with."""
    limit = os.environ.get("BENCH_MAX_LOAD")
    waited = 0
    while limit and loadavg_1min() >= float(limit) and waited < LOAD_WAIT_MAX_S:
        if waited == 0:
            print(f"  (waiting for the 1-minute load average "
                  f"{loadavg_1min():.2f} to fall below {limit})", flush=True)
        time.sleep(LOAD_POLL_S)
        waited += LOAD_POLL_S
    load = loadavg_1min()
    if limit and load >= float(limit):
        print(f"  (load average still {load:.2f} after "
              f"{waited // 60} min: running anyway)", flush=True)
    return load


def machine_ctxt():
    """Context switches of the whole machine since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("ctxt "):
                return int(line.split()[1])
    return 0


def start_server(wshub):
    """A fresh, quiet wshub; (the WshubProcess, host, port).  Stop it with
    server.stop(STOP_TIMEOUT_S)."""
    server = WshubProcess(wshub, ["-q"])
    try:
        host, port = server.start()
    except RuntimeError as e:
        raise SystemExit("bench: %s" % e)
    return server, host, port


def run_once(wshub, load, args):
    """One run of wshub-load against a fresh server, which it samples
    (--server-pid); the JSON summary."""
    server, host, port = start_server(wshub)
    try:
        time.sleep(0.2)
        ctxt0, t0 = machine_ctxt(), time.monotonic()
        out = subprocess.run(
            [load] + args + ["-q", "--json", "--server-pid", str(server.pid),
                             f"ws://{host}:{port}/ws"],
            capture_output=True, text=True, timeout=600)
        ctxt_per_s = (machine_ctxt() - ctxt0) / (time.monotonic() - t0)
        r = json.loads(out.stdout)
        r["bench"] = {"machine_ctxt_per_s": round(ctxt_per_s)}
        return r
    finally:
        server.stop(STOP_TIMEOUT_S)


def figures(mode, r):
    """The figures worth reporting for one run, by name."""
    res = r["result"] or {}
    lat = res.get("latency_us", {})
    srv = r.get("server") or {}
    f = {"connections ok": r["connections"]["ok"]}
    if mode in ("broadcast", "sweep"):
        f["delivery %"] = 100.0 * res.get("delivery_ratio", 0)
        f["deliveries/s"] = res.get("deliveries_per_s", 0)
        f["p50 ms"] = lat.get("p50", 0) / 1000
        f["p99 ms"] = lat.get("p99", 0) / 1000
        f["max ms"] = lat.get("max", 0) / 1000
        f["server us/delivery"] = (res.get("server_cpu_ns_per_delivery")
                                   or 0) / 1000
        f["client us/frame"] = res.get("client_cpu_ns_per_frame", 0) / 1000
    if mode == "sweep":
        f["best rate/sender"] = res.get("rate", 0)
    if mode == "connect":
        f["ramp s"] = r["connections"]["ramp_s"]
        f["received broadcast"] = res.get("received", 0)
        f["last receiver ms"] = lat.get("max", 0) / 1000
        f["server KiB/conn"] = srv.get("rss_bytes_per_conn", 0) / 1024
        f["server threads"] = srv.get("threads_peak", 0)
    f["machine ctxt/s"] = r["bench"]["machine_ctxt_per_s"]
    f["load avg before"] = r["bench"]["loadavg_1min_before"]
    return f


def run_switch(out_dir, runs):
    """The thread hand-off microbenchmark: it repeats and takes medians
    itself, so it runs once whatever RUNS says."""
    load = wait_quiet()
    table = subprocess.run([os.path.join(out_dir, "chan-pingpong")],
                           capture_output=True, text=True, check=True).stdout
    table += f"(1-minute load average before the run: {load:.2f})\n"
    with open(os.path.join(out_dir, "switch.txt"), "w") as f:
        f.write(table)
    print("".join("  " + line for line in table.splitlines(True)), end="")


def run_scenario(wshub, load, out_dir, runs, name):
    title, args = SCENARIOS[name]
    print(f"  wshub-load {' '.join(args)}", flush=True)
    for old in glob.glob(os.path.join(out_dir, f"{name}-*.json")):
        os.remove(old)
    samples = {}
    for i in range(1, runs + 1):
        before = wait_quiet()
        r = run_once(wshub, load, args)
        r["bench"].update(scenario=name, run=i, loadavg_1min_before=before)
        with open(os.path.join(out_dir, f"{name}-{i}.json"), "w") as f:
            json.dump(r, f)
            f.write("\n")
        for k, v in figures(args[0], r).items():
            samples.setdefault(k, []).append(v)
    for k, vs in samples.items():
        print(f"  {k:22} {statistics.median(vs):>12.2f}  "
              f"[{min(vs):.2f}-{max(vs):.2f}]")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    wshub, load = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    names = sys.argv[4:] or DEFAULT
    for name in names:
        if name != "switch" and name not in SCENARIOS:
            raise SystemExit(f"bench: no scenario {name} (switch, "
                             f"{', '.join(SCENARIOS)})")
    out_dir = os.path.dirname(os.path.abspath(wshub))
    print(f"machine: {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') >> 30} GiB, "
          f"{os.uname().release}; {runs} runs per scenario, median [min-max]")
    for name in names:
        if name == "switch":
            print("\nswitch: one thread hand-off (test/bench/chan_pingpong.c)")
            run_switch(out_dir, runs)
        else:
            print(f"\n{name} {SCENARIOS[name][0]}")
            run_scenario(wshub, load, out_dir, runs, name)


if __name__ == "__main__":
    main()
