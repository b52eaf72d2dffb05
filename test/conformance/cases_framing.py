"""Framing (Autobahn group 1, and 9's limits): messages of every length
encoding are echoed byte-exact; a message over --max-message fails with 1009."""

import os

from wsframes import OP_BINARY, OP_TEXT, Registry, encode_frame

reg = Registry("framing")

# Each side of the 7-bit / 16-bit / 64-bit length boundaries (§5.2), up to
# the server's --max-message (65536), which must still be accepted.
SIZES = [0, 125, 126, 127, 128, 65535, 65536]


def text_payload(n):
    """n bytes of printable ASCII (valid UTF-8), random so an echo cannot be
    faked from an earlier case."""
    return bytes(0x20 + b % 95 for b in os.urandom(n))


def payload_for(opcode, n):
    return text_payload(n) if opcode == OP_TEXT else os.urandom(n)


def echo_case(opcode, n):
    def run(t):
        conn = t.open()
        payload = payload_for(opcode, n)
        conn.send_frame(opcode, payload)
        conn.expect_message(opcode, payload)
    return run


def too_big_case(opcode, n):
    def run(t):
        conn = t.open()
        conn.send_frame(opcode, payload_for(opcode, n), may_fail=True)
        conn.expect_fail(1009)
    return run


for _op, _name in ((OP_TEXT, "text"), (OP_BINARY, "binary")):
    for _n in SIZES:
        reg.add("%s-%d" % (_name, _n), "§5.2, §5.6",
                "a %d-byte %s message is echoed byte-exact" % (_n, _name),
                echo_case(_op, _n))
    reg.add("%s-65537" % _name, "§7.4.1 (1009), §10.4",
            "a %s message one byte over --max-message fails with 1009" % _name,
            too_big_case(_op, 65537))


@reg.case("§10.4, §7.4.1 (1009)")
def declared_4gib_frame(t):
    """a frame declaring 4 GiB fails with 1009 from its header: after 1 KiB of
    payload, not after 64 KiB have been buffered"""
    conn = t.open()
    # FIN + binary, MASK + 64-bit length, the length, a masking key, then
    # only the first KiB (a server may wait for the first payload byte).
    header = bytes([0x82, 0x80 | 127]) + (1 << 32).to_bytes(8, "big") + os.urandom(4)
    conn.send(header + os.urandom(1024), may_fail=True)
    conn.expect_fail(1009)


@reg.case("§5.2")
def binary_65536_in_997_byte_writes(t):
    """a 65536-byte frame written in 997-byte pieces is reassembled and echoed"""
    conn = t.open()
    payload = os.urandom(65536)
    conn.send_slowly(encode_frame(OP_BINARY, payload), chunk=997, pause=0)
    conn.expect_message(OP_BINARY, payload)


@reg.case("§5.2")
def text_in_1_byte_writes(t):
    """a 300-byte text frame written one byte at a time is echoed"""
    conn = t.open()
    payload = text_payload(300)
    conn.send_slowly(encode_frame(OP_TEXT, payload), chunk=1, pause=0.0002)
    conn.expect_message(OP_TEXT, payload)


@reg.case("§5.2, §5.6")
def three_messages_in_one_write(t):
    """three messages sent in one write are echoed in order"""
    conn = t.open()
    msgs = [(OP_TEXT, b"first"), (OP_BINARY, os.urandom(300)), (OP_TEXT, text_payload(10))]
    conn.send(b"".join(encode_frame(op, p) for op, p in msgs))
    for op, p in msgs:
        conn.expect_message(op, p)


@reg.case("§5.6")
def binary_all_byte_values(t):
    """a binary message holding every byte value 0..255 is echoed unchanged"""
    conn = t.open()
    payload = bytes(range(256)) * 2
    conn.send_frame(OP_BINARY, payload)
    conn.expect_message(OP_BINARY, payload)


CASES = reg.cases
