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

The scenario S4-50k (50,000 connections, 100,000 server threads) is run
only when named, and only when the kernel's limits allow it: it checks
them first (s4_50k_missing) and otherwise prints one line, "S4-50k skipped:
needs ...", naming each setting and the value it needs (README, "Scaling
up one box"), and goes on; a skip is not a failure.

The scenario `switch` runs the thread hand-off microbenchmark
(test/bench/chan_pingpong.c, built next to WSHUB) instead of wshub-load, and
keeps its table as OUT/switch.txt.

The scenario `S3-vs-gorilla` runs S3's sweep with --split-lines against
wshub and against Gorilla's chat example in one sitting, the two servers
alternating run by run, each freshly started; it needs GORILLA=PATH, the
example built as BENCHMARKS.md's "Benchmarking another server side by side"
says (started as PATH -addr 127.0.0.1:PORT).  It keeps
OUT/S3-vs-gorilla-wshub-RUN.json and OUT/S3-vs-gorilla-gorilla-RUN.json.

On a shared machine, set BENCH_MAX_LOAD (e.g. 0.5): before each run the
script waits until the 1-minute load average is below it, polling every
30 s for up to 20 minutes, then runs anyway and says so.

usage: scripts/bench.py WSHUB WSHUB_LOAD [RUNS] [SCENARIO...]
"""
import glob
import json
import math
import os
import re
import socket
import resource
import statistics
import subprocess
import sys
import time
import urllib.request

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
    # Chat-shaped load (issue 21 §3): many small rooms, one sender each.
    # Both deliver 50,000 messages/s: S6 in 1,000 rooms of 10, S6-mixed
    # half of it in 5 rooms of 1,000 (25,000/s) and half in 500 of 10.
    "S6": ("chat: 10,000 clients in 1,000 rooms of 10, a sender per room "
           "x 5 msg/s, 10 s",
           ["broadcast", "-c", "10000", "-s", "1000", "-r", "5",
            "--rooms", "1000", "-d", "10"]),
    "S6-mixed": ("chat: 10,000 clients in 5 rooms of 1,000 and 500 of 10, "
                 "a sender per room x 5 msg/s, 10 s",
                 ["broadcast", "--room-sizes", "1000x5,10x500", "-s", "505",
                  "-r", "5", "-d", "10"]),
    # The highest rate each holds (loss <= 1 %, p99 <= 100 ms): the rate
    # per sender doubles from 5/s, 5 s a step, until a step fails.
    "S6-sweep": ("chat saturation: S6's rooms, rate doubling from 5/s",
                 ["sweep", "-c", "10000", "-s", "1000", "-r", "5",
                  "--rooms", "1000", "-d", "5", "--steps", "8"]),
    "S6-mixed-sweep": ("chat saturation: S6-mixed's rooms, rate doubling "
                       "from 5/s",
                       ["sweep", "--room-sizes", "1000x5,10x500", "-s",
                        "505", "-r", "5", "-d", "5", "--steps", "8"]),
    # Issue 21's goal; run only when named, and only when the kernel's
    # limits allow it (s4_50k_missing).  Eight source addresses: 6,250
    # connections each, well within one address's ports.
    "S4-50k": ("capacity: 50,000 idle connections held 10 s, then one "
               "broadcast (needs the sysctls of README 'Scaling up one box')",
               ["connect", "-c", "50000", "-d", "10", "--inflight", "128",
                "--source", "127.0.0.1-127.0.0.8"]),
}
# Scenarios that check the machine's limits first; a skip is not a failure.
GATED = {"S4-50k"}
DEFAULT = ["switch", "S1", "S2", "S3", "S4-1k", "S4-5k", "S4"]

# Against another server: NAME -> (the scenario whose command it runs,
# the flags it adds).  Gorilla's chat example joins the messages queued
# for a client with '\n', so both servers are measured with --split-lines
# (which changes nothing for wshub, one frame per message).
SIDE_BY_SIDE = {"S3-vs-gorilla": ("S3", ["--split-lines"])}
GORILLA_START_S = 5        # for Gorilla's example to listen

LOAD_POLL_S = 30          # how often to look at the load average
LOAD_WAIT_MAX_S = 20 * 60  # then run anyway, and say so


ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# Memory per connection, both sides: 32 KiB of kernel stacks (two threads),
# ~28 KiB of the server's RSS, ~23 KiB of slab (both sockets), ~9 KiB of
# wshub-load's heap (S4-5k on this machine), with room to spare.
KIB_PER_CONN = 128


def c_define(path, name):
    """The integer value of `#define NAME N` in a source file of the repo."""
    with open(os.path.join(ROOT, path)) as f:
        m = re.search(r"^#define %s (\d+)" % name, f.read(), re.M)
    if not m:
        raise SystemExit(f"bench: no #define {name} in {path}")
    return int(m.group(1))


def server_limits():
    """The server's own list of the limits a client counts against
    (futex_hash_client_ceiling in src/futex_hash.c, whose DESIGN is in
    include/wshub/futex_hash.h), read from that table so that it is told
    once: [(name, field, fixed, per client)]."""
    with open(os.path.join(ROOT, "src", "futex_hash.c")) as f:
        text = f.read()
    rows = re.findall(r'\{ "([^"]+)",\s*clients_under\(l->(\w+), (\w+), '
                      r'(\d+)\) \}', text)
    if len(rows) < 5:
        raise SystemExit("bench: cannot read the limits' table of "
                         "futex_hash_client_ceiling (src/futex_hash.c)")
    fixed = {"FUTEX_HASH_FIXED_THREADS":
             c_define("include/wshub/futex_hash.h", "FUTEX_HASH_FIXED_THREADS")}
    for name in ("FIXED_FDS", "FIXED_MAPS"):
        fixed[name] = c_define("src/futex_hash.c", name)
    return [(n, fld, fixed[k], int(per)) for n, fld, k, per in rows]


def sysctl(name):
    with open("/proc/sys/" + name.replace(".", "/")) as f:
        return [int(x) for x in f.read().split()]


def tasks_now():
    """Threads on the whole machine now (/proc/loadavg's running/total)."""
    with open("/proc/loadavg") as f:
        return int(f.read().split()[3].split("/")[1])


def nofile_can_get(need):
    """Raises this process's RLIMIT_NOFILE (both processes inherit it) as far
    as it may, up to `need`: root may raise the hard limit to fs.nr_open.
    Returns the hard limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
        except (ValueError, OSError):
            pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return math.inf if hard == resource.RLIM_INFINITY else hard


def source_count(args):
    """How many addresses `--source FIRST-LAST` in `args` holds (1 without)."""
    if "--source" not in args:
        return 1
    spec = args[args.index("--source") + 1].split("-")
    if len(spec) == 1:
        return 1
    first, last = ([int(o) for o in a.split(".")] for a in spec)
    value = lambda q: (q[0] << 24) | (q[1] << 16) | (q[2] << 8) | q[3]
    return value(last) - value(first) + 1


def s4_50k_missing(args):
    """What the machine lacks for the connect run `args`: a list of
    "SETTING >= NEEDED (now N)", empty when it may run."""
    conns = int(args[args.index("-c") + 1])
    missing = []

    def need(name, now, needed):
        if now < needed:
            missing.append(f"{name} >= {needed} (now {now})")

    others = tasks_now()  # threads of every other process share pid_max
    for name, field, fixed, per in server_limits():
        needed = fixed + per * conns
        if field == "nofile":
            # wshub-load holds one descriptor per connection too, and
            # FD_RESERVE more (src/load/load.h).
            needed = max(needed, conns + c_define("src/load/load.h",
                                                  "FD_RESERVE") + 2)
            hard = nofile_can_get(needed)
            need("ulimit -Hn", hard, needed)
            need("fs.nr_open", sysctl("fs.nr_open")[0], needed)
        elif field == "nproc" and os.geteuid() != 0:
            hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
            if hard != resource.RLIM_INFINITY:
                need("ulimit -Hu", hard, needed + others)
        elif field in ("pid_max", "threads_max"):
            need(name, sysctl(name)[0], needed + others)
        elif field == "max_map_count":
            need(name, sysctl(name)[0], needed)
    lo, hi = sysctl("net.ipv4.ip_local_port_range")
    per_source = -(-conns // source_count(args))
    need("net.ipv4.ip_local_port_range ports per source address",
         hi - lo + 1, per_source)
    with open("/proc/meminfo") as f:
        avail = next(int(line.split()[1]) for line in f
                     if line.startswith("MemAvailable:"))
    need("MemAvailable MiB", avail >> 10, conns * KIB_PER_CONN >> 10)
    return missing


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


def free_port():
    """A TCP port nothing listens on now, for a server that cannot pick
    its own (Gorilla's example takes -addr HOST:PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gorilla(path):
    """A fresh Gorilla chat example; (the Popen, host, port) once it
    accepts connections."""
    port = free_port()
    proc = subprocess.Popen([path, "-addr", f"127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + GORILLA_START_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, "127.0.0.1", port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise SystemExit(f"bench: {path} -addr 127.0.0.1:{port} did not listen "
                     f"within {GORILLA_START_S} s")


def stop_gorilla(proc):
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def server_stats(host, port):
    """wshub's /stats, or None (another server, or no answer)."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/stats",
                                    timeout=5) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_load(load, args, pid, host, port):
    """wshub-load against the server `pid` at host:port, sampling it
    (--server-pid); the JSON summary, with the machine's context switches
    per second and the server's /stats before and after."""
    time.sleep(0.2)
    stats0 = server_stats(host, port)
    ctxt0, t0 = machine_ctxt(), time.monotonic()
    out = subprocess.run(
        [load] + args + ["-q", "--json", "--server-pid", str(pid),
                         f"ws://{host}:{port}/ws"],
        capture_output=True, text=True, timeout=900)
    ctxt_per_s = (machine_ctxt() - ctxt0) / (time.monotonic() - t0)
    r = json.loads(out.stdout)
    r["bench"] = {"machine_ctxt_per_s": round(ctxt_per_s),
                  "stats_before": stats0,
                  "stats_after": server_stats(host, port)}
    return r


def run_once(wshub, load, args):
    """One run of wshub-load against a fresh wshub; the JSON summary."""
    server, host, port = start_server(wshub)
    try:
        return run_load(load, args, server.pid, host, port)
    finally:
        server.stop(STOP_TIMEOUT_S)


def run_once_gorilla(gorilla, load, args):
    """One run of wshub-load against a fresh Gorilla chat example."""
    proc, host, port = start_gorilla(gorilla)
    try:
        return run_load(load, args, proc.pid, host, port)
    finally:
        stop_gorilla(proc)


# ---- The hub's time per broadcast (issue 21 §3) -------------------------
# wshub's /stats counts the messages the hub fanned out to their rooms
# (hub_broadcasts) and the time its thread spent doing so
# (hub_broadcast_seconds).  run_load keeps /stats from just before and just
# after the run in the JSON's "bench" object; against a server without
# them (Gorilla's example) the figure is left out.
HUB_SECONDS = "hub_broadcast_seconds"
BROADCASTS = "hub_broadcasts"


def hub_us_per_broadcast(r):
    """The hub's time per broadcast over the run, in us, or None."""
    b = r.get("bench", {})
    before, after = b.get("stats_before"), b.get("stats_after")
    if not before or not after or HUB_SECONDS not in after:
        return None
    n = after[BROADCASTS] - before[BROADCASTS]
    if n <= 0:
        return None
    return (after[HUB_SECONDS] - before[HUB_SECONDS]) / n * 1e6
# -------------------------------------------------------------------------


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
    if mode in ("broadcast", "sweep") and r.get("room_sizes"):
        for b in res.get("by_room_size", []):
            f[f"rooms of {b['size']}: p50 ms"] = b["latency_us"]["p50"] / 1000
            f[f"rooms of {b['size']}: p99 ms"] = b["latency_us"]["p99"] / 1000
    if hub_us_per_broadcast(r) is not None:
        f["hub us/broadcast"] = hub_us_per_broadcast(r)
    if mode == "sweep":
        f["best rate/sender"] = res.get("rate", 0)
    if mode == "connect":
        f["ramp s"] = r["connections"]["ramp_s"]
        f["received broadcast"] = res.get("received", 0)
        f["last receiver ms"] = lat.get("max", 0) / 1000
        if srv.get("rss_bytes_per_conn") is not None:
            f["server KiB/conn"] = srv["rss_bytes_per_conn"] / 1024
        else:  # wshub-load says why (man wshub-load: --server-pid)
            print("  (no server KiB/conn: %s)" % srv.get(
                "rss_per_conn_refused", "no server figures"), flush=True)
        f["server threads"] = srv.get("threads_peak", 0)
        kern = r.get("kernel") or {}
        f["slab KiB/conn"] = (kern.get("slab_bytes_per_conn") or 0) / 1024
        f["kstack KiB/conn"] = (kern.get("kernel_stack_bytes_per_conn")
                                or 0) / 1024
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


def remove_runs(out_dir, name):
    """Deletes OUT/NAME-RUN.json, and not another scenario's whose name
    starts with NAME (S4-1k-1.json is not S4's)."""
    for old in glob.glob(os.path.join(out_dir, f"{name}-*.json")):
        if re.fullmatch(re.escape(name) + r"-\d+\.json",
                        os.path.basename(old)):
            os.remove(old)


def keep_run(out_dir, name, i, r, before):
    r["bench"].update(scenario=name, run=i, loadavg_1min_before=before)
    with open(os.path.join(out_dir, f"{name}-{i}.json"), "w") as f:
        json.dump(r, f)
        f.write("\n")


def print_samples(samples, indent="  "):
    for k, vs in samples.items():
        print(f"{indent}{k:26} {statistics.median(vs):>12.2f}  "
              f"[{min(vs):.2f}-{max(vs):.2f}]")


def run_scenario(wshub, load, out_dir, runs, name):
    title, args = SCENARIOS[name]
    missing = s4_50k_missing(args) if name in GATED else []
    if missing:
        print(f"  {name} skipped: needs {', '.join(missing)} "
              f"(README, 'Scaling up one box')", flush=True)
        return
    print(f"  wshub-load {' '.join(args)}", flush=True)
    remove_runs(out_dir, name)
    samples = {}
    for i in range(1, runs + 1):
        before = wait_quiet()
        r = run_once(wshub, load, args)
        keep_run(out_dir, name, i, r, before)
        for k, v in figures(args[0], r).items():
            samples.setdefault(k, []).append(v)
    print_samples(samples)


def run_side_by_side(wshub, load, out_dir, runs, name):
    """wshub and Gorilla's example alternating, run by run (SIDE_BY_SIDE)."""
    gorilla = os.environ.get("GORILLA")
    if not gorilla:
        raise SystemExit(f"bench: {name} needs GORILLA=PATH, Gorilla's chat "
                         "example (BENCHMARKS.md, \"Benchmarking another "
                         "server side by side\")")
    base, extra = SIDE_BY_SIDE[name]
    args = SCENARIOS[base][1] + extra
    print(f"  wshub-load {' '.join(args)}, against each in turn", flush=True)
    servers = (("wshub", lambda: run_once(wshub, load, args)),
               ("gorilla", lambda: run_once_gorilla(gorilla, load, args)))
    samples = {label: {} for label, _ in servers}
    for label, _ in servers:
        remove_runs(out_dir, f"{name}-{label}")
    for i in range(1, runs + 1):
        for label, run in servers:
            before = wait_quiet()
            r = run()
            keep_run(out_dir, f"{name}-{label}", i, r, before)
            for k, v in figures(args[0], r).items():
                samples[label].setdefault(k, []).append(v)
    for label, _ in servers:
        print(f"  {label}:")
        print_samples(samples[label], "    ")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    wshub, load = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    names = sys.argv[4:] or DEFAULT
    for name in names:
        if name != "switch" and name not in SCENARIOS \
                and name not in SIDE_BY_SIDE:
            raise SystemExit(f"bench: no scenario {name} (switch, "
                             f"{', '.join(list(SCENARIOS) + list(SIDE_BY_SIDE))})")
    out_dir = os.path.dirname(os.path.abspath(wshub))
    print(f"machine: {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') >> 30} GiB, "
          f"{os.uname().release}; {runs} runs per scenario, median [min-max]")
    for name in names:
        if name == "switch":
            print("\nswitch: one thread hand-off (test/bench/chan_pingpong.c)")
            run_switch(out_dir, runs)
        elif name in SIDE_BY_SIDE:
            base = SIDE_BY_SIDE[name][0]
            print(f"\n{name} {SCENARIOS[base][0]}: wshub and Gorilla's chat "
                  "example, alternating")
            run_side_by_side(wshub, load, out_dir, runs, name)
        else:
            print(f"\n{name} {SCENARIOS[name][0]}")
            run_scenario(wshub, load, out_dir, runs, name)


if __name__ == "__main__":
    main()
