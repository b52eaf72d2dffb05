#!/usr/bin/python3
"""Fault scenarios against wshub, each followed by a health check.

Usage:
    /usr/bin/python3 test/faults/run.py [--tls] [--only NAME[,NAME...]] [--list] [-v]

For every scenario in scenarios.SCENARIOS the runner starts its own
`$WSHUB --port 0 FLAGS` (WSHUB defaults to build/wshub; the descriptor-limit
scenario runs it under `prlimit --nofile=64:64`), measures its threads and
descriptors, runs the scenario, then checks the server's health:

- it is alive, /stats counts no clients;
- its thread and descriptor counts are back to the start (polled up to 10 s);
- a fresh pair of clients exchanges a message and closes;
- on SIGTERM it exits 0 (under AddressSanitizer a leak report would not).

With --tls every server gets a throwaway certificate (--tls-cert,
--tls-key, made by openssl) and every client, /stats included, speaks TLS,
trusting that certificate for the name localhost.  The raw acts keep their
meaning under TLS (scenarios.py says how, scenario by scenario), and the
scenarios marked TLS-only run too: bad bytes on the TLS port, a
truncated record, a record over the size limit.  A scenario that means
nothing in the chosen mode is listed as skipped, with the reason.

Prints a line per scenario (ok with measurements, or FAILED with the
reason) and last `faults: N passed, M failed`; exit status 0 when nothing
failed.  Standard library only; traffic to 127.0.0.1 only; every loop is
bounded in count and time.
"""

import argparse
import os
import resource
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import client  # noqa: E402
from client import ClientError  # noqa: E402
from harness import Failure, Server, describe_status  # noqa: E402
from scenarios import SCENARIOS, skip_reason  # noqa: E402
from wshub_process import make_tls_pair, wshub_path  # noqa: E402


def raise_nofile():
    """The slowloris scenario holds 500 sockets; take the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_one(wshub, name, fn, flags, nofile, verbose):
    """Runs one scenario on its own server; returns (note, None) or
    (None, why it failed)."""
    server = Server(wshub, flags, nofile)
    note, why = None, None
    try:
        server.start()
        if verbose:
            print("  %s: %s, baseline %d threads, %d descriptors" % (
                name, " ".join(flags) or "default flags", server.base_threads,
                server.base_fds), flush=True)
        try:
            note = fn(server)
        except (Failure, ClientError) as e:
            why = str(e)
        except OSError as e:
            why = "%s: %s" % (type(e).__name__, e)
        except Exception as e:  # a bug in the scenario itself
            why = "%s: %s" % (type(e).__name__, e)
            if verbose:
                traceback.print_exc()
        try:
            server.health_check(name)
        except (Failure, ClientError, OSError) as e:
            why = (why + "; and " if why else "") + "health check: %s" % e
        status = server.stop()
        if status != 0:
            why = (why + "; and " if why else "") + "on SIGTERM the server %s%s" % (
                describe_status(status), server.tail())
    except Failure as e:
        why = str(e)
    finally:
        server.kill()
    if why and server.lines and "server:" not in why:
        why += server.tail(6)
    return note, why


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", help="comma-separated scenario names")
    p.add_argument("--tls", action="store_true",
                   help="serve with a throwaway certificate, every client over TLS")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    if args.list:
        for name, title, _, flags, nofile in SCENARIOS:
            skip = skip_reason(name, args.tls)
            print("%-12s %s  [%s%s]%s" % (name, title, " ".join(flags) or "default flags",
                                          " nofile=%d" % nofile if nofile else "",
                                          "  (skipped: %s)" % skip if skip else ""))
        return
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - {s[0] for s in SCENARIOS}
    if unknown:
        sys.exit("run.py: no scenario named %s (see --list)" % ", ".join(sorted(unknown)))
    wshub = wshub_path()
    if not os.access(wshub, os.X_OK):
        sys.exit("run.py: %s is not built" % wshub)
    raise_nofile()
    tls_flags = []
    if args.tls:
        tmp = tempfile.TemporaryDirectory(prefix="wshub-faults-")
        cert, key = make_tls_pair(tmp.name)
        tls_flags = ["--tls-cert", cert, "--tls-key", key]
        client.use_tls(cert)
    # SIGTERM (the wrapper's cleanup, timeout(1)) unwinds like an error, so
    # every `finally` kills its server and resumes a stopped child.
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
    passed = failed = 0
    t_all = time.monotonic()
    for name, title, fn, flags, nofile in SCENARIOS:
        if only and name not in only:
            continue
        skip = skip_reason(name, args.tls)
        if skip:
            print("skip %s: %s - %s" % (name, title, skip), flush=True)
            continue
        t0 = time.monotonic()
        note, why = run_one(wshub, name, fn, flags + tls_flags, nofile, args.verbose)
        elapsed = time.monotonic() - t0
        if why is None:
            passed += 1
            print("ok   %s: %s - %s (%.1fs)" % (name, title, note, elapsed), flush=True)
        else:
            failed += 1
            print("FAILED %s: %s: %s (%.1fs)" % (name, title, why, elapsed), flush=True)
    print("total time %.0fs" % (time.monotonic() - t_all))
    print("%s: %d passed, %d failed" % ("faults-tls" if args.tls else "faults",
                                        passed, failed), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
