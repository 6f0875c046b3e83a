import Control
import JSONText
import Media
import POSIX
import Storage
import Synchronization
import TestSupport
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The Kurento engine against the protocol double: what it creates, offers, accepts, remembers
/// in Storage and releases.
@Suite(.serialized) struct KurentoEngineTests {
    /// Records what the engine asks the RTCP watch to confirm.
    final class Expectations: FeedbackConfirmation {
        let calls = Mutex<[(camera: String, address: IPAddress, within: Duration, offer: String)]>([])
        func expectFeedback(camera: String, address: IPAddress, within: Duration, offer: String) {
            calls.withLock { $0.append((camera, address, within, offer)) }
        }
    }

    struct Bench {
        let directory: TemporaryDirectory
        let store: Store
        let root: String
        let double: KurentoDouble
        let expectations = Expectations()

        init(_ arguments: [String] = ["--answer-address", "192.0.2.9"]) throws {
            directory = try TemporaryDirectory(prefix: "kurento-engine")
            root = directory.file("recordings")
            mkdir(root, 0o755)
            store = try Store(path: directory.file("camhost.db"), migrator: CamhostSchema.migrator)
            double = try KurentoDouble(arguments)
        }

        func engine(stream: FirmwareProfile.Stream, mediaAddress: IPAddress? = nil) -> KurentoEngine {
            var settings = KurentoEngine.Settings(url: double.url, mediaAddress: mediaAddress, recordingsRoot: root)
            settings.statsInterval = .milliseconds(100)
            settings.client.pingInterval = .zero
            settings.client.callTimeout = .seconds(5)
            return KurentoEngine(settings: settings, profiles: { $0 == "gate" ? stream : nil }, store: store, feedback: expectations,
                                 hostAddresses: { thisHost })
        }

        var owned: [String] { ((try? KurentoObjects(store: store).all(kurentoURL: double.url)) ?? []).map(\.objectID) }
    }

    static func gateStream(_ text: String? = nil) throws -> FirmwareProfile.Stream {
        if let text { return try profile(stream: text).stream }
        return try shippedProfile("acme-json").stream
    }

    var configuration: StreamConfiguration { StreamConfiguration(camera: "gate", source: camera, port: 40000) }

    @Test func openOffersTheCameraAndTakesKurentosPort() throws {
        let bench = try Bench()
        let engine = bench.engine(stream: try Self.gateStream())
        defer { engine.close() }
        let session = try engine.open(configuration, sinks: [])
        let offer = try #require(session.offer)
        #expect(offer.contains("c=IN IP4 192.168.1.20\r\n"))
        #expect(offer.contains("m=video 5004 RTP/AVPF 96\r\n"))
        #expect(SDPCheck(try SessionDescription(parsing: offer), camera: camera, hostAddresses: thisHost).verdict == .ok)
        let answer = try SessionDescription(parsing: try #require(session.answer))
        #expect(session.destinationPort == answer.media[0].media.port)
        #expect(session.destinationHost == IPAddress(192, 0, 2, 9))   // the answer's c=, no media.address
        #expect(bench.owned.count == 1)
        session.start()
        let asked = bench.expectations.calls.withLock { $0 }
        #expect(asked.count == 1)
        #expect(asked.first?.address == camera && asked.first?.within == .seconds(10) && asked.first?.offer == offer)
        #expect(try bench.double.requests().prefix(5) == [
            "create MediaPipeline", "create RtpEndpoint", "subscribe MediaFlowInStateChanged", "subscribe Error", "invoke processOffer",
        ])
        session.stop()
        #expect(bench.owned.isEmpty)
        #expect(try bench.double.requests().last == "release")
    }

    @Test func mediaAddressReplacesTheAnswersAddress() throws {
        let bench = try Bench()
        let engine = bench.engine(stream: try Self.gateStream(), mediaAddress: IPAddress(10, 1, 2, 3))
        defer { engine.close() }
        let session = try engine.open(configuration, sinks: [])
        defer { session.stop() }
        #expect(session.destinationHost == IPAddress(10, 1, 2, 3))
        #expect(session.answer?.contains("c=IN IP4 192.0.2.9") == true)
    }

    @Test func reportCountsWhatReachesKurento() throws {
        let bench = try Bench()
        let engine = bench.engine(stream: try Self.gateStream())
        defer { engine.close() }
        let session = try engine.open(configuration, sinks: [])
        defer { session.stop() }
        session.start()
        let loopback = UInt32(0x7F00_0001)
        let socket = try UDPSocket(bindingTo: UDPAddress(host: .v4(loopback), port: 0))
        let datagram = [UInt8](repeating: 0x80, count: 100)
        for _ in 0..<20 { try datagram.withUnsafeBytes { try socket.send($0, to: UDPAddress(host: .v4(loopback), port: session.destinationPort)) } }
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { session.report.packets == 20 })
        #expect(session.report.bytes == 2000)
    }

    @Test func comediaAnswerWithoutPassiveIsRefusedAndNothingIsLeft() throws {
        let bench = try Bench()
        let engine = bench.engine(stream: try shippedProfile("plainval").stream)
        defer { engine.close() }
        try bench.double.control("passive", "on=0")
        do {
            _ = try engine.open(configuration, sinks: [])
            Issue.record("an answer without a=direction:passive was accepted")
        } catch let error as OfferError {
            #expect(error.description.contains("a=direction:passive"))
        }
        #expect(bench.owned.isEmpty)
        #expect(try bench.double.requests().last == "release")
        // With a Kurento that takes the role, the same stream opens.
        try bench.double.control("passive", "on=1")
        let session = try engine.open(configuration, sinks: [])
        #expect(session.offer?.contains("a=direction:active") == true)
        session.stop()
    }

    @Test func trapAddressIsNeverOffered() throws {
        let bench = try Bench()
        let engine = bench.engine(stream: try Self.gateStream())
        defer { engine.close() }
        #expect(throws: OfferError.thisHost(IPAddress(192, 168, 1, 5))) {
            _ = try engine.open(StreamConfiguration(camera: "gate", source: IPAddress(192, 168, 1, 5), port: 40000), sinks: [])
        }
        #expect(throws: OfferError.unspecified(IPAddress(0, 0, 0, 0))) {
            _ = try engine.open(StreamConfiguration(camera: "gate", source: IPAddress(0, 0, 0, 0), port: 40000), sinks: [])
        }
        #expect(try bench.double.requests().isEmpty)   // nothing was created for a refused offer
    }

    @Test func cameraWithoutProfileIsAClearError() throws {
        let bench = try Bench()
        let engine = bench.engine(stream: try Self.gateStream())
        defer { engine.close() }
        do {
            _ = try engine.open(StreamConfiguration(camera: "door", source: camera, port: 40000), sinks: [])
            Issue.record("opened without a profile")
        } catch {
            #expect("\(error)".contains("firmware profile"))
        }
    }

    @Test func recordsIntoTheRootAndRegistersWhenStopped() throws {
        let bench = try Bench(["--answer-address", "192.0.2.9", "--write-recordings"])
        let engine = bench.engine(stream: try Self.gateStream())
        defer { engine.close() }
        let recorder = try SegmentRecorder(root: bench.root, camera: "gate", store: bench.store)
        let session = try engine.open(configuration, sinks: [recorder])
        let requests = try bench.double.requests()
        #expect(requests.contains("create RecorderEndpoint") && requests.contains("invoke connect") && requests.contains("invoke record"))
        #expect(try bench.double.control("log").contains("\"uri\": \"file://\(bench.root)/gate/"))
        session.stop()
        #expect(try bench.double.requests().suffix(2) == ["invoke stopAndWait", "release"])
        let rows = try RecordingIndex(store: bench.store, root: bench.root).list(camera: "gate")
        #expect(rows.count == 1)
        #expect(rows.first?.bytes == 37)
        recorder.close()
    }

    @Test func restartReleasesThePipelinesCamhostNoLongerOwns() throws {
        let bench = try Bench()
        let first = bench.engine(stream: try Self.gateStream())
        _ = try first.open(configuration, sinks: [])
        _ = try first.open(configuration, sinks: [])
        first.close()   // camhost dies without stopping its streams
        #expect(bench.owned.count == 2)
        let second = bench.engine(stream: try Self.gateStream())
        defer { second.close() }
        #expect(try second.releaseLeftovers() == 2)
        #expect(bench.owned.isEmpty)
        #expect(try bench.double.requests().suffix(2) == ["release", "release"])
        // A pipeline Kurento already forgot is not an error.
        _ = try second.open(configuration, sinks: [])
        try bench.double.control("forget")
        let third = bench.engine(stream: try Self.gateStream())
        defer { third.close() }
        #expect(try third.releaseLeftovers() == 0)
        #expect(bench.owned.isEmpty)
    }

    @Test func firstConnectionReleasesLeftoversBeforeTheFirstStream() throws {
        let bench = try Bench()
        let first = bench.engine(stream: try Self.gateStream())
        let old = try first.open(configuration, sinks: [])
        first.close()
        let leftover = try #require(bench.owned.first)
        let second = bench.engine(stream: try Self.gateStream())
        defer { second.close() }
        let session = try second.open(configuration, sinks: [])   // no releaseLeftovers() call
        #expect(bench.owned.count == 1 && bench.owned.first != leftover)
        #expect(try bench.double.control("log").split(separator: "\n").contains { $0.contains("\"method\": \"release\"") && $0.contains(leftover) })
        session.stop()
        _ = old
    }

    @Test func kurentoRestartLosesTheSessionsAndTheirRows() throws {
        let bench = try Bench()
        let engine = bench.engine(stream: try Self.gateStream())
        defer { engine.close() }
        let session = try engine.open(configuration, sinks: [])
        session.start()
        try bench.double.control("forget")
        try bench.double.control("drop")
        #expect(Loopback.waitUntil(timeout: .seconds(5)) { bench.owned.isEmpty })
        session.stop()   // nothing left to release: no call hangs or fails loudly
        // The next open creates everything again on the new session.
        let again = try engine.open(configuration, sinks: [])
        #expect(bench.owned.count == 1)
        again.stop()
    }
}

extension KurentoEngine {
    /// The manager's request for a `[[media.streams]]`-like spec (the profile comes from the engine's `profiles`).
    func open(_ configuration: StreamConfiguration, sinks: [any AccessUnitSink]) throws -> any MediaSession {
        try open(MediaStreamRequest(configuration: configuration,
                                    spec: StreamSpec(camera: configuration.camera, source: configuration.source, record: false, origin: .configured)),
                 sinks: sinks)
    }
}
