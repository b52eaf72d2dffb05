#!/usr/bin/env bash
# The RFC 6455 conformance suite again, over TLS: test/conformance/run.py
# --tls starts the server in $WSHUB with a throwaway certificate (openssl)
# and runs every case through wss://, the same bytes inside TLS records.
# Extra arguments go to run.py (e.g. -v, --only close/).
exec bash "$(dirname "$0")/../support/run-python.sh" test/conformance/run.py --tls "$@"
