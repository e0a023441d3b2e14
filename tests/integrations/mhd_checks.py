#!/usr/bin/env python3
"""Checks of build/mhd_server over raw sockets: the pages libmicrohttpd serves, the upgrade on
/ws, the exact status of every handshake error as ws.h judged it through libmicrohttpd, and the
bytes libmicrohttpd read past the request head (extra_in) reaching ws_conn_feed.
    python3 tests/integrations/mhd_checks.py PORT
Prints "ok NAME: what" or "FAIL NAME: why" per check; exit 1 if any failed."""
import base64
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "loopback"))
from wsraw import BINARY, CLOSE, PING, PONG, TEXT, Fail, Peer, accept_key, close_body, frame  # noqa: E402

HOST = "127.0.0.1"
PORT = int(sys.argv[1])
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
failed = 0


def request(path="/ws", method="GET", version="HTTP/1.1", headers=None, drop=(), extra=()):
    """An upgrade request: the usual headers, some replaced (headers), left out (drop) or
    added (extra: a list of (name, value), repeats allowed)."""
    base = {"Host": "%s:%d" % (HOST, PORT), "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
    base.update(headers or {})
    lines = ["%s %s %s" % (method, path, version)]
    lines += ["%s: %s" % (k, v) for k, v in base.items() if k not in drop]
    lines += ["%s: %s" % (k, v) for k, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(data, timeout=5, until_closed=False):
    """Sends data; returns (status, headers as a dict of lists, body, closed) for the first
    response; closed (asked with until_closed): the server closed TCP after it, in timeout."""
    sock = socket.create_connection((HOST, PORT), timeout=timeout)
    sock.sendall(data)
    peer = Peer(sock, client=True)
    head = peer.read_head(timeout)
    lines = head.split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    n = int(hdrs.get("content-length", ["0"])[0])
    deadline = time.monotonic() + timeout
    body = b""
    if not data.startswith(b"HEAD"):
        body = peer.read_exact(n, deadline) if n else b""
    closed = until_closed and peer.wait_eof(timeout)
    sock.close()
    return status, hdrs, body, closed


def check(name, fn):
    global failed
    try:
        print("ok   %s: %s" % (name, fn()))
    except (Fail, OSError, EOFError, ValueError, IndexError) as e:
        failed += 1
        print("FAIL %s: %s" % (name, e or type(e).__name__))
    sys.stdout.flush()


# ---- plain HTTP: libmicrohttpd's ----------------------------------------------------------

def pages():
    st, h, body, _ = exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    if st != 200 or "text/html" not in h.get("content-type", [""])[0]:
        raise Fail("GET / gave %d %r" % (st, h.get("content-type")))
    if b"new WebSocket('ws://' + location.host + '/ws')" not in body:
        raise Fail("the page does not connect to ws://location.host/ws")
    st, h, hbody, _ = exchange(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    if st != 200 or h.get("content-length") != [str(len(body))]:
        raise Fail("HEAD / gave %d, Content-Length %r (GET: %d bytes)" % (st, h.get("content-length"), len(body)))
    st, _, _, _ = exchange(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    if st != 404:
        raise Fail("GET /nope gave %d" % st)
    st, h, _, _ = exchange(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    if st != 404:
        raise Fail("POST / gave %d" % st)
    st, h, _, _ = exchange(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
    if st != 426 or h.get("upgrade") != ["websocket"]:
        raise Fail("GET /ws without an upgrade gave %d, Upgrade %r" % (st, h.get("upgrade")))
    return "GET / the page (%d bytes, connects to /ws), HEAD / its head, /nope and POST / 404, GET /ws 426" % len(body)


def keep_alive():
    sock = socket.create_connection((HOST, PORT), timeout=5)
    peer = Peer(sock, client=True)
    for i in range(3):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = peer.read_head()
        n = int([l for l in head.split("\r\n") if l.lower().startswith("content-length:")][0].split(":")[1])
        peer.read_exact(n, time.monotonic() + 5)
        if not head.startswith("HTTP/1.1 200 "):
            raise Fail("request %d answered %r" % (i + 1, head[:40]))
    sock.close()
    return "3 requests on one connection, each answered 200"


def many_headers_plain():
    extra = [("X-H%d" % i, "v") for i in range(40)]
    st, _, _, _ = exchange(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in extra) + b"\r\n")
    if st != 200:
        raise Fail("gave %d" % st)
    return "a plain GET / with 41 headers (more than ws_http holds) is served: 200"


# ---- the upgrade ----------------------------------------------------------------------------

def upgrade():
    key = base64.b64encode(os.urandom(16)).decode()
    sock = socket.create_connection((HOST, PORT), timeout=5)
    sock.sendall(request(headers={"Sec-WebSocket-Key": key, "Sec-WebSocket-Protocol": "chat"},
                         extra=[("Sec-WebSocket-Extensions", "permessage-deflate")]))
    peer = Peer(sock, client=True)
    head = peer.read_head()
    lines = head.split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    if lines[0] != "HTTP/1.1 101 Switching Protocols":
        raise Fail("status line %r" % lines[0])
    if hdrs.get("upgrade") != ["websocket"]:
        raise Fail("Upgrade %r" % hdrs.get("upgrade"))
    if [t.strip().lower() for v in hdrs.get("connection", []) for t in v.split(",")] != ["upgrade"]:
        raise Fail("Connection %r (one upgrade token wanted)" % hdrs.get("connection"))
    if hdrs.get("sec-websocket-accept") != [accept_key(key)]:
        raise Fail("Sec-WebSocket-Accept %r, want %s" % (hdrs.get("sec-websocket-accept"), accept_key(key)))
    if "sec-websocket-protocol" in hdrs or "sec-websocket-extensions" in hdrs:
        raise Fail("a subprotocol or extension was accepted: %r" % head)
    peer.send_frame(TEXT, "über ✓".encode())
    peer.send_frame(PING, b"p")
    peer.send_frame(BINARY, bytes(range(256)) * 1000)
    if peer.read_message() != (TEXT, "über ✓".encode()):
        raise Fail("text echo differs")
    if peer.read_message() != (BINARY, bytes(range(256)) * 1000) or peer.controls != [(PONG, b"p")]:
        raise Fail("binary echo or pong differs (%r)" % peer.controls)
    peer.send_frame(CLOSE, close_body(1000))
    op, body = peer.read_message()
    if op != CLOSE or body[:2] != b"\x03\xe8" or not peer.wait_eof():
        raise Fail("close: %r %r" % (op, body))
    return "101 with Upgrade, one Connection: Upgrade, the right Accept, no subprotocol or " \
           "extension; text, ping, 256 kB binary and close 1000 echoed, then TCP closed"


def extra_in(size):
    """The request and frames in one write: whatever libmicrohttpd read past the head must
    reach ws_conn_feed (extra_in), the rest comes from the socket."""
    def run():
        payload = os.urandom(size)
        frames = frame(TEXT, b"first", mask=b"\x01\x02\x03\x04") + frame(BINARY, payload, mask=b"\x11\x22\x33\x44")
        sock = socket.create_connection((HOST, PORT), timeout=10)
        sock.sendall(request() + frames)
        peer = Peer(sock, client=True)
        head = peer.read_head()
        if not head.startswith("HTTP/1.1 101 "):
            raise Fail("answer %r" % head[:40])
        if peer.read_message() != (TEXT, b"first"):
            raise Fail("first frame not echoed")
        if peer.read_message(timeout=10) != (BINARY, payload):
            raise Fail("%d-byte frame not echoed as sent" % size)
        peer.send_frame(CLOSE, close_body(1000))
        op, _ = peer.read_message()
        if op != CLOSE:
            raise Fail("no close")
        sock.close()
        return "request + text + %d-byte binary frame in one write: both echoed" % size
    return run


def elsewhere():
    st, _, _, _ = exchange(request(path="/chat"))
    if st != 404:
        raise Fail("an upgrade on /chat gave %d" % st)
    return "an upgrade on /chat: 404"


# ---- handshake errors: ws.h's verdict on libmicrohttpd's parse --------------------------------

def reject(status, want_text, **kw):
    def run():
        st, h, body, closed = exchange(request(**kw), until_closed=True)
        if st != status:
            raise Fail("status %d, expected %d (%r)" % (st, status, body[:80]))
        if want_text and want_text.encode() not in body:
            raise Fail("body %r lacks %r" % (body[:80], want_text))
        if status == 426 and h.get("sec-websocket-version") != ["13"]:
            raise Fail("426 without Sec-WebSocket-Version: 13 (%r)" % h.get("sec-websocket-version"))
        if not closed:
            raise Fail("status %d sent, connection left open" % st)
        return "%d %r, then closed" % (st, body.decode("utf-8", "replace").strip())
    return run


CASES = [
    ("bad key: not base64", 400, "Sec-WebSocket-Key", dict(headers={"Sec-WebSocket-Key": "not base64 at all!!"})),
    ("bad key: 15 bytes", 400, "Sec-WebSocket-Key", dict(headers={"Sec-WebSocket-Key": "AAECAwQFBgcICQoLDA0O"})),
    ("missing key", 400, "Sec-WebSocket-Key", dict(drop=("Sec-WebSocket-Key",))),
    ("version 8", 426, "Sec-WebSocket-Version", dict(headers={"Sec-WebSocket-Version": "8"})),
    ("missing version", 426, "Sec-WebSocket-Version", dict(drop=("Sec-WebSocket-Version",))),
    ("missing Host", 400, "Host", dict(drop=("Host",))),
    ("missing Connection", 400, "Connection", dict(drop=("Connection",))),
    ("Connection: keep-alive", 400, "Connection", dict(headers={"Connection": "keep-alive"})),
    ("missing Upgrade", 400, "Upgrade", dict(drop=("Upgrade",))),
    ("method POST", 400, "GET", dict(method="POST")),
    ("HTTP/1.0", 400, "HTTP/1.1", dict(version="HTTP/1.0")),
    ("duplicate key", 400, "repeated", dict(extra=[("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==")])),
    ("duplicate version", 400, "repeated", dict(extra=[("Sec-WebSocket-Version", "13")])),
    ("duplicate Host", 400, "Host", dict(extra=[("Host", "other.example")])),
    ("40 headers", 431, "too many", dict(extra=[("X-H%d" % i, "v") for i in range(35)])),
]

check("pages", pages)
check("keep-alive", keep_alive)
check("many headers, plain", many_headers_plain)
check("upgrade", upgrade)
check("extra_in, small", extra_in(1000))
check("extra_in, larger than libmicrohttpd's buffer", extra_in(200000))
check("upgrade elsewhere", elsewhere)
for name, status, text, kw in CASES:
    check(name, reject(status, text, **kw))
sys.exit(1 if failed else 0)
