#!/usr/bin/env bash
# Runs a command (default: make test) as it would run on a fresh Debian 12
# that has only Debian's packages, on a machine that has more: for a check
# by hand, not part of `make test`.  Needs root: it uses a mount and a
# network namespace of its own, and changes nothing outside them.
#
# Inside:
#   - /usr/bin/node is Debian 12's nodejs 18 (with libnode108 and the
#     modules it loads by full path), unpacked under build/debian-only/
#     from Debian's .debs, whatever node /usr/bin/node is outside;
#   - npm, npx and corepack are stubs that fail, and /usr/lib/node_modules
#     (where a non-Debian nodejs keeps npm) is empty;
#   - PATH is Debian's default, so no node, python or npm from elsewhere;
#   - the only network is loopback, and npm_config_registry points at a
#     closed port: a test that fetched anything would fail.
#
#   usage: scripts/debian-only.sh [COMMAND [ARGS...]]
# The .debs are fetched with apt-get download on the first run only.
set -euo pipefail

[ "$(id -u)" -eq 0 ] || { echo "debian-only.sh: needs root" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/debian-only
[ $# -gt 0 ] || set -- make test

# unpack: Debian 12's nodejs 18 under $work/root, stubs under $work/stubs.
unpack() {
	local version
	version=$(apt-cache madison nodejs | awk '$3 ~ /^18\./ { print $3; exit }')
	[ -n "$version" ] || { echo "debian-only.sh: no nodejs 18 in apt's lists" >&2; exit 2; }
	rm -rf "$work" && mkdir -p "$work/debs" "$work/stubs/bin"
	(cd "$work/debs" && apt-get download -q "nodejs=$version" "libnode108=$version" \
		node-acorn node-cjs-module-lexer node-undici)
	for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
	for tool in npm npx corepack; do
		printf '#!/bin/sh\necho "%s: not in Debian 12'"'"'s nodejs" >&2\nexit 127\n' \
			"$tool" >"$work/stubs/bin/$tool"
		chmod +x "$work/stubs/bin/$tool"
	done
}
[ -x "$work/root/usr/bin/node" ] || unpack

# shellcheck disable=SC2016  # the inner bash expands its own variables
exec unshare --mount --net --propagation private bash -c '
	set -euo pipefail
	work=$1 root=$2
	shift 2
	ip link set lo up
	mount -t overlay overlay -o "lowerdir=$work/stubs:$work/root/usr:/usr" /usr
	[ ! -d /usr/lib/node_modules ] || mount -t tmpfs -o ro,size=4k tmpfs /usr/lib/node_modules
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export npm_config_registry=http://127.0.0.1:9
	unset NODE_PATH
	echo "debian-only: node $(node --version) at $(which -a node | tr "\n" " ")," \
		"npm: $(npm --version 2>&1)," \
		"network: $(ip -brief addr | awk "{ print \$1 }" | tr "\n" " ")" >&2
	cd "$root"
	exec "$@"
' debian-only "$work" "$root" "$@"
