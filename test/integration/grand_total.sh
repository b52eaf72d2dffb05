#!/usr/bin/env bash
# scripts/run-tests.sh ends with one grand total of every suite, alone on
# its last line: "N passed, M failed", the sum of each integration
# suite's "NAME: N passed, M failed" line and of Criterion's Synthesis
# counts; each suite's own line stays above it.  Run against stand-in
# suites in a scratch directory: one that passes, one that fails a check,
# one that dies without its line, and a Criterion stand-in.  The last
# line is "grand-total: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/support/tally.sh
. "$root/test/support/tally.sh"
tally_begin grand-total

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# suites DIR UNIT_EXIT: stand-in suites under DIR; the Criterion stand-in
# reports 5 tests, 4 passing, in colour on stderr, and a warning after
# it, then exits UNIT_EXIT.
suites() {
	local dir=$1 unit_exit=$2
	mkdir -p "$dir/test/integration" "$dir/fake/test"
	printf '%s\n' 'echo "ok - one"' 'echo "pass: 3 passed, 0 failed"' \
		>"$dir/test/integration/a_pass.sh"
	cat >"$dir/fake/test/unit" <<UNIT
#!/usr/bin/env bash
printf '\033[0;34m[====]\033[0m Synthesis: Tested: \033[0;34m5\033[0m | Passing: \033[0;32m4\033[0m | Failing: \033[0;31m1\033[0m | Crashing: 0 \n' >&2
echo "WARNING: an expected warning after the summary" >&2
exit $unit_exit
UNIT
	chmod +x "$dir/fake/test/unit"
}

# run NAME DIR: scripts/run-tests.sh in DIR; its output in $tmp/NAME.out
# and its exit status in $tmp/NAME.status.
run() {
	local status=0
	(cd "$2" && timeout 60 bash "$root/scripts/run-tests.sh" fake) \
		>"$tmp/$1.out" 2>&1 || status=$?
	echo "$status" >"$tmp/$1.status"
}

# last_line_is NAME WANT: the last line of run NAME is exactly WANT.
last_line_is() {
	local last
	last=$(tail -n 1 "$tmp/$1.out")
	if [ "$last" = "$2" ]; then
		ok "$1: the last line is '$2'"
	else
		not_ok "$1: the last line is '$last', not '$2'"
		sed 's/^/    /' "$tmp/$1.out" >&2
	fi
}

# Three suites and Criterion: 3 + 2 + 0 + 4 passed; 0 + 1 + 1 (died
# without its line) + 1 failed.
suites "$tmp/mixed" 1
printf '%s\n' 'echo "fail: 2 passed, 1 failed"' 'exit 1' \
	>"$tmp/mixed/test/integration/b_fail.sh"
printf '%s\n' 'echo "ok - started"' 'exit 3' \
	>"$tmp/mixed/test/integration/c_dies.sh"
run mixed "$tmp/mixed"
last_line_is mixed "9 passed, 3 failed"
if [ "$(cat "$tmp/mixed.status")" -ne 0 ]; then
	ok "mixed: exit status non-zero, as some suite failed"
else
	not_ok "mixed: exit status 0 though some suite failed"
fi
if grep -qx 'pass: 3 passed, 0 failed' "$tmp/mixed.out" &&
	grep -qx 'fail: 2 passed, 1 failed' "$tmp/mixed.out" &&
	grep -q 'Synthesis: Tested:' "$tmp/mixed.out"; then
	ok "mixed: each suite's own line is kept above the total"
else
	not_ok "mixed: each suite's own line is kept above the total"
fi

# Every suite passes (the Criterion stand-in's failure is its count):
# exit status 0 needs every suite to exit 0.
suites "$tmp/green" 0
sed -i 's/Passing: \\033\[0;32m4/Passing: \\033[0;32m5/; s/Failing: \\033\[0;31m1/Failing: \\033[0;31m0/' \
	"$tmp/green/fake/test/unit"
run green "$tmp/green"
last_line_is green "8 passed, 0 failed"
if [ "$(cat "$tmp/green.status")" -eq 0 ]; then
	ok "green: exit status 0"
else
	not_ok "green: exit status $(cat "$tmp/green.status")"
fi

summary
