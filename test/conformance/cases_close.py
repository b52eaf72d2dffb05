"""The closing handshake (Autobahn group 7): the server answers a close with
a close echoing its code, then closes TCP itself; a malformed close fails
with 1002, a close reason that is not UTF-8 with 1007; nothing after a close
is processed.

Accepted reply to an empty close: an empty close or code 1000. RFC 6455
§5.5.1 says the reply typically echoes the status code received; with none
received, both an empty body and 1000 (§7.4.1 normal closure) are read as
echoing it."""

from wsframes import OP_CLOSE, OP_PING, OP_TEXT, Registry, close_payload, encode_frame

reg = Registry("close")

# Codes an endpoint must not send (§7.4.1, §7.4.2): 0-999 unused, 1004
# reserved, 1005/1006/1015 only for reporting, 1016-2999 unassigned
# protocol range (as of RFC 6455), 5000+ out of range.
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
# Codes that may be sent: the RFC's defined codes, and the registered
# (3000-3999) and private (4000-4999) ranges.
VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]


def close_case(code, reason=b""):
    def run(t):
        conn = t.open()
        conn.send_frame(OP_CLOSE, close_payload(code, reason))
        conn.expect_close([code])
        conn.expect_eof()
    return run


def bad_close_case(payload, expected):
    def run(t):
        conn = t.open()
        conn.send_frame(OP_CLOSE, payload, may_fail=True)
        conn.expect_fail(expected)
    return run


@reg.case("§5.5.1, §7.1.2, §7.1.1")
def close_empty(t):
    """an empty close is answered by an empty close or 1000, then the server
    closes TCP (recv returns b'')"""
    conn = t.open()
    conn.send_frame(OP_CLOSE)
    conn.expect_close([None, 1000])
    conn.expect_eof()


reg.add("close-1000-reason", "§5.5.1, §7.4.1",
        "1000 with a reason is answered by a close with code 1000",
        close_case(1000, b"normal closure, thanks"))
reg.add("close-1000-reason-123", "§5.5, §5.5.1",
        "1000 with a 123-byte reason (a 125-byte body, the maximum) is answered by 1000",
        close_case(1000, b"r" * 123))
reg.add("close-reason-utf8", "§5.5.1, §8.1",
        "1000 with a multibyte UTF-8 reason is answered by 1000",
        close_case(1000, "κόσμε ok".encode("utf-8")))
reg.add("close-1-byte-body", "§5.5.1, §7.4.1 (1002)",
        "a close with a 1-byte body fails with 1002",
        bad_close_case(b"\x03", 1002))
reg.add("close-126-byte-body", "§5.5, §7.4.1 (1002)",
        "a close with a 126-byte body (over the control limit) fails with 1002",
        bad_close_case(close_payload(1000, b"r" * 124), 1002))
reg.add("close-reason-not-utf8", "§5.5.1, §8.1, §7.4.1 (1007)",
        "a close whose reason is not UTF-8 fails with 1007",
        bad_close_case(close_payload(1000, b"bad \xce\xba\xe1\xbd\xb9\xed\xa0\x80"), 1007))
for _code in INVALID_CODES:
    reg.add("close-code-%d" % _code, "§7.4.1, §7.4.2 (1002)",
            "a close with code %d, which must not be sent, fails with 1002" % _code,
            bad_close_case(close_payload(_code), 1002))
for _code in VALID_CODES:
    reg.add("close-code-%d-echoed" % _code, "§5.5.1, §7.4",
            "a close with the valid code %d is answered with the same code" % _code,
            close_case(_code))


@reg.case("§5.5.1, §1.4")
def text_after_close_ignored(t):
    """close then a text frame in one write: only the close reply comes back,
    the text is not echoed"""
    conn = t.open()
    conn.send(encode_frame(OP_CLOSE, close_payload(1000))
              + encode_frame(OP_TEXT, b"after close"), may_fail=True)
    conn.expect_close([1000])
    conn.expect_eof(allow_reset=True)


@reg.case("§5.5.1, §1.4")
def ping_after_close_ignored(t):
    """close then a ping in one write: only the close reply, no pong"""
    conn = t.open()
    conn.send(encode_frame(OP_CLOSE, close_payload(1000))
              + encode_frame(OP_PING, b"too late"), may_fail=True)
    conn.expect_close([1000])
    conn.expect_eof(allow_reset=True)


@reg.case("§7.1.1, §5.5.1")
def server_closes_tcp_after_handshake(t):
    """after a message and the closing handshake, the server (not the client)
    closes TCP, and sends nothing else"""
    conn = t.open()
    conn.send_frame(OP_TEXT, b"last words")
    conn.expect_message(OP_TEXT, b"last words")
    conn.send_frame(OP_CLOSE, close_payload(1001, b"going away"))
    conn.expect_close([1001])
    conn.expect_eof()


CASES = reg.cases
