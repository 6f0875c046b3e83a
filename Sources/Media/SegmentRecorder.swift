import POSIX
import Storage
import Synchronization
import Wire

/// Records one camera's stream as fragmented MP4 segments under the recordings root, each
/// registered in Storage the moment it is complete. Written as `NAME.mp4.part`, fsynced and
/// renamed to `NAME.mp4`; cut on the first keyframe after `segmentSeconds`; a `.part` a crash
/// left behind is trimmed to its last whole fragment and kept when the next recorder for the
/// camera starts. docs/recordings.md ("The segment recorder") states the procedure.
///
/// ```swift
/// let recorder = try SegmentRecorder(root: "/var/lib/camhost/recordings", camera: "cam1", store: store)
/// stream.sinks.append(recorder)                       // receive(_:parameterSets:) per picture
/// let segments = recorder.close()                     // [Segment]: path, duration_ms, bytes
/// ```
///
/// Threads: `receive` is called on the stream's thread and only queues the picture (a lock and
/// an append); a writer thread of its own does every write, fsync, rename, database insert and
/// thumbnail. The queue is bounded (`queueLimitBytes`): past it pictures are dropped up to the
/// next keyframe and counted, so a stalled disk costs recording, never the stream.
public final class SegmentRecorder: AccessUnitSink {
    /// One finished segment.
    public struct Segment: Sendable, Hashable {
        /// Relative to the recordings root, e.g. `cam1/2026-12-04/cam1-20261204T181300.123Z.mp4`.
        public var path: String
        /// Milliseconds since 1970 (UTC) of its first picture.
        public var startMilliseconds: Int64
        public var durationMilliseconds: Int64
        public var bytes: Int64
        public var frames: Int
        public var codec: VideoCodec
        /// Its row in `recordings`; nil without a store, or when registering failed (then
        /// `recordings scan` registers the file later).
        public var recordingID: Int64?
        /// Trimmed and kept after a crash rather than written by this recorder.
        public var recovered: Bool
    }

    /// Counters for the stream's JSON, the dashboard and /metrics.
    public struct Statistics: Sendable, Hashable {
        public var segmentsWritten = 0
        public var framesWritten = 0
        public var bytesWritten: Int64 = 0
        /// Pictures not recorded: before the first keyframe, after a refused or dropped one up
        /// to the next keyframe, or over the queue's limit.
        public var framesSkipped = 0
        /// Of those, dropped because the writer fell behind by `queueLimitBytes`.
        public var framesDroppedOverLimit = 0
        /// Every problem so far (the last 50), oldest first.
        public var errors: [RecorderError] = []
    }

    public let root: String
    public let camera: String
    public let segmentSeconds: Int
    /// Bytes of pictures waiting for the writer before new ones are dropped (8 MiB: half a
    /// minute of a 2 Mbit/s stream).
    public let queueLimitBytes: Int
    /// Segments a crash had left as `.part`, trimmed and registered when this recorder started.
    public let recovered: [Segment]
    /// What recovery found and could not keep (no whole fragment, unreadable), one line each.
    public let recoveryNotes: [String]

    private let queue = PictureQueue()
    private let writer: SegmentWriter
    /// Joins the writer thread; taken (set to nil) by the first `close`.
    private let join = Mutex<(@Sendable () -> Void)?>(nil)
    private let finished = Mutex<[Segment]?>(nil)

    /// Opens (making it when missing) `<root>/<camera>/`, recovers `.part` files a crash left
    /// there, then starts the writer thread.
    ///
    /// - Parameters:
    ///   - root: the recordings root (`storage.recordings`, or `stream receive --record DIR`).
    ///   - camera: the camera id, the first directory under the root (retention's camera).
    ///   - segmentSeconds: `media.segment_seconds`; a segment ends at the first keyframe after it.
    ///   - store: where segments are registered; nil records files only (`recordings scan`
    ///     registers them later).
    ///   - media: ffmpeg for thumbnails (from the first keyframe); nil makes none.
    ///   - fragmentMilliseconds: the longest fragment without a keyframe: at most this much of
    ///     a segment is lost to a crash.
    public init(root: String, camera: String, segmentSeconds: Int = 60, store: Store? = nil, media: MediaTools? = nil,
                fragmentMilliseconds: Int = 1000, queueLimitBytes: Int = 8 << 20) throws(RecorderError) {
        if let problem = SegmentName.problem(camera: camera) { throw RecorderError("record camera \(camera)", problem) }
        guard segmentSeconds >= 1 else { throw RecorderError("record camera \(camera)", "segment_seconds must be at least 1, not \(segmentSeconds)") }
        self.root = root
        self.camera = camera
        self.segmentSeconds = segmentSeconds
        self.queueLimitBytes = queueLimitBytes
        let rootDirectory: FileDescriptor
        do { rootDirectory = try FileDescriptor.open(root, .readOnly, options: [.directory]) } catch {
            throw RecorderError("open recordings root", path: root, "\(error) (create it, or check storage.recordings / --record)")
        }
        let cameraDirectory: FileDescriptor
        do { cameraDirectory = try SegmentFiles.openOrMakeDirectory(camera, in: rootDirectory) } catch {
            rootDirectory.close()
            throw RecorderError("open camera directory", path: camera, "\(error)")
        }
        let index = store.map { RecordingIndex(store: $0, root: root) }
        let recovery = SegmentRecovery(root: rootDirectory, cameraDirectory: cameraDirectory, camera: camera, index: index, media: media)
        let (segments, notes) = recovery.run()
        recovered = segments
        recoveryNotes = notes
        writer = SegmentWriter(root: rootDirectory, cameraDirectory: cameraDirectory, camera: camera,
                               segmentTicks: Int64(segmentSeconds) * Int64(VideoTrack.timescale),
                               fragmentTicks: Int64(max(40, fragmentMilliseconds)) * Int64(VideoTrack.timescale) / 1000,
                               index: index, media: media)
        let (queue, writer) = (self.queue, self.writer)
        let thread = startThread { Self.writerLoop(queue: queue, writer: writer) }
        join.withLock { $0 = { joinThread(thread) } }
    }

    deinit { _ = close() }

    /// Queues a picture for the writer thread; returns at once (a lock, an append, and now and
    /// then a post).
    public func receive(_ unit: AccessUnit, parameterSets: ParameterSets) {
        receive(unit, parameterSets: parameterSets, arrivedAt: SegmentFiles.wallMilliseconds())
    }

    /// `arrivedAt`: wall-clock milliseconds (tests replay a stream faster than real time).
    func receive(_ unit: AccessUnit, parameterSets: ParameterSets, arrivedAt: Int64) {
        let size = unit.nalUnits.reduce(0) { $0 + $1.count + 4 }
        let wake = queue.state.withLock { queue -> Bool in
            guard !queue.closed else { return false }
            if queue.skippingToKeyframe && !unit.isKeyframe { queue.dropped += 1; return false }
            if queue.bytes + size > queueLimitBytes {
                queue.skippingToKeyframe = true
                queue.dropped += 1
                return false
            }
            queue.skippingToKeyframe = false
            queue.pictures.append((unit, parameterSets, arrivedAt))
            queue.bytes += size
            // The writer only writes whole fragments (at a keyframe, or after `fragmentMilliseconds`),
            // so it is woken when one may be due, not for every picture: a thread switch per
            // picture was half the recorder's CPU (docs/streams.md, benchmark).
            guard let first = queue.pictures.first else { return false }
            return unit.isKeyframe || queue.bytes >= Self.wakeBytes
                || arrivedAt - first.arrivedAt >= Self.wakeMilliseconds
                || unit.timestamp - first.unit.timestamp >= Int64(VideoTrack.timescale) * Self.wakeMilliseconds / 1000
        }
        if wake { queue.wakeUp.signal() }
    }

    /// Finishes the segment being written (fsync, rename, register) and stops the writer
    /// thread; returns the segments this recorder wrote, oldest first. Pictures received
    /// afterwards are ignored. Safe to call more than once (later calls return the same list).
    @discardableResult
    public func close() -> [Segment] {
        // Held while the writer finishes, so a second caller waits for the same list.
        finished.withLock { finished -> [Segment] in
            if let done = finished { return done }
            queue.state.withLock { $0.closed = true }
            queue.wakeUp.signal()
            if let joinWriter = join.withLock({ j -> (@Sendable () -> Void)? in defer { j = nil }; return j }) { joinWriter() }
            finished = writer.segments
            return writer.segments
        }
    }

    /// Counters so far (segments, frames, bytes, drops, errors).
    public var statistics: Statistics {
        var statistics = writer.statistics.withLock { $0 }
        let dropped = queue.state.withLock { $0.dropped }
        statistics.framesSkipped += dropped
        statistics.framesDroppedOverLimit = dropped
        return statistics
    }

    /// Pictures wait at most this long (by arrival or by their timestamps) before the writer
    /// is woken; a crash loses at most this plus one fragment.
    static let wakeMilliseconds: Int64 = 250
    static let wakeBytes = 1 << 20

    private static func writerLoop(queue: PictureQueue, writer: SegmentWriter) {
        while true {
            queue.wakeUp.wait()
            let (batch, closed) = queue.state.withLock { queue in
                defer { queue.pictures.removeAll(keepingCapacity: true); queue.bytes = 0 }
                return (queue.pictures, queue.closed)
            }
            for picture in batch { writer.write(picture.unit, parameterSets: picture.parameterSets, arrivedAt: picture.arrivedAt) }
            if closed {
                writer.finishSegment(nextTimestamp: nil)
                writer.close()
                return
            }
        }
    }
}

/// Pictures handed from the stream's thread to the writer thread.
private final class PictureQueue: Sendable {
    struct State {
        var pictures: [(unit: AccessUnit, parameterSets: ParameterSets, arrivedAt: Int64)] = []
        var bytes = 0
        var skippingToKeyframe = false
        var dropped = 0
        var closed = false
    }
    let state = Mutex(State())
    let wakeUp = Semaphore()
}
