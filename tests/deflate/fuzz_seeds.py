"""Writes the seed inputs of fuzz/fuzz_inflate.c and fuzz/fuzz_pmd.c (zlib makes the DEFLATE
streams; test-only). Run from the repository root: python3 tests/deflate/fuzz_seeds.py
Each seed is named for what it holds; the fuzzers' own finds are merged beside them."""
import os
import zlib

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz", "corpus")


def put(target, name, data):
    with open(os.path.join(root, target, "seed-" + name), "wb") as f:
        f.write(data)


def raw(data, level=6, wbits=15, strategy=zlib.Z_DEFAULT_STRATEGY, flush=zlib.Z_SYNC_FLUSH):
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits, 8, strategy)
    out = c.compress(data) + c.flush(flush)
    return out


chat = b"".join(b'{"type":"message","room":"lobby","user":"u%d","text":"hello %d"}' % (i % 5, i)
                for i in range(40))
cjk = "websocket是基于TCP的一种新的网络协议。".encode() * 8
rnd = bytes((i * 7919 + (i >> 3)) & 255 for i in range(600))
for wb in (9, 12, 15):
    w = wb - 8
    put("inflate", "chat-dynamic-w%d" % wb, bytes([w, 7]) + raw(chat, 6, wb))
    put("inflate", "chat-fixed-w%d" % wb, bytes([w, 3]) + raw(chat, 6, wb, zlib.Z_FIXED))
put("inflate", "cjk-level9-final", bytes([7, 5]) + raw(cjk, 9, 15, flush=zlib.Z_FINISH))
put("inflate", "random-stored", bytes([7, 9]) + raw(rnd, 0))
put("inflate", "random-huffman-only", bytes([7, 11]) + raw(rnd, 6, 15, zlib.Z_HUFFMAN_ONLY))
put("inflate", "rle", bytes([7, 13]) + raw(b"a" * 3000 + b"b" * 300, 6, 15, zlib.Z_RLE))
put("inflate", "empty-sync", bytes([7, 1]) + raw(b""))
put("inflate", "empty-stored-65535", bytes([7, 1]) + b"\x00\xff\xff\x00\x00" + b"z" * 65535)
put("inflate", "two-messages", bytes([7, 15]) + raw(chat[:500]) + raw(chat[500:]))
put("inflate", "bad-block-type", bytes([7, 1]) + b"\x07\x00")
put("inflate", "bad-stored-length", bytes([7, 1]) + b"\x00\x05\x00\x05\x00hello")
put("inflate", "window-8", bytes([0, 1]) + raw(b"abcdefgh" * 64, 6, 9))

offers = [b"permessage-deflate", b"permessage-deflate; client_max_window_bits",
          b"permessage-deflate; server_max_window_bits=10; client_max_window_bits=12",
          b"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
          b"x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=\"9\"",
          b"permessage-deflate; server_max_window_bits=16, permessage-deflate; foo=1",
          b"permessage-deflate; server_no_context_takeover; server_no_context_takeover"]
answers = [b"permessage-deflate", b"permessage-deflate; client_max_window_bits=10",
           b"permessage-deflate; server_no_context_takeover; server_max_window_bits=9",
           b"permessage-deflate; client_max_window_bits", b"permessage-deflate, permessage-deflate",
           b"permessage-deflate; mystery", b"x-foo", b""]
for i, o in enumerate(offers):
    a = answers[i % len(answers)]
    put("pmd", "offer%d-answer%d" % (i, i % len(answers)), bytes([i * 37 & 255, i * 11 & 255, i & 3]) + o + b"\0" + a)
put("pmd", "chrome-firefox", bytes([0x87, 0x3F, 0]) + b"permessage-deflate; client_max_window_bits, permessage-deflate"
    + b"\0" + b"permessage-deflate; server_no_context_takeover; client_max_window_bits=15")
