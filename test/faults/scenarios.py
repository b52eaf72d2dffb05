"""The fault scenarios.  Each is a function scenario(server) that returns a
short note (measurements) or raises Failure; SCENARIOS lists them with the
server flags each needs.  Each leaves no client of its own connected: the
runner's health check expects /stats to count none.

Every loop is bounded by a count and a deadline; every socket has a
timeout.  Traffic goes to the server on 127.0.0.1 only.

Over TLS (run.py --tls) connect() hands each scenario an SSLSocket, so the
same acts happen one layer up: the half frame is a record carrying half a
frame, the RST comes under the session, the stopped process's TLS session
stalls with it.  Where the act is about the bytes under TLS the scenario
adds it in TLS mode, on a raw socket: a ClientHello one byte a second and
a handshake left unfinished (slowloris), an RST mid-handshake and
mid-record (rst), the ClientHello as what waits at the descriptor limit
(fd-limit); tls_bad_input is the TLS port's own bad input.
"""

import os
import random
import select
import selectors
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

import client as wsclient
from client import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, WOULD_BLOCK,
                    Client, ClientError, TlsBio, connect, encode_frame, handshake,
                    parse_frame, raw_connect, read_101, request_head, reset)
from harness import Failure, RssSampler

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1024 * 1024


def tls_on():
    """True when run.py --tls made every client speak TLS."""
    return wsclient.TLS is not None


def close_all(clients):
    for c in clients:
        try:
            c.close(1000, timeout=3.0)
        except OSError:
            pass


def read_until_closed(sock, timeout):
    """Reads and parses what the server sends until it closes TCP.
    Returns (frames as (opcode, payload), how it ended)."""
    sock.settimeout(timeout)
    buf, frames = bytearray(), []
    deadline = time.monotonic() + timeout
    end = "timeout"
    while time.monotonic() < deadline:
        try:
            data = sock.recv(262144)
        except socket.timeout:
            break
        except ConnectionResetError:
            end = "reset"
            break
        except ssl.SSLError as e:  # an alert, a bad record
            end = "tls error: %s" % (e.reason or e)
            break
        if not data:
            end = "eof"
            break
        buf += data
        while True:
            try:
                f = parse_frame(buf)
            except ClientError:
                return frames, "bad frame"
            if f is None:
                break
            frames.append((f[1], f[2]))
            del buf[:f[3]]
    return frames, end


def close_codes(frames):
    return [struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 1005
            for op, p in frames if op == OP_CLOSE]


# ---------------------------------------------------------------- SIGSTOP

PONG_TIMEOUT_S = 1.0


def sigstop(server):
    """A client process stopped with SIGSTOP (half-open: its kernel still
    ACKs, nothing answers pings) is removed within the pong timeout; two
    chatting clients lose nothing meanwhile."""
    a = Client(server.addr, label="a")
    b = Client(server.addr, label="b")
    child = subprocess.Popen([sys.executable, "-B", os.path.join(HERE, "client.py"), "hold",
                              server.addr[0], str(server.addr[1]), "60"]
                             + ([wsclient.TLS_CAFILE] if tls_on() else []),
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 10.0)
        line = child.stdout.readline().decode() if ready else ""
        if not line.startswith("ready"):
            raise Failure("the child client did not connect (%r)" % line)
        child_port = int(line.split()[1])
        server.wait_stats(lambda s: s["clients"] == 3, 5.0, "3 clients")
        time.sleep(PONG_TIMEOUT_S + 0.5)
        if server.stats()["clients"] != 3:  # it must have answered pings
            raise Failure("a live client was dropped before any SIGSTOP")
        os.kill(child.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        dropped_after = None
        sent = 0
        while time.monotonic() - t0 < PONG_TIMEOUT_S + 4.0:
            a.send_text("a:%d" % sent)
            b.send_text("b:%d" % sent)
            sent += 1
            if dropped_after is None and server.stats()["clients"] == 2:
                dropped_after = time.monotonic() - t0
            if dropped_after is not None and time.monotonic() - t0 > dropped_after + 1.0:
                break
            time.sleep(0.1)
        if dropped_after is None:
            raise Failure("the stopped client was still connected after %.1fs"
                          % (time.monotonic() - t0))
        if dropped_after > PONG_TIMEOUT_S + 1.0:
            raise Failure("the stopped client was removed after %.2fs, pong timeout "
                          "is %gs" % (dropped_after, PONG_TIMEOUT_S))
        want = []
        for k in range(sent):
            want += ["a:%d" % k, "b:%d" % k]
        for c in (a, b):
            c.wait_messages(2 * sent, 5.0)
            got = c.texts()
            if sorted(got) != sorted(want) or c.eof:
                raise Failure("%s got %d of %d messages (eof: %s)"
                              % (c.label, len(got), len(want), c.eof))
            for who in "ab":
                mine = [t for t in got if t.startswith(who + ":")]
                if mine != ["%s:%d" % (who, k) for k in range(sent)]:
                    raise Failure("%s got %s's messages out of order" % (c.label, who))
        logged = server.count_lines(r"disconnect .*peer=127\.0\.0\.1:%d .*read timeout"
                                    % child_port, at_least=1)
        if logged != 1:
            raise Failure("no 'read timeout' disconnect logged for the stopped client")
    finally:
        os.kill(child.pid, signal.SIGCONT)
        child.kill()
        child.wait()
        close_all([a, b])
    return "removed %.2fs after SIGSTOP; %d messages each way arrived in order" % (
        dropped_after, sent)


# ------------------------------------------------------------- TCP resets

def rst_mid_frame(server, rounds=30):
    """RST in the middle of a frame (header says 1000 bytes, 10 came), in
    the middle of the HTTP request, right after the request (the 101
    unread), and while the server writes a stream of broadcasts to us.
    With TLS these come under the session, and two more under it: an RST
    after half a ClientHello, and after half the record of a frame."""
    before = server.stats()
    for _ in range(rounds):
        sock = connect(server.addr)
        handshake(sock, server.addr)
        frame = encode_frame(OP_BINARY, os.urandom(1000))
        sock.sendall(frame[:18])
        reset(sock)
        sock = connect(server.addr)
        head, _ = request_head(*server.addr)
        sock.sendall(head[:len(head) // 2])
        reset(sock)
        sock = connect(server.addr)
        sock.sendall(request_head(*server.addr)[0])
        reset(sock)
    tls_rounds = rounds if tls_on() else 0
    for _ in range(tls_rounds):
        sock = raw_connect(server.addr)
        hello = TlsBio(sock).hello()
        sock.sendall(hello[:len(hello) // 2])
        reset(sock)
        sock = raw_connect(server.addr)
        bio = TlsBio(sock)
        bio.upgrade(server.addr)
        record = bio.seal(encode_frame(OP_BINARY, os.urandom(1000)))
        sock.sendall(record[:len(record) // 2])
        reset(sock)
    # A victim that resets while the server writes to it.
    sender = Client(server.addr, rcvbuf=1 << 20, label="sender")
    victims = 0
    try:
        for _ in range(10):
            sock = connect(server.addr, rcvbuf=4096)
            handshake(sock, server.addr)
            server.wait_stats(lambda s: s["clients"] == 2, 5.0, "victim registered")
            n0 = len(sender.messages)
            for k in range(20):
                sender.send_frame(OP_BINARY, os.urandom(32 * 1024))
            sender.wait_messages(n0 + 5, 5.0)
            reset(sock)
            victims += 1
            if not sender.wait_messages(n0 + 20, 10.0):
                raise Failure("the sender got %d of its 20 broadcasts after a victim "
                              "reset" % (len(sender.messages) - n0))
            server.wait_stats(lambda s: s["clients"] == 1, 5.0, "victim removed")
    finally:
        close_all([sender])
    after = server.wait_stats(lambda s: s["clients"] == 0, 10.0, "every reset connection gone")
    upgraded = after["connections_total"] - before["connections_total"]
    # Upgraded: each mid-frame one (and mid-record), the sender, the
    # victims, and those reset right after the request if the server wrote
    # the 101 before the RST.
    least = rounds + tls_rounds + 1 + victims
    if not least <= upgraded <= least + rounds:
        raise Failure("connections_total grew by %d, expected %d to %d"
                      % (upgraded, least, least + rounds))
    note = "%d resets mid-frame, %d mid-request, %d after the request, %d while " \
           "receiving" % (rounds, rounds, rounds, victims)
    if tls_rounds:
        # Each half ClientHello fails its handshake; a reset that follows a
        # finished handshake closely may also find the client's Finished
        # unread (the kernel drops what a reset overtakes).
        failed = after["tls_handshake_failures"] - before["tls_handshake_failures"]
        if not tls_rounds <= failed <= tls_rounds + 2 * rounds:
            raise Failure("tls_handshake_failures grew by %d, expected %d to %d"
                          % (failed, tls_rounds, tls_rounds + 2 * rounds))
        note += "; %d mid-ClientHello, %d mid-record (tls_handshake_failures +%d)" % (
            tls_rounds, tls_rounds, failed)
    return note


# --------------------------------------------------------------- slowloris

SLOW_CONNS = 500
HANDSHAKE_TIMEOUT_S = 2.0


def fresh_round_trip(addr, results):
    """A new client: handshake and one message back; the seconds it took,
    appended to results (or the error)."""
    t0 = time.monotonic()
    try:
        c = Client(addr, timeout=5.0, label="fresh")
        c.send_text("fresh")
        ok = c.wait_messages(1, 5.0)
        results.append(time.monotonic() - t0 if ok else "no echo within 5s")
        c.close(1000, timeout=3.0)
    except (ClientError, OSError) as e:
        results.append("fresh client: %s" % e)


class SlowConn:
    """One slow connection: the chunks it sends, one a tick (a byte, a
    record), and when it was opened and closed."""

    def __init__(self, kind, sock, chunks, start):
        self.kind, self.sock, self.chunks, self.start = kind, sock, chunks, start
        self.next = 0          # index of the next chunk
        self.pending = b""     # what is left of a chunk a send cut short
        self.closed = None     # when the server closed it

    def tick(self):
        """Sends the next chunk (or the rest of the last one)."""
        if not self.pending and self.next < len(self.chunks):
            self.pending = self.chunks[self.next]
            self.next += 1
        try:
            self.pending = self.pending[self.sock.send(self.pending):]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass  # closed: the read side will see it


def open_slow(addr, kind, head):
    """A slow connection of one kind.  plain: the request a byte a tick.
    With TLS: tls-hello, the ClientHello a byte a tick; tls-stalled, the
    ClientHello whole, then nothing (the handshake never finishes);
    tls-request, the TLS handshake done, then the request a byte a tick,
    each byte its own record."""
    start = time.monotonic()
    if kind == "tls-request":
        sock = raw_connect(addr)
        bio = TlsBio(sock)
        bio.handshake()
        chunks = [bio.seal(head[i:i + 1]) for i in range(len(head))]
        sock.setblocking(False)
        return SlowConn(kind, sock, chunks, start)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if kind == "plain":
        chunks = [head[i:i + 1] for i in range(len(head))]
    else:
        hello = TlsBio(sock).hello()
        chunks = [hello[i:i + 1] for i in range(len(hello))] if kind == "tls-hello" \
            else [hello]
    sock.setblocking(False)
    sock.connect_ex(addr)
    return SlowConn(kind, sock, chunks, start)


def slow_kinds():
    """The kind of each of the SLOW_CONNS connections: all plain, or with
    TLS a third of each TLS kind (tls-request first: their handshakes are
    made before the loop starts)."""
    if not tls_on():
        return ["plain"] * SLOW_CONNS
    third = SLOW_CONNS // 3
    return ["tls-request"] * (SLOW_CONNS - 2 * third) + ["tls-hello"] * third \
        + ["tls-stalled"] * third


def slowloris(server):
    """SLOW_CONNS connections sending their request one byte a second, in
    one select loop; meanwhile fresh clients get a prompt handshake and
    round trip, and the slow ones are closed at the handshake timeout.
    With TLS a third stop inside the TLS handshake instead (a ClientHello a
    byte a second, or a handshake never finished): the same timeout
    closes them, and /stats counts them in tls_handshake_failures."""
    sel = selectors.DefaultSelector()
    head = request_head(*server.addr)[0]
    failures0 = server.stats().get("tls_handshake_failures", 0)
    conns = []
    try:
        for kind in slow_kinds():
            c = open_slow(server.addr, kind, head)
            conns.append(c)
            sel.register(c.sock, selectors.EVENT_READ, c)
        probes, threads = [], []
        t0 = time.monotonic()
        next_tick, next_probe = t0, t0 + 0.5
        answered = 0
        deadline = t0 + HANDSHAKE_TIMEOUT_S + 6.0
        while time.monotonic() < deadline and any(c.closed is None for c in conns):
            now = time.monotonic()
            if now >= next_tick:  # one more chunk from every open one
                for c in conns:
                    if c.closed is None:
                        c.tick()
                next_tick += 1.0
            if now >= next_probe and len(threads) < 3:
                th = threading.Thread(target=fresh_round_trip, args=(server.addr, probes))
                th.start()
                threads.append(th)
                next_probe += 0.5
            for key, _ in sel.select(max(0.0, min(next_tick, next_probe) - time.monotonic())):
                c = key.data
                try:
                    data = c.sock.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:  # with TLS: the server's flight, a session ticket
                    answered += c.kind == "plain"
                    continue
                c.closed = time.monotonic()
                sel.unregister(c.sock)
        for th in threads:
            th.join(10.0)
    finally:
        sel.close()
        for c in conns:
            c.sock.close()
    still = sum(1 for c in conns if c.closed is None)
    if still:
        raise Failure("%d of %d slow connections still open %.0fs after connecting"
                      % (still, SLOW_CONNS, HANDSHAKE_TIMEOUT_S + 6.0))
    lifetimes = [c.closed - c.start for c in conns]
    early = [c for c in conns if c.closed - c.start < HANDSHAKE_TIMEOUT_S - 0.2]
    if early:
        raise Failure("%d slow connections closed before the handshake timeout "
                      "(first after %.2fs, a %s one)" % (
                          len(early), min(c.closed - c.start for c in early),
                          early[0].kind))
    if max(lifetimes) > HANDSHAKE_TIMEOUT_S + 2.0:
        raise Failure("slow connections closed up to %.2fs after connecting, the "
                      "handshake timeout is %gs" % (max(lifetimes), HANDSHAKE_TIMEOUT_S))
    errors = [p for p in probes if isinstance(p, str)]
    if errors or len(probes) != 3:
        raise Failure("fresh clients during the slowloris: %s" % (errors or probes))
    # A front door that waited on a slow request would hold a fresh client
    # for a whole handshake timeout; anything shorter shows it did not.  (A
    # tighter figure would measure this machine's load, not the design.)
    if max(probes) >= HANDSHAKE_TIMEOUT_S:
        raise Failure("a fresh handshake and round trip took %.3fs during the "
                      "slowloris, as long as the handshake timeout (%gs): the "
                      "front door waited on a slow request" % (max(probes), HANDSHAKE_TIMEOUT_S))
    in_request = sum(1 for c in conns if c.kind in ("plain", "tls-request"))
    in_tls = len(conns) - in_request
    logged = server.count_lines(r"(?<!TLS )handshake timeout", at_least=in_request)
    if logged < in_request:
        raise Failure("the server logged %d handshake timeouts, expected %d"
                      % (logged, in_request))
    note = ""
    if in_tls:
        logged = server.count_lines(r"TLS handshake timeout", at_least=in_tls)
        failures = server.stats()["tls_handshake_failures"] - failures0
        if logged != in_tls or failures != in_tls:
            raise Failure("%d connections stopped inside the TLS handshake: the server "
                          "logged %d TLS handshake timeouts, tls_handshake_failures grew "
                          "by %d" % (in_tls, logged, failures))
        note = " (%d with the TLS handshake done, %d a ClientHello a byte a second, " \
               "%d the handshake unfinished: tls_handshake_failures +%d)" % (
                   in_request, sum(c.kind == "tls-hello" for c in conns),
                   sum(c.kind == "tls-stalled" for c in conns), failures)
    return ("%d slow connections%s closed %.2f-%.2fs after connecting; fresh handshake "
            "+ round trip meanwhile: %s ms%s" % (
                SLOW_CONNS, note, min(lifetimes), max(lifetimes),
                "/".join("%.1f" % (1000 * p) for p in probes),
                "; %d got a response first" % answered if answered else ""))


# ------------------------------------------------------------------- churn

CHURN_CYCLES = 5000
CHURN_THREADS = 8


def churn_cycle(addr, mode):
    """One connect / handshake / close.  Modes: 0 polite close, 1 polite
    close after a message, 2 FIN without a close frame, 3 RST, 4 RST right
    after the request (before reading the 101)."""
    sock = connect(addr, timeout=10.0)
    try:
        if mode == 4:
            sock.sendall(request_head(*addr)[0])
            reset(sock)
            return
        early = handshake(sock, addr, timeout=10.0)
        if mode == 2:
            sock.close()
            return
        if mode == 3:
            reset(sock)
            return
        if mode == 1:
            sock.sendall(encode_frame(OP_TEXT, b"churn"))
        sock.sendall(encode_frame(OP_CLOSE, struct.pack("!H", 1000)))
        frames, end = read_until_closed_from(sock, early, 10.0)
        if 1000 not in close_codes(frames) or end != "eof":
            raise ClientError("polite close: got %s then %s"
                              % (close_codes(frames), end))
    finally:
        sock.close()


def read_until_closed_from(sock, early, timeout):
    """read_until_closed, with bytes already received before."""
    frames = []
    buf = bytearray(early)
    while True:
        f = parse_frame(buf)
        if f is None:
            break
        frames.append((f[1], f[2]))
        del buf[:f[3]]
    more, end = read_until_closed(sock, timeout)
    return frames + more, end


def churn(server):
    """CHURN_CYCLES connect/handshake/close cycles from CHURN_THREADS
    threads, mixing polite and abrupt closes."""
    before = server.stats()
    errors = []
    counter = iter(range(CHURN_CYCLES))
    lock = threading.Lock()
    t0 = time.monotonic()
    deadline = t0 + 120.0

    def worker():
        while time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            try:
                churn_cycle(server.addr, i % 5)
            except (ClientError, OSError) as e:
                with lock:
                    errors.append("cycle %d (mode %d): %s" % (i, i % 5, e))

    threads = [threading.Thread(target=worker) for _ in range(CHURN_THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - t0
    left = next(counter, None)
    if left is not None:
        raise Failure("only %d cycles within %.0fs" % (left, elapsed))
    if errors:
        raise Failure("%d cycles failed, first: %s" % (len(errors), errors[0]))
    after = server.wait_stats(lambda s: s["clients"] == 0, 15.0, "every churned client gone")
    upgraded = after["connections_total"] - before["connections_total"]
    if not CHURN_CYCLES * 4 // 5 <= upgraded <= CHURN_CYCLES:
        raise Failure("connections_total grew by %d for %d cycles" % (upgraded, CHURN_CYCLES))
    return "%d cycles in %.1fs (%.0f/s), %d upgraded" % (
        CHURN_CYCLES, elapsed, CHURN_CYCLES / elapsed, upgraded)


# ------------------------------------------------------------------- flood

FLOOD_SEQ = 400
FLOOD_SIZE = 4096


def slow_flood(server):
    """A client that floods and never reads (small SO_RCVBUF) is dropped as
    slow; a reader and a sender that read everything lose nothing: every
    message of the sender in order, the flooder's without a gap."""
    drops0 = server.stats()["slow_client_drops"]
    reader = Client(server.addr, rcvbuf=4 * MIB, label="reader")
    sender = Client(server.addr, rcvbuf=4 * MIB, label="sender")
    flooder = connect(server.addr, rcvbuf=4096)
    handshake(flooder, server.addr)
    stop = threading.Event()
    flooded = [0]

    def flood():
        """4 KiB messages, about one a millisecond, until told to stop or
        the server refuses more; never reads."""
        flooder.setblocking(False)
        pad = b"." * (FLOOD_SIZE - 16)
        pending = b""
        end = time.monotonic() + 15.0
        while not stop.is_set() and time.monotonic() < end:
            if not pending:
                pending = encode_frame(OP_BINARY, b"flood:%09d:" % flooded[0] + pad)
                flooded[0] += 1
            try:
                n = flooder.send(pending)  # TLS: all of it, or WOULD_BLOCK
                pending = pending[n:]
            except WOULD_BLOCK:  # TLS: the retry passes the same bytes
                select.select([], [flooder], [], 0.05)
            except OSError:
                return
            time.sleep(0.001)

    def send_seq():
        for k in range(FLOOD_SEQ):
            if stop.is_set() and k == 0:
                return
            sender.send_text("seq:%d" % k)
            time.sleep(0.005)

    th_flood = threading.Thread(target=flood)
    th_seq = threading.Thread(target=send_seq)
    t0 = time.monotonic()
    th_flood.start()
    th_seq.start()
    dropped_after = None
    try:
        while time.monotonic() - t0 < 15.0:
            if server.stats()["slow_client_drops"] > drops0:
                dropped_after = time.monotonic() - t0
                break
            time.sleep(0.05)
        th_seq.join(30.0)
        stop.set()
        th_flood.join(30.0)
        if dropped_after is None:
            raise Failure("the flooder was not dropped within 15s (%d messages sent)"
                          % flooded[0])
        for c in (reader, sender):
            want = ["seq:%d" % k for k in range(FLOOD_SEQ)]
            c.wait_for(lambda x: x.texts()[-1:] == [want[-1]] or x.eof, 15.0)
            got = c.texts()
            if got != want or c.eof:
                raise Failure("%s got %d of %d sequenced messages%s (eof: %s)"
                              % (c.label, len(got), len(want),
                                 "" if len(got) != len(want) else " out of order", c.eof))
            flood = [int(p[6:15]) for op, p in c.messages if op == OP_BINARY]
            if flood != list(range(len(flood))):
                raise Failure("%s: the flooder's messages have a gap or are out of "
                              "order" % c.label)
        st = server.stats()
        if st["slow_client_drops"] - drops0 != 1:
            raise Failure("slow_client_drops grew by %d, expected 1"
                          % (st["slow_client_drops"] - drops0))
        frames, end = read_until_closed(flooder, 5.0)
        codes = close_codes(frames)
    finally:
        stop.set()
        reset(flooder)
        close_all([reader, sender])
    return ("flooder dropped after %.2fs (%d sent, it got %s then %s); the reader got "
            "all %d in order plus %d flood messages without a gap" % (
                dropped_after, flooded[0], "close %s" % codes if codes else "no close",
                end, FLOOD_SEQ, len(flood)))


# -------------------------------------------------------------- ping flood

PINGS = 100000
RSS_LIMIT_MIB = 64
ASAN_QUARANTINE_MIB = 256  # AddressSanitizer's default quarantine_size_mb


def rss_limit_mib(server):
    """RSS_LIMIT_MIB, plus AddressSanitizer's quarantine when the server is
    an ASan build speaking TLS.  GnuTLS allocates a buffer for each record
    it sends or receives (100000 pings in, their pongs out); ASan keeps
    every freed block in its quarantine, up to quarantine_size_mb, before
    reusing it, so the RSS of an ASan server over TLS grows by up to that
    much whatever the server does (measured: 89 MiB at the default, 4 MiB
    with quarantine_size_mb=0).  A plain server allocates nothing per
    ping, so its limit stays."""
    if not (tls_on() and server.sanitized()):
        return RSS_LIMIT_MIB
    opts = dict(kv.split("=", 1) for kv in os.environ.get("ASAN_OPTIONS", "").split(":")
                if "=" in kv)
    return RSS_LIMIT_MIB + int(opts.get("quarantine_size_mb", ASAN_QUARANTINE_MIB))


PING_PAYLOAD = 125  # the most a control frame holds


def ping_flood(server):
    """PINGS pings of PING_PAYLOAD bytes without reading a pong: 12 MiB of
    pongs cannot all fit in the socket buffers, so the server's replies
    back up; memory stays bounded, the server closes the connection and
    carries on.  (Empty pings would not do: 200 KB of pongs fit in the
    buffers, and a server that keeps up owes nobody a close.)"""
    sock = connect(server.addr, rcvbuf=4096)
    early = handshake(sock, server.addr)
    frames = [encode_frame(OP_PING, os.urandom(PING_PAYLOAD)) for _ in range(64)]
    data = b"".join(frames) * (PINGS // len(frames)) + b"".join(frames[:PINGS % len(frames)])
    frame_len = len(frames[0])
    sent = 0
    end = "sent all"
    with RssSampler(server) as rss:
        t0 = time.monotonic()
        sock.setblocking(False)
        while sent < len(data) and time.monotonic() - t0 < 20.0:
            try:
                sent += sock.send(data[sent:sent + 262144])
            except WOULD_BLOCK:
                select.select([], [sock], [], 0.1)
            except OSError as e:  # a broken pipe, a reset, TLS's own words
                end = "the server closed (%s)" % type(e).__name__
                break
        sock.setblocking(True)
        # Still not reading: the server must close on its own.
        try:
            server.wait_stats(lambda s: s["clients"] == 0, 15.0,
                              "the server closes the ping flooder")
            server.wait_baseline()
        finally:
            closed_after = time.monotonic() - t0
            frames, how = read_until_closed_from(sock, early, 5.0)
            reset(sock)
    pongs = sum(1 for op, _ in frames if op == 0xA)
    if how not in ("eof", "reset"):
        raise Failure("the connection was not closed after the flood (%s)" % how)
    if rss.growth_mib > rss_limit_mib(server):
        raise Failure("RSS grew by %.1f MiB during the ping flood (limit %d)"
                      % (rss.growth_mib, rss_limit_mib(server)))
    return ("%d of %d pings sent (%s); closed by the server after %.2fs (we read %d "
            "pongs, close %s, then %s); peak RSS growth %.1f MiB (limit %d)" % (
                sent // frame_len, PINGS, end, closed_after, pongs,
                close_codes(frames) or "none", how, rss.growth_mib, rss_limit_mib(server)))


# -------------------------------------------------------- absurd lengths

def long_header(opcode, length, fin=True):
    """A masked frame header declaring a 64-bit length."""
    b0 = (0x80 if fin else 0) | opcode
    return struct.pack("!BBQ", b0, 0x80 | 127, length) + os.urandom(4)


HUGE_CASES = [
    ("binary, length 2^63-1", long_header(OP_BINARY, (1 << 63) - 1) + b"abcdefgh", 1009),
    ("text, length 2^63-1", long_header(OP_TEXT, (1 << 63) - 1) + b"abcdefgh", 1009),
    ("continuation of 100 bytes, then 2^63-1",
     encode_frame(OP_BINARY, b"x" * 100, fin=False) + long_header(OP_CONT, (1 << 63) - 1)
     + b"abcd", 1009),
    ("binary, length 65537 (max-message + 1)", long_header(OP_BINARY, 65537) + b"abcd", 1009),
    ("binary, length 2^64-1 (MSB set)", long_header(OP_BINARY, (1 << 64) - 1) + b"abcd", 1002),
    ("binary, length 2^63 (MSB set)", long_header(OP_BINARY, 1 << 63) + b"abcd", 1002),
    ("ping, length 2^63-1", long_header(OP_PING, (1 << 63) - 1) + b"abcd", 1002),
]


def huge_lengths(server):
    """Frame headers declaring absurd lengths: 2^63-1 is too big (1009),
    a length with the MSB set is a protocol error (1002); nothing large is
    allocated."""
    before = server.stats()["protocol_errors"]
    seen = []
    with RssSampler(server) as rss:
        for name, data, code in HUGE_CASES:
            sock = connect(server.addr)
            early = handshake(sock, server.addr)
            sock.sendall(data)
            frames, end = read_until_closed_from(sock, early, 5.0)
            sock.close()
            codes = close_codes(frames)
            if codes != [code] or end not in ("eof", "reset"):
                raise Failure("%s: expected close %d then TCP close, got %s then %s"
                              % (name, code, codes or "no close", end))
            seen.append(code)
        server.wait_stats(lambda s: s["clients"] == 0, 5.0, "all closed")
    errors = server.stats()["protocol_errors"] - before
    if errors != len(HUGE_CASES):
        raise Failure("protocol_errors grew by %d, expected %d" % (errors, len(HUGE_CASES)))
    if rss.growth_mib > rss_limit_mib(server):
        raise Failure("RSS grew by %.1f MiB (limit %d)" % (rss.growth_mib,
                                                         rss_limit_mib(server)))
    return "%d headers answered %s; peak RSS growth %.1f MiB" % (
        len(seen), "/".join(str(c) for c in seen), rss.growth_mib)


# ------------------------------------------------------------- garbage

GARBAGE_BYTES = 10 * MIB


def garbage(server):
    """10 MiB of random bytes after a valid handshake, three ways (pure
    noise twice, noise as the payload of a 60000-byte text frame once,
    which is invalid UTF-8): the server closes the connection (1002, 1007,
    1009 or just TCP) and carries on."""
    notes = []
    text_head = struct.pack("!BBH", 0x81, 0x80 | 126, 60000) + os.urandom(4)
    variants = [("noise", None), ("noise", None), ("text frame of noise", text_head)]
    for name, prefix in variants:
        rng = random.Random(len(notes))
        payload = (prefix or b"") + rng.randbytes(GARBAGE_BYTES)
        sock = connect(server.addr)
        early = handshake(sock, server.addr)
        sock.setblocking(False)
        sent, t0 = 0, time.monotonic()
        stopped = "all sent"
        while sent < len(payload) and time.monotonic() - t0 < 20.0:
            try:
                sent += sock.send(payload[sent:sent + 262144])
            except WOULD_BLOCK:
                if not select.select([], [sock], [], 2.0)[1]:
                    # An orphaned socket the server closed may keep a zero
                    # window instead of resetting: the kernel, not wshub.
                    stopped = "no progress for 2s (server descriptor %s)" % (
                        "closed" if server.fds() <= server.base_fds else "still open")
                    break
            except OSError as e:  # a broken pipe, a reset, TLS's own words
                stopped = "the server closed (%s)" % type(e).__name__
                break
        sock.setblocking(True)
        frames, end = read_until_closed_from(sock, early, 10.0)
        sock.close()
        codes = close_codes(frames)
        data = [op for op, _ in frames if op in (OP_TEXT, OP_BINARY)]
        if end not in ("eof", "reset") or not set(codes) <= {1002, 1007, 1009}:
            raise Failure("%s: got close %s then %s" % (name, codes, end))
        if not server.alive():
            raise Failure("%s: the server died" % name)
        notes.append("%s: %.1f MiB sent, %s, close %s%s" % (
            name, sent / MIB, stopped, codes[0] if codes else "none (TCP only)",
            ", %d messages echoed first" % len(data) if data else ""))
        server.wait_stats(lambda s: s["clients"] == 0, 10.0, "the garbage connection gone")
    return "; ".join(notes)


# ------------------------------------------------------ descriptor limit

NOFILE = 64


def wait_unserved(addr):
    """A connection that asks and waits: the upgrade request sent (key
    returned), or with TLS the ClientHello sent (key None)."""
    if not tls_on():
        sock = raw_connect(addr)
        head, key = request_head(*addr)
        sock.sendall(head)
        return sock, key
    sock = wsclient.TLS.wrap_socket(raw_connect(addr), server_hostname=wsclient.TLS_NAME,
                                    do_handshake_on_connect=False)
    sock.setblocking(False)
    try:
        sock.do_handshake()
    except ssl.SSLWantReadError:
        pass  # the ClientHello is out; the answer is what must not come
    return sock, None


def finish_unserved(addr, sock, key, timeout=10.0):
    """Once served: with TLS the rest of the handshake and the upgrade
    request; returns (socket, key) for read_101."""
    if key is not None:
        return sock, key
    sock.settimeout(timeout)
    try:
        sock.do_handshake()
    except (OSError, ssl.SSLError) as e:
        raise ClientError("TLS handshake: %s" % e)
    head, key = request_head(*addr)
    sock.sendall(head)
    return sock, key


def fd_limit(server):
    """With RLIMIT_NOFILE 64, connections beyond the limit wait unserved
    while the existing clients keep chatting; once some leave, the waiting
    ones and new ones are served."""
    clients, waiting = [], []  # waiting: (sock, key), request sent
    try:
        # Clients join while the server has a descriptor number left below
        # the limit (its /proc table, not a timer): each gets its 101.
        while server.fd_free_below(NOFILE):
            if len(clients) >= 2 * NOFILE:
                raise Failure("%d connections were all served under a %d-descriptor "
                              "limit" % (len(clients), NOFILE))
            sock = connect(server.addr)
            head, key = request_head(*server.addr)
            sock.sendall(head)
            try:
                early = read_101(sock, key, timeout=10.0)
            except ClientError as e:
                raise Failure("client %d got no 101 while the server had a descriptor "
                              "left: %s" % (len(clients), e))
            clients.append(Client(server.addr, label="c%d" % len(clients),
                                  sock=sock, early=early))
        served, fds = len(clients), server.fds()
        # Every descriptor in use: accept(2) fails, so these wait (with
        # TLS, their ClientHello waits: the request comes after the answer).
        for _ in range(3):
            waiting.append(wait_unserved(server.addr))
        ready, _, _ = select.select([s for s, _ in waiting], [], [], 1.0)
        if ready:
            raise Failure("a connection beyond the limit got an answer (%d served, "
                          "%d descriptors)" % (served, fds))
        texts = ["at the limit, from %s" % clients[i].label for i in (0, -1)]
        clients[0].send_text(texts[0])
        clients[-1].send_text(texts[1])
        for c in clients:  # two senders: either order, but both, once
            if not c.wait_messages(2, 10.0) or sorted(c.texts()) != sorted(texts):
                raise Failure("at the limit, %s received %r" % (c.label, c.texts()))
        if not server.alive():
            raise Failure("the server died at the descriptor limit")
        leaving, clients = clients[:10], clients[10:]
        close_all(leaving)
        t0 = time.monotonic()
        for sock, key in waiting:
            try:
                sock, key = finish_unserved(server.addr, sock, key)
                early = read_101(sock, key, timeout=10.0)
            except ClientError as e:
                raise Failure("a waiting connection was not served after 10 clients "
                              "left: %s" % e)
            clients.append(Client(server.addr, label="late%d" % len(clients),
                                  sock=sock, early=early))
        waiting = []
        resumed_after = time.monotonic() - t0
        fresh = Client(server.addr, label="fresh")
        clients.append(fresh)
        fresh.send_text("after the limit")
        for c in clients:
            if not c.wait_for(lambda x: "after the limit" in x.texts() or x.eof, 10.0) \
                    or c.eof:
                raise Failure("after the limit, %s received %r (eof: %s)"
                              % (c.label, c.texts()[-3:], c.eof))
        # Reported, not judged: the log is meant to say each once.
        paused = server.count_lines(r"pausing new connections")
        resumed = server.count_lines(r"accepting connections again")
    finally:
        for s, _ in waiting:
            s.close()
        close_all(clients)
    return ("%d clients served with %d descriptors open; 3 more waited unanswered while "
            "they chatted; served %.2fs after 10 left, then a fresh one chatted with all "
            "%d (log: 'pausing' %d times, 'accepting again' %d times)" % (
                served, fds, resumed_after, len(clients), paused, resumed))


# ------------------------------------------------------ TLS bad input

TLS_COUNTERS = ("tls_handshake_failures", "tls_errors", "tls_truncations")
BAD_TLS_CLOSE_S = 3.0  # a bad input is closed at once: no timeout runs


def drain_raw(sock, timeout):
    """Reads raw bytes until the server closes; (bytes, "eof"/"reset"),
    or Failure if it keeps the connection past timeout."""
    sock.settimeout(timeout)
    got, deadline = b"", time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure("still open %gs later" % timeout)
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return got, "reset"
        if not data:
            return got, "eof"
        got += data


def send_some(sock, data):
    """Sends what the server takes before it closes."""
    try:
        sock.sendall(data)
    except OSError:
        pass


def upgraded(server):
    """A raw socket with TLS and the WebSocket upgrade done through a
    TlsBio, and the session."""
    sock = raw_connect(server.addr)
    bio = TlsBio(sock)
    bio.upgrade(server.addr)
    return sock, bio


def act_noise(server):
    sock = raw_connect(server.addr)
    send_some(sock, bytes([random.randrange(0x00, 0x14)]) + os.urandom(65535))
    return sock


def act_fake_hello(server):
    """A ClientHello of the right size and noise for a body (a noisy
    length would make GnuTLS wait for the rest, as it should, until the
    handshake timeout)."""
    sock = raw_connect(server.addr)
    send_some(sock, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc" + os.urandom(508))
    return sock


def act_plain_http(server):
    sock = raw_connect(server.addr)
    sock.sendall(b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return sock


def act_noise_before_request(server):
    sock = raw_connect(server.addr)
    TlsBio(sock).handshake()
    send_some(sock, b"\x17\x03\x03\x01\x00" + os.urandom(256))
    return sock


def act_noise_record(server):
    sock, _ = upgraded(server)
    send_some(sock, b"\x17\x03\x03\x00\x64" + os.urandom(100))
    return sock


def act_oversize_record(server):
    sock, _ = upgraded(server)  # 2^14 + 256 is TLS 1.3's largest ciphertext
    send_some(sock, b"\x17\x03\x03" + struct.pack("!H", 18000) + os.urandom(18000))
    return sock


def act_truncated_fin(server):
    sock, bio = upgraded(server)
    record = bio.seal(encode_frame(OP_TEXT, b"cut short"))
    sock.sendall(record[:len(record) // 2])
    sock.shutdown(socket.SHUT_WR)
    return sock


def act_truncated_silent(server):
    sock, bio = upgraded(server)
    record = bio.seal(encode_frame(OP_TEXT, b"cut short"))
    sock.sendall(record[:len(record) // 2])
    return sock


def act_fin_no_notify(server):
    sock, _ = upgraded(server)
    sock.shutdown(socket.SHUT_WR)
    return sock


def act_notify_then_fin(server):
    sock, bio = upgraded(server)
    try:
        bio.obj.unwrap()
    except ssl.SSLWantReadError:
        pass  # our close_notify is out; the server's comes later
    sock.sendall(bio._out.read())
    sock.shutdown(socket.SHUT_WR)
    return sock


# (what, act, the counter that must grow by one (None: none may), seconds
# the server may take to close, what the response must start with)
TLS_BAD_INPUTS = [
    ("64 KiB of noise instead of a ClientHello", act_noise,
     "tls_handshake_failures", BAD_TLS_CLOSE_S, b""),
    ("a handshake record of noise", act_fake_hello,
     "tls_handshake_failures", BAD_TLS_CLOSE_S, b""),
    ("a plain HTTP request", act_plain_http,
     "tls_handshake_failures", BAD_TLS_CLOSE_S, b"HTTP/1.1 400"),
    ("a record of noise after the handshake, before the request",
     act_noise_before_request, "tls_errors", BAD_TLS_CLOSE_S, b""),
    ("a record of noise after the upgrade", act_noise_record,
     "tls_errors", BAD_TLS_CLOSE_S, b""),
    ("a record of 18000 bytes after the upgrade", act_oversize_record,
     "tls_errors", BAD_TLS_CLOSE_S, b""),
    ("half a record, then FIN", act_truncated_fin,
     "tls_errors", BAD_TLS_CLOSE_S, b""),
    ("half a record, then silence (closed at the pong timeout)",
     act_truncated_silent, None, PONG_TIMEOUT_S + 2.0, b""),
    ("FIN without close_notify after the upgrade", act_fin_no_notify,
     "tls_truncations", BAD_TLS_CLOSE_S, b""),
    ("close_notify, then FIN, no close frame", act_notify_then_fin,
     None, BAD_TLS_CLOSE_S, b""),
]


def tls_bad_input(server):
    """Bad input on the TLS port, each on its own connection: noise or
    plain HTTP where the ClientHello belongs, noise in place of a record,
    a record over the size limit, half a record then FIN or silence, a
    FIN without close_notify.  Each is closed within its bound and counted
    once, in the one counter it belongs to (a clean close_notify in none),
    and the server goes on."""
    notes = []
    for what, act, counter, bound, answer in TLS_BAD_INPUTS:
        before = server.stats()
        t0 = time.monotonic()
        sock = act(server)
        try:
            got, end = drain_raw(sock, bound)
        except Failure as e:
            raise Failure("%s: %s" % (what, e))
        finally:
            sock.close()
        took = time.monotonic() - t0
        if not got.startswith(answer):
            raise Failure("%s: the server answered %r" % (what, got[:40]))
        after = server.wait_stats(
            lambda s: s["clients"] == 0 and (counter is None or s[counter] > before[counter]),
            5.0, "%s: counted in %s" % (what, counter or "nothing"))
        grew = {k: after[k] - before[k] for k in TLS_COUNTERS if after[k] != before[k]}
        if grew != ({counter: 1} if counter else {}):
            raise Failure("%s: the TLS counters grew by %s, expected %s"
                          % (what, grew or "nothing", "%s +1" % counter if counter
                             else "nothing"))
        notes.append("%s: %s after %.2fs%s" % (what, end, took,
                                              ", %s +1" % counter if counter else ""))
    return "; ".join(notes)


# The order they run in, and the server flags each needs.
SCENARIOS = [
    ("sigstop", "SIGSTOPped client removed at the pong timeout", sigstop,
     ["--pong-timeout", "1", "--ping-interval", "0.3"], None),
    ("rst", "TCP resets mid-frame, mid-request, mid-stream", rst_mid_frame, [], None),
    ("slowloris", "%d one-byte-a-second requests" % SLOW_CONNS, slowloris,
     ["--handshake-timeout", "2"], None),
    ("churn", "%d connect/handshake/close cycles" % CHURN_CYCLES, churn, [], None),
    ("flood", "a flooder that never reads is dropped, nobody loses", slow_flood,
     ["--send-queue", "16", "--write-timeout", "2"], None),
    ("ping-flood", "%d pings of %d bytes without reading" % (PINGS, PING_PAYLOAD), ping_flood,
     ["--write-timeout", "2"], None),
    ("huge-length", "frame lengths 2^63-1 and 2^64-1", huge_lengths, [], None),
    ("garbage", "10 MiB of random bytes after the handshake", garbage, [], None),
    ("fd-limit", "RLIMIT_NOFILE %d" % NOFILE, fd_limit, [], NOFILE),
    ("tls-bad-input", "noise, plain HTTP, bad, oversize and truncated records on "
     "the TLS port", tls_bad_input, ["--pong-timeout", "1", "--ping-interval", "0.3"],
     None),
]

# Scenarios about the TLS port itself: nothing to do on a plain server.
TLS_ONLY = {"tls-bad-input"}
# Scenarios that mean nothing over TLS, with the reason: none so far; each
# act above has its TLS form.
NOT_OVER_TLS = {}


def skip_reason(name, tls):
    """Why the scenario does not run in this mode (printed), or None."""
    if not tls and name in TLS_ONLY:
        return "about the TLS port itself; runs with --tls"
    if tls:
        return NOT_OVER_TLS.get(name)
    return None
