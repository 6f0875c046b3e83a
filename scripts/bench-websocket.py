#!/usr/bin/python3
"""Helpers of scripts/bench-websocket.sh, on Debian's python3-websockets 10.4.

    bench-websocket.py viewers URL COUNT       COUNT TLS clients (no verification); each sends
                                               "ready", reads binary messages until the text
                                               "done", then closes; prints the bytes received
    bench-websocket.py server KEY CERT VIEWERS MESSAGES BYTES
                                               the baseline: a websockets server over TLS doing
                                               what websocket-bench does (awaiting each send, so
                                               nothing is dropped); prints "port N", then JSON
"""
import asyncio
import json
import resource
import ssl
import sys
import time

import websockets


def cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


async def viewers(url, count):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    async def one():
        received = 0
        async with websockets.connect(url, ssl=context, compression=None, ping_interval=None, max_size=None,
                                      max_queue=None) as ws:
            await ws.send("ready")
            while True:
                message = await ws.recv()
                if message == "done":
                    return received
                received += len(message)

    totals = await asyncio.gather(*(one() for _ in range(count)))
    print(json.dumps({"received_bytes": sum(totals)}))


async def server(key, cert, count, messages, size):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    ready = []
    all_ready = asyncio.Event()
    closed = 0
    all_closed = asyncio.Event()

    async def handler(ws, path=None):
        nonlocal closed
        async for message in ws:
            if message == "ready":
                ready.append(ws)
                if len(ready) == count:
                    all_ready.set()
        closed += 1
        if closed == count:
            all_closed.set()

    async with websockets.serve(handler, "127.0.0.1", 0, ssl=context, compression=None, ping_interval=None) as running:
        print("port", running.sockets[0].getsockname()[1], flush=True)
        await all_ready.wait()
        payload = b"B" * size
        before, start = cpu_ms(), time.monotonic()
        for _ in range(messages):
            await asyncio.gather(*(ws.send(payload) for ws in ready))
        await asyncio.gather(*(ws.send("done") for ws in ready))
        await all_closed.wait()
        wall, cpu = time.monotonic() - start, cpu_ms() - before
    print(json.dumps({"server": "python-websockets", "viewers": count, "messages": messages, "bytes": size,
                      "wall_ms": int(wall * 1000), "cpu_ms": int(cpu)}), flush=True)


if sys.argv[1] == "viewers":
    asyncio.run(viewers(sys.argv[2], int(sys.argv[3])))
else:
    asyncio.run(server(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])))
