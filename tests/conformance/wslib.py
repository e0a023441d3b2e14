"""Shared RFC 6455 helpers for the ws.h conformance suites (Python 3 stdlib only).

Frame encoding with fast masking, a strict incremental UTF-8 validator that fails
at the first byte that cannot start or continue a valid sequence, a bounded frame
reader that checks every frame the peer sends, and small HTTP helpers. Over TLS
(--tls-ca / --tls-cert in the suites) every connection is a TlsSock: the same socket
calls with TLS between them and the wire.
"""

import base64
import codecs
import hashlib
import os
import select
import socket
import ssl
import struct
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
VALID_OPCODES = (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG)
OP_NAMES = {0: "cont", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


def opname(op):
    return OP_NAMES.get(op, "op%X" % op)


def accept_key(key):
    if isinstance(key, str):
        key = key.encode("latin-1")
    return base64.b64encode(hashlib.sha1(key.strip() + GUID).digest()).decode()


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def mask_bytes(data, key):
    """XOR data with the 4-byte key; fast for large payloads (big-int XOR)."""
    n = len(data)
    if n == 0:
        return b""
    reps = (key * ((n + 3) // 4))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(reps, "little")).to_bytes(n, "little")


def frame_header(opcode, length, fin=True, rsv=0, masked=False, key=b"", len_form=None):
    """Header bytes. len_form forces the length encoding (7, 16 or 64) for tests."""
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    m = 0x80 if masked else 0
    form = len_form
    if form is None:
        form = 7 if length <= 125 else (16 if length <= 0xFFFF else 64)
    if form == 7:
        h = struct.pack("!BB", b0, m | length)
    elif form == 16:
        h = struct.pack("!BBH", b0, m | 126, length)
    else:
        h = struct.pack("!BBQ", b0, m | 127, length)
    if masked:
        h += key
    return h


def encode_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, key=None, len_form=None):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if mask:
        if key is None:
            key = os.urandom(4)
        return frame_header(opcode, len(payload), fin, rsv, True, key, len_form) + mask_bytes(payload, key)
    return frame_header(opcode, len(payload), fin, rsv, False, b"", len_form) + payload


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


# ---------------------------------------------------------------- UTF-8

def _prefix_ok(b):
    """Is b (at most 3 bytes, an incomplete sequence) a prefix of some valid UTF-8 sequence?"""
    if not b:
        return True
    c = b[0]
    if 0xC2 <= c <= 0xDF:
        need, lo, hi = 1, 0x80, 0xBF
    elif c == 0xE0:
        need, lo, hi = 2, 0xA0, 0xBF
    elif 0xE1 <= c <= 0xEC or 0xEE <= c <= 0xEF:
        need, lo, hi = 2, 0x80, 0xBF
    elif c == 0xED:
        need, lo, hi = 2, 0x80, 0x9F
    elif c == 0xF0:
        need, lo, hi = 3, 0x90, 0xBF
    elif 0xF1 <= c <= 0xF3:
        need, lo, hi = 3, 0x80, 0xBF
    elif c == 0xF4:
        need, lo, hi = 3, 0x80, 0x8F
    else:
        return False
    if len(b) > need:
        return False
    if len(b) >= 2 and not (lo <= b[1] <= hi):
        return False
    for x in b[2:]:
        if not (0x80 <= x <= 0xBF):
            return False
    return True


class Utf8Validator:
    """Incremental strict UTF-8 validation that fails at the earliest impossible byte."""

    def __init__(self):
        self.dec = codecs.getincrementaldecoder("utf-8")("strict")
        self.ok = True

    def feed(self, data):
        if not self.ok:
            return False
        try:
            self.dec.decode(bytes(data), final=False)
        except UnicodeDecodeError:
            self.ok = False
            return False
        pending = self.dec.getstate()[0]
        if not _prefix_ok(pending):
            self.ok = False
        return self.ok

    def finish(self):
        if not self.ok:
            return False
        try:
            self.dec.decode(b"", final=True)
        except UnicodeDecodeError:
            self.ok = False
        return self.ok


def valid_utf8(b):
    try:
        bytes(b).decode("utf-8", "strict")
        return True
    except UnicodeDecodeError:
        return False


def close_code_valid_on_wire(code):
    """RFC 6455 7.4: codes an endpoint may put in a Close frame."""
    if code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014):
        return True
    return 3000 <= code <= 4999


# ---------------------------------------------------------------- frames off the wire

class Frame:
    __slots__ = ("fin", "rsv", "opcode", "masked", "key", "payload", "length", "len_form")

    def __init__(self, fin, rsv, opcode, masked, key, payload, length, len_form):
        self.fin, self.rsv, self.opcode, self.masked = fin, rsv, opcode, masked
        self.key, self.payload, self.length, self.len_form = key, payload, length, len_form

    def __repr__(self):
        p = self.payload
        shown = bytes(p[:40]).hex() + ("..." if len(p) > 40 else "")
        return "<%s fin=%d rsv=%d len=%d%s %s>" % (opname(self.opcode), self.fin, self.rsv, self.length,
                                                  " masked" if self.masked else "", shown)


class Eof(Exception):
    """The peer closed (FIN) the TCP connection."""


class Reset(Exception):
    """The TCP connection was reset or broke."""


class Timeout(Exception):
    pass


def check_frame(f, expect_masked, rsv_ok=0):
    """RFC 6455 5.2 checks of one frame a peer sent; returns a list of violation strings.
    rsv_ok: the RSV bits an agreed extension allows on this frame (4: RSV1, permessage-deflate)."""
    v = []
    if f.masked != expect_masked:
        v.append("frame %s %s (RFC 5.1)" % (opname(f.opcode), "masked" if f.masked else "not masked"))
    if f.rsv & ~rsv_ok:
        v.append("frame %s has RSV bits %d set (RFC 5.2)" % (opname(f.opcode), f.rsv))
    if f.opcode not in VALID_OPCODES:
        v.append("reserved opcode 0x%X (RFC 5.2)" % f.opcode)
    minimal = 7 if f.length <= 125 else (16 if f.length <= 0xFFFF else 64)
    if f.len_form != minimal:
        v.append("non-minimal length encoding (%d-bit field for %d bytes) (RFC 5.2)" % (f.len_form, f.length))
    if f.opcode >= 8:
        if f.length > 125:
            v.append("control frame %s with %d bytes > 125 (RFC 5.5)" % (opname(f.opcode), f.length))
        if not f.fin:
            v.append("fragmented control frame %s (RFC 5.5)" % opname(f.opcode))
    if f.opcode == OP_CLOSE and f.length >= 1:
        if f.length == 1:
            v.append("close frame with a 1-byte body (RFC 5.5.1)")
        else:
            code = struct.unpack("!H", bytes(f.payload[:2]))[0]
            if not close_code_valid_on_wire(code):
                v.append("close frame with code %d that must not be sent (RFC 7.4)" % code)
            if not valid_utf8(f.payload[2:]):
                v.append("close reason not valid UTF-8 (RFC 5.5.1)")
    return v


class Peer:
    """One TCP connection speaking frames, with every wait bounded.

    role 'client': we mask, the peer must not.  role 'server': the peer must mask, we must not.
    Every frame received is checked; violations are collected in self.violations.
    """

    def __init__(self, sock, role, buf=b""):
        self.sock = sock
        self.role = role
        self.buf = bytearray(buf)
        self.violations = []
        self.frames = []          # every frame received, in order (payloads kept only if small)
        self.eof = False
        self.reset = False
        self.sent_close = False
        self.got_close = None     # the close Frame, once received
        self.in_msg = None        # opcode of the message being reassembled from the peer
        self.msg_parts = []
        self.msg_len = 0
        self.utf8 = None
        self._threads = []
        self.send_error = None
        self.mask_keys = []
        self.rsv1_ok = False      # permessage-deflate agreed: RSV1 allowed on a message's first frame
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    # -- sending
    def frame(self, opcode, payload=b"", fin=True, rsv=0, mask=None, key=None, len_form=None):
        if mask is None:
            mask = self.role == "client"
        return encode_frame(opcode, payload, fin, rsv, mask, key, len_form)

    def send(self, data, timeout=5.0):
        """sendall with a bound; returns False (and records why) if the peer stops reading or is gone."""
        try:
            self.sock.settimeout(timeout)
            self.sock.sendall(data)
            return True
        except socket.timeout:
            self.send_error = "send blocked for %.0fs (peer not reading)" % timeout
        except OSError as e:
            self.send_error = "send failed: %s" % e
        return False

    def send_async(self, data, chunk=None, timeout=60.0):
        """Send in a background thread (for large payloads, so reading can go on meanwhile)."""
        def run():
            deadline = time.monotonic() + timeout
            mv = memoryview(data)
            try:
                step = chunk or len(mv) or 1
                i = 0
                while i < len(mv):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.send_error = "async send timed out"
                        return
                    self.sock.settimeout(min(left, 5.0))
                    self.sock.sendall(mv[i:i + step])
                    i += step
            except socket.timeout:
                self.send_error = "async send blocked (peer not reading)"
            except OSError as e:
                self.send_error = "async send failed: %s" % e
        t = threading.Thread(target=run, daemon=True)
        t.start()
        self._threads.append(t)
        return t

    def send_chopped(self, data, sizes, delay=0.0):
        """Send data in pieces of the given sizes (an iterator of ints), optional pause between."""
        i = 0
        mv = memoryview(data)
        it = iter(sizes)
        while i < len(mv):
            n = next(it)
            if not self.send(bytes(mv[i:i + n])):
                return False
            i += n
            if delay:
                time.sleep(delay)
        return True

    def join_senders(self, timeout=30.0):
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- receiving
    def _fill(self, deadline):
        if self.eof:
            raise Eof()
        if self.reset:
            raise Reset()
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(1 << 20)
        except socket.timeout:
            raise Timeout()
        except OSError:
            self.reset = True
            raise Reset()
        if not d:
            self.eof = True
            raise Eof()
        self.buf += d

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)

    def read_frame(self, timeout):
        """Next frame (checked), or raise Eof / Reset / Timeout."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        masked = bool(b1 & 0x80)
        ln = b1 & 0x7F
        pos = 2
        form = 7
        if ln == 126:
            self._need(4, deadline)
            ln = struct.unpack("!H", self.buf[2:4])[0]
            pos, form = 4, 16
        elif ln == 127:
            self._need(10, deadline)
            ln = struct.unpack("!Q", self.buf[2:10])[0]
            pos, form = 10, 64
            if ln >> 63:
                self.violations.append("64-bit length with the most significant bit set (RFC 5.2)")
                raise Reset()
            if ln > (1 << 31):
                self.violations.append("absurd frame length %d" % ln)
                raise Reset()
        key = b""
        if masked:
            self._need(pos + 4, deadline)
            key = bytes(self.buf[pos:pos + 4])
            pos += 4
        self._need(pos + ln, deadline)
        payload = bytes(self.buf[pos:pos + ln])
        del self.buf[:pos + ln]
        if masked:
            payload = mask_bytes(payload, key)
            self.mask_keys.append(key)
        f = Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, masked, key, payload, ln, form)
        if self.got_close is not None:
            self.violations.append("%s frame sent after a close frame (RFC 5.5.1)" % opname(f.opcode))
        self.violations.extend(check_frame(f, expect_masked=(self.role == "server"), rsv_ok=(
            4 if self.rsv1_ok and f.opcode in (OP_TEXT, OP_BINARY) else 0)))
        if f.opcode == OP_CLOSE and self.got_close is None:
            self.got_close = f
        self._track(f)
        return f

    def _track(self, f):
        """Message-level checks on what the peer sends (fragmentation order, text UTF-8)."""
        op = f.opcode
        if op in (OP_TEXT, OP_BINARY):
            if self.in_msg is not None:
                self.violations.append("new %s frame inside an unfinished fragmented message (RFC 5.4)" % opname(op))
            self.in_msg = op
            self.utf8 = Utf8Validator() if op == OP_TEXT and not f.rsv & 4 else None  # compressed:
            # its text is checked once inflated (pmd.py)
        elif op == OP_CONT:
            if self.in_msg is None:
                self.violations.append("continuation frame with no message to continue (RFC 5.4)")
                return
        else:
            return
        if self.utf8 is not None and not self.utf8.feed(f.payload):
            self.violations.append("text message with invalid UTF-8 (RFC 5.6, 8.1)")
            self.utf8 = None
        if f.fin:
            if self.utf8 is not None and not self.utf8.finish():
                self.violations.append("text message with invalid UTF-8 at its end (RFC 5.6, 8.1)")
            self.in_msg = None
            self.utf8 = None

    def wait_eof(self, timeout):
        """Wait for the peer to close TCP; frames that still arrive are read and returned."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            try:
                got.append(self.read_frame(max(0.0, deadline - time.monotonic())))
            except (Eof, Reset):
                return True, got
            except Timeout:
                return False, got


# ---------------------------------------------------------------- HTTP

class HttpHead:
    def __init__(self, start, headers, raw):
        self.start = start                  # the request or status line
        self.headers = headers              # list of (name, value), names as sent
        self.raw = raw

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def get(self, name):
        vals = self.get_all(name)
        return ", ".join(vals) if vals else None

    def tokens(self, name):
        out = []
        for v in self.get_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    @property
    def status(self):
        parts = self.start.split(" ", 2)
        try:
            return int(parts[1])
        except (IndexError, ValueError):
            return None


def read_http_head(sock, timeout, limit=256 * 1024, buf=b""):
    """Read one HTTP head; returns (HttpHead or None, leftover bytes, why-not-string).

    why-not is '' on success, else 'eof', 'reset', 'timeout' or 'too large'."""
    deadline = time.monotonic() + timeout
    data = bytearray(buf)
    while True:
        i = data.find(b"\r\n\r\n")
        if i >= 0:
            head = bytes(data[:i]).decode("latin-1")
            rest = bytes(data[i + 4:])
            lines = head.split("\r\n")
            hdrs = []
            for ln in lines[1:]:
                if ":" in ln:
                    k, v = ln.split(":", 1)
                    hdrs.append((k.strip(), v.strip()))
            return HttpHead(lines[0], hdrs, bytes(data[:i + 4])), rest, ""
        if len(data) > limit:
            return None, bytes(data), "too large"
        left = deadline - time.monotonic()
        if left <= 0:
            return None, bytes(data), "timeout"
        sock.settimeout(left)
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return None, bytes(data), "timeout"
        except OSError:
            return None, bytes(data), "reset"
        if not d:
            return None, bytes(data), "eof"
        data += d


class TlsSock:
    """A TLS connection over a TCP socket, through ssl.MemoryBIO, with the socket calls the
    suites make (recv, sendall, settimeout, setsockopt, shutdown, close) and their timeouts.
    Unlike ssl.SSLSocket it may be read by one thread while another sends (the suites send
    big messages from a thread), and shutdown(SHUT_WR) is TCP's half-close as in plain mode
    (SSLSocket.shutdown drops TLS for the reads after it). TCP's end without close_notify
    reads as the end (b""), as does close_notify; a TLS error is an OSError (ssl.SSLError),
    which the suites take as a reset."""

    def __init__(self, raw, ctx, server_side, server_hostname=None):
        self.raw = raw
        self.raw.setblocking(False)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=server_side,
                                server_hostname=server_hostname)
        self.lock = threading.Lock()    # the SSLObject and its BIOs
        self.wlock = threading.Lock()   # ciphertext leaves in the order it was made
        self.timeout = None
        self.tcp_eof = False

    def settimeout(self, t):
        self.timeout = t

    def gettimeout(self):
        return self.timeout

    def setsockopt(self, *a):
        self.raw.setsockopt(*a)

    def fileno(self):
        return self.raw.fileno()

    def _deadline(self):
        return None if self.timeout is None else time.monotonic() + self.timeout

    def _ready(self, events, deadline):
        """Waits until the socket can be read (or written), or raises socket.timeout (poll,
        not select: descriptors past 1024 work too)."""
        left = self._left(deadline)
        p = select.poll()
        p.register(self.raw, events)
        if not p.poll(None if left is None else max(1, int(left * 1000))):
            raise socket.timeout("timed out")

    @staticmethod
    def _left(deadline):
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        return left

    def _flush(self, deadline, wait=True):
        """Sends what the SSLObject wrote (records, alerts, handshake messages). A reader
        does not wait (wait=False) while a sender is at it: that sender sends what the
        reader added too, before it lets go, and the reader goes on reading meanwhile
        (else a big send to a peer that echoes would wait for the reads it holds up)."""
        while True:
            if not self.wlock.acquire(blocking=wait):
                return
            try:
                while True:
                    with self.lock:
                        data = self.out.read()
                    if not data:
                        break
                    mv = memoryview(data)
                    while mv:
                        self._ready(select.POLLOUT, deadline)
                        try:
                            n = self.raw.send(mv)
                        except (BlockingIOError, InterruptedError):
                            continue
                        mv = mv[n:]
            finally:
                self.wlock.release()
            with self.lock:
                if not self.out.pending:     # added after the last read: go round again
                    return
            wait = True

    def _pull(self, deadline):
        """Reads what TCP has into the SSLObject; False at TCP's end."""
        if self.tcp_eof:
            return False
        self._ready(select.POLLIN, deadline)
        try:
            d = self.raw.recv(1 << 18)
        except (BlockingIOError, InterruptedError):
            return True
        with self.lock:
            if d:
                self.inc.write(d)
            else:
                self.tcp_eof = True
                self.inc.write_eof()
        return bool(d)

    def handshake(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                try:
                    self.obj.do_handshake()
                    done = True
                except ssl.SSLWantReadError:
                    done = False
            self._flush(deadline)
            if done:
                return self
            if not self._pull(deadline):
                raise ConnectionResetError("TCP closed during the TLS handshake")

    def recv(self, n):
        deadline = self._deadline()
        while True:
            with self.lock:
                try:
                    d = self.obj.read(n)
                except ssl.SSLWantReadError:
                    d = None
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    d = b""                     # close_notify, or TCP's end without it
            self._flush(deadline, wait=False)
            if d is not None:
                return d
            self._pull(deadline)

    def sendall(self, data):
        deadline = self._deadline()
        with self.lock:
            self.obj.write(data)
        self._flush(deadline)

    def shutdown(self, how):
        self.raw.shutdown(how)

    def close(self):
        self.raw.close()


# Over TLS: (ssl context, server name) of the server suite's connections, and the ssl
# context of the client suite's accepted ones; None for plain TCP.
TLS_CLIENT = None
TLS_SERVER = None


def tls_client(ca, name):
    """The server suite's connections go through TLS, checking the server's certificate
    against the CA file ca and the name (sent as SNI)."""
    global TLS_CLIENT
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["http/1.1"])
    TLS_CLIENT = (ctx, name)


def tls_server(cert, key):
    """The client suite's accepted connections go through TLS with this certificate."""
    global TLS_SERVER
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    TLS_SERVER = ctx


def connect(host, port, timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if TLS_CLIENT:
        ctx, name = TLS_CLIENT
        s = TlsSock(s, ctx, False, name).handshake(timeout)
    return s


def accept_tls(sock, timeout=5.0):
    """The client suite's side of TLS on an accepted socket (when TLS_SERVER is set)."""
    return TlsSock(sock, TLS_SERVER, True).handshake(timeout) if TLS_SERVER else sock


def result_line(status, head, reason, note, seconds):
    """One case's line: `STATUS head -- reason (note) {seconds}`."""
    line = "%s %s" % (status, head)
    if reason:
        line += " -- " + reason
    if note:
        line += " (%s)" % note
    if seconds > 1.5:
        line += " {%.1fs}" % seconds
    return line
