#!/usr/bin/env bash
# The manual pages format without a single groff warning (-ww: all of
# them), every flag the programs' --help lists is in its page, and both
# programs have -h/--help and -V/--version.
# Needs groff (Debian's groff-base).  Run by scripts/run-tests.sh.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/support/wshub.sh
. "$root/test/support/wshub.sh"
wshub=$(wshub_path)
wshub_load=$(wshub_load_path)
# shellcheck source=test/support/tally.sh
. "$root/test/support/tally.sh"
tally_begin man

if ! command -v groff >/dev/null; then
	echo "man.sh: groff is not installed (apt-get install groff-base)" >&2
	not_ok "groff is installed"
	summary
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

# basics BINARY: --help lists -h/--help and -V/--version, and --version
# prints "NAME X.Y.Z" and exits 0.
basics() {
	local bin=$1 name help version
	case $bin in /*) ;; *) bin=$root/$bin ;; esac
	[ -x "$bin" ] || return 0
	name=$(basename "$bin")
	help=$("$bin" --help)
	if grep -q -- '-h, --help' <<<"$help" && grep -q -- '-V, --version' <<<"$help"; then
		ok "$name --help lists -h, --help and -V, --version"
	else
		not_ok "$name --help lacks -h, --help or -V, --version"
	fi
	if version=$("$bin" --version) && [[ $version =~ ^$name\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
		ok "$name --version prints '$version'"
	else
		not_ok "$name --version printed '$version'"
	fi
}

# endpoints BINARY: wshub --help names both counter endpoints.
endpoints() {
	local bin=$1 help
	case $bin in /*) ;; *) bin=$root/$bin ;; esac
	[ -x "$bin" ] || return 0
	help=$("$bin" --help)
	if grep -q '/stats' <<<"$help" && grep -q '/metrics' <<<"$help"; then
		ok "wshub --help names both /stats and /metrics"
	else
		not_ok "wshub --help does not name both /stats and /metrics"
	fi
}

lint man/wshub.1
lint man/wshub-load.1
flags man/wshub.1 "$wshub"
flags man/wshub-load.1 "$wshub_load"
basics "$wshub"
basics "$wshub_load"
endpoints "$wshub"

summary
