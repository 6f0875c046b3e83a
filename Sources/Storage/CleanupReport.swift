import JSONText
/// A failure tied to one path under the recordings root (or the root itself).
public struct PathError: Sendable, Equatable {
    public var path: String
    public var error: String

    public init(path: String, error: String) {
        self.path = path
        self.error = error
    }

    init(_ error: FileError) {
        self.init(path: RecordingPath.display(error.path), error: error.description)
    }

    /// What a walk of the recordings root says about an entry it will not touch.
    static func symbolicLink(_ path: [UInt8]) -> PathError {
        PathError(path: RecordingPath.display(path),
                  error: "symbolic link: not followed, not registered, not deleted (camhost never leaves the recordings root)")
    }

    static func notRegular(_ path: [UInt8]) -> PathError {
        PathError(path: RecordingPath.display(path), error: "not a regular file or directory (FIFO, socket or device): left alone")
    }
}

/// What one cleanup run did (or, for a dry run, would do). Its JSON form is a contract shared
/// with the dashboard and metrics: the keys below are stable; new keys may be added.
public struct CleanupReport: Sendable, Equatable {
    /// Why a file was (or would be) deleted.
    public enum Reason: String, Sendable, CaseIterable {
        case age, quota
        case freeSpace = "free_space"
        /// A recording file without a row that can never be one (empty), older than the grace period.
        case orphan
        /// Any other file without a row (thumbnail of nothing, leftovers), older than the grace period.
        case orphanFile = "orphan_file"
        /// A row whose file is gone.
        case dangling
    }

    /// One planned deletion, listed by a dry run.
    public struct Item: Sendable, Equatable {
        public var reason: Reason
        public var cameraID: String?
        public var path: [UInt8]
        public var thumbnail: [UInt8]?
        public var bytes: Int64
    }

    public var dryRun: Bool
    public var deleted: [Reason: Int] = [.age: 0, .quota: 0, .freeSpace: 0, .orphan: 0]
    public var thumbnailsDeleted = 0
    public var orphanFiles = 0
    public var orphanDirectories = 0
    public var danglingRows = 0
    public var bytesFreed: Int64 = 0
    public var databaseBytesBefore: Int64 = 0
    public var databaseBytesAfter: Int64 = 0
    public var errors: [PathError] = []
    public var durationMilliseconds: Int64 = 0
    /// New files registered by the scan that starts every run.
    public var registered = 0
    /// Deletions left by an earlier, interrupted run and finished by this one.
    public var ledgerFinished = 0
    /// Set when the run refused to delete (safety stop); nothing planned was deleted.
    public var refusal: String?
    /// The planned deletions (filled for dry runs).
    public var items: [Item] = []

    public init(dryRun: Bool) { self.dryRun = dryRun }

    /// Recordings deleted for any reason (not orphan files or dangling rows).
    public var recordingsDeleted: Int { deleted.values.reduce(0, +) }

    mutating func count(_ reason: Reason, bytes: Int64, thumbnail: Bool) {
        switch reason {
        case .age, .quota, .freeSpace, .orphan: deleted[reason, default: 0] += 1
        case .orphanFile: orphanFiles += 1
        case .dangling: danglingRows += 1
        }
        if reason != .dangling { bytesFreed += bytes }
        if thumbnail { thumbnailsDeleted += 1 }
    }

    /// The report as one JSON object; `includeItems` adds the planned deletions.
    public func json(includeItems: Bool = false) -> String {
        var w = JSONWriter(capacity: 512)
        write(into: &w, includeItems: includeItems)
        return w.text
    }

    /// The report as one JSON value of a larger document.
    public func write(into w: inout JSONWriter, includeItems: Bool = false) {
        w.object { w in
            w.field("dry_run", dryRun)
            w.key("deleted")
            w.object { w in
                w.field("age", deleted[.age] ?? 0); w.field("quota", deleted[.quota] ?? 0)
                w.field("free_space", deleted[.freeSpace] ?? 0); w.field("orphan", deleted[.orphan] ?? 0)
            }
            w.field("thumbnails_deleted", thumbnailsDeleted); w.field("orphan_files", orphanFiles); w.field("orphan_dirs", orphanDirectories)
            w.field("dangling_rows", danglingRows); w.field("bytes_freed", bytesFreed)
            w.field("db_bytes_before", databaseBytesBefore); w.field("db_bytes_after", databaseBytesAfter)
            w.key("errors")
            w.array { w in for error in errors { w.object { w in w.field("path", error.path); w.field("error", error.error) } } }
            w.field("duration_ms", durationMilliseconds)
            w.field("registered", registered); w.field("ledger_finished", ledgerFinished)
            w.field("refusal", refusal)
            if includeItems {
                w.key("items")
                w.array { w in
                    for item in items {
                        w.object { w in
                            w.field("reason", item.reason.rawValue)
                            w.field("camera", item.cameraID)
                            w.field("path", RecordingPath.display(item.path))
                            w.field("thumbnail", item.thumbnail.map(RecordingPath.display))
                            w.field("bytes", item.bytes)
                        }
                    }
                }
            }
        }
    }

    /// A report as `json()` wrote it (the `cleanup_runs` rows, which carry no items). Keys it
    /// lacks, as reports written by older versions do, keep their zero values.
    public init(json bytes: [UInt8]) throws(JSONParseError) {
        let value = try JSONValue(parsing: bytes, maxDepth: 8)
        guard case .object = value else { throw JSONParseError(offset: 0, reason: "a cleanup report is an object") }
        func count(_ key: String, in object: JSONValue? = nil) -> Int { (object ?? value)[key]?.intValue ?? 0 }
        self.init(dryRun: value["dry_run"] == .bool(true))
        let deleted = value["deleted"]
        self.deleted = [.age: count("age", in: deleted), .quota: count("quota", in: deleted),
                        .freeSpace: count("free_space", in: deleted), .orphan: count("orphan", in: deleted)]
        thumbnailsDeleted = count("thumbnails_deleted")
        orphanFiles = count("orphan_files")
        orphanDirectories = count("orphan_dirs")
        danglingRows = count("dangling_rows")
        bytesFreed = Int64(count("bytes_freed"))
        databaseBytesBefore = Int64(count("db_bytes_before"))
        databaseBytesAfter = Int64(count("db_bytes_after"))
        if case .array(let list) = value["errors"] {
            errors = list.map { PathError(path: $0["path"]?.stringValue ?? "", error: $0["error"]?.stringValue ?? "") }
        }
        durationMilliseconds = Int64(count("duration_ms"))
        registered = count("registered")
        ledgerFinished = count("ledger_finished")
        refusal = value["refusal"]?.stringValue
    }
}

/// Minimal JSON text output (Storage stays free of Foundation).
enum JSON {
    static func string(_ text: String) -> String { jsonQuoted(text) }
}
