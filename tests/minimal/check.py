"""build/minimal_server as a user would try it, with Python's `websockets` as the client and
raw sockets for bad requests:
    /usr/bin/python3 tests/minimal/check.py PORT
One line per check ("ok ..." or "FAIL ..."); exits 1 when one failed."""
import asyncio
import os
import socket
import sys
import time

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "loopback"))
from wsraw import CLOSE, PING, PONG, TEXT, connect  # noqa: E402

PORT = int(sys.argv[1])
URL = "ws://127.0.0.1:%d/" % PORT
failed = 0


def check(ok, what, why=""):
    global failed
    print(("ok   %s" if ok else "FAIL %s" + (": " + why if why else "")) % what, flush=True)
    failed += not ok


def raw(data, timeout=5):
    """Sends data on a new connection; everything until the server closes TCP."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.sendall(data)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


async def echo():
    text = "héllo, 你好 🌍 ✓"
    binary = bytes(range(256)) * 3
    async with websockets.connect(URL, max_size=None) as ws:
        await ws.send(text)
        got = await ws.recv()
        check(got == text, "a UTF-8 text message comes back as text, unchanged", repr(got))
        await ws.send(binary)
        got = await ws.recv()
        check(got == binary, "a binary message comes back as binary, unchanged", repr(got[:20]))
        await ws.send("")
        got = await ws.recv()
        check(got == "", "an empty text message comes back empty", repr(got))
        big = os.urandom(65536)
        await ws.send(big)
        got = await ws.recv()
        check(got == big, "a 64 KiB binary message (the limit) comes back whole", "%d bytes" % len(got))
        await ws.send(["frag", "ment", "ed ✓"])
        got = await ws.recv()
        check(got == "fragmented ✓", "a message sent in three fragments comes back whole", repr(got))
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        check(True, "a ping is answered with a pong")
        for i in range(200):
            await ws.send("message %d" % i)
        got = [await ws.recv() for _ in range(200)]
        check(got == ["message %d" % i for i in range(200)], "200 messages sent at once come back in order")
    check(ws.close_code == 1000, "a close from the client gets a clean close (1000) and the server closes TCP",
          "close code %s" % ws.close_code)


async def too_big():
    try:
        async with websockets.connect(URL, max_size=None) as ws:
            await ws.send(b"x" * 65537)
            await asyncio.wait_for(ws.recv(), 5)
        check(False, "a message over 64 KiB gets close 1009", "it came back")
    except websockets.ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 1009, "a message over 64 KiB gets close 1009", str(e))


async def many():
    async def one(i):
        async with websockets.connect(URL) as ws:
            for j in range(20):
                await ws.send("client %d message %d" % (i, j))
                if await ws.recv() != "client %d message %d" % (i, j):
                    return False
        return ws.close_code == 1000
    got = await asyncio.gather(*(one(i) for i in range(20)))
    check(all(got), "20 clients at once each get their own 20 echoes and a clean close",
          "%d of 20 failed" % got.count(False))


def bad_requests():
    out = raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 400 "), "a plain HTTP GET (no upgrade) gets 400, then TCP closes", repr(out[:40]))
    out = raw(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 426 ") and b"sec-websocket-version: 13" in out.lower(),
          "an upgrade with Sec-WebSocket-Version 8 gets 426 with Sec-WebSocket-Version: 13", repr(out[:40]))
    out = raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Filler: " + b"y" * 9000 + b"\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 431 "), "a request head over 8 KiB gets 431", repr(out[:40]))
    out = raw(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 400 "), "garbage gets 400", repr(out[:40]))


def frames_with_the_request():
    """A client that sends its first frame in the same packet as the request."""
    from wsraw import frame
    peer = connect("127.0.0.1", PORT, extra=frame(TEXT, b"right behind the head", mask=os.urandom(4)))
    op, payload = peer.read_message()
    check(op == TEXT and payload == b"right behind the head",
          "a frame sent in the same packet as the request is echoed", repr((op, payload)))
    peer.send_frame(PING, b"p")
    peer.send_frame(CLOSE, b"\x03\xe8")
    op, body = peer.read_message()
    check(op == CLOSE and body[:2] == b"\x03\xe8" and (PONG, b"p") in peer.controls and peer.wait_eof(),
          "raw client: ping answered, close 1000 echoed, then the server closes TCP", repr((op, body, peer.controls)))


async def main():
    await echo()
    await too_big()
    await many()
    bad_requests()
    frames_with_the_request()


asyncio.run(main())
sys.exit(1 if failed else 0)
