"""permessage-deflate (RFC 7692) for the conformance suites: the compression cases, modelled
on Autobahn's 12.* (compressed echo of many payloads and sizes) and 13.* (every parameter
set), in server mode (server_suite.py) and client mode (client_suite.py). Python's zlib is
the reference compressor here (test-only).

What is checked, beyond the echo itself:
  - the answer (server mode) is one permessage-deflate element allowed by the offer (RFC 7692
    5, 7.1): no unknown or repeated parameter, no value out of 8..15, server_max_window_bits
    no larger than offered and present when offered, client_max_window_bits only when
    offered and no larger, server_no_context_takeover when asked for;
  - RSV1 only on the first frame of a data message, never on control or continuation
    frames, and only once the extension was agreed (the frame checks of wslib, told so);
  - every compressed message inflates with the agreed window of its sender, from a fresh
    state when that sender agreed to no_context_takeover, and ends as 7.2.1 says (the
    00 00 FF FF tail removed);
  - text inflates to valid UTF-8.
"""

import os
import re
import struct
import time
import zlib

from wslib import OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, Eof, Reset, Timeout, opname

PARAMS = ("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
          "client_max_window_bits")


def parse_element(text):
    """One extension element -> (name, {param: value or True}) or raise ValueError."""
    parts = [p.strip() for p in text.split(";")]
    name = parts[0].lower()
    params = {}
    for p in parts[1:]:
        if not p:
            raise ValueError("empty parameter")
        if "=" in p:
            k, v = [x.strip() for x in p.split("=", 1)]
            if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                v = v[1:-1]
            if not re.fullmatch(r"[1-9][0-9]?", v):
                raise ValueError("bad value %r" % v)
            v = int(v)
        else:
            k, v = p, True
        k = k.lower()
        if k in params:
            raise ValueError("repeated parameter %s" % k)
        params[k] = v
    return name, params


def check_answer(offer, answer):
    """The server's Sec-WebSocket-Extensions against the offered element: the agreed params,
    None when declined; raise ValueError for an answer the offer does not allow."""
    if answer is None:
        return None
    elems = [e for e in answer.split(",") if e.strip()]
    if len(elems) != 1:
        raise ValueError("%d extensions in the answer %r" % (len(elems), answer))
    name, a = parse_element(elems[0])
    if name != "permessage-deflate":
        raise ValueError("answer %r is not permessage-deflate" % answer)
    offers = [parse_element(e)[1] for e in offer.split(",")]
    for k, v in a.items():
        if k not in PARAMS:
            raise ValueError("unknown parameter %s in the answer" % k)
        if k.endswith("window_bits") and (v is True or not 8 <= v <= 15):
            raise ValueError("%s=%r out of range" % (k, v))
        if k.endswith("takeover") and v is not True:
            raise ValueError("%s with a value" % k)
    # the answer must fit one of the offers (the one taken)
    why = []
    for o in offers:
        w = fits(o, a)
        if not w:
            return agreed(o, a)
        why.append(w)
    raise ValueError("answer %r fits no offer: %s" % (answer, "; ".join(why)))


def fits(o, a):
    if "server_max_window_bits" in o:
        if "server_max_window_bits" not in a:
            return "server_max_window_bits offered, not answered (RFC 7692 7.1.2.1)"
        if a["server_max_window_bits"] > o["server_max_window_bits"]:
            return "server_max_window_bits larger than offered"
    if "client_max_window_bits" in a and "client_max_window_bits" not in o:
        return "client_max_window_bits answered, not offered (RFC 7692 7.1.2.2)"
    if "client_max_window_bits" in a and o["client_max_window_bits"] is not True and \
            a["client_max_window_bits"] > o["client_max_window_bits"]:
        return "client_max_window_bits larger than offered"
    if o.get("server_no_context_takeover") and not a.get("server_no_context_takeover"):
        return "server_no_context_takeover offered, not answered (RFC 7692 7.1.1.1)"
    return ""


def agreed(o, a):
    cw = a.get("client_max_window_bits", 15)
    if o.get("client_max_window_bits") not in (None, True):
        cw = min(cw, o["client_max_window_bits"])
    return {"server_bits": a.get("server_max_window_bits", 15), "client_bits": cw,
            "server_nct": bool(a.get("server_no_context_takeover")),
            "client_nct": bool(a.get("client_no_context_takeover") or o.get("client_no_context_takeover"))}


class Codec:
    """One side's compression: what we send (ours) and what the peer sends (theirs)."""

    def __init__(self, our_bits, our_nct, their_bits, their_nct):
        # zlib's raw deflate refuses an 8-bit window (since 1.2.9; before, it took 9 in its
        # place): for 8, 9 as Node's zlib and Chromium do, whose distances stay within
        # 2^9 - 262 = 250 bytes (zlib's MAX_DIST), inside the agreed 256
        self.our_bits = max(9, our_bits)
        self.our_nct, self.their_bits, self.their_nct = our_nct, their_bits, their_nct
        self.c = None
        self.d = None

    def compress(self, data, level=6):
        if self.c is None or self.our_nct:
            self.c = zlib.compressobj(level, zlib.DEFLATED, -self.our_bits, 8)
        out = self.c.compress(data) + self.c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]

    def inflate(self, payload, limit=64 << 20):
        if self.d is None or self.their_nct:
            self.d = zlib.decompressobj(-self.their_bits)
        out = self.d.decompress(payload + b"\x00\x00\xff\xff", limit)
        if self.d.unconsumed_tail:
            raise ValueError("inflates to more than %d bytes" % limit)
        return out


def read_message(peer, codec, deadline, pongs=None):
    """The next data message from peer -> (op, data, compressed, frames); answers pings,
    raises ValueError for a frame RFC 7692 forbids or data that does not inflate."""
    op, parts, rsv1, frames = None, [], False, 0
    while True:
        fr = peer.read_frame(max(0.0, deadline - time.monotonic()))
        if fr.opcode in (OP_PING, OP_PONG, OP_CLOSE):
            if fr.rsv:
                raise ValueError("%s frame with RSV bits %d (RFC 7692 6.1)" % (opname(fr.opcode), fr.rsv))
            if fr.opcode == OP_PING:
                peer.sock.sendall(peer.frame(OP_PONG, fr.payload))
                continue
            if fr.opcode == OP_PONG and pongs is not None:
                pongs.append(fr.payload)
                continue
            raise ValueError("%s while a message was awaited" % opname(fr.opcode))
        frames += 1
        if fr.opcode != OP_CONT:
            op, parts, rsv1 = fr.opcode, [], bool(fr.rsv & 4)
            if rsv1 and codec is None:
                raise ValueError("RSV1 set though permessage-deflate was not agreed")
        elif fr.rsv:
            raise ValueError("continuation frame with RSV bits %d (RFC 7692 6.1)" % fr.rsv)
        if fr.rsv & 3:
            raise ValueError("RSV2/RSV3 set (%d)" % fr.rsv)
        parts.append(fr.payload)
        if fr.fin:
            break
    data = b"".join(parts)
    if rsv1:
        try:
            data = codec.inflate(data)
        except zlib.error as e:
            raise ValueError("compressed %s message does not inflate with a 2^%d window%s: %s"
                             % (opname(op), codec.their_bits,
                                " from a fresh state" if codec.their_nct else "", e))
    if op == OP_TEXT:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("text message inflates to invalid UTF-8")
    return op, data, rsv1, frames


def far_distance():
    """A fixed-code block: the literal 'a', then a match at distance 5 (one byte written so
    far: before the start of the window), then end of block."""
    bits = []

    def put(v, n):                      # LSB first
        bits.extend((v >> i) & 1 for i in range(n))

    def code(v, n):                     # a Huffman code, MSB first
        bits.extend((v >> (n - 1 - i)) & 1 for i in range(n))
    put(0, 1)
    put(1, 2)
    code(0x30 + ord("a"), 8)
    code(1, 7)                          # length 3 (symbol 257)
    code(4, 5)                          # distance 5-6 (code 4, one extra bit)
    put(0, 1)
    code(0, 7)                          # end of block
    bits.extend([0] * (-len(bits) % 8))
    return bytes(sum(bits[i + j] << j for j in range(8)) for i in range(0, len(bits), 8))


# ---- payloads ------------------------------------------------------------------------------

def chat_json(n, seed=0):
    out, i = [], seed
    while sum(len(x) for x in out) < n:
        out.append(('{"type":"message","room":"lobby","user":"user%d","text":"message number %d, '
                    'hello everyone","ts":%d}' % (i % 7, i, 1733100000 + i)).encode())
        i += 1
    return b"".join(out)[:n]


CJK = "websocket是基于TCP的一种新的网络协议。它实现了浏览器与服务器全双工通信，".encode()


def payload(kind, n, rng):
    if kind == "json":
        return chat_json(n, rng.randint(0, 999))
    if kind == "cjk":
        d = (CJK * (n // len(CJK) + 1))[:n]
        while d:                                   # whole characters only
            try:
                d.decode("utf-8")
                return d
            except UnicodeDecodeError:
                d = d[:-1]
        return d
    if kind == "random":
        return bytes(rng.getrandbits(8) for _ in range(n)) if n < 4096 else os.urandom(n)
    if kind == "zeros":
        return b"\x00" * n
    raise ValueError(kind)


KINDS = [("json", OP_TEXT, "chat JSON text"), ("cjk", OP_TEXT, "Chinese text"),
         ("random", OP_BINARY, "random binary"), ("zeros", OP_BINARY, "binary zeros")]
SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072]

# 13.*: the parameter sets (offer; what it asks for)
OFFERS = [
    ("permessage-deflate", "the bare offer (Firefox's)"),
    ("permessage-deflate; client_max_window_bits", "client_max_window_bits without a value (Chrome's)"),
    ("permessage-deflate; client_no_context_takeover", "client_no_context_takeover"),
    ("permessage-deflate; client_max_window_bits=9", "client_max_window_bits=9"),
    ("permessage-deflate; client_max_window_bits=15", "client_max_window_bits=15"),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
     "client_no_context_takeover, client_max_window_bits=9"),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits=15",
     "client_no_context_takeover, client_max_window_bits=15"),
    ("permessage-deflate; server_no_context_takeover", "server_no_context_takeover"),
    ("permessage-deflate; server_max_window_bits=9", "server_max_window_bits=9"),
    ("permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits",
     "server_no_context_takeover, server_max_window_bits=10, client_max_window_bits"),
    ("permessage-deflate; server_max_window_bits=12; client_max_window_bits=11, permessage-deflate",
     "two offers, the first with windows 12 and 11"),
    ("x-unknown-ext, permessage-deflate; client_max_window_bits", "an unknown extension first"),
]
PARAM_SIZES = [16, 1024, 65536]


# ---- both modes ----------------------------------------------------------------------------

def exchange(Fail, s, codec, msgs, mode="whole", fragments=1, timeout=10.0):
    """Sends msgs [(op, data)] compressed (RSV1; in `fragments` frames each) and checks
    the echoes (either mode: s.f masks as the role wants). Returns how many echoes came
    back compressed."""
    out = []
    for op, data in msgs:
        comp = codec.compress(data)
        if fragments == 1:
            out.append(s.f(op, comp, rsv=4))
        else:
            k = max(1, len(comp) // fragments)
            cuts = [comp[i * k:(i + 1) * k] for i in range(fragments - 1)] + [comp[(fragments - 1) * k:]]
            for i, part in enumerate(cuts):
                out.append(s.f(op if i == 0 else OP_CONT, part, fin=i == fragments - 1, rsv=4 if i == 0 else 0))
    data = b"".join(out)
    if len(data) > 65536:
        s.p.send_async(data, chunk=1 << 18, timeout=timeout)
    else:
        s.send_frames([data], mode)
    zcount = 0
    deadline = time.monotonic() + timeout
    for i, (op, want) in enumerate(msgs):
        try:
            gop, got, z, _ = read_message(s.p, codec, deadline)
        except Timeout:
            raise Fail("timed out waiting for echo %d of %d" % (i + 1, len(msgs)))
        except (Eof, Reset):
            raise Fail("TCP closed while we waited for echo %d of %d" % (i + 1, len(msgs)))
        except ValueError as e:
            raise Fail("echo %d: %s" % (i + 1, e))
        if gop != op or got != want:
            raise Fail("echo %d of %d: %s of %d bytes, expected %s of %d" % (
                i + 1, len(msgs), opname(gop), len(got), opname(op), len(want)))
        zcount += z
    s.p.join_senders(5)
    return zcount


# ---- server mode ---------------------------------------------------------------------------

def add_server_cases(case, Fail, NonStrict, Pass, S, check_101, wslib):
    """Registers the compression cases (group 'compression') in server_suite.py."""

    def open_pmd(c, offer):
        req, key = c.request_bytes(headers={"Sec-WebSocket-Extensions": offer} if offer else None)
        sock, head, rest, why = c.raw_exchange(req)
        if head is None:
            raise Fail("no HTTP response to a valid upgrade request (%s)" % why)
        probs = [p for p in check_101(head, key) if not (offer and p.startswith("extension "))]
        if probs:
            raise Fail("bad upgrade response: %s" % "; ".join(probs))
        answer = ", ".join(head.get_all("Sec-WebSocket-Extensions")) or None
        try:
            ag = check_answer(offer, answer) if offer else None
        except ValueError as e:
            raise Fail("answer to %r: %s" % (offer, e))
        peer = wslib.Peer(sock, "client", rest)
        peer.rsv1_ok = ag is not None
        s = S(c, peer)
        codec = Codec(ag["client_bits"], ag["client_nct"], ag["server_bits"], ag["server_nct"]) if ag else None
        return s, codec, answer

    def echo(offer, kind, op, n, count=10, mode="whole", fragments=1):
        def run(c):
            s, codec, answer = open_pmd(c, offer)
            if codec is None:
                raise NonStrict("permessage-deflate declined (offer %r)" % offer)
            msgs = [(op, payload(kind, n, c.rng)) for _ in range(count)]
            z = exchange(Fail, s, codec, msgs, mode, fragments)
            s.close_ok()
            return Pass("answer %r; %d of %d echoes compressed" % (answer, z, count))
        return run

    # 12.*: the payloads at every size, Chrome's offer; the client compresses with context
    for k, (kind, op, what) in enumerate(KINDS, 1):
        for j, n in enumerate(SIZES, 1):
            case("12.%d.%d" % (k, j), "compression", "7692 7", "%s, 10 messages of %d bytes, compressed, "
                 "context taken over" % (what, n), echo(OFFERS[1][0], kind, op, n), timeout=20)
    k = len(KINDS) + 1
    for j, (kind, op, n, frags, mode) in enumerate([
            ("json", OP_TEXT, 1024, 3, "whole"), ("json", OP_TEXT, 65536, 8, "chunks"),
            ("random", OP_BINARY, 131072, 5, "whole"), ("cjk", OP_TEXT, 4096, 4, "chunks"),
            ("json", OP_TEXT, 256, 2, "bytes")], 1):
        case("12.%d.%d" % (k, j), "compression", "7692 6.1", "%d bytes of %s compressed, in %d fragments "
             "(RSV1 on the first), %s" % (n, kind, frags, {"whole": "one write", "chunks": "random chunks",
                                                          "bytes": "one byte per write"}[mode]),
             echo(OFFERS[1][0], kind, op, n, count=3, mode=mode, fragments=frags), timeout=20)

    # 13.*: every parameter set, three sizes
    for k, (offer, what) in enumerate(OFFERS, 1):
        for j, n in enumerate(PARAM_SIZES, 1):
            case("13.%d.%d" % (k, j), "compression", "7692 7.1", "offer %s: 10 x %d bytes of chat JSON"
                 % (what, n), echo(offer, "json", OP_TEXT, n), timeout=20)

    # 13.13.* and 13.14.*: each window size both sides may ask for, with and without context
    for k, side in ((13, "server"), (14, "client")):
        for j, (bits, nct) in enumerate([(b, x) for x in (False, True) for b in range(8, 16)], 1):
            offer = "permessage-deflate; %s%s_max_window_bits=%d" % (
                "%s_no_context_takeover; " % side if nct else "", side, bits)
            case("13.%d.%d" % (k, j), "compression", "7692 7.1.2", "offer %s_max_window_bits=%d%s: 10 x 4096 "
                 "bytes of chat JSON" % (side, bits, ", %s_no_context_takeover" % side if nct else ""),
                 echo(offer, "json", OP_TEXT, 4096), timeout=20)

    # 12.7.*: what must fail
    def bad(build, codes, offer=OFFERS[1][0]):
        def run(c):
            s, codec, answer = open_pmd(c, offer)
            if offer and codec is None:
                raise NonStrict("permessage-deflate declined (offer %r)" % offer)
            s.send(build(s, codec) + s.f(OP_PING, b"after"))
            return s.expect_fail(codes=codes)
        return run

    k = len(KINDS) + 2
    fails = [
        ("compressed data that is not DEFLATE -> 1007", lambda s, z: s.f(OP_BINARY, b"\xff\xff\xff\xff", rsv=4),
         (1007, 1002), OFFERS[1][0]),
        ("RSV1 on a continuation frame -> 1002", lambda s, z: s.f(OP_TEXT, z.compress(b"abc"), fin=False, rsv=4) +
         s.f(OP_CONT, z.compress(b"def"), rsv=4), (1002,), OFFERS[1][0]),
        ("RSV1 on a ping -> 1002", lambda s, z: s.f(OP_PING, b"x", rsv=4), (1002,), OFFERS[1][0]),
        ("compressed text inflating to invalid UTF-8 -> 1007",
         lambda s, z: s.f(OP_TEXT, z.compress(b"valid, then \xed\xa0\x80 not"), rsv=4), (1007,), OFFERS[1][0]),
        ("RSV1 when permessage-deflate was not offered -> 1002",
         lambda s, z: s.f(OP_TEXT, zlib.compressobj(6, zlib.DEFLATED, -15).compress(b"x"), rsv=4), (1002,), None),
        ("a distance before the start of the window -> 1007",
         lambda s, z: s.f(OP_BINARY, far_distance(), rsv=4), (1007, 1002), OFFERS[1][0]),
    ]
    for j, (what, build, codes, offer) in enumerate(fails, 1):
        case("12.%d.%d" % (k, j), "compression", "7692 6.2", what, bad(build, codes, offer))


# ---- client mode ---------------------------------------------------------------------------

def answer_text(a):
    """{param: value or True} -> the Sec-WebSocket-Extensions value of an answer."""
    out = "permessage-deflate"
    for k in PARAMS:
        if k in a:
            out += "; %s" % k if a[k] is True else "; %s=%d" % (k, a[k])
    return out


ECHOES = {"compressed": 0, "all": 0}     # client mode: the echoes of the compressed cases


def add_client_cases(case, hs_bad, Fail, NonStrict, Pass, S, wslib):
    """Registers the compression cases (group 'compression') in client_suite.py: the suite is
    the server, picks the parameters of each case within the client's offer, compresses with
    zlib and checks the echoes as server mode does."""

    def open_pmd(sock, req, rest, key, ctx, want):
        """want: the answer's parameters, or None to decline. Sends the 101 -> (s, codec, answer)."""
        offer = ", ".join(req.get_all("Sec-WebSocket-Extensions"))
        offers = []
        for e in offer.split(","):
            try:
                name, o = parse_element(e)
            except ValueError:
                continue
            if name == "permessage-deflate":
                offers.append(o)
        if not offers:
            raise NonStrict("the client offered no permessage-deflate (Sec-WebSocket-Extensions: %r)" % offer)
        answer, ag = None, None
        if want is not None:
            for o in offers:
                if fits(o, want) == "" and (o.get("client_max_window_bits") is not None or
                                            "client_max_window_bits" not in want):
                    answer, ag = answer_text(want), agreed(o, want)
                    break
            else:
                raise NonStrict("the client's offer %r does not allow the answer %r" % (offer, answer_text(want)))
        ext = "Sec-WebSocket-Extensions: %s\r\n" % answer if answer else ""
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n%s\r\n" % (wslib.accept_key(key), ext)).encode())
        peer = wslib.Peer(sock, "server", rest)
        peer.rsv1_ok = ag is not None
        s = S(ctx, peer)
        s.peer_closes_tcp = False
        codec = Codec(ag["server_bits"], ag["server_nct"], ag["client_bits"], ag["client_nct"]) if ag else None
        return s, codec, answer

    def echo(want, kind, op, n, count=10, mode="whole", fragments=1):
        def run(sock, req, rest, key, ctx):
            s, codec, answer = open_pmd(sock, req, rest, key, ctx, want)
            msgs = [(op, payload(kind, n, ctx.rng)) for _ in range(count)]
            z = exchange(Fail, s, codec, msgs, mode, fragments)
            s.close_ok()
            ECHOES["compressed"] += z
            ECHOES["all"] += count
            return Pass("answer %r; %d of %d echoes compressed" % (answer, z, count))
        return run

    def reg(cid, rfc, desc, fn, kind="pmd", timeout=20.0):
        case("compression", rfc, "%s %s" % (cid, desc), kind=kind, timeout=timeout)(fn)

    # 12.*: the payloads at every size; the server compresses with context taken over
    for k, (kind, op, what) in enumerate(KINDS, 1):
        for j, n in enumerate(SIZES, 1):
            reg("12.%d.%d" % (k, j), "7692 7", "%s, 10 messages of %d bytes, compressed, context taken over"
                % (what, n), echo({}, kind, op, n))
    k = len(KINDS) + 1
    for j, (kind, op, n, frags, mode) in enumerate([
            ("json", OP_TEXT, 1024, 3, "whole"), ("json", OP_TEXT, 65536, 8, "chunks"),
            ("random", OP_BINARY, 131072, 5, "whole"), ("cjk", OP_TEXT, 4096, 4, "chunks"),
            ("json", OP_TEXT, 256, 2, "bytes")], 1):
        reg("12.%d.%d" % (k, j), "7692 6.1", "%d bytes of %s compressed, in %d fragments (RSV1 on the first), %s"
            % (n, kind, frags, {"whole": "one write", "chunks": "random chunks", "bytes": "one byte per write"}[mode]),
            echo({}, kind, op, n, count=3, mode=mode, fragments=frags))

    # 13.*: the parameters the server may answer, each window size with and without context
    for k, side in ((1, "server"), (2, "client")):
        for j, (bits, nct) in enumerate([(b, x) for x in (False, True) for b in range(8, 16)], 1):
            want = {"%s_max_window_bits" % side: bits}
            if nct:
                want["%s_no_context_takeover" % side] = True
            reg("13.%d.%d" % (k, j), "7692 7.1", "answer %s: 10 x 4096 bytes of chat JSON" % answer_text(want),
                echo(want, "json", OP_TEXT, 4096))
    for j, want in enumerate([
            {"server_max_window_bits": 9, "server_no_context_takeover": True, "client_max_window_bits": 9,
             "client_no_context_takeover": True},
            {"server_no_context_takeover": True, "client_max_window_bits": 8},
            {"server_max_window_bits": 8, "client_no_context_takeover": True},
            {"server_max_window_bits": 12, "client_max_window_bits": 11}], 1):
        reg("13.3.%d" % j, "7692 7.1", "answer %s: 10 x 65536 bytes of chat JSON" % answer_text(want),
            echo(want, "json", OP_TEXT, 65536))

    @case("compression", "7692 5", "13.4.1 offer declined (no extension in the 101): echoes uncompressed, "
          "no RSV1", kind="pmd")
    def declined(sock, req, rest, key, ctx):
        s, codec, answer = open_pmd(sock, req, rest, key, ctx, None)
        msgs = [(OP_TEXT, chat_json(2000)), (OP_BINARY, b"\x00" * 3000)]
        s.send(b"".join(s.f(op, d) for op, d in msgs))
        s.expect(msgs)
        s.close_ok()
        return Pass()

    # 12.7.*: what must fail
    def bad(build, codes, decline=False, prefix=b""):
        def run(sock, req, rest, key, ctx):
            s, codec, answer = open_pmd(sock, req, rest, key, ctx, None if decline else {})
            s.send(build(s, codec) + s.f(OP_PING, b"after"))
            return s.expect_fail(codes=codes, prefix=prefix)
        return run

    k = len(KINDS) + 2
    fails = [
        ("compressed data that is not DEFLATE -> 1007", lambda s, z: s.f(OP_BINARY, b"\xff\xff\xff\xff", rsv=4),
         (1007, 1002), False),
        ("RSV1 on a continuation frame -> 1002 (the first fragment's abc may be echoed)",
         lambda s, z: s.f(OP_TEXT, z.compress(b"abc"), fin=False, rsv=4) + s.f(OP_CONT, z.compress(b"def"), rsv=4),
         (1002,), False),
        ("RSV1 on a ping -> 1002", lambda s, z: s.f(OP_PING, b"x", rsv=4), (1002,), False),
        ("compressed text inflating to invalid UTF-8 -> 1007",
         lambda s, z: s.f(OP_TEXT, z.compress(b"valid, then \xed\xa0\x80 not"), rsv=4), (1007,), False),
        ("RSV1 when the server declined permessage-deflate -> 1002",
         lambda s, z: s.f(OP_TEXT, Codec(15, True, 15, True).compress(b"x" * 100), rsv=4), (1002,), True),
        ("a distance before the start of the window -> 1007",
         lambda s, z: s.f(OP_BINARY, far_distance(), rsv=4), (1007, 1002), False),
    ]
    for j, (what, build, codes, decline) in enumerate(fails, 1):
        reg("12.%d.%d" % (k, j), "7692 6.2", what, bad(build, codes, decline, b"abc" if j == 2 else b""), timeout=6.0)

    # 13.5.*: answers the offer did not allow: the client fails the connection (RFC 7692 5, 7.1)
    def _ext(value):
        def m(status, hdr, req):
            return status, [(a, b) for a, b in hdr if a.lower() != "sec-websocket-extensions"] + \
                [("Sec-WebSocket-Extensions", value)]
        return m
    for j, (value, why) in enumerate([
            ("permessage-deflate; mystery=1", "an unknown parameter"),
            ("permessage-deflate; client_max_window_bits=16", "a window of 2^16"),
            ("permessage-deflate; server_max_window_bits=7", "a window of 2^7"),
            ("permessage-deflate; server_max_window_bits", "server_max_window_bits with no value"),
            ("permessage-deflate; client_max_window_bits=abc", "a window that is not a number"),
            ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", "a repeated parameter"),
            ("permessage-deflate; server_no_context_takeover=1", "server_no_context_takeover with a value"),
            ("permessage-deflate, permessage-deflate", "permessage-deflate twice")], 1):
        case("compression", "7692 7.1", "13.5.%d answer %r -> client fails" % (j, value), kind="hs", timeout=12.0)(
            hs_bad(_ext(value), why))
