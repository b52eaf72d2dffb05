"""The opening handshake (RFC 6455 §4) and the server's other routes.

A valid upgrade gets 101 with the right Sec-WebSocket-Accept; each request
§4.2.1 says to refuse gets its status (400, 403, 426, 431) and the server
then closes the connection; so does a header that must be single, repeated.
Bytes sent right after the request head are the first frame."""

import base64
import json

from wsframes import (Fail, OP_TEXT, Registry, accept_key, build_request,
                     check_upgrade, encode_frame, new_key, send_while_reading,
                     upgrade_headers)

reg = Registry("handshake")

RFC_KEY, RFC_ACCEPT = "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # §1.3


def expect_status(resp, status):
    if resp.status != status:
        raise Fail("expected %d, got %r" % (status, resp.status_line))


def upgrade_case(replace=None, add=(), key=None):
    """A request that must be accepted: 101, then a message is echoed."""
    def run(t):
        k = key or new_key()
        conn, resp = t.request(upgrade_headers(t.hostport, k, replace, add))
        check_upgrade(resp, k)
        conn.send_frame(OP_TEXT, b"upgraded")
        conn.expect_message(OP_TEXT, b"upgraded")
    return run


def reject_case(status, replace=None, add=(), version="HTTP/1.1", key=None):
    """A request that must be refused with status, then the server closes."""
    def run(t):
        headers = upgrade_headers(t.hostport, key or new_key(), replace, add)
        conn, resp = t.request(headers, version=version)
        expect_status(resp, status)
        if status == 426 and resp.header("sec-websocket-version") != "13":
            raise Fail("426 without 'Sec-WebSocket-Version: 13' (got %r)"
                       % resp.header("sec-websocket-version"))
        conn.expect_eof(allow_reset=True)
    return run


@reg.case("§4.2.2")
def valid_upgrade(t):
    """a valid request gets 101 with Upgrade, Connection and the right
    Sec-WebSocket-Accept, and no extension"""
    upgrade_case()(t)


@reg.case("§1.3, §4.2.2")
def rfc_example_key(t):
    """the RFC's sample key gets the RFC's sample accept value"""
    _, resp = t.request(upgrade_headers(t.hostport, RFC_KEY))
    if accept_key(RFC_KEY) != RFC_ACCEPT:
        raise Fail("the suite's own accept_key() is wrong")
    check_upgrade(resp, RFC_KEY)


class _LowerCaseTarget:
    """Wraps a Target so its upgrade requests use lower-case header names
    and a mixed-case Upgrade value."""

    def __init__(self, t):
        self.t, self.hostport = t, t.hostport

    def request(self, headers, **kw):
        lowered = [(n.lower(), "WebSocket" if n == "Upgrade" else v) for n, v in headers]
        return self.t.request(lowered, **kw)


reg.add("connection-token-list", "§4.2.1 item 4",
        "'Connection: keep-alive, Upgrade' is accepted",
        upgrade_case(replace={"connection": "keep-alive, Upgrade"}))
reg.add("header-names-any-case", "§4.2.1, RFC 9110 §5.1",
        "lower-case header names and 'Upgrade: WebSocket' are accepted",
        lambda t: upgrade_case()(_LowerCaseTarget(t)))
reg.add("origin-matching-host", "§4.2.1 item 7, §10.2",
        "an Origin that matches Host is accepted",
        lambda t: upgrade_case(add=[("Origin", "http://" + t.hostport)])(t))
reg.add("extension-not-negotiated", "§4.2.2, §9.1",
        "a request offering permessage-deflate gets 101 with no extension",
        upgrade_case(add=[("Sec-WebSocket-Extensions", "permessage-deflate")]))


reg.add("http-1.0", "§4.2.1 item 1",
        "an upgrade request over HTTP/1.0 gets 400", reject_case(400, version="HTTP/1.0"))
reg.add("no-host", "§4.2.1 item 2", "a request without Host gets 400",
        reject_case(400, replace={"host": None}))
reg.add("no-upgrade", "§4.2.1 item 3", "a request without Upgrade gets 400",
        reject_case(400, replace={"upgrade": None}))
reg.add("wrong-upgrade", "§4.2.1 item 3", "'Upgrade: h2c' gets 400",
        reject_case(400, replace={"upgrade": "h2c"}))
reg.add("no-connection", "§4.2.1 item 4", "a request without Connection gets 400",
        reject_case(400, replace={"connection": None}))
reg.add("wrong-connection", "§4.2.1 item 4", "'Connection: keep-alive' gets 400",
        reject_case(400, replace={"connection": "keep-alive"}))
reg.add("no-key", "§4.2.1 item 5", "a request without Sec-WebSocket-Key gets 400",
        reject_case(400, replace={"sec-websocket-key": None}))
for _n in (15, 17):
    reg.add("key-%d-bytes" % _n, "§4.2.1 item 5",
            "a key that is base64 of %d bytes (not 16) gets 400" % _n,
            reject_case(400, key=base64.b64encode(b"k" * _n).decode()))
reg.add("key-not-base64", "§4.2.1 item 5", "a 24-character key that is not base64 gets 400",
        reject_case(400, key="!!!!not-base64-at-all!!="))
for _v in ("8", "12", "14"):
    reg.add("version-%s" % _v, "§4.2.1 item 6, §4.4",
            "Sec-WebSocket-Version %s gets 426 with 'Sec-WebSocket-Version: 13'" % _v,
            reject_case(426, replace={"sec-websocket-version": _v}))
reg.add("origin-mismatch", "§4.2.1 item 7, §10.2",
        "an Origin that does not match Host gets 403",
        reject_case(403, add=[("Origin", "http://evil.example")]))
reg.add("repeated-version", "§11.3.5",
        "a second Sec-WebSocket-Version (13, then 8) gets 400",
        reject_case(400, add=[("Sec-WebSocket-Version", "8")]))
reg.add("repeated-key", "§11.3.1", "a second Sec-WebSocket-Key gets 400",
        reject_case(400, add=[("Sec-WebSocket-Key", new_key())]))
reg.add("repeated-host", "§4.2.1 item 2, RFC 9112 §3.2",
        "a second Host gets 400",
        lambda t: reject_case(400, add=[("Host", t.hostport)])(t))
reg.add("repeated-origin", "§4.2.1 item 7, RFC 6454 §7.3",
        "a matching Origin followed by a foreign one gets 400",
        lambda t: reject_case(400, add=[("Origin", "http://" + t.hostport),
                                        ("Origin", "http://evil.example")])(t))
reg.add("header-block-9-kib", "§4.2.1, RFC 6585 §5 (431)",
        "a 9 KiB header block (over 8 KiB) gets 431",
        reject_case(431, add=[("X-Filler", "f" * 9 * 1024)]))
reg.add("header-block-6-kib", "§4.2.1",
        "a 6 KiB header block (under 8 KiB) is accepted",
        upgrade_case(add=[("X-Filler", "f" * 6 * 1024)]))


@reg.case("§4.2.1, RFC 6585 §5 (431)")
def header_block_1_mib(t):
    """a 1 MiB header block gets a 431 status line (a reset after it is
    fine: the server need not read it all); the runner notices a crash"""
    pad = [("X-Pad-%d" % i, "p" * 1000) for i in range(1024)]
    conn = t.connect()
    send_while_reading(conn, build_request(upgrade_headers(t.hostport, new_key(), add=pad)))
    resp = conn.read_http_response(allow_reset=True)
    expect_status(resp, 431)


def garbage_case(data):
    def run(t):
        conn = t.connect()
        conn.send(data, may_fail=True)
        resp = conn.read_http_response(allow_reset=True)
        expect_status(resp, 400)
        conn.expect_eof(allow_reset=True)
    return run


reg.add("garbage-binary", "§4.2.1, RFC 9112 §3",
        "binary garbage (a TLS-like hello) ending in CRLFCRLF gets 400",
        garbage_case(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"
                     + b"\xde\xad\xbe\xef" * 8 + b"\r\n\r\n"))
reg.add("garbage-request-line", "§4.2.1, RFC 9112 §3",
        "a request line that is one word gets 400",
        garbage_case(b"HELLO\r\nHost: x\r\n\r\n"))


@reg.case("§4.1, §4.2.1")
def request_in_1_byte_writes(t):
    """an upgrade request written one byte at a time gets 101"""
    key = new_key()
    conn = t.connect()
    conn.send_slowly(build_request(upgrade_headers(t.hostport, key)), chunk=1)
    check_upgrade(conn.read_http_response(), key)
    conn.send_frame(OP_TEXT, b"slow")
    conn.expect_message(OP_TEXT, b"slow")


@reg.case("§4.1, §5.2")
def frame_in_request_packet(t):
    """a text frame sent in the same write as the request head is the first
    frame: it is echoed after the 101"""
    conn = t.open(tail=encode_frame(OP_TEXT, b"early bird"))
    conn.expect_message(OP_TEXT, b"early bird")


@reg.case("§4.1 item 2, RFC 9110 §15.5.6")
def post_ws_405(t):
    """POST /ws (with upgrade headers) gets 405"""
    headers = upgrade_headers(t.hostport, new_key(), add=[("Content-Length", "0")])
    _, resp = t.request(headers, method="POST")
    expect_status(resp, 405)


@reg.case("RFC 9110 §15.5.6")
def post_405_allow_header(t):
    """a 405 names the allowed method: 'Allow: GET'"""
    _, resp = t.request([("Host", t.hostport), ("Content-Length", "0")],
                        method="POST", path="/")
    expect_status(resp, 405)
    if not resp.has_token("allow", "GET"):
        raise Fail("405 without 'Allow: GET' (got %r)" % resp.header("allow"))


@reg.case("RFC 9110 §15.5.5")
def get_unknown_404(t):
    """GET of an unknown path gets 404"""
    _, resp = t.request([("Host", t.hostport)], path="/no-such-page")
    expect_status(resp, 404)


@reg.case("RFC 9110 §15.3.1")
def get_root_html(t):
    """GET / gets 200 with a text/html body"""
    _, resp = t.request([("Host", t.hostport)], path="/")
    expect_status(resp, 200)
    ctype = resp.header("content-type") or ""
    if not ctype.lower().startswith("text/html"):
        raise Fail("GET / has Content-Type %r, expected text/html" % ctype)
    if b"<" not in resp.body:
        raise Fail("GET / body is not HTML: %r" % resp.body[:60])


@reg.case("RFC 9110 §15.3.1")
def get_stats_json(t):
    """GET /stats gets 200 with a JSON object"""
    _, resp = t.request([("Host", t.hostport)], path="/stats")
    expect_status(resp, 200)
    try:
        doc = json.loads(resp.body.decode("utf-8"))
    except ValueError as e:
        raise Fail("GET /stats body is not JSON (%s): %r" % (e, resp.body[:80]))
    if not isinstance(doc, dict):
        raise Fail("GET /stats is JSON but not an object: %r" % resp.body[:80])


CASES = reg.cases
