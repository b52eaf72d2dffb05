#!/usr/bin/env bash
# Interoperability with two client libraries nobody here wrote: Debian's
# python3-websockets and Node's ws (node-ws), against the server in $WSHUB
# (build/wshub or build/asan/wshub, set by scripts/run-tests.sh).  The
# runner starts one server, drives both libraries' clients, stops the
# server with SIGTERM and prints `interop: N passed, M failed`.
exec bash "$(dirname "$0")/../support/run-python.sh" test/interop/run.py "$@"
