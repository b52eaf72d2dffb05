#!/usr/bin/env bash
# Fault scenarios against the server in $WSHUB (build/wshub or
# build/asan/wshub, set by scripts/run-tests.sh): a SIGSTOPped client, TCP
# resets, slowloris, churn, a flooder, a ping flood, absurd frame lengths,
# random bytes and the descriptor limit, each on its own server and each
# followed by a health check and a SIGTERM that must exit 0.  The runner
# prints `faults: N passed, M failed`.  Its servers and helper processes
# are its children and are ended on every exit path; the timeout here is a
# last resort should the runner itself hang.
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
WSHUB=$wshub timeout -k 5 300 /usr/bin/python3 test/faults/run.py "$@" &
runner=$!
status=0
wait "$runner" || status=$?
runner=""
exit "$status"
