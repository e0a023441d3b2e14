"""Peers for build/echo_server, good and bad, one check per run:
    python3 tests/loopback/server_peers.py PORT CHECK [ARGS]
Prints "ok CHECK: what" and exits 0, or "FAIL CHECK: why" and exits 1."""
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsraw import BINARY, CLOSE, PING, PONG, TEXT, Fail, Peer, close_body, connect  # noqa: E402

HOST = "127.0.0.1"


def raw(port, data, timeout=5):
    """Sends data on a new connection; returns everything until the server closes."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.sendall(data)
    peer = Peer(sock, client=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            peer._fill(deadline)
    except EOFError:
        return peer.buf


def expect_close(peer, code, timeout=5):
    """Reads until the close frame; checks its code and that TCP ends after it."""
    op, body = None, b""
    while op != CLOSE:
        op, body = peer.read_message(timeout)
    got = int.from_bytes(body[:2], "big") if len(body) >= 2 else None
    if got != code:
        raise Fail("close code %s, expected %d" % (got, code))
    if not peer.wait_eof(timeout):
        raise Fail("close %d came but the server kept TCP open" % code)


def check_garbage(port):
    out = raw(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    if not out.startswith(b"HTTP/1.1 400 "):
        raise Fail("answer %r" % out[:40])
    return "garbage answered 400, then closed"


def check_bad_version(port):
    out = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    if not out.startswith(b"HTTP/1.1 426 ") or b"sec-websocket-version: 13" not in out.lower():
        raise Fail("answer %r" % out[:80])
    return "version 8 answered 426 with Sec-WebSocket-Version: 13"


def check_http(port, page):
    with open(page, "rb") as f:
        want = f.read()
    out = raw(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 ") or body != want:
        raise Fail("GET / gave %r and %d body bytes (page: %d)" % (head[:20], len(body), len(want)))
    if b"new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/')" not in body:
        raise Fail("the page does not connect back to ws://location.host/ (wss:// over https)")
    out = raw(port, b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 ") or body or b"content-length: %d" % len(want) not in head.lower():
        raise Fail("HEAD / gave %r and %d body bytes" % (head[:60], len(body)))
    out = raw(port, b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    if not out.startswith(b"HTTP/1.1 404 "):
        raise Fail("GET /nope gave %r" % out[:20])
    return "GET / serves echo.html (%d bytes), HEAD / its head alone, GET /nope 404" % len(want)


def check_half_handshake(port):
    """Sends half a request and waits: the server must give up after its 10 s timeout."""
    sock = socket.create_connection((HOST, port), timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
    t0 = time.monotonic()
    peer = Peer(sock, client=True)
    if not peer.wait_eof(16):
        raise Fail("still open after 16 s")
    took = time.monotonic() - t0
    if took < 9:
        raise Fail("closed after %.1f s, before the 10 s handshake timeout" % took)
    return "half a handshake dropped after %.1f s" % took


def check_pipelined(port):
    """Frames sent in the same packet as the request are echoed (the bytes behind the head)."""
    from wsraw import frame
    frames = frame(TEXT, "über".encode(), mask=b"\x01\x02\x03\x04") + \
        frame(BINARY, b"\x00\xff" * 100, mask=b"\xaa\xbb\xcc\xdd")
    peer = connect(HOST, port, extra=frames)
    if peer.read_message() != (TEXT, "über".encode()) or peer.read_message() != (BINARY, b"\x00\xff" * 100):
        raise Fail("wrong echoes")
    peer.send_frame(CLOSE, close_body(1000))
    expect_close(peer, 1000)
    return "frames behind the request echoed, close 1000 echoed"


def check_trickle(port):
    """A 3 KB request (the server's buffer grows twice, and may move) and a frame, sent one
    byte per packet: 101, then the echo."""
    import base64
    from wsraw import accept_key, frame
    sock = socket.create_connection((HOST, port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET /?x=1 HTTP/1.1\r\nHost: %s:%d\r\nX-Padding: %s\r\nUpgrade: websocket\r\n"
           "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n" % (HOST, port, "p" * 3000, key)).encode()
    data = req + frame(TEXT, "slow ünïcode".encode(), mask=b"\x10\x20\x30\x40")
    for i in range(len(data)):
        sock.send(data[i:i + 1])
    peer = Peer(sock, client=True)
    head = peer.read_head()
    if not head.startswith("HTTP/1.1 101 ") or accept_key(key) not in head:
        raise Fail("answer %r" % head[:60])
    if peer.read_message() != (TEXT, "slow ünïcode".encode()):
        raise Fail("wrong echo")
    return "%d-byte request and a frame sent a byte at a time: 101 and the echo" % len(req)


def check_unmasked(port):
    peer = connect(HOST, port)
    peer.send_frame(TEXT, b"not masked", masked=False)
    expect_close(peer, 1002)
    return "unmasked frame: close 1002, then TCP closed"


def check_bad_utf8(port):
    """A 1.5 MB text frame turning invalid at byte 1000000: the server reads 256 KiB at most
    at a time and gathers at most 64 KiB, so it echoes most of the valid start (streamed, in
    fragments) before it sees the bad byte; then it must still send close 1007."""
    bad_at, held = 1000000, (256 + 64) << 10
    data = bytearray(("ä" * 750000).encode())
    data[bad_at] = 0xFF
    peer = connect(HOST, port)
    peer.send_frame(TEXT, bytes(data))
    fin, rsv, op, payload, _ = peer.read_frame()
    got = b""
    while op != CLOSE:
        got += payload
        fin, rsv, op, payload, _ = peer.read_frame()
    if got != bytes(data[: len(got)]) or not bad_at - held <= len(got) <= bad_at:
        raise Fail("%d bytes echoed before the close, not a valid start of what was sent of %d-%d bytes"
                   % (len(got), bad_at - held, bad_at))
    code = int.from_bytes(payload[:2], "big")
    if code != 1007:
        raise Fail("close code %d, expected 1007" % code)
    if not peer.wait_eof():
        raise Fail("TCP still open after close 1007")
    return "invalid UTF-8 at byte %d: %d valid bytes echoed first, close 1007" % (bad_at, len(got))


def check_too_big(port):
    from wsraw import frame
    peer = connect(HOST, port)
    head = frame(BINARY, b"", mask=b"\0\0\0\0")[:1] + bytes([0x80 | 127]) + (64 << 20).to_bytes(8, "big") + b"\0\0\0\0"
    peer.send(head)
    expect_close(peer, 1009)
    return "64 MiB frame header: close 1009"


def check_ping(port):
    peer = connect(HOST, port)
    peer.send_frame(PING, b"hello?")
    peer.send_frame(TEXT, b"after")
    if peer.read_message() != (TEXT, b"after") or peer.controls != [(PONG, b"hello?")]:
        raise Fail("got %r" % peer.controls)
    peer.send_frame(CLOSE, close_body(4000, b"done"))
    expect_close(peer, 4000)
    return "ping answered, close 4000 echoed"


def check_slow_reader(port, seconds):
    """Sends binary frames and never reads: the server must stop reading (our sends block)
    long before its 64 MiB limit. Then stays connected `seconds` so the test can look at the
    server's memory and run good clients meanwhile."""
    peer = connect(HOST, port)
    chunk = b"\x5a" * (1 << 20)
    sent = 0
    peer.sock.settimeout(2)
    try:
        while sent < (256 << 20):
            peer.send_frame(BINARY, chunk)
            sent += len(chunk)
    except socket.timeout:
        pass
    if sent >= (256 << 20):
        raise Fail("sent 256 MiB without blocking: the server never stopped reading")
    print("blocked after %d MiB" % (sent >> 20), flush=True)
    time.sleep(seconds)
    return "never reading: the server stopped reading after %d MiB sent" % (sent >> 20)


def echo_frames(port, op, payload, piece):
    """Sends payload as one message in fragments of `piece` bytes (a thread sends while this
    one reads); returns the frames of the echo as (fin, op, length), and the echo."""
    import threading
    from wsraw import CONT, frame
    peer = connect(HOST, port)
    n = (len(payload) + piece - 1) // piece
    wire = b"".join(frame(op if i == 0 else CONT, payload[i * piece:(i + 1) * piece], fin=i == n - 1,
                          mask=b"\x01\x02\x03\x04") for i in range(n))
    sender = threading.Thread(target=peer.send, args=(wire,))
    sender.start()
    frames, echo = [], []
    while not frames or not frames[-1][0]:
        fin, rsv, fop, data, masked = peer.read_frame(timeout=20)
        if fop >= 8:
            continue
        frames.append((fin, fop, len(data)))
        echo.append(data)
    sender.join()
    peer.send_frame(CLOSE, close_body(1000))
    expect_close(peer, 1000)
    return frames, b"".join(echo)


def check_gather(port):
    """A 4 MiB message sent in 64-byte fragments comes back whole in few, large frames."""
    payload = os.urandom(4 << 20)
    frames, echo = echo_frames(port, BINARY, payload, 64)
    if echo != payload:
        raise Fail("the echo differs (%d bytes, sent %d)" % (len(echo), len(payload)))
    if frames[0][1] != BINARY or any(f[1] != 0 for f in frames[1:]):
        raise Fail("opcodes %r" % sorted(set(f[1] for f in frames)))
    if len(frames) > 128:
        raise Fail("echoed as %d frames (sent as %d)" % (len(frames), len(payload) // 64))
    text = ("gathered ✓ 你好 " * 20000).encode()
    tframes, techo = echo_frames(port, TEXT, text, 7)           # cut inside characters
    if techo != text or tframes[0][1] != TEXT or len(tframes) > 16:
        raise Fail("text: %d frames, %s" % (len(tframes), "same" if techo == text else "differs"))
    return ("4 MiB in 65536 fragments of 64 B echoed as %d frames (largest %d B); %d B of text "
            "in fragments of 7 B as %d" % (len(frames), max(f[2] for f in frames), len(text), len(tframes)))


def check_going_away(port):
    """Stays connected until the server shuts down: it must send close 1001 first."""
    peer = connect(HOST, port)
    print("connected", flush=True)
    op, body = peer.read_message(timeout=20)
    while op != CLOSE:
        op, body = peer.read_message(timeout=20)
    code = int.from_bytes(body[:2], "big") if len(body) >= 2 else None
    if code != 1001:
        raise Fail("close code %s, expected 1001" % code)
    return "server shutdown sent close 1001"


CHECKS = {
    "garbage": check_garbage, "bad-version": check_bad_version, "http": check_http,
    "half-handshake": check_half_handshake, "pipelined": check_pipelined,
    "unmasked": check_unmasked, "trickle": check_trickle, "bad-utf8": check_bad_utf8, "too-big": check_too_big,
    "ping": check_ping, "gather": check_gather, "going-away": check_going_away, "slow-reader": lambda port, s: check_slow_reader(port, float(s)),
}

if __name__ == "__main__":
    port, name = int(sys.argv[1]), sys.argv[2]
    try:
        print("ok   %s: %s" % (name, CHECKS[name](port, *sys.argv[3:])))
    except (Fail, OSError, EOFError) as e:
        print("FAIL %s: %s" % (name, e or type(e).__name__))
        sys.exit(1)
