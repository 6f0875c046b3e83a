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
        var out = "{"
        out += "\"dry_run\":\(dryRun),"
        out += "\"deleted\":{\"age\":\(deleted[.age] ?? 0),\"quota\":\(deleted[.quota] ?? 0),\"free_space\":\(deleted[.freeSpace] ?? 0),\"orphan\":\(deleted[.orphan] ?? 0)},"
        out += "\"thumbnails_deleted\":\(thumbnailsDeleted),\"orphan_files\":\(orphanFiles),\"orphan_dirs\":\(orphanDirectories),"
        out += "\"dangling_rows\":\(danglingRows),\"bytes_freed\":\(bytesFreed),"
        out += "\"db_bytes_before\":\(databaseBytesBefore),\"db_bytes_after\":\(databaseBytesAfter),"
        out += "\"errors\":[" + errors.map { "{\"path\":\(JSON.string($0.path)),\"error\":\(JSON.string($0.error))}" }.joined(separator: ",") + "],"
        out += "\"duration_ms\":\(durationMilliseconds),"
        out += "\"registered\":\(registered),\"ledger_finished\":\(ledgerFinished),"
        out += "\"refusal\":" + (refusal.map(JSON.string) ?? "null")
        if includeItems {
            out += ",\"items\":[" + items.map { item in
                "{\"reason\":\(JSON.string(item.reason.rawValue)),\"camera\":" + (item.cameraID.map(JSON.string) ?? "null")
                    + ",\"path\":\(JSON.string(RecordingPath.display(item.path))),\"thumbnail\":"
                    + (item.thumbnail.map { JSON.string(RecordingPath.display($0)) } ?? "null") + ",\"bytes\":\(item.bytes)}"
            }.joined(separator: ",") + "]"
        }
        return out + "}"
    }
}

/// Minimal JSON text output (Storage stays free of Foundation).
enum JSON {
    static func string(_ text: String) -> String { jsonQuoted(text) }
}
