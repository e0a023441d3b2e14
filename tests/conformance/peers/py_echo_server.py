#!/usr/bin/python3
"""Echo server on Python `websockets` (Debian's, /usr/bin/python3) for validating the suite.

usage: /usr/bin/python3 py_echo_server.py PORT [LIFETIME_SECONDS [deflate]]   (PORT 0: a free one)
Prints "listening PORT" once ready; exits by itself after LIFETIME_SECONDS (default 600).
With "deflate", websockets' default compression (permessage-deflate, zlib) is on; else off.
"""
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    lifetime = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
    compression = "deflate" if sys.argv[3:4] == ["deflate"] else None
    async with websockets.serve(echo, "127.0.0.1", port, max_size=2 ** 26, compression=compression,
                                ping_interval=None) as srv:
        print("listening %d" % srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(lifetime)


asyncio.run(main())
