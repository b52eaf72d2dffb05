#!/usr/bin/env bash
# Builds the libFuzzer targets in test/fuzz/ with clang (ASan + UBSan +
# libFuzzer) into build/fuzz/, replays the regression inputs in
# test/fuzz/regress/, then fuzzes each target for SECONDS (default 60, or
# $FUZZ_SECONDS) over a scratch copy of its seed corpus.
#
#   scripts/fuzz.sh [SECONDS]
#
# Targets: fuzz_http (http.c, handshake.c), fuzz_recv (the read thread of
# conn.c, driven through wslay) and fuzz_redis (bridge_codec.c, what Redis
# sends).  At most two run at once, one per core: fuzz_http and fuzz_recv
# for SECONDS each, then fuzz_redis for a third of SECONDS (at least 1):
# a small, pure parser whose coverage levels off within seconds, so the
# wall time grows by that third (20 s in CI) and the other two keep all
# of theirs.  Any
# crash, sanitizer report, leak, timeout or broken invariant fails the run;
# libFuzzer saves the input as build/fuzz/artifacts/TARGET-crash-*, and the
# log names it.  Add such an input to test/fuzz/regress/TARGET/ so every
# later run replays it.  New corpus entries stay in the scratch copy: the
# committed corpus (test/fuzz/corpus/, see make_corpus.py) never changes.
#
# Environment: FUZZ_CC (clang), FUZZ_CFLAGS (extra compiler flags).
# Last line: "fuzz: N passed, M failed".  Exit status 0 when nothing
# failed, 1 otherwise, 2 for a bad argument or a failed build.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-${FUZZ_SECONDS:-60}}
case $seconds in
'' | *[!0-9]*) echo "fuzz: invalid SECONDS '$seconds': expected a whole number" >&2; exit 2 ;;
esac
cc=${FUZZ_CC:-clang}
out=build/fuzz
passed=0 failed=0

if ! command -v "$cc" >/dev/null; then
	echo "fuzz: $cc not found (Debian: apt-get install clang)" >&2
	exit 2
fi

# The project's sources, instrumented, in one archive: each target pulls
# in only the objects it needs (fuzz_recv: the connection, its reader and
# what they call; its socket and hub are simulated through conn_io).
cflags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=all -std=c11 -Wall -Wextra -pthread -D_GNU_SOURCE
	-Iinclude $(pkg-config --cflags libbsd-overlay gnutls) ${FUZZ_CFLAGS:-})
# No -lgnutls: src/tls.c opens GnuTLS with dlopen(3), and no target
# turns TLS on.
libs=(-lwslay -lhiredis -lmd -lresolv $(pkg-config --libs libbsd-overlay) -pthread)

build() {
	local src obj objs=()

	rm -rf "$out/obj" && mkdir -p "$out/obj" "$out/artifacts" || return 1
	for src in src/*.c; do
		[ "$src" = src/main.c ] && continue
		obj=$out/obj/$(basename "${src%.c}").o
		"$cc" "${cflags[@]}" -c -o "$obj" "$src" || return 1
		objs+=("$obj")
	done
	rm -f "$out/libwshub-fuzz.a"
	ar rcs "$out/libwshub-fuzz.a" "${objs[@]}" || return 1
	for t in http recv redis; do
		"$cc" "${cflags[@]}" -o "$out/fuzz_$t" "test/fuzz/fuzz_$t.c" \
		    "$out/libwshub-fuzz.a" "${libs[@]}" || return 1
	done
}

echo "== fuzz: building $out/fuzz_http, fuzz_recv and fuzz_redis with $cc"
if ! build; then
	echo "fuzz: build failed"
	exit 2
fi

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# Replays every input in test/fuzz/regress/TARGET/, one at a time.
replay() {
	local t=$1 f log

	for f in test/fuzz/regress/"$t"/*; do
		[ -f "$f" ] || continue
		log=$out/regress-$t-$(basename "$f").log
		if "$out/fuzz_$t" "$f" >"$log" 2>&1; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "FAILED: regress $f"
			grep -m 3 -E 'invariant broken|runtime error|ERROR: (Address|Leak|libFuzzer)|SUMMARY' "$log" |
				sed 's/^/    /'
			echo "    (full report: $log)"
		fi
	done
}

echo "== fuzz: replaying test/fuzz/regress/"
replay http
replay recv
replay redis

scratch=$(mktemp -d)
pids=()
cleanup() {
	local pid

	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Fuzzes one target in the background for SECS seconds; its log goes to
# $out/TARGET.log.
start() {
	local t=$1 secs=$2 max_len=$3

	shift 3
	cp -r "test/fuzz/corpus/$t" "$scratch/$t"
	"$out/fuzz_$t" -max_total_time="$secs" -max_len="$max_len" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$out/artifacts/$t-" "$@" "$scratch/$t" \
	    >"$out/$t.log" 2>&1 &
	pids+=($!)
}

# Waits for one target and reports its speed and coverage, or its crash.
finish() {
	local t=$1 pid=$2 rc stats

	wait "$pid"
	rc=$?
	stats=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -1 |
		grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+')
	printf 'fuzz_%s: %s execs, %s exec/s, %s\n' "$t" \
	    "$(grep -oP 'stat::number_of_executed_units: \K[0-9]+' "$out/$t.log")" \
	    "$(grep -oP 'stat::average_exec_per_sec: +\K[0-9]+' "$out/$t.log")" \
	    "${stats:-no coverage line}"
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		return
	fi
	failed=$((failed + 1))
	echo "FAILED: fuzz_$t (exit $rc)"
	grep -m 4 -E 'invariant broken|runtime error|ERROR: |SUMMARY|Test unit written' "$out/$t.log" |
		sed 's/^/    /'
	echo "    (full report: $out/$t.log; keep the input under test/fuzz/regress/$t/)"
}

redis_seconds=$((seconds / 3 > 0 ? seconds / 3 : 1))
echo "== fuzz: ${seconds}s for fuzz_http and fuzz_recv at once, then ${redis_seconds}s for fuzz_redis"
start http "$seconds" 9000 -dict=test/fuzz/http.dict
start recv "$seconds" 65536
finish http "${pids[0]}"
finish recv "${pids[1]}"
pids=()
# -len_control=0: its seeds sit at the line and length bounds (1 KiB and
# more), which libFuzzer's slowly growing length limit would not reach.
start redis "$redis_seconds" 4096 -len_control=0 -dict=test/fuzz/redis.dict
finish redis "${pids[0]}"
pids=()

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
