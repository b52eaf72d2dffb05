#!/usr/bin/env bash
# The standard benchmarks (S1-S4, see BENCHMARKS.md) against an optimised
# build of wshub with no sanitizers, in build/bench.
#   scripts/bench.sh [RUNS] [SCENARIO...]     e.g. scripts/bench.sh 3 S2 S3
set -euo pipefail
cd "$(dirname "$0")/.."
make -s BUILD=build/bench CFLAGS="-O2 -g -DNDEBUG" build/bench/wshub build/bench/wshub-load
# 10,000+ connections on each side need the descriptors.
ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 scripts/bench.py build/bench/wshub build/bench/wshub-load "$@"
