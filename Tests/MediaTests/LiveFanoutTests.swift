@testable import Media
import Synchronization
import Testing
import TestSupport
import Wire

/// The live fan-out on real H.264 (libx264 at test time), checked on the bytes viewers get:
/// fragments parse (MP4FragmentReader) and decode (ffprobe/ffmpeg), each viewer starts at a
/// keyframe, the decode timeline is continuous, slow viewers skip or are closed without
/// touching the others, 50 viewers share one copy of each fragment.
@Suite(.serialized) struct LiveFanoutTests {
    static let videos = try! TemporaryDirectory(prefix: "live-video")
    /// 4 s, 320×240, 25 frames/s, a keyframe every second (100 pictures, keyframes at 0, 25, 50, 75).
    static let video = try! TestVideo(seconds: 4, width: 320, height: 240, rate: 25, gop: 25, in: videos)

    /// A viewer that records what it is sent, with a queue it drains only when told (a reader
    /// that stops reading keeps its bytes queued).
    final class TestViewer: LiveViewer, @unchecked Sendable {
        enum Message: Equatable { case text(String), binary([UInt8]) }
        struct State {
            var messages: [Message] = []
            var queued = 0
            var reading = true
            var closed: (code: UInt16, reason: String)?
        }
        let state = Mutex(State())

        init(reading: Bool = true) { state.withLock { $0.reading = reading } }

        func send(_ bytes: [UInt8], ifQueuedBelow limit: Int) -> Bool { accept(.binary(bytes), size: bytes.count, limit: limit) }
        func send(_ text: String, ifQueuedBelow limit: Int) -> Bool { accept(.text(text), size: text.utf8.count, limit: limit) }

        private func accept(_ message: Message, size: Int, limit: Int) -> Bool {
            state.withLock { s in
                guard s.closed == nil, s.queued + size <= limit else { return false }
                s.messages.append(message)
                if !s.reading { s.queued += size }
                return true
            }
        }

        func close(code: UInt16, reason: String) { state.withLock { if $0.closed == nil { $0.closed = (code, reason) } } }

        /// Starts or stops reading; starting drains what was queued.
        func setReading(_ reading: Bool) { state.withLock { $0.reading = reading; if reading { $0.queued = 0 } } }

        var messages: [Message] { state.withLock { $0.messages } }
        var closed: (code: UInt16, reason: String)? { state.withLock { $0.closed } }
        var texts: [String] { messages.compactMap { if case .text(let t) = $0 { t } else { nil } } }
        var binaries: [[UInt8]] { messages.compactMap { if case .binary(let b) = $0 { b } else { nil } } }
        /// The binary messages that are fragments (after the init segment).
        var fragments: [Fragment] { binaries.filter { Box.type($0) == "moof" }.map(Fragment.init) }
    }

    /// A clock the test moves.
    final class TestClock: @unchecked Sendable {
        let instant = Mutex(ContinuousClock.now)
        func advance(_ duration: Duration) { instant.withLock { $0 = $0.advanced(by: duration) } }
        var now: @Sendable () -> ContinuousClock.Instant { { [self] in instant.withLock { $0 } } }
    }

    /// Box walking over our own fragments: `moof`'s `tfdt` and `trun`, for timeline checks.
    enum Box {
        static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3]) }
        static func type(_ b: [UInt8], at: Int = 0) -> String { b.count >= at + 8 ? String(decoding: b[(at + 4)..<(at + 8)], as: UTF8.self) : "" }
        /// The body range of the first child `type` inside `range`.
        static func child(_ b: [UInt8], _ type: String, in range: Range<Int>) -> Range<Int>? {
            var at = range.lowerBound
            while at + 8 <= range.upperBound {
                let size = Int(u32(b, at))
                guard size >= 8, at + size <= range.upperBound else { return nil }
                if Self.type(b, at: at) == type { return (at + 8)..<(at + size) }
                at += size
            }
            return nil
        }
    }

    struct Fragment {
        var bytes: [UInt8]
        var decodeTime: UInt64
        var durations: [UInt32]
        var syncs: [Bool]
        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            let moof = Box.child(bytes, "moof", in: 0..<bytes.count)!
            let traf = Box.child(bytes, "traf", in: moof)!
            let tfdt = Box.child(bytes, "tfdt", in: traf)!
            decodeTime = bytes[tfdt.lowerBound] == 1
                ? UInt64(Box.u32(bytes, tfdt.lowerBound + 4)) << 32 | UInt64(Box.u32(bytes, tfdt.lowerBound + 8))
                : UInt64(Box.u32(bytes, tfdt.lowerBound + 4))
            let trun = Box.child(bytes, "trun", in: traf)!
            // Our trun: flags data-offset | duration | size | flags; 12 bytes per sample after 12 of header.
            let count = Int(Box.u32(bytes, trun.lowerBound + 4))
            durations = (0..<count).map { Box.u32(bytes, trun.lowerBound + 12 + $0 * 12) }
            syncs = (0..<count).map { Box.u32(bytes, trun.lowerBound + 12 + $0 * 12 + 8) & 0x0001_0000 == 0 }
        }
    }

    static var sets: ParameterSets { ParameterSets(sps: video.sps, pps: video.pps) }

    static func feed(_ fanout: LiveFanout, _ video: TestVideo = video, range: Range<Int>? = nil, startTimestamp: Int64 = 5_000_000,
                     clock: TestClock? = nil, after: (Int) -> Void = { _ in }) {
        let sets = ParameterSets(sps: video.sps, pps: video.pps)
        for index in range ?? 0..<video.pictures.count {
            let picture = video.pictures[index]
            fanout.receive(AccessUnit(codec: .h264, nalUnits: picture.nalUnits, timestamp: startTimestamp + Int64(index) * 3600,
                                      isKeyframe: picture.isKeyframe), parameterSets: sets)
            clock?.advance(.milliseconds(40))
            after(index)
        }
    }

    /// What MP4FragmentReader makes of an init segment and fragments written one after another.
    static func read(_ messages: [[UInt8]]) throws -> MP4FragmentReader.Whole {
        let file = messages.flatMap { $0 }
        return try MP4FragmentReader.whole(size: file.count) { offset, count in Array(file[offset..<min(file.count, offset + count)]) }
    }

    /// Decoded by ffprobe and ffmpeg from a file of the viewer's binary messages.
    static func probe(_ binaries: [[UInt8]], name: String) throws -> (ProbeResult, String) {
        let directory = try TemporaryDirectory(prefix: "live-probe")
        let path = directory.file(name)
        try writeFile(path, binaries.flatMap { $0 })
        return (try ProbeResult(path), try ProbeResult.decodeErrors(path))
    }

    @Test func aViewerGetsStatusInitAndOneKeyframeFirstFragmentPerPicture() throws {
        let fanout = LiveFanout(camera: "cam1")
        let viewer = TestViewer()
        fanout.attach(viewer)
        Self.feed(fanout)
        let messages = viewer.messages
        try #require(messages.count == 2 + 100)
        #expect(messages[0] == .text(#"{"codec":"avc1.\#(hexProfile(Self.video.sps))","width":320,"height":240}"#))
        #expect(viewer.binaries[0].count > 0 && Box.type(viewer.binaries[0]) == "ftyp")
        let whole = try Self.read(viewer.binaries)
        #expect(whole.stoppedBecause == nil, "\(String(describing: whole.stoppedBecause))")
        #expect(whole.fragments == 100 && whole.samples == 100 && whole.keyframes == 4)
        #expect(whole.codec == .h264 && whole.timescale == 90_000)

        let fragments = viewer.fragments
        #expect(fragments.first?.syncs == [true])
        #expect(fragments.map(\.syncs) == (0..<100).map { [$0 % 25 == 0] })
        // Continuous decode timeline: each fragment starts where the one before ends.
        for (previous, next) in zip(fragments, fragments.dropFirst()) {
            #expect(next.decodeTime == previous.decodeTime + UInt64(previous.durations.reduce(0, +)))
        }
        #expect(fragments.first?.decodeTime == 0 && fragments.last?.decodeTime == 99 * 3600)

        let (probe, errors) = try Self.probe(viewer.binaries, name: "viewer.mp4")
        #expect(probe.codec == "h264" && probe.width == 320 && probe.height == 240 && probe.frames == 100)
        #expect(errors.isEmpty, "\(errors)")
        let statistics = fanout.statistics
        #expect(statistics.viewers == 1 && statistics.fragmentsBuilt == 100 && statistics.pictures == 100)
        #expect(statistics.bytesSent == UInt64(viewer.binaries.reduce(0) { $0 + $1.count } + viewer.texts[0].utf8.count))
        #expect(statistics.firstFrameCount == 1 && statistics.codec == "avc1.\(hexProfile(Self.video.sps))")
    }

    /// Whether two arrays are one buffer (shared, not copied).
    func sameStorage(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress } }
    }

    /// The codec string RFC 6381 makes of an SPS: profile_idc, constraint flags, level_idc in hex.
    func hexProfile(_ sps: [UInt8]) -> String {
        sps[1...3].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test func aLateViewerStartsAtOnceFromTheKeptKeyframe() throws {
        let requests = Atomic<Int>(0)
        let fanout = LiveFanout(camera: "cam1", requestKeyframe: { requests.add(1, ordering: .relaxed) })
        Self.feed(fanout, range: 0..<40)   // keyframes at 0 and 25: the kept GOP is 25..<40
        #expect(fanout.statistics.fragmentsBuilt == 0, "no fragment is built while nobody watches")
        let viewer = TestViewer()
        fanout.attach(viewer)
        #expect(requests.load(ordering: .relaxed) == 0, "a kept GOP needs no keyframe request")
        let atAttach = viewer.fragments
        #expect(viewer.texts.count == 1 && atAttach.count == 15)
        #expect(atAttach.first?.syncs == [true] && atAttach.first?.decodeTime == 25 * 3600)
        #expect(fanout.statistics.lastFirstFrameSeconds.map { $0 < 0.5 } == true)
        Self.feed(fanout, range: 40..<100)
        let fragments = viewer.fragments
        #expect(fragments.count == 75)
        for (previous, next) in zip(fragments, fragments.dropFirst()) {
            #expect(next.decodeTime == previous.decodeTime + UInt64(previous.durations[0]))
        }
        let (probe, errors) = try Self.probe(viewer.binaries, name: "late.mp4")
        #expect(probe.frames == 75 && probe.width == 320)
        #expect(errors.isEmpty, "\(errors)")
        // The kept GOP's fragments are built once: the next viewer gets the same bytes.
        let second = TestViewer()
        fanout.attach(second)
        #expect(second.fragments.count == 25)
        let first = viewer.binaries.suffix(25), again = second.binaries.suffix(25)
        #expect(zip(first, again).allSatisfy { pair in sameStorage(pair.0, pair.1) })
    }

    @Test func aStreamNobodyWatchedLatelyKeepsNoGOPAndItsNextViewerAsksForAKeyframe() throws {
        // media.live_keep_gop_minutes: kept while watched and for 2 s (here) after the last viewer.
        let clock = TestClock()
        let requests = Atomic<Int>(0)
        let fanout = LiveFanout(camera: "cam1", options: .init(keepGOPAfterViewer: .seconds(2)),
                                requestKeyframe: { requests.add(1, ordering: .relaxed) }, now: clock.now)
        Self.feed(fanout, range: 0..<30, clock: clock)   // never watched: nothing kept
        let cold = TestViewer()
        fanout.attach(cold)
        #expect(requests.load(ordering: .relaxed) == 1, "no GOP kept: the camera is asked for a keyframe")
        #expect(cold.fragments.isEmpty)
        Self.feed(fanout, range: 30..<60, clock: clock)   // keyframe at 50: the viewer starts there
        #expect(cold.fragments.first?.syncs == [true] && cold.fragments.count == 10)
        fanout.detach(cold)
        Self.feed(fanout, range: 60..<80, clock: clock)   // the GOP of 75 starts 0.6 s after the viewer left
        let warm = TestViewer()
        fanout.attach(warm)
        #expect(requests.load(ordering: .relaxed) == 1, "watched 0.6 s ago: the GOP was kept")
        #expect(warm.fragments.first?.syncs == [true] && warm.fragments.count == 5)
        fanout.detach(warm)
        clock.advance(.seconds(3))
        Self.feed(fanout, range: 80..<100, clock: clock)   // no keyframe after 75: the kept GOP stays until one
        Self.feed(fanout, Self.video, range: 0..<30, startTimestamp: 5_000_000 + 100 * 3600, clock: clock)  // keyframes at 0 and 25, 3 s after
        let late = TestViewer()
        fanout.attach(late)
        #expect(requests.load(ordering: .relaxed) == 2, "unwatched for 3 s > 2 s: the GOP was let go, a keyframe is asked for")
        #expect(late.fragments.isEmpty)
    }

    @Test func withoutAKeptGOPTheCameraIsAskedForAKeyframe() throws {
        let requests = Atomic<Int>(0)
        let fanout = LiveFanout(camera: "cam1", requestKeyframe: { requests.add(1, ordering: .relaxed) })
        let viewer = TestViewer()
        fanout.attach(viewer)                    // nothing received yet
        #expect(requests.load(ordering: .relaxed) == 1 && viewer.messages.isEmpty)
        Self.feed(fanout, range: 5..<25)         // joined mid-GOP: nothing to start from, asked again
        #expect(viewer.messages.isEmpty && requests.load(ordering: .relaxed) == 2)
        let late = TestViewer()
        fanout.attach(late)
        #expect(requests.load(ordering: .relaxed) == 3 && late.messages.isEmpty)
        Self.feed(fanout, range: 25..<30)
        for v in [viewer, late] {
            #expect(v.texts.count == 1 && v.fragments.count == 5 && v.fragments.first?.syncs == [true])
        }
        #expect(fanout.statistics.keyframeRequests == 3 && fanout.statistics.firstFrameCount == 2)
    }

    @Test func aKeptGOPOverItsLimitIsDroppedAndViewersWaitForTheNextKeyframe() throws {
        let requests = Atomic<Int>(0)
        let bytes = Self.video.pictures[0..<25].reduce(0) { $0 + $1.nalUnits.reduce(0) { $0 + 4 + $1.count } }
        let fanout = LiveFanout(camera: "cam1", options: .init(keptBytes: bytes / 2), requestKeyframe: { requests.add(1, ordering: .relaxed) })
        Self.feed(fanout, range: 0..<20)
        let viewer = TestViewer()
        fanout.attach(viewer)
        #expect(viewer.messages.isEmpty && requests.load(ordering: .relaxed) == 1)
        Self.feed(fanout, range: 20..<30)
        #expect(viewer.fragments.count == 5 && viewer.fragments.first?.syncs == [true])
    }

    @Test func aViewerWhoseQueueIsFullSkipsToTheNextKeyframeOthersGetEverything() throws {
        let bytes = Self.video.pictures[0..<25].reduce(0) { $0 + $1.nalUnits.reduce(0) { $0 + 4 + $1.count } }
        let fanout = LiveFanout(camera: "cam1", options: .init(viewerQueueBytes: bytes + 4096))
        let steady = TestViewer(), slow = TestViewer(reading: false)
        fanout.attach(steady)
        fanout.attach(slow)
        // The slow one does not read until picture 60: its queue fills during the first or second
        // GOP and refuses the keyframe at 50; it drains at 60 (mid-GOP) and resumes at the keyframe at 75.
        Self.feed(fanout) { index in if index == 60 { slow.setReading(true) } }
        let all = steady.fragments
        #expect(all.count == 100 && steady.closed == nil)
        let got = slow.fragments
        #expect(got.count < 100 && got.count > 25)
        #expect(fanout.statistics.viewerSkips == 1 && fanout.statistics.viewersDroppedSlow == 0 && slow.closed == nil)
        // Where its fragments jump, the first after the jump is a keyframe.
        for (previous, next) in zip(got, got.dropFirst()) where next.decodeTime != previous.decodeTime + 3600 {
            #expect(next.syncs == [true])
            #expect(next.decodeTime == 75 * 3600)
        }
        #expect(got.last?.decodeTime == 99 * 3600)
        // Every fragment it got is one the steady viewer got, the same bytes.
        let times = Set(all.map(\.decodeTime))
        #expect(got.allSatisfy { times.contains($0.decodeTime) })
    }

    @Test func aViewerBehindLongerThanTheTimeoutIsClosedWith1008() throws {
        let clock = TestClock()
        let largest = Self.video.pictures.map { $0.nalUnits.reduce(0) { $0 + 4 + $1.count } }.max()!
        let fanout = LiveFanout(camera: "cam1", options: .init(viewerQueueBytes: largest + 4096, slowViewerTimeout: .seconds(1)), now: clock.now)
        let steady = TestViewer(), stuck = TestViewer(reading: false)
        fanout.attach(steady)
        fanout.attach(stuck)
        Self.feed(fanout, clock: clock)
        let closed = try #require(stuck.closed)
        #expect(closed.code == 1008 && closed.reason.contains("too slow") && closed.reason.contains("1 s"))
        #expect(fanout.statistics.viewersDroppedSlow == 1 && fanout.statistics.viewers == 1)
        #expect(steady.fragments.count == 100 && steady.closed == nil)
        // Closed within the timeout plus one GOP of the moment it fell behind.
        let got = stuck.fragments.count
        #expect(got < 25)
    }

    @Test func fiftyViewersShareOneCopyOfEachFragment() throws {
        let fanout = LiveFanout(camera: "cam1")
        let viewers = (0..<50).map { _ in TestViewer() }
        for viewer in viewers { fanout.attach(viewer) }
        Self.feed(fanout)
        #expect(fanout.statistics.fragmentsBuilt == 100 && fanout.statistics.viewers == 50)
        // Each watched picture's time in the fan-out is counted (no picture was fed unwatched).
        #expect(fanout.statistics.fanoutCount == 100 && fanout.statistics.fanoutBuckets.last == 100)
        #expect(fanout.statistics.fanoutSecondsSum > 0)
        let reference = viewers[0].binaries
        #expect(reference.count == 101)
        for viewer in viewers.dropFirst() {
            let binaries = viewer.binaries
            #expect(binaries.count == 101 && viewer.texts.count == 1)
            let shared = zip(reference.dropFirst(), binaries.dropFirst()).allSatisfy { pair in sameStorage(pair.0, pair.1) }
            #expect(shared, "a fragment was copied per viewer")
        }
        for viewer in viewers.prefix(25) { fanout.detach(viewer) }
        #expect(fanout.statistics.viewers == 25)
    }

    @Test func newParameterSetsSendANewStatusAndInitSegment() throws {
        let other = try TestVideo(seconds: 2, width: 640, height: 360, rate: 25, gop: 25, in: Self.videos)
        let fanout = LiveFanout(camera: "cam1")
        let viewer = TestViewer()
        fanout.attach(viewer)
        Self.feed(fanout, range: 0..<50)
        // The camera rebooted at 640×360; its timestamps start again elsewhere.
        Self.feed(fanout, other, startTimestamp: 77_000)
        let texts = viewer.texts
        try #require(texts.count == 2)
        #expect(texts[1].contains(#""width":640,"height":360"#))
        let messages = viewer.messages
        let secondStatus = try #require(messages.firstIndex(of: .text(texts[1])))
        #expect(secondStatus == 2 + 50)
        guard case .binary(let initSegment) = messages[secondStatus + 1] else { Issue.record("no init segment after the status"); return }
        #expect(Box.type(initSegment) == "ftyp")
        let after = messages[(secondStatus + 1)...].compactMap { if case .binary(let b) = $0 { b } else { nil } }
        let whole = try Self.read(after)
        #expect(whole.stoppedBecause == nil && whole.fragments == 50 && whole.keyframes == 2)
        let (probe, errors) = try Self.probe(after, name: "rebooted.mp4")
        #expect(probe.width == 640 && probe.height == 360 && probe.frames == 50)
        #expect(errors.isEmpty, "\(errors)")
        // The timeline goes on across the jump.
        let fragments = viewer.fragments
        #expect(fragments[50].decodeTime == fragments[49].decodeTime + 3600)
    }

    @Test func unusableParameterSetsAreReportedAndTheirPicturesDropped() throws {
        let fanout = LiveFanout(camera: "cam1")
        let viewer = TestViewer()
        fanout.attach(viewer)
        let bad = ParameterSets(sps: [0x67, 0x42], pps: Self.video.pps)   // an SPS cut short
        let picture = Self.video.pictures[0]
        fanout.receive(AccessUnit(codec: .h264, nalUnits: picture.nalUnits, timestamp: 0, isKeyframe: true), parameterSets: bad)
        #expect(viewer.messages.isEmpty)
        let error = try #require(fanout.statistics.lastError)
        #expect(error.contains("SPS") || error.contains("sps"), "\(error)")
        Self.feed(fanout, range: 0..<5)
        #expect(viewer.fragments.count == 5 && fanout.statistics.lastError == nil)
    }

    @Test func theRegistryHandsOutOneFanoutPerCameraAndRoutesKeyframeRequests() throws {
        let registry = LiveRegistry()
        let asked = Mutex<[String]>([])
        registry.connect(keyframeRequests: { camera in asked.withLock { $0.append(camera) } })
        #expect(!registry.isStreaming("cam1") && registry.fanout(for: "cam1") == nil)
        let sinks = registry.sinks(for: "cam1")
        let fanout = try #require(sinks.first as? LiveFanout)
        #expect(sinks.count == 1 && registry.fanout(for: "cam1") === fanout)
        #expect(registry.sinks(for: "cam1").first as? LiveFanout === fanout, "a restart keeps the fan-out and its viewers")
        #expect(registry.isStreaming("cam1") && registry.streamingCameras == ["cam1"])
        fanout.attach(TestViewer())
        #expect(asked.withLock { $0 } == ["cam1"])
        let viewer = TestViewer()
        fanout.attach(viewer)
        registry.remove(camera: "cam1")
        #expect(viewer.closed?.code == 1001 && registry.cameras.isEmpty)
    }
}
