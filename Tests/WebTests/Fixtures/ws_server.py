#!/usr/bin/python3
"""Python `websockets` 10.4 as the third-party server for camhost's WebSocketClient.

    ws_server.py      prints its port, then serves ws://127.0.0.1:PORT until killed

Each text message is a command: "echo:X" -> X; "fragments" -> one text message sent in three
fragments; "binary-fragments" -> one binary message in fragments; "ping" -> a ping, then the text
"pong-received" once the client's pong came back; "close" -> close 4002 "server says bye"."""
import asyncio

import websockets


async def handler(ws, path=None):
    async for message in ws:
        if isinstance(message, bytes):
            await ws.send(message)
        elif message.startswith("echo:"):
            await ws.send(message[5:])
        elif message == "fragments":
            await ws.send(["one ", "two ", "three ✓"])
        elif message == "binary-fragments":
            await ws.send([bytes([1, 2]), bytes(70000), bytes([3])])
        elif message == "ping":
            pong = await ws.ping(b"server ping")
            await asyncio.wait_for(pong, 5)
            await ws.send("pong-received")
        elif message == "close":
            await ws.close(4002, "server says bye")


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.Future()


asyncio.run(main())
