"""Checks of build/shared_port (HTTP and WebSocket on one port), one line each:
    python3 tests/shared_port/check.py PORT WWW_DIR [CHECK ...]     (default: every check)
Prints "ok CHECK: what was seen" or "FAIL CHECK: why" per check; exits 1 if any failed.
Raw sockets (stdlib) for HTTP, so every byte on the wire is checked; tests/loopback/wsraw.py
for WebSocket frames. With WSRAW_TLS_CA=FILE, everything goes over TLS (https, wss) to a
shared_port started with --cert and --key."""
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "loopback"))
from wsraw import BINARY, CLOSE, TEXT, Fail, Peer, close_body, connect, dial, tls_context  # noqa: E402

HOST = "127.0.0.1"
PORT, WWW = int(sys.argv[1]), sys.argv[2]


class Http:
    """One keep-alive HTTP/1.1 connection: send requests, read responses by Content-Length."""

    def __init__(self):
        self.sock = dial(HOST, PORT)
        self.peer = Peer(self.sock, client=True)

    def send(self, data):
        self.sock.sendall(data)

    def get(self, path, method="GET", extra=""):
        self.send(("%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n" % (method, path, HOST, PORT, extra)).encode())

    def response(self, head_only=False):
        """(status, headers with lower-case names, body)."""
        head = self.peer.read_head()
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[0] != "HTTP/1.1":
            raise Fail("bad status line %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise Fail("%s without Content-Length" % lines[0])
        n = 0 if head_only else int(headers["content-length"])
        body = self.peer.read_exact(n, time.monotonic() + 5)
        return int(parts[1]), headers, body

    def closed(self, timeout=3):
        return self.peer.wait_eof(timeout)


def file(name):
    with open(os.path.join(WWW, name), "rb") as f:
        return f.read()


def expect(what, got, want):
    if got != want:
        raise Fail("%s: got %r, expected %r" % (what, got if len(repr(got)) < 80 else repr(got)[:80] + "...", want))


def check_time_json(body):
    t = json.loads(body)
    if abs(t["unix_ms"] / 1000 - time.time()) > 5 or not t["utc"].endswith("Z"):
        raise Fail("/api/time says %r" % t)
    return t


def check_keepalive():
    h = Http()
    h.get("/")
    status, hd, body = h.response()
    expect("GET / status", status, 200)
    expect("GET / body", body, file("index.html"))
    expect("GET / Content-Type", hd.get("content-type"), "text/html; charset=utf-8")
    if "close" in hd.get("connection", ""):
        raise Fail("GET / answered Connection: close")
    h.get("/api/time")
    status, hd, body = h.response()
    expect("GET /api/time status", status, 200)
    expect("GET /api/time Content-Type", hd.get("content-type"), "application/json")
    t = check_time_json(body)
    h.get("/style.css")
    status, hd, body = h.response()
    expect("GET /style.css", (status, hd.get("content-type"), body), (200, "text/css; charset=utf-8", file("style.css")))
    return "GET /, /api/time (%s), /style.css: three answers on one connection" % t["utc"]


def check_pipelined():
    h = Http()
    reqs = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p for p in (b"/style.css", b"/api/time", b"/missing.html", b"/"))
    reqs += b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
    reqs += b"GET /api/time HTTP/1.1\r\nHost: x\r\n\r\n"
    h.send(reqs)
    got = [h.response()[0::2] for _ in range(4)]
    expect("1st (style.css)", got[0], (200, file("style.css")))
    expect("2nd status (api/time)", got[1][0], 200)
    check_time_json(got[1][1])
    expect("3rd status (missing.html)", got[2][0], 404)
    expect("4th (index.html)", got[3], (200, file("index.html")))
    status, hd, _ = h.response(head_only=True)
    expect("HEAD / status and Content-Length", (status, hd["content-length"]), (200, str(len(file("index.html")))))
    expect("HEAD /nothing status", h.response(head_only=True)[0], 404)
    status, _, body = h.response()      # right behind the HEAD answers: they had no body
    expect("after HEAD, /api/time status", status, 200)
    check_time_json(body)
    return "7 requests in one write (2 HEAD among them): 7 answers in order"


def check_traversal():
    secret = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "check.py"), "rb").read()[:40]
    paths = ["/../ws.h", "/../../Makefile", "/..%2fws.h", "/%2e%2e/ws.h", "/.hidden", "//etc/passwd",
             "/./index.html", "/x/../index.html", "/index.html%00.css", "/\\..\\ws.h"]
    h = Http()
    for p in paths:
        h.send(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p).encode())
        status, _, body = h.response()
        if status not in (403, 404) or b"#define" in body or secret in body:
            raise Fail("GET %s answered %d with %d bytes" % (p, status, len(body)))
    return "%d traversal and hidden paths (.., %%2e%%2e, ./, //, \\) all 404, nothing leaked" % len(paths)


def check_ws_echo():
    peer = connect(HOST, PORT, "/ws")
    peer.send_frame(TEXT, "héllo ✓".encode())
    expect("text echo", peer.read_message(), (TEXT, "héllo ✓".encode()))
    peer.send_frame(BINARY, bytes(range(256)) * 40)
    expect("binary echo", peer.read_message(), (BINARY, bytes(range(256)) * 40))
    peer.send_frame(CLOSE, close_body(1000))
    op, body = peer.read_message()
    expect("close echo", (op, body[:2]), (CLOSE, close_body(1000)))
    if not peer.wait_eof():
        raise Fail("TCP still open after the close handshake")
    return "upgrade on /ws: 101, text and 10 KiB binary echoed, close 1000 echoed, TCP closed"


def refused(request, status):
    h = Http()
    h.send(request)
    got, hd, body = h.response()
    expect("status", got, status)
    if not h.closed():
        raise Fail("connection still open after %d" % status)
    return body


def check_upgrade_404():
    refused(b"GET /nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 404)
    refused(b"GET /wsx HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 404)
    return "upgrade on /nope and /wsx: 404, then closed"


def check_malformed():
    refused(b"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400)
    refused(b"\x16\x03\x01\x02\x00garbage\r\n\r\n", 400)
    refused(b"GET / HTTP/1.1\nHost: x\n\n", 400)
    refused(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n", 400)
    refused(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", 426)
    refused(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431)
    # a good request, then a bad one on the same connection: 200, then 400 and close
    h = Http()
    h.send(b"GET /api/time HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nBad header\r\n\r\n")
    expect("good request first", h.response()[0], 200)
    expect("then the bad one", h.response()[0], 400)
    if not h.closed():
        raise Fail("open after 400")
    return "no colon, TLS bytes, bare LF, bad key: 400; version 8: 426; 9 KB head: 431; all closed"


def check_methods():
    body = refused(b"POST /api/time HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 405)
    h = Http()
    h.send(b"GET /api/time HTTP/1.0\r\n\r\n")
    status, hd, _ = h.response()
    expect("HTTP/1.0 status and Connection", (status, hd.get("connection")), (200, "close"))
    if not h.closed():
        raise Fail("HTTP/1.0 connection left open")
    h = Http()
    h.get("/api/time", extra="Connection: close\r\n")
    expect("Connection: close status", h.response()[0], 200)
    if not h.closed():
        raise Fail("Connection: close left open")
    return "POST with a body: 405 (%s) and closed; HTTP/1.0 and Connection: close answered, then closed" % body.decode().strip()


def check_http_beside_ws():
    """WebSocket clients stay open while HTTP requests are served, and still echo after."""
    echo = [connect(HOST, PORT, "/ws") for _ in range(3)]
    chat = [connect(HOST, PORT, "/chat") for _ in range(2)]
    for i, p in enumerate(echo):
        p.send_frame(TEXT, b"before %d" % i)
        expect("echo before", p.read_message(), (TEXT, b"before %d" % i))
    h = Http()
    t0 = time.monotonic()
    for i in range(50):
        h.get("/api/time" if i % 2 else "/")
        status, _, body = h.response()
        expect("request %d" % i, status, 200)
    took = time.monotonic() - t0
    h.get("/api/time")
    t = json.loads(h.response()[2])
    if t["websockets"] < 5:
        raise Fail("/api/time counts %d open WebSockets, 5 are open" % t["websockets"])
    for i, p in enumerate(echo):
        p.send_frame(TEXT, b"after %d" % i)
        expect("echo after", p.read_message(), (TEXT, b"after %d" % i))
    chat[0].send_frame(TEXT, b"still here")
    for p in chat:
        expect("broadcast after", p.read_message(), (TEXT, b"still here"))
    for p in echo + chat:
        p.send_frame(CLOSE, close_body(1000))
    return "5 WebSockets open: 51 keep-alive requests in %.0f ms (/api/time counts %d), then all still echo" % (took * 1000, t["websockets"])


def check_chat_broadcast():
    a, b, c = connect(HOST, PORT, "/chat"), connect(HOST, PORT, "/chat"), connect(HOST, PORT, "/chat")
    e = connect(HOST, PORT, "/ws")
    a.send_frame(TEXT, "hi all 👋".encode())
    for name, p in (("sender", a), ("b", b), ("c", c)):
        expect("%s receives" % name, p.read_message(), (TEXT, "hi all 👋".encode()))
    c.send_frame(BINARY, b"\x00\x01\x02")
    for name, p in (("a", a), ("b", b), ("c", c)):
        expect("%s receives binary" % name, p.read_message(), (BINARY, b"\x00\x01\x02"))
    e.send_frame(TEXT, b"only me")
    expect("the /ws client gets only its echo", e.read_message(), (TEXT, b"only me"))
    b.send_frame(CLOSE, close_body(1000))   # b leaves; the others still get messages
    expect("b's close echoed", b.read_message()[0], CLOSE)
    a.send_frame(TEXT, b"after b left")
    expect("c after b left", c.read_message(), (TEXT, b"after b left"))
    for p in (a, c, e):
        p.send_frame(CLOSE, close_body(1000))
    return "/chat: a message reaches all 3 chat clients (sender too), text and binary; /ws gets none"


def check_too_big():
    peer = connect(HOST, PORT, "/ws")
    peer.send_frame(BINARY, b"x" * 65537)
    op, body = peer.read_message()
    expect("close code", (op, body[:2]), (CLOSE, close_body(1009)))
    return "a 64 KiB + 1 message: close 1009"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))


def check_pipelined_big():
    """40 requests for a 2 MiB file in one write, read slowly: all answered in order, while
    the server's memory stays bounded (it answers only as fast as the client reads) and
    other clients are served meanwhile."""
    big = file("big.bin")
    pid = int(os.environ["SERVER_PID"])
    rss0 = peak = rss_kib(pid)
    h = Http()
    h.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    h.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n" * 40)
    time.sleep(0.5)                    # the server fills the socket, then must wait
    peak = max(peak, rss_kib(pid))
    other = Http()
    t0 = time.monotonic()
    other.get("/api/time")
    expect("another client meanwhile", other.response()[0], 200)
    other_ms = (time.monotonic() - t0) * 1000
    for i in range(40):
        status, hd, body = h.response()
        if status != 200 or body != big or hd.get("content-type") != "application/octet-stream":
            raise Fail("answer %d: %d, %d bytes, %s" % (i, status, len(body), hd.get("content-type")))
        peak = max(peak, rss_kib(pid))
    if peak - rss0 > 16384:
        raise Fail("server RSS grew by %d KiB for 80 MiB of answers" % (peak - rss0))
    return ("40 pipelined GETs of a 2 MiB file: all 40 bodies exact, server RSS grew %d KiB; "
            "another client answered in %.0f ms meanwhile" % (peak - rss0, other_ms))


def check_websockets_client():
    """Python's websockets library (another implementation) on /ws and /chat."""
    import asyncio
    import websockets

    async def run():
        base = "%s://%s:%d" % ("wss" if tls_context() else "ws", HOST, PORT)
        tls = {"ssl": tls_context()} if tls_context() else {}
        async with websockets.connect(base + "/ws", compression=None, **tls) as ws:
            await ws.send("ping ✓")
            expect("websockets /ws echo", await asyncio.wait_for(ws.recv(), 5), "ping ✓")
            await ws.send(b"\x00" * 1000)
            expect("websockets /ws binary", await asyncio.wait_for(ws.recv(), 5), b"\x00" * 1000)
            await asyncio.wait_for(await ws.ping(b"p"), 5)
        async with websockets.connect(base + "/chat", compression=None, **tls) as a, \
                websockets.connect(base + "/chat", compression=None, **tls) as b:
            await a.send("to everyone")
            expect("websockets /chat, other client", await asyncio.wait_for(b.recv(), 5), "to everyone")
            expect("websockets /chat, sender", await asyncio.wait_for(a.recv(), 5), "to everyone")
        try:
            async with websockets.connect(base + "/nope", compression=None, **tls):
                raise Fail("websockets connected to /nope")
        except websockets.exceptions.InvalidStatusCode as e:
            expect("websockets on /nope", e.status_code, 404)
        return ws.close_code

    code = asyncio.run(run())
    expect("close code", code, 1000)
    return "websockets %s: /ws echo, ping, /chat broadcast, /nope refused 404, close 1000" % __import__("websockets").__version__


def check_shutdown_peer():
    """Run while the server is sent SIGTERM: a /ws client that answers the server's close
    300 ms late must still have its answer taken, then see TCP closed (not reset)."""
    peer = connect(HOST, PORT, "/ws")
    print("connected", flush=True)
    op, body = peer.read_message(timeout=20)
    expect("the server's close", (op, body[:2]), (CLOSE, close_body(1001)))
    time.sleep(0.3)
    peer.send_frame(CLOSE, body[:2])
    t0 = time.monotonic()
    if not peer.wait_eof():
        raise Fail("TCP still open after the close handshake")
    return "close 1001 '%s' answered 300 ms late; then TCP closed after %.0f ms" % (
        body[2:].decode(), (time.monotonic() - t0) * 1000)


CHECKS = {name[6:].replace("_", "-"): f for name, f in globals().items() if name.startswith("check_") and name != "check_time_json"}
SLOW = ("pipelined-big", "shutdown-peer")  # asked for by name only

if __name__ == "__main__":
    failed = 0
    for name in sys.argv[3:] or [c for c in CHECKS if c not in SLOW]:
        try:
            print("ok   %s: %s" % (name, CHECKS[name]()), flush=True)
        except (Fail, EOFError, OSError, ValueError, KeyError) as e:
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
            failed += 1
    sys.exit(1 if failed else 0)
