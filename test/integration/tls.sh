#!/usr/bin/env bash
# wss:// and https:// with clients nobody here wrote: Python's ssl and
# Debian's python3-websockets against `wshub --tls-cert --tls-key` (the
# server in $WSHUB, set by scripts/run-tests.sh), with a certificate
# openssl makes for the run.  Chat in rooms, the page and the counters
# over https, plain HTTP on the TLS port refused, 1001 on SIGTERM.  The
# runner prints `tls: N passed, M failed`.
exec bash "$(dirname "$0")/../support/run-python.sh" test/tls/run.py "$@"
