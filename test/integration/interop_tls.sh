#!/usr/bin/env bash
# The interop test again over TLS: Debian's python3-websockets and Node's
# ws (node-ws) speak wss:// to the server in $WSHUB, which run.py --tls
# starts with a throwaway certificate (openssl) both libraries verify.
# The runner prints `interop: N passed, M failed`.
exec bash "$(dirname "$0")/../support/run-python.sh" test/interop/run.py --tls "$@"
