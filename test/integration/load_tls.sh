#!/usr/bin/env bash
# wshub-load over wss:// against a TLS broadcast hub (test/load_tls/peer.py:
# Debian's python3-websockets over Python's ssl), with certificates made
# here by openssl: connect, broadcast (with rooms, and with messages of many
# TLS records) and sweep account for every connection and delivery with
# --insecure and with --ca; the host name goes out in SNI and is checked;
# ALPN says http/1.1; against a slow reader, sends that block are retried
# and every byte arrives.  Without --ca or --insecure the self-signed
# certificate is refused with its reason and exit status 1; a certificate
# for another name is refused too; a server that does not speak TLS is
# named as such; a --ca file that cannot be used is exit status 2.  Counts
# only; no timing is asserted.  Run by scripts/run-tests.sh with WSHUB and
# WSHUB_LOAD set.  The last line is "load-tls: N passed, M failed".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/support/wshub.sh
. "$root/test/support/wshub.sh"
wshub=$(wshub_path)
wshub_load=$(wshub_load_path)
PEER_START_S=20        # s, until the peer's "listening" line
RUN_LIMIT_S=120        # s, any one wshub-load run

# shellcheck source=test/support/tally.sh
. "$root/test/support/tally.sh"
tally_begin load-tls

[ -x "$wshub_load" ] || { not_ok "$wshub_load is built"; summary; }
command -v openssl >/dev/null || { not_ok "openssl is installed"; summary; }

tmp=$(mktemp -d)
peer_pid="" server_pid=""
cleanup() {
	kill_all "$peer_pid" "$server_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT

# cert NAME SAN: a self-signed P-256 certificate, valid for a day, in
# $tmp/NAME.pem with its key in $tmp/NAME.key.
cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -subj "/CN=$1" -addext "subjectAltName=$2" -days 1 \
		-keyout "$tmp/$1.key" -out "$tmp/$1.pem" 2>"$tmp/openssl.err"
}

# start_peer LABEL CERT [FLAGS...]: a peer serving $tmp/CERT.pem, with
# peer.py's FLAGS; sets peer_pid and peer_port, its stdout and stderr in
# $tmp/peer-LABEL.out and .err.
start_peer() {
	local label=$1 cert=$2
	shift 2
	peer_port=""
	/usr/bin/python3 "$root/test/load_tls/peer.py" --cert "$tmp/$cert.pem" \
		--key "$tmp/$cert.key" --lifetime 300 "$@" \
		>"$tmp/peer-$label.out" 2>"$tmp/peer-$label.err" &
	peer_pid=$!
	for _ in $(seq $((PEER_START_S * 10))); do
		peer_port=$(sed -n 's/^peer: listening on 127\.0\.0\.1://p' \
			"$tmp/peer-$label.out")
		[ -n "$peer_port" ] && return 0
		kill -0 "$peer_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/peer-$label.err" >&2
	return 1
}

# stop_peer LABEL: SIGTERM; it must exit 0 with its summary line, which is
# left in $tmp/peer-LABEL.sum.
stop_peer() {
	local status=0
	kill -TERM "$peer_pid"
	wait "$peer_pid" || status=$?
	peer_pid=""
	grep '^peer: [0-9]* messages in' "$tmp/peer-$1.err" >"$tmp/peer-$1.sum"
	if [ "$status" -eq 0 ] && [ -s "$tmp/peer-$1.sum" ]; then
		ok "the $1 peer stops on SIGTERM: $(cat "$tmp/peer-$1.sum")"
	else
		not_ok "the $1 peer stops on SIGTERM (exit $status)"
		cat "$tmp/peer-$1.err" >&2
	fi
}

# load NAME WANT MODE URL [FLAGS...]: one bounded run, which must exit
# with status WANT and without a sanitizer's report (WSHUB_LOAD may be an
# ASan build); its JSON in $tmp/NAME.json, its table in $tmp/NAME.txt.
load() {
	local name=$1 want=$2 mode=$3 url=$4 status=0
	shift 4
	timeout -k 5 "$RUN_LIMIT_S" "$wshub_load" "$mode" --json "$@" "$url" \
		>"$tmp/$name.json" 2>"$tmp/$name.txt" || status=$?
	if [ "$status" -eq "$want" ] &&
		! grep -q -e 'Sanitizer' -e 'runtime error:' "$tmp/$name.txt"; then
		ok "$name: exit status $want, no sanitizer report"
	else
		not_ok "$name: exit status $want, no sanitizer report (exit $status)"
		cat "$tmp/$name.txt" >&2
	fi
}

# table NAME WHAT PATTERN: the table of run NAME has a line matching the
# grep pattern PATTERN.
table() {
	if grep -q -- "$3" "$tmp/$1.txt"; then
		ok "$2"
	else
		not_ok "$2"
		cat "$tmp/$1.txt" >&2
	fi
}

# bad_usage NAME WANT CMD...: CMD exits 2 with one line on stderr that
# contains WANT.
bad_usage() {
	local name=$1 want=$2 st=0 msg
	shift 2
	msg=$("$@" 2>&1 >/dev/null) || st=$?
	if [ "$st" -eq 2 ] && [ "$(wc -l <<<"$msg")" -eq 1 ] &&
		[[ $msg == *"$want"* ]]; then
		ok "$name"
	else
		not_ok "$name (exit $st: $msg)"
	fi
}

if ! cert localhost "DNS:localhost,IP:127.0.0.1" ||
	! cert wrong.example "DNS:wrong.example"; then
	not_ok "openssl makes the test certificates"
	cat "$tmp/openssl.err" >&2
	summary
fi
ok "openssl makes the test certificates"
start_peer localhost localhost || { not_ok "the TLS peer starts"; summary; }
ok "the TLS peer starts"
url="wss://127.0.0.1:$peer_port/ws"

# Two loop threads: their sessions share one set of credentials.
load connect 0 connect "$url" -c 50 -d 1 -t 2 --insecure
check_json "connect --insecure, 2 threads: all 50 opened over TLS, one broadcast reached all" \
	"$tmp/connect.json" 'j["connections"]["ok"] == 50
	and r["sent"] == 1 and r["received"] == r["expected"] == 50
	and r["pass"] is True and sum(j["errors"].values()) == 0'
check_json "connect --insecure: the JSON says nothing was checked" \
	"$tmp/connect.json" 'j["tls"] == {"verify": "none", "ca": None}
	and j["last_tls_error"] is None'
check_json "connect: the handshake figures count every connection" \
	"$tmp/connect.json" 'j["handshake_us"]["n"] == 50
	and j["handshake_us"]["min"] > 0'
table connect "connect --insecure: the table says so, and that handshakes include TLS" \
	'^tls  *certificates NOT checked (--insecure); handshake times include TLS$'

load broadcast 0 broadcast "$url" -c 10 -s 2 -r 20 -d 2 --insecure
check_json "broadcast --insecure: every connection opened, every delivery arrived" \
	"$tmp/broadcast.json" 'j["connections"]["ok"] == 10 and r["sent"] > 0
	and r["skipped"] == 0 and r["expected"] == 10 * r["sent"]
	and r["received"] == r["expected"] and sum(j["errors"].values()) == 0'
check_json "broadcast --insecure: latency per delivery; the verdict is the documented one" \
	"$tmp/broadcast.json" 'r["latency_us"]["n"] == r["received"]
	and r["pass"] == (r["latency_us"]["p99"] <= 100000)'

load rooms 0 broadcast "$url" -c 12 -s 4 -r 20 -d 1 --rooms 2 --ca "$tmp/localhost.pem"
check_json "broadcast --ca, 2 rooms: the certificate passes; each message reaches its room only" \
	"$tmp/rooms.json" 'j["tls"] == {"verify": "ca", "ca": j["tls"]["ca"]}
	and j["tls"]["ca"].endswith("localhost.pem")
	and j["connections"]["ok"] == 12 and r["sent"] > 0
	and r["expected"] == 6 * r["sent"] and r["received"] == r["expected"]
	and r["wrong_room"] == 0 and sum(j["errors"].values()) == 0'
table rooms "broadcast --ca: the table names the trust" \
	'^tls  *certificates checked against --ca .*localhost\.pem; handshake times include TLS$'

# 100,000-byte binary messages: each frame spans many TLS records both
# ways.
load big 0 broadcast "$url" -c 4 -s 2 -r 10 -d 1 -b 100000 --binary --insecure
check_json "broadcast of 100 kB binary messages: every delivery arrived whole" \
	"$tmp/big.json" 'r["sent"] > 0 and r["expected"] == 4 * r["sent"]
	and r["received"] == r["expected"] and sum(j["errors"].values()) == 0'

load sweep 0 sweep "$url" -c 4 -s 2 -r 20 -d 1 --steps 2 --insecure
check_json "sweep --insecure: 2 steps, every delivery of each arrived" \
	"$tmp/sweep.json" 'len(j["rounds"]) == 2 and all(x["sent"] > 0
	and x["received"] == x["expected"] == 4 * x["sent"] for x in j["rounds"])'

# By name: SNI carries it, and the certificate must be valid for it.
load byname 0 connect "wss://localhost:$peer_port/ws" -c 3 -d 1 --ca "$tmp/localhost.pem"
check_json "wss://localhost with --ca: the name is checked and passes" \
	"$tmp/byname.json" 'j["connections"]["ok"] == 3 and r["received"] == 3'

# The system's trust store does not know a self-signed certificate.
load untrusted 1 connect "$url" -c 3 -d 1 --drain 1000
check_json "no --ca, no --insecure: every handshake fails, as tls errors, naming the reason" \
	"$tmp/untrusted.json" 'j["tls"]["verify"] == "system"
	and j["connections"]["ok"] == 0 and j["errors"]["tls"] == 3
	and "issuer is unknown" in j["last_tls_error"]'
table untrusted "no --ca, no --insecure: the table gives the reason" \
	'^errors  *tls 3 (last: certificate refused: The certificate is NOT trusted\. The certificate issuer is unknown\.)$'

stop_peer localhost
check_json "the peer saw ALPN http/1.1 on every handshake, and SNI only by name" \
	<(sed -E 's/^peer: ([0-9]+) messages in, ([0-9]+) deliveries out, ([0-9]+) TLS handshakes, ([0-9]+) ALPN http\/1\.1, ([0-9]+) SNI (.*)$/{"h": \3, "alpn": \4, "sni": \5, "name": "\6"}/' \
		"$tmp/peer-localhost.sum") \
	'j["h"] > 0 and j["alpn"] == j["h"] and j["sni"] == 3
	and j["name"] == "localhost"'

# A certificate its --ca trusts, for another name.
if start_peer wrong.example wrong.example; then
	load wrongname 1 connect "wss://127.0.0.1:$peer_port/ws" -c 2 -d 1 \
		--drain 1000 --ca "$tmp/wrong.example.pem"
	check_json "a trusted certificate for another name is refused, saying so" \
		"$tmp/wrongname.json" 'j["connections"]["ok"] == 0
		and j["errors"]["tls"] == 2
		and "does not match" in j["last_tls_error"]'
	stop_peer wrong.example
else
	not_ok "the second TLS peer starts"
fi

# A peer that reads slowly (one 1 MB message per 200 ms, read ahead by
# one): the sender's socket fills, GnuTLS's sends return TLS_AGAIN and are
# retried with the same bytes, and still every byte arrives in order (a
# byte lost or repeated would break the framing or the payloads).
if start_peer slow localhost --slow-ms 200; then
	load slow 0 broadcast "wss://127.0.0.1:$peer_port/ws" -c 2 -s 1 -r 20 \
		-d 1 -b 1000000 --binary --insecure --drain 20000
	check_json "a slow reader: 20 MB over TLS against back-pressure, every delivery whole" \
		"$tmp/slow.json" 'r["sent"] == 20 and r["skipped"] == 0
		and r["received"] == r["expected"] == 40
		and sum(j["errors"].values()) == 0'
	stop_peer slow
else
	not_ok "the slow TLS peer starts"
fi

# wss:// to a port that speaks plain HTTP: wshub without TLS.
if [ ! -x "$wshub" ]; then
	echo "ok - wss:// to a plain server # SKIP $wshub is not built"
elif wshub_start "$tmp/wshub.log" "$wshub" --port 0 -q; then
	load plain 1 connect "wss://$host:$port/ws" -c 2 -d 1 --drain 1000 --insecure
	check_json "wss:// to a plain ws:// server: tls errors that say it may not speak TLS" \
		"$tmp/plain.json" 'j["connections"]["ok"] == 0
		and j["errors"]["tls"] == 2
		and "does the server speak TLS" in j["last_tls_error"]'
	kill -TERM "$server_pid"
	wait "$server_pid" 2>/dev/null
	server_pid=""
else
	not_ok "wshub starts"
fi

# A --ca that cannot be used: one line on stderr, exit 2, no connection.
echo "not a certificate" >"$tmp/garbage.pem"
bad_usage "--ca FILE that does not exist: exit 2, one line" \
	"invalid --ca '$tmp/missing.pem': cannot read it: No such file or directory" \
	"$wshub_load" connect --ca "$tmp/missing.pem" "$url"
bad_usage "--ca FILE without a certificate: exit 2, one line" \
	"invalid --ca '$tmp/garbage.pem': no PEM certificate in it" \
	"$wshub_load" connect --ca "$tmp/garbage.pem" "$url"
bad_usage "--ca with --insecure: exit 2, one line" "give one" \
	"$wshub_load" connect --insecure --ca "$tmp/localhost.pem" "$url"

summary
