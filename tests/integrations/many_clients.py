#!/usr/bin/env python3
"""Many WebSocket clients connected to one echo server at the same time:
    python3 tests/integrations/many_clients.py PORT [PATH] [N] [HOLD]
Opens N connections (default 200) and keeps them all open; then each sends its own text and
binary message (binary sizes vary, up to 64 KiB), every echo is checked, "echoed N" is printed
and all stay open HOLD more seconds (default 0: for a look at the server meanwhile); then each
closes with its own code (1000, 3000-3999, 4000+), which must come back before TCP ends.
Prints "ok many: what" and exits 0, or "FAIL many: why" and exits 1."""
import os
import random
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "loopback"))
from wsraw import BINARY, CLOSE, TEXT, Fail, close_body, connect  # noqa: E402

port = int(sys.argv[1])
path = sys.argv[2] if len(sys.argv) > 2 else "/"
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
hold = float(sys.argv[4]) if len(sys.argv) > 4 else 0
rng = random.Random(6455)
try:
    peers = [connect("127.0.0.1", port, path, timeout=10) for _ in range(n)]
    msgs = []
    for i, p in enumerate(peers):
        text = ("client %d ✓ " % i).encode() * rng.randint(1, 50)
        data = rng.randbytes(rng.choice([0, 1, 125, 126, 1000, 65535, 65536]))
        p.send_frame(TEXT, text)
        p.send_frame(BINARY, data)
        msgs.append((text, data))
    for i, p in enumerate(peers):
        text, data = msgs[i]
        if p.read_message(10) != (TEXT, text) or p.read_message(10) != (BINARY, data):
            raise Fail("client %d: an echo differs" % i)
    print("echoed %d" % n, flush=True)
    time.sleep(hold)
    for i, p in enumerate(peers):
        p.send_frame(CLOSE, close_body([1000, 3000 + i, 4000 + i][i % 3]))
    for i, p in enumerate(peers):
        code = [1000, 3000 + i, 4000 + i][i % 3]
        op, body = p.read_message(10)
        if op != CLOSE or int.from_bytes(body[:2], "big") != code:
            raise Fail("client %d: close %r, expected %d" % (i, body[:2], code))
        if not p.wait_eof(10):
            raise Fail("client %d: TCP still open after the close" % i)
except (Fail, OSError, EOFError) as e:
    print("FAIL many: %s" % (e or type(e).__name__))
    sys.exit(1)
print("ok   many: %d clients open at once, each echoed a text and a binary message (0 B to "
      "64 KiB) and its own close code" % n)
