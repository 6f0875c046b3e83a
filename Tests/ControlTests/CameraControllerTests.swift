import Control
import Logging
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite struct CameraControllerTests {
    func setUp(_ profileName: String, failureRate: Double = 0, count: Int = 2, rtcpTimeout: Duration? = nil) async throws
        -> (Broker, CameraSimulator, CameraController) {
        let broker = try Broker()
        let profile = try loadProfile(profileName)
        let simulator = CameraSimulator(configuration: .init(count: count, profile: profile, broker: broker.options,
                                                             failureRate: failureRate, seed: 42, rtcpTimeout: rtcpTimeout))
        try await simulator.start()
        let client = MQTTClient(options: broker.options)
        try await client.connect()
        let controller = CameraController(client: client, profile: profile, timeout: .seconds(2))
        try await controller.start()
        return (broker, simulator, controller)
    }

    @Test(arguments: ["acme-json", "plainval"])
    func commandsAreDone(profile: String) async throws {
        let (broker, simulator, controller) = try await setUp(profile)
        let id = simulator.cameraIDs[0]
        let mode = controller.profile.modes[1]
        let result = try await controller.send(.setMode(mode), to: id)
        #expect(result.outcome == .done)
        #expect(simulator.mode(of: id) == mode)
        #expect(try await controller.send(.reboot, to: id).outcome == .done)
        #expect(try await controller.send(.getStatus, to: simulator.cameraIDs[1]).outcome == .done)
        // Per-camera FIFO: concurrent commands to one camera all complete, last mode wins.
        let modes = controller.profile.modes
        try await withThrowingTaskGroup(of: CommandOutcome.self) { group in
            for m in modes + [modes[0]] { group.addTask { try await controller.send(.setMode(m), to: id).outcome } }
            for try await outcome in group { #expect(outcome == .done) }
        }
        await simulator.stop()
        controller.stop()
        _ = broker
    }

    @Test(arguments: ["acme-json", "plainval"])
    func failuresAndTimeouts(profile: String) async throws {
        let (broker, simulator, controller) = try await setUp(profile, failureRate: 1)
        let result = try await controller.send(.reboot, to: simulator.cameraIDs[0])
        guard case .failed(let reason) = result.outcome else { Issue.record("expected failed, got \(result.outcome)"); return }
        #expect(reason.contains("simulated failure"))
        let started = ContinuousClock.now
        let missing = try await controller.send(.reboot, to: CameraID("nobody")!, timeout: .milliseconds(300))
        #expect(missing.outcome == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(1))
        await simulator.stop()
        controller.stop()
        _ = broker
    }

    @Test func twoControllersWithDefaultIDsBothGetAcks() async throws {
        let (broker, simulator, first) = try await setUp("acme-json")
        let client = MQTTClient(options: broker.options)
        try await client.connect()
        let second = CameraController(client: client, profile: first.profile, timeout: .seconds(2))
        try await second.start()
        #expect(first.client.clientID != second.client.clientID)
        for _ in 0..<5 {
            async let a = first.send(.getStatus, to: simulator.cameraIDs[0])
            async let b = second.send(.getStatus, to: simulator.cameraIDs[1])
            let (ra, rb) = try await (a, b)
            #expect(ra.outcome == .done && rb.outcome == .done)
        }
        #expect(first.client.state == .connected && second.client.state == .connected)
        await simulator.stop()
    }

    @Test func misbehavingCameraDoesNotBreakCommands() async throws {
        let (broker, simulator, _) = try await setUp("acme-json", count: 1)
        let lines = CapturedLog()
        let client = MQTTClient(options: broker.options)
        try await client.connect()
        let controller = CameraController(client: client, profile: try loadProfile("acme-json"), timeout: .seconds(2),
                                          logger: Logger(label: "test") { _ in lines.handler })
        try await controller.start()
        let id = simulator.cameraIDs[0]
        let rogue = MQTTClient(options: broker.options)
        try await rogue.connect()
        let ack = "cameras/\(id)/ack"
        try await rogue.publish(topic: ack, text: "{not json")
        try await rogue.publish(topic: ack, text: #"{"id": 7, "result": ["done"]}"#)
        try await rogue.publish(topic: ack, text: #"{"id": "unknown-id", "result": "done"}"#)
        try await rogue.publish(topic: ack, payload: [UInt8](repeating: 0x7b, count: 1 << 20))
        try await rogue.publish(topic: ack, payload: [0xff, 0xfe, 0x00])
        try await rogue.publish(topic: ack, text: String(repeating: "[", count: 10_000))
        for i in 0..<10_000 {
            try await rogue.publish(topic: ack, text: #"{"id":"flood-\#(i)","result":"done"}"#, qos: .atMostOnce)
        }
        let result = try await controller.send(.setMode("night"), to: id, timeout: .seconds(5))
        #expect(result.outcome == .done)
        // Each kind of garbage is logged with its topic, and the flood does not bury the journal:
        // at most a few lines per topic per window (10,006 bad messages above).
        let ignored = lines.entries.filter { $0.message.hasPrefix("ignored") }
        #expect(ignored.contains { $0.message == "ignored malformed ack" && $0.metadata["topic"] == "\(ack)" })
        #expect(ignored.allSatisfy { $0.metadata["topic"] == "\(ack)" })
        #expect(ignored.count >= 3 && ignored.count <= 5, "\(ignored.map(\.message))")
        await rogue.disconnect()
        await simulator.stop()
    }

    @Test func commandDuringOutageFailsAtOnce() async throws {
        let (broker, simulator, controller) = try await setUp("acme-json", count: 1)
        broker.kill()
        #expect(await eventually(.seconds(2)) { controller.client.state != .connected })
        let started = ContinuousClock.now
        let error = await #expect(throws: MosquittoError.self) { try await controller.send(.reboot, to: simulator.cameraIDs[0]) }
        #expect(error?.kind == .notConnected)
        #expect(ContinuousClock.now - started < .milliseconds(100))
        try broker.start()
        #expect(await eventually(.seconds(5)) { controller.client.state == .connected })
        #expect(await eventually(.seconds(5)) { simulator.client(for: simulator.cameraIDs[0])?.state == .connected })
        #expect(try await controller.send(.reboot, to: simulator.cameraIDs[0]).outcome == .done)
        await simulator.stop()
    }

    @Test func streamStopsWithoutRTCPAndContinuesWithIt() async throws {
        let (broker, simulator, controller) = try await setUp("acme-json", count: 2, rtcpTimeout: .seconds(1))
        let receiver = UDPReceiver()
        let silent = simulator.cameraIDs[0], answered = simulator.cameraIDs[1]
        for id in [silent, answered] {
            let r = try await controller.send(.startStream(StreamDestination(host: "127.0.0.1", rtpPort: receiver.port)), to: id)
            #expect(r.outcome == .done)
        }
        let answeredPort = try #require(simulator.stream(of: answered)?.localPort)
        let deadline = ContinuousClock.now + .milliseconds(2500)
        while ContinuousClock.now < deadline {
            receiver.drain()
            receiver.sendRTCP(toPort: answeredPort + 1)
            try await Task.sleep(for: .milliseconds(200))
        }
        let s = try #require(simulator.stream(of: silent))
        #expect(!s.active && s.stoppedForLackOfRTCP)
        #expect(s.packetsSent >= 15 && s.packetsSent <= 40)  // ~25/s for ~1 s
        let a = try #require(simulator.stream(of: answered))
        #expect(a.active && a.rtcpReceived > 0 && a.packetsSent > 40)
        #expect(receiver.received > 40)
        #expect(try await controller.send(.stopStream, to: answered).outcome == .done)
        #expect(simulator.stream(of: answered)?.active == false)
        await simulator.stop()
        _ = broker
    }
}

/// A UDP socket standing in for the media server: counts RTP, sends RTCP receiver reports.
final class UDPReceiver: @unchecked Sendable {
    let fd: Int32
    let port: Int
    var received = 0

    init() {
        let (fd, port) = Loopback.bind(type: SOCK_DGRAM)
        self.fd = fd
        self.port = Int(port)
    }
    deinit { close(fd) }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) > 0 { received += 1 }
    }

    /// An empty RTCP receiver report (RFC 3550 §6.4.2).
    func sendRTCP(toPort port: Int) {
        let rr: [UInt8] = [0x80, 201, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78]
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, rr, rr.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }
}

/// Keeps what a Logger writes, for tests that assert on log lines.
final class CapturedLog: Sendable {
    struct Entry: Sendable { let level: Logger.Level; let message: String; let metadata: [String: String] }
    private let store = Mutex<[Entry]>([])
    var entries: [Entry] { store.withLock { $0 } }
    var handler: Handler { Handler(log: self) }

    struct Handler: LogHandler {
        let log: CapturedLog
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            let fields = (metadata ?? [:]).mapValues { "\($0)" }
            log.store.withLock { $0.append(Entry(level: level, message: "\(message)", metadata: fields)) }
        }
    }
}
