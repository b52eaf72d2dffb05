# shellcheck shell=bash
# Sourced by the integration scripts: one "ok - ..." or "not ok - ..."
# line per check, counted, and the suite's last line, the one
# scripts/run-tests.sh's reader looks for:
#
#   tally_begin NAME   counts from zero; NAME starts the summary line
#   ok TEXT...         a check passed
#   not_ok TEXT...     a check failed
#   check_json NAME FILE EXPR
#                      ok NAME if the Python expression EXPR is true of
#                      the JSON in FILE (a wshub-load --json report): `j`
#                      is the report, `r` its "result"; EXPR may span lines.
#                      Otherwise not_ok NAME, and EXPR and FILE on stderr.
#   summary            prints "NAME: P passed, F failed" and exits, with
#                      status 0 only if nothing failed

tally_begin() {
	tally_name=$1 passed=0 failed=0
}

ok() {
	echo "ok - $*"
	passed=$((passed + 1))
}

not_ok() {
	echo "not ok - $*"
	failed=$((failed + 1))
}

check_json() {
	if /usr/bin/python3 - "$2" "$3" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = j.get("result")
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
PY
	then
		ok "$1"
	else
		not_ok "$1"
		echo "$tally_name: $1: failed: $3" >&2
		cat "$2" >&2
	fi
}

summary() {
	echo "$tally_name: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
