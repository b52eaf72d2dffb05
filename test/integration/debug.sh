#!/usr/bin/env bash
# The wshub binary's thread dump: GET /debug/threads (2N + 4 threads for N
# clients, roles, states, rooms) and SIGQUIT (the dump on stderr, the
# server goes on).  The runner prints `debug: N passed, M failed`.
exec bash "$(dirname "$0")/../support/run-python.sh" test/debug/run.py "$@"
