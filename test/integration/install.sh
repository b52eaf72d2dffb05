#!/usr/bin/env bash
# `make install` into a temporary DESTDIR puts the binaries and the man
# pages where PREFIX says, and the installed programs run.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
# shellcheck source=test/support/tally.sh
. test/support/tally.sh
tally_begin install
# check COMMAND...: ok or not_ok, named by the command.
check() {
	if "$@"; then ok "$*"; else not_ok "$*"; fi
}
make -s install DESTDIR="$dest" PREFIX=/opt/wshub >/dev/null
check test -x "$dest/opt/wshub/bin/wshub"
check test -x "$dest/opt/wshub/bin/wshub-load"
check test -f "$dest/opt/wshub/share/man/man1/wshub.1"
check test -f "$dest/opt/wshub/share/man/man1/wshub-load.1"
check test -f "$dest/opt/wshub/lib/systemd/system/wshub.socket"
check grep -q "^ExecStart=/opt/wshub/bin/wshub " "$dest/opt/wshub/lib/systemd/system/wshub.service"
# runs BIN: the installed BIN prints "NAME VERSION" for --version; the
# line is checked here rather than printed amid the results.
runs() { "$1" --version | grep -q "^$(basename "$1") [0-9]"; }
check runs "$dest/opt/wshub/bin/wshub"
check runs "$dest/opt/wshub/bin/wshub-load"
summary
