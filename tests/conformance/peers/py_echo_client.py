#!/usr/bin/python3
"""Echo client on Python `websockets` (Debian's, /usr/bin/python3) for validating the suite.

usage: /usr/bin/python3 py_echo_client.py ws://127.0.0.1:PORT [AGENT [deflate]]
/getCaseCount, then /runCase?case=N&agent=A for each case (echo every message), then
/updateReports?agent=A. Bounded to 300 s. With "deflate", the cases' connections offer
websockets' default compression (permessage-deflate, zlib).
"""
import asyncio
import sys
import urllib.parse

import websockets


async def run(base, agent, compression):
    async with websockets.connect(base + "/getCaseCount", compression=None) as ws:
        count = int(await ws.recv())
    q = urllib.parse.quote(agent)
    for i in range(1, count + 1):
        try:
            async with websockets.connect("%s/runCase?case=%d&agent=%s" % (base, i, q), max_size=None,
                                          compression=compression, ping_interval=None) as ws:
                async for msg in ws:
                    await ws.send(msg)
        except Exception:
            pass
    try:
        async with websockets.connect("%s/updateReports?agent=%s" % (base, q), compression=None) as ws:
            await ws.wait_closed()
    except Exception:
        pass


base = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"
agent = sys.argv[2] if len(sys.argv) > 2 else "python-websockets"
compression = "deflate" if sys.argv[3:4] == ["deflate"] else None
asyncio.run(asyncio.wait_for(run(base, agent, compression), 300))
