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
        var report: CleanupReport
    }

    let store: Store
    let root: String
    let policy: RetentionPolicy

    init(store: Store, root: String, policy: RetentionPolicy) {
        self.store = store
        self.root = root
        self.policy = policy
    }
    var index: RecordingIndex { RecordingIndex(store: store, root: root) }

    /// A number that changes whenever the database does: this process's changes at once,
    /// commits by other processes (the CLI) within 100 ms (`Store.version`).
    func databaseVersion() throws -> Int64 { try store.version() }

    /// Newest first.
    func list(_ filter: Filter) throws -> (recordings: [RecordingRow], total: Int) {
        let page = try index.list(RecordingIndex.Filter(camera: filter.camera, since: filter.from, until: filter.to,
                                                        limit: filter.limit, offset: filter.offset, order: .newestFirst))
        return (page.recordings, page.total)
    }

    func recording(_ id: Int64) throws -> RecordingRow? { try index.recording(id: id) }

    func cameras() throws -> [String] { try index.cameraIDs() }

    func usage() throws -> [Usage] {
        try index.usage().map { Usage(camera: $0.camera, count: $0.count, bytes: $0.bytes) }
    }

    /// Bytes of recordings ending on each of the last `days` days (UTC), oldest first.
    func bytesPerDay(days: Int) throws -> [(day: String, bytes: Int64)] { try index.bytesPerDay(days: days) }

    /// Available and total bytes of the volume holding the recordings.
    func volume() -> (available: Int64, total: Int64)? {
        FileSystem.space(root)
    }

    func cleanupRuns(limit: Int) throws -> [CleanupRun] {
        try CleanupHistory(store: store).recent(limit: limit).map {
            CleanupRun(id: $0.id, startedAt: $0.startedAt, finishedAt: $0.finishedAt, actor: $0.actor, report: $0.report)
        }
    }

    func cleanupTotals() throws -> (runs: Int64, bytesFreed: Int64) { try CleanupHistory(store: store).totals() }

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
}
