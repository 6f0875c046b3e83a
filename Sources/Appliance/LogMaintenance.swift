import Logging
import POSIX
import Synchronization

/// Log maintenance (the old platform's 03:00 cron job): in each log folder, files older than
/// `keepDays` are deleted and files larger than `maxBytes` are rotated to `NAME.YYYYMMDD-HHMMSS`.
///
/// Rotation never loses a line a writer is appending (camhost, Mosquitto, Kurento all append
/// with O_APPEND and never reopen): the file's first S bytes (S = its size rounded down to the
/// file system's block) are copied out and fsynced, then removed from the live file with
/// FALLOC_FL_COLLAPSE_RANGE, which shifts whatever was appended meanwhile to the start in one
/// step. Where the file system cannot collapse (not ext4/XFS), it falls back to copy-then-truncate,
/// and says so: that can lose what is written between the copy and the truncation.
public struct LogMaintenance: Sendable {
    public struct Report: Sendable, Equatable {
        public var deleted: [String] = []
        public var rotated: [String] = []
        public var bytesFreed: Int64 = 0
        public var errors: [String] = []
        /// Rotations that had to copy-then-truncate (no collapse on that file system).
        public var lossyRotations: [String] = []
    }

    public var directories: [String]
    public var keepDays: Int
    public var maxBytes: Int64

    public init(directories: [String], keepDays: Int, maxBytes: Int64) {
        self.directories = directories
        self.keepDays = keepDays
        self.maxBytes = maxBytes
    }

    /// Whether a name is one this maintenance made (`.YYYYMMDD-HHMMSS` at the end): never rotated again.
    static func isRotated(_ name: String) -> Bool {
        let parts = name.split(separator: ".")
        guard let last = parts.last, parts.count > 1, last.count >= 15 else { return false }
        let dash = last.index(last.startIndex, offsetBy: 8)
        return last[dash] == "-" && last.allSatisfy { $0.isNumber || $0 == "-" }
    }

    public func run(now: Int64 = Clock.unixSeconds) -> Report {
        var report = Report()
        let cutoff = now - Int64(keepDays) * 86_400
        for directory in directories {
            var names: [String] = []
            do {
                try Directory.forEachEntry(at: directory) { name, kind in
                    if kind == nil || kind == .file { names.append(String(decoding: name, as: UTF8.self)) }
                }
            } catch {
                if error != .noSuchFileOrDirectory { report.errors.append("\(directory): \(error)") }
                continue
            }
            for name in names.sorted() {
                let path = directory + "/" + name
                guard let status = try? FileStatus(path, followingLinks: false), status.kind == .file else { continue }
                if status.modifiedSeconds < cutoff {
                    do {
                        try FileSystem.remove(path)
                        report.deleted.append(path)
                        report.bytesFreed += status.size
                    } catch {
                        report.errors.append("\(path): \(error)")
                    }
                } else if status.size > maxBytes && !Self.isRotated(name) {
                    do {
                        let lossy = try rotate(path)
                        report.rotated.append(path)
                        if lossy { report.lossyRotations.append(path) }
                    } catch {
                        report.errors.append("\(path): \(error)")
                    }
                }
            }
        }
        return report
    }

    /// Copies the file's start to a new file and removes it from the live one; returns whether it
    /// had to fall back to copy-then-truncate.
    private func rotate(_ path: String) throws(SystemError) -> Bool {
        let source: FileDescriptor
        do { source = try FileDescriptor.open(path, .readWrite, options: [.noFollow]) } catch {
            throw SystemError(operation: .open, path: path, errno: error)
        }
        defer { source.close() }
        let block: Int64 = 4096
        let size: Int64
        do { size = try source.status().size } catch { throw SystemError(operation: .inspect, path: path, errno: error) }
        let head = size / block * block
        guard head > 0 else { return false }
        // Two rotations in one second get -01, -02, ... after the stamp (names sort in time order).
        var target = path + "." + Clock.localStamp()
        var copy: FileDescriptor?
        for attempt in 0..<100 where copy == nil {
            let candidate = attempt == 0 ? target : target + (attempt < 10 ? "-0\(attempt)" : "-\(attempt)")
            do {
                copy = try FileDescriptor.open(candidate, .writeOnly, options: [.create, .exclusive], permissions: 0o640)
                target = candidate
            } catch {
                guard error == .fileExists else { throw SystemError(operation: .create, path: candidate, errno: error) }
            }
        }
        guard let copy else { throw SystemError(operation: .create, path: target, errno: .fileExists) }
        defer { copy.close() }
        func copyRange(_ range: Range<Int64>) throws(SystemError) {
            var offset = range.lowerBound
            while offset < range.upperBound {
                let chunk: [UInt8]
                do { chunk = try source.read(at: Int(offset), count: Int(min(1 << 20, range.upperBound - offset))) } catch {
                    throw SystemError(operation: .read, path: path, errno: error)
                }
                if chunk.isEmpty { break }
                do { try copy.writeAll(chunk) } catch { throw SystemError(operation: .write, path: target, errno: error) }
                offset += Int64(chunk.count)
            }
        }
        try copyRange(0..<head)
        do { try copy.sync() } catch { throw SystemError(operation: .sync, path: target, errno: error) }
        do {
            try source.collapseStart(head)
            return false
        } catch {
            guard error == .notSupported || error == .invalidArgument else { throw SystemError(operation: "collapse the start of", path: path, errno: error) }
        }
        // No collapse here: copy the rest and truncate (what is appended in between is lost).
        let end: Int64
        do { end = try source.status().size } catch { throw SystemError(operation: .inspect, path: path, errno: error) }
        try copyRange(head..<end)
        do { try copy.sync(); try source.truncate(to: 0) } catch { throw SystemError(operation: "truncate", path: path, errno: error) }
        return true
    }
}

/// The schedules inside the process that replace cron: log maintenance daily at
/// log.maintenance_time, and restarts of named units at their times (schedule.restarts). One
/// thread that wakes each second and runs what is due; a time passed while camhost was not
/// running is not made up for.
public final class DailySchedules: Sendable {
    public struct Task: Sendable {
        public var name: String
        public var times: [DailyTime]
        public var run: @Sendable () -> Void
        public init(name: String, times: [DailyTime], run: @escaping @Sendable () -> Void) {
            self.name = name
            self.times = times
            self.run = run
        }
    }

    private let tasks: [Task]
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<ThreadHandle?>(nil)
    private let secondOfDay: @Sendable () -> Int

    public init(tasks: [Task], secondOfDay: @escaping @Sendable () -> Int = { Clock.localSecondOfDay() }) {
        self.tasks = tasks
        self.secondOfDay = secondOfDay
    }

    /// The tasks due between two readings of the clock (`previous` exclusive, `now` inclusive),
    /// across midnight too.
    func due(from previous: Int, to now: Int) -> [Task] {
        tasks.filter { task in
            task.times.contains { time in
                let at = time.minutesOfDay * 60
                return previous <= now ? (at > previous && at <= now) : (at > previous || at <= now)
            }
        }
    }

    public func start() {
        guard !tasks.isEmpty else { return }
        let handle = startThread { [self] in
            var previous = secondOfDay()
            while !stopping.load(ordering: .acquiring) {
                Clock.sleep(milliseconds: 1000)
                let now = secondOfDay()
                for task in due(from: previous, to: now) { task.run() }
                previous = now
            }
        }
        thread.withLock { $0 = handle }
    }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        if let handle = thread.withLock({ value -> ThreadHandle? in defer { value = nil }; return value }) { joinThread(handle) }
    }
}
