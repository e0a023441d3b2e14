#!/usr/bin/env python3
"""Hostile clients against a running ws.h example server (build/echo_server by default).

Usage: attack.py PORT SERVER_PID CHECK...
Checks: half-handshakes, huge-lengths, ping-flood, utf8-everywhere, fd-exhaustion, and
against a TLS server (ATTACK_TLS_CA=ca.pem: the good client speaks wss, checking the
certificate for localhost) tls-slowloris and tls-half-handshakes.

Each check attacks while a well-behaved client keeps echoing through the same server, and
asserts three things a server operator cares about: the good client is still served (each
echo within ECHO_BOUND seconds), the server's memory (VmRSS) stays flat, and every bad
connection ends the documented way (HTTP/close code, or the connection dropped).
Prints "ok ..." / "FAIL ..." per check (tests/run_adversarial.sh counts them).
"""
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
import wslib  # noqa: E402

HOST = "127.0.0.1"
ECHO_BOUND = 1.0            # seconds a good client may wait for its echo during an attack
RSS_BOUND = 24 << 20        # bytes the server may grow by during one attack
PATH = os.environ.get("ATTACK_PATH", "/")   # where the server takes WebSocket upgrades
PORT = int(sys.argv[1])
PID = int(sys.argv[2])
TLS_CA = os.environ.get("ATTACK_TLS_CA")
TLS_CONN_BOUND = 64 << 10   # bytes a half-finished TLS handshake may hold in the server
TLS_ECHO_BOUND = 5.0        # seconds, while the server answers 200 ClientHellos at once
TLS_WAVE_BOUND = 16 << 20   # bytes by which the second wave may take the server's peak and
                            # what it keeps once dropped beyond the first's: a leak raises
                            # both (each connection's TLS state, ~30 KiB resident, would add
                            # ~60 MiB); the allocator's reuse moves each alone by 20 MiB
if TLS_CA:
    wslib.tls_client(TLS_CA, "localhost")


def ok(what):
    print("ok   " + what, flush=True)


def fail(what):
    print("FAIL " + what, flush=True)


def rss(field="VmRSS"):
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss():
    """The most the server's memory has ever been (VmHWM)."""
    return rss("VmHWM")


def cpu_seconds():
    with open("/proc/%d/stat" % PID) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def handshake(timeout=5.0):
    s = wslib.connect(HOST, PORT, timeout)
    key = wslib.new_key()
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (PATH, HOST, PORT, key)).encode())
    head, rest, why = wslib.read_http_head(s, timeout)
    if head is None or head.status != 101:
        raise RuntimeError("handshake failed: %s" % (why or head.start))
    return wslib.Peer(s, "client", rest)


class GoodClient:
    """Echoes a message every 50 ms in a thread and remembers the slowest round trip."""

    def __init__(self):
        self.peer = handshake()
        self.worst = 0.0
        self.errors = []
        self.count = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        n = 0
        while not self.stop:
            msg = b"still served %d" % n
            t0 = time.monotonic()
            try:
                self.peer.send(self.peer.frame(wslib.OP_BINARY, msg), timeout=5)
                f = self.peer.read_frame(5)
                if f.opcode != wslib.OP_BINARY or f.payload != msg:
                    self.errors.append("wrong echo %r" % f.payload[:40])
            except Exception as e:  # noqa: BLE001 - any failure of the good client counts
                self.errors.append("%s %s" % (type(e).__name__, e))
                return
            self.worst = max(self.worst, time.monotonic() - t0)
            self.count += 1
            n += 1
            time.sleep(0.05)

    def finish(self, name, bound=ECHO_BOUND):
        until = time.monotonic() + 3
        while self.count < 5 and not self.errors and time.monotonic() < until:
            time.sleep(0.05)
        self.stop = True
        self.t.join(10)
        if self.errors:
            fail("%s: the good client failed: %s" % (name, self.errors[0]))
        elif self.count < 3:
            fail("%s: the good client got only %d echoes" % (name, self.count))
        elif self.worst > bound:
            fail("%s: the good client waited %.2f s for an echo (bound %.1f s)"
                 % (name, self.worst, bound))
        else:
            ok("%s: a good client kept being served (%d echoes, slowest %.0f ms)"
               % (name, self.count, self.worst * 1000))
        try:
            self.peer.close()
        except OSError:
            pass


def check_rss(name, before):
    grew = rss() - before
    if grew > RSS_BOUND:
        fail("%s: server memory grew by %.1f MiB (bound %d MiB)" % (name, grew / 2**20, RSS_BOUND >> 20))
    else:
        ok("%s: server memory bounded (%+.1f MiB, bound %d MiB)" % (name, grew / 2**20, RSS_BOUND >> 20))


def expect_close(peer, code, timeout=5.0):
    """The server's close frame carries code, and TCP ends after it."""
    try:
        while True:
            f = peer.read_frame(timeout)
            if f.opcode == wslib.OP_CLOSE:
                got = struct.unpack("!H", f.payload[:2])[0] if len(f.payload) >= 2 else None
                if got != code:
                    return "close %s, expected %d" % (got, code)
                done, _ = peer.wait_eof(timeout)
                return "" if done else "no TCP close after the close frame"
    except wslib.Eof:
        return "TCP closed with no close frame"
    except wslib.Reset:
        return "connection reset with no close frame"
    except wslib.Timeout:
        return "no close frame within %.0f s" % timeout


# ---------------------------------------------------------------- the attacks

def half_handshakes(n=2000, wait=14.0):
    """n connections send half a request and stop (a slowloris): the server keeps serving,
    does not spin, and drops every one of them at its handshake timeout."""
    name = "%d half handshakes" % n
    before, cpu0 = rss(), cpu_seconds()
    good = GoodClient()
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection((HOST, PORT), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConn")
            socks.append(s)
        except OSError as e:
            fail("%s: connection %d refused: %s" % (name, len(socks), e))
            break
    time.sleep(1.0)
    good.finish(name)
    check_rss(name, before)
    # all of them must be closed by the server, within its handshake timeout and a margin
    wait_dropped(name, socks, wait)
    cpu = cpu_seconds() - cpu0
    if cpu < 5.0:
        ok("%s: server CPU %.2f s in all (no busy loop)" % (name, cpu))
    else:
        fail("%s: server used %.1f s of CPU (spinning?)" % (name, cpu))


def huge_lengths():
    """Frame headers claiming 2^63-1 and 2^62 bytes are refused at once (1009, by the size
    limit), and 2^63 (top bit set, forbidden by RFC 6455 5.2) with 1002, before any
    payload arrives."""
    name = "huge length headers"
    before = rss()
    good = GoodClient()
    for length, code in ((2**63 - 1, 1009), (2**62, 1009), (2**63, 1002), (2**64 - 1, 1002)):
        p = handshake()
        key = os.urandom(4)
        p.send(bytes([0x82, 0xFF]) + struct.pack("!Q", length) + key + b"abc")
        why = expect_close(p, code)
        if why:
            fail("%s: length %d: %s" % (name, length, why))
        else:
            ok("%s: length 0x%x refused with %d before any payload" % (name, length, code))
        p.close()
    good.finish(name)
    check_rss(name, before)


def ping_flood(seconds=3.0):
    """A client sends 125-byte pings as fast as it can and reads nothing: the server stops
    reading it when its answers pile up (back-pressure), keeps serving others, stays flat,
    and when the flooder reads at last, every ping has its pong."""
    name = "ping flood"
    before = rss()
    good = GoodClient()
    p = handshake()
    body = bytes(range(125))
    batch = b"".join(p.frame(wslib.OP_PING, body) for _ in range(256))
    sent = 0
    p.sock.setblocking(False)
    end = time.monotonic() + seconds
    pending = memoryview(batch)
    while time.monotonic() < end:
        try:
            n = p.sock.send(pending)
        except BlockingIOError:
            time.sleep(0.005)
            continue
        pending = pending[n:]
        if not pending:
            sent += 256
            pending = memoryview(batch)
    # pings in flight: the whole batches, and the partial one, which is finished below
    partial = len(pending) < len(batch)
    total = sent + (256 if partial else 0)
    mid = rss()
    good.finish(name)
    if mid - before > RSS_BOUND:
        fail("%s: server memory grew by %.1f MiB during the flood" % (name, (mid - before) / 2**20))
    else:
        ok("%s: %d pings sent unread, server memory %+.1f MiB" % (name, total, (mid - before) / 2**20))
    pongs = [0]

    def drain():
        try:
            while pongs[0] < total:
                f = p.read_frame(10)
                if f.opcode == wslib.OP_PONG and f.payload == body:
                    pongs[0] += 1
        except Exception:  # noqa: BLE001 - ends the count
            pass

    p.sock.setblocking(True)
    t = threading.Thread(target=drain, daemon=True)
    t.start()
    if partial:
        p.send(bytes(pending), timeout=30)
    t.join(60)
    if pongs[0] == total:
        ok("%s: every one of %d pings answered once the client read" % (name, total))
    else:
        fail("%s: %d pongs for %d pings" % (name, pongs[0], total))
    p.close()
    check_rss(name, before)


def utf8_everywhere(size=1500):
    """A text message of `size` valid bytes (ASCII, 2-, 3- and 4-byte characters) with one
    invalid byte put at each position in turn: every connection ends with close 1007."""
    name = "invalid UTF-8 at each of %d positions" % size
    before = rss()
    good = GoodClient()
    unit = "ab ü 世 🌍 ".encode()
    text = (unit * (size // len(unit) + 1))[:size]
    bad = []
    batch = 50
    for start in range(0, size, batch):
        peers = []
        for i in range(start, min(size, start + batch)):
            p = handshake()
            msg = bytearray(text)
            msg[i] = 0xFF
            # split in two frames at a random point, so some cases cross a frame edge
            cut = (i * 7919) % (size + 1)
            frames = p.frame(wslib.OP_TEXT, bytes(msg[:cut]), fin=False) + \
                p.frame(wslib.OP_CONT, bytes(msg[cut:]), fin=True)
            p.send(frames)
            peers.append((i, p))
        for i, p in peers:
            why = expect_close(p, 1007)
            if why:
                bad.append("%d: %s" % (i, why))
            p.close()
    good.finish(name)
    if bad:
        fail("%s: %d wrong, first: %s" % (name, len(bad), bad[0]))
    else:
        ok("%s: every connection closed with 1007" % name)
    check_rss(name, before)


def fd_exhaustion(n=150):
    """Run against a server started with a low descriptor limit (ulimit -n 64): n half
    handshakes use up its descriptors. It must not spin on accept() failing with EMFILE,
    must keep serving the client it has, and must accept again once descriptors free up."""
    name = "out of file descriptors (%d half handshakes)" % n
    good = GoodClient()
    socks = []
    for _ in range(n):
        s = socket.create_connection((HOST, PORT), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    cpu0 = cpu_seconds()
    time.sleep(2.0)
    cpu = cpu_seconds() - cpu0
    if cpu < 0.5:
        ok("%s: server CPU %.2f s over 2 s while out of descriptors (no busy loop)" % (name, cpu))
    else:
        fail("%s: server used %.1f s of CPU in 2 s (spinning on EMFILE?)" % (name, cpu))
    good.finish(name)
    for s in socks:
        s.close()
    try:
        t0 = time.monotonic()
        p = handshake(timeout=5)
        p.send(p.frame(wslib.OP_TEXT, b"back"))
        f = p.read_frame(5)
        if f.payload == b"back":
            ok("%s: a new client is accepted and served once descriptors are free (%.0f ms)"
               % (name, (time.monotonic() - t0) * 1000))
        else:
            fail("%s: wrong echo after recovery" % name)
        p.close()
    except Exception as e:  # noqa: BLE001
        fail("%s: no new client served after recovery: %s %s" % (name, type(e).__name__, e))


def client_hello():
    """The bytes of a real ClientHello (Python's ssl, for localhost)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def readable(socks, timeout):
    """Those of socks that can be read within timeout seconds (poll: any descriptor)."""
    p = select.poll()
    by_fd = {}
    for s in socks:
        p.register(s, select.POLLIN)
        by_fd[s.fileno()] = s
    return [by_fd[fd] for fd, _ in p.poll(int(timeout * 1000))]


def wait_dropped(name, socks, wait):
    """Every socket must be closed by the server within wait seconds (what it sends before,
    its half of a TLS handshake, is read and thrown away)."""
    deadline = time.monotonic() + wait
    closed = 0
    for s in socks:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            while s.recv(65536):
                pass
            closed += 1
        except ConnectionResetError:
            closed += 1
        except OSError:
            pass
        s.close()
    if closed == len(socks) and socks:
        ok("%s: every one dropped by the server's handshake timeout" % name)
    else:
        fail("%s: %d of %d dropped within %.0f s" % (name, closed, len(socks), wait))


def tls_slowloris(n=300, wait=14.0):
    """n connections trickle a ClientHello one byte at a time, each byte every ~0.5 s, and
    never finish it: the server's handshake timeout (10 s from accept, whatever arrives)
    drops every one, while it keeps serving, stays flat and does not spin."""
    name = "TLS slowloris (%d ClientHellos trickled)" % n
    hello = client_hello()
    before, cpu0 = rss(), cpu_seconds()
    good = GoodClient()
    socks = []
    for _ in range(n):
        s = socket.create_connection((HOST, PORT), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    bound = TLS_ECHO_BOUND          # a wss good client: its own TLS waits on a loaded machine
    t0 = time.monotonic()
    sent = {s: 0 for s in socks}
    open_ = set(socks)
    dropped_at = []
    peak = 0
    while open_ and time.monotonic() - t0 < wait:
        for s in list(open_):
            if sent[s] < len(hello) - 1:        # the last byte never goes
                try:
                    s.send(hello[sent[s]:sent[s] + 1])
                    sent[s] += 1
                except OSError:
                    pass
        peak = max(peak, rss())
        for s in readable(open_, 0.5):
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                open_.discard(s)
                dropped_at.append(time.monotonic() - t0)
    good.finish(name, bound)
    most = max(sent.values())
    if open_:
        fail("%s: %d of %d still open after %.0f s (up to %d of %d ClientHello bytes sent)"
             % (name, len(open_), n, wait, most, len(hello)))
    else:
        ok("%s: every one dropped by the handshake timeout, %.1f-%.1f s after connecting, "
           "after at most %d of its %d bytes" % (name, min(dropped_at), max(dropped_at), most, len(hello)))
    if peak - before > RSS_BOUND:
        fail("%s: server memory grew by %.1f MiB (bound %d MiB)" % (name, (peak - before) / 2**20, RSS_BOUND >> 20))
    else:
        ok("%s: server memory bounded (peak %+.1f MiB with %d open, bound %d MiB)"
           % (name, (peak - before) / 2**20, n, RSS_BOUND >> 20))
    cpu = cpu_seconds() - cpu0
    bytes_in = sum(sent.values())
    if cpu < 5.0:
        ok("%s: server CPU %.2f s for %d trickled bytes (no busy loop)" % (name, cpu, bytes_in))
    else:
        fail("%s: server used %.1f s of CPU (spinning?)" % (name, cpu))
    for s in socks:
        s.close()


def tls_half_handshakes(n=2000, whole_every=10, waves=2, wait=14.0):
    """n TLS handshakes left half-finished: every whole_every-th connection sends a whole
    ClientHello, which the server answers (ServerHello to ServerHelloDone: an ECDHE key and
    a signature, a few ms of its one thread) before it waits for a key exchange that never
    comes; the others send 300 of its bytes and stop, so the server holds a TLS connection
    waiting for the rest of a record. The server keeps serving meanwhile (within
    TLS_ECHO_BOUND), holds at most TLS_CONN_BOUND per connection, does not spin while they
    wait, and drops every one at its handshake timeout. Twice: the second wave may not
    take the server's memory higher than the first did (the allocator keeps what the first
    freed, so flat means: reused, not grown)."""
    hello = client_hello()
    base = rss()
    peaks, kept = [], []
    if peak_rss() > base + TLS_WAVE_BOUND:
        print("# the server's memory peaked at %+.1f MiB before: the waves are measured from there"
              % ((peak_rss() - base) / 2**20))
    for wave in range(1, waves + 1):
        name = "%d half-finished TLS handshakes (wave %d of %d)" % (n, wave, waves)
        before, cpu0 = rss(), cpu_seconds()
        good = GoodClient()
        socks, whole = [], []
        for i in range(n):
            try:
                s = socket.create_connection((HOST, PORT), timeout=5)
                s.sendall(hello if i % whole_every == 0 else hello[:300])
                socks.append(s)
                if i % whole_every == 0:
                    whole.append(s)
            except OSError as e:
                fail("%s: connection %d refused: %s" % (name, len(socks), e))
                break
        # the server's half of the whole ones: wait until it has answered every one
        answered = set()
        until = time.monotonic() + 8
        while len(answered) < len(whole) and time.monotonic() < until:
            for s in readable([s for s in whole if s not in answered], 0.5):
                answered.add(s)
        time.sleep(0.5)
        t_answered = time.monotonic()
        good.finish(name, TLS_ECHO_BOUND)
        grew = rss() - before
        if len(answered) < len(whole):
            fail("%s: %d of %d whole ClientHellos answered" % (name, len(answered), len(whole)))
        else:
            ok("%s: %d waiting for a key exchange, %d for the rest of a ClientHello; server "
               "memory %+.1f MiB by now" % (name, len(answered), len(socks) - len(whole), grew / 2**20))
        # waiting costs nothing
        cpu1 = cpu_seconds()
        time.sleep(max(0.0, min(2.0, 9.0 - (time.monotonic() - t_answered))))
        idle = cpu_seconds() - cpu1
        if idle < 0.5:
            ok("%s: server CPU %.2f s while they wait (no busy loop); %.2f s for the %d "
               "connections before" % (name, idle, cpu1 - cpu0, len(socks)))
        else:
            fail("%s: server used %.1f s of CPU while the handshakes waited (spinning?)" % (name, idle))
        wait_dropped(name, socks, wait)
        time.sleep(0.5)
        peaks.append(peak_rss())
        kept.append(rss())
        if wave == 1:
            per = (peaks[0] - base) / max(1, len(socks))
            if per > TLS_CONN_BOUND:
                fail("%s: server memory peaked at %+.1f MiB, %.1f KiB per connection (bound %d KiB)"
                     % (name, (peaks[0] - base) / 2**20, per / 1024, TLS_CONN_BOUND >> 10))
            else:
                ok("%s: server memory peaked at %+.1f MiB (VmHWM), %.1f KiB per connection "
                   "(bound %d KiB)" % (name, (peaks[0] - base) / 2**20, per / 1024, TLS_CONN_BOUND >> 10))
    if waves > 1:
        name = "%d half-finished TLS handshakes" % n
        extra = min(kept[-1] - kept[0], peaks[-1] - peaks[0])
        line = ("%+.1f MiB kept after wave 1 was dropped, %+.1f MiB after wave %d (peaks, VmHWM: "
                "%+.1f and %+.1f MiB)" % ((kept[0] - base) / 2**20, (kept[-1] - base) / 2**20, waves,
                                          (peaks[0] - base) / 2**20, (peaks[-1] - base) / 2**20))
        if extra > TLS_WAVE_BOUND:
            fail("%s: %s: both %.1f MiB or more above wave 1 (bound %d MiB): a leak?"
                 % (name, line, extra / 2**20, TLS_WAVE_BOUND >> 20))
        else:
            ok("%s: server memory flat from wave to wave: %s (bound +%d MiB)"
               % (name, line, TLS_WAVE_BOUND >> 20))


CHECKS = {"fd-exhaustion": fd_exhaustion,
          "tls-slowloris": lambda: tls_slowloris(min(300, int(os.environ.get("HALF_N", "2000")))),
          "tls-half-handshakes": lambda: tls_half_handshakes(int(os.environ.get("HALF_N", "2000"))),
          "half-handshakes": lambda: half_handshakes(int(os.environ.get("HALF_N", "2000"))),
          "huge-lengths": huge_lengths,
          "ping-flood": ping_flood,
          "utf8-everywhere": utf8_everywhere}

for c in sys.argv[3:]:
    try:
        CHECKS[c]()
    except Exception as e:  # noqa: BLE001 - a crash of the attack is a failed check
        fail("%s: %s: %s" % (c, type(e).__name__, e))
