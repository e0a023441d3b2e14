#!/usr/bin/env python3
"""RFC 6455 conformance suite for WebSocket echo servers (Python 3 stdlib only).

Drives any server that echoes every message with its own opcode, over raw sockets,
and reports every case as PASS, FAIL (with a reason) or NON-STRICT (allowed by the
RFC, not by the strict goal: e.g. invalid UTF-8 rejected only at message end).

    server_suite.py --port P [--host 127.0.0.1] [--cases PATTERN] [--json out.json]
                    [--seed N] [--list] [--verbose]

PATTERN: comma-separated ids or shell patterns (6.5.*), or group names (utf8).
"""

import argparse
import fnmatch
import json
import os
import random
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wslib  # noqa: E402
from wslib import (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG,  # noqa: E402
                   Eof, Reset, Timeout, opname)

DROP_NOTE = "TCP dropped without a close frame: accepted, as Autobahn accepts it for failure cases"
TCP_CLOSE_BOUND = 2.0      # the server must close TCP this soon after the closing handshake
FAIL_FAST_WAIT = 1.0       # how long a fail-fast case waits before sending the rest


class Outcome(Exception):
    def __init__(self, status, reason="", note=""):
        Exception.__init__(self, reason)
        self.status, self.reason, self.note = status, reason, note


def Fail(reason):
    return Outcome("FAIL", reason)


def NonStrict(reason):
    return Outcome("NON-STRICT", reason)


def Pass(note=""):
    return Outcome("PASS", "", note)


def show(b, n=24):
    b = bytes(b)
    s = b[:n].hex(" ")
    return "%d bytes [%s%s]" % (len(b), s, " ..." if len(b) > n else "")


# ------------------------------------------------------------------ the case context

class Ctx:
    def __init__(self, host, port, rng, timeout=3.0):
        self.host, self.port, self.rng, self.timeout = host, port, rng, timeout
        self.peers = []
        self.notes = []

    # -- raw HTTP
    def request_bytes(self, method="GET", path="/", version="HTTP/1.1", headers=None, key=None):
        key = key or wslib.new_key()
        base = [("Host", "%s:%d" % (self.host, self.port)), ("Upgrade", "websocket"),
                ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]
        headers = headers or {}
        out = []
        low = {k.lower(): k for k in headers}
        for k, v in base:
            if k.lower() in low:
                nv = headers[low[k.lower()]]
                if nv is None:
                    continue
                if isinstance(nv, list):
                    for x in nv:
                        out.append(x)
                    continue
                out.append((low[k.lower()], nv))
            else:
                out.append((k, v))
        basel = {k.lower() for k, _ in base}
        for k, v in headers.items():
            if k.lower() not in basel and v is not None:
                if isinstance(v, list):
                    out += v
                else:
                    out.append((k, v))
        text = "%s %s %s\r\n" % (method, path, version)
        text += "".join("%s: %s\r\n" % (k, v) for k, v in out) + "\r\n"
        return text.encode("latin-1"), key

    def raw_connect(self):
        s = wslib.connect(self.host, self.port, timeout=self.timeout)
        self.peers.append(s)
        return s

    def raw_exchange(self, req, chunks=None, timeout=None, limit=256 * 1024):
        s = self.raw_connect()
        try:
            s.settimeout(timeout or self.timeout)
            if chunks:
                for i in range(0, len(req), chunks):
                    s.sendall(req[i:i + chunks])
                    if chunks == 1:
                        time.sleep(0.0003)
            else:
                s.sendall(req)
        except socket.timeout:
            pass
        except OSError:
            pass
        head, rest, why = wslib.read_http_head(s, timeout or self.timeout, limit)
        return s, head, rest, why

    # -- a validated WebSocket connection
    def open(self, path="/", headers=None, first=b"", byte_by_byte=False):
        req, key = self.request_bytes(path=path, headers=headers)
        s, head, rest, why = self.raw_exchange(req + first, chunks=1 if byte_by_byte else None)
        if head is None:
            raise Fail("no HTTP response to a valid upgrade request (%s)" % why)
        probs = check_101(head, key)
        if probs:
            raise Fail("bad upgrade response: %s; status line %r" % ("; ".join(probs), head.start))
        p = S(self, wslib.Peer(s, "client", rest))
        return p


def check_101(head, key, offered_protocols=()):
    probs = []
    if head.status != 101:
        probs.append("status %s, not 101" % head.status)
        return probs
    if not head.start.startswith("HTTP/1.1 "):
        probs.append("status line not HTTP/1.1")
    if [t for t in head.tokens("Upgrade")] != ["websocket"]:
        probs.append("Upgrade header %r, not websocket" % head.get("Upgrade"))
    if "upgrade" not in head.tokens("Connection"):
        probs.append("Connection header %r lacks upgrade" % head.get("Connection"))
    acc = head.get_all("Sec-WebSocket-Accept")
    if acc != [wslib.accept_key(key)]:
        probs.append("Sec-WebSocket-Accept %r, expected %r" % (acc, wslib.accept_key(key)))
    if head.get_all("Sec-WebSocket-Extensions"):
        probs.append("extension %r accepted though none offered (RFC 4.2.2)" % head.get("Sec-WebSocket-Extensions"))
    protos = head.tokens("Sec-WebSocket-Protocol")
    offered = [p.lower() for p in offered_protocols]
    if protos:
        if len(protos) != 1:
            probs.append("several subprotocols selected: %r" % protos)
        elif protos[0] not in offered:
            probs.append("subprotocol %r selected but not offered (RFC 4.2.2)" % protos[0])
    return probs


class S:
    """A client session on a validated connection."""

    def __init__(self, ctx, peer):
        self.ctx, self.p = ctx, peer
        self.partial = bytearray()
        self.peer_closes_tcp = True   # server mode: the server closes TCP after the handshake
        ctx.peers.append(peer)

    def f(self, op, payload=b"", fin=True, rsv=0, mask=None, key=None, len_form=None):
        return self.p.frame(op, payload, fin, rsv, mask, key, len_form)

    def send(self, data):
        return self.p.send(data)

    def send_frames(self, frames, mode="whole"):
        data = b"".join(frames)
        if mode == "whole":
            return self.p.send(data)
        if mode == "bytes":
            return self.p.send_chopped(data, iter(lambda: 1, 0), delay=0.0002)
        if mode == "chunks":
            rng = self.ctx.rng
            mx = max(2, min(len(data) // 4 + 2, 70000))
            return self.p.send_chopped(data, iter(lambda: rng.randint(1, mx), 0))
        raise ValueError(mode)

    # -- expectations
    def expect(self, msgs, pongs=(), timeout=None):
        """Read until every expected message (op, payload) and pong payload has come, in order."""
        msgs = list(msgs)
        pongs = list(pongs)
        deadline = time.monotonic() + (timeout or self.ctx.timeout)
        cur_op, parts = None, []
        while msgs or pongs:
            what = "%d message(s) and %d pong(s)" % (len(msgs), len(pongs))
            try:
                fr = self.p.read_frame(max(0.0, deadline - time.monotonic()))
            except Timeout:
                raise Fail("timed out waiting for %s" % what)
            except Eof:
                raise Fail("server closed TCP while we waited for %s" % what)
            except Reset:
                raise Fail("connection reset while we waited for %s" % what)
            op = fr.opcode
            if op == OP_PONG:
                if not pongs:
                    raise Fail("unexpected pong %s" % show(fr.payload))
                exp = pongs.pop(0)
                if fr.payload != exp:
                    raise Fail("pong payload %s, expected %s" % (show(fr.payload), show(exp)))
            elif op == OP_PING:
                self.send(self.f(OP_PONG, fr.payload))
            elif op == OP_CLOSE:
                raise Fail("server sent close %s while we waited for %s" % (close_desc(fr), what))
            elif op in (OP_TEXT, OP_BINARY, OP_CONT):
                if op != OP_CONT:
                    cur_op, parts = op, [fr.payload]
                else:
                    parts.append(fr.payload)
                if fr.fin:
                    data = b"".join(parts)
                    if not msgs:
                        raise Fail("unexpected %s message %s" % (opname(cur_op), show(data)))
                    eop, epl = msgs.pop(0)
                    if eop != cur_op or data != epl:
                        raise Fail("got %s %s, expected %s %s%s" % (opname(cur_op), show(data), opname(eop), show(epl),
                                                                   diff_at(data, epl)))
                    cur_op, parts = None, []
            else:
                raise Fail("unexpected frame %r" % fr)
        return True

    def quiet(self, secs=0.15):
        """Nothing more may arrive for a moment (a pong or echo we did not ask for)."""
        try:
            fr = self.p.read_frame(secs)
        except (Timeout, Eof, Reset):
            return
        raise Fail("unexpected frame %r" % fr)

    def close_ok(self, code=1000, reason=b"", accept=(1000, None), ns_empty=False, timeout=None,
                 payload=None, send=True, prefix=None):
        """Start the closing handshake and require a clean close, then TCP closed by the server."""
        if send:
            pl = payload if payload is not None else wslib.close_payload(code, reason)
            self.send(self.f(OP_CLOSE, pl))
        deadline = time.monotonic() + (timeout or self.ctx.timeout)
        while True:
            try:
                fr = self.p.read_frame(max(0.0, deadline - time.monotonic()))
            except Timeout:
                raise Fail("no close frame back within %.1fs" % (timeout or self.ctx.timeout))
            except (Eof, Reset) as e:
                raise Fail("server %s TCP without answering our close frame"
                           % ("reset" if isinstance(e, Reset) else "closed"))
            if fr.opcode == OP_CLOSE:
                break
            if fr.opcode == OP_PING:
                continue
            if prefix is not None and not self.partial_echo(fr, prefix):
                continue
            raise Fail("got %r after our close frame" % fr)
        got = close_code(fr)
        if got not in accept:
            if got is None and ns_empty:
                raise NonStrict("close echoed with an empty body, not the code %s" % code)
            raise Fail("close answered with %s, expected %s" % (close_desc(fr), " or ".join(
                "empty" if a is None else str(a) for a in accept)))
        t0 = time.monotonic()
        if not self.peer_closes_tcp:
            self.p.close()
            return 0.0
        closed, extra = self.p.wait_eof(TCP_CLOSE_BOUND)
        if extra:
            raise Fail("frames after the close frame: %r" % extra[:3])
        if not closed:
            raise Fail("server did not close TCP within %.0fs after the closing handshake (RFC 7.1.1)"
                       % TCP_CLOSE_BOUND)
        return time.monotonic() - t0

    def partial_echo(self, fr, prefix):
        """A server that echoes as data arrives may stream back the part of the unfinished message
        that came before the violation (never finishing it). None if fr is such a frame, else why not."""
        if fr.opcode not in (OP_TEXT, OP_BINARY, OP_CONT):
            return "got %r" % fr
        if fr.opcode != OP_CONT:
            self.partial = bytearray()
        self.partial += fr.payload
        if fr.fin:
            return "server finished a message after the violation: %r" % fr
        if not bytes(prefix).startswith(bytes(self.partial)):
            return "server echoed data past the violation: %s, allowed prefix %s" % (show(self.partial), show(prefix))
        return None

    def expect_fail(self, codes=(1002,), timeout=None, prefix=b""):
        """The server must fail the connection: a close with one of codes, or TCP dropped.
        prefix: data of the unfinished message sent before the violation, which a streaming
        echo may already have sent back in unfinished fragments.
        Returns an Outcome (PASS or FAIL) rather than raising it."""
        deadline = time.monotonic() + (timeout or self.ctx.timeout)
        want = "/".join(str(c) for c in codes)
        while True:
            try:
                fr = self.p.read_frame(max(0.0, deadline - time.monotonic()))
            except Timeout:
                return Fail("connection not failed: no close %s within %.1fs" % (want, timeout or self.ctx.timeout))
            except (Eof, Reset):
                return Pass(DROP_NOTE)
            if fr.opcode == OP_CLOSE:
                break
            if fr.opcode == OP_PING:
                continue
            if fr.opcode == OP_PONG:
                return Fail("server answered a ping sent after the violation (pong %s) instead of failing"
                            % show(fr.payload))
            why = self.partial_echo(fr, prefix)
            if why:
                return Fail("server went on after the violation: " + why)
        got = close_code(fr)
        # complete the closing handshake and expect the TCP close
        self.send(self.f(OP_CLOSE, wslib.close_payload(got if got and wslib.close_code_valid_on_wire(got) else None)))
        if not self.peer_closes_tcp:
            self.p.close()
            closed = True
        else:
            closed, extra = self.p.wait_eof(TCP_CLOSE_BOUND)
        if got not in codes:
            return Fail("closed with %s, expected %s" % (close_desc(fr), want))
        if not closed:
            return Fail("close %s sent, but TCP not closed within %.0fs of the closing handshake"
                        % (got, TCP_CLOSE_BOUND))
        return Pass()


def close_code(fr):
    if len(fr.payload) >= 2:
        return struct.unpack("!H", fr.payload[:2])[0]
    return None


def close_desc(fr):
    c = close_code(fr)
    if c is None:
        return "(empty body)" if not fr.payload else "(1-byte body)"
    r = fr.payload[2:]
    return "%d%s" % (c, (" %r" % bytes(r[:40])) if r else "")


def valid_prefix(data):
    """The longest prefix of data that a fail-fast UTF-8 validator still accepts."""
    def ok(k):
        v = wslib.Utf8Validator()
        return v.feed(data[:k])
    if ok(len(data)):
        return bytes(data)
    lo, hi = 0, len(data)          # ok(lo) true, ok(hi) false
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return bytes(data[:lo])


def diff_at(a, b):
    if len(a) != len(b):
        return " (length differs)"
    for i in range(len(a)):
        if a[i] != b[i]:
            return " (first difference at byte %d)" % i
    return ""


# ------------------------------------------------------------------ case registry

class Case:
    def __init__(self, cid, group, rfc, desc, fn, timeout):
        self.id, self.group, self.rfc, self.desc, self.fn, self.timeout = cid, group, rfc, desc, fn, timeout


CASES = []
GROUPS = ["handshake", "framing", "pingpong", "rsv", "opcodes", "fragmentation", "utf8", "close",
          "masking", "throughput", "misc", "compression"]


def add(cid, group, rfc, desc, timeout=10.0):
    def deco(fn):
        CASES.append(Case(cid, group, rfc, desc, fn, timeout))
        return fn
    return deco


def case(cid, group, rfc, desc, fn, timeout=10.0):
    CASES.append(Case(cid, group, rfc, desc, fn, timeout))


def text_payload(n):
    pat = b"Hello, ws.h! The quick brown fox jumps over the lazy dog 0123456789. "
    return (pat * (n // len(pat) + 1))[:n]


def echo_then_close(s, msgs, pongs=(), timeout=None, close_timeout=None):
    s.expect(msgs, pongs, timeout)
    s.close_ok(timeout=close_timeout)
    return Pass()


# ================================================================== 0.x handshake (RFC 4)

def hs_ok(headers=None, path="/", note=""):
    def run(c):
        s = c.open(path=path, headers=headers)
        s.send(s.f(OP_TEXT, b"handshake ok"))
        s.expect([(OP_TEXT, b"handshake ok")])
        s.close_ok()
        return Pass(note)
    return run


case("0.1", "handshake", "4.2.2", "valid upgrade: 101, correct Accept, Upgrade/Connection, no extension/subprotocol; echo works",
     hs_ok())
case("0.2", "handshake", "4.2.1", "Connection: keep-alive, Upgrade (token list)", hs_ok({"Connection": "keep-alive, Upgrade"}))
case("0.3", "handshake", "4.2.1", "lower-case header names and 'upgrade: WebSocket'",
     hs_ok({"Upgrade": [("upgrade", "WebSocket")], "Connection": [("connection", "upgrade")],
            "Sec-WebSocket-Version": [("sec-websocket-version", "13")]}))
case("0.4", "handshake", "4.2.1", "UPGRADE: WEBSOCKET / CONNECTION: UPGRADE (upper case)",
     hs_ok({"Upgrade": [("UPGRADE", "WEBSOCKET")], "Connection": [("CONNECTION", "UPGRADE")]}))
case("0.5", "handshake", "4.2.1", "Connection: Upgrade,keep-alive (no space, Upgrade first)",
     hs_ok({"Connection": "Upgrade,keep-alive"}))
case("0.6", "handshake", "4.2.1", "Connection split over two header lines (keep-alive / Upgrade)",
     hs_ok({"Connection": [("Connection", "keep-alive"), ("Connection", "Upgrade")]}))
case("0.7", "handshake", "4.2.2", "path with a query string", hs_ok(path="/chat/room?id=42&x=%20y"))
case("0.8", "handshake", "4.2.1", "Origin header present", hs_ok({"Origin": "http://127.0.0.1"}))
case("0.9", "handshake", "4.2.2", "unknown extension offered (x-foo) is not accepted",
     hs_ok({"Sec-WebSocket-Extensions": "x-foo; bar=1"}))
case("0.10", "handshake", "4.1", "extra unrelated headers (User-Agent, Cookie, Pragma)",
     hs_ok({"User-Agent": "conformance/1.0", "Cookie": "a=b; c=d", "Pragma": "no-cache", "Cache-Control": "no-cache"}))


def hs_subproto(headers, offered):
    def run(c):
        req, key = c.request_bytes(headers=headers)
        s, head, rest, why = c.raw_exchange(req)
        if head is None:
            raise Fail("no response (%s)" % why)
        probs = check_101(head, key, offered)
        if probs:
            raise Fail("; ".join(probs))
        sel = head.get("Sec-WebSocket-Protocol")
        ses = S(c, wslib.Peer(s, "client", rest))
        ses.send(ses.f(OP_TEXT, b"sub"))
        ses.expect([(OP_TEXT, b"sub")])
        ses.close_ok()
        return Pass("selected %s" % (repr(sel) if sel else "no subprotocol"))
    return run


case("0.11", "handshake", "4.2.2", "subprotocols offered 'chat, superchat': none or an offered one selected",
     hs_subproto({"Sec-WebSocket-Protocol": "chat, superchat"}, ["chat", "superchat"]))
case("0.12", "handshake", "4.2.2", "subprotocols offered on two header lines",
     hs_subproto({"Sec-WebSocket-Protocol": [("Sec-WebSocket-Protocol", "v2.example"),
                                             ("Sec-WebSocket-Protocol", "v1.example")]}, ["v2.example", "v1.example"]))


def hs_bytewise(c):
    s = c.open(byte_by_byte=True)
    s.send(s.f(OP_TEXT, b"bytewise"))
    return echo_then_close(s, [(OP_TEXT, b"bytewise")])


case("0.13", "handshake", "4.2.1", "request sent one byte at a time", hs_bytewise, timeout=8)


def hs_with_frame(c):
    k = os.urandom(4)
    first = wslib.encode_frame(OP_TEXT, b"in the same write", key=k)
    s = c.open(first=first)
    return echo_then_close(s, [(OP_TEXT, b"in the same write")])


def hs_with_frames(c):
    first = (wslib.encode_frame(OP_TEXT, b"one") + wslib.encode_frame(OP_PING, b"p") +
             wslib.encode_frame(OP_BINARY, b"\x00\x01two"))
    s = c.open(first=first)
    return echo_then_close(s, [(OP_TEXT, b"one"), (OP_BINARY, b"\x00\x01two")], [b"p"])


case("0.14", "handshake", "4.2.1", "request and the first frame in one write", hs_with_frame)
case("0.15", "handshake", "4.2.1", "request, text, ping and binary frames in one write", hs_with_frames)


def hs_reject(headers=None, method="GET", version="HTTP/1.1", raw=None, statuses=None, need_close=False,
              check=None, chunks=None, timeout=None, plain_http_ok=False):
    """The server must not upgrade; it must answer with a 4xx (or one of statuses)."""
    def run(c):
        req = raw if raw is not None else c.request_bytes(method=method, version=version, headers=headers)[0]
        s, head, rest, why = c.raw_exchange(req, chunks=chunks, timeout=timeout)
        if head is None:
            if why == "timeout":
                raise Fail("no response within %.0fs (hang)" % (timeout or c.timeout))
            raise Fail("connection %s without an HTTP error response" % ("closed" if why == "eof" else why))
        st = head.status
        if st == 101:
            raise Fail("upgraded (101) instead of refusing")
        ok = (st in statuses) if statuses else (st is not None and 400 <= st < 500)
        if not ok and plain_http_ok and st is not None and 200 <= st < 600:
            return Pass("status %s: served as plain HTTP, no WebSocket upgrade was asked for (RFC 4.2.1; "
                        "RFC 7230 6.7 lets a server ignore Upgrade)" % st)
        if not ok:
            raise Fail("status %s (%r), expected %s" % (st, head.start,
                                                        "/".join(map(str, statuses)) if statuses else "4xx"))
        if check:
            check(head)
        if need_close:
            # drain any body, then the server must close the connection
            pr = wslib.Peer(s, "client", rest)
            try:
                end = time.monotonic() + 3.0
                while True:
                    pr._fill(end)
            except (Eof, Reset):
                pass
            except Timeout:
                raise Fail("status %s sent but the connection left open" % st)
        return Pass("status %s" % st)
    return run


def version_check(head):
    vals = head.tokens("Sec-WebSocket-Version")
    if "13" not in vals:
        raise Fail("status %s without a Sec-WebSocket-Version header listing 13 (RFC 4.2.2, 4.4): got %r"
                   % (head.status, head.get("Sec-WebSocket-Version")))
    if head.status != 426:
        raise NonStrict("status %s with Sec-WebSocket-Version %r; strict goal is 426 Upgrade Required"
                        % (head.status, head.get("Sec-WebSocket-Version")))


case("0.16", "handshake", "4.2.1", "missing Sec-WebSocket-Key -> 4xx", hs_reject({"Sec-WebSocket-Key": None}))
case("0.17", "handshake", "4.2.1", "Sec-WebSocket-Key not base64 -> 4xx", hs_reject({"Sec-WebSocket-Key": "not base64 at all!!"}))
case("0.18", "handshake", "4.2.1", "Sec-WebSocket-Key decoding to 15 bytes -> 4xx",
     hs_reject({"Sec-WebSocket-Key": "AAECAwQFBgcICQoLDA0O"}))
case("0.19", "handshake", "4.2.1", "Sec-WebSocket-Key decoding to 17 bytes -> 4xx",
     hs_reject({"Sec-WebSocket-Key": "AAECAwQFBgcICQoLDA0ODxA="}))
case("0.20", "handshake", "11.3.1", "Sec-WebSocket-Key sent twice -> 4xx",
     hs_reject({"Sec-WebSocket-Key": [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                      ("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==")]}))
case("0.21", "handshake", "4.2.2, 4.4", "Sec-WebSocket-Version: 12 -> 426 with Sec-WebSocket-Version: 13",
     hs_reject({"Sec-WebSocket-Version": "12"}, check=version_check))
case("0.22", "handshake", "4.2.2, 4.4", "Sec-WebSocket-Version: 14 -> 426 with Sec-WebSocket-Version: 13",
     hs_reject({"Sec-WebSocket-Version": "14"}, check=version_check))
case("0.23", "handshake", "4.2.1", "Sec-WebSocket-Version missing -> 4xx", hs_reject({"Sec-WebSocket-Version": None}))
case("0.24", "handshake", "4.2.1", "method POST -> 4xx", hs_reject(method="POST"))
case("0.25", "handshake", "4.2.1", "HTTP/1.0 request -> 4xx, not 101", hs_reject(version="HTTP/1.0"))
case("0.26", "handshake", "4.2.1", "missing Host -> 400", hs_reject({"Host": None}, statuses=(400,)))
case("0.27", "handshake", "4.2.1", "missing Upgrade header -> not upgraded (4xx, or served as plain HTTP)",
     hs_reject({"Upgrade": None}, plain_http_ok=True))
case("0.28", "handshake", "4.2.1", "Upgrade: h2c (not websocket) -> not upgraded (4xx, or served as plain HTTP)",
     hs_reject({"Upgrade": "h2c"}, plain_http_ok=True))
case("0.29", "handshake", "4.2.1", "missing Connection header -> 4xx", hs_reject({"Connection": None}))
case("0.30", "handshake", "4.2.1", "Connection: keep-alive (no upgrade token) -> 4xx", hs_reject({"Connection": "keep-alive"}))
case("0.31", "handshake", "4.2.1", "garbage request line -> 4xx", hs_reject(raw=b"HELLO THERE\r\n\r\n"))


def big_header_one(c):
    return {"X-Big": "a" * 65536}


def big_headers_many(c):
    return {"X-Many": [("X-H%04d" % i, "v" * 50) for i in range(1200)]}


def hs_oversized(mk):
    def run(c):
        return hs_reject(mk(c), statuses=(431, 400), need_close=True, timeout=5.0)(c)
    return run


case("0.32", "handshake", "4.2.1", "one 64 KiB header line -> 431/400 and connection closed, no hang",
     hs_oversized(big_header_one), timeout=8)
case("0.33", "handshake", "4.2.1", "64 KiB header block in 1200 headers -> 431/400 and connection closed",
     hs_oversized(big_headers_many), timeout=8)


# ================================================================== 1.x framing (RFC 5.2)

LENGTHS = [0, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20, 16 << 20]


def echo_case(op, n, mode):
    def run(c):
        payload = text_payload(n) if op == OP_TEXT else os.urandom(n)
        big = n >= (1 << 20)
        tmo = 40.0 if n >= (16 << 20) else (10.0 if big else None)
        s = c.open()
        fr = s.f(op, payload)
        if mode == "whole" and n > 65536:
            s.p.send_async(fr, timeout=tmo or 10)
        elif mode == "chunks" and n > 65536:
            rng = c.rng
            sizes = []
            tot = 0
            while tot < len(fr):
                k = rng.randint(1, max(2, min(len(fr), 300000)))
                sizes.append(k)
                tot += k
            data = fr

            def run_send():
                s.p.send_chopped(data, iter(sizes))
            import threading
            th = threading.Thread(target=run_send, daemon=True)
            th.start()
            s.p._threads.append(th)
        else:
            s.send_frames([fr], mode)
        s.expect([(op, payload)], timeout=tmo)
        s.p.join_senders(5)
        return echo_then_close(s, [])
    return run


_ci = 0
for _op in (OP_TEXT, OP_BINARY):
    for _mode in ("whole", "bytes", "chunks"):
        for _n in LENGTHS:
            if _mode == "bytes" and _n > 128:
                continue
            _ci += 1
            case("1.%d.%d" % ({"whole": 1, "bytes": 2, "chunks": 3}[_mode] + (0 if _op == OP_TEXT else 3),
                               LENGTHS.index(_n) + 1),
                 "framing", "5.2", "%s, %d bytes, %s" % (opname(_op), _n,
                                                          {"whole": "one write", "bytes": "one byte per write",
                                                           "chunks": "random chunks"}[_mode]),
                 echo_case(_op, _n, _mode), timeout=(45 if _n >= (16 << 20) else (15 if _n >= (1 << 20) else 10)))


def many_frames(op):
    def run(c):
        s = c.open()
        msgs = [(op, ("message %d" % i).encode()) for i in range(1000)]
        s.send(b"".join(s.f(o, p) for o, p in msgs))
        return echo_then_close(s, msgs, timeout=10)
    return run


case("1.7.1", "framing", "5.2", "1000 small text frames in one write", many_frames(OP_TEXT), timeout=12)
case("1.7.2", "framing", "5.2", "1000 small binary frames in one write", many_frames(OP_BINARY), timeout=12)


def len_msb_set(c):
    s = c.open()
    s.send(b"\x82\xff" + struct.pack("!Q", (1 << 63) | 5) + os.urandom(4) + b"hello")
    return s.expect_fail((1002, 1009))


case("1.7.3", "framing", "5.2", "64-bit length with the most significant bit set -> 1002 (or 1009)", len_msb_set)


# ================================================================== 2.x ping / pong (RFC 5.5.2, 5.5.3)

def ping_case(payload, mode="whole"):
    def run(c):
        s = c.open()
        s.send_frames([s.f(OP_PING, payload)], mode)
        s.expect([], [payload])
        return echo_then_close(s, [])
    return run


case("2.1", "pingpong", "5.5.2", "ping, empty payload -> pong, empty", ping_case(b""))
case("2.2", "pingpong", "5.5.2", "ping with a text payload -> same payload", ping_case(b"Hello, world!"))
case("2.3", "pingpong", "5.5.2", "ping with a binary payload -> same payload", ping_case(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"))
case("2.4", "pingpong", "5.5.2", "ping with 125 bytes -> same 125 bytes", ping_case(bytes(range(125))))
case("2.5", "pingpong", "5.5.2", "ping with 125 bytes sent one byte per write", ping_case(bytes(range(125)), "bytes"))


def ping_too_big(n):
    def run(c):
        s = c.open()
        s.send(s.f(OP_PING, b"\xfe" * n))
        return s.expect_fail()
    return run


case("2.6", "pingpong", "5.5", "ping with 126 bytes -> 1002", ping_too_big(126))
case("2.7", "pingpong", "5.5", "ping with 65536 bytes (64-bit length) -> 1002", ping_too_big(65536))


def unsolicited_pong(payload, then_ping=False):
    def run(c):
        s = c.open()
        s.send(s.f(OP_PONG, payload))
        if then_ping:
            s.send(s.f(OP_PING, b"ping after pong"))
            s.expect([], [b"ping after pong"])
        s.send(s.f(OP_TEXT, b"after the pong"))
        s.expect([(OP_TEXT, b"after the pong")])
        s.quiet()
        return echo_then_close(s, [])
    return run


case("2.8", "pingpong", "5.5.3", "unsolicited empty pong is ignored", unsolicited_pong(b""))
case("2.9", "pingpong", "5.5.3", "unsolicited pong with payload is ignored", unsolicited_pong(b"unsolicited"))
case("2.10", "pingpong", "5.5.3", "unsolicited pong then ping -> only the ping's pong", unsolicited_pong(b"x", True))


def ten_pings(mode):
    def run(c):
        s = c.open()
        pl = [("payload-%d" % i).encode() for i in range(10)]
        s.send_frames([s.f(OP_PING, p) for p in pl], mode)
        s.expect([], pl)
        return echo_then_close(s, [])
    return run


case("2.11", "pingpong", "5.5.3", "ten pings in one write -> ten pongs in order", ten_pings("whole"))
case("2.12", "pingpong", "5.5.3", "ten pings sent one byte per write -> ten pongs in order", ten_pings("bytes"), timeout=8)
case("2.13", "pingpong", "5.5.3", "ten pings in random chunks -> ten pongs in order", ten_pings("chunks"))


# ================================================================== 3.x reserved bits (RFC 5.2)

def rsv_case(op, rsv):
    def run(c):
        s = c.open()
        s.send(s.f(OP_TEXT, b"before"))
        s.expect([(OP_TEXT, b"before")])
        if op == OP_CLOSE:
            bad = s.f(OP_CLOSE, wslib.close_payload(1000), rsv=rsv)
        elif op == OP_CONT:
            bad = s.f(OP_TEXT, b"frag", fin=False) + s.f(OP_CONT, b"ment", rsv=rsv)
        else:
            bad = s.f(op, b"reserved bits", rsv=rsv)
        s.send(bad + s.f(OP_PING, b"after"))
        return s.expect_fail(prefix=b"frag" if op == OP_CONT else b"")
    return run


_i = 0
for _op in (OP_TEXT, OP_BINARY, OP_PING, OP_CLOSE):
    for _rsv, _nm in ((4, "RSV1"), (2, "RSV2"), (1, "RSV3")):
        _i += 1
        case("3.%d" % _i, "rsv", "5.2", "%s on a %s frame -> 1002" % (_nm, opname(_op)), rsv_case(_op, _rsv))
case("3.13", "rsv", "5.2", "RSV1+RSV2+RSV3 on a text frame -> 1002", rsv_case(OP_TEXT, 7))
case("3.14", "rsv", "5.2", "RSV2 on a continuation frame -> 1002", rsv_case(OP_CONT, 2))
case("3.15", "rsv", "5.2", "RSV1 on a pong frame -> 1002", rsv_case(OP_PONG, 4))


# ================================================================== 4.x reserved opcodes (RFC 5.2)

def opcode_case(op, payload):
    def run(c):
        s = c.open()
        s.send(s.f(OP_TEXT, b"before"))
        s.expect([(OP_TEXT, b"before")])
        s.send(s.f(op, payload) + s.f(OP_PING, b"after"))
        return s.expect_fail()
    return run


_i = 0
for _op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
    for _pl in (b"", b"reserved opcode payload"):
        _i += 1
        case("4.%d" % _i, "opcodes", "5.2", "reserved opcode 0x%X, %s -> 1002"
             % (_op, "empty" if not _pl else "%d-byte payload" % len(_pl)), opcode_case(_op, _pl))


# ================================================================== 5.x fragmentation (RFC 5.4)

def frags(op, parts):
    """frames for a message in the given fragments"""
    out = []
    for i, p in enumerate(parts):
        out.append((op if i == 0 else OP_CONT, p, i == len(parts) - 1))
    return out


def frag_case(op, parts, mode="whole", pings=None, wait=None):
    """pings: {index: payload} -> a ping sent before fragment index"""
    def run(c):
        s = c.open()
        frames = []
        pongs = []
        for i, (o, p, fin) in enumerate(frags(op, parts)):
            if pings and i in pings:
                frames.append(s.f(OP_PING, pings[i]))
                pongs.append(pings[i])
            frames.append(s.f(o, p, fin=fin))
        s.send_frames(frames, mode)
        return echo_then_close(s, [(op, b"".join(parts))], pongs, timeout=wait)
    return run


def split_n(data, n):
    k = max(1, len(data) // n)
    return [data[i * k:(i + 1) * k] if i < n - 1 else data[i * k:] for i in range(n)]


_T = b"fragmented text message, split in several parts"
_B = bytes(range(256)) * 2
case("5.1", "fragmentation", "5.4", "text in 2 fragments", frag_case(OP_TEXT, split_n(_T, 2)))
case("5.2", "fragmentation", "5.4", "text in 3 fragments", frag_case(OP_TEXT, split_n(_T, 3)))
case("5.3", "fragmentation", "5.4", "text in 100 fragments", frag_case(OP_TEXT, split_n(text_payload(1000), 100)))
case("5.4", "fragmentation", "5.4", "binary in 2 fragments", frag_case(OP_BINARY, split_n(_B, 2)))
case("5.5", "fragmentation", "5.4", "binary in 3 fragments", frag_case(OP_BINARY, split_n(_B, 3)))
case("5.6", "fragmentation", "5.4", "binary in 100 fragments", frag_case(OP_BINARY, split_n(os.urandom(1000), 100)))
case("5.7", "fragmentation", "5.4", "text with an empty first fragment", frag_case(OP_TEXT, [b"", b"abc", b"def"]))
case("5.8", "fragmentation", "5.4", "text with an empty middle fragment", frag_case(OP_TEXT, [b"abc", b"", b"def"]))
case("5.9", "fragmentation", "5.4", "text with an empty final fragment", frag_case(OP_TEXT, [b"abc", b"def", b""]))
case("5.10", "fragmentation", "5.4", "empty text message in 3 empty fragments", frag_case(OP_TEXT, [b"", b"", b""]))
case("5.11", "fragmentation", "5.4", "binary with empty fragments", frag_case(OP_BINARY, [b"", b"\x00", b"", b"\xff", b""]))
case("5.12", "fragmentation", "5.4, 5.5", "ping between text fragments -> pong and echo",
     frag_case(OP_TEXT, [b"frag1 ", b"frag2"], pings={1: b"between"}))
case("5.13", "fragmentation", "5.4, 5.5", "ping between binary fragments -> pong and echo",
     frag_case(OP_BINARY, [b"\x01\x02", b"\x03\x04"], pings={1: b"between"}))
case("5.14", "fragmentation", "5.4, 5.5", "5 fragments with 2 pings, one byte per write",
     frag_case(OP_TEXT, [b"f1", b"f2", b"f3", b"f4", b"f5"], "bytes", pings={1: b"p1", 3: b"p2"}), timeout=8)
case("5.15", "fragmentation", "5.4, 5.5", "5 fragments with 2 pings, random chunks",
     frag_case(OP_TEXT, [b"f1", b"f2", b"f3", b"f4", b"f5"], "chunks", pings={2: b"p1", 4: b"p2"}))


def frag_pong_between(c):
    s = c.open()
    s.send(s.f(OP_TEXT, b"abc", fin=False) + s.f(OP_PONG, b"unsolicited") + s.f(OP_CONT, b"def"))
    s.expect([(OP_TEXT, b"abcdef")])
    s.quiet()
    return echo_then_close(s, [])


case("5.16", "fragmentation", "5.4, 5.5.3", "unsolicited pong between fragments is ignored", frag_pong_between)


def frag_bad(build, codes=(1002,), mode="whole", prefix=b""):
    def run(c):
        s = c.open()
        s.send_frames([build(s) + s.f(OP_PING, b"after")], mode)
        return s.expect_fail(codes, prefix=prefix)
    return run


case("5.17", "fragmentation", "5.4", "continuation (FIN) with nothing to continue -> 1002",
     frag_bad(lambda s: s.f(OP_CONT, b"orphan")))
case("5.18", "fragmentation", "5.4", "continuation (no FIN) with nothing to continue -> 1002",
     frag_bad(lambda s: s.f(OP_CONT, b"orphan", fin=False)))
case("5.19", "fragmentation", "5.4", "continuation with nothing to continue, one byte per write -> 1002",
     frag_bad(lambda s: s.f(OP_CONT, b"orphan", fin=False), mode="bytes"))


def cont_after_message(c):
    s = c.open()
    s.send(s.f(OP_TEXT, b"complete"))
    s.expect([(OP_TEXT, b"complete")])
    s.send(s.f(OP_CONT, b"late continuation") + s.f(OP_PING, b"after"))
    return s.expect_fail()


case("5.20", "fragmentation", "5.4", "continuation after a finished message -> 1002", cont_after_message)
case("5.21", "fragmentation", "5.4", "text (no FIN) then text (FIN) -> 1002",
     frag_bad(lambda s: s.f(OP_TEXT, b"start", fin=False) + s.f(OP_TEXT, b"second"), prefix=b"start"))
case("5.22", "fragmentation", "5.4", "text (no FIN) then binary (FIN) -> 1002",
     frag_bad(lambda s: s.f(OP_TEXT, b"start", fin=False) + s.f(OP_BINARY, b"second"), prefix=b"start"))
case("5.23", "fragmentation", "5.4", "binary (no FIN) then text (no FIN) -> 1002",
     frag_bad(lambda s: s.f(OP_BINARY, b"start", fin=False) + s.f(OP_TEXT, b"second", fin=False), prefix=b"start"))
case("5.24", "fragmentation", "5.4, 5.5", "fragmented ping (no FIN + continuation) -> 1002",
     frag_bad(lambda s: s.f(OP_PING, b"frag", fin=False) + s.f(OP_CONT, b"ment")))
case("5.25", "fragmentation", "5.4, 5.5", "fragmented pong -> 1002",
     frag_bad(lambda s: s.f(OP_PONG, b"frag", fin=False) + s.f(OP_CONT, b"ment")))
case("5.26", "fragmentation", "5.4, 5.5", "fragmented close -> 1002",
     frag_bad(lambda s: s.f(OP_CLOSE, b"\x03\xe8", fin=False) + s.f(OP_CONT, b"bye")))
case("5.27", "fragmentation", "5.5", "ping without FIN alone -> 1002",
     frag_bad(lambda s: s.f(OP_PING, b"nofin", fin=False)))


def close_mid_message(c):
    s = c.open()
    s.send(s.f(OP_TEXT, b"never", fin=False) + s.f(OP_CLOSE, wslib.close_payload(1000)) + s.f(OP_CONT, b"finished"))
    s.close_ok(send=False, prefix=b"never")
    return Pass()


case("5.28", "fragmentation", "5.4, 7.1.2", "close between fragments -> close echoed, message dropped", close_mid_message)
case("5.29", "fragmentation", "5.4", "1 MiB text in 1000-byte fragments",
     frag_case(OP_TEXT, [text_payload(1 << 20)[i:i + 1000] for i in range(0, 1 << 20, 1000)], wait=12), timeout=15)


# ================================================================== 6.x UTF-8 (RFC 5.6, 8.1)

def text_echo(payload, mode="whole"):
    def run(c):
        s = c.open()
        s.send_frames([s.f(OP_TEXT, payload)], mode)
        return echo_then_close(s, [(OP_TEXT, payload)])
    return run


VALID = [
    ("empty text", b""),
    ("'Hello-\\u00b5@\\u00df\\u00f6\\u00e4\\u00fc\\u00e0\\u00e1-UTF-8!!'", "Hello-µ@ßöäüàá-UTF-8!!".encode()),
    ("Greek kosme (2-byte)", "κόσμε".encode()),
    ("Cyrillic and Latin extended (2-byte)", "Привет, Łódź, Ærøskøbing".encode()),
    ("CJK (3-byte)", "日本語のテキスト、中文".encode()),
    ("emoji (4-byte)", "😀🎉🚀 ok".encode()),
    ("U+0000", b"\x00"),
    ("U+007F", b"\x7f"),
    ("U+0080", b"\xc2\x80"),
    ("U+07FF", b"\xdf\xbf"),
    ("U+0800", b"\xe0\xa0\x80"),
    ("U+D7FF (last before surrogates)", b"\xed\x9f\xbf"),
    ("U+E000 (first after surrogates)", b"\xee\x80\x80"),
    ("U+FFFD", b"\xef\xbf\xbd"),
    ("U+FFFF (noncharacter, valid)", b"\xef\xbf\xbf"),
    ("U+10000", b"\xf0\x90\x80\x80"),
    ("U+10FFFF", b"\xf4\x8f\xbf\xbf"),
    ("BOM U+FEFF first, kept as is", b"\xef\xbb\xbfbom"),
]
for _i, (_d, _p) in enumerate(VALID, 1):
    case("6.1.%d" % _i, "utf8", "5.6, 8.1", "valid text: %s" % _d, text_echo(_p))

ALLB = b"".join(p for _, p in VALID)


def frag_text(parts, mode="whole"):
    return frag_case(OP_TEXT, parts, mode)


def four_byte_splits(c):
    s = c.open()
    ch = b"\xf0\x9f\x98\x80"
    frames = []
    msgs = []
    for k in (1, 2, 3):
        frames += [s.f(OP_TEXT, b"a" + ch[:k], fin=False), s.f(OP_CONT, ch[k:] + b"b")]
        msgs.append((OP_TEXT, b"a" + ch + b"b"))
    s.send(b"".join(frames))
    return echo_then_close(s, msgs)


case("6.2.1", "utf8", "5.6, 8.1", "valid text, one byte per fragment",
     frag_text([bytes([x]) for x in "Hello-µ@ßöäüàá-UTF-8!!".encode()]))
case("6.2.2", "utf8", "5.6, 8.1", "4-byte character split across fragments at each point", four_byte_splits)
case("6.2.3", "utf8", "5.6, 8.1", "kosme, one byte per fragment", frag_text([bytes([x]) for x in "κόσμε".encode()]))
case("6.2.4", "utf8", "5.6, 8.1", "all boundary code points, one byte per fragment",
     frag_text([bytes([x]) for x in ALLB]))
case("6.2.5", "utf8", "5.6, 8.1", "all boundary code points in one frame, one byte per TCP write",
     text_echo(ALLB, "bytes"))

INVALID = [
    ("overlong U+0000 (C0 80)", b"\xc0\x80"),
    ("overlong (C1 BF)", b"\xc1\xbf"),
    ("overlong '/' 2-byte (C0 AF)", b"\xc0\xaf"),
    ("overlong U+0000 3-byte (E0 80 80)", b"\xe0\x80\x80"),
    ("overlong '/' 3-byte (E0 80 AF)", b"\xe0\x80\xaf"),
    ("overlong U+07FF 3-byte (E0 9F BF)", b"\xe0\x9f\xbf"),
    ("overlong U+0000 4-byte (F0 80 80 80)", b"\xf0\x80\x80\x80"),
    ("overlong '/' 4-byte (F0 80 80 AF)", b"\xf0\x80\x80\xaf"),
    ("overlong U+FFFF 4-byte (F0 8F BF BF)", b"\xf0\x8f\xbf\xbf"),
    ("surrogate U+D800 (ED A0 80)", b"\xed\xa0\x80"),
    ("surrogate U+DB7F (ED AD BF)", b"\xed\xad\xbf"),
    ("surrogate U+DB80 (ED AE 80)", b"\xed\xae\x80"),
    ("surrogate U+DBFF (ED AF BF)", b"\xed\xaf\xbf"),
    ("surrogate U+DC00 (ED B0 80)", b"\xed\xb0\x80"),
    ("surrogate U+DF80 (ED BE 80)", b"\xed\xbe\x80"),
    ("surrogate U+DFFF (ED BF BF)", b"\xed\xbf\xbf"),
    ("surrogate pair U+D800 U+DC00", b"\xed\xa0\x80\xed\xb0\x80"),
    ("surrogate pair U+DBFF U+DFFF", b"\xed\xaf\xbf\xed\xbf\xbf"),
    ("U+110000 (F4 90 80 80)", b"\xf4\x90\x80\x80"),
    ("U+1FFFFF (F7 BF BF BF)", b"\xf7\xbf\xbf\xbf"),
    ("F5 lead byte", b"\xf5\x80\x80\x80"),
    ("5-byte sequence (F8 88 80 80 80)", b"\xf8\x88\x80\x80\x80"),
    ("6-byte sequence (FC 84 80 80 80 80)", b"\xfc\x84\x80\x80\x80\x80"),
    ("byte FE", b"\xfe"),
    ("byte FF", b"\xff"),
    ("bytes FE FE FF FF", b"\xfe\xfe\xff\xff"),
    ("truncated 2-byte at end (C2)", b"abc\xc2"),
    ("truncated 3-byte at end (E0 A0)", b"abc\xe0\xa0"),
    ("truncated 3-byte at end (E1 80)", b"abc\xe1\x80"),
    ("truncated 4-byte at end (F0 90 80)", b"abc\xf0\x90\x80"),
    ("truncated 2-byte then ASCII (C2 41)", b"\xc2\x41"),
    ("truncated 3-byte then ASCII (E1 80 41)", b"\xe1\x80\x41"),
    ("truncated 4-byte then ASCII (F1 80 80 41)", b"\xf1\x80\x80\x41"),
    ("lone continuation 80", b"\x80"),
    ("lone continuation BF", b"\xbf"),
    ("continuations 80 BF 80 BF", b"\x80\xbf\x80\xbf"),
    ("continuation between ASCII (A 80 B)", b"A\x80B"),
    ("kosme + surrogate + 'edited'", "κόσμε".encode() + b"\xed\xa0\x80edited"),
    ("'Hello' FF 'World'", b"Hello\xffWorld"),
    ("valid 64 KiB then FF at the very end", text_payload(65536) + b"\xff"),
]


def text_bad(payload, mode="whole"):
    def run(c):
        s = c.open()
        s.send_frames([s.f(OP_TEXT, payload) + s.f(OP_PING, b"after")], mode)
        return s.expect_fail((1007,), prefix=valid_prefix(payload))
    return run


for _i, (_d, _p) in enumerate(INVALID, 1):
    case("6.3.%d" % _i, "utf8", "5.6, 8.1", "invalid text: %s -> 1007" % _d, text_bad(_p))


def frag_text_bad(parts):
    def run(c):
        s = c.open()
        fr = [s.f(o, p, fin=f) for o, p, f in frags(OP_TEXT, parts)]
        s.send(b"".join(fr) + s.f(OP_PING, b"after"))
        return s.expect_fail((1007,), prefix=valid_prefix(b"".join(parts)))
    return run


K = "κόσμε".encode()
case("6.4.1", "utf8", "5.6, 8.1", "fragments 'kosme' | ED A0 80 | 'edited' -> 1007", frag_text_bad([K, b"\xed\xa0\x80", b"edited"]))
case("6.4.2", "utf8", "5.6, 8.1", "overlong split across fragments C0 | 80 -> 1007", frag_text_bad([b"ab\xc0", b"\x80cd"]))
case("6.4.3", "utf8", "5.6, 8.1", "surrogate split across fragments ED | A0 80 -> 1007", frag_text_bad([b"ab\xed", b"\xa0\x80cd"]))
case("6.4.4", "utf8", "5.6, 8.1", "U+110000 split across fragments F4 | 90 80 80 -> 1007", frag_text_bad([b"ab\xf4", b"\x90\x80\x80"]))
case("6.4.5", "utf8", "5.6, 8.1", "message ends inside a sequence: 'abc' | F0 90 80 -> 1007",
     frag_text_bad([b"abc", b"\xf0\x90\x80"]))
case("6.4.6", "utf8", "5.6, 8.1", "E2 82 | 'A' (sequence cut by ASCII in the next fragment) -> 1007",
     frag_text_bad([b"\xe2\x82", b"A"]))
case("6.4.7", "utf8", "5.6, 8.1", "'abc' | 80 'def' (stray continuation opens a fragment) -> 1007",
     frag_text_bad([b"abc", b"\x80def"]))
case("6.4.8", "utf8", "5.6, 8.1", "empty | FF | empty fragments -> 1007", frag_text_bad([b"", b"\xff", b""]))


def fail_fast(first_build, rest_build, desc_rest, bytewise=False, prefix=b""):
    """Send the first part (holding an invalid byte), withhold the rest: 1007 must come before it."""
    def run(c):
        s = c.open()
        first, rest = first_build(s), rest_build(s)
        if bytewise:
            s.send_frames([first], "bytes")
        else:
            s.send(first)
        early = s.expect_fail((1007,), timeout=FAIL_FAST_WAIT, prefix=prefix)
        if early.status == "PASS":
            return early
        if not early.reason.startswith("connection not failed"):
            return early
        s.send(rest)
        late = s.expect_fail((1007,), timeout=c.timeout, prefix=prefix)
        if late.status == "PASS":
            return NonStrict("no close within %.1fs of the invalid byte; failed only after %s arrived"
                             % (FAIL_FAST_WAIT, desc_rest))
        return late
    return run


FF_SEQS = [
    ("F4 90 (> U+10FFFF)", b"\xf4\x90\x80\x80"),
    ("C0 (overlong lead)", b"\xc0\x80"),
    ("ED A0 (surrogate)", b"\xed\xa0\x80"),
    ("E0 80 (overlong 3-byte)", b"\xe0\x80\x80"),
    ("80 (stray continuation)", b"\x80"),
    ("F5 (invalid lead)", b"\xf5"),
]
FF_N = 65536


def ff_single(seq):
    prefix = b"Hello-" + K
    first_pl = prefix + seq + b"-edited-"
    total = FF_N
    rest_pl = text_payload(total - len(first_pl))
    key = os.urandom(4)
    full = wslib.mask_bytes(first_pl + rest_pl, key)
    hdr = wslib.frame_header(OP_TEXT, total, True, 0, True, key)
    return (lambda s: hdr + full[:len(first_pl)]), (lambda s: full[len(first_pl):]), valid_prefix(first_pl)


def ff_frag(seq):
    return ((lambda s: s.f(OP_TEXT, b"Hello-" + K + seq + b"-edited", fin=False)),
            (lambda s: s.f(OP_CONT, b"final fragment")), valid_prefix(b"Hello-" + K + seq))


_i = 0
for _d, _q in FF_SEQS:
    _i += 1
    _a, _b, _p = ff_single(_q)
    case("6.5.%d" % _i, "utf8", "5.6, 8.1", "fail-fast: %s early in a 64 KiB frame, rest withheld -> 1007 before the rest"
         % _d, fail_fast(_a, _b, "the rest of the frame", prefix=_p), timeout=8)
for _d, _q in FF_SEQS:
    _i += 1
    _a, _b, _p = ff_frag(_q)
    case("6.5.%d" % _i, "utf8", "5.6, 8.1", "fail-fast: %s in the first fragment, final fragment withheld -> 1007"
         % _d, fail_fast(_a, _b, "the final fragment", prefix=_p), timeout=8)
_i += 1
case("6.5.%d" % _i, "utf8", "5.6, 8.1", "fail-fast: 'kosme' | F4 90 80 80 (no FIN) | 'edited' withheld -> 1007",
     fail_fast(lambda s: s.f(OP_TEXT, K, fin=False) + s.f(OP_CONT, b"\xf4\x90\x80\x80", fin=False),
               lambda s: s.f(OP_CONT, b"edited"), "the final fragment", prefix=K + b"\xf4"), timeout=8)
_i += 1
_a, _b, _p = ff_single(b"\xf4\x90\x80\x80")
case("6.5.%d" % _i, "utf8", "5.6, 8.1", "fail-fast: frame start sent byte by byte up to F4 90 80 80, rest withheld",
     fail_fast(_a, _b, "the rest of the frame", bytewise=True, prefix=_p), timeout=8)


# ================================================================== 7.x close (RFC 5.5.1, 7)

def close_seq(build, msgs=(), pongs=(), note=""):
    def run(c):
        s = c.open()
        s.send(build(s))
        s.expect(msgs, pongs)
        s.close_ok(send=False)
        return Pass(note)
    return run


def c7_1_1(c):
    s = c.open()
    s.send(s.f(OP_TEXT, b"Hello"))
    s.expect([(OP_TEXT, b"Hello")])
    dt = s.close_ok()
    return Pass("TCP closed %.0f ms after the close echo" % (dt * 1000))


case("7.1.1", "close", "7.1.2", "echo, then close 1000 -> close 1000 and TCP closed by the server", c7_1_1)
case("7.1.2", "close", "5.5.1", "two close frames in one write -> one close back",
     close_seq(lambda s: s.f(OP_CLOSE, wslib.close_payload(1000)) + s.f(OP_CLOSE, wslib.close_payload(1000))))
case("7.1.3", "close", "5.5.1", "ping after close (same write) is ignored",
     close_seq(lambda s: s.f(OP_CLOSE, wslib.close_payload(1000)) + s.f(OP_PING, b"late")))
case("7.1.4", "close", "5.5.1", "text after close (same write) is ignored (data after close)",
     close_seq(lambda s: s.f(OP_CLOSE, wslib.close_payload(1000)) + s.f(OP_TEXT, b"late")))


def c7_1_5(c):
    s = c.open()
    s.send(s.f(OP_CLOSE, wslib.close_payload(1000)))
    s.close_ok(send=False)
    return Pass()


def c7_1_6(c):
    s = c.open()
    big = text_payload(256 * 1024)
    s.p.send_async(s.f(OP_TEXT, big) + s.f(OP_CLOSE, wslib.close_payload(1000)) + s.f(OP_PING, b"late"))
    try:
        s.expect([(OP_TEXT, big)], timeout=6)
        note = "256 KiB message echoed before the close"
    except Outcome as e:
        if "server sent close" not in e.reason:
            raise
        note = "close without echoing the 256 KiB message"
        s.p.got_close = None
        s.send(s.f(OP_CLOSE, wslib.close_payload(1000)))
        closed, extra = s.p.wait_eof(TCP_CLOSE_BOUND)
        if not closed:
            raise Fail("TCP not closed after the closing handshake")
        return Pass(note)
    s.close_ok(send=False)
    return Pass(note)


case("7.1.5", "close", "7.1.2", "close 1000 at once after the handshake", c7_1_5)
case("7.1.6", "close", "7.1.2", "256 KiB text, close and ping in one stream -> (echo), close, no pong", c7_1_6, timeout=10)


def close_with(payload, accept=(1000, None), ns_empty=False, code=None):
    def run(c):
        s = c.open()
        s.send(s.f(OP_TEXT, b"before close"))
        s.expect([(OP_TEXT, b"before close")])
        s.close_ok(payload=payload, accept=accept, ns_empty=ns_empty, code=code)
        return Pass()
    return run


def close_fail(payload, codes=(1002,)):
    def run(c):
        s = c.open()
        s.send(s.f(OP_TEXT, b"before close"))
        s.expect([(OP_TEXT, b"before close")])
        s.send(s.f(OP_CLOSE, payload) + s.f(OP_PING, b"after"))
        return s.expect_fail(codes)
    return run


case("7.2.1", "close", "5.5.1", "empty close -> empty close or 1000, TCP closed", close_with(b""))
case("7.2.2", "close", "5.5.1", "close 1000 without reason -> 1000", close_with(wslib.close_payload(1000), (1000,), True, 1000))
case("7.2.3", "close", "5.5.1", "close 1000 'Goodbye' -> 1000", close_with(wslib.close_payload(1000, b"Goodbye"), (1000,), True, 1000))
case("7.2.4", "close", "5.5.1", "close 1000 with a 123-byte reason (payload 125) -> 1000",
     close_with(wslib.close_payload(1000, b"r" * 123), (1000,), True, 1000))
case("7.2.5", "close", "5.5", "close with a 124-byte reason (payload 126) -> 1002",
     close_fail(wslib.close_payload(1000, b"r" * 124)))
case("7.2.6", "close", "5.5.1", "close with a 1-byte body -> 1002", close_fail(b"\x03"))
case("7.2.7", "close", "5.5.1", "close 1000 with UTF-8 reason 'kosme' -> 1000",
     close_with(wslib.close_payload(1000, K), (1000,), True, 1000))
case("7.2.8", "close", "5.5.1, 8.1", "close reason with a surrogate (ED A0 80) -> 1007",
     close_fail(wslib.close_payload(1000, b"bad \xed\xa0\x80"), (1007,)))
case("7.2.9", "close", "5.5.1, 8.1", "close reason with byte FF -> 1007", close_fail(wslib.close_payload(1000, b"\xff"), (1007,)))
case("7.2.10", "close", "5.5.1, 8.1", "close reason truncated (ends with C2) -> 1007",
     close_fail(wslib.close_payload(1000, b"abc\xc2"), (1007,)))

VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
for _i, _code in enumerate(VALID_CODES, 1):
    case("7.3.%d" % _i, "close", "7.4", "valid close code %d -> 1000 or %d echoed" % (_code, _code),
         close_with(wslib.close_payload(_code), tuple(sorted({1000, _code})), True, _code))
for _i, _code in enumerate(INVALID_CODES, 1):
    case("7.4.%d" % _i, "close", "7.4", "invalid close code %d -> 1002" % _code,
         close_fail(b"\x00\x00" if _code == 0 else struct.pack("!H", _code)))


def close_tcp_bound(c):
    s = c.open()
    s.send(s.f(OP_CLOSE, wslib.close_payload(1000, b"measure")))
    dt = s.close_ok(send=False)
    return Pass("server closed TCP %.0f ms after its close frame" % (dt * 1000))


def close_bytewise(c):
    s = c.open()
    s.send_frames([s.f(OP_CLOSE, wslib.close_payload(1001, b"going away"))], "bytes")
    s.close_ok(send=False, accept=(1000, 1001))
    return Pass()


def ping_then_close(c):
    s = c.open()
    s.send(s.f(OP_PING, b"before close") + s.f(OP_CLOSE, wslib.close_payload(1000)))
    s.expect([], [b"before close"])
    s.close_ok(send=False)
    return Pass()


def half_close(c):
    s = c.open()
    s.send(s.f(OP_CLOSE, wslib.close_payload(1000)))
    s.p.shutdown_write()
    s.close_ok(send=False)
    return Pass()


case("7.5.1", "close", "7.1.1", "server closes TCP within %.0fs after the closing handshake" % TCP_CLOSE_BOUND, close_tcp_bound)
case("7.5.2", "close", "5.5.1", "close 1001 sent one byte per write -> 1000/1001", close_bytewise)
case("7.5.3", "close", "5.5.1", "ping then close in one write -> pong, then close", ping_then_close)
case("7.5.4", "close", "7.1.1", "close then TCP half-close by the client -> close back, TCP closed", half_close)


# ================================================================== 8.x masking (RFC 5.1, 5.3)

def unmasked(build, prefix=b""):
    def run(c):
        s = c.open()
        s.send(s.f(OP_TEXT, b"masked first"))
        s.expect([(OP_TEXT, b"masked first")])
        s.send(build(s) + s.f(OP_PING, b"after"))
        return s.expect_fail(prefix=prefix)
    return run


case("8.1", "masking", "5.1", "unmasked text frame -> 1002", unmasked(lambda s: s.f(OP_TEXT, b"unmasked", mask=False)))
case("8.2", "masking", "5.1", "unmasked binary frame -> 1002", unmasked(lambda s: s.f(OP_BINARY, b"\x00\x01", mask=False)))
case("8.3", "masking", "5.1", "unmasked ping -> 1002", unmasked(lambda s: s.f(OP_PING, b"unmasked", mask=False)))
case("8.4", "masking", "5.1", "unmasked close -> 1002", unmasked(lambda s: s.f(OP_CLOSE, b"\x03\xe8", mask=False)))
case("8.5", "masking", "5.1", "unmasked empty text frame -> 1002", unmasked(lambda s: s.f(OP_TEXT, b"", mask=False)))
case("8.6", "masking", "5.1", "unmasked continuation inside a masked message -> 1002",
     unmasked(lambda s: s.f(OP_TEXT, b"masked", fin=False) + s.f(OP_CONT, b"unmasked", mask=False), b"masked"))


def zero_key(c):
    s = c.open()
    s.send(s.f(OP_TEXT, b"zero mask key", key=b"\0\0\0\0") + s.f(OP_BINARY, b"\x01\x02", key=b"\xff\xff\xff\xff"))
    return echo_then_close(s, [(OP_TEXT, b"zero mask key"), (OP_BINARY, b"\x01\x02")])


case("8.7", "masking", "5.3", "mask keys 00000000 and FFFFFFFF are valid", zero_key)


# ================================================================== 9.x throughput (correctness only)

def many_big(op, count, size):
    def run(c):
        s = c.open()
        msgs = []
        frames = []
        for i in range(count):
            pl = (("%06d" % i).encode() + text_payload(size))[:size] if op == OP_TEXT else \
                struct.pack("!I", i) + b"\xa5" * (size - 4)
            msgs.append((op, pl))
        key = os.urandom(4)
        # one mask pass over the identical tails keeps the tester fast
        frames = b"".join(wslib.encode_frame(op, pl, key=key) for _, pl in msgs)
        t0 = time.monotonic()
        s.p.send_async(frames, chunk=1 << 20, timeout=60)
        s.expect(msgs, timeout=60)
        dt = time.monotonic() - t0
        s.p.join_senders(5)
        s.close_ok()
        return Pass("%d x %d KiB echoed in %.2fs (%.0f MiB/s each way)" % (count, size // 1024, dt,
                                                                          count * size / dt / 1048576))
    return run


def big_fragmented(op, total, frag):
    def run(c):
        s = c.open()
        pl = text_payload(total) if op == OP_TEXT else os.urandom(total)
        parts = [pl[i:i + frag] for i in range(0, total, frag)]
        data = b"".join(s.f(o, p, fin=f) for o, p, f in frags(op, parts))
        t0 = time.monotonic()
        s.p.send_async(data, chunk=1 << 20, timeout=60)
        s.expect([(op, pl)], timeout=60)
        dt = time.monotonic() - t0
        s.p.join_senders(5)
        s.close_ok()
        return Pass("%d MiB in %d KiB fragments echoed in %.2fs" % (total >> 20, frag >> 10, dt))
    return run


def round_trips(c):
    s = c.open()
    t0 = time.monotonic()
    for i in range(1000):
        m = ("rt %d" % i).encode()
        s.send(s.f(OP_TEXT, m))
        s.expect([(OP_TEXT, m)])
    dt = time.monotonic() - t0
    s.close_ok()
    return Pass("1000 round trips in %.2fs (%.0f us each)" % (dt, dt * 1000))


case("9.1", "throughput", "5.2", "1000 x 64 KiB binary messages, pipelined", many_big(OP_BINARY, 1000, 65536), timeout=65)
case("9.2", "throughput", "5.2", "1000 x 64 KiB text messages, pipelined", many_big(OP_TEXT, 1000, 65536), timeout=65)
case("9.3", "throughput", "5.4", "16 MiB text in 64 KiB fragments", big_fragmented(OP_TEXT, 16 << 20, 65536), timeout=65)
case("9.4", "throughput", "5.4", "16 MiB binary in 64 KiB fragments", big_fragmented(OP_BINARY, 16 << 20, 65536), timeout=65)
case("9.5", "throughput", "5.2", "1000 sequential round trips of small text", round_trips, timeout=20)
case("9.6", "throughput", "5.4", "4 MiB binary in 4 KiB fragments", big_fragmented(OP_BINARY, 4 << 20, 4096), timeout=30)


# ================================================================== 10.x misc

def two_conns(c):
    a, b = c.open(), c.open()
    a.send(a.f(OP_TEXT, b"to a"))
    b.send(b.f(OP_TEXT, b"to b"))
    a.expect([(OP_TEXT, b"to a")])
    b.expect([(OP_TEXT, b"to b")])
    a.close_ok()
    b.close_ok()
    return Pass()


def server_survives(c):
    """After a garbage connection, a fresh valid one still works."""
    s0 = c.raw_connect()
    try:
        s0.sendall(b"\x00\xff" * 64)
    except OSError:
        pass
    s0.close()
    s = c.open()
    s.send(s.f(OP_TEXT, b"still alive"))
    return echo_then_close(s, [(OP_TEXT, b"still alive")])


case("10.1", "misc", "5.4", "64 KiB text echoed (server may fragment its echo)", text_echo(text_payload(65536)))
case("10.2", "misc", "7.1.1", "two connections open at once", two_conns)
case("10.3", "misc", "4.2.1", "server still serves after a garbage connection", server_survives)


# ================================================================== 12.x, 13.x compression (RFC 7692)
# tests/conformance/pmd.py; run with --deflate (or --cases compression)

import pmd  # noqa: E402
pmd.add_server_cases(case, Fail, NonStrict, Pass, S, check_101, wslib)


# ------------------------------------------------------------------ runner

def select_cases(pattern):
    if not pattern:
        return list(CASES)
    pats = [p.strip() for p in pattern.split(",") if p.strip()]
    out = []
    for cs in CASES:
        for p in pats:
            if p == cs.group or fnmatch.fnmatchcase(cs.id, p) or cs.id == p or cs.id.startswith(p + "."):
                out.append(cs)
                break
    return out


def run_case(cs, host, port, rng, verbose):
    ctx = Ctx(host, port, rng)
    t0 = time.monotonic()
    import threading
    res = {}

    def body():
        try:
            r = cs.fn(ctx)
            if r is None:
                r = Pass()
        except Outcome as e:
            r = e
        except (ConnectionRefusedError, socket.timeout) as e:
            r = Fail("cannot connect: %s" % e)
        except Exception as e:  # a tester bug shows as a failure, with its trace in verbose mode
            import traceback
            if verbose:
                traceback.print_exc()
            r = Fail("tester error: %s: %s" % (type(e).__name__, e))
        res["r"] = r

    th = threading.Thread(target=body, daemon=True)
    th.start()
    th.join(cs.timeout + 2.0)
    if th.is_alive():
        r = Fail("case timed out after %.0fs" % cs.timeout)
    else:
        r = res["r"]
    # every frame the server sent must have been well formed
    viol = []
    for p in ctx.peers:
        if isinstance(p, wslib.Peer):
            viol += p.violations
    for p in ctx.peers:
        try:
            (p.sock if isinstance(p, wslib.Peer) else p).close()
        except OSError:
            pass
    if viol and r.status != "FAIL":
        r = Fail("server frame violation: " + "; ".join(dict.fromkeys(viol)))
    elif viol:
        r = Outcome("FAIL", r.reason + "; also: " + "; ".join(dict.fromkeys(viol)))
    return r, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=False)
    ap.add_argument("--cases", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--tls-ca", default="", help="speak TLS (wss), trusting this CA file")
    ap.add_argument("--tls-name", default="localhost", help="the server's name over TLS (SNI, checked)")
    ap.add_argument("--deflate", action="store_true", help="with the compression cases (RFC 7692)")
    a = ap.parse_args()
    if a.tls_ca:
        wslib.tls_client(a.tls_ca, a.tls_name)
    sel = select_cases(a.cases)
    if not a.deflate and not a.cases:
        sel = [cs for cs in sel if cs.group != "compression"]
    if a.list:
        for cs in sel:
            print("%-8s %-14s [%s] %s" % (cs.id, cs.group, cs.rfc, cs.desc))
        counts = {}
        for cs in sel:
            counts[cs.group] = counts.get(cs.group, 0) + 1
        print("%d cases: %s" % (len(sel), ", ".join("%s %d" % (g, counts[g]) for g in GROUPS if g in counts)))
        return 0
    if a.port is None:
        ap.error("--port is required")
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    print("# ws.h conformance suite, server mode: %s:%d%s, %d cases, random seed %d (rerun with --seed %d)"
          % (a.host, a.port, " over TLS (%s)" % a.tls_name if a.tls_ca else "", len(sel), seed, seed))
    sys.stdout.flush()
    results = []
    t_all = time.monotonic()
    for cs in sel:
        rng = random.Random("%d/%s" % (seed, cs.id))
        r, dt = run_case(cs, a.host, a.port, rng, a.verbose)
        print(wslib.result_line(r.status, "%s [%s] %s" % (cs.id, cs.rfc, cs.desc), r.reason, r.note, dt))
        sys.stdout.flush()
        results.append({"id": cs.id, "group": cs.group, "rfc": cs.rfc, "description": cs.desc,
                        "status": r.status, "reason": r.reason, "note": r.note, "seconds": round(dt, 3)})
    print()
    print("# summary per group")
    for g in GROUPS:
        rs = [x for x in results if x["group"] == g]
        if not rs:
            continue
        np_ = sum(1 for x in rs if x["status"] == "PASS")
        nf = sum(1 for x in rs if x["status"] == "FAIL")
        nn = sum(1 for x in rs if x["status"] == "NON-STRICT")
        print("%-14s %3d cases: %3d passed, %3d failed, %3d non-strict" % (g, len(rs), np_, nf, nn))
    drops = sum(1 for x in results if x["note"] == DROP_NOTE)
    if drops:
        print("# %d case(s) passed on a TCP drop without a close frame (Autobahn accepts that for failure cases)"
              % drops)
    npass = sum(1 for x in results if x["status"] == "PASS")
    nns = sum(1 for x in results if x["status"] == "NON-STRICT")
    nfail = len(results) - npass
    print("# total time %.1fs" % (time.monotonic() - t_all))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"mode": "server", "host": a.host, "port": a.port, "seed": seed, "results": results,
                       "passed": npass, "failed": nfail, "non_strict": nns}, fh, indent=1)
    print("%d non-strict (counted as failed)" % nns)
    print("%d passed, %d failed" % (npass, nfail))
    return 0 if nfail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
