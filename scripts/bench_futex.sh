#!/usr/bin/env bash
# The kernel's futex hash, A/B (BENCHMARKS.md, "Where a waiting thread
# parks"): for each client count, a fresh server with the kernel's default
# hash (--futex-hash-slots 0) and one sized by wshub (auto), RUNS times
# each; CLIENTS idle connections, then one broadcast to all (wshub-load
# connect).  Prints, per run, the hash the server reports, the last
# delivery and the server's CPU time for the whole run.
#   usage: scripts/bench_futex.sh RUNS CLIENTS...
# With GORILLA=PATH (Gorilla's chat example built as BENCHMARKS.md's
# "Benchmarking another server side by side" says), each run also measures
# it, the same way, after the two wshubs.
# Needs: ulimit -n above CLIENTS (the hard limit is raised to, if it
# allows), 2 threads per client under kernel.pid_max.  Bounded: each run is
# wshub-load's own -d 10 plus its connect time.
set -u
runs=${1:?usage: bench_futex.sh RUNS CLIENTS...}
shift
cd "$(dirname "$0")/.."
make -s BUILD=build/bench CFLAGS="-O2 -g -DNDEBUG" build/bench/wshub build/bench/wshub-load || exit 1
ulimit -n "$(ulimit -Hn)"
out=build/bench/futex
mkdir -p "$out"
for c in "$@"; do
	for run in $(seq "$runs"); do
		for slots in 0 auto ${GORILLA:+gorilla}; do
			if [ "$slots" = gorilla ]; then
				port=9199
				"$GORILLA" -addr "127.0.0.1:$port" 2>"$out/server.log" &
				pid=$!
				sleep 0.5
				hdr="Gorilla's chat example"
			else
				build/bench/wshub -q --port 0 --futex-hash-slots "$slots" \
				    2>"$out/server.log" &
				pid=$!
				port=""
				for _ in $(seq 100); do
					port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out/server.log")
					[ -n "$port" ] && break
					sleep 0.05
				done
				hdr=$(curl -s "http://127.0.0.1:$port/debug/threads" | head -1)
			fi
			build/bench/wshub-load connect -c "$c" -d 10 --inflight 128 \
			    --json --server-pid "$pid" "ws://127.0.0.1:$port/ws" \
			    >"$out/$slots-$c-$run.json" 2>/dev/null
			cpu=$(awk '{ print ($14 + $15) / 100 }' "/proc/$pid/stat")
			kill -TERM "$pid"
			wait "$pid"
			/usr/bin/python3 - "$out/$slots-$c-$run.json" "$slots" "$c" "$run" "$hdr" "$cpu" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = j["rounds"][0] if j.get("rounds") else {}
lat = r.get("latency_us", {})
print("slots=%-4s clients=%-6s run=%s  %-34s received %s/%s  last delivery %.0f ms  server CPU %s s"
      % (sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], r.get("received"),
         j["connections"]["ok"], lat.get("max", 0) / 1000, sys.argv[6]))
PY
		done
	done
done
