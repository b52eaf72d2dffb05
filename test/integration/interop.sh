#!/usr/bin/env bash
# Interoperability with two client libraries nobody here wrote: Debian's
# python3-websockets and Node's ws (node-ws), against the server in $WSHUB
# (build/wshub or build/asan/wshub, set by scripts/run-tests.sh).  The
# runner starts one server, drives both libraries' clients, stops the
# server with SIGTERM and prints `interop: N passed, M failed`.  The peer
# processes are its children and are ended on every exit path; the timeout
# here is a last resort should the runner itself hang.
set -euo pipefail
wshub=${WSHUB:-build/wshub}
case $wshub in
/*) ;;
*) wshub=$PWD/$wshub ;;   # relative to the caller's directory, as given
esac
cd "$(dirname "$0")/../.."
runner=""
cleanup() {
	if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
		kill -TERM "$runner" 2>/dev/null || true
		wait "$runner" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WSHUB=$wshub timeout -k 5 300 /usr/bin/python3 test/interop/run.py "$@" &
runner=$!
status=0
wait "$runner" || status=$?
runner=""
exit "$status"
