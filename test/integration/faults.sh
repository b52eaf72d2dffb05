#!/usr/bin/env bash
# Fault scenarios against the server in $WSHUB (build/wshub or
# build/asan/wshub, set by scripts/run-tests.sh): a SIGSTOPped client, TCP
# resets, slowloris, churn, a flooder, a ping flood, absurd frame lengths,
# random bytes and the descriptor limit, each on its own server and each
# followed by a health check and a SIGTERM that must exit 0.  The runner
# prints `faults: N passed, M failed`.
exec bash "$(dirname "$0")/../support/run-python.sh" test/faults/run.py "$@"
