#!/usr/bin/env bash
# Runs one integration scenario against wshub under valgrind (memcheck):
#
#   scripts/valgrind.sh [WSHUB]        (default build/wshub: a -O2 -g build)
#
# Builds nothing: `make valgrind` builds build/wshub first.  The server runs
# as `valgrind --error-exitcode=1 --leak-check=full
# --errors-for-leak-kinds=definite,indirect --track-fds=no WSHUB --port 0
# --send-queue 4 --write-timeout 1 --shutdown-timeout 1`, and Python 3
# stdlib clients (the framing of test/conformance/wsframes.py) drive it:
#   1. three clients chat: every message reaches all three;
#   2. a slow client (4 KiB SO_RCVBUF, never reads) is dropped by the hub
#      while another client sends 200 messages of 16 KiB that still reach
#      every other client, each one;
#   3. one client leaves with a TCP reset and one with a bare FIN, no close
#      frame: the server logs both as 1006 and the rest chat on;
#   4. SIGTERM: each remaining client gets a close frame with 1001 and
#      answers it, and the server reads the answer (it logs code=1001: the
#      closing handshake completed); the server exits 0, and valgrind
#      reports no error and no definite or indirect leak (its exit status
#      is then 0).
# Every check prints "ok: ..." or "FAILED: ...", the last line is
# "valgrind: N passed, M failed".  Exit status 0 when nothing failed, 1
# otherwise, 2 if valgrind, python3 or the binary is missing.  The whole
# run is bounded (under 3 minutes; a few seconds when all goes well), and
# the server is killed on exit.
set -uo pipefail
# shellcheck source=test/support/paths.sh
. "$(dirname "$0")/../test/support/paths.sh"
WSHUB=${1:-${WSHUB:-}}
wshub=$(wshub_path)
cd "$(dirname "$0")/.."

python=/usr/bin/python3
start_timeout=30     # s: valgrind starts slowly
scenario_timeout=100 # s: steps 1-4, from the "listening" line to SIGTERM
exit_timeout=40      # s: from SIGTERM to exit, leak check included

for tool in valgrind "$python"; do
	if ! command -v "$tool" >/dev/null; then
		echo "valgrind: $tool not found (Debian: apt-get install valgrind python3)" >&2
		exit 2
	fi
done
if [ ! -x "$wshub" ]; then
	echo "valgrind: no executable $wshub (build it first: make)" >&2
	exit 2
fi

work=$(mktemp -d)
server=
cleanup() {
	if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
		kill -KILL "$server" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
not_ok() { echo "FAILED: $*"; failed=$((failed + 1)); }
finish() {
	echo "valgrind: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

valgrind --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --track-fds=no \
    --log-file="$work/valgrind.log" \
    "$wshub" --port 0 --send-queue 4 --write-timeout 1 --shutdown-timeout 1 \
    </dev/null >/dev/null 2>"$work/wshub.log" &
server=$!

port=
for _ in $(seq $((start_timeout * 10))); do
	port=$(sed -n 's/^wshub: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/wshub.log")
	[ -n "$port" ] && break
	kill -0 "$server" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$port" ]; then
	not_ok "wshub printed no 'listening' line within ${start_timeout}s under valgrind"
	tail -n 20 "$work/wshub.log" "$work/valgrind.log"
	finish
fi
ok "wshub listening on 127.0.0.1:$port under valgrind"

# Steps 1-4; the scenario sends SIGTERM itself (step 4 needs the clients).
timeout -k 5 "$scenario_timeout" "$python" - "$port" "$work/wshub.log" "$server" \
    <<'EOF' | tee "$work/scenario.out"
import os
import queue
import re
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.getcwd(), "test", "conformance"))
from wsframes import (OP_BINARY, OP_CLOSE, OP_TEXT, Conn, Fail, Target,  # noqa: E402
                     build_request, check_upgrade, encode_frame, new_key,
                     upgrade_headers)

PORT, LOG, SERVER = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
STEP_S = 20.0          # a step's wait for frames or log lines, under valgrind
BIG, COUNT = 16 * 1024, 200
REPLY_DELAY_S = 0.2    # a client's think time before its close reply; well
                       # within --shutdown-timeout 1, which the server waits
target = Target("127.0.0.1", PORT, timeout=STEP_S)


def report(ok, what):
    print(("ok: " if ok else "FAILED: ") + what, flush=True)


class Client:
    """A connection whose thread collects every frame; it answers a close
    frame (after REPLY_DELAY_S) with a close of the same code and then waits
    for TCP to close."""

    def __init__(self, name, conn):
        self.name, self.conn = name, conn
        self.port = conn.sock.getsockname()[1]
        self.frames = queue.Queue()
        self.close = None
        self.error = None
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            while True:
                try:
                    frame = self.conn.recv_frame()
                except Fail as e:
                    if "timed out" in str(e):
                        continue  # idle: keep listening
                    raise
                if frame.opcode == OP_CLOSE:
                    self.close = frame
                    time.sleep(REPLY_DELAY_S)
                    self.conn.send(encode_frame(OP_CLOSE, frame.payload[:2]), may_fail=True)
                    self.conn.expect_eof(allow_reset=True)
                    return
                self.frames.put(frame)
        except (Fail, OSError) as e:
            self.error = str(e)
        finally:
            self.done.set()

    def send(self, opcode, payload):
        self.conn.send(encode_frame(opcode, payload))

    def take(self, n):
        """The payloads of the next n data frames, or Fail."""
        out = []
        deadline = time.monotonic() + STEP_S
        while len(out) < n:
            try:
                frame = self.frames.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise Fail("%s: %d of %d messages within %gs (%s)"
                           % (self.name, len(out), n, STEP_S, self.error or "no error"))
            out.append((frame.opcode, frame.payload))
        return out


def registered(conn):
    """Waits until the server has registered the connection with the hub.
    The 101 goes out before hub_register (as in Gorilla's chat example), so
    a broadcast sent before this could miss the new client."""
    wait_log(r"connect id=\d+ peer=127\.0\.0\.1:%d$" % conn.sock.getsockname()[1])
    return conn


def open_client(name):
    return Client(name, registered(target.open()))


def wait_log(pattern):
    """Waits for a line of the server's log that matches pattern."""
    deadline = time.monotonic() + STEP_S
    while time.monotonic() < deadline:
        with open(LOG, errors="replace") as f:
            for line in f:
                if re.search(pattern, line):
                    return line.strip()
        time.sleep(0.2)
    raise Fail("no log line matching %r within %gs" % (pattern, STEP_S))


def step(what, fn):
    try:
        fn()
        report(True, what)
        return True
    except (Fail, OSError) as e:
        report(False, "%s: %s" % (what, e))
        return False


clients = {}


def chat(senders, tag):
    """Each sender sends one text message; every client gets all of them."""
    sent = set()
    for name in senders:
        payload = ("%s from %s" % (tag, name)).encode()
        clients[name].send(OP_TEXT, payload)
        sent.add((OP_TEXT, payload))
    for c in clients.values():
        got = set(c.take(len(senders)))
        if got != sent:
            raise Fail("%s received %r, expected %r" % (c.name, sorted(got), sorted(sent)))


def step_chat():
    for name in "ABC":
        clients[name] = open_client(name)
    chat("ABC", "hello")


def open_slow():
    """A client with a tiny receive buffer that never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(STEP_S)
    sock.connect(("127.0.0.1", PORT))
    conn = Conn(sock, STEP_S)
    key = new_key()
    conn.send(build_request(upgrade_headers(target.hostport, key)))
    check_upgrade(conn.read_http_response(), key)
    return registered(conn)


def step_slow():
    slow = open_slow()
    port = slow.sock.getsockname()[1]
    # A sends; each message must reach A, B and C before the next goes, so
    # only the slow client's queue can fill up.
    for i in range(COUNT):
        payload = struct.pack("!I", i) + bytes([i & 0xFF]) * (BIG - 4)
        clients["A"].send(OP_BINARY, payload)
        for c in clients.values():
            [(op, got)] = c.take(1)
            if op != OP_BINARY or got != payload:
                raise Fail("%s: message %d came back as opcode %d, %d bytes, index %d"
                           % (c.name, i, op, len(got), struct.unpack("!I", got[:4])[0]))
    line = wait_log(r"slow client id=\d+ peer=127\.0\.0\.1:%d\b" % port)
    print("    server: " + line, flush=True)
    # The slow client is cut off: reading now drains what the kernel held
    # and then meets EOF or a reset, never a long silence.
    deadline = time.monotonic() + STEP_S
    try:
        while slow.sock.recv(65536):
            if time.monotonic() > deadline:
                raise Fail("the slow client is still connected after %gs" % STEP_S)
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise Fail("the slow client's socket is silent but open after %gs" % STEP_S)
    slow.close()


def step_abrupt():
    rst = target.open()
    fin = target.open()
    rst_port, fin_port = rst.sock.getsockname()[1], fin.sock.getsockname()[1]
    rst.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rst.close()      # RST, no close frame
    fin.close()      # FIN, no close frame
    for port in (rst_port, fin_port):
        line = wait_log(r"disconnect id=\d+ peer=127\.0\.0\.1:%d code=1006" % port)
        print("    server: " + line, flush=True)
    chat("B", "after the abrupt leave")


def step_shutdown():
    os.kill(SERVER, signal.SIGTERM)
    for c in clients.values():
        if not c.done.wait(STEP_S):
            raise Fail("%s: no close frame and no TCP close within %gs of SIGTERM" % (c.name, STEP_S))
        if c.close is None:
            raise Fail("%s: connection ended without a close frame (%s)" % (c.name, c.error))
        if c.close.close_code() != 1001:
            raise Fail("%s: got %s, expected close 1001" % (c.name, c.close.describe()))
        if c.error:
            raise Fail("%s: after the close frame: %s" % (c.name, c.error))


def step_handshake():
    """Each client's close reply reached the server: the closing handshake
    completed (RFC 6455 §7.1.1), so the server logs the client's 1001."""
    wait_log(r"shut down cleanly")
    with open(LOG, errors="replace") as f:
        log = f.read()
    for c in clients.values():
        m = re.search(r"disconnect id=\d+ peer=127\.0\.0\.1:%d code=(\d+).*" % c.port, log)
        if m is None:
            raise Fail("%s: no disconnect line" % c.name)
        if m.group(1) != "1001":
            raise Fail("%s: the server did not read the close reply: %s" % (c.name, m.group(0)))


if step("chat: 3 clients, every message reaches all 3", step_chat):
    step("slow client dropped while A sends %d x 16 KiB, which reach A, B and C" % COUNT,
         step_slow)
    step("clients leaving with RST and FIN are logged as 1006; the rest chat on",
         step_abrupt)
    if step("SIGTERM: every client gets close 1001 and the TCP close", step_shutdown):
        step("the server reads each client's close reply (logs code=1001)",
             step_handshake)
else:
    os.kill(SERVER, signal.SIGTERM)
EOF
rc=${PIPESTATUS[0]}
passed=$((passed + $(grep -c '^ok: ' "$work/scenario.out")))
failed=$((failed + $(grep -c '^FAILED: ' "$work/scenario.out")))
if [ "$rc" -ne 0 ]; then
	not_ok "the Python scenario ended with status $rc (124: it timed out)"
	kill -TERM "$server" 2>/dev/null
fi

status=
for _ in $(seq $((exit_timeout * 10))); do
	if ! kill -0 "$server" 2>/dev/null; then
		wait "$server"
		status=$?
		break
	fi
	sleep 0.1
done
if [ -z "$status" ]; then
	not_ok "wshub under valgrind did not exit within ${exit_timeout}s of SIGTERM"
	kill -KILL "$server" 2>/dev/null
	server=
	tail -n 20 "$work/wshub.log"
	finish
fi
server=
summary=$(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|All heap blocks|in use at exit|total heap usage' "$work/valgrind.log" |
	sed 's/^==[0-9]*== *//' | tr '\n' ';' | sed 's/;$//')
if [ "$status" -eq 0 ]; then
	ok "exit status 0: no memcheck error, no definite or indirect leak ($summary)"
else
	not_ok "exit status $status under valgrind ($summary)"
	grep -E -A 25 'Invalid|uninitialised|definitely lost in|indirectly lost in|Syscall param' \
	    "$work/valgrind.log" | head -n 80
	tail -n 10 "$work/wshub.log"
fi
finish
