#!/usr/bin/python3
"""RFC 6455 conformance suite for wshub, modeled on the Autobahn TestSuite's
case groups (the cases are our own).

Usage:
    /usr/bin/python3 test/conformance/run.py [--url ws://127.0.0.1:PORT/ws]
                                             [--tls] [--only TEXT] [--list] [-v]

With no --url, the runner starts `$WSHUB --port 0 --max-message 65536`
(WSHUB defaults to build/wshub), reads the port from the server's
"wshub: listening on 127.0.0.1:PORT" line on stderr, runs the cases, then
stops the server with SIGTERM and checks that it exits 0. A server that
dies during a case fails that case and is started again. With --tls the
server gets a throwaway certificate (--tls-cert, --tls-key) and every
case runs over TLS (wss://): the same bytes, inside TLS records.

Each case opens its own connections, sends raw frames (every client frame
masked with a random key) and passes only on the exact expected behaviour.
Each states the RFC section it checks (--list prints them). Every socket
operation has a timeout (--timeout, 5 s), so a hang fails one case.

Output: a line per failed case (per case with -v), a table of passed and
failed cases per group, and last `conformance: N passed, M failed`. Exit
status 0 when nothing failed, 1 otherwise, 2 for bad arguments.
"""

import argparse
import os
import re
import ssl
import sys
import tempfile
import time
import traceback

import cases_close
import cases_fragmentation
import cases_framing
import cases_handshake
import cases_pings
import cases_reserved
import cases_utf8
from wsframes import Fail, Target

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "support"))
from wshub_process import WshubProcess, describe_status, make_tls_pair, wshub_path  # noqa: E402

GROUPS = [cases_handshake, cases_framing, cases_pings, cases_reserved,
          cases_fragmentation, cases_utf8, cases_close]
MAX_MESSAGE = 65536      # bytes; the --max-message the cases are written for
CRASH_GRACE_S = 0.3      # after a failed case, time for a crash to show


def new_server(path, flags=()):
    """The server the cases run against, on a free port."""
    return WshubProcess(path, ["--max-message", str(MAX_MESSAGE)] + list(flags))


def tls_setup(directory):
    """--tls: the server's flags and the clients' context (trusting the
    throwaway certificate, for the name localhost)."""
    cert, key = make_tls_pair(directory)
    ctx = ssl.create_default_context(cafile=cert)
    return ["--tls-cert", cert, "--tls-key", key], ctx


def parse_url(url):
    m = re.fullmatch(r"ws://([^/:]+):([0-9]+)(/.*)?", url)
    if not m:
        raise SystemExit("run.py: --url must look like ws://127.0.0.1:PORT/ws, got %r" % url)
    return m.group(1), int(m.group(2)), m.group(3) or "/"


def run_case(case, target, verbose):
    """Run one case; return None when it passed, else why it failed."""
    try:
        case.fn(target)
        return None
    except Fail as e:
        return str(e)
    except Exception as e:  # a bug in a case or an unexpected socket error
        if verbose:
            traceback.print_exc()
        return "%s: %s" % (type(e).__name__, e)
    finally:
        target.close_all()


def run_all(cases, target, server, verbose):
    """Run cases in order; returns {group: [passed, failed]} in group order.
    A server that dies is started again; if that fails, the cases left are
    counted as failed."""
    results = {}
    for i, case in enumerate(cases):
        counts = results.setdefault(case.group, [0, 0])
        t0 = time.monotonic()
        why = run_case(case, target, verbose)
        died = server and server.dead(CRASH_GRACE_S if why else 0)
        if died:
            why = "%s; the server %s during this case%s" % (
                why or "passed", died, server.tail())
        counts[why is not None] += 1
        if why is not None:
            print("FAIL %s [%s]: %s" % (case.id, case.rfc, why), flush=True)
        elif verbose:
            print("ok   %s (%.0f ms)" % (case.id, 1000 * (time.monotonic() - t0)), flush=True)
        if died:
            try:
                target.host, target.port = server.start()
            except RuntimeError as e:
                print("FAIL %d cases not run: %s" % (len(cases) - i - 1, e), flush=True)
                for rest in cases[i + 1:]:
                    results.setdefault(rest.group, [0, 0])[1] += 1
                break
    return results


def check_shutdown(server, results):
    """The server exits 0 on SIGTERM; counted as one case of group 'server'."""
    status = server.stop()
    counts = results.setdefault("server", [0, 0])
    if status == 0:
        counts[0] += 1
        return
    counts[1] += 1
    print("FAIL server/sigterm-exits-0: the server %s%s"
          % (describe_status(status), server.tail()), flush=True)


def print_table(results):
    print()
    print("%-16s %7s %7s" % ("group", "passed", "failed"))
    for group, (ok, bad) in results.items():
        print("%-16s %7d %7d" % (group, ok, bad))
    passed = sum(r[0] for r in results.values())
    failed = sum(r[1] for r in results.values())
    print("%-16s %7d %7d" % ("total", passed, failed))
    print("conformance: %d passed, %d failed" % (passed, failed))
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="test a running server instead of starting $WSHUB")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="seconds any one socket operation may take (default 5)")
    ap.add_argument("--only", action="append", default=[],
                    help="run only cases whose group/name contains TEXT (repeatable)")
    ap.add_argument("--tls", action="store_true",
                    help="serve with a throwaway certificate and run every case over TLS")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    args = ap.parse_args()

    cases = [c for g in GROUPS for c in g.CASES
             if not args.only or any(s in c.id for s in args.only)]
    if args.list:
        for c in cases:
            print("%-48s %-28s %s" % (c.id, c.rfc, " ".join(c.doc.split())))
        return 0

    server = None
    tmp = tempfile.TemporaryDirectory(prefix="wshub-conformance-") if args.tls else None
    flags, ctx = tls_setup(tmp.name) if tmp else ([], None)
    if args.url:
        host, port, path = parse_url(args.url)
    else:
        server = new_server(wshub_path(), flags)
        try:
            (host, port), path = server.start(), "/ws"
        except RuntimeError as e:
            print("conformance: %s" % e, file=sys.stderr)
            print("conformance: 0 passed, %d failed" % (len(cases) + 1))
            return 1
    target = Target(host, port, path, args.timeout, MAX_MESSAGE, ctx)
    try:
        results = run_all(cases, target, server, args.verbose)
    except BaseException:  # Ctrl-C: leave no server behind
        if server:
            server.kill()
        raise
    if server and not server.dead():
        check_shutdown(server, results)
    return 1 if print_table(results) else 0


if __name__ == "__main__":
    sys.exit(main())
