#!/usr/bin/python3
"""build/chat_server without a browser: the JSON protocol, slow readers and heartbeats.

usage: /usr/bin/python3 chat_check.py chat PORT PID          (server with default options)
       /usr/bin/python3 chat_check.py heartbeat PORT PID     (--ping-interval 200 --ping-timeout 400)
Prints "ok ..." or "FAIL ..." per check.
"""
import asyncio
import base64
import json
import os
import random
import socket
import struct
import sys
import time
import zlib

import websockets

PING_INTERVAL, PING_TIMEOUT = 200, 400      # what run_chat.sh gives the heartbeat server


def check(cond, name, why=""):
    print(("ok   %s" if cond else "FAIL %s" + (": " + why if why else "")) % name)
    return cond


class Chat:
    """A websockets client that keeps every event it gets."""

    @classmethod
    async def open(cls, url, nick=None, **kw):
        self = cls()
        kw.setdefault("compression", None)     # compression="deflate": permessage-deflate
        self.ws = await websockets.connect(url, ping_interval=None, **kw)
        self.seen = []
        self.welcome = await self.wait("welcome")
        self.nick = self.welcome["data"]["nick"]
        self.next_id = 1
        if nick:
            await self.request("nick", data=nick)
            self.nick = nick
        return self

    async def send(self, event, **fields):
        self.next_id += 1
        await self.ws.send(json.dumps(dict(event=event, id=self.next_id, **fields)))
        return self.next_id

    async def wait(self, event, timeout=5, **match):
        """The next event of this name (and fields), keeping what came before in self.seen."""
        end = time.monotonic() + timeout
        while True:
            m = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.01, end - time.monotonic())))
            if m.get("event") == event and all(m.get(k) == v for k, v in match.items()):
                return m
            self.seen.append(m)

    async def request(self, event, **fields):
        """Sends a request and returns its answer (ack or error) and what came before it."""
        self.seen = []
        i = await self.send(event, **fields)
        while True:
            m = await self.wait_any()
            if m.get("event") in ("ack", "error") and m.get("id") == i:
                return m
            self.seen.append(m)

    async def wait_any(self, timeout=5):
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def sync(self):
        """Everything the server sent before a pong to a fresh ping."""
        self.seen = []
        i = await self.send("ping")
        await self.wait("pong", id=i)
        return [m for m in self.seen]


# ---- a raw client: handshake by hand, frames by hand, reads only when told ----

def masked(op, payload, rsv=0):
    key = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | rsv | op]) + (bytes([0x80 | n]) if n < 126 else bytes([0xFE]) + struct.pack(">H", n))
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frames(buf, whole=False):
    """Splits server frames off buf: ([(op, payload)], rest); whole: ([(first byte, payload,
    frame length)], rest)."""
    out = []
    while len(buf) >= 2:
        n, at = buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                break
            n, at = struct.unpack(">H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, at = struct.unpack(">Q", buf[2:10])[0], 10
        if len(buf) < at + n:
            break
        out.append((buf[0], buf[at:at + n], at + n) if whole else (buf[0] & 0x0F, buf[at:at + n]))
        buf = buf[at + n:]
    return out, buf


def inflate(payload):
    """A permessage-deflate message inflated alone (a fresh decoder: no context taken over)."""
    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


async def raw_client(port, rcvbuf=None, ext=None, heads=None):
    """A client by hand: (reader, writer, nick, bytes after the welcome). ext: the
    Sec-WebSocket-Extensions to offer; heads: a list the server's 101 is appended to."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.setblocking(False)
    await asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port))
    r, w = await asyncio.open_connection(sock=s, limit=1 << 20)
    key = base64.b64encode(os.urandom(16)).decode()
    w.write(("GET /chat HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n"
             % (port, key, "Sec-WebSocket-Extensions: %s\r\n" % ext if ext else "")).encode())
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101"), head
    if heads is not None:
        heads.append(head.decode())
    # the welcome frame, to learn the nick
    buf = b""
    while True:
        got, buf = frames(buf, whole=True)
        if got:
            break
        buf += await asyncio.wait_for(r.read(4096), 5)
    b0, payload, _ = got[0]
    return r, w, json.loads(inflate(payload) if b0 & 0x40 else payload)["data"]["nick"], buf


async def http(port, request):
    """A plain HTTP request; the whole answer (the server closes after it)."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(request)
    out = await asyncio.wait_for(r.read(), 5)
    w.close()
    return out


async def page(port):
    """GET / is the page; HEAD / the same head without the body; other paths 404."""
    get = await http(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = await http(port, b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    nope = await http(port, b"HEAD /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    ghead, _, body = get.partition(b"\r\n\r\n")
    check(get.startswith(b"HTTP/1.1 200 ") and b"<html" in body.lower(), "GET / serves the page",
          repr(get[:40]))
    check(head == ghead + b"\r\n\r\n", "HEAD / answers GET /'s head (200, same Content-Length) without the body",
          repr(head[:60]))
    check(nope.startswith(b"HTTP/1.1 404 "), "HEAD /nope gets 404, as GET /nope does", repr(nope[:40]))


async def read_until_eof(r, buf, timeout):
    """Reads frames until the server closes TCP: (frames, seconds waited, eof seen)."""
    out, t0 = [], time.monotonic()
    try:
        while True:
            data = await asyncio.wait_for(r.read(65536), max(0.01, timeout - (time.monotonic() - t0)))
            if not data:
                break
            got, buf = frames(buf + data)
            out += got
    except (asyncio.TimeoutError, ConnectionResetError):
        return out, time.monotonic() - t0, False
    got, buf = frames(buf)
    return out + got, time.monotonic() - t0, True


# ---- the checks ----

async def chat(port, pid):
    url = "ws://127.0.0.1:%d/chat" % port
    ann = await Chat.open(url, compression="deflate")   # compressing (bob and cid do not)
    w = ann.welcome["data"]
    check(ann.nick.startswith("guest-") and w.get("ping_interval") == 25000 and w.get("ping_timeout") == 20000,
          "welcome: a guest nick and the heartbeat intervals", repr(ann.welcome))
    m = await ann.request("nick", data="ann")
    check(m["event"] == "ack", "nick ann: acknowledged with the request's id", repr(m))
    ann.nick = "ann"
    bob = await Chat.open(url)
    m = await bob.request("nick", data="ann")
    check(m["event"] == "error" and m["data"] == "nick taken", "a nick in use is refused", repr(m))
    bad = [m for n in ["", "x" * 25, "a b", 'a"b', "tab\there", "new\nline"]
           for m in [await bob.request("nick", data=n)] if m["event"] != "error"]
    check(not bad, "empty, too long, spaces, quotes, control characters: refused as nicks", repr(bad))
    m = await bob.request("nick", data="Bérénice.b_2-x")
    check(m["event"] == "ack", "a non-ASCII nick with . _ - is accepted", repr(m))
    await bob.request("nick", data="bob")
    bob.nick = "bob"
    cid = await Chat.open(url, "cid")

    m = await ann.request("join", room="lobby")
    got = [e["event"] for e in ann.seen]
    check(m["event"] == "ack" and got == ["joined", "members"], "join: joined, members, then the ack", repr(got))
    m = await bob.request("join", room="lobby")
    j = await ann.wait("joined", room="lobby")
    mem = await ann.wait("members", room="lobby")
    check(j["data"] == {"nick": "bob"}, "ann sees bob join #lobby", repr(j))
    check(sorted(mem["data"]["nicks"]) == ["ann", "bob"] and mem["data"]["count"] == 2,
          "the members of #lobby: ann and bob", repr(mem))
    await cid.request("join", room="random")

    m = await ann.request("message", room="lobby", data="hello lobby")
    check(m["event"] == "ack" and not [e for e in ann.seen if e["event"] == "message"],
          "a message is acknowledged to its sender, not echoed", repr(ann.seen))
    t = await bob.wait("message", room="lobby")
    check(t["data"] == {"from": "ann", "text": "hello lobby"}, "bob in #lobby gets ann's message", repr(t))
    seen = await cid.sync()         # bob has it, so anything for cid came before this pong
    check(not [e for e in seen if e["event"] == "message"], "cid in #random does not", repr(seen))

    text = 'quotes " backslash \\ newline \n tab \t nul \x00 bell \x07 </script> Grüße 🌍 ' + "é" * 300
    await ann.request("message", room="lobby", data=text)
    t = await bob.wait("message", room="lobby")
    check(t["data"]["text"] == text, "text with quotes, controls, NUL and emoji arrives unchanged")
    m = await ann.request("message", room="random", data="x")
    check(m["event"] == "error" and m["data"] == "join the room first", "a message to a room not joined is refused",
          repr(m))

    m = await cid.request("broadcast", data="hello everyone")
    a, b = await ann.wait("broadcast"), await bob.wait("broadcast")
    check(a["data"] == b["data"] == {"from": "cid", "text": "hello everyone"}, "a broadcast reaches ann and bob",
          repr((a, b)))
    check(m["event"] == "ack" and not [e for e in cid.seen + await cid.sync() if e["event"] == "broadcast"],
          "but not its sender, who gets the ack")

    await bob.request("nick", data="bobby")
    r = await ann.wait("renamed", room="lobby")
    check(r["data"] == {"nick": "bobby", "was": "bob"}, "a rename is announced to the room", repr(r))
    await bob.request("leave", room="lobby")
    left = await ann.wait("left", room="lobby")
    mem = await ann.wait("members", room="lobby")
    check(left["data"] == {"nick": "bobby", "why": "left"} and mem["data"]["nicks"] == ["ann"],
          "a leave is announced and the members updated", repr((left, mem)))
    await cid.request("join", room="lobby")
    await cid.ws.close()
    left = await ann.wait("left", room="lobby", data={"nick": "cid", "why": "closed"})
    check(True, "a client that closes is announced as left (why: closed)")

    hostile = ['nope', '[1]', '{"event":1}', '{"event":"ping","id":-1}', '{"event":"ping","id":1e3}',
               '{"event":"ping","id":12345678901}', '{"event":"ping","id":1,"id":2}', '{"event":"ping","x":1}',
               '{"event":"ping"} trailing', '{"event":"ping","data":"\\ud800"}', '{"event":"ping","data":"\\x"}',
               '{"event":"ping","data":{"a":1}}', '{"event":"nope"}', '{}', '{"event":"ping"', '"',
               '{"event":"join","room":"' + "r" * 25 + '"}', '{"event":"message","room":"lobby"}',
               '{"event":"ping","data":"\x01"}', "{" * 10000, '{"event":"ping","id":' + "9" * 5000 + "}"]
    await ann.sync()                # the members update after cid left
    answers = []
    for h in hostile:
        await ann.ws.send(h)
        answers.append(await ann.wait_any())
    wrong = [(h[:40], a) for h, a in zip(hostile, answers) if a.get("event") != "error" or not a.get("data")]
    check(not wrong, "%d malformed or unexpected requests: an error event each, with a reason" % len(hostile),
          repr(wrong))
    i = await ann.send("ping", room="lobby", data="x")
    check((await ann.wait("pong", id=i)) is not None, "the connection still works after them")
    await ann.ws.send(b'{"event":"ping"}')
    m = await ann.wait_any()
    check(m["event"] == "error" and "binary" in m["data"], "a binary message gets an error event", repr(m))
    big = await Chat.open(url, max_size=None)
    await big.ws.send(json.dumps({"event": "ping", "data": "x" * 70000}))
    try:
        await asyncio.wait_for(big.ws.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    check(big.ws.close_code == 1009, "a message over --max-message (64 KiB) is closed with 1009",
          "close code %s" % big.ws.close_code)
    big = await Chat.open(url, max_size=None, compression="deflate")
    await big.ws.send(json.dumps({"event": "ping", "data": "x" * 70000}))   # 200 bytes compressed
    try:
        await asyncio.wait_for(big.ws.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    check(big.ws.close_code == 1009, "compressed, it is too: closed with 1009 once it inflates past 64 KiB",
          "close code %s" % big.ws.close_code)

    try:
        await websockets.connect(url, origin="http://evil.example")
        check(False, "a page from another origin is refused (403)", "it was let in")
    except websockets.InvalidStatusCode as e:
        check(e.status_code == 403, "a page from another origin is refused (403)", "status %d" % e.status_code)
    ok = await websockets.connect(url, origin="http://127.0.0.1:%d" % port)
    check(True, "a page from the server's own origin is let in")
    await ok.close()
    try:
        await websockets.connect("ws://127.0.0.1:%d/nope" % port)
        check(False, "an upgrade on another path gets 404", "it was let in")
    except websockets.InvalidStatusCode as e:
        check(e.status_code == 404, "an upgrade on another path gets 404", "status %d" % e.status_code)

    await page(port)
    await compression(port, url, pid)
    await mutations(url)
    await slow_reader(port, pid, url)
    await ann.ws.close()
    await bob.ws.close()


async def mutations(url, count=2000):
    """Valid requests with bytes flipped, cut, repeated or inserted: none may hurt the server."""
    seed = int(os.environ.get("CHAT_SEED", time.time_ns() % 100000))
    rnd = random.Random(seed)
    base = [b'{"event":"message","room":"fuzz","data":"h\\u00e9llo \\ud83c\\udf0d \\"q\\"","id":12}',
            b'{"event":"join","room":"fuzz","id":3}', b'{"event":"nick","data":"fuzzer"}',
            b'{ "event" : "broadcast" , "data" : "x\\n" }', b'{"event":"leave","room":"fuzz","id":999999999}']
    fz = await Chat.open(url)
    await fz.request("join", room="fuzz")
    for _ in range(count):
        b = bytearray(rnd.choice(base))
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randrange(len(b) + 1)
            op = rnd.randrange(4)
            if op == 0 and at < len(b):
                b[at] = rnd.choice(b'{}[]",:\\u0123456789abcdefxnt \x00\x7f')
            elif op == 1:
                del b[at:at + rnd.randint(1, 8)]
            elif op == 2:
                b[at:at] = b[at:at + rnd.randint(1, 16)] * rnd.randint(1, 4)
            else:
                b[at:at] = bytes([rnd.randrange(256)])
        try:
            await fz.ws.send(b.decode())    # as text when it is UTF-8, else as binary
        except UnicodeDecodeError:
            await fz.ws.send(bytes(b))
    i = await fz.send("ping")
    try:
        await fz.wait("pong", id=i, timeout=10)
        check(True, "%d mutated requests (seed %d): the server answers and keeps the connection" % (count, seed))
    except Exception as e:
        check(False, "%d mutated requests (seed %d, CHAT_SEED=%d to replay)" % (count, seed, seed), repr(e))
    await fz.ws.close()


async def raw_read(r, buf, want, timeout=5):
    """Reads frames (first byte, payload, length) until want(frames) holds."""
    got, end = [], time.monotonic() + timeout
    while True:
        new, buf = frames(buf, whole=True)
        got += new
        if want(got):
            return got, buf
        buf += await asyncio.wait_for(r.read(65536), max(0.01, end - time.monotonic()))


async def compression(port, url, pid):
    """permessage-deflate: agreed with server_no_context_takeover; each broadcast compressed
    once, the same bytes to every member that agreed it, plain to the others; a bomb is 1009."""
    zed = await Chat.open(url, "zed", compression="deflate")
    ext = zed.ws.response_headers.get("Sec-WebSocket-Extensions")
    check(ext == "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
          "python websockets' offer: agreed, with server_no_context_takeover and a 1 KiB client window", repr(ext))
    pat = await Chat.open(url, "pat")
    check("Sec-WebSocket-Extensions" not in pat.ws.response_headers, "a client that offers nothing gets nothing",
          repr(pat.ws.response_headers.get("Sec-WebSocket-Extensions")))
    heads = []
    rz, wz, zn, zbuf = await raw_client(port, ext="permessage-deflate; client_max_window_bits", heads=heads)
    rp, wp, pn, pbuf = await raw_client(port, heads=heads)
    rf, wf, fn, fbuf = await raw_client(port, ext="permessage-deflate", heads=heads)   # Firefox's offer
    wants = ["Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n",
             None, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"]
    got = [next((l + "\r\n" for l in h.split("\r\n") if l.lower().startswith("sec-websocket-extensions")), None)
           for h in heads]
    check(got == wants, "raw offers: Chromium's (a 1 KiB client window asked), none, Firefox's bare one "
          "(its 32 KiB window taken)", repr(got))
    for w in (wz, wp, wf):
        w.write(masked(1, b'{"event":"join","room":"z"}'))
    await zed.request("join", room="z")
    await pat.request("join", room="z")
    text = json.dumps({"user": "zed", "says": "the same words again and again, " * 8, "n": 1})
    n = 3
    for _ in range(n):          # the same text: an encoder that kept context would refer back
        await zed.request("message", room="z", data=text)
    def msgs(got):
        return [f for f in got if f[0] & 0x0F == 1 and b'"message"' in (inflate(f[1]) if f[0] & 0x40 else f[1])]
    gz, zbuf = await raw_read(rz, zbuf, lambda g: len(msgs(g)) >= n)
    gp, pbuf = await raw_read(rp, pbuf, lambda g: len(msgs(g)) >= n)
    gf, fbuf = await raw_read(rf, fbuf, lambda g: len(msgs(g)) >= n)
    mz, mp, mf = msgs(gz), msgs(gp), msgs(gf)
    check(all(f[0] == 0xC1 for f in mz + mf) and all(f[0] == 0x81 for f in mp),
          "on the wire: the messages to compressing members have RSV1, to the other not",
          repr([hex(f[0]) for f in mz + mp + mf]))
    check(all(inflate(a[1]) == b[1] for a, b in zip(mz + mf, mp + mp)),
          "each inflates alone (no context taken over) to the plain frame's payload, byte for byte")
    check(len(set(f[1] for f in mz + mf)) == 1, "the same compressed bytes to each member, each time (compressed once)")
    zs, ps = sum(f[2] for f in mz), sum(f[2] for f in mp)
    check(zs < ps / 3, "and smaller: %d messages in %d bytes on the wire instead of %d" % (n, zs, ps))
    m = await pat.wait("message", room="z")
    check(m["data"] == {"from": "zed", "text": text}, "a member that did not agree gets it as it was")
    wz.write(masked(1, b'{"event":"ping","id":7}'))
    gz, zbuf = await raw_read(rz, zbuf, lambda g: any(b'"pong"' in f[1] for f in g))
    pong = [f for f in gz if b'"pong"' in f[1]]
    check(pong and pong[0][0] == 0x81, "an event under 64 bytes goes plain (a pong)", repr(pong))
    # what the raw members send compressed (RSV1, a 2^10 window as agreed) is inflated
    c = zlib.compressobj(wbits=-10)
    body = c.compress(json.dumps({"event": "message", "room": "z", "data": "from raw " * 20}).encode())
    wz.write(masked(1, body + c.flush(zlib.Z_SYNC_FLUSH)[:-4], rsv=0x40))
    m = await zed.wait("message", room="z")
    check(m["data"] == {"from": zn, "text": "from raw " * 20}, "a compressed message from a member is inflated and served")
    # a bomb: 16 MiB of zeros in 16 KiB: closed with 1009 after 64 KiB of output, the others go on
    rss0 = rss_kib(pid)
    c = zlib.compressobj(wbits=-10)
    body = c.compress(b'{"event":"message","room":"z","data":"' + b"0" * (16 << 20))
    wf.write(masked(1, body + c.flush(zlib.Z_SYNC_FLUSH)[:-4], rsv=0x40))
    t0 = time.monotonic()
    got, _, eof = await read_until_eof(rf, fbuf, 5)
    close = [f for f in got if f[0] == 8]
    check(eof and close and struct.unpack(">H", close[-1][1][:2])[0] == 1009,
          "a member that sends a compression bomb (%d KiB, 16 MiB inflated) is closed with 1009 in %.0f ms"
          % (len(body) >> 10, (time.monotonic() - t0) * 1000), repr(close))
    check(rss_kib(pid) - rss0 < 2048, "the server's memory did not follow the bomb (RSS grew %d KiB)"
          % (rss_kib(pid) - rss0))
    await zed.request("message", room="z", data=text)
    gp, pbuf = await raw_read(rp, pbuf, lambda g: len(msgs(g)) >= 1)
    m = await pat.wait("message", room="z")
    check(m["data"]["text"] == text and msgs(gp), "the others go on: zed's next message reaches them")
    for w in (wz, wp, wf):
        w.close()
    await zed.ws.close()
    await pat.ws.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


async def slow_reader(port, pid, url):
    """A member that stops reading while others chat: dropped with 1008, the others unslowed."""
    ann = await Chat.open(url, "ann2")
    bob = await Chat.open(url, "bob2")
    await ann.request("join", room="slow")
    await bob.request("join", room="slow")
    r, w, slow_nick, buf = await raw_client(port, rcvbuf=4096)
    w.write(masked(1, json.dumps({"event": "join", "room": "slow"}).encode()))
    await w.drain()
    await ann.wait("joined", room="slow", data={"nick": slow_nick})
    rss0 = rss_kib(pid)
    worst, sent, kicked, chunk = 0.0, 0, None, "z" * 8000
    t0 = time.monotonic()
    # the queue holds 256 KiB, but before it fills the kernel takes some MB (its send buffer
    # grows by itself on Linux, up to net.ipv4.tcp_wmem's maximum)
    while sent < 32 << 20 and time.monotonic() - t0 < 40:
        t = time.monotonic()
        await ann.send("message", room="slow", data=chunk)
        m = await bob.wait("message", room="slow")
        worst = max(worst, time.monotonic() - t)
        sent += len(chunk)
        for e in bob.seen:
            if e["event"] == "left" and e["data"]["nick"] == slow_nick:
                kicked = e
        bob.seen = []
        if kicked:
            break
    check(kicked is not None and kicked["data"]["why"] == "too slow",
          "a member that stops reading is dropped, announced as 'too slow' (after %d KiB sent)" % (sent >> 10),
          repr(kicked))
    check(worst < 1.0, "meanwhile every message reached another member within 1 s (slowest %.0f ms)" % (worst * 1000))
    grew = rss_kib(pid) - rss0
    check(grew < 4096, "the server's memory stayed bounded (RSS grew %d KiB)" % grew)
    # once it reads again it gets whole frames, then close 1008 "too slow", then the server's FIN
    got, _, eof = await read_until_eof(r, buf, 10)
    texts = [f for f in got if f[0] == 1]
    close = [f for f in got if f[0] == 8]
    valid = all(json.loads(p)["event"] for _, p in texts)
    check(eof and close and struct.unpack(">H", close[-1][1][:2])[0] == 1008 and close[-1][1][2:] == b"too slow",
          "the slow reader finds whole frames (%d), then close 1008 'too slow', then EOF" % len(texts),
          "eof %s, close %r" % (eof, close[-1][1] if close else None))
    check(valid, "every frame before the close is intact JSON")
    w.close()
    await ann.ws.close()
    await bob.ws.close()


async def heartbeat(port, pid):
    url = "ws://127.0.0.1:%d/chat" % port
    watcher = await Chat.open(url, "watcher")       # websockets answers pings by itself
    await watcher.request("join", room="hb")
    r, w, silent, buf = await raw_client(port)
    w.write(masked(1, json.dumps({"event": "join", "room": "hb"}).encode()))
    await w.drain()
    t0 = time.monotonic()                            # the silent client's last word
    await watcher.wait("joined", room="hb", data={"nick": silent})
    got, waited, eof = await read_until_eof(r, buf, 5)
    pings = [f for f in got if f[0] == 9]
    took = time.monotonic() - t0
    limit = (PING_INTERVAL + PING_TIMEOUT) / 1000
    check(len(pings) >= 1, "a silent client is pinged (%d pings)" % len(pings))
    check(eof and limit - 0.05 <= took <= limit + 0.8,
          "and dropped %.0f ms after its last word (interval %d + timeout %d ms)" % (took * 1000, PING_INTERVAL,
                                                                                     PING_TIMEOUT),
          "eof %s" % eof)
    left = await watcher.wait("left", room="hb")
    check(left["data"]["nick"] == silent and "timed out" in left["data"]["why"],
          "its room hears it left: %r" % left["data"]["why"], repr(left))
    w.close()
    await asyncio.sleep(3 * limit)
    await watcher.sync()
    check(watcher.ws.open, "a client that answers pings stays connected (%.1f s idle)" % (3 * limit))
    await watcher.ws.close()


async def main(mode, port, pid):
    await (chat if mode == "chat" else heartbeat)(port, pid)


try:
    asyncio.run(asyncio.wait_for(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])), 90))
except Exception as e:      # any failure to run is a failed check
    print("FAIL %s checks stopped: %r" % (sys.argv[1], e))
