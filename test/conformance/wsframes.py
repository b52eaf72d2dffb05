"""The client side of RFC 6455 for the conformance suite.

A frame codec, a connection that reads frames and HTTP responses with a
timeout, and the expectations every case is built from (expect_message,
expect_close, expect_eof, expect_fail). A failed expectation raises Fail with
a sentence that says what the server did instead.

The codec is lax about what it sends (a case may build any frame, valid or
not: reserved bits, reserved opcodes, oversized control frames) and strict
about what it receives: a server frame must be unmasked (RFC 6455 §5.1), use
the shortest length encoding (§5.2) and, if it is a control frame, be final
and at most 125 bytes (§5.5). Client frames are always masked with a fresh
random key (§5.3).

Every socket has a timeout (Target.timeout, 5 s by default), so a server that
hangs fails one case instead of hanging the suite.

Named wsframes, not wsproto: that is a PyPI package, which a module of the
same name on sys.path would shadow.
"""

import base64
import hashlib
import os
import select
import socket
import ssl
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
OP_NAMES = {OP_CONT: "continuation", OP_TEXT: "text", OP_BINARY: "binary",
            OP_CLOSE: "close", OP_PING: "ping", OP_PONG: "pong"}

MAX_HTTP_HEAD = 64 * 1024  # the most of a response head we are willing to read


class Fail(Exception):
    """An expectation was not met; str() says what the server did."""


# ---------------------------------------------------------------- the codec

def apply_mask(data, key):
    """XOR data with the 4-byte key repeated (§5.3); masking and unmasking
    are the same operation."""
    n = len(data)
    if n == 0:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    x = int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")
    return x.to_bytes(n, "big")


def encode_frame(opcode, payload=b"", fin=True, rsv=0, masked=True):
    """One frame as bytes (§5.2). rsv is the 3-bit RSV1..RSV3 field
    (4 = RSV1, 2 = RSV2, 1 = RSV3). A client frame (masked=True) gets a
    fresh random masking key; masked=False builds what a server must send."""
    b0 = (0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0x0F)
    mbit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not masked:
        return head + bytes(payload)
    key = os.urandom(4)
    return head + key + apply_mask(bytes(payload), key)


def close_payload(code=None, reason=b""):
    """The body of a close frame (§5.5.1): empty, or a 2-byte code then a
    reason (bytes, sent as given, so a case can send invalid UTF-8)."""
    if code is None:
        return b""
    return struct.pack("!H", code) + reason


class Frame:
    """A frame received from the server; raw is its exact bytes on the wire."""

    def __init__(self, b0, b1, payload, raw):
        self.fin = bool(b0 & 0x80)
        self.rsv = (b0 >> 4) & 7
        self.opcode = b0 & 0x0F
        self.masked = bool(b1 & 0x80)
        self.payload = payload
        self.raw = raw

    def close_code(self):
        """The status code of a close frame, or None when its body is empty."""
        if len(self.payload) < 2:
            return None
        return struct.unpack("!H", self.payload[:2])[0]

    def describe(self):
        """A short human description: 'close frame 1002 "reason"', ..."""
        name = OP_NAMES.get(self.opcode, "opcode-%d" % self.opcode)
        flags = "" if self.fin else " (FIN=0)"
        if self.opcode == OP_CLOSE:
            if not self.payload:
                return "close frame with an empty body" + flags
            reason = self.payload[2:].decode("utf-8", "replace")
            return "close frame %s %r%s" % (self.close_code(), reason, flags)
        return "%s frame of %d bytes%s %s" % (name, len(self.payload), flags,
                                              preview(self.payload))


def preview(data, limit=24):
    """The first bytes of data, for failure messages."""
    if len(data) <= limit:
        return repr(bytes(data))
    return repr(bytes(data[:limit]))[:-1] + "...'"


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2 step 5.4)."""
    digest = hashlib.sha1(key.encode("ascii") + GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def new_key(nbytes=16):
    """A Sec-WebSocket-Key: base64 of nbytes random bytes (16 is valid)."""
    return base64.b64encode(os.urandom(nbytes)).decode("ascii")


# ------------------------------------------------------------ HTTP messages

def build_request(headers, method="GET", path="/ws", version="HTTP/1.1"):
    """A request head from (name, value) pairs, in order, CRLF-terminated."""
    lines = ["%s %s %s" % (method, path, version)]
    lines += ["%s: %s" % (n, v) for n, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def upgrade_headers(host, key, replace=None, add=()):
    """The headers of a valid upgrade request (§4.1), then edited: replace
    maps a header name (any case) to a new value, or to None to drop it;
    add appends more pairs."""
    base = [("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]
    replace = {k.lower(): v for k, v in (replace or {}).items()}
    out = []
    for name, value in base:
        if name.lower() in replace:
            value = replace[name.lower()]
        if value is not None:
            out.append((name, value))
    return out + list(add)


class Response:
    """A parsed HTTP response head and body."""

    def __init__(self, status_line, headers, body):
        self.status_line = status_line
        parts = status_line.split(" ", 2)
        self.version = parts[0]
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        self.headers = headers  # list of (lowercase name, value)
        self.body = body

    def header(self, name):
        """The values of a header (case-insensitive name), joined by ', ',
        or None when it is absent."""
        vals = [v for n, v in self.headers if n == name.lower()]
        return ", ".join(vals) if vals else None

    def has_token(self, name, token):
        """Whether a comma-separated header lists token (case-insensitive)."""
        value = self.header(name) or ""
        return token.lower() in [t.strip().lower() for t in value.split(",")]


def check_upgrade(resp, key):
    """Raise Fail unless resp accepts the upgrade for key (§4.2.2 step 5):
    status 101, Upgrade: websocket, Connection: Upgrade, the right
    Sec-WebSocket-Accept, and no extension the client did not ask for."""
    if resp.status != 101 or resp.version != "HTTP/1.1":
        raise Fail("expected 'HTTP/1.1 101', got %r" % resp.status_line)
    if not resp.has_token("upgrade", "websocket"):
        raise Fail("101 without 'Upgrade: websocket' (got %r)" % resp.header("upgrade"))
    if not resp.has_token("connection", "upgrade"):
        raise Fail("101 without 'Connection: Upgrade' (got %r)" % resp.header("connection"))
    want = accept_key(key)
    if resp.header("sec-websocket-accept") != want:
        raise Fail("Sec-WebSocket-Accept is %r, expected %r"
                   % (resp.header("sec-websocket-accept"), want))
    if resp.header("sec-websocket-extensions") is not None:
        raise Fail("101 negotiates an extension nobody asked for: %r"
                   % resp.header("sec-websocket-extensions"))


# -------------------------------------------------------------- connection

class Conn:
    """One TCP connection to the server, with a receive buffer shared by the
    HTTP and the frame readers (bytes after a 101 are the first frames)."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.buf = bytearray()
        self.key = None
        self.server_pings = 0

    def close(self):
        """Drop the TCP connection (no closing handshake)."""
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending

    def send(self, data, may_fail=False):
        """Send all of data. may_fail: the server may legitimately have
        closed already (a case that expects it to fail the connection), so
        a reset or broken pipe is not an error; what it sent is still read."""
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise Fail("send of %d bytes timed out after %gs (server not reading)"
                       % (len(data), self.timeout))
        except (BrokenPipeError, ConnectionResetError) as e:
            if not may_fail:
                raise Fail("send failed: %s (the server closed the connection)" % e)

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, may_fail=False):
        """Send one masked client frame."""
        self.send(encode_frame(opcode, payload, fin, rsv), may_fail)

    def send_slowly(self, data, chunk=1, pause=0.0005):
        """Send data in chunk-byte writes, each its own segment (TCP_NODELAY)."""
        for i in range(0, len(data), chunk):
            self.send(data[i:i + chunk])
            if pause:
                time.sleep(pause)

    # -- receiving

    def _recv_some(self, what):
        """Append at least one byte to buf; Fail on timeout, EOF or reset."""
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Fail("timed out after %gs waiting for %s" % (self.timeout, what))
        except ConnectionResetError:
            raise Fail("connection reset by the server while waiting for %s" % what)
        if not data:
            tail = " (after %d stray bytes)" % len(self.buf) if self.buf else ""
            raise Fail("server closed TCP while we waited for %s%s" % (what, tail))
        self.buf += data

    def _need(self, n, what):
        while len(self.buf) < n:
            self._recv_some(what)

    def _take(self, n):
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def recv_frame(self, what="a frame"):
        """Read one server frame. Server pings (keepalives) are answered and
        skipped; a frame that breaks §5.1/§5.2/§5.5 raises Fail."""
        while True:
            frame = self._recv_one(what)
            if frame.opcode != OP_PING:
                return frame
            self.server_pings += 1
            self.send(encode_frame(OP_PONG, frame.payload), may_fail=True)

    def _recv_one(self, what):
        self._need(2, what)
        b0, b1 = self.buf[0], self.buf[1]
        n, hlen = b1 & 0x7F, 2
        if n == 126:
            self._need(4, what)
            n, hlen = struct.unpack("!H", self.buf[2:4])[0], 4
            if n < 126:
                raise Fail("server frame uses a 16-bit length for %d bytes (§5.2)" % n)
        elif n == 127:
            self._need(10, what)
            n, hlen = struct.unpack("!Q", self.buf[2:10])[0], 10
            if n < 1 << 16:
                raise Fail("server frame uses a 64-bit length for %d bytes (§5.2)" % n)
        if b1 & 0x80:
            raise Fail("server sent a masked frame (§5.1 forbids it)")
        self._need(hlen + n, what)
        raw = self._take(hlen + n)
        frame = Frame(b0, b1, raw[hlen:], raw)
        if frame.rsv:
            raise Fail("server frame has RSV bits %d set with no extension (§5.2)" % frame.rsv)
        if frame.opcode >= 8 and (not frame.fin or n > 125):
            raise Fail("server sent an invalid control frame: %s (§5.5)" % frame.describe())
        return frame

    def read_http_response(self, allow_reset=False):
        """Read a response head and its body (Content-Length, or up to EOF
        for a non-101 without one). Bytes after it stay in buf. allow_reset:
        a reset after the status line ends the response instead of failing."""
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HTTP_HEAD:
                raise Fail("response head longer than %d bytes" % MAX_HTTP_HEAD)
            try:
                self._recv_some("an HTTP response")
            except Fail:
                if allow_reset and b"\r\n" in self.buf:
                    return self._parse_head(bytes(self.buf) + b"\r\n", body=b"")
                raise
        head_len = self.buf.index(b"\r\n\r\n") + 4
        resp = self._parse_head(self._take(head_len), body=b"")
        if resp.status == 101:
            return resp
        length = resp.header("content-length")
        if length is None:
            resp.body = self._read_to_eof(allow_reset)
        elif length.strip().isdigit():
            try:
                self._need(int(length), "the response body")
            except Fail:
                if not allow_reset:
                    raise
            resp.body = self._take(int(length))
        return resp

    def _read_to_eof(self, allow_reset):
        """A body without Content-Length: everything up to the server's close."""
        while True:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise Fail("response has no Content-Length and the server did not "
                           "close within %gs" % self.timeout)
            except ConnectionResetError:
                if not allow_reset:
                    raise Fail("connection reset while reading a response body")
                data = b""
            if not data:
                return self._take(len(self.buf))
            self.buf += data

    @staticmethod
    def _parse_head(head, body):
        lines = head.decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip().lower(), value.strip()))
        return Response(lines[0], headers, body)

    # -- expectations

    def expect_message(self, opcode, payload):
        """The next frame is exactly the unmasked, final frame a server
        sends for this message (byte-exact header and payload)."""
        name = OP_NAMES[opcode]
        frame = self.recv_frame("the %s echo of %d bytes" % (name, len(payload)))
        want = encode_frame(opcode, payload, masked=False)
        if frame.raw == want:
            return
        if frame.opcode != opcode or not frame.fin:
            raise Fail("expected a final %s frame of %d bytes, got %s"
                       % (name, len(payload), frame.describe()))
        if frame.payload != payload:
            raise Fail("%s echo differs: got %d bytes %s, expected %d bytes %s (first "
                       "difference at byte %d)" % (name, len(frame.payload),
                       preview(frame.payload), len(payload), preview(payload),
                       first_difference(frame.payload, payload)))
        raise Fail("frame header differs: got %r, expected %r"
                   % (frame.raw[:10], want[:10]))

    def expect_pong(self, payload):
        """The next frame is a pong carrying exactly payload (§5.5.3)."""
        frame = self.recv_frame("a pong")
        if frame.opcode != OP_PONG:
            raise Fail("expected a pong carrying %s, got %s" % (preview(payload), frame.describe()))
        if frame.payload != payload:
            raise Fail("pong payload %s differs from the ping's %s"
                       % (preview(frame.payload), preview(payload)))

    def expect_close(self, codes):
        """The next frame is a close whose code is in codes (None stands for
        an empty body); its body must be well formed (§5.5.1, §7.4)."""
        frame = self.recv_frame("a close frame")
        wanted = " or ".join("an empty close" if c is None else str(c) for c in codes)
        if frame.opcode != OP_CLOSE:
            raise Fail("expected close %s, got %s" % (wanted, frame.describe()))
        if len(frame.payload) == 1:
            raise Fail("server close frame has a 1-byte body (§5.5.1)")
        try:
            frame.payload[2:].decode("utf-8")
        except UnicodeDecodeError:
            raise Fail("server close reason is not UTF-8: %r" % frame.payload[2:])
        if frame.close_code() not in codes:
            raise Fail("expected close %s, got %s" % (wanted, frame.describe()))
        return frame

    def expect_eof(self, allow_reset=False):
        """The server closes TCP next and sends nothing more. allow_reset:
        the server may have had unread bytes from us, so a reset (RST) is as
        good as an orderly FIN."""
        if self.buf:
            raise Fail("expected TCP close, got %d more bytes %s"
                       % (len(self.buf), preview(self.buf)))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Fail("server did not close TCP within %gs" % self.timeout)
        except ConnectionResetError:
            if allow_reset:
                return
            raise Fail("connection reset instead of an orderly TCP close")
        if data:
            self.buf += data
            raise Fail("expected TCP close, got more data: %s" % self._describe_buf())

    def _describe_buf(self):
        try:
            return self.recv_frame().describe()
        except Fail:
            return preview(self.buf)

    def expect_fail(self, code):
        """The server fails the connection (§7.1.7): a close frame with code
        as the next frame, then TCP closes (a reset is fine: it may not have
        read all we sent)."""
        self.expect_close([code])
        self.expect_eof(allow_reset=True)


def first_difference(a, b):
    """Index of the first byte where a and b differ."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


# ------------------------------------------------------------------ target

class Target:
    """The server under test: where it listens and how long to wait. Opens
    connections for one case and closes them all when the case ends."""

    def __init__(self, host, port, path="/ws", timeout=5.0, max_message=65536,
                 tls=None):
        self.host, self.port, self.path = host, port, path
        self.timeout = timeout
        self.max_message = max_message
        self.tls = tls  # an ssl.SSLContext: every connection over TLS
        self.conns = []

    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.port)

    def connect(self):
        """A TCP connection, nothing sent yet."""
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:
            raise Fail("cannot connect to %s: %s" % (self.hostport, e))
        sock.settimeout(self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_hostname="localhost")
            except (OSError, ssl.SSLError) as e:
                sock.close()
                raise Fail("TLS handshake with %s failed: %s" % (self.hostport, e))
        conn = Conn(sock, self.timeout)
        self.conns.append(conn)
        return conn

    def request(self, headers, method="GET", path=None, version="HTTP/1.1", tail=b""):
        """Send one request (plus tail bytes in the same write) on a new
        connection; return the connection and the server's response."""
        conn = self.connect()
        conn.send(build_request(headers, method, path or self.path, version) + tail)
        return conn, conn.read_http_response()

    def open(self, tail=b""):
        """A WebSocket connection after a checked handshake (§4)."""
        key = new_key()
        conn, resp = self.request(upgrade_headers(self.hostport, key), tail=tail)
        check_upgrade(resp, key)
        conn.key = key
        return conn

    def close_all(self):
        """Drop every connection opened by the case that just ran."""
        for conn in self.conns:
            conn.close()
        self.conns = []


def send_while_reading(conn, data, chunk=65536):
    """Send data but stop as soon as the server answers or goes away; for
    requests so large that the server may reject them before reading it all.
    Returns the number of bytes sent."""
    sent, sock = 0, conn.sock
    deadline = time.monotonic() + conn.timeout
    while sent < len(data):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("server neither read the request nor answered within %gs"
                       % conn.timeout)
        readable, writable, _ = select.select([sock], [sock], [], left)
        if readable:
            break
        if writable:
            try:
                sent += sock.send(data[sent:sent + chunk])
            except (BrokenPipeError, ConnectionResetError):
                break
            deadline = time.monotonic() + conn.timeout
    return sent


class Registry:
    """The cases of one group, in order. A case is (group, name, rfc, doc, fn)
    and fn(target) raises Fail when the server misbehaves."""

    def __init__(self, group):
        self.group = group
        self.cases = []

    def add(self, name, rfc, doc, fn):
        self.cases.append(Case(self.group, name, rfc, doc, fn))

    def case(self, rfc):
        """Decorator: the function name (underscores as dashes) names the
        case, its docstring describes it."""
        def register(fn):
            name = fn.__name__.lstrip("_").replace("_", "-")
            self.add(name, rfc, (fn.__doc__ or "").strip(), fn)
            return fn
        return register


class Case:
    def __init__(self, group, name, rfc, doc, fn):
        self.group, self.name, self.rfc, self.doc, self.fn = group, name, rfc, doc, fn

    @property
    def id(self):
        return "%s/%s" % (self.group, self.name)
