import POSIX
import Storage
import Synchronization

/// One recording as listed: Storage's `Recording`, with what the pages need to show and serve it.
typealias RecordingRow = Recording

extension Recording {
    /// Printable ASCII as is (the common case, without a scalar-by-scalar walk); anything else
    /// through Storage's `\xNN` form.
    var displayPath: String {
        if path.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C }) { return String(decoding: path, as: UTF8.self) }
        return RecordingPath.display(path)
    }
    var fileName: String { String(displayPath.split(separator: "/").last ?? "") }
    var contentType: String {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".mp4") { return "video/mp4" }
        if lower.hasSuffix(".mkv") { return "video/x-matroska" }
        return "video/webm"
    }
}

/// The recordings as the pages and the API see them: filtered lists, files, usage, deletions
/// and cleanups, over Storage's index (blocking SQLite and file calls, on server threads).
struct RecordingsService: Sendable {
    struct Filter: Sendable, Hashable {
        var camera: String?
        /// `YYYY-MM-DD` (UTC), inclusive.
        var from: String?
        var to: String?
        var limit = 100
        var offset = 0
    }

    struct Usage: Sendable {
        var camera: String
        var count: Int64
        var bytes: Int64
    }

    struct CleanupRun: Sendable {
        var id: Int64
        var startedAt: String
        var finishedAt: String
        var actor: String
        var report: String
    }

    let store: Store
    let root: String
    let policy: RetentionPolicy
    let changes: DatabaseChanges

    init(store: Store, root: String, policy: RetentionPolicy) {
        self.store = store
        self.root = root
        self.policy = policy
        self.changes = DatabaseChanges(store: store)
    }
    var index: RecordingIndex { RecordingIndex(store: store, root: root) }

    /// A number that changes whenever the database does: this connection's changes at once,
    /// commits by other connections (the CLI) within `DatabaseChanges.othersRecheck`.
    func databaseVersion() throws -> Int64 { try changes.version() }

    /// Newest first.
    func list(_ filter: Filter) throws -> (recordings: [RecordingRow], total: Int) {
        try store.read { db in
            let arguments: [DatabaseValue] = [
                filter.camera.map { .text($0) } ?? .null,
                filter.from.map { .text($0) } ?? .null,
                filter.to.map { .text($0 + "T99") } ?? .null,
            ]
            let statement = try db.prepare("""
                SELECT \(RecordingIndex.columns)
                FROM recordings WHERE (?1 IS NULL OR camera_id = ?1) AND (?2 IS NULL OR end_at >= ?2) AND (?3 IS NULL OR start_at <= ?3)
                ORDER BY end_at DESC, id DESC LIMIT ?4 OFFSET ?5
                """)
            try statement.bind(arguments + [.integer(Int64(filter.limit)), .integer(Int64(filter.offset))])
            var recordings: [RecordingRow] = []
            recordings.reserveCapacity(filter.limit)
            while try statement.step() { recordings.append(Self.recording(statement)) }
            let total = try db.scalar("""
                SELECT count(*) FROM recordings WHERE (?1 IS NULL OR camera_id = ?1) AND (?2 IS NULL OR end_at >= ?2) AND (?3 IS NULL OR start_at <= ?3)
                """, arguments[0], arguments[1], arguments[2], as: Int.self) ?? 0
            return (recordings, total)
        }
    }

    func recording(_ id: Int64) throws -> RecordingRow? {
        try store.read { db in
            let statement = try db.prepare("""
                SELECT \(RecordingIndex.columns) FROM recordings WHERE id = ?
                """)
            try statement.bind([.integer(id)])
            return try statement.step() ? Self.recording(statement) : nil
        }
    }

    func cameras() throws -> [String] {
        try store.read { db in try db.query("SELECT DISTINCT camera_id FROM recordings ORDER BY camera_id").map { try $0.get(0, as: String.self) } }
    }

    func usage() throws -> [Usage] {
        try store.read { db in
            try db.query("SELECT camera_id, count(*), coalesce(sum(bytes), 0) FROM recordings GROUP BY camera_id ORDER BY camera_id").map {
                Usage(camera: try $0.get(0), count: try $0.get(1), bytes: try $0.get(2))
            }
        }
    }

    /// Bytes of recordings ending on each of the last `days` days (UTC), oldest first.
    func bytesPerDay(days: Int) throws -> [(day: String, bytes: Int64)] {
        let rows = try store.read { db in
            try db.query("""
                SELECT substr(end_at, 1, 10) AS day, sum(bytes) FROM recordings
                WHERE end_at >= strftime('%Y-%m-%d', 'now', ?) GROUP BY day ORDER BY day
                """, "-\(days - 1) days")
        }
        let found = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.get(0, as: String.self), try $0.get(1, as: Int64.self)) })
        let dayList = try store.read { db in
            try (0..<days).reversed().map { offset in
                try db.scalar("SELECT strftime('%Y-%m-%d', 'now', ?)", "-\(offset) days", as: String.self) ?? ""
            }
        }
        return dayList.map { ($0, found[$0] ?? 0) }
    }

    /// Available and total bytes of the volume holding the recordings.
    func volume() -> (available: Int64, total: Int64)? {
        FileSystem.space(root)
    }

    func cleanupRuns(limit: Int) throws -> [CleanupRun] {
        try store.read { db in
            try db.query("SELECT id, started_at, finished_at, actor, report FROM cleanup_runs ORDER BY id DESC LIMIT ?", limit).map {
                CleanupRun(id: try $0.get(0), startedAt: try $0.get(1), finishedAt: try $0.get(2), actor: try $0.get(3), report: try $0.get(4))
            }
        }
    }

    func cleanupTotals() throws -> (runs: Int64, bytesFreed: Int64) {
        try store.read { db in
            let rows = try db.query("SELECT count(*), coalesce(sum(json_extract(report, '$.bytes_freed')), 0) FROM cleanup_runs WHERE dry_run = 0")
            return (try rows.first?.get(0) ?? 0, try rows.first?.get(1) ?? 0)
        }
    }

    /// Deletes recordings older than `days` (everything the age rule would take with that limit),
    /// or only shows what it would delete.
    func cleanup(olderThanDays days: Int, camera: String?, dryRun: Bool, actor: String) throws -> CleanupReport {
        var options = CleanupOptions(policy: policy)
        options.dryRun = dryRun
        options.olderThanSeconds = Int64(days) * 86_400
        options.camera = camera
        options.actor = actor
        return try Cleanup(index: index).run(options)
    }

    func delete(ids: [Int64], actor: String) throws -> (report: CleanupReport, skipped: [Int64]) {
        try Cleanup(index: index).delete(ids: ids, actor: actor)
    }

    /// The absolute path of a stored relative path, or nil when it could leave the root.
    func absolutePath(_ relative: [UInt8]) -> String? {
        guard RecordingPath.problem(relative) == nil else { return nil }
        return root + "/" + String(decoding: relative, as: UTF8.self)
    }

    static func recording(_ statement: Statement) -> RecordingRow { RecordingIndex.recording(statement) }
}

/// The database's version for response caches, cheap enough for every request.
///
/// This connection's own writes (`sqlite3_total_changes64`, a counter read) are seen at once.
/// Commits by other processes need `PRAGMA data_version`, which opens a read transaction: two
/// fcntl locks and a step of the VM, about 7 % of an API request's CPU. It runs at most once per
/// `othersRecheck`, so a change made by the CLI shows in the lists within that time.
final class DatabaseChanges: Sendable {
    static let othersRecheck: Duration = .milliseconds(100)

    private struct Seen {
        var others: Int64 = 0
        var checkedAt: ContinuousClock.Instant?
    }

    private let store: Store
    private let seen = Mutex(Seen())

    init(store: Store) { self.store = store }

    func version() throws -> Int64 {
        let now = ContinuousClock.now
        return try store.withDatabase { db in
            let own = db.totalChanges
            let others = try seen.withLock { seen -> Int64 in
                if let checkedAt = seen.checkedAt, now - checkedAt < Self.othersRecheck { return seen.others }
                seen.others = try db.dataVersion()
                seen.checkedAt = now
                return seen.others
            }
            return own &* 1_000_003 &+ others
        }
    }
}
