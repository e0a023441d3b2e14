#!/usr/bin/env python3
"""A TCP relay that watches WebSocket frames on the wire, for the permessage-deflate interop
checks (RFC 7692): what a peer library says it agreed or sent is not taken on trust.

    relay.py TARGET_PORT [LIFETIME_SECONDS]      (127.0.0.1 only, both sides)

Listens on a free loopback port ("listening PORT" once ready) and forwards every connection
to 127.0.0.1:TARGET_PORT byte for byte. On each it reads the HTTP heads (request and
response) and, after a 101, every frame header both ways, without changing a byte. When a
connection ends it prints one JSON line:
    {"path": "/", "status": 101, "offer": "...", "answer": "...",
     "c2s": {"frames": N, "messages": N, "rsv1": N, "bad_rsv": N, "opcodes": {...}},
     "s2c": {...}}
messages counts data messages (their first frames), rsv1 those of them with RSV1 set (so
compressed), bad_rsv the frames with RSV1 elsewhere (control or continuation) or RSV2/RSV3.
Exits after LIFETIME_SECONDS (default 120), or at SIGTERM.

    relay.py check LOG LABEL [N] [--offer TEXT]

reads such a log and prints "ok ..." or "FAIL ..." per WebSocket connection (status 101) it
holds, N of them (default 1): permessage-deflate agreed, at least one message each way
compressed (RSV1), and RSV bits nowhere else; with --offer, the client's offer exactly TEXT.
"""

import json
import select
import signal
import socket
import struct
import sys
import threading
import time


class Watch:
    """One direction of one connection: an HTTP head, then frames (headers read, payload skipped)."""

    def __init__(self):
        self.head = bytearray()
        self.head_done = False
        self.frames_on = False          # set once the 101 went by
        self.buf = bytearray()          # an incomplete frame header
        self.skip = 0                   # payload bytes still to pass by
        self.in_msg = False
        self.st = {"frames": 0, "messages": 0, "rsv1": 0, "bad_rsv": 0, "opcodes": {}}

    def feed(self, data):
        mv = memoryview(data)
        if not self.head_done:
            self.head += mv
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > 65536:
                    self.head_done = True       # not HTTP: stop looking
                return b""
            self.head_done = True
            rest = bytes(self.head[end + 4:])
            del self.head[end + 4:]
            return rest                         # the caller decides whether frames follow
        if self.frames_on:
            self.frames(mv)
        return b""

    def hsize(self):
        b = self.buf
        if len(b) < 2:
            return 2
        n = b[1] & 0x7F
        return 2 + (2 if n == 126 else 8 if n == 127 else 0) + (4 if b[1] & 0x80 else 0)

    def frames(self, mv):
        i, end = 0, len(mv)
        while i < end:
            if self.skip:
                k = min(self.skip, end - i)
                self.skip -= k
                i += k
                continue
            need = self.hsize()
            k = min(need - len(self.buf), end - i)
            self.buf += mv[i:i + k]
            i += k
            if len(self.buf) < need or self.hsize() > need:
                continue                        # more header to come
            b = self.buf
            n = b[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", bytes(b[2:4]))[0]
            elif n == 127:
                n = struct.unpack("!Q", bytes(b[2:10]))[0]
            self.header(b[0])
            self.buf = bytearray()
            self.skip = n

    def header(self, b0):
        op, rsv, fin = b0 & 0x0F, (b0 >> 4) & 7, bool(b0 & 0x80)
        st = self.st
        st["frames"] += 1
        name = {0: "cont", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}.get(op, "op%d" % op)
        st["opcodes"][name] = st["opcodes"].get(name, 0) + 1
        first = op in (1, 2)
        if first:
            st["messages"] += 1
            if rsv & 4:
                st["rsv1"] += 1
        if (rsv & 4 and not first) or rsv & 3:
            st["bad_rsv"] += 1
        if op in (0, 1, 2):
            self.in_msg = not fin


def header_value(head, name):
    vals = []
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            vals.append(v.strip())
    return ", ".join(vals) if vals else None


def relay(csock, target, lifetime_end, out_lock):
    try:
        ssock = socket.create_connection(("127.0.0.1", target), timeout=5)
    except OSError as e:
        csock.close()
        with out_lock:
            print(json.dumps({"error": "connect to %d: %s" % (target, e)}), flush=True)
        return
    for s in (csock, ssock):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
    up, down = Watch(), Watch()     # client to server, server to client
    pend = {csock: bytearray(), ssock: bytearray()}     # what waits to be written to that socket
    peer = {csock: ssock, ssock: csock}
    watch = {csock: up, ssock: down}
    open_r = {csock: True, ssock: True}
    while time.monotonic() < lifetime_end and (open_r[csock] or open_r[ssock] or pend[csock] or pend[ssock]):
        rl = [s for s in (csock, ssock) if open_r[s] and len(pend[peer[s]]) < (8 << 20)]
        wl = [s for s in (csock, ssock) if pend[s]]
        if not rl and not wl:
            break
        r, w, _ = select.select(rl, wl, [], 1.0)
        for s in w:
            try:
                k = s.send(pend[s])
                del pend[s][:k]
            except BlockingIOError:
                pass
            except OSError:
                pend[s].clear()
                open_r[peer[s]] = False
            if not pend[s] and not open_r[peer[s]]:
                try:
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
        for s in r:
            try:
                d = s.recv(1 << 18)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                open_r[s] = False
                if not pend[peer[s]]:
                    try:
                        peer[s].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                continue
            pend[peer[s]] += d
            wt = watch[s]
            was = wt.head_done
            rest = wt.feed(d)
            if not was and wt.head_done and s is ssock:
                status = down.head.split(b" ", 2)[1:2]
                if status == [b"101"]:      # frames from here on, both ways
                    up.frames_on = down.frames_on = True
            if rest and wt.frames_on:
                wt.frames(memoryview(rest))
    for s in (csock, ssock):
        s.close()
    status = down.head.split(b" ", 2)[1:2]
    line = {"path": up.head.split(b" ", 2)[1].decode("latin-1") if up.head.count(b" ") >= 2 else None,
            "status": int(status[0]) if status and status[0].isdigit() else None,
            "offer": header_value(bytes(up.head), "sec-websocket-extensions"),
            "answer": header_value(bytes(down.head), "sec-websocket-extensions"),
            "c2s": up.st, "s2c": down.st}
    with out_lock:
        print(json.dumps(line), flush=True)


def check(argv):
    log, label = argv[0], argv[1]
    want = int(argv[2]) if len(argv) > 2 and argv[2].isdigit() else 1
    offer = argv[argv.index("--offer") + 1] if "--offer" in argv else None
    conns = []
    with open(log) as fh:
        for line in fh:
            if line.startswith("{"):
                c = json.loads(line)
                if c.get("status") == 101:
                    conns.append(c)
    bad = 0

    def say(ok, what):
        nonlocal bad
        bad += not ok
        print(("ok   " if ok else "FAIL ") + label + ": " + what, flush=True)
    say(len(conns) == want, "%d WebSocket connection(s) through the relay (%d expected)" % (len(conns), want))
    for c in conns:
        up, down, ans = c["c2s"], c["s2c"], c["answer"] or ""
        if offer is not None:
            say(c["offer"] == offer, "the client's offer %r (expected %r)" % (c["offer"], offer))
        say(ans.split(";")[0].strip().lower() == "permessage-deflate",
            "permessage-deflate agreed: offer %r, answer %r" % (c["offer"], c["answer"]))
        say(up["rsv1"] > 0 and down["rsv1"] > 0 and not up["bad_rsv"] and not down["bad_rsv"],
            "compressed on the wire (RSV1): client %d of %d messages, server %d of %d; RSV bits "
            "elsewhere: %d, %d" % (up["rsv1"], up["messages"], down["rsv1"], down["messages"],
                                   up["bad_rsv"], down["bad_rsv"]))
    return 1 if bad else 0


def main():
    if sys.argv[1:2] == ["check"]:
        sys.exit(check(sys.argv[2:]))
    target = int(sys.argv[1])
    lifetime = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
    end = time.monotonic() + lifetime
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print("listening %d" % ls.getsockname()[1], flush=True)
    lock = threading.Lock()
    while time.monotonic() < end:
        ls.settimeout(max(0.1, min(1.0, end - time.monotonic())))
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=relay, args=(c, target, end, lock), daemon=True).start()


if __name__ == "__main__":
    main()
