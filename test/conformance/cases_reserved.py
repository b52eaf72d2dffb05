"""Reserved bits and opcodes (Autobahn groups 3 and 4): with no extension
negotiated, a frame with an RSV bit or a reserved opcode fails the
connection with 1002 and is not echoed.

Each case first checks the connection works (a message is echoed), then
sends the bad frame followed, in the same write, by a valid message: the
close must be the very next frame, with nothing echoed before it."""

from wsframes import OP_BINARY, OP_PING, OP_TEXT, Registry, encode_frame

reg = Registry("reserved")

RSV_NAMES = {4: "rsv1", 2: "rsv2", 1: "rsv3", 7: "rsv123"}


def bad_frame_case(bad):
    def run(t):
        conn = t.open()
        conn.send_frame(OP_TEXT, b"before")
        conn.expect_message(OP_TEXT, b"before")
        conn.send(bad() + encode_frame(OP_TEXT, b"after"), may_fail=True)
        conn.expect_fail(1002)
    return run


for _rsv in (4, 2, 1):
    reg.add("%s-text" % RSV_NAMES[_rsv], "§5.2, §7.4.1 (1002)",
            "a text frame with %s set fails with 1002" % RSV_NAMES[_rsv].upper(),
            bad_frame_case(lambda r=_rsv: encode_frame(OP_TEXT, b"reserved", rsv=r)))
reg.add("rsv123-binary", "§5.2, §7.4.1 (1002)",
        "a binary frame with all three RSV bits set fails with 1002",
        bad_frame_case(lambda: encode_frame(OP_BINARY, b"\x00\xff", rsv=7)))
for _rsv in (4, 2, 1):
    reg.add("%s-ping" % RSV_NAMES[_rsv], "§5.2, §7.4.1 (1002)",
            "a ping with %s set fails with 1002 (no pong)" % RSV_NAMES[_rsv].upper(),
            bad_frame_case(lambda r=_rsv: encode_frame(OP_PING, b"reserved", rsv=r)))

for _op in list(range(3, 8)) + list(range(11, 16)):
    _kind = "non-control" if _op < 8 else "control"
    reg.add("opcode-%d" % _op, "§5.2, §11.8, §7.4.1 (1002)",
            "a frame with the reserved %s opcode %d fails with 1002" % (_kind, _op),
            bad_frame_case(lambda o=_op: encode_frame(o, b"reserved opcode")))
reg.add("opcode-3-empty", "§5.2, §7.4.1 (1002)",
        "an empty frame with reserved opcode 3 fails with 1002",
        bad_frame_case(lambda: encode_frame(3, b"")))

CASES = reg.cases
