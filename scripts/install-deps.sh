#!/usr/bin/env bash
# Installs the Debian packages wshub needs to build and test: every one of
# them, and nothing from any other registry (no npm, no pip), so the tests
# download nothing.
# Idempotent and quick when everything is present: it asks dpkg first and
# runs `apt-get update` only when something must be installed.
set -euo pipefail

packages=(
	gcc libc6-dev make pkg-config xxd # toolchain; xxd embeds the chat page
	libwslay-dev              # WebSocket framing
	libhiredis-dev            # the Redis bridge (--redis)
	libgnutls28-dev openssl   # wshub-load's wss://; test certificates
	redis-server              # the bridge's tests run a real one
	libbsd-dev libmd-dev      # strtonum, arc4random_buf, sys/queue.h; SHA-1
	libgnutls28-dev           # TLS (--tls-cert): GnuTLS, also the tests' client
	openssl                   # the integration tests' throwaway certificates
	libcriterion-dev          # unit tests
	python3 python3-websockets # integration tests drive the server with it
	nodejs node-ws            # interop test: Node's ws client (no npm)
	chromium                  # browser test, driven over the DevTools protocol
	clang libclang-rt-dev     # make fuzz: libFuzzer
	valgrind                  # make valgrind
	groff-base bsdextrautils  # man.sh: groff -ww on the man pages, col -b
	gnuplot-nox               # make bench: the SVG pictures in docs/bench/
	systemd man-db            # systemd.sh: systemd-analyze verify (which
	                          # runs man for Documentation=), systemd-socket-activate
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
