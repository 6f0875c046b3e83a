#!/usr/bin/python3
"""A WebSocket client of camhost's live view (GET /api/v1/cameras/{camera}/live), on Debian's
python3-websockets (10.4; run it with /usr/bin/python3). Used by the tests and by
scripts/bench-live.sh. Reads every message and keeps only what it needs to report.

  live-client.py upgrade URL [--token T | --cookie C] [--origin O]
      One upgrade attempt; prints {"status": 101} or {"status": 401, ...} (the refusal's HTTP status).

  live-client.py watch URL --viewers N --seconds S [--token T | --cookie C --origin O]
                 [--stalled K] [--cafile F] [--out FILE] [--frames]
      N viewers at once, S seconds; the last K of them stop reading after their first fragment
      (a tiny receive buffer, nothing read: the server sees a viewer that does not keep up).
      Prints (or writes to FILE) a JSON summary per viewer: status texts, the type of the first
      binary messages, fragments received, whether the first was a keyframe, gaps in the decode
      timeline, the close code and reason; with --frames also [tfdt, arrival] per fragment
      (arrival: CLOCK_MONOTONIC seconds, the clock the bench's sender logs with).

URL is wss://HOST:PORT/api/v1/cameras/CAMERA/live. Certificates are not verified unless --cafile.
"""
import argparse
import asyncio
import json
import socket
import ssl
import struct
import sys
import time

import websockets
import websockets.exceptions


def headers(args):
    h = {}
    if args.token:
        h["Authorization"] = "Bearer " + args.token
    if args.cookie:
        h["Cookie"] = args.cookie
    return h


def tls(args):
    context = ssl.create_default_context(cafile=args.cafile) if args.cafile else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not args.cafile:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def box_type(data, at=0):
    return data[at + 4:at + 8].decode("latin-1") if len(data) >= at + 8 else ""


def child(data, name, start, end):
    at = start
    while at + 8 <= end:
        size = struct.unpack_from(">I", data, at)[0]
        if size < 8 or at + size > end:
            return None
        if box_type(data, at) == name:
            return at + 8, at + size
        at += size
    return None


def fragment_info(data):
    """(tfdt, first sample is sync) of a moof+mdat message, or None."""
    moof = child(data, "moof", 0, len(data))
    traf = moof and child(data, "traf", *moof)
    tfdt = traf and child(data, "tfdt", *traf)
    trun = traf and child(data, "trun", *traf)
    if not (tfdt and trun):
        return None
    version = data[tfdt[0]]
    decode = struct.unpack_from(">Q" if version == 1 else ">I", data, tfdt[0] + 4)[0]
    flags = struct.unpack_from(">I", data, trun[0])[0] & 0xFFFFFF
    at = trun[0] + 8 + (4 if flags & 1 else 0)
    first_flags = None
    if flags & 4:
        first_flags = struct.unpack_from(">I", data, at)[0]
        at += 4
    if flags & 0x100:
        at += 4
    if flags & 0x200:
        at += 4
    if flags & 0x400:
        first_flags = struct.unpack_from(">I", data, at)[0] if first_flags is None else first_flags
    sync = first_flags is not None and not (first_flags & 0x10000)
    return decode, sync


async def upgrade(args):
    try:
        async with websockets.connect(args.url, ssl=tls(args), extra_headers=headers(args), origin=args.origin,
                                      compression=None, open_timeout=10, max_size=1 << 24) as ws:
            first = await asyncio.wait_for(ws.recv(), 10)
            return {"status": 101, "first": first if isinstance(first, str) else box_type(first)}
    except websockets.exceptions.InvalidStatusCode as error:
        return {"status": error.status_code}


async def viewer(args, index, stalled, deadline, report):
    r = {"index": index, "stalled": stalled, "texts": [], "binary_types": [], "fragments": 0, "first_sync": None,
         "gaps": 0, "keyframe_after_gap": True, "bytes": 0, "close": None, "frames": [], "opened": None}
    report.append(r)
    sock = None
    host, port = args.url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    if stalled:
        # A small receive window, set before connecting, so the server's data backs up at once.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
    try:
        async with websockets.connect(args.url, ssl=tls(args), extra_headers=headers(args), origin=args.origin, sock=sock,
                                      server_hostname=host if sock else None, compression=None, open_timeout=20, close_timeout=1,
                                      max_size=1 << 24, max_queue=1 if stalled else 1024,
                                      read_limit=1024 if stalled else 1 << 16, ping_interval=None) as ws:
            r["opened"] = time.monotonic()
            last = None
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    message = await asyncio.wait_for(ws.recv(), left)
                except asyncio.TimeoutError:
                    break
                arrival = time.monotonic()
                if isinstance(message, str):
                    r["texts"].append(message)
                    continue
                r["bytes"] += len(message)
                kind = box_type(message)
                if len(r["binary_types"]) < 3:
                    r["binary_types"].append(kind)
                if kind != "moof":
                    continue
                info = fragment_info(message)
                if info is None:
                    continue
                decode, sync = info
                r["fragments"] += 1
                if r["first_sync"] is None:
                    r["first_sync"] = sync
                if last is not None and decode != last[0] + last[1]:
                    r["gaps"] += 1
                    if not sync:
                        r["keyframe_after_gap"] = False
                duration = last[1] if last else 3600
                if last is not None and 0 < decode - last[0] <= 90000:
                    duration = decode - last[0]
                last = (decode, duration)
                if args.frames:
                    r["frames"].append([decode, round(arrival, 6)])
                if stalled:
                    # Stop reading: sleep until the end, then drain what is left to learn how it ended.
                    await asyncio.sleep(max(0, deadline - time.monotonic()))
                    try:
                        while True:
                            await asyncio.wait_for(ws.recv(), 5)
                    except asyncio.TimeoutError:
                        r["close"] = {"code": None, "reason": "still open"}
                    break
            if r["close"] is None:
                await ws.close()
                r["close"] = {"code": ws.close_code, "reason": ws.close_reason}
    except websockets.exceptions.ConnectionClosed as closed:
        r["close"] = {"code": closed.code, "reason": closed.reason}
    except websockets.exceptions.InvalidStatusCode as error:
        r["close"] = {"code": None, "reason": f"HTTP {error.status_code}"}
    except (OSError, asyncio.TimeoutError) as error:
        r["close"] = {"code": None, "reason": f"{type(error).__name__}: {error}"}


async def watch(args):
    deadline = time.monotonic() + args.seconds
    report = []
    tasks = [viewer(args, i, i >= args.viewers - args.stalled, deadline, report) for i in range(args.viewers)]
    await asyncio.gather(*tasks)
    report.sort(key=lambda r: r["index"])
    return {"viewers": report}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["upgrade", "watch"])
    parser.add_argument("url")
    parser.add_argument("--token")
    parser.add_argument("--cookie")
    parser.add_argument("--origin")
    parser.add_argument("--cafile")
    parser.add_argument("--viewers", type=int, default=1)
    parser.add_argument("--stalled", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--frames", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    result = asyncio.run(upgrade(args) if args.mode == "upgrade" else watch(args))
    text = json.dumps(result)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    sys.exit(main())
