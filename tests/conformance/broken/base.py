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
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib

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
    "deflate": True,           # permessage-deflate (RFC 7692): server takes an offer, client offers it
    "pmd_window": True,        # compress within the agreed window (False: always 2^15)
    "pmd_context": True,       # a fresh compressor per message when no_context_takeover was agreed
    "pmd_params": True,        # server: answer only what was offered; client: refuse a bad answer
}
LIFETIME = 600.0
MAX_HEAD = 16 * 1024
MAX_MESSAGE = 64 << 20


TAIL = b"\x00\x00\xff\xff"
PMD_PARAMS = ("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
              "client_max_window_bits")


def pmd_parse(element):
    """One extension element -> (name, {param: int or True}); None when it is malformed
    (a repeated or unknown parameter, a value on a *_no_context_takeover, a window out of
    8..15). A bare client_max_window_bits is True."""
    parts = [x.strip() for x in element.split(";")]
    name, params = parts[0].lower(), {}
    if name != "permessage-deflate":
        return name, None
    for part in parts[1:]:
        k, eq, v = part.partition("=")
        k, v = k.strip().lower(), v.strip()
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1]
        if k not in PMD_PARAMS or k in params:
            return name, None
        if k.endswith("takeover"):
            if eq:
                return name, None
            params[k] = True
        elif not eq:
            if k != "client_max_window_bits":
                return name, None
            params[k] = True
        elif re.fullmatch(r"[1-9][0-9]?", v) and 8 <= int(v) <= 15:
            params[k] = int(v)
        else:
            return name, None
    return name, params


class Pmd:
    """What was agreed: in_bits/in_nct of what the peer sends, out_* of what we send."""

    def __init__(self, flags, in_bits, in_nct, out_bits, out_nct):
        self.in_bits, self.in_nct, self.out_nct = in_bits, in_nct, out_nct
        self.out_bits = max(9, out_bits) if flags["pmd_window"] else 15   # zlib: 9 for 8
        self.keep = not flags["pmd_context"]
        self.zin = self.zout = None

    def compress(self, data):
        if self.zout is None or (self.out_nct and not self.keep):
            self.zout = zlib.compressobj(6, zlib.DEFLATED, -self.out_bits)
        return (self.zout.compress(data) + self.zout.flush(zlib.Z_SYNC_FLUSH))[:-4]

    def start(self):
        if self.zin is None or self.in_nct:
            self.zin = zlib.decompressobj(-self.in_bits)

    def inflate(self, data):
        try:
            return self.zin.decompress(data)
        except zlib.error:
            raise Failure(1007, "does not inflate")


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
        self.pmd = None             # a Pmd once permessage-deflate was agreed
        self.msg_z = False          # the message being received is compressed

    # -- output
    def send_frame(self, op, payload):
        rsv = 0
        if self.pmd and op in (wslib.OP_TEXT, wslib.OP_BINARY):
            payload, rsv = self.pmd.compress(payload), 4
        if self.role == "client":
            key = os.urandom(4) if self.fl["random_mask"] else self.const_key
            data = wslib.encode_frame(op, payload, rsv=rsv, mask=True, key=key)
        else:
            data = wslib.encode_frame(op, payload, rsv=rsv, mask=False)
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
        if rsv and not (rsv == 4 and self.pmd and op in (wslib.OP_TEXT, wslib.OP_BINARY)):
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
            self.msg_z = bool(rsv)
            if self.msg_z:
                self.pmd.start()
            self.utf8 = wslib.Utf8Validator() if (op == wslib.OP_TEXT and self.fl["check_utf8"]) else None
        if op < 8 and len(self.msg) + ln > MAX_MESSAGE:
            raise Failure(1009, "too big")
        self.hdr = {"fin": fin, "op": op, "masked": masked, "key": key, "len": ln, "got": 0}
        return True

    def payload(self, h, chunk):
        if h["op"] >= 8:
            self.ctrl += chunk
            return
        if self.msg_z:
            chunk = self.pmd.inflate(chunk)
        self.take(chunk)

    def take(self, chunk):
        if self.utf8 is not None and not self.utf8.feed(chunk):
            raise Failure(1007, "utf-8")
        self.msg += chunk
        if len(self.msg) > MAX_MESSAGE:
            raise Failure(1009, "too big")

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
            if self.msg_z:
                self.take(self.pmd.inflate(TAIL))
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
    ext, pmd = "", None
    for e in (x for v in hdrs.get("sec-websocket-extensions", []) for x in v.split(",")) if flags["deflate"] else ():
        name, o = pmd_parse(e)
        if o is None or o.get("server_max_window_bits") is True:
            continue
        ext = "permessage-deflate"          # the first offer it can take, as asked
        if o.get("server_no_context_takeover"):
            ext += "; server_no_context_takeover"
        if o.get("client_no_context_takeover"):
            ext += "; client_no_context_takeover"
        if "server_max_window_bits" in o:
            ext += "; server_max_window_bits=%d" % o["server_max_window_bits"]
        if not flags["pmd_params"] and "client_max_window_bits" not in o:
            ext += "; client_max_window_bits=15"    # not offered: the client may not take it
        cmwb = o.get("client_max_window_bits", 15)
        pmd = Pmd(flags, 15 if cmwb is True else cmwb, bool(o.get("client_no_context_takeover")),
                  o.get("server_max_window_bits", 15), bool(o.get("server_no_context_takeover")))
        ext = "Sec-WebSocket-Extensions: %s\r\n" % ext
        break
    try:
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n%s\r\n" % (acc, ext)).encode())
    except OSError:
        sock.close()
        return
    c = Conn(sock, "server", flags, rest)
    c.pmd = pmd
    c.run()


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
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if flags["deflate"] else ""
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n"
                  % (path, u.hostname, u.port or 80, key, offer)).encode())
    head, rest, why = wslib.read_http_head(sock, 10, MAX_HEAD)
    if head is None:
        sock.close()
        return None
    pmd, ok = None, True
    exts = [x for v in head.get_all("Sec-WebSocket-Extensions") for x in v.split(",")]
    if exts:                # one permessage-deflate element with what the offer allows
        name, a = pmd_parse(exts[0])
        ok = flags["deflate"] and len(exts) == 1 and a is not None and a.get("client_max_window_bits") is not True
        if not ok and flags["deflate"] and not flags["pmd_params"]:
            ok, a = True, {}                        # a bad answer taken as a bare one
        if ok:
            pmd = Pmd(flags, a.get("server_max_window_bits", 15), bool(a.get("server_no_context_takeover")),
                      a.get("client_max_window_bits", 15), bool(a.get("client_no_context_takeover")))
    if flags["check_accept"]:
        ok = (ok and head.status == 101 and head.tokens("Upgrade") == ["websocket"] and
              "upgrade" in head.tokens("Connection") and
              head.get_all("Sec-WebSocket-Accept") == [wslib.accept_key(key)] and
              not head.get_all("Sec-WebSocket-Protocol"))
        if not ok:
            sock.close()
            return None
    return sock, rest, pmd


def run_client(base, agent, **changes):
    flags = dict(DEFAULTS, **changes)
    end = time.monotonic() + 300
    got = connect(base + "/getCaseCount", flags)
    if not got:
        return 1
    sock, rest = got[0], got[1]
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
            c = Conn(got[0], "client", flags, got[1])
            c.pmd = got[2]
            c.run()
    try:
        got = connect("%s/updateReports?agent=%s" % (base, q), flags)
        if got:
            c = Conn(got[0], "client", flags, got[1])
            c.pmd = got[2]
            c.run()
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
