#!/usr/bin/python3
"""A TEST DOUBLE of Kurento Media Server's JSON-RPC interface: this is not Kurento.

Written from Kurento's documented messages, not from its code:
  - doc-kurento/source/features/kurento_protocol.rst (github.com/Kurento/kurento): the JSON-RPC
    2.0 envelope, ping/pong, create, invoke, subscribe, release, connect (and error 40007
    "Invalid session"), onEvent notifications;
  - server/module-core/src/server/interface/core.kmd.json: MediaPipeline, MediaElement.connect,
    the MediaFlowInStateChanged event (state FLOWING | NOT_FLOWING, padName, mediaType) and Error;
  - server/module-elements/src/server/interface/elements.RtpEndpoint.kmd.json and
    elements.RecorderEndpoint.kmd.json: the constructors (mediaPipeline, uri), record, stopAndWait;
  - Kurento 7.0's release notes: MediaFlowInStateChange renamed MediaFlowInStateChanged; a
    subscription to an unknown event type is answered with error 40106.

What it models: object ids of the form PIPELINE_kurento.MediaPipeline/ID_kurento.TYPE, one session
per client (its id in every result), the SDP answer of an RtpEndpoint (its own UDP port pair,
bound for real, a new even port each offer; c= is this host's first non-loopback IPv4 address, as
libnice picks it; a=direction:passive answering a COMEDIA offer's a=direction:active), events to
subscribers, and the 6.x event name (--kms-version 6).
What it does not model: media. It never sends RTP or RTCP and never decodes or records (a
RecorderEndpoint's stopAndWait writes nothing), no WebRTC, no ICE, no describe, no real garbage
collection timer (forgetting sessions is explicit, through /control/forget). It only counts the
datagrams reaching an RtpEndpoint's RTP port, for getStats' inboundrtp packetsReceived/bytesReceived.

Test controls, over plain HTTP on the same port (GET, answered without a WebSocket upgrade):
  /control/drop                 abort every open connection (TCP reset; a crashed or restarted KMS)
  /control/forget               forget every session and its objects (a restarted KMS: 40007 on connect)
  /control/slow?method=M&seconds=S[&operation=O]   the next such request is answered after S seconds
  /control/error?method=M&code=C&message=T[&operation=O]  the next such request gets this error
  /control/malformed            send one text frame that is not JSON to every client, now
  /control/emit?type=T&state=S  send event T (MediaFlowInStateChanged/Error...) to its subscribers
  /control/passive?on=0|1       whether a COMEDIA answer carries a=direction:passive (default 1)
  /control/log                  the requests received so far, one JSON object a line
Command line: --port N (0: any; the port is printed as "LISTENING <port>" on stdout),
  --host H (default 127.0.0.1), --answer-address A (default: the first non-loopback IPv4
  address), --kms-version 6|7 (default 7), --write-recordings (stopAndWait writes a placeholder
  file at the recorder's file:// uri, so registration can be tested; it is not a video).
"""

import argparse
import asyncio
import fcntl
import json
import random
import socket
import struct
import sys
import uuid
from http import HTTPStatus
from urllib.parse import parse_qs, urlparse

import websockets
import websockets.server

MEDIA_FLOW_7 = "MediaFlowInStateChanged"
MEDIA_FLOW_6 = "MediaFlowInStateChange"


def first_interface_address():
    """The first non-loopback IPv4 address, as libnice's candidate gathering would find it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _, name in socket.if_nameindex():
            if name == "lo":
                continue
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                return address
    finally:
        s.close()
    return "127.0.0.1"


class Double:
    def __init__(self, args):
        self.version = args.kms_version
        self.answer_address = args.answer_address or first_interface_address()
        self.sessions = {}          # session id -> set of object ids
        self.objects = {}           # object id -> {"type", "session", "pipeline"}
        self.subscriptions = {}     # subscription id -> (session id, object, type)
        self.session_ws = {}        # session id -> the connection that last spoke for it
        self.clients = set()
        self.log = []
        self.slow = []              # [{"method", "operation", "seconds"}]
        self.errors = []            # [{"method", "operation", "code", "message"}]
        self.passive = True
        self.write_recordings = args.write_recordings
        self.sockets = {}           # endpoint id -> (rtp socket, rtcp socket)
        self.received = {}          # endpoint id -> [datagrams, bytes] that reached its RTP port

    # --- HTTP controls --------------------------------------------------------------------
    async def process_request(self, path, headers):
        url = urlparse(path)
        if not url.path.startswith("/control/"):
            return None
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        action = url.path[len("/control/"):]
        body = "ok\n"
        if action == "drop":
            for ws in list(self.clients):
                ws.transport.abort()
            body = "dropped %d\n" % len(self.clients)
        elif action == "forget":
            for endpoint in list(self.sockets):
                self.close_sockets(endpoint)
            self.sessions.clear()
            self.objects.clear()
            self.subscriptions.clear()
            self.session_ws.clear()
        elif action == "slow":
            self.slow.append({"method": q.get("method"), "operation": q.get("operation"), "seconds": float(q.get("seconds", "5"))})
        elif action == "error":
            self.errors.append({"method": q.get("method"), "operation": q.get("operation"),
                                "code": int(q.get("code", "40000")), "message": q.get("message", "error from the double")})
        elif action == "malformed":
            for ws in list(self.clients):
                await ws.send("{this is not json")
            body = "sent %d\n" % len(self.clients)
        elif action == "emit":
            body = "sent %d\n" % await self.emit(q.get("type", MEDIA_FLOW_7), q)
        elif action == "passive":
            self.passive = q.get("on", "1") == "1"
        elif action == "log":
            body = "".join(json.dumps(entry) + "\n" for entry in self.log)
        else:
            return (HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"unknown control\n")
        return (HTTPStatus.OK, [("Content-Type", "text/plain")], body.encode())

    # --- JSON-RPC -------------------------------------------------------------------------
    async def serve(self, ws, path=None):
        self.clients.add(ws)
        session = {"id": None}
        try:
            async for text in ws:
                try:
                    request = json.loads(text)
                except ValueError:
                    await ws.send(json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}))
                    continue
                asyncio.ensure_future(self.answer(ws, session, request))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)
            # Subscriptions belong to the session (kept across a reconnection with `connect`).
            for sid, owner in list(self.session_ws.items()):
                if owner is ws:
                    del self.session_ws[sid]

    def take(self, queue, method, operation):
        for entry in queue:
            if entry["method"] in (None, method) and entry["operation"] in (None, operation):
                queue.remove(entry)
                return entry
        return None

    async def answer(self, ws, session, request):
        method = request.get("method")
        params = request.get("params") or {}
        rid = request.get("id")
        operation = params.get("operation")
        self.log.append({"method": method, "params": params})
        slow = self.take(self.slow, method, operation)
        if slow:
            await asyncio.sleep(slow["seconds"])
        injected = self.take(self.errors, method, operation)
        try:
            if injected:
                raise RPCError(injected["code"], injected["message"], "INJECTED")
            result = self.dispatch(ws, session, method, params)
            if session["id"] is not None:
                self.session_ws[session["id"]] = ws
            reply = {"jsonrpc": "2.0", "id": rid, "result": result}
        except RPCError as e:
            reply = {"jsonrpc": "2.0", "id": rid, "error": {"code": e.code, "message": e.message, "data": {"type": e.kind}}}
        try:
            await ws.send(json.dumps(reply))
        except websockets.ConnectionClosed:
            pass

    def session_for(self, session, params, creating):
        sid = params.get("sessionId") or session["id"]
        if sid is None or sid not in self.sessions:
            if not creating and sid is not None:
                raise RPCError(40007, "Invalid session", "INVALID_SESSION")
            sid = str(uuid.uuid4())
            self.sessions[sid] = set()
        session["id"] = sid
        return sid

    def dispatch(self, ws, session, method, params):
        if method == "ping":
            return {"value": "pong"}
        if method == "connect":
            sid = params.get("sessionId")
            if sid is not None and sid not in self.sessions:
                raise RPCError(40007, "Invalid session", "INVALID_SESSION")
            sid = self.session_for(session, params, creating=True)
            return {"serverId": "kurento-double", "sessionId": sid}
        if method == "create":
            sid = self.session_for(session, params, creating=True)
            kind = params.get("type")
            constructor = params.get("constructorParams") or {}
            if kind == "MediaPipeline":
                oid = "%s_kurento.MediaPipeline" % uuid.uuid4()
                pipeline = oid
            elif kind in ("RtpEndpoint", "RecorderEndpoint"):
                pipeline = constructor.get("mediaPipeline")
                if pipeline not in self.objects:
                    raise RPCError(40101, "Object '%s' not found" % pipeline, "MEDIA_OBJECT_NOT_FOUND")
                if kind == "RecorderEndpoint" and not constructor.get("uri"):
                    raise RPCError(40001, "RecorderEndpoint needs a uri", "MARSHALL_ERROR")
                oid = "%s/%s_kurento.%s" % (pipeline, uuid.uuid4(), kind)
            else:
                raise RPCError(40100, "Type '%s' not found" % kind, "MEDIA_OBJECT_TYPE_NOT_FOUND")
            self.objects[oid] = {"type": kind, "session": sid, "pipeline": pipeline, "uri": constructor.get("uri")}
            self.sessions[sid].add(oid)
            return {"value": oid, "sessionId": sid}
        sid = self.session_for(session, params, creating=False)
        if method == "invoke":
            target = self.object(params.get("object"))
            operation = params.get("operation")
            op = params.get("operationParams") or {}
            if operation == "processOffer" and target["type"] == "RtpEndpoint":
                return {"value": self.answer_sdp(params["object"], op.get("offer", "")), "sessionId": sid}
            if operation == "getStats" and target["type"] == "RtpEndpoint":
                packets, octets = self.received.get(params["object"], [0, 0])
                stats_id = params["object"] + "_inboundrtp"
                return {"value": {stats_id: {"id": stats_id, "type": "inboundrtp", "timestampMillis": 1700000000000,
                                             "packetsReceived": packets, "bytesReceived": octets, "packetsLost": 0,
                                             "jitter": 0.0, "ssrc": "0", "isRemote": False}}, "sessionId": sid}
            if operation == "connect":
                self.object(op.get("sink"))
                return {"sessionId": sid}
            if operation in ("record", "stopAndWait", "stop") and target["type"] == "RecorderEndpoint":
                uri = target.get("uri") or ""
                if operation == "stopAndWait" and self.write_recordings and uri.startswith("file://"):
                    # A placeholder, not a video: only so the client's registration has a file to find.
                    with open(uri[len("file://"):], "wb") as f:
                        f.write(b"kurento double placeholder recording\n")
                return {"sessionId": sid}
            raise RPCError(40105, "Method '%s' not found on %s" % (operation, target["type"]), "MEDIA_OBJECT_METHOD_NOT_FOUND")
        if method == "subscribe":
            self.object(params.get("object"))
            kind = params.get("type")
            known = {"Error", MEDIA_FLOW_7 if self.version >= 7 else MEDIA_FLOW_6}
            if kind not in known:
                raise RPCError(40106, "Event '%s' not found" % kind, "MEDIA_OBJECT_EVENT_NOT_SUPPORTED")
            sub = str(uuid.uuid4())
            self.subscriptions[sub] = (sid, params.get("object"), kind)
            return {"value": sub, "sessionId": sid}
        if method == "unsubscribe":
            self.subscriptions.pop(params.get("subscription"), None)
            return {"sessionId": sid}
        if method == "release":
            oid = params.get("object")
            self.object(oid)
            for child in [o for o in self.objects if o == oid or self.objects[o]["pipeline"] == oid]:
                self.close_sockets(child)
                owner = self.objects.pop(child)["session"]
                self.sessions.get(owner, set()).discard(child)
            return {"sessionId": sid}
        raise RPCError(-32601, "Method not found: %s" % method, "METHOD_NOT_FOUND")

    def object(self, oid):
        if oid not in self.objects:
            raise RPCError(40101, "Object '%s' not found" % oid, "MEDIA_OBJECT_NOT_FOUND")
        return self.objects[oid]

    def close_sockets(self, endpoint):
        for s in self.sockets.pop(endpoint, ()):
            try:
                asyncio.get_event_loop().remove_reader(s.fileno())
            except (ValueError, RuntimeError):
                pass
            s.close()
        self.received.pop(endpoint, None)

    def count(self, endpoint, sock):
        """Counts what reaches the answer's RTP port (the only media the double looks at: getStats)."""
        try:
            data = sock.recv(65536)
        except OSError:
            return
        entry = self.received.setdefault(endpoint, [0, 0])
        entry[0] += 1
        entry[1] += len(data)

    def bind_pair(self):
        """A real even/odd UDP port pair, so the answer's port is one nobody else holds."""
        for _ in range(100):
            port = random.randrange(20000, 60000, 2)
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtp.bind(("0.0.0.0", port))
                rtcp.bind(("0.0.0.0", port + 1))
                return port, (rtp, rtcp)
            except OSError:
                rtp.close()
                rtcp.close()
        raise RPCError(40000, "no free UDP port pair", "UNEXPECTED_ERROR")

    def answer_sdp(self, endpoint, offer):
        lines = [l.strip() for l in offer.replace("\r\n", "\n").split("\n") if l.strip()]
        video = [l for l in lines if l.startswith("m=video ")]
        if not lines or not lines[0].startswith("v=0") or not video:
            raise RPCError(40208, "SDP offer could not be parsed", "SDP_PARSE_ERROR")
        formats = video[0].split()[3:]
        comedia = any(l == "a=direction:active" for l in lines)
        self.close_sockets(endpoint)
        port, pair = self.bind_pair()
        self.sockets[endpoint] = pair
        self.received[endpoint] = [0, 0]
        pair[0].setblocking(False)
        asyncio.get_event_loop().add_reader(pair[0].fileno(), self.count, endpoint, pair[0])
        a = self.answer_address
        out = ["v=0", "o=- 3900000000 3900000000 IN IP4 %s" % a, "s=Kurento Media Server", "c=IN IP4 %s" % a, "t=0 0",
               "m=video %d RTP/AVPF %s" % (port, " ".join(formats))]
        if comedia and self.passive:
            out.append("a=direction:passive")
        out.append("a=recvonly")
        for l in lines:
            if l.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")) and l.split(":", 1)[1].split()[0] in formats:
                out.append(l)
        out.append("a=ssrc:%d cname:user%d@host-double" % (random.randrange(1, 2**32), random.randrange(1, 2**31)))
        return "\r\n".join(out) + "\r\n"

    async def emit(self, kind, q):
        sent = 0
        for _, (sid, oid, subscribed) in list(self.subscriptions.items()):
            ws = self.session_ws.get(sid)
            if subscribed != kind or ws is None:
                continue
            data = {"source": oid, "type": kind, "tags": [], "timestampMillis": "1700000000000"}
            if kind in (MEDIA_FLOW_7, MEDIA_FLOW_6):
                data.update({"state": q.get("state", "FLOWING"), "padName": "default", "mediaType": "VIDEO"})
            if kind == "Error":
                data.update({"description": q.get("description", "error from the double"), "errorCode": int(q.get("code", "1")),
                             "type": q.get("errortype", "UNEXPECTED_ERROR")})
            message = {"jsonrpc": "2.0", "method": "onEvent", "params": {"value": {"data": data, "object": oid, "type": kind}}}
            try:
                await ws.send(json.dumps(message))
                sent += 1
            except websockets.ConnectionClosed:
                pass
        return sent


class RPCError(Exception):
    def __init__(self, code, message, kind):
        super().__init__(message)
        self.code, self.message, self.kind = code, message, kind


async def main():
    parser = argparse.ArgumentParser(description="A test double of Kurento's JSON-RPC interface (not Kurento).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--answer-address", default=None)
    parser.add_argument("--kms-version", type=int, default=7, choices=(6, 7))
    parser.add_argument("--write-recordings", action="store_true",
                        help="on stopAndWait write a small placeholder file at a RecorderEndpoint's file:// uri")
    args = parser.parse_args()
    double = Double(args)
    server = await websockets.server.serve(double.serve, args.host, args.port, process_request=double.process_request,
                                           ping_interval=None, max_size=1 << 20)
    port = server.sockets[0].getsockname()[1]
    print("LISTENING %d" % port, flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
