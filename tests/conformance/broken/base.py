"""A small, correct, strict RFC 6455 echo server and echo client (Python 3 stdlib only).

The broken peers beside this file each switch off exactly one behaviour through a flag
(see DEFAULTS); with no flag changed, this is the control: the suites must pass it whole,
so a FAIL against a broken peer is the defect's doing and not the tester's.

    server: base.run_server(PORT, **flags)      prints "listening PORT"
    client: base.run_client(URL, AGENT, **flags)
"""

import base64
import hashlib
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import wslib  # noqa: E402

DEFAULTS = {
    "check_utf8": True,        # fail 1007 on invalid UTF-8 (text and close reasons), at the first bad byte
    "check_mask": True,        # server: require masked frames; client: reject masked frames (1002)
    "answer_ping": True,       # answer every ping with a pong
    "echo_close": True,        # answer a close frame with a close frame
    "random_mask": True,       # client: a fresh random mask key per frame
    "correct_accept": True,    # server: send the right Sec-WebSocket-Accept
    "check_accept": True,      # client: verify the server's handshake response
}
LIFETIME = 600.0
MAX_HEAD = 16 * 1024
MAX_MESSAGE = 64 << 20


class Failure(Exception):
    def __init__(self, code, why):
        Exception.__init__(self, why)
        self.code = code


class Conn:
    def __init__(self, sock, role, flags, buf=b""):
        self.sock, self.role, self.fl = sock, role, flags
        self.buf = bytearray(buf)
        self.hdr = None
        self.msg_op = None
        self.msg = bytearray()
        self.utf8 = None
        self.ctrl = bytearray()
        self.closed = False
        self.const_key = b"\x37\xfa\x21\x3d"

    # -- output
    def send_frame(self, op, payload):
        if self.role == "client":
            key = os.urandom(4) if self.fl["random_mask"] else self.const_key
            data = wslib.encode_frame(op, payload, mask=True, key=key)
        else:
            data = wslib.encode_frame(op, payload, mask=False)
        self.sock.sendall(data)

    # -- input
    def run(self):
        self.sock.settimeout(60)
        try:
            self.feed()
            while not self.closed:
                d = self.sock.recv(1 << 18)
                if not d:
                    break
                self.buf += d
                self.feed()
        except Failure as f:
            try:
                self.send_frame(wslib.OP_CLOSE, struct.pack("!H", f.code))
            except OSError:
                pass
            self.finish()
        except OSError:
            pass
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def finish(self):
        """After the close frames: the server closes TCP, the client waits for that."""
        self.closed = True
        try:
            if self.role == "server":
                self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(3)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass

    def feed(self):
        while not self.closed:
            if self.hdr is None:
                if not self.parse_header():
                    return
            h = self.hdr
            take = min(len(self.buf), h["len"] - h["got"])
            if take == 0 and h["len"] > 0:
                return
            chunk = bytes(self.buf[:take])
            del self.buf[:take]
            if h["masked"]:
                off = h["got"] % 4
                key = h["key"][off:] + h["key"][:off]
                chunk = wslib.mask_bytes(chunk, key)
            h["got"] += take
            self.payload(h, chunk)
            if h["got"] == h["len"]:
                self.hdr = None
                self.end_frame(h)

    def parse_header(self):
        b = self.buf
        if len(b) < 2:
            return False
        fin, rsv, op = bool(b[0] & 0x80), (b[0] >> 4) & 7, b[0] & 0xF
        masked, ln = bool(b[1] & 0x80), b[1] & 0x7F
        pos = 2
        if ln == 126:
            if len(b) < 4:
                return False
            ln, pos = struct.unpack("!H", b[2:4])[0], 4
        elif ln == 127:
            if len(b) < 10:
                return False
            ln, pos = struct.unpack("!Q", b[2:10])[0], 10
            if ln >> 63:
                raise Failure(1002, "length MSB")
        if masked:
            pos += 4
        if len(b) < pos:
            return False
        key = bytes(b[pos - 4:pos]) if masked else b""
        del b[:pos]
        if rsv:
            raise Failure(1002, "rsv")
        if op not in wslib.VALID_OPCODES:
            raise Failure(1002, "opcode")
        if self.fl["check_mask"]:
            if self.role == "server" and not masked:
                raise Failure(1002, "unmasked")
            if self.role == "client" and masked:
                raise Failure(1002, "masked")
        if op >= 8:
            if ln > 125 or not fin:
                raise Failure(1002, "control")
            self.ctrl = bytearray()
        elif op == wslib.OP_CONT:
            if self.msg_op is None:
                raise Failure(1002, "orphan continuation")
        else:
            if self.msg_op is not None:
                raise Failure(1002, "new message inside a message")
            self.msg_op = op
            self.msg = bytearray()
            self.utf8 = wslib.Utf8Validator() if (op == wslib.OP_TEXT and self.fl["check_utf8"]) else None
        if op < 8 and len(self.msg) + ln > MAX_MESSAGE:
            raise Failure(1009, "too big")
        self.hdr = {"fin": fin, "op": op, "masked": masked, "key": key, "len": ln, "got": 0}
        return True

    def payload(self, h, chunk):
        if h["op"] >= 8:
            self.ctrl += chunk
            return
        if self.utf8 is not None and not self.utf8.feed(chunk):
            raise Failure(1007, "utf-8")
        self.msg += chunk

    def end_frame(self, h):
        op = h["op"]
        if op == wslib.OP_PING:
            if self.fl["answer_ping"]:
                self.send_frame(wslib.OP_PONG, bytes(self.ctrl))
        elif op == wslib.OP_PONG:
            pass
        elif op == wslib.OP_CLOSE:
            body = bytes(self.ctrl)
            if len(body) == 1:
                raise Failure(1002, "1-byte close")
            reply = b""
            if len(body) >= 2:
                code = struct.unpack("!H", body[:2])[0]
                if not wslib.close_code_valid_on_wire(code):
                    raise Failure(1002, "close code")
                if self.fl["check_utf8"] and not wslib.valid_utf8(body[2:]):
                    raise Failure(1007, "close reason")
                reply = body[:2]
            if self.fl["echo_close"]:
                self.send_frame(wslib.OP_CLOSE, reply)
                self.finish()
            else:
                self.closed = True
        elif h["fin"]:
            if self.utf8 is not None and not self.utf8.finish():
                raise Failure(1007, "utf-8 at end")
            self.send_frame(self.msg_op, bytes(self.msg))
            self.msg_op, self.msg, self.utf8 = None, bytearray(), None


# ------------------------------------------------------------------ server

def reject(sock, status, extra=""):
    try:
        sock.sendall(("HTTP/1.1 %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n" % (status, extra)).encode())
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    sock.close()


def serve_one(sock, flags):
    sock.settimeout(10)
    data = bytearray()
    try:
        while b"\r\n\r\n" not in data:
            if len(data) > MAX_HEAD:
                return reject(sock, "431 Request Header Fields Too Large")
            d = sock.recv(65536)
            if not d:
                sock.close()
                return
            data += d
    except OSError:
        sock.close()
        return
    i = data.find(b"\r\n\r\n")
    if i > MAX_HEAD:
        return reject(sock, "431 Request Header Fields Too Large")
    head, rest = bytes(data[:i]).decode("latin-1"), bytes(data[i + 4:])
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    hdrs = {}
    for ln in lines[1:]:
        if ":" not in ln:
            return reject(sock, "400 Bad Request")
        k, v = ln.split(":", 1)
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())

    def tokens(name):
        return [t.strip().lower() for v in hdrs.get(name, []) for t in v.split(",") if t.strip()]
    if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
        return reject(sock, "400 Bad Request")
    if len(hdrs.get("host", [])) != 1:
        return reject(sock, "400 Bad Request")
    if "websocket" not in tokens("upgrade") or "upgrade" not in tokens("connection"):
        return reject(sock, "400 Bad Request")
    if hdrs.get("sec-websocket-version") != ["13"]:
        return reject(sock, "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n")
    keys = hdrs.get("sec-websocket-key", [])
    try:
        ok = len(keys) == 1 and len(base64.b64decode(keys[0], validate=True)) == 16
    except Exception:
        ok = False
    if not ok:
        return reject(sock, "400 Bad Request")
    acc = wslib.accept_key(keys[0])
    if not flags["correct_accept"]:
        acc = base64.b64encode(hashlib.sha1(keys[0].encode()).digest()).decode()   # the GUID forgotten
    try:
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n\r\n" % acc).encode())
    except OSError:
        sock.close()
        return
    Conn(sock, "server", flags, rest).run()


def run_server(port, **changes):
    flags = dict(DEFAULTS, **changes)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    print("listening %d" % ls.getsockname()[1], flush=True)
    end = time.monotonic() + LIFETIME
    ls.settimeout(1.0)
    while time.monotonic() < end:
        try:
            s, _ = ls.accept()
        except socket.timeout:
            continue
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve_one, args=(s, flags), daemon=True).start()


# ------------------------------------------------------------------ client

def connect(url, flags):
    """Open a WebSocket; returns (sock, leftover bytes) or None if the handshake is refused."""
    u = urllib.parse.urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = wslib.new_key()
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                  % (path, u.hostname, u.port or 80, key)).encode())
    head, rest, why = wslib.read_http_head(sock, 10, MAX_HEAD)
    if head is None:
        sock.close()
        return None
    if flags["check_accept"]:
        ok = (head.status == 101 and head.tokens("Upgrade") == ["websocket"] and
              "upgrade" in head.tokens("Connection") and
              head.get_all("Sec-WebSocket-Accept") == [wslib.accept_key(key)] and
              not head.get_all("Sec-WebSocket-Extensions") and not head.get_all("Sec-WebSocket-Protocol"))
        if not ok:
            sock.close()
            return None
    return sock, rest


def run_client(base, agent, **changes):
    flags = dict(DEFAULTS, **changes)
    end = time.monotonic() + 300
    got = connect(base + "/getCaseCount", flags)
    if not got:
        return 1
    sock, rest = got
    sock.settimeout(10)
    count = None
    buf = bytearray(rest)
    while count is None:
        try:
            f, buf = _frame(sock, buf)
        except OSError:
            break
        if f is None:
            break
        if f[0] == wslib.OP_TEXT:
            count = int(f[1])
    sock.close()
    q = urllib.parse.quote(agent)
    for n in range(1, (count or 0) + 1):
        if time.monotonic() > end:
            break
        try:
            got = connect("%s/runCase?case=%d&agent=%s" % (base, n, q), flags)
        except OSError:
            continue
        if got:
            Conn(got[0], "client", flags, got[1]).run()
    try:
        got = connect("%s/updateReports?agent=%s" % (base, q), flags)
        if got:
            Conn(got[0], "client", flags, got[1]).run()
    except OSError:
        pass
    return 0


def _frame(sock, buf):
    """A minimal unmasked frame read for /getCaseCount."""
    while True:
        if len(buf) >= 2:
            ln, pos = buf[1] & 0x7F, 2
            if ln == 126 and len(buf) >= 4:
                ln, pos = struct.unpack("!H", buf[2:4])[0], 4
            if ln < 126 and len(buf) >= pos + ln:
                return (buf[0] & 0xF, bytes(buf[pos:pos + ln])), buf[pos + ln:]
        d = sock.recv(65536)
        if not d:
            return None, buf
        buf += d


def main(**changes):
    """Command line of every peer here: 'server PORT' or 'client URL [AGENT]'."""
    if len(sys.argv) >= 3 and sys.argv[1] == "server":
        run_server(int(sys.argv[2]), **changes)
    elif len(sys.argv) >= 3 and sys.argv[1] == "client":
        sys.exit(run_client(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "broken", **changes))
    else:
        print("usage: %s server PORT | client URL [AGENT]" % sys.argv[0])
        sys.exit(2)


if __name__ == "__main__":
    main()
