"""UTF-8 in text messages (Autobahn group 6): valid text of 1 to 4 byte
sequences is echoed, also when a sequence is split across fragments; any
invalid UTF-8 (RFC 3629: overlongs, surrogates, code points above U+10FFFF,
truncated sequences, stray continuation bytes) fails with 1007, also when the
bad sequence is split across fragments."""

from wsframes import OP_TEXT, Registry, encode_frame
from cases_fragmentation import fragments

reg = Registry("utf8")

KOSME = "κόσμε".encode("utf-8")  # Autobahn's classic: 2- and 3-byte sequences

VALID = [
    ("1-byte", b"A"),
    ("nul", b"\x00"),
    ("u+007f", b"\x7f"),
    ("2-byte-u+0080", b"\xc2\x80"),
    ("2-byte-u+00e9", b"\xc3\xa9"),
    ("2-byte-u+07ff", b"\xdf\xbf"),
    ("3-byte-u+0800", b"\xe0\xa0\x80"),
    ("3-byte-euro", b"\xe2\x82\xac"),
    ("3-byte-u+d7ff", b"\xed\x9f\xbf"),
    ("3-byte-u+e000", b"\xee\x80\x80"),
    ("3-byte-u+fffd", b"\xef\xbf\xbd"),
    ("u+ffff", b"\xef\xbf\xbf"),
    ("4-byte-u+10000", b"\xf0\x90\x80\x80"),
    ("4-byte-emoji", b"\xf0\x9f\x98\x80"),
    ("u+10ffff", b"\xf4\x8f\xbf\xbf"),
    ("kosme", KOSME),
    ("mixed", "a é € 😀 ж 中文".encode("utf-8")),
]

INVALID = [
    ("overlong-2-byte-nul", b"\xc0\x80"),
    ("overlong-2-byte-c1", b"\xc1\xbf"),
    ("overlong-3-byte", b"\xe0\x80\xaf"),
    ("overlong-3-byte-max", b"\xe0\x9f\xbf"),
    ("overlong-4-byte", b"\xf0\x80\x80\xaf"),
    ("overlong-4-byte-max", b"\xf0\x8f\xbf\xbf"),
    ("surrogate-high-ed-a0-80", b"\xed\xa0\x80"),
    ("surrogate-low-ed-bf-bf", b"\xed\xbf\xbf"),
    ("surrogate-pair", b"\xed\xa0\x80\xed\xb0\x80"),
    ("above-u+10ffff-f4-90-80-80", b"\xf4\x90\x80\x80"),
    ("lead-f5", b"\xf5\x80\x80\x80"),
    ("lead-f8-5-byte", b"\xf8\x88\x80\x80\x80"),
    ("lead-fc-6-byte", b"\xfc\x84\x80\x80\x80\x80"),
    ("byte-fe", b"\xfe"),
    ("byte-ff", b"\xff"),
    ("truncated-2-byte-at-end", b"abc\xc3"),
    ("truncated-3-byte-at-end", b"abc\xe2\x82"),
    ("truncated-4-byte-at-end", b"abc\xf0\x9f\x98"),
    ("truncated-then-ascii", b"\xe2\x82A"),
    ("stray-continuation-80", b"\x80"),
    ("stray-continuation-bf", b"\xbf"),
    ("stray-continuation-mid-text", b"hello\x80world"),
    ("kosme-then-surrogate", KOSME + b"\xed\xa0\x80edited"),
]

# Invalid text split across fragments: the bad sequence straddles a boundary,
# or the message is only found invalid at its last fragment.
INVALID_SPLIT = [
    ("split-surrogate", [b"abc\xed", b"\xa0\x80def"]),
    ("split-above-max", [KOSME + b"\xf4", b"\x90", b"\x80\x80"]),
    ("split-overlong", [b"\xc0", b"\x80"]),
    ("truncated-in-last-fragment", [b"ok \xe2\x82", b""]),
    ("truncated-across-fragments", [b"ok \xe2", b"\x82", b"!"]),
    ("stray-continuation-in-second", [KOSME, b"\x80", b"tail"]),
]


def echo_case(payload):
    def run(t):
        conn = t.open()
        conn.send_frame(OP_TEXT, payload)
        conn.expect_message(OP_TEXT, payload)
    return run


def invalid_case(frames):
    def run(t):
        conn = t.open()
        conn.send(frames(), may_fail=True)
        conn.expect_fail(1007)
    return run


for _name, _bytes in VALID:
    reg.add("valid-" + _name, "§5.6, §8.1",
            "valid UTF-8 %r is echoed" % _bytes, echo_case(_bytes))
for _name, _bytes in INVALID:
    reg.add("invalid-" + _name, "§8.1, §7.4.1 (1007)",
            "text %r is not UTF-8: fails with 1007" % _bytes,
            invalid_case(lambda b=_bytes: encode_frame(OP_TEXT, b)))
for _name, _parts in INVALID_SPLIT:
    reg.add("invalid-" + _name, "§5.4, §8.1, §7.4.1 (1007)",
            "fragments %r are not UTF-8 together: fails with 1007" % (_parts,),
            invalid_case(lambda p=_parts: fragments(OP_TEXT, p)))


@reg.case("§5.4, §8.1")
def valid_split_at_every_byte(t):
    """'κόσμε' and a 4-byte emoji split into two fragments at every byte
    boundary (inside sequences too) is echoed whole each time"""
    conn = t.open()
    text = KOSME + b"\xf0\x9f\x98\x80"
    for cut in range(len(text) + 1):
        conn.send(fragments(OP_TEXT, [text[:cut], text[cut:]]))
        conn.expect_message(OP_TEXT, text)


@reg.case("§5.4, §8.1")
def valid_one_byte_fragments(t):
    """valid multibyte text sent as one fragment per byte is echoed"""
    conn = t.open()
    text = "€𝄞κόσμε".encode("utf-8")
    conn.send(fragments(OP_TEXT, [bytes([b]) for b in text]))
    conn.expect_message(OP_TEXT, text)


CASES = reg.cases
