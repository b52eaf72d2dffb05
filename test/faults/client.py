"""Raw-socket WebSocket clients for the fault scenarios.

Frames are built with the conformance suite's codec (test/conformance/
wsframes.py: encode_frame masks every client frame with a fresh key).  What
is new here is a client that can be shared between threads: a background
reader thread answers pings, records data messages and the close frame,
and every write goes through one lock, so a test thread may send while the
reader answers a ping without their bytes interleaving.

With TLS (run.py --tls calls use_tls) connect() returns an ssl.SSLSocket,
handshaken, and every client above it speaks wss:// without knowing it.
raw_connect() is the bare TCP connection, for the acts that are about the
bytes under TLS (a ClientHello one byte a second, a truncated record), and
TlsBio drives a TLS session over such a socket through memory buffers, so
a scenario can hold a record's bytes in hand before sending them.

The reader thread receives while another thread sends: on an SSLSocket
that is OpenSSL's SSL_read beside SSL_write on one session, which OpenSSL
does not promise is safe in general; it holds here because the server
never sends a KeyUpdate or renegotiates (the reader's SSL_read never has
to write), the same use python3-websockets' threaded client makes.

Run as a script it is the child process of the SIGSTOP scenario:
    python3 client.py hold HOST PORT SECONDS [CAFILE]
connects (over TLS, trusting CAFILE, if given), prints "ready PORT" and
keeps answering pings until it is stopped, killed or SECONDS pass.
"""

import base64
import os
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "conformance"))
import wsframes  # noqa: E402  (the path above)

# The codec's names, for the scenarios to import from here.
OP_CONT, OP_TEXT, OP_BINARY = wsframes.OP_CONT, wsframes.OP_TEXT, wsframes.OP_BINARY
OP_CLOSE, OP_PING, OP_PONG = wsframes.OP_CLOSE, wsframes.OP_PING, wsframes.OP_PONG
encode_frame = wsframes.encode_frame

# A non-blocking send or receive that would wait: a plain socket raises
# BlockingIOError, an SSLSocket one of its two SSLWant errors.
WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)

TLS = None             # the clients' ssl.SSLContext once use_tls is called
TLS_CAFILE = None      # the certificate it trusts, for the hold child
TLS_NAME = "localhost"  # the name checked against the certificate


def use_tls(cafile):
    """From now on connect() speaks TLS, trusting only cafile (the
    server's self-signed certificate) for the name localhost."""
    global TLS, TLS_CAFILE
    TLS = ssl.create_default_context(cafile=cafile)
    TLS_CAFILE = cafile


class ClientError(Exception):
    """A client could not do what it was asked; str() says why."""


def request_head(host, port, path="/ws"):
    """A valid upgrade request and its key."""
    key = base64.b64encode(os.urandom(16)).decode()
    head = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key))
    return head.encode(), key


def connect(addr, timeout=5.0, rcvbuf=None, sndbuf=None):
    """A connection to the server, TLS handshake done when use_tls was
    called, with optional small buffers (raw_connect)."""
    sock = raw_connect(addr, timeout, rcvbuf, sndbuf)
    if TLS is None:
        return sock
    return tls_wrap(sock, addr, timeout)


def tls_wrap(sock, addr, timeout=5.0):
    """The TLS handshake on a connected socket; the SSLSocket, or
    ClientError (the socket closed)."""
    sock.settimeout(timeout)
    try:
        return TLS.wrap_socket(sock, server_hostname=TLS_NAME)
    except (OSError, ssl.SSLError) as e:
        sock.close()
        raise ClientError("TLS handshake with %s:%d: %s" % (addr[0], addr[1], e))


def raw_connect(addr, timeout=5.0, rcvbuf=None, sndbuf=None):
    """A TCP connection with optional small buffers (set before connect,
    so the window is small from the first segment)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    sock.settimeout(timeout)
    try:
        sock.connect(addr)
    except OSError as e:
        sock.close()
        raise ClientError("connect to %s:%d: %s" % (addr[0], addr[1], e))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def handshake(sock, addr, timeout=5.0):
    """Sends the upgrade request and reads the 101; returns the bytes that
    came after the response head (the start of the first frames)."""
    head, key = request_head(*addr)
    sock.settimeout(timeout)
    try:
        sock.sendall(head)
    except OSError as e:
        raise ClientError("handshake: %s" % e)
    return read_101(sock, key, timeout)


def read_101(sock, key, timeout=5.0):
    """Reads the response to an upgrade request sent with `key`; returns
    the bytes after its head.  ClientError unless it is a valid 101."""
    sock.settimeout(timeout)
    try:
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in buf:
            if time.monotonic() > deadline:
                raise socket.timeout()
            data = sock.recv(4096)
            if not data:
                raise ClientError("server closed during the handshake")
            buf += data
    except socket.timeout:
        raise ClientError("no HTTP response within %gs" % timeout)
    except OSError as e:  # ssl.SSLError too
        raise ClientError("handshake: %s" % e)
    status, rest = buf.split(b"\r\n", 1)
    if not status.startswith(b"HTTP/1.1 101"):
        raise ClientError("handshake answered %r" % status.decode("latin-1"))
    if wsframes.accept_key(key).encode() not in rest.split(b"\r\n\r\n", 1)[0]:
        raise ClientError("wrong Sec-WebSocket-Accept")
    return buf.split(b"\r\n\r\n", 1)[1]


class TlsBio:
    """A TLS client session over a raw socket through memory buffers
    (ssl.MemoryBIO): seal() returns the records for some plaintext without
    sending them, so a scenario can send half a record, or bytes of its
    own between records.  recv() and settimeout() mirror a socket's, so
    read_101 reads an upgrade response through it.  One thread only."""

    def __init__(self, sock, timeout=5.0):
        self.sock = sock
        self.timeout = timeout
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = TLS.wrap_bio(self._in, self._out, server_hostname=TLS_NAME)

    def hello(self):
        """The ClientHello's bytes, not sent."""
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self._out.read()

    def handshake(self):
        """The whole TLS handshake, within the timeout; ClientError if the
        server closes or says nothing."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.obj.do_handshake()
                self.sock.sendall(self._out.read())  # the client's Finished
                return
            except ssl.SSLWantReadError:
                self.sock.sendall(self._out.read())
                if not self._feed(deadline):
                    raise ClientError("the server closed during the TLS handshake")
            except ssl.SSLError as e:
                raise ClientError("TLS handshake: %s" % e)

    def _feed(self, deadline):
        """Moves what the socket has into the session; False at EOF."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise ClientError("TLS: nothing from the server within %gs" % self.timeout)
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise ClientError("TLS: nothing from the server within %gs" % self.timeout)
        if not data:
            self._in.write_eof()
            return False
        self._in.write(data)
        return True

    def seal(self, data):
        """The TLS records that carry data, not sent."""
        self.obj.write(data)
        return self._out.read()

    def settimeout(self, timeout):
        self.timeout = timeout

    def recv(self, n):
        """Plaintext, b"" once the server closed (with or without its
        close_notify)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                if not self._feed(deadline):
                    return b""
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    def upgrade(self, addr):
        """TLS handshake, then the WebSocket upgrade through the session;
        returns the plaintext that followed the 101."""
        self.handshake()
        head, key = request_head(*addr)
        self.sock.sendall(self.seal(head))
        return read_101(self, key, self.timeout)


def reset(sock):
    """Closes with SO_LINGER 0: the kernel sends RST instead of FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def parse_frame(buf):
    """(fin, opcode, payload, length used) for the first server frame in buf,
    or None if it is incomplete.  Server frames are never masked."""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    n, pos = b1 & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, pos = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, pos = struct.unpack("!Q", buf[2:10])[0], 10
    if b1 & 0x80:
        raise ClientError("server sent a masked frame")
    if len(buf) < pos + n:
        return None
    return bool(b0 & 0x80), b0 & 0x0F, bytes(buf[pos:pos + n]), pos + n


class Client:
    """One WebSocket client with a reader thread (see the top).

    messages: (opcode, payload) of every data message, in order (fragments
    joined).  close_code: the code of the server's close frame (None: none
    came, 1005: empty body).  eof: why reading stopped ("eof", "reset",
    ...), None while it goes on."""

    def __init__(self, addr, timeout=5.0, rcvbuf=None, label="client",
                 sock=None, early=b""):
        """Connects and handshakes, or adopts `sock`, already upgraded,
        with the bytes `early` that followed its 101."""
        self.addr = addr
        self.label = label
        self.timeout = timeout
        if sock is None:
            sock = connect(addr, timeout, rcvbuf)
            try:
                early = handshake(sock, addr, timeout)
            except ClientError:
                sock.close()
                raise
        self.sock = sock
        self.local_port = self.sock.getsockname()[1]
        self.messages = []
        self.pings = 0
        self.close_code = None
        self.eof = None
        self._buf = bytearray(early)
        self._frags = []
        self._frag_op = None
        self._wlock = threading.Lock()
        self._cond = threading.Condition()
        self._closing = False
        self.sock.settimeout(None)
        self._thread = threading.Thread(target=self._read_loop, daemon=True,
                                        name="reader-" + label)
        self._thread.start()

    # -- writing (any thread)

    def send_raw(self, data):
        with self._wlock:
            self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", fin=True):
        self.send_raw(encode_frame(opcode, payload, fin))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode("utf-8"))

    # -- reading (the reader thread)

    def _read_loop(self):
        try:
            while True:
                while True:
                    frame = parse_frame(self._buf)
                    if frame is None:
                        break
                    del self._buf[:frame[3]]
                    if self._on_frame(*frame[:3]):
                        self._finish("closed")
                        return
                data = self.sock.recv(262144)
                if not data:
                    self._finish("eof")
                    return
                self._buf += data
        except ConnectionResetError:
            self._finish("reset")
        except ssl.SSLError as e:
            self._finish("tls error: %s" % e)
        except (OSError, ClientError) as e:
            self._finish("error: %s" % e)

    def _on_frame(self, fin, opcode, payload):
        """Handles one frame; True once the close handshake is complete."""
        if opcode == OP_PING:
            self.pings += 1
            try:
                self.send_frame(OP_PONG, payload)
            except OSError:
                pass
            return False
        if opcode == OP_CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            with self._cond:
                self.close_code = code
                self._cond.notify_all()
            if not self._closing:  # echo, as a client must
                try:
                    self.send_frame(OP_CLOSE, payload[:2])
                except OSError:
                    pass
            return False  # the server closes TCP next: wait for EOF
        if opcode == OP_PONG:
            return False
        if opcode != OP_CONT:
            self._frag_op = opcode
        self._frags.append(payload)
        if fin:
            with self._cond:
                self.messages.append((self._frag_op, b"".join(self._frags)))
                self._cond.notify_all()
            self._frags = []
        return False

    def _finish(self, why):
        with self._cond:
            self.eof = why
            self._cond.notify_all()

    # -- waiting (any thread)

    def wait_for(self, pred, timeout):
        """Waits until pred(self) holds; returns whether it did."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def wait_messages(self, n, timeout):
        """True once n messages arrived (False at the timeout or at EOF)."""
        return self.wait_for(lambda c: len(c.messages) >= n or c.eof, timeout) \
            and len(self.messages) >= n

    def texts(self):
        with self._cond:
            return [p.decode("utf-8", "replace") for op, p in self.messages if op == OP_TEXT]

    # -- closing

    def close(self, code=1000, timeout=None):
        """The close handshake: our close, the server's echo, its FIN.
        Returns the code the server answered with (None if none came)."""
        timeout = self.timeout if timeout is None else timeout
        self._closing = True
        try:
            self.send_frame(OP_CLOSE, struct.pack("!H", code))
        except OSError:
            pass
        self.wait_for(lambda c: c.eof is not None, timeout)
        self.sock.close()
        self._thread.join(1.0)
        return self.close_code

    def abort(self):
        """Resets the connection (RST)."""
        reset(self.sock)
        self._thread.join(1.0)


def hold(host, port, seconds, cafile=None):
    """The SIGSTOP scenario's child: a live client until stopped."""
    if cafile:
        use_tls(cafile)
    c = Client((host, int(port)), label="held")
    print("ready %d" % c.local_port, flush=True)
    c.wait_for(lambda x: x.eof is not None, float(seconds))
    c.abort()


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "hold":
        hold(*sys.argv[2:])
    else:
        sys.exit("usage: client.py hold HOST PORT SECONDS [CAFILE]")
