#!/usr/bin/env bash
# wshub-load against a real wshub: a short broadcast and a short connect
# run must account for every connection and every delivery.  Counts only;
# no timing is asserted.  Run by scripts/run-tests.sh with WSHUB and
# WSHUB_LOAD set.  The last line is "load: N passed, M failed".
set -uo pipefail

WSHUB=${WSHUB:-build/wshub}
WSHUB_LOAD=${WSHUB_LOAD:-build/wshub-load}
passed=0 failed=0

ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }
summary() {
	echo "load: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

for bin in "$WSHUB" "$WSHUB_LOAD"; do
	[ -x "$bin" ] || { echo "load.sh: $bin is not built" >&2; not_ok "$bin is built"; summary; }
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

# start_server ADDR PRINTED [FLAGS...]: starts wshub --addr ADDR on a free
# port and waits for "listening on PRINTED:PORT"; sets server_pid and port.
start_server() {
	local addr=$1 printed=$2
	shift 2
	"$WSHUB" --addr "$addr" --port 0 -q "$@" 2>"$tmp/server.log" &
	server_pid=$!
	for _ in $(seq 100); do
		port=$(grep -F "wshub: listening on $printed:" "$tmp/server.log" |
			sed 's/.*://')
		[ -n "$port" ] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "load.sh: wshub --addr $addr did not start:" >&2
	cat "$tmp/server.log" >&2
	return 1
}

# stop_server: SIGTERM, which must end it with status 0.
stop_server() {
	local status=0
	kill -TERM "$server_pid"
	wait "$server_pid" || status=$?
	server_pid=""
	if [ "$status" -eq 0 ]; then ok "server stopped on SIGTERM"
	else not_ok "server stopped on SIGTERM (exit $status)"; fi
}

# check NAME FILE PYTHON-EXPRESSION: the expression over the JSON summary
# `j` must be true.
check() {
	if /usr/bin/python3 - "$2" "$3" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
	then
		ok "$1"
	else
		not_ok "$1"
		echo "load.sh: $1: failed: $3" >&2
		cat "$2" >&2
	fi
}

# exits NAME WANT CMD...: CMD exits with status WANT.
exits() {
	local name=$1 want=$2 status=0
	shift 2
	"$@" || status=$?
	if [ "$status" -eq "$want" ]; then ok "$name"
	else not_ok "$name (exit $status, want $want)"; fi
}

start_server 127.0.0.1 127.0.0.1 || { not_ok "wshub starts"; summary; }
url="ws://127.0.0.1:$port/ws"

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
check "broadcast: pass is the documented verdict (loss <= 1 %, p99 <= 100 ms)" "$b" \
	'j["result"]["pass"] == (j["result"]["received"] >= 0.99 * j["result"]["expected"] and j["result"]["latency_us"]["p99"] <= 100000)'
check "broadcast: client CPU in cores" "$b" \
	'0 <= j["result"]["client_cpu_cores"] < 64'
if grep -q "wshub-load's own CPU" "$tmp/broadcast.txt" &&
	grep -q '^verdict ' "$tmp/broadcast.txt" &&
	! grep -q 'target' "$tmp/broadcast.txt"; then
	ok "broadcast: the table says whose CPU it is and gives the verdict"
else
	not_ok "broadcast: the table says whose CPU it is and gives the verdict"
	cat "$tmp/broadcast.txt" >&2
fi

"$WSHUB_LOAD" connect -c 200 -d 1 --binary --json "$url" \
	>"$tmp/connect.json" 2>"$tmp/connect.txt"
c="$tmp/connect.json"
check "connect: all 200 opened" "$c" \
	'j["connections"]["ok"] == 200 and j["connections"]["failed"] == 0'
check "connect: one broadcast reached all 200" "$c" \
	'j["result"]["sent"] == 1 and j["result"]["expected"] == 200 and j["result"]["received"] == 200'
check "connect: pass, since all 200 requested received it" "$c" \
	'j["result"]["pass"] is True and j["rounds"][0]["pass"] is True'

stop_server

# Nothing listens on the port now: exit status 1.
exits "exit 1 when nothing connects" 1 \
	"$WSHUB_LOAD" connect -q -c 5 -d 1 "$url"
exits "exit 2 on a bad flag" 2 \
	"$WSHUB_LOAD" broadcast -c 0 "$url" 2>/dev/null

# A bad value is one line that says what is wrong with it.
status=0
msg=$("$WSHUB_LOAD" broadcast -d 1.5 "$url" 2>&1 >/dev/null) || status=$?
want="wshub-load: invalid -d/--duration '1.5': not a whole number; expected whole seconds from 1 to 3600"
if [ "$status" -eq 2 ] && [ "$(wc -l <<<"$msg")" -eq 1 ] && [[ $msg == "$want"* ]]; then
	ok "a bad value says what is wrong with it"
else
	not_ok "a bad value says what is wrong with it (exit $status: $msg)"
fi

# A server that refuses some of the connections: connect does not pass.
if start_server 127.0.0.1 127.0.0.1 --max-clients 3; then
	"$WSHUB_LOAD" connect -c 5 -d 1 --drain 2000 --json \
		"ws://127.0.0.1:$port/ws" >"$tmp/refused.json" 2>"$tmp/refused.txt"
	check "connect: 2 of 5 refused, so it does not pass" "$tmp/refused.json" \
		'j["connections"]["ok"] == 3 and j["result"]["received"] == 3 and j["result"]["pass"] is False'
	stop_server
else
	not_ok "wshub --max-clients 3 starts"
fi

# IPv6 in brackets, as wshub prints its address, on both sides.
if ! python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	echo "ok - IPv6 # SKIP no IPv6 loopback"
elif start_server '[::1]' '[::1]'; then
	"$WSHUB_LOAD" connect -c 5 -d 1 --drain 2000 --json "ws://[::1]:$port/ws" \
		>"$tmp/connect6.json" 2>"$tmp/connect6.txt"
	check "IPv6: wshub --addr '[::1]' and ws://[::1]:PORT/ws: all 5 reached" \
		"$tmp/connect6.json" 'j["connections"]["ok"] == 5 and j["result"]["received"] == 5'
	stop_server
else
	not_ok "wshub --addr '[::1]' starts"
fi

summary
