#!/usr/bin/env python3
"""bridge.py - TCP clients to the firmware's UART: several connections over one serial line.

    tests/firmware/bridge.py --elf build/firmware/echo_fw.elf [--port 8080] [--page FILE]

Starts qemu-system-arm (mps2-an386) with the image, its UART0 connected to a loopback port
of this bridge, waits for the firmware's hello, then listens on 127.0.0.1:PORT (0: a free
one, printed) for WebSocket clients. Each client gets a channel of the link (link.h in
examples/firmware/ describes the framing: SLIP frames with a channel, a sequence number
and a CRC-16); up to the firmware's channel count at once, later ones wait for a free
channel. What a client sends goes to the firmware in frames of at most the link's MTU,
the channels in turn, never more than WINDOW bytes ahead of what the firmware has taken
(a link ping every MARK_EVERY bytes is the marker: its answer comes once the frames before
it were read), and what a closed channel still has waiting is dropped, so a client that
sends a lot holds the others up for a fraction of a second at most. What the firmware sends
for a channel goes to that client; the firmware's 'C' ends the
client's TCP (FIN, then the socket is closed on the client's FIN or after 5 s).

  --page FILE    a request that asks for no upgrade (no Upgrade header) gets FILE as a
                 200 text/html answer from the bridge (the browser demo: examples/echo.html)
  --measure N    before listening, N bytes of link pings both ways: prints the link's
                 bytes/s (payload bytes each way, per second)
  --log FILE     qemu's own output (semihosting is off; faults come over the link)
  --max-seconds S  stop as on SIGTERM after S seconds (a bound for tests)

On SIGTERM or SIGINT it asks the firmware for its statistics ('S'), prints them as
"firmware: name=value ...", prints its own counts as "bridge: ...", stops qemu (by PID)
and exits 0 if the link saw no error either way, 1 otherwise. Any link error (a bad CRC, a
sequence gap, a bad frame, an 'E' frame from the firmware) is printed as it happens,
as "LINK ERROR ...". Loopback only; every wait is bounded.
"""
import argparse
import asyncio
import os
import collections
import signal
import struct
import sys
import time

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD
MTU = 512
WINDOW = 4096       # frame bytes sent ahead of what the firmware has taken, at most
MARK_EVERY = 1024   # a marker (a link ping) after this many: its answer says they were taken
QUEUE_MAX = 8192    # bytes a client may have waiting for the line before it is not read


def crc16(data, crc=0xFFFF):
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


# a table makes the bridge's CRC cheap next to qemu's
_T = [crc16(bytes([i]), 0) for i in range(256)]


def crc16_fast(data, crc=0xFFFF):
    t = _T
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ t[(crc >> 8) ^ b]
    return crc


def slip(frame):
    return bytes([END]) + frame.replace(bytes([ESC]), bytes([ESC, ESC_ESC])).replace(
        bytes([END]), bytes([ESC, ESC_END])) + bytes([END])


class Link:
    """One end of the serial line: frames out with sequence and CRC, frames in checked."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.seq_out = 0
        self.seq_in = 0
        self.errors = []
        self.counts = dict(frames_in=0, frames_out=0, bytes_in=0, bytes_out=0, crc_errors=0,
                           seq_errors=0, size_errors=0, fw_errors=0)
        self.handlers = {}

    def error(self, what):
        self.errors.append(what)
        print(f"LINK ERROR {what}", flush=True)

    def send(self, ftype, chan, payload=b""):
        body = bytes([ord(ftype), chan, self.seq_out]) + payload
        self.seq_out = (self.seq_out + 1) & 0xFF
        c = crc16_fast(body)
        self.writer.write(slip(body + bytes([c >> 8, c & 0xFF])))
        self.counts["frames_out"] += 1
        self.counts["bytes_out"] += len(payload)

    async def drain(self):
        await self.writer.drain()

    async def run(self, on_frame):
        buf = bytearray()
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            buf += data
            while True:
                i = buf.find(END)
                if i < 0:
                    break
                raw = bytes(buf[:i])
                del buf[:i + 1]
                if not raw:
                    continue
                frame = raw.replace(bytes([ESC, ESC_END]), bytes([END])).replace(
                    bytes([ESC, ESC_ESC]), bytes([ESC]))
                if len(frame) < 5:
                    self.counts["size_errors"] += 1
                    self.error(f"a frame of {len(frame)} bytes")
                    continue
                if crc16_fast(frame) != 0:
                    self.counts["crc_errors"] += 1
                    self.error(f"bad CRC on a frame of {len(frame)} bytes")
                    continue
                if frame[2] != self.seq_in:
                    self.counts["seq_errors"] += 1
                    self.error(f"sequence {frame[2]}, {self.seq_in} expected")
                self.seq_in = (frame[2] + 1) & 0xFF
                self.counts["frames_in"] += 1
                self.counts["bytes_in"] += len(frame) - 5
                ftype = chr(frame[0])
                if ftype == "E":
                    self.counts["fw_errors"] += 1
                    self.error("from the firmware: " + frame[3:-2].decode(errors="replace"))
                    continue
                on_frame(ftype, frame[1], frame[3:-2])


class Bridge:
    def __init__(self, link, channels, page):
        self.link = link
        self.page = page
        self.free = list(range(channels))
        self.free_event = asyncio.Event()
        self.free_event.set()
        self.clients = {}           # channel -> writer
        self.closed = {}            # channel -> asyncio.Event, set on the firmware's 'C'
        self.waiting = {}           # 'S' / 'P' -> future
        self.connections = 0
        # frames to the firmware wait here, per channel, and go out in turn, at most WINDOW
        # bytes ahead of the markers answered: a client that sends a lot cannot hold up the
        # others for long, and what a closed channel still had waiting is dropped
        self.queues = collections.defaultdict(collections.deque)
        self.qbytes = collections.defaultdict(int)
        self.turn = collections.deque()
        self.wake = asyncio.Event()
        self.space = asyncio.Event()
        self.inflight = self.since_mark = self.token = 0
        self.marks = collections.deque()

    def enqueue(self, chan, ftype, payload=b""):
        q = self.queues[chan]
        if not q and chan not in self.turn:
            self.turn.append(chan)
        q.append((ftype, payload))
        self.qbytes[chan] += len(payload)
        self.wake.set()

    def enqueue_data(self, chan, data):
        for i in range(0, len(data), MTU):
            self.enqueue(chan, "D", data[i:i + MTU])

    def drop(self, chan):
        self.queues[chan].clear()
        self.qbytes[chan] = 0
        if chan in self.turn:
            self.turn.remove(chan)
        self.space.set()

    async def pump(self):
        while True:
            while not self.turn or self.inflight >= WINDOW:
                self.wake.clear()
                await self.wake.wait()
            chan = self.turn.popleft()
            q = self.queues[chan]
            ftype, payload = q.popleft()
            self.qbytes[chan] -= len(payload)
            if q:
                self.turn.append(chan)
            self.link.send(ftype, chan, payload)
            n = len(payload) + 6
            self.inflight += n
            self.since_mark += n
            if self.since_mark >= MARK_EVERY:
                self.token = (self.token + 1) & 0xFFFFFFFF
                self.link.send("P", 0, b"\0M" + struct.pack(">I", self.token))
                self.marks.append((self.token, self.since_mark))
                self.since_mark = 0
            self.space.set()
            await self.link.drain()

    def marked(self, payload):
        tok = struct.unpack(">I", payload[2:])[0]
        while self.marks:
            t, n = self.marks.popleft()
            self.inflight -= n
            if t == tok:
                break
        self.wake.set()

    def on_frame(self, ftype, chan, payload):
        if ftype == "D":
            w = self.clients.get(chan)
            if w is not None and not w.is_closing():
                try:
                    w.write(payload)
                except OSError:         # the client is gone: the firmware hears of it
                    pass
        elif ftype == "C":
            w = self.clients.pop(chan, None)
            self.drop(chan)
            if w is not None:
                try:
                    if not w.is_closing() and w.can_write_eof():
                        w.write_eof()
                except OSError:         # reset by the client meanwhile
                    pass
                self.closed[chan].set()
                self.free.append(chan)
                self.free_event.set()
        elif ftype == "P" and len(payload) == 6 and payload[:2] == b"\0M":
            self.marked(payload)
        elif ftype in ("S", "P", "H"):
            f = self.waiting.pop(ftype, None)
            if f is not None and not f.done():
                f.set_result(payload)
        else:
            self.link.error(f"unknown frame type {ftype!r}")

    async def ask(self, ftype, payload=b"", timeout=10):
        f = asyncio.get_running_loop().create_future()
        self.waiting[ftype] = f
        self.link.send(ftype, 0, payload)
        return await asyncio.wait_for(f, timeout)

    async def serve_page(self, head, writer):
        body = open(self.page, "rb").read()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    async def client(self, reader, writer):
        self.connections += 1
        first = b""
        try:
            if self.page:           # a plain GET gets the page, an upgrade goes through
                while b"\r\n\r\n" not in first and len(first) < 16384:
                    data = await asyncio.wait_for(reader.read(4096), 10)
                    if not data:
                        break
                    first += data
                if b"\nupgrade:" not in first.lower():
                    await self.serve_page(first, writer)
                    return
            while not self.free:
                self.free_event.clear()
                await asyncio.wait_for(self.free_event.wait(), 30)
            chan = self.free.pop(0)
            self.clients[chan] = writer
            self.closed[chan] = ev = asyncio.Event()
            self.enqueue(chan, "O")
            if first:
                self.enqueue_data(chan, first)
            while not ev.is_set():
                rd = asyncio.ensure_future(reader.read(MTU))
                cl = asyncio.ensure_future(ev.wait())
                done, _ = await asyncio.wait({rd, cl}, return_when=asyncio.FIRST_COMPLETED)
                if rd not in done:
                    rd.cancel()
                    break
                cl.cancel()
                try:
                    data = rd.result()
                except (ConnectionError, OSError):
                    data = b""
                if ev.is_set():
                    break
                if not data:
                    self.enqueue(chan, "F")
                    await asyncio.wait_for(ev.wait(), 30)
                    break
                self.enqueue_data(chan, data)
                while self.qbytes[chan] > QUEUE_MAX and not ev.is_set():
                    self.space.clear()
                    await self.space.wait()
            # the firmware closed: wait for the client's FIN (5 s at most), then close
            try:
                while await asyncio.wait_for(reader.read(65536), 5):
                    pass
            except (asyncio.TimeoutError, ConnectionError, OSError):
                pass
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--elf", required=True)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--page")
    ap.add_argument("--measure", type=int, default=0)
    ap.add_argument("--qemu", default=os.environ.get("QEMU_ARM", "qemu-system-arm"))
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--max-seconds", type=float, default=0)
    args = ap.parse_args()
    loop = asyncio.get_running_loop()

    got_serial = loop.create_future()

    def on_serial(r, w):
        if not got_serial.done():
            got_serial.set_result((r, w))
        else:
            w.close()

    sl = await asyncio.start_server(on_serial, "127.0.0.1", 0)
    sport = sl.sockets[0].getsockname()[1]
    log = open(args.log, "wb")
    qemu = await asyncio.create_subprocess_exec(
        args.qemu, "-M", "mps2-an386", "-display", "none", "-monitor", "none",
        "-serial", f"tcp:127.0.0.1:{sport},nodelay=on", "-kernel", args.elf,
        stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=die_with_parent)
    status = 1
    try:
        r, w = await asyncio.wait_for(got_serial, 20)
        sl.close()
        w.transport.set_write_buffer_limits(high=4096)
        link = Link(r, w)
        bridge = Bridge(link, 4, args.page)
        hello = loop.create_future()
        bridge.waiting["H"] = hello
        runner = asyncio.ensure_future(link.run(bridge.on_frame))
        text = (await asyncio.wait_for(hello, 20)).decode()
        print("firmware says: " + text, flush=True)
        for kv in text.split():
            if kv.startswith("channels="):
                bridge.free = list(range(int(kv.split("=")[1])))
        if args.measure:
            await measure(bridge, args.measure)
        pump = asyncio.ensure_future(bridge.pump())
        srv = await asyncio.start_server(bridge.client, "127.0.0.1", args.port)
        port = srv.sockets[0].getsockname()[1]
        print(f"bridge: listening on ws://127.0.0.1:{port}/ (qemu pid {qemu.pid})", flush=True)
        stop = asyncio.Event()
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(s, stop.set)
        if args.max_seconds:
            loop.call_later(args.max_seconds, stop.set)
        ended = asyncio.ensure_future(qemu.wait())
        done, _ = await asyncio.wait({asyncio.ensure_future(stop.wait()), ended, runner},
                                     return_when=asyncio.FIRST_COMPLETED)
        srv.close()
        pump.cancel()
        if ended in done or runner in done:
            link.error("qemu ended or the serial line closed")
        else:
            try:
                stats = (await bridge.ask("S")).decode()
                print("firmware: " + stats, flush=True)
            except asyncio.TimeoutError:
                link.error("no statistics from the firmware within 10 s")
        print("bridge: " + " ".join(f"{k}={v}" for k, v in link.counts.items())
              + f" connections={bridge.connections}", flush=True)
        status = 1 if link.errors else 0
    except asyncio.TimeoutError:
        print("bridge: the firmware did not connect or say hello within 20 s", flush=True)
    finally:
        if qemu.returncode is None:
            qemu.kill()
            await qemu.wait()
    return status


def die_with_parent():
    """In qemu's child, before exec: qemu gets SIGKILL if the bridge dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)          # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


async def measure(bridge, total):
    """Link pings of MTU bytes, one after another: payload bytes/s each way."""
    payload = bytes(range(256)) * (MTU // 256)     # END and ESC included: escaping costs
    sent = 0
    t0 = time.monotonic()
    while sent < total:
        back = await bridge.ask("P", payload)
        if back != payload:
            bridge.link.error("a link ping came back changed")
            return
        sent += len(payload)
    dt = time.monotonic() - t0
    t1 = time.monotonic()
    for i in range(0, total, MTU):
        bridge.link.send("D", 3, payload)     # to a closed channel: dropped
        await bridge.link.drain()
    await bridge.ask("P", b"x")
    dt1 = time.monotonic() - t1
    print(f"link: host to firmware alone {total / dt1:.0f} bytes/s", flush=True)
    print(f"link: {sent} bytes each way in {dt:.2f} s: {sent / dt:.0f} bytes/s each way "
          f"(pings of {MTU} bytes, one at a time)", flush=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
