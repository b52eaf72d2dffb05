#!/usr/bin/env bash
# Runs one integration scenario against wshub under valgrind (memcheck):
# chat, a slow client, abrupt leaves and SIGTERM, then valgrind's verdict.
# test/valgrind/run.py is the scenario and says what each step checks.
#
#   scripts/valgrind.sh [WSHUB]   (default $WSHUB, else build/wshub: a -O2 -g build)
#
# Builds nothing: `make valgrind` builds build/wshub first.  Every check
# prints "ok: ..." or "FAILED: ...", the last line is "valgrind: N passed,
# M failed".  Exit status 0 when nothing failed, 1 otherwise, 2 if
# valgrind, python3 or the binary is missing.
set -uo pipefail
# shellcheck source=test/support/wshub.sh
. "$(dirname "$0")/../test/support/wshub.sh"
WSHUB=${1:-${WSHUB:-}}
wshub=$(wshub_path)

for tool in valgrind /usr/bin/python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "valgrind: $tool not found (Debian: apt-get install valgrind python3)" >&2
		exit 2
	fi
done
if [ ! -x "$wshub" ]; then
	echo "valgrind: no executable $wshub (build it first: make)" >&2
	exit 2
fi
WSHUB=$wshub exec bash "$(dirname "$0")/../test/support/run-python.sh" test/valgrind/run.py
