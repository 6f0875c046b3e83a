#!/usr/bin/python3
"""The camera of scripts/bench-live.sh: sends an H.264 Annex B file as RTP (RFC 6184: single NAL
units, FU-A above the MTU; marker on a picture's last packet) at RATE pictures/s, looping with
continuing timestamps, and logs when each picture's last packet left: one line per picture,
"INDEX MONOTONIC_SECONDS" (CLOCK_MONOTONIC, the clock live-client.py stamps arrivals with).

Usage: bench-live-sender.py FILE.h264 HOST PORT SECONDS LOG [--rate 25] [--from-port 40000]
No RTCP: the receiver's feedback is not needed for a constant bitrate file.
"""
import argparse
import socket
import struct
import time

parser = argparse.ArgumentParser()
parser.add_argument("file")
parser.add_argument("host")
parser.add_argument("port", type=int)
parser.add_argument("seconds", type=float)
parser.add_argument("log")
parser.add_argument("--rate", type=int, default=25)
parser.add_argument("--from-port", type=int, default=40000)
parser.add_argument("--mtu", type=int, default=1200)
args = parser.parse_args()

data = open(args.file, "rb").read()
starts = []
i = 0
while i + 3 <= len(data):
    if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
        starts.append((i - 1 if i > 0 and data[i - 1] == 0 else i, i + 3))
        i += 3
    else:
        i += 1
nals = [data[s[1]:(starts[k + 1][0] if k + 1 < len(starts) else len(data))] for k, s in enumerate(starts)]

# Pictures: a new one starts at AUD/SPS/PPS/SEI or a slice with first_mb_in_slice 0, after a slice.
pictures, current, has_slice = [], [], False
for nal in nals:
    if not nal:
        continue
    kind = nal[0] & 0x1F
    starts_picture = kind in (6, 7, 8, 9) or (kind in (1, 5) and len(nal) > 1 and nal[1] & 0x80)
    if starts_picture and has_slice:
        pictures.append(current)
        current, has_slice = [], False
    if kind != 9:
        current.append(nal)
    has_slice = has_slice or kind in (1, 5)
if has_slice:
    pictures.append(current)

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", args.from_port))
sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
destination = (args.host, args.port)
ssrc, sequence = 0x2A2A2A2A, 1000
payload = args.mtu - 12


def packets(picture):
    for n, nal in enumerate(picture):
        last_nal = n == len(picture) - 1
        if len(nal) <= payload:
            yield nal, last_nal
            continue
        header, body = nal[0], nal[1:]
        fu_indicator = (header & 0xE0) | 28
        chunks = [body[k:k + payload - 2] for k in range(0, len(body), payload - 2)]
        for c, chunk in enumerate(chunks):
            fu_header = (header & 0x1F) | (0x80 if c == 0 else 0) | (0x40 if c == len(chunks) - 1 else 0)
            yield bytes([fu_indicator, fu_header]) + chunk, last_nal and c == len(chunks) - 1


log = open(args.log, "w")
interval = 1.0 / args.rate
start = time.monotonic()
count = int(args.seconds * args.rate)
for index in range(count):
    due = start + index * interval
    pause = due - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    timestamp = (index * 90000 // args.rate) & 0xFFFFFFFF
    for body, marker in packets(pictures[index % len(pictures)]):
        header = struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | 96, sequence & 0xFFFF, timestamp, ssrc)
        sock.sendto(header + body, destination)
        sequence += 1
    log.write(f"{index} {time.monotonic():.6f}\n")
log.close()
