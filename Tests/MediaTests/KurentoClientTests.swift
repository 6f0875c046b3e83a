import JSONText
import Media
import POSIX
import Synchronization
import TestSupport
import Testing
import Wire

/// The Kurento client against the protocol double (a python3-websockets server written from
/// Kurento's documented messages; Tests/MediaTests/Fixtures/kurento_double.py).
@Suite(.serialized) struct KurentoClientTests {
    static let offer = "v=0\r\no=camhost 0 0 IN IP4 192.0.2.20\r\ns=camhost cam1\r\nt=0 0\r\nm=video 5004 RTP/AVPF 96\r\nc=IN IP4 192.0.2.20\r\na=sendonly\r\na=rtpmap:96 H264/90000\r\n"

    func options(timeout: Duration = .seconds(5), ping: Duration = .zero) -> KurentoClient.Options {
        var options = KurentoClient.Options()
        options.callTimeout = timeout
        options.pingInterval = ping
        options.reconnectDelay = .milliseconds(50)
        return options
    }

    /// Collects what the client tells its subscribers.
    final class Inbox: Sendable {
        let items = Mutex<[KurentoClient.Notification]>([])
        func add(_ n: KurentoClient.Notification) { items.withLock { $0.append(n) } }
        var all: [KurentoClient.Notification] { items.withLock { $0 } }
        func wait(_ predicate: (KurentoClient.Notification) -> Bool) -> Bool { Loopback.waitUntil(timeout: .seconds(10)) { all.contains(where: predicate) } }
    }

    @Test func fullStartAndStopSequence() throws {
        let double = try KurentoDouble()
        let client = try KurentoClient(url: double.url, options: options())
        defer { client.close() }
        let pipeline = try client.createPipeline()
        #expect(client.sessionID != nil)
        let endpoint = try client.createRtpEndpoint(pipeline: pipeline)
        let recorder = try client.createRecorder(pipeline: pipeline, uri: "file:///tmp/camhost-test/cam1.mp4")
        #expect(try client.subscribeMediaFlow(object: endpoint) == KurentoEvent.mediaFlowIn)
        _ = try client.subscribe(object: endpoint, type: "Error")
        let answer = try client.processOffer(endpoint: endpoint, offer: Self.offer)
        let parsed = try SessionDescription(parsing: answer)
        #expect(parsed.media.first?.media.port ?? 0 >= 20000)
        try client.connect(source: endpoint, sink: recorder)
        try client.record(recorder: recorder)
        try client.ping()
        try client.stopAndWait(recorder: recorder)
        try client.release(pipeline)
        #expect(try double.requests() == [
            "create MediaPipeline", "create RtpEndpoint", "create RecorderEndpoint", "subscribe MediaFlowInStateChanged", "subscribe Error",
            "invoke processOffer", "invoke connect", "invoke record", "ping", "invoke stopAndWait", "release",
        ])
        // Released with its pipeline: the endpoint is gone.
        #expect(throws: KurentoError.self) { try client.release(endpoint) }
    }

    @Test func eventsReachSubscribers() throws {
        let double = try KurentoDouble()
        let client = try KurentoClient(url: double.url, options: options())
        defer { client.close() }
        let inbox = Inbox()
        client.subscribe(inbox.add)
        let pipeline = try client.createPipeline()
        let endpoint = try client.createRtpEndpoint(pipeline: pipeline)
        try client.subscribeMediaFlow(object: endpoint)
        _ = try client.subscribe(object: endpoint, type: "Error")
        #expect(try double.control("emit", "type=MediaFlowInStateChanged&state=FLOWING") == "sent 1\n")
        #expect(try double.control("emit", "type=Error&description=disk%20full") == "sent 1\n")
        #expect(inbox.wait { if case .event(let e) = $0 { e.type == "Error" } else { false } })
        let events = inbox.all.compactMap { if case .event(let e) = $0 { e } else { nil } }
        #expect(events.first?.type == KurentoEvent.mediaFlowIn)
        #expect(events.first?.object == endpoint)
        #expect(events.first?.flowState == "FLOWING")
        #expect(events.last?.data["description"]?.stringValue == "disk full")
    }

    @Test func sixXServerGetsTheOldEventName() throws {
        let double = try KurentoDouble(["--kms-version", "6"])
        let client = try KurentoClient(url: double.url, options: options())
        defer { client.close() }
        let endpoint = try client.createRtpEndpoint(pipeline: try client.createPipeline())
        #expect(try client.subscribeMediaFlow(object: endpoint) == KurentoEvent.mediaFlowIn6)
        #expect(try double.requests().suffix(2) == ["subscribe MediaFlowInStateChanged", "subscribe MediaFlowInStateChange"])
    }

    @Test func errorReplyNamesMethodAndCode() throws {
        let double = try KurentoDouble()
        let client = try KurentoClient(url: double.url, options: options())
        defer { client.close() }
        let endpoint = try client.createRtpEndpoint(pipeline: try client.createPipeline())
        try double.control("error", "method=invoke&operation=processOffer&code=40208&message=SDP%20offer%20could%20not%20be%20parsed")
        do {
            _ = try client.processOffer(endpoint: endpoint, offer: Self.offer)
            Issue.record("the injected error did not arrive")
        } catch {
            #expect(error == .server(method: "invoke processOffer", code: 40208, message: "SDP offer could not be parsed"))
            #expect(error.description.contains("invoke processOffer") && error.description.contains("40208"))
        }
        // The next call works.
        #expect(try client.processOffer(endpoint: endpoint, offer: Self.offer).hasPrefix("v=0"))
        // Unknown objects are the server's error too.
        #expect(throws: KurentoError.server(method: "release", code: 40101, message: "Object 'nothing' not found")) { try client.release("nothing") }
    }

    @Test func slowAnswerPastTheTimeOut() throws {
        let double = try KurentoDouble()
        let client = try KurentoClient(url: double.url, options: options(timeout: .milliseconds(500)))
        defer { client.close() }
        let endpoint = try client.createRtpEndpoint(pipeline: try client.createPipeline())
        try double.control("slow", "method=invoke&operation=processOffer&seconds=2")
        let started = ContinuousClock.now
        #expect(throws: KurentoError.timedOut(method: "invoke processOffer", url: double.url, after: .milliseconds(500))) {
            _ = try client.processOffer(endpoint: endpoint, offer: Self.offer)
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(450) && waited < .milliseconds(1500))
        #expect(KurentoError.timedOut(method: "invoke processOffer", url: double.url, after: .milliseconds(500)).description
            == "Kurento at \(double.url) did not answer invoke processOffer within 0.5 s")
        // The late answer arrives after the call gave up: dropped, and the client goes on.
        Clock.sleep(milliseconds: 1800)
        try client.ping()
    }

    @Test func malformedJSONIsReportedAndTheClientGoesOn() throws {
        let double = try KurentoDouble()
        let client = try KurentoClient(url: double.url, options: options())
        defer { client.close() }
        let inbox = Inbox()
        client.subscribe(inbox.add)
        try client.ping()
        #expect(try double.control("malformed") == "sent 1\n")
        #expect(inbox.wait { if case .malformed = $0 { true } else { false } })
        #expect(client.malformedMessages == 1)
        if case .malformed(let reason)? = inbox.all.first { #expect(reason.contains("not a Kurento JSON-RPC message")) }
        let pipeline = try client.createPipeline()
        #expect(pipeline.hasSuffix("_kurento.MediaPipeline"))
    }

    @Test func droppedConnectionResumesTheSession() throws {
        let double = try KurentoDouble()
        let client = try KurentoClient(url: double.url, options: options())
        defer { client.close() }
        let inbox = Inbox()
        client.subscribe(inbox.add)
        let pipeline = try client.createPipeline()
        let endpoint = try client.createRtpEndpoint(pipeline: pipeline)
        try client.subscribeMediaFlow(object: endpoint)
        let session = try #require(client.sessionID)
        try double.control("drop")
        #expect(inbox.wait { if case .resumed = $0 { true } else { false } })
        #expect(inbox.all.contains { if case .disconnected = $0 { true } else { false } })
        #expect(inbox.all.contains(.resumed(sessionID: session)))
        #expect(client.sessionID == session)
        // The objects and the subscription are still there.
        _ = try client.processOffer(endpoint: endpoint, offer: Self.offer)
        #expect(try double.control("emit", "type=MediaFlowInStateChanged") == "sent 1\n")
        #expect(inbox.wait { if case .event = $0 { true } else { false } })
        #expect(try double.requests().contains("connect"))
    }

    @Test func forgottenSessionIs40007AndANewSession() throws {
        let double = try KurentoDouble()
        let client = try KurentoClient(url: double.url, options: options())
        defer { client.close() }
        let inbox = Inbox()
        client.subscribe(inbox.add)
        let pipeline = try client.createPipeline()
        let old = try #require(client.sessionID)
        try double.control("forget")
        try double.control("drop")
        #expect(inbox.wait { if case .sessionLost = $0 { true } else { false } })
        guard case .sessionLost(let fresh?)? = inbox.all.first(where: { if case .sessionLost = $0 { true } else { false } }) else {
            Issue.record("no new session id: \(inbox.all)")
            return
        }
        #expect(fresh != old)
        #expect(client.sessionID == fresh)
        // The old objects are gone; new ones can be made.
        #expect(throws: KurentoError.self) { try client.release(pipeline) }
        _ = try client.createRtpEndpoint(pipeline: try client.createPipeline())
        #expect(try double.requests().filter { $0 == "connect" }.count == 2)
    }

    @Test func callsDuringAnOutageFailClearly() throws {
        let double = try KurentoDouble()
        let client = try KurentoClient(url: double.url, options: options())
        defer { client.close() }
        try client.ping()
        double.kill()
        do {
            try client.ping()
            Issue.record("a ping to a dead server succeeded")
        } catch {
            #expect(error.description.contains(double.url))
        }
    }

    @Test func nothingListening() throws {
        let port = Loopback.freePort()
        do {
            _ = try KurentoClient(url: "ws://127.0.0.1:\(port)/kurento", options: options())
            Issue.record("connected to nothing")
        } catch {
            #expect(error.description.hasPrefix("cannot connect to Kurento at ws://127.0.0.1:\(port)/kurento"))
        }
    }

    @Test func keepAlivePingsGoOut() throws {
        let double = try KurentoDouble()
        let client = try KurentoClient(url: double.url, options: options(ping: .milliseconds(300)))
        defer { client.close() }
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { ((try? double.requests()) ?? []).filter { $0 == "ping" }.count >= 2 })
    }
}
