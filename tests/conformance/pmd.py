"""permessage-deflate (RFC 7692) for the conformance suites: the compression cases, modelled
on Autobahn's 12.* (compressed echo of five kinds of payload at 18 sizes and fragmentations)
and 13.* (seven parameter sets at the same 18), in server mode (server_suite.py) and client
mode (client_suite.py), then the suite's own extra cases. Python's zlib is the reference
compressor here (test-only).

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
  - no back-reference of a compressed message reaches further than the sender's agreed
    window (2^bits bytes) or before what it may still refer to (scan_distances: zlib checks
    a distance only against what it has output in that call plus its window, so one call
    over a whole message lets a 2^15 window pass for an agreed 2^8);
  - text inflates to valid UTF-8.
"""

import math
import os
import random
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


# ---- the window check: every distance of a DEFLATE stream, walked without inflating ----------

TAIL = b"\x00\x00\xff\xff"
_LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
          163, 195, 227, 258]
_LEXT = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
_DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
          3073, 4097, 6145, 8193, 12289, 16385, 24577]
_DEXT = [0 if c < 4 else (c - 2) // 2 for c in range(30)]
_CLORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]


def _table(lengths):
    """Canonical Huffman code lengths -> (table, bits): table[the next `bits` bits, LSB first]
    is symbol << 4 | code length, or -1 where no code is."""
    top = max(lengths) if lengths else 0
    if top == 0:
        return None, 0
    count = [0] * (top + 1)
    for n in lengths:
        if n:
            count[n] += 1
    nxt, code = [0] * (top + 1), 0
    for n in range(1, top + 1):
        code = (code + count[n - 1]) << 1 if n > 1 else 0
        nxt[n] = code
    tab = [-1] * (1 << top)
    for sym, n in enumerate(lengths):
        if n:
            c, r = nxt[n], 0
            nxt[n] += 1
            for _ in range(n):
                r, c = (r << 1) | (c & 1), c >> 1
            tab[r::1 << n] = [(sym << 4) | n] * (1 << (top - n))
    return tab, top


_FIXED = _table([8] * 144 + [9] * 112 + [7] * 24 + [8] * 8) + _table([5] * 30)


class DeflateError(ValueError):
    pass


def scan_distances(data, window, history):
    """Walks the DEFLATE blocks of one message (data: with its 00 00 FF FF tail) and checks
    every back-reference: none may reach further than `window` bytes, nor before the
    `history` bytes the sender may refer to plus what this message has produced so far.
    Returns (bytes the message inflates to, the farthest distance); raises DeflateError."""
    buf = data + bytes(16)
    nbits = len(data) * 8
    fb = int.from_bytes
    pos = out = far = 0
    while pos < nbits:
        hdr = (fb(buf[pos >> 3:(pos >> 3) + 2], "little") >> (pos & 7)) & 7
        pos += 3
        btype = hdr >> 1
        if btype == 0:
            pos = (pos + 7) & ~7
            i = pos >> 3
            ln, nl = fb(buf[i:i + 2], "little"), fb(buf[i + 2:i + 4], "little")
            if ln ^ nl != 0xFFFF:
                raise DeflateError("stored block length %04x does not match its complement %04x" % (ln, nl))
            pos += 32 + 8 * ln
            out += ln
        elif btype == 3:
            raise DeflateError("block type 3")
        else:
            if btype == 1:
                lt, lb, dt, db = _FIXED
            else:
                v = fb(buf[pos >> 3:(pos >> 3) + 4], "little") >> (pos & 7)
                hlit, hdist, hclen = (v & 31) + 257, ((v >> 5) & 31) + 1, ((v >> 10) & 15) + 4
                pos += 14
                cl = [0] * 19
                for k in range(hclen):
                    cl[_CLORDER[k]] = (fb(buf[pos >> 3:(pos >> 3) + 2], "little") >> (pos & 7)) & 7
                    pos += 3
                ct, cb = _table(cl)
                if ct is None:
                    raise DeflateError("no code length codes")
                lens = []
                while len(lens) < hlit + hdist:
                    v = fb(buf[pos >> 3:(pos >> 3) + 4], "little") >> (pos & 7)
                    e = ct[v & ((1 << cb) - 1)]
                    if e < 0:
                        raise DeflateError("invalid code length code")
                    sym, n = e >> 4, e & 15
                    v >>= n
                    pos += n
                    if sym < 16:
                        lens.append(sym)
                    elif sym == 16:
                        if not lens:
                            raise DeflateError("repeat with no length before")
                        lens += [lens[-1]] * (3 + (v & 3))
                        pos += 2
                    elif sym == 17:
                        lens += [0] * (3 + (v & 7))
                        pos += 3
                    else:
                        lens += [0] * (11 + (v & 127))
                        pos += 7
                if len(lens) > hlit + hdist:
                    raise DeflateError("code lengths overrun")
                lt, lb = _table(lens[:hlit])
                dt, db = _table(lens[hlit:])
                if lt is None:
                    raise DeflateError("no literal/length codes")
            lmask, dmask = (1 << lb) - 1, (1 << db) - 1
            have = 0
            v = 0
            while True:
                if have < 48:
                    i = pos >> 3
                    v = fb(buf[i:i + 16], "little") >> (pos & 7)
                    have = 128 - (pos & 7)
                e = lt[v & lmask]
                if e < 0:
                    raise DeflateError("invalid literal/length code")
                n, sym = e & 15, e >> 4
                v >>= n
                have -= n
                pos += n
                if sym < 256:
                    out += 1
                    continue
                if sym == 256:
                    break
                s = sym - 257
                if s >= 29:
                    raise DeflateError("invalid length symbol %d" % sym)
                x = _LEXT[s]
                length = _LBASE[s] + (v & ((1 << x) - 1))
                v >>= x
                if dt is None:
                    raise DeflateError("a match in a block with no distance codes")
                e = dt[v & dmask]
                if e < 0 or (e >> 4) >= 30:
                    raise DeflateError("invalid distance code")
                n, ds = e & 15, e >> 4
                v >>= n
                y = _DEXT[ds]
                dist = _DBASE[ds] + (v & ((1 << y) - 1))
                v >>= y
                used = x + n + y
                have -= used
                pos += used
                if dist > window:
                    raise DeflateError("a back-reference %d bytes back, beyond the agreed window of %d bytes "
                                       "(after %d bytes of the message)" % (dist, window, out))
                if dist > history + out:
                    raise DeflateError("a back-reference %d bytes back, before the start of what it may refer "
                                       "to (%d bytes: %d kept + %d of this message)"
                                       % (dist, history + out, history, out))
                far = max(far, dist)
                out += length
        if hdr & 1:
            break
    if pos > nbits:
        raise DeflateError("truncated DEFLATE data")
    return out, far


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
        self.kept = 0           # bytes of the peer's earlier messages it may still refer to
        self.far = 0            # the farthest distance the peer used (scanned messages)

    def compress(self, data, level=6):
        if self.c is None or self.our_nct:
            self.c = zlib.compressobj(level, zlib.DEFLATED, -self.our_bits, 8)
        out = self.c.compress(data) + self.c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        return out[:-4]

    def inflate(self, payload, limit=64 << 20):
        if self.d is None or self.their_nct:
            self.d = zlib.decompressobj(-self.their_bits)
            self.kept = 0
        data = payload + TAIL
        out = self.d.decompress(data, limit)
        if self.d.unconsumed_tail:
            raise ValueError("inflates to more than %d bytes" % limit)
        # zlib checks a distance against its window plus what it wrote in this call: within
        # one call a window of 2^15 passes for 2^8. A window of 2^15 needs no scan (no
        # DEFLATE distance is longer), nor the first 2^bits bytes of a fresh stream.
        window = 1 << self.their_bits
        if self.their_bits < 15 and self.kept + len(out) > window:
            try:
                n, far = scan_distances(data, window, self.kept)
            except DeflateError as e:
                raise ValueError("%s (RFC 7692 7.1.2)" % e)
            if n != len(out):
                raise ValueError("tester error: the scan made %d bytes of %d" % (n, len(out)))
            self.far = max(self.far, far)
        self.kept = min(window, self.kept + len(out))
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
# Autobahn's 12.* and 13.* echo slices of five files (JSON, a bitmap, Faust as text, HTML, a
# PDF); these are stand-ins made here, deterministic (fixed seeds), each 192 KiB, so that
# successive messages are successive slices (wrapping round) as Autobahn takes them.

CORPUS_SIZE = 192 << 10
_CORPORA = {}

_FIRST = ["Anna", "Bernd", "Chen", "Dilara", "Emil", "Fatima", "Georg", "Hana", "Ivan", "Jana", "Kofi", "Lea"]
_LAST = ["Schmidt", "Nguyen", "Okafor", "Rossi", "Kowalski", "Tanaka", "Silva", "Berg", "Haddad", "Moreau"]
_WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
          "et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi").split()
_VERSE = ("ich habe nun ach philosophie juristerei und medizin und leider auch theologie durchaus studiert mit "
          "heißem bemühn da steh ich nun ich armer tor und bin so klug als wie zuvor heiße magister heiße "
          "doktor gar und ziehe schon an die zehen jahr herauf herab und quer und krumm meine schüler an der "
          "nase herum und sehe daß wir nichts wissen können das will mir schier das herz verbrennen").split()


def _json(rng):
    out, i = ["[\n"], 0
    while sum(len(x) for x in out) < CORPUS_SIZE:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        rec = ('  {\n    "id": %d,\n    "guid": "%032x",\n    "isActive": %s,\n    "balance": "$%d,%03d.%02d",\n'
               '    "age": %d,\n    "name": "%s %s",\n    "email": "%s.%s@example.org",\n'
               '    "phone": "+1 (%03d) %03d-%04d",\n    "about": "%s",\n    "latitude": %.6f,\n'
               '    "longitude": %.6f,\n    "tags": [%s],\n    "friends": [%s]\n  },\n' % (
                   i, rng.getrandbits(128), rng.choice(["true", "false"]), rng.randint(1, 9), rng.randint(0, 999),
                   rng.randint(0, 99), rng.randint(18, 90), first, last, first.lower(), last.lower(),
                   rng.randint(200, 999), rng.randint(0, 999), rng.randint(0, 9999),
                   " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 30))),
                   rng.uniform(-90, 90), rng.uniform(-180, 180),
                   ", ".join('"%s"' % rng.choice(_WORDS) for _ in range(rng.randint(2, 7))),
                   ", ".join('{"id": %d, "name": "%s %s"}' % (k, rng.choice(_FIRST), rng.choice(_LAST))
                             for k in range(rng.randint(1, 4)))))
        out.append(rec)
        i += 1
    return "".join(out).encode()[:CORPUS_SIZE]


def _bitmap(rng):
    w = 512
    h = (CORPUS_SIZE - 1078) // w + 1
    head = b"BM" + struct.pack("<IHHI", 1078 + w * h, 0, 0, 1078) + struct.pack(
        "<IiiHHIIiiII", 40, w, h, 1, 8, 0, w * h, 2835, 2835, 256, 0)
    palette = b"".join(bytes((g, g, g, 0)) for g in range(256))
    sx = [math.sin(x / 23.0) for x in range(w)]
    rows = []
    for y in range(h):
        cy = 60 * math.cos(y / 31.0)
        noise = rng.getrandbits(8 * w).to_bytes(w, "little")
        rows.append(bytes((int(128 + cy * sx[x] + x / 8.0) + (noise[x] & 7)) & 0xFF for x in range(w)))
    return (head + palette + b"".join(rows))[:CORPUS_SIZE]


def _faust(rng):
    out = []
    while sum(len(x) for x in out) < CORPUS_SIZE:
        who = rng.choice(["FAUST", "MEPHISTOPHELES", "WAGNER", "GRETCHEN", "MARTHE", "CHOR"])
        lines = []
        for _ in range(rng.randint(2, 9)):
            words = [rng.choice(_VERSE) for _ in range(rng.randint(4, 9))]
            words[0] = words[0].capitalize()
            lines.append(" ".join(words) + rng.choice([",", ".", "!", "?", ";", ""]))
        out.append("%s:\n%s\n\n" % (who, "\n".join(lines)))
    return "".join(out).encode()[:CORPUS_SIZE]


def _html(rng):
    out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Report</title>\n'
           '<style>body { font-family: sans-serif; } td { padding: 2px 8px; }</style>\n</head>\n<body>\n']
    i = 0
    while sum(len(x) for x in out) < CORPUS_SIZE:
        i += 1
        if rng.random() < 0.3:
            out.append('<table class="data">\n%s</table>\n' % "".join(
                '  <tr><td class="n">%d</td><td>%s %s</td><td><a href="/user/%d">profile</a></td></tr>\n'
                % (rng.randint(1, 99999), rng.choice(_FIRST), rng.choice(_LAST), rng.randint(1, 99999))
                for _ in range(rng.randint(3, 12))))
        else:
            out.append('<div class="section" id="s%d">\n  <h2>%s</h2>\n  <p>%s <a href="#s%d">%s</a>.</p>\n</div>\n'
                       % (i, " ".join(rng.choice(_WORDS) for _ in range(3)).title(),
                          " ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 80))),
                          rng.randint(1, i), rng.choice(_WORDS)))
    return "".join(out).encode()[:CORPUS_SIZE]


def _pdf(rng):
    out, n = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"], 0
    while sum(len(x) for x in out) < CORPUS_SIZE:
        n += 1
        if n % 3:
            text = " ".join("(%s) Tj 0 -14 Td" % " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12)))
                            for _ in range(rng.randint(10, 60))).encode()
            if n % 3 == 1:
                text = zlib.compress(text, 9)
                out.append(b"%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % (n, len(text)) + text +
                           b"\nendstream\nendobj\n")
            else:
                out.append(b"%d 0 obj\n<< /Length %d >>\nstream\nBT /F1 12 Tf 72 712 Td\n" % (n, len(text)) + text +
                           b"\nET\nendstream\nendobj\n")
        else:
            out.append(b"%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 4 0 R >> >> >>\nendobj\n" % (n, n - 1))
    xref = b"xref\n0 %d\n0000000000 65535 f \n" % (n + 1) + b"".join(
        b"%010d 00000 n \n" % rng.randint(15, CORPUS_SIZE) for _ in range(n))
    return (b"".join(out) + xref)[:CORPUS_SIZE]


CORPUS_MAKERS = {"json": (_json, 1201), "bitmap": (_bitmap, 1202), "faust": (_faust, 1203),
                 "html": (_html, 1204), "pdf": (_pdf, 1205)}


def corpus(kind):
    if kind not in _CORPORA:
        make, seed = CORPUS_MAKERS[kind]
        _CORPORA[kind] = make(random.Random(seed))
    return _CORPORA[kind]


def slices(kind, n, count, start=0):
    """count successive n-byte slices of a corpus from `start`, wrapping round (Autobahn's way)."""
    c = corpus(kind)
    out, p = [], start % len(c)
    for _ in range(count):
        q = p + n
        out.append(c[p:q] if q <= len(c) else c[p:] + c[:q - len(c)])
        p = q % len(c)
    return out


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


# Autobahn's 18 (message size, frame size of the compressed data, 0: one frame)
AB_SIZES = [(16, 0), (64, 0), (256, 0), (1024, 0), (4096, 0), (8192, 0), (16384, 0), (32768, 0), (65536, 0),
            (131072, 0), (8192, 256), (16384, 256), (32768, 256), (65536, 256), (131072, 256), (131072, 1024),
            (131072, 4096), (131072, 32768)]


def ab_count(n):
    """Messages per case: Autobahn sends 1000; here 25 up to 8 KiB, then 256 KiB a case."""
    return max(2, min(25, (256 << 10) // n))


# 12.1-12.5: the five payloads (Autobahn's order here), with Autobahn's default offer
AB_KINDS = [("json", OP_TEXT, "JSON text"), ("bitmap", OP_BINARY, "a bitmap, binary"),
            ("faust", OP_BINARY, "verse text sent as binary"), ("html", OP_TEXT, "HTML text"),
            ("pdf", OP_BINARY, "a PDF, binary (part deflated already)")]
AB_OFFER = "permessage-deflate; client_no_context_takeover; client_max_window_bits"
# 13.1-13.7, server mode: what the suite (the client) offers besides AB_OFFER's parameters
AB13_OFFERS = [
    (AB_OFFER, "nothing more"),
    (AB_OFFER + "; server_no_context_takeover", "server_no_context_takeover"),
    (AB_OFFER + "; server_max_window_bits=8", "server_max_window_bits=8"),
    (AB_OFFER + "; server_max_window_bits=15", "server_max_window_bits=15"),
    (AB_OFFER + "; server_no_context_takeover; server_max_window_bits=8",
     "server_no_context_takeover, server_max_window_bits=8"),
    (AB_OFFER + "; server_no_context_takeover; server_max_window_bits=15",
     "server_no_context_takeover, server_max_window_bits=15"),
    ("%s; server_no_context_takeover; server_max_window_bits=8, %s; server_no_context_takeover, %s"
     % (AB_OFFER, AB_OFFER, AB_OFFER), "three offers: (snct, smwb=8), (snct), ()"),
]
# 13.1-13.7, client mode: what the suite (the server) answers besides the offered server_*
# parameters; 13.7 takes the first of three that the offer allows
AB13_ANSWERS = [
    ([{}], "nothing more"),
    ([{"client_no_context_takeover": True}], "client_no_context_takeover"),
    ([{"client_max_window_bits": 8}], "client_max_window_bits=8"),
    ([{"client_max_window_bits": 15}], "client_max_window_bits=15"),
    ([{"client_no_context_takeover": True, "client_max_window_bits": 8}],
     "client_no_context_takeover, client_max_window_bits=8"),
    ([{"client_no_context_takeover": True, "client_max_window_bits": 15}],
     "client_no_context_takeover, client_max_window_bits=15"),
    ([{"client_no_context_takeover": True, "client_max_window_bits": 8}, {"client_no_context_takeover": True}, {}],
     "the first the offer allows of (cnct, cmwb=8), (cnct), ()"),
]

# the suite's own cases after Autobahn's numbering
KINDS = [("json", OP_TEXT, "chat JSON text"), ("cjk", OP_TEXT, "Chinese text"),
         ("random", OP_BINARY, "random binary"), ("zeros", OP_BINARY, "binary zeros")]
SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072]
FRAG_EXTRAS = [("json", OP_TEXT, 1024, 3, "whole"), ("json", OP_TEXT, 65536, 8, "chunks"),
               ("random", OP_BINARY, 131072, 5, "whole"), ("cjk", OP_TEXT, 4096, 4, "chunks"),
               ("json", OP_TEXT, 256, 2, "bytes")]
MODES = {"whole": "one write", "chunks": "random chunks", "bytes": "one byte per write"}

# 13.8-13.19 (server mode): the suite's earlier offer sets (offer; what it asks for)
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


def ab_desc(what, op, n, frag, count):
    return "%s, %d messages of %d bytes%s" % (
        what, count, n, ", the compressed data in frames of %d bytes" % frag if frag else "")


# ---- both modes ----------------------------------------------------------------------------

def exchange(Fail, s, codec, msgs, mode="whole", fragments=1, timeout=10.0, frag_size=0):
    """Sends msgs [(op, data)] compressed (RSV1; in `fragments` frames each, or frames of
    frag_size bytes of the compressed data) and checks the echoes (either mode: s.f masks as
    the role wants). Returns how many echoes came back compressed."""
    out = []
    for op, data in msgs:
        comp = codec.compress(data)
        if frag_size:
            cuts = [comp[i:i + frag_size] for i in range(0, len(comp), frag_size)] or [b""]
        elif fragments > 1:
            k = max(1, len(comp) // fragments)
            cuts = [comp[i * k:(i + 1) * k] for i in range(fragments - 1)] + [comp[(fragments - 1) * k:]]
        else:
            cuts = [comp]
        for i, part in enumerate(cuts):
            out.append(s.f(op if i == 0 else OP_CONT, part, fin=i == len(cuts) - 1, rsv=4 if i == 0 else 0))
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


def note(answer, z, count, codec):
    far = " (farthest distance %d of its 2^%d window)" % (codec.far, codec.their_bits) if codec.far else ""
    return "answer %r; %d of %d echoes compressed%s" % (answer, z, count, far)


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

    def echo(offer, make, count, mode="whole", fragments=1, frag_size=0):
        def run(c):
            s, codec, answer = open_pmd(c, offer)
            if codec is None:
                raise NonStrict("permessage-deflate declined (offer %r)" % offer)
            msgs = make(c.rng)
            z = exchange(Fail, s, codec, msgs, mode, fragments, timeout=15.0, frag_size=frag_size)
            s.close_ok()
            return Pass(note(answer, z, len(msgs), codec))
        return run

    def ab(kind, op, n, count):
        return lambda rng: [(op, d) for d in slices(kind, n, count, rng.randrange(CORPUS_SIZE))]

    def old(kind, op, n, count):
        return lambda rng: [(op, payload(kind, n, rng)) for _ in range(count)]

    # 12.1-12.5: Autobahn's five payloads at its 18 sizes, its default offer
    for k, (kind, op, what) in enumerate(AB_KINDS, 1):
        for j, (n, frag) in enumerate(AB_SIZES, 1):
            cnt = ab_count(n)
            case("12.%d.%d" % (k, j), "compression", "7692 7", ab_desc(what, op, n, frag, cnt) + ", offer %r"
                 % AB_OFFER, echo(AB_OFFER, ab(kind, op, n, cnt), cnt, frag_size=frag), timeout=25)
    # 12.6: compressed messages in a few fragments, written whole, in chunks, a byte a write
    for j, (kind, op, n, frags, mode) in enumerate(FRAG_EXTRAS, 1):
        case("12.6.%d" % j, "compression", "7692 6.1", "%d bytes of %s compressed, in %d fragments "
             "(RSV1 on the first), %s" % (n, kind, frags, MODES[mode]),
             echo(OFFERS[1][0], old(kind, op, n, 3), 3, mode=mode, fragments=frags), timeout=20)

    # 13.1-13.7: Autobahn's seven offers, JSON at the 18 sizes
    for k, (offer, what) in enumerate(AB13_OFFERS, 1):
        for j, (n, frag) in enumerate(AB_SIZES, 1):
            cnt = ab_count(n)
            case("13.%d.%d" % (k, j), "compression", "7692 7.1", "%s; offer %s" % (
                ab_desc("JSON text", OP_TEXT, n, frag, cnt), what),
                echo(offer, ab("json", OP_TEXT, n, cnt), cnt, frag_size=frag), timeout=25)

    # 12.7: what must fail
    def bad(build, codes, offer=OFFERS[1][0]):
        def run(c):
            s, codec, answer = open_pmd(c, offer)
            if offer and codec is None:
                raise NonStrict("permessage-deflate declined (offer %r)" % offer)
            s.send(build(s, codec) + s.f(OP_PING, b"after"))
            return s.expect_fail(codes=codes)
        return run

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
        case("12.7.%d" % j, "compression", "7692 6.2", what, bad(build, codes, offer))

    # 12.8: four more payloads at 14 sizes, Chrome's offer: the client's context taken over
    for k, (kind, op, what) in enumerate(KINDS, 1):
        for j, n in enumerate(SIZES, 1):
            case("12.8.%d" % ((k - 1) * len(SIZES) + j), "compression", "7692 7", "%s, 10 messages of %d bytes, "
                 "compressed, context taken over" % (what, n), echo(OFFERS[1][0], old(kind, op, n, 10), 10),
                 timeout=20)

    # 13.8-13.19: twelve more offers, three sizes
    for k, (offer, what) in enumerate(OFFERS, 8):
        for j, n in enumerate(PARAM_SIZES, 1):
            case("13.%d.%d" % (k, j), "compression", "7692 7.1", "offer %s: 10 x %d bytes of chat JSON"
                 % (what, n), echo(offer, old("json", OP_TEXT, n, 10), 10), timeout=20)

    # 13.20 and 13.21: each window size both sides may ask for, with and without context
    for k, side in ((20, "server"), (21, "client")):
        for j, (bits, nct) in enumerate([(b, x) for x in (False, True) for b in range(8, 16)], 1):
            offer = "permessage-deflate; %s%s_max_window_bits=%d" % (
                "%s_no_context_takeover; " % side if nct else "", side, bits)
            case("13.%d.%d" % (k, j), "compression", "7692 7.1.2", "offer %s_max_window_bits=%d%s: 10 x 4096 "
                 "bytes of JSON" % (side, bits, ", %s_no_context_takeover" % side if nct else ""),
                 echo(offer, ab("json", OP_TEXT, 4096, 10), 10), timeout=20)


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

    def open_pmd(sock, req, rest, key, ctx, wants, repeat=False):
        """wants: the answers to try in turn (their parameters), None to decline; repeat: each
        with the offer's server_* parameters added (Autobahn's way). Sends the 101 ->
        (s, codec, answer)."""
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
        if wants is not None:
            for want in wants:
                for o in offers:
                    w = dict(want)
                    if repeat:
                        w.update((k, v) for k, v in o.items() if k.startswith("server_"))
                    if fits(o, w) == "" and (o.get("client_max_window_bits") is not None or
                                             "client_max_window_bits" not in w):
                        answer, ag = answer_text(w), agreed(o, w)
                        break
                if answer:
                    break
            else:
                raise NonStrict("the client's offer %r allows none of the answers %s"
                                % (offer, ", ".join(repr(answer_text(w)) for w in wants)))
        ext = "Sec-WebSocket-Extensions: %s\r\n" % answer if answer else ""
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n%s\r\n" % (wslib.accept_key(key), ext)).encode())
        peer = wslib.Peer(sock, "server", rest)
        peer.rsv1_ok = ag is not None
        s = S(ctx, peer)
        s.peer_closes_tcp = False
        codec = Codec(ag["server_bits"], ag["server_nct"], ag["client_bits"], ag["client_nct"]) if ag else None
        return s, codec, answer

    def echo(wants, make, count, mode="whole", fragments=1, frag_size=0, repeat=False):
        def run(sock, req, rest, key, ctx):
            s, codec, answer = open_pmd(sock, req, rest, key, ctx, wants, repeat)
            msgs = make(ctx.rng)
            z = exchange(Fail, s, codec, msgs, mode, fragments, timeout=15.0, frag_size=frag_size)
            s.close_ok()
            ECHOES["compressed"] += z
            ECHOES["all"] += count
            return Pass(note(answer, z, count, codec))
        return run

    def ab(kind, op, n, count):
        return lambda rng: [(op, d) for d in slices(kind, n, count, rng.randrange(CORPUS_SIZE))]

    def old(kind, op, n, count):
        return lambda rng: [(op, payload(kind, n, rng)) for _ in range(count)]

    def reg(cid, rfc, desc, fn, kind="pmd", timeout=25.0):
        case("compression", rfc, "%s %s" % (cid, desc), kind=kind, timeout=timeout)(fn)

    # 12.1-12.5: Autobahn's five payloads at its 18 sizes; the answer repeats the offer's
    # server_* parameters and asks for nothing more
    for k, (kind, op, what) in enumerate(AB_KINDS, 1):
        for j, (n, frag) in enumerate(AB_SIZES, 1):
            cnt = ab_count(n)
            reg("12.%d.%d" % (k, j), "7692 7", ab_desc(what, op, n, frag, cnt),
                echo([{}], ab(kind, op, n, cnt), cnt, frag_size=frag, repeat=True))
    for j, (kind, op, n, frags, mode) in enumerate(FRAG_EXTRAS, 1):
        reg("12.6.%d" % j, "7692 6.1", "%d bytes of %s compressed, in %d fragments (RSV1 on the first), %s"
            % (n, kind, frags, MODES[mode]), echo([{}], old(kind, op, n, 3), 3, mode=mode, fragments=frags))

    # 13.1-13.7: Autobahn's seven answers, JSON at the 18 sizes
    for k, (wants, what) in enumerate(AB13_ANSWERS, 1):
        for j, (n, frag) in enumerate(AB_SIZES, 1):
            cnt = ab_count(n)
            reg("13.%d.%d" % (k, j), "7692 7.1", "%s; answer the offer's server_* parameters and %s"
                % (ab_desc("JSON text", OP_TEXT, n, frag, cnt), what),
                echo(wants, ab("json", OP_TEXT, n, cnt), cnt, frag_size=frag, repeat=True))

    # 12.7: what must fail
    def bad(build, codes, decline=False, prefix=b""):
        def run(sock, req, rest, key, ctx):
            s, codec, answer = open_pmd(sock, req, rest, key, ctx, None if decline else [{}])
            s.send(build(s, codec) + s.f(OP_PING, b"after"))
            return s.expect_fail(codes=codes, prefix=prefix)
        return run

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
        reg("12.7.%d" % j, "7692 6.2", what, bad(build, codes, decline, b"abc" if j == 2 else b""), timeout=6.0)

    # 12.8: four more payloads at 14 sizes; the server compresses with context taken over
    for k, (kind, op, what) in enumerate(KINDS, 1):
        for j, n in enumerate(SIZES, 1):
            reg("12.8.%d" % ((k - 1) * len(SIZES) + j), "7692 7", "%s, 10 messages of %d bytes, compressed, "
                "context taken over" % (what, n), echo([{}], old(kind, op, n, 10), 10))

    # 13.8, 13.9: each window size the server may answer, with and without context
    for k, side in ((8, "server"), (9, "client")):
        for j, (bits, nct) in enumerate([(b, x) for x in (False, True) for b in range(8, 16)], 1):
            want = {"%s_max_window_bits" % side: bits}
            if nct:
                want["%s_no_context_takeover" % side] = True
            reg("13.%d.%d" % (k, j), "7692 7.1", "answer %s: 10 x 4096 bytes of JSON" % answer_text(want),
                echo([want], ab("json", OP_TEXT, 4096, 10), 10))
    # 13.10: all four parameters in four combinations
    for j, want in enumerate([
            {"server_max_window_bits": 9, "server_no_context_takeover": True, "client_max_window_bits": 9,
             "client_no_context_takeover": True},
            {"server_no_context_takeover": True, "client_max_window_bits": 8},
            {"server_max_window_bits": 8, "client_no_context_takeover": True},
            {"server_max_window_bits": 12, "client_max_window_bits": 11}], 1):
        reg("13.10.%d" % j, "7692 7.1", "answer %s: 10 x 65536 bytes of chat JSON" % answer_text(want),
            echo([want], old("json", OP_TEXT, 65536, 10), 10))

    @case("compression", "7692 5", "13.11.1 offer declined (no extension in the 101): echoes uncompressed, "
          "no RSV1", kind="pmd")
    def declined(sock, req, rest, key, ctx):
        s, codec, answer = open_pmd(sock, req, rest, key, ctx, None)
        msgs = [(OP_TEXT, chat_json(2000)), (OP_BINARY, b"\x00" * 3000)]
        s.send(b"".join(s.f(op, d) for op, d in msgs))
        s.expect(msgs)
        s.close_ok()
        return Pass()

    # 13.12: answers the offer did not allow: the client fails the connection (RFC 7692 5, 7.1)
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
        case("compression", "7692 7.1", "13.12.%d answer %r -> client fails" % (j, value), kind="hs", timeout=12.0)(
            hs_bad(_ext(value), why))
