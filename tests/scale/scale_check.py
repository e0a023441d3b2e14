#!/usr/bin/python3
"""chat_server --redis: three processes behind nginx sharing rooms through one Redis.

usage: /usr/bin/python3 scale_check.py CONFIG.json PART...
  CONFIG (written by tests/run_scale.sh): the backends (port, pid, log), the single-process
  server, nginx's ws and wss ports, the CA, Redis (port, pid file, command line), the
  heartbeat settings.
  PART: random   2000 seeded random actions on the three processes (directly) and on one
                 process without Redis: the same answers, the same events for every client
        share    clients through nginx on different processes: rooms, members, broadcasts
        wss      the same through nginx terminating TLS
        kill     kill -9 of one process under load: its clients notice and come back
                 through nginx; the others lose nothing, get nothing twice, in order
        redis    Redis killed and started again: refused with an error meanwhile, then
                 reconnected, resubscribed, members put back
        stop     SIGTERM to one process: its members leave the others' rooms
Prints "ok ..." or "FAIL ..." per check. SCALE_SEED=N replays the random part.
"""
import asyncio
import json
import os
import random
import signal
import ssl
import subprocess
import sys
import time

import websockets

CFG = json.load(open(sys.argv[1]))
TTL = CFG["ttl"]                                # --redis-ttl: reaped within 5/4 of it
HEARTBEAT = CFG["ping_interval"] + CFG["ping_timeout"]
failures = 0


def check(cond, name, why=""):
    global failures
    if not cond:
        failures += 1
    print(("ok   %s" if cond else "FAIL %s" + (": " + why if why else "")) % name, flush=True)
    return cond


def log_sizes():
    return [os.path.getsize(b["log"]) for b in CFG["backends"]]


def backend_of(nick, sizes):
    """Which backend (index) logged 'NICK connected' since its log had sizes[i] bytes
    (guest names come again after a Redis restart)."""
    for i, b in enumerate(CFG["backends"]):
        with open(b["log"], "rb") as f:
            f.seek(sizes[i])
            for line in f.read().decode(errors="replace").splitlines():
                if line.strip() == "chat_server: %s connected" % nick:
                    return i
    return None


class Chat:
    """A client that keeps every event it gets, in order, read by a task of its own."""

    @classmethod
    async def open(cls, url, **kw):
        self = cls()
        self.url = url
        self.ws = await websockets.connect(url, ping_interval=None, compression=None,
                                           open_timeout=5, **kw)
        self.events = []
        self.cond = asyncio.Condition()
        self.closed_at = None
        self.reader = asyncio.create_task(self.read())
        self.next_id = 0
        w = await self.wait(lambda m: m["event"] == "welcome")
        self.nick = w["data"]["nick"]
        return self

    async def read(self):
        try:
            async for raw in self.ws:
                async with self.cond:
                    self.events.append(json.loads(raw))
                    self.cond.notify_all()
        except websockets.ConnectionClosed:
            pass
        self.closed_at = time.monotonic()
        async with self.cond:
            self.cond.notify_all()

    async def wait(self, pred, timeout=5, start=0):
        """The first event from index start on that pred accepts."""
        end = time.monotonic() + timeout
        async with self.cond:
            while True:
                for m in self.events[start:]:
                    if pred(m):
                        return m
                left = end - time.monotonic()
                if left <= 0 or self.closed_at:
                    raise asyncio.TimeoutError("no such event (closed)" if self.closed_at else "timeout")
                try:
                    await asyncio.wait_for(self.cond.wait(), left)
                except asyncio.TimeoutError:
                    pass

    async def send(self, event, **fields):
        self.next_id += 1
        await self.ws.send(json.dumps(dict(event=event, id=self.next_id, **fields)))
        return self.next_id

    async def request(self, event, timeout=5, **fields):
        """The answer (ack, error, pong) to a request."""
        start = len(self.events)
        i = await self.send(event, **fields)
        return await self.wait(lambda m: m.get("id") == i and m["event"] in ("ack", "error", "pong"),
                               timeout, start)

    async def close(self):
        await self.ws.close()
        await self.reader


def members(c, room):
    ms = [m for m in c.events if m["event"] == "members" and m.get("room") == room]
    return sorted(ms[-1]["data"]["nicks"]) if ms else None


async def until(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


# ---- random: one process or three, the same story --------------------------------------

NAMES = ["ann", "bob", "cid", "dee", "eve", "fay", "gus", "guest-3", "guest-9", "x" * 25, "b\u00f6b"]
ROOMS = ["r%d" % i for i in range(10)]


async def world(urls, seed, steps):
    """Plays the seeded actions; returns the answers and every client's events."""
    rnd = random.Random(seed)
    log = []
    observers = [await Chat.open(u) for u in urls]      # one per process, never leaves
    live = []                                           # (client, process index)
    gone = []
    for step in range(steps):
        r = rnd.random()
        if r < 0.08 and len(live) < 12 or not live:
            k = rnd.randrange(len(urls))
            c = await Chat.open(urls[k])
            c.k = k
            live.append(c)
            log.append(("open", k, c.nick))
            continue
        c = rnd.choice(live)
        if r < 0.12:
            live.remove(c)
            gone.append(c)
            await c.request("ping")             # what was published before has reached it
            await c.close()
            a = await observers[c.k].request("ping")     # Redis has done its leaving
            log.append(("close", c.nick, a["event"]))
            continue
        if r < 0.25:
            fields = dict(event="nick", data=rnd.choice(NAMES))
        elif r < 0.50:
            fields = dict(event="join", room=rnd.choice(ROOMS))
        elif r < 0.62:
            fields = dict(event="leave", room=rnd.choice(ROOMS))
        elif r < 0.92:
            fields = dict(event="message", room=rnd.choice(ROOMS), data="m%d" % step)
        else:
            fields = dict(event="broadcast", data="b%d" % step)
        ev = fields.pop("event")
        a = await c.request(ev, **fields)
        log.append((ev, fields, a["event"], a.get("data")))
    # the last events reach every process before a broadcast published after them
    fence = await observers[0].request("broadcast", data="end")
    everyone = observers + live
    for c in everyone[1:]:
        await c.wait(lambda m: m["event"] == "broadcast" and m["data"]["text"] == "end")
    # per client: the events, and apart from them the answers to its own requests: an
    # answer decided by the process alone ("join the room first") may overtake events from
    # other processes still on their way, which one process cannot show
    streams = []
    for c in observers + live + gone:
        s = []
        for m in c.events:
            if m["event"] == "members":
                m = dict(m, data=dict(m["data"], nicks=sorted(m["data"]["nicks"])))
            if "id" not in m:
                s.append(m)
        streams.append(s)
        streams.append([m for m in c.events if "id" in m])
    finals = {c.nick: sorted(r for r in ROOMS if members(c, r) and c.nick in members(c, r)) for c in live}
    for c in observers + live:
        await c.close()
    return log, streams, finals, fence


async def part_random():
    seed = int(os.environ.get("SCALE_SEED", random.randrange(1 << 30)))
    steps = int(os.environ.get("SCALE_STEPS", 2000))
    print("seed=%d steps=%d (SCALE_SEED=%d replays)" % (seed, steps, seed), flush=True)
    t0 = time.monotonic()
    single = await world([CFG["single"]["url"]] * 3, seed, steps)
    t1 = time.monotonic()
    multi = await world([b["url"] for b in CFG["backends"]], seed, steps)
    t2 = time.monotonic()
    print("one process: %.1f s, three through Redis: %.1f s" % (t1 - t0, t2 - t1), flush=True)
    la, lb = single[0], multi[0]
    diff = next((i for i in range(min(len(la), len(lb))) if la[i] != lb[i]), None)
    check(diff is None and len(la) == len(lb),
          "random: %d actions (seed %d): every answer the same on 3 processes as on one" % (steps, seed),
          "action %s: one process %r, three %r" % (diff, la[diff] if diff is not None else None,
                                                   lb[diff] if diff is not None else None))
    kinds = {}
    for e in la:
        kinds[e[0] + ":" + (e[2] if len(e) > 2 else "")] = kinds.get(e[0] + ":" + (e[2] if len(e) > 2 else ""), 0) + 1
    check(kinds.get("join:ack", 0) > 100 and kinds.get("message:ack", 0) > 100 and kinds.get("nick:error", 0) > 10
          and kinds.get("close:pong", 0) > 20, "random: the actions cover joins, messages, taken names, closes",
          str(kinds))
    sa, sb = single[1], multi[1]
    bad = [i for i in range(min(len(sa), len(sb))) if sa[i] != sb[i]]
    why = ""
    if bad:
        i = bad[0]
        j = next((j for j in range(min(len(sa[i]), len(sb[i]))) if sa[i][j] != sb[i][j]), min(len(sa[i]), len(sb[i])))
        why = "client %d, %s %d: one process %r, three %r" % (
            i // 2, "answer" if i % 2 else "event", j, sa[i][j - 3:j + 6], sb[i][j - 3:j + 6])
    n = sum(len(s) for s in sa)
    check(not bad and len(sa) == len(sb),
          "random: every client got the same %d events and answers, each in the same order "
          "(members compared as sets)" % n, why)
    check(single[2] == multi[2], "random: the same final rooms of every client", "%r vs %r" % (single[2], multi[2]))


# ---- share: clients on different processes, through nginx -------------------------------

async def spread(url, n, **kw):
    """n clients through nginx, on every backend (nginx round robin); with their backend."""
    cs = []
    for _ in range(n):
        sizes = log_sizes()
        c = await Chat.open(url, **kw)
        c.k = backend_of(c.nick, sizes)     # logged before its welcome was sent
        cs.append(c)
    return cs


async def share(url, tag, **kw):
    cs = await spread(url, 6, **kw)
    ks = sorted(set(c.k for c in cs))
    check(ks == [0, 1, 2], "%s: 6 clients through nginx land on all 3 processes" % tag, str([c.k for c in cs]))
    names = ["%s%d" % (tag, i) for i in range(6)]
    for c, n in zip(cs, names):
        a = await c.request("nick", data=n)
        c.nick = n
        check(a["event"] == "ack", "%s: nick %s on process %s" % (tag, n, c.k), str(a))
    a = await cs[1].request("nick", data=names[0])
    check(a["event"] == "error" and a["data"] == "nick taken",
          "%s: a name taken on another process is taken" % tag, str(a))
    for c in cs[:5]:
        a = await c.request("join", room=tag + "room")
    want = sorted(names[:5])
    ok = await until(lambda: all(members(c, tag + "room") == want for c in cs[:5]), 5)
    check(ok, "%s: all 5 members (on 3 processes) see the same members list" % tag,
          str([members(c, tag + "room") for c in cs[:5]]))
    marks = [len(c.events) for c in cs]
    a = await cs[0].request("message", room=tag + "room", data="hello \u4f60\u597d \U0001f600 \"q\"")
    check(a["event"] == "ack", "%s: a room message is acked" % tag, str(a))
    got = []
    for c, m in zip(cs[1:5], marks[1:5]):
        try:
            e = await c.wait(lambda e: e["event"] == "message", start=m)
            got.append(e["data"] == {"from": names[0], "text": "hello \u4f60\u597d \U0001f600 \"q\""})
        except asyncio.TimeoutError:
            got.append(False)
    check(all(got), "%s: it reaches the other 4 members on every process, text unchanged" % tag, str(got))
    a = await cs[5].request("broadcast", data="to all")
    ok = True
    for c, m in zip(cs[:5], marks[:5]):
        try:
            await c.wait(lambda e: e["event"] == "broadcast" and e["data"]["from"] == names[5], start=m)
        except asyncio.TimeoutError:
            ok = False
    check(a["event"] == "ack" and ok, "%s: a broadcast reaches everyone on every process" % tag)
    await cs[5].request("ping")
    await cs[0].request("ping")
    check(not any(e["event"] in ("message", "broadcast") for e in cs[5].events[marks[5]:]) and
          not any(e["event"] == "message" for e in cs[0].events[marks[0]:]),
          "%s: not to the sender, not outside the room" % tag)
    await cs[2].close()
    ok = await until(lambda: all(members(c, tag + "room") == sorted(set(want) - {names[2]})
                                 for c in (cs[0], cs[1], cs[3], cs[4])), 5)
    left = [e for e in cs[0].events if e["event"] == "left" and e["data"]["nick"] == names[2]]
    check(ok and left and left[0]["data"]["why"] == "closed",
          "%s: a client closing on one process leaves the others' lists" % tag, str(left))
    for c in cs[:2] + cs[3:]:
        await c.close()


async def part_share():
    await share("ws://127.0.0.1:%d/chat" % CFG["nginx"], "sh")


async def part_wss():
    ctx = ssl.create_default_context(cafile=CFG["ca"])
    await share("wss://127.0.0.1:%d/chat" % CFG["nginx_tls"], "tl", ssl=ctx)


# ---- kill -9 of one process ------------------------------------------------------------

async def part_kill():
    url = "ws://127.0.0.1:%d/chat" % CFG["nginx"]
    cs = await spread(url, 9)
    check(sorted(set(c.k for c in cs)) == [0, 1, 2], "kill: 9 clients through nginx on all 3 processes",
          str([c.k for c in cs]))
    for i, c in enumerate(cs):
        c.name = "k%d" % i
        await c.request("nick", data=c.name)
        c.nick = c.name
        await c.request("join", room="kill")
    allnames = sorted(c.name for c in cs)
    await until(lambda: all(members(c, "kill") == allnames for c in cs), 5)
    victim = cs[0].k
    doomed = [c for c in cs if c.k == victim]
    stayed = [c for c in cs if c.k != victim]
    acked = {c.name: [] for c in cs}
    state = {"run": True}

    async def sender(c):
        seq = 0
        while state["run"]:
            seq += 1
            try:
                a = await c.request("message", room="kill", data="%s:%d" % (c.name, seq), timeout=3)
                if a["event"] == "ack":
                    acked[c.name].append(seq)
            except (asyncio.TimeoutError, websockets.ConnectionClosed):
                if c.closed_at:
                    return seq
            await asyncio.sleep(0.01)
        return seq

    tasks = {c.name: asyncio.create_task(sender(c)) for c in cs}
    await asyncio.sleep(1.0)
    pid = CFG["backends"][victim]["pid"]
    t_kill = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    CFG["backends"][victim]["killed"] = True
    await until(lambda: all(c.closed_at for c in doomed), HEARTBEAT / 1000 + 2)
    times = [c.closed_at - t_kill if c.closed_at else None for c in doomed]
    check(all(t is not None and t < HEARTBEAT / 1000 for t in times),
          "kill: kill -9 of process %d: its %d clients notice within the heartbeat time (%d ms): %s" % (
              victim, len(doomed), HEARTBEAT, ", ".join("%.0f ms" % (t * 1000) for t in times if t is not None)))
    # the others see the dead process's members leave within 5/4 of the TTL
    def dropped(c):
        return all(any(e["event"] == "left" and e["data"]["nick"] == d.name and e["data"]["why"] == "server lost"
                       for e in c.events) for d in doomed)
    ok = await until(lambda: all(dropped(c) for c in stayed), TTL * 5 / 4000 + 3)
    t_drop = time.monotonic() - t_kill
    check(ok, "kill: its members leave the others' lists (\"server lost\") in %.2f s (TTL %d ms: within %d ms + a heartbeat)"
          % (t_drop, TTL, TTL), str([members(c, "kill") for c in stayed]))
    # they come back through nginx, to another process, with their names and room
    back = []
    t_back = time.monotonic()
    for d in doomed:
        prev = acked[d.name][-1] if acked[d.name] else 0
        seq0 = await tasks[d.name]
        n = None
        for attempt in range(100):
            try:
                sizes = log_sizes()
                n = await Chat.open(url)
                break
            except (OSError, websockets.InvalidHandshake, asyncio.TimeoutError):
                await asyncio.sleep(0.1)
        if n is None:
            check(False, "kill: %s reconnects through nginx" % d.name)
            continue
        n.name, n.k = d.name, backend_of(n.nick, sizes)
        for attempt in range(100):
            a = await n.request("nick", data=d.name)
            if a["event"] == "ack":
                break
            await asyncio.sleep(0.1)
        n.nick = d.name
        await n.request("join", room="kill")
        n.seq0 = seq0
        back.append(n)
    check(len(back) == len(doomed) and all(n.k is not None and n.k != victim for n in back),
          "kill: its clients reconnect through nginx to the other processes, take their names back, rejoin "
          "(%.2f s)" % (time.monotonic() - t_back), str([(n.name, n.k) for n in back]))

    async def sender2(n):
        seq = n.seq0 + 1000                        # after a gap: what it sends from now on
        while state["run"]:
            seq += 1
            try:
                a = await n.request("message", room="kill", data="%s:%d" % (n.name, seq), timeout=3)
                if a["event"] == "ack":
                    acked[n.name].append(seq)
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(0.01)

    tasks2 = [asyncio.create_task(sender2(n)) for n in back]
    await asyncio.sleep(1.0)
    state["run"] = False
    for t in list(tasks.values()) + tasks2:
        await t
    # a broadcast published after everything: once it is in, everything before it is
    a = await stayed[0].request("broadcast", data="fence")
    for c in stayed[1:] + back:
        await c.wait(lambda e: e["event"] == "broadcast" and e["data"]["text"] == "fence", timeout=5)
    everyone = stayed + back
    problems = []
    total = 0
    for r in stayed:
        got = {}
        for e in r.events:
            if e["event"] == "message" and e["room"] == "kill":
                name, seq = e["data"]["text"].split(":")
                got.setdefault(name, []).append(int(seq))
        for s in cs:
            if s.name == r.name:
                continue
            seqs = got.get(s.name, [])
            total += len(seqs)
            if seqs != sorted(set(seqs)):
                problems.append("%s got %s's out of order or twice" % (r.name, s.name))
            missing = set(acked[s.name]) - set(seqs)
            if missing:
                problems.append("%s lacks %d acked messages of %s (%s...)" % (r.name, len(missing), s.name, sorted(missing)[:3]))
    check(not problems and total > 100,
          "kill: the %d clients that stayed got every acked message (%d), none twice, each sender's in order"
          % (len(stayed), total), "; ".join(problems[:5]))
    problems = []
    for r in back:
        got = {}
        for e in r.events:
            if e["event"] == "message":
                name, seq = e["data"]["text"].split(":")
                got.setdefault(name, []).append(int(seq))
        for name, seqs in got.items():
            if seqs != sorted(set(seqs)):
                problems.append("%s got %s's out of order or twice" % (r.name, name))
    check(not problems, "kill: the reconnected ones too: none twice, in order", "; ".join(problems[:5]))
    ok = await until(lambda: all(members(c, "kill") == allnames for c in everyone), 3)
    check(ok, "kill: the members list is whole again everywhere", str(members(stayed[0], "kill")))
    for c in everyone:
        await c.close()


# ---- Redis restart -----------------------------------------------------------------------

async def part_redis():
    url = "ws://127.0.0.1:%d/chat" % CFG["nginx"]
    alive = [i for i, b in enumerate(CFG["backends"]) if not b.get("killed")]
    cs = []
    for c in await spread(url, 3 * len(alive)):
        cs.append(c)
    for i, c in enumerate(cs):
        c.name = "r%d" % i
        await c.request("nick", data=c.name)
        c.nick = c.name
        await c.request("join", room="restart")
    names = sorted(c.name for c in cs)
    await until(lambda: all(members(c, "restart") == names for c in cs), 5)
    procs = sorted(set(c.k for c in cs))
    check(procs == alive, "redis: %d clients on processes %s" % (len(cs), procs))
    pid = int(open(CFG["redis_pidfile"]).read())
    os.kill(pid, signal.SIGKILL)
    while True:
        try:
            os.kill(pid, 0)
            await asyncio.sleep(0.01)
        except ProcessLookupError:
            break
        except PermissionError:
            break
    t_dead = time.monotonic()
    # during the outage: every request that needs Redis is refused, never acked
    answers = []
    marks = [len(c.events) for c in cs]
    for c in cs:
        answers.append(await c.request("message", room="restart", data="%s:outage" % c.name))
    check(all(a["event"] == "error" and a["data"].startswith("redis ") for a in answers),
          "redis: killed: a message on each process is refused with an error event (%s)" % answers[0].get("data"),
          str([a for a in answers if a["event"] != "error"][:3]))
    a = await cs[0].request("ping")
    check(a["event"] == "pong", "redis: killed: ping still answered")
    proc = subprocess.Popen(CFG["redis_cmd"], stdout=open(CFG["redis_log"], "a"), stderr=subprocess.STDOUT)
    open(CFG["redis_pidfile"], "w").write(str(proc.pid))
    t_up = time.monotonic()
    # each process takes requests again within a stated time: reconnect every 250 ms
    back = {}
    end = time.monotonic() + 8
    while len(back) < len(cs) and time.monotonic() < end:
        for c in cs:
            if c.name in back:
                continue
            a = await c.request("ping")     # answered through Redis when it is there
            a = await c.request("message", room="restart", data="%s:back" % c.name)
            if a["event"] == "ack":
                back[c.name] = time.monotonic() - t_up
        await asyncio.sleep(0.05)
    worst = max(back.values()) if back else None
    check(len(back) == len(cs) and worst < 5.0,
          "redis: started again: every process takes messages again within 5 s (slowest %s)" % (
              "%.0f ms" % (worst * 1000) if worst is not None else "never"), str(back))
    ok = await until(lambda: all(members(c, "restart") == names for c in cs), 5)
    check(ok, "redis: the members lists are put back (every process re-registers its clients)",
          str([members(c, "restart") for c in cs]))
    a = await cs[0].request("broadcast", data="fence")
    for c in cs[1:]:
        await c.wait(lambda e: e["event"] == "broadcast" and e["data"]["text"] == "fence")
    outage = [e for c in cs for e in c.events if e["event"] == "message" and e["data"]["text"].endswith(":outage")]
    check(not outage, "redis: what was refused during the outage was not delivered either", str(outage[:3]))
    backs = [[e["data"]["text"] for e in c.events[m:] if e["event"] == "message"] for c, m in zip(cs, marks)]
    ok = all(sorted(b) == sorted("%s:back" % o.name for o in cs if o is not c) for c, b in zip(cs, backs))
    check(ok, "redis: after it, each acked message reached every other member once", str(backs[:2]))
    for c in cs:
        await c.close()


# ---- SIGTERM -----------------------------------------------------------------------------

async def part_stop():
    url = "ws://127.0.0.1:%d/chat" % CFG["nginx"]
    alive = [i for i, b in enumerate(CFG["backends"]) if not b.get("killed")]
    cs = await spread(url, 2 * len(alive))
    for i, c in enumerate(cs):
        c.name = "s%d" % i
        await c.request("nick", data=c.name)
        c.nick = c.name
        await c.request("join", room="stop")
    victim = alive[-1]
    gone = [c for c in cs if c.k == victim]
    rest = [c for c in cs if c.k != victim]
    names = sorted(c.name for c in cs)
    await until(lambda: all(members(c, "stop") == names for c in cs), 5)
    t0 = time.monotonic()
    os.kill(CFG["backends"][victim]["pid"], signal.SIGTERM)
    ok = await until(lambda: all(any(e["event"] == "left" and e["data"]["nick"] == g.name and
                                     e["data"]["why"] == "server stopping" for e in c.events)
                                 for c in rest for g in gone), 5)
    check(ok and gone, "stop: SIGTERM to process %d: its %d members leave the others' rooms at once (%.0f ms, "
          "\"server stopping\")" % (victim, len(gone), (time.monotonic() - t0) * 1000))
    ok = await until(lambda: all(c.closed_at for c in gone), 3)
    closes = [c.ws.close_code for c in gone]
    check(ok and all(code == 1001 for code in closes), "stop: its own clients get close 1001", str(closes))
    for c in rest:
        await c.close()


async def main():
    parts = {"random": part_random, "share": part_share, "wss": part_wss, "kill": part_kill,
             "redis": part_redis, "stop": part_stop}
    for part in sys.argv[2:]:
        t0 = time.monotonic()
        try:
            await parts[part]()
        except Exception as e:      # a check that could not finish is a failure, said as such
            import traceback
            traceback.print_exc()
            check(False, "%s: did not finish: %s: %s" % (part, type(e).__name__, e))
        print("%s: done in %.1f s" % (part, time.monotonic() - t0), flush=True)


asyncio.run(main())
sys.exit(1 if failures else 0)
