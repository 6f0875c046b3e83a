/// The `cleanup_runs` table: one row per cleanup that ran (written by `Cleanup.run`), read
/// newest first for the dashboard's history and summed for /metrics.
public struct CleanupHistory: Sendable {
    /// One finished run, its report read back from the JSON `CleanupReport.json()` stored.
    public struct Run: Sendable, Equatable {
        public var id: Int64
        /// UTC ISO 8601 with milliseconds.
        public var startedAt: String
        public var finishedAt: String
        public var actor: String
        public var report: CleanupReport
    }

    public let store: Store

    public init(store: Store) { self.store = store }

    /// The newest runs first.
    public func recent(limit: Int) throws -> [Run] {
        try store.read { db in
            try db.query("SELECT id, started_at, finished_at, actor, report FROM cleanup_runs ORDER BY id DESC LIMIT ?", max(limit, 0)).map {
                Run(id: try $0.get(0), startedAt: try $0.get(1), finishedAt: try $0.get(2), actor: try $0.get(3),
                    report: try CleanupReport(json: Array($0.get(4, as: String.self).utf8)))
            }
        }
    }

    /// Runs that deleted (not dry runs) and the bytes they freed, since the database was made.
    public func totals() throws -> (runs: Int64, bytesFreed: Int64) {
        try store.read { db in
            let rows = try db.query("SELECT count(*), coalesce(sum(json_extract(report, '$.bytes_freed')), 0) FROM cleanup_runs WHERE dry_run = 0")
            return (try rows.first?.get(0) ?? 0, try rows.first?.get(1) ?? 0)
        }
    }

    /// Records a run inside the caller's write transaction.
    static func append(in db: Database, startedAt: String, actor: String, report: CleanupReport) throws {
        try db.execute("INSERT INTO cleanup_runs (started_at, actor, dry_run, report) VALUES (?, ?, 0, ?)", startedAt, actor, report.json())
    }
}
