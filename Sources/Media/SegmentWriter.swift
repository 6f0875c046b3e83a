import POSIX
import Storage
import Synchronization
import Wire

/// The writer thread's side of the segment recorder: turns queued pictures into segment files.
/// Only the writer thread calls it (after `SegmentRecorder.init`, before `close` returns);
/// `statistics` is read by other threads through its lock.
final class SegmentWriter {
    private let root: FileDescriptor
    private let cameraDirectory: FileDescriptor
    private let camera: String
    private let segmentTicks: Int64
    private let fragmentTicks: Int64
    private let index: RecordingIndex?
    private let media: MediaTools?

    private(set) var segments: [SegmentRecorder.Segment] = []
    let statistics = Mutex(SegmentRecorder.Statistics())

    /// The segment being written.
    private struct Open {
        var directory: FileDescriptor
        var directoryName: String
        var name: String
        var file: FileDescriptor
        var fragmenter: MP4Fragmenter
        var parameterSets: ParameterSets
        var lastTimestamp: Int64
        /// Segment time so far, in 90 kHz ticks.
        var elapsedTicks: Int64 = 0
        var lastStep = Int64(MP4Fragmenter.defaultDuration)
        var startMilliseconds: Int64
        /// What is in the file so far: whole fragments only.
        var bytes = 0
        var frames = 0
        var durationTicks: UInt64 = 0
        var path: String { camera + "/" + directoryName + "/" + name }
        var camera: String
    }
    private var current: Open?
    /// The last track made, reused while the parameter sets stay the same.
    private var track: VideoTrack?
    /// Set after a refused picture or a failed write: skip to the next keyframe.
    private var skippingToKeyframe = false
    /// Wall-clock time of an RTP timestamp: segment starts follow the stream's own clock, so
    /// consecutive segments meet exactly and a backlog in the queue does not shift them.
    private var anchor: (wallMilliseconds: Int64, timestamp: Int64)?
    /// Drift between the stream's clock and the wall clock past which the anchor is reset (a
    /// camera restart, a timestamp jump, the host's clock set).
    private static let anchorTolerance: Int64 = 5_000

    init(root: FileDescriptor, cameraDirectory: FileDescriptor, camera: String, segmentTicks: Int64, fragmentTicks: Int64,
         index: RecordingIndex?, media: MediaTools?) {
        self.root = root
        self.cameraDirectory = cameraDirectory
        self.camera = camera
        self.segmentTicks = segmentTicks
        self.fragmentTicks = fragmentTicks
        self.index = index
        self.media = media
    }

    func close() {
        cameraDirectory.close()
        root.close()
    }

    func write(_ unit: AccessUnit, parameterSets: ParameterSets, arrivedAt: Int64) {
        if skippingToKeyframe && !unit.isKeyframe {
            statistics.withLock { $0.framesSkipped += 1 }
            return
        }
        skippingToKeyframe = false
        if var open = current {
            let changed = parameterSets != open.parameterSets || unit.codec != open.fragmenter.track.codec
            // Elapsed time adds up the steps between pictures that are durations, so a jump in
            // the timestamps (a camera restart, RFC 3550 §8.2 new SSRC) neither ends the segment
            // at once nor keeps it open for hours.
            // (The fragmenter gives the picture before a jump the previous duration: so does this.)
            let step = unit.timestamp - open.lastTimestamp
            if step > 0 && step <= MP4Fragmenter.longestDuration { open.lastStep = step }
            open.elapsedTicks += open.lastStep
            open.lastTimestamp = unit.timestamp
            let due = open.elapsedTicks >= segmentTicks
            if changed || (due && unit.isKeyframe) {
                finishSegment(nextTimestamp: unit.timestamp)
                if !unit.isKeyframe {
                    // Coded with parameter sets the file's sample entry does not hold.
                    skip(problem: RecorderError("new parameter sets", path: open.path, "segment closed; the next one starts at the next keyframe"))
                    return
                }
            } else {
                do {
                    if let fragment = try open.fragmenter.append(unit) { try writeFragment(fragment, to: &open) }
                    current = open
                } catch let error as MP4Error {
                    current = open
                    skip(problem: RecorderError("refused a picture", path: open.path, "\(error)"))
                } catch {
                    current = open
                    failWrite(error)
                }
                return
            }
        }
        guard unit.isKeyframe else {
            statistics.withLock { $0.framesSkipped += 1 }
            return
        }
        startSegment(with: unit, parameterSets: parameterSets, arrivedAt: wallTime(of: unit.timestamp, arrivedAt: arrivedAt))
    }

    /// The wall-clock time of a picture: the anchor's time plus the RTP time since, unless that
    /// lands more than `anchorTolerance` from when the picture arrived.
    private func wallTime(of timestamp: Int64, arrivedAt: Int64) -> Int64 {
        if let anchor {
            let predicted = anchor.wallMilliseconds + (timestamp - anchor.timestamp) * 1000 / Int64(VideoTrack.timescale)
            if abs(predicted - arrivedAt) <= Self.anchorTolerance { return predicted }
        }
        anchor = (arrivedAt, timestamp)
        return arrivedAt
    }

    private func skip(problem: RecorderError) {
        skippingToKeyframe = true
        statistics.withLock { $0.framesSkipped += 1 }
        report(problem)
    }

    private func report(_ problem: RecorderError) {
        statistics.withLock { statistics in
            statistics.errors.append(problem)
            if statistics.errors.count > 50 { statistics.errors.removeFirst() }
        }
    }

    private func startSegment(with unit: AccessUnit, parameterSets: ParameterSets, arrivedAt: Int64) {
        let track: VideoTrack
        if let cached = self.track, cached.parameterSets == parameterSets, cached.codec == unit.codec {
            track = cached
        } else {
            do { track = try VideoTrack(codec: unit.codec, parameterSets: parameterSets) } catch {
                skip(problem: RecorderError("start a segment for camera \(camera)", "\(error); pictures are skipped until a keyframe comes with usable parameter sets"))
                return
            }
            self.track = track
        }
        var attempt = 1
        while true {
            let (day, name) = SegmentName.make(camera: camera, startMilliseconds: arrivedAt, attempt: attempt)
            let directory: FileDescriptor
            do { directory = try SegmentFiles.openOrMakeDirectory(day, in: cameraDirectory) } catch {
                skip(problem: RecorderError("make directory", path: camera + "/" + day, error))
                return
            }
            let file: FileDescriptor
            do throws(Errno) {
                // The final name must be free too: a rename never replaces a recording.
                if SegmentFiles.exists(name, in: directory) { throw Errno.fileExists }
                file = try FileDescriptor.open(name + SegmentName.partSuffix, .writeOnly, options: [.create, .exclusive, .noFollow],
                                               permissions: 0o644, in: directory)
            } catch {
                directory.close()
                if error == .fileExists && attempt < 100 {
                    attempt += 1
                    continue
                }
                let path: String = camera + "/" + day + "/" + name + SegmentName.partSuffix
                skip(problem: RecorderError("create", path: path, error))
                return
            }
            // Held until the file is closed (or the process dies): recovery leaves a locked .part alone.
            try? file.tryLockExclusive()
            var open = Open(directory: directory, directoryName: day, name: name, file: file,
                            fragmenter: MP4Fragmenter(track: track, fragmentDuration: fragmentTicks), parameterSets: parameterSets,
                            lastTimestamp: unit.timestamp, startMilliseconds: arrivedAt, camera: camera)
            do {
                let initSegment = FragmentedMP4.initSegment(track)
                try file.writeAll(initSegment)
                open.bytes = initSegment.count
                if let fragment = try open.fragmenter.append(unit) { try writeFragment(fragment, to: &open) }
                current = open
            } catch {
                current = open
                failWrite(error)
            }
            return
        }
    }

    private func writeFragment(_ fragment: MP4Fragment, to open: inout Open) throws(Errno) {
        try open.file.writeAll([fragment.header] + fragment.payloads)
        let count = fragment.byteCount
        open.bytes += count
        open.frames += fragment.sampleCount
        open.durationTicks += fragment.duration
        statistics.withLock { $0.bytesWritten += Int64(count) }
    }

    /// A write failed (disk full, I/O error): keep what was whole, close the segment, and start
    /// again at the next keyframe.
    private func failWrite(_ error: any Error) {
        guard let open = current else { return }
        report(RecorderError("write", path: open.path + SegmentName.partSuffix, "\(error); the segment is closed at its last whole fragment"))
        try? open.file.truncate(to: open.bytes)
        var kept = open
        kept.fragmenter = MP4Fragmenter(track: open.fragmenter.track)   // drop the pictures not yet written
        current = kept
        finishSegment(nextTimestamp: nil)
        skippingToKeyframe = true
    }

    /// Writes the last fragment, fsyncs, renames `.part` to `.mp4`, fsyncs the directory,
    /// registers the segment and makes its thumbnail.
    func finishSegment(nextTimestamp: Int64?) {
        guard var open = current else { return }
        current = nil
        defer { open.file.close(); open.directory.close() }
        let partName = open.name + SegmentName.partSuffix
        if let last = open.fragmenter.finish(nextTimestamp: nextTimestamp) {
            do { try writeFragment(last, to: &open) } catch {
                report(RecorderError("write", path: open.path + SegmentName.partSuffix, "\(error); the last fragment is left out"))
                try? open.file.truncate(to: open.bytes)
            }
        }
        let durationTicks = open.durationTicks
        guard open.frames > 0, durationTicks > 0 else {
            try? Directory.unlink(partName, in: open.directory)
            return
        }
        do {
            try open.file.sync()
            try SegmentFiles.rename(partName, to: open.name, in: open.directory)
            try open.directory.sync()
        } catch {
            // Left as .part: the next start trims and keeps it.
            report(RecorderError("finish", path: open.path + SegmentName.partSuffix, "\(error); left as .part for recovery at the next start"))
            return
        }
        var segment = SegmentRecorder.Segment(path: open.path, startMilliseconds: open.startMilliseconds,
                                              durationMilliseconds: Int64(durationTicks * 1000 / UInt64(VideoTrack.timescale)),
                                              bytes: Int64(open.bytes), frames: open.frames, codec: open.fragmenter.track.codec,
                                              recordingID: nil, recovered: false)
        segment.recordingID = Self.register(segment, camera: camera, index: index, media: media) { report($0) }
        segments.append(segment)
        statistics.withLock { statistics in
            statistics.segmentsWritten += 1
            statistics.framesWritten += segment.frames
        }
    }

    /// Registers a finished segment (and makes its thumbnail); problems go to `report`.
    static func register(_ segment: SegmentRecorder.Segment, camera: String, index: RecordingIndex?, media: MediaTools?,
                         report: (RecorderError) -> Void) -> Int64? {
        guard let index else { return nil }
        let id: Int64
        do {
            id = try index.register(NewRecording(cameraID: camera, path: Array(segment.path.utf8), startMilliseconds: segment.startMilliseconds,
                                                 durationMilliseconds: segment.durationMilliseconds, bytes: segment.bytes,
                                                 codec: segment.codec.storageName))
        } catch {
            report(RecorderError("register", path: segment.path, "\(error); `camhost recordings scan` will register the file"))
            return nil
        }
        if let media, media.ffmpeg != nil {
            do {
                let thumbnail = try index.makeThumbnail(recording: id, media: media)
                for problem in thumbnail.errors { report(RecorderError("thumbnail", path: problem.path, problem.error)) }
            } catch {
                report(RecorderError("thumbnail", path: segment.path, "\(error)"))
            }
        }
        return id
    }
}

extension SegmentWriter: @unchecked Sendable {}   // touched by the writer thread only; `statistics` is a Mutex

extension VideoCodec {
    /// The codec's name as ffprobe prints it, which `recordings.codec` holds.
    var storageName: String {
        switch self {
        case .h264: "h264"
        case .h265: "hevc"
        }
    }
}
