#!/usr/bin/env bash
# wshub as a systemd service, offline (no running systemd needed):
# - the units `make install` writes pass `systemd-analyze verify` with
#   nothing to say, and their limits fit the --max-clients they start with;
# - socket activation, driven by systemd-socket-activate (it binds, then
#   execs wshub with LISTEN_FDS=1 on the first connection, as systemd
#   does): wshub serves on the inherited socket, a client chats, SIGTERM
#   exits 0;
# - what wshub cannot serve under socket activation is refused, exit 2:
#   two sockets, or --port beside the inherited one.
# Run by scripts/run-tests.sh with WSHUB set; the last line is
# "systemd: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/support/wshub.sh
. "$root/test/support/wshub.sh"
# shellcheck source=test/support/tally.sh
. "$root/test/support/tally.sh"
tally_begin systemd
wshub=$(wshub_path)
cd "$root" || exit 2

tmp=$(mktemp -d)
activator=""
cleanup() {
	kill_all "$activator"
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- the units ------------------------------------------------------------
make -s install PREFIX="$tmp/usr" >/dev/null
units=$tmp/usr/lib/systemd/system
# verify runs man(1) for Documentation=man:wshub(1): the installed page.
if out=$(MANPATH=$tmp/usr/share/man systemd-analyze verify \
	"$units/wshub.service" "$units/wshub.socket" 2>&1) && [ -z "$out" ]; then
	ok "systemd-analyze verify: both units, nothing to say"
else
	not_ok "systemd-analyze verify: both units, nothing to say"
	printf '%s\n' "$out" | sed 's/^/    /'
fi
exec_start=$(sed -n 's/^ExecStart=//p' "$units/wshub.service")
if [ -x "${exec_start%% *}" ]; then
	ok "ExecStart names the installed wshub ($exec_start)"
else
	not_ok "ExecStart names the installed wshub ($exec_start)"
fi
# Two threads and one descriptor per client: the limits must hold them.
clients=$(sed -n 's/.*--max-clients \([0-9]*\).*/\1/p' <<<"$exec_start")
tasks=$(sed -n 's/^TasksMax=//p' "$units/wshub.service")
files=$(sed -n 's/^LimitNOFILE=//p' "$units/wshub.service")
if [ -n "$clients" ] && [ "$tasks" -ge $((2 * clients + 4)) ] &&
	[ "$files" -ge $((clients + 8)) ]; then
	ok "TasksMax $tasks and LimitNOFILE $files hold --max-clients $clients"
else
	not_ok "TasksMax '$tasks' and LimitNOFILE '$files' hold --max-clients '$clients'"
fi

# --- socket activation ----------------------------------------------------
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# activate LOG ARGS...: systemd-socket-activate ARGS in the background,
# stderr to LOG; waits (10 s at most) until it listens.  Sets activator.
activate() {
	local log=$1
	shift
	systemd-socket-activate "$@" 2>"$log" &
	activator=$!
	for _ in $(seq 200); do
		grep -q "^Listening on" "$log" && return 0
		kill -0 "$activator" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# A client that joins, says hello and must get its echo (10 s at most).
chat() {
	timeout 10 /usr/bin/python3 - "$1" <<'EOF'
import asyncio, sys
import websockets

async def main(url):
    async with websockets.connect(url, open_timeout=10) as ws:
        await ws.send("hello over systemd's socket")
        echo = await asyncio.wait_for(ws.recv(), 10)
        sys.exit(0 if echo == "hello over systemd's socket" else 1)

asyncio.run(main(sys.argv[1]))
EOF
}

port=$(free_port)
if ! activate "$tmp/activate.log" -l "127.0.0.1:$port" "$wshub"; then
	not_ok "systemd-socket-activate listens on 127.0.0.1:$port"
	summary
fi
# The first connection makes systemd-socket-activate exec wshub, which
# takes the socket and accepts this very connection.
if chat "ws://127.0.0.1:$port/ws"; then
	ok "a client chats on the inherited socket"
else
	not_ok "a client chats on the inherited socket"
	sed 's/^/    /' "$tmp/activate.log"
fi
if grep -q "wshub: listening on 127.0.0.1:$port" "$tmp/activate.log"; then
	ok "wshub says it listens where systemd bound, not on --port's default"
else
	not_ok "wshub says it listens where systemd bound, not on --port's default"
fi
kill -TERM "$activator" # it exec'd wshub: the same process
wait "$activator"
status=$?
activator=""
if [ "$status" -eq 0 ]; then
	ok "SIGTERM: wshub exits 0"
else
	not_ok "SIGTERM: wshub exits 0 (status $status)"
fi

# refused LOG PATTERN ARGS...: under ARGS, wshub exits 2 on the first
# connection and logs PATTERN.
refused() {
	local name=$1 pattern=$2 status
	shift 2
	activate "$tmp/$name.log" "$@" || { not_ok "$name: activator listens"; return; }
	/usr/bin/python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)' \
		"$port" 2>/dev/null
	wait "$activator"
	status=$?
	activator=""
	if [ "$status" -eq 2 ] && grep -q "$pattern" "$tmp/$name.log"; then
		ok "$name: exit 2, '$pattern'"
	else
		not_ok "$name: exit 2, '$pattern' (status $status)"
		sed 's/^/    /' "$tmp/$name.log"
	fi
}

port=$(free_port)
refused two-sockets "serves one listening socket" \
	-l "127.0.0.1:$port" -l "127.0.0.1:$(free_port)" "$wshub"
port=$(free_port)
refused port-too "do nothing under socket activation" \
	-l "127.0.0.1:$port" "$wshub" --port 9
summary
