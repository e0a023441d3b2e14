#!/usr/bin/env python3
"""RFC 6455 conformance suite for WebSocket echo clients (Python 3 stdlib only).

A test server speaking the usual runner scheme:
    /getCaseCount                  sends the number of cases as a text message, then closes
    /runCase?case=N&agent=A        runs case N against the connected client
    /updateReports?agent=A         closes cleanly; the run ends
The client under test must echo every message with its own opcode.

    client_suite.py --port P [--host 127.0.0.1] [--timeout 120] [--cases PATTERN] [--json out.json]
                    [--deflate]

--deflate adds the compression cases (RFC 7692, tests/conformance/pmd.py): the suite answers
the client's permessage-deflate offer with the parameters of each case, sends compressed
messages and checks the echoes; a client that offers no permessage-deflate gets NON-STRICT.

--port 0 picks a free port; the line "listening on ws://HOST:PORT" tells which.
Besides the cases, run-wide checks look at every request (Host, Upgrade, Connection, a
fresh 16-byte key, version 13) and every frame (masked, mask keys not zero, not constant,
not repeating). Prints one line per case and "N passed, N failed"; exits non-zero on failure.
"""

import argparse
import base64
import fnmatch
import json
import os
import random
import socket
import struct
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wslib  # noqa: E402
from wslib import OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG  # noqa: E402
from server_suite import (Outcome, Fail, NonStrict, Pass, S, DROP_NOTE, FAIL_FAST_WAIT,  # noqa: E402
                          text_payload, valid_prefix, show)


class Ctx:
    def __init__(self, rng, timeout=4.0):
        self.rng, self.timeout, self.peers = rng, timeout, []


def echo_close(s, msgs, pongs=(), timeout=None):
    s.expect(msgs, pongs, timeout)
    s.close_ok(timeout=timeout)
    return Pass()


# ------------------------------------------------------------------ cases

CASES = []   # (group, rfc, desc, fn, kind) ; kind 'ws' (after a good 101) or 'hs' (bad handshake)
GROUPS = ["echo", "pingpong", "protocol", "utf8", "close", "handshake", "compression", "run-wide"]


def case(group, rfc, desc, kind="ws", timeout=6.0):
    def deco(fn):
        CASES.append({"group": group, "rfc": rfc, "desc": desc, "fn": fn, "kind": kind, "timeout": timeout})
        return fn
    return deco


def echo(op, payload, mode="whole", timeout=None):
    def run(s):
        if len(payload) > 65536:
            s.p.send_async(s.f(op, payload), chunk=1 << 20, timeout=timeout or 10)
        else:
            s.send_frames([s.f(op, payload)], mode)
        return echo_close(s, [(op, payload)], timeout=timeout)
    return run


for _op in (OP_TEXT, OP_BINARY):
    for _n in (0, 1, 125, 126, 65535, 65536, 1 << 20):
        _pl = text_payload(_n) if _op == OP_TEXT else os.urandom(_n)
        case("echo", "5.6", "%s message, %d bytes" % (wslib.opname(_op), _n), timeout=15)(echo(_op, _pl, timeout=12))
case("echo", "5.6", "binary message, 16 MiB", timeout=40)(echo(OP_BINARY, os.urandom(16 << 20), timeout=35))
case("echo", "5.2", "text of 128 bytes sent one byte per write")(echo(OP_TEXT, text_payload(128), "bytes"))
case("echo", "5.6", "valid UTF-8 boundary code points")(
    echo(OP_TEXT, b"\x00\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"))


def frag_echo(op, parts, pings=None, mode="whole"):
    def run(s):
        frames, pongs = [], []
        for i, p in enumerate(parts):
            if pings and i in pings:
                frames.append(s.f(OP_PING, pings[i]))
                pongs.append(pings[i])
            frames.append(s.f(op if i == 0 else OP_CONT, p, fin=(i == len(parts) - 1)))
        s.send_frames(frames, mode)
        return echo_close(s, [(op, b"".join(parts))], pongs)
    return run


case("echo", "5.4", "text in 3 fragments")(frag_echo(OP_TEXT, [b"Hello, ", b"fragmented ", b"world"]))
case("echo", "5.4", "binary in 3 fragments, one empty")(frag_echo(OP_BINARY, [b"\x00\x01", b"", b"\xfe\xff"]))
case("echo", "5.4, 5.5", "text fragments with a ping between")(
    frag_echo(OP_TEXT, [b"frag-1 ", b"frag-2"], {1: b"between"}))
case("echo", "5.4, 5.5", "5 fragments with 2 pings, one byte per write", timeout=8)(
    frag_echo(OP_TEXT, [b"f1", b"f2", b"f3", b"f4", b"f5"], {1: b"p1", 3: b"p2"}, "bytes"))
case("echo", "5.4", "4-byte character split across fragments")(
    frag_echo(OP_TEXT, [b"a\xf0\x9f", b"\x98\x80b"]))


@case("echo", "5.2", "100 small messages in one write")
def many_msgs(s):
    msgs = [(OP_TEXT if i % 2 else OP_BINARY, ("message %d" % i).encode()) for i in range(100)]
    s.send(b"".join(s.f(o, p) for o, p in msgs))
    return echo_close(s, msgs, timeout=8)


def ping(payloads, mode="whole"):
    def run(s):
        s.send_frames([s.f(OP_PING, p) for p in payloads], mode)
        return echo_close(s, [], payloads)
    return run


case("pingpong", "5.5.2", "ping, empty -> pong, empty")(ping([b""]))
case("pingpong", "5.5.2", "ping, 125 bytes -> same payload")(ping([bytes(range(125))]))
case("pingpong", "5.5.3", "ten pings -> ten pongs in order")(ping([b"ping %d" % i for i in range(10)]))
case("pingpong", "5.5.3", "ten pings one byte per write -> ten pongs", timeout=8)(ping([b"p%d" % i for i in range(10)], "bytes"))


@case("pingpong", "5.5.3", "unsolicited pong ignored")
def unsolicited(s):
    s.send(s.f(OP_PONG, b"unsolicited") + s.f(OP_TEXT, b"after pong"))
    s.expect([(OP_TEXT, b"after pong")])
    s.quiet()
    return echo_close(s, [])


def bad(build, codes=(1002,), prefix=b"", before=True):
    def run(s):
        if before:
            s.send(s.f(OP_TEXT, b"before"))
            s.expect([(OP_TEXT, b"before")])
        s.send(build(s) + s.f(OP_PING, b"after") + s.f(OP_TEXT, b"after"))
        return s.expect_fail(codes, prefix=prefix)
    return run


P = "protocol"
case(P, "5.1", "masked server text frame -> 1002")(bad(lambda s: s.f(OP_TEXT, b"masked", mask=True)))
case(P, "5.1", "masked server ping -> 1002")(bad(lambda s: s.f(OP_PING, b"masked", mask=True)))
case(P, "5.2", "RSV1 on a text frame -> 1002")(bad(lambda s: s.f(OP_TEXT, b"rsv", rsv=4)))
case(P, "5.2", "RSV2 on a binary frame -> 1002")(bad(lambda s: s.f(OP_BINARY, b"rsv", rsv=2)))
case(P, "5.2", "RSV3 on a ping -> 1002")(bad(lambda s: s.f(OP_PING, b"rsv", rsv=1)))
case(P, "5.2", "RSV1 on a close -> 1002")(bad(lambda s: s.f(OP_CLOSE, b"\x03\xe8", rsv=4)))
case(P, "5.2", "reserved opcode 3 -> 1002")(bad(lambda s: s.f(3, b"")))
case(P, "5.2", "reserved opcode 7 with payload -> 1002")(bad(lambda s: s.f(7, b"payload")))
case(P, "5.2", "reserved opcode 0xB -> 1002")(bad(lambda s: s.f(0xB, b"")))
case(P, "5.2", "reserved opcode 0xF with payload -> 1002")(bad(lambda s: s.f(0xF, b"payload")))
case(P, "5.5", "ping with 126 bytes -> 1002")(bad(lambda s: s.f(OP_PING, b"x" * 126)))
case(P, "5.5", "fragmented ping -> 1002")(bad(lambda s: s.f(OP_PING, b"fr", fin=False) + s.f(OP_CONT, b"ag")))
case(P, "5.4", "continuation with nothing to continue -> 1002")(bad(lambda s: s.f(OP_CONT, b"orphan")))
case(P, "5.4", "text inside a fragmented message -> 1002")(
    bad(lambda s: s.f(OP_TEXT, b"start", fin=False) + s.f(OP_TEXT, b"again"), prefix=b"start"))
case(P, "5.5.1", "close with a 1-byte body -> 1002")(bad(lambda s: s.f(OP_CLOSE, b"\x03")))

U = "utf8"
for _d, _q in (("surrogate ED A0 80", b"\xed\xa0\x80"), ("byte FF", b"\xff"), ("F5 lead", b"\xf5\x80\x80\x80"),
               ("overlong C0 80", b"\xc0\x80"), ("U+110000 F4 90 80 80", b"\xf4\x90\x80\x80"),
               ("truncated at the end (F0 90 80)", b"abc\xf0\x90\x80"), ("lone continuation 80", b"a\x80b")):
    case(U, "5.6, 8.1", "invalid text: %s -> 1007" % _d)(
        bad((lambda q: lambda s: s.f(OP_TEXT, q))(_q), (1007,), valid_prefix(_q)))
case(U, "5.6, 8.1", "invalid UTF-8 split across fragments (kosme | ED A0 80 | edited) -> 1007")(
    bad(lambda s: s.f(OP_TEXT, "κόσμε".encode(), fin=False) + s.f(OP_CONT, b"\xed\xa0\x80", fin=False) +
        s.f(OP_CONT, b"edited"), (1007,), "κόσμε".encode() + b"\xed"))


def fail_fast(first, rest, prefix, what):
    def run(s):
        s.send(first(s))
        early = s.expect_fail((1007,), timeout=FAIL_FAST_WAIT, prefix=prefix)
        if early.status == "PASS" or not early.reason.startswith("connection not failed"):
            return early
        s.send(rest(s))
        late = s.expect_fail((1007,), prefix=prefix)
        if late.status == "PASS":
            return NonStrict("no close within %.1fs of the invalid byte; failed only after %s arrived"
                             % (FAIL_FAST_WAIT, what))
        return late
    return run


_first = b"Hello-\xf4\x90\x80\x80-edited"
_rest = text_payload(65536 - len(_first))
case(U, "5.6, 8.1", "fail-fast: F4 90 early in a 64 KiB frame, rest withheld -> 1007 before the rest", timeout=8)(
    fail_fast(lambda s: wslib.frame_header(OP_TEXT, 65536) + _first, lambda s: _rest, b"Hello-\xf4",
              "the rest of the frame"))
case(U, "5.6, 8.1", "fail-fast: ED A0 in the first fragment, final fragment withheld -> 1007", timeout=8)(
    fail_fast(lambda s: s.f(OP_TEXT, b"Hello-\xed\xa0\x80", fin=False), lambda s: s.f(OP_CONT, b"final"),
              b"Hello-\xed", "the final fragment"))

C = "close"


def server_close(payload, accept, ns_empty=True, after_echo=False):
    def run(s):
        if after_echo:
            s.send(s.f(OP_TEXT, b"echo first"))
            s.expect([(OP_TEXT, b"echo first")])
        s.close_ok(payload=payload, accept=accept, ns_empty=ns_empty)
        return Pass()
    return run


case(C, "7.1.2", "server-initiated close 1000 -> client echoes close")(
    server_close(wslib.close_payload(1000), (1000,)))
case(C, "7.1.2", "server-initiated close after an echo")(
    server_close(wslib.close_payload(1000, b"done"), (1000,), after_echo=True))
case(C, "5.5.1", "empty close -> empty close or 1000")(server_close(b"", (1000, None), False))
for _code in (1001, 1003, 1011, 3000, 4999):
    case(C, "7.4", "close %d -> 1000 or %d echoed" % (_code, _code))(
        server_close(wslib.close_payload(_code, b"reason"), (1000, _code)))
case(C, "5.5.1", "close with a 123-byte reason -> echoed")(
    server_close(wslib.close_payload(1000, b"r" * 123), (1000,)))
for _code in (0, 999, 1005, 1006, 1015, 2000, 5000):
    case(C, "7.4", "invalid close code %d -> 1002" % _code)(
        bad((lambda c: lambda s: s.f(OP_CLOSE, struct.pack("!H", c)))(_code)))
case(C, "5.5.1, 8.1", "close reason with invalid UTF-8 -> 1007")(
    bad(lambda s: s.f(OP_CLOSE, wslib.close_payload(1000, b"\xed\xa0\x80")), (1007,)))

H = "handshake"
HS_DROP_STRICT = 2.0     # a client failing the handshake drops TCP within this (PASS)
HS_DROP_LIMIT = 8.0      # ... or at least within this (NON-STRICT), else FAIL


def hs_bad(mutate, why):
    """Answer the upgrade with a defective response; the client must not proceed."""
    def run(sock, req, key, ctx):
        hdr = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", wslib.accept_key(key))]
        status = "HTTP/1.1 101 Switching Protocols"
        status, hdr = mutate(status, hdr, req)
        resp = status + "\r\n" + "".join("%s: %s\r\n" % kv for kv in hdr) + "\r\n"
        # and a frame that an echoing client would echo if it went on
        sock.sendall(resp.encode("latin-1") + wslib.encode_frame(OP_TEXT, b"must not be echoed", mask=False))
        p = wslib.Peer(sock, "server")
        ctx.peers.append(p)
        t0 = time.monotonic()
        deadline = t0 + HS_DROP_STRICT
        got = b""
        while True:
            try:
                p._fill(deadline)
                got = bytes(p.buf)
                if got:
                    return Fail("client went on after a response with %s: sent %s" % (why, show(got)))
            except (wslib.Eof, wslib.Reset):
                dt = time.monotonic() - t0
                if dt <= HS_DROP_STRICT:
                    return Pass("connection dropped after %.0f ms, nothing sent" % (dt * 1000))
                return NonStrict("nothing sent, but the connection was held %.1fs before being dropped "
                                 "(strict: drop at once, RFC 7.1.7)" % dt)
            except wslib.Timeout:
                if deadline < t0 + HS_DROP_LIMIT:
                    deadline = t0 + HS_DROP_LIMIT
                    continue
                return Fail("client neither dropped the connection nor sent anything within %.0fs "
                            "after a response with %s" % (HS_DROP_LIMIT, why))
    return run


def _set(name, value):
    def m(status, hdr, req):
        hdr = [(k, v) for k, v in hdr if k.lower() != name.lower()]
        if value is not None:
            hdr.append((name, value))
        return status, hdr
    return m


def _proto(status, hdr, req):
    offered = req.tokens("Sec-WebSocket-Protocol")
    name = "not-offered-proto"
    while name in offered:
        name += "x"
    return status, hdr + [("Sec-WebSocket-Protocol", name)]


case(H, "4.1", "wrong Sec-WebSocket-Accept -> client fails", kind="hs")(
    hs_bad(_set("Sec-WebSocket-Accept", base64.b64encode(b"x" * 20).decode()), "a wrong Sec-WebSocket-Accept"))
case(H, "4.1", "missing Sec-WebSocket-Accept -> client fails", kind="hs")(
    hs_bad(_set("Sec-WebSocket-Accept", None), "no Sec-WebSocket-Accept"))
case(H, "4.1", "missing Upgrade header -> client fails", kind="hs")(hs_bad(_set("Upgrade", None), "no Upgrade header"))
case(H, "4.1", "Upgrade: h2c -> client fails", kind="hs")(hs_bad(_set("Upgrade", "h2c"), "Upgrade: h2c"))
case(H, "4.1", "missing Connection header -> client fails", kind="hs")(
    hs_bad(_set("Connection", None), "no Connection header"))
case(H, "4.1", "subprotocol not offered -> client fails", kind="hs")(hs_bad(_proto, "a subprotocol the client did not offer"))
case(H, "4.1", "extension not offered (x-foo) -> client fails", kind="hs")(
    hs_bad(_set("Sec-WebSocket-Extensions", "x-foo"), "an extension the client did not offer"))
case(H, "4.1", "status 200 instead of 101 -> client fails", kind="hs")(
    hs_bad(lambda st, h, r: ("HTTP/1.1 200 OK", h + [("Content-Length", "0")]), "status 200 (Content-Length: 0)"))


# ------------------------------------------------------------------ compression (RFC 7692)
# tests/conformance/pmd.py; run with --deflate
import pmd  # noqa: E402
pmd.add_client_cases(case, hs_bad, Fail, NonStrict, Pass, S, wslib)


# ------------------------------------------------------------------ the server


class RunWide:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.keys = set()
        self.problems = {"host": [], "upgrade": [], "connection": [], "key": [], "version": [], "request": []}
        self.requests = 0
        self.mask_keys = []
        self.unmasked = 0
        self.frames = 0

    def check_request(self, req):
        self.requests += 1
        line = req.start
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
            self.problems["request"].append("request line %r" % line)
        hv = req.get_all("Host")
        if len(hv) != 1 or not hv[0].endswith(":%d" % self.port):
            self.problems["host"].append("Host %r (port %d expected)" % (hv, self.port))
        if req.tokens("Upgrade") != ["websocket"]:
            self.problems["upgrade"].append("Upgrade %r" % req.get("Upgrade"))
        if "upgrade" not in req.tokens("Connection"):
            self.problems["connection"].append("Connection %r" % req.get("Connection"))
        kv = req.get_all("Sec-WebSocket-Key")
        key = kv[0] if len(kv) == 1 else None
        try:
            raw = base64.b64decode(key, validate=True) if key else b""
        except Exception:
            raw = b""
        if len(raw) != 16:
            self.problems["key"].append("Sec-WebSocket-Key %r is not base64 of 16 bytes" % kv)
        elif key in self.keys:
            self.problems["key"].append("Sec-WebSocket-Key %r reused" % key)
        if key:
            self.keys.add(key)
        if req.get_all("Sec-WebSocket-Version") != ["13"]:
            self.problems["version"].append("Sec-WebSocket-Version %r" % req.get_all("Sec-WebSocket-Version"))
        return key

    def add_peer(self, p):
        self.mask_keys += p.mask_keys
        self.frames += len(p.mask_keys)

    def results(self):
        out = []

        def r(rfc, desc, probs, extra=""):
            if probs:
                more = " (+%d more)" % (len(probs) - 3) if len(probs) > 3 else ""
                out.append(("FAIL", rfc, desc, "; ".join(probs[:3]) + more, ""))
            else:
                out.append(("PASS", rfc, desc, "", extra))
        n = self.requests
        r("4.1", "every request: GET ... HTTP/1.1", self.problems["request"], "%d requests" % n)
        r("4.1", "every request: Host with the port", self.problems["host"], "%d requests" % n)
        r("4.1", "every request: Upgrade: websocket", self.problems["upgrade"], "%d requests" % n)
        r("4.1", "every request: Connection with the upgrade token", self.problems["connection"])
        r("4.1", "every request: a fresh base64 16-byte Sec-WebSocket-Key", self.problems["key"],
          "%d distinct keys" % len(self.keys))
        r("4.1", "every request: Sec-WebSocket-Version: 13", self.problems["version"])
        keys = self.mask_keys
        zero = sum(1 for k in keys if k == b"\0\0\0\0")
        r("5.3", "mask keys are not zero", ["%d of %d mask keys are 00000000" % (zero, len(keys))] if zero else [],
          "%d frames" % len(keys))
        rep = [i for i in range(1, len(keys)) if keys[i] == keys[i - 1]]
        distinct = len(set(keys))
        probs = []
        if len(keys) >= 2 and distinct == 1:
            probs.append("all %d frames use the same mask key %s" % (len(keys), keys[0].hex()))
        else:
            if rep:
                probs.append("%d frames reuse the mask key of the frame before" % len(rep))
            if len(keys) >= 20 and distinct < 0.9 * len(keys):
                probs.append("only %d distinct mask keys in %d frames" % (distinct, len(keys)))
        r("5.3", "mask keys not constant, not repeating (unpredictable)", probs,
          "%d distinct keys in %d frames" % (distinct, len(keys)))
        if len(keys) < 10:
            out[-1] = ("FAIL", "5.3", out[-1][2], "too few frames (%d) to judge the mask keys" % len(keys), "")
        return out


def respond_101(sock, key):
    sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: %s\r\n\r\n" % wslib.accept_key(key)).encode())


def run_case(cs, sock, req, rest, key, rng, rw, verbose):
    ctx = Ctx(rng)
    t0 = time.monotonic()
    try:
        if cs["kind"] == "hs":
            r = cs["fn"](sock, req, key, ctx)
        elif cs["kind"] == "pmd":           # answers the upgrade itself (pmd.py)
            r = cs["fn"](sock, req, rest, key, ctx)
        else:
            respond_101(sock, key)
            s = S(ctx, wslib.Peer(sock, "server", rest))
            s.peer_closes_tcp = False
            r = cs["fn"](s) or Pass()
    except Outcome as e:
        r = e
    except Exception as e:
        import traceback
        if verbose:
            traceback.print_exc()
        r = Fail("tester error: %s: %s" % (type(e).__name__, e))
    if r.reason:   # the session helpers are shared with server mode: here the peer is the client
        r = Outcome(r.status, r.reason.replace("server ", "client ").replace("by client", "by the client"), r.note)
    viol = []
    for p in ctx.peers:
        viol += p.violations
        rw.add_peer(p)
        p.close()
    try:
        sock.close()
    except OSError:
        pass
    if viol:
        vs = "; ".join(dict.fromkeys(viol))
        r = Fail("client frame violation: " + vs) if r.status != "FAIL" else Outcome("FAIL", r.reason + "; also: " + vs)
    return r, time.monotonic() - t0


def simple_session(sock, rest, key, rw, count=None):
    """/getCaseCount and /updateReports: 101, optional text, close 1000."""
    respond_101(sock, key)
    ctx = Ctx(random.Random(0))
    s = S(ctx, wslib.Peer(sock, "server", rest))
    s.peer_closes_tcp = False
    try:
        if count is not None:
            s.send(s.f(OP_TEXT, str(count).encode()))
        s.close_ok(timeout=5.0)
    except Outcome:
        pass
    for p in ctx.peers:
        rw.add_peer(p)
    s.p.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=180.0, help="bound on the whole run, seconds")
    ap.add_argument("--cases", default="", help="comma-separated case numbers, patterns or groups to run "
                    "(the compression cases also by their ids: '13.3.*')")
    ap.add_argument("--json", default="")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--tls-cert", default="", help="speak TLS (wss) with this certificate chain file")
    ap.add_argument("--tls-key", default="", help="and this private key file")
    ap.add_argument("--deflate", action="store_true", help="with the compression cases (RFC 7692)")
    a = ap.parse_args()
    if not a.deflate:
        CASES[:] = [cs for cs in CASES if cs["group"] != "compression"]
    if a.tls_cert:
        wslib.tls_server(a.tls_cert, a.tls_key or a.tls_cert)
    for i, cs in enumerate(CASES, 1):
        cs["id"] = str(i)
    sel = CASES
    if a.cases:
        pats = [p.strip() for p in a.cases.split(",") if p.strip()]
        def picked(cs, p):      # a group, a case number, or a compression case's id
            return p == cs["group"] or fnmatch.fnmatchcase(cs["id"], p) or (
                cs["group"] == "compression" and fnmatch.fnmatchcase(cs["desc"].split()[0], p))
        sel = [cs for cs in CASES if any(picked(cs, p) for p in pats)]
    if a.list:
        for cs in sel:
            print("%-4s %-10s [%s] %s" % (cs["id"], cs["group"], cs["rfc"], cs["desc"]))
        print("%d cases" % len(sel))
        return 0
    if a.port is None:
        ap.error("--port is required")
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(16)
    port = ls.getsockname()[1]
    rw = RunWide(a.host, port)
    print("# ws.h conformance suite, client mode: %d cases, random seed %d" % (len(sel), seed))
    print("listening on %s://%s:%d" % ("wss" if a.tls_cert else "ws", a.host, port))
    sys.stdout.flush()
    run_end = time.monotonic() + a.timeout
    results = {}
    finished = False
    count_served = False
    while not finished:
        left = run_end - time.monotonic()
        if left <= 0:
            print("# run timeout (%.0fs) reached" % a.timeout)
            break
        ls.settimeout(min(left, 1.0))
        try:
            sock, _ = ls.accept()
        except socket.timeout:
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock = wslib.accept_tls(sock, 5.0)
        except OSError as e:
            print("# TLS handshake with the client failed: %s" % e)
            sock.close()
            continue
        req, rest, why = wslib.read_http_head(sock, 5.0, 64 * 1024)
        if req is None:
            sock.close()
            continue
        key = rw.check_request(req)
        if not key:
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            sock.close()
            continue
        url = urllib.parse.urlsplit(req.start.split(" ")[1] if len(req.start.split(" ")) > 1 else "/")
        q = urllib.parse.parse_qs(url.query)
        if url.path.endswith("/getCaseCount"):
            simple_session(sock, rest, key, rw, count=len(CASES))
            count_served = True
        elif url.path.endswith("/updateReports"):
            simple_session(sock, rest, key, rw)
            finished = True
        elif url.path.endswith("/runCase"):
            try:
                n = int(q.get("case", ["0"])[0])
            except ValueError:
                n = 0
            if not (1 <= n <= len(CASES)):
                sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                sock.close()
                continue
            cs = CASES[n - 1]
            if cs not in sel:
                simple_session(sock, rest, key, rw)
                continue
            rng = random.Random("%d/%d" % (seed, n))
            r, dt = run_case(cs, sock, req, rest, key, rng, rw, a.verbose)
            results[n] = (r, dt)
            print(wslib.result_line(r.status, "%s [%s] %s: %s" % (cs["id"], cs["rfc"], cs["group"],
                                                            cs["desc"]), r.reason, r.note, dt))
            sys.stdout.flush()
        else:
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            sock.close()
    ls.close()
    rows = []
    for cs in sel:
        n = int(cs["id"])
        if n in results:
            r, dt = results[n]
            rows.append({"id": cs["id"], "group": cs["group"], "rfc": cs["rfc"], "description": cs["desc"],
                         "status": r.status, "reason": r.reason, "note": r.note, "seconds": round(dt, 3)})
        else:
            why = "case never run by the client" if count_served else "client never asked /getCaseCount"
            print("FAIL %s [%s] %s: %s -- %s" % (cs["id"], cs["rfc"], cs["group"], cs["desc"], why))
            rows.append({"id": cs["id"], "group": cs["group"], "rfc": cs["rfc"], "description": cs["desc"],
                         "status": "FAIL", "reason": why, "note": "", "seconds": 0})
    rfail = "" if finished else "client never asked /updateReports"
    for i, (st, rfc, desc, reason, extra) in enumerate(rw.results(), 1):
        if rfail and i == 1:
            pass
        line = "%s R.%d [%s] run-wide: %s" % (st, i, rfc, desc)
        if reason:
            line += " -- " + reason
        if extra:
            line += " (%s)" % extra
        print(line)
        rows.append({"id": "R.%d" % i, "group": "run-wide", "rfc": rfc, "description": desc, "status": st,
                     "reason": reason, "note": extra, "seconds": 0})
    st = "PASS" if finished else "FAIL"
    print("%s R.9 [-] run-wide: the client finished with /updateReports%s" % (st, "" if finished else " -- " + rfail))
    rows.append({"id": "R.9", "group": "run-wide", "rfc": "-", "description": "the client finished with /updateReports",
                 "status": st, "reason": rfail, "note": "", "seconds": 0})
    if a.deflate:       # RFC 7692 lets a sender compress nothing; a client that offers it should
        z, n = pmd.ECHOES["compressed"], pmd.ECHOES["all"]
        st = "PASS" if z else "NON-STRICT"
        why = "" if z else "offered permessage-deflate but compressed none of its %d echoes" % n
        desc = "the client compressed some of its echoes"
        print("%s R.10 [7692 7.2.1] run-wide: %s%s (%d of %d)" % (st, desc, " -- " + why if why else "", z, n))
        rows.append({"id": "R.10", "group": "run-wide", "rfc": "7692 7.2.1", "description": desc, "status": st,
                     "reason": why, "note": "%d of %d" % (z, n), "seconds": 0})
    print()
    print("# summary per group")
    for g in GROUPS:
        rs = [x for x in rows if x["group"] == g]
        if rs:
            print("%-10s %3d cases: %3d passed, %3d failed, %3d non-strict" % (
                g, len(rs), sum(x["status"] == "PASS" for x in rs), sum(x["status"] == "FAIL" for x in rs),
                sum(x["status"] == "NON-STRICT" for x in rs)))
    drops = sum(1 for x in rows if x["note"] == DROP_NOTE)
    if drops:
        print("# %d case(s) passed on a TCP drop without a close frame (Autobahn accepts that for failure cases)" % drops)
    npass = sum(1 for x in rows if x["status"] == "PASS")
    nns = sum(1 for x in rows if x["status"] == "NON-STRICT")
    nfail = len(rows) - npass
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"mode": "client", "port": port, "seed": seed, "results": rows, "passed": npass,
                       "failed": nfail, "non_strict": nns}, fh, indent=1)
    print("%d non-strict (counted as failed)" % nns)
    print("%d passed, %d failed" % (npass, nfail))
    return 0 if nfail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
