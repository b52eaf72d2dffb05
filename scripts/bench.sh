#!/usr/bin/env bash
# The standard benchmarks (S1-S4, see BENCHMARKS.md) and the thread hand-off
# microbenchmark against an optimised build of wshub with no sanitizers, in
# build/bench; then the pictures (docs/bench/*.svg) from the runs' JSON.
#   scripts/bench.sh [RUNS] [SCENARIO...]     e.g. scripts/bench.sh 3 S2 S3
#   BENCH_MAX_LOAD=0.5 scripts/bench.sh       wait for a quiet machine first
#   GORILLA=/tmp/gorilla-chat scripts/bench.sh 3 S3-vs-gorilla
#                                             S3 against wshub and Gorilla's
#                                             chat example, alternating
#   scripts/bench.sh 1 S4-50k                 50,000 connections: only when
#                     named, and skipped (one line, exit 0) unless the limits
#                     of README "Scaling up one box" are raised
set -euo pipefail
cd "$(dirname "$0")/.."
make -s BUILD=build/bench CFLAGS="-O2 -g -DNDEBUG" build/bench/wshub \
	build/bench/wshub-load build/bench/chan-pingpong
# 10,000+ connections on each side need the descriptors.
ulimit -n "$(ulimit -Hn)"
/usr/bin/python3 scripts/bench.py build/bench/wshub build/bench/wshub-load "$@"
/usr/bin/python3 scripts/bench-plot.py build/bench docs/bench
