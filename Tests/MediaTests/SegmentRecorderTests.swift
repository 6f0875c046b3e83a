import Glibc
@testable import Media
import Storage
import Testing
import TestSupport
import Wire

/// The segment recorder on real H.264 (libx264 at test time): segments cut on keyframes,
/// registered in a real SQLite store, checked by ffprobe and ffmpeg; crash recovery of `.part`
/// files; bad input refused with a clear error and nothing lost.
@Suite(.serialized) struct SegmentRecorderTests {
    static let videos = try! TemporaryDirectory(prefix: "recorder-video")
    /// 8 s, 320×240, 25 frames/s, a keyframe every second.
    static let video = try! TestVideo(seconds: 8, width: 320, height: 240, rate: 25, gop: 25, in: videos)
    static let tools = MediaTools.resolve(ffprobe: "", ffmpeg: "", concurrency: 1, timeoutSeconds: 30)

    /// A recordings root and a database beside it (never inside: retention refuses that).
    struct Lab {
        let directory: TemporaryDirectory
        let root: String
        let store: Store
        var index: RecordingIndex { RecordingIndex(store: store, root: root) }

        init() throws {
            directory = try TemporaryDirectory(prefix: "recorder")
            root = directory.file("recordings")
            mkdir(root, 0o755)
            store = try Store(path: directory.file("camhost.db"), migrator: CamhostSchema.migrator)
        }

        func full(_ relative: String) -> String { root + "/" + relative }

        /// Files under the root (relative), sorted, thumbnails included.
        func files(_ relative: String = "") -> [String] {
            var found: [String] = []
            guard let dir = opendir(relative.isEmpty ? root : full(relative)) else { return [] }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                let child = relative.isEmpty ? name : relative + "/" + name
                if Int32(entry.pointee.d_type) == DT_DIR { found += files(child) } else { found.append(child) }
            }
            return found.sorted()
        }
    }

    /// Replays pictures as if they arrived at their real pace (the wall clock they carry
    /// follows their RTP timestamps from `wallStart`), as fast as the recorder takes them.
    static func feed(_ recorder: SegmentRecorder, _ video: TestVideo, from first: Int = 0, count: Int? = nil,
                     sets: ParameterSets? = nil, startTimestamp: Int64 = 1_000_000, wallStart: Int64 = 1_796_400_000_000) {
        let sets = sets ?? ParameterSets(sps: video.sps, pps: video.pps)
        let end = count.map { first + $0 } ?? video.pictures.count
        for index in first..<end {
            let picture = video.pictures[index]
            let timestamp = startTimestamp + Int64(index) * 3600
            recorder.receive(AccessUnit(codec: .h264, nalUnits: picture.nalUnits, timestamp: timestamp, isKeyframe: picture.isKeyframe),
                             parameterSets: sets, arrivedAt: wallStart + (timestamp - 1_000_000) / 90)
        }
    }

    @Test func segmentsAreCutAtTheFirstKeyframeAfterTheirLength() throws {
        let lab = try Lab()
        // A keyframe every 1.6 s (40 frames) and 2 s segments: cuts at 3.2 s and 6.4 s.
        let video = try TestVideo(seconds: 8, width: 320, height: 240, rate: 25, gop: 40, in: Self.videos)
        let recorder = try SegmentRecorder(root: lab.root, camera: "cam1", segmentSeconds: 2, store: lab.store, media: Self.tools)
        #expect(recorder.recovered.isEmpty && recorder.recoveryNotes.isEmpty)
        Self.feed(recorder, video)
        let segments = recorder.close()
        #expect(segments.map(\.frames) == [80, 80, 40])
        #expect(segments.map(\.durationMilliseconds) == [3200, 3200, 1600])
        #expect(recorder.statistics.errors.isEmpty, "\(recorder.statistics.errors)")
        #expect(recorder.statistics.segmentsWritten == 3 && recorder.statistics.framesWritten == 200 && recorder.statistics.framesSkipped == 0)

        let rows = try lab.index.list(camera: "cam1")
        try #require(rows.count == 3)
        for (segment, row) in zip(segments, rows) {
            #expect(segment.path.hasPrefix("cam1/") && segment.path.hasSuffix(".mp4") && !segment.recovered)
            #expect(String(decoding: row.path, as: UTF8.self) == segment.path)
            #expect(row.id == segment.recordingID)
            #expect(row.durationMilliseconds == segment.durationMilliseconds && row.codec == "h264" && row.bytes == segment.bytes)
            #expect(row.startAt < row.endAt)
            var info = stat()
            #expect(stat(lab.full(segment.path), &info) == 0 && Int64(info.st_size) == segment.bytes)
            let probe = try ProbeResult(lab.full(segment.path))
            #expect(probe.codec == "h264" && probe.width == 320 && probe.height == 240)
            #expect(probe.frames == segment.frames)
            #expect(abs(probe.durationSeconds * 1000 - Double(segment.durationMilliseconds)) <= 40, "\(segment.path): \(probe.durationSeconds) s")
            #expect(try ProbeResult.decodeErrors(lab.full(segment.path)) == "")
            if Self.tools.ffmpeg != nil {
                let thumbnail = try #require(row.thumbnail, "a thumbnail from the first keyframe")
                #expect(try readBytes(lab.full(String(decoding: thumbnail, as: UTF8.self))).starts(with: [0xFF, 0xD8]))
            }
        }
        // Consecutive segments: each starts where the previous ended (times follow the RTP clock).
        #expect(segments[1].startMilliseconds == segments[0].startMilliseconds + 3200)
        #expect(segments[2].startMilliseconds == segments[1].startMilliseconds + 3200)
        #expect(rows[0].endAt == rows[1].startAt)
        // The files are like any recording: nothing left as .part, and a scan adds nothing.
        #expect(!lab.files().contains { $0.hasSuffix(".part") }, "\(lab.files())")
        let scan = try lab.index.scan(settleSeconds: 0, now: Int64.max / 2_000_000_000)
        #expect(scan.registered == 0 && scan.errors.isEmpty, "\(scan)")
    }

    @Test func keyframeEverySecondGivesSegmentsOfTheirLength() throws {
        let lab = try Lab()
        let recorder = try SegmentRecorder(root: lab.root, camera: "cam2", segmentSeconds: 3, store: lab.store)
        Self.feed(recorder, Self.video)
        let segments = recorder.close()
        #expect(segments.map(\.frames) == [75, 75, 50])
        #expect(segments.map(\.durationMilliseconds) == [3000, 3000, 2000])
        for segment in segments {
            let probe = try ProbeResult(lab.full(segment.path))
            #expect(probe.frames == segment.frames && abs(probe.durationSeconds * 1000 - Double(segment.durationMilliseconds)) <= 40)
        }
        #expect(try lab.index.list(camera: "cam2").count == 3)
        // After close: pictures are ignored, close answers the same.
        Self.feed(recorder, Self.video, count: 30)
        #expect(recorder.close() == segments)
    }

    @Test func picturesBeforeAKeyframeOrWithoutParameterSetsAreRefusedAndTheRestRecorded() throws {
        let lab = try Lab()
        let recorder = try SegmentRecorder(root: lab.root, camera: "cam1", segmentSeconds: 60, store: lab.store)
        // The stream joined mid-GOP: 10 non-key pictures (frames 15..24) first.
        Self.feed(recorder, Self.video, from: 15, count: 10)
        // A keyframe (and its GOP) before any parameter sets arrived.
        Self.feed(recorder, Self.video, from: 25, count: 25, sets: ParameterSets(sps: [], pps: []))
        // Then an SPS that lies about its size (4096 macroblocks wide) for the next GOP.
        var liar = Self.video.sps
        liar.replaceSubrange(4..., with: [0xF4, 0x00, 0x00, 0x00, 0x01, 0x4F, 0x80])   // ue(0) fields, then a 4096-macroblock width
        Self.feed(recorder, Self.video, from: 50, count: 25, sets: ParameterSets(sps: liar, pps: Self.video.pps))
        // Then the real thing: 4 s recorded.
        Self.feed(recorder, Self.video, from: 75, count: 100)
        let segments = recorder.close()
        let statistics = recorder.statistics
        #expect(segments.count == 1 && segments.first?.frames == 100)
        #expect(statistics.framesSkipped == 60, "\(statistics)")
        let messages = statistics.errors.map(\.description)
        #expect(messages.contains { $0.contains("bad SPS: empty NAL unit") }, "\(messages)")
        #expect(messages.contains { $0.contains("bad SPS") && !$0.contains("empty") }, "\(messages)")
        // One error per refused keyframe, not one per picture.
        #expect(messages.count == 2, "\(messages)")
        let probe = try ProbeResult(lab.full(segments[0].path))
        #expect(probe.frames == 100 && abs(probe.durationSeconds - 4.0) <= 0.04)
        #expect(try ProbeResult.decodeErrors(lab.full(segments[0].path)) == "")
        #expect(try lab.index.list().count == 1)
    }

    @Test func newParameterSetsStartANewSegment() throws {
        let lab = try Lab()
        let other = try TestVideo(seconds: 2, width: 160, height: 120, rate: 25, gop: 25, in: Self.videos)
        let recorder = try SegmentRecorder(root: lab.root, camera: "cam1", segmentSeconds: 60, store: lab.store)
        Self.feed(recorder, Self.video, count: 50)
        Self.feed(recorder, other, startTimestamp: 1_000_000 + 50 * 3600)
        let segments = recorder.close()
        #expect(segments.map(\.frames) == [50, 50])
        #expect(try ProbeResult(lab.full(segments[1].path)).width == 160)
        #expect(try ProbeResult(lab.full(segments[0].path)).width == 320)
    }

    @Test func aTimestampJumpNeitherEndsNorStretchesTheSegment() throws {
        let lab = try Lab()
        let recorder = try SegmentRecorder(root: lab.root, camera: "cam1", segmentSeconds: 3, store: lab.store)
        // 2 s, then the camera restarts with timestamps an hour back, then 6 s more.
        Self.feed(recorder, Self.video, count: 50, startTimestamp: 400_000_000)
        Self.feed(recorder, Self.video, from: 50, count: 150, startTimestamp: 400_000_000 - 324_000_000)
        let segments = recorder.close()
        #expect(segments.map(\.frames) == [75, 75, 50], "cut by the time recorded, not by the timestamps")
        #expect(recorder.statistics.errors.isEmpty)
        for segment in segments { #expect(try ProbeResult(lab.full(segment.path)).frames == segment.frames) }
    }

    @Test func aFullQueueDropsPicturesInsteadOfBlockingTheStream() throws {
        let lab = try Lab()
        let recorder = try SegmentRecorder(root: lab.root, camera: "cam1", store: lab.store, queueLimitBytes: 1)
        Self.feed(recorder, Self.video, count: 50)
        #expect(recorder.close().isEmpty)
        #expect(recorder.statistics.framesDroppedOverLimit == 50 && recorder.statistics.framesSkipped == 50)
        #expect(lab.files("cam1").isEmpty)
    }

    @Test func badCameraIDsAndRootsAreRefusedWithTheReason() throws {
        let lab = try Lab()
        for (camera, reason) in [("", "empty"), ("cam/../etc", "'/'"), (".thumbnails", "starts with '.'"), ("a/b", "'/'")] {
            do {
                _ = try SegmentRecorder(root: lab.root, camera: camera)
                Issue.record("accepted camera \(camera)")
            } catch {
                #expect(error.description.contains(reason), "\(error)")
            }
        }
        do {
            _ = try SegmentRecorder(root: lab.directory.file("missing"), camera: "cam1")
            Issue.record("accepted a missing root")
        } catch {
            #expect(error.description.contains("No such file") && error.description.contains("missing"), "\(error)")
        }
    }

    // MARK: Crash recovery

    /// A complete segment's bytes (init segment + 4 one-second fragments) made by a recorder.
    static func segmentBytes() throws -> (bytes: [UInt8], fragmentEnds: [Int]) {
        let track = try VideoTrack(codec: .h264, parameterSets: ParameterSets(sps: video.sps, pps: video.pps))
        var fragmenter = MP4Fragmenter(track: track)
        var bytes = FragmentedMP4.initSegment(track)
        var ends: [Int] = []
        for (index, picture) in video.pictures.prefix(100).enumerated() {
            let unit = AccessUnit(codec: .h264, nalUnits: picture.nalUnits, timestamp: Int64(index) * 3600, isKeyframe: picture.isKeyframe)
            if let fragment = try fragmenter.append(unit) { bytes += fragment.bytes; ends.append(bytes.count) }
        }
        if let last = fragmenter.finish() { bytes += last.bytes; ends.append(bytes.count) }
        return (bytes, ends)
    }

    @Test func truncatedPartWithGarbageIsTrimmedKeptAndRegisteredOnce() throws {
        let lab = try Lab()
        let (bytes, ends) = try Self.segmentBytes()
        mkdir(lab.full("cam1"), 0o755)
        mkdir(lab.full("cam1/2026-12-04"), 0o755)
        let name = "cam1/2026-12-04/cam1-20261204T101500.250Z.mp4"
        // Cut in the middle of the fourth fragment, then junk a torn write might leave.
        try writeFile(lab.full(name + ".part"), Array(bytes[..<(ends[2] + 700)]) + [UInt8](repeating: 0xAB, count: 333))
        // A .part with nothing playable, and one directly in the camera directory.
        try writeFile(lab.full("cam1/2026-12-04/cam1-20261204T100000.000Z.mp4.part"), Array(bytes.prefix(40)))
        try writeFile(lab.full("cam1/cam1-20261204T090000.000Z.mp4.part"), Array(bytes[..<ends[0]]))

        // `recordings scan` never registers a .part, however old.
        let scan = try lab.index.scan(settleSeconds: 0, now: Int64.max / 2_000_000_000)
        #expect(scan.registered == 0)

        let recorder = try SegmentRecorder(root: lab.root, camera: "cam1", store: lab.store, media: Self.tools)
        _ = recorder.close()
        let recovered = recorder.recovered.sorted { $0.path < $1.path }
        #expect(recovered.map(\.path) == ["cam1/2026-12-04/cam1-20261204T101500.250Z.mp4", "cam1/cam1-20261204T090000.000Z.mp4"])
        #expect(recovered.allSatisfy { $0.recovered })
        let kept = recovered[0]
        #expect(kept.frames == 75 && kept.durationMilliseconds == 3000 && kept.bytes == Int64(ends[2]))
        #expect(kept.startMilliseconds == CivilTime(year: 2026, month: 12, day: 4, hour: 10, minute: 15, second: 0, millisecond: 250).milliseconds)
        #expect(recorder.recoveryNotes.contains { $0.contains("cut 1033 bytes") }, "\(recorder.recoveryNotes)")
        #expect(recorder.recoveryNotes.contains { $0.contains("removed cam1/2026-12-04/cam1-20261204T100000.000Z.mp4.part") }, "\(recorder.recoveryNotes)")
        #expect(lab.files("cam1") == ["cam1/2026-12-04/cam1-20261204T101500.250Z.mp4", "cam1/cam1-20261204T090000.000Z.mp4"])

        let probe = try ProbeResult(lab.full(kept.path))
        #expect(probe.frames == 75 && abs(probe.durationSeconds - 3.0) <= 0.04)
        #expect(try ProbeResult.decodeErrors(lab.full(kept.path)) == "")

        let rows = try lab.index.list(camera: "cam1")
        #expect(rows.count == 2)
        let row = try #require(rows.first { String(decoding: $0.path, as: UTF8.self) == kept.path })
        #expect(row.startAt == "2026-12-04T10:15:00.250Z" && row.endAt == "2026-12-04T10:15:03.250Z")
        #expect(row.durationMilliseconds == 3000 && row.codec == "h264" && row.bytes == Int64(ends[2]))

        // The next start finds nothing more; a scan adds no second row.
        let again = try SegmentRecorder(root: lab.root, camera: "cam1", store: lab.store)
        _ = again.close()
        #expect(again.recovered.isEmpty && again.recoveryNotes.isEmpty)
        #expect(try lab.index.scan(settleSeconds: 0, now: Int64.max / 2_000_000_000).registered == 0)
        #expect(try lab.index.list(camera: "cam1").count == 2)
    }

    @Test func aPartBeingWrittenIsLeftAlone() throws {
        let lab = try Lab()
        let writing = try SegmentRecorder(root: lab.root, camera: "cam1", store: lab.store)
        Self.feed(writing, Self.video, count: 60)
        // Wait until the writer has written its fragments.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while writing.statistics.bytesWritten == 0 && ContinuousClock.now < deadline { usleep(10_000) }
        let second = try SegmentRecorder(root: lab.root, camera: "cam1", store: lab.store)
        #expect(second.recovered.isEmpty)
        #expect(second.recoveryNotes.contains { $0.contains("being written by another process") }, "\(second.recoveryNotes)")
        _ = second.close()
        #expect(writing.close().count == 1)
        #expect(try lab.index.list().count == 1)
    }

    @Test func segmentNamesCarryTheirStart() {
        let start = CivilTime(year: 2026, month: 2, day: 28, hour: 23, minute: 59, second: 59, millisecond: 999).milliseconds
        #expect(CivilTime(milliseconds: start + 1) == CivilTime(year: 2026, month: 3, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0))
        #expect(CivilTime(milliseconds: 0) == CivilTime(year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0))
        #expect(CivilTime(year: 2024, month: 2, day: 29, hour: 12, minute: 0, second: 0, millisecond: 0).milliseconds == 1_709_208_000_000)
        let (day, file) = SegmentName.make(camera: "cam-1", startMilliseconds: start)
        #expect(day == "2026-02-28" && file == "cam-1-20260228T235959.999Z.mp4")
        #expect(SegmentName.startMilliseconds(of: file) == start)
        #expect(SegmentName.make(camera: "c", startMilliseconds: start, attempt: 2).file == "c-20260228T235959.999Z-2.mp4")
        #expect(SegmentName.startMilliseconds(of: "c-20260228T235959.999Z-r2.mp4") == start)
        #expect(SegmentName.startMilliseconds(of: "holiday.mp4") == nil)
        #expect(SegmentName.startMilliseconds(of: "x-20261399T000000.000Z.mp4") == nil)
    }
}
