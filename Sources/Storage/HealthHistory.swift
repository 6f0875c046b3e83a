/// The `health_history` table: one row per probe the health supervisor ran (`check_name` is the
/// probe: broker, coturn, disk, ...) and per restart it made (`<neighbour>.restart`, ok when the
/// restart command succeeded). The health page and `camhost doctor` read it; rows older than
/// the kept days are pruned by the supervisor.
public struct HealthHistory: Sendable {
    /// One row.
    public struct Entry: Sendable, Equatable {
        public var id: Int64
        /// UTC ISO 8601 with milliseconds.
        public var at: String
        public var check: String
        public var ok: Bool
        public var detail: String
    }

    public let store: Store

    public init(store: Store) { self.store = store }

    public func append(check: String, ok: Bool, detail: String) throws {
        try store.write { db in
            try db.execute("INSERT INTO health_history (check_name, ok, detail) VALUES (?, ?, ?)", check, ok ? 1 : 0, detail)
        }
    }

    /// The newest row of each check, by check name.
    public func latest() throws -> [Entry] {
        try store.read { db in
            try db.query("""
                SELECT id, at, check_name, ok, coalesce(detail, '') FROM health_history
                WHERE id IN (SELECT max(id) FROM health_history GROUP BY check_name) ORDER BY check_name
                """).map(Self.entry)
        }
    }

    /// The newest rows first, of one check or of all.
    public func recent(check: String? = nil, limit: Int) throws -> [Entry] {
        try store.read { db in
            if let check {
                return try db.query("SELECT id, at, check_name, ok, coalesce(detail, '') FROM health_history WHERE check_name = ? ORDER BY id DESC LIMIT ?",
                                    check, max(limit, 0)).map(Self.entry)
            }
            return try db.query("SELECT id, at, check_name, ok, coalesce(detail, '') FROM health_history ORDER BY id DESC LIMIT ?",
                                max(limit, 0)).map(Self.entry)
        }
    }

    /// Restarts the supervisor made, per neighbour and outcome, over the history kept
    /// (budget notices are not restarts: they carry no command).
    public func restartCounts() throws -> [(neighbour: String, ok: Bool, count: Int)] {
        try store.read { db in
            try db.query("""
                SELECT substr(check_name, 1, length(check_name) - 8), ok, count(*) FROM health_history
                WHERE check_name LIKE '%.restart' AND detail NOT LIKE 'restart budget%' GROUP BY check_name, ok ORDER BY check_name, ok
                """).map { (neighbour: try $0.get(0), ok: (try $0.get(1) as Int64) != 0, count: Int(try $0.get(2) as Int64)) }
        }
    }

    /// Removes rows older than `days`; returns how many.
    @discardableResult
    public func prune(olderThanDays days: Int) throws -> Int {
        try store.write { db in
            try db.execute("DELETE FROM health_history WHERE at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)", "-\(max(days, 0)) days")
            return try db.scalar("SELECT changes()", as: Int.self) ?? 0
        }
    }

    /// SQLite's own consistency check of the database file (`PRAGMA quick_check`): "ok", or the
    /// first problems it found.
    public func quickCheck() throws -> String {
        try store.read { db in
            try db.query("PRAGMA quick_check(5)").compactMap { row -> String? in try row.get(0) }.joined(separator: "; ")
        }
    }

    private static func entry(_ row: Row) throws -> Entry {
        Entry(id: try row.get(0), at: try row.get(1), check: try row.get(2), ok: (try row.get(3) as Int64) != 0, detail: try row.get(4))
    }
}
