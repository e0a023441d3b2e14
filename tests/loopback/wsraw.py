"""Raw WebSocket frames over a socket, Python stdlib only: enough to play a correct peer or
a misbehaving one in the loopback tests. Every read has a deadline.
With WSRAW_TLS_CA=FILE in the environment, dial() (and so connect()) speaks TLS, verifying
the server against that CA and its host name: the same checks over wss:// and https."""
import base64
import hashlib
import os
import socket
import ssl
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10


class Fail(Exception):
    """A check failed: the message says what was expected and what came."""


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def frame(op, payload=b"", fin=True, mask=None, rsv=0):
    """One frame. mask: None (unmasked) or 4 bytes."""
    head = bytes([(0x80 if fin else 0) | rsv | op])
    n = len(payload)
    bit = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask is None:
        return head + payload
    return head + mask + xor(payload, mask)


def xor(data, mask):
    if not data:
        return b""
    key = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


def close_body(code, reason=b""):
    return struct.pack("!H", code) + reason


class Peer:
    """One end of a connection. client=True masks what it sends (as a client must)."""

    def __init__(self, sock, client):
        self.sock, self.client, self.buf = sock, client, b""
        self.controls = []  # (op, payload) of control frames seen by read_message

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("timed out waiting for data")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 16)
        except socket.timeout:
            raise Fail("timed out waiting for data") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise EOFError
        self.buf += chunk

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self, timeout=5):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise Fail("no end of head in 64 KiB")
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head.decode("latin-1")

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, op, payload=b"", fin=True, rsv=0, masked=None):
        masked = self.client if masked is None else masked
        self.send(frame(op, payload, fin, os.urandom(4) if masked else None, rsv))

    def read_frame(self, timeout=5):
        """(fin, rsv, op, payload, masked); raises EOFError when the peer closed TCP."""
        deadline = time.monotonic() + timeout
        b0, b1 = self.read_exact(2, deadline)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read_exact(2, deadline))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(8, deadline))[0]
        mask = self.read_exact(4, deadline) if b1 & 0x80 else None
        payload = self.read_exact(n, deadline)
        if mask:
            payload = xor(payload, mask)
        return bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, payload, mask is not None

    def read_message(self, timeout=5):
        """The next data message (op, payload) or a close (CLOSE, body); control frames are
        kept in self.controls. Checks the masking rule for the role."""
        deadline = time.monotonic() + timeout
        op0, parts = None, []
        while True:
            fin, rsv, op, payload, masked = self.read_frame(max(0.01, deadline - time.monotonic()))
            if masked != (not self.client):
                raise Fail("frame %s masked" % ("is" if masked else "is not"))
            if rsv:
                raise Fail("RSV bits set: 0x%02x" % rsv)
            if op == CLOSE:
                return CLOSE, payload
            if op >= 8:
                self.controls.append((op, payload))
                continue
            if op0 is None:
                if op == CONT:
                    raise Fail("continuation frame with no message")
                op0 = op
            elif op != CONT:
                raise Fail("new message (opcode %d) inside a fragmented one" % op)
            parts.append(payload)
            if fin:
                return op0, b"".join(parts)

    def wait_eof(self, timeout=5):
        """True when the peer closes TCP within timeout (data before it is dropped)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.buf = b""
                self._fill(deadline)
        except EOFError:
            return True
        except Fail:
            return False


TLS_CA = os.environ.get("WSRAW_TLS_CA")
_tls = []


def tls_context():
    """The client TLS context for WSRAW_TLS_CA (None without it), made once."""
    if TLS_CA and not _tls:
        _tls.append(ssl.create_default_context(cafile=TLS_CA))
    return _tls[0] if _tls else None


def dial(host, port, timeout=5):
    """A connected socket: TCP, or TLS over it with WSRAW_TLS_CA (handshake done)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    ctx = tls_context()
    return ctx.wrap_socket(sock, server_hostname=host) if ctx else sock


def connect(host, port, path="/", extra=b"", timeout=5):
    """Opens a WebSocket as a client; returns the Peer. extra: bytes sent with the request."""
    sock = dial(host, port, timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)
        ).encode()
        + extra
    )
    peer = Peer(sock, client=True)
    head = peer.read_head(timeout)
    status = head.split("\r\n", 1)[0]
    if " 101 " not in status + " ":
        raise Fail("handshake answered %r" % status)
    if ("sec-websocket-accept: " + accept_key(key).lower()) not in head.lower():
        raise Fail("wrong or missing Sec-WebSocket-Accept")
    return peer
