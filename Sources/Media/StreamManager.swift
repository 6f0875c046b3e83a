import Control
import Logging
import POSIX
import Storage
import Synchronization
import Wire

/// One stream as `/api/v1/streams`, the cameras page and /metrics show it.
public struct StreamStatus: Sendable {
    public var camera: String
    /// `starting` (opened, no RTP yet), `receiving`, `stalled` (RTP stopped; restarted with
    /// back-off), `stopped` (by a person, the camera went offline, or it cannot start: `detail`).
    public var state: String
    public var port: UInt16?
    /// The receiver's counters (nil before the first start).
    public var report: StreamReport?
    /// `builtin` or `kurento`.
    public var engine: String
    /// SDP, kurento engine only.
    public var offer: String?
    public var answer: String?
    /// The camera's address (configured, or from the cameras table).
    public var address: String?
    /// Wall-clock milliseconds since 1970 of the last keyframe received.
    public var lastKeyframe: Int64?
    public var segmentsWritten: Int
    /// Bytes of recordings written by this stream since serve started.
    public var bytesRecorded: Int64
    /// Times the stream was restarted because no RTP came.
    public var restarts: Int
    /// Why it is stopped or stalled, for people; nil when all is well.
    public var detail: String?
    /// `config` for a `[[media.streams]]` entry, else the firmware profile's name.
    public var origin: String

    public init(camera: String, state: String, port: UInt16? = nil, report: StreamReport? = nil, engine: String,
                offer: String? = nil, answer: String? = nil, address: String? = nil, lastKeyframe: Int64? = nil,
                segmentsWritten: Int = 0, bytesRecorded: Int64 = 0, restarts: Int = 0, detail: String? = nil, origin: String) {
        self.camera = camera
        self.state = state
        self.port = port
        self.report = report
        self.engine = engine
        self.offer = offer
        self.answer = answer
        self.address = address
        self.lastKeyframe = lastKeyframe
        self.segmentsWritten = segmentsWritten
        self.bytesRecorded = bytesRecorded
        self.restarts = restarts
        self.detail = detail
        self.origin = origin
    }
}

/// What the manager should stream for one camera: a `[[media.streams]]` entry, or a camera
/// online on the broker whose firmware profile has a `[stream]` section.
public struct StreamSpec: Sendable, Hashable {
    public enum Origin: Sendable, Hashable {
        /// `[[media.streams]]`: no MQTT; the camera already sends to `port`.
        case configured
        /// The firmware profile of that name: start-stream and stop-stream go over MQTT.
        case profile(String)
    }

    public var camera: String
    /// The camera's address; nil when it is not known (then the stream cannot start).
    public var source: IPAddress?
    /// The local RTP port; nil: the next free pair of `media.port_range`.
    public var port: UInt16?
    public var cameraRTCPPort: UInt16?
    public var codec: VideoCodec = .h264
    public var record: Bool
    public var origin: Origin
    public var rtcpMux = false
    public var feedback: FeedbackKinds = []
    public var maxBitrate: UInt64 = 8_000_000
    public var parameterSets: ParameterSets?
    public var clockRate = 90_000
    public var payloadType = 96
    /// The camera runs on this host (serve --demo's simulated cameras): its address is local.
    public var localCamera = false
    /// The camera's firmware profile `[stream]` section (nil for `[[media.streams]]`): what an
    /// engine that negotiates (Kurento's offer) is built from.
    public var profileStream: FirmwareProfile.Stream?

    public init(camera: String, source: IPAddress?, port: UInt16? = nil, cameraRTCPPort: UInt16? = nil,
                codec: VideoCodec = .h264, record: Bool, origin: Origin) {
        self.camera = camera
        self.source = source
        self.port = port
        self.cameraRTCPPort = cameraRTCPPort
        self.codec = codec
        self.record = record
        self.origin = origin
    }

    /// The stream a firmware profile's `[stream]` section describes for `camera` at `address`.
    public init(camera: String, address: IPAddress?, profile: FirmwareProfile, record: Bool) {
        self.init(camera: camera, source: address, codec: profile.stream.codec == "H265" ? .h265 : .h264,
                  record: record, origin: .profile(profile.name))
        let stream = profile.stream
        profileStream = stream
        cameraRTCPPort = stream.rtcpPort
        rtcpMux = stream.rtcpMux
        clockRate = stream.clockRate
        payloadType = stream.payloadType
        if stream.rtcpFeedback.contains(.nack) { feedback.insert(.nack) }
        if stream.rtcpFeedback.contains(.pli) { feedback.insert(.pli) }
        if stream.rtcpFeedback.contains(.fir) { feedback.insert(.fir) }
        if let kbps = stream.maxBitrateKbps { maxBitrate = UInt64(kbps) * 1000 }
        if let sprop = stream.spropParameterSets, codec == .h264 { parameterSets = try? ParameterSets(h264SpropParameterSets: sprop) }
    }
}

/// The cameras side of the manager (Control over MQTT, in the appliance).
public protocol StreamCameras: Sendable {
    /// The cameras online now whose firmware profile streams, with what to stream.
    func streamingCameras() -> [StreamSpec]
    /// Sends the profile's start-stream command and waits for the camera's answer.
    func startStream(camera: String, destination: StreamDestination) async throws
    func stopStream(camera: String) async throws
}

/// Why the manager refused a start or stop.
public struct StreamManagerError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Keeps one stream per camera running inside `serve`: the `[[media.streams]]` entries, and the
/// cameras online whose firmware profile has a `[stream]` section (start-stream over MQTT with
/// this host's address toward the camera and a port pair from `media.port_range`). Restarts a
/// stream with back-off when no RTP arrives, stops it when the camera goes offline or a person
/// stops it, records it through `SegmentRecorder` when asked. docs/streams.md ("The stream
/// manager") states the procedure.
///
/// Threads: one supervision thread of its own ticks every 200 ms; commands go out on tasks; the
/// streams themselves run on their receivers' threads.
public final class StreamManager: Sendable {
    /// How fast the manager gives up on silence.
    public struct Timing: Sendable {
        /// A stream with no RTP for this long is `stalled`.
        public var stallAfter: Duration = .seconds(2)
        /// A starting or stalled stream with no RTP for this long is restarted.
        public var restartAfter: Duration = .seconds(5)
        /// The first wait before a restart; doubled on each restart without RTP in between.
        public var backoffInitial: Duration = .seconds(1)
        public var backoffMaximum: Duration = .seconds(60)
        public init() {}
    }

    /// What the manager needs beside the cameras.
    public struct Settings: Sendable {
        public var portRange: ClosedRange<UInt16>
        public var recordingsRoot: String
        public var segmentSeconds: Int
        public var timing: Timing
        public init(portRange: ClosedRange<UInt16>, recordingsRoot: String, segmentSeconds: Int = 60, timing: Timing = .init()) {
            self.portRange = portRange
            self.recordingsRoot = recordingsRoot
            self.segmentSeconds = segmentSeconds
            self.timing = timing
        }
    }

    public let engine: any MediaEngine
    public let settings: Settings
    private let configured: [StreamSpec]
    private let cameras: (any StreamCameras)?
    private let store: Store?
    private let media: MediaTools?
    private let sinks: @Sendable (String) -> [any AccessUnitSink]
    private let logger: Logger
    private let state = Mutex(State())
    private let running = Atomic<Bool>(false)
    private let thread = Mutex<ThreadHandle?>(nil)

    /// - Parameters:
    ///   - configured: the `[[media.streams]]` entries.
    ///   - cameras: MQTT camera control; nil streams the configured entries only.
    ///   - store, media: where segments are registered, and ffmpeg for thumbnails.
    ///   - sinks: extra sinks for a camera's pictures (the live fan-out), called once per stream start.
    public init(engine: any MediaEngine = BuiltinEngine(), settings: Settings, configured: [StreamSpec],
                cameras: (any StreamCameras)?, store: Store?, media: MediaTools? = nil,
                logger: Logger = Logger(label: "camhost.streams"),
                sinks: @escaping @Sendable (String) -> [any AccessUnitSink] = { _ in [] }) {
        self.engine = engine
        self.settings = settings
        self.configured = configured
        self.cameras = cameras
        self.store = store
        self.media = media
        self.logger = logger
        self.sinks = sinks
    }

    deinit { shutDown() }

    /// Starts supervising (a thread of its own). Streams open on the first tick.
    public func run() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let handle = startThread { [self] in
            while running.load(ordering: .relaxed) {
                tick()
                Clock.sleep(milliseconds: 200)
            }
        }
        thread.withLock { $0 = handle }
    }

    /// Stops every stream (closing its recorder's segment) and the supervision thread. Sends no
    /// stop-stream: serve is going away, the cameras stop on their RTCP time-out.
    public func shutDown() {
        running.store(false, ordering: .relaxed)
        if let handle = thread.withLock({ t -> ThreadHandle? in defer { t = nil }; return t }) { joinThread(handle) }
        let entries = state.withLock { state -> [Entry] in
            defer { state.entries = [:] }
            return Array(state.entries.values)
        }
        for entry in entries { close(entry, keepRecorder: false) }
    }

    /// Every stream the manager knows, by camera.
    public func statuses() -> [StreamStatus] {
        state.withLock { state in state.entries.values.sorted { $0.spec.camera < $1.spec.camera }.map(status) }
    }

    public func status(camera: String) -> StreamStatus? {
        state.withLock { state in state.entries[camera].map(status) }
    }

    /// PLI/FIR through the camera's receiver, for a new viewer.
    public func requestKeyframe(camera: String) {
        state.withLock { $0.entries[camera]?.session }?.requestKeyframe()
    }

    /// Starts a stream a person stopped (or restarts a stalled one now). Throws for a camera
    /// the manager does not know (no `[[media.streams]]` entry, not online with a streaming profile).
    public func start(camera: String) throws {
        let known = state.withLock { state -> Bool in
            guard let entry = state.entries[camera] else { return false }
            entry.held = false
            entry.nextAttempt = .now
            entry.backoff = settings.timing.backoffInitial
            if entry.session != nil, entry.phase != .receiving { entry.restartNow = true }
            return true
        }
        guard known else {
            guard let spec = desiredSpecs()[camera] else {
                throw StreamManagerError("no stream for camera \(camera): it is neither in [[media.streams]] nor online with a firmware profile that streams")
            }
            state.withLock { state in if state.entries[camera] == nil { state.entries[camera] = Entry(spec: spec, timing: settings.timing) } }
            return
        }
    }

    /// Stops a stream until `start(camera:)`: the receiver closes, its port is released, the
    /// segment being written is finished, and a profile camera is sent stop-stream.
    public func stop(camera: String) throws {
        let entry = state.withLock { state -> Entry? in
            guard let entry = state.entries[camera] else { return nil }
            entry.held = true
            return entry
        }
        guard let entry else { throw StreamManagerError("no stream for camera \(camera)") }
        let wasOpen = entry.session != nil
        close(entry, keepRecorder: false)
        state.withLock { _ in
            entry.phase = .stopped
            entry.detail = "stopped by a person; start it again from the cameras page or POST /api/v1/streams/\(camera)/start"
        }
        if wasOpen, case .profile = entry.spec.origin { sendStop(camera) }
    }

    // MARK: Supervision

    /// One stream's state; guarded by `state`'s lock (the sessions' own threads never touch it).
    private final class Entry: @unchecked Sendable {
        enum Phase: String { case starting, receiving, stalled, stopped }
        var spec: StreamSpec
        var phase: Phase = .starting
        var session: (any MediaSession)?
        var recorder: SegmentRecorder?
        var keyframes = KeyframeClock()
        var port: UInt16?
        /// The ports this stream holds in `portsInUse` (RTP, and RTCP unless rtcp-mux).
        var heldPorts: [UInt16] = []
        var openedAt: ContinuousClock.Instant = .now
        var lastPackets = 0
        var lastPacketAt: ContinuousClock.Instant?
        var lastReport: StreamReport?
        var nextAttempt: ContinuousClock.Instant = .now
        var backoff: Duration
        var restarts = 0
        var held = false
        var restartNow = false
        var detail: String?
        /// Segments and bytes of recorders already closed.
        var segmentsBefore = 0
        var bytesBefore: Int64 = 0

        init(spec: StreamSpec, timing: Timing) {
            self.spec = spec
            backoff = timing.backoffInitial
        }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var portsInUse: Set<UInt16> = []
    }

    /// The streams that should exist now, by camera: configured entries first (they win over a
    /// profile camera of the same id).
    private func desiredSpecs() -> [String: StreamSpec] {
        var specs: [String: StreamSpec] = [:]
        for spec in cameraSpecs() { specs[spec.camera] = spec }
        for spec in configured { specs[spec.camera] = spec }
        return specs
    }

    /// The cameras' streams, asked of Control (a registry snapshot, a cameras-table read) at
    /// most once a second rather than on every tick.
    private let cachedCameras = Mutex<(at: ContinuousClock.Instant, specs: [StreamSpec])?>(nil)
    private func cameraSpecs() -> [StreamSpec] {
        guard let cameras else { return [] }
        let now = ContinuousClock.now
        if let cached = cachedCameras.withLock({ $0 }), now - cached.at < .seconds(1) { return cached.specs }
        let specs = cameras.streamingCameras()
        cachedCameras.withLock { $0 = (now, specs) }
        return specs
    }

    /// Opens, watches, restarts and closes streams. Runs on the supervision thread only.
    func tick() {
        let desired = desiredSpecs()
        let now = ContinuousClock.now
        var toClose: [(Entry, String)] = []
        var toOpen: [Entry] = []
        var toRestart: [Entry] = []
        state.withLock { state in
            // Gone: a profile camera that went offline.
            for (camera, entry) in state.entries where desired[camera] == nil {
                if entry.session != nil || entry.phase != .stopped { toClose.append((entry, "the camera went offline")) }
            }
            for (camera, spec) in desired {
                let entry: Entry
                if let existing = state.entries[camera] {
                    entry = existing
                    if entry.spec != spec {
                        if entry.session != nil { toRestart.append(entry) }
                        entry.spec = spec
                    }
                } else {
                    entry = Entry(spec: spec, timing: settings.timing)
                    state.entries[camera] = entry
                }
                if entry.held { continue }
                guard let session = entry.session else {
                    if entry.phase == .stopped, entry.detail == "the camera went offline" { entry.phase = .starting; entry.detail = nil }
                    if now >= entry.nextAttempt { toOpen.append(entry) }
                    continue
                }
                let report = session.report
                entry.lastReport = report
                if report.packets > entry.lastPackets {
                    entry.lastPackets = report.packets
                    entry.lastPacketAt = now
                    if entry.phase != .receiving {
                        entry.phase = .receiving
                        entry.detail = nil
                        entry.backoff = settings.timing.backoffInitial
                    }
                }
                let silentSince = entry.lastPacketAt ?? entry.openedAt
                let silence = now - silentSince
                if entry.phase == .receiving, silence >= settings.timing.stallAfter {
                    entry.phase = .stalled
                    entry.detail = "no RTP for \(seconds(silence)) s"
                }
                if entry.restartNow || (entry.phase != .receiving && silence >= settings.timing.restartAfter) {
                    entry.restartNow = false
                    toRestart.append(entry)
                }
            }
        }
        for (entry, why) in toClose {
            let wasOpen = entry.session != nil
            close(entry, keepRecorder: false)
            state.withLock { state in
                entry.phase = .stopped
                entry.detail = why
                // A profile camera that is gone keeps its row (stopped) so the page shows why.
                _ = state
            }
            if wasOpen { logger.info("stream stopped", metadata: ["camera": "\(entry.spec.camera)", "reason": "\(why)"]) }
        }
        for entry in toRestart {
            close(entry, keepRecorder: true)
            state.withLock { _ in
                entry.restarts += 1
                entry.phase = .stalled
                entry.detail = "no RTP for \(seconds(settings.timing.restartAfter)) s: restart \(entry.restarts), next attempt in \(seconds(entry.backoff)) s"
                entry.nextAttempt = ContinuousClock.now + entry.backoff
                entry.backoff = min(entry.backoff * 2, settings.timing.backoffMaximum)
            }
            logger.warning("no RTP: restarting the stream with back-off", metadata: ["camera": "\(entry.spec.camera)", "restarts": "\(entry.restarts)"])
        }
        for entry in toOpen { open(entry) }
    }

    /// Binds the stream's ports, starts its receiver (and recorder), then asks a profile camera
    /// to stream there.
    private func open(_ entry: Entry) {
        let spec = state.withLock { _ in entry.spec }
        let fail: (String, Bool) -> Void = { [self] why, retry in
            state.withLock { _ in
                entry.phase = retry ? .stalled : .stopped
                entry.detail = why
                entry.nextAttempt = ContinuousClock.now + (retry ? entry.backoff : settings.timing.backoffMaximum)
                if retry { entry.backoff = min(entry.backoff * 2, settings.timing.backoffMaximum) }
            }
        }
        guard let source = spec.source else {
            fail("no address known for camera \(spec.camera): add it to the cameras table, or a [[media.streams]] entry", false)
            return
        }
        var configuration = StreamConfiguration(camera: spec.camera, source: source, port: 0)
        configuration.cameraRTCPPort = spec.cameraRTCPPort
        configuration.rtcpMux = spec.rtcpMux
        configuration.codec = spec.codec
        configuration.clockRate = spec.clockRate
        configuration.feedback = spec.feedback
        configuration.maxBitrate = spec.maxBitrate
        configuration.parameterSets = spec.parameterSets
        configuration.allowsLocalSource = spec.localCamera

        // The recorder lives across restarts: one series of segments per stream.
        var recorder = state.withLock { _ in entry.recorder }
        if spec.record, recorder == nil {
            do {
                // A fresh data directory has no recordings root until something records.
                if !FileSystem.isDirectory(settings.recordingsRoot) { try? FileSystem.makeDirectories(settings.recordingsRoot) }
                recorder = try SegmentRecorder(root: settings.recordingsRoot, camera: spec.camera, segmentSeconds: settings.segmentSeconds,
                                               store: store, media: media)
                state.withLock { _ in entry.recorder = recorder }
            } catch {
                logger.error("cannot record the stream; receiving without recording", metadata: ["camera": "\(spec.camera)", "error": "\(error)"])
            }
        }
        let keyframes = state.withLock { _ in entry.keyframes }
        let streamSinks: [any AccessUnitSink] = [keyframes] + (recorder.map { [$0] } ?? []) + sinks(spec.camera)

        let session: any MediaSession
        let ports: [UInt16]
        do {
            (session, ports) = try openOnFreePort(configuration, spec: spec, sinks: streamSinks)
        } catch {
            fail("cannot open the stream: \(error)", true)
            logger.error("cannot open the stream", metadata: ["camera": "\(spec.camera)", "error": "\(error)"])
            return
        }
        session.start()
        let stoppedMeanwhile = state.withLock { state -> Bool in
            entry.session = session
            entry.port = ports[0]
            entry.heldPorts = ports
            entry.openedAt = .now
            entry.lastPackets = 0
            entry.lastPacketAt = nil
            if entry.phase != .stalled { entry.phase = .starting }
            return entry.held || !running.load(ordering: .relaxed)
        }
        // A person stopped it (or serve is stopping) while it was opening: close it again.
        if stoppedMeanwhile {
            close(entry, keepRecorder: false)
            state.withLock { _ in entry.phase = .stopped }
            return
        }
        logger.info("stream opened", metadata: ["camera": "\(spec.camera)", "port": "\(ports[0])", "engine": "\(engine.name)"])
        guard case .profile = spec.origin, let cameras else { return }
        let host: IPAddress
        if let named = session.destinationHost {
            host = named
        } else if let routed = UDPAddress.Host.routedSource(toward: source.udpHost) {
            host = IPAddress(routed)
        } else {
            fail("no route from this host to the camera's address \(source)", true)
            close(entry, keepRecorder: true)
            return
        }
        let destination = StreamDestination(host: "\(host)", rtpPort: Int(session.destinationPort),
                                             rtcpPort: spec.rtcpMux ? Int(session.destinationPort) : nil, payloadType: spec.payloadType)
        let camera = spec.camera, logger = self.logger
        Task { [weak self] in
            do {
                try await cameras.startStream(camera: camera, destination: destination)
                logger.info("start-stream sent", metadata: ["camera": "\(camera)", "to": "\(destination.host):\(destination.rtpPort)"])
            } catch {
                logger.warning("start-stream failed", metadata: ["camera": "\(camera)", "error": "\(error)"])
                self?.state.withLock { _ in if entry.phase != .receiving { entry.detail = "start-stream failed: \(error)" } }
            }
        }
    }

    /// A configured port, or the first free pair of the range (a port another program holds is
    /// skipped); returns the session and the ports it holds.
    private func openOnFreePort(_ base: StreamConfiguration, spec: StreamSpec, sinks: [any AccessUnitSink]) throws -> (any MediaSession, [UInt16]) {
        let width: UInt16 = spec.rtcpMux ? 1 : 2
        if let port = spec.port {
            var configuration = base
            configuration.port = port
            let session = try engine.open(MediaStreamRequest(configuration: configuration, spec: spec), sinks: sinks)
            let ports = (0..<width).map { port + $0 }
            state.withLock { $0.portsInUse.formUnion(ports) }
            return (session, ports)
        }
        // The configured streams' ports are theirs even while they are down.
        let reserved = Set(configured.compactMap(\.port).flatMap { [$0, $0 &+ 1] })
        let range = settings.portRange
        var port = range.lowerBound
        var lastError: (any Error)?
        while Int(port) + Int(width) - 1 <= Int(range.upperBound) {
            let ports = (0..<width).map { port + $0 }
            defer { port += width }
            let taken = state.withLock { state in ports.contains { state.portsInUse.contains($0) || reserved.contains($0) } }
            if taken { continue }
            var configuration = base
            configuration.port = port
            do {
                let session = try engine.open(MediaStreamRequest(configuration: configuration, spec: spec), sinks: sinks)
                state.withLock { $0.portsInUse.formUnion(ports) }
                return (session, ports)
            } catch let error as StreamError {
                if case .portInUse = error { lastError = error; continue }
                throw error
            }
        }
        throw StreamManagerError("no free port pair in media.port_range \(range.lowerBound)-\(range.upperBound)"
                                 + (lastError.map { " (last: \($0))" } ?? "") + "; widen the range or stop other streams")
    }

    /// Stops the session and releases its ports; closes the recorder (finishing its segment)
    /// unless the stream is only restarting.
    private func close(_ entry: Entry, keepRecorder: Bool) {
        let (session, recorder) = state.withLock { state -> ((any MediaSession)?, SegmentRecorder?) in
            let session = entry.session
            let recorder = keepRecorder ? nil : entry.recorder
            entry.session = nil
            entry.port = nil
            if !keepRecorder { entry.recorder = nil }
            state.portsInUse.subtract(entry.heldPorts)
            entry.heldPorts = []
            return (session, recorder)
        }
        if let session {
            let report = session.stop()
            state.withLock { _ in entry.lastReport = report }
        }
        if let recorder {
            recorder.close()
            let final = recorder.statistics
            state.withLock { _ in
                entry.segmentsBefore += final.segmentsWritten
                entry.bytesBefore += final.bytesWritten
            }
        }
    }

    private func sendStop(_ camera: String) {
        guard let cameras else { return }
        let logger = self.logger
        Task {
            do { try await cameras.stopStream(camera: camera) } catch {
                logger.warning("stop-stream failed", metadata: ["camera": "\(camera)", "error": "\(error)"])
            }
        }
    }

    private func status(_ entry: Entry) -> StreamStatus {
        let recorded = entry.recorder?.statistics
        let origin: String
        switch entry.spec.origin {
        case .configured: origin = "config"
        case .profile(let name): origin = name
        }
        return StreamStatus(
            camera: entry.spec.camera, state: entry.phase.rawValue, port: entry.port, report: entry.session?.report ?? entry.lastReport,
            engine: engine.name, offer: entry.session?.offer, answer: entry.session?.answer,
            address: entry.spec.source.map { "\($0)" }, lastKeyframe: entry.keyframes.last,
            segmentsWritten: entry.segmentsBefore + (recorded?.segmentsWritten ?? 0),
            bytesRecorded: entry.bytesBefore + (recorded?.bytesWritten ?? 0),
            restarts: entry.restarts, detail: entry.detail, origin: origin)
    }
}

/// Remembers when the last keyframe of a stream arrived (for "last keyframe" on the page).
final class KeyframeClock: AccessUnitSink {
    private let lastMilliseconds = Atomic<Int64>(0)
    var last: Int64? { let value = lastMilliseconds.load(ordering: .relaxed); return value == 0 ? nil : value }
    func receive(_ unit: AccessUnit, parameterSets: ParameterSets) {
        guard unit.isKeyframe else { return }
        let now = Clock.now()
        lastMilliseconds.store(now.seconds * 1000 + now.nanoseconds / 1_000_000, ordering: .relaxed)
    }
}

private func seconds(_ duration: Duration) -> String {
    let (whole, attoseconds) = duration.components
    let tenths = attoseconds / 100_000_000_000_000_000
    return tenths == 0 ? "\(whole)" : "\(whole).\(tenths)"
}
