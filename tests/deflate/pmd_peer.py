"""permessage-deflate with a real peer: Python websockets (its default compression, a zlib
client with context takeover) against build/echo_server, which takes the offer, inflates
what the client compresses and echoes it compressed (each message on its own); then a raw
socket client that reads the echoes' frames: RSV1 on those of 64 bytes or more that shrink,
their payloads inflated by zlib (window 2^bits as agreed), the small ones as they are.
    python3 tests/deflate/pmd_peer.py PORT [takeover]
With "takeover" (echo_server --takeover): the server does not ask for
server_no_context_takeover and compresses the echoes with context taken over, so the raw
client inflates them with one zlib stream kept from message to message.
Prints "ok ..." / "FAIL ..." lines."""
import asyncio
import base64
import os
import socket
import struct
import sys
import zlib

import websockets

PORT = int(sys.argv[1])
TAKEOVER = len(sys.argv) > 2 and sys.argv[2] == "takeover"


def say(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)


async def main():
    url = "ws://127.0.0.1:%d/" % PORT
    async with websockets.connect(url, max_size=64 << 20, compression="deflate") as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        say(ext.startswith("permessage-deflate") and
            ("server_no_context_takeover" in ext) != TAKEOVER,
            "the server took the client's offer: %r" % ext)
        msgs = [
            '{"event":"message","room":"lobby","text":"你好, websocket 👍"}',
            "websocket是基于TCP的一种新的网络协议，" * 4000,          # 440 kB of text
            bytes(range(256)) * 4000,                                # 1 MB binary
            "",
            "x" * 2_000_000,                                          # inflates a lot
        ]
        for _ in range(3):                                            # context taken over
            for m in msgs:
                await ws.send(m)
                back = await asyncio.wait_for(ws.recv(), 20)
                if back != m:
                    say(False, "echo of a %d-byte %s message" % (len(m), type(m).__name__))
                    return
        say(True, "15 messages compressed by websockets (text, CJK, 1 MB binary, empty, "
                  "2 MB of one letter), each echoed exactly, context taken over")
    async with websockets.connect(url, compression=None) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions")
        say(ext is None, "no offer, no extension in the 101")
        await ws.send("plain")
        say(await ws.recv() == "plain", "plain messages still echoed")


def raw(bits):
    """A raw client offering server_max_window_bits=bits: the echoes' frames, checked."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
    key = base64.b64encode(os.urandom(16)).decode()
    offer = "permessage-deflate; client_max_window_bits; server_max_window_bits=%d" % bits
    s.sendall(("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Extensions: %s\r\n\r\n" % (key, offer)).encode())
    buf = b""
    keep = zlib.decompressobj(-bits)        # the server's context, with takeover
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, buf = buf.split(b"\r\n\r\n", 1)
    ext = [l for l in head.decode().split("\r\n") if l.lower().startswith("sec-websocket-extensions")]
    say(ext and (("server_max_window_bits=%d" % bits) in ext[0] or
                 (bits == 15 and "server_max_window_bits" not in ext[0])),
        "raw offer of a 2^%d server window answered: %r" % (bits, ext))

    def recv_exact(n):
        nonlocal buf
        while len(buf) < n:
            more = s.recv(1 << 16)
            if not more:
                raise EOFError
            buf += more
        out, buf = buf[:n], buf[n:]
        return out

    def read_message():
        frames, payload, rsv1 = 0, b"", None
        while True:
            b0, b1 = recv_exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", recv_exact(8))[0]
            if b1 & 0x80 or (b0 & 0x30) or (frames and b0 & 0x40):
                raise ValueError("bad frame header %02x %02x" % (b0, b1))
            if rsv1 is None:
                rsv1 = bool(b0 & 0x40)
            payload += recv_exact(n)
            frames += 1
            if b0 & 0x80:
                break
        if rsv1:
            d = keep if TAKEOVER else zlib.decompressobj(-bits)
            payload = d.decompress(payload + b"\x00\x00\xff\xff")
        return rsv1, payload, frames

    chat = ('{"type":"message","room":"lobby","user":"alice","text":"hello everyone, '
            'how is it going?","ts":1733100000}').encode()
    cases = [(b"short", False), (chat, True), (chat * 300, True), (os.urandom(3000), False),
             ("websocket是基于TCP的一种新的网络协议，".encode() * 20000, True), (b"x" * 1000000, True)]
    ok = True
    for msg, want in cases:
        k = os.urandom(4)
        n = len(msg)
        hdr = bytes([0x82, 0x80 | (n if n < 126 else 126 if n < 65536 else 127)])
        hdr += struct.pack("!H", n) if 126 <= n < 65536 else struct.pack("!Q", n) if n >= 65536 else b""
        masked = bytes(b ^ k[i & 3] for i, b in enumerate(msg)) if n < 100000 else \
            (int.from_bytes(msg, "little") ^ int.from_bytes((k * (n // 4 + 1))[:n], "little")).to_bytes(n, "little")
        s.sendall(hdr + k + masked)
        try:
            rsv1, back, frames = read_message()
        except (ValueError, EOFError, zlib.error, OSError) as e:
            say(False, "echo of %d bytes: %s" % (n, e))
            return
        good = back == msg and rsv1 == want
        ok &= good
        if not good:
            say(False, "echo of %d bytes: compressed %s (expected %s), %s" % (n, rsv1, want,
                "same bytes" if back == msg else "different bytes"))
    say(ok, (("2^%d, context taken over: " if TAKEOVER else "2^%d: ") % bits) +
        "6 echoes, RSV1 exactly on the 4 of 64 bytes or more that shrink (up to 1 MB), "
        "each inflated by zlib to what was sent")
    if TAKEOVER:                                # chat twice: the second much shorter
        sizes = []
        for _ in range(2):
            k = os.urandom(4)
            s.sendall(bytes([0x82, 0x80 | len(chat)]) + k + bytes(b ^ k[i & 3] for i, b in enumerate(chat)))
            b0, b1 = recv_exact(2)
            n = b1 & 0x7F
            back = keep.decompress(recv_exact(n) + b"\x00\x00\xff\xff")
            sizes.append(n if back == chat and b0 & 0x40 else 1000)
        say(sizes[1] < 20 < sizes[0], "2^%d: the chat message twice, %d then %d bytes of %d on "
            "the wire, inflated by the same zlib stream" % (bits, sizes[0], sizes[1], len(chat)))
    s.close()


asyncio.run(main())
for b in (15, 9):
    raw(b)
