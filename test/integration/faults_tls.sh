#!/usr/bin/env bash
# The fault scenarios again, over TLS: test/faults/run.py --tls gives every
# scenario's server in $WSHUB a throwaway certificate (openssl) and speaks
# TLS from every client.  The raw acts keep their meaning under the session
# (an RST, a half-open peer, a slowloris), slowloris and rst add their acts
# inside the TLS handshake and records, and tls-bad-input runs: noise and
# plain HTTP on the TLS port, bad, oversize and truncated records.  The
# runner prints `faults-tls: N passed, M failed`.  Extra arguments go to
# run.py (e.g. -v, --only slowloris).
exec bash "$(dirname "$0")/../support/run-python.sh" test/faults/run.py --tls "$@"
