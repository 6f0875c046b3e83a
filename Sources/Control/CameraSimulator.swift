import JSONText
import Logging
import POSIX
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Simulated cameras speaking a firmware profile over a real broker: availability with a last
/// will, retained status, acks (or state echoes) after a delay with a failure rate, and RTP
/// streams that stop when no RTCP comes back within the profile's timeout — as real firmware does.
public final class CameraSimulator: Sendable {
    public struct Configuration: Sendable {
        public var count: Int
        public var profile: FirmwareProfile
        public var broker: MQTTClient.Options
        public var idPrefix: String
        public var ackDelay: Duration
        /// 0…1: share of commands answered with a failure.
        public var failureRate: Double
        /// Fixed seed for reproducible failures; nil draws one.
        public var seed: UInt64?
        public var firmwareVersion: String
        /// Overrides the profile's `rtcp_timeout_seconds` (tests use ~1 s).
        public var rtcpTimeout: Duration?
        public var packetsPerSecond: Int
        /// Real H.264 to stream (looping, at its frame rate); nil sends dummy RTP packets.
        public var video: SimulatorVideo?

        public init(count: Int, profile: FirmwareProfile, broker: MQTTClient.Options, idPrefix: String = "sim-",
                    ackDelay: Duration = .zero, failureRate: Double = 0, seed: UInt64? = nil,
                    firmwareVersion: String = "sim-1.0", rtcpTimeout: Duration? = nil, packetsPerSecond: Int = 25,
                    video: SimulatorVideo? = nil) {
            self.video = video
            self.count = count
            self.profile = profile
            self.broker = broker
            self.idPrefix = idPrefix
            self.ackDelay = ackDelay
            self.failureRate = failureRate
            self.seed = seed
            self.firmwareVersion = firmwareVersion
            self.rtcpTimeout = rtcpTimeout
            self.packetsPerSecond = packetsPerSecond
        }
    }

    /// A simulated camera's stream as seen from outside.
    public struct StreamInfo: Sendable, Equatable {
        public var active: Bool
        /// The camera's RTP source port; it listens for RTCP on `localPort + 1`.
        public var localPort: Int
        public var packetsSent: Int
        public var rtcpReceived: Int
        public var stoppedForLackOfRTCP: Bool
    }

    public let configuration: Configuration
    public let cameraIDs: [CameraID]
    private let logger: Logger
    private let ignoredLog: ThrottledLog
    private struct Camera { var client: MQTTClient; var mode: String; var stream: StreamInfo?; var streamTask: Task<Void, Never>?; var handler: UInt64? }
    private let cameras = Mutex<[CameraID: Camera]>([:])
    private let random: Mutex<SplitMix64>

    public init(configuration: Configuration, logger: Logger = Logger(label: "camhost.control.simulator")) {
        self.configuration = configuration
        self.logger = logger
        self.ignoredLog = ThrottledLog(logger: logger)
        self.cameraIDs = (0..<configuration.count).map { CameraID("\(configuration.idPrefix)\($0 + 1)")! }
        self.random = Mutex(SplitMix64(seed: configuration.seed ?? UInt64.random(in: .min ... .max)))
    }

    /// Connects every camera and publishes its availability and status.
    public func start() async throws {
        let profile = configuration.profile
        for id in cameraIDs {
            var options = configuration.broker
            options.clientID = nil
            options.clientIDPrefix = "camsim-\(id)"
            options.will = .init(topic: profile.topics.availability.render(id: id), payload: Array(profile.offline.utf8), qos: .atLeastOnce, retain: true)
            let client = MQTTClient(options: options, logger: logger)
            let mode = profile.modes.first ?? "default"
            cameras.withLock { $0[id] = Camera(client: client, mode: mode) }
            try await client.connect()
            // Commands are answered on the MQTT network thread, in arrival order, as firmware's
            // single-threaded MQTT task does; only a configured ack delay moves them to a task.
            let handler = client.addMessageHandler { [weak self, weak client] message in
                guard let self, let client else { return }
                let delay = self.configuration.ackDelay
                if delay > .zero {
                    Task {
                        try? await Task.sleep(for: delay)
                        self.handle(message, camera: id, client: client)
                    }
                } else {
                    self.handle(message, camera: id, client: client)
                }
            }
            cameras.withLock { $0[id]?.handler = handler }
            switch profile.encoding {
            case .json: try await client.subscribe(profile.topics.command!.render(id: id))
            case .plain:
                for topic in Set(profile.commands.values.compactMap { $0.topic?.render(id: id) }) { try await client.subscribe(topic) }
            }
            try publishStatus(id)
            try await client.setRetained(topic: profile.topics.availability.render(id: id), text: profile.online)
        }
    }

    /// Shuts every camera down as firmware does on a clean power-off: retained availability
    /// `offline` (a clean DISCONNECT sends no last will), then DISCONNECT.
    public func stop() async {
        let all = cameras.withLock { s in defer { s = [:] }; return Array(s) }
        let profile = configuration.profile
        for (id, camera) in all {
            camera.streamTask?.cancel()
            if let handler = camera.handler { camera.client.removeMessageHandler(handler) }
            try? await camera.client.publish(topic: profile.topics.availability.render(id: id), text: profile.offline, retain: true)
            await camera.client.disconnect()
        }
    }

    /// Drops a camera's connection without DISCONNECT so the broker publishes its last will.
    /// Ends every camera's reconnect back-off (`MQTTClient.reconnectNow`).
    public func reconnectNow() {
        for client in cameras.withLock({ $0.values.map(\.client) }) { client.reconnectNow() }
    }

    /// Whether every simulated camera is connected to the broker.
    public var allConnected: Bool { cameras.withLock { $0.values.allSatisfy { $0.client.state == .connected } } }

    public func client(for camera: CameraID) -> MQTTClient? { cameras.withLock { $0[camera]?.client } }

    public func stream(of camera: CameraID) -> StreamInfo? { cameras.withLock { $0[camera]?.stream } }
    public func mode(of camera: CameraID) -> String? { cameras.withLock { $0[camera]?.mode } }

    // MARK: Commands

    private func handle(_ message: MQTTMessage, camera: CameraID, client: MQTTClient) {
        let profile = configuration.profile
        guard let (target, corr, command) = profile.decodeCommand(topic: message.topic, payload: message.payload), target == camera else {
            ignoredLog.log(.warning, "simulated camera ignored a message it does not understand", topic: message.topic)
            return
        }
        let fails = configuration.failureRate > 0 && random.withLock { $0.nextUnit() } < configuration.failureRate
        do {
            if fails {
                try answer(camera, client: client, corr: corr, command: command, failure: "simulated failure")
                return
            }
            if case .setMode(let mode) = command, !profile.modes.contains(mode) {
                try answer(camera, client: client, corr: corr, command: command, failure: "unknown mode \(mode)")
                return
            }
            switch command {
            case .setMode(let mode): cameras.withLock { $0[camera]?.mode = mode }
            case .startStream(let destination): startStream(camera, to: destination)
            case .stopStream: stopStream(camera, forLackOfRTCP: false)
            case .reboot, .getStatus: break
            }
            // Ack first: the answer is what the sender waits for; the retained status follows
            // on the same connection, so anyone reading it after the ack sees the new state.
            try answer(camera, client: client, corr: corr, command: command, failure: nil)
            if profile.encoding == .json { try publishStatus(camera) }
        } catch {
            logger.warning("simulated camera could not answer", metadata: ["camera": "\(camera)", "error": "\(error)"])
        }
    }

    /// Queues the ack (or state echo); firmware does not wait for the broker's PUBACK either.
    private func answer(_ camera: CameraID, client: MQTTClient, corr: String?, command: CameraCommand, failure: String?) throws {
        let profile = configuration.profile
        switch profile.encoding {
        case .json:
            let fields = profile.json!
            var ack: [String: JSONValue] = [fields.correlation: .string(corr ?? ""), fields.result: .string(failure == nil ? fields.done[0] : fields.failed[0])]
            if let failure { ack[fields.reason] = .string(failure) }
            try client.publishQueued(topic: profile.topics.ack!.render(id: camera), text: JSONValue.object(ack).serialized)
        case .plain:
            if let failure {
                if let error = profile.topics.error { try client.publishQueued(topic: error.render(id: camera), text: "\(command.kind.rawValue): \(failure)") }
                return
            }
            let spec = profile.commands[command.kind]!
            let field = spec.echoField!
            var values = command.parameters
            values["id"] = camera.rawValue
            let value = spec.echoPayload == "*" ? statusValue(camera, field: field) : renderTemplate(spec.echoPayload!, values)
            try client.setRetainedQueued(topic: profile.topics.status.render(id: camera, field: field), text: value)
        }
    }

    private func statusValue(_ camera: CameraID, field: String) -> String {
        cameras.withLock { s in
            switch field {
            case "mode": s[camera]?.mode ?? ""
            case "firmware": configuration.firmwareVersion
            case "stream": s[camera]?.stream?.active == true ? "streaming" : "idle"
            default: ""
            }
        }
    }

    private func publishStatus(_ camera: CameraID) throws {
        let profile = configuration.profile
        guard let client = client(for: camera) else { return }
        switch profile.encoding {
        case .json:
            let status: JSONValue = .object(["mode": .string(statusValue(camera, field: "mode")),
                                             "firmware": .string(configuration.firmwareVersion),
                                             "stream": .string(statusValue(camera, field: "stream"))])
            try client.setRetainedQueued(topic: profile.topics.status.render(id: camera), text: status.serialized)
        case .plain:
            for field in ["mode", "firmware", "stream"] {
                try client.setRetainedQueued(topic: profile.topics.status.render(id: camera, field: field), text: statusValue(camera, field: field))
            }
        }
    }

    // MARK: RTP

    private func startStream(_ camera: CameraID, to destination: StreamDestination) {
        stopStream(camera, forLackOfRTCP: false)
        guard let sockets = RTPSockets.open(), let address = sockets.destination(host: destination.host, port: destination.rtpPort) else {
            logger.warning("simulated camera could not open its RTP sockets", metadata: ["camera": "\(camera)"])
            return
        }
        let timeout = configuration.rtcpTimeout ?? .milliseconds(Int(configuration.profile.stream.rtcpTimeoutSeconds * 1000))
        let interval = Duration.milliseconds(1000 / max(1, configuration.packetsPerSecond))
        let payloadType = UInt8(destination.payloadType & 0x7f)
        let clockRate = configuration.profile.stream.clockRate
        cameras.withLock { $0[camera]?.stream = StreamInfo(active: true, localPort: sockets.rtpPort, packetsSent: 0, rtcpReceived: 0, stoppedForLackOfRTCP: false) }
        if let video = configuration.video {
            let rtcpAddress = sockets.destination(host: destination.host, port: destination.rtcpPort)
            let task = Task { [weak self] () -> Void in
                guard let self else { return }
                await self.streamVideo(video, camera: camera, sockets: sockets, rtp: address, rtcp: rtcpAddress,
                                        payloadType: payloadType, clockRate: clockRate, timeout: timeout)
            }
            cameras.withLock { $0[camera]?.streamTask = task }
            return
        }
        let task = Task { [weak self] in
            defer { sockets.close() }
            var lastRTCP = ContinuousClock.now
            var sequence = UInt16.random(in: 0...UInt16.max)
            let ssrc = UInt32.random(in: 1...UInt32.max)
            let started = ContinuousClock.now
            while !Task.isCancelled {
                let elapsed = ContinuousClock.now - started
                let timestamp = UInt32(truncatingIfNeeded: Int(Double(elapsed.components.seconds) * Double(clockRate) + Double(elapsed.components.attoseconds) / 1e18 * Double(clockRate)))
                sockets.sendRTP(to: address, payloadType: payloadType, sequence: sequence, timestamp: timestamp, ssrc: ssrc)
                sequence &+= 1
                let rtcp = sockets.drainRTCP()
                if rtcp > 0 { lastRTCP = ContinuousClock.now }
                guard let self else { return }
                self.cameras.withLock { s in
                    s[camera]?.stream?.packetsSent += 1
                    s[camera]?.stream?.rtcpReceived += rtcp
                }
                if ContinuousClock.now - lastRTCP > timeout {
                    self.logger.info("simulated camera stopped its stream: no RTCP", metadata: ["camera": "\(camera)", "timeout": "\(timeout)"])
                    self.stopStream(camera, forLackOfRTCP: true)
                    try? self.publishStatus(camera)
                    return
                }
                try? await Task.sleep(for: interval)
            }
        }
        cameras.withLock { $0[camera]?.streamTask = task }
    }

    /// Streams `video` as RFC 6184 RTP at its frame rate, looping, with a sender report (and
    /// SDES) each second from the RTCP socket; stops after `timeout` without RTCP, as firmware does.
    private func streamVideo(_ video: SimulatorVideo, camera: CameraID, sockets: RTPSockets, rtp: sockaddr_in, rtcp: sockaddr_in?,
                             payloadType: UInt8, clockRate: Int, timeout: Duration) async {
        defer { sockets.close() }
        let packetizer = H264Packetizer()
        var sequence = UInt16.random(in: 0...UInt16.max)
        let ssrc = UInt32.random(in: 1...UInt32.max)
        let baseTimestamp = UInt32.random(in: 0...UInt32.max)
        let frameInterval = Duration.seconds(1) / video.frameRate
        let ticksPerFrame = UInt32(clockRate / video.frameRate)
        let started = ContinuousClock.now
        var lastRTCP = started
        var nextReport = started
        var frame = 0
        var packets: UInt32 = 0
        var octets: UInt32 = 0
        var writer = RTCPWriter()
        let cname = "camsim-\(camera)"
        while !Task.isCancelled {
            let unit = video.accessUnits[frame % video.accessUnits.count]
            let timestamp = baseTimestamp &+ UInt32(truncatingIfNeeded: frame) &* ticksPerFrame
            var sent = 0
            for (payload, marker) in packetizer.payloads(unit) {
                sockets.send(H264Packetizer.rtpPacket(payload: payload, marker: marker, payloadType: payloadType, sequenceNumber: sequence,
                                                      timestamp: timestamp, ssrc: ssrc), to: rtp, from: sockets.rtp)
                sequence &+= 1
                sent += 1
                packets &+= 1
                octets &+= UInt32(payload.count)
            }
            let now = ContinuousClock.now
            if let rtcp, now >= nextReport {
                writer.reset()
                let wall = POSIX.Clock.now()
                let ntp = UInt64(wall.seconds + 2_208_988_800) << 32 | UInt64(wall.nanoseconds) * (1 << 32) / 1_000_000_000
                try? writer.senderReport(ssrc: ssrc, ntpTimestamp: ntp, rtpTimestamp: timestamp, packetCount: packets, octetCount: octets, blocks: [RTCPReportBlock]())
                try? writer.sourceDescription(ssrc: ssrc, cname: cname)
                sockets.send(writer.bytes, to: rtcp, from: sockets.rtcp)
                nextReport = now + .seconds(1)
            }
            let received = sockets.drainRTCP()
            if received > 0 { lastRTCP = now }
            let stop = cameras.withLock { s -> Bool in
                s[camera]?.stream?.packetsSent += sent
                s[camera]?.stream?.rtcpReceived += received
                return false
            }
            if stop { return }
            if now - lastRTCP > timeout {
                logger.info("simulated camera stopped its stream: no RTCP", metadata: ["camera": "\(camera)", "timeout": "\(timeout)"])
                stopStream(camera, forLackOfRTCP: true)
                try? publishStatus(camera)
                return
            }
            frame += 1
            let deadline = started + frameInterval * frame
            let wait = deadline - ContinuousClock.now
            if wait > .zero { try? await Task.sleep(for: wait) }
        }
    }

    private func stopStream(_ camera: CameraID, forLackOfRTCP: Bool) {
        let task = cameras.withLock { s -> Task<Void, Never>? in
            let t = s[camera]?.streamTask
            s[camera]?.streamTask = nil
            if s[camera]?.stream?.active == true {
                s[camera]?.stream?.active = false
                s[camera]?.stream?.stoppedForLackOfRTCP = forLackOfRTCP
            }
            return t
        }
        if !forLackOfRTCP { task?.cancel() }
    }
}

/// A camera's RTP socket (even port) and RTCP socket (the next port), non-blocking UDP.
struct RTPSockets: Sendable {
    let rtp: Int32
    let rtcp: Int32
    let rtpPort: Int

    static func open() -> RTPSockets? {
        for _ in 0..<50 {
            let port = Int.random(in: 20_000...59_998) & ~1
            let a = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            let b = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            if bind(a, port: port) && bind(b, port: port + 1) {
                _ = fcntl(b, F_SETFL, O_NONBLOCK)
                return RTPSockets(rtp: a, rtcp: b, rtpPort: port)
            }
            Glibc.close(a)
            Glibc.close(b)
        }
        return nil
    }

    private static func bind(_ fd: Int32, port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = 0
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    func destination(host: String, port: Int) -> sockaddr_in? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        return address
    }

    /// RFC 3550 §5.1 fixed header, then a few bytes of dummy payload.
    func sendRTP(to address: sockaddr_in, payloadType: UInt8, sequence: UInt16, timestamp: UInt32, ssrc: UInt32) {
        var packet: [UInt8] = [0x80, payloadType, UInt8(sequence >> 8), UInt8(sequence & 0xff)]
        for shift in stride(from: 24, through: 0, by: -8) { packet.append(UInt8((timestamp >> UInt32(shift)) & 0xff)) }
        for shift in stride(from: 24, through: 0, by: -8) { packet.append(UInt8((ssrc >> UInt32(shift)) & 0xff)) }
        packet += [UInt8](repeating: 0, count: 160)
        var destination = address
        _ = withUnsafePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(rtp, packet, packet.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// Sends one datagram from `socket` (RTP or RTCP).
    func send(_ bytes: [UInt8], to address: sockaddr_in, from socket: Int32) {
        var destination = address
        _ = withUnsafePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(socket, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// Counts RTCP packets waiting (version 2, packet type 200–206, RFC 3550 §6.4 / RFC 4585).
    func drainRTCP() -> Int {
        var buffer = [UInt8](repeating: 0, count: 1500)
        var count = 0
        while true {
            let n = recv(rtcp, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n <= 0 { return count }
            if n >= 8, buffer[0] >> 6 == 2, (200...206).contains(buffer[1]) { count += 1 }
        }
    }

    func close() {
        Glibc.close(rtp)
        Glibc.close(rtcp)
    }
}

/// Seeded generator so tests see the same failures every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// An H.264 Annex-B file cut into access units for the simulated cameras: what they stream.
public struct SimulatorVideo: Sendable {
    public let accessUnits: [[[UInt8]]]
    public let frameRate: Int
    public let path: String

    /// Reads `path` (H.264 Annex B, starting with a keyframe). Throws a message for people.
    public init(annexB path: String, frameRate: Int) throws(SimulatorVideoError) {
        guard (1...240).contains(frameRate) else { throw SimulatorVideoError("frame rate \(frameRate) is not 1-240") }
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path, limit: 256 << 20) } catch {
            throw SimulatorVideoError("cannot read \(path): \(error)")
        }
        let units = AnnexB.accessUnits(AnnexB.nalUnits(bytes))
        guard let first = units.first, AnnexB.isKeyframe(first) || first.contains(where: { $0.first.map { $0 & 0x1F == 7 } ?? false }) else {
            throw SimulatorVideoError("\(path) is not H.264 Annex B starting with a keyframe (make one with: ffmpeg -f lavfi -i testsrc=size=640x360:rate=25 -t 10 -c:v libx264 -bf 0 -g 25 -f h264 FILE)")
        }
        accessUnits = units
        self.frameRate = frameRate
        self.path = path
    }
}

public struct SimulatorVideoError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
    public init(problem: String) { description = problem }
}
