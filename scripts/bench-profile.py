#!/usr/bin/python3
"""Where S2's server time goes: one S2 run, measured in a steady window.

usage: scripts/bench-profile.py [stat|strace|record] [WSHUB]   (default: stat)

Builds build/bench like scripts/bench.sh (or takes WSHUB and the
wshub-load beside it, to profile another build), starts a fresh server, runs S2
(scripts/bench.py's command) against it, and after WARMUP_S, when every
client is connected and the senders are steady, measures the server for
WINDOW_S, per delivery (deliveries counted by the server's /stats):
  stat    server CPU time, context switches of its threads (voluntary and
          not, from /proc/PID/task/*/status), the whole machine's context
          switches, and with `perf stat -p` the futex and sendmsg calls and
          CPU migrations of every server thread.
  strace  `strace -c -f -p`: the server's system calls, counted.  strace
          stops a thread at every call and needs seconds to attach to
          2,000 threads, so it changes what it measures: its counts are
          shown per sendmsg(2) call, not per delivery, and `stat`'s
          tracepoint counts are the ones to trust.
  record  `perf record -g -p`, then the report's top entries.
Honours BENCH_MAX_LOAD as scripts/bench.py does; writes its files (the
load client's JSON, strace's table, perf.data) under DIR/profile/, DIR
being WSHUB's directory (build/bench).
"""
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (scripts/bench.py)

WARMUP_S = 4    # connect ramp (~0.2 s) and the first second of sending
WINDOW_S = 4    # inside S2's 10 s of sending
OUT = None       # DIR/profile, set by main


def server_counts(pid, port):
    """Deliveries so far, CPU ns, and the context switches of its threads."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as r:
        deliveries = json.load(r)["deliveries"]
    vol = invol = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that just ended
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu_ns = (int(fields[11]) + int(fields[12])) * 1e9 / os.sysconf(
        "SC_CLK_TCK")
    return {"deliveries": deliveries, "cpu_ns": cpu_ns, "vol": vol,
            "invol": invol, "machine_ctxt": bench.machine_ctxt(),
            "t": time.monotonic()}


def perf_stat(pid, seconds):
    """Counts of each event over all of the server's threads."""
    events = ["context-switches", "cpu-migrations",
              "syscalls:sys_enter_futex", "syscalls:sys_enter_sendmsg"]
    out = subprocess.run(["perf", "stat", "-x", ",", "-e", ",".join(events),
                          "-p", str(pid), "--", "sleep", str(seconds)],
                         capture_output=True, text=True).stderr
    counts = {}
    for line in out.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[2] in events and f[0].isdigit():
            counts[f[2]] = int(f[0])
    return counts


def window(mode, pid, port):
    """Measures WINDOW_S seconds; returns (counts before, after, extra)."""
    a = server_counts(pid, port)
    extra = {}
    if mode == "stat":
        extra = perf_stat(pid, WINDOW_S)
    elif mode == "strace":
        subprocess.run(["timeout", "-s", "INT", str(WINDOW_S), "strace", "-c",
                        "-f", "-p", str(pid), "-o", f"{OUT}/strace.txt"],
                       capture_output=True)
    else:
        subprocess.run(["perf", "record", "-g", "-o", f"{OUT}/perf.data",
                        "-p", str(pid), "--", "sleep", str(WINDOW_S)],
                       capture_output=True)
    return a, server_counts(pid, port), extra


def report(mode, a, b, extra):
    n = b["deliveries"] - a["deliveries"]
    dt = b["t"] - a["t"]
    print(f"window {dt:.1f} s: {n} deliveries ({n / dt:,.0f}/s)")
    if n == 0:
        return
    if mode != "stat":  # strace and perf record change what they measure
        report_tool(mode)
        return
    print(f"  server CPU per delivery      {(b['cpu_ns'] - a['cpu_ns']) / n / 1000:8.2f} us"
          f"  (clock ticks: +-{1e9 / os.sysconf('SC_CLK_TCK') / n / 1000:.2f})")
    print(f"  server switches per delivery {(b['vol'] - a['vol']) / n:8.3f} voluntary,"
          f" {(b['invol'] - a['invol']) / n:.3f} involuntary")
    print(f"  machine context switches/s   {(b['machine_ctxt'] - a['machine_ctxt']) / dt:8.0f}")
    for k, v in extra.items():
        print(f"  perf {k:25} {v / n:8.3f} per delivery")


def report_tool(mode):
    """What strace or perf record found."""
    if mode == "strace":
        calls = {}
        with open(f"{OUT}/strace.txt") as f:
            for line in f:
                p = line.split()
                if len(p) >= 5 and p[3].isdigit():
                    calls[p[-1]] = int(p[3])
        per = calls.get("sendmsg") or 1
        print("  strace -c -f, calls while attached (and per sendmsg):")
        for name, k in calls.items():
            print(f"    {name:18} {k:9d} {k / per:7.3f}")
    if mode == "record":
        rep = subprocess.run(["perf", "report", "-i", f"{OUT}/perf.data",
                              "--no-children", "--percent-limit", "1.5",
                              "--stdio", "-g", "none", "--sort", "sym"],
                             capture_output=True, text=True).stdout
        print("".join(l + "\n" for l in rep.splitlines()
                      if l.strip() and not l.startswith("#")))


def main():
    global OUT
    mode = sys.argv[1] if len(sys.argv) > 1 else "stat"
    if mode not in ("stat", "strace", "record") or len(sys.argv) > 3:
        raise SystemExit(__doc__)
    wshub = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if wshub is None:
        wshub = "build/bench/wshub"
        subprocess.run(["make", "-s", "BUILD=build/bench",
                        "CFLAGS=-O2 -g -DNDEBUG", wshub,
                        "build/bench/wshub-load"], check=True)
    load_client = os.path.join(os.path.dirname(wshub), "wshub-load")
    OUT = os.path.join(os.path.dirname(wshub), "profile")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.makedirs(OUT, exist_ok=True)
    load = bench.wait_quiet()
    server, _, port = bench.start_server(wshub)
    try:
        time.sleep(0.2)
        args = bench.SCENARIOS["S2"][1]
        with open(f"{OUT}/S2-{mode}.json", "w") as out:
            client = subprocess.Popen(
                [load_client] + args + [
                    "-q", "--json", "--server-pid", str(server.pid),
                    f"ws://127.0.0.1:{port}/ws"], stdout=out,
                stderr=subprocess.DEVNULL)
            time.sleep(WARMUP_S)
            a, b, extra = window(mode, server.pid, port)
            client.wait(timeout=120)
    finally:
        server.stop(bench.STOP_TIMEOUT_S)
    with open(f"{OUT}/S2-{mode}.json") as f:
        res = json.load(f)["result"]
    print(f"S2 under {mode} (load average before: {load:.2f}): "
          f"delivered {100 * res['delivery_ratio']:.2f} %, "
          f"p99 {res['latency_us']['p99'] / 1000:.1f} ms, whole run "
          f"{(res['server_cpu_ns_per_delivery'] or 0) / 1000:.2f} us/delivery")
    report(mode, a, b, extra)


if __name__ == "__main__":
    main()
