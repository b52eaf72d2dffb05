#!/usr/bin/env bash
# The docs cannot drift from the code:
#   - every `src/FILE.c:NAME` reference in docs/*.md and README.md names
#     something defined in that file (scripts/doc-refs.py), so the docs'
#     "kept by" columns stay true;
#   - every number and name the docs state about the code is the code's
#     (scripts/doc-facts.py): limits, lane sizes, timeouts and channel
#     kinds tied to their #define, each flag's default in --help, the man
#     pages and README against config.h and --help, every --flag and
#     `snake_case` name one the code has.
# Run by scripts/run-tests.sh.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/support/wshub.sh
. "$root/test/support/wshub.sh"
passed=0 failed=0
for check in doc-refs doc-facts; do
	WSHUB=$(wshub_path) WSHUB_LOAD=$(wshub_load_path) \
		/usr/bin/python3 "$root/scripts/$check.py"
	if [ $? -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "docs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
