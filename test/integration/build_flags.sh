#!/usr/bin/env bash
# A CFLAGS or LDFLAGS given on make's command line chooses optimisation and
# debug information, but never drops what the build needs: C11, -pthread,
# -Werror, and the sanitizer SANITIZE asks for.  (Once it did: `make
# SANITIZE=thread CFLAGS="-O1 -g"` compiled without -fsanitize=thread and
# linked TSan's runtime anyway, whose interceptors then reported races that
# were not there.)  Reads the commands `make -n` would run; builds nothing.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/support/tally.sh
. test/support/tally.sh
tally_begin build-flags

# compile_line SANITIZE CFLAGS: the command that would compile src/chan.c.
compile_line() {
	make -n BUILD=build/flagcheck SANITIZE="$1" CFLAGS="$2" LDFLAGS="-Wl,-O1" \
		build/flagcheck/obj/chan.o build/flagcheck/wshub 2>/dev/null |
		grep -E -- '(-c -o build/flagcheck/obj/chan.o|-o build/flagcheck/wshub )'
}

check() { # NAME LINES WORDS...
	local name=$1 lines=$2 missing=""
	shift 2
	for w in "$@"; do
		grep -q -- "$w" <<<"$lines" || missing="$missing $w"
	done
	if [ -z "$missing" ]; then
		ok "$name"
	else
		not_ok "$name: missing$missing"
		printf '%s\n' "$lines" | sed 's/^/    /'
	fi
}

lines=$(compile_line thread "-O1 -g")
check 'SANITIZE=thread CFLAGS="-O1 -g": compiled and linked with TSan' "$lines" \
	' -O1 -g ' '-std=c11' '-pthread' '-Werror' '-fsanitize=thread.*-c -o' \
	'-Wl,-O1.*-fsanitize=thread'
lines=$(compile_line address,undefined "-O0")
check 'SANITIZE=address,undefined CFLAGS=-O0: both sanitizers kept' "$lines" \
	'-fsanitize=address,undefined.*-c -o' '-std=c11'
lines=$(compile_line "" "-O2 -g -DNDEBUG")
check 'no sanitizer, CFLAGS of make bench: C11 and -pthread kept' "$lines" \
	'-DNDEBUG' '-std=c11' '-pthread'
summary
