#!/usr/bin/env bash
# wshub-load against a real wshub: a short broadcast and a short connect
# run must account for every connection and every delivery.  Counts only;
# no timing is asserted.  Run by scripts/run-tests.sh with WSHUB and
# WSHUB_LOAD set.
set -euo pipefail

# shellcheck source=test/support/wshub.sh
. "$(dirname "$0")/../support/wshub.sh"
WSHUB=$(wshub_path)
WSHUB_LOAD=$(wshub_load_path)
for bin in "$WSHUB" "$WSHUB_LOAD"; do
	[ -x "$bin" ] || { echo "load.sh: $bin is not built" >&2; exit 1; }
done

tmp=$(mktemp -d)
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# check NAME FILE PYTHON-EXPRESSION: the expression over the JSON summary
# `j` must be true.
check() {
	if ! /usr/bin/python3 - "$2" "$3" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
	then
		echo "load.sh: $1: failed: $3" >&2
		cat "$2" >&2
		exit 1
	fi
	echo "ok - $1"
}

# A server on a free port: sets server_pid, host and port.
wshub_start "$tmp/server.log" "$WSHUB" --port 0 -q ||
	{ echo "load.sh: the server did not start" >&2; exit 1; }
url="ws://$host:$port/ws"

"$WSHUB_LOAD" broadcast -c 20 -s 4 -r 50 -d 2 --server-pid "$server_pid" \
	--json "$url" >"$tmp/broadcast.json" 2>"$tmp/broadcast.txt"
b="$tmp/broadcast.json"
check "broadcast: every connection opened" "$b" \
	'j["connections"]["ok"] == 20 and j["connections"]["failed"] == 0'
check "broadcast: nothing closed by the server" "$b" \
	'j["connections"]["closed_by_server"] == 0'
check "broadcast: messages were sent" "$b" \
	'j["result"]["sent"] > 0 and j["result"]["skipped"] == 0'
check "broadcast: each message is due to all 20" "$b" \
	'j["result"]["expected"] == 20 * j["result"]["sent"]'
check "broadcast: every delivery arrived" "$b" \
	'j["result"]["received"] == j["result"]["expected"]'
check "broadcast: no errors" "$b" 'sum(j["errors"].values()) == 0'
check "broadcast: latency counted per delivery" "$b" \
	'j["result"]["latency_us"]["n"] == j["result"]["received"]'
check "broadcast: server sampled" "$b" \
	'j["server"] is not None and j["server"]["threads_peak"] > 0'

"$WSHUB_LOAD" connect -c 200 -d 1 --binary --json "$url" \
	>"$tmp/connect.json" 2>"$tmp/connect.txt"
c="$tmp/connect.json"
check "connect: all 200 opened" "$c" \
	'j["connections"]["ok"] == 200 and j["connections"]["failed"] == 0'
check "connect: one broadcast reached all 200" "$c" \
	'j["result"]["sent"] == 1 and j["result"]["expected"] == 200 and j["result"]["received"] == 200'

kill -TERM "$server_pid"
wait "$server_pid" || { echo "load.sh: server exited $?" >&2; exit 1; }
server_pid=""
echo "ok - server stopped on SIGTERM"

# Nothing listens on the port now: exit status 1.
status=0
"$WSHUB_LOAD" connect -q -c 5 -d 1 "$url" || status=$?
[ "$status" -eq 1 ] || { echo "load.sh: no server: exit $status, want 1" >&2; exit 1; }
echo "ok - exit 1 when nothing connects"

status=0
"$WSHUB_LOAD" broadcast -c 0 "$url" 2>/dev/null || status=$?
[ "$status" -eq 2 ] || { echo "load.sh: -c 0: exit $status, want 2" >&2; exit 1; }
echo "ok - exit 2 on a bad flag"
