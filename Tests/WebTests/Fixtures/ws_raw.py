#!/usr/bin/python3
"""A raw TLS socket that breaks RFC 6455 on purpose, to check what camhost's server answers.

    ws_raw.py PORT unmasked|bad-utf8|refusal-version|refusal-key|pipelined|abrupt

Frame modes print the close frame's code and reason as JSON; refusal modes print the HTTP
status line and the Sec-WebSocket-Version header of the answer; "pipelined" sends a frame in
the same write as the upgrade request and prints the echo; "abrupt" ends the TCP connection
without a close frame."""
import json
import os
import socket
import ssl
import struct
import sys


def connect(port):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def upgrade(sock, version="13", key="dGhlIHNhbXBsZSBub25jZQ=="):
    lines = ["GET /ws HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Version: " + version]
    if key is not None:
        lines.append("Sec-WebSocket-Key: " + key)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return read_head(sock)


def read_frame(sock, pending):
    data = pending
    while True:
        if len(data) >= 2:
            length = data[1] & 0x7F
            start = 2
            if length == 126:
                length = struct.unpack("!H", data[2:4])[0]
                start = 4
            if len(data) >= start + length:
                return data[0] & 0x0F, data[start:start + length]
        chunk = sock.recv(4096)
        if not chunk:
            return None, b""
        data += chunk


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    sock = connect(port)
    if mode.startswith("refusal"):
        head, _ = upgrade(sock, version="12") if mode == "refusal-version" else upgrade(sock, key=None)
        lines = head.split("\r\n")
        version = [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("sec-websocket-version:")]
        print(json.dumps({"status": lines[0], "version": version[0] if version else None}))
        return
    if mode == "pipelined":
        key = os.urandom(4)
        frame = bytes([0x81, 0x85]) + key + bytes(b ^ key[i % 4] for i, b in enumerate(b"early"))
        sock.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" + frame)
        head, rest = read_head(sock)
        opcode, payload = read_frame(sock, rest)
        print(json.dumps({"status": head.split("\r\n")[0], "opcode": opcode, "echo": payload.decode()}))
        return
    head, rest = upgrade(sock)
    assert head.startswith("HTTP/1.1 101"), head
    if mode == "abrupt":
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        print(json.dumps({"ended": True}))
        return
    if mode == "unmasked":
        sock.sendall(bytes([0x81, 0x02]) + b"hi")
    elif mode == "bad-utf8":
        key = os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(b"\xff\xfe\xfd"))
        sock.sendall(bytes([0x81, 0x83]) + key + payload)
    opcode, payload = read_frame(sock, rest)
    code = struct.unpack("!H", payload[:2])[0] if opcode == 8 and len(payload) >= 2 else None
    print(json.dumps({"opcode": opcode, "code": code, "reason": payload[2:].decode("utf-8", "replace") if payload else ""}))


main()
