"""Pings and pongs (Autobahn group 2, and 5.1/5.2): a ping is answered by a
pong with the same payload; control frames are at most 125 bytes and never
fragmented; an unsolicited pong is ignored."""

import os

from wsframes import OP_CONT, OP_PING, OP_PONG, OP_TEXT, Registry, encode_frame

reg = Registry("pings")


def ping_case(payload):
    def run(t):
        conn = t.open()
        conn.send_frame(OP_PING, payload)
        conn.expect_pong(payload)
    return run


for _n in (0, 1, 125):
    reg.add("ping-%d" % _n, "§5.5.2, §5.5.3",
            "a ping with %d bytes of text is answered by a pong with the same bytes" % _n,
            ping_case(b"p" * _n))
reg.add("ping-125-binary", "§5.5.2, §5.5.3",
        "a ping with 125 arbitrary bytes (not UTF-8) gets them back in the pong",
        ping_case(bytes(range(131, 256))))


@reg.case("§5.5.2, §5.5.3")
def ping_every_size(t):
    """pings of every size 0..125, one after another, each get their pong"""
    conn = t.open()
    for n in range(126):
        payload = os.urandom(n)
        conn.send_frame(OP_PING, payload)
        conn.expect_pong(payload)


@reg.case("§5.5, §7.4.1 (1002)")
def ping_126(t):
    """a ping with a 126-byte payload (over the control limit) fails with 1002"""
    conn = t.open()
    conn.send_frame(OP_PING, b"x" * 126, may_fail=True)
    conn.expect_fail(1002)


@reg.case("§5.4, §5.5, §7.4.1 (1002)")
def ping_fragmented(t):
    """a ping with FIN=0 followed by a continuation fails with 1002"""
    conn = t.open()
    conn.send(encode_frame(OP_PING, b"frag", fin=False)
              + encode_frame(OP_CONT, b"ment"), may_fail=True)
    conn.expect_fail(1002)


@reg.case("§5.4, §5.5, §7.4.1 (1002)")
def pong_fin0(t):
    """a pong with FIN=0 fails with 1002 (a text message after it must not
    be echoed: the pong may not be ignored like a valid one)"""
    conn = t.open()
    conn.send(encode_frame(OP_PONG, b"frag", fin=False)
              + encode_frame(OP_TEXT, b"after"), may_fail=True)
    conn.expect_fail(1002)


def expect_nothing_else(conn):
    """The text "after pong" is echoed, and a ping sent after it gets the
    next frame: nothing was sent for the unsolicited pong."""
    conn.expect_message(OP_TEXT, b"after pong")
    conn.send_frame(OP_PING, b"probe")
    conn.expect_pong(b"probe")


@reg.case("§5.5.3")
def unsolicited_pong_empty(t):
    """an empty unsolicited pong is ignored: the next message is echoed first"""
    conn = t.open()
    conn.send(encode_frame(OP_PONG) + encode_frame(OP_TEXT, b"after pong"))
    expect_nothing_else(conn)


@reg.case("§5.5.3")
def unsolicited_pong_payload(t):
    """an unsolicited pong with 125 bytes is ignored: the next message is
    echoed and nothing comes back for the pong"""
    conn = t.open()
    conn.send(encode_frame(OP_PONG, b"u" * 125) + encode_frame(OP_TEXT, b"after pong"))
    expect_nothing_else(conn)


@reg.case("§5.5.2, §5.5.3")
def ten_pings_in_order(t):
    """ten pings in one write get ten pongs, in the same order"""
    conn = t.open()
    payloads = [b"ping %d" % i for i in range(10)]
    conn.send(b"".join(encode_frame(OP_PING, p) for p in payloads))
    for p in payloads:
        conn.expect_pong(p)


CASES = reg.cases
