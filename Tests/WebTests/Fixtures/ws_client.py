#!/usr/bin/python3
"""Python `websockets` (Debian's python3-websockets 10.4) as the third-party client of
camhost's WebSocket server, over TLS with verification off (the test's self-signed certificate).

    ws_client.py URL SCENARIO     prints one JSON object of what it observed

Scenarios: echo (text, binary, fragmented, ping, close handshake), server-close, oversized,
await-close (connect and wait for the server to close), quiet SECONDS (silent, then echo),
across-reload (echo before and after a certificate reload, then wait for the close)."""
import asyncio
import json
import ssl
import sys

import websockets


def tls():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def echo(url):
    seen = {}
    async with websockets.connect(url, ssl=tls(), max_size=None, compression=None) as ws:
        await ws.send("héllo ✓")
        seen["text"] = await ws.recv()
        binary = bytes(range(256)) * 1000
        await ws.send(binary)
        answer = await ws.recv()
        seen["binary_equal"] = answer == binary
        seen["binary_length"] = len(answer)
        # A fragmented text message: websockets sends an iterable as one message in fragments.
        await ws.send(["frag", "ment", "ed ✓"])
        seen["fragmented_text"] = await ws.recv()
        await ws.send([b"\x00\x01", b"\x02", b"\x03\x04"])
        seen["fragmented_binary"] = list(await ws.recv())
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        seen["pong"] = True
        await ws.close(code=4001, reason="done here")
        seen["close_code"] = ws.close_code
        seen["close_reason"] = ws.close_reason
    return seen


async def server_close(url):
    seen = {}
    async with websockets.connect(url, ssl=tls(), compression=None) as ws:
        await ws.send("close-me")
        try:
            await asyncio.wait_for(ws.recv(), 10)
            seen["closed"] = False
        except websockets.ConnectionClosed as closed:
            seen["closed"] = True
            seen["close_code"] = closed.rcvd.code if closed.rcvd else None
            seen["close_reason"] = closed.rcvd.reason if closed.rcvd else None
            # Both close frames went through: the close handshake completed.
            seen["handshake"] = closed.rcvd is not None and closed.sent is not None
    return seen


async def oversized(url):
    seen = {}
    async with websockets.connect(url, ssl=tls(), max_size=None, compression=None) as ws:
        await ws.send(b"x" * 2000)
        try:
            await asyncio.wait_for(ws.recv(), 10)
            seen["closed"] = False
        except websockets.ConnectionClosed as closed:
            seen["closed"] = True
            seen["close_code"] = closed.rcvd.code if closed.rcvd else None
            seen["close_reason"] = closed.rcvd.reason if closed.rcvd else None
    return seen


async def await_close(url):
    """Connects and waits for the server to close (a server that stops)."""
    seen = await server_close_waiting(url, send=None)
    return seen


async def server_close_waiting(url, send):
    seen = {}
    async with websockets.connect(url, ssl=tls(), compression=None) as ws:
        if send is not None:
            await ws.send(send)
        try:
            await asyncio.wait_for(ws.recv(), 20)
            seen["closed"] = False
        except websockets.ConnectionClosed as closed:
            seen["closed"] = True
            seen["close_code"] = closed.rcvd.code if closed.rcvd else None
            seen["close_reason"] = closed.rcvd.reason if closed.rcvd else None
            # Both close frames went through: the close handshake completed.
            seen["handshake"] = closed.rcvd is not None and closed.sent is not None
    return seen


async def quiet(url, seconds):
    """Sends nothing for a while (and never pings), then checks the connection still echoes."""
    seen = {}
    async with websockets.connect(url, ssl=tls(), compression=None, ping_interval=None) as ws:
        await asyncio.sleep(seconds)
        try:
            await ws.send("still here")
            seen["echo"] = await asyncio.wait_for(ws.recv(), 5)
        except websockets.ConnectionClosed as closed:
            seen["close_code"] = closed.rcvd.code if closed.rcvd else None
    return seen


async def across_reload(url):
    """Echo before and 1.5 s after the test reloads the certificate, then wait for the close."""
    seen = {}
    async with websockets.connect(url, ssl=tls(), compression=None, ping_interval=None) as ws:
        await ws.send("first")
        seen["first"] = await ws.recv()
        await asyncio.sleep(1.5)
        await ws.send("second")
        seen["second"] = await ws.recv()
        try:
            await asyncio.wait_for(ws.recv(), 20)
        except websockets.ConnectionClosed as closed:
            seen["close_code"] = closed.rcvd.code if closed.rcvd else None
            seen["close_reason"] = closed.rcvd.reason if closed.rcvd else None
    return seen


async def main():
    url, scenario = sys.argv[1], sys.argv[2]
    if scenario == "quiet":
        result = await quiet(url, float(sys.argv[3]))
    else:
        run = {"echo": echo, "server-close": server_close, "oversized": oversized, "await-close": await_close,
               "across-reload": across_reload}[scenario]
        result = await asyncio.wait_for(run(url), 30)
    print(json.dumps(result))


asyncio.run(main())
