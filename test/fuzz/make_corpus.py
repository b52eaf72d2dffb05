#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets (test/fuzz/corpus/).

    /usr/bin/python3 test/fuzz/make_corpus.py [OUTDIR]

The seeds are committed; this script says what each one is and rebuilds
them byte for byte (masking keys are fixed, not random). OUTDIR defaults to
test/fuzz/corpus next to this file; http/, recv/ and redis/ are rewritten.

http/: raw request heads, as a client sends them.
recv/: the input layout of fuzz_recv.c: a flags byte (bits 0-2: k, the
number of chunk-size bytes that follow; bit 3: the first chunk arrives as
early bytes; bit 4: the writer is stalled; bit 5: the peer goes silent at
the end instead of closing), k chunk-size bytes, then the
client's byte stream (masked frames).
redis/: the input layout of fuzz_redis.c: a flags byte (bits 0-1: the
limits, 0 subscribe, 1 publish, 2 small; bits 2-4: k, the number of
chunk-size bytes that follow), k chunk sizes, then what Redis sends.

Inputs that trip a known bug do not belong here (a seed that crashes stops
the run at once): they go to test/fuzz/regress/, which scripts/fuzz.sh
replays on its own.
"""

import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = b"\x37\xfa\x21\x3d"  # RFC 6455 §5.7's sample masking key


# ------------------------------------------------------------------ http

def head(lines, end=b"\r\n\r\n"):
    return b"\r\n".join(lines) + end


def upgrade(path=b"/ws", version=b"HTTP/1.1", extra=(), key=b"dGhlIHNhbXBsZSBub25jZQ==",
            host=b"127.0.0.1:8080", drop=()):
    fields = [(b"Host", host), (b"Upgrade", b"websocket"), (b"Connection", b"Upgrade"),
              (b"Sec-WebSocket-Key", key), (b"Sec-WebSocket-Version", b"13")]
    lines = [b"GET " + path + b" " + version]
    lines += [n + b": " + v for n, v in fields if n not in drop]
    lines += list(extra)
    return head(lines)


HTTP = {
    "upgrade": upgrade(),
    "rfc6455-sample": head([
        b"GET /chat HTTP/1.1", b"Host: server.example.com", b"Upgrade: websocket",
        b"Connection: Upgrade", b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        b"Origin: http://example.com", b"Sec-WebSocket-Protocol: chat, superchat",
        b"Sec-WebSocket-Version: 13"]),
    "browser-same-origin": head([
        b"GET /ws?room=1 HTTP/1.1", b"Host: localhost:8080",
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0)",
        b"Accept: */*", b"Accept-Language: en-US,en;q=0.5",
        b"Sec-WebSocket-Version: 13", b"Origin: http://localhost:8080",
        b"Sec-WebSocket-Extensions: permessage-deflate",
        b"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==",
        b"Connection: keep-alive, Upgrade", b"Pragma: no-cache",
        b"Upgrade: WebSocket"]),
    "origin-pattern": upgrade(extra=[b"Origin: https://chat.example.com/path"]),
    "origin-foreign": upgrade(extra=[b"Origin: http://evil.test"]),
    "origin-null": upgrade(extra=[b"Origin: null"]),
    "page": head([b"GET / HTTP/1.1", b"Host: 127.0.0.1"]),
    "stats": head([b"GET /stats HTTP/1.1", b"Host: 127.0.0.1"]),
    "metrics": head([b"GET /metrics HTTP/1.1", b"Host: 127.0.0.1"]),
    "post-ws": head([b"POST /ws HTTP/1.1", b"Host: h", b"Content-Length: 0"]),
    "not-found": head([b"GET /nope?x=1&y=%20 HTTP/1.1", b"Host: h"]),
    "http10": upgrade(version=b"HTTP/1.0"),
    "version-8": upgrade().replace(b"Version: 13", b"Version: 8"),
    "two-keys": upgrade(extra=[b"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="]),
    "short-key": upgrade(key=b"AQIDBAUGBwgJCgsMDQ4P"),
    "no-host": upgrade(drop=(b"Host",)),
    "two-hosts": upgrade(extra=[b"Host: other"]),
    "odd-whitespace": head([
        b"GET /ws HTTP/1.1", b"Host:\t127.0.0.1:8080 \t", b"upgrade:websocket",
        b"CONNECTION:   upgrade  ", b"Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==",
        b"sec-websocket-version: 13", b"X-Empty:", b"X-Obs-Text: caf\xc3\xa9 \xff",
        b"X-Token-Chars!#$%&'*+-.^_`|~: v"]),
    "32-headers": head([b"GET /ws HTTP/1.1"] +
                       [b"X-H%d: %d" % (i, i) for i in range(32)]),
    "33-headers": head([b"GET /ws HTTP/1.1"] +
                       [b"X-H%d: %d" % (i, i) for i in range(33)]),
    "431-long-header": head([b"GET /ws HTTP/1.1", b"Host: h",
                             b"Cookie: " + b"a" * 8300]),
    "folded-header": head([b"GET / HTTP/1.1", b"Host: h", b" continued"]),
    "bare-lf": b"GET / HTTP/1.1\nHost: h\n\n",
    "space-before-colon": head([b"GET / HTTP/1.1", b"Host : h"]),
    "incomplete": b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso",
    "pipelined-frame": upgrade() + b"\x81\x85" + KEY + b"\x7f\x9f\x4d\x51\x58",
    "garbage": bytes(range(256)),
    "tls-hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
}


# ------------------------------------------------------------------ recv

def mask(data, key=KEY):
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def frame(opcode, payload=b"", fin=True, rsv=0, masked=True, length=None):
    """A client frame; length overrides the declared payload length."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv << 4 | opcode
    mbit = 0x80 if masked else 0
    if n < 126:
        out = struct.pack("!BB", b0, mbit | n)
    elif n < 1 << 16:
        out = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        out = struct.pack("!BBQ", b0, mbit | 127, n)
    if masked:
        return out + KEY + mask(payload)
    return out + payload


def raw_header(b0, b1, ext=b""):
    return bytes([b0, b1]) + ext + KEY


def recv_input(stream, sizes=()):
    """fuzz_recv's layout: k, k chunk sizes, the stream."""
    return bytes([len(sizes)]) + bytes(sizes) + stream


def close(code=None, reason=b""):
    return frame(0x8, b"" if code is None else struct.pack("!H", code) + reason)


TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA

RECV = {
    "text": recv_input(frame(TEXT, b"Hello")),
    "text-close": recv_input(frame(TEXT, b"Hello") + close(1000, b"bye")),
    "binary-16bit": recv_input(frame(BINARY, bytes(range(256)) * 2)),
    "binary-64bit-partial": recv_input(frame(BINARY, b"\xa5" * 65536)[:4096], (0,)),
    "fragments": recv_input(frame(TEXT, b"Hel", fin=False) + frame(PING, b"mid") +
                            frame(CONT, b"lo, ", fin=False) +
                            frame(CONT, "wörld".encode())),
    "pings": recv_input(frame(PING) + frame(PING, b"x" * 125) + frame(PONG, b"u") +
                        frame(TEXT, b"after")),
    "ping-flood": recv_input(frame(PING, b"p") * 80, (100, 0)),
    "sixty-messages": recv_input(frame(TEXT, b"m") * 60),
    "one-byte-chunks": recv_input(frame(TEXT, "héllo €".encode()) + close(1001, b"gone"),
                                  (1,)),
    "mixed-chunks": recv_input(frame(BINARY, b"b" * 300) + frame(TEXT, b"t" * 200) +
                               frame(PING, b"ping"), (3, 130, 7, 0)),
    "close-reason-utf8": recv_input(close(4000, "tschüß ✓".encode())),
    "close-1-byte": recv_input(frame(CLOSE, b"\x03")),
    "close-1005": recv_input(close(1005)),
    "close-999": recv_input(close(999)),
    "close-5000": recv_input(close(5000, b"x")),
    "close-bad-reason": recv_input(close(1000, b"\xff\xfe")),
    "bad-utf8-overlong": recv_input(frame(TEXT, b"\xc0\x80")),
    "bad-utf8-surrogate": recv_input(frame(TEXT, b"a\xed\xa0\x80b")),
    "utf8-cut-short": recv_input(frame(TEXT, b"ab\xe2\x82")),
    "utf8-split-fragments": recv_input(frame(TEXT, b"\xe2\x82", fin=False) +
                                       frame(CONT, b"\xac!")),
    "rsv1": recv_input(frame(TEXT, b"x", rsv=4)),
    "rsv3-ping": recv_input(frame(PING, b"x", rsv=1)),
    "opcode-3": recv_input(frame(0x3, b"x")),
    "opcode-b": recv_input(frame(0xB, b"x")),
    "unmasked": recv_input(frame(TEXT, b"plain", masked=False)),
    "ping-not-final": recv_input(frame(PING, b"x", fin=False)),
    "ping-126": recv_input(frame(PING, b"p" * 126)),
    "cont-first": recv_input(frame(CONT, b"x")),
    "text-in-fragment": recv_input(frame(TEXT, b"a", fin=False) + frame(TEXT, b"b")),
    "len16-not-minimal": recv_input(raw_header(0x81, 0xfe, b"\x00\x05") + mask(b"short")),
    "len64-not-minimal": recv_input(raw_header(0x82, 0xff, struct.pack("!Q", 200)) +
                                    mask(b"z" * 200)),
    "len-2p63-minus-1": recv_input(raw_header(0x82, 0xff, struct.pack("!Q", (1 << 63) - 1)) +
                             b"\x00" * 16),
    "len-2p64-minus-1": recv_input(raw_header(0x82, 0xff, struct.pack("!Q", (1 << 64) - 1)) +
                             b"\x00" * 16),
    "too-big": recv_input(raw_header(0x81, 0xff, struct.pack("!Q", 65537)) +
                          mask(b"x" * 64)),
    "too-big-fragments": recv_input(frame(BINARY, b"a" * 100, fin=False) +
                                    raw_header(0x80, 0xff, struct.pack("!Q", 65437)) +
                                    b"b" * 8),
    "early-bytes": bytes([0x09, 20, 5]) + frame(TEXT, b"in the request's read") +
                   frame(BINARY, b"then the socket"),
    "stalled-writer": bytes([0x10]) + frame(PING, b"p") * 40,
    "silent-peer": bytes([0x21, 9]) + frame(PING, b"p") + frame(TEXT, b"then quiet"),
    "garbage": recv_input(bytes(range(255, -1, -1))),
}


# ------------------------------------------------------------------ redis

SUBSCRIBE, PUBLISH, SMALL = 0, 1, 2
LINE_MAX = 1024       # LINE_MAX_BYTES
ROOM_NAME_MAX = 64


def redis_input(stream, limits=SUBSCRIBE, sizes=()):
    """fuzz_redis's layout: limits and k, k chunk sizes, the stream."""
    return bytes([limits | len(sizes) << 2]) + bytes(sizes) + stream


def bulk(data):
    return b"$%d\r\n" % len(data) + data + b"\r\n"


def array(*items):
    return b"*%d\r\n" % len(items) + b"".join(items)


def message(channel, envelope):
    return array(bulk(b"message"), bulk(channel), bulk(envelope))


def envelope(opcode, payload, hub=b"OTHERHUB"):
    return hub + bytes([opcode]) + payload


CONFIRM = array(bulk(b"subscribe"), bulk(b"wshub:r"), b":1\r\n")

REDIS = {
    "message": redis_input(message(b"wshub:r", envelope(1, b"hello"))),
    "confirm-then-messages": redis_input(
        CONFIRM + message(b"wshub:r", envelope(1, b"a")) +
        message(b"wshub:blue", envelope(2, bytes(range(256)))), sizes=(7, 1, 30)),
    "unsubscribe": redis_input(array(bulk(b"unsubscribe"), bulk(b"wshub:r"),
                                     b":0\r\n")),
    "room-64": redis_input(message(b"wshub:" + b"r" * ROOM_NAME_MAX, envelope(1, b"x"))),
    "room-65": redis_input(message(b"wshub:" + b"r" * (ROOM_NAME_MAX + 1),
                                   envelope(1, b"x"))),
    "channel-nul": redis_input(message(b"wshub:r\0x", envelope(1, b"nul"))),
    "envelope-short": redis_input(message(b"wshub:r", b"OTHERHUB")),
    "envelope-empty": redis_input(message(b"wshub:r", envelope(2, b""))),
    "envelope-opcode-9": redis_input(message(b"wshub:r", envelope(9, b"x"))),
    "nil-channel": redis_input(array(bulk(b"message"), b"$-1\r\n", bulk(b"x"))),
    "publish-replies": redis_input(b":1\r\n:0\r\n-ERR wrong\r\n+OK\r\n", PUBLISH),
    "publish-array": redis_input(b"*0\r\n*1\r\n:1\r\n", PUBLISH),
    "line-1024": redis_input(b"+" + b"x" * LINE_MAX + b"\r\n", PUBLISH),
    "line-1025": redis_input(b"-" + b"x" * (LINE_MAX + 1) + b"\r\n", PUBLISH),
    "string-1024": redis_input(bulk(b"s" * LINE_MAX), PUBLISH, sizes=(100,)),
    "integers": redis_input(b":9223372036854775807\r\n:-9223372036854775808\r\n"
                            b":007\r\n", PUBLISH),
    "nils": redis_input(b"$-1\r\n*-1\r\n$-2\r\n"),
    "huge-array": redis_input(b"*2147483647\r\n"),
    "nested": redis_input(b"*3\r\n$7\r\nmessage\r\n*1\r\n*1\r\n"),
    "huge-string": redis_input(array(bulk(b"message"), bulk(b"wshub:r")) +
                               b"$2147483647\r\n" + b"x" * 64),
    "length-overflow": redis_input(b"$99999999999999999999999\r\n"),
    "small-edges": redis_input(array(bulk(b"s" * 40), bulk(b"t" * 40)) +
                               array(bulk(b"s" * 41)), SMALL, sizes=(3, 0)),
    "small-reply-100": redis_input(array(bulk(b"a" * 40), bulk(b"b" * 40),
                                         b":12345\r\n"), SMALL),
    "one-byte-chunks": redis_input(message(b"wshub:r", envelope(1, "héllo".encode())),
                                   sizes=(1,)),
    "resp3": redis_input(b"%1\r\n+a\r\n+b\r\n_\r\n"),
    "garbage": redis_input(b"?garbage\r\n"),
}


def write(outdir, group, seeds):
    d = os.path.join(outdir, group)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    return len(seeds)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    n = write(outdir, "http", HTTP) + write(outdir, "recv", RECV) + \
        write(outdir, "redis", REDIS)
    print("make_corpus: %d seeds in %s" % (n, outdir))


if __name__ == "__main__":
    main()
