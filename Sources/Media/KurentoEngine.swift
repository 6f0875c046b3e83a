import Control
import JSONText
import Logging
import POSIX
import Storage
import Synchronization
import Wire

/// Confirms that a camera hears RTCP feedback once it streams to Kurento (the appliance's RTCP
/// watch): Kurento sends its feedback where the offer's `c=` says, and a camera that hears none
/// stops after its firmware's RTCP time-out.
public protocol FeedbackConfirmation: Sendable {
    /// The camera at `address` was told to stream; unless feedback reaches it within `within`,
    /// raise the loopback-trap alarm for it with what was seen (`offer` is the SDP sent to Kurento).
    func expectFeedback(camera: String, address: IPAddress, within: Duration, offer: String)
}

/// `media.engine = "kurento"`: the stream manager's streams received by Kurento Media Server
/// (docs/kurento.md). Per stream: a MediaPipeline, an RtpEndpoint (and a RecorderEndpoint into the
/// recordings root when the stream records), the offer built from the camera's firmware profile
/// (`KurentoOffer`: never a trap address), Kurento's answer (its port from `m=`; `media.address`,
/// when set, instead of its `c=`), then the manager's start-stream to that destination, and the
/// RTCP watch asked to confirm the camera hears feedback within the profile's RTCP time-out.
///
/// Every pipeline it creates is listed in Storage's `kurento_objects` until released, so a
/// restarted camhost releases the ones it no longer owns (`releaseLeftovers`).
public final class KurentoEngine: MediaEngine {
    public struct Settings: Sendable {
        public var url: String
        /// `media.address`: what the camera is told instead of the answer's `c=`.
        public var mediaAddress: IPAddress?
        public var recordingsRoot: String
        public var client = KurentoClient.Options()
        /// How often a session reads Kurento's inbound RTP counters (getStats).
        public var statsInterval: Duration = .seconds(1)

        public init(url: String, mediaAddress: IPAddress? = nil, recordingsRoot: String) {
            self.url = url
            self.mediaAddress = mediaAddress
            self.recordingsRoot = recordingsRoot
        }
    }

    public let settings: Settings
    private let profiles: @Sendable (String) -> FirmwareProfile.Stream?
    private let store: Store?
    private let feedback: (any FeedbackConfirmation)?
    private let hostAddresses: @Sendable () -> [IPAddress]
    private let logger: Logger
    private let client = Mutex<KurentoClient?>(nil)
    private let sessions = Mutex<[String: KurentoStreamSession]>([:])
    /// Whether the pipelines a previous camhost left were released (done on the first connection).
    private let leftoversReleased = Atomic<Bool>(false)

    /// - Parameters:
    ///   - profiles: the firmware profile's `[stream]` of a camera (offer mode, codec, feedback, RTCP
    ///     time-out) when the manager's request does not carry it (`StreamSpec.profileStream`).
    ///   - store: where owned pipelines are remembered and recordings registered.
    ///   - feedback: the RTCP watch; nil confirms nothing.
    public init(settings: Settings, profiles: @escaping @Sendable (String) -> FirmwareProfile.Stream? = { _ in nil }, store: Store?,
                feedback: (any FeedbackConfirmation)?, logger: Logger = Logger(label: "camhost.kurento"),
                hostAddresses: @escaping @Sendable () -> [IPAddress] = { (try? HostAddresses.current()) ?? [] }) {
        self.settings = settings
        self.profiles = profiles
        self.store = store
        self.feedback = feedback
        self.hostAddresses = hostAddresses
        self.logger = logger
    }

    public var name: String { "kurento" }

    /// Releases the pipelines a previous camhost created at this Kurento and did not release
    /// (a crash, a kill -9). Returns how many Kurento still had. Throws when Kurento is unreachable.
    /// The first connection does this by itself; `serve` calls it at start so it happens even
    /// before the first stream.
    @discardableResult
    public func releaseLeftovers() throws(KurentoError) -> Int {
        let client = try connectedClient(releasingLeftovers: false)
        let released = try releaseOwned(with: client)
        leftoversReleased.store(true, ordering: .releasing)
        return released
    }

    private func releaseOwned(with client: KurentoClient) throws(KurentoError) -> Int {
        guard let store else { return 0 }
        let owned = (try? KurentoObjects(store: store).all(kurentoURL: settings.url)) ?? []
        let live = Set(sessions.withLock { Array($0.keys) })
        var released = 0
        for entry in owned where !live.contains(entry.objectID) {
            do {
                try client.release(entry.objectID)
                released += 1
            } catch where error.code == 40101 {
                // Already gone (Kurento restarted or collected it).
            } catch .server(let method, let code, let message) {
                logger.warning("cannot release a leftover pipeline", metadata: ["pipeline": "\(entry.objectID)", "error": "\(KurentoError.server(method: method, code: code, message: message))"])
                continue
            } catch {
                throw error   // Kurento unreachable: try again on the next connection
            }
            try? KurentoObjects(store: store).remove(objectID: entry.objectID)
        }
        if released > 0 { logger.notice("released pipelines a previous camhost left at Kurento", metadata: ["count": "\(released)"]) }
        return released
    }

    public func open(_ request: MediaStreamRequest, sinks: [any AccessUnitSink]) throws -> any MediaSession {
        let configuration = request.configuration
        let camera = configuration.camera
        guard let stream = request.spec.profileStream ?? profiles(camera) else { throw KurentoEngineError.noProfile(camera: camera) }
        guard let id = CameraID(camera) else { throw KurentoEngineError.noProfile(camera: camera) }
        let offer = try KurentoOffer(camera: id, address: configuration.source, stream: stream, hostAddresses: hostAddresses(),
                                     sessionID: UInt64(Clock.unixSeconds))
        let client = try connectedClient()
        let pipeline = try client.createPipeline()
        if let store { try? KurentoObjects(store: store).add(objectID: pipeline, camera: camera, kurentoURL: settings.url) }
        do {
            let endpoint = try client.createRtpEndpoint(pipeline: pipeline)
            let flowEvent = try client.subscribeMediaFlow(object: endpoint)
            _ = try client.subscribe(object: endpoint, type: "Error")
            var recording: KurentoStreamSession.Recording?
            if sinks.contains(where: { $0 is SegmentRecorder }) {
                recording = try startRecorder(client: client, pipeline: pipeline, endpoint: endpoint, camera: camera, codec: stream.codec)
            }
            let answerText = try client.processOffer(endpoint: endpoint, offer: offer.text)
            let answer = try offer.accept(answer: answerText)
            let host = settings.mediaAddress ?? answer.address
            let session = KurentoStreamSession(
                engine: self, client: client, camera: camera, source: configuration.source, pipeline: pipeline, endpoint: endpoint,
                offer: offer.text, answer: answerText, destinationHost: host, destinationPort: answer.rtpPort,
                rtcpTimeout: .milliseconds(Int64(stream.rtcpTimeoutSeconds * 1000)), recording: recording)
            sessions.withLock { $0[pipeline] = session }
            logger.info("Kurento endpoint ready", metadata: [
                "camera": "\(camera)", "pipeline": "\(pipeline)", "answer": "\(answer.address.map { "\($0)" } ?? "-"):\(answer.rtpPort)",
                "destination": "\(host.map { "\($0)" } ?? "routed"):\(answer.rtpPort)", "event": "\(flowEvent)",
            ])
            return session
        } catch {
            // Nothing half-made stays at Kurento.
            if (try? client.release(pipeline)) != nil, let store { try? KurentoObjects(store: store).remove(objectID: pipeline) }
            throw error
        }
    }

    private func startRecorder(client: KurentoClient, pipeline: String, endpoint: String, camera: String,
                               codec: String) throws -> KurentoStreamSession.Recording {
        let now = Clock.now()
        let start = now.seconds * 1000 + now.nanoseconds / 1_000_000
        let name = SegmentName.make(camera: camera, startMilliseconds: start)
        let directory = settings.recordingsRoot + "/" + camera + "/" + name.day
        // Kurento writes the file as its own user: the day folder is group-writable (docs/kurento.md).
        try? FileSystem.makeDirectories(directory, permissions: 0o770)
        let relative = camera + "/" + name.day + "/" + name.file
        let uri = "file://" + settings.recordingsRoot + "/" + relative
        let recorder = try client.call(.create(type: "RecorderEndpoint", constructorParams: [
            "mediaPipeline": .string(pipeline), "uri": .string(uri), "mediaProfile": .string("MP4_VIDEO_ONLY"),
        ]))?.stringValue
        guard let recorder else { throw KurentoError.unexpectedResult(method: "create RecorderEndpoint", reason: "no object id in the result") }
        try client.connect(source: endpoint, sink: recorder)
        try client.record(recorder: recorder)
        return .init(recorder: recorder, relativePath: relative, startMilliseconds: start, codec: codec == "H265" ? "hevc" : "h264")
    }

    /// The client, connected now if it was not (Kurento may start after camhost); the first
    /// connection releases the pipelines a previous camhost left behind.
    func connectedClient(releasingLeftovers: Bool = true) throws(KurentoError) -> KurentoClient {
        if let existing = client.withLock({ $0 }) { return existing }
        let fresh = try KurentoClient(url: settings.url, options: settings.client)
        fresh.subscribe { [weak self] notification in self?.notice(notification) }
        let winner = client.withLock { current -> KurentoClient in
            if let current { return current }
            current = fresh
            return fresh
        }
        if winner !== fresh { fresh.close() }
        if releasingLeftovers, !leftoversReleased.load(ordering: .acquiring), (try? releaseOwned(with: winner)) != nil {
            leftoversReleased.store(true, ordering: .releasing)
        }
        return winner
    }

    private func notice(_ notification: KurentoClient.Notification) {
        switch notification {
        case .event(let event):
            let pipeline = String(event.object.prefix { $0 != "/" })
            sessions.withLock { $0[pipeline] }?.handle(event)
        case .sessionLost:
            // Kurento restarted: every pipeline is gone. The sessions report no media from now on,
            // so the manager restarts each stream, which creates its objects again.
            let lost = sessions.withLock { s -> [KurentoStreamSession] in defer { s = [:] }; return Array(s.values) }
            for session in lost { session.markLost() }
            if let store { for session in lost { try? KurentoObjects(store: store).remove(objectID: session.pipeline) } }
            logger.warning("Kurento forgot camhost's session (40007: it restarted); the streams will be created again", metadata: ["streams": "\(lost.count)"])
        case .disconnected(let reason):
            logger.warning("connection to Kurento lost; reconnecting", metadata: ["url": "\(settings.url)", "reason": "\(reason)"])
        case .resumed:
            logger.notice("reconnected to Kurento; session kept", metadata: ["url": "\(settings.url)"])
        case .malformed(let reason):
            logger.warning("Kurento sent a message camhost does not understand; ignored", metadata: ["reason": "\(reason)"])
        }
    }

    /// A session stopped: forget it and its pipeline.
    func released(_ session: KurentoStreamSession) {
        _ = sessions.withLock { $0.removeValue(forKey: session.pipeline) }
        if let store { try? KurentoObjects(store: store).remove(objectID: session.pipeline) }
    }

    func register(_ recording: NewRecording) {
        guard let store else { return }
        do {
            _ = try RecordingIndex(store: store, root: settings.recordingsRoot).register(recording)
        } catch {
            logger.error("cannot register Kurento's recording", metadata: ["path": "\(String(decoding: recording.path, as: UTF8.self))", "error": "\(error)"])
        }
    }

    func expectFeedback(camera: String, address: IPAddress, within: Duration, offer: String) {
        feedback?.expectFeedback(camera: camera, address: address, within: within, offer: offer)
    }

    var log: Logger { logger }

    /// Closes the connection (the pipelines stay listed for the next start to release).
    public func close() { client.withLock { c -> KurentoClient? in defer { c = nil }; return c }?.close() }
}

/// One camera's stream inside Kurento, as the manager sees it.
final class KurentoStreamSession: MediaSession {
    struct Recording: Sendable {
        var recorder: String
        var relativePath: String
        var startMilliseconds: Int64
        var codec: String
    }

    private struct State {
        var report: StreamReport
        var flowing: String?
        var lastError: String?
        var lost = false
        var stopped = false
    }

    let engine: KurentoEngine   // strong: the engine forgets the session when it stops or is lost
    let client: KurentoClient
    let camera: String
    let source: IPAddress
    let pipeline: String
    let endpoint: String
    let offer: String?
    let answer: String?
    let destinationHost: IPAddress?
    let destinationPort: UInt16
    let rtcpTimeout: Duration
    let recording: Recording?
    private let state: Mutex<State>
    private let poller = Mutex<ThreadHandle?>(nil)
    private let polling = Atomic<Bool>(false)

    init(engine: KurentoEngine, client: KurentoClient, camera: String, source: IPAddress, pipeline: String, endpoint: String,
         offer: String, answer: String, destinationHost: IPAddress?, destinationPort: UInt16, rtcpTimeout: Duration, recording: Recording?) {
        self.engine = engine
        self.client = client
        self.camera = camera
        self.source = source
        self.pipeline = pipeline
        self.endpoint = endpoint
        self.offer = offer
        self.answer = answer
        self.destinationHost = destinationHost
        self.destinationPort = destinationPort
        self.rtcpTimeout = rtcpTimeout
        self.recording = recording
        state = Mutex(State(report: StreamReport(camera: camera)))
    }

    /// Starts reading Kurento's counters and asks the RTCP watch to confirm the camera hears feedback
    /// (the manager sends start-stream right after this).
    func start() {
        guard !polling.exchange(true, ordering: .acquiringAndReleasing) else { return }
        engine.expectFeedback(camera: camera, address: source, within: rtcpTimeout, offer: offer ?? "")
        let interval = engine.settings.statsInterval
        let handle = startThread { [self] in
            while polling.load(ordering: .acquiring) {
                readStats()
                let until = ContinuousClock.now + interval
                while polling.load(ordering: .acquiring), ContinuousClock.now < until { Clock.sleep(milliseconds: 50) }
            }
        }
        poller.withLock { $0 = handle }
    }

    /// Kurento's inbound RTP counters (getStats, core.kmd.json: `inboundrtp` packetsReceived, bytesReceived).
    private func readStats() {
        guard !state.withLock({ $0.lost }) else { return }
        do {
            let stats = try client.call(.invoke(object: endpoint, operation: "getStats", operationParams: ["mediaType": .string("VIDEO")]))
            guard case .object(let entries)? = stats else { return }
            var packets = 0, bytes = 0, lost = 0
            for (_, entry) in entries where entry["type"]?.stringValue == "inboundrtp" {
                packets += entry["packetsReceived"]?.intValue ?? 0
                bytes += entry["bytesReceived"]?.intValue ?? 0
                lost += entry["packetsLost"]?.intValue ?? 0
            }
            state.withLock { s in
                s.report.packets = packets
                s.report.bytes = bytes
                s.report.lost = lost
            }
        } catch {
            engine.log.debug("getStats failed", metadata: ["camera": "\(camera)", "error": "\(error)"])
        }
    }

    func handle(_ event: KurentoEvent) {
        state.withLock { s in
            if event.type == KurentoEvent.mediaFlowIn || event.type == KurentoEvent.mediaFlowIn6 { s.flowing = event.flowState }
            if event.type == "Error" { s.lastError = event.data["description"]?.stringValue ?? event.data.serialized }
        }
        if event.type == "Error" {
            engine.log.error("Kurento reports an error on the stream", metadata: ["camera": "\(camera)", "error": "\(event.data.serialized)"])
        }
    }

    func markLost() { state.withLock { $0.lost = true } }

    var flowState: String? { state.withLock { $0.flowing } }
    var lastError: String? { state.withLock { $0.lastError } }

    var report: StreamReport { state.withLock { $0.report } }

    func requestKeyframe() {
        // Kurento asks the camera for keyframes itself (PLI/FIR per the offer's a=rtcp-fb).
    }

    @discardableResult
    func stop() -> StreamReport {
        let first = state.withLock { s -> Bool in defer { s.stopped = true }; return !s.stopped }
        guard first else { return report }
        polling.store(false, ordering: .releasing)
        if let handle = poller.withLock({ p -> ThreadHandle? in defer { p = nil }; return p }) { joinThread(handle) }
        let lost = state.withLock { $0.lost }
        if let recording, !lost {
            do {
                try client.stopAndWait(recorder: recording.recorder)
            } catch {
                engine.log.warning("Kurento's recorder did not stop cleanly", metadata: ["camera": "\(camera)", "error": "\(error)"])
            }
            let path = engine.settings.recordingsRoot + "/" + recording.relativePath
            if let status = try? FileStatus(path), status.size > 0 {
                let now = Clock.now()
                let end = now.seconds * 1000 + now.nanoseconds / 1_000_000
                engine.register(NewRecording(cameraID: camera, path: Array(recording.relativePath.utf8), startMilliseconds: recording.startMilliseconds,
                                             durationMilliseconds: max(0, end - recording.startMilliseconds), bytes: status.size, codec: recording.codec))
            } else {
                engine.log.warning("Kurento wrote no recording file", metadata: ["camera": "\(camera)", "path": "\(path)"])
            }
        }
        if !lost {
            do {
                try client.release(pipeline)
            } catch {
                engine.log.warning("cannot release the pipeline; the next start releases it", metadata: ["camera": "\(camera)", "error": "\(error)"])
                return report
            }
        }
        engine.released(self)
        return report
    }
}

/// Why the Kurento engine cannot open a stream.
public enum KurentoEngineError: Error, Sendable, CustomStringConvertible {
    case noProfile(camera: String)

    public var description: String {
        switch self {
        case .noProfile(let camera):
            return "the kurento engine needs camera \(camera)'s firmware profile (its [stream] section says how to offer it to Kurento); a [[media.streams]] entry without a profile streams with media.engine = \"builtin\""
        }
    }
}
