#!/usr/bin/env bash
# Runs a Python test runner (RUNNER, relative to the repository root) with
# Debian's python3 against the server in $WSHUB (build/wshub or
# build/asan/wshub, set by scripts/run-tests.sh; a relative path is taken
# from the caller's directory: test/support/wshub.sh).  The runner gets it
# as an absolute path.  The runner's servers and helper processes are its
# children and it ends them on every exit path; the timeout here is a last
# resort should the runner itself hang.
#   usage: run-python.sh RUNNER [ARGS...]
set -euo pipefail
# shellcheck source=test/support/wshub.sh
. "$(dirname "$0")/wshub.sh"
wshub=$(wshub_path)
cd "$(dirname "$0")/../.."
script=$1
shift
runner=""
cleanup() {
	if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
		kill -TERM "$runner" 2>/dev/null || true
		wait "$runner" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WSHUB=$wshub timeout -k 5 300 /usr/bin/python3 "$script" "$@" &
runner=$!
status=0
wait "$runner" || status=$?
runner=""
exit "$status"
