#!/usr/bin/python3
"""Python `websockets` client against an echo server: prints "ok ..." or "FAIL ..." per check.

usage: /usr/bin/python3 client_check.py ws://127.0.0.1:PORT/
       /usr/bin/python3 client_check.py wss://localhost:PORT/ CA.pem    (TLS: an ssl context
       that trusts that CA and checks the host name; echo_server --cert)
"""
import asyncio
import os
import ssl
import sys

import websockets


async def expect_echo(ws, name, msg):
    await ws.send(msg)
    got = await asyncio.wait_for(ws.recv(), 20)
    if type(got) is not type(msg):
        print("FAIL %s: sent %s, got %s back" % (name, type(msg).__name__, type(got).__name__))
    elif got != msg:
        at = next((i for i, (a, b) in enumerate(zip(got, msg)) if a != b), min(len(got), len(msg)))
        print("FAIL %s: echo differs at offset %d (%d bytes sent, %d back)" % (name, at, len(msg), len(got)))
    else:
        print("ok %s" % name)


async def main(url, ca=None):
    tls = {"ssl": ssl.create_default_context(cafile=ca)} if ca else {}
    async with websockets.connect(url, max_size=2 ** 26, compression=None,
                                  ping_interval=None, **tls) as ws:
        if ca:
            v = ws.transport.get_extra_info("ssl_object").version()
            print("ok TLS handshake (%s), the certificate verified against the test CA" % v)
        await expect_echo(ws, "text 'hello'", "hello")
        await expect_echo(ws, "text with Chinese and emoji", "你好，世界 🌏 ws.h")
        await expect_echo(ws, "empty text", "")
        await expect_echo(ws, "empty binary", b"")
        await expect_echo(ws, "binary 125 bytes", os.urandom(125))
        await expect_echo(ws, "binary 65536 bytes", os.urandom(65536))
        await expect_echo(ws, "binary 1 MiB", os.urandom(1 << 20))
        await expect_echo(ws, "text 16 MiB", ("聊天室" * (16 << 20))[: (16 << 20) // 3])
        await expect_echo(ws, "binary 16 MiB", os.urandom(16 << 20))
        # a fragmented message: websockets sends an iterable as fragments
        await ws.send(["frag", "mented ", "text"])
        got = await asyncio.wait_for(ws.recv(), 10)
        print(("ok" if got == "fragmented text" else "FAIL") + " fragmented text echoed whole")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        print("ok ping answered by a pong with the same payload")
        await ws.close(4000, "bye")
        print(("ok" if ws.close_code == 4000 else "FAIL") +
              " close 4000 echoed (got %s)" % ws.close_code)
    # a close with 1000
    async with websockets.connect(url, compression=None, ping_interval=None, **tls) as ws:
        await ws.close(1000)
        print(("ok" if ws.close_code == 1000 else "FAIL") +
              " close 1000 echoed (got %s)" % ws.close_code)


try:
    asyncio.run(asyncio.wait_for(main(*sys.argv[1:3]), 120))
except Exception as e:  # any failure to run is a failed check
    print("FAIL client stopped: %r" % (e,))
