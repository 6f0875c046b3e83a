import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// The second half of a scan: fills duration and codec (ffprobe) and makes thumbnails (ffmpeg)
/// for recordings that lack them, `MediaTools.concurrency` child processes at a time. A tool that
/// fails or times out on one file is an error in the report; the row keeps its NULLs (the
/// dashboard's placeholder) and the next scan tries again.
///
/// Files reach the tools as descriptors opened by us (`/dev/fd/3`, no symbolic link followed
/// below the root); a thumbnail is written to a temporary name in its directory and renamed
/// into place, so a half-written JPEG is never linked.
final class MediaScan {
    private let store: Store
    private let tools: MediaTools
    private let cursor: DirectoryCursor
    private static let rowsPerBatch = 128
    /// Only this recording, its thumbnail from the first frame (the segment recorder's call).
    private let onlyRecording: Int64?

    init(store: Store, tools: MediaTools, rootFD: Int32, onlyRecording: Int64? = nil) {
        self.store = store
        self.tools = tools
        self.cursor = DirectoryCursor(rootFD: rootFD)
        self.onlyRecording = onlyRecording
    }

    private struct Row { var id: Int64; var path: [UInt8]; var durationMilliseconds: Int64?; var hasThumbnail: Bool }
    private enum Stage { case probe, thumbnail }
    private struct Job {
        var row: Row
        var stage: Stage
        var process: MediaProcess
        var deadline: Int64
        var input: Int32
        /// Thumbnail stage: directory descriptor (owned by the cursor), temporary and final names.
        var directory: Int32 = -1
        var temporary: [UInt8] = []
        var output: Int32 = -1
    }
    private struct Update { var id: Int64; var durationMilliseconds: Int64?; var codec: String?; var thumbnail: [UInt8]? }

    func run(report: inout ScanReport) throws {
        defer { cursor.closeAll() }
        let probing = tools.ffprobe != nil, thumbnailing = tools.ffmpeg != nil
        if let problem = tools.ffprobeProblem {
            let missing = try store.read { try $0.scalar("SELECT count(*) FROM recordings WHERE duration_ms IS NULL", as: Int.self) } ?? 0
            if missing > 0 { report.notes.append("durations: ffprobe \(problem); \(missing) recording(s) have no duration yet") }
        }
        if let problem = tools.ffmpegProblem {
            let missing = try store.read { try $0.scalar("SELECT count(*) FROM recordings WHERE thumbnail IS NULL", as: Int.self) } ?? 0
            if missing > 0 { report.notes.append("thumbnails: ffmpeg \(problem); \(missing) recording(s) show the placeholder") }
        }
        guard probing || thumbnailing else { return }
        var after: Int64 = 0
        while true {
            let rows = try store.read { db -> [Row] in
                let statement = try db.prepare("""
                    SELECT id, path, duration_ms, thumbnail IS NOT NULL FROM recordings
                    WHERE id > ?1 AND ((?2 AND duration_ms IS NULL) OR (?3 AND thumbnail IS NULL)) AND (?5 IS NULL OR id = ?5)
                    ORDER BY id LIMIT ?4
                    """)
                try statement.bind([.integer(after), .integer(probing ? 1 : 0), .integer(thumbnailing ? 1 : 0), .integer(Int64(Self.rowsPerBatch)),
                                    onlyRecording.map { .integer($0) } ?? .null])
                var rows: [Row] = []
                while try statement.step() {
                    rows.append(Row(id: Int64.decode(from: statement.value(at: 0)) ?? 0, path: [UInt8].decode(from: statement.value(at: 1)) ?? [],
                                    durationMilliseconds: Int64.decode(from: statement.value(at: 2)),
                                    hasThumbnail: Int64.decode(from: statement.value(at: 3)) == 1))
                }
                return rows
            }
            guard let last = rows.last else { break }
            after = last.id
            let updates = process(rows, report: &report)
            try store.write { db in
                let probe = try db.prepare("""
                    UPDATE recordings SET duration_ms = coalesce(?2, duration_ms), codec = coalesce(?3, codec),
                        start_at = CASE WHEN ?2 IS NULL THEN start_at ELSE
                            strftime('%Y-%m-%dT%H:%M:%fZ', (julianday(end_at) - 2440587.5) * 86400.0 - ?2 / 1000.0, 'unixepoch') END
                    WHERE id = ?1
                    """)
                let link = try db.prepare("UPDATE recordings SET thumbnail = ?2 WHERE id = ?1 AND thumbnail IS NULL")
                for update in updates {
                    if update.durationMilliseconds != nil || update.codec != nil {
                        try probe.execute([.integer(update.id), update.durationMilliseconds.map { .integer($0) } ?? .null, update.codec.map { .text($0) } ?? .null])
                    }
                    if let thumbnail = update.thumbnail {
                        try link.execute([.integer(update.id), .blob(thumbnail)])
                        report.thumbnailsMade += db.changes
                    }
                }
            }
            report.probed += updates.count { $0.durationMilliseconds != nil || $0.codec != nil }
            cursor.closeAll()
        }
    }

    /// Runs the batch's probes and thumbnails, at most `concurrency` at a time; a row's thumbnail
    /// waits for its probe (short recordings are grabbed at 0 s instead of 1 s).
    private func process(_ rows: [Row], report: inout ScanReport) -> [Update] {
        var pending: [(Row, Stage)] = rows.reversed().compactMap { row in
            if tools.ffprobe != nil && row.durationMilliseconds == nil { return (row, .probe) }
            if tools.ffmpeg != nil && !row.hasThumbnail { return (row, .thumbnail) }
            return nil
        }
        var running: [Job] = []
        var updates: [Int64: Update] = [:]
        func fail(_ row: Row, _ message: String) {
            report.errors.append(PathError(path: RecordingPath.display(row.path), error: message))
        }
        while !pending.isEmpty || !running.isEmpty {
            while running.count < tools.concurrency, let (row, stage) = pending.popLast() {
                switch start(row, stage) {
                case .success(let job): running.append(job)
                case .failure(let error): fail(row, error.message)
                }
            }
            var finishedAny = false
            var index = 0
            while index < running.count {
                var job = running[index]
                let now = FileOps.monotonicMilliseconds()
                if job.process.poll() == nil {
                    guard now >= job.deadline else { index += 1; continue }
                    job.process.kill()
                    job.process.waitForExit()
                    finish(&job, ok: false)
                    fail(job.row, "\(job.stage == .probe ? "ffprobe" : "ffmpeg") timed out after \(tools.timeoutSeconds) s (media.timeout_seconds); killed")
                } else if job.stage == .probe {
                    finish(&job, ok: true)
                    switch Self.parseProbe(job.process) {
                    case .success(let (duration, codec)):
                        updates[job.row.id, default: Update(id: job.row.id)].durationMilliseconds = duration
                        updates[job.row.id, default: Update(id: job.row.id)].codec = codec
                        if tools.ffmpeg != nil && !job.row.hasThumbnail {
                            var row = job.row
                            row.durationMilliseconds = duration
                            pending.append((row, .thumbnail))
                        }
                    case .failure(let error): fail(job.row, error.message)
                    }
                } else {
                    if let thumbnail = finish(&job, ok: job.process.succeeded) {
                        updates[job.row.id, default: Update(id: job.row.id)].thumbnail = thumbnail
                    } else {
                        fail(job.row, "ffmpeg could not make a thumbnail (\(job.process.ending))" + Self.firstLine(job.process.errorOutput))
                    }
                }
                running.remove(at: index)
                finishedAny = true
            }
            if !finishedAny && !running.isEmpty { usleep(5_000) }
        }
        return rows.compactMap { updates[$0.id] }
    }

    private func start(_ row: Row, _ stage: Stage) -> Result<Job, StartError> {
        if let problem = RecordingPath.problem(row.path) { return .failure(StartError("stored path refused (\(problem.rawValue))")) }
        let (parent, name) = RecordingPath.split(row.path)
        let input: Int32
        switch cursor.open(parent).flatMap({ FileOps.openFile($0, name) }) {
        case .success(let fd): input = fd
        case .failure(let code): return .failure(StartError("open for \(stage == .probe ? "ffprobe" : "ffmpeg"): \(FileOps.message(code.code))"))
        }
        let deadline = FileOps.monotonicMilliseconds() + Int64(tools.timeoutSeconds) * 1000
        switch stage {
        case .probe:
            let arguments = ["-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name", "-of", "csv=p=0", "/dev/fd/3"]
            do {
                let process = try MediaProcess(executable: tools.ffprobe!, arguments: arguments, descriptors: [(input, 3)])
                return .success(Job(row: row, stage: .probe, process: process, deadline: deadline, input: input))
            } catch {
                FileOps.close(input)
                return .failure(StartError("cannot start \(tools.ffprobe!): \(FileOps.message(error.code))"))
            }
        case .thumbnail:
            let thumbnail = RecordingIndex.thumbnailPath(for: row.path)
            let (directoryPath, jpeg) = RecordingPath.split(thumbnail)
            let directory: Int32
            switch makeDirectories(directoryPath) {
            case .success(let fd): directory = fd
            case .failure(let code):
                FileOps.close(input)
                return .failure(StartError("make thumbnail directory \(RecordingPath.display(directoryPath)): \(FileOps.message(code.code))"))
            }
            let temporary = [0x2E] + jpeg + Array(".\(getpid()).part".utf8)
            _ = FileOps.unlink(directory, temporary)
            let output: Int32
            switch FileOps.createFile(directory, temporary) {
            case .success(let fd): output = fd
            case .failure(let code):
                FileOps.close(input)
                return .failure(StartError("create thumbnail: \(FileOps.message(code.code))"))
            }
            // Short recordings have no frame at 1 s; a recorder's segment starts with its keyframe.
            let seek = (row.durationMilliseconds ?? 2000) >= 2000 && onlyRecording == nil ? "1" : "0"
            let arguments = ["-y", "-v", "error", "-ss", seek, "-i", "/dev/fd/3", "-frames:v", "1", "-vf", "scale=320:-2",
                             "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1"]
            do {
                let process = try MediaProcess(executable: tools.ffmpeg!, arguments: arguments, descriptors: [(input, 3), (output, 1)])
                return .success(Job(row: row, stage: .thumbnail, process: process, deadline: deadline, input: input,
                                    directory: directory, temporary: temporary, output: output))
            } catch {
                FileOps.close(input); FileOps.close(output)
                _ = FileOps.unlink(directory, temporary)
                return .failure(StartError("cannot start \(tools.ffmpeg!): \(FileOps.message(error.code))"))
            }
        }
    }

    struct StartError: Error { let message: String; init(_ message: String) { self.message = message } }

    /// Closes the job's files; for a thumbnail, renames the temporary file into place when the
    /// tool succeeded and wrote something, else removes it. Returns the thumbnail's path.
    @discardableResult
    private func finish(_ job: inout Job, ok: Bool) -> [UInt8]? {
        FileOps.close(job.input)
        guard job.stage == .thumbnail else { return nil }
        let size = (try? FileOps.status(job.output).get().size) ?? 0
        FileOps.close(job.output)
        let thumbnail = RecordingIndex.thumbnailPath(for: job.row.path)
        let name = RecordingPath.split(thumbnail).name
        if ok && size > 0 && FileOps.rename(job.directory, job.temporary, to: name) == nil { return thumbnail }
        _ = FileOps.unlink(job.directory, job.temporary)
        return nil
    }

    /// Opens (making what is missing) a directory below the root, never through a symbolic link.
    private func makeDirectories(_ path: [UInt8]) -> Result<Int32, Errno> {
        switch cursor.open(path) {
        case .failure(.noEntry):
            let (parent, name) = RecordingPath.split(path)
            switch makeDirectories(parent) {
            case .success(let parentFD):
                if let code = FileOps.makeDirectory(parentFD, name), code != .exists { return .failure(code) }
                return cursor.open(path)
            case .failure(let code): return .failure(code)
            }
        case let other: return other
        }
    }

    /// `ffprobe -of csv=p=0` prints one line per stream (`codec_name,codec_type`) and one with
    /// the format's duration in seconds. The codec is the first video stream's, else the first's.
    static func parseProbe(_ process: MediaProcess) -> Result<(Int64?, String?), StartError> {
        let text = String(decoding: process.output, as: UTF8.self)
        var duration: Int64?, video: String?, first: String?
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if fields.count == 1, let seconds = Double(fields[0]), seconds.isFinite, seconds >= 0 {
                duration = Int64((seconds * 1000).rounded())
            } else if fields.count >= 2 {
                let kinds: Set<String> = ["video", "audio", "subtitle", "data", "attachment"]
                let type = fields.first(where: kinds.contains)
                let name = fields.first(where: { !kinds.contains($0) && !$0.isEmpty })
                if let name {
                    if first == nil { first = name }
                    if type == "video" && video == nil { video = name }
                }
            }
        }
        guard process.succeeded, duration != nil || first != nil else {
            return .failure(StartError("ffprobe found no media (\(process.ending))" + firstLine(process.errorOutput)))
        }
        return .success((duration, video ?? first))
    }

    static func firstLine(_ bytes: [UInt8]) -> String {
        let line = bytes.split(separator: 0x0A).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return line.isEmpty ? "" : ": " + line
    }
}
