#!/usr/bin/env bash
# The chat page in headless Chromium (test/browser/test.js, playwright-core):
# two pages chat, see the 1001 close when the server gets SIGTERM, and
# reconnect when it comes back on the same port.  Run by scripts/run-tests.sh
# with WSHUB set (build/wshub or build/asan/wshub).
#
# Needs node and npm, and Debian's chromium (/usr/bin/chromium, or $CHROMIUM).
# test/browser/node_modules is installed with `npm ci` from the committed
# package-lock.json only when it is missing.  Screenshots go to
# build/browser/.  The last line is "browser: N passed, M failed".
set -euo pipefail

NPM_TIMEOUT_S=120   # npm ci, when node_modules is missing
RUN_TIMEOUT_S=180   # test.js; it bounds itself at 120 s

wshub=${WSHUB:-build/wshub}
case $wshub in
/*) ;;
*) wshub=$PWD/$wshub ;;   # relative to the caller's directory, as given
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}

fail() {
	echo "browser.sh: $*" >&2
	echo "browser: 0 passed, 1 failed"
	exit 1
}
[ -x "$wshub" ] || fail "$wshub is not built"
command -v node >/dev/null || fail "node is not installed"
[ -x "$chromium" ] || fail "$chromium is missing (apt-get install chromium)"

tmp=$(mktemp -d)
pidfile=$tmp/wshub.pid
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	# test.js stops its server itself; this is for when it was killed.
	if [ -s "$pidfile" ]; then
		pid=$(cat "$pidfile")
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

cd "$root/test/browser"
if [ ! -d node_modules/playwright-core ]; then
	command -v npm >/dev/null || fail "npm is not installed"
	timeout "$NPM_TIMEOUT_S" npm ci --no-audit --no-fund --loglevel=error >&2 ||
		fail "npm ci failed"
fi

# Chromium's profile (playwright's fresh --user-data-dir) lives under TMPDIR,
# so it goes away with $tmp.
status=0
TMPDIR=$tmp WSHUB=$wshub CHROMIUM=$chromium ARTEFACTS=$root/build/browser \
	WSHUB_PIDFILE=$pidfile \
	timeout -k 10 "$RUN_TIMEOUT_S" node test.js || status=$?
if [ "$status" -eq 124 ]; then
	echo "browser.sh: test.js did not finish within ${RUN_TIMEOUT_S} s" >&2
	echo "browser: 0 passed, 1 failed"
elif [ "$status" -gt 128 ]; then
	echo "browser.sh: test.js died of signal $((status - 128))" >&2
	echo "browser: 0 passed, 1 failed"
fi
exit "$status"
