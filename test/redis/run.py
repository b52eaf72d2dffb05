#!/usr/bin/python3
"""Two wshub processes joined through a real redis-server, measured by the
bundled load client: wshub-load spreads its connections over both hubs,
and every message must reach every connection of its room on both, once.
Then the process-level edges (issue 17): the Redis password from a file
or the environment authenticates, and is never printed nor in the
command line; SIGTERM with Redis stopped (SIGSTOP) ends within
--shutdown-timeout plus one second.

Usage: WSHUB=build/wshub WSHUB_LOAD=build/wshub-load /usr/bin/python3 test/redis/run.py
Output: ok/FAIL lines, then "redis: N passed, M failed".  Every wait polls
observable state (Redis's PUBSUB NUMSUB, /stats) with a bound; nothing
sleeps to synchronise.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from wshub_process import WshubProcess, describe_status  # noqa: E402

WAIT_S = 10.0
ROOMS = ("r0", "r1")
TUNABLES = "glibc.rtld.nns=1:glibc.rtld.optional_static_tls=0"  # README
UPGRADE = (b"GET /ws/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp(port, *args, password=None):
    """One Redis command over a raw socket (RESP), after AUTH if a password
    is given; the reply's raw bytes."""
    def command(*words):
        return b"*%d\r\n" % len(words) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in words))
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as s:
        if password is not None:
            s.sendall(command("AUTH", password))
            if not s.recv(4096).startswith(b"+OK"):
                raise AssertionError("AUTH refused")
        s.sendall(command(*args))
        return s.recv(4096)


def start_redis(port, *flags):
    return subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"] + list(flags),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def numsub(port, channel):
    reply = resp(port, "PUBSUB", "NUMSUB", channel)  # *2 $n channel :N
    return int(reply.rsplit(b":", 1)[1].split(b"\r\n")[0])


def until(what, fn):
    deadline = time.monotonic() + WAIT_S
    while not fn():
        if time.monotonic() > deadline:
            raise AssertionError("never saw: " + what)
        time.sleep(0.02)


def stats(addr):
    with urllib.request.urlopen("http://%s:%d/stats" % addr, timeout=WAIT_S) as r:
        return json.load(r)


def main():
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)), flush=True)
        passed, failed = passed + bool(ok), failed + (not ok)

    two_hubs(check)
    password_kept_out_of_sight(check)
    shutdown_bounded_with_redis_stopped(check)
    mistakes_at_start_exit_2(check)
    an_outage_is_two_lines_and_two_fields(check)
    print("redis: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


def two_hubs(check):
    port = free_port()
    redis = start_redis(port)
    url = "redis://127.0.0.1:%d" % port
    # Hub 1 runs with README's "Memory per connection" setting: the whole
    # scenario must hold with glibc's spare static TLS turned off.
    hubs = [WshubProcess(os.environ.get("WSHUB", "build/wshub"), ["--redis", url],
                         prefix=[] if i == 0 else ["env", "GLIBC_TUNABLES=" + TUNABLES])
            for i in range(2)]
    probes = []
    try:
        until("redis-server answering", lambda: _pong(port))
        addrs = [h.start() for h in hubs]
        until("both hubs connected to Redis",
              lambda: all(stats(a)["redis_connected"] == 1 for a in addrs))
        check("both hubs connect to Redis", True)
        # One quiet client per room on each hub first, so that both hubs
        # are subscribed before wshub-load sends its first message.
        for a in addrs:
            for room in ROOMS:
                s = socket.create_connection(a, timeout=WAIT_S)
                s.sendall(UPGRADE % room.encode())
                if s.recv(12) != b"HTTP/1.1 101":
                    raise AssertionError("probe upgrade failed")
                probes.append(s)
        for room in ROOMS:
            until("both hubs subscribed to wshub:" + room,
                  lambda room=room: numsub(port, "wshub:" + room) == 2)
        check("both hubs subscribe to each room", True)
        load = subprocess.run(
            [os.environ.get("WSHUB_LOAD", "build/wshub-load"), "broadcast", "-c", "40",
             "-s", "4", "-r", "20", "-d", "2", "--rooms", "2", "--json"]
            + ["ws://%s:%d/ws" % a for a in addrs],
            capture_output=True, text=True, timeout=120)
        check("wshub-load exits 0", load.returncode == 0, load.stderr[-500:])
        j = json.loads(load.stdout)
        r = j["rounds"][-1] if "rounds" in j else j
        same, other = r["same_url"], r["other_url"]
        check("every message reached its room on the sender's hub",
              same["received"] == same["expected"] > 0, same)
        check("every message reached its room on the other hub, through Redis",
              other["received"] == other["expected"] > 0, other)
        check("no delivery to the wrong room", r["wrong_room"] == 0, r["wrong_room"])
        s0, s1 = stats(addrs[0]), stats(addrs[1])
        check("the hubs published and received through Redis",
              s0["redis_published"] > 0 and s1["redis_received"] > 0 and
              s0["redis_dropped"] == 0, (s0, s1))
    except (AssertionError, OSError, KeyError, ValueError, subprocess.TimeoutExpired) as e:
        check("the scenario ran to the end", False,
              "%s%s" % (e, "".join(h.tail() for h in hubs if h.proc)))
    finally:
        for s in probes:
            s.close()
        for i, h in enumerate(hubs):
            if h.proc:
                code = h.stop()
                check("hub %d: SIGTERM, exit 0" % i, code == 0, describe_status(code) + h.tail())
        redis.kill()
        redis.wait()


SECRET = "s3cret-never-printed"


def password_kept_out_of_sight(check):
    """Issue 17.10: the password from --redis-password-file or REDISCLI_AUTH
    authenticates against a redis-server with requirepass, is not in the
    command line, and no refusal prints it."""
    wshub = os.environ.get("WSHUB", "build/wshub")
    bad = subprocess.run([wshub, "--redis", "redis://:%s@127.0.0.1:99999" % SECRET],
                         capture_output=True, text=True, timeout=WAIT_S)
    check("a bad --redis is one line on stderr, exit 2, without its password",
          bad.returncode == 2 and bad.stderr.count("\n") == 1 and SECRET not in bad.stderr
          and ":***@" in bad.stderr, (bad.returncode, bad.stderr))
    port = free_port()
    redis = start_redis(port, "--requirepass", SECRET)
    hubs = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "password")
        try:
            for name, content in (("two lines", SECRET + "\nsecond\n"), ("too long", "p" * 300),
                                  ("empty", "")):
                with open(path, "w") as f:
                    f.write(content)
                r = subprocess.run([wshub, "--redis", "redis://127.0.0.1:%d" % port,
                                    "--redis-password-file", path],
                                   capture_output=True, text=True, timeout=WAIT_S)
                check("a password file %s: one line, exit 2, no content" % name,
                      r.returncode == 2 and r.stderr.count("\n") == 1 and SECRET not in r.stderr
                      and "ppp" not in r.stderr, (r.returncode, r.stderr))
            with open(path, "w") as f:
                f.write(SECRET + "\n")
            until("redis-server answering", lambda: _pong(port, SECRET))
            url = "redis://127.0.0.1:%d" % port
            hubs = [WshubProcess(wshub, ["--redis", url, "--redis-password-file", path]),
                    WshubProcess(wshub, ["--redis", url]),
                    WshubProcess(wshub, ["--redis", url, "--redis-retry"])]
            addrs = [hubs[0].start()]
            os.environ["REDISCLI_AUTH"] = SECRET  # as redis-cli reads it
            try:
                addrs.append(hubs[1].start())
            finally:
                del os.environ["REDISCLI_AUTH"]
            addrs.append(hubs[2].start())
            until("the hubs with a password connected",
                  lambda: all(stats(a)["redis_connected"] == 1 for a in addrs[:2]))
            check("the password from --redis-password-file authenticates", True)
            check("the password from REDISCLI_AUTH authenticates", True)
            check("without a password, Redis refuses",
                  stats(addrs[2])["redis_connected"] == 0 and
                  hubs[2].wait_line("NOAUTH|AUTH", WAIT_S) is not None, hubs[2].tail())
            for i, h in enumerate(hubs):
                with open("/proc/%d/cmdline" % h.pid, "rb") as f:
                    cmdline = f.read()
                check("hub %d: the password is not in /proc/PID/cmdline" % i,
                      SECRET.encode() not in cmdline, cmdline)
        except (AssertionError, OSError, KeyError, ValueError, RuntimeError) as e:
            check("the password scenario ran to the end", False,
                  "%s%s" % (e, "".join(h.tail() for h in hubs if h.proc)))
        finally:
            for i, h in enumerate(hubs):
                if h.proc:
                    code = h.stop()
                    check("password hub %d: SIGTERM, exit 0" % i, code == 0,
                          describe_status(code) + h.tail())
                    check("password hub %d: never printed the password" % i,
                          not any(SECRET in line for line in h.lines), h.tail())
            redis.kill()
            redis.wait()


def shutdown_bounded_with_redis_stopped(check):
    """Issue 17.8: Redis stopped (SIGSTOP) just after a publish; SIGTERM at
    --shutdown-timeout 0.5 took 3.7-3.9 s.  The bound: 0.5 s plus one."""
    port = free_port()
    redis = start_redis(port)
    hub = WshubProcess(os.environ.get("WSHUB", "build/wshub"),
                       ["--redis", "redis://127.0.0.1:%d" % port, "--shutdown-timeout", "0.5"])
    client = None
    try:
        until("redis-server answering", lambda: _pong(port))
        addr = hub.start()
        client = socket.create_connection(addr, timeout=WAIT_S)
        client.sendall(UPGRADE % b"r")
        if client.recv(12) != b"HTTP/1.1 101":
            raise AssertionError("upgrade failed")
        until("the hub subscribed to wshub:r", lambda: numsub(port, "wshub:r") == 1)
        redis.send_signal(signal.SIGSTOP)
        client.sendall(b"\x81\x85" + b"\0\0\0\0" + b"hello")  # a masked "hello"
        until("the hub handled the message",
              lambda: stats(addr)["messages_in"] == 1)
        start = time.monotonic()
        hub.terminate()
        code = hub.wait(WAIT_S)
        took = time.monotonic() - start
        check("SIGTERM with Redis stopped: exit 0 within 0.5 s + 1 s",
              code == 0 and took <= 1.5, "%s after %.2f s%s" % (
                  describe_status(code), took, hub.tail()))
    except (AssertionError, OSError, KeyError, ValueError, RuntimeError) as e:
        check("the stopped-Redis scenario ran to the end", False, "%s%s" % (e, hub.tail()))
    finally:
        if client:
            client.close()
        hub.kill()
        redis.send_signal(signal.SIGCONT)
        redis.kill()
        redis.wait()


def mistakes_at_start_exit_2(check):
    """Issue 20.2: a --redis that cannot work (no such host, a password or
    database Redis refuses) is said plainly at start, exit 2, unless
    --redis-retry; a Redis that is merely down is retried."""
    wshub = os.environ.get("WSHUB", "build/wshub")
    port = free_port()
    redis = start_redis(port, "--requirepass", SECRET)
    try:
        until("redis-server answering", lambda: _pong(port, SECRET))
        for name, url, says in (
                ("a wrong password", "redis://:wrong@127.0.0.1:%d" % port, "AUTH refused"),
                ("no password", "redis://127.0.0.1:%d" % port, "NOAUTH"),
                ("a database Redis refuses", "redis://:%s@127.0.0.1:%d/99" % (SECRET, port),
                 "SELECT refused"),
                ("a host that does not exist", "redis://no-such-host.invalid", "name lookup")):
            r = subprocess.run([wshub, "--port", "0", "--redis", url], capture_output=True,
                               text=True, timeout=WAIT_S)
            check("%s at start: one line saying so, exit 2" % name,
                  r.returncode == 2 and r.stderr.count("\n") == 1 and says in r.stderr
                  and "--redis-retry" in r.stderr and SECRET not in r.stderr,
                  (r.returncode, r.stderr))
        hub = WshubProcess(wshub, ["--redis", "redis://:wrong@127.0.0.1:%d" % port,
                                   "--redis-retry"])
        try:
            hub.start()
            check("--redis-retry: a refused password starts anyway and retries",
                  hub.wait_line("AUTH refused.*retrying", WAIT_S) is not None, hub.tail())
        finally:
            check("--redis-retry hub: SIGTERM, exit 0", hub.stop() == 0, hub.tail())
        down = WshubProcess(wshub, ["--redis", "redis://127.0.0.1:%d" % free_port()])
        try:
            down.start()
            check("a Redis that is down is an outage, not a mistake: the hub starts",
                  down.alive(), down.tail())
        finally:
            down.stop()
    except (AssertionError, OSError, RuntimeError) as e:
        check("the start-up scenario ran to the end", False, e)
    finally:
        redis.kill()
        redis.wait()


def an_outage_is_two_lines_and_two_fields(check):
    """Issue 20.2: a Redis outage is one line when it starts and one when
    it ends, with how long it lasted and how many messages were dropped
    meanwhile; /stats says when the bridge last connected and how long
    the current outage has lasted."""
    port = free_port()
    redis = start_redis(port)
    hub = WshubProcess(os.environ.get("WSHUB", "build/wshub"),
                       ["--redis", "redis://127.0.0.1:%d" % port])
    client = None
    try:
        until("redis-server answering", lambda: _pong(port))
        addr = hub.start()
        until("the hub connected", lambda: stats(addr)["redis_connected"] == 1)
        first = stats(addr)["redis_last_connected"]
        check("/stats: redis_last_connected is an RFC 3339 time, no outage",
              isinstance(first, str) and first.endswith("Z") and "T" in first
              and stats(addr)["redis_outage_seconds"] == 0, stats(addr))
        client = socket.create_connection(addr, timeout=WAIT_S)
        client.sendall(UPGRADE % b"r")
        if client.recv(12) != b"HTTP/1.1 101":
            raise AssertionError("upgrade failed")
        redis.kill()
        redis.wait()
        if hub.wait_line("redis .*local delivery goes on", WAIT_S) is None:
            raise AssertionError("no line when the outage started")
        until("/stats counts the outage", lambda: stats(addr)["redis_outage_seconds"] > 0)
        before = stats(addr)["redis_dropped"]
        for _ in range(3):
            client.sendall(b"\x81\x85" + b"\0\0\0\0" + b"hello")  # masked "hello"
        until("the three were dropped", lambda: stats(addr)["redis_dropped"] >= before + 3)
        dropped = stats(addr)["redis_dropped"]
        redis = start_redis(port)
        line = hub.wait_line(r"connected again after [0-9.]+ s down; [0-9]+ messages", WAIT_S)
        after = stats(addr)
        check("the outage's end is one line: how long, and the drops meanwhile",
              line is not None and (" %d messages" % dropped) in line, (line, dropped))
        check("/stats after the outage: no outage, connected again",
              after["redis_outage_seconds"] == 0 and after["redis_connected"] == 1
              and after["redis_last_connected"] >= first, after)
    except (AssertionError, OSError, KeyError, ValueError, RuntimeError) as e:
        check("the outage scenario ran to the end", False, "%s%s" % (e, hub.tail()))
    finally:
        if client:
            client.close()
        hub.stop()
        redis.kill()
        redis.wait()


def _pong(port, password=None):
    try:
        return resp(port, "PING", password=password).startswith(b"+PONG")
    except (OSError, AssertionError):
        return False


if __name__ == "__main__":
    sys.exit(main())
