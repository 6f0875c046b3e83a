#!/usr/bin/python3
"""50 reading clients and one that stops reading, against camhost's server over TLS.

    ws_many.py URL COUNT EXPECTED   prints {"counts": [...], "slow_opened": true}

Each reader sends "reader", then reads until it has EXPECTED binary messages (or 60 s pass).
The slow client completes the handshake with a small receive buffer, sends "slow" and then
never reads; it stays open until the readers are done."""
import asyncio
import json
import os
import socket
import ssl
import sys

import websockets


def tls():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def reader(url, expected):
    async with websockets.connect(url, ssl=tls(), max_size=None, compression=None, ping_interval=None) as ws:
        await ws.send("reader")
        count = 0
        try:
            while count < expected:
                message = await asyncio.wait_for(ws.recv(), 60)
                if isinstance(message, bytes):
                    count += 1
        except (asyncio.TimeoutError, websockets.ConnectionClosed):
            pass
        return count


def slow_client(port):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    sock = tls().wrap_socket(raw, server_hostname="localhost")
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    key = os.urandom(4)
    sock.sendall(bytes([0x81, 0x84]) + key + bytes(b ^ key[i % 4] for i, b in enumerate(b"slow")))
    return sock


async def main():
    url, count, expected = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    slow = slow_client(port)
    counts = await asyncio.gather(*(reader(url, expected) for _ in range(count)))
    slow.close()
    print(json.dumps({"counts": counts, "slow_opened": True}))


asyncio.run(main())
