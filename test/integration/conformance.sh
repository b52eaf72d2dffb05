#!/usr/bin/env bash
# RFC 6455 conformance suite (test/conformance/run.py) against the server in
# $WSHUB, which scripts/run-tests.sh sets (build/wshub or build/asan/wshub).
# The runner starts the server on a free port, runs every case, stops it
# with SIGTERM and exits non-zero if any case failed or the exit was unclean.
# Extra arguments go to run.py (e.g. -v, --only close/).
exec bash "$(dirname "$0")/../support/run-python.sh" test/conformance/run.py "$@"
