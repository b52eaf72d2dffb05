#!/usr/bin/env bash
# Two wshub processes joined through a real redis-server, driven by
# wshub-load over both: every message reaches its room on both hubs, once.
# The runner prints `redis: N passed, M failed`.
exec bash "$(dirname "$0")/../support/run-python.sh" test/redis/run.py "$@"
