#!/usr/bin/env bash
# Runs the ThreadSanitizer drivers in BUILD/test/tsan-*.  Any TSan report
# makes a driver exit non-zero (exitcode=66), which fails this script.
set -uo pipefail
build=${1:-build/tsan}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:exitcode=66:second_deadlock_stack=1}
export WSHUB="$build/wshub"

# TSan's runtime in GCC 12 cannot map its shadow memory when the kernel
# randomises mmap with more than 28 bits; run without ASLR in that case.
norand=""
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)" -gt 28 ]; then
	norand="setarch $(uname -m) -R"
fi

failed=0 passed=0
for d in "$build"/test/tsan-*; do
	echo "== $d"
	if timeout 600 $norand "$d"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $d"
		failed=$((failed + 1))
	fi
done
echo "tsan: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
