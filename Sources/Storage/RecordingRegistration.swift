import POSIX

/// A recording whose writer knows everything about it (the segment recorder): registered the
/// moment its file is complete, without the scan's settle wait or a probe.
public struct NewRecording: Sendable, Equatable {
    public var cameraID: String
    /// Relative to the recordings root; its first component must be `cameraID`.
    public var path: [UInt8]
    /// Milliseconds since 1970 (UTC) of the first picture.
    public var startMilliseconds: Int64
    public var durationMilliseconds: Int64
    public var bytes: Int64
    /// As ffprobe names it (`h264`, `hevc`), so rows from the recorder and from a scan agree.
    public var codec: String

    public init(cameraID: String, path: [UInt8], startMilliseconds: Int64, durationMilliseconds: Int64, bytes: Int64, codec: String) {
        self.cameraID = cameraID
        self.path = path
        self.startMilliseconds = startMilliseconds
        self.durationMilliseconds = durationMilliseconds
        self.bytes = bytes
        self.codec = codec
    }
}

extension RecordingIndex {
    /// Inserts the recording's row (and a `cameras` row with profile `unknown` for a camera seen
    /// for the first time, as a scan does). If a scan registered the same path first, its row
    /// takes the writer's times, size and codec. Returns the row's id.
    public func register(_ recording: NewRecording) throws -> Int64 {
        if let problem = RecordingPath.problem(recording.path) {
            throw FileError(operation: "refused to register (\(problem.rawValue))", path: recording.path, errno: Errno.invalid.code)
        }
        return try store.write { db in
            try db.execute("INSERT OR IGNORE INTO cameras (id, name, profile, address) VALUES (?1, ?1, 'unknown', '')", recording.cameraID)
            let statement = try db.prepare("""
                INSERT INTO recordings (camera_id, path, start_at, end_at, duration_ms, bytes, codec)
                VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / 1000.0, 'unixepoch'),
                        strftime('%Y-%m-%dT%H:%M:%fZ', (?3 + ?4) / 1000.0, 'unixepoch'), ?4, ?5, ?6)
                ON CONFLICT (path) DO UPDATE SET start_at = excluded.start_at, end_at = excluded.end_at,
                    duration_ms = excluded.duration_ms, bytes = excluded.bytes, codec = excluded.codec
                RETURNING id
                """)
            try statement.bind([.text(recording.cameraID), .blob(recording.path), .integer(recording.startMilliseconds),
                                .integer(recording.durationMilliseconds), .integer(recording.bytes), .text(recording.codec)])
            defer { statement.reset() }
            guard try statement.step(), let id = Int64.decode(from: statement.value(at: 0)) else {
                throw FileError(operation: "register (no row id returned)", path: recording.path, errno: Errno.invalid.code)
            }
            return id
        }
    }

    /// Makes the thumbnail of one recording from its first frame (a segment starts with a
    /// keyframe), with ffmpeg as the scan does (`MediaScan`: a descriptor we opened, a temporary
    /// file renamed into place). Blocks while ffmpeg runs (bounded by `media.timeoutSeconds`).
    /// Failures are in the report's `errors`; the row keeps its placeholder and the next scan retries.
    public func makeThumbnail(recording id: Int64, media: MediaTools) throws -> ScanReport {
        var report = ScanReport()
        guard media.ffmpeg != nil else {
            if let problem = media.ffmpegProblem { report.notes.append("thumbnails: ffmpeg \(problem)") }
            return report
        }
        let rootFD: Int32
        switch FileOps.openRoot(root) {
        case .success(let fd): rootFD = fd
        case .failure(let error): throw error
        }
        defer { FileOps.close(rootFD) }
        var thumbnailsOnly = media
        thumbnailsOnly.ffprobe = nil
        thumbnailsOnly.ffprobeProblem = nil
        try MediaScan(store: store, tools: thumbnailsOnly, rootFD: rootFD, onlyRecording: id).run(report: &report)
        return report
    }
}
