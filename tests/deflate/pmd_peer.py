"""permessage-deflate with a real peer: Python websockets (its default compression, a zlib
client with context takeover) against build/echo_server, which takes the offer, inflates
what the client compresses and echoes it uncompressed.
    python3 tests/deflate/pmd_peer.py PORT
Prints "ok ..." / "FAIL ..." lines."""
import asyncio
import sys

import websockets

PORT = int(sys.argv[1])


def say(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)


async def main():
    url = "ws://127.0.0.1:%d/" % PORT
    async with websockets.connect(url, max_size=64 << 20, compression="deflate") as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        say(ext.startswith("permessage-deflate") and "server_no_context_takeover" in ext,
            "the server took the client's offer: %r" % ext)
        msgs = [
            '{"event":"message","room":"lobby","text":"你好, websocket 👍"}',
            "websocket是基于TCP的一种新的网络协议，" * 4000,          # 440 kB of text
            bytes(range(256)) * 4000,                                # 1 MB binary
            "",
            "x" * 2_000_000,                                          # inflates a lot
        ]
        for _ in range(3):                                            # context taken over
            for m in msgs:
                await ws.send(m)
                back = await asyncio.wait_for(ws.recv(), 20)
                if back != m:
                    say(False, "echo of a %d-byte %s message" % (len(m), type(m).__name__))
                    return
        say(True, "15 messages compressed by websockets (text, CJK, 1 MB binary, empty, "
                  "2 MB of one letter), each echoed exactly, context taken over")
    async with websockets.connect(url, compression=None) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions")
        say(ext is None, "no offer, no extension in the 101")
        await ws.send("plain")
        say(await ws.recv() == "plain", "plain messages still echoed")


asyncio.run(main())
