import JSONText
import Synchronization
import Wire

/// One watcher of a camera's live stream: the Dashboard adapts a WebSocket connection to it,
/// tests use a plain object. Media knows nothing of sockets.
public protocol LiveViewer: AnyObject, Sendable {
    /// Queues a binary message without blocking; false (nothing queued) when the viewer is
    /// closed or its queued bytes plus this message would exceed `limit`.
    func send(_ bytes: [UInt8], ifQueuedBelow limit: Int) -> Bool
    /// Queues a text message, with the same rule.
    func send(_ text: String, ifQueuedBelow limit: Int) -> Bool
    /// Closes the viewer (WebSocket close code, e.g. 1008 policy violation, and a reason).
    func close(code: UInt16, reason: String)
}

/// The live fan-out of one camera's stream (an `AccessUnitSink` beside the recorder): each
/// picture becomes one fMP4 fragment (`moof` + `mdat`, one sample: the lowest latency MSE
/// allows), built once while anyone watches and handed to every viewer as the same bytes.
///
/// A viewer gets, in order: a text message `{"codec": "avc1.PPCCLL", "width": W, "height": H}`
/// (from the SPS), the init segment (`ftyp` + `moov`), then fragments starting at a keyframe.
/// The last GOP is kept (as pictures, bounded by `keptBytes`) so a new viewer starts at once;
/// without one the camera is asked for a keyframe. A viewer whose queue refuses a fragment
/// skips to the next keyframe it can take; one that stays behind longer than `slowViewerTimeout`
/// is closed with 1008. A change of parameter sets (a camera that rebooted at another size)
/// sends every viewer the new status and init segment before the next keyframe.
///
/// Threads: `receive` runs on the stream's thread, `attach`/`detach` on the web server's; one
/// lock orders them, and inside it nothing blocks (viewers' `send` only queues). Closing a slow
/// viewer and asking for a keyframe happen after the lock is released.
public final class LiveFanout: AccessUnitSink {
    public struct Options: Sendable {
        /// Bytes a viewer may have queued (sent but not yet written to its socket) before a
        /// fragment is refused and it skips to the next keyframe. Must hold the kept GOP, which
        /// a new viewer gets at once.
        public var viewerQueueBytes: Int = 6 << 20
        /// The kept GOP's limit: a longer one is dropped (new viewers then wait for the next keyframe).
        public var keptBytes: Int = 4 << 20
        /// A viewer that cannot take a keyframe for this long is closed (1008).
        public var slowViewerTimeout: Duration = .seconds(5)
        /// How long after its last viewer a stream still keeps its GOP (nil: always). A stream
        /// nobody watches then holds no pictures (a GOP is ~250 KB at 2 Mbit/s, 2 MB at 8 Mbit/s
        /// with 2-s GOPs); its next first viewer waits for a keyframe, which it asks for.
        public var keepGOPAfterViewer: Duration?

        public init(viewerQueueBytes: Int = 6 << 20, keptBytes: Int = 4 << 20, slowViewerTimeout: Duration = .seconds(5),
                    keepGOPAfterViewer: Duration? = nil) {
            self.viewerQueueBytes = viewerQueueBytes
            self.keptBytes = keptBytes
            self.slowViewerTimeout = slowViewerTimeout
            self.keepGOPAfterViewer = keepGOPAfterViewer
        }
    }

    /// Counters for /metrics and the pages.
    public struct Statistics: Sendable, Hashable {
        public var viewers = 0
        /// Bytes accepted by viewers' queues (status, init segments, fragments).
        public var bytesSent: UInt64 = 0
        public var fragmentsBuilt = 0
        public var pictures = 0
        /// Times a viewer's queue refused a fragment and it went back to waiting for a keyframe.
        public var viewerSkips = 0
        /// Viewers closed for staying behind longer than `slowViewerTimeout`.
        public var viewersDroppedSlow = 0
        public var keyframeRequests = 0
        /// From a viewer's attach to its first keyframe queued, for the last viewer that got one.
        public var lastFirstFrameSeconds: Double?
        /// Every first-frame time so far: how many, and their sum (a Prometheus summary).
        public var firstFrameCount = 0
        public var firstFrameSecondsSum = 0.0
        /// Time the stream's thread spent in the fan-out per watched picture (building its
        /// fragment and queueing it to every viewer): cumulative counts at `fanoutBounds`, sum, count.
        public var fanoutBuckets = [UInt64](repeating: 0, count: LiveFanout.fanoutBounds.count)
        public var fanoutSecondsSum = 0.0
        public var fanoutCount = 0
        /// Why the last picture's parameter sets were refused (nil: fine).
        public var lastError: String?
        /// The current track, once a picture with valid parameter sets came.
        public var codec: String?
        public var width: Int?
        public var height: Int?
    }

    /// Upper bounds (seconds) of the fan-out time buckets.
    public static let fanoutBounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]

    public let camera: String
    public let options: Options
    private let requestKeyframe: @Sendable () -> Void
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state: Mutex<State>

    /// - Parameters:
    ///   - requestKeyframe: asks the camera for a keyframe (StreamManager.requestKeyframe; PLI/FIR).
    ///   - now: the clock (tests drive one of their own).
    public init(camera: String, options: Options = .init(), requestKeyframe: @escaping @Sendable () -> Void = {},
                now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.camera = camera
        self.options = options
        self.requestKeyframe = requestKeyframe
        self.now = now
        state = Mutex(State(createdAt: now()))
    }

    // MARK: Viewers

    /// Adds a viewer: from the kept GOP at once when there is one, else from the next keyframe
    /// (and the camera is asked for one).
    public func attach(_ viewer: any LiveViewer) {
        let time = now()
        let limit = options.viewerQueueBytes
        let askKeyframe = state.withLock { s -> Bool in
            s.lastViewerAt = time
            var v = ViewerState(viewer: viewer, attachedAt: time)
            var ask = true
            if s.track != nil, s.keptIsWhole, !s.kept.isEmpty {
                ask = false
                s.sendHeader(to: &v)
                for index in s.kept.indices {
                    let fragment = s.fragment(ofKept: index)
                    guard viewer.send(fragment, ifQueuedBelow: limit) else {
                        // Too small a queue for the kept GOP: from the next keyframe instead.
                        v.phase = .waitingForKeyframe
                        v.behindSince = time
                        s.statistics.viewerSkips += 1
                        break
                    }
                    s.statistics.bytesSent += UInt64(fragment.count)
                    if index == 0 { s.firstFrame(of: &v, at: time) }
                    v.phase = .live
                }
            }
            s.viewers.append(v)
            s.statistics.viewers = s.viewers.count
            if ask { s.statistics.keyframeRequests += 1 }
            return ask
        }
        if askKeyframe { requestKeyframe() }
    }

    /// Removes a viewer (its socket closed); unknown viewers are ignored.
    public func detach(_ viewer: any LiveViewer) {
        let id = ObjectIdentifier(viewer)
        state.withLock { s in
            s.viewers.removeAll { ObjectIdentifier($0.viewer) == id }
            s.statistics.viewers = s.viewers.count
        }
    }

    /// Closes every viewer (the stream ended for good) with `code` and `reason`.
    public func closeAll(code: UInt16 = 1001, reason: String) {
        let viewers = state.withLock { s -> [any LiveViewer] in
            defer { s.viewers.removeAll(); s.statistics.viewers = 0 }
            return s.viewers.map(\.viewer)
        }
        for viewer in viewers { viewer.close(code: code, reason: reason) }
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// When the last picture came (nil: none yet), and when the fan-out was made.
    public var lastPictureAt: ContinuousClock.Instant? { state.withLock { $0.lastPictureAt } }
    public var createdAt: ContinuousClock.Instant { state.withLock { $0.createdAt } }

    // MARK: Pictures

    public func receive(_ unit: AccessUnit, parameterSets: ParameterSets) {
        let time = now()
        let limit = options.viewerQueueBytes, keptLimit = options.keptBytes, timeout = options.slowViewerTimeout
        let (closing, askKeyframe) = state.withLock { s -> ([any LiveViewer], Bool) in
            s.lastPictureAt = time
            s.statistics.pictures += 1
            var ask = false
            if s.track?.parameterSets != parameterSets || s.track?.codec != unit.codec {
                guard s.changeTrack(unit.codec, parameterSets) else { return ([], false) }
                if !unit.isKeyframe, !s.viewers.isEmpty {
                    ask = true
                    s.statistics.keyframeRequests += 1
                }
            }
            let picture = s.place(unit)
            if !s.viewers.isEmpty { s.lastViewerAt = time }
            if unit.isKeyframe {
                // Watched lately (or always, without a limit): keep this GOP for the next viewer.
                let keeping = options.keepGOPAfterViewer.map { after in s.lastViewerAt.map { $0.duration(to: time) < after } ?? false } ?? true
                s.kept.removeAll(keepingCapacity: keeping)
                s.keptBytes = 0
                s.keptIsWhole = keeping
            }
            if s.keptIsWhole {
                s.kept.append(picture)
                s.keptBytes += picture.size
                if s.keptBytes > keptLimit {
                    s.kept.removeAll()
                    s.keptBytes = 0
                    s.keptIsWhole = false
                }
            }
            guard !s.viewers.isEmpty else { return ([], ask) }
            let started = ContinuousClock.now
            defer { s.observeFanout(started.duration(to: .now)) }
            // Built only when someone takes it: a viewer in step, or any at a keyframe.
            let needed = unit.isKeyframe || s.viewers.contains { $0.phase == .live }
            let fragment = !needed ? [] : s.keptIsWhole ? s.fragment(ofKept: s.kept.count - 1) : s.build(picture)
            var closing: [any LiveViewer] = []
            var index = 0
            while index < s.viewers.count {
                var v = s.viewers[index]
                switch v.phase {
                case .live:
                    if v.viewer.send(fragment, ifQueuedBelow: limit) {
                        s.statistics.bytesSent += UInt64(fragment.count)
                    } else {
                        v.phase = .waitingForKeyframe
                        v.behindSince = time
                        s.statistics.viewerSkips += 1
                    }
                case .waitingForKeyframe where unit.isKeyframe:
                    if v.generation != s.generation { s.sendHeader(to: &v) }
                    if v.viewer.send(fragment, ifQueuedBelow: limit) {
                        s.statistics.bytesSent += UInt64(fragment.count)
                        v.phase = .live
                        v.behindSince = nil
                        s.firstFrame(of: &v, at: time)
                    } else if v.behindSince == nil {
                        v.behindSince = time
                    }
                case .waitingForKeyframe:
                    break
                }
                if let since = v.behindSince, since.duration(to: time) > timeout {
                    closing.append(v.viewer)
                    s.viewers.remove(at: index)
                    s.statistics.viewersDroppedSlow += 1
                    continue
                }
                s.viewers[index] = v
                index += 1
            }
            s.statistics.viewers = s.viewers.count
            return (closing, ask)
        }
        let seconds = timeout.components.seconds
        for viewer in closing {
            viewer.close(code: 1008, reason: "too slow: more than \(seconds > 0 ? "\(seconds) s" : "\(timeout)") behind the live stream")
        }
        if askKeyframe { requestKeyframe() }
    }
}

// MARK: State behind the lock

extension LiveFanout {
    enum Phase { case waitingForKeyframe, live }

    struct ViewerState {
        let viewer: any LiveViewer
        let attachedAt: ContinuousClock.Instant
        var phase: Phase = .waitingForKeyframe
        /// Since when it could not take a keyframe (nil: in step, or waiting for its first).
        var behindSince: ContinuousClock.Instant?
        /// The track generation whose status and init segment it has (0: none yet).
        var generation = 0
        var hadFirstFrame = false
    }

    /// One picture placed on the fan-out's decode timeline; its fragment is built when first needed.
    struct Picture {
        var nalUnits: [[UInt8]]
        var isKeyframe: Bool
        var decodeTime: UInt64
        var duration: UInt32
        var sequenceNumber: UInt32
        var size: Int
        var fragment: [UInt8]?
    }

    struct State {
        let createdAt: ContinuousClock.Instant
        var lastPictureAt: ContinuousClock.Instant?
        /// When a viewer was last attached or watching (nil: never).
        var lastViewerAt: ContinuousClock.Instant?
        var track: VideoTrack?
        /// Bumped on each new track: viewers with an older one get the new header first.
        var generation = 0
        var status = ""
        var initSegment: [UInt8] = []
        var viewers: [ViewerState] = []
        /// The pictures since the last keyframe, when they start at one and fit the limit.
        var kept: [Picture] = []
        var keptBytes = 0
        var keptIsWhole = false
        var lastTimestamp: Int64?
        var nextDecodeTime: UInt64 = 0
        var lastDuration = MP4Fragmenter.defaultDuration
        var nextSequence: UInt32 = 1
        var statistics = Statistics()

        init(createdAt: ContinuousClock.Instant) { self.createdAt = createdAt }

        /// A new track from new parameter sets; false (the picture is dropped) when they are unusable.
        mutating func changeTrack(_ codec: VideoCodec, _ parameterSets: ParameterSets) -> Bool {
            let track: VideoTrack
            do { track = try VideoTrack(codec: codec, parameterSets: parameterSets) } catch {
                statistics.lastError = "\(error)"
                return false
            }
            self.track = track
            generation += 1
            initSegment = FragmentedMP4.initSegment(track)
            var json = JSONWriter(capacity: 80)
            json.object { j in
                j.field("codec", track.codecString)
                j.field("width", track.width)
                j.field("height", track.height)
            }
            status = json.text
            statistics.lastError = nil
            statistics.codec = track.codecString
            statistics.width = track.width
            statistics.height = track.height
            kept.removeAll()
            keptBytes = 0
            keptIsWhole = false
            // The new parameter sets need a keyframe: in-step viewers wait for one.
            for index in viewers.indices where viewers[index].phase == .live { viewers[index].phase = .waitingForKeyframe }
            return true
        }

        /// Decode time from the RTP timestamps' differences, so the timeline stays continuous
        /// across a jump (a new receiver starting at 0, a camera restart): there a picture
        /// follows the last one by the last picture's duration. A picture's own duration is not
        /// known until the next one comes; waiting for it would cost a frame of latency, so each
        /// sample gets the duration between the two pictures before it.
        mutating func place(_ unit: AccessUnit) -> Picture {
            if let last = lastTimestamp {
                let delta = unit.timestamp - last
                if delta > 0, delta <= MP4Fragmenter.longestDuration { lastDuration = UInt32(delta) }
                nextDecodeTime += UInt64(lastDuration)
            }
            lastTimestamp = unit.timestamp
            let size = unit.nalUnits.reduce(0) { $0 + 4 + $1.count }
            defer { nextSequence &+= 1 }
            return Picture(nalUnits: unit.nalUnits, isKeyframe: unit.isKeyframe, decodeTime: nextDecodeTime,
                           duration: lastDuration, sequenceNumber: nextSequence, size: size)
        }

        mutating func build(_ picture: Picture) -> [UInt8] {
            statistics.fragmentsBuilt += 1
            let sample = MP4Sample(duration: picture.duration, isSync: picture.isKeyframe, data: MP4Sample.lengthPrefixed(picture.nalUnits))
            return FragmentedMP4.fragment(sequenceNumber: picture.sequenceNumber, baseDecodeTime: picture.decodeTime, samples: [sample])
        }

        /// The kept picture's fragment, built once and shared by every viewer after. Its NAL
        /// units are let go then: the fragment holds them (a watched GOP is kept once, not twice).
        mutating func fragment(ofKept index: Int) -> [UInt8] {
            if let built = kept[index].fragment { return built }
            let built = build(kept[index])
            kept[index].fragment = built
            kept[index].nalUnits = []
            return built
        }

        /// Status JSON and init segment: small, and a viewer without them can show nothing, so
        /// they are queued whatever the viewer's backlog.
        mutating func sendHeader(to v: inout ViewerState) {
            if v.viewer.send(status, ifQueuedBelow: .max) { statistics.bytesSent += UInt64(status.utf8.count) }
            if v.viewer.send(initSegment, ifQueuedBelow: .max) { statistics.bytesSent += UInt64(initSegment.count) }
            v.generation = generation
        }

        mutating func observeFanout(_ duration: Duration) {
            let (seconds, attoseconds) = duration.components
            let value = Double(seconds) + Double(attoseconds) / 1e18
            for index in LiveFanout.fanoutBounds.indices where value <= LiveFanout.fanoutBounds[index] { statistics.fanoutBuckets[index] += 1 }
            statistics.fanoutSecondsSum += value
            statistics.fanoutCount += 1
        }

        mutating func firstFrame(of v: inout ViewerState, at time: ContinuousClock.Instant) {
            guard !v.hadFirstFrame else { return }
            v.hadFirstFrame = true
            let (seconds, attoseconds) = v.attachedAt.duration(to: time).components
            let elapsed = Double(seconds) + Double(attoseconds) / 1e18
            statistics.lastFirstFrameSeconds = elapsed
            statistics.firstFrameCount += 1
            statistics.firstFrameSecondsSum += elapsed
        }
    }
}

/// The live fan-outs of all cameras: the stream manager asks `sinks(for:)` at each stream start
/// (one fan-out per camera, kept across restarts so viewers stay attached), the Dashboard looks
/// a camera's up for each viewer.
public final class LiveRegistry: Sendable {
    /// A camera counts as streaming when its fan-out got a picture this recently, or was
    /// (re)started this recently and is waiting for its first (10 s).
    public let staleAfter: Duration
    public let options: LiveFanout.Options
    private let entries = Mutex<[String: Entry]>([:])
    private let keyframeRequester = Mutex<(@Sendable (String) -> Void)?>(nil)

    private struct Entry {
        let fanout: LiveFanout
        var startedAt: ContinuousClock.Instant
    }

    public init(options: LiveFanout.Options = .init(), staleAfter: Duration = .seconds(10)) {
        self.options = options
        self.staleAfter = staleAfter
    }

    /// Where keyframe requests for new viewers go (StreamManager.requestKeyframe(camera:)); set
    /// once both exist, since the manager is built with this registry's `sinks(for:)`.
    public func connect(keyframeRequests: @escaping @Sendable (String) -> Void) {
        keyframeRequester.withLock { $0 = keyframeRequests }
    }

    /// Asks `camera`'s stream for a keyframe through what `connect` gave.
    func requestKeyframe(camera: String) {
        keyframeRequester.withLock { $0 }?(camera)
    }

    /// The sinks to add beside the recorder when `camera`'s stream starts: its fan-out.
    public func sinks(for camera: String) -> [any AccessUnitSink] {
        [fanout(startingFor: camera)]
    }

    /// The camera's fan-out, made at its first start and marked (re)started.
    public func fanout(startingFor camera: String) -> LiveFanout {
        let time = ContinuousClock.now
        return entries.withLock { entries in
            if var entry = entries[camera] {
                entry.startedAt = time
                entries[camera] = entry
                return entry.fanout
            }
            let fanout = LiveFanout(camera: camera, options: options, requestKeyframe: { [weak self] in
                self?.requestKeyframe(camera: camera)
            })
            entries[camera] = Entry(fanout: fanout, startedAt: time)
            return fanout
        }
    }

    /// The camera's fan-out, if its stream ever started.
    public func fanout(for camera: String) -> LiveFanout? { entries.withLock { $0[camera]?.fanout } }

    /// Whether `camera` is streaming now: a picture within `staleAfter`, or started that recently.
    public func isStreaming(_ camera: String) -> Bool {
        guard let entry = entries.withLock({ $0[camera] }) else { return false }
        let time = ContinuousClock.now
        if let last = entry.fanout.lastPictureAt, last.duration(to: time) <= staleAfter { return true }
        return entry.startedAt.duration(to: time) <= staleAfter
    }

    /// Cameras with a fan-out, sorted.
    public var cameras: [String] { entries.withLock { Array($0.keys) }.sorted() }

    /// Cameras streaming now, sorted.
    public var streamingCameras: [String] { cameras.filter(isStreaming) }

    /// Every fan-out's counters, by camera.
    public func statistics() -> [(camera: String, statistics: LiveFanout.Statistics)] {
        let fanouts = entries.withLock { $0.map { ($0.key, $0.value.fanout) } }.sorted { $0.0 < $1.0 }
        return fanouts.map { ($0.0, $0.1.statistics) }
    }

    /// Forgets a camera (removed from the configuration): its viewers are closed.
    public func remove(camera: String) {
        let fanout = entries.withLock { $0.removeValue(forKey: camera)?.fanout }
        fanout?.closeAll(reason: "camera \(camera) was removed")
    }
}
