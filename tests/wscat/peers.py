"""Servers for build/wscat's tests, on 127.0.0.1 at a free port (printed as "listening PORT"):
    /usr/bin/python3 tests/wscat/peers.py websockets [CERT KEY]   Python `websockets` server
        (with CERT and KEY: over TLS, wss://), by path:
        /          echo             /proto   says the subprotocol, then echo
        /binary    sends binary     /header  says the X-Wscat header, then echo
        /close4000 closes 4000      /goaway  closes 1001         /drop  drops TCP
        (the last three at the first message they receive)
    /usr/bin/python3 tests/wscat/peers.py silent      completes one handshake, then answers
        nothing (what it reads is dropped); says how long the client stayed
    /usr/bin/python3 tests/wscat/peers.py pong        one connection: answers pings and
        counts them until the client's close, which it echoes; prints "pings N"
Each exits by itself (at most 30 s)."""
import asyncio
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "loopback"))
from wsraw import CLOSE, PING, PONG, Peer, accept_key  # noqa: E402


async def handler(ws, path=None):
    path = ws.path
    if path == "/proto":
        await ws.send("subprotocol: %s" % ws.subprotocol)
    elif path == "/header":
        await ws.send("X-Wscat: %s" % ws.request_headers.get("X-Wscat", "(none)"))
    elif path == "/binary":
        await ws.send(bytes(range(40)))
        await ws.send(b"\xff\x00\x7f")
    async for msg in ws:
        if path == "/close4000":
            await ws.close(4000, "custom reason")
        elif path == "/goaway":
            await ws.close(1001, "going away")
        elif path == "/drop":
            ws.transport.abort()
        else:
            await ws.send(msg)


async def serve_websockets(cert=None, key=None):
    import ssl
    import websockets
    tls = {}
    if cert:
        tls["ssl"] = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls["ssl"].load_cert_chain(cert, key)
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["superchat", "chat"],
                                compression=None, ping_interval=None, **tls) as server:
        print("listening %d" % server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(30)


def accept_one():
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(20)
    print("listening %d" % lsock.getsockname()[1], flush=True)
    sock, _ = lsock.accept()
    peer = Peer(sock, client=False)
    head = peer.read_head()
    key = next(line.split(":", 1)[1].strip() for line in head.split("\r\n")
               if line.lower().startswith("sec-websocket-key:"))
    peer.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: %s\r\n\r\n" % accept_key(key)).encode())
    return peer


def silent():
    peer = accept_one()
    t0 = time.monotonic()
    peer.sock.settimeout(25)
    try:                        # swallow the pings, answer nothing, until the client goes
        while peer.sock.recv(4096):
            pass
    except (socket.timeout, ConnectionResetError):
        pass
    print("client left after %.2f s" % (time.monotonic() - t0), flush=True)


def pong():
    peer = accept_one()
    pings = 0
    while True:
        fin, rsv, op, payload, masked = peer.read_frame(25)
        if op == PING:
            pings += 1
            peer.send_frame(PONG, payload)
        elif op == CLOSE:
            peer.send_frame(CLOSE, payload)
            break
    print("pings %d" % pings, flush=True)
    peer.sock.close()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "websockets":
        asyncio.run(serve_websockets(*sys.argv[2:4]))
    elif mode == "silent":
        silent()
    else:
        pong()
