#!/usr/bin/env bash
# `make run` serves where PORT and ADDR on the command line say, on
# 127.0.0.1:8080 without them, and ignores a PORT in the environment.
# The dry runs (make -n) check the command; one real run with PORT=0
# checks that the server comes up there and stops on SIGTERM.  Run by
# scripts/run-tests.sh; the last line is "make-run: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
# Not the flags or overrides of a `make test` that runs this script.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
# shellcheck source=test/support/tally.sh
. test/support/tally.sh
tally_begin make-run

# dry NAME WANT [ARGS...]: the last line of `make -n run ARGS` is WANT.
dry() {
	local name=$1 want=$2 got
	shift 2
	got=$(make -n --no-print-directory run "$@" 2>&1 | tail -n 1)
	if [ "$got" = "$want" ]; then ok "$name"
	else not_ok "$name: got '$got', want '$want'"; fi
}

dry "make run: 127.0.0.1:8080 by default" \
	"build/wshub --addr '127.0.0.1' --port '8080'"
dry "make run PORT=9123 ADDR='[::1]'" \
	"build/wshub --addr '[::1]' --port '9123'" PORT=9123 ADDR='[::1]'
PORT=1234 ADDR=0.0.0.0 dry "make run ignores PORT and ADDR in the environment" \
	"build/wshub --addr '127.0.0.1' --port '8080'"

# The real thing, in its own process group so that one signal reaches
# make and the server it runs.
tmp=$(mktemp -d)
pgid=""
cleanup() {
	[ -n "$pgid" ] && kill -KILL -- "-$pgid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
setsid make --no-print-directory run PORT=0 ADDR=127.0.0.1 >"$tmp/out" 2>&1 &
pgid=$!
port=""
for _ in $(seq 300); do
	port=$(sed -n 's/^.*wshub: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/out")
	[ -n "$port" ] && break
	kill -0 "$pgid" 2>/dev/null || break
	sleep 0.1
done
if [ -n "$port" ] && [ "$port" != 0 ]; then
	ok "make run PORT=0 ADDR=127.0.0.1 serves on a free port ($port)"
else
	not_ok "make run PORT=0 ADDR=127.0.0.1 serves on a free port"
	sed 's/^/    /' "$tmp/out"
fi
# Ctrl-C: SIGINT to the whole group.  (Not SIGTERM: make passes that on
# to its child, and a second signal stops wshub without waiting.)
kill -INT -- "-$pgid" 2>/dev/null
status=0
for _ in $(seq 100); do
	kill -0 "$pgid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pgid" 2>/dev/null && kill -KILL -- "-$pgid" 2>/dev/null
wait "$pgid" 2>/dev/null || status=$?
if [ "$status" -eq 0 ] && grep -q 'shut down cleanly' "$tmp/out"; then
	ok "Ctrl-C (SIGINT) stops it cleanly, make exits 0"
else
	not_ok "Ctrl-C (SIGINT) stops it cleanly, make exits 0 (exit $status)"
	sed 's/^/    /' "$tmp/out"
fi
pgid=""

summary
