# shellcheck shell=bash
# Sourced by the scripts that run wshub or wshub-load: which binaries are
# under test, and starting the server.  The Python counterpart is
# test/support/wshub_process.py (wshub_path, WshubProcess).
#
#   wshub_path        $WSHUB, else build/wshub
#   wshub_load_path   $WSHUB_LOAD, else build/wshub-load
#   wshub_start LOG COMMAND...
#   kill_all PID...
#
# scripts/run-tests.sh sets WSHUB and WSHUB_LOAD to BUILD/wshub and
# BUILD/wshub-load (build, build/asan, ...).  Both path functions print an
# absolute path: a relative one is taken from the caller's directory, as
# given, so a script may cd to the repository root afterwards.

WSHUB_START_TIMEOUT=10 # s: until the "listening" line

# abs_path PATH: PATH, made absolute from the current directory.
abs_path() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

wshub_path() {
	abs_path "${WSHUB:-build/wshub}"
}

wshub_load_path() {
	abs_path "${WSHUB_LOAD:-build/wshub-load}"
}

# wshub_start LOG COMMAND...: runs COMMAND (wshub --port 0 and its flags,
# maybe behind a prefix such as setarch) in the background, its stderr to
# LOG, and waits for its "wshub: listening on HOST:PORT" line.  Sets
# server_pid, host and port.  If no such line comes (the process ended, or
# WSHUB_START_TIMEOUT passed), it kills the process, clears server_pid,
# prints LOG on stderr and returns 1.
wshub_start() {
	local log=$1 line=
	shift
	"$@" 2>"$log" &
	server_pid=$!
	for _ in $(seq $((WSHUB_START_TIMEOUT * 20))); do
		line=$(grep -m 1 -o 'wshub: listening on [0-9.]*:[0-9]*' "$log")
		[ -n "$line" ] && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$line" ]; then
		kill -KILL "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
		server_pid=
		echo "no 'listening' line from $*:" >&2
		cat "$log" >&2
		return 1
	fi
	line=${line#wshub: listening on }
	# shellcheck disable=SC2034  # host and port are for the caller
	host=${line%:*} port=${line##*:}
}

# kill_all PID...: kills (SIGKILL) each PID that still runs and reaps it;
# empty arguments are skipped.  For a script's EXIT trap: the background
# processes it started (servers, peers, pollers) never outlive it.
kill_all() {
	local pid
	for pid in "$@"; do
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
}
