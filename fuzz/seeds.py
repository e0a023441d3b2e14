#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/corpus/<target>/ (seed-*): captured handshakes from
tests/unit/vectors/ and frames like those of the unit tests, in each target's input format.
Run from the repository root: python3 fuzz/seeds.py. Files the fuzzers found (crash-*,
and the merged corpus) are left alone."""
import os, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = bytes([0x37, 0xfa, 0x21, 0x3d])


def frame(op, payload=b"", fin=True, key=None, rsv=0, force=None):
    b0 = (0x80 if fin else 0) | rsv | op
    n = len(payload)
    m = 0x80 if key else 0
    if force == 8 or (force is None and n > 0xFFFF):
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    elif force == 2 or (force is None and n >= 126):
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | n])
    if key:
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        head += key
    return head + payload


def close(code=None, reason=b""):
    return b"" if code is None else struct.pack(">H", code) + reason


def frame_streams(key):
    """Byte streams a peer of the given masking sends."""
    k = key
    return {
        "text": frame(1, b"Hello", key=k),
        "binary": frame(2, bytes([0, 1, 0xff]), key=k),
        "fragments": frame(1, b"Hel", fin=False, key=k) + frame(0, b"lo", key=k),
        "fragments-ping": frame(1, b"a\xe2\x82", fin=False, key=k) + frame(9, b"p", key=k) +
                          frame(0, b"\xac", key=k),
        "ping": frame(9, b"Hello", key=k),
        "pong": frame(10, b"Hello", key=k),
        "close": frame(8, close(1000, b"bye"), key=k),
        "close-empty": frame(8, key=k),
        "close-1byte": frame(8, b"\x03", key=k),
        "close-badcode": frame(8, close(1005), key=k),
        "close-badutf8": frame(8, close(1000, b"\xc0\x80"), key=k),
        "len126": frame(2, b"x" * 126, key=k),
        "len65536-head": frame(2, b"y" * 65536, key=k)[:64],
        "len16-forced": frame(2, b"z" * 3, key=k, force=2),
        "len64-huge": bytes([0x82, (0x80 if k else 0) | 127]) + b"\x80" + b"\0" * 7 + (k or b""),
        "len64-big": bytes([0x82, (0x80 if k else 0) | 127]) + b"\0\0\0\0\0\1\0\0" + (k or b""),
        "utf8-bad": frame(1, b"Hi\xc0\x80", key=k),
        "utf8-surrogate": frame(1, b"\xed\xa0\x80", key=k),
        "utf8-truncated": frame(1, b"ab\xe2\x82", key=k),
        "utf8-4byte": frame(1, "a€𝄞".encode(), key=k),
        "rsv": frame(1, b"x", key=k, rsv=0x40),
        "reserved-op": frame(3, b"x", key=k),
        "control-frag": frame(9, b"x", fin=False, key=k),
        "control-big": frame(9, b"x" * 126, key=k),
        "cont-no-start": frame(0, b"x", key=k),
        "two-starts": frame(1, b"a", fin=False, key=k) + frame(1, b"b", key=k),
        "wrong-mask": frame(1, b"x", key=None if k else KEY),
        "many": frame(1, b"one", key=k) + frame(9, key=k) + frame(2, b"two", key=k) +
                frame(8, close(1001, b"away"), key=k),
        "empty-text": frame(1, key=k) + frame(2, key=k),
    }


def write(target, name, data):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def vectors():
    d = os.path.join(ROOT, "tests", "unit", "vectors")
    return {n.rsplit(".", 1)[0]: open(os.path.join(d, n), "rb").read()
            for n in sorted(os.listdir(d)) if n.endswith(".http")}


RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")


def main():
    vec = vectors()
    # fuzz_request: request heads
    for n, v in vec.items():
        write("request", n, v)
    write("request", "rfc6455", b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"
          b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
          b"dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n"
          b"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n")
    write("request", "plain-http", b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
    write("request", "post", b"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n")
    write("request", "http10", b"GET / HTTP/1.0\r\nUpgrade: websocket\r\n\r\n")
    write("request", "version8", b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
          b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 8\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    write("request", "two-hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
          b"Upgrade: websocket\r\n\r\n")
    # repeated headers and handshake headers without Upgrade (issue 11, item 9)
    up = b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    key = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    ver = b"Sec-WebSocket-Version: 13\r\n"
    write("request", "two-hosts-plain", b"GET / HTTP/1.1\r\nHost: first\r\nHost: b\r\n\r\n")
    write("request", "two-hosts-upgrade", b"GET / HTTP/1.1\r\nHost: first.example\r\n"
          b"Host: second\r\n" + up + key + ver + b"\r\n")
    write("request", "two-keys", b"GET / HTTP/1.1\r\nHost: a\r\n" + up + key + key + ver + b"\r\n")
    write("request", "two-versions", b"GET / HTTP/1.1\r\nHost: a\r\n" + up + key + ver +
          b"Sec-WebSocket-Version: 8\r\n\r\n")
    write("request", "two-keys-no-connection", b"GET / HTTP/1.1\r\nHost: a\r\n"
          b"Upgrade: websocket\r\n" + key + key + ver + b"\r\n")
    write("request", "key-no-upgrade", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n" +
          key + ver + b"\r\n")
    write("request", "version-no-upgrade", b"GET / HTTP/1.1\r\nHost: a\r\n" + ver + b"\r\n")
    write("request", "upgrade-h2c-key", b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n" +
          key + b"\r\n")
    write("request", "quoted-upgrade", b"GET / HTTP/1.1\r\nHost: a\r\n"
          b"Upgrade: x=\"a,websocket\", websocket\r\nConnection: \"x,upgrade\"\r\n" + key + ver +
          b"\r\n")
    write("request", "many-headers", b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 40 + b"\r\n")
    write("request", "bare-lf", b"GET / HTTP/1.1\nHost: a\n\n")

    # fuzz_response: [protocols offered][extensions offered] then the head
    write("response", "rfc6455", b"\x00\x00" + RESPONSE + b"\r\n")
    write("response", "protocol", b"\x01\x00" + RESPONSE + b"Sec-WebSocket-Protocol: chat\r\n\r\n")
    write("response", "extension", b"\x00\x01" + RESPONSE +
          b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
    write("response", "with-frames", b"\x00\x00" + RESPONSE + b"\r\n" +
          frame(1, b"Hello") + frame(9, b"p") + frame(8, close(1000)))
    write("response", "404", b"\x00\x00HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    # the strict status line and the one-Upgrade rule (issue 11, items 6, 9, 11)
    tail = (b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")
    for n, line in (("http10-101", b"HTTP/1.0 101 Switching Protocols"),
                    ("status-1010", b"HTTP/1.1 1010 X"), ("status-101x", b"HTTP/1.1 101x"),
                    ("status-long", b"HTTP/1.1 1019999"), ("status-tab", b"HTTP/1.1 101\tX"),
                    ("status-bare", b"HTTP/1.1 101"), ("http12-101", b"HTTP/1.2 101 OK"),
                    ("status-600", b"HTTP/1.1 600 X"), ("status-099", b"HTTP/1.1 099 X")):
        write("response", n, b"\x00\x00" + line + b"\r\n" + tail + b"\r\n")
    write("response", "upgrade-list", b"\x00\x00HTTP/1.1 101 OK\r\nUpgrade: websocket, h2c\r\n" +
          tail[20:] + b"\r\n")
    write("response", "two-upgrades", b"\x00\x00HTTP/1.1 101 OK\r\n" + tail +
          b"Upgrade: websocket\r\n\r\n")
    write("response", "two-accepts", b"\x00\x00HTTP/1.1 101 OK\r\n" + tail +
          b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    write("response", "quoted-extension", b"\x00\x02" + RESPONSE +
          b"Sec-WebSocket-Extensions: x-foo; p=\"a,permessage-deflate\\\",x\"\r\n\r\n")
    write("response", "bad-accept", b"\x00\x00HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Accept: xxxx\r\n\r\n")

    # fuzz_frames_*: [flags][piece][max_frame/4][max_message/8] then frames
    for target, key in (("frames_server", KEY), ("frames_client", None)):
        for n, s in frame_streams(key).items():
            write(target, n, b"\x00\x00\x00\x00" + s)
        write(target, "buffered", b"\x21\x00\x00\x00" + frame_streams(key)["fragments-ping"])
        write(target, "bytewise", b"\x00\x01\x00\x00" + frame_streams(key)["many"])
        write(target, "limits", b"\x00\x03\x02\x02" + frame(2, b"x" * 20, key=key))
        write(target, "rsv-allowed", b"\x04\x00\x00\x00" + frame(1, b"\xff", key=key, rsv=0x40))

    # fuzz_split: [flags][limits][cuts] [cut offsets, 2 bytes each] then frames
    for name in ("many", "fragments-ping", "utf8-bad", "utf8-4byte", "close", "len126"):
        for role, key in ((0, KEY), (1, None)):
            s = frame_streams(key)[name]
            cuts = [1, len(s) // 2, len(s) - 1]
            write("split", "%s-%s" % (name, "server" if role == 0 else "client"),
                  bytes([role, 0, len(cuts)]) + b"".join(struct.pack(">H", c) for c in cuts) + s)
    write("split", "buffered-bytewise", bytes([2, 0, 0]) + frame_streams(KEY)["fragments"])

    # fuzz_conn: [flags][ping/timeout][handshake/close timeouts][limits] then operations
    def feed(data):
        out = b""
        for i in range(0, len(data), 255):
            out += bytes([0, min(255, len(data) - i)]) + data[i:i + 255]
        return out
    send = lambda op, data: bytes([3, op, len(data)]) + data
    tick = lambda ms: bytes([10, ms])
    close_op = lambda code_idx, reason: bytes([9, code_idx, len(reason)]) + reason
    server = frame_streams(KEY)
    client = frame_streams(None)
    write("conn", "server-echo", bytes([0, 0, 0, 0]) + feed(server["many"]) + bytes([15, 1]) +
          feed(server["text"]) + send(0, b"hi") + close_op(1, b"bye"))
    write("conn", "server-handshake", bytes([0x40, 0, 0, 0]) + feed(vec["chromium-156"]) +
          feed(server["fragments-ping"]) + tick(5) + close_op(2, b""))
    write("conn", "client-handshake", bytes([0x41, 0, 0x40, 0]) +
          feed(b"Sec-WebSocket-Protocol: chat\r\n\r\n") + feed(client["many"]))
    write("conn", "keepalive", bytes([0, 3 | (3 << 3), 2, 0]) + tick(1) + tick(100) +
          tick(100) + feed(server["pong"]) + tick(100) + tick(127))
    write("conn", "fragments", bytes([1, 0, 0, 0]) + bytes([4, 1, 3]) + b"abc" +
          bytes([5, 2]) + b"de" + send(2, b"p") + bytes([6, 1]) + b"f" +
          bytes([7, 0x81, 0, 4, 8, 4]) + b"wxyz" + close_op(1, b""))
    write("conn", "send-fail", bytes([0, 0, 0, 0]) + bytes([12, 1]) + feed(server["ping"]) +
          send(0, b"x"))
    write("conn", "close-timeout", bytes([0, 0, 2 << 3, 0]) + close_op(1, b"") + tick(5) +
          tick(20) + feed(server["close"]))
    # a ping and a close arriving while a streamed frame is unfinished: answered after it
    hdr = bytes([7, 0x82, 0, 10])
    pay = bytes([8, 10]) + b"0123456789"
    write("conn", "pong-after-stream", bytes([0, 0, 0, 0]) + hdr + bytes([2, 0x89, 2]) + b"hi" +
          KEY + pay)
    write("conn", "close-after-stream", bytes([0, 0, 0, 0]) + hdr +
          bytes([2, 0x88, 4]) + b"\x03\xe8ok" + KEY + pay)
    write("conn", "client-pong-after-stream", bytes([1, 0, 0, 0]) + hdr + bytes([2, 0x89, 2]) +
          b"hi" + pay)
    # issue 11: pings and a pong behind a streamed frame (one pong, the latest payload)
    rframe = lambda b0, data, key=KEY: bytes([2, b0, len(data)]) + data + (key or b"")
    write("conn", "pongs-after-stream", bytes([0, 0, 0, 0]) + hdr + rframe(0x89, b"p1") +
          rframe(0x8a, b"x") + rframe(0x89, b"p2") + pay)
    write("conn", "pong-survives-pong", bytes([0, 0, 0, 0]) + hdr + rframe(0x89, b"p1") +
          rframe(0x8a, b"x") + pay)
    write("conn", "client-close-after-stream", bytes([1, 0, 0, 0]) + hdr +
          rframe(0x89, b"p", None) + rframe(0x88, b"\x03\xe9", None) + pay)
    # the peer's close behind a streamed frame: CLOSING, its close timeout from the next tick
    write("conn", "close-timer-behind-stream", bytes([0, 0, 2 << 3, 0]) + tick(1) + hdr +
          rframe(0x88, b"\x03\xe8") + tick(5) + tick(9) + tick(5))
    # set_buffer refused half a message in, taken between messages
    write("conn", "set-buffer-mid", bytes([0, 0, 0, 0]) + rframe(0x01, b"ab") + bytes([11, 5]) +
          rframe(0x80, b"cd") + bytes([11, 5]) + rframe(0x81, b"whole") + bytes([11, 0]))
    write("conn", "set-buffer-hook", bytes([0, 0, 0, 0]) + bytes([15, 5]) + rframe(0x01, b"ab") +
          rframe(0x89, b"") + rframe(0x80, b"cd"))
    # eof, at the top and inside a callback; feed inside a callback
    write("conn", "eof", bytes([0, 0, 0, 0]) + send(0, b"x") + bytes([13, 0x80]) + send(0, b"y"))
    write("conn", "eof-in-callback", bytes([1, 0, 0, 0]) + bytes([15, 7]) +
          rframe(0x81, b"hi", None) + rframe(0x81, b"no", None))
    write("conn", "feed-in-callback", bytes([0, 0, 0, 0]) + bytes([15, 6]) + rframe(0x81, b"hi") +
          rframe(0x89, b"p"))
    # sizes of 2^63 and more; raw buffers that are not one whole unmasked frame
    write("conn", "header-2-63", bytes([0, 0, 0, 0]) + bytes([7, 0xf2, 0, 1]) +
          bytes([7, 0x82, 0, 3, 8, 3]) + b"abc")
    write("conn", "raw-variants", bytes([0, 0, 0, 0]) + b"".join(
        bytes([14, 0x82 | (v << 4), 3]) + b"abc" for v in range(4)))
    write("conn", "handshake-timeout", bytes([0x40, 0, 2, 0]) + feed(b"GET / HTTP/1.1\r\n") +
          tick(50) + tick(60))

    # fuzz_calls: [flags][ping/timeout][close/handshake timeouts] then actions; bit 7 of an
    # action's first byte picks the other connection (see fuzz_calls.c)
    A = dict(feed=0, frame=1, send=2, begin=3, cont=4, end=5, header=6, payload=7, raw=8,
             close=9, tick=10, eof=11, buffer=12, fail=13, open=14, pump=15, delivery=16,
             hook=17, free=18, init=19)
    EV = dict(send=0, random=1, begin=2, data=3, end=4, message=5, control=6, close=7)
    other = lambda action: bytes([action[0] | 0x80]) + action[1:]
    c_send = lambda sel, data: bytes([A["send"], sel, len(data)]) + data
    c_frame = lambda b0, data: bytes([A["frame"], b0, len(data)]) + data
    c_close = lambda idx, reason=b"": bytes([A["close"], idx, len(reason)]) + reason
    c_hook = lambda ev, script, count=1: bytes([A["hook"], EV[ev], count - 1, len(script)]) + script
    c_header = lambda b, size: bytes([A["header"], b]) + struct.pack(">H", size)
    c_payload = lambda data: bytes([A["payload"], len(data)]) + data
    pump = bytes([A["pump"]])
    write("calls", "single-server", bytes([0, 0, 0]) + c_frame(0x81, b"hi") + c_frame(0x89, b"p") +
          c_send(0, b"text") + c_frame(0x8a, b"") + c_close(1, b"bye") + c_frame(0x88, b"\x03\xe8"))
    write("calls", "single-client", bytes([2, 0, 0]) + c_frame(0x01, b"a") + c_frame(0x89, b"p") +
          c_frame(0x80, b"b") + c_send(1, bytes(range(250))) + c_frame(0x88, b""))
    # test_contract's wired pair: a close from either side ends both once
    write("calls", "pair-close", bytes([1, 0, 0]) + c_close(1, b"bye") + pump + other(pump))
    write("calls", "pair-close-client", bytes([1, 0, 0]) + other(c_close(2)) + pump + other(pump))
    write("calls", "pair-echo", bytes([1, 0, 0]) + c_hook("end", c_send(0, b"echo"), 4) +
          other(c_send(0, b"hi")) + other(c_send(2, b"p")) + c_send(2, b"q") +
          other(c_send(0, b"again")) + pump + other(pump) + other(c_close(1)) + pump + other(pump))
    write("calls", "pair-queued", bytes([1 | 16, 0, 0]) + c_send(0, b"x") + other(c_send(2, b"p")) +
          c_header(0x82, 5) + c_payload(b"ab") + pump + other(pump) + c_payload(b"cde") +
          pump + other(pump))
    # on_close frees the connection, or initialises it again and opens it
    write("calls", "free-in-close", bytes([1, 0, 0]) + c_hook("close", bytes([A["free"]])) +
          c_close(1) + pump + other(pump) + c_send(0, b"gone"))
    write("calls", "init-in-close", bytes([0, 0, 0]) +
          c_hook("close", bytes([A["init"], A["open"], 0]) + c_send(0, b"new")) +
          c_frame(0x88, b"\x03\xe8") + c_send(0, b"after") + c_frame(0x81, b"x"))
    write("calls", "client-free-in-close", bytes([2, 0, 0]) + c_hook("close", bytes([A["free"]])) +
          c_frame(0x81, b"\xff"))
    # inside the send callback: every sender is busy, feed works
    write("calls", "send-inside-send", bytes([2, 0, 0]) +
          c_hook("send", c_send(0, b"inner") + c_close(1) + bytes([A["tick"], 1]) +
                 c_header(0x81, 1) + bytes([A["open"], 5]) + c_frame(0x89, b"fed")) +
          c_send(1, b"q" * 255) + c_send(0, b"next"))
    write("calls", "feed-inside-send", bytes([0, 0, 0]) +
          c_hook("send", c_frame(0x89, b"in") + c_frame(0x88, b"\x03\xe8"), 2) +
          c_send(0, b"outer"))
    write("calls", "stream-ping-close", bytes([0, 0, 0]) + c_header(0x82, 4) + c_payload(b"ab") +
          c_frame(0x89, b"ping-1") + c_frame(0x8a, b"unsolicited") + c_frame(0x89, b"ping-2") +
          c_frame(0x88, b"\x03\xe8") + c_payload(b"cd") + c_send(0, b"late"))
    write("calls", "stream-ping-pong", bytes([0, 0, 0]) + c_header(0x82, 4) + c_payload(b"ab") +
          c_frame(0x89, b"ping-1") + c_frame(0x8a, b"unsolicited") + c_payload(b"cd"))
    # feed inside a receive callback is busy; set_buffer only between messages; eof
    write("calls", "feed-inside-receive", bytes([0, 0, 0]) +
          c_hook("end", c_frame(0x81, b"second") + bytes([A["buffer"], 5])) +
          c_hook("begin", bytes([A["buffer"], 5])) + c_frame(0x81, b"first") + c_frame(0x81, b"third"))
    write("calls", "set-buffer-control", bytes([0, 0, 0]) +
          c_hook("control", bytes([A["buffer"], 10]), 2) + c_frame(0x01, b"ab") + c_frame(0x89, b"") +
          c_frame(0x80, b"cd") + c_frame(0x89, b"") + c_frame(0x81, b"whole"))
    write("calls", "eof-in-callbacks", bytes([1, 0, 0]) + c_hook("data", bytes([A["eof"]])) +
          other(c_send(0, b"hi")) + pump + other(pump))
    write("calls", "eof-in-send", bytes([2, 0, 0]) + c_hook("send", bytes([A["eof"]])) +
          c_send(1, b"z" * 255))
    write("calls", "random-hook", bytes([2, 0, 0]) +
          c_hook("random", c_send(0, b"x") + bytes([A["tick"], 3])) + c_send(0, b"y"))
    # the pair's handshake calls inside callbacks, from CONNECTING
    write("calls", "pair-connecting", bytes([1 | 8, 0, 0]) + other(bytes([A["open"], 3])) +
          bytes([A["open"], 1]) + other(c_hook("send", bytes([0x80 | A["open"], 0]))) +
          other(bytes([A["open"], 5])) + c_send(0, b"open"))
    write("calls", "keepalive", bytes([1, 2 | (2 << 3), 0]) + bytes([A["tick"], 0, A["tick"], 15]) +
          other(bytes([A["tick"], 0])) + bytes([A["tick"], 20]) + pump + other(pump))

    # fuzz_roundtrip: [flags][limits][pieces][32 random bytes] then messages
    pool = bytes(range(7, 39))
    msg = lambda h, data, tail=b"": bytes([h]) + struct.pack(">H", len(data)) + data + tail
    for role in (0, 1):
        write("roundtrip", "basic-%d" % role, bytes([role, 0, 0]) + pool +
              msg(0, b"Hello") + msg(4, bytes(range(256))) + bytes([0x40, 3]) + b"abc")
        write("roundtrip", "fragments-%d" % role, bytes([role, 0, 7]) + pool +
              msg(1 | 8, "a€𝄞 text".encode(), bytes([3, 0, 2, 0, 5, 0, 9])) +
              msg(2, b"x" * 300, bytes([2, 0, 100])) + msg(3, b"raw frame", KEY))
        write("roundtrip", "limits-%d" % role, bytes([role | 2 | 8, 0x22, 1]) + pool +
              msg(1, b"y" * 40, bytes([1, 0, 20])) + msg(0, b"bad \xc0\x80 text"))
        write("roundtrip", "large-%d" % role, bytes([role, 0, 0]) + pool + bytes([0x84, 1]))

    # fuzz_proxy: [flags][room][port 2] host NUL credentials NUL, then the proxy's answer
    px = lambda flags, host, user, answer, room=0, port=443: (
        bytes([flags, room]) + struct.pack(">H", port) + host + b"\0" + user + b"\0" + answer)
    write("proxy", "200-tunnel", px(0, b"example.com", b"", b"HTTP/1.1 200 Connection established\r\n"
          b"\r\n\x16\x03\x01\x00\x05hello"))
    write("proxy", "basic-auth", px(1, b"127.0.0.1", b"user:pa ss", b"HTTP/1.0 200 OK\r\n"
          b"Proxy-Agent: tinyproxy/1.11.1\r\n\r\n", port=8443))
    write("proxy", "407", px(1 | 4, b"[::1]", b"u:p", b"HTTP/1.1 407 Proxy Authentication Required\r\n"
          b"Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n"))
    write("proxy", "403", px(2, b"host", b"", b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope\n"))
    write("proxy", "502", px(4, b"a.b", b"", b"HTTP/1.1 502 Bad Gateway\r\n\r\n", room=40))
    write("proxy", "101", px(0, b"a", b"", b"HTTP/1.1 101 Switching Protocols\r\n\r\n"))
    write("proxy", "bad-host", px(0, b"a b/c", b"", b"HTTP/1.1 200\r\n\r\n"))
    write("proxy", "ctl-user", px(1, b"h", b"u\r\n:x", b"HTTP/1.1 299 X\r\n\r\n"))
    write("proxy", "partial", px(0, b"h", b"", b"HTTP/1.1 200 OK\r\nX: y\r\n"))
    write("proxy", "garbage", px(0, b"h", b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"))

    # fuzz_tls, mode 2 (a pair): [flags][cap] then actions [op][arg]...; op bit 0 the side
    # (0 client, 1 server), bits 1-6 mod 6: deliver arg*8 bytes (0: all; bit 7 byte by byte),
    # send arg bytes, flip a queued byte (arg, xor), cut, close_notify, a big message.
    # seed-server-flight and seed-client-flight (modes 1 and 0) were written by
    # FZ_TLS_DUMP=fuzz/corpus/tls build/replay_tls_gcc fuzz/corpus/tls/seed-pair-basic
    hs = bytes([0, 0, 1, 0, 0, 0, 1, 0])
    send = lambda who, data: bytes([2 | who, len(data)]) + data
    write("tls", "pair-basic", bytes([2, 255]) + hs + send(0, b"hello") + send(1, b"hey"))
    write("tls", "pair-echo-verify", bytes([2 | 0x10 | 0x20, 255]) + hs + send(0, b"echo me") +
          bytes([0, 0]) + send(0, b"again"))
    write("tls", "pair-bytewise", bytes([2, 3]) + bytes([0x80, 0, 0x81, 0, 0x80, 0, 0x81, 0]) +
          send(0, b"one byte at a time") + bytes([0x80, 0]))
    write("tls", "pair-flip", bytes([2, 255]) + hs + send(0, b"tampered") + bytes([4, 9, 0x40]))
    write("tls", "pair-flip-handshake", bytes([2, 255]) + bytes([0, 0, 1, 0]) + bytes([5, 80, 1]))
    write("tls", "pair-cut", bytes([2, 255]) + hs + send(1, b"cut") + bytes([7, 0]))
    write("tls", "pair-cut-handshake", bytes([2, 255]) + bytes([0, 0, 7, 0]))
    write("tls", "pair-close", bytes([2, 255]) + hs + send(0, b"bye") + bytes([8, 0, 0, 0, 9, 0]) +
          send(1, b"after"))
    write("tls", "pair-big-small-cap", bytes([2, 0]) + hs + bytes([10, 200, 11, 255]))
    write("tls", "pair-early-data", bytes([2, 255]) + send(0, b"too early") + hs)
    # modes 0 and 1: a peer's bytes in chunks [len][bytes] (0: the rest)
    write("tls", "server-plain-http", bytes([0, 255, 0]) + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    write("tls", "server-garbage", bytes([0x20, 255, 0]) + bytes(range(256)))
    write("tls", "server-sslv2-hello", bytes([0, 255, 0]) + bytes([0x80, 0x2e, 0x01, 0x00, 0x02]) +
          bytes(45))
    write("tls", "client-plain-http", bytes([1, 255, 0]) + b"HTTP/1.1 400 Bad Request\r\n\r\n")
    write("tls", "client-alert", bytes([1, 255, 0]) + bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]))


if __name__ == "__main__":
    sys.exit(main())
