"""Fragmentation (Autobahn group 5): a fragmented message is reassembled and
echoed whole, as one frame; control frames may come between fragments and
are answered at once; a continuation with no message started, or a new data
frame inside a fragmented message, fails with 1002."""

import os

from wsframes import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, Registry,
                     close_payload, encode_frame)

reg = Registry("fragmentation")


def fragments(opcode, parts):
    """The frames of one message split into parts (§5.4): the first has the
    opcode, the others are continuations, only the last has FIN=1."""
    out = []
    for i, part in enumerate(parts):
        op = opcode if i == 0 else OP_CONT
        out.append(encode_frame(op, part, fin=(i == len(parts) - 1)))
    return b"".join(out)


def split(data, n):
    """data cut into n nearly equal parts (some may be empty)."""
    step = -(-len(data) // n) if data else 0
    return [data[i * step:(i + 1) * step] for i in range(n)]


def fragmented_echo_case(opcode, parts):
    def run(t):
        conn = t.open()
        conn.send(fragments(opcode, parts))
        conn.expect_message(opcode, b"".join(parts))
    return run


reg.add("text-2-fragments", "§5.4",
        "a text message in 2 fragments is echoed as one frame",
        fragmented_echo_case(OP_TEXT, [b"Hello, ", b"fragmented world"]))
reg.add("binary-2-fragments", "§5.4",
        "a binary message in 2 fragments is echoed as one frame",
        fragmented_echo_case(OP_BINARY, [os.urandom(100), os.urandom(200)]))
reg.add("text-20-fragments", "§5.4",
        "a text message in 20 fragments is echoed as one frame",
        fragmented_echo_case(OP_TEXT, [b"part %02d;" % i for i in range(20)]))
reg.add("binary-300-fragments-of-1-byte", "§5.4",
        "a binary message in 300 one-byte fragments is echoed as one frame",
        fragmented_echo_case(OP_BINARY, [bytes([b]) for b in os.urandom(300)]))
reg.add("binary-65536-in-4-fragments", "§5.4, §10.4",
        "a binary message of exactly --max-message bytes in 4 fragments is echoed",
        fragmented_echo_case(OP_BINARY, split(os.urandom(65536), 4)))
reg.add("empty-fragments", "§5.4",
        "three empty fragments make an empty text message, echoed",
        fragmented_echo_case(OP_TEXT, [b"", b"", b""]))
reg.add("empty-middle-fragment", "§5.4",
        "'a' + empty continuation + 'b' is echoed as 'ab'",
        fragmented_echo_case(OP_TEXT, [b"a", b"", b"b"]))
reg.add("empty-first-fragment", "§5.4",
        "an empty first fragment then data is echoed as the data",
        fragmented_echo_case(OP_BINARY, [b"", b"\x01\x02\x03"]))


@reg.case("§5.4, §10.4, §7.4.1 (1009)")
def fragments_over_max_message(t):
    """fragments that add up to --max-message + 1 bytes fail with 1009"""
    conn = t.open()
    conn.send(fragments(OP_BINARY, [os.urandom(40000), os.urandom(25537)]), may_fail=True)
    conn.expect_fail(1009)


@reg.case("§5.4, §5.5.2")
def pings_between_fragments(t):
    """a ping after each unfinished fragment is answered before the message
    is finished; the message is then echoed whole"""
    conn = t.open()
    conn.send_frame(OP_TEXT, b"one ", fin=False)
    conn.send_frame(OP_PING, b"ping 1")
    conn.expect_pong(b"ping 1")
    conn.send_frame(OP_CONT, b"two ", fin=False)
    conn.send_frame(OP_PING, b"ping 2")
    conn.expect_pong(b"ping 2")
    conn.send_frame(OP_CONT, b"three", fin=True)
    conn.expect_message(OP_TEXT, b"one two three")


@reg.case("§5.4, §5.5.2")
def pings_between_fragments_one_write(t):
    """fragment, ping, fragment, ping, fragment in one write: both pongs come
    before the echo of the whole message"""
    conn = t.open()
    conn.send(encode_frame(OP_BINARY, b"\x01", fin=False) + encode_frame(OP_PING, b"a")
              + encode_frame(OP_CONT, b"\x02", fin=False) + encode_frame(OP_PING, b"b")
              + encode_frame(OP_CONT, b"\x03"))
    conn.expect_pong(b"a")
    conn.expect_pong(b"b")
    conn.expect_message(OP_BINARY, b"\x01\x02\x03")


@reg.case("§5.4")
def fragmented_then_whole_message(t):
    """a fragmented message then an unfragmented one are echoed in order"""
    conn = t.open()
    conn.send(fragments(OP_TEXT, [b"frag", b"mented"]) + encode_frame(OP_TEXT, b"whole"))
    conn.expect_message(OP_TEXT, b"fragmented")
    conn.expect_message(OP_TEXT, b"whole")


@reg.case("§5.4, §5.5.1")
def close_between_fragments(t):
    """a close between fragments is answered (1000) and nothing is echoed"""
    conn = t.open()
    conn.send(encode_frame(OP_TEXT, b"unfinished", fin=False)
              + encode_frame(OP_CLOSE, close_payload(1000)))
    conn.expect_close([1000])
    conn.expect_eof()


def protocol_error_case(frames):
    def run(t):
        conn = t.open()
        conn.send(frames() + encode_frame(OP_TEXT, b"after"), may_fail=True)
        conn.expect_fail(1002)
    return run


reg.add("continuation-first", "§5.4, §7.4.1 (1002)",
        "a final continuation frame with no message started fails with 1002",
        protocol_error_case(lambda: encode_frame(OP_CONT, b"orphan")))
reg.add("continuation-first-fin0", "§5.4, §7.4.1 (1002)",
        "an unfinished continuation frame with no message started fails with 1002",
        protocol_error_case(lambda: encode_frame(OP_CONT, b"orphan", fin=False)
                            + encode_frame(OP_CONT, b"s")))
reg.add("continuation-after-message", "§5.4, §7.4.1 (1002)",
        "a continuation after a finished message fails with 1002 (only the message is echoed)",
        lambda t: continuation_after_message(t))
reg.add("text-inside-fragmented-text", "§5.4, §7.4.1 (1002)",
        "a new text frame while a fragmented text message is open fails with 1002",
        protocol_error_case(lambda: encode_frame(OP_TEXT, b"open", fin=False)
                            + encode_frame(OP_TEXT, b"new")))
reg.add("binary-inside-fragmented-text", "§5.4, §7.4.1 (1002)",
        "a new binary frame while a fragmented text message is open fails with 1002",
        protocol_error_case(lambda: encode_frame(OP_TEXT, b"open", fin=False)
                            + encode_frame(OP_BINARY, b"new", fin=False)
                            + encode_frame(OP_CONT, b"end")))


def continuation_after_message(t):
    conn = t.open()
    conn.send_frame(OP_TEXT, b"done")
    conn.expect_message(OP_TEXT, b"done")
    conn.send(encode_frame(OP_CONT, b"late") + encode_frame(OP_TEXT, b"after"), may_fail=True)
    conn.expect_fail(1002)


CASES = reg.cases
