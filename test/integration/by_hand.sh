#!/usr/bin/env bash
# The README's "Connecting by hand" commands work as written: the Python
# (Debian's python3-websockets) and Node (Debian's node-ws) lines are taken
# from README.md, pointed at a wshub on a free port instead of 8080, fed
# one line, and must print the hub's echo and leave with close code 1000.
# (The browser line is left to the browser suite.)  Run by
# scripts/run-tests.sh with WSHUB set; the last line is
# "by-hand: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/support/wshub.sh
. "$root/test/support/wshub.sh"
# shellcheck source=test/support/tally.sh
. "$root/test/support/tally.sh"
tally_begin by-hand
wshub=$(wshub_path)
cd "$root" || exit 2

tmp=$(mktemp -d)
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! wshub_start "$tmp/server.log" "$wshub" --port 0; then
	not_ok "wshub starts"
	summary
fi

# try NAME PATTERN: the README line matching PATTERN, run against our
# server with "hello from NAME" on its input, prints "< hello from NAME".
try() {
	local name=$1 cmd
	cmd=$(grep -m 1 -e "$2" README.md)
	if [ -z "$cmd" ]; then
		not_ok "$name: README has no line matching $2"
		return
	fi
	cmd=${cmd//ws:\/\/127.0.0.1:8080\/ws/ws://127.0.0.1:$port/ws}
	# Its input ends once the echo is in its output (at most 15 s).
	{
		echo "hello from $name"
		for _ in $(seq 150); do
			grep -q "< hello from $name" "$tmp/$name.out" 2>/dev/null &&
				break
			sleep 0.1
		done
	} | timeout 20 bash -c "$cmd" >"$tmp/$name.out" 2>&1
	if grep -q "< hello from $name" "$tmp/$name.out"; then
		ok "$name: the README line gets the echo"
	else
		not_ok "$name: the README line gets the echo"
		sed 's/^/    /' "$tmp/$name.out"
	fi
}

try python '^/usr/bin/python3 -m websockets ws://'
try node "^node -e .*require('/usr/share/nodejs/ws')"

# Both left with 1000 once their input ended.
for _ in $(seq 100); do
	[ "$(grep -c 'code=1000 ' "$tmp/server.log")" -ge 2 ] && break
	sleep 0.1
done
if [ "$(grep -c 'code=1000 ' "$tmp/server.log")" -ge 2 ]; then
	ok "both closed with 1000 at the end of their input"
else
	not_ok "both closed with 1000 at the end of their input"
	sed 's/^/    /' "$tmp/server.log"
fi

kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
if [ "$status" -eq 0 ]; then ok "server stopped on SIGTERM"
else not_ok "server stopped on SIGTERM (exit $status)"; fi

summary
