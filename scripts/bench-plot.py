#!/usr/bin/python3
"""Draws BENCHMARKS.md's pictures from the JSON that scripts/bench.py keeps.

usage: scripts/bench-plot.py JSON_DIR SVG_DIR     (bench.sh: build/bench docs/bench)

Reads JSON_DIR/SCENARIO-RUN.json (one `wshub-load --json` summary per run)
and writes, with gnuplot's SVG terminal:
  s2-latency-cdf.svg  S2's fan-out latency as a cumulative distribution.
                      wshub-load's JSON holds percentiles, not the whole
                      histogram, so each curve joins the points it has:
                      min, p50, p90, p99, p99.9 and max.
  s3-sweep.svg        S3: deliveries per second against p99, one point per
                      step of the sweep, one line per run.
  s4-rss.svg          S4: server memory per connection against the number
                      of connections, from every `connect` run (S4-1k,
                      S4-5k, S4, S4b: whichever were run).
  s3-vs-gorilla.svg   S3-vs-gorilla: the sweep against wshub and against
                      Gorilla's chat example, in one sitting, both with
                      --split-lines; deliveries per second against p99,
                      one line per run, one colour per server.
A picture whose runs are missing is left as it is, and the script says so.
Every number drawn comes from the JSON files; none is written here.
"""
import glob
import json
import os
import re
import subprocess
import sys

TERMINAL = 'set terminal svg size 720,450 font "sans,12" background "white"'
PERCENTILES = [("min", 0.0), ("p50", 0.50), ("p90", 0.90), ("p99", 0.99),
               ("p999", 0.999), ("max", 1.0)]


def runs(json_dir, scenario):
    """The kept runs of one scenario, in run order."""
    found = []
    for path in glob.glob(os.path.join(json_dir, f"{scenario}-*.json")):
        m = re.fullmatch(re.escape(scenario) + r"-(\d+)\.json",
                         os.path.basename(path))
        if m:
            with open(path) as f:
                found.append((int(m.group(1)), json.load(f)))
    return [r for _, r in sorted(found, key=lambda x: x[0])]


def datablock(name, rows):
    """A gnuplot inline data block; blank lines separate data sets."""
    lines = [f"${name} << EOD"]
    for row in rows:
        lines.append(" ".join(str(v) for v in row) if row else "")
    lines.append("EOD")
    return "\n".join(lines)


def gnuplot(path, script):
    subprocess.run(["gnuplot"], input=f"{TERMINAL}\nset output '{path}'\n"
                   + script, text=True, check=True)
    print(f"bench-plot: wrote {path}")


def plot_s2(json_dir, out):
    rs = runs(json_dir, "S2")
    if not rs:
        return "no S2 runs"
    rows, plots = [], []
    for i, r in enumerate(rs):
        lat = r["result"]["latency_us"]
        rows += [(lat[k] / 1000, q) for k, q in PERCENTILES] + [(), ()]
        plots.append(f"$cdf index {i} with linespoints lw 2 pt 7 "
                     f"title 'run {i + 1}: p99 {lat['p99'] / 1000:.1f} ms'")
    gnuplot(os.path.join(out, "s2-latency-cdf.svg"), f"""
{datablock('cdf', rows)}
set title "S2 fan-out latency (1,000 clients, 5 senders x 20 msg/s, 128 B)"
set xlabel "latency from send to receipt (ms)"
set ylabel "fraction of deliveries"
set yrange [0:1.02]
set xrange [0:*]
set key bottom right
set grid
plot {", ".join(plots)}
""")


def plot_s3(json_dir, out):
    rs = runs(json_dir, "S3")
    if not rs:
        return "no S3 runs"
    rows, plots = [], []
    for i, r in enumerate(rs):
        rows += [(rd["deliveries_per_s"], rd["latency_us"]["p99"] / 1000,
                  rd["delivery_ratio"] * 100) for rd in r["rounds"]]
        rows += [(), ()]
        plots.append(f"$sweep index {i} using 1:2 with linespoints lw 2 "
                     f"pt 7 title 'run {i + 1}'")
    gnuplot(os.path.join(out, "s3-sweep.svg"), f"""
{datablock('sweep', rows)}
set title "S3 saturation sweep (1,000 clients, 5 senders, rate doubling)"
set xlabel "deliveries per second (received by all clients)"
set ylabel "fan-out latency p99 (ms)"
set logscale xy
set format x "%.0s%c"
set key top left
set grid
plot {", ".join(plots)}
""")


def plot_s3_vs_gorilla(json_dir, out):
    rows, plots = [], []
    servers = (("wshub", "wshub", "#1f77b4"),
               ("gorilla", "Gorilla's chat example", "#d62728"))
    for label, title, colour in servers:
        for i, r in enumerate(runs(json_dir, f"S3-vs-gorilla-{label}")):
            rows += [(rd["deliveries_per_s"], rd["latency_us"]["p99"] / 1000)
                     for rd in r["rounds"]] + [(), ()]
            best = (r["result"] or {}).get("deliveries_per_s", 0)
            plots.append(f"$sweep index {len(plots)} using 1:2 with "
                         f"linespoints lw 2 pt {7 if label == 'wshub' else 5}"
                         f" lc rgb '{colour}' title \"{title}, run {i + 1}: "
                         f"best {best / 1000:.0f}k/s\"")
    if not plots:
        return "no S3-vs-gorilla runs"
    gnuplot(os.path.join(out, "s3-vs-gorilla.svg"), f"""
{datablock('sweep', rows)}
set title "S3 sweep, wshub and Gorilla's chat example (--split-lines)"
set xlabel "deliveries per second (received by all clients)"
set ylabel "fan-out latency p99 (ms)"
set logscale xy
set format x "%.0s%c"
set arrow from graph 0, first 100 to graph 1, first 100 nohead dt 2
set label "p99 limit, 100 ms" at graph 0.02, first 115
set key top left
set grid
plot {", ".join(plots)}
""")


def plot_s4(json_dir, out):
    rows = []
    for scen in ("S4-1k", "S4-5k", "S4", "S4b"):
        for r in runs(json_dir, scen):
            srv = r.get("server") or {}
            if srv.get("rss_bytes_per_conn"):
                rows.append((r["connections"]["ok"],
                             srv["rss_bytes_per_conn"] / 1024,
                             r["result"]["latency_us"]["max"] / 1000))
    if not rows:
        return "no connect runs (S4-1k, S4-5k, S4, S4b)"
    rows.sort()
    gnuplot(os.path.join(out, "s4-rss.svg"), f"""
{datablock('rss', rows)}
set title "S4 server memory per idle connection (RSS growth / connections)"
set xlabel "connections held"
set ylabel "KiB per connection"
set y2label "last receiver of one broadcast (ms)"
set xrange [0:*]
set offsets 0, graph 0.05, 0, 0
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set key bottom right
set grid
plot $rss using 1:2 with linespoints lw 2 pt 7 title 'RSS per connection', \\
     $rss using 1:3 axes x1y2 with points pt 6 ps 1.5 title 'last receiver (right)'
""")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    json_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for plot in (plot_s2, plot_s3, plot_s4, plot_s3_vs_gorilla):
        missing = plot(json_dir, out)
        if missing:
            print(f"bench-plot: {missing}: {plot.__name__[5:]} not redrawn")


if __name__ == "__main__":
    main()
