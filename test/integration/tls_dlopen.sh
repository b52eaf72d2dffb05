#!/usr/bin/env bash
# A plain server pays nothing for TLS: wshub does not link GnuTLS, it opens
# it with dlopen(3) when --tls-cert is given (src/tls.c).  Linked,
# libgnutls and libp11-kit would put their thread-local storage into every
# thread's static TLS block, a stack page more per idle connection thread.
# Reads /proc/PID/maps of running servers (not ldd, which a sanitizer
# build's runtime may change): a plain wshub maps neither library, a TLS
# wshub maps libgnutls.  A libgnutls.so.30 that cannot be loaded (an empty
# file found first through LD_LIBRARY_PATH) is one line naming --tls-cert
# and exit status 2.  Run by scripts/run-tests.sh with WSHUB set; the last
# line is "tls-dlopen: N passed, M failed".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/support/wshub.sh
. "$root/test/support/wshub.sh"
wshub=$(wshub_path)
# shellcheck source=test/support/tally.sh
. "$root/test/support/tally.sh"
tally_begin tls-dlopen

[ -x "$wshub" ] || { not_ok "$wshub is built"; summary; }
command -v openssl >/dev/null || { not_ok "openssl is installed"; summary; }

tmp=$(mktemp -d)
server_pid=""
cleanup() {
	kill_all "$server_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj /CN=127.0.0.1 -days 1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
	2>"$tmp/openssl.err" || { not_ok "openssl makes a pair"; summary; }
tls_flags=(--tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem")

# gnutls_maps LABEL FLAGS...: starts wshub with FLAGS and prints the
# GnuTLS and p11-kit files it maps once it listens, then stops it.
gnutls_maps() {
	local label=$1
	shift
	wshub_start "$tmp/$label.err" "$wshub" --port 0 -q "$@" || return 1
	grep -oE '[^/ ]*(libgnutls|libp11-kit)[^/ ]*$' "/proc/$server_pid/maps" |
		sort -u
	kill -TERM "$server_pid"
	wait "$server_pid"
	server_pid=""
}

# A sanitizer build links GnuTLS on purpose (Makefile, SERVER_TLS_LIBS):
# there the release build's promise is not checked, and says so.
sanitizer=$(wshub_start "$tmp/probe.err" "$wshub" --port 0 -q &&
	grep -oE 'lib(asan|tsan)[^/ ]*$' "/proc/$server_pid/maps" | head -1;
	kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null)
if [ -n "$sanitizer" ]; then
	echo "# $sanitizer: a sanitizer build links GnuTLS (Makefile, SERVER_TLS_LIBS);" \
		"the plain server's and the unloadable library's checks are the release build's"
elif maps=$(gnutls_maps plain); then
	if [ -z "$maps" ]; then
		ok "a plain wshub maps neither libgnutls nor libp11-kit"
	else
		not_ok "a plain wshub maps neither libgnutls nor libp11-kit:" \
			"it maps ${maps//$'\n'/ }"
	fi
else
	not_ok "a plain wshub starts"
fi

if maps=$(gnutls_maps tls "${tls_flags[@]}"); then
	if grep -q '^libgnutls\.so\.30' <<<"$maps"; then
		ok "a wshub with --tls-cert maps libgnutls.so.30"
	else
		not_ok "a wshub with --tls-cert maps libgnutls.so.30:" \
			"it maps only: ${maps//$'\n'/ }"
	fi
else
	not_ok "a wshub with --tls-cert starts"
fi

# An empty libgnutls.so.30, found before the system's.
[ -z "$sanitizer" ] || summary
mkdir "$tmp/lib" && : >"$tmp/lib/libgnutls.so.30"
LD_LIBRARY_PATH=$tmp/lib "$wshub" --port 0 -q "${tls_flags[@]}" \
	>"$tmp/nolib.out" 2>"$tmp/nolib.err"
status=$?
line='^wshub: --tls-cert: cannot load GnuTLS \(libgnutls\.so\.30\): .*libgnutls\.so\.30'
if [ "$status" -eq 2 ] && [ "$(wc -l <"$tmp/nolib.err")" -eq 1 ] &&
	grep -qE "$line" "$tmp/nolib.err"; then
	ok "a GnuTLS that cannot be loaded: one line, exit 2: $(cat "$tmp/nolib.err")"
else
	not_ok "a GnuTLS that cannot be loaded: one line, exit 2 (exit $status):" \
		"$(head -c 400 "$tmp/nolib.err")"
fi
summary
