#!/usr/bin/env bash
# Runs every test against the binaries in BUILD (build, build/asan, ...):
# first the integration scripts in test/integration/, then the Criterion
# suite, whose "Synthesis:" line is the last thing printed.
set -uo pipefail
build=${1:-build}
export WSHUB="$build/wshub" WSHUB_LOAD="$build/wshub-load"
# ASan: report leaks; UBSan: print a stack and fail.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/test/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for t in test/integration/*.sh; do
	[ -e "$t" ] || continue
	echo "== $t"
	if ! timeout 600 bash "$t"; then
		echo "FAILED: $t"
		failed=1
	fi
done
# Every test has its own Criterion timeout; this bounds the whole run too,
# so that a test its timeout fails to end is a failure, never a hang.
timeout 1200 "$build/test/unit" --jobs 2 || failed=1
exit $failed
