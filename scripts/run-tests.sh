#!/usr/bin/env bash
# Runs every test against the binaries in BUILD (build, build/asan, ...):
# first the integration scripts in test/integration/, each ending with its
# own "NAME: N passed, M failed" line, then the Criterion suite, ending
# with its "Synthesis:" line.  The last line is the grand total of them
# all, alone on its line, in that same plain form: "N passed, M failed".
# A suite that ends without its line, or fails with none counted, adds one
# failure under its own name.  The exit status is 0 only if every suite
# exited 0.
set -uo pipefail
build=${1:-build}
export WSHUB="$build/wshub" WSHUB_LOAD="$build/wshub-load"
# ASan: report leaks; UBSan: print a stack and fail.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/test/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0 total_passed=0 total_failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# count NAME STATUS PASSED FAILED: adds a suite's counts to the total; a
# suite that exited non-zero with no failure counted adds one.
count() {
	local name=$1 status=$2 p=$3 f=$4
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exited $status with no failure counted: 1 failure"
		f=1
	fi
	total_passed=$((total_passed + p)) total_failed=$((total_failed + f))
}

for t in test/integration/*.sh; do
	[ -e "$t" ] || continue
	echo "== $t"
	timeout 600 bash "$t" | tee "$log"
	status=${PIPESTATUS[0]}
	if [ "$status" -ne 0 ]; then
		echo "FAILED: $t"
		failed=1
	fi
	line=$(grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$t: no 'NAME: N passed, M failed' line: 1 failure"
		line="$t: 0 passed, 1 failed" status=0
	fi
	read -r p f < <(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$line")
	count "$t" "$status" "$p" "$f"
done
# Every test has its own Criterion timeout; this bounds the whole run too,
# so that a test its timeout fails to end is a failure, never a hang.
# Criterion reports on stderr: it joins stdout here, so that its summary
# can be read.
echo "== $build/test/unit"
timeout 1200 "$build/test/unit" --jobs 2 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || failed=1
# "[====] Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C",
# maybe in colour: passed P, failed T - P (crashes are among the failures).
line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'Synthesis: Tested: [0-9]* | Passing: [0-9]*' | tail -n 1)
if [ -z "$line" ]; then
	echo "$build/test/unit: no Synthesis line: 1 failure"
	count unit 0 0 1
else
	read -r tested p < <(sed -E 's/.*Tested: ([0-9]+) \| Passing: ([0-9]+)/\1 \2/' <<<"$line")
	count unit "$status" "$p" $((tested - p))
fi
echo "$total_passed passed, $total_failed failed"
exit $failed
