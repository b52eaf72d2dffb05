#!/usr/bin/env bash
# The chat page in Debian's headless Chromium (test/browser/run.py, over the
# DevTools protocol with python3-websockets): two pages chat, see the 1001
# close when the server gets SIGTERM, and reconnect when it comes back on
# the same port; then two hubs through Redis, and the page over https
# (wshub --tls-cert).  Run by scripts/run-tests.sh with WSHUB set
# (build/wshub or build/asan/wshub).  Debian packages only, nothing downloaded: chromium
# (or $CHROMIUM) and python3-websockets, from scripts/install-deps.sh.
# Screenshots go to build/browser/.  The last line is
# "browser: N passed, M failed".
set -uo pipefail

# Chromium's profile lives under TMPDIR: a directory of this run's own,
# removed here even if the runner was killed before it could clean up.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
TMPDIR=$tmp bash "$(dirname "$0")/../support/run-python.sh" test/browser/run.py
