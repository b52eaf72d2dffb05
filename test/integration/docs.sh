#!/usr/bin/env bash
# Every `src/FILE.c:NAME` reference in docs/*.md and README.md names
# something defined in that file (scripts/doc-refs.py), so the docs'
# "kept by" columns cannot drift from the code.  Run by scripts/run-tests.sh.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(/usr/bin/python3 "$root/scripts/doc-refs.py")
status=$?
printf '%s\n' "$out"
if [ "$status" -eq 0 ]; then
	echo "docs: 1 passed, 0 failed"
else
	echo "docs: 0 passed, 1 failed"
fi
exit "$status"
