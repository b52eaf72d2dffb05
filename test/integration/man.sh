#!/usr/bin/env bash
# The manual pages format without a single groff warning (-ww: all of
# them), and every flag the programs' --help lists is in its page.
# Needs groff (Debian's groff-base).  Run by scripts/run-tests.sh.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/support/wshub.sh
. "$root/test/support/wshub.sh"
wshub=$(wshub_path)
wshub_load=$(wshub_load_path)
passed=0 failed=0

ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }

if ! command -v groff >/dev/null; then
	echo "man.sh: groff is not installed (apt-get install groff-base)" >&2
	echo "man: 0 passed, 1 failed"
	exit 1
fi

# lint PAGE: groff -ww prints nothing on stderr and exits 0.
lint() {
	local warnings status=0
	warnings=$(timeout 30 groff -ww -mandoc -Tutf8 "$root/$1" 2>&1 >/dev/null) ||
		status=$?
	if [ "$status" -eq 0 ] && [ -z "$warnings" ]; then
		ok "$1: groff -ww is silent"
	else
		not_ok "$1: groff -ww (exit $status):"
		printf '%s\n' "$warnings" | sed 's/^/    /'
	fi
}

# flags PAGE BINARY: every --long flag in BINARY --help appears in PAGE.
flags() {
	local page=$1 bin=$2 text missing=""
	if [ ! -x "$bin" ]; then
		echo "# $bin is not built: skipping its flag check"
		return
	fi
	text=$(groff -mandoc -Tascii "$root/$page" 2>/dev/null | col -b)
	for f in $("$bin" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$f" <<<"$text" || missing="$missing $f"
	done
	if [ -z "$missing" ]; then
		ok "$page: documents every flag of $(basename "$bin") --help"
	else
		not_ok "$page: missing$missing"
	fi
}

lint man/wshub.1
lint man/wshub-load.1
flags man/wshub.1 "$wshub"
flags man/wshub-load.1 "$wshub_load"

echo "man: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
